"""One mapping from InsForge error codes to typed errors, shared by both transports.

The project backend names every failure with an ``error`` code (``AUTH_INVALID_API_KEY``,
``DATABASE_DUPLICATE`` …). The CLI prints the same code on stderr as ``{"error": <message>,
"code": <code>}``. The PostgREST pass-through under ``/api/database/records`` uses a
SQLSTATE or ``PGRST…`` code instead. :func:`error_for_code` turns any of them into the
same :class:`~insforge_tools.errors.InsForgeError` subclass, so an operation behaves the
same whichever transport ran it. :func:`error_for_response` reads a raw HTTP error
response in any of the backend's three body shapes, or a body that is not JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from insforge_tools.errors import (
    AuthError,
    CliError,
    ConflictError,
    InsForgeError,
    InvalidInputError,
    NotFoundError,
    NotLinkedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)
from insforge_tools.secrets import redact

__all__ = ["error_for_code", "error_for_response", "error_for_status", "join_message"]

# The SQL endpoint returns 403 FORBIDDEN both for a missing privilege and for SQL that it
# rejects by content (unparsable, transaction control, SET ROLE …). The second kind is
# fixed by changing the SQL, so it is reported as invalid input.
_REJECTED_SQL = re.compile(r"could not be parsed|not allowed", re.IGNORECASE)

_INVALID_INPUT_CODES = frozenset(
    {
        "DATABASE_VALIDATION_ERROR",
        "DATABASE_CONSTRAINT_VIOLATION",
        "INVALID_INPUT",
        "MISSING_FIELD",
        "VALIDATION_ERROR",
        "BAD_REQUEST",
        "FUNCTION_SLUG_RESERVED",
    }
)

_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")

_SERVER_NEXT_STEP = (
    "The server failed. If the message is a database error (such as division by zero or an invalid "
    "cast), correct the SQL; otherwise try again later or read the project's logs."
)


def join_message(message: str, next_actions: str | None) -> str:
    """Join a backend message and its ``nextActions`` hint the way the CLI prints them."""
    if next_actions and next_actions not in message:
        return f"{message}\n{next_actions}"
    return message


def _postgrest_error(code: str, message: str, extra: dict[str, Any]) -> InsForgeError | None:
    """Map a PostgREST code (``PGRST…``) or a SQLSTATE, or return ``None`` if the code is neither."""
    status = extra["status"]
    if not (code.startswith("PGRST") or _SQLSTATE.match(code)):
        return None

    if code in {"42P01", "PGRST202", "PGRST205"}:
        return NotFoundError(
            message,
            next_step="List the tables (insforge_db_tables) or check the function name, then try again.",
            **extra,
        )
    if code in {"PGRST301", "PGRST302", "PGRST303"}:
        return AuthError(message, **extra)
    if code == "42501":
        return PermissionDeniedError(message, **extra)
    if code == "23505":
        return ConflictError(message, **extra)
    if status is not None and status >= 500:
        return ServerError(message, retryable=True, next_step=_SERVER_NEXT_STEP, **extra)
    return InvalidInputError(message, **extra)


def error_for_status(message: str, status: int, extra: Mapping[str, Any]) -> InsForgeError | None:
    """Return the typed error that an HTTP ``status`` alone implies, or ``None`` for any other status.

    Only 401, 403, 404, 409, 429 and 5xx name a failure class, so each caller picks its own
    fallback for the rest. ``extra`` contains the error's keyword arguments
    (``code``, ``status``, ``exit_code``, ``details``).
    """
    if status == 401:
        return AuthError(message, **extra)
    if status == 403:
        return PermissionDeniedError(message, **extra)
    if status == 404:
        return NotFoundError(message, **extra)
    if status == 409:
        return ConflictError(message, **extra)
    if status == 429:
        return RateLimitError(message, retryable=True, **extra)
    if status >= 500:
        return ServerError(message, retryable=True, next_step=_SERVER_NEXT_STEP, **extra)
    return None


def _error_for_status(message: str, status: int, extra: dict[str, Any]) -> InsForgeError:
    error = error_for_status(message, status, extra)
    if error is not None:
        return error
    if 400 <= status < 500:
        return InvalidInputError(message, **extra)
    return InsForgeError(message, **extra)


def _error_for_exit_code(message: str, exit_code: int, extra: dict[str, Any]) -> InsForgeError:
    # CLI 0.2.8 exit codes: 2 platform auth, 3 not linked, 5 platform 403; 1 is everything else.
    if exit_code == 2:
        return AuthError(message, **extra)
    if exit_code == 3:
        return NotLinkedError(message, **extra)
    if exit_code == 5:
        return PermissionDeniedError(message, **extra)
    return CliError(message, **extra)


def error_for_code(
    code: str | None,
    message: str,
    *,
    status: int | None = None,
    exit_code: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> InsForgeError:
    """Return the typed error for an InsForge error ``code``.

    The code decides first; the HTTP ``status`` or the CLI ``exit_code`` decides when the
    code is missing or unknown. An ``AUTH_…`` code means a rejected credential only with
    status 401 or 403 (or from the CLI, which hides the status): a 5xx or 429 that
    happens to carry such a code is a server or rate-limit failure, never "key rejected".

    Args:
        code: The backend's ``error`` field, the CLI's ``code``, or a PostgREST/SQLSTATE code.
        message: The message to show, already joined with any ``nextActions`` hint.
        status: The HTTP status, when the error came from an HTTP response.
        exit_code: The CLI's exit code, when the error came from a CLI run.
        details: Extra facts to keep on the error (redacted by the caller).
    """
    extra: dict[str, Any] = {
        "code": code,
        "status": status,
        "exit_code": exit_code,
        "details": dict(details or {}),
    }
    normalized = (code or "").strip().upper()

    # Status classes that outrank any code: the server or a proxy failed, or throttled us.
    if status == 429 or normalized in {"RATE_LIMITED", "RATE_LIMIT_EXCEEDED", "TOO_MANY_REQUESTS"}:
        return RateLimitError(message, retryable=True, **extra)
    if status is not None and status >= 500:
        return ServerError(message, retryable=True, next_step=_SERVER_NEXT_STEP, **extra)

    if normalized:
        postgrest = _postgrest_error(normalized, message, extra)
        if postgrest is not None:
            return postgrest

        if normalized.startswith("AUTH_") or normalized in {"UNAUTHORIZED", "AUTH_ERROR", "INVALID_API_KEY"}:
            if status is None or status in (401, 403):
                return AuthError(message, **extra)
        elif normalized == "FORBIDDEN":
            if _REJECTED_SQL.search(message):
                return InvalidInputError(
                    message,
                    next_step="Rewrite the statement as valid PostgreSQL without transaction control, "
                    "role or session settings, then try again.",
                    **extra,
                )
            return PermissionDeniedError(message, **extra)
        elif normalized == "PERMISSION_DENIED":
            return PermissionDeniedError(message, **extra)
        elif normalized == "PROJECT_NOT_LINKED":
            return NotLinkedError(message, **extra)
        elif normalized == "NOT_FOUND" or normalized.endswith("_NOT_FOUND"):
            return NotFoundError(message, **extra)
        elif normalized.endswith("_ALREADY_EXISTS") or normalized in {"DATABASE_DUPLICATE", "CONFLICT"}:
            return ConflictError(message, **extra)
        elif (
            normalized in _INVALID_INPUT_CODES
            or normalized.endswith("_INVALID_PARAMETER")
            or normalized.endswith("_INVALID_INPUT")
        ):
            return InvalidInputError(message, **extra)
        elif normalized == "NETWORK_ERROR":
            return TransportError(message, retryable=True, **extra)
        elif normalized == "INTERNAL_ERROR":
            return ServerError(message, retryable=True, next_step=_SERVER_NEXT_STEP, **extra)

    if status is not None:
        return _error_for_status(message, status, extra)
    if exit_code is not None:
        return _error_for_exit_code(message, exit_code, extra)
    return InsForgeError(message, **extra)


def _text_excerpt(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[:limit] + "…"
    return redact(text)


def error_for_response(status: int, body: bytes, *, method: str = "", path: str = "") -> InsForgeError:
    """Return the typed error for an HTTP error response from the project backend.

    Handles the InsForge shape ``{error, message, statusCode, nextActions?}``, the
    PostgREST shape ``{code, details, hint, message}``, a bare ``{error}`` (the function
    proxy's 502) and bodies that are not JSON at all.
    """
    where = f"{method} {path}".strip()
    try:
        data: Any = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = None

    if isinstance(data, dict) and isinstance(data.get("error"), str):
        raw_message = data.get("message")
        message = raw_message if isinstance(raw_message, str) and raw_message else data["error"]
        next_actions = data.get("nextActions")
        code = data["error"] if isinstance(raw_message, str) and raw_message else None
        text = join_message(message, next_actions if isinstance(next_actions, str) else None)
        details: dict[str, Any] = {"next_actions": next_actions} if isinstance(next_actions, str) else {}
        return error_for_code(code, text, status=status, details=details)

    if isinstance(data, dict) and isinstance(data.get("code"), str) and "message" in data:
        parts = [str(data.get("message") or "")]
        for key in ("details", "hint"):
            value = data.get(key)
            if isinstance(value, str) and value:
                parts.append(f"{key.capitalize()}: {value}")
        details = {key: data.get(key) for key in ("details", "hint") if data.get(key) is not None}
        return error_for_code(data["code"], "\n".join(parts), status=status, details=details)

    if data is not None:
        message = f"{where} failed with HTTP {status}: {_text_excerpt(json.dumps(data))}"
    elif body:
        excerpt = _text_excerpt(body.decode("utf-8", "replace"))
        message = f"{where} failed with HTTP {status}; the body is not JSON: {excerpt}"
    else:
        message = f"{where} failed with HTTP {status} and an empty body."
    return error_for_code(None, message.strip(), status=status)
