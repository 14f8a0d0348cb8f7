"""Direct HTTP to a project backend, with the linked project's API key.

One :class:`HttpTransport` serves one workspace. It keeps one ``httpx.AsyncClient``
per running event loop, because an httpx connection pool is bound to the loop that
opened its connections. A synchronous bridge that runs every call in a fresh loop
therefore gets a fresh client each time, and connections are reused within a loop.

Failed requests are retried with capped exponential backoff and jitter, but only for
idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) on 502, 503, 504, on 429 that
carries ``Retry-After``, and on connection failures. Error responses become the same
typed errors the CLI transport raises (see :mod:`insforge_tools.transports.errors`).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from insforge_tools.errors import ServerError, TimeoutError, TransportError
from insforge_tools.secrets import Secret, redact
from insforge_tools.settings import Settings
from insforge_tools.transports.errors import error_for_response

__all__ = ["HttpResponse", "HttpTransport", "IDEMPOTENT_METHODS", "RETRY_STATUSES"]

logger = logging.getLogger("insforge_tools.transports.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({502, 503, 504})

# Seconds. The first retry waits about BACKOFF_BASE, each later one twice as long, never
# more than BACKOFF_CAP; a Retry-After longer than RETRY_AFTER_CAP is not waited for.
BACKOFF_BASE = 0.25
BACKOFF_CAP = 4.0
RETRY_AFTER_CAP = 30.0
CONNECT_TIMEOUT_CAP = 10.0

Sleep = Callable[[float], Awaitable[None]]
ResponseKind = Literal["json", "text", "bytes"]


@dataclass(frozen=True)
class HttpResponse:
    """A successful response: status, headers and the decoded body."""

    status: int
    headers: Mapping[str, str]
    body: Any = None


@dataclass
class _RetryState:
    attempt: int = 0


async def _close_on_shutdown(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Wait, suspended, until the event loop shuts down its async generators, then close ``client``."""
    try:
        yield
    finally:
        await client.aclose()


def _retry_after_seconds(value: str | None) -> float | None:
    """Parse a ``Retry-After`` header (delay seconds or an HTTP date) into seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


class HttpTransport:
    """Sends requests to a project backend and maps its errors.

    Args:
        settings: The workspace settings; ``http_timeout`` bounds every request.
        transport: An httpx transport to use instead of the network (``httpx.MockTransport`` in tests).
        sleep: The coroutine used to wait between retries.
        max_retries: Retries after the first attempt, for retryable failures only.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 3,
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._sleep = sleep
        self.max_retries = max_retries
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._guards: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncGenerator[None, None]] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def timeout(self) -> httpx.Timeout:
        """The timeouts of every request, in seconds, from ``settings.http_timeout``."""
        total = self.settings.http_timeout
        return httpx.Timeout(connect=min(total, CONNECT_TIMEOUT_CAP), read=total, write=total, pool=total)

    async def client(self) -> httpx.AsyncClient:
        """Return the client of the running event loop, creating it on first use.

        The client is closed when its loop shuts down its async generators, which
        ``asyncio.run`` does before it closes the loop, so a fresh loop per call leaves
        no open connections behind.
        """
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is not None and not client.is_closed:
            return client

        for other in [other for other in self._clients if other.is_closed()]:
            self._clients.pop(other, None)

        client = httpx.AsyncClient(
            timeout=self.timeout,
            transport=self._transport,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "insforge-tools"},
        )
        self._clients[loop] = client
        guard = _close_on_shutdown(client)
        await guard.__anext__()
        self._guards[loop] = guard
        return client

    async def aclose(self) -> None:
        """Close the client of the running event loop, if there is one."""
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        guard = self._guards.pop(loop, None)
        if guard is not None:
            await guard.aclose()
        if client is not None:
            await client.aclose()

    async def request(
        self,
        method: str,
        base_url: str,
        path: str,
        *,
        api_key: Secret | None,
        params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None,
        json_body: Any = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        response_kind: ResponseKind = "json",
    ) -> HttpResponse:
        """Send one request (with retries) and return the decoded response.

        Args:
            method: The HTTP method.
            base_url: The backend's base URL, such as ``https://abc.us-east.insforge.app``.
            path: The path below the base URL, starting with ``/``.
            api_key: Sent as ``Authorization: Bearer <key>``; ``None`` sends no credential.
            params: Query parameters; a sequence of pairs keeps repeated names.
            json_body: A JSON body.
            files: Multipart files, as httpx takes them.
            headers: Extra headers.
            response_kind: How to decode a successful body.

        Raises:
            InsForgeError: A typed error for the backend's error response, a timeout or a
                connection failure.
        """
        method = method.upper()
        url = base_url.rstrip("/") + path
        request_headers = dict(headers or {})
        if api_key is not None:
            request_headers["Authorization"] = f"Bearer {api_key.reveal()}"

        # httpx's annotation accepts pairs only as a list or a tuple. A tuple copy type-checks
        # because tuples are covariant, and it keeps repeated names.
        query = params if params is None or isinstance(params, Mapping) else tuple(params)

        state = _RetryState()
        while True:
            try:
                client = await self.client()
                response = await client.request(
                    method,
                    url,
                    params=query,
                    json=json_body,
                    files=files,
                    headers=request_headers,
                )
            except httpx.TimeoutException as exc:
                if isinstance(exc, httpx.ConnectTimeout) and await self._should_retry(state, method, None):
                    continue
                raise TimeoutError(
                    f"{method} {path} on {base_url} timed out after {self.settings.http_timeout:g} s "
                    f"({type(exc).__name__}).",
                    retryable=True,
                ) from None
            except httpx.TransportError as exc:
                connection_failed = isinstance(exc, httpx.ConnectError | httpx.RemoteProtocolError)
                if connection_failed and await self._should_retry(state, method, None):
                    continue
                raise TransportError(
                    f"{method} {path} could not reach {base_url}: {redact(str(exc)) or type(exc).__name__}.",
                    retryable=True,
                ) from None

            if response.status_code < 400:
                return HttpResponse(
                    status=response.status_code,
                    headers=response.headers,
                    body=self._decode(response, method, path, response_kind),
                )

            if await self._should_retry(state, method, response):
                continue
            raise error_for_response(response.status_code, response.content, method=method, path=path)

    async def _should_retry(self, state: _RetryState, method: str, response: httpx.Response | None) -> bool:
        """Decide whether to retry, and wait before returning ``True``."""
        if state.attempt >= self.max_retries or method not in IDEMPOTENT_METHODS:
            return False

        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2**state.attempt) * random.uniform(0.5, 1.0)  # noqa: S311
        if response is not None:
            if response.status_code == 429:
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                if retry_after is None or retry_after > RETRY_AFTER_CAP:
                    return False
                delay = retry_after
            elif response.status_code not in RETRY_STATUSES:
                return False

        state.attempt += 1
        reason = f"HTTP {response.status_code}" if response is not None else "connection failure"
        logger.info(
            "Retrying %s after %s in %.2f s (retry %d of %d).",
            method,
            reason,
            delay,
            state.attempt,
            self.max_retries,
        )
        await self._sleep(delay)
        return True

    @staticmethod
    def _decode(response: httpx.Response, method: str, path: str, kind: ResponseKind) -> Any:
        if kind == "bytes":
            return response.content
        if kind == "text":
            return response.text
        if not response.content.strip():
            return None
        try:
            return json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            excerpt = redact(" ".join(response.text[:200].split()))
            raise ServerError(
                f"{method} {path} returned HTTP {response.status_code} with a body that is not JSON: "
                f"{excerpt}",
                status=response.status_code,
                next_step="Check that the base URL points at an InsForge backend (not a proxy or web page).",
            ) from None
