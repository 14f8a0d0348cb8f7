"""Every project operation through both transports against one sandbox: the typed results must match."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from insforge_tools.approvals import AutoApprover
from insforge_tools.context import Context
from insforge_tools.errors import InsForgeError
from insforge_tools.registry import get_operation, invoke, render_result

pytestmark = pytest.mark.sandbox

# Fields that differ between two runs of the same steps.
VOLATILE = frozenset({"created_at", "updated_at", "uploaded_at", "deployed_at", "last_used_at", "id"})
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
FUNCTION_CODE = "export default async function (req) {\n  return new Response('hi');\n}\n"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    try:
        from insforge_tools.sandbox import Sandbox
    except ImportError as exc:  # pragma: no cover - the sandbox extra is optional
        pytest.skip(f"the sandbox is not available: {exc}")
    box = Sandbox()
    box.start()
    yield box
    box.stop()


async def _linked(sandbox: Any, root: Path, transport: str) -> Context:
    workspace = root / "workspace"
    home = root / "home"
    workspace.mkdir(parents=True)
    home.mkdir(parents=True)
    ctx = sandbox.context(
        approver=AutoApprover(),
        workspace_dir=workspace,
        cli_home=home,
        credentials_path=root / "credentials.json",
    )
    ctx.state["transport"] = transport
    result = await invoke(ctx, "insforge_link", {"api_base_url": sandbox.backend_url})
    assert result.validated, result.validation_error
    return ctx


def _normalize(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _normalize(item, replacements) for key, item in value.items() if key not in VOLATILE}
    if isinstance(value, list):
        return [_normalize(item, replacements) for item in value]
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
    return value


class Recorder:
    """Runs operations and keeps each normalised result (or error kind) under a step name."""

    def __init__(self, ctx: Context, tag: str) -> None:
        self.ctx = ctx
        self.tag = tag
        self.steps: dict[str, Any] = {}
        self.replacements = {
            str(ctx.settings.workspace_dir.resolve()): "<workspace>",
            tag: "<tag>",
            tag.upper(): "<TAG>",
        }

    async def run(self, step: str, name: str, args: dict[str, Any] | None = None) -> Any:
        try:
            result = await invoke(self.ctx, name, args)
        except InsForgeError as exc:
            self.steps[step] = {"error": type(exc).__name__, "code": exc.code}
            return exc
        self.steps[step] = _normalize(result.model_dump(mode="json"), self.replacements)
        return result


async def _scenario(ctx: Context, tag: str) -> dict[str, Any]:
    rec = Recorder(ctx, tag)
    bucket = f"files_{tag}"
    (ctx.settings.workspace_dir / "cover.png").write_bytes(PNG)

    # Storage.
    await rec.run("create bucket", "insforge_storage_create_bucket", {"bucket": bucket})
    buckets = await invoke(ctx, "insforge_storage_buckets")
    rec.steps["bucket listed"] = [item.public for item in buckets.buckets if item.name == bucket]
    await rec.run(
        "upload file",
        "insforge_storage_upload",
        {"bucket": bucket, "path": "cover.png", "key": "products/p1/main.png"},
    )
    await rec.run(
        "upload text",
        "insforge_storage_upload",
        {"bucket": bucket, "key": "notes/hello world #1?ü.txt", "content": "héllo\n"},
    )
    await rec.run(
        "upload base64",
        "insforge_storage_upload",
        {
            "bucket": bucket,
            "key": "/-lead.bin",
            "content": base64.b64encode(b"\x00\x01\xff").decode(),
            "encoding": "base64",
        },
    )
    await rec.run("list prefix", "insforge_storage_list_objects", {"bucket": bucket, "prefix": "notes/"})
    await rec.run(
        "list search", "insforge_storage_list_objects", {"bucket": bucket, "search": "MAIN", "limit": 5}
    )
    await rec.run(
        "download text", "insforge_storage_download", {"bucket": bucket, "key": "notes/hello world #1?ü.txt"}
    )
    await rec.run("download binary", "insforge_storage_download", {"bucket": bucket, "key": "-lead.bin"})
    await rec.run(
        "download saved",
        "insforge_storage_download",
        {"bucket": bucket, "key": "products/p1/main.png", "save_to": "out/main.png"},
    )
    rec.steps["saved bytes"] = (ctx.settings.workspace_dir / "out" / "main.png").read_bytes() == PNG
    await rec.run("download missing", "insforge_storage_download", {"bucket": bucket, "key": "nope.txt"})
    await rec.run("delete object", "insforge_storage_delete_object", {"bucket": bucket, "key": "-lead.bin"})
    await rec.run(
        "upload unknown bucket",
        "insforge_storage_upload",
        {"bucket": f"none_{tag}", "key": "a", "content": "x"},
    )
    await rec.run("delete bucket", "insforge_storage_delete_bucket", {"bucket": bucket})
    await rec.run("delete bucket again", "insforge_storage_delete_bucket", {"bucket": bucket})

    # Functions.
    slug = f"fn-{tag}"
    await rec.run("deploy new", "insforge_functions_deploy", {"slug": slug, "code": FUNCTION_CODE})
    await rec.run(
        "deploy again",
        "insforge_functions_deploy",
        {"slug": slug, "code": FUNCTION_CODE, "description": "v2"},
    )
    await rec.run("get", "insforge_functions_get", {"slug": slug})
    functions = await invoke(ctx, "insforge_functions_list")
    rec.steps["listed"] = [
        (item.slug == slug, functions.runtime_status) for item in functions.functions if item.slug == slug
    ]
    await rec.run("invoke", "insforge_functions_invoke", {"slug": slug, "body": {"x": 1}})
    await rec.run("delete function", "insforge_functions_delete", {"slug": slug})
    await rec.run("get missing", "insforge_functions_get", {"slug": slug})

    # Secrets.
    key = f"PARITY_{tag.upper()}"
    await rec.run("secret create", "insforge_secrets_set", {"key": key, "value": f"value-{uuid.uuid4().hex}"})
    await rec.run("secret update", "insforge_secrets_set", {"key": key, "value": f"value-{uuid.uuid4().hex}"})
    secrets = await invoke(ctx, "insforge_secrets_list")
    listed = [item.model_dump(mode="json") for item in secrets.secrets if item.key == key]
    rec.steps["secret listed"] = _normalize(listed, rec.replacements)
    rec.steps["reserved listed"] = sorted(item.key for item in secrets.secrets if item.is_reserved)
    await rec.run("secret reserved", "insforge_secrets_set", {"key": "API_KEY", "value": "not-a-real-key"})
    await rec.run("secret delete", "insforge_secrets_delete", {"key": key})
    await rec.run("secret delete missing", "insforge_secrets_delete", {"key": key})

    # Logs, docs and deployments.
    logs = await invoke(ctx, "insforge_logs", {"source": "INSFORGE.LOGS", "limit": 3})
    rec.steps["logs"] = (logs.source, 0 < len(logs.entries) <= 3)
    await rec.run("build logs", "insforge_logs", {"source": "function-deploy.logs"})
    await rec.run("docs index", "insforge_docs")
    await rec.run("docs one", "insforge_docs", {"feature": "db", "language": "typescript"})
    await rec.run("deployment missing", "insforge_deployment_status", {"deployment_id": "no-such-deployment"})
    return rec.steps


async def test_both_transports_match(sandbox: Any, tmp_path: Path) -> None:
    over_http = await _scenario(await _linked(sandbox, tmp_path / "http", "http"), "h" + uuid.uuid4().hex[:6])
    through_cli = await _scenario(await _linked(sandbox, tmp_path / "cli", "cli"), "c" + uuid.uuid4().hex[:6])

    assert list(over_http) == list(through_cli)
    for step in over_http:
        assert over_http[step] == through_cli[step], step

    # The results are not only equal but right.
    assert over_http["bucket listed"] == [False]
    assert over_http["upload file"]["key"] == "products/p1/main.png"
    assert over_http["upload file"]["mime_type"] == "image/png"
    assert over_http["upload text"]["key"] == "notes/hello world #1?ü.txt"
    assert over_http["upload base64"]["key"] == "-lead.bin"
    assert over_http["upload base64"]["size"] == 3
    assert [item["key"] for item in over_http["list prefix"]["objects"]] == ["notes/hello world #1?ü.txt"]
    assert [item["key"] for item in over_http["list search"]["objects"]] == ["products/p1/main.png"]
    assert over_http["download text"]["text"] == "héllo\n"
    assert over_http["download binary"]["text"] is None
    assert "binary" in over_http["download binary"]["note"]
    assert over_http["saved bytes"] is True
    assert over_http["download missing"] == {"error": "NotFoundError", "code": "STORAGE_NOT_FOUND"}
    assert over_http["upload unknown bucket"]["error"] == "InvalidInputError"
    assert over_http["delete bucket again"]["error"] == "NotFoundError"
    assert over_http["deploy new"]["action"] == "created"
    assert over_http["deploy again"]["action"] == "updated"
    assert over_http["get"]["code"] == FUNCTION_CODE
    assert over_http["get"]["description"] == "v2"
    assert over_http["invoke"] == {"error": "ServerError", "code": "FUNCTION_RUNTIME_UNAVAILABLE"}
    assert over_http["get missing"] == {"error": "NotFoundError", "code": "FUNCTION_NOT_FOUND"}
    assert over_http["secret create"]["action"] == "created"
    assert over_http["secret update"]["action"] == "updated"
    assert over_http["secret reserved"]["error"] == "PermissionDeniedError"
    assert over_http["secret delete missing"]["error"] == "NotFoundError"
    assert over_http["logs"] == ("insforge.logs", True)
    assert over_http["docs one"]["content"]
    assert len(over_http["docs index"]["documents"]) > 5


@pytest.mark.parametrize("transport", ["http", "cli"])
async def test_secret_value_nowhere(
    sandbox: Any, tmp_path: Path, transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = await _linked(sandbox, tmp_path, transport)
    key = f"LEAK_CHECK_{uuid.uuid4().hex[:6].upper()}"
    value = f"leak-{uuid.uuid4().hex}"
    shown: list[str] = []

    with caplog.at_level(logging.DEBUG):
        for _ in range(2):
            result = await invoke(ctx, "insforge_secrets_set", {"key": key, "value": value})
            shown.append(result.model_dump_json())
            shown.append(render_result(get_operation("insforge_secrets_set"), result, 6000))
        listed = await invoke(ctx, "insforge_secrets_list")
        shown.append(listed.model_dump_json())
        with pytest.raises(InsForgeError) as caught:
            await invoke(ctx, "insforge_secrets_set", {"key": "API_KEY", "value": value})
        shown.append(str(caught.value))
        await invoke(ctx, "insforge_secrets_delete", {"key": key})

    assert key in shown[0]
    for text in shown:
        assert value not in text
    assert value not in caplog.text


async def test_deploy_both_transports(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from insforge_tools.operations import deployments

    monkeypatch.setattr(deployments, "POLL_INTERVAL_SECONDS", 0.2)
    monkeypatch.setenv("INSFORGE_STANDIN_POLL_INTERVAL", "0.2")
    results = {}
    for transport in ("http", "cli"):
        ctx = await _linked(sandbox, tmp_path / transport, transport)
        site = ctx.settings.workspace_dir / "dist"
        site.mkdir()
        (site / "index.html").write_text("<h1>hello</h1>")
        try:
            result = await invoke(ctx, "insforge_deploy", {"directory": "dist"})
        except InsForgeError as exc:
            if exc.status == 404 or exc.code == "NOT_FOUND":
                pytest.skip(f"the sandbox backend has no deployments: {exc.message}")
            raise
        status = await invoke(ctx, "insforge_deployment_status", {"deployment_id": result.id})
        results[transport] = (result.status, status.status, status.id == result.id)

    assert results["http"] == ("READY", "READY", True)
    assert results["cli"] == results["http"]
