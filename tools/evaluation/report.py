"""Tables for ``wiredesk eval``: pairs per language class and pair, and the k-fold numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table


def print_groups(console: Console, metrics: Mapping[str, Any]) -> None:
    """The per-group table (pairs files with languages) and the cross-validation table."""
    groups = metrics.get("groups")
    if groups:
        table = Table(
            "pairs",
            "n",
            "positives",
            "precision",
            "recall",
            "F1",
            "AUC",
            title="by pair class and language pair (pipeline verdicts; AUC of the decision score)",
            title_justify="left",
        )
        for row in groups:
            table.add_row(
                row["pairs"],
                str(row["n"]),
                str(row["positives"]),
                str(row["precision"]),
                str(row["recall"]),
                str(row["f1"]),
                str(row["auc"]),
            )
        console.print(table)
    crossval = metrics.get("crossval")
    if crossval:
        table = Table(
            "cross-validated (threshold factor refit per class on k-1 folds)",
            "value",
            title_justify="left",
        )
        for key, value in crossval.items():
            table.add_row(key, str(value))
        console.print(table)
