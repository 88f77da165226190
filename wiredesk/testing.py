"""Test kit for projects that run against wiredesk: a Redis container, the whole compose stack.

Public API (import only from here; everything else in ``wiredesk`` may change)::

    from wiredesk.testing import (
        UNIQUE, RAW, STREAMS,                 # stream names (wiredesk.settings.Streams defaults)
        docker_available, ensure_images,      # is there an engine; build our images when missing
        redis_container, redis_fixture,       # one Redis (our image) per block / pytest fixture
        pipeline_stack, ComposeStack,         # Redis + ingest + dedupe + store + api via compose
        wait_for_unique,                      # block until N stories are on articles:unique
    )

Why it drives the compose CLI and not ``testcontainers.compose.DockerCompose``: testcontainers 4.x
hard-codes ``docker compose`` (the v2 plugin) and uses ``up --wait`` and ``ps --format json``,
which the classic ``docker-compose`` 1.x does not have; hosts with only 1.x (and hosts with only
v2) are both common. :class:`ComposeStack` uses the subcommands both understand. Single
containers do use testcontainers (``DockerContainer``), so host/port resolution (Docker-in-Docker,
remote engines, ``TESTCONTAINERS_HOST_OVERRIDE``) follows testcontainers' rules.

Images: the compose file builds ``wiredesk:latest`` and ``wiredesk-redis:latest`` from a wiredesk
source checkout (this package's parent directory when run from source, else
``WIREDESK_SOURCE_DIR``). On an engine without a registry, :func:`ensure_images` first makes the
``debian:bookworm-slim`` base image locally (``docker/make-base-image.sh``, needs root once).

Ryuk (testcontainers' reaper container) is disabled unless ``TESTCONTAINERS_RYUK_DISABLED`` is
set, because its image cannot be pulled on registry-less engines; every helper here removes what
it started in a ``finally`` block instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import redis

from wiredesk.embedded_cluster import EmbeddedCluster
from wiredesk.settings import Streams

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

__all__ = [
    "ANNOTATED",
    "APP_IMAGE",
    "BASE_IMAGE",
    "DLQ",
    "NORMALIZED",
    "RAW",
    "REDIS_IMAGE",
    "STREAMS",
    "UNIQUE",
    "ComposeStack",
    "DockerUnavailableError",
    "RedisHandle",
    "docker_available",
    "ensure_images",
    "image_exists",
    "pipeline_stack",
    "redis_cluster",
    "redis_container",
    "redis_fixture",
    "source_dir",
    "wait_for_unique",
]

STREAMS = Streams()
"""The default topology; a stack started by :func:`pipeline_stack` uses exactly these names."""
RAW = STREAMS.raw
NORMALIZED = STREAMS.normalized
ANNOTATED = STREAMS.annotated
UNIQUE = STREAMS.unique
DLQ = STREAMS.dlq

APP_IMAGE = os.environ.get("WIREDESK_IMAGE", "wiredesk:latest")
REDIS_IMAGE = os.environ.get("WIREDESK_REDIS_IMAGE", "wiredesk-redis:latest")
POSTGRES_IMAGE = os.environ.get("WIREDESK_POSTGRES_IMAGE", "wiredesk-postgres:latest")
PROMETHEUS_IMAGE = os.environ.get("WIREDESK_PROMETHEUS_IMAGE", "wiredesk-prometheus:latest")
BASE_IMAGE = "debian:bookworm-slim"

# Root CAs that the host trusts on top of the public ones (Debian/Ubuntu layout). Passed to image
# builds so that pip works behind a TLS-intercepting proxy; absent on most machines.
LOCAL_CA_DIR = Path("/usr/local/share/ca-certificates")


class DockerUnavailableError(RuntimeError):
    """No usable Docker Engine (or compose CLI); the message says why."""


def _run(
    args: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else {**os.environ, **env},
        cwd=cwd,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:4])} ... exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def docker_available() -> tuple[bool, str]:
    """``(True, "")`` when a Docker Engine answers, else ``(False, reason)`` for a skip message.

    Uses the ``docker`` CLI (what compose uses too), so DOCKER_HOST / contexts apply as usual.
    """
    if shutil.which("docker") is None:
        return False, "no `docker` CLI on PATH"
    try:
        result = _run(
            ["docker", "version", "--format", "{{.Server.Version}}"], timeout=15, check=False
        )
    except subprocess.TimeoutExpired:
        return False, "the Docker Engine did not answer `docker version` within 15 s"
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        return False, f"no reachable Docker Engine: {reason}"
    return True, ""


def compose_command() -> list[str]:
    """The compose CLI: ``WIREDESK_COMPOSE`` (e.g. ``docker compose``), else v2, else v1."""
    configured = os.environ.get("WIREDESK_COMPOSE")
    if configured:
        return configured.split()
    probe = _run(["docker", "compose", "version"], timeout=15, check=False)
    if probe.returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise DockerUnavailableError("neither `docker compose` (v2) nor `docker-compose` is installed")


def source_dir() -> Path:
    """The wiredesk checkout holding docker-compose.yml and the Dockerfiles.

    ``WIREDESK_SOURCE_DIR`` wins; otherwise the directory above this package, which is the
    checkout when wiredesk runs from source (an editable install or ``PYTHONPATH``).
    """
    configured = os.environ.get("WIREDESK_SOURCE_DIR")
    candidate = Path(configured) if configured else Path(__file__).resolve().parent.parent
    if not (candidate / "docker-compose.yml").is_file():
        raise DockerUnavailableError(
            f"no docker-compose.yml in {candidate}: set WIREDESK_SOURCE_DIR to a wiredesk checkout"
        )
    return candidate


def image_exists(image: str) -> bool:
    """Whether the engine already has ``image`` (no registry is ever asked)."""
    return _run(["docker", "image", "inspect", image], timeout=30, check=False).returncode == 0


def build_env() -> dict[str, str]:
    """Build arguments from the host: its locally added root CAs, unless EXTRA_CA_CERT is set.

    Behind a TLS-intercepting proxy pip inside a build fails without the proxy's CA; a host that
    trusts it has it in /usr/local/share/ca-certificates. Elsewhere this is empty and the build
    uses the public roots only.
    """
    if os.environ.get("EXTRA_CA_CERT"):
        return {}
    pems = sorted(LOCAL_CA_DIR.glob("*.crt")) if LOCAL_CA_DIR.is_dir() else []
    text = "\n".join(p.read_text(encoding="ascii", errors="ignore").strip() for p in pems)
    return {"EXTRA_CA_CERT": text} if text else {}


def ensure_images(
    *, services: Sequence[str] | None = None, rebuild: bool = True, timeout: float = 1800
) -> None:
    """Make sure the base image exists and build the stack's images.

    ``rebuild=True`` runs ``compose build`` even when the images exist: the layer cache makes it a
    few seconds when nothing changed, and it keeps tests from running stale code. With
    ``rebuild=False`` only missing images are built (the fast path for a plain Redis).
    ``services`` limits the build (e.g. ``["redis"]``).
    """
    ok, reason = docker_available()
    if not ok:
        raise DockerUnavailableError(reason)
    root = source_dir()
    targets = list(services) if services else ["redis", "ingest"]  # ingest builds the app image
    own_image = {"redis": REDIS_IMAGE, "postgres": POSTGRES_IMAGE, "prometheus": PROMETHEUS_IMAGE}
    images = {own_image.get(name, APP_IMAGE) for name in targets}
    if not rebuild and all(image_exists(image) for image in images):
        return
    if set(targets) <= _BUILT:  # once per process: a test session builds once, not per stack
        return
    if not image_exists(BASE_IMAGE):
        if hasattr(os, "geteuid") and os.geteuid() != 0:
            raise DockerUnavailableError(
                f"{BASE_IMAGE} is missing and cannot be pulled here; run "
                f"`sudo {root / 'docker' / 'make-base-image.sh'}` once (debootstrap needs root)"
            )
        _run(["bash", str(root / "docker" / "make-base-image.sh")], timeout=timeout, cwd=root)
    profile_of = {"postgres": "postgres", "prometheus": "monitoring"}
    active = sorted({profile_of[name] for name in targets if name in profile_of})
    profiles = {"COMPOSE_PROFILES": ",".join(active)} if active else {}
    _run(
        [*compose_command(), "build", *targets],
        timeout=timeout,
        env={**build_env(), **profiles},
        cwd=root,
    )
    _BUILT.update(targets)


_BUILT: set[str] = set()


@dataclass(frozen=True)
class RedisHandle:
    """A started Redis: where it answers, and the container behind it (to stop, kill, restart)."""

    url: str
    host: str
    port: int
    container_id: str


def _wait_for_ping(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        while True:
            try:
                if client.ping():
                    return
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.1)
    finally:
        client.close()


@contextmanager
def redis_container(
    *,
    image: str = REDIS_IMAGE,
    appendonly: bool = True,
    password: str | None = None,
    tls_dir: Path | None = None,
    build_if_missing: bool = True,
    timeout: float = 60,
) -> Iterator[RedisHandle]:
    """A Redis container for the block, removed (with its data volume) afterwards.

    The image is wiredesk's Redis (Debian's redis-server 7.0) with the pipeline's required
    settings: ``maxmemory-policy noeviction`` and, unless ``appendonly=False``, AOF with
    ``appendfsync everysec``. Data lives on the image's /data volume (not the container's
    copy-on-write layer, which is slow on some storage drivers).

    ``tls_dir``: a directory with ``ca.crt``, ``server.crt`` and ``server.key`` (readable by
    the container's ``redis`` user); Redis then speaks TLS only, and the URL is
    ``rediss://...?ssl_cert_reqs=required&ssl_ca_certs=<tls_dir>/ca.crt``.
    """
    from testcontainers.core.container import DockerContainer

    if build_if_missing and not image_exists(image):
        ensure_images(services=["redis"])
    command = [
        "--appendonly",
        "yes" if appendonly else "no",
        "--appendfsync",
        "everysec",
        "--maxmemory-policy",
        "noeviction",
        "--save",
        "",
        "--dir",
        "/data",
        "--bind",
        "0.0.0.0",  # noqa: S104 (inside the container)
        "--protected-mode",
        "no",
    ]
    if tls_dir is not None:
        command += ["--port", "0", "--tls-port", "6379", "--tls-auth-clients", "no"]
        command += ["--tls-ca-cert-file", "/tls/ca.crt", "--tls-cert-file", "/tls/server.crt"]
        command += ["--tls-key-file", "/tls/server.key"]
    container = DockerContainer(image).with_exposed_ports(6379).with_command(command)
    if tls_dir is not None:
        container = container.with_volume_mapping(str(tls_dir.resolve()), "/tls", "ro")
    if password:
        container = container.with_env("REDIS_PASSWORD", password)
    container.start()
    try:
        host = container.get_container_host_ip()
        port = int(container.get_exposed_port(6379))
        auth = f":{password}@" if password else ""
        url = f"redis://{auth}{host}:{port}/0"
        if tls_dir is not None:
            ca = quote(str((tls_dir / "ca.crt").resolve()))
            url = f"rediss://{auth}{host}:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={ca}"
        _wait_for_ping(url, timeout)
        yield RedisHandle(url=url, host=host, port=port, container_id=container.get_container_id())
    finally:
        container.stop()


def redis_fixture(
    *, scope: str = "session", name: str = "redis_url", **options: Any
) -> Callable[..., Any]:
    """A pytest fixture (``scope``) yielding the URL of a :func:`redis_container`.

    In a downstream ``conftest.py``::

        from wiredesk.testing import redis_fixture
        redis_url = redis_fixture()          # every test asking for `redis_url` shares one Redis

    It skips the test (with the reason) when no Docker Engine is reachable.
    """
    import pytest

    @pytest.fixture(scope=scope, name=name)  # type: ignore[call-overload,untyped-decorator,unused-ignore]
    def _fixture() -> Iterator[str]:
        ok, reason = docker_available()
        if not ok:
            pytest.skip(reason)
        with redis_container(**options) as handle:
            yield handle.url

    return _fixture  # type: ignore[no-any-return,unused-ignore]


@dataclass
class ComposeStack:
    """One compose project of docker-compose.yml, isolated by its project name.

    Redis and the API are published on ephemeral host ports (never fixed ones, so stacks run side
    by side); :attr:`redis_url` and :attr:`api_url` say where. ``env`` adds to the environment of
    every compose call, i.e. to the variables that docker-compose.yml interpolates.
    """

    project: str = field(default_factory=lambda: f"wdtest{uuid.uuid4().hex[:8]}")
    root: Path = field(default_factory=source_dir)
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = 180

    def __post_init__(self) -> None:
        self._compose = compose_command()
        self.env = {
            "WIREDESK_REDIS_PUBLISH": "6379",  # container port only: an ephemeral host port
            "WIREDESK_API_PUBLISH": "8080",
            "WIREDESK_PROMETHEUS_PUBLISH": "9090",  # used by the `monitoring` profile only
            **self.env,
        }

    def compose(
        self, *args: str, timeout: float | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one compose subcommand in this project (``up``, ``ps``, ``logs`` ...)."""
        return _run(
            [*self._compose, "-p", self.project, *args],
            timeout=timeout or self.timeout,
            env=self.env,
            cwd=self.root,
            check=check,
        )

    def up(self, *services: str, scale: Mapping[str, int] | None = None) -> ComposeStack:
        """``up -d`` (no build: see :func:`ensure_images`), then wait until all are healthy."""
        scale_args = [f"--scale={name}={n}" for name, n in (scale or {}).items()]
        self.compose("up", "-d", "--no-build", *scale_args, *services)
        self.wait_healthy()
        return self

    def down(self, *, volumes: bool = False) -> None:
        """``down``: containers and network go; named volumes stay unless ``volumes=True``."""
        self.compose("down", "--remove-orphans", *(["-v"] if volumes else []), check=False)

    def container_ids(self, service: str | None = None) -> list[str]:
        """Ids of this project's running containers (of one service)."""
        return self.compose("ps", "-q", *([service] if service else [])).stdout.split()

    def health(self) -> dict[str, str]:
        """Container name -> health status ('healthy', 'starting', ..., or the state)."""
        ids = self.container_ids()
        if not ids:
            return {}
        fmt = (
            "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}"
        )
        out = _run(["docker", "inspect", "--format", fmt, *ids], timeout=30).stdout
        return dict(line.lstrip("/").split(" ", 1) for line in out.splitlines() if line)

    def wait_healthy(self, timeout: float | None = None) -> None:
        """Wait until every container of the project reports healthy (or has no healthcheck)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            states = self.health()
            if states and all(s in ("healthy", "running") for s in states.values()):
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"stack not healthy: {states}\n{self.logs()}")
            time.sleep(0.5)

    def _published(self, service: str, port: int) -> tuple[str, int]:
        from testcontainers.core.docker_client import DockerClient

        cid = self.container_ids(service)[0]
        out = self.compose("port", service, str(port)).stdout.strip()
        host_port = int(out.rsplit(":", 1)[1])
        client = DockerClient()
        mode = client.get_connection_mode()
        if mode.name == "gateway_ip":
            return client.gateway_ip(cid), host_port
        if mode.name == "bridge_ip":
            return client.bridge_ip(cid), port
        return client.host(), host_port

    @property
    def redis_url(self) -> str:
        """The stack's Redis as seen from this process (the published port)."""
        host, port = self._published("redis", 6379)
        password = self.env.get("REDIS_PASSWORD") or os.environ.get("REDIS_PASSWORD")
        auth = f":{password}@" if password else ""
        return f"redis://{auth}{host}:{port}/0"

    @property
    def api_url(self) -> str:
        """Base URL of the read API, e.g. ``http://172.17.0.1:49160``."""
        host, port = self._published("api", 8080)
        return f"http://{host}:{port}"

    @property
    def prometheus_url(self) -> str:
        """Base URL of Prometheus (the ``monitoring`` profile: ``COMPOSE_PROFILES=monitoring``)."""
        host, port = self._published("prometheus", 9090)
        return f"http://{host}:{port}"

    def replay(self, directory: Path, *args: str, timeout: float = 300) -> str:
        """Run the one-shot replayer on ``directory`` (or one file); returns its output.

        ``args`` go before the path, e.g. ``"--rate", "50"``.
        """
        path = Path(directory).resolve()
        # The replay service mounts a directory at /replay; a file is replayed from its folder.
        mount, target = (
            (path.parent, f"/replay/{path.name}") if path.is_file() else (path, "/replay")
        )
        previous = self.env.get("WIREDESK_REPLAY_DIR")
        self.env["WIREDESK_REPLAY_DIR"] = str(mount)
        try:
            result = self.compose(
                "run", "--rm", "-T", "replay", "replay", *args, target, timeout=timeout
            )
        finally:
            if previous is None:
                self.env.pop("WIREDESK_REPLAY_DIR", None)
            else:
                self.env["WIREDESK_REPLAY_DIR"] = previous
        return result.stdout + result.stderr

    def logs(self, *services: str, tail: int = 60) -> str:
        """The last lines of each service's log, for assertion messages."""
        result = self.compose("logs", "--no-color", f"--tail={tail}", *services, check=False)
        return result.stdout[-20000:]


@contextmanager
def pipeline_stack(
    *,
    project: str | None = None,
    env: Mapping[str, str] | None = None,
    scale: Mapping[str, int] | None = None,
    build: bool = True,
    keep_volumes: bool = False,
) -> Iterator[ComposeStack]:
    """The whole pipeline (redis, ingest, dedupe, store, api) for the block, then ``down -v``.

    ``build=True`` runs :func:`ensure_images` first (cheap when cached). Yields a
    :class:`ComposeStack`: publish to :data:`RAW` on ``stack.redis_url``, read stories from
    ``stack.api_url``, or call ``stack.replay(path)``.
    """
    ok, reason = docker_available()
    if not ok:
        raise DockerUnavailableError(reason)
    if build:
        ensure_images()
    stack = ComposeStack(env=dict(env or {}))
    if project:
        stack.project = project
    try:
        yield stack.up(scale=scale)
    finally:
        stack.down(volumes=not keep_volumes)


def wait_for_unique(
    redis_url: str, n: int, timeout: float = 60, *, stream: str = UNIQUE
) -> list[dict[str, Any]]:
    """Block until ``stream`` (articles:unique) holds at least ``n`` entries; return them decoded.

    Each entry is the ``annotated.v1`` document of a story's first article. Raises
    ``TimeoutError`` with the count reached, so a stuck pipeline fails instead of hanging.
    """
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    deadline = time.monotonic() + timeout
    try:
        while True:
            count = int(client.xlen(stream))
            if count >= n:
                entries: list[tuple[bytes, dict[bytes, bytes]]] = client.xrange(stream)  # type: ignore[assignment]
                return [orjson.loads(fields[b"data"]) for _, fields in entries]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{stream}: {count} of {n} entries after {timeout}s")
            time.sleep(0.2)
    finally:
        client.close()


@contextmanager
def redis_cluster(masters: int = 3, replicas_per_master: int = 1) -> Iterator[EmbeddedCluster]:
    """A private Redis Cluster (no Docker): ``with redis_cluster() as c: c.url`` is one node's
    URL, which wiredesk takes as a cluster by itself. ``c.kill_master(key)`` SIGKILLs the master
    of a key's slot and returns once its replica took over; ``c.restart(node)`` brings it back
    (``wiredesk.embedded_cluster``)."""
    with EmbeddedCluster(masters=masters, replicas_per_master=replicas_per_master) as cluster:
        yield cluster
