"""Request helpers: credentials, JSON bodies and body validation in the backend's wording."""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.requests import Request

from insforge_tools.sandbox.backend.errors import (
    INVALID_KEY_NEXT,
    MISSING_TOKEN_NEXT,
    ApiError,
    invalid_json_message,
)
from insforge_tools.sandbox.backend.state import BackendState

__all__ = [
    "expect_type",
    "get_state",
    "read_json",
    "require_admin",
    "require_api_key",
    "require_user",
]

ADMIN_ROLE = "project_admin"
ANON_ROLE = "anon"


def get_state(request: Request) -> BackendState:
    state: BackendState = request.app.state.backend
    return state


def _credentials(request: Request) -> tuple[str | None, str | None]:
    """Return ``(api_key, bearer_token)``.

    A Bearer value counts as an API key only if it starts with ``ik_``.
    """
    authorization = request.headers.get("authorization", "")
    bearer = None
    if authorization[:7].lower() == "bearer ":
        bearer = authorization[7:].strip()
    if bearer and bearer.startswith("ik_"):
        return bearer, None
    api_key = request.headers.get("x-api-key")
    if api_key is not None:
        return api_key, None
    return None, bearer or None


def _check_api_key(state: BackendState, api_key: str) -> None:
    if not hmac.compare_digest(api_key.encode(), state.api_key.encode()):
        raise ApiError(401, "AUTH_INVALID_API_KEY", "Invalid API key", INVALID_KEY_NEXT)


def require_admin(request: Request) -> str:
    """Accept only the admin API key; return the database role it maps to."""
    state = get_state(request)
    api_key, bearer = _credentials(request)
    if api_key is not None:
        _check_api_key(state, api_key)
        return ADMIN_ROLE
    if bearer is not None:
        # The real server tries any other Bearer value as a JWT; the sandbox issues none.
        raise ApiError(401, "AUTH_UNAUTHORIZED", "Invalid token")
    raise ApiError(401, "AUTH_INVALID_CREDENTIALS", "No admin token provided", MISSING_TOKEN_NEXT)


def require_user(request: Request) -> str:
    """Accept the admin API key or the anon key; return the database role they map to."""
    state = get_state(request)
    api_key, bearer = _credentials(request)
    if api_key is not None:
        _check_api_key(state, api_key)
        return ADMIN_ROLE
    if bearer is not None:
        if hmac.compare_digest(bearer.encode(), state.anon_key.encode()):
            return ANON_ROLE
        raise ApiError(401, "AUTH_UNAUTHORIZED", "Invalid token")
    raise ApiError(401, "AUTH_INVALID_CREDENTIALS", "No token provided", MISSING_TOKEN_NEXT)


def require_api_key(request: Request) -> None:
    """Accept only the admin API key (``x-api-key`` or a Bearer ``ik_`` value)."""
    state = get_state(request)
    api_key, _bearer = _credentials(request)
    if api_key is None:
        raise ApiError(401, "AUTH_INVALID_CREDENTIALS", "No API key provided", INVALID_KEY_NEXT)
    _check_api_key(state, api_key)


async def read_json(request: Request) -> Any:
    """Parse a JSON body; an empty body or a non-JSON content type gives ``{}`` as Express does."""
    content_type = request.headers.get("content-type", "")
    raw = await request.body()
    if "json" not in content_type.lower() or not raw.strip():
        return {}
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "INVALID_INPUT",
            invalid_json_message(text, exc),
            "Please ensure your request body contains valid JSON",
        ) from exc


_JSON_TYPE_NAMES = {
    str: "string",
    bool: "boolean",
    int: "number",
    float: "number",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _type_name(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value), "unknown")


def expect_type(
    body: Any,
    name: str,
    kind: str,
    *,
    required: bool = True,
    next_actions: str | None = None,
) -> Any:
    """Return ``body[name]`` after checking its JSON type; errors read like the backend's zod messages."""
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_INPUT", f"Expected object, received {_type_name(body)}", next_actions)
    if name not in body or body[name] is None and required:
        if required:
            raise ApiError(400, "INVALID_INPUT", f"{name}: Required", next_actions)
        return None
    value = body[name]
    if value is None:
        return None
    actual = _type_name(value)
    if kind == "number" and isinstance(value, bool):
        actual = "boolean"
    if actual != kind:
        raise ApiError(400, "INVALID_INPUT", f"{name}: Expected {kind}, received {actual}", next_actions)
    return value
