"""CLI account operations: log the InsForge CLI in and out, and show who it is logged in as.

These are platform operations, so they always run the CLI. The user API key for
``insforge_login`` comes from the credential store (kind ``user_api_key``), where
registration put it; no tool takes a key as an argument, and no result shows one in full.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field

from insforge_tools.context import Context
from insforge_tools.errors import AuthError, CliOutputError, ConfigurationError
from insforge_tools.models.account import LoginResult, LogoutResult, PlatformUser, WhoAmIResult
from insforge_tools.registry import operation
from insforge_tools.secrets import Secret

__all__ = ["LoginArgs", "LogoutArgs", "WhoAmIArgs", "login", "logout", "whoami"]

logger = logging.getLogger("insforge_tools.operations.account")


class LoginArgs(BaseModel):
    """Arguments of insforge_login."""

    resource_url: str | None = Field(
        default=None,
        description="The InsForge platform URL whose stored user API key to use, as returned by "
        "insforge_register. Leave empty to use the only stored key, or the most recent one.",
    )


class LogoutArgs(BaseModel):
    """insforge_logout takes no arguments."""


class WhoAmIArgs(BaseModel):
    """insforge_whoami takes no arguments."""


def _describe_user(user: PlatformUser) -> str:
    name = user.name or user.email or user.id or "an unnamed user"
    if user.email and user.email != name:
        name = f"{name} <{user.email}>"
    return f"{name} (user id {user.id})" if user.id else name


def _find_user_key(ctx: Context, resource_url: str | None) -> tuple[str, Secret]:
    """Return the scope and value of the user API key to log in with."""
    store = ctx.credentials
    if resource_url:
        candidates = [resource_url, resource_url.rstrip("/"), resource_url.rstrip("/") + "/"]
        for scope in dict.fromkeys(candidates):
            key = store.get("user_api_key", scope)
            if key is not None:
                return scope, key
        raise AuthError(
            f"No user API key is stored for {resource_url}.",
            next_step="Register with insforge_register for that URL first (it stores the key), "
            "or call insforge_login without resource_url to use the stored key.",
        )

    for record, key in store.find("user_api_key"):
        return record.scope, key
    raise AuthError(
        "No user API key is stored, so the CLI cannot be logged in.",
        next_step="Register with insforge_register first; it stores the key for insforge_login.",
    )


def _forget_rejected_key(ctx: Context, scope: str, key: Secret, error: AuthError) -> AuthError:
    """Drop a user API key the platform rejected, with the cached discovery for its resource.

    A revoked or expired key never works again, and the service may have changed
    its metadata too, so the next attempt starts again from discovery.
    """
    from insforge_tools.operations.agent_auth import forget_discovery

    ctx.credentials.delete("user_api_key", scope)
    forget_discovery(ctx, scope)
    logger.warning("The platform rejected the stored user API key for %s; the key was removed.", scope)
    return AuthError(
        f"The platform rejected the stored user API key {key.masked} for {scope} ({error.message}). "
        "The key was removed from the credential store.",
        next_step="Start again: call insforge_discover, then insforge_register (a human approves again), "
        "then insforge_login.",
        code=error.code,
        status=error.status,
        exit_code=error.exit_code,
    )


def _parse_user(body: Any) -> PlatformUser:
    user = body.get("user") if isinstance(body, dict) and isinstance(body.get("user"), dict) else body
    if not isinstance(user, dict) or not user.get("id"):
        raise CliOutputError("The CLI's output has no user with an id.")
    return PlatformUser.model_validate(user)


def _summarize_login(result: LoginResult) -> str:
    who = _describe_user(result.user)
    return f"The InsForge CLI is logged in as {who} with the key {result.key} for {result.scope}."


@operation(
    "insforge_login",
    description="Log the InsForge CLI in to the platform with the user API key stored by insforge_register. "
    "Needed before linking a cloud project. Returns the user; the key itself is never shown.",
    summarize=_summarize_login,
)
async def login(ctx: Context, args: LoginArgs) -> LoginResult:
    """Log the CLI in with a stored user API key."""
    scope, key = _find_user_key(ctx, args.resource_url)
    if not key.reveal().startswith("uak_"):
        raise ConfigurationError(
            f"The stored user API key for {scope} ({key.masked}) does not start with uak_.",
            next_step="Register again with insforge_register to store a valid key.",
        )

    # The CLI runner maps a rejected key (platform 401/403) to AuthError and a failed
    # verification (5xx, 429, network) to a retryable TransportError.
    logger.info("Logging the CLI in with the user API key for %s.", scope)
    try:
        body = await ctx.cli.run_json(["login", "--user-api-key", key])
    except AuthError as error:
        raise _forget_rejected_key(ctx, scope, key, error) from None

    user = _parse_user(body)
    success = bool(body.get("success", True)) if isinstance(body, dict) else True
    return LoginResult(success=success, user=user, key=key.masked, scope=scope)


def _summarize_logout(result: LogoutResult) -> str:
    return result.message or ("Logged out." if result.success else "Logout failed.")


@operation(
    "insforge_logout",
    description="Log the InsForge CLI out of the platform (removes its stored login). "
    "A linked self-hosted project keeps working.",
    summarize=_summarize_logout,
)
async def logout(ctx: Context, args: LogoutArgs) -> LogoutResult:
    """Log the CLI out."""
    body = await ctx.cli.run_json(["logout"])
    if not isinstance(body, dict):
        raise CliOutputError("The CLI's logout output is not a JSON object.")
    return LogoutResult(success=bool(body.get("success")), message=str(body.get("message") or ""))


def _summarize_whoami(result: WhoAmIResult) -> str:
    return f"The InsForge CLI is logged in as {_describe_user(result.user)}."


@operation(
    "insforge_whoami",
    description="Show which InsForge platform user the CLI is logged in as.",
    read_only=True,
    summarize=_summarize_whoami,
)
async def whoami(ctx: Context, args: WhoAmIArgs) -> WhoAmIResult:
    """Return the platform user the CLI is logged in as."""
    body = await ctx.cli.run_json(["whoami"], requires_login=True)
    return WhoAmIResult(user=_parse_user(body))
