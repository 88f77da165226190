"""The benchmark and the evaluation are tooling of a source checkout (``tools/``), not package code.

``wiredesk bench`` and ``wiredesk eval`` import them lazily, so both keep working from a checkout
(an editable install puts its root on ``sys.path``). From a wheel or the container image there is
no ``tools`` package: one line says what to run instead, exit code 2, like a missing install.
"""

from __future__ import annotations

import sys
from typing import NoReturn


def tooling_missing(exc: ModuleNotFoundError, make_target: str) -> NoReturn:
    """Exit 2 when ``tools`` itself is absent; re-raise any other missing module (a real bug or
    a missing extra such as ``.[bench]`` says its own name)."""
    if (exc.name or "").partition(".")[0] != "tools":
        raise exc
    sys.stderr.write(
        f"error: this command runs from a source checkout of wiredesk (tools/ is not installed): "
        f"use `make {make_target}` there\n"
    )
    raise SystemExit(2)
