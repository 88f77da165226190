"""Dead letters: list them, and replay them to the stream they came from.

Replay is one Lua script per letter: ``XDEL`` the letter from the dead-letter stream and, only
if that deleted something, ``XADD`` the untouched original payload to its source stream. Being
one atomic step, a crash cannot replay a letter without removing it, and running the same
replay twice re-adds nothing: the second ``XDEL`` returns 0. (In a Redis Cluster the source and
dead-letter streams must share a hash tag, as every wiredesk stream of a partition does.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis

from wiredesk.messages import DeadLetter, MalformedMessage, decode_entry
from wiredesk.streaming import text_of

# KEYS[1] dead-letter stream, KEYS[2] source stream; ARGV[1] letter id, ARGV[2..] fields
REPLAY_SCRIPT = """
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return false end
return redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
"""


@dataclass(frozen=True, slots=True)
class Letter:
    id: str
    letter: DeadLetter | None  # None: the entry itself is not a valid dead letter
    problem: str = ""


def read_letters(
    client: redis.Redis,
    dlq_stream: str,
    *,
    reason: str | None = None,
    ids: Iterable[str] = (),
) -> list[Letter]:
    """Dead letters oldest first, optionally only one reason or some entry ids."""
    wanted = set(ids)
    letters: list[Letter] = []
    entries = cast(list[tuple[Any, dict[bytes, bytes]]], client.xrange(dlq_stream))
    for entry_id, fields in entries:
        eid = text_of(entry_id)
        if wanted and eid not in wanted:
            continue
        try:
            letter = decode_entry(fields, DeadLetter, max_bytes=2**31)
        except MalformedMessage as exc:
            if (reason is None and not wanted) or eid in wanted:
                letters.append(Letter(eid, None, str(exc)))
            continue
        if reason is None or letter.reason == reason:
            letters.append(Letter(eid, letter))
    return letters


def original_fields(letter: DeadLetter) -> dict[bytes, bytes]:
    """The entry to re-add: the untouched ``data``, and its ``schema`` when the JSON names one."""
    data = letter.original_bytes()
    fields: dict[bytes, bytes] = {}
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("schema"), str):
        fields[b"schema"] = document["schema"].encode()
    fields[b"data"] = data
    return fields


def replay(client: redis.Redis, dlq_stream: str, letters: Iterable[Letter]) -> list[str]:
    """Re-add each letter's original to its source stream; returns the new entry ids.

    Letters kept truncated (``truncated``: the payload was larger than
    ``WIREDESK_DLQ_MAX_PAYLOAD_BYTES``) are skipped: their head is not the message. See
    :func:`refused` for the ones a replay leaves alone and why.
    """
    from redis.cluster import RedisCluster

    script: Any = client.register_script(REPLAY_SCRIPT)
    if isinstance(client, RedisCluster):  # EVAL: a promoted replica has no script cache

        def script(keys: list[str], args: list[Any]) -> Any:
            return client.eval(REPLAY_SCRIPT, len(keys), *keys, *args)

    added: list[str] = []
    for item in letters:
        if item.letter is None or item.letter.truncated:
            continue
        fields = original_fields(item.letter)
        argv: list[bytes | str] = [item.id]
        for key, value in fields.items():
            argv.extend((key, value))
        new_id = script(keys=[dlq_stream, item.letter.source_stream], args=argv)
        if new_id:
            added.append(text_of(new_id))
    return added


def refused(letters: Iterable[Letter]) -> list[tuple[str, str]]:
    """(letter id, why) for each letter :func:`replay` will not replay."""
    out: list[tuple[str, str]] = []
    for item in letters:
        if item.letter is None:
            out.append((item.id, f"not a dead letter: {item.problem[:120]}"))
        elif item.letter.truncated:
            out.append(
                (
                    item.id,
                    f"payload kept truncated ({item.letter.payload_size} bytes, sha256"
                    f" {item.letter.payload_sha256}); re-send the original from its producer",
                )
            )
    return out
