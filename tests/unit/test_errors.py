"""The retry rule: what fails the same way every time is dead-lettered at once."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError
from redis.exceptions import BusyLoadingError, ConnectionError, TimeoutError

from wiredesk.errors import Failure, classify
from wiredesk.messages import MalformedMessage


class _M(BaseModel):
    n: int


def _validation_error() -> ValidationError:
    try:
        _M.model_validate({"n": "x"})
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


def _overflow() -> OverflowError:
    try:
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5))).astimezone(UTC)
    except OverflowError as exc:
        return exc
    raise AssertionError("unreachable")


def _sqlite_error(sql: str) -> sqlite3.Error:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x REAL NOT NULL)")
    try:
        db.execute(sql)
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("unreachable")


class IntegrityError(Exception):  # the name psycopg's (and every DB-API driver's) error has
    pass


class OperationalError(Exception):
    pass


@pytest.mark.parametrize(
    "exc",
    [
        _validation_error(),
        _overflow(),
        ValueError("bad"),
        MalformedMessage("schema-violation", "x"),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        TypeError("unhashable"),
        _sqlite_error("INSERT INTO t VALUES (NULL)"),  # IntegrityError: NOT NULL
        IntegrityError("duplicate key"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_deterministic_failures_are_permanent(exc: Exception) -> None:
    assert classify(exc) is Failure.PERMANENT


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionError("refused"),
        TimeoutError("slow"),
        BusyLoadingError("loading"),
        sqlite3.OperationalError("database is locked"),
        OperationalError("server closed the connection unexpectedly"),
        RuntimeError("gave up committing after 50 conflicts"),  # unknown: retried
        KeyError("x"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transient_and_unknown_failures_are_retried(exc: Exception) -> None:
    assert classify(exc) is Failure.TRANSIENT


def test_a_permanent_looking_error_caused_by_a_timeout_is_transient() -> None:
    outer = ValueError("could not parse reply")
    outer.__cause__ = TimeoutError("read timed out")
    assert classify(outer) is Failure.TRANSIENT
