"""Typed results of the secret operations. No model has a field for a secret's value."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["SecretChangeResult", "SecretInfo", "SecretsResult"]


class SecretInfo(BaseModel):
    """One secret's key and state, never its value."""

    key: str
    is_active: bool = True
    is_reserved: bool = Field(
        default=False, description="A system secret (API_KEY, JWT_…) managed by InsForge."
    )
    last_used_at: str | None = None
    expires_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class SecretsResult(BaseModel):
    """The project's secrets, by key."""

    secrets: list[SecretInfo] = Field(default_factory=list)


class SecretChangeResult(BaseModel):
    """The outcome of setting or deleting a secret; it names the key only."""

    key: str
    action: str = Field(description="created, updated or deleted.")
