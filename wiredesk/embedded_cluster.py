"""A private Redis Cluster (3 masters, 3 replicas by default) for tests and benchmarks.

Same binary as :mod:`wiredesk.embedded` (its :func:`~wiredesk.embedded.find_redis_server`), one
process per node on free loopback ports, each in its own directory with cluster mode, AOF
(``everysec``) and a short node timeout (so a failover takes about two seconds, not fifteen).
The cluster is created with ``redis-cli --cluster create`` when a ``redis-cli`` lies beside the
server binary or on PATH, otherwise by hand through redis-py (``CLUSTER ADDSLOTS``/``MEET``/
``REPLICATE``, which every server version since 3.0 has).

:meth:`EmbeddedCluster.kill_master` SIGKILLs the master of a slot, the way a lost machine dies,
and waits until a replica was promoted and the cluster serves every slot again.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
from redis.cluster import RedisCluster

from wiredesk.embedded import find_redis_server, free_port
from wiredesk.streaming import text_of

SLOTS = 16384


def free_cluster_port(taken: set[int]) -> int:
    """A free loopback port whose cluster-bus port (port + 10000) is free too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 > 65535 or port in taken or port + 10000 in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair (port, port + 10000) for a cluster node")


def find_redis_cli() -> str | None:
    """``redis-cli`` beside the server binary, else on PATH, else None."""
    beside = Path(find_redis_server()).with_name("redis-cli")
    if beside.is_file():
        return str(beside)
    return shutil.which("redis-cli")


@dataclass
class Node:
    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=5)


@dataclass
class EmbeddedCluster:
    """Context manager: start and create on enter, stop everything and delete on exit."""

    masters: int = 3
    replicas_per_master: int = 1
    node_timeout_ms: int = 1000
    nodes: list[Node] = field(default_factory=list)
    use_cli: bool | None = None  # None: when a redis-cli exists

    def __post_init__(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="wiredesk-cluster-"))

    @property
    def url(self) -> str:
        """One node's URL: the project finds the rest itself (cluster mode, auto)."""
        return f"redis://127.0.0.1:{self.nodes[0].port}/0"

    def start(self, *, timeout: float = 60.0) -> EmbeddedCluster:
        total = self.masters * (1 + self.replicas_per_master)
        for i in range(total):
            taken = {n.port for n in self.nodes} | {n.port + 10000 for n in self.nodes}
            node = Node(free_cluster_port(taken), self._root / f"node{i}")
            node.dir.mkdir(parents=True)
            self.nodes.append(node)
            self._launch(node)
        for node in self.nodes:
            self._wait_ping(node, timeout)
        cli = find_redis_cli() if self.use_cli in (None, True) else None
        if self.use_cli and cli is None:
            raise FileNotFoundError("no redis-cli beside redis-server or on PATH")
        if cli is not None:
            self._create_with_cli(cli)
        else:
            self._create_by_hand()
        self.wait_ok(timeout)
        return self

    def _launch(self, node: Node) -> None:
        args = [
            find_redis_server(),
            "--port", str(node.port),
            "--bind", "127.0.0.1",
            "--dir", str(node.dir),
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--protected-mode", "yes",
        ]  # fmt: skip
        with (node.dir / "redis.log").open("ab") as log:
            node.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

    def _wait_ping(self, node: Node, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        client = node.client()
        try:
            while True:
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    if not node.running or time.monotonic() > deadline:
                        log = (node.dir / "redis.log").read_text(errors="replace")
                        raise RuntimeError(f"cluster node did not start: {log}") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def _create_with_cli(self, cli: str) -> None:
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        cmd = [cli, "--cluster", "create", *addresses]
        cmd += ["--cluster-replicas", str(self.replicas_per_master), "--cluster-yes"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {done.stdout}{done.stderr}")

    def _create_by_hand(self) -> None:
        masters = self.nodes[: self.masters]
        per = SLOTS // self.masters
        for i, node in enumerate(masters):
            lo = i * per
            hi = SLOTS - 1 if i == self.masters - 1 else lo + per - 1
            with node.client() as client:
                client.execute_command("CLUSTER ADDSLOTS", *range(lo, hi + 1))
        with self.nodes[0].client() as first:
            for node in self.nodes[1:]:
                first.execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        ids = {}
        for node in masters:
            with node.client() as client:
                ids[node.port] = client.execute_command("CLUSTER MYID").decode()
        deadline = time.monotonic() + 30
        for k, node in enumerate(self.nodes[self.masters :]):
            master = masters[k % self.masters]
            with node.client() as client:
                while True:  # the replica must have heard of its master through gossip
                    try:
                        client.execute_command("CLUSTER REPLICATE", ids[master.port])
                        break
                    except redis.ResponseError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)

    def wait_ok(self, timeout: float = 60.0) -> None:
        """Until every running node says ``cluster_state:ok`` and every master has its
        replicas' link up (a fresh replica first syncs)."""
        deadline = time.monotonic() + timeout
        while True:
            if all(self._node_ok(n) for n in self.nodes if n.running):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster not ok after {timeout}s: {self.describe()}")
            time.sleep(0.1)

    def _node_ok(self, node: Node) -> bool:
        try:
            with node.client() as client:
                info: Any = client.execute_command("CLUSTER INFO")
                if isinstance(info, dict):  # redis-py parses the reply
                    if str(info.get("cluster_state")) != "ok":
                        return False
                elif "cluster_state:ok" not in text_of(info):
                    return False
                repl: Any = client.info("replication")
                if repl.get("role") == "slave":
                    return bool(repl.get("master_link_status") == "up")
                return True
        except redis.RedisError:
            return False

    def describe(self) -> str:
        """``CLUSTER NODES`` as one running node sees it (for failure messages)."""
        for node in self.nodes:
            if node.running:
                try:
                    with node.client() as client:
                        out: Any = client.execute_command("CLUSTER NODES")
                        if isinstance(out, dict):
                            return "; ".join(
                                f"{a} {v.get('flags')} slots={v.get('slots')}"
                                for a, v in out.items()
                            )
                        return text_of(out)
                except redis.RedisError:
                    continue
        return "no node answers"

    def client(self) -> RedisCluster:
        """A cluster client that starts from every running node (any may be the dead one)."""
        from redis.cluster import ClusterNode

        running = [ClusterNode("127.0.0.1", n.port) for n in self.nodes if n.running]  # type: ignore[no-untyped-call]
        return RedisCluster(startup_nodes=running, socket_connect_timeout=1)

    def master_of(self, key: str) -> Node:
        """The node that serves ``key``'s slot now."""
        with self.client() as client:
            target = client.get_node_from_key(key)
            assert target is not None
            port = int(target.port)
        return next(n for n in self.nodes if n.port == port)

    def kill_master(self, key: str, *, timeout: float = 30.0) -> Node:
        """SIGKILL the master of ``key``'s slot; return once a replica serves it."""
        victim = self.master_of(key)
        assert victim.proc is not None
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(timeout=10)
        deadline = time.monotonic() + timeout
        while True:
            time.sleep(0.2)
            with contextlib.suppress(Exception):  # the topology is settling
                if self.master_of(key).port != victim.port and all(
                    self._node_ok(n) for n in self.nodes if n.running
                ):
                    return victim
            if time.monotonic() > deadline:
                raise RuntimeError(f"no failover after {timeout}s: {self.describe()}")

    def restart(self, node: Node, *, timeout: float = 60.0) -> None:
        """Start a killed node again (same port and directory): it rejoins as a replica."""
        self._launch(node)
        self._wait_ping(node, timeout)
        self.wait_ok(timeout)

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.proc.terminate()
        for node in self.nodes:
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait()
                node.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> EmbeddedCluster:
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()
