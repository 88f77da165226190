"""Ingest settings: the shared ones plus the limits of what counts as an article."""

from __future__ import annotations

from pydantic import Field

from wiredesk.settings import WiredeskSettings


class IngestSettings(WiredeskSettings):
    min_words: int = Field(default=20, ge=1, description="shorter texts are dead-lettered")
    max_body_chars: int = Field(default=500_000, ge=1000, description="longer bodies are refused")
    replay_window_s: int = Field(
        default=72 * 3600,
        ge=1,
        description="an article id seen within this window is recognised as a replay and dropped",
    )
