"""Retries, headers, timeouts and per-loop clients of the HTTP transport."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from insforge_tools.errors import RateLimitError, ServerError, TransportError
from insforge_tools.sandbox._server import ThreadedServer
from insforge_tools.secrets import Secret
from insforge_tools.settings import Settings
from insforge_tools.transports.http import HttpTransport

BASE = "http://127.0.0.1:9"


class Script:
    """A MockTransport handler that returns a fixed list of responses and records requests."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def _transport(script: Script, sleeps: Sleeps, **kwargs: Any) -> HttpTransport:
    return HttpTransport(
        Settings(http_timeout=5), transport=httpx.MockTransport(script), sleep=sleeps, **kwargs
    )


UNAVAILABLE = {"error": "INTERNAL_ERROR", "message": "upstream unavailable", "statusCode": 503}


async def test_retry_get_on_503() -> None:
    script = Script(httpx.Response(503, json=UNAVAILABLE), httpx.Response(200, json={"ok": True}))
    sleeps = Sleeps()
    response = await _transport(script, sleeps).request("GET", BASE, "/api/metadata", api_key=None)
    assert response.body == {"ok": True}
    assert len(script.requests) == 2
    assert len(sleeps.delays) == 1


async def test_no_retry_for_post() -> None:
    script = Script(httpx.Response(503, json=UNAVAILABLE))
    sleeps = Sleeps()
    with pytest.raises(ServerError):
        await _transport(script, sleeps).request(
            "POST", BASE, "/api/database/advance/rawsql", api_key=None, json_body={"query": "select 1"}
        )
    assert len(script.requests) == 1
    assert sleeps.delays == []


async def test_no_retry_for_500() -> None:
    body = {"error": "INTERNAL_ERROR", "message": "division by zero", "statusCode": 500}
    script = Script(httpx.Response(500, json=body))
    sleeps = Sleeps()
    with pytest.raises(ServerError):
        await _transport(script, sleeps).request("GET", BASE, "/api/metadata", api_key=None)
    assert len(script.requests) == 1


async def test_retry_after_honoured() -> None:
    limited = httpx.Response(
        429, headers={"Retry-After": "2"}, json={"error": "RATE_LIMITED", "message": "slow"}
    )
    script = Script(limited, httpx.Response(200, json=[]))
    sleeps = Sleeps()
    response = await _transport(script, sleeps).request("GET", BASE, "/api/database/tables", api_key=None)
    assert response.body == []
    assert sleeps.delays == [2.0]


async def test_429_without_retry_after() -> None:
    script = Script(httpx.Response(429, json={"error": "RATE_LIMITED", "message": "slow down"}))
    sleeps = Sleeps()
    with pytest.raises(RateLimitError) as caught:
        await _transport(script, sleeps).request("GET", BASE, "/api/database/tables", api_key=None)
    assert caught.value.retryable
    assert len(script.requests) == 1


async def test_retries_exhausted() -> None:
    script = Script(*[httpx.Response(502, json={"error": "bad gateway"}) for _ in range(4)])
    sleeps = Sleeps()
    with pytest.raises(ServerError):
        await _transport(script, sleeps, max_retries=3).request(
            "DELETE", BASE, "/api/secrets/X", api_key=None
        )
    assert len(script.requests) == 4
    assert len(sleeps.delays) == 3
    assert all(0 < delay <= 4.0 for delay in sleeps.delays)


async def test_connect_error_retried_for_get() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, json={"ok": 1}))
    sleeps = Sleeps()
    response = await _transport(script, sleeps).request("GET", BASE, "/api/metadata", api_key=None)
    assert response.body == {"ok": 1}
    assert len(sleeps.delays) == 1


async def test_connect_error_post_not_retried() -> None:
    script = Script(httpx.ConnectError("refused"))
    sleeps = Sleeps()
    with pytest.raises(TransportError) as caught:
        await _transport(script, sleeps).request("POST", BASE, "/api/database/advance/rawsql", api_key=None)
    assert caught.value.retryable
    assert len(script.requests) == 1


async def test_bearer_header_sent() -> None:
    script = Script(httpx.Response(200, json={}))
    key = Secret("ik_" + "a" * 32)
    await _transport(script, Sleeps()).request("GET", BASE, "/api/metadata", api_key=key)
    assert script.requests[0].headers["Authorization"] == "Bearer ik_" + "a" * 32


def test_timeout_from_settings() -> None:
    timeout = HttpTransport(Settings(http_timeout=42)).timeout
    assert timeout.read == 42
    assert timeout.write == 42
    assert timeout.pool == 42
    assert timeout.connect == 10


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_dead_port_transport_error() -> None:
    sleeps = Sleeps()
    transport = HttpTransport(Settings(http_timeout=5), sleep=sleeps, max_retries=1)
    with pytest.raises(TransportError) as caught:
        await transport.request("GET", f"http://127.0.0.1:{_dead_port()}", "/api/metadata", api_key=None)
    await transport.aclose()
    assert "could not reach" in caught.value.message
    assert len(sleeps.delays) == 1


@pytest.fixture
def echo_server() -> Any:
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse({"path": request.url.path, "auth": request.headers.get("authorization")})

    server = ThreadedServer(name="echo")
    url = server.bind()
    server.start(Starlette(routes=[Route("/{path:path}", echo)]))
    yield url
    server.stop()


def test_client_per_loop(echo_server: str) -> None:
    # A sync bridge that runs each call in a fresh event loop must get a working client each time.
    transport = HttpTransport(Settings(http_timeout=10))
    clients: list[httpx.AsyncClient] = []

    async def call() -> Any:
        response = await transport.request(
            "GET", echo_server, "/api/metadata", api_key=Secret("ik_" + "b" * 32)
        )
        clients.append(await transport.client())
        return response.body

    first_body = asyncio.run(call())
    second_body = asyncio.run(call())
    assert first_body == {"path": "/api/metadata", "auth": "Bearer ik_" + "b" * 32}
    assert second_body == first_body
    assert clients[0] is not clients[1]
    # asyncio.run closed each loop's client on the way out.
    assert clients[0].is_closed
    assert clients[1].is_closed


async def test_client_reused_in_loop(echo_server: str) -> None:
    transport = HttpTransport(Settings(http_timeout=10))
    await transport.request("GET", echo_server, "/a", api_key=None)
    client = await transport.client()
    await transport.request("GET", echo_server, "/b", api_key=None)
    assert await transport.client() is client
    await transport.aclose()
    assert client.is_closed
