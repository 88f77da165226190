"""Labelled evaluation data in two JSONL formats, told apart by their keys.

- clusters: one article per line, ``id``, ``text``, ``story`` (ground-truth group), ``title?``;
- pairs: ``a`` and ``b`` (each ``id``, ``text``) and ``overall`` (1 = same story … 4 = unrelated,
  the SemEval-2022 Task 8 scale).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

POSITIVE_MAX = 1.5
NEGATIVE_MIN = 3.0


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    text: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Pair:
    a: str
    b: str
    overall: float
    langs: str | None = None
    """``"de-en"``: the two articles' languages, when the file says (``langs``, or ``lang`` on
    each side); evaluation then reports every language pair and pair class."""

    @property
    def label(self) -> bool | None:
        """True same story, False different, None in between (left out of the metrics)."""
        if self.overall <= POSITIVE_MAX:
            return True
        if self.overall >= NEGATIVE_MIN:
            return False
        return None


@dataclass(frozen=True, slots=True)
class ClusterSet:
    documents: list[Document]
    story_of: dict[str, str]


@dataclass(frozen=True, slots=True)
class PairSet:
    documents: list[Document]
    pairs: list[Pair]


def load(path: Path) -> ClusterSet | PairSet:
    rows: list[dict[str, Any]] = [
        orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()
    ]
    if not rows:
        raise ValueError(f"{path}: no records")
    if {"a", "b", "overall"} <= rows[0].keys():
        return _pairs(rows)
    if {"id", "text", "story"} <= rows[0].keys():
        return _clusters(rows)
    raise ValueError(f"{path}: neither clusters (id, text, story) nor pairs (a, b, overall)")


def _clusters(rows: list[dict[str, Any]]) -> ClusterSet:
    documents: list[Document] = []
    story_of: dict[str, str] = {}
    for row in rows:
        doc_id = str(row["id"])
        if doc_id in story_of:
            continue
        documents.append(Document(doc_id, row["text"], row.get("title")))
        story_of[doc_id] = str(row["story"])
    return ClusterSet(documents, story_of)


def _pairs(rows: list[dict[str, Any]]) -> PairSet:
    documents: dict[str, Document] = {}
    pairs: list[Pair] = []
    for row in rows:
        for side in ("a", "b"):
            doc = row[side]
            documents.setdefault(
                str(doc["id"]), Document(str(doc["id"]), doc["text"], doc.get("title"))
            )
        langs = row.get("langs")
        if langs is None and "lang" in row["a"] and "lang" in row["b"]:
            langs = f"{row['a']['lang']}-{row['b']['lang']}"
        pairs.append(Pair(str(row["a"]["id"]), str(row["b"]["id"]), float(row["overall"]), langs))
    return PairSet(list(documents.values()), pairs)
