"""Push endpoint settings: producers' API keys, where to listen, how large a document may be."""

from __future__ import annotations

from pydantic import Field, SecretStr

from wiredesk.settings import WiredeskSettings


class PushSettings(WiredeskSettings):
    """``WIREDESK_PUSH_KEYS`` is a JSON object, producer name -> API key, e.g.
    ``{"reuters": "k3y...", "partner-b": "..."}``; the producer name becomes the items' source.
    With no keys every request is refused (there is no anonymous push)."""

    push_host: str = Field(default="127.0.0.1", description="listen address (loopback default)")
    push_port: int = Field(default=8081, ge=0, le=65535)
    push_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description="producer -> API key (JSON object)"
    )
    push_max_bytes: int = Field(
        default=16_000_000, ge=1024, description="a larger request body is refused with 413"
    )
