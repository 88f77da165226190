"""Ingest settings: the shared ones plus the limits of what counts as an article."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from services.ingest.normalize import Limits
from wiredesk.settings import WiredeskSettings

_LIMITS = Limits()
"""The normalization's own defaults: the settings' defaults are these, declared once."""


class IngestSettings(WiredeskSettings):
    min_words: int = Field(
        default=_LIMITS.min_words, ge=1, description="shorter texts are dead-lettered"
    )
    max_body_chars: int = Field(
        default=_LIMITS.max_body_chars,
        ge=1000,
        description="longer extracted texts are refused (too-large)",
    )
    max_raw_chars: int = Field(
        default=_LIMITS.max_raw_chars,
        ge=1000,
        description="longer raw documents are refused (too-large); a 1.5 MB HTML page is normal",
    )
    max_raw_bytes: int = Field(
        default=16_000_000,
        ge=1000,
        description="a larger articles:raw entry is refused (too-large); it holds the body and, "
        "in raw.v2, the original document too, JSON-escaped",
    )
    replay_window_s: int = Field(
        default=72 * 3600,
        ge=1,
        description="an article id seen within this window is recognised as a replay and dropped",
    )
    embargo_hold: bool = Field(
        default=True,
        description="hold items whose embargoed time is ahead until then (in Redis); false "
        "passes them on at once, for consumers that honour embargoed themselves",
    )
    embargo_poll_s: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description="how often the release loop looks for due items, at most: an item goes out "
        "within this long after its embargo (sooner when this replica holds the next one)",
    )
    naive_timezone: str = Field(
        default="UTC",
        description="IANA zone in which dates printed without a zone are read",
    )

    @field_validator("naive_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    def limits(self) -> Limits:
        """The normalization limits these settings describe (one place builds them, so the
        service and ``wiredesk normalize`` apply the same ones)."""
        return Limits(
            min_words=self.min_words,
            max_body_chars=self.max_body_chars,
            max_raw_chars=self.max_raw_chars,
            naive_tz=ZoneInfo(self.naive_timezone),
        )
