"""Poller settings: which feeds, how often, how patiently (all from WIREDESK_POLLER_* env)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from wiredesk.settings import WiredeskSettings


class PollerSettings(WiredeskSettings):
    poller_feeds: str = Field(
        default="",
        description="feed URLs, separated by commas or whitespace (adds to poller_feeds_file)",
    )
    poller_feeds_file: Path | None = Field(
        default=None,
        description="a file with one feed per line: 'URL [SOURCE]'; '#' starts a comment",
    )
    poller_interval_s: float = Field(default=300.0, gt=0, description="time between polls")
    poller_timeout_s: float = Field(default=20.0, gt=0, description="one request's time limit")
    poller_max_backoff_s: float = Field(
        default=3600.0, gt=0, description="longest wait after repeated errors"
    )
    poller_max_feed_bytes: int = Field(
        default=20_000_000, ge=1024, description="a larger feed document is refused"
    )
    poller_concurrency: int = Field(default=8, ge=1, description="feeds fetched at once")
