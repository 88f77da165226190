"""The dead-letter stream, bounded: how long letters stay, how many, and how much of each.

``articles:dlq`` used to grow without bound and keep whole payloads (71 MB after one probe, one
of them a 50 MB payload): a producer could fill Redis through it. Now every letter is added by
:data:`DEAD_LETTER_SCRIPT`, which acks the input entry and adds the letter in one atomic step
(like :data:`wiredesk.streaming.COMMIT_SCRIPT`) and bounds the stream as it adds:

- by age: ``XADD ... MINID = <now - retention>`` drops letters older than
  ``WIREDESK_DLQ_RETENTION_S`` (default 7 days), exactly (dead letters are few, so the exact
  trim costs little and keeps the bound what the setting says);
- by count: once the stream holds ``WIREDESK_DLQ_MAX_LEN`` letters, ``XADD ... MAXLEN =`` keeps
  it at that many (the oldest go first);
- by size: a payload past ``WIREDESK_DLQ_MAX_PAYLOAD_BYTES`` is stored truncated, with the
  original's size and sha256 (:meth:`wiredesk.messages.DeadLetter.wrap`); ``wiredesk dlq
  replay`` refuses those, since replaying a head would publish a different message.

The stages trim the stream only through ``XADD``'s own options: their ACL users have no
``XTRIM``/``XDEL``/``DEL`` on it (see wiredesk.acl), so a stage cannot empty it on purpose
beyond what the cap allows. The worst case the stream can hold is about
``max_len * max_payload_bytes`` (10,000 x 64 KiB = 640 MiB by default; lower either for a
small Redis).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

# KEYS[1] input stream, KEYS[2] dead-letter stream
# ARGV group, entry id, max len, min id ('' = no age limit), then field/value pairs
DEAD_LETTER_SCRIPT = """
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if acked == 0 then return 0 end
local cap = tonumber(ARGV[3])
local args = {KEYS[2]}
if redis.call('XLEN', KEYS[2]) >= cap then
  table.insert(args, 'MAXLEN'); table.insert(args, '='); table.insert(args, cap)
elseif ARGV[4] ~= '' then
  table.insert(args, 'MINID'); table.insert(args, '='); table.insert(args, ARGV[4])
end
table.insert(args, '*')
for j = 5, #ARGV do table.insert(args, ARGV[j]) end
redis.call('XADD', unpack(args))
return 1
"""


@dataclass(frozen=True, slots=True)
class DeadLetterPolicy:
    """Bounds of the dead-letter stream (defaults match WiredeskSettings')."""

    max_len: int = 10_000
    retention_s: int | None = 7 * 24 * 3600
    max_payload_bytes: int = 65_536

    @classmethod
    def of(cls, settings: Any) -> DeadLetterPolicy:
        """The policy a WiredeskSettings (or subclass) describes."""
        return cls(
            max_len=settings.dlq_max_len,
            retention_s=settings.dlq_retention_s,
            max_payload_bytes=settings.dlq_max_payload_bytes,
        )

    def min_id(self, now_ms: int | None = None) -> str:
        """The oldest stream id a letter may have now ('' when letters never expire)."""
        if self.retention_s is None:
            return ""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        return f"{max(now - self.retention_s * 1000, 0)}-0"
