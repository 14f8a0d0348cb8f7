"""Discovery: well-known locations, the challenge, leniencies, cache, and a real loopback service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest
from protocol_fakes import (
    BASE,
    HTTPS_BASE,
    LoopbackState,
    exact_service,
    json_response,
    reference_as,
    reference_prm,
    reference_service,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from insforge_tools.errors import DiscoveryError, TimeoutError
from insforge_tools.protocol import (
    DiscoveryCache,
    authorization_server_metadata_url,
    discover,
    parse_resource_metadata_challenge,
    protected_resource_metadata_url,
    select_audience,
)
from insforge_tools.sandbox._server import ThreadedServer
from insforge_tools.settings import Settings


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("https://rs.example/", "https://rs.example/.well-known/oauth-protected-resource"),
        ("https://rs.example", "https://rs.example/.well-known/oauth-protected-resource"),
        ("https://rs.example/resource1", "https://rs.example/.well-known/oauth-protected-resource/resource1"),
        ("https://rs.example/api/", "https://rs.example/.well-known/oauth-protected-resource/api/"),
        ("https://rs.example/a?x=1", "https://rs.example/.well-known/oauth-protected-resource/a?x=1"),
        ("https://RS.example:8443/a", "https://RS.example:8443/.well-known/oauth-protected-resource/a"),
    ],
)
def test_prm_location(resource: str, expected: str) -> None:
    assert protected_resource_metadata_url(resource) == expected


@pytest.mark.parametrize(
    ("issuer", "expected"),
    [
        ("https://as.example", "https://as.example/.well-known/oauth-authorization-server"),
        ("https://as.example/", "https://as.example/.well-known/oauth-authorization-server"),
        ("https://as.example/tenant1", "https://as.example/.well-known/oauth-authorization-server/tenant1"),
        ("https://as.example/tenant1/", "https://as.example/.well-known/oauth-authorization-server/tenant1"),
    ],
)
def test_as_location(issuer: str, expected: str) -> None:
    assert authorization_server_metadata_url(issuer) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('Bearer resource_metadata="https://rs.example/.well-known/x"', "https://rs.example/.well-known/x"),
        ('Bearer realm="api", resource_metadata="https://rs.example/m"', "https://rs.example/m"),
        ("Bearer resource_metadata=https://rs.example/m", "https://rs.example/m"),
        ('Basic realm="x", Bearer resource_metadata="https://rs.example/m"', "https://rs.example/m"),
        ('bearer error="invalid_token", resource_metadata="https://rs.example/m"', "https://rs.example/m"),
        ('Bearer resource_metadata = "https://rs.example/m\\"q"', 'https://rs.example/m"q'),
    ],
)
def test_challenge_parse(header: str, expected: str) -> None:
    assert parse_resource_metadata_challenge(header) == expected


async def test_reference_documents_prefix(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    service = reference_service()
    challenge = f'Bearer resource_metadata="{BASE}/.well-known/oauth-protected-resource"'
    caplog.set_level(logging.WARNING, logger="insforge_tools.protocol")
    async with service.client() as client:
        discovery = await discover(
            f"{BASE}/api/resource",
            settings=settings,
            client=client,
            challenge=challenge,
            resource_match="prefix",
        )
    assert discovery.prm.resource == f"{BASE}/api/"
    assert discovery.issuer == BASE
    assert discovery.authorization_server.issuer is None
    assert discovery.agent_auth.register_uri == f"{BASE}/agent/auth"
    assert discovery.agent_auth.identity_assertion is not None
    assert discovery.agent_auth.anonymous is not None
    assert discovery.agent_auth.anonymous.credential_types_supported == ["api_key"]
    assert [flow.flow for flow in discovery.flows() if flow.available] == [
        "identity_assertion",
        "verified_email",
        "anonymous",
    ]
    prefix_logs = [record for record in caplog.records if "prefix" in record.getMessage()]
    assert prefix_logs
    assert f"{BASE}/api/" in prefix_logs[0].getMessage()
    assert f"{BASE}/api/resource" in prefix_logs[0].getMessage()
    assert any("no issuer" in warning for warning in discovery.warnings)


async def test_reference_documents_exact_rejected(settings: Settings) -> None:
    service = reference_service()
    challenge = f'Bearer resource_metadata="{BASE}/.well-known/oauth-protected-resource"'
    async with service.client() as client:
        with pytest.raises(DiscoveryError) as caught:
            await discover(f"{BASE}/api/resource", settings=settings, client=client, challenge=challenge)
    assert caught.value.code == "resource_mismatch"
    assert f"{BASE}/api/" in caught.value.message


async def test_root_fallback_after_404(settings: Settings) -> None:
    service = reference_service()
    async with service.client() as client:
        discovery = await discover(f"{BASE}/api/", settings=settings, client=client)
    fetched = [str(request.url) for request in service.requests]
    assert fetched[0] == f"{BASE}/.well-known/oauth-protected-resource/api/"
    assert fetched[1] == f"{BASE}/.well-known/oauth-protected-resource"
    assert discovery.prm_url == f"{BASE}/.well-known/oauth-protected-resource"
    assert any("404" in warning for warning in discovery.warnings)


async def test_exact_https_discovery(strict_settings: Settings) -> None:
    service = exact_service()
    async with service.client() as client:
        discovery = await discover(f"{HTTPS_BASE}/api/", settings=strict_settings, client=client)
    assert discovery.issuer == HTTPS_BASE
    assert discovery.warnings == []
    assert select_audience(discovery, "resource") == f"{HTTPS_BASE}/api/"
    assert select_audience(discovery, "issuer") == HTTPS_BASE


async def test_issuer_root_slash_tolerated(strict_settings: Settings) -> None:
    # authorization_servers lists the issuer with a root "/", and the AS publishes it without one.
    base = "https://demo.insforge.invalid"
    service = exact_service(base, issuer=base)
    prm = reference_prm(base)
    prm["authorization_servers"] = [f"{base}/"]
    service.add("GET", f"{base}/.well-known/oauth-protected-resource/api/", json_response(prm))
    async with service.client() as client:
        discovery = await discover(f"{base}/api/", settings=strict_settings, client=client)
    assert discovery.issuer == base
    assert discovery.authorization_server.issuer == base
    assert discovery.prm.authorization_servers == [f"{base}/"]
    assert select_audience(discovery, "issuer") == base
    assert any("root '/'" in warning for warning in discovery.warnings)


async def test_issuer_path_slash_rejected(strict_settings: Settings) -> None:
    base = "https://demo.insforge.invalid"
    service = exact_service(base, issuer=f"{base}/tenant")
    prm = reference_prm(base)
    prm["authorization_servers"] = [f"{base}/tenant/"]
    service.add("GET", f"{base}/.well-known/oauth-protected-resource/api/", json_response(prm))
    metadata = reference_as(base)
    metadata["issuer"] = f"{base}/tenant"
    service.add("GET", f"{base}/.well-known/oauth-authorization-server/tenant", json_response(metadata))
    async with service.client() as client:
        with pytest.raises(DiscoveryError) as caught:
            await discover(f"{base}/api/", settings=strict_settings, client=client)
    assert caught.value.code == "issuer_mismatch"


async def test_extra_fields_kept(strict_settings: Settings) -> None:
    service = exact_service()
    prm = reference_prm(HTTPS_BASE)
    prm["x_vendor"] = {"tier": "free"}
    service.add("GET", f"{HTTPS_BASE}/.well-known/oauth-protected-resource/api/", json_response(prm))
    metadata = reference_as(HTTPS_BASE)
    metadata["issuer"] = HTTPS_BASE
    metadata["agent_auth"]["x_future"] = True
    service.add("GET", f"{HTTPS_BASE}/.well-known/oauth-authorization-server", json_response(metadata))
    async with service.client() as client:
        discovery = await discover(f"{HTTPS_BASE}/api/", settings=strict_settings, client=client)
    assert discovery.prm.model_extra == {"x_vendor": {"tier": "free"}}
    assert discovery.agent_auth.model_extra == {"x_future": True}
    assert discovery.authorization_server.model_extra is not None
    assert discovery.authorization_server.model_extra["resource"] == f"{HTTPS_BASE}/api/"


async def test_cache_ttl_and_invalidate(strict_settings: Settings) -> None:
    now = [1000.0]
    cache = DiscoveryCache(ttl=60, clock=lambda: now[0])
    service = exact_service()
    async with service.client() as client:
        first = await discover(f"{HTTPS_BASE}/api/", settings=strict_settings, client=client, cache=cache)
        again = await discover(f"{HTTPS_BASE}/api/", settings=strict_settings, client=client, cache=cache)
        assert again is first
        assert len(service.requests) == 2

        now[0] += 61
        await discover(f"{HTTPS_BASE}/api/", settings=strict_settings, client=client, cache=cache)
        assert len(service.requests) == 4

        assert cache.invalidate(f"{HTTPS_BASE}/api/") is True
        assert cache.get(f"{HTTPS_BASE}/api/") is None
        await discover(f"{HTTPS_BASE}/api/", settings=strict_settings, client=client, cache=cache)
        assert len(service.requests) == 6


async def test_cache_honours_max_age(strict_settings: Settings) -> None:
    now = [0.0]
    cache = DiscoveryCache(ttl=300, clock=lambda: now[0])
    service = exact_service()
    prm_url = f"{HTTPS_BASE}/.well-known/oauth-protected-resource/api/"
    service.add(
        "GET", prm_url, json_response(reference_prm(HTTPS_BASE), headers={"Cache-Control": "max-age=10"})
    )
    async with service.client() as client:
        await discover(f"{HTTPS_BASE}/api/", settings=strict_settings, client=client, cache=cache)
    now[0] = 11
    assert cache.get(f"{HTTPS_BASE}/api/") is None


async def test_loopback_challenge_flow(settings: Settings, loopback_service: LoopbackState) -> None:
    base = loopback_service.base
    async with httpx.AsyncClient() as client:
        probe = await client.get(f"{base}/api/resource")
    assert probe.status_code == 401
    challenge = probe.headers["www-authenticate"]

    discovery = await discover(
        f"{base}/api/resource", settings=settings, challenge=challenge, resource_match="prefix"
    )
    assert discovery.prm_url == f"{base}/.well-known/oauth-protected-resource"
    assert discovery.issuer == base


async def test_loopback_same_origin_redirect(settings: Settings, loopback_service: LoopbackState) -> None:
    base = loopback_service.base
    discovery = await discover(
        f"{base}/api/", settings=settings, challenge=f'Bearer resource_metadata="{base}/moved"'
    )
    assert discovery.prm_url == f"{base}/.well-known/oauth-protected-resource"


async def test_loopback_needs_opt_in(strict_settings: Settings, loopback_service: LoopbackState) -> None:
    with pytest.raises(DiscoveryError) as caught:
        await discover(f"{loopback_service.base}/api/", settings=strict_settings)
    assert caught.value.code == "insecure_url"
    assert "allow_insecure_loopback" in caught.value.next_step


def stalling_app(delay: float) -> Starlette:
    async def slow(request: Request) -> Response:
        await anyio.sleep(delay)
        return JSONResponse({})

    async def endless(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b" " * 4096

        return StreamingResponse(chunks(), media_type="application/json")

    return Starlette(
        routes=[
            Route("/.well-known/oauth-protected-resource/slow", slow),
            Route("/.well-known/oauth-protected-resource/big", endless),
        ]
    )


@pytest.fixture
def stalling_server() -> Iterator[str]:
    server = ThreadedServer(name="stalling")
    url = server.start(stalling_app(3.0))
    try:
        yield url
    finally:
        server.stop()


async def test_slow_server_times_out(settings: Settings, stalling_server: str) -> None:
    quick = settings.model_copy(update={"http_timeout": 0.3})
    with pytest.raises(TimeoutError) as caught:
        await discover(f"{stalling_server}/slow", settings=quick)
    assert caught.value.code == "timeout"
    assert "0.3 s" in caught.value.message


async def test_streamed_body_size_limit(settings: Settings, stalling_server: str) -> None:
    with pytest.raises(DiscoveryError) as caught:
        await discover(f"{stalling_server}/big", settings=settings)
    assert caught.value.code == "document_too_large"
    assert "65536-byte limit" in caught.value.message
