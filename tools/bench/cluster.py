"""``python -m tools.bench.cluster``: one node vs a 3-master cluster, same corpus, same run.

Both setups run the real services as processes (``wiredesk.app.launcher``) on private servers of
the same binary: a single ``redis-server`` with ``WIREDESK_PARTITIONS=1`` (today's layout), and
an :class:`~wiredesk.embedded_cluster.EmbeddedCluster` (3 masters + 3 replicas) with
``--partitions`` partitions, ``--ingest`` ingest replicas and ``WIREDESK_WAIT_REPLICAS=1`` (the
cluster default). Each publishes the same generated corpus at full speed (routed with
``partition_for``) and is timed from the first ``XADD`` until the store holds every article;
throughput is articles over that time. On a 2-core machine all nine processes and six Redis
servers share the same cores, so the cluster's number measures overhead, not scale-out.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from tools.bench.corpus import CorpusSpec, generate, load_bases
from tools.bench.pipeline import StoreReader
from wiredesk.app.launcher import ServiceProcesses
from wiredesk.embedded import EmbeddedRedis
from wiredesk.embedded_cluster import EmbeddedCluster
from wiredesk.messages import RawArticle
from wiredesk.replay import publish
from wiredesk.settings import WiredeskSettings
from wiredesk.topology import Topology


def _stored(reader: StoreReader, db: Path) -> int:
    """Articles in the store (0 until the store service has created its database)."""
    return reader.count() if db.exists() else 0


def run_setup(
    name: str,
    url: str,
    articles: Sequence[RawArticle],
    *,
    partitions: int,
    ingest: int,
    semantic: bool,
    timeout: float,
) -> dict[str, Any]:
    """Start the services, wait until ready, publish, wait until stored: the numbers."""
    with tempfile.TemporaryDirectory(prefix=f"wiredesk-bench-{name}-") as tmp:
        db = Path(tmp) / "store.db"
        env = {
            "REDIS_URL": url,
            "WIREDESK_DATABASE_URL": f"sqlite:///{db}",
            "WIREDESK_PARTITIONS": str(partitions),
            "WIREDESK_SEMANTIC": "true" if semantic else "false",
            "WIREDESK_LOG_FORMAT": "json",
        }
        services = ServiceProcesses(env, replicas={"ingest": ingest}, log_dir=Path(tmp) / "logs")
        reader = StoreReader(env["WIREDESK_DATABASE_URL"])
        services.start()
        try:
            settings = WiredeskSettings(redis_url=url, partitions=partitions)

            async def go() -> float:
                topology = await Topology.connect(settings)
                try:
                    await asyncio.sleep(8 if not semantic else 20)  # services start up
                    started = time.perf_counter()
                    await publish(
                        topology.client,  # type: ignore[arg-type]
                        settings.streams.raw,
                        articles,
                        route=None if topology.legacy else topology.raw_for,
                        confirm=topology.confirm,
                    )
                    while (stored := _stored(reader, db)) < len(articles):
                        if time.perf_counter() - started > timeout:
                            raise TimeoutError(f"{name}: {stored}/{len(articles)} stored")
                        if any(n == 0 for n in services.alive().values()):
                            raise RuntimeError(f"{name}: a service died {services.exit_codes()}")
                        await asyncio.sleep(0.1)
                    return time.perf_counter() - started
                finally:
                    await topology.aclose()

            seconds = asyncio.run(go())
        finally:
            reader.close()
            services.stop()
    return {
        "setup": name,
        "partitions": partitions,
        "ingest_replicas": ingest,
        "articles": len(articles),
        "seconds": round(seconds, 2),
        "articles_per_s": round(len(articles) / seconds, 1),
    }


def compare(
    articles: Sequence[RawArticle],
    *,
    partitions: int = 3,
    ingest: int = 2,
    semantic: bool = False,
    timeout: float = 600.0,
) -> list[dict[str, Any]]:
    """The single node, then the cluster, on the same articles: one row each.

    The cluster row carries ``ratio_to_single_node`` (its throughput over the single node's)."""
    results = []
    with EmbeddedRedis() as server:
        results.append(
            run_setup(
                "single-node",
                server.url,
                articles,
                partitions=1,
                ingest=1,
                semantic=semantic,
                timeout=timeout,
            )
        )
    with EmbeddedCluster() as cluster:
        results.append(
            run_setup(
                f"cluster-3x2-p{partitions}",
                cluster.url,
                articles,
                partitions=partitions,
                ingest=ingest,
                semantic=semantic,
                timeout=timeout,
            )
        )
    single = results[0]["articles_per_s"]
    results[1]["ratio_to_single_node"] = round(results[1]["articles_per_s"] / single, 3)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench.cluster",
        description="Throughput on one Redis node and on a 3-master Redis Cluster, same run "
        "(also the `cluster` phase of `wiredesk bench`).",
    )
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--ingest", type=int, default=2, help="ingest replicas on the cluster")
    parser.add_argument("--semantic", action="store_true", help="run the semantic stage too")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    corpus = generate(CorpusSpec(args.articles, 0.5, 1, "bench"), load_bases(None))
    results = compare(
        corpus.raws,
        partitions=args.partitions,
        ingest=args.ingest,
        semantic=args.semantic,
        timeout=args.timeout,
    )
    for row in results:
        print(orjson.dumps(row).decode())
    if args.out is not None:
        args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
