"""Transport selection of the project call layer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from ops_helpers import API_KEY, ScriptedBackend, ScriptedCli

from insforge_tools.context import Context
from insforge_tools.errors import ConfigurationError, NotLinkedError
from insforge_tools.links import ProjectLink, project_link_path, write_project_link
from insforge_tools.secrets import Secret
from insforge_tools.transports.project import HttpCall, call_project

METADATA = HttpCall("GET", "/api/metadata")


async def test_auto_uses_http(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/metadata", body={"version": "1"})
    body = await call_project(make_context(), cli=["metadata"], http=METADATA)
    assert body == {"version": "1"}
    assert cli.calls == []
    assert backend.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"


async def test_cli_mode_uses_cli(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli, backend: ScriptedBackend
) -> None:
    cli.answer({"version": "1"})
    body = await call_project(make_context(transport="cli"), cli=["metadata"], http=METADATA)
    assert body == {"version": "1"}
    assert cli.calls[0]["args"] == ["metadata"]
    assert cli.calls[0]["requires_link"] is True
    assert backend.requests == []


async def test_auto_without_key_uses_cli(
    make_context: Callable[..., Context], workspace: Path, cli: ScriptedCli
) -> None:
    write_project_link(workspace, ProjectLink(project_id="p1", oss_host="https://p1.us-east.insforge.app"))
    cli.answer([])
    await call_project(make_context(), cli=["db", "tables"], http=HttpCall("GET", "/api/database/tables"))
    assert cli.calls[0]["args"] == ["db", "tables"]


async def test_not_linked(make_context: Callable[..., Context], cli: ScriptedCli) -> None:
    with pytest.raises(NotLinkedError):
        await call_project(make_context(), cli=["metadata"], http=METADATA)
    assert cli.calls == []


async def test_http_mode_without_key(make_context: Callable[..., Context], workspace: Path) -> None:
    write_project_link(workspace, ProjectLink(project_id="p1", oss_host="https://p1.us-east.insforge.app"))
    with pytest.raises(NotLinkedError):
        await call_project(make_context(transport="http"), cli=["metadata"], http=METADATA)


async def test_cli_mode_http_only_call(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli, backend: ScriptedBackend
) -> None:
    # A request the CLI cannot make goes over HTTP even when the CLI is preferred.
    backend.on("POST", "/api/database/advance/rawsql", body={"rows": []})
    await call_project(
        make_context(transport="cli"),
        cli=None,
        http=HttpCall("POST", "/api/database/advance/rawsql", json={}),
    )
    assert cli.calls == []
    assert len(backend.requests) == 1


async def test_destructive_adds_yes(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli
) -> None:
    cli.answer([])
    await call_project(
        make_context(transport="cli"),
        cli=["records", "delete", "todos", "--filter", "id=eq.1"],
        http=None,
        destructive=True,
    )
    assert cli.calls[0]["args"][-1] == "-y"


async def test_plain_http_remote_rejected(
    make_context: Callable[..., Context], workspace: Path, backend: ScriptedBackend
) -> None:
    link = ProjectLink(project_id="p1", oss_host="http://insforge.example.com", api_key=Secret(API_KEY))
    write_project_link(workspace, link)
    with pytest.raises(ConfigurationError):
        await call_project(make_context(), cli=["metadata"], http=METADATA)
    assert backend.requests == []


async def test_legacy_link_repaired(
    make_context: Callable[..., Context], workspace: Path, backend: ScriptedBackend
) -> None:
    path = project_link_path(workspace)
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {
                "project_id": "oss-project",
                "org_id": "oss-org",
                "oss_host": "localhost:7130",
                "api_key": API_KEY,
            }
        ),
        encoding="utf-8",
    )
    backend.on("GET", "/api/metadata", body={})
    await call_project(make_context(allow_insecure_loopback=True), cli=["metadata"], http=METADATA)
    assert str(backend.requests[0].url) == "http://localhost:7130/api/metadata"


def test_unknown_transport(make_context: Callable[..., Context]) -> None:
    from insforge_tools.transports.project import transport_mode

    with pytest.raises(ConfigurationError):
        transport_mode(make_context(transport="carrier-pigeon"))
