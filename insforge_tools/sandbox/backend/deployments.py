"""Site deployments: the direct-upload flow of ``insforge deployments deploy``, served on loopback.

The real backend hands the uploaded files to Vercel. This stand-in keeps them
itself and serves a finished deployment at ``<backend>/sites/<id>/``, so a
deployment's ``url`` is a loopback URL and ``provider`` is ``"sandbox"``.

A deployment moves WAITING (created) → UPLOADING (first file received) →
BUILDING (``start``) → READY or ERROR. The build runs no commands: it finishes
on the first read (``GET`` or ``sync``) made at least :data:`BUILD_SECONDS`
after ``start``, and it fails by one fixed rule (see :func:`build_failure`).
Deployment records live in memory; file bytes live on disk under
``<storage_dir>/.deployments/blobs/<sha1>``, and a file whose SHA-1 is already
stored is reported as uploaded when a new deployment lists it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mimetypes
import re
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from insforge_tools.sandbox.backend.errors import ApiError, JsonResponse
from insforge_tools.sandbox.backend.inputs import expect_type, get_state, read_json, require_admin
from insforge_tools.sandbox.backend.state import BackendState
from insforge_tools.sandbox.backend.values import iso_timestamp

__all__ = ["BUILD_SECONDS", "build_failure", "record_build", "routes"]

# Time a build takes in the stand-in; a read before then still reports BUILDING.
BUILD_SECONDS = 0.2
MAX_FILES = 5000
MAX_PATH_CHARS = 2048
SHA1_HEX = re.compile(r"^[0-9a-fA-F]{40}$")
FAILING_EXIT = re.compile(r"\bexit\s+([1-9][0-9]*)\b")
FINISHED = ("READY", "ERROR", "CANCELED")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _blob_dir(state: BackendState) -> Path:
    # A leading dot keeps this folder apart from bucket folders, whose names cannot start with one.
    return state.storage_dir / ".deployments" / "blobs"


def _blob_path(state: BackendState, sha: str) -> Path:
    return _blob_dir(state) / sha.lower()


def _site_url(request: Request, deployment_id: str) -> str:
    return f"{str(request.base_url).rstrip('/')}/sites/{deployment_id}/"


def _public(deployment: dict[str, Any]) -> dict[str, Any]:
    """Return the DeploymentSchema body of a deployment record."""
    return {
        "id": deployment["id"],
        "providerDeploymentId": deployment["providerDeploymentId"],
        "provider": "sandbox",
        "status": deployment["status"],
        "url": deployment["url"],
        "metadata": deployment["metadata"],
        "createdAt": iso_timestamp(deployment["createdAt"]),
        "updatedAt": iso_timestamp(deployment["updatedAt"]),
    }


def _file_body(entry: dict[str, Any]) -> dict[str, Any]:
    uploaded = entry["uploadedAt"]
    return {
        "fileId": entry["fileId"],
        "path": entry["path"],
        "sha": entry["sha"],
        "size": entry["size"],
        "uploadedAt": iso_timestamp(uploaded) if uploaded else None,
    }


def _find(request: Request) -> dict[str, Any]:
    deployment = get_state(request).deployments.get(request.path_params["id"])
    if deployment is None:
        raise ApiError(404, "NOT_FOUND", f"Deployment not found: {request.path_params['id']}")
    return deployment


def _already(deployment: dict[str, Any], consequence: str) -> ApiError:
    return ApiError(
        400, "INVALID_INPUT", f"Deployment {deployment['id']} is {deployment['status']}, so {consequence}."
    )


def _touch(deployment: dict[str, Any], status: str) -> None:
    deployment["status"] = status
    deployment["updatedAt"] = _now()


# --- build logs ----------------------------------------------------------------------------------


def record_build(state: BackendState, deployment_id: str, status: str, lines: list[tuple[str, str]]) -> None:
    """Store the build log of a site or function deployment for ``GET /api/logs/functions/build-logs``.

    Args:
        status: ``pending``, ``success`` or ``failed``.
        lines: ``(level, message)`` pairs in order.
    """
    # Re-inserting moves the build to the end, where the "most recent build" lookup reads.
    state.builds.pop(deployment_id, None)
    state.builds[deployment_id] = {
        "deploymentId": deployment_id,
        "status": status,
        "logs": [{"level": level, "message": message} for level, message in lines],
        "createdAt": iso_timestamp(_now()),
    }


async def build_logs(request: Request) -> Response:
    """Return the build log of ``deployment_id``, or of the most recent build.

    NOTE: the real route reports only Deno function builds; the stand-in lists site
    deployments here too, so one place holds every deploy failure.
    """
    require_admin(request)
    builds = get_state(request).builds
    requested_id = request.query_params.get("deployment_id")
    if requested_id:
        build = builds.get(requested_id)
    else:
        build = list(builds.values())[-1] if builds else None
    if build is None:
        raise ApiError(
            404,
            "NOT_FOUND",
            "Build logs not available. Deno Subhosting may not be configured or no deployments found.",
        )
    return JsonResponse(build)


# --- the build rule ------------------------------------------------------------------------------


def build_failure(files: dict[str, bytes]) -> list[str] | None:
    """Return the error lines of a failing build, or None when the build succeeds.

    The rule: a root ``package.json`` that is not valid JSON fails, and so does one whose
    ``scripts.build`` contains ``exit N`` with N > 0 (for example ``"build": "vite build && exit 1"``).
    Everything else builds.
    """
    manifest = files.get("package.json")
    if manifest is None:
        return None
    try:
        package = json.loads(manifest.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [f"Error: package.json is not valid JSON: {exc}"]
    scripts = package.get("scripts") if isinstance(package, dict) else None
    command = scripts.get("build") if isinstance(scripts, dict) else None
    if not isinstance(command, str):
        return None
    failing = FAILING_EXIT.search(command)
    if failing is None:
        return None
    return [
        f"> {command}",
        f'Error: Command "npm run build" exited with {failing.group(1)}',
    ]


def _finish_build(request: Request, deployment: dict[str, Any]) -> None:
    """Complete a BUILDING deployment once its build time has passed."""
    if deployment["status"] != "BUILDING" or time.monotonic() - deployment["startedAt"] < BUILD_SECONDS:
        return
    state = get_state(request)
    files = {entry["path"]: _blob_path(state, entry["sha"]).read_bytes() for entry in deployment["files"]}
    log = [("info", f"Building {len(files)} files")]
    errors = build_failure(files)
    if errors is None:
        deployment["url"] = _site_url(request, deployment["id"])
        log.append(("info", f"Deployment ready at {deployment['url']}"))
        deployment["metadata"]["buildLogs"] = [message for _, message in log]
        record_build(state, deployment["id"], "success", log)
        _touch(deployment, "READY")
        state.current_deployment_id = deployment["id"]
        return

    log += [("error", line) for line in errors]
    deployment["metadata"]["buildLogs"] = [message for _, message in log]
    # The CLI reports metadata.error.errorMessage when a deployment ends in ERROR.
    deployment["metadata"]["error"] = {"errorCode": "BUILD_FAILED", "errorMessage": errors[-1]}
    record_build(state, deployment["id"], "failed", log)
    _touch(deployment, "ERROR")


# --- routes --------------------------------------------------------------------------------------


def _manifest_entry(item: Any, index: int) -> dict[str, Any]:
    prefix = f"files.{index}"
    if not isinstance(item, dict):
        raise ApiError(400, "INVALID_INPUT", f"{prefix}: Expected object")
    path = item.get("path")
    sha = item.get("sha")
    size = item.get("size")
    if not isinstance(path, str) or not path or len(path) > MAX_PATH_CHARS:
        raise ApiError(400, "INVALID_INPUT", f"{prefix}.path: Expected a relative path of 1 to 2048 chars")
    parts = PurePosixPath(path).parts
    if path.startswith("/") or "\\" in path or any(part in ("..", ".") for part in parts):
        message = f"{prefix}.path: {path!r} must be relative and use forward slashes"
        raise ApiError(400, "INVALID_INPUT", message)
    if not isinstance(sha, str) or not SHA1_HEX.match(sha):
        raise ApiError(400, "INVALID_INPUT", f"{prefix}.sha: Expected the 40-digit SHA-1 hex digest")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ApiError(400, "INVALID_INPUT", f"{prefix}.size: Expected a whole number of bytes, 0 or more")
    return {"path": path, "sha": sha.lower(), "size": size}


async def create_direct(request: Request) -> Response:
    require_admin(request)
    state = get_state(request)
    body = await read_json(request)
    files = expect_type(body, "files", "array")
    if not 1 <= len(files) <= MAX_FILES:
        raise ApiError(400, "INVALID_INPUT", f"files: Expected 1 to {MAX_FILES} files, received {len(files)}")

    entries = [_manifest_entry(item, index) for index, item in enumerate(files)]
    paths = [entry["path"] for entry in entries]
    duplicates = sorted({path for path in paths if paths.count(path) > 1})
    if duplicates:
        raise ApiError(400, "INVALID_INPUT", f"files: Duplicate paths: {', '.join(duplicates)}")

    now = _now()
    for entry in entries:
        entry["fileId"] = str(uuid.uuid4())
        blob = _blob_path(state, entry["sha"])
        entry["uploadedAt"] = now if blob.is_file() and blob.stat().st_size == entry["size"] else None

    deployment_id = str(uuid.uuid4())
    state.deployments[deployment_id] = {
        "id": deployment_id,
        "providerDeploymentId": None,
        "status": "WAITING",
        "url": None,
        "metadata": {"fileCount": len(entries)},
        "createdAt": now,
        "updatedAt": now,
        "files": entries,
        "startedAt": 0.0,
    }
    return JsonResponse(
        {"id": deployment_id, "status": "WAITING", "files": [_file_body(entry) for entry in entries]},
        status_code=201,
    )


async def upload_file(request: Request) -> Response:
    require_admin(request)
    state = get_state(request)
    deployment = _find(request)
    file_id = request.path_params["file_id"]
    entry = next((item for item in deployment["files"] if item["fileId"] == file_id), None)
    if entry is None:
        raise ApiError(404, "NOT_FOUND", f"Deployment file not found: {file_id}")
    if deployment["status"] not in ("WAITING", "UPLOADING"):
        raise _already(deployment, "its files can no longer change")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/octet-stream":
        raise ApiError(415, "INVALID_INPUT", "File content must be uploaded as application/octet-stream")

    content = await request.body()
    if len(content) != entry["size"]:
        raise ApiError(
            400,
            "INVALID_INPUT",
            f"Size mismatch for {entry['path']}: the manifest says {entry['size']} bytes, "
            f"received {len(content)}",
        )
    digest = hashlib.sha1(content).hexdigest()  # noqa: S324 - a content id, as the manifest defines it
    if digest != entry["sha"]:
        raise ApiError(
            400,
            "INVALID_INPUT",
            f"SHA-1 mismatch for {entry['path']}: the manifest says {entry['sha']}, received {digest}",
        )

    blob = _blob_path(state, digest)
    blob.parent.mkdir(parents=True, exist_ok=True)
    partial = blob.with_name(f"{digest}.{uuid.uuid4().hex}.part")
    partial.write_bytes(content)
    partial.replace(blob)
    entry["uploadedAt"] = _now()
    _touch(deployment, "UPLOADING")
    return JsonResponse(_file_body(entry))


def _start_options(body: Any) -> tuple[list[str], dict[str, str]]:
    """Check the ``start`` body; return the environment variable names and the meta object."""
    env_vars = expect_type(body, "envVars", "array", required=False) or []
    names = []
    for index, item in enumerate(env_vars):
        valid = (
            isinstance(item, dict) and isinstance(item.get("key"), str) and isinstance(item.get("value"), str)
        )
        if not valid:
            raise ApiError(400, "INVALID_INPUT", f"envVars.{index}: Expected {{key: string, value: string}}")
        names.append(item["key"])
    meta = expect_type(body, "meta", "object", required=False) or {}
    for key, value in meta.items():
        if not isinstance(value, str):
            raise ApiError(400, "INVALID_INPUT", f"meta.{key}: Expected string")
    return names, meta


async def start(request: Request) -> Response:
    require_admin(request)
    deployment = _find(request)
    body = await read_json(request)
    env_names, meta = _start_options(body)
    if deployment["status"] not in ("WAITING", "UPLOADING"):
        raise _already(deployment, "it cannot start again")
    pending = [entry["path"] for entry in deployment["files"] if not entry["uploadedAt"]]
    if pending:
        raise ApiError(
            400,
            "INVALID_INPUT",
            f"{len(pending)} files have not been uploaded: {', '.join(pending[:5])}",
            "Upload each file with PUT /api/deployments/:id/files/:fileId/content, then start again.",
        )

    # Only the names of environment variables are kept; their values never leave the request.
    if env_names:
        deployment["metadata"]["envVarKeys"] = env_names
    if meta:
        deployment["metadata"]["meta"] = meta
    deployment["providerDeploymentId"] = f"sbx_{uuid.uuid4().hex[:24]}"
    deployment["startedAt"] = time.monotonic()
    _touch(deployment, "BUILDING")
    record_build(get_state(request), deployment["id"], "pending", [("info", "Build queued")])
    return JsonResponse(_public(deployment))


async def get_deployment(request: Request) -> Response:
    require_admin(request)
    deployment = _find(request)
    _finish_build(request, deployment)
    return JsonResponse(_public(deployment))


async def cancel(request: Request) -> Response:
    require_admin(request)
    deployment = _find(request)
    _finish_build(request, deployment)
    if deployment["status"] in FINISHED:
        # NOTE: the real server's answer for a finished deployment was not recorded.
        raise _already(deployment, "only an unfinished deployment can be canceled")
    _touch(deployment, "CANCELED")
    return JsonResponse({"success": True, "message": f"Deployment {deployment['id']} canceled"})


def _page_number(request: Request, name: str, default: int, minimum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ApiError(400, "INVALID_INPUT", f"{name}: Expected a whole number of at least {minimum}")
    return int(raw)


async def list_deployments(request: Request) -> Response:
    require_admin(request)
    limit = _page_number(request, "limit", 50, 1)
    offset = _page_number(request, "offset", 0, 0)
    every = sorted(get_state(request).deployments.values(), key=lambda item: item["createdAt"], reverse=True)
    for deployment in every:
        _finish_build(request, deployment)
    page = every[offset : offset + limit]
    # NOTE: the published description returns a bare array with Content-Range; the CLI accepts either.
    return JsonResponse(
        {
            "data": [_public(item) for item in page],
            "pagination": {"offset": offset, "limit": limit, "total": len(every)},
        }
    )


async def deployment_metadata(request: Request) -> Response:
    require_admin(request)
    state = get_state(request)
    current = state.deployments.get(state.current_deployment_id or "")
    return JsonResponse(
        {
            "currentDeploymentId": current["id"] if current else None,
            "defaultDomainUrl": current["url"] if current else None,
            "customDomainUrl": None,
        }
    )


async def serve_site(request: Request) -> Response:
    """Serve a file of a READY deployment; a path ending in ``/`` serves its ``index.html``."""
    state = get_state(request)
    deployment = state.deployments.get(request.path_params["id"])
    if deployment is not None:
        _finish_build(request, deployment)
    if deployment is None or deployment["status"] != "READY":
        return Response("Not Found", status_code=404, media_type="text/plain")

    path = request.path_params.get("path", "")
    if path == "" or path.endswith("/"):
        path += "index.html"
    entry = next((item for item in deployment["files"] if item["path"] == path), None)
    if entry is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return FileResponse(_blob_path(state, entry["sha"]), media_type=media_type)


routes = [
    Route("/api/deployments", list_deployments, methods=["GET"]),
    Route("/api/deployments/direct", create_direct, methods=["POST"]),
    Route("/api/deployments/metadata", deployment_metadata, methods=["GET"]),
    Route("/api/deployments/{id}", get_deployment, methods=["GET"]),
    Route("/api/deployments/{id}/files/{file_id}/content", upload_file, methods=["PUT"]),
    Route("/api/deployments/{id}/start", start, methods=["POST"]),
    Route("/api/deployments/{id}/sync", get_deployment, methods=["POST"]),
    Route("/api/deployments/{id}/cancel", cancel, methods=["POST"]),
    Route("/api/logs/functions/build-logs", build_logs, methods=["GET"]),
    Route("/sites/{id}/{path:path}", serve_site, methods=["GET", "HEAD"]),
]
