"""Guarded HTTP for the registration protocol.

Every URL the protocol touches goes through :func:`check_url`: https only, with
plain http allowed for loopback hosts (127.0.0.0/8, ::1, ``localhost``) when
``Settings.allow_insecure_loopback`` is set. Documents are read as a stream and
cut off at :data:`MAX_DOCUMENT_BYTES`. GET follows at most :data:`MAX_REDIRECTS`
redirects, and only to the same origin (scheme, host and port); any other
redirect is rejected. POST never follows a redirect.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import anyio
import httpx

from insforge_tools.errors import DiscoveryError, ProtocolError, TransportError
from insforge_tools.errors import TimeoutError as RequestTimeoutError
from insforge_tools.settings import Settings

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_REDIRECTS",
    "HttpReply",
    "check_url",
    "fetch_json",
    "is_loopback_host",
    "origin_of",
    "post_json",
    "same_origin",
]

logger = logging.getLogger("insforge_tools.protocol")

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_REDIRECTS = 3

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def is_loopback_host(host: str | None) -> bool:
    """Return whether ``host`` names the local machine: 127.0.0.0/8, ::1 or ``localhost``."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(
    url: object,
    *,
    field: str,
    settings: Settings,
    error: type[ProtocolError] = DiscoveryError,
) -> SplitResult:
    """Validate a URL the protocol is about to use and return its parts.

    Raises:
        ProtocolError: (``error``) when the value is not a string, is not an absolute
            http(s) URL, carries user info or a fragment, or uses plain http for a
            host other than loopback (or for loopback without the opt-in).

    NOTE: https URLs are not checked against private or link-local addresses, so a
    hostile metadata document can still point an https fetch at an internal host.
    """
    if not isinstance(url, str) or not url:
        raise error(
            f"{field} must be a non-empty URL string, not {url!r}.",
            code="invalid_url",
            details={"field": field},
        )

    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise error(f"{field} is not a valid URL: {url!r} ({exc}).", code="invalid_url") from None

    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise error(
            f"{field} must be an absolute https URL, not {url!r}.",
            code="invalid_url",
            details={"field": field},
        )
    if parts.username is not None or parts.password is not None:
        raise error(f"{field} must not contain user info: {url!r}.", code="invalid_url")
    if parts.fragment:
        raise error(f"{field} must not contain a fragment: {url!r}.", code="invalid_url")
    if port == 0:
        raise error(f"{field} has an invalid port: {url!r}.", code="invalid_url")

    if parts.scheme == "http":
        if not is_loopback_host(parts.hostname):
            raise error(
                f"{field} uses plain http for a host that is not loopback: {url!r}.",
                code="insecure_url",
                next_step="Use the service's https URL.",
                details={"field": field},
            )
        if not settings.allow_insecure_loopback:
            raise error(
                f"{field} uses plain http: {url!r}.",
                code="insecure_url",
                next_step="Use https, or set allow_insecure_loopback=True for a local test service.",
                details={"field": field},
            )
    return parts


def origin_of(url: str) -> tuple[str, str, int]:
    """Return the (scheme, host, port) origin of ``url``; the host is lower-cased as DNS compares it."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port if parts.port is not None else _DEFAULT_PORTS.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def same_origin(first: str, second: str) -> bool:
    """Return whether two URLs share scheme, host and port."""
    return origin_of(first) == origin_of(second)


@contextlib.asynccontextmanager
async def client_scope(
    client: httpx.AsyncClient | None, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """Yield ``client``, or a short-lived client that ignores proxy variables and never follows redirects."""
    if client is not None:
        yield client
        return
    async with httpx.AsyncClient(
        timeout=settings.http_timeout, follow_redirects=False, trust_env=False
    ) as owned:
        yield owned


@dataclass
class HttpReply:
    """A response read within the size limit.

    Attributes:
        url: The URL that produced the response (after same-origin redirects).
        status: The HTTP status.
        headers: The response headers.
        body: The raw body, at most :data:`MAX_DOCUMENT_BYTES`.
        data: The parsed JSON body, or ``None`` when it is not JSON.
    """

    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    data: Any = None
    is_json: bool = False
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip() or "no content type"


async def _read_limited(response: httpx.Response, *, field: str, error: type[ProtocolError]) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise error(
            f"{field} at {response.request.url} is {declared} bytes, more than the "
            f"{MAX_DOCUMENT_BYTES}-byte limit.",
            code="document_too_large",
            details={"field": field},
        )

    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            raise error(
                f"{field} at {response.request.url} is larger than the {MAX_DOCUMENT_BYTES}-byte limit.",
                code="document_too_large",
                details={"field": field},
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(body: bytes) -> tuple[Any, bool]:
    try:
        return json.loads(body.decode("utf-8")), True
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, False


async def _send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    field: str,
    settings: Settings,
    error: type[ProtocolError],
) -> tuple[httpx.Response, bytes]:
    # The whole exchange gets one deadline: httpx's own timeouts apply per read,
    # so a server that sends one byte at a time could otherwise stall for ever.
    try:
        with anyio.fail_after(settings.http_timeout):
            response = await client.send(request, stream=True, follow_redirects=False)
            try:
                body = await _read_limited(response, field=field, error=error)
            finally:
                await response.aclose()
    except (httpx.TimeoutException, TimeoutError):
        raise RequestTimeoutError(
            f"{request.method} {request.url} for {field} timed out after {settings.http_timeout} s.",
            code="timeout",
            retryable=True,
        ) from None
    except httpx.HTTPError as exc:
        raise TransportError(
            f"{request.method} {request.url} for {field} failed: {type(exc).__name__}: {exc}.",
            code="transport_error",
            retryable=True,
        ) from None
    return response, body


async def fetch_json(
    url: str,
    *,
    field: str,
    settings: Settings,
    client: httpx.AsyncClient | None = None,
    error: type[ProtocolError] = DiscoveryError,
) -> HttpReply:
    """GET a JSON document, following at most three same-origin redirects.

    Raises:
        ProtocolError: (``error``) for an unsafe URL, a redirect to another origin,
            too many redirects or a body over the size limit.
        TransportError: when the request does not complete.
    """
    check_url(url, field=field, settings=settings, error=error)
    current = url
    redirects: list[str] = []

    async with client_scope(client, settings) as http:
        while True:
            request = http.build_request(
                "GET", current, headers={"Accept": "application/json"}, timeout=settings.http_timeout
            )
            response, body = await _send(http, request, field=field, settings=settings, error=error)

            if response.status_code in _REDIRECT_STATUSES:
                location = response.headers.get("location")
                if not location:
                    raise error(
                        f"{field} at {current} redirected (HTTP {response.status_code}) without a Location.",
                        code="invalid_redirect",
                    )
                target = urljoin(current, location)
                if not same_origin(target, current):
                    raise error(
                        f"{field} at {current} redirected to another origin: {target!r}.",
                        code="cross_origin_redirect",
                        next_step="Use the URL the service publishes on its own host.",
                        details={"field": field},
                    )
                if len(redirects) >= MAX_REDIRECTS:
                    raise error(
                        f"{field} at {url} redirected more than {MAX_REDIRECTS} times.",
                        code="too_many_redirects",
                    )
                check_url(target, field=field, settings=settings, error=error)
                logger.debug("Following a same-origin redirect for %s to %s", field, target)
                redirects.append(target)
                current = target
                continue

            data, is_json = _parse_json(body)
            return HttpReply(
                url=current,
                status=response.status_code,
                headers=response.headers,
                body=body,
                data=data,
                is_json=is_json,
                redirects=redirects,
            )


async def post_json(
    url: str,
    payload: dict[str, Any],
    *,
    field: str,
    settings: Settings,
    client: httpx.AsyncClient | None = None,
    error: type[ProtocolError] = ProtocolError,
) -> HttpReply:
    """POST ``payload`` as JSON without following redirects and read the reply within the size limit.

    The caller must not log ``payload``: it may hold an assertion or a claim token.
    """
    check_url(url, field=field, settings=settings, error=error)
    async with client_scope(client, settings) as http:
        request = http.build_request(
            "POST",
            url,
            content=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            timeout=settings.http_timeout,
        )
        response, body = await _send(http, request, field=field, settings=settings, error=error)
    data, is_json = _parse_json(body)
    return HttpReply(
        url=url, status=response.status_code, headers=response.headers, body=body, data=data, is_json=is_json
    )
