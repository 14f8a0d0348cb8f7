"""CliRunner against fake CLIs: process handling, parsing and error mapping."""

# ruff: noqa: ASYNC240 - the tests read small files the fake CLIs write

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path

import anyio
import pytest
from cli_fakes import FakeCli, is_alive, wait_gone

from insforge_tools import errors
from insforge_tools.secrets import Secret
from insforge_tools.settings import Settings
from insforge_tools.transports import cli as cli_module
from insforge_tools.transports.cli import MAX_OUTPUT_BYTES, CliRunner

SPAWN_GRANDCHILD = """
import os, subprocess, sys, time
pid_file = {pid_file!r}
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
with open(pid_file, "w") as f:
    f.write(f"{{os.getpid()}}\\n{{child.pid}}\\n")
time.sleep(300)
"""


async def wait_for_pids(path: Path, count: int) -> list[int]:
    with anyio.fail_after(20):
        while True:
            if path.exists():
                lines = [line for line in path.read_text().splitlines() if line.strip()]
                if len(lines) >= count:
                    return [int(line) for line in lines[:count]]
            await anyio.sleep(0.02)


# -- process handling -----------------------------------------------------------------


async def test_run_nonzero_exit_returns_result(fake_cli: FakeCli) -> None:
    runner = fake_cli("import sys; print('out'); print('err', file=sys.stderr); sys.exit(4)")
    result = await runner.run(["whatever"])
    assert result.exit_code == 4
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert result.duration > 0


async def test_run_environment_and_stdin(fake_cli: FakeCli, workspace: Path, cli_home: Path) -> None:
    source = """
    import json, os, sys
    keys = ["NO_COLOR", "FORCE_COLOR", "TERM", "CI", "npm_config_yes", "BROWSER", "HOME",
            "INSFORGE_API_URL", "EXTRA"]
    print(json.dumps({
        "env": {k: os.environ.get(k) for k in keys},
        "stdin": sys.stdin.read(),
        "cwd": os.getcwd(),
        "session_leader": os.getsid(0) == os.getpid(),
    }))
    """
    runner = fake_cli(source, platform_url="http://127.0.0.1:9")
    runner = CliRunner(runner.settings, env={"EXTRA": "yes"})
    data = await runner.run_json(["current"])
    env = data["env"]
    assert env["NO_COLOR"] == "1"
    assert env["FORCE_COLOR"] == "0"
    assert env["TERM"] == "dumb"
    assert env["CI"] == "1"
    assert env["npm_config_yes"] == "true"
    assert env["BROWSER"].endswith("true")
    assert env["HOME"] == str(cli_home)
    assert env["INSFORGE_API_URL"] == "http://127.0.0.1:9"
    assert env["EXTRA"] == "yes"
    assert data["stdin"] == ""
    assert Path(data["cwd"]).resolve() == workspace.resolve()
    assert data["session_leader"] is True


async def test_run_json_appends_json_once(fake_cli: FakeCli) -> None:
    runner = fake_cli("import json, sys; print(json.dumps(sys.argv[1:]))")
    assert await runner.run_json(["db", "tables"]) == ["db", "tables", "--json"]
    assert await runner.run_json(["--json", "db", "tables"]) == ["--json", "db", "tables"]


async def test_secret_argument_masked(fake_cli: FakeCli, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="insforge_tools")
    key = "ik_" + "a1b2c3d4" * 4
    runner = fake_cli("import json, sys; print(json.dumps(sys.argv[1:]))")
    result = await runner.run(["link", "--api-key", Secret(key)])
    assert key in result.stdout
    assert key not in " ".join(result.argv)
    assert key not in caplog.text


async def test_timeout_stops_process(fake_cli: FakeCli, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    runner = fake_cli(SPAWN_GRANDCHILD.format(pid_file=str(pid_file)), timeout=1.0)
    with pytest.raises(errors.TimeoutError) as caught:
        await runner.run(["metadata"])
    assert "did not finish within 1 s" in caught.value.message
    assert caught.value.retryable is True
    parent, grandchild = [int(line) for line in pid_file.read_text().split()]
    assert wait_gone(parent)
    assert wait_gone(grandchild)


async def test_timeout_ignoring_sigterm(fake_cli: FakeCli, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    source = f"""
    import os, signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    open({str(pid_file)!r}, "w").write(f"{{os.getpid()}}\\n")
    time.sleep(300)
    """
    runner = fake_cli(source, timeout=0.5)
    with pytest.raises(errors.TimeoutError):
        await runner.run(["metadata"])
    (pid,) = [int(line) for line in pid_file.read_text().split()]
    assert wait_gone(pid)


async def test_cancel_wait_for_kills_tree(fake_cli: FakeCli, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    runner = fake_cli(SPAWN_GRANDCHILD.format(pid_file=str(pid_file)), timeout=60)
    task = asyncio.create_task(runner.run(["db", "query", "select pg_sleep(120)"]))
    parent, grandchild = await wait_for_pids(pid_file, 2)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(task, 0.2)
    assert task.cancelled()
    assert wait_gone(parent)
    assert wait_gone(grandchild)


async def test_cancel_scope_kills_tree(fake_cli: FakeCli, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    runner = fake_cli(SPAWN_GRANDCHILD.format(pid_file=str(pid_file)), timeout=60)
    pids: list[int] = []
    with anyio.move_on_after(30) as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(runner.run, ["metadata"])
            pids = await wait_for_pids(pid_file, 2)
            group.cancel_scope.cancel()
    assert not scope.cancelled_caught
    assert all(wait_gone(pid) for pid in pids)


async def test_grandchild_holding_pipes(fake_cli: FakeCli, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    source = f"""
    import json, os, subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    open({str(pid_file)!r}, "w").write(f"{{child.pid}}\\n")
    print(json.dumps({{"ok": True}}), flush=True)
    os._exit(0)
    """
    runner = fake_cli(source, timeout=60)
    assert await runner.run_json(["db", "tables"]) == {"ok": True}
    (grandchild,) = [int(line) for line in pid_file.read_text().split()]
    assert wait_gone(grandchild)


async def test_large_outputs_both_pipes(fake_cli: FakeCli) -> None:
    source = """
    import json, sys
    sys.stderr.write("w" * (1024 * 1024))
    sys.stderr.flush()
    sys.stdout.write(json.dumps({"rows": ["x" * 300 * 1024]}) + "\\n")
    """
    runner = fake_cli(source)
    data = await runner.run_json(["db", "query", "select"])
    assert len(data["rows"][0]) == 300 * 1024


async def test_large_error_line(fake_cli: FakeCli) -> None:
    source = """
    import json, sys
    sys.stderr.write(json.dumps({"error": "e" * 100 * 1024, "code": "INTERNAL_ERROR"}) + "\\n")
    sys.exit(1)
    """
    runner = fake_cli(source)
    with pytest.raises(errors.ServerError) as caught:
        await runner.run_json(["metadata"])
    assert caught.value.code == "INTERNAL_ERROR"


async def test_output_over_cap(fake_cli: FakeCli) -> None:
    source = f"""
    import sys
    chunk = "y" * (1024 * 1024)
    for _ in range({MAX_OUTPUT_BYTES // (1024 * 1024) + 2}):
        sys.stdout.write(chunk)
    sys.stdout.flush()
    """
    runner = fake_cli(source)
    with pytest.raises(errors.CliOutputError) as caught:
        await runner.run(["db", "query", "select"])
    assert "16 MiB" in caught.value.message


async def test_missing_executable(workspace: Path) -> None:
    runner = CliRunner(Settings(cli_command=("insforge-cli-that-does-not-exist",), workspace_dir=workspace))
    with pytest.raises(errors.CliNotFoundError) as caught:
        await runner.run(["--version"])
    assert "insforge-cli-that-does-not-exist" in caught.value.message


async def test_concurrent_first_runs_resolve_once(fake_cli: FakeCli, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = fake_cli("print('{}')")
    calls: list[str] = []
    real_which = cli_module.shutil.which

    def counting_which(name: str, *args: object, **kwargs: object) -> str | None:
        if name == sys.executable:
            calls.append(name)
        return real_which(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli_module.shutil, "which", counting_which)
    results = await asyncio.gather(*(runner.run_json(["current"]) for _ in range(8)))
    assert results == [{}] * 8
    assert calls == [sys.executable]


async def test_insforge_cli_override(
    tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "override.py"
    script.write_text("import json, sys; print(json.dumps({'override': sys.argv[1:]}))")
    monkeypatch.setenv("INSFORGE_CLI", f"{sys.executable} {script}")
    runner = CliRunner(Settings(workspace_dir=workspace))
    assert await runner.run_json(["current"]) == {"override": ["current", "--json"]}


async def test_version_and_doctor(fake_cli: FakeCli) -> None:
    runner = fake_cli("print('0.2.8')")
    assert await runner.version() == "0.2.8"
    report = await runner.doctor()
    assert report["cli_version"] == "0.2.8"
    assert report["command"]["resolved"][0] == sys.executable
    assert set(report) >= {"node", "npx", "login_state", "workspace_dir"}


# -- stdout parsing ---------------------------------------------------------------------


async def test_non_json_stdout(fake_cli: FakeCli) -> None:
    runner = fake_cli("print('✓ Linked project demo'); print('more text')")
    with pytest.raises(errors.CliOutputError) as caught:
        await runner.run_json(["link"])
    assert "✓ Linked project demo" in caught.value.message


async def test_empty_stdout(fake_cli: FakeCli) -> None:
    runner = fake_cli("pass")
    with pytest.raises(errors.CliOutputError) as caught:
        await runner.run_json(["metadata"])
    assert "printed nothing" in caught.value.message


async def test_url_line_before_json(fake_cli: FakeCli) -> None:
    source = """
    import json
    print("Open this URL to authorize: https://demo.insforge.example/auth?x=1")
    print(json.dumps({"success": True}))
    """
    runner = fake_cli(source)
    with pytest.raises(errors.InteractionRequiredError) as caught:
        await runner.run_json(["deployments", "deploy"])
    assert "https://demo.insforge.example/auth?x=1" in caught.value.message
    assert caught.value.details["url"] == "https://demo.insforge.example/auth?x=1"


async def test_silent_hang_times_out(fake_cli: FakeCli) -> None:
    runner = fake_cli("import time; time.sleep(900)", timeout=0.5)
    with pytest.raises(errors.TimeoutError):
        await runner.run_json(["deployments", "deploy"])


async def test_login_notice_then_wait(fake_cli: FakeCli) -> None:
    source = """
    import sys, time
    print("│\\n●  You need to log in to continue.", flush=True)
    print("To sign in, open this URL in your browser:\\n\\n  http://127.0.0.1:9/api/oauth/v1/authorize?x=1",
          file=sys.stderr, flush=True)
    time.sleep(300)
    """
    runner = fake_cli(source, timeout=1.0)
    with pytest.raises(errors.InteractionRequiredError) as caught:
        await runner.run_json(["metadata"])
    assert caught.value.code == "LOGIN_REQUIRED"
    assert "insforge_login" in caught.value.next_step


async def test_ansi_codes_stripped(fake_cli: FakeCli) -> None:
    source = r"""
    import sys
    print("\x1b[32m{\"ok\": true}\x1b[0m")
    """
    runner = fake_cli(source)
    assert await runner.run_json(["current"]) == {"ok": True}

    failing = fake_cli(
        r"""
    import sys
    sys.stderr.write("\x1b[31merror: unknown option '--bogus'\x1b[0m\n")
    sys.exit(1)
    """
    )
    with pytest.raises(errors.CliUsageError) as caught:
        await failing.run_json(["db", "query", "--bogus"])
    assert "\x1b" not in caught.value.message
    assert "unknown option '--bogus'" in caught.value.message


async def test_npx_install_prompt(fake_cli: FakeCli) -> None:
    source = """
    import sys
    sys.stderr.write("Need to install the following packages:\\n  @insforge/cli@0.2.8\\nOk to proceed? (y) ")
    sys.stderr.flush()
    sys.stdin.read()
    sys.exit(1)
    """
    runner = fake_cli(source)
    with pytest.raises(errors.CliError) as caught:
        await runner.run_json(["metadata"])
    assert caught.value.code == "NPX_INSTALL_PROMPT"
    assert "INSFORGE_CLI" in caught.value.next_step

    waiting = fake_cli(
        """
    import sys, time
    sys.stderr.write("Need to install the following packages:\\n  @insforge/cli@0.2.8\\nOk to proceed? (y) ")
    sys.stderr.flush()
    time.sleep(300)
    """,
        timeout=1.0,
    )
    with pytest.raises(errors.CliError) as caught_waiting:
        await waiting.run_json(["metadata"])
    assert caught_waiting.value.code == "NPX_INSTALL_PROMPT"


async def test_select_prompt_on_stdin(fake_cli: FakeCli) -> None:
    source = """
    import sys
    print("Select an organization:\\n 1) org-a\\n 2) org-b", flush=True)
    answer = sys.stdin.readline()
    sys.exit(0 if not answer else 2)
    """
    runner = fake_cli(source, timeout=10)
    with pytest.raises(errors.InteractionRequiredError) as caught:
        await runner.run_json(["link"])
    assert "--org-id" in caught.value.message


async def test_select_prompt_then_hang(fake_cli: FakeCli) -> None:
    source = """
    import time
    print("Select an organization:\\n 1) org-a\\n 2) org-b", flush=True)
    time.sleep(300)
    """
    runner = fake_cli(source, timeout=1.0)
    with pytest.raises(errors.InteractionRequiredError) as caught:
        await runner.run_json(["link"])
    assert "--org-id" in caught.value.next_step


async def test_confirm_prompt_cancelled(fake_cli: FakeCli) -> None:
    source = """
    print('? Delete bucket "b1" and all its objects? This cannot be undone. [y/n] ', end="", flush=True)
    """
    runner = fake_cli(source)
    with pytest.raises(errors.InteractionRequiredError) as caught:
        await runner.run_json(["storage", "delete-bucket", "b1"])
    assert "Delete bucket" in caught.value.message
    assert "-y" in caught.value.next_step


async def test_current_api_key_not_leaked(fake_cli: FakeCli, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    document = {
        "authenticated": True,
        "project": {
            "project_id": "proj-123",
            "api_key": "ik_SECRETVALUE",
            "oss_host": "https://demo.insforge.example",
        },
    }
    runner = fake_cli(f"print({json.dumps(json.dumps(document))})")
    data = await runner.run_json(["current"])
    assert data["project"]["api_key"] == "ik_SECRETVALUE"
    assert "ik_SECRETVALUE" not in caplog.text

    garbled = fake_cli(f"print('note: ' + {json.dumps(json.dumps(document))})")
    with pytest.raises(errors.CliOutputError) as caught:
        await garbled.run_json(["current"])
    assert "ik_SECRETVALUE" not in str(caught.value)
    assert "ik_SECRETVALUE" not in caplog.text

    failing = fake_cli(
        """
    import json, sys
    print(json.dumps({"error": "Key ik_SECRETVALUE was rejected", "code": "UNAUTHORIZED"}), file=sys.stderr)
    sys.exit(1)
    """
    )
    with pytest.raises(errors.AuthError) as caught_auth:
        await failing.run_json(["metadata"])
    assert "ik_SECRETVALUE" not in str(caught_auth.value)
    assert "ik_SECRETVALUE" not in json.dumps(caught_auth.value.to_dict())
    assert "ik_SECRETVALUE" not in caplog.text


# -- exit codes and stderr JSON -----------------------------------------------------------


def failing_cli(fake_cli: FakeCli, exit_code: int, stderr: str, stdout: str = "") -> object:
    source = f"""
    import sys
    sys.stdout.write({stdout!r})
    sys.stderr.write({stderr!r})
    sys.exit({exit_code})
    """
    return fake_cli(source)


async def test_exit_1_json_error(fake_cli: FakeCli) -> None:
    stderr = json.dumps(
        {
            "error": 'relation "no_such_table" does not exist\nThe resource you are trying to access '
            "does not exist. Please check the table with get metadata tool and try again.",
            "code": "DATABASE_VALIDATION_ERROR",
        },
        separators=(",", ":"),
    )
    runner = failing_cli(fake_cli, 1, "some warning\n" + stderr + "\n")
    with pytest.raises(errors.InvalidInputError) as caught:
        await runner.run_json(["db", "query", "select * from no_such_table"])  # type: ignore[attr-defined]
    assert caught.value.code == "DATABASE_VALIDATION_ERROR"
    assert caught.value.exit_code == 1
    assert 'relation "no_such_table" does not exist\nThe resource' in caught.value.message
    assert "select * from" not in caught.value.message


async def test_exit_3_not_linked(fake_cli: FakeCli) -> None:
    stderr = (
        '{"error":"No project linked. Run `npx @insforge/cli link` first.","code":"PROJECT_NOT_LINKED"}\n'
    )
    runner = failing_cli(fake_cli, 3, stderr)
    with pytest.raises(errors.NotLinkedError) as caught:
        await runner.run_json(["metadata"])  # type: ignore[attr-defined]
    assert caught.value.exit_code == 3
    assert caught.value.code == "PROJECT_NOT_LINKED"


async def test_commander_error(fake_cli: FakeCli) -> None:
    runner = failing_cli(fake_cli, 1, "error: missing required argument 'sql'\n")
    with pytest.raises(errors.CliUsageError) as caught:
        await runner.run_json(["db", "query"])  # type: ignore[attr-defined]
    assert "missing required argument 'sql'" in caught.value.message


async def test_exit_13_prompt(fake_cli: FakeCli) -> None:
    runner = failing_cli(fake_cli, 13, "")
    with pytest.raises(errors.InteractionRequiredError):
        await runner.run_json(["secrets", "rotate", "api-key"])  # type: ignore[attr-defined]


async def test_http_error_keeps_body(fake_cli: FakeCli) -> None:
    body = (
        json.dumps({"status": 404, "body": {"error": "nope", "api_key": "ik_bodysecret1"}}, indent=2) + "\n"
    )
    runner = failing_cli(fake_cli, 1, '{"error":"HTTP 404","code":"HTTP_ERROR"}\n', stdout=body)
    with pytest.raises(errors.CliError) as caught:
        await runner.run_json(["functions", "invoke", "hello"])  # type: ignore[attr-defined]
    assert caught.value.code == "HTTP_ERROR"
    assert caught.value.status == 404
    assert caught.value.details["response"]["body"]["error"] == "nope"
    assert caught.value.details["response"]["body"]["api_key"] == "***"


async def test_unparsable_sql(fake_cli: FakeCli) -> None:
    stderr = (
        '{"error":"Query could not be parsed and was rejected for security reasons.","code":"FORBIDDEN"}\n'
    )
    runner = failing_cli(fake_cli, 1, stderr)
    with pytest.raises(errors.InvalidInputError) as caught:
        await runner.run_json(["db", "query", "selec * from t"])  # type: ignore[attr-defined]
    assert "the SQL could not be parsed" in caught.value.message
    assert caught.value.code == "FORBIDDEN"


@pytest.mark.parametrize(
    ("exit_code", "payload", "expected"),
    [
        (1, {"error": "Invalid API key", "code": "AUTH_INVALID_API_KEY"}, errors.AuthError),
        (1, {"error": "Invalid API key", "code": "UNAUTHORIZED"}, errors.AuthError),
        (2, {"error": "API key is invalid, revoked, or expired.", "code": "AUTH_ERROR"}, errors.AuthError),
        (1, {"error": "Forbidden", "code": "FORBIDDEN"}, errors.PermissionDeniedError),
        (
            5,
            {"error": "No access to project p1", "code": "PERMISSION_DENIED"},
            errors.PermissionDeniedError,
        ),
        (5, {"error": "Forbidden: nope"}, errors.PermissionDeniedError),
        (1, {"error": "Bucket not found", "code": "STORAGE_BUCKET_NOT_FOUND"}, errors.NotFoundError),
        (1, {"error": "Route GET /api/functions not found", "code": "NOT_FOUND"}, errors.NotFoundError),
        (1, {"error": "exists", "code": "STORAGE_BUCKET_ALREADY_EXISTS"}, errors.ConflictError),
        (1, {"error": "duplicate key", "code": "DATABASE_DUPLICATE"}, errors.ConflictError),
        (1, {"error": "null value", "code": "MISSING_FIELD"}, errors.InvalidInputError),
        (1, {"error": "bad", "code": "INVALID_INPUT"}, errors.InvalidInputError),
        (1, {"error": "fk", "code": "DATABASE_CONSTRAINT_VIOLATION"}, errors.InvalidInputError),
        (1, {"error": "Connection to 127.0.0.1:9 refused.", "code": "NETWORK_ERROR"}, errors.TransportError),
        (1, {"error": "Boom", "code": "INTERNAL_ERROR"}, errors.ServerError),
        (1, {"error": "OSS request failed: 500"}, errors.ServerError),
        (1, {"error": "OSS request failed: 409"}, errors.ConflictError),
        (1, {"error": "OSS request failed: 400"}, errors.CliError),
        (1, {"error": "Upload failed: 404"}, errors.NotFoundError),
        (1, {"error": "Unexpected end of JSON input", "code": "UNKNOWN_ERROR"}, errors.CliError),
        (1, {"error": "API key is invalid or revoked: Invalid API key"}, errors.AuthError),
        (1, {"error": "Could not verify API key (HTTP 503)"}, errors.TransportError),
        (1, {"error": 'Invalid log source "bogus". Valid sources: insforge.logs'}, errors.InvalidInputError),
    ],
)
async def test_error_code_mapping(
    fake_cli: FakeCli, exit_code: int, payload: dict[str, str], expected: type[errors.InsForgeError]
) -> None:
    runner = failing_cli(fake_cli, exit_code, json.dumps(payload, separators=(",", ":")) + "\n")
    with pytest.raises(expected) as caught:
        await runner.run_json(["metadata"])  # type: ignore[attr-defined]
    assert type(caught.value) is expected
    assert caught.value.exit_code == exit_code
    assert caught.value.code == payload.get("code")
    assert payload["error"] in caught.value.message
    if expected in (errors.TransportError, errors.ServerError):
        assert caught.value.retryable is True


# -- the CLI's files ------------------------------------------------------------------------


def write_project(workspace: Path, project: dict[str, str]) -> Path:
    path = workspace / ".insforge" / "project.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(project))
    return path


MARKER_SOURCE = """
import pathlib, sys
pathlib.Path({marker!r}).write_text("ran")
print("{{}}")
"""


async def test_login_required_precheck(fake_cli: FakeCli, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    runner = fake_cli(MARKER_SOURCE.format(marker=str(marker)))
    with pytest.raises(errors.AuthError) as caught:
        await runner.run_json(["whoami"], requires_login=True)
    assert caught.value.code == "CLI_NOT_LOGGED_IN"
    with pytest.raises(errors.NotLinkedError):
        await runner.run_json(["metadata"], requires_link=True)
    assert not marker.exists()


async def test_cloud_link_without_login(fake_cli: FakeCli, workspace: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write_project(workspace, {"project_id": "p-123", "oss_host": "https://abc.us-east.insforge.app"})
    runner = fake_cli(MARKER_SOURCE.format(marker=str(marker)))
    with pytest.raises(errors.AuthError):
        await runner.run_json(["metadata"], requires_link=True)
    assert not marker.exists()


async def test_logged_in_cloud_link_runs(
    fake_cli: FakeCli, workspace: Path, cli_home: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    write_project(workspace, {"project_id": "p-123", "oss_host": "https://abc.us-east.insforge.app"})
    (cli_home / ".insforge").mkdir()
    (cli_home / ".insforge" / "credentials.json").write_text(
        json.dumps({"access_token": "", "refresh_token": "", "user_api_key": "uak_abcdefgh12345678"})
    )
    runner = fake_cli(MARKER_SOURCE.format(marker=str(marker)))
    state = runner.login_state()
    assert state.logged_in is True
    assert state.linked is True
    assert state.self_hosted is False
    assert await runner.run_json(["metadata"], requires_link=True) == {}
    assert marker.exists()


async def test_self_hosted_link_skips_login(fake_cli: FakeCli, workspace: Path) -> None:
    write_project(
        workspace,
        {
            "project_id": cli_module.FAKE_PROJECT_ID,
            "api_key": "ik_x12345678",
            "oss_host": "http://127.0.0.1:9",
        },
    )
    runner = fake_cli("print('[]')")
    state = runner.login_state()
    assert state.self_hosted is True
    assert state.oss_host == "http://127.0.0.1:9"
    assert await runner.run_json(["db", "tables"], requires_link=True) == []


async def test_legacy_loopback_link_repaired(fake_cli: FakeCli, workspace: Path) -> None:
    path = write_project(
        workspace,
        {
            "project_id": "oss-project",
            "org_id": "oss-org",
            "api_key": "ik_x12345678",
            "oss_host": "localhost:7130",
        },
    )
    runner = fake_cli("print('{\"rows\": []}')")
    before = runner.login_state()
    assert before.self_hosted is True
    assert before.problem is not None
    assert await runner.run_json(["db", "query", "select 1"], requires_link=True) == {"rows": []}
    repaired = json.loads(path.read_text())
    assert repaired["oss_host"] == "http://localhost:7130"
    assert repaired["project_id"] == cli_module.FAKE_PROJECT_ID
    assert repaired["org_id"] == cli_module.FAKE_ORG_ID
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_legacy_remote_link_rejected(fake_cli: FakeCli, workspace: Path, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write_project(workspace, {"project_id": "oss-project", "oss_host": "db.example.internal:7130"})
    runner = fake_cli(MARKER_SOURCE.format(marker=str(marker)))
    with pytest.raises(errors.NotLinkedError) as caught:
        await runner.run_json(["db", "query", "select 1"], requires_link=True)
    assert caught.value.code == "RELINK_REQUIRED"
    assert "insforge_link" in caught.value.next_step
    assert not marker.exists()


async def test_corrupt_project_file(fake_cli: FakeCli, workspace: Path) -> None:
    (workspace / ".insforge").mkdir()
    (workspace / ".insforge" / "project.json").write_text("{not json")
    runner = fake_cli("print('{}')")
    state = runner.login_state()
    assert state.linked is False
    assert state.problem is not None and "not valid JSON" in state.problem
    with pytest.raises(errors.NotLinkedError) as caught:
        await runner.run_json(["metadata"], requires_link=True)
    assert "not valid JSON" in caught.value.message


def _child_pids() -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process(os.getpid()).children(recursive=True)}


@pytest.fixture(scope="module", autouse=True)
def children_before_module() -> set[int]:
    """Child processes that existed before this module's tests, such as another module's sandbox."""
    return _child_pids()


def test_process_group_cleanup_leaves_no_children(children_before_module: set[int]) -> None:
    # Every test above waits for its processes; none of them may be left over.
    leftovers = _child_pids() - children_before_module
    assert [pid for pid in leftovers if is_alive(pid)] == []


async def test_runner_bounds_concurrent_processes(tmp_path: Path) -> None:
    # Each fake run records its start and end; with one slot no two runs overlap.
    log = tmp_path / "runs.log"
    script = tmp_path / "slow_cli.py"
    script.write_text(
        "import sys, time\n"
        f"log = open({str(log)!r}, 'a')\n"
        "log.write(f'start {time.monotonic()}\\n'); log.flush()\n"
        "time.sleep(0.3)\n"
        "log.write(f'end {time.monotonic()}\\n'); log.flush()\n"
        "print('{}')\n"
    )
    settings = Settings(
        cli_command=(sys.executable, str(script)), workspace_dir=tmp_path, cli_max_concurrency=1
    )
    runner = CliRunner(settings)

    await asyncio.gather(*(runner.run_json(["x"]) for _ in range(3)))

    events = [line.split() for line in log.read_text().splitlines()]
    kinds = [kind for kind, _ in events]
    assert kinds == ["start", "end"] * 3


@pytest.mark.parametrize(
    ("stdout_text", "stderr_text", "code"),
    [
        ("Select an organization:\\n 1) org-a\\n 2) org-b\\n", "", "PROMPT"),
        (
            "\\u2502\\n\\u25cf  You need to log in to continue.\\n",
            "Waiting for authentication...\\n",
            "LOGIN_REQUIRED",
        ),
        (
            "",
            "To sign in, open this URL in your browser:  http://127.0.0.1:9/authorize?x=1\\n",
            "BROWSER_ACTION_REQUIRED",
        ),
    ],
)
async def test_waiting_cli_is_stopped_early(
    tmp_path: Path, stdout_text: str, stderr_text: str, code: str
) -> None:
    # The fake waits far longer than the runner's timeout; the runner must stop it as soon as it
    # shows that it waits for a human, long before that timeout.
    script = tmp_path / "waiting_cli.py"
    script.write_text(
        "import sys, time\n"
        f"sys.stdout.write({stdout_text!r}); sys.stdout.flush()\n"
        f"sys.stderr.write({stderr_text!r}); sys.stderr.flush()\n"
        "time.sleep(600)\n"
    )
    settings = Settings(cli_command=(sys.executable, str(script)), workspace_dir=tmp_path, cli_timeout=100)
    runner = CliRunner(settings)

    with anyio.fail_after(30):
        with pytest.raises(errors.InteractionRequiredError) as caught:
            await runner.run_json(["link", "--project-id", "p-1"])

    assert caught.value.code == code


async def test_json_mentioning_prompt_is_not_stopped(tmp_path: Path) -> None:
    script = tmp_path / "docs_cli.py"
    script.write_text(
        "import json\n"
        "print(json.dumps({'content': 'Select an organization:\\nTo sign in, open this URL'}, indent=2))\n"
    )
    runner = CliRunner(Settings(cli_command=(sys.executable, str(script)), workspace_dir=tmp_path))

    result = await runner.run_json(["docs"])

    assert result["content"].startswith("Select an organization:")
