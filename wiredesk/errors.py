"""Which failures are worth retrying: transient ones, or ones that will fail the same way again.

A stage that retries everything turns one impossible entry into minutes of work: an article whose
date overflows when converted to UTC failed six times over ~2.5 minutes before it reached the
dead-letter stream, while dedupe had already published it as unique. The rule here:

- **transient** (retry: the entry stays pending and is reclaimed): the network, Redis or the
  database was unreachable, slow, busy or locked; another try may succeed;
- **permanent** (dead-letter at once, with the error): the same input will fail the same way
  on every attempt: validation, arithmetic overflow, a value the database refuses (integrity or
  data errors), a type error on the payload;
- anything else is treated as transient: a failure we cannot classify keeps the old behaviour
  (retries up to ``WIREDESK_MAX_ATTEMPTS``, then ``max-attempts``) rather than lose an entry to a
  bug that a restart would fix.

Database errors are matched by class name as well as by type so this module needs neither
``psycopg`` nor a store backend to be importable.
"""

from __future__ import annotations

import enum
import sqlite3

from pydantic import ValidationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


class Failure(enum.StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"


_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
    InterruptedError,
)
_PERMANENT_TYPES: tuple[type[BaseException], ...] = (
    ValidationError,
    OverflowError,
    ValueError,  # includes UnicodeError and wiredesk.messages.MalformedMessage
    TypeError,
    ZeroDivisionError,
    RecursionError,
    sqlite3.IntegrityError,
    sqlite3.DataError,
)
# psycopg (and DB-API drivers in general) name their errors after PEP 249.
_PERMANENT_NAMES = frozenset(
    {"IntegrityError", "DataError", "NumericValueOutOfRange", "InvalidTextRepresentation"}
)
_TRANSIENT_NAMES = frozenset(
    {
        "OperationalError",
        "SerializationFailure",
        "DeadlockDetected",
        "LockNotAvailable",
        "QueryCanceled",
        "AdminShutdown",
        "ConnectionTimeout",
        "PoolTimeout",
    }
)
_TRANSIENT_WORDS = ("locked", "busy", "timeout", "timed out", "connection", "unavailable")


def classify(exc: BaseException) -> Failure:
    """Transient or permanent, looking through the chain of causes (a wrapped timeout is a
    timeout)."""
    seen: set[int] = set()
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(chain) < 16:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or current.__context__
    if any(_is_transient(e) for e in chain):
        return Failure.TRANSIENT
    if _is_permanent(chain[0]):
        return Failure.PERMANENT
    return Failure.TRANSIENT


def is_permanent(exc: BaseException) -> bool:
    return classify(exc) is Failure.PERMANENT


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, _TRANSIENT_TYPES):
        return True
    if isinstance(exc, sqlite3.OperationalError):  # "database is locked", "disk I/O error"
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _TRANSIENT_NAMES:
        return True
    if names & {"DatabaseError", "InterfaceError"} and not names & _PERMANENT_NAMES:
        text = str(exc).lower()
        return any(word in text for word in _TRANSIENT_WORDS)
    return False


def _is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, _PERMANENT_TYPES):
        return True
    return bool({cls.__name__ for cls in type(exc).__mro__} & _PERMANENT_NAMES)
