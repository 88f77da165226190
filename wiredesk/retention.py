"""Stream retention that never drops an entry a consumer group still needs.

Redis keeps acknowledged stream entries forever, so streams must be trimmed; but the usual tool,
``XADD ... MAXLEN ~ N`` on the producer side, counts entries and knows nothing about consumers:
a lagging group silently loses what it has not read yet, and a pending (delivered, unacked) entry
that is trimmed can never be processed. Here the bound is derived from the groups instead:

    bound = min over every group of (its oldest pending id, else its last-delivered id)

and only entries strictly below it go (``XTRIM MINID bound``). Everything a group has not been
delivered yet is above its last-delivered id, and everything delivered but unacknowledged is at
or above its oldest pending id, so no group can miss an entry. A stream without groups is never
trimmed: nobody has consumed anything yet.

The bound is computed and applied in one Lua script, so it cannot race a group being created
(``XGROUP CREATE ... 0`` between reading the bound and trimming would otherwise lose that group
the whole stream) or a consumer claiming entries. ``keep_ms`` adds a time horizon on top (ids are
millisecond timestamps): entries younger than that stay even if every group is done with them,
which keeps a window for ``XRANGE`` debugging and for consumers that join late.

Stream ids are compared as two decimal integers by (length, text), which is exact for any 64-bit
value, unlike Lua's doubles.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from wiredesk.cluster import make_script
from wiredesk.streaming import text_of

# KEYS[1] stream. ARGV[1] extra upper bound id ('' = none), ARGV[2] '~' for approximate or ''.
# Returns {trimmed, bound} ; bound '' when nothing may be trimmed (no stream or no group).
SAFE_TRIM_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, ''} end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return {0, ''} end
local function num_less(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function id_less(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if ams ~= bms then return num_less(ams, bms) end
  return num_less(aseq, bseq)
end
local bound = ARGV[1]
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local keep = last
  local summary = redis.call('XPENDING', KEYS[1], name)
  if tonumber(summary[1]) > 0 and id_less(summary[2], keep) then keep = summary[2] end
  if bound == '' or id_less(keep, bound) then bound = keep end
end
local trimmed
if ARGV[2] == '~' then
  trimmed = redis.call('XTRIM', KEYS[1], 'MINID', '~', bound)
else
  trimmed = redis.call('XTRIM', KEYS[1], 'MINID', bound)
end
return {trimmed, bound}
"""


@dataclass(frozen=True, slots=True)
class TrimResult:
    """How many entries went, and the id below which they went (None: nothing could go)."""

    trimmed: int
    min_id: str | None


async def trim_consumed(
    redis: Redis,
    stream: str,
    *,
    keep_ms: int = 0,
    approximate: bool = False,
    now_ms: int | None = None,
) -> TrimResult:
    """Trim ``stream`` below what every group has consumed (and below ``now - keep_ms``).

    ``approximate`` lets Redis drop only whole internal nodes (cheaper, trims a little less);
    it never trims more than the exact form.
    """
    horizon = ""
    if keep_ms > 0:
        now = int(time.time() * 1000) if now_ms is None else now_ms
        horizon = f"{max(0, now - keep_ms)}-0"
    script = make_script(redis, SAFE_TRIM_SCRIPT)
    trimmed, bound = await script(keys=[stream], args=[horizon, "~" if approximate else ""])
    bound_text = text_of(bound)
    return TrimResult(int(trimmed), bound_text or None)
