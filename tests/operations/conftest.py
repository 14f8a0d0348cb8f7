"""Fixtures for the operation tests: a scripted CLI, a scripted backend and a context."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from ops_helpers import API_KEY, BACKEND, ScriptedBackend, ScriptedCli

from insforge_tools.approvals import AutoApprover
from insforge_tools.context import Context
from insforge_tools.credentials import CredentialStore
from insforge_tools.links import self_hosted_link, write_project_link
from insforge_tools.secrets import Secret
from insforge_tools.settings import Settings
from insforge_tools.transports.http import HttpTransport


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def cli() -> ScriptedCli:
    return ScriptedCli()


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def make_context(
    tmp_path: Path, workspace: Path, cli: ScriptedCli, backend: ScriptedBackend
) -> Callable[..., Context]:
    def make(*, transport: str = "auto", approver: Any = None, **settings: Any) -> Context:
        options: dict[str, Any] = {
            "workspace_dir": workspace,
            "cli_home": tmp_path / "home",
            "credentials_path": tmp_path / "credentials.json",
            "http_timeout": 5,
        }
        options.update(settings)
        ctx = Context(
            settings=Settings(**options),
            store=CredentialStore(tmp_path / "credentials.json"),
            approver=approver or AutoApprover(),
        )
        ctx.state["transport"] = transport
        ctx._cli = cli  # type: ignore[assignment]
        ctx.state["_http_transport"] = HttpTransport(ctx.settings, transport=httpx.MockTransport(backend))
        return ctx

    return make


@pytest.fixture
def linked(workspace: Path) -> Path:
    """Link the workspace to the scripted backend, as the CLI's link would."""
    return write_project_link(workspace, self_hosted_link(BACKEND, Secret(API_KEY)))
