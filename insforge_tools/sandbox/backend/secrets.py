"""Secret routes backed by ``system.secrets``, including the reserved system keys."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from insforge_tools.sandbox.backend.errors import ApiError, JsonResponse
from insforge_tools.sandbox.backend.inputs import expect_type, get_state, read_json, require_admin
from insforge_tools.sandbox.backend.values import iso_timestamp

__all__ = ["routes"]

KEY_PATTERN = re.compile(r"^[A-Z0-9_]+$")
INVALID_KEY_MESSAGE = (
    "Invalid key format. Use uppercase letters, numbers, and underscores only (e.g., STRIPE_API_KEY)"
)


def _not_found(key: str) -> ApiError:
    return ApiError(404, "SECRET_NOT_FOUND", f"Secret not found: {key}")


def _optional_time(value: dt.datetime | None) -> str | None:
    return iso_timestamp(value) if value else None


async def list_secrets(request: Request) -> Response:
    require_admin(request)
    rows = await get_state(request).db.fetch(
        """
        SELECT id, key, is_active, is_reserved, last_used_at, expires_at, created_at, updated_at
        FROM system.secrets ORDER BY created_at DESC, key
        """
    )
    secrets: list[dict[str, Any]] = [
        {
            "id": str(row["id"]),
            "key": row["key"],
            "isActive": row["is_active"],
            "isReserved": row["is_reserved"],
            "lastUsedAt": _optional_time(row["last_used_at"]),
            "expiresAt": _optional_time(row["expires_at"]),
            "createdAt": iso_timestamp(row["created_at"]),
            "updatedAt": iso_timestamp(row["updated_at"]),
        }
        for row in rows
    ]
    return JsonResponse({"secrets": secrets})


def _expires_at(body: dict[str, Any]) -> dt.datetime | None:
    raw = expect_type(body, "expiresAt", "string", required=False)
    if raw is None:
        return None
    try:
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, "INVALID_INPUT", "expiresAt: Invalid datetime") from exc


async def create_secret(request: Request) -> Response:
    require_admin(request)
    body = await read_json(request)
    key = expect_type(body, "key", "string")
    value = expect_type(body, "value", "string")
    if not KEY_PATTERN.match(key):
        raise ApiError(400, "INVALID_INPUT", INVALID_KEY_MESSAGE)
    try:
        secret_id = await get_state(request).db.fetchval(
            "INSERT INTO system.secrets (key, value, is_reserved, expires_at) "
            "VALUES ($1, $2, $3, $4) RETURNING id",
            key,
            value,
            body.get("isReserved") is True,
            _expires_at(body),
        )
    except asyncpg.UniqueViolationError as exc:
        raise ApiError(409, "SECRET_ALREADY_EXISTS", f"Secret {key} already exists") from exc
    return JsonResponse(
        {"success": True, "message": f"Secret {key} has been created successfully", "id": str(secret_id)},
        status_code=201,
    )


async def get_secret(request: Request) -> Response:
    require_admin(request)
    key = request.path_params["key"]
    value = await get_state(request).db.fetchval(
        "UPDATE system.secrets SET last_used_at = now() WHERE key = $1 RETURNING value", key
    )
    if value is None:
        raise _not_found(key)
    return JsonResponse({"key": key, "value": value})


async def update_secret(request: Request) -> Response:
    require_admin(request)
    key = request.path_params["key"]
    body = await read_json(request)
    value = expect_type(body, "value", "string", required=False)
    is_active = expect_type(body, "isActive", "boolean", required=False)
    is_reserved = expect_type(body, "isReserved", "boolean", required=False)
    updated = await get_state(request).db.fetchval(
        """
        UPDATE system.secrets SET
          value = coalesce($2, value),
          is_active = coalesce($3, is_active),
          is_reserved = coalesce($4, is_reserved),
          expires_at = CASE WHEN $6 THEN $5 ELSE expires_at END,
          updated_at = now()
        WHERE key = $1 RETURNING key
        """,
        key,
        value,
        is_active,
        is_reserved,
        _expires_at(body),
        "expiresAt" in body,
    )
    if updated is None:
        raise _not_found(key)
    return JsonResponse({"success": True, "message": f"Secret {key} has been updated successfully"})


async def delete_secret(request: Request) -> Response:
    require_admin(request)
    key = request.path_params["key"]
    deleted = await get_state(request).db.fetchval(
        "DELETE FROM system.secrets WHERE key = $1 RETURNING key", key
    )
    if deleted is None:
        raise _not_found(key)
    return JsonResponse({"success": True, "message": f"Secret {key} has been deleted successfully"})


routes = [
    Route("/api/secrets", list_secrets, methods=["GET"]),
    Route("/api/secrets", create_secret, methods=["POST"]),
    Route("/api/secrets/{key}", get_secret, methods=["GET"]),
    Route("/api/secrets/{key}", update_secret, methods=["PUT"]),
    Route("/api/secrets/{key}", delete_secret, methods=["DELETE"]),
]
