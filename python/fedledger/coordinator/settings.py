"""Settings of the coordinator's HTTP service (pydantic-settings, env FEDLEDGER_COORDINATOR_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """How the coordinator serves a round over HTTP (not the round's protocol parameters)."""

    model_config = SettingsConfigDict(env_prefix="FEDLEDGER_COORDINATOR_", extra="forbid")

    host: str = "127.0.0.1"
    """Interface to listen on; keep 127.0.0.1 unless a reverse proxy fronts the service."""
    port: int = Field(default=8600, ge=0, le=65535)
    """TCP port."""
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    """Largest JSON request body accepted (413 above); blobs have their own limit."""
    max_blob_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    """Largest blob a participant may upload to /blobs (413 above)."""
    tick_interval: float = Field(default=0.25, gt=0)
    """Seconds between calls of the round state machine's tick() (deadlines, stage changes)."""
    first_round_grace: float = Field(default=60.0, ge=0)
    """The first round of a run opens once every expected participant waits for it (holds a
    long-poll of the status), or after this many seconds: nodes still starting up do not
    miss it. Later rounds open as soon as the previous one is over."""
    require_signed_blobs: bool = True
    """Blob uploads must carry a participant's signed envelope (X-Fedledger-Envelope header)."""
