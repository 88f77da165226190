"""One connected view of a deployment: client (node or cluster), key layout, WAIT policy.

Producers (``wiredesk replay``, the poller, the HTTP endpoint) and the partitioned services get
everything from :meth:`Topology.connect`, so they agree on cluster mode, partition count and key
names by construction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wiredesk.cluster import (
    AnyRedis,
    ReplicationShort,
    ReplicaWait,
    async_client,
    attach_default_wait,
    use_cluster,
)
from wiredesk.keys import Keys
from wiredesk.partitions import partition_for
from wiredesk.settings import WiredeskSettings


@dataclass
class Topology:
    settings: WiredeskSettings
    cluster: bool
    keys: Keys
    client: AnyRedis
    wait: ReplicaWait | None

    @classmethod
    async def connect(cls, settings: WiredeskSettings, *, cluster: bool | None = None) -> Topology:
        """Detect cluster mode (unless told), build the client and resolve WAIT."""
        is_cluster = use_cluster(settings) if cluster is None else cluster
        client = async_client(settings, cluster=is_cluster)
        wait = await attach_default_wait(client, settings)
        return cls(
            settings, is_cluster, Keys.from_settings(settings, cluster=is_cluster), client, wait
        )

    @classmethod
    def single_node(cls, settings: WiredeskSettings, client: AnyRedis) -> Topology:
        """The single-stream layout of ``settings`` on a client the caller already has (no
        detection, no WAIT): what a producer given a plain ``Redis`` writes to."""
        return cls(settings, False, Keys.from_settings(settings), client, None)

    @property
    def legacy(self) -> bool:
        """The single-node, single-partition layout that FastStream's ``build_app`` runs."""
        return not self.keys.tagged

    def raw_for(self, article_id: str) -> str:
        """The raw stream a producer adds this article to."""
        return self.keys.raw(partition_for(article_id, self.keys.partitions))

    async def confirm(self, streams: Iterable[str], *, attempts: int = 3) -> bool:
        """WAIT for the configured replicas on the slots of ``streams`` (True without WAIT).

        A producer's chunk must not count as sent before a replica has it: after ``attempts``
        short WAITs this raises :class:`~wiredesk.cluster.ReplicationShort`, and the producer
        republishes (ids are stable, so the pipeline drops the copies it already has)."""
        if self.wait is None:
            return True
        names = list(streams)
        for _ in range(attempts):
            if await self.wait.confirm(names):
                return True
        raise ReplicationShort(
            f"writes to {names[:3]} not confirmed by {self.wait.replicas} replica(s) "
            f"after {attempts} WAITs of {self.wait.timeout_ms} ms"
        )

    async def aclose(self) -> None:
        await self.client.aclose()
