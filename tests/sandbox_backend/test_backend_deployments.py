"""Site deployments (direct upload) and function deploy failures of the backend stand-in."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx
import pytest

from insforge_tools.sandbox.backend.deployments import BUILD_SECONDS, build_failure
from insforge_tools.sandbox.backend.functions import duplicate_declaration

DEPLOYMENT_FIELDS = [
    "id",
    "providerDeploymentId",
    "provider",
    "status",
    "url",
    "metadata",
    "createdAt",
    "updatedAt",
]
# Bound on polling a build that the stand-in finishes after BUILD_SECONDS.
POLL_LIMIT_SECONDS = 30.0


def manifest(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [
        {"path": path, "sha": hashlib.sha1(content).hexdigest(), "size": len(content)}  # noqa: S324
        for path, content in files.items()
    ]


def upload(admin: httpx.Client, deployment_id: str, file_id: str, content: bytes) -> httpx.Response:
    return admin.put(
        f"/api/deployments/{deployment_id}/files/{file_id}/content",
        content=content,
        headers={"Content-Type": "application/octet-stream"},
    )


def deploy(
    admin: httpx.Client, files: dict[str, bytes], start: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Run the direct flow to the end and return the final deployment body."""
    created = admin.post("/api/deployments/direct", json={"files": manifest(files)})
    assert created.status_code == 201, created.text
    body = created.json()
    for entry in body["files"]:
        if entry["uploadedAt"] is None:
            assert upload(admin, body["id"], entry["fileId"], files[entry["path"]]).status_code == 200
    started = admin.post(f"/api/deployments/{body['id']}/start", json=start or {})
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "BUILDING"
    return wait_finished(admin, body["id"])


def wait_finished(admin: httpx.Client, deployment_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + POLL_LIMIT_SECONDS
    while time.monotonic() < deadline:
        admin.post(f"/api/deployments/{deployment_id}/sync").raise_for_status()
        body: dict[str, Any] = admin.get(f"/api/deployments/{deployment_id}").json()
        if body["status"] != "BUILDING":
            return body
        time.sleep(BUILD_SECONDS / 4)
    raise AssertionError(f"deployment {deployment_id} was still BUILDING after {POLL_LIMIT_SECONDS} s")


SITE = {
    "index.html": b"<!doctype html><title>sandbox site</title>",
    "assets/app.js": b"console.log('hi');\n",
    "img/logo.png": bytes(range(256)) * 2,
}


def test_direct_flow_states(admin: httpx.Client, anonymous: httpx.Client) -> None:
    created = admin.post("/api/deployments/direct", json={"files": manifest(SITE)})
    assert created.status_code == 201
    body = created.json()
    assert list(body) == ["id", "status", "files"]
    assert body["status"] == "WAITING"
    assert [entry["path"] for entry in body["files"]] == list(SITE)
    assert all(list(entry) == ["fileId", "path", "sha", "size", "uploadedAt"] for entry in body["files"])
    deployment_id = body["id"]

    first = body["files"][0]
    uploaded = upload(admin, deployment_id, first["fileId"], SITE[first["path"]])
    assert uploaded.status_code == 200
    assert uploaded.json()["uploadedAt"] is not None
    assert admin.get(f"/api/deployments/{deployment_id}").json()["status"] == "UPLOADING"

    early = admin.post(f"/api/deployments/{deployment_id}/start", json={})
    assert early.status_code == 400
    assert early.json()["message"].startswith("2 files have not been uploaded")

    for entry in body["files"][1:]:
        assert upload(admin, deployment_id, entry["fileId"], SITE[entry["path"]]).status_code == 200
    started = admin.post(
        f"/api/deployments/{deployment_id}/start",
        json={"envVars": [{"key": "API_URL", "value": "env-value-7f3a"}], "meta": {"branch": "main"}},
    )
    assert started.status_code == 200
    assert list(started.json()) == DEPLOYMENT_FIELDS
    assert started.json()["status"] == "BUILDING"
    assert started.json()["providerDeploymentId"].startswith("sbx_")

    final = wait_finished(admin, deployment_id)
    assert final["status"] == "READY"
    assert final["url"] == f"{str(admin.base_url).rstrip('/')}/sites/{deployment_id}/"
    assert final["metadata"]["envVarKeys"] == ["API_URL"]
    assert final["metadata"]["meta"] == {"branch": "main"}
    assert "env-value-7f3a" not in json.dumps(final)

    page = anonymous.get(final["url"])
    assert page.status_code == 200
    assert page.content == SITE["index.html"]
    assert page.headers["content-type"].startswith("text/html")
    logo = anonymous.get(final["url"] + "img/logo.png")
    assert logo.content == SITE["img/logo.png"]
    assert logo.headers["content-type"] == "image/png"
    assert anonymous.get(final["url"] + "missing.html").status_code == 404

    metadata = admin.get("/api/deployments/metadata").json()
    assert metadata == {
        "currentDeploymentId": deployment_id,
        "defaultDomainUrl": final["url"],
        "customDomainUrl": None,
    }

    again = admin.post(f"/api/deployments/{deployment_id}/start", json={})
    assert again.status_code == 400
    canceled = admin.post(f"/api/deployments/{deployment_id}/cancel")
    assert canceled.status_code == 400


def test_direct_dedup_known_files(admin: httpx.Client) -> None:
    deploy(admin, {"index.html": b"dedup one"})
    created = admin.post(
        "/api/deployments/direct", json={"files": manifest({"index.html": b"dedup one", "new.txt": b"new"})}
    ).json()
    uploaded = {entry["path"]: entry["uploadedAt"] for entry in created["files"]}
    assert uploaded["index.html"] is not None
    assert uploaded["new.txt"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"short", "Size mismatch for a.txt: the manifest says 11 bytes, received 5"),
        (b"other bytes", "SHA-1 mismatch for a.txt"),
    ],
)
def test_upload_verification(admin: httpx.Client, content: bytes, message: str) -> None:
    created = admin.post(
        "/api/deployments/direct", json={"files": manifest({"a.txt": b"hello world"})}
    ).json()
    file_id = created["files"][0]["fileId"]
    response = upload(admin, created["id"], file_id, content)
    assert response.status_code == 400
    assert response.json()["error"] == "INVALID_INPUT"
    assert response.json()["message"].startswith(message)
    assert admin.get(f"/api/deployments/{created['id']}").json()["status"] == "WAITING"


def test_upload_content_type(admin: httpx.Client) -> None:
    created = admin.post("/api/deployments/direct", json={"files": manifest({"a.txt": b"x"})}).json()
    response = admin.put(
        f"/api/deployments/{created['id']}/files/{created['files'][0]['fileId']}/content",
        content=b"x",
        headers={"Content-Type": "text/plain"},
    )
    assert response.status_code == 415
    unknown = upload(admin, created["id"], "00000000-0000-0000-0000-000000000000", b"x")
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([], "files: Expected 1 to 5000 files, received 0"),
        (
            [{"path": "/etc/passwd", "sha": "a" * 40, "size": 1}],
            "files.0.path: '/etc/passwd' must be relative",
        ),
        ([{"path": "a/../b", "sha": "a" * 40, "size": 1}], "files.0.path: 'a/../b' must be relative"),
        ([{"path": "a", "sha": "xyz", "size": 1}], "files.0.sha: Expected the 40-digit SHA-1 hex digest"),
        ([{"path": "a", "sha": "a" * 40, "size": -1}], "files.0.size: Expected a whole number"),
        ([{"path": "a", "sha": "a" * 40, "size": 1}] * 2, "files: Duplicate paths: a"),
    ],
)
def test_direct_manifest_invalid(admin: httpx.Client, files: list[Any], message: str) -> None:
    response = admin.post("/api/deployments/direct", json={"files": files})
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


def test_failing_build_logs(admin: httpx.Client) -> None:
    package = {"name": "site", "scripts": {"build": "vite build && exit 2"}}
    final = deploy(admin, {"package.json": json.dumps(package).encode(), "index.html": b"<p>x</p>"})
    assert final["status"] == "ERROR"
    assert final["url"] is None
    assert final["metadata"]["error"]["errorMessage"] == 'Error: Command "npm run build" exited with 2'
    assert final["metadata"]["buildLogs"][-1] == 'Error: Command "npm run build" exited with 2'

    logs = admin.get("/api/logs/functions/build-logs", params={"deployment_id": final["id"]})
    assert logs.status_code == 200
    assert list(logs.json()) == ["deploymentId", "status", "logs", "createdAt"]
    assert logs.json()["status"] == "failed"
    assert {"level": "error", "message": "> vite build && exit 2"} in logs.json()["logs"]
    assert admin.get("/api/logs/functions/build-logs").json()["deploymentId"] == final["id"]
    assert admin.get(f"/sites/{final['id']}/").status_code == 404


def test_build_rule() -> None:
    assert build_failure({"index.html": b""}) is None
    assert build_failure({"package.json": b'{"scripts": {"build": "vite build"}}'}) is None
    assert build_failure({"package.json": b'{"scripts": {"build": "exit 0"}}'}) is None
    assert build_failure({"sub/package.json": b'{"scripts": {"build": "exit 1"}}'}) is None
    assert build_failure({"package.json": b'{"scripts": {"build": "exit 1"}}'}) == [
        "> exit 1",
        'Error: Command "npm run build" exited with 1',
    ]
    broken = build_failure({"package.json": b"{not json"})
    assert broken is not None
    assert broken[0].startswith("Error: package.json is not valid JSON")


def test_cancel_and_list(admin: httpx.Client) -> None:
    created = admin.post("/api/deployments/direct", json={"files": manifest({"c.txt": b"cancel me"})}).json()
    canceled = admin.post(f"/api/deployments/{created['id']}/cancel")
    assert canceled.status_code == 200
    assert canceled.json() == {"success": True, "message": f"Deployment {created['id']} canceled"}
    assert admin.get(f"/api/deployments/{created['id']}").json()["status"] == "CANCELED"

    listing = admin.get("/api/deployments", params={"limit": 1, "offset": 0}).json()
    assert list(listing) == ["data", "pagination"]
    assert listing["data"][0]["id"] == created["id"]
    assert listing["pagination"]["limit"] == 1
    assert listing["pagination"]["total"] >= 1
    assert admin.get("/api/deployments", params={"limit": "0"}).status_code == 400
    missing = admin.get("/api/deployments/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NOT_FOUND"


def test_deployments_need_admin(anonymous: httpx.Client) -> None:
    assert anonymous.get("/api/deployments").status_code == 401
    assert anonymous.post("/api/deployments/direct", json={"files": []}).status_code == 401


# --- function deploy failure -----------------------------------------------------------------------

DUPLICATE_CODE = (
    "const X = 1;\nconst X = 1;\nexport default async function (req) {\n  return new Response('x');\n}\n"
)


def test_duplicate_declaration_rule() -> None:
    assert duplicate_declaration(DUPLICATE_CODE) == ("X", 2, 7)
    assert duplicate_declaration("let a = 1;\nfunction a() {}\n") == ("a", 2, 10)
    assert duplicate_declaration("const X = 1;\nfunction f() {\n  const X = 2;\n}\n") is None
    assert duplicate_declaration("export const X = 1;\nexport class Y {}\nclass X {}\n") == ("X", 3, 7)
    assert duplicate_declaration("var X = 1;\nvar X = 2;\n") is None


def test_function_deploy_failure(admin: httpx.Client) -> None:
    created = admin.post("/api/functions", json={"slug": "dup-decl", "name": "dup", "code": DUPLICATE_CODE})
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is False
    assert body["function"]["status"] == "error"
    deployment = body["deployment"]
    assert deployment["status"] == "failed"
    assert "has already been declared" not in json.dumps(body)

    logs = admin.get("/api/logs/functions/build-logs").json()
    assert logs["deploymentId"] == deployment["id"]
    assert logs["status"] == "failed"
    messages = [line["message"] for line in logs["logs"]]
    assert "SyntaxError: Identifier 'X' has already been declared" in messages

    fixed = admin.put("/api/functions/dup-decl", json={"code": "const X = 1;\nexport default () => X;\n"})
    assert fixed.json()["success"] is True
    assert fixed.json()["deployment"] is None
    assert fixed.json()["function"]["status"] == "active"

    broken_again = admin.put("/api/functions/dup-decl", json={"code": DUPLICATE_CODE})
    assert broken_again.json()["success"] is False
    assert broken_again.json()["function"]["status"] == "error"
    draft = admin.put("/api/functions/dup-decl", json={"code": DUPLICATE_CODE, "status": "draft"})
    assert draft.json()["success"] is True
    assert draft.json()["function"]["status"] == "draft"
    admin.delete("/api/functions/dup-decl").raise_for_status()
