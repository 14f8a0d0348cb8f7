"""Fixtures: a test identity provider and the platform stand-in on loopback servers."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from insforge_tools.sandbox._server import ThreadedServer
from insforge_tools.sandbox.platform import ID_JAG, PlatformConfig, PlatformState, create_platform_app
from insforge_tools.sandbox.provider import TestIdentityProvider


class FakeClock:
    """A clock the test moves by hand; starts at the real time so provider tokens line up."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Stack:
    """A running provider and platform, and an HTTP client for the platform."""

    provider: TestIdentityProvider
    config: PlatformConfig
    state: PlatformState
    client: httpx.Client
    clock: FakeClock
    servers: list[ThreadedServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.config.base_url

    @property
    def audience(self) -> str:
        return self.config.expected_audience

    def mint(self, **kwargs: Any) -> str:
        kwargs.setdefault("audience", self.audience)
        return self.provider.mint(**kwargs)

    def register(self, assertion: str, credential_type: str = "api_key") -> httpx.Response:
        body = {
            "type": "identity_assertion",
            "assertion_type": ID_JAG,
            "assertion": assertion,
            "requested_credential_type": credential_type,
        }
        return self.client.post("/agent/auth", json=body)

    def use(self, credential: str) -> httpx.Response:
        return self.client.get("/api/resource", headers={"Authorization": f"Bearer {credential}"})


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """Serialise a JWS with an arbitrary signature (for alg none and algorithm-confusion tokens)."""
    head = b64url(json.dumps(header).encode())
    body = b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url(signature)}"


def decode_part(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def start_stack(clock: FakeClock, tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """Start a provider, then a platform that trusts it; keyword arguments go to PlatformConfig."""
    started: list[Stack] = []

    def start(**overrides: Any) -> Stack:
        provider = TestIdentityProvider(clock=clock)
        provider_server = ThreadedServer(name="identity-provider")
        provider.bind(provider_server)
        provider_server.start(provider.create_app())

        platform_server = ThreadedServer(name="platform")
        values: dict[str, Any] = {
            "base_url": platform_server.bind(),
            "trusted_issuers": [provider.issuer],
            "mail_dir": tmp_path / f"mail-{len(started)}",
            "clock": clock,
        }
        values.update(overrides)
        config = PlatformConfig(**values)
        app = create_platform_app(config)
        platform_server.start(app)

        client = httpx.Client(base_url=config.base_url, timeout=10.0)
        stack = Stack(provider, config, app.state.platform, client, clock, [platform_server, provider_server])
        started.append(stack)
        return stack

    yield start

    for stack in started:
        stack.client.close()
        for server in stack.servers:
            server.stop()


@pytest.fixture
def stack(start_stack: Callable[..., Stack]) -> Stack:
    """The default stack: InsForge audience policy (aud = PRM resource) and error style."""
    return start_stack()


class JwsTools:
    """Helpers for hand-built tokens, offered as a fixture so test modules need no imports from here."""

    compact = staticmethod(compact)
    decode_part = staticmethod(decode_part)
    b64url = staticmethod(b64url)


@pytest.fixture
def jws() -> JwsTools:
    return JwsTools()
