"""Store settings: where the database is."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from wiredesk.settings import WiredeskSettings


class StoreSettings(WiredeskSettings):
    database_url: str = Field(
        default="sqlite:///wiredesk.db",
        validation_alias=AliasChoices("WIREDESK_DATABASE_URL", "DATABASE_URL"),
        description="sqlite:///PATH (default) or postgresql://...",
    )
