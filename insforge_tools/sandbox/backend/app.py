"""Assemble the backend stand-in: routes, error handlers, the access log and the database pool."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from insforge_tools.sandbox.backend import (
    database,
    deployments,
    functions,
    metadata,
    misc,
    records,
    storage,
)
from insforge_tools.sandbox.backend import (
    secrets as secret_routes,
)
from insforge_tools.sandbox.backend.errors import ApiError, PostgrestError
from insforge_tools.sandbox.backend.misc import record_request
from insforge_tools.sandbox.backend.state import BackendState, bootstrap_database
from insforge_tools.secrets import remember_secret

__all__ = ["create_backend_app"]

logger = logging.getLogger("insforge_tools.sandbox.backend")

STATEMENT_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10.0
# A client-side bound above the server's statement timeout, so a stuck connection cannot hang a request.
COMMAND_TIMEOUT_S = 60.0


class AccessLogMiddleware:
    """Record every HTTP request in ``insforge.logs`` with its status, size and duration."""

    def __init__(self, app: ASGIApp, state: BackendState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.monotonic()
        status = 500
        size = 0

        async def send_and_measure(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_and_measure)
        finally:
            client = scope.get("client")
            record_request(
                self.state,
                method=scope["method"],
                path=scope["path"],
                status=status,
                size=size,
                duration_ms=round((time.monotonic() - started) * 1000),
                ip=client[0] if client else "",
            )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _postgrest_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PostgrestError)
    return exc.response()


async def _not_found(request: Request, exc: Exception) -> Response:
    # Express answers an unmatched method the same way as an unknown path.
    if isinstance(exc, HTTPException) and exc.status_code not in (404, 405):
        return ApiError(exc.status_code, "INVALID_INPUT", str(exc.detail)).response()
    return ApiError(
        404,
        "NOT_FOUND",
        f"Endpoint {request.url.path} not found",
        "Please check the API documentation for available endpoints",
    ).response()


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("Unhandled error in %s %s", request.method, request.url.path)
    return ApiError(500, "INTERNAL_ERROR", str(exc) or type(exc).__name__).response()


def create_backend_app(
    *,
    dsn: str,
    api_key: str,
    storage_dir: Path,
    anon_key: str | None = None,
) -> Starlette:
    """Build the project backend stand-in as a Starlette app.

    The asyncpg pool opens in the app's lifespan, which also creates the roles,
    schemas and tables the backend needs in the database at ``dsn``.

    Args:
        dsn: PostgreSQL URL of a superuser connection (the server's own role).
        api_key: The admin API key clients must send (``ik_`` followed by hex).
        storage_dir: Directory for uploaded object bytes; created if missing.
        anon_key: The anon key; a random ``anon_…`` value when omitted.

    Raises:
        ValueError: If ``api_key`` does not start with ``ik_``; the real server
            treats only such Bearer values as API keys.
    """
    if not api_key.startswith("ik_"):
        raise ValueError(
            "The admin API key must start with 'ik_'; generate one as 'ik_' + 32 hex characters."
        )
    remember_secret(api_key)
    anon_key = anon_key or f"anon_{secrets.token_hex(16)}"
    remember_secret(anon_key)

    storage_dir = Path(storage_dir)
    storage_dir.mkdir(parents=True, exist_ok=True)
    state = BackendState(api_key=api_key, anon_key=anon_key, storage_dir=storage_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=10,
            timeout=CONNECT_TIMEOUT_S,
            command_timeout=COMMAND_TIMEOUT_S,
            # Plans cached across DDL fail with "cached plan must not change result type".
            statement_cache_size=0,
            server_settings={
                "statement_timeout": str(STATEMENT_TIMEOUT_MS),
                "TimeZone": "UTC",
                "application_name": "insforge-sandbox-backend",
            },
        )
        try:
            await bootstrap_database(pool, state)
            state.pool = pool
            logger.info("Backend stand-in ready (storage in %s)", storage_dir)
            yield
        finally:
            state.pool = None
            await pool.close()
            logger.info("Backend stand-in stopped")

    exception_handlers: dict[Any, Any] = {
        ApiError: _api_error,
        PostgrestError: _postgrest_error,
        HTTPException: _not_found,
        404: _not_found,
        405: _not_found,
        Exception: _unexpected_error,
    }
    # Deployments come first because misc's /api/logs/{source} would also match
    # /api/logs/functions/build-logs.
    routes = [
        *deployments.routes,
        *misc.routes,
        *metadata.routes,
        *database.routes,
        *records.routes,
        *storage.routes,
        *functions.routes,
        *secret_routes.routes,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers=exception_handlers,
        middleware=[Middleware(AccessLogMiddleware, state=state)],
    )
    app.state.backend = state
    return app
