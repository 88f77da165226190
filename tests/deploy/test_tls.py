"""Redis over TLS: the services (FastStream's broker and wiredesk's own clients) take a
``rediss://`` URL with a pinned CA, as docs/security.md says, and the pipeline works through it."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from services.store.sqlite import SqliteStore
from tests.conftest import SEEDS
from wiredesk.app.files import read_articles
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.messages import encode_entry
from wiredesk.settings import Streams
from wiredesk.testing import RedisHandle, redis_container

pytestmark = pytest.mark.docker


def container_host() -> str:
    """The address testcontainers reports for a container here (``localhost``, or the bridge's
    gateway when the tests themselves run in a container): the certificate must name it."""
    with redis_container(appendonly=False) as plain:
        return plain.host


def make_certificates(directory: Path, host: str) -> Path:
    """A throwaway CA and a server certificate for ``host`` and loopback, signed by it."""

    def openssl(command: str) -> None:
        args = ["openssl", *shlex.split(command)]
        subprocess.run(args, cwd=directory, check=True, capture_output=True)

    is_ip = host.replace(".", "").isdigit() or ":" in host
    names = ["DNS:localhost", "IP:127.0.0.1", f"IP:{host}" if is_ip else f"DNS:{host}"]
    (directory / "san.ext").write_text(f"subjectAltName={','.join(names)}\n")
    openssl(
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=wiredesk test CA'"
        " -keyout ca.key -out ca.crt"
    )
    openssl("req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr")
    openssl(
        "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2"
        " -extfile san.ext -out server.crt"
    )
    (directory / "server.key").chmod(0o644)  # the container's redis user must read them
    directory.chmod(0o755)
    return directory


@pytest.fixture(scope="module")
def tls_redis(images: float) -> Iterator[RedisHandle]:
    # Not under pytest's tmp_path: its parents are 0700, which the container's user cannot cross.
    certificates = make_certificates(
        Path(tempfile.mkdtemp(prefix="wiredesk-tls-")), container_host()
    )
    try:
        with redis_container(tls_dir=certificates, appendonly=False) as handle:
            yield handle
    finally:
        shutil.rmtree(certificates, ignore_errors=True)


def test_plain_connections_are_refused(tls_redis: RedisHandle) -> None:
    plain = redis.Redis(host=tls_redis.host, port=tls_redis.port, socket_timeout=2)
    with pytest.raises(redis.ConnectionError):
        plain.ping()


def test_the_pipeline_runs_over_tls(tls_redis: RedisHandle, tmp_path: Path) -> None:
    assert tls_redis.url.startswith("rediss://")
    streams = Streams().prefixed("tls:")
    database = f"sqlite:///{tmp_path / 'store.db'}"
    env = {
        "REDIS_URL": tls_redis.url,
        "WIREDESK_KEY_PREFIX": "tls:wd",
        "WIREDESK_DATABASE_URL": database,
        **streams.env(),
    }
    client = redis.Redis.from_url(tls_redis.url)
    store = SqliteStore.from_url(database)
    store.migrate()
    services = ServiceProcesses(env, log_dir=tmp_path / "logs").start()
    try:
        for article in read_articles([SEEDS], source="seeds"):
            client.xadd(streams.raw, encode_entry(article))  # type: ignore[arg-type]
        deadline = time.monotonic() + 120
        while store.count_articles() < 5 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert store.count_articles() == 5
        assert client.xlen(streams.unique) == 1  # the five seeds are one story
    finally:
        codes = services.stop()
        client.close()
    assert codes == {s: [0] for s in ("ingest", "dedupe", "store")}
