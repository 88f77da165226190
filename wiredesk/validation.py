"""Checks a stage applies to what it is about to write, so the next stage never receives an
entry it must refuse.

Normalization can make a document larger (an HTML page's text is small, but a plain-text body
full of characters that JSON escapes, or a long ``stripped`` list, grows when encoded): ingest
used to turn a 1.9 MB body into a 5.6 MB normalized entry that dedupe then dead-lettered, after
it had been acknowledged upstream. Checking the output size where it is produced puts the dead
letter at the stage whose input caused it, with the original payload.
"""

from __future__ import annotations

from wiredesk.messages import MalformedMessage, WireModel


def check_output_size(message: WireModel, max_bytes: int) -> None:
    """Raise ``MalformedMessage('output-too-large')`` when ``message`` encodes past the limit."""
    size = len(message.to_json())
    if size > max_bytes:
        raise MalformedMessage(
            "output-too-large",
            f"the {message.SCHEMA} entry would be {size} bytes > limit of {max_bytes}"
            " (WIREDESK_MAX_MESSAGE_BYTES)",
        )
