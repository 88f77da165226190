"""docs/messages.md lists every field of every message, from the models themselves."""

from __future__ import annotations

import re

from tests.conftest import ROOT
from wiredesk.fieldtables import BEGIN, END, SECTIONS, generated_block, rewrite, schema_of
from wiredesk.messages import ALL_MODELS
from wiredesk.story_events import StoryEvent

DOC = ROOT / "docs" / "messages.md"


def test_the_generated_block_in_the_doc_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    assert rewrite(text) == text, "docs/messages.md field tables are stale: run `make schema`"


def _fields_per_heading(text: str) -> dict[str, set[str]]:
    block = text[text.index(BEGIN) : text.index(END)]
    out: dict[str, set[str]] = {}
    heading = ""
    for line in block.splitlines():
        if line.startswith("### "):
            heading = line[4:].strip()
            out[heading] = set()
        elif line.startswith("| `") and heading:
            out[heading].add(re.match(r"\| `([^`]+)`", line).group(1))  # type: ignore[union-attr]
    return out


def test_every_published_message_field_has_a_row() -> None:
    """Read the doc as a reader would: for each message, its table plus the tables of the
    versions it extends must name every property of its published schema."""
    listed = _fields_per_heading(DOC.read_text(encoding="utf-8"))
    parents = {heading: parent for heading, _, parent in SECTIONS}
    heading_of = {model: heading for heading, model, _ in SECTIONS}
    for model in (*ALL_MODELS, StoryEvent):
        heading = heading_of[model]
        names = set(listed[heading])
        parent = parents[heading]
        while parent is not None:
            names |= listed[heading_of[parent]]
            parent = parents[heading_of[parent]]
        missing = set(schema_of(model)["properties"]) - names
        assert not missing, (model.SCHEMA, missing)


def test_the_fields_consumers_missed_are_there() -> None:
    block = generated_block()
    for name in ("author", "canonical_url", "evidence", "change", "supersedes", "revision"):
        assert f"| `{name}` |" in block, name
