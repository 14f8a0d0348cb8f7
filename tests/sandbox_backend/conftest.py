"""Fixtures: one embedded PostgreSQL and one backend stand-in per test module, reached over loopback."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from insforge_tools.sandbox._server import ThreadedServer
from insforge_tools.sandbox.backend import create_backend_app
from insforge_tools.sandbox.postgres import EmbeddedPostgres

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_DIR = REPOSITORY_ROOT.parent / "shared" / "reference"


@dataclass
class RunningBackend:
    url: str
    api_key: str
    anon_key: str
    storage_dir: Path
    postgres: EmbeddedPostgres

    def client(self, *, key: str | None = "admin", **kwargs: object) -> httpx.Client:
        headers = {}
        if key == "admin":
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif key == "anon":
            headers["Authorization"] = f"Bearer {self.anon_key}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def backend(postgres: EmbeddedPostgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBackend]:
    api_key = "ik_" + secrets.token_hex(16)
    anon_key = "anon_" + secrets.token_hex(16)
    storage_dir = tmp_path_factory.mktemp("storage")
    app = create_backend_app(dsn=postgres.dsn, api_key=api_key, storage_dir=storage_dir, anon_key=anon_key)
    server = ThreadedServer(name="backend")
    url = server.start(app)
    try:
        yield RunningBackend(url, api_key, anon_key, storage_dir, postgres)
    finally:
        server.stop()


@pytest.fixture
def admin(backend: RunningBackend) -> Iterator[httpx.Client]:
    with backend.client() as client:
        yield client


@pytest.fixture
def anonymous(backend: RunningBackend) -> Iterator[httpx.Client]:
    with backend.client(key=None) as client:
        yield client
