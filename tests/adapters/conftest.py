"""Fixtures for the LangChain and LlamaIndex adapter tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from insforge_tools.context import Context
from insforge_tools.credentials import CredentialStore
from insforge_tools.settings import Settings

@pytest.fixture
def context(tmp_path: Path) -> Context:
    settings = Settings(workspace_dir=tmp_path, credentials_path=tmp_path / "credentials.json")
    return Context(settings=settings, store=CredentialStore(tmp_path / "credentials.json"))
