"""Storage routes: buckets and objects on the local file system.

Bucket and object records live in ``storage.buckets`` and ``storage.objects``
(so an upload to an unknown bucket fails on the real foreign key, as on the real
server). Object bytes live under ``storage_dir/<bucket>/<sha256 of the key>``:
the key never becomes part of a path, so no key can escape the directory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
import re
import secrets
import shutil
import string
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import asyncpg
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from insforge_tools.sandbox.backend.errors import ApiError, JsonResponse, api_error_from_postgres
from insforge_tools.sandbox.backend.inputs import (
    expect_type,
    get_state,
    read_json,
    require_admin,
    require_user,
)
from insforge_tools.sandbox.backend.state import BackendState
from insforge_tools.sandbox.backend.values import iso_timestamp

__all__ = ["routes"]

BUCKET_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_KEY_BYTES = 1024
MULTIPART_OVERHEAD_BYTES = 64 * 1024
OBJECT_NOT_FOUND = "Object not found"
LIST_NEXT = (
    "You can use PUT /api/storage/buckets/:bucketName/objects/:objectKey to create or replace a specific "
    "key, POST /api/storage/buckets/:bucketName/objects to upload with an auto-generated key, and "
    "GET /api/storage/buckets/:bucketName/objects/:objectKey to download an object."
)
BUCKET_CREATED_NEXT = (
    "You can use /api/storage/buckets/:bucketName/objects/:objectKey to upload an object to the bucket, and "
    "/api/storage/buckets/:bucketName/objects to list the objects in the bucket."
)


def encode_uri_component(value: str) -> str:
    """Percent-encode ``value`` as JavaScript's ``encodeURIComponent`` does."""
    return quote(value, safe="!'()*-._~")


def object_url(request: Request, bucket: str, key: str, etag: str | None) -> str:
    base = str(request.base_url).rstrip("/")
    url = f"{base}/api/storage/buckets/{encode_uri_component(bucket)}/objects/{encode_uri_component(key)}"
    return f"{url}?v={etag}" if etag else url


def _object_path(state: BackendState, bucket: str, key: str) -> Path:
    if not BUCKET_NAME.match(bucket):
        raise ApiError(400, "STORAGE_INVALID_PARAMETER", f"Invalid bucket name: {bucket!r}")
    return state.storage_dir / bucket / hashlib.sha256(key.encode("utf-8")).hexdigest()


def _check_key(key: str) -> str:
    if not key:
        raise ApiError(400, "INVALID_INPUT", "Object key is required")
    if "\x00" in key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ApiError(
            400,
            "INVALID_INPUT",
            f"Invalid object key: it must be 1 to {MAX_KEY_BYTES} bytes without NUL characters",
        )
    return key


# --- buckets -----------------------------------------------------------------


async def list_buckets(request: Request) -> Response:
    require_admin(request)
    rows = await get_state(request).db.fetch(
        "SELECT name, public, created_at FROM storage.buckets ORDER BY created_at, name"
    )
    return JsonResponse(
        [
            {"name": row["name"], "public": row["public"], "createdAt": iso_timestamp(row["created_at"])}
            for row in rows
        ]
    )


async def create_bucket(request: Request) -> Response:
    require_admin(request)
    body = await read_json(request)
    name = expect_type(body, "bucketName", "string")
    is_public = expect_type(body, "isPublic", "boolean", required=False)
    is_public = True if is_public is None else is_public
    if not BUCKET_NAME.match(name):
        raise ApiError(
            400,
            "STORAGE_INVALID_PARAMETER",
            "Invalid bucket name. Use only letters, numbers, hyphens, and underscores.",
            "Please check the bucket name, it must be a valid bucket name",
        )

    state = get_state(request)
    try:
        await state.db.execute("INSERT INTO storage.buckets (name, public) VALUES ($1, $2)", name, is_public)
    except asyncpg.UniqueViolationError as exc:
        raise ApiError(409, "STORAGE_ALREADY_EXISTS", f'Bucket "{name}" already exists') from exc
    (state.storage_dir / name).mkdir(parents=True, exist_ok=True)

    if is_public:
        visibility = "This is a PUBLIC bucket - objects can be accessed without authentication. "
    else:
        visibility = "This is a PRIVATE bucket - authentication is required to access objects. "
    return JsonResponse(
        {
            "message": "Bucket created successfully",
            "bucketName": name,
            "isPublic": is_public,
            "nextActions": visibility + BUCKET_CREATED_NEXT,
        },
        status_code=201,
    )


async def update_bucket(request: Request) -> Response:
    require_admin(request)
    bucket = request.path_params["bucket"]
    body = await read_json(request)
    is_public = expect_type(body, "isPublic", "boolean")
    updated = await get_state(request).db.fetchval(
        "UPDATE storage.buckets SET public = $2, updated_at = now() WHERE name = $1 RETURNING name",
        bucket,
        is_public,
    )
    if updated is None:
        raise ApiError(404, "STORAGE_NOT_FOUND", "Bucket not found")
    if is_public:
        next_actions = "Bucket is now PUBLIC - objects can be accessed without authentication."
    else:
        next_actions = "Bucket is now PRIVATE - authentication is required to access objects."
    return JsonResponse(
        {
            "message": "Bucket visibility updated",
            "bucket": bucket,
            "isPublic": is_public,
            "nextActions": next_actions,
        }
    )


async def delete_bucket(request: Request) -> Response:
    require_admin(request)
    bucket = request.path_params["bucket"]
    state = get_state(request)
    deleted = await state.db.fetchval("DELETE FROM storage.buckets WHERE name = $1 RETURNING name", bucket)
    if deleted is None:
        raise ApiError(404, "STORAGE_NOT_FOUND", "Bucket not found or already empty")
    if BUCKET_NAME.match(bucket):
        await anyio.to_thread.run_sync(lambda: shutil.rmtree(state.storage_dir / bucket, ignore_errors=True))
    return JsonResponse(
        {
            "message": "Bucket deleted successfully",
            "nextActions": "You can use POST /api/storage/buckets to create a new bucket, and GET "
            "/api/storage/buckets/:bucketName/objects to list the objects in the bucket.",
        }
    )


# --- objects -----------------------------------------------------------------


def _object_entry(request: Request, row: asyncpg.Record) -> dict[str, Any]:
    uploaded_at = iso_timestamp(row["uploaded_at"])
    return {
        "bucket": row["bucket"],
        "key": row["key"],
        "size": row["size"],
        "mime_type": row["mime_type"],
        "uploaded_at": uploaded_at,
        "uploaded_by": str(row["uploaded_by"]) if row["uploaded_by"] else None,
        "uploaded_via": row["uploaded_via"],
        "s3_access_key_id": row["s3_access_key_id"],
        "etag": row["etag"],
        "mimeType": row["mime_type"],
        "uploadedAt": uploaded_at,
        "url": object_url(request, row["bucket"], row["key"], row["etag"]),
    }


def _int_parameter(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(400, "INVALID_INPUT", f"{name}: must be an integer from {low} to {high}")
    return value


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_objects(request: Request) -> Response:
    require_user(request)
    bucket = request.path_params["bucket"]
    prefix = request.query_params.get("prefix") or ""
    search = request.query_params.get("search") or None
    limit = _int_parameter(request, "limit", 100, 1, 1000)
    offset = _int_parameter(request, "offset", 0, 0, 2**31 - 1)

    conditions = "bucket = $1 AND key LIKE $2 ESCAPE '\\' AND ($3::text IS NULL OR key ILIKE $3 ESCAPE '\\')"
    arguments = [bucket, _like_escape(prefix) + "%", f"%{_like_escape(search)}%" if search else None]
    async with get_state(request).db.acquire() as conn:
        rows = await conn.fetch(
            f"SELECT * FROM storage.objects WHERE {conditions} ORDER BY key LIMIT $4 OFFSET $5",  # noqa: S608
            *arguments,
            limit,
            offset,
        )
        count_sql = f"SELECT count(*) FROM storage.objects WHERE {conditions}"  # noqa: S608 - constant text
        total = await conn.fetchval(count_sql, *arguments)
    return JsonResponse(
        {
            "data": [_object_entry(request, row) for row in rows],
            "pagination": {"offset": offset, "limit": limit, "total": total},
            "nextActions": LIST_NEXT,
        }
    )


def _auto_key(filename: str | None) -> str:
    alphabet = string.ascii_lowercase + string.digits
    suffix = "".join(secrets.choice(alphabet) for _ in range(6))
    extension = Path(filename or "").suffix
    return f"auto-{int(time.time() * 1000)}-{suffix}{extension}"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


def _too_large(limit_mb: int) -> ApiError:
    # NOTE: the status and wording of an oversized upload were not recorded; 413 is the HTTP standard.
    return ApiError(
        413,
        "PAYLOAD_TOO_LARGE",
        f"File size exceeds the maximum of {limit_mb} MB",
        "Upload a smaller file or raise maxFileSizeMb with PUT /api/storage/config.",
    )


async def _store_upload(request: Request, bucket: str, key: str | None, status: int) -> Response:
    require_user(request)
    state = get_state(request)
    limit_mb = int(state.storage_config["maxFileSizeMb"])
    limit_bytes = limit_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit_bytes + MULTIPART_OVERHEAD_BYTES:
        raise _too_large(limit_mb)

    async with request.form(max_files=1, max_fields=20) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                400, "INVALID_INPUT", "No file provided", "Send the file in the multipart field 'file'."
            )
        data = await upload.read()
        filename = upload.filename
        content_type = upload.content_type

    if len(data) > limit_bytes:
        raise _too_large(limit_mb)
    key = _check_key(key if key is not None else _auto_key(filename))
    if not content_type or content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(filename or key)[0] or content_type or "application/octet-stream"
    etag = hashlib.md5(data, usedforsecurity=False).hexdigest()

    async with state.db.acquire() as conn, conn.transaction():
        try:
            uploaded_at = await conn.fetchval(
                """
                INSERT INTO storage.objects (bucket, key, size, mime_type, etag)
                VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (bucket, key) DO UPDATE
                  SET size = EXCLUDED.size, mime_type = EXCLUDED.mime_type, etag = EXCLUDED.etag,
                      uploaded_at = now()
                RETURNING uploaded_at
                """,
                bucket,
                key,
                len(data),
                content_type,
                etag,
            )
        except asyncpg.PostgresError as exc:
            raise api_error_from_postgres(exc) from exc
        path = _object_path(state, bucket, key)
        await anyio.to_thread.run_sync(_write_atomically, path, data)

    return JsonResponse(
        {
            "bucket": bucket,
            "key": key,
            "size": len(data),
            "mimeType": content_type,
            "uploadedAt": iso_timestamp(uploaded_at),
            "url": object_url(request, bucket, key, etag),
        },
        status_code=status,
    )


async def put_object(request: Request) -> Response:
    return await _store_upload(request, request.path_params["bucket"], request.path_params["key"], 200)


async def post_object(request: Request) -> Response:
    return await _store_upload(request, request.path_params["bucket"], None, 201)


async def get_object(request: Request) -> Response:
    bucket = request.path_params["bucket"]
    key = request.path_params["key"]
    state = get_state(request)
    is_public = await state.db.fetchval("SELECT public FROM storage.buckets WHERE name = $1", bucket)
    if not is_public:
        require_user(request)
    row = await state.db.fetchrow(
        "SELECT mime_type, etag FROM storage.objects WHERE bucket = $1 AND key = $2", bucket, key
    )
    if row is None:
        raise ApiError(404, "STORAGE_NOT_FOUND", OBJECT_NOT_FOUND)
    try:
        data = await anyio.to_thread.run_sync(_object_path(state, bucket, key).read_bytes)
    except FileNotFoundError as exc:
        raise ApiError(404, "STORAGE_NOT_FOUND", OBJECT_NOT_FOUND) from exc
    headers = {"content-type": row["mime_type"] or "application/octet-stream", "etag": f'"{row["etag"]}"'}
    return Response(data, headers=headers)


async def delete_object(request: Request) -> Response:
    require_user(request)
    bucket = request.path_params["bucket"]
    key = request.path_params["key"]
    state = get_state(request)
    deleted = await state.db.fetchval(
        "DELETE FROM storage.objects WHERE bucket = $1 AND key = $2 RETURNING key", bucket, key
    )
    if deleted is None:
        raise ApiError(404, "STORAGE_NOT_FOUND", OBJECT_NOT_FOUND)
    await anyio.to_thread.run_sync(_unlink, _object_path(state, bucket, key))
    return JsonResponse({"message": "Object deleted successfully"})


async def delete_objects(request: Request) -> Response:
    require_user(request)
    bucket = request.path_params["bucket"]
    body = await read_json(request)
    keys = expect_type(body, "keys", "array")
    if not 1 <= len(keys) <= 1000 or not all(isinstance(key, str) for key in keys):
        raise ApiError(400, "INVALID_INPUT", "keys: must be an array of 1 to 1000 strings")

    state = get_state(request)
    results: list[dict[str, Any]] = []
    for key in keys:
        deleted = await state.db.fetchval(
            "DELETE FROM storage.objects WHERE bucket = $1 AND key = $2 RETURNING key", bucket, key
        )
        if deleted is None:
            results.append({"key": key, "status": "notFound"})
            continue
        await anyio.to_thread.run_sync(_unlink, _object_path(state, bucket, key))
        results.append({"key": key, "status": "deleted"})
    return JsonResponse({"results": results})


async def download_strategy(request: Request) -> Response:
    require_user(request)
    bucket = request.path_params["bucket"]
    key = request.path_params["key"]
    etag = await get_state(request).db.fetchval(
        "SELECT etag FROM storage.objects WHERE bucket = $1 AND key = $2", bucket, key
    )
    if etag is None:
        raise ApiError(404, "STORAGE_NOT_FOUND", OBJECT_NOT_FOUND)
    return JsonResponse(
        {"method": "direct", "url": object_url(request, bucket, key, etag)},
        headers={"Cache-Control": "no-store"},
    )


async def upload_strategy(request: Request) -> Response:
    require_user(request)
    bucket = request.path_params["bucket"]
    body = await read_json(request)
    filename = _check_key(expect_type(body, "filename", "string"))
    return JsonResponse(
        {
            "method": "direct",
            "uploadUrl": object_url(request, bucket, filename, None),
            "key": filename,
            "confirmRequired": False,
        }
    )


# --- configuration -----------------------------------------------------------


def _config_body(state: BackendState) -> dict[str, Any]:
    config = state.storage_config
    return {
        "id": config["id"],
        "maxFileSizeMb": config["maxFileSizeMb"],
        "createdAt": iso_timestamp(config["createdAt"]),
        "updatedAt": iso_timestamp(config["updatedAt"]),
    }


async def get_config(request: Request) -> Response:
    require_admin(request)
    return JsonResponse(_config_body(get_state(request)))


async def put_config(request: Request) -> Response:
    require_admin(request)
    body = await read_json(request)
    size = expect_type(body, "maxFileSizeMb", "number")
    if not isinstance(size, int) or not 1 <= size <= 200:
        raise ApiError(400, "INVALID_INPUT", "maxFileSizeMb: must be an integer from 1 to 200")
    state = get_state(request)
    state.storage_config["maxFileSizeMb"] = size
    state.storage_config["updatedAt"] = dt.datetime.now(dt.UTC)
    return JsonResponse(_config_body(state))


routes = [
    Route("/api/storage/buckets", list_buckets, methods=["GET"]),
    Route("/api/storage/buckets", create_bucket, methods=["POST"]),
    Route("/api/storage/config", get_config, methods=["GET"]),
    Route("/api/storage/config", put_config, methods=["PUT"]),
    Route("/api/storage/buckets/{bucket}", update_bucket, methods=["PATCH"]),
    Route("/api/storage/buckets/{bucket}", delete_bucket, methods=["DELETE"]),
    Route("/api/storage/buckets/{bucket}/objects", list_objects, methods=["GET"]),
    Route("/api/storage/buckets/{bucket}/objects", post_object, methods=["POST"]),
    Route("/api/storage/buckets/{bucket}/objects", delete_objects, methods=["DELETE"]),
    Route("/api/storage/buckets/{bucket}/upload-strategy", upload_strategy, methods=["POST"]),
    Route(
        "/api/storage/buckets/{bucket}/download-strategy/objects/{key:path}",
        download_strategy,
        methods=["GET"],
    ),
    Route("/api/storage/buckets/{bucket}/objects/{key:path}", put_object, methods=["PUT"]),
    Route("/api/storage/buckets/{bucket}/objects/{key:path}", get_object, methods=["GET"]),
    Route("/api/storage/buckets/{bucket}/objects/{key:path}", delete_object, methods=["DELETE"]),
]
