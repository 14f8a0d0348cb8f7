"""Shared fixtures. The pytest configuration blocks every connection that is not to loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from insforge_tools.credentials import CredentialStore


@pytest.fixture
def store(tmp_path: Path) -> CredentialStore:
    return CredentialStore(tmp_path / "credentials.json")
