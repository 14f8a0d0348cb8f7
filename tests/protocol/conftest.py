"""Fixtures for the agent registration protocol tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from protocol_fakes import LoopbackState, SigningKey, loopback_app, new_signing_key

from insforge_tools.sandbox._server import ThreadedServer
from insforge_tools.settings import Settings


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return new_signing_key()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        allow_insecure_loopback=True,
        credentials_path=tmp_path / "credentials.json",
        workspace_dir=tmp_path,
        http_timeout=10.0,
    )


@pytest.fixture
def strict_settings(tmp_path: Path) -> Settings:
    return Settings(credentials_path=tmp_path / "credentials.json", workspace_dir=tmp_path, http_timeout=10.0)


@pytest.fixture
def loopback_service(signing_key: SigningKey) -> Iterator[LoopbackState]:
    """The reference-style service on a free loopback port; its ID-JAG audience is its base URL."""
    server = ThreadedServer(name="protocol-service")
    base = server.bind()
    state = LoopbackState(base=base, jwks=signing_key.jwks, audience=base)
    server.start(loopback_app(state))
    try:
        yield state
    finally:
        server.stop()
