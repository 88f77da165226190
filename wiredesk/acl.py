"""Least-privilege Redis ACL users, one per service, derived from the configured names.

Each service may touch only its own streams and keys, with only the commands the runtime sends
(reads, acks, claims and trims on its input; adds on its outputs; its scripts). A compromised or
buggy service can then neither read nor write another stage's streams, nor run FLUSHALL, CONFIG,
KEYS or MODULE. Redis 6.2 ACLs cannot split read from write per key, so a service can read and
write every key it may touch; Redis 7's ``%R~``/``%W~`` selectors could narrow that further.

Render with ``wiredesk acl`` (ACL SETUSER lines or an aclfile) and load them into Redis; give
each service its user in ``REDIS_URL`` (``redis://ingest:PASSWORD@redis:6379/0``).
"""

from __future__ import annotations

from wiredesk.settings import WiredeskSettings

# What the stage runtime sends (wiredesk.service, wiredesk.streaming, wiredesk.retention, the
# stages' Lua scripts) and what redis-py / FastStream send on connect. Not CLIENT SETINFO: only
# Redis >= 7.2 knows it (older servers reject the rule), and redis-py ignores its refusal.
_CONNECT = ("+ping", "+hello", "+client|setname", "+info")
_CONSUME = (
    "+xreadgroup",
    "+xack",
    "+xautoclaim",
    "+xclaim",
    "+xpending",
    "+xinfo",
    "+xgroup|create",
    "+xtrim",
    "+xrange",
    "+xrevrange",
    "+xlen",
)
_PRODUCE = ("+xadd",)
_SCRIPTS = ("+eval", "+evalsha", "+script|load", "+script|exists")
_STATE = ("+get", "+set", "+hset", "+hget", "+hdel", "+expire", "+exists", "+del")
# Partitions and clusters (docs/design.md): dedupe's outbox, WAIT with its probe key.
_PARTITIONED = ("+hmget", "+hgetall", "+hexists", "+wait")
_READ_ONLY = ("+xrange", "+xrevrange", "+xread", "+xinfo", "+xlen", "+exists", "+get")


def service_rules(settings: WiredeskSettings) -> dict[str, list[str]]:
    """User name -> ACL rules (without ``on`` and the password)."""
    s, key = settings.streams, settings.key
    stage = (*_CONNECT, *_CONSUME, *_PRODUCE, *_SCRIPTS, *_STATE, *_PARTITIONED)
    wait = f"~{key('wait')}:*"  # WAIT's probe keys (wiredesk.cluster)

    def tagged(*names: str) -> list[str]:
        """Each name and its partitions' tagged names (``articles:raw:{wd:p0}``)."""
        return [rule for n in names for rule in (f"~{n}", f"~{n}:*")]

    return {
        "ingest": [
            *stage,
            *tagged(s.raw, s.normalized, s.dlq, key("errors", "ingest")),
            f"~{key('seen', 'raw')}:*",
            wait,
        ],
        "dedupe": [
            *stage,
            *tagged(s.normalized, s.annotated, s.dlq, key("errors", "dedupe")),
            f"~{s.unique}",
            f"~{key('dedupe')}:*",
            wait,
        ],
        "store": [
            *stage,
            *tagged(s.annotated, s.dlq, key("errors", "store")),
            wait,
        ],
        "producer": [*_CONNECT, *_PRODUCE, "+wait", "+set", *tagged(s.raw), wait],
        "reader": [*_CONNECT, *_READ_ONLY, *(f"~{stream}" for stream in s.model_dump().values())],
    }


def setuser_commands(settings: WiredeskSettings, passwords: dict[str, str]) -> list[list[str]]:
    """``ACL SETUSER`` argument lists; ``reset`` first, so applying them twice is harmless."""
    commands = []
    for user, rules in service_rules(settings).items():
        password = passwords.get(user)
        if not password:
            continue
        commands.append(["ACL", "SETUSER", user, "reset", "on", f">{password}", *rules])
    return commands
