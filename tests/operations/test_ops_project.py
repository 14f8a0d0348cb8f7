"""insforge_current, insforge_link and the account operations, with the key kept out of every result."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from ops_helpers import API_KEY, BACKEND, ScriptedBackend, ScriptedCli

from insforge_tools.context import Context
from insforge_tools.credentials import CredentialRecord
from insforge_tools.errors import AuthError, ConfigurationError
from insforge_tools.links import SELF_HOSTED_PROJECT_ID, project_link_path, read_project_link
from insforge_tools.registry import get_operation, invoke, render_result, to_json_text
from insforge_tools.secrets import Secret

LEAKY_CURRENT = {
    "authenticated": True,
    "project": {
        "project_id": "proj-123",
        "api_key": "ik_SECRETVALUE",
        "oss_host": "https://demo.insforge.example",
    },
}


async def test_current_cli_hides_key(make_context: Callable[..., Context], cli: ScriptedCli) -> None:
    # An older CLI printed the project's api_key in current --json.
    cli.answer(LEAKY_CURRENT)
    result = await invoke(make_context(transport="cli"), "insforge_current")
    text = render_result(get_operation("insforge_current"), result, 6000)
    assert "ik_SECRETVALUE" not in text
    assert "ik_SECRETVALUE" not in to_json_text(result)
    assert "ik_SECRETVALUE" not in repr(result)
    assert result.project is not None
    assert result.project.project_id == "proj-123"
    assert result.project.oss_host == "https://demo.insforge.example"


async def test_current_from_files(make_context: Callable[..., Context], linked: Path, tmp_path: Path) -> None:
    home = tmp_path / "home" / ".insforge"
    home.mkdir(parents=True)
    (home / "credentials.json").write_text(
        json.dumps({"user_api_key": "uak_abcdef123456", "user": {"id": "u1", "email": "a@example.com"}}),
        encoding="utf-8",
    )
    result = await invoke(make_context(), "insforge_current")
    text = render_result(get_operation("insforge_current"), result, 6000)
    assert result.authenticated
    assert result.transport == "http"
    assert result.project is not None
    assert result.project.self_hosted
    assert API_KEY not in to_json_text(result)
    assert "uak_abcdef123456" not in to_json_text(result)
    assert "a@example.com" in text
    assert BACKEND in text


async def test_current_unlinked(make_context: Callable[..., Context]) -> None:
    result = await invoke(make_context(), "insforge_current")
    assert result.project is None
    assert not result.authenticated
    assert "No project is linked" in render_result(get_operation("insforge_current"), result, 6000)


async def test_link_self_hosted_file(
    make_context: Callable[..., Context], workspace: Path, backend: ScriptedBackend, cli: ScriptedCli
) -> None:
    backend.on("GET", "/api/metadata", body={"database": {"tables": [{"tableName": "t", "recordCount": 1}]}})
    ctx = make_context(project_api_key=API_KEY)
    result = await invoke(ctx, "insforge_link", {"api_base_url": BACKEND + "/"})

    assert result.validated
    assert result.table_count == 1
    assert result.transport == "file"
    assert cli.calls == []
    link = read_project_link(workspace)
    assert link is not None
    assert link.project_id == SELF_HOSTED_PROJECT_ID
    assert link.oss_host == BACKEND
    assert stat.S_IMODE(project_link_path(workspace).stat().st_mode) == 0o600
    assert API_KEY not in to_json_text(result)
    assert API_KEY not in render_result(get_operation("insforge_link"), result, 6000)


async def test_link_key_from_store(
    make_context: Callable[..., Context], workspace: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/metadata", body={})
    ctx = make_context()
    ctx.credentials.put(Secret(API_KEY), CredentialRecord(kind="project_api_key", scope=BACKEND))
    result = await invoke(ctx, "insforge_link", {"api_base_url": BACKEND})
    assert result.validated
    assert backend.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"


async def test_link_without_key(make_context: Callable[..., Context], workspace: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        await invoke(make_context(), "insforge_link", {"api_base_url": BACKEND})
    assert "project_api_key" in caught.value.next_step
    assert read_project_link(workspace) is None


async def test_link_wrong_key_undone(
    make_context: Callable[..., Context], workspace: Path, backend: ScriptedBackend
) -> None:
    body = {"error": "AUTH_INVALID_API_KEY", "message": "Invalid API key", "statusCode": 401}
    backend.on("GET", "/api/metadata", status=401, body=body)
    with pytest.raises(AuthError) as caught:
        await invoke(
            make_context(project_api_key="ik_" + "0" * 32), "insforge_link", {"api_base_url": BACKEND}
        )
    assert "undone" in caught.value.message
    assert not project_link_path(workspace).exists()


async def test_link_backend_down_kept(
    make_context: Callable[..., Context], workspace: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/metadata", status=503, body={"error": "INTERNAL_ERROR", "message": "starting"})
    ctx = make_context(project_api_key=API_KEY)
    ctx.state["_http_transport"].max_retries = 0
    result = await invoke(ctx, "insforge_link", {"api_base_url": BACKEND})
    assert not result.validated
    assert "starting" in (result.validation_error or "")
    assert project_link_path(workspace).exists()


async def test_link_through_cli(
    make_context: Callable[..., Context], workspace: Path, cli: ScriptedCli, backend: ScriptedBackend
) -> None:
    async def fake_link(args: list[object], **options: object) -> object:
        from insforge_tools.links import self_hosted_link, write_project_link

        write_project_link(workspace, self_hosted_link(str(args[2]), args[4]))  # type: ignore[arg-type]
        return {"success": True}

    cli.answer({"success": True, "project": {"id": SELF_HOSTED_PROJECT_ID}}, {"database": {"tables": []}})
    original = cli.run_json

    async def run_json(args: list[object], **options: object) -> object:
        if args[0] == "link":
            await fake_link(args, **options)
        return await original(args, **options)  # type: ignore[arg-type]

    cli.run_json = run_json  # type: ignore[method-assign]
    ctx = make_context(transport="cli", project_api_key=API_KEY)
    result = await invoke(ctx, "insforge_link", {"api_base_url": BACKEND})
    assert result.transport == "cli"
    assert result.validated
    argv = cli.calls[0]["args"]
    assert argv[:4] == ["link", "--api-base-url", BACKEND, "--api-key"]
    assert isinstance(argv[4], Secret)
    assert cli.calls[1]["args"] == ["metadata"]


def test_link_args_forms() -> None:
    args_model = get_operation("insforge_link").args_model
    with pytest.raises(ValueError):
        args_model.model_validate({})
    with pytest.raises(ValueError):
        args_model.model_validate({"api_base_url": BACKEND, "project_id": "p1"})
    assert args_model.model_validate({"project_id": "p1", "org_id": "o1"})


async def test_link_cloud(make_context: Callable[..., Context], workspace: Path, cli: ScriptedCli) -> None:
    async def run_json(args: list[object], **options: object) -> object:
        cli.calls.append({"args": list(args), **options})
        if args[0] == "link":
            project_link_path(workspace).parent.mkdir(exist_ok=True)
            project_link_path(workspace).write_text(
                json.dumps(
                    {"project_id": "p1", "project_name": "shop", "appkey": "ab12", "region": "us-east"}
                ),
                encoding="utf-8",
            )
            return {"success": True}
        return {"database": {"tables": []}}

    cli.run_json = run_json  # type: ignore[method-assign]
    result = await invoke(make_context(), "insforge_link", {"project_id": "p1", "org_id": "o1"})
    assert cli.calls[0]["args"] == ["link", "--project-id", "p1", "--org-id", "o1"]
    assert cli.calls[0]["requires_login"] is True
    assert result.project.oss_host == ""
    assert result.project.project_name == "shop"


async def test_login_uses_stored_key(make_context: Callable[..., Context], cli: ScriptedCli) -> None:
    ctx = make_context()
    key = "uak_" + "d" * 32
    ctx.credentials.put(Secret(key), CredentialRecord(kind="user_api_key", scope="https://platform.invalid"))
    cli.answer({"success": True, "user": {"id": "u1", "name": "Test User", "email": "test@example.com"}})

    result = await invoke(ctx, "insforge_login")
    argv = cli.calls[0]["args"]
    assert argv[:2] == ["login", "--user-api-key"]
    assert isinstance(argv[2], Secret)
    assert argv[2].reveal() == key
    text = render_result(get_operation("insforge_login"), result, 6000)
    assert key not in text
    assert key not in to_json_text(result)
    assert "Test User <test@example.com>" in text
    assert result.scope == "https://platform.invalid"


async def test_login_without_key(make_context: Callable[..., Context], cli: ScriptedCli) -> None:
    with pytest.raises(AuthError) as caught:
        await invoke(make_context(), "insforge_login")
    assert "insforge_register" in caught.value.next_step
    assert cli.calls == []


async def test_login_unknown_scope(make_context: Callable[..., Context]) -> None:
    ctx = make_context()
    ctx.credentials.put(
        Secret("uak_" + "e" * 32), CredentialRecord(kind="user_api_key", scope="https://a.invalid")
    )
    with pytest.raises(AuthError):
        await invoke(ctx, "insforge_login", {"resource_url": "https://b.invalid"})


def test_login_args_take_no_key() -> None:
    fields = get_operation("insforge_login").args_model.model_fields
    assert set(fields) == {"resource_url"}
    assert all(info.description for info in fields.values())


async def test_whoami_and_logout(make_context: Callable[..., Context], cli: ScriptedCli) -> None:
    cli.answer(
        {"id": "u1", "name": "Test User", "email": "t@example.com"},
        {"success": True, "message": "Logged out"},
    )
    ctx = make_context()
    who = await invoke(ctx, "insforge_whoami")
    assert who.user.email == "t@example.com"
    assert cli.calls[0]["requires_login"] is True
    out = await invoke(ctx, "insforge_logout")
    assert out.success
    assert cli.calls[1]["args"] == ["logout"]
