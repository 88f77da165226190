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
# No DEL/UNLINK, no XDEL: no stage deletes a key or an entry (the dead-letter stream is bounded
# by the stages' XADD itself, wiredesk.deadletter), so a compromised stage cannot erase the
# dead letters or another stage's state that way.
_STATE = ("+get", "+set", "+hset", "+hget", "+hdel", "+expire", "+exists")
# Partitions and clusters (docs/design.md): dedupe's outbox, WAIT with its probe key.
_PARTITIONED = ("+hmget", "+hgetall", "+hexists", "+wait")
_READ_ONLY = ("+xrange", "+xrevrange", "+xread", "+xinfo", "+xlen", "+exists", "+get")
# Ingest's embargo hold (services/ingest/embargo.py): a sorted set and a hash per partition;
# the release script reads the server's clock (TIME). The reader (``wiredesk status``) counts
# the hold and reads its first release time, not the held payloads.
_EMBARGO = ("+zadd", "+zrangebyscore", "+zrem", "+zcard", "+zrange", "+hset", "+hget", "+hdel")
_EMBARGO_READ = ("+zcard", "+zrange")


def _selector(keys: list[str], commands: tuple[str, ...]) -> str:
    return "(" + " ".join([*(f"~{k}" for k in keys), *commands]) + ")"


def selector_rules(settings: WiredeskSettings) -> dict[str, list[str]]:
    """Redis >= 7 rules: each key pattern gets only the commands the service runs on it.

    The root permissions hold the connection commands and the scripts (EVAL must reach every
    key a script is passed); inside a script each command is checked against the selectors
    again, so a script cannot do on a key what the user could not. What this closes, compared
    with :func:`service_rules`: a stage can only ``XADD`` (and ``XLEN``) its output streams and
    the dead-letter stream (no XTRIM, XGROUP CREATE, reads), ingest's seen keys take only
    GET/SET/EXISTS, the error hashes only their hash commands. What it cannot close: ``XADD``
    with ``MAXLEN`` trims, so a compromised stage can still shorten a stream it writes.
    """
    s, key = settings.streams, settings.key
    consume = (*_CONSUME, "+exists")
    add = ("+xadd", "+xlen")
    errors = ("+hset", "+hget", "+hdel", "+expire")
    root = (*_CONNECT, *_SCRIPTS, "+wait")
    seen = f"{key('seen', 'raw')}:*"
    wait = f"{key('wait')}:*"  # WAIT's probe keys (wiredesk.cluster)
    dedupe_state = f"{key('dedupe')}:*"
    embargo = [key("embargo"), f"{key('embargo')}:*"]
    reader_keys = [*s.model_dump().values(), *embargo]

    def tagged(*names: str) -> list[str]:
        """Each name and its partitions' tagged names (``articles:raw:{wd:p0}``)."""
        return [pattern for n in names for pattern in (n, f"{n}:*")]

    def grant(names: list[str]) -> list[str]:
        return [f"~{n}" for n in names]

    def stage_root(*patterns: list[str]) -> list[str]:
        return [*root, *grant([n for names in patterns for n in names]), f"~{wait}"]

    probe = _selector([wait], ("+set",))
    return {
        "ingest": [
            *stage_root(
                tagged(s.raw, s.normalized, s.dlq, key("errors", "ingest")), [seen], embargo
            ),
            "+time",
            _selector(tagged(s.raw), consume),
            _selector(tagged(s.normalized, s.dlq), add),
            _selector([seen], ("+get", "+set", "+exists")),
            _selector(tagged(key("errors", "ingest")), errors),
            _selector(embargo, _EMBARGO),
            probe,
        ],
        "dedupe": [
            *stage_root(
                tagged(s.normalized, s.annotated, s.dlq, s.stories, key("errors", "dedupe")),
                [s.unique, dedupe_state],
            ),
            _selector(tagged(s.normalized), consume),
            _selector([*tagged(s.annotated, s.dlq, s.stories), s.unique], add),
            _selector(
                [dedupe_state],
                (
                    "+xadd",
                    "+xrange",
                    "+xrevrange",
                    "+xtrim",
                    "+xlen",
                    "+get",
                    "+set",
                    "+exists",
                    *_PARTITIONED[:3],  # the outbox hash of each partition
                    "+hset",
                    "+hdel",
                ),
            ),
            _selector(tagged(key("errors", "dedupe")), errors),
            probe,
        ],
        "store": [
            *stage_root(tagged(s.annotated, s.dlq, key("errors", "store"))),
            _selector(tagged(s.annotated), consume),
            _selector(tagged(s.dlq), add),
            _selector(tagged(key("errors", "store")), errors),
            probe,
        ],
        "producer": [*_CONNECT, *_PRODUCE, "+wait", *grant(tagged(s.raw)), f"~{wait}", probe],
        "reader": [*_CONNECT, *_READ_ONLY, *_EMBARGO_READ, *(f"~{k}" for k in reader_keys)],
    }


def service_rules(settings: WiredeskSettings, *, selectors: bool = False) -> dict[str, list[str]]:
    """User name -> ACL rules (without ``on`` and the password); ``selectors`` for Redis >= 7
    (:func:`selector_rules`), else rules that Redis 6.2 understands (commands and keys granted
    independently)."""
    if selectors:
        return selector_rules(settings)
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
            *_EMBARGO,
            "+time",
            *tagged(key("embargo")),
            wait,
        ],
        "dedupe": [
            *stage,
            *tagged(s.normalized, s.annotated, s.dlq, s.stories, key("errors", "dedupe")),
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
        "reader": [
            *_CONNECT,
            *_READ_ONLY,
            *_EMBARGO_READ,
            *(f"~{stream}" for stream in s.model_dump().values()),
            *tagged(key("embargo")),
        ],
    }


def default_user_command(password: str | None) -> list[str]:
    """The ``default`` user (what an unauthenticated connection is) given a password, or
    switched off when there is none: with every command and no password, it would undo the
    whole point of the service users. Switch it off only with another admin user in place
    (an operator's own), or give it a password (``WIREDESK_ACL_PASSWORD_DEFAULT``)."""
    if password:
        return ["ACL", "SETUSER", "default", "on", "resetpass", f">{password}"]
    return ["ACL", "SETUSER", "default", "off"]


def setuser_commands(
    settings: WiredeskSettings,
    passwords: dict[str, str],
    *,
    default_password: str | None = None,
    lock_default: bool = False,
    selectors: bool = False,
) -> list[list[str]]:
    """``ACL SETUSER`` argument lists; ``reset`` first, so applying them twice is harmless.

    ``lock_default`` appends :func:`default_user_command` (last, so the lines before it can
    still be applied over a default connection).
    """
    commands = []
    for user, rules in service_rules(settings, selectors=selectors).items():
        password = passwords.get(user)
        if not password:
            continue
        commands.append(["ACL", "SETUSER", user, "reset", "on", f">{password}", *rules])
    if lock_default and commands:
        commands.append(default_user_command(default_password))
    return commands
