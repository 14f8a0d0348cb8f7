"""Request and response helpers shared by the platform routes."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from insforge_tools.sandbox.platform._config import PlatformConfig
from insforge_tools.sandbox.platform._state import PlatformState

__all__ = [
    "METADATA_CACHE",
    "ErrorInjectionMiddleware",
    "RequestError",
    "error_response",
    "media_type",
    "read_json_object",
]

METADATA_CACHE = {"Cache-Control": "public, max-age=300"}

# Deliberately simple: one "@", no spaces, a dot in the domain. Enough for a sandbox.
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class RequestError(Exception):
    """A request that cannot be served; turned into an error response by the route."""

    def __init__(
        self, code: str, message: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers or {}


def error_response(
    config: PlatformConfig, code: str, message: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    """Build an error body in the configured style (``error_description`` or ``message``)."""
    text_key = "error_description" if config.error_style == "insforge" else "message"
    return JSONResponse({"error": code, text_key: message}, status_code=status, headers=headers)


def media_type(request: Request) -> str:
    """Return the request's media type without parameters, lower-cased."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_json_object(request: Request) -> dict[str, Any]:
    """Parse a JSON object body sent as ``application/json``.

    Raises:
        RequestError: ``invalid_request`` for another content type, malformed
            JSON or a body that is not an object.
    """
    if media_type(request) != "application/json":
        raise RequestError("invalid_request", "Expected a JSON body with Content-Type application/json.")
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise RequestError("invalid_request", "The request body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise RequestError("invalid_request", "The request body must be a JSON object.")
    return body


def require_string(body: dict[str, Any], name: str) -> str:
    """Return the non-empty string member ``name`` or raise ``invalid_request``."""
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise RequestError("invalid_request", f"{name}: Required, a non-empty string.")
    return value


def require_email(body: dict[str, Any], name: str) -> str:
    """Return the member ``name`` if it looks like an email address, else raise ``invalid_request``."""
    value = body.get(name)
    if not isinstance(value, str) or not EMAIL_PATTERN.match(value):
        raise RequestError("invalid_request", f"{name}: Invalid email address")
    return value


def bearer_token(request: Request) -> str | None:
    """Return the credential of an ``Authorization: Bearer`` header, or ``None``."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class ErrorInjectionMiddleware:
    """Responds to requests with the errors queued by ``PlatformState.issue_error`` before routing."""

    def __init__(self, app: ASGIApp, state: PlatformState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            injected = self.state.take_injected_error(scope["path"])
            if injected is not None:
                headers = (
                    {"Retry-After": str(injected.retry_after)} if injected.retry_after is not None else None
                )
                message = f"Injected error {injected.code} (HTTP {injected.status})."
                response = error_response(self.state.config, injected.code, message, injected.status, headers)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
