"""Read API settings: where to listen (localhost unless told otherwise) and which store to read."""

from __future__ import annotations

from pydantic import Field

from services.store.settings import StoreSettings


class ApiSettings(StoreSettings):
    """``WIREDESK_API_HOST`` / ``WIREDESK_API_PORT``; the store comes from ``DATABASE_URL``.

    The default host is the loopback address: the API has no authentication, so exposing it is
    a deliberate act (``WIREDESK_API_HOST=0.0.0.0`` behind a proxy that adds it).
    """

    api_host: str = Field(default="127.0.0.1")
    api_port: int = Field(default=8080, ge=0, le=65535)
    api_max_page: int = Field(default=500, ge=1, description="largest page a client may ask for")
