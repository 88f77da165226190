"""2,000 syndicated articles over 3 partitions on a 3-master cluster: the story partition of
one node, nothing lost, doubled or pending — calm, and with a master SIGKILLed mid-run (its
replica is promoted) while every service is SIGKILLed at random moments too."""

from __future__ import annotations

import asyncio
import random
import signal
import time
from pathlib import Path

import pytest
from redis.asyncio.cluster import RedisCluster

from tests.cluster.audit import audit, publish_partitioned, wait_settled
from tests.e2e.helpers import service_logs
from tests.reliability.corpus import corpus
from tests.reliability.harness import expected_outcome
from wiredesk.app.launcher import SERVICES, ServiceProcesses
from wiredesk.cluster import ReplicaWait
from wiredesk.embedded_cluster import EmbeddedCluster
from wiredesk.keys import Keys

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ARTICLES = 2000


@pytest.fixture
def chaos_env(cluster_env: dict[str, str]) -> dict[str, str]:
    """As tests/reliability's env: recovery within seconds, semantic stage off."""
    return {
        **cluster_env,
        "WIREDESK_CLAIM_IDLE_MS": "1500",
        "WIREDESK_CLAIM_INTERVAL_S": "0.5",
        "WIREDESK_GRACEFUL_TIMEOUT_S": "5",
        "WIREDESK_BATCH_SIZE": "100",
        "WIREDESK_LOG_FORMAT": "json",
        "WIREDESK_SEMANTIC": "false",
    }


async def run(
    *,
    acluster: RedisCluster,
    keys: Keys,
    env: dict[str, str],
    tmp_path: Path,
    cluster: EmbeddedCluster | None,
    kill_services: bool,
) -> None:
    articles = corpus(ARTICLES)
    expected_job = asyncio.create_task(asyncio.to_thread(expected_outcome, articles))
    db = Path(env["WIREDESK_DATABASE_URL"].removeprefix("sqlite:///"))
    log_dir = tmp_path / "logs"
    rng = random.Random(4242)
    services = ServiceProcesses(env, replicas={"dedupe": 2}, log_dir=log_dir).start()
    wait = ReplicaWait(acluster, replicas=1, timeout_ms=2000, prefix=keys.prefix)
    started = time.monotonic()
    failover_s = None
    victim_key = None
    killed: set[int] = set()
    try:
        publishing = asyncio.create_task(
            publish_partitioned(acluster, keys, articles, chunk=20, rate=150, wait=wait)
        )
        if cluster is not None:
            await asyncio.sleep(5)  # mid-run: the dedupe state's master dies
            # (unless it is the node REDIS_URL names: restarted services start from that one)
            candidates = [keys.unique, *(keys.raw(p) for p in keys.all_partitions)]
            victim_key = next(k for k in candidates if cluster.master_of(k) is not cluster.nodes[0])
            t0 = time.monotonic()
            victim = await asyncio.to_thread(cluster.kill_master, victim_key)
            failover_s = round(time.monotonic() - t0, 1)
            # A supervisor brings the dead node back; it rejoins as the new master's replica.
            # Until then WAIT 1 cannot succeed on that shard: producers and stages retry.
            rejoin = asyncio.create_task(asyncio.to_thread(cluster.restart, victim))
        if kill_services:
            schedule = [s for s in SERVICES for _ in range(2)]
            rng.shuffle(schedule)
            for name in schedule:
                await asyncio.sleep(rng.uniform(0.5, 1.5))
                proc = services.kill_one(name, sig=signal.SIGKILL, rng=rng)
                if proc is not None:
                    killed.add(proc.pid)
                await asyncio.sleep(rng.uniform(0.0, 0.4))
                services.start_one(name)
        retried = await publishing
        if cluster is not None:
            await rejoin
        expected = await expected_job
        settle_s = await wait_settled(acluster, keys, db, expected, timeout=150, services=services)
        result = await audit(acluster, keys, db, expected)
    finally:
        codes = services.stop()
        if cluster is not None:
            for node in cluster.nodes:
                if not node.running:
                    await asyncio.to_thread(cluster.restart, node)
    print(
        "\nCLUSTER "
        + result.line(
            partitions=keys.partitions,
            master_killed=cluster is not None,
            master_of=victim_key and victim_key.rpartition(":")[2].rstrip("}"),
            failover_s=failover_s,
            service_kills=sum(services.kills.values()),
            retried_chunks=retried,
            seconds=round(time.monotonic() - started, 1),
            settle_after_publish_s=round(settle_s, 1),
        )
    )
    assert not result.problems, f"{result.problems}\n{service_logs(log_dir)[-20000:]}"
    survivors = [p.returncode for ps in services.procs.values() for p in ps if p.pid not in killed]
    assert survivors and all(code == 0 for code in survivors), (codes, service_logs(log_dir))


async def test_calm_cluster_run_gives_the_single_node_partition(
    acluster: RedisCluster, keys: Keys, chaos_env: dict[str, str], tmp_path: Path
) -> None:
    await run(
        acluster=acluster, keys=keys, env=chaos_env, tmp_path=tmp_path, cluster=None,
        kill_services=False,
    )  # fmt: skip


async def test_master_sigkill_and_service_sigkills_lose_and_double_nothing(
    redis_cluster: EmbeddedCluster,
    acluster: RedisCluster,
    keys: Keys,
    chaos_env: dict[str, str],
    tmp_path: Path,
) -> None:
    await run(
        acluster=acluster, keys=keys, env=chaos_env, tmp_path=tmp_path, cluster=redis_cluster,
        kill_services=True,
    )  # fmt: skip
