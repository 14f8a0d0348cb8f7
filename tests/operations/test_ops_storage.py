"""Storage operations: key encoding, content types, workspace paths and limits (mocked backend)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from ops_helpers import ScriptedBackend, ScriptedCli

from insforge_tools.approvals import DenyingApprover
from insforge_tools.context import Context
from insforge_tools.errors import ApprovalError, InvalidInputError, NotFoundError
from insforge_tools.operations import storage
from insforge_tools.registry import invoke
from insforge_tools.transports.cli import classify_failure

UPLOADED = {"bucket": "media", "key": "k", "size": 1, "mimeType": "text/plain", "uploadedAt": "t", "url": "u"}


def _answer_uploads(backend: ScriptedBackend, key: str) -> None:
    """Return an upload result for a PUT of ``key`` (routes match the decoded path)."""
    path = f"/api/storage/buckets/media/objects/{key}"
    backend.routes[("PUT", path)] = lambda request: httpx.Response(200, json=UPLOADED)


@pytest.mark.parametrize(
    ("key", "raw_path"),
    [
        ("products/p1/main.jpg", "/api/storage/buckets/media/objects/products%2Fp1%2Fmain.jpg"),
        ("my file.txt", "/api/storage/buckets/media/objects/my%20file.txt"),
        ("notes #1.txt", "/api/storage/buckets/media/objects/notes%20%231.txt"),
        ("what?.txt", "/api/storage/buckets/media/objects/what%3F.txt"),
        ("café/ü.txt", "/api/storage/buckets/media/objects/caf%C3%A9%2F%C3%BC.txt"),
        ("/leading/slash.txt", "/api/storage/buckets/media/objects/leading%2Fslash.txt"),
    ],
)
async def test_upload_key_encoding(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend, key: str, raw_path: str
) -> None:
    _answer_uploads(backend, key.lstrip("/"))
    await invoke(make_context(), "insforge_storage_upload", {"bucket": "media", "key": key, "content": "x"})
    request = backend.requests[0]
    assert request.method == "PUT"
    assert request.url.raw_path.decode() == raw_path


async def test_upload_png_content_type(
    make_context: Callable[..., Context], linked: Path, workspace: Path, backend: ScriptedBackend
) -> None:
    _answer_uploads(backend, "cover.png")
    (workspace / "cover.png").write_bytes(b"\x89PNG\r\n")
    await invoke(make_context(), "insforge_storage_upload", {"bucket": "media", "path": "cover.png"})
    body = backend.requests[0].content
    assert b'filename="cover.png"' in body
    assert b"Content-Type: image/png" in body
    assert backend.requests[0].url.raw_path.endswith(b"/objects/cover.png")


async def test_upload_content_type_override(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    _answer_uploads(backend, "data.bin")
    args = {"bucket": "media", "key": "data.bin", "content": "{}", "content_type": "application/json"}
    await invoke(make_context(), "insforge_storage_upload", args)
    assert b"Content-Type: application/json" in backend.requests[0].content


def test_key_rules() -> None:
    assert storage.normalize_key("//a/b") == "a/b"
    for bad in ("/", "..", "a\x00b"):
        with pytest.raises(ValueError):
            storage.normalize_key(bad)
    assert storage.content_type_for("photos/cover.png") == "image/png"
    assert storage.content_type_for("no-extension") == "application/octet-stream"


async def test_upload_outside_workspace(
    make_context: Callable[..., Context], linked: Path, tmp_path: Path, backend: ScriptedBackend
) -> None:
    (tmp_path / "secret.txt").write_text("x")
    with pytest.raises(InvalidInputError, match="outside the workspace"):
        await invoke(make_context(), "insforge_storage_upload", {"bucket": "media", "path": "../secret.txt"})
    with pytest.raises(InvalidInputError, match=".insforge"):
        await invoke(
            make_context(), "insforge_storage_upload", {"bucket": "media", "path": ".insforge/project.json"}
        )
    assert backend.requests == []


async def test_upload_symlink_out_rejected(
    make_context: Callable[..., Context],
    linked: Path,
    workspace: Path,
    tmp_path: Path,
    backend: ScriptedBackend,
) -> None:
    (tmp_path / "outside.txt").write_text("x")
    (workspace / "link.txt").symlink_to(tmp_path / "outside.txt")
    with pytest.raises(InvalidInputError, match="outside the workspace"):
        await invoke(make_context(), "insforge_storage_upload", {"bucket": "media", "path": "link.txt"})
    assert backend.requests == []


async def test_upload_size_checked_first(
    make_context: Callable[..., Context],
    linked: Path,
    backend: ScriptedBackend,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(storage, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(InvalidInputError, match="more than the upload limit of 10 bytes") as caught:
        await invoke(
            make_context(), "insforge_storage_upload", {"bucket": "media", "key": "a", "content": "x" * 11}
        )
    assert caught.value.code == "PAYLOAD_TOO_LARGE"
    assert backend.requests == []


async def test_upload_inline_needs_key() -> None:
    with pytest.raises(ValueError, match="needs a key"):
        storage.UploadArgs(bucket="media", content="x")


async def test_download_missing_names_key(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    path = "/api/storage/buckets/media/objects/products/p1/main.jpg"
    backend.on(
        "GET", path, 404, {"error": "STORAGE_NOT_FOUND", "message": "Object not found", "statusCode": 404}
    )
    with pytest.raises(NotFoundError) as caught:
        await invoke(
            make_context(), "insforge_storage_download", {"bucket": "media", "key": "products/p1/main.jpg"}
        )
    assert "'products/p1/main.jpg'" in caught.value.message
    assert "products%2Fp1%2Fmain.jpg" in caught.value.message
    assert caught.value.code == "STORAGE_NOT_FOUND"


async def test_download_binary_not_inline(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.routes[("GET", "/api/storage/buckets/media/objects/a.bin")] = lambda request: httpx.Response(
        200, content=b"\xff\xfe\x00", headers={"content-type": "application/octet-stream"}
    )
    result = await invoke(make_context(), "insforge_storage_download", {"bucket": "media", "key": "a.bin"})
    assert result.text is None
    assert result.size == 3
    assert "binary" in (result.note or "")
    assert "\\x" not in result.model_dump_json()


async def test_download_no_overwrite(
    make_context: Callable[..., Context], linked: Path, workspace: Path, backend: ScriptedBackend
) -> None:
    (workspace / "a.txt").write_text("keep")
    with pytest.raises(InvalidInputError, match="already exists"):
        await invoke(
            make_context(),
            "insforge_storage_download",
            {"bucket": "media", "key": "a.txt", "save_to": "a.txt"},
        )
    assert (workspace / "a.txt").read_text() == "keep"
    assert backend.requests == []


async def test_list_objects_params(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    body: dict[str, Any] = {"data": [], "pagination": {"offset": 5, "limit": 2, "total": 0}}
    backend.on("GET", "/api/storage/buckets/media/objects", body=body)
    args = {"bucket": "media", "prefix": "a/", "search": "x", "limit": 2, "offset": 5}
    result = await invoke(make_context(), "insforge_storage_list_objects", args)
    params = dict(backend.requests[0].url.params)
    assert params == {"limit": "2", "offset": "5", "prefix": "a/", "search": "x"}
    assert result.total == 0


async def test_create_bucket_private_default(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend, cli: ScriptedCli
) -> None:
    backend.on(
        "POST", "/api/storage/buckets", 201, {"message": "ok", "bucketName": "media", "isPublic": False}
    )
    result = await invoke(make_context(), "insforge_storage_create_bucket", {"bucket": "media"})
    assert backend.json_of(0) == {"bucketName": "media", "isPublic": False}
    assert result.public is False

    cli.answer({"message": "ok", "bucketName": "media", "isPublic": False})
    await invoke(make_context(transport="cli"), "insforge_storage_create_bucket", {"bucket": "media"})
    assert cli.calls[0]["args"] == ["storage", "create-bucket", "--private", "--json", "--", "media"]


async def test_delete_bucket_needs_approval(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    with pytest.raises(ApprovalError):
        await invoke(
            make_context(approver=DenyingApprover()), "insforge_storage_delete_bucket", {"bucket": "media"}
        )
    assert backend.requests == []


async def test_delete_bucket_cli_argv(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli
) -> None:
    cli.answer({"message": "Bucket deleted successfully"})
    await invoke(make_context(transport="cli"), "insforge_storage_delete_bucket", {"bucket": "media"})
    assert cli.calls[0]["args"] == ["storage", "delete-bucket", "-y", "--json", "--", "media"]


def test_cli_bare_code_mapped() -> None:
    error = classify_failure("storage download", 1, "", '{"error":"STORAGE_NOT_FOUND"}\n')
    assert isinstance(error, NotFoundError)
    assert error.code == "STORAGE_NOT_FOUND"
    error = classify_failure("storage upload", 1, "", '{"error":"DATABASE_CONSTRAINT_VIOLATION"}\n')
    assert isinstance(error, InvalidInputError)


async def test_list_objects_unknown_bucket_is_not_found(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    # The backend answers 200 with an empty list for a bucket that does not exist.
    empty: dict[str, Any] = {"data": [], "pagination": {"offset": 0, "limit": 100, "total": 0}}
    backend.on("GET", "/api/storage/buckets/nope/objects", body=empty)
    backend.on("GET", "/api/storage/buckets", body=[{"name": "media", "public": False, "createdAt": "t"}])

    with pytest.raises(NotFoundError, match="'nope' does not exist"):
        await invoke(make_context(), "insforge_storage_list_objects", {"bucket": "nope"})


async def test_list_objects_empty_bucket_is_empty(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    empty: dict[str, Any] = {"data": [], "pagination": {"offset": 0, "limit": 100, "total": 0}}
    backend.on("GET", "/api/storage/buckets/media/objects", body=empty)
    backend.on("GET", "/api/storage/buckets", body=[{"name": "media", "public": False, "createdAt": "t"}])

    result = await invoke(make_context(), "insforge_storage_list_objects", {"bucket": "media"})

    assert result.objects == []
