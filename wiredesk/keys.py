"""Every Redis key and stream name wiredesk uses, built in one place, with their hash slots.

A Lua script may only touch keys of one hash slot on a Redis Cluster (else ``CROSSSLOT``). The
key layout below guarantees that by construction: each script's keys carry the same hash tag
(the ``{...}`` part; the cluster hashes only that).

Two layouts, chosen by :meth:`Keys.tagged`:

- **legacy** (one node and ``WIREDESK_PARTITIONS=1``, the default): exactly the names wiredesk
  always used (``articles:raw``, ``wd:seen:raw:<id>``, ``wd:dedupe:log``, ...), so nothing
  changes for single-node users;
- **tagged** (a Redis Cluster, or more than one partition): per partition ``p`` the tag
  ``{<prefix>:p<p>}`` is on the raw, normalized and annotated streams, the partition's dead-letter
  stream, ingest's once-keys and the per-partition outbox of dedupe's log:

  ====================================  =========================================
  ``articles:raw:{wd:p0}``              replay/producers -> ingest
  ``articles:normalized:{wd:p0}``       ingest -> dedupe
  ``articles:annotated:{wd:p0}``        dedupe -> store, your consumers
  ``articles:dlq:{wd:p0}``              every stage of partition 0
  ``wd:seen:raw:{wd:p0}:<article id>``  ingest's replay guard
  ``wd:embargo:{wd:p0}``                ingest's embargo hold: release times
  ``wd:embargo:items:{wd:p0}``          ingest's embargo hold: the held articles
  ====================================  =========================================

  The global dedupe state shares the slot of ``articles:unique`` (whose name stays exactly as
  configured, so consumers of the deduplicated stream see no change): a key without braces
  hashes by its whole name, and a key whose tag *is* that name hashes to the same slot.

  ===========================================  ==========================================
  ``articles:unique``                          one entry per story (global)
  ``wd:dedupe:log:{articles:unique}``          the shared decision log
  ``wd:dedupe:head:{articles:unique}``         its head (optimistic concurrency)
  ``wd:dedupe:outbox:p0:{articles:unique}``    decided, not yet emitted annotated outputs
  ===========================================  ==========================================
"""

from __future__ import annotations

from dataclasses import dataclass

from wiredesk.settings import WiredeskSettings

PartitionStream = str


@dataclass(frozen=True, slots=True)
class Keys:
    """The names of one pipeline (a namespace on one Redis or one cluster)."""

    prefix: str
    raw_base: str
    normalized_base: str
    annotated_base: str
    unique: str
    dlq_base: str
    stories_base: str = "articles:stories"
    partitions: int = 1
    tagged: bool = False

    @classmethod
    def from_settings(cls, settings: WiredeskSettings, *, cluster: bool = False) -> Keys:
        """The layout for these settings; ``cluster`` forces the tagged layout."""
        s = settings.streams
        for name in (
            s.raw,
            s.normalized,
            s.annotated,
            s.unique,
            s.dlq,
            s.stories,
            settings.key_prefix,
        ):
            if "{" in name or "}" in name:
                raise ValueError(
                    f"stream/key names must not contain braces ({name!r}): wiredesk adds the "
                    "hash tags itself (docs/design.md, Key layout)"
                )
        partitions = getattr(settings, "partitions", 1)
        return cls(
            prefix=settings.key_prefix,
            raw_base=s.raw,
            normalized_base=s.normalized,
            annotated_base=s.annotated,
            unique=s.unique,
            dlq_base=s.dlq,
            stories_base=s.stories,
            partitions=partitions,
            tagged=cluster or partitions > 1,
        )

    # -- per partition -------------------------------------------------------------------------

    def tag(self, partition: int) -> str:
        """The hash tag of one partition (``{wd:p0}``); '' in the legacy layout."""
        self._check(partition)
        return f"{{{self.prefix}:p{partition}}}" if self.tagged else ""

    def _stream(self, base: str, partition: int) -> str:
        return f"{base}:{self.tag(partition)}" if self.tagged else base

    def raw(self, partition: int = 0) -> str:
        return self._stream(self.raw_base, partition)

    def normalized(self, partition: int = 0) -> str:
        return self._stream(self.normalized_base, partition)

    def annotated(self, partition: int = 0) -> str:
        return self._stream(self.annotated_base, partition)

    def dlq(self, partition: int = 0) -> str:
        return self._stream(self.dlq_base, partition)

    def seen_raw(self, partition: int, article_id: str) -> str:
        """Ingest's once-key for an article id (same slot as the partition's streams)."""
        if not self.tagged:
            return f"{self.prefix}:seen:raw:{article_id}"
        return f"{self.prefix}:seen:raw:{self.tag(partition)}:{article_id}"

    def embargo(self, partition: int = 0) -> str:
        """Ingest's embargo hold of a partition: a sorted set of held entries scored by their
        release time (ms). In the partition's slot, so holding an item, acking its input and
        releasing it into the partition's normalized stream are each one script."""
        if not self.tagged:
            return f"{self.prefix}:embargo"
        return f"{self.prefix}:embargo:{self.tag(partition)}"

    def embargo_items(self, partition: int = 0) -> str:
        """The held articles themselves (a hash beside :meth:`embargo`, same slot)."""
        if not self.tagged:
            return f"{self.prefix}:embargo:items"
        return f"{self.prefix}:embargo:items:{self.tag(partition)}"

    def errors(self, stage: str, partition: int = 0) -> str:
        """Last error per pending entry (entry ids are per stream, so per partition)."""
        if not self.tagged:
            return f"{self.prefix}:errors:{stage}"
        return f"{self.prefix}:errors:{stage}:{self.tag(partition)}"

    # -- global dedupe state (the slot of articles:unique) ---------------------------------------

    def _dedupe(self, name: str) -> str:
        if not self.tagged:
            return f"{self.prefix}:dedupe:{name}"
        return f"{self.prefix}:dedupe:{name}:{{{self.unique}}}"

    @property
    def dedupe_log(self) -> str:
        return self._dedupe("log")

    @property
    def dedupe_head(self) -> str:
        return self._dedupe("head")

    @property
    def stories(self) -> str:
        """``articles:stories``: written in the dedupe log's commit, so in its slot."""
        if not self.tagged:
            return self.stories_base
        return f"{self.stories_base}:{{{self.unique}}}"

    def dedupe_outbox(self, partition: int) -> str:
        self._check(partition)
        return self._dedupe(f"outbox:p{partition}")

    # -- all partitions ------------------------------------------------------------------------

    @property
    def all_partitions(self) -> range:
        return range(self.partitions)

    def streams_of(self, partition: int) -> dict[str, str]:
        """The partition's streams by role (raw, normalized, annotated, dlq)."""
        return {
            "raw": self.raw(partition),
            "normalized": self.normalized(partition),
            "annotated": self.annotated(partition),
            "dlq": self.dlq(partition),
        }

    def every_stream(self) -> list[str]:
        """Every stream of the pipeline, partitions first, then ``unique``: for status/trim."""
        out: list[str] = []
        for role in ("raw", "normalized", "annotated"):
            out.extend(self.streams_of(p)[role] for p in self.all_partitions)
        out.append(self.unique)
        out.append(self.stories)
        out.extend(self.dlq(p) for p in self.all_partitions)
        return out

    def _check(self, partition: int) -> None:
        if not 0 <= partition < self.partitions:
            raise ValueError(f"partition {partition} outside 0..{self.partitions - 1}")
