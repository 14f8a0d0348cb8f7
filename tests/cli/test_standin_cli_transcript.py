"""The stand-in CLI replays the recorded runs of the real CLI 0.2.8 against a loopback fake backend."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from insforge_tools.sandbox._server import ThreadedServer

# Runs of the real CLI 0.2.8 (Node 20) against a local InsForge backend, recorded with stdin closed.
TRANSCRIPT_PATH = Path(__file__).parent / "data" / "cli-transcript.json"
RECORDED_BACKEND = "http://127.0.0.1:7130"
RECORDED_DEAD_PORT = "44789"
STANDIN = (sys.executable, "-m", "insforge_tools.sandbox.standin_cli")

pytestmark = pytest.mark.skipif(
    not TRANSCRIPT_PATH.exists(), reason="the recorded CLI transcript is not present"
)


def load_transcript() -> list[dict[str, Any]]:
    return json.loads(TRANSCRIPT_PATH.read_text(encoding="utf-8")) if TRANSCRIPT_PATH.exists() else []


def case(name: str) -> dict[str, Any]:
    return next(entry for entry in load_transcript() if entry["case"] == name)


def split_message(message: str) -> dict[str, str]:
    first, _, rest = message.partition("\n")
    body = {"message": first}
    if rest:
        body["nextActions"] = rest
    return body


@dataclass
class FakeBackend:
    """A project backend and platform API on loopback that returns the recorded bodies."""

    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    queries: dict[str, tuple[int, Any]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    ping_status: int = 200
    bad_key: str = "ik_wrongwrongwrong"

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        self.requests.append(
            {
                "method": request.method,
                "path": path,
                "query": request.url.query,
                "headers": dict(request.headers),
                "body": body,
            }
        )
        if path == "/api/usage/mcp":
            return JSONResponse({"ok": True}, status_code=self.ping_status)
        if request.headers.get("authorization") == f"Bearer {self.bad_key}":
            return JSONResponse(
                {
                    "error": "AUTH_INVALID_API_KEY",
                    "message": "Invalid API key",
                    "statusCode": 401,
                    "nextActions": "Check the API key is valid or generate a new API key.",
                },
                status_code=401,
            )
        if path == "/api/database/advance/rawsql":
            query = json.loads(body)["query"]
            status, payload = self.queries[query]
            return JSONResponse(payload, status_code=status)
        status, payload = self.routes.get((request.method, path), (404, {"error": "NOT_FOUND"}))
        if isinstance(payload, bytes):
            return Response(payload, status_code=status, media_type="text/plain")
        return JSONResponse(payload, status_code=status)


@pytest.fixture
def backend() -> Iterator[tuple[FakeBackend, str]]:
    fake = FakeBackend()
    app = Starlette(
        routes=[Route("/{path:path}", fake.handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
    )
    server = ThreadedServer(name="fake-backend")
    url = server.start(app)
    try:
        yield fake, url
    finally:
        server.stop()


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "home"
    workspace = tmp_path / "project"
    home.mkdir()
    workspace.mkdir()
    return home, workspace


def run_standin(
    argv: list[str], home: Path, workspace: Path, platform: str, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INSFORGE_")}
    env.update({"HOME": str(home), "INSFORGE_API_URL": platform, "BROWSER": "true", **extra_env})
    return subprocess.run(
        [*STANDIN, *argv],
        cwd=workspace,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def replace_backend(value: Any, url: str) -> Any:
    if isinstance(value, str):
        return value.replace(RECORDED_BACKEND, url)
    if isinstance(value, list):
        return [replace_backend(item, url) for item in value]
    if isinstance(value, dict):
        return {key: replace_backend(item, url) for key, item in value.items()}
    return value


def configure_recorded_backend(fake: FakeBackend, url: str) -> None:
    """Load every recorded success body and error into the fake backend."""
    for entry in load_transcript():
        argv = entry.get("argv", [])[1:]
        if not argv or entry.get("exit") not in (0, 1):
            continue
        words = [word for word in argv if word != "--json" and word != "-y"]
        stdout = replace_backend(entry.get("stdout", ""), url)
        success = entry["exit"] == 0 and stdout.strip().startswith(("{", "["))
        if words[:2] == ["db", "query"] and len(words) == 3:
            if success:
                fake.queries[words[2]] = (200, json.loads(stdout))
            elif entry["stderr"].startswith("{"):
                error = json.loads(entry["stderr"])
                status = 403 if error["code"] == "FORBIDDEN" else 400
                fake.queries[words[2]] = (status, {"error": error["code"], **split_message(error["error"])})
            continue
        if not success:
            continue
        route = {
            ("metadata",): ("GET", "/api/metadata"),
            ("db", "tables"): ("GET", "/api/database/tables"),
            ("storage", "buckets"): ("GET", "/api/storage/buckets"),
            ("functions", "list"): ("GET", "/api/functions"),
            ("secrets", "list"): ("GET", "/api/secrets"),
            ("docs",): ("GET", "/api/docs"),
        }.get(tuple(words))
        if words[:2] == ["records", "list"]:
            route = ("GET", f"/api/database/records/{words[2]}")
        if words[:2] == ["storage", "create-bucket"]:
            route = ("POST", "/api/storage/buckets")
        if words[:2] == ["storage", "delete-bucket"]:
            route = ("DELETE", f"/api/storage/buckets/{words[2]}")
        if words[:2] == ["storage", "upload"]:
            route = ("PUT", f"/api/storage/buckets/{words[4]}/objects/{words[2]}")
        if words[:2] == ["storage", "list-objects"]:
            route = ("GET", f"/api/storage/buckets/{words[2]}/objects")
        if route is not None:
            fake.routes[route] = (200, json.loads(stdout))


REPLAYED = [
    "version",
    "link self-hosted",
    "current",
    "metadata",
    "db query ok",
    "db query create table",
    "db query insert returning",
    "db query syntax error",
    "db query unknown table",
    "db query not null violation",
    "db query multi statement",
    "db tables",
    "records list",
    "storage buckets",
    "storage create-bucket",
    "storage upload",
    "storage list-objects",
    "functions list",
    "secrets list",
    "docs",
    "unknown command",
    "db query missing argument",
    "db query cleanup",
    "storage delete-bucket",
    "link with wrong key",
    "metadata with wrong key",
]


def test_transcript_sequence(backend: tuple[FakeBackend, str], dirs: tuple[Path, Path]) -> None:
    fake, url = backend
    home, workspace = dirs
    configure_recorded_backend(fake, url)
    (workspace / "hello.txt").write_text("hello from the stand-in\n!")

    for name in REPLAYED:
        entry = case(name)
        argv = [replace_backend(word, url) for word in entry["argv"][1:]]
        result = run_standin(argv, home, workspace, url)
        expected_stdout = replace_backend(entry["stdout"], url)
        assert result.returncode == entry["exit"], (name, result.stderr)
        assert result.stdout == expected_stdout, name
        assert result.stderr == entry["stderr"], name

        if name == "link self-hosted":
            written = case("project.json written by link")
            project_path = workspace / written["file"]
            assert json.loads(project_path.read_text()) == replace_backend(written["content"], url)
            assert oct(project_path.stat().st_mode & 0o777) == written["mode"]
            created = sorted(
                str(path.relative_to(workspace)) for path in workspace.rglob("*") if path.is_file()
            )
            expected_files = case("files created in the project dir by link")["files"]
            assert [path for path in created if path != "hello.txt"] == expected_files


def test_requests_match_cli(backend: tuple[FakeBackend, str], dirs: tuple[Path, Path]) -> None:
    fake, url = backend
    home, workspace = dirs
    configure_recorded_backend(fake, url)
    run_standin(
        ["link", "--api-base-url", url + "/", "--api-key", "ik_test12345", "--json"], home, workspace, url
    )
    link_ping = fake.requests[-1]
    assert link_ping["path"] == "/api/usage/mcp"
    assert link_ping["headers"]["x-api-key"] == "ik_test12345"
    assert "authorization" not in link_ping["headers"]
    assert json.loads(link_ping["body"])["tool_name"] == "cli.link_direct"

    fake.requests.clear()
    run_standin(["db", "query", "select 1 as one, 'x'::text as t", "--json"], home, workspace, url)
    query, ping = fake.requests
    assert query["path"] == "/api/database/advance/rawsql"
    assert query["headers"]["authorization"] == "Bearer ik_test12345"
    assert query["headers"]["content-type"] == "application/json"
    assert json.loads(query["body"]) == {"query": "select 1 as one, 'x'::text as t"}
    assert ping["path"] == "/api/usage/mcp"
    assert json.loads(ping["body"])["tool_name"] == "cli.db.query"
    assert json.loads(ping["body"])["success"] is True

    fake.requests.clear()
    fake.routes[("GET", "/api/database/records/todos")] = (200, [])
    run_standin(
        ["records", "list", "todos", "--limit", "5", "--filter", "id=eq.3", "--json"], home, workspace, url
    )
    assert fake.requests[0]["query"] == "id=eq.3&limit=5"

    fake.requests.clear()
    result = run_standin(["metadata", "--json"], home, workspace, url)
    assert result.returncode == 0
    assert [request["path"] for request in fake.requests] == ["/api/metadata"]


def test_backend_error_bodies(backend: tuple[FakeBackend, str], dirs: tuple[Path, Path]) -> None:
    fake, url = backend
    home, workspace = dirs
    run_standin(["link", "--api-base-url", url, "--api-key", "ik_test12345", "--json"], home, workspace, url)
    cases = [
        (
            (500, {"error": "INTERNAL_ERROR", "message": "Boom (stand-in 500)"}),
            '{"error":"Boom (stand-in 500)","code":"INTERNAL_ERROR"}',
        ),
        ((500, b"plain failure"), '{"error":"OSS request failed: 500"}'),
        (
            (200, b"<html>not json</html>"),
            '{"error":"Unexpected token \'<\', \\"<html>not \\"... is not valid JSON",'
            '"code":"UNKNOWN_ERROR"}',
        ),
        ((200, b""), '{"error":"Unexpected end of JSON input","code":"UNKNOWN_ERROR"}'),
        ((403, {"error": "FORBIDDEN", "message": "Forbidden"}), '{"error":"Forbidden","code":"FORBIDDEN"}'),
    ]
    for response, expected in cases:
        fake.routes[("GET", "/api/metadata")] = response
        result = run_standin(["metadata", "--json"], home, workspace, url)
        assert result.returncode == 1
        assert result.stdout == ""
        assert result.stderr == expected + "\n"


def test_backend_down(dirs: tuple[Path, Path]) -> None:
    home, workspace = dirs
    port = dead_port()
    platform = f"http://127.0.0.1:{dead_port()}"
    project = workspace / ".insforge" / "project.json"
    project.parent.mkdir()
    project.write_text(
        json.dumps(
            {
                "project_id": "fa4e0000-1234-5678-90ab-cd1234567890",
                "api_key": "ik_x",
                "oss_host": f"http://127.0.0.1:{port}",
            }
        )
    )
    entry = case("metadata backend down")
    result = run_standin(["metadata", "--json"], home, workspace, platform)
    assert result.returncode == entry["exit"]
    assert result.stderr == entry["stderr"].replace(RECORDED_DEAD_PORT, str(port))


def test_link_ping_retries(backend: tuple[FakeBackend, str], dirs: tuple[Path, Path]) -> None:
    fake, url = backend
    home, workspace = dirs
    fake.ping_status = 503
    result = run_standin(
        ["link", "--api-base-url", url, "--api-key", "ik_x", "--json"],
        home,
        workspace,
        url,
        INSFORGE_STANDIN_PING_DELAY="0.01",
    )
    assert result.returncode == 0
    assert result.stdout == case("link to a dead port")["stdout"]
    assert [request["path"] for request in fake.requests] == ["/api/usage/mcp"] * 6


@pytest.mark.parametrize(
    "name", ["metadata unlinked no login (5 s timeout)", "whoami no login (5 s timeout)"]
)
def test_login_wait(name: str, dirs: tuple[Path, Path]) -> None:
    home, workspace = dirs
    entry = case(name)
    platform = "http://127.0.0.1:9"
    result = run_standin(entry["argv"][1:], home, workspace, platform, INSFORGE_STANDIN_LOGIN_WAIT="0.2")
    assert result.stdout == entry["stdout"]
    pattern = (
        re.escape(entry["stderr"].split("redirect_uri=")[0])
        + r"redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Fcallback"
    )
    assert re.match(pattern, result.stderr)
    assert (
        "&response_type=code&scope=user%3Aread+organizations%3Aread+projects%3Aread+projects%3Awrite"
        in result.stderr
    )
    assert result.stderr.startswith(entry["stderr"].split("Waiting")[0][:60])
    assert "\n\nWaiting for authentication...\n" in result.stderr
    assert result.returncode == 1
    assert result.stderr.endswith(
        '{"error":"Authentication timed out. Please try again.","code":"UNKNOWN_ERROR"}\n'
    )


@pytest.mark.parametrize("name", ["link --api-base-url without --api-key", "link with invalid URL"])
def test_link_validation(name: str, dirs: tuple[Path, Path]) -> None:
    home, workspace = dirs
    entry = case(name)
    result = run_standin(entry["argv"][1:], home, workspace, "http://127.0.0.1:9")
    assert result.returncode == entry["exit"]
    assert result.stdout == entry["stdout"]
    assert result.stderr == entry["stderr"]


PROFILE = {
    "user": {
        "id": "11111111-1111-1111-1111-111111111111",
        "name": "Test User",
        "email": "test@example.com",
        "avatar_url": None,
        "email_verified": True,
    }
}


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            (401, {"error": "UNAUTHORIZED", "message": "Invalid API key"}),
            "API key is invalid or revoked: Invalid API key",
        ),
        ((403, b""), "API key is invalid or revoked"),
        ((503, {"error": "SERVICE_UNAVAILABLE"}), "Could not verify API key (HTTP 503): SERVICE_UNAVAILABLE"),
        ((429, b"slow down"), "Could not verify API key (HTTP 429)"),
        ((200, b""), "Profile response was empty or malformed"),
        ((200, {"user": {"name": "no id"}}), "Profile response was empty or malformed"),
    ],
)
def test_login_key_failures(
    response: tuple[int, Any], expected: str, backend: tuple[FakeBackend, str], dirs: tuple[Path, Path]
) -> None:
    fake, url = backend
    home, workspace = dirs
    fake.routes[("GET", "/auth/v1/profile")] = response
    result = run_standin(["login", "--user-api-key", "uak_TESTKEY1234", "--json"], home, workspace, url)
    assert result.returncode == 1
    assert json.loads(result.stderr) == {"error": expected}
    assert "uak_TESTKEY1234" not in result.stderr
    assert not (home / ".insforge" / "credentials.json").exists()


def test_login_logout_cycle(backend: tuple[FakeBackend, str], dirs: tuple[Path, Path]) -> None:
    fake, url = backend
    home, workspace = dirs
    result = run_standin(["login", "--user-api-key", "abc", "--json"], home, workspace, url)
    assert result.returncode == 1
    assert result.stderr == '{"error":"Invalid API key — must start with \\"uak_\\"."}\n'

    fake.routes[("GET", "/auth/v1/profile")] = (200, PROFILE)
    result = run_standin(["login", "--user-api-key", "uak_test123", "--json"], home, workspace, url)
    assert result.returncode == 0
    assert result.stdout == json.dumps({"success": True, **PROFILE}, separators=(",", ":")) + "\n"
    assert fake.requests[-1]["headers"]["authorization"] == "Bearer uak_test123"
    credentials_path = home / ".insforge" / "credentials.json"
    assert json.loads(credentials_path.read_text()) == {
        "access_token": "",
        "refresh_token": "",
        "user_api_key": "uak_test123",
        **PROFILE,
    }
    assert oct(credentials_path.stat().st_mode & 0o777) == "0o600"

    whoami = run_standin(["whoami", "--json"], home, workspace, url)
    assert whoami.returncode == 0
    assert json.loads(whoami.stdout) == PROFILE["user"]

    not_linked = run_standin(["metadata", "--json"], home, workspace, url)
    assert not_linked.returncode == 3
    assert not_linked.stderr == (
        '{"error":"No project linked. Run `npx @insforge/cli link` first.","code":"PROJECT_NOT_LINKED"}\n'
    )

    fake.routes[("GET", "/auth/v1/profile")] = (401, {"error": "UNAUTHORIZED"})
    revoked = run_standin(["whoami", "--json"], home, workspace, url)
    assert revoked.returncode == 2
    assert json.loads(revoked.stderr)["code"] == "AUTH_ERROR"

    current = run_standin(["current", "--json"], home, workspace, url)
    assert json.loads(current.stdout) == {
        "authenticated": True,
        "user": PROFILE["user"],
        "default_org_id": None,
        "project": None,
    }

    logout = run_standin(["logout", "--json"], home, workspace, url)
    assert logout.stdout == '{\n  "success": true,\n  "message": "Logged out successfully"\n}\n'
    assert not credentials_path.exists()


def test_cloud_link_no_access(backend: tuple[FakeBackend, str], dirs: tuple[Path, Path]) -> None:
    fake, url = backend
    home, workspace = dirs
    fake.routes[("GET", "/auth/v1/profile")] = (200, PROFILE)
    run_standin(["login", "--user-api-key", "uak_test123", "--json"], home, workspace, url)
    result = run_standin(["link", "--project-id", "p1", "--org-id", "o1", "--json"], home, workspace, url)
    assert result.returncode == 5
    error = json.loads(result.stderr)
    assert error["code"] == "PERMISSION_DENIED"
    assert error["error"].startswith("No access to project p1 as test@example.com")
    assert not (workspace / ".insforge" / "project.json").exists()


async def test_runner_with_standin(backend: tuple[FakeBackend, str], dirs: tuple[Path, Path]) -> None:
    from insforge_tools import errors
    from insforge_tools.settings import Settings
    from insforge_tools.transports.cli import CliRunner

    fake, url = backend
    home, workspace = dirs
    configure_recorded_backend(fake, url)
    runner = CliRunner(
        Settings(cli_command=STANDIN, workspace_dir=workspace, cli_home=home, platform_url=url),
        env={"INSFORGE_STANDIN_LOGIN_WAIT": "30"},
    )
    with pytest.raises(errors.NotLinkedError):
        await runner.run_json(["metadata"], requires_link=True)

    linked = await runner.run_json(["link", "--api-base-url", url, "--api-key", "ik_test12345"])
    assert linked["project"]["id"] == "fa4e0000-1234-5678-90ab-cd1234567890"
    assert runner.login_state().self_hosted is True

    rows = await runner.run_json(["db", "query", "select 1 as one, 'x'::text as t"], requires_link=True)
    assert rows["rows"] == [{"one": 1, "t": "x"}]
    with pytest.raises(errors.InvalidInputError) as caught:
        await runner.run_json(["db", "query", "selec * from cli_probe"], requires_link=True)
    assert "the SQL could not be parsed" in caught.value.message
    with pytest.raises(errors.CliUsageError):
        await runner.run_json(["db", "query"])
    assert await runner.version() == "0.2.8"
