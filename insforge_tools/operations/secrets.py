"""Secret operations: list keys, set a value, delete a secret.

A secret's value travels from the model's arguments to the backend and nowhere else. The
result names the key only, and the CLI receives the value as a masked argument. The value
is registered for redaction as soon as the arguments are validated, so no log line, error
or tool result shows it in full. Values shorter than 6 characters are removed from errors
here, because the global redaction skips such short strings.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field, SecretStr, field_validator

from insforge_tools.context import Context
from insforge_tools.errors import ConflictError, InsForgeError, PermissionDeniedError, ServerError
from insforge_tools.models.secrets import SecretChangeResult, SecretInfo, SecretsResult
from insforge_tools.operations._common import cli_argv, confirm_destructive, first_of
from insforge_tools.registry import operation
from insforge_tools.secrets import REDACTED, Secret, remember_secret
from insforge_tools.transports.project import HttpCall, call_project

__all__ = [
    "SecretKeyArgs",
    "SecretSetArgs",
    "SecretsListArgs",
    "list_all_secrets",
    "secrets_delete",
    "secrets_list",
    "secrets_set",
]

logger = logging.getLogger("insforge_tools.operations.secrets")

_KEY_PATTERN = re.compile(r"^[A-Z0-9_]+$")
_KEY_DESCRIPTION = "The secret's name: uppercase letters, digits and '_', such as STRIPE_API_KEY."


def _check_key(value: str) -> str:
    if not _KEY_PATTERN.match(value):
        raise ValueError(
            "A secret key may contain only uppercase letters, digits and '_' (such as STRIPE_API_KEY)."
        )
    return value


def _secret_path(key: str) -> str:
    return f"/api/secrets/{quote(key, safe='')}"


class SecretsListArgs(BaseModel):
    """Arguments of insforge_secrets_list."""

    include_inactive: bool = Field(default=False, description="Also list secrets that are switched off.")


class SecretKeyArgs(BaseModel):
    """Arguments of insforge_secrets_delete."""

    key: str = Field(min_length=1, max_length=255, description=_KEY_DESCRIPTION)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        return _check_key(value)


class SecretSetArgs(SecretKeyArgs):
    """Arguments of insforge_secrets_set."""

    value: SecretStr = Field(
        description="The secret's value, as the user gave it. It is stored and never shown again, "
        "not even in this tool's result."
    )

    @field_validator("value")
    @classmethod
    def _remember(cls, value: SecretStr) -> SecretStr:
        revealed = value.get_secret_value()
        if not revealed:
            raise ValueError("The secret value is empty.")
        remember_secret(revealed)
        return value


# --------------------------------------------------------------------------- list


def _secret_info(item: dict[str, Any]) -> SecretInfo:
    active = first_of(item, "isActive", "is_active")
    return SecretInfo(
        key=str(item.get("key")),
        is_active=True if active is None else bool(active),
        is_reserved=bool(first_of(item, "isReserved", "is_reserved")),
        last_used_at=first_of(item, "lastUsedAt", "last_used_at"),
        expires_at=first_of(item, "expiresAt", "expires_at"),
        created_at=first_of(item, "createdAt", "created_at"),
        updated_at=first_of(item, "updatedAt", "updated_at"),
    )


async def list_all_secrets(ctx: Context) -> list[SecretInfo]:
    """Return every secret (inactive ones included), by key and state only."""
    body = await call_project(
        ctx, cli=cli_argv("secrets", "list", options=["--all"]), http=HttpCall("GET", "/api/secrets")
    )
    if isinstance(body, dict):
        body = body.get("secrets", [])
    if not isinstance(body, list):
        raise ServerError(f"The secret list response is a JSON {type(body).__name__}, not an array.")
    # Only the fields of SecretInfo are kept, so a value in the response could not pass through.
    return [_secret_info(item) for item in body if isinstance(item, dict)]


def _summarize_secrets(result: SecretsResult) -> str:
    if not result.secrets:
        return "The project has no secrets."
    items = []
    for item in result.secrets:
        flags = [
            flag for flag, on in (("reserved", item.is_reserved), ("inactive", not item.is_active)) if on
        ]
        items.append(item.key + (f" ({', '.join(flags)})" if flags else ""))
    return f"{len(items)} secrets (values are never shown): " + ", ".join(items)


@operation(
    "insforge_secrets_list",
    description="List the project's secrets by key (never their values), with reserved system secrets "
    "marked.",
    read_only=True,
    summarize=_summarize_secrets,
)
async def secrets_list(ctx: Context, args: SecretsListArgs) -> SecretsResult:
    """Return the secrets' keys and states."""
    secrets = await list_all_secrets(ctx)
    if not args.include_inactive:
        secrets = [item for item in secrets if item.is_active]
    return SecretsResult(secrets=secrets)


# --------------------------------------------------------------------------- set and delete


def _reject_reserved(existing: SecretInfo | None, key: str) -> None:
    if existing is not None and existing.is_reserved:
        raise PermissionDeniedError(
            f"The secret {key} is a reserved system secret managed by InsForge; tools do not change it.",
            next_step="Use another key, or ask the project owner to rotate it in the dashboard or CLI.",
        )


def _without_value(exc: InsForgeError, value: str) -> InsForgeError:
    """Return ``exc`` with ``value`` removed from its texts (redaction skips short values)."""
    if value not in exc.message and value not in exc.next_step:
        return exc
    return type(exc)(
        exc.message.replace(value, REDACTED),
        next_step=exc.next_step.replace(value, REDACTED),
        code=exc.code,
        status=exc.status,
        exit_code=exc.exit_code,
        retryable=exc.retryable,
    )


async def _create(ctx: Context, key: str, value: str) -> None:
    await call_project(
        ctx,
        cli=cli_argv("secrets", "add", positionals=[key, Secret(value)]),
        http=HttpCall("POST", "/api/secrets", json={"key": key, "value": value}),
    )


async def _update(ctx: Context, key: str, value: str, *, reactivate: bool) -> None:
    options: list[str | Secret] = ["--value", Secret(value)]
    payload: dict[str, Any] = {"value": value}
    if reactivate:
        options += ["--active", "true"]
        payload["isActive"] = True
    await call_project(
        ctx,
        cli=cli_argv("secrets", "update", options=options, positionals=[key]),
        http=HttpCall("PUT", _secret_path(key), json=payload),
    )


def _summarize_change(result: SecretChangeResult) -> str:
    return f"Secret {result.key} {result.action}."


@operation(
    "insforge_secrets_set",
    description="Create a secret or replace its value (for example an API key the project's functions "
    "use). Needs a human's approval. The value is never shown back.",
    destructive=True,
    summarize=_summarize_change,
)
async def secrets_set(ctx: Context, args: SecretSetArgs) -> SecretChangeResult:
    """Create or update one secret, after approval; the result names the key only."""
    value = args.value.get_secret_value()
    try:
        existing = next((item for item in await list_all_secrets(ctx) if item.key == args.key), None)
        _reject_reserved(existing, args.key)
        action = "updated" if existing is not None else "created"
        await confirm_destructive(
            ctx,
            "insforge_secrets_set",
            f"{'Replace the value of' if existing else 'Create'} the secret {args.key}.",
            key=args.key,
            action=action,
        )

        if existing is not None:
            await _update(ctx, args.key, value, reactivate=not existing.is_active)
        else:
            try:
                await _create(ctx, args.key, value)
            except ConflictError:
                logger.info("The secret %s was created meanwhile (409); updating it instead.", args.key)
                await _update(ctx, args.key, value, reactivate=False)
                action = "updated"
    except InsForgeError as exc:
        raise _without_value(exc, value) from None

    logger.info("Secret %s %s.", args.key, action)
    return SecretChangeResult(key=args.key, action=action)


@operation(
    "insforge_secrets_delete",
    description="Delete a secret. Needs a human's approval.",
    destructive=True,
    summarize=_summarize_change,
)
async def secrets_delete(ctx: Context, args: SecretKeyArgs) -> SecretChangeResult:
    """Delete one secret, after approval."""
    existing = next((item for item in await list_all_secrets(ctx) if item.key == args.key), None)
    _reject_reserved(existing, args.key)
    await confirm_destructive(ctx, "insforge_secrets_delete", f"Delete the secret {args.key}.", key=args.key)
    await call_project(
        ctx,
        cli=cli_argv("secrets", "delete", options=["-y"], positionals=[args.key]),
        http=HttpCall("DELETE", _secret_path(args.key)),
        destructive=True,
    )
    logger.info("Secret %s deleted.", args.key)
    return SecretChangeResult(key=args.key, action="deleted")
