"""FastStream's batch parser, kept away from the entries' bytes.

FastStream's ``RedisBatchStreamParser`` JSON-decodes every entry of a batch and re-encodes the
batch as one JSON list *before* the handler runs. One entry that is not UTF-8 makes that step
raise (``UnicodeDecodeError``, "surrogates not allowed"), so the whole batch is never handed to
the stage: it stays pending until the reclaim pass ~30 s later, and every valid entry of the
batch waits with it. wiredesk decodes entries itself (:func:`wiredesk.messages.decode_entry`,
with a reason code per failure), so the parser needs none of that work.

:func:`raw_batch_parser` is a FastStream custom parser (``parser=`` on the subscriber): it lets
FastStream build its message (consumer, group, ids) from placeholders and puts the untouched
reply back as ``raw_message``, so each entry reaches the stage as bytes and a bad one is
dead-lettered on its own while its batch-mates go on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faststream.message import StreamMessage

_PLACEHOLDER = {b"data": b"null"}

OriginalParser = Callable[[Mapping[str, Any]], Awaitable[StreamMessage[Any]]]


async def raw_batch_parser(
    message: Mapping[str, Any], original: OriginalParser
) -> StreamMessage[Any]:
    """FastStream's message for the batch, built without decoding the entries' payloads."""
    entries = message.get("data") or []
    stand_in = {**message, "data": [_PLACEHOLDER for _ in entries]}
    parsed = await original(stand_in)
    parsed.raw_message = message
    return parsed
