"""Which partition an article goes to, and which partitions a replica consumes.

The choice must be the same in every producer (replay, the poller, the HTTP endpoint), in every
language and release, and must not change with Python's per-process string hashing: it is the
first 8 bytes of the article id's BLAKE2b digest, big-endian, modulo the partition count. Copies
of one story usually have different ids and so land in different partitions; dedupe is global
(docs/design.md, Partitions), so that does not split stories. The same id always lands in the
same partition, which keeps ingest's per-partition replay guard (``seen:raw``) exact.
"""

from __future__ import annotations

import hashlib


def partition_for(article_id_or_guid: str, n: int) -> int:
    """The partition (0..n-1) of an article id or feed GUID; always 0 when ``n`` is 1."""
    if n < 1:
        raise ValueError(f"partition count must be >= 1, got {n}")
    if n == 1:
        return 0
    digest = hashlib.blake2b(article_id_or_guid.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % n


def parse_subset(spec: str | None, n: int) -> list[int]:
    """Partitions a replica consumes: ``None``/'' = all, else ``"0,2"`` or ``"0-3"`` ranges."""
    if not spec:
        return list(range(n))
    chosen: set[int] = set()
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            first = int(lo)
            last = int(hi) if sep else first
        except ValueError as exc:
            raise ValueError(
                f"WIREDESK_CONSUME_PARTITIONS: {part!r} is not N or N-M (e.g. '0,2-3')"
            ) from exc
        for p in range(first, last + 1):
            if not 0 <= p < n:
                raise ValueError(
                    f"WIREDESK_CONSUME_PARTITIONS: partition {p} outside 0..{n - 1} "
                    f"(WIREDESK_PARTITIONS={n})"
                )
            chosen.add(p)
    if not chosen:
        raise ValueError("WIREDESK_CONSUME_PARTITIONS names no partition")
    return sorted(chosen)
