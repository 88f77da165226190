"""Redis Cluster support: detect it, build the right client, run scripts, confirm replication.

``WIREDESK_REDIS_CLUSTER=auto`` (the default) asks the server behind ``REDIS_URL`` (``INFO
cluster``: ``cluster_enabled:1``), so ``REDIS_URL`` may name any node of a cluster; ``true`` and
``false`` skip the question. In cluster mode every process uses redis-py's ``RedisCluster``
(asyncio), which follows ``MOVED``/``ASK`` redirections and re-reads the topology after a
failover; the key layout (:mod:`wiredesk.keys`) keeps each script's keys in one slot.

Scripts run with ``EVAL`` on a cluster rather than ``EVALSHA``: a replica promoted by a failover
has an empty script cache, and an ``EVALSHA`` inside a pipeline would fail with ``NOSCRIPT``
after the batch was sent; ``EVAL`` costs the script's few hundred bytes per call and cannot fail
that way.

``WAIT`` (:class:`ReplicaWait`) counts replicas that have every write *of the connection it runs
on*; a pooled client writes on whatever connection is free. So the confirmation writes a probe
key in the slot it confirms and sends ``WAIT`` right behind it on the same connection: the
replication stream is ordered, so a replica that has the probe has every earlier write to that
node, by any connection.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Iterable
from typing import Any, Protocol

import redis as redis_sync
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster as SyncRedisCluster
from redis.exceptions import ClusterDownError, TryAgainError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wiredesk.settings import WiredeskSettings

log = logging.getLogger(__name__)

#: Errors a failover raises while the cluster settles (in addition to connection errors).
FAILOVER_ERRORS: tuple[type[Exception], ...] = (ClusterDownError, TryAgainError)

AnyRedis = Redis | RedisCluster


def is_cluster_server(url: str, *, timeout_s: float = 30.0) -> bool:
    """Whether the server at ``url`` runs in cluster mode (``INFO cluster``).

    Retries for ``timeout_s`` while the server is unreachable (a service may start before its
    Redis), then lets the connection error out with the URL in the message."""
    deadline = time.monotonic() + timeout_s
    delay = 0.1
    while True:
        client = redis_sync.Redis.from_url(url, socket_connect_timeout=5)
        try:
            info: Any = client.info("cluster")
            return int(info.get("cluster_enabled", 0)) == 1
        except (RedisConnectionError, RedisTimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        finally:
            client.close()


def use_cluster(settings: WiredeskSettings) -> bool:
    """``WIREDESK_REDIS_CLUSTER``: true/false as said, auto asks the server."""
    mode = getattr(settings, "redis_cluster", "auto")
    if mode == "true":
        return True
    if mode == "false":
        return False
    return is_cluster_server(settings.redis_url)


def async_client(settings: WiredeskSettings, *, cluster: bool) -> AnyRedis:
    """The asyncio client for this deployment, retrying through restarts and failovers."""
    retry = Retry(ExponentialWithJitterBackoff(base=0.1, cap=2.0), retries=6)
    if not cluster:
        return Redis.from_url(
            settings.redis_url,
            retry=retry,
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            health_check_interval=30,
            socket_keepalive=True,
        )
    return RedisCluster.from_url(
        settings.redis_url,
        retry=retry,
        socket_keepalive=True,
        socket_connect_timeout=2,
        # 10 s per command (FastStream's blocking reads stay far below that)
        socket_timeout=10,
    )


def sync_client(settings: WiredeskSettings) -> Any:
    """A blocking client for the CLI (``status``, ``dlq``): ``RedisCluster`` on a cluster."""
    if use_cluster(settings):
        return SyncRedisCluster.from_url(settings.redis_url)
    return redis_sync.Redis.from_url(settings.redis_url)


class ScriptCall(Protocol):
    async def __call__(
        self, keys: list[Any] | None = None, args: list[Any] | None = None, client: Any = None
    ) -> Any: ...


class EvalScript:
    """Same call shape as redis-py's ``AsyncScript``, but sends ``EVAL`` (see module doc)."""

    def __init__(self, client: Any, text: str) -> None:
        self._client = client
        self.script = text

    async def __call__(
        self, keys: list[Any] | None = None, args: list[Any] | None = None, client: Any = None
    ) -> Any:
        keys = keys or []
        if isinstance(client, ClusterPipeline):  # queued; awaiting a pipeline resets it
            return client.eval(self.script, len(keys), *keys, *(args or []))
        target = self._client if client is None else client
        return await target.eval(self.script, len(keys), *keys, *(args or []))


def make_script(client: Any, text: str) -> Any:
    """``register_script`` on one node, :class:`EvalScript` on a cluster."""
    if isinstance(client, RedisCluster):
        return EvalScript(client, text)
    return client.register_script(text)


def is_cluster_client(client: object) -> bool:
    return isinstance(client, RedisCluster)


async def replicas_available(client: AnyRedis) -> int:
    """The fewest replicas any master has (0 on a lone server): the default for WAIT."""
    if isinstance(client, RedisCluster):
        counts: dict[str, int] = {}
        nodes: Any = await client.cluster_nodes()
        for _, node in nodes.items():
            flags = str(node.get("flags", ""))
            if "master" in flags and "fail" not in flags:
                counts.setdefault(str(node["node_id"]), 0)
        for _, node in nodes.items():
            master = node.get("master_id")
            flags = str(node.get("flags", ""))
            if master and master != "-" and "fail" not in flags and master in counts:
                counts[master] += 1
        return min(counts.values(), default=0)
    info: Any = await client.info("replication")
    return int(info.get("connected_slaves", 0))


async def resolve_wait_replicas(settings: WiredeskSettings, client: AnyRedis) -> int:
    """``WIREDESK_WAIT_REPLICAS``, or its default: 1 when every master has a replica, else 0."""
    wanted = getattr(settings, "wait_replicas", None)
    if wanted is not None:
        return int(wanted)
    return 1 if await replicas_available(client) >= 1 else 0


class ReplicaWait:
    """Waits until ``replicas`` replicas have the writes made so far to some slots' nodes."""

    def __init__(self, client: AnyRedis, *, replicas: int, timeout_ms: int, prefix: str) -> None:
        self.client = client
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self.prefix = prefix
        self.short = 0
        """How many confirmations fell short (metrics, tests)."""

    def probe_key(self, key: str) -> str:
        """A key in ``key``'s slot: its hash tag, or the whole name when it has none."""
        if "{" in key and "}" in key[key.index("{") :]:
            start = key.index("{")
            tag = key[start : key.index("}", start) + 1]
        else:
            tag = f"{{{key}}}"
        return f"{self.prefix}:wait:{tag}"

    async def confirm(self, keys: Iterable[str]) -> bool:
        """True when every slot of ``keys`` reached ``replicas`` replicas within the timeout.

        Never raises for a short count: the caller decides (dedupe does not take the next step
        of its protocol; other stages log and go on, see docs/design.md, Durability).
        """
        if self.replicas <= 0:
            return True
        probes = {self.probe_key(k) for k in keys}
        ok = True
        for probe in sorted(probes):
            got = await self._wait_one(probe)
            if got < self.replicas:
                ok = False
                self.short += 1
                log.warning(
                    "write not confirmed by enough replicas",
                    extra={"slot_key": probe, "replicas": got, "wanted": self.replicas},
                )
        return ok

    async def _wait_one(self, probe: str) -> int:
        args: list[tuple[Any, ...]] = [
            ("SET", probe, "1", "PX", "60000"),
            ("WAIT", self.replicas, self.timeout_ms),
        ]
        if isinstance(self.client, RedisCluster):
            node = self.client.get_node_from_key(probe)
            if node is None:
                return 0
            conn = node.acquire_connection()
            try:
                await conn.send_packed_command(conn.pack_commands(args))
                await conn.read_response()
                return int(await conn.read_response())
            except Exception as exc:  # MOVED after a failover, a dead node: not confirmed
                log.warning("WAIT failed", extra={"slot_key": probe, "error": repr(exc)})
                await conn.disconnect()
                return 0
            finally:
                node.release(conn)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(probe, "1", px=60000)
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
            _, count = await pipe.execute()
        return int(count)


class ReplicationShort(RedisConnectionError):
    """A write was not confirmed by enough replicas: treated like Redis being unreachable
    (the batch stays pending and is retried; every retried step is idempotent)."""


_WAITS: weakref.WeakKeyDictionary[Any, ReplicaWait] = weakref.WeakKeyDictionary()


def attach_wait(client: object, wait: ReplicaWait | None) -> None:
    """Make every committer built on ``client`` confirm its writes with ``wait``."""
    if wait is None or wait.replicas <= 0:
        _WAITS.pop(client, None)
    else:
        _WAITS[client] = wait


def wait_for(client: object) -> ReplicaWait | None:
    """The :class:`ReplicaWait` attached to ``client``, if any."""
    try:
        return _WAITS.get(client)
    except TypeError:  # not weak-referenceable: nothing can have been attached
        return None


async def attach_default_wait(client: AnyRedis, settings: WiredeskSettings) -> ReplicaWait | None:
    """Resolve ``WIREDESK_WAIT_REPLICAS`` against the server and attach it to ``client``."""
    replicas = await resolve_wait_replicas(settings, client)
    if replicas <= 0:
        attach_wait(client, None)
        return None
    wait = ReplicaWait(
        client,
        replicas=replicas,
        timeout_ms=getattr(settings, "wait_timeout_ms", 2000),
        prefix=settings.key_prefix,
    )
    attach_wait(client, wait)
    return wait
