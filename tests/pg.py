"""PostgreSQL for the test suite: ``DATABASE_URL`` when it names one, else a private server.

The private server is the one the ``pgserver`` wheel ships (PostgreSQL 16 binaries inside a PyPI
package, so ``make test`` needs nothing but pip). PostgreSQL refuses to run as root; pgserver
handles that by running the server as a dedicated system user it creates. It listens on a Unix
socket in its data directory only (no TCP port to collide on) and is stopped at session end.

Every test gets a fresh database (``CREATE DATABASE``), so tests never see each other's rows and
the suite also runs against a shared server. If PostgreSQL cannot be started the fixture
*fails* the test with the reason: a store suite that silently ran on SQLite alone would prove
nothing about PostgreSQL.

Use it by importing the fixtures into a test module::

    from tests.pg import pg_server_url, pg_url  # noqa: F401
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from services.store.postgres import is_postgres_url, libpq_url


def with_database(url: str, dbname: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(libpq_url(url))
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def _check(url: str) -> None:
    with psycopg.connect(url, connect_timeout=10) as conn:
        conn.execute("SELECT 1")


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A superuser URL of a running PostgreSQL for this session."""
    given = os.environ.get("DATABASE_URL", "")
    if is_postgres_url(given):
        try:
            _check(libpq_url(given))
        except psycopg.Error as exc:
            pytest.fail(f"DATABASE_URL={given!r} is not reachable: {exc}")
        yield libpq_url(given)
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in CI
            import pgserver
    except ImportError as exc:
        pytest.fail(f"no PostgreSQL: DATABASE_URL is unset and pgserver is not installed ({exc})")
    directory = Path(tempfile.mkdtemp(prefix="wiredesk-pg-"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset in CI
            # "delete" stops the server and also takes pgserver's atexit hook off, which would
            # otherwise log after pytest closed its streams ("--- Logging error ---" at exit)
            server = pgserver.get_server(directory / "data", cleanup_mode="delete")
        url = str(server.get_uri())
        _check(url)
    except Exception as exc:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.fail(f"could not start a private PostgreSQL with pgserver: {exc!r}")
    try:
        yield url
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    name = f"wd_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield with_database(pg_server_url, name)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store URL on each backend: the same test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))
