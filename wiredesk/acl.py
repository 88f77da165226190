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
_READ_ONLY = ("+xrange", "+xrevrange", "+xread", "+xinfo", "+xlen", "+exists", "+get")


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
    root = (*_CONNECT, *_SCRIPTS)
    seen = f"{key('seen', 'raw')}:*"
    return {
        "ingest": [
            *root,
            *(f"~{k}" for k in (s.raw, s.normalized, s.dlq, seen, key("errors", "ingest"))),
            _selector([s.raw], consume),
            _selector([s.normalized, s.dlq], add),
            _selector([seen], ("+get", "+set", "+exists")),
            _selector([key("errors", "ingest")], errors),
        ],
        "dedupe": [
            *root,
            *(
                f"~{k}"
                for k in (
                    s.normalized,
                    s.annotated,
                    s.unique,
                    s.dlq,
                    f"{key('dedupe')}:*",
                    key("errors", "dedupe"),
                )
            ),
            _selector([s.normalized], consume),
            _selector([s.annotated, s.unique, s.dlq], add),
            _selector(
                [f"{key('dedupe')}:*"],
                ("+xadd", "+xrange", "+xrevrange", "+xtrim", "+xlen", "+get", "+set", "+exists"),
            ),
            _selector([key("errors", "dedupe")], errors),
        ],
        "store": [
            *root,
            *(f"~{k}" for k in (s.annotated, s.dlq, key("errors", "store"))),
            _selector([s.annotated], consume),
            _selector([s.dlq], add),
            _selector([key("errors", "store")], errors),
        ],
        "producer": [*_CONNECT, *_PRODUCE, f"~{s.raw}"],
        "reader": [*_CONNECT, *_READ_ONLY, *(f"~{stream}" for stream in s.model_dump().values())],
    }


def service_rules(settings: WiredeskSettings, *, selectors: bool = False) -> dict[str, list[str]]:
    """User name -> ACL rules (without ``on`` and the password); ``selectors`` for Redis >= 7
    (:func:`selector_rules`), else rules that Redis 6.2 understands (commands and keys granted
    independently)."""
    if selectors:
        return selector_rules(settings)
    s, key = settings.streams, settings.key
    stage = (*_CONNECT, *_CONSUME, *_PRODUCE, *_SCRIPTS, *_STATE)
    return {
        "ingest": [
            *stage,
            f"~{s.raw}",
            f"~{s.normalized}",
            f"~{s.dlq}",
            f"~{key('seen', 'raw')}:*",
            f"~{key('errors', 'ingest')}",
        ],
        "dedupe": [
            *stage,
            f"~{s.normalized}",
            f"~{s.annotated}",
            f"~{s.unique}",
            f"~{s.dlq}",
            f"~{key('dedupe')}:*",
            f"~{key('errors', 'dedupe')}",
        ],
        "store": [
            *stage,
            f"~{s.annotated}",
            f"~{s.dlq}",
            f"~{key('errors', 'store')}",
        ],
        "producer": [*_CONNECT, *_PRODUCE, f"~{s.raw}"],
        "reader": [*_CONNECT, *_READ_ONLY, *(f"~{stream}" for stream in s.model_dump().values())],
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
