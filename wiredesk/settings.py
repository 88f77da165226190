"""Settings shared by every service, read from the environment (prefix ``WIREDESK_``).

``REDIS_URL`` and ``DATABASE_URL`` are also accepted without the prefix because that is what
platforms (compose files, PaaS add-ons, CI services) conventionally inject.
"""

from __future__ import annotations

import os
import socket
from functools import cached_property
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wiredesk.collector import GcMode


class Streams(BaseModel):
    """Stream names: the pipeline's topology (the streams table of docs/design.md)."""

    raw: str = "articles:raw"
    normalized: str = "articles:normalized"
    annotated: str = "articles:annotated"
    unique: str = "articles:unique"
    dlq: str = "articles:dlq"
    stories: str = "articles:stories"  # story.v1 events (wiredesk.story_events)

    def prefixed(self, prefix: str) -> Streams:
        """The same topology under a namespace, e.g. for a demo on a shared Redis."""
        return Streams(**{name: f"{prefix}{value}" for name, value in self.model_dump().items()})

    def env(self) -> dict[str, str]:
        """Environment variables that give a child process this topology."""
        return {f"WIREDESK_STREAMS__{k.upper()}": v for k, v in self.model_dump().items()}


class Groups(BaseModel):
    """Consumer-group names, one per service; replicas of a service share its group."""

    ingest: str = "ingest"
    dedupe: str = "dedupe"
    store: str = "store"


def default_consumer_name() -> str:
    """Unique per replica and stable for a process: hostname (the container id) and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


class WiredeskSettings(BaseSettings):
    """Everything a service needs to find its streams and behave well under failure."""

    model_config = SettingsConfigDict(
        env_prefix="WIREDESK_", env_nested_delimiter="__", extra="ignore"
    )

    redis_url: str = Field(
        default="redis://localhost:6379/0",
        validation_alias=AliasChoices("WIREDESK_REDIS_URL", "REDIS_URL"),
    )
    key_prefix: str = Field(
        default="wd",
        description="prefix of every non-stream key, so several pipelines can share one Redis",
    )
    streams: Streams = Field(default_factory=Streams)
    groups: Groups = Field(default_factory=Groups)
    consumer: str = Field(default_factory=default_consumer_name)

    batch_size: int = Field(default=200, ge=1, le=10_000, description="entries per XREADGROUP")
    block_ms: int = Field(default=200, ge=1, description="how long one read waits for entries")
    claim_idle_ms: int = Field(
        default=30_000, ge=100, description="a pending entry idle this long is reclaimed"
    )
    claim_interval_s: float = Field(default=5.0, gt=0, description="how often to look for them")
    max_attempts: int = Field(
        default=5, ge=1, description="deliveries before an entry goes to the dead-letter stream"
    )
    max_message_bytes: int = Field(default=2_000_000, ge=1024)
    retention_keep_s: int | None = Field(
        default=24 * 3600,
        ge=0,
        description=(
            "each stage trims its input stream of entries older than this that every group has"
            " consumed; None never trims (see docs/design.md, Retention)"
        ),
    )
    trim_interval_s: float = Field(default=60.0, gt=0, description="how often to trim")
    graceful_timeout_s: float = Field(default=15.0, gt=0)
    gc: GcMode = Field(
        default="batched",
        description="full garbage collections between batches over the young heap (batched) "
        "or on CPython's own schedule (python); wiredesk/collector.py",
    )
    metrics_port: int | None = Field(
        default=None, description="serve /metrics, /healthz and /readyz on this port"
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        validation_alias=AliasChoices("WIREDESK_METRICS_HOST", "WIREDESK_API_HOST"),
        description="address the metrics/health endpoint binds (defaults to the API's host)",
    )
    dlq_max_len: int = Field(
        default=10_000, ge=1, description="dead letters kept at most (the oldest go first)"
    )
    dlq_retention_s: int | None = Field(
        default=7 * 24 * 3600, ge=1, description="dead letters older than this go; None keeps"
    )
    dlq_max_payload_bytes: int = Field(
        default=65_536,
        ge=1024,
        description="larger payloads are dead-lettered truncated, with their size and sha256",
    )
    log_format: str = Field(default="json", pattern="^(json|console)$")
    log_level: str = "INFO"
    redis_cluster: Literal["auto", "true", "false"] = Field(
        default="auto",
        description="use the Redis Cluster client: auto asks the server (INFO cluster)",
    )
    partitions: int = Field(
        default=1,
        ge=1,
        le=1024,
        description="raw/normalized/annotated streams are split in this many hash-tagged "
        "partitions; 1 keeps the single-node names (docs/design.md, Partitions)",
    )
    consume_partitions: str | None = Field(
        default=None, description="partitions this replica consumes, e.g. '0,2-3'; None: all"
    )
    wait_replicas: int | None = Field(
        default=None,
        ge=0,
        description="replicas that must confirm a write (WAIT) before a stage acks its input "
        "or a producer returns; None: 1 when the master has replicas, else 0",
    )
    wait_timeout_ms: int = Field(default=2000, ge=1, description="how long one WAIT may block")

    def key(self, *parts: str) -> str:
        return ":".join((self.key_prefix, *parts))

    @property
    def given_redis_url(self) -> str | None:
        """The Redis URL the environment (``REDIS_URL`` or ``WIREDESK_REDIS_URL``) or the caller
        named, or ``None`` when only the default stands.

        ``wiredesk demo`` and ``wiredesk eval`` start a private embedded server unless told which
        Redis to use; they ask this instead of reading ``os.environ`` beside the settings, so the
        two names and their precedence are decided in one place. An empty value counts as unset.
        """
        if "redis_url" not in self.model_fields_set:
            return None
        return self.redis_url or None

    @cached_property
    def safe_redis_url(self) -> str:
        """The URL without its password, for logs."""
        head, sep, tail = self.redis_url.rpartition("@")
        if not sep:
            return self.redis_url
        scheme, _, _ = head.partition("://")
        return f"{scheme}://***@{tail}"
