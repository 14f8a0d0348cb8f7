"""Typed results of the CLI account operations: login, logout, whoami."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LoginResult", "LogoutResult", "PlatformUser", "WhoAmIResult"]


class PlatformUser(BaseModel):
    """The InsForge platform user the CLI is logged in as."""

    model_config = ConfigDict(extra="ignore")

    id: str = ""
    name: str = ""
    email: str = ""
    avatar_url: str | None = None
    email_verified: bool | None = None


class LoginResult(BaseModel):
    """The outcome of logging the CLI in with a user API key."""

    success: bool
    user: PlatformUser
    key: str = Field(description="The masked user API key that was used, such as uak_…9f2c.")
    scope: str = Field(description="The platform URL the key belongs to.")


class LogoutResult(BaseModel):
    """The outcome of logging the CLI out."""

    success: bool
    message: str = ""


class WhoAmIResult(BaseModel):
    """The user the CLI is logged in as."""

    user: PlatformUser
