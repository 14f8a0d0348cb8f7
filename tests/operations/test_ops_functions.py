"""Function and deployment operations: idempotent deploy, build log excerpts, invoke errors, polling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from ops_helpers import API_KEY, ScriptedBackend, ScriptedCli

from insforge_tools.context import Context
from insforge_tools.errors import AuthError, CliError, NotFoundError, ServerError
from insforge_tools.operations import deployments, functions
from insforge_tools.registry import invoke
from insforge_tools.secrets import Secret
from insforge_tools.transports.cli import CliResult

FUNCTION = {"id": "f1", "slug": "hello", "name": "hello", "status": "active", "code": "x"}
CODE = "export default async function (req) { return new Response('hi'); }"
ERROR_500 = {"error": "INTERNAL_ERROR", "message": "database is down", "statusCode": 500}
DUPLICATE_CODE = "const X = 1;\nconst X = 1;\nexport default async () => new Response('x');\n"
BUILD_LOGS = {
    "logs": [
        {"timestamp": "t1", "message": "Bundling function hello"},
        {
            "timestamp": "t2",
            "message": "SyntaxError: Identifier 'X' has already been declared at hello.ts:2:7",
        },
        {"timestamp": "t3", "message": f"upload used key {API_KEY}"},
        {"timestamp": "t4", "message": "Build finished"},
    ]
}


def _paths(backend: ScriptedBackend) -> list[str]:
    return [f"{request.method} {request.url.path}" for request in backend.requests]


async def test_deploy_get_500_surfaced(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/functions/hello", 500, ERROR_500)
    with pytest.raises(ServerError, match="database is down"):
        await invoke(make_context(), "insforge_functions_deploy", {"slug": "hello", "code": CODE})
    assert "POST /api/functions" not in _paths(backend)
    assert "PUT /api/functions/hello" not in _paths(backend)


async def test_deploy_get_401_surfaced(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    body = {"error": "AUTH_INVALID_API_KEY", "message": "Invalid API key", "statusCode": 401}
    backend.on("GET", "/api/functions/hello", 401, body)
    with pytest.raises(AuthError):
        await invoke(make_context(), "insforge_functions_deploy", {"slug": "hello", "code": CODE})
    assert _paths(backend) == ["GET /api/functions/hello"]


async def test_deploy_409_falls_back_to_put(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on(
        "GET", "/api/functions/hello", 404, {"error": "FUNCTION_NOT_FOUND", "message": "Function not found"}
    )
    backend.on("POST", "/api/functions", 409, {"error": "FUNCTION_ALREADY_EXISTS", "message": "exists"})
    backend.on(
        "PUT", "/api/functions/hello", 200, {"success": True, "function": FUNCTION, "deployment": None}
    )
    result = await invoke(make_context(), "insforge_functions_deploy", {"slug": "hello", "code": CODE})
    assert _paths(backend) == ["GET /api/functions/hello", "POST /api/functions", "PUT /api/functions/hello"]
    assert result.action == "updated"
    assert backend.json_of(2) == {"name": "hello", "code": CODE}


async def test_deploy_existing_updates(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/functions/hello", 200, FUNCTION)
    backend.on(
        "PUT", "/api/functions/hello", 200, {"success": True, "function": FUNCTION, "deployment": None}
    )
    result = await invoke(
        make_context(), "insforge_functions_deploy", {"slug": "hello", "code": CODE, "name": "Hi"}
    )
    assert _paths(backend) == ["GET /api/functions/hello", "PUT /api/functions/hello"]
    assert result.action == "updated"


async def test_deploy_failure_has_log_excerpt(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on(
        "GET", "/api/functions/hello", 404, {"error": "FUNCTION_NOT_FOUND", "message": "Function not found"}
    )
    backend.on(
        "POST",
        "/api/functions",
        500,
        {"error": "INTERNAL_ERROR", "message": "event iterator validation failed"},
    )
    backend.on("GET", "/api/logs/functions/build-logs", 200, BUILD_LOGS)
    with pytest.raises(ServerError) as caught:
        await invoke(make_context(), "insforge_functions_deploy", {"slug": "hello", "code": DUPLICATE_CODE})
    message = caught.value.message
    assert "event iterator validation failed" in message
    assert "SyntaxError: Identifier 'X' has already been declared" in message
    assert API_KEY not in message
    assert API_KEY not in caught.value.details["deploy_log_excerpt"]
    assert "Fix the function code" in caught.value.next_step


async def test_deploy_status_failed_has_excerpt(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    failed = {"success": True, "function": FUNCTION, "deployment": {"id": "d1", "status": "failed"}}
    backend.on("GET", "/api/functions/hello", 200, FUNCTION)
    backend.on("PUT", "/api/functions/hello", 200, failed)
    backend.on("GET", "/api/logs/functions/build-logs", 200, BUILD_LOGS)
    with pytest.raises(ServerError) as caught:
        await invoke(make_context(), "insforge_functions_deploy", {"slug": "hello", "code": DUPLICATE_CODE})
    assert caught.value.code == "FUNCTION_DEPLOY_FAILED"
    assert "already been declared" in caught.value.message


async def test_deploy_cli_failure_has_excerpt(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli
) -> None:
    cli.answer(
        NotFoundError("Function not found", code="FUNCTION_NOT_FOUND"),
        CliError("`insforge functions deploy` failed: Function deployment failed", exit_code=1),
        BUILD_LOGS,
    )
    with pytest.raises(CliError) as caught:
        await invoke(
            make_context(transport="cli"),
            "insforge_functions_deploy",
            {"slug": "hello", "code": DUPLICATE_CODE},
        )
    assert "Function deployment failed" in caught.value.message
    assert "already been declared" in caught.value.message
    deploy_args = cli.calls[1]["args"]
    assert deploy_args[:2] == ["functions", "deploy"]
    assert deploy_args[-2:] == ["--", "hello"]
    assert cli.calls[2]["args"] == ["logs", "--limit", "50", "--json", "--", "function-deploy.logs"]


def test_excerpt_prefers_error_lines() -> None:
    lines = ["step 1", "step 2", "TypeError: x is not a function", "done"]
    assert functions.relevant_log_lines(lines) == "TypeError: x is not a function"
    assert functions.relevant_log_lines(["a", "b"]) == "a\nb"
    assert functions.relevant_log_lines([]) is None
    long = functions.relevant_log_lines(["error " + "x" * 1000] * 20)
    assert long is not None
    assert len(long) <= functions.EXCERPT_CHARS + 1


async def test_invoke_runtime_down(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    refused = {
        "error": "request to http://127.0.0.1:7133/hello failed, reason: connect ECONNREFUSED 127.0.0.1:7133"
    }
    backend.on("POST", "/functions/hello", 502, refused)
    with pytest.raises(ServerError) as caught:
        await invoke(make_context(), "insforge_functions_invoke", {"slug": "hello", "body": {"x": 1}})
    assert caught.value.code == "FUNCTION_RUNTIME_UNAVAILABLE"
    assert "function runtime is not running" in caught.value.message
    assert backend.json_of(0) == {"x": 1}
    assert backend.requests[0].headers["Authorization"] == f"Bearer {API_KEY}"


async def test_invoke_function_error_is_result(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/functions/hello", 404, {"message": "no such item"})
    result = await invoke(make_context(), "insforge_functions_invoke", {"slug": "hello", "method": "GET"})
    assert result.status == 404
    assert result.ok is False
    assert result.body == {"message": "no such item"}


class RunCli(ScriptedCli):
    """A CLI double with ``run`` and ``ensure_ready``, for commands read from raw output."""

    def __init__(self, result: CliResult) -> None:
        super().__init__()
        self.result = result

    def ensure_ready(self, **options: Any) -> None:
        self.calls.append({"ensure_ready": options})

    async def run(self, args: Sequence[str | Secret], **options: Any) -> CliResult:
        self.calls.append({"args": list(args), **options})
        return self.result


async def test_invoke_cli_runtime_down(make_context: Callable[..., Context], linked: Path) -> None:
    stdout = (
        '{\n  "status": 502,\n  "body": {\n    "error": "request to x failed, reason: ECONNREFUSED"\n  }\n}\n'
    )
    stderr = '{"error":"HTTP 502","code":"HTTP_ERROR"}\n'
    ctx = make_context(transport="cli")
    fake = RunCli(CliResult(argv=(), exit_code=1, stdout=stdout, stderr=stderr, duration=0.1))
    ctx._cli = fake  # type: ignore[assignment]
    with pytest.raises(ServerError) as caught:
        await invoke(ctx, "insforge_functions_invoke", {"slug": "hello", "body": {"x": 1}})
    assert caught.value.code == "FUNCTION_RUNTIME_UNAVAILABLE"
    assert caught.value.status == 502
    assert fake.calls[1]["args"] == [
        "functions", "invoke", "--method", "POST", "--data", '{"x": 1}', "--json", "--", "hello"
    ]  # fmt: skip


async def test_invoke_cli_text_body(make_context: Callable[..., Context], linked: Path) -> None:
    ctx = make_context(transport="cli")
    ctx._cli = RunCli(CliResult(argv=(), exit_code=0, stdout="hi there", stderr="", duration=0.1))  # type: ignore[assignment]
    result = await invoke(ctx, "insforge_functions_invoke", {"slug": "hello"})
    assert result.body == "hi there"
    assert result.ok is True


async def test_functions_list_shape(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    body = {"functions": [FUNCTION], "runtime": {"status": "unavailable"}, "deploymentUrl": None}
    backend.on("GET", "/api/functions", 200, body)
    result = await invoke(make_context(), "insforge_functions_list")
    assert [item.slug for item in result.functions] == ["hello"]
    assert result.runtime_status == "unavailable"


def test_reserved_slug_rejected() -> None:
    with pytest.raises(ValueError, match="reserved"):
        functions.FunctionSlugArgs(slug="health")


# --------------------------------------------------------------------------- deployments


def _in_turn(*answers: tuple[int, dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    """Return a route that sends each response once, in order, and then repeats the last one."""
    remaining = list(answers)

    def answer(request: httpx.Request) -> httpx.Response:
        status, body = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return httpx.Response(status, json=body)

    return answer


def _deploy_backend(backend: ScriptedBackend, statuses: list[tuple[int, dict[str, Any]]]) -> None:
    created = {
        "id": "dep1",
        "status": "WAITING",
        "files": [
            {"fileId": "f1", "path": "index.html", "sha": "x", "size": 5, "uploadedAt": None},
            {"fileId": "f2", "path": "app.js", "sha": "y", "size": 3, "uploadedAt": "2026-01-01T00:00:00Z"},
        ],
    }
    backend.on("POST", "/api/deployments/direct", 201, created)
    backend.on("PUT", "/api/deployments/dep1/files/f1/content", 200, {"fileId": "f1"})
    backend.on("POST", "/api/deployments/dep1/start", 200, {"id": "dep1", "status": "QUEUED"})
    gateway = {"error": "BAD_GATEWAY", "message": "gateway"}
    backend.routes[("POST", "/api/deployments/dep1/sync")] = _in_turn((502, gateway), (200, {}))
    backend.routes[("GET", "/api/deployments/dep1")] = _in_turn(*statuses)


async def test_deploy_poll_survives_502(
    make_context: Callable[..., Context],
    linked: Path,
    workspace: Path,
    backend: ScriptedBackend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deployments, "POLL_INTERVAL_SECONDS", 0.0)
    site = workspace / "dist"
    site.mkdir()
    (site / "index.html").write_text("<h1/>")
    (site / "app.js").write_text("1;\n")
    (site / ".env").write_text("SECRET=1")
    gateway = {"error": "BAD_GATEWAY", "message": "gateway"}
    ready = {"id": "dep1", "status": "READY", "url": "https://site.example.invalid", "provider": "vercel"}
    # Four 502s outlast the transport's own three retries, so the poll loop has to retry.
    _deploy_backend(backend, [(502, gateway)] * 4 + [(200, ready)])

    ctx = make_context(transport="http")
    result = await invoke(ctx, "insforge_deploy", {"directory": "dist", "env": {"API_TOKEN": "tok-123456"}})
    assert result.status == "READY"
    assert result.url == "https://site.example.invalid"
    assert result.files_total == 2
    assert result.files_uploaded == 1
    manifest = backend.json_of(0)["files"]
    assert [item["path"] for item in manifest] == ["app.js", "index.html"]
    start = next(r for r in backend.requests if r.url.path.endswith("/start"))
    assert b"API_TOKEN" in start.content
    upload = next(r for r in backend.requests if r.url.path.endswith("/content"))
    assert upload.content == b"<h1/>"


async def test_deploy_error_status(
    make_context: Callable[..., Context],
    linked: Path,
    workspace: Path,
    backend: ScriptedBackend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deployments, "POLL_INTERVAL_SECONDS", 0.0)
    (workspace / "index.html").write_text("<h1/>")
    _deploy_backend(backend, [(200, {"id": "dep1", "status": "ERROR"})])
    with pytest.raises(ServerError) as caught:
        await invoke(make_context(transport="http"), "insforge_deploy", {})
    assert caught.value.code == "DEPLOYMENT_FAILED"


async def test_deploy_cli_argv(
    make_context: Callable[..., Context], linked: Path, workspace: Path, cli: ScriptedCli
) -> None:
    (workspace / "dist").mkdir()
    cli.answer({"id": "dep1", "status": "READY", "url": "https://x.invalid"})
    result = await invoke(make_context(), "insforge_deploy", {"directory": "dist"})
    assert result.status == "READY"
    args = cli.calls[0]["args"]
    assert args[:2] == ["deployments", "deploy"]
    assert args[-1] == str((workspace / "dist").resolve())
    assert cli.calls[0]["timeout"] > 300


def test_collect_files_skips_private(tmp_path: Path) -> None:
    (tmp_path / ".insforge").mkdir()
    (tmp_path / ".insforge" / "project.json").write_text("{}")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.js").write_text("")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.txt").write_text("b")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("o")
    (tmp_path / "link.txt").symlink_to(outside)
    assert [item.path for item in deployments.collect_files(tmp_path)] == ["a/b.txt"]
