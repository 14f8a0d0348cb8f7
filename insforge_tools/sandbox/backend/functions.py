"""Edge function routes: definitions in ``functions.definitions`` and the unavailable runtime proxy.

The sandbox runs no function runtime, like the recorded server without Deno:
``GET /api/functions`` reports ``runtime.status = "unavailable"`` and every
invocation under ``/functions/<slug>`` returns 502 with a bare ``error``.
"""

from __future__ import annotations

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

SLUG = re.compile(r"^[A-Za-z0-9_-]+$")
RESERVED_SLUGS = {"health"}
STATUSES = ("draft", "active")
COLUMNS = "id, slug, name, description, code, status, created_at, updated_at, deployed_at"


def _function_body(row: asyncpg.Record, *, with_code: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(row["id"]),
        "slug": row["slug"],
        "name": row["name"],
        "description": row["description"],
    }
    if with_code:
        body["code"] = row["code"]
    body["status"] = row["status"]
    body["createdAt"] = iso_timestamp(row["created_at"])
    body["updatedAt"] = iso_timestamp(row["updated_at"])
    body["deployedAt"] = iso_timestamp(row["deployed_at"]) if row["deployed_at"] else None
    return body


def _slug_from_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _check_status(value: Any) -> str | None:
    if value is not None and value not in STATUSES:
        raise ApiError(400, "INVALID_INPUT", "status: Invalid enum value. Expected 'draft' | 'active'")
    return value  # type: ignore[no-any-return]


async def list_functions(request: Request) -> Response:
    require_admin(request)
    rows = await get_state(request).db.fetch(
        f"SELECT {COLUMNS} FROM functions.definitions ORDER BY created_at"  # noqa: S608 - constant column list
    )
    return JsonResponse(
        {
            "functions": [_function_body(row, with_code=False) for row in rows],
            "runtime": {"status": "unavailable"},
            "deploymentUrl": None,
        }
    )


async def create_function(request: Request) -> Response:
    require_admin(request)
    body = await read_json(request)
    name = expect_type(body, "name", "string")
    code = expect_type(body, "code", "string")
    slug = expect_type(body, "slug", "string", required=False) or _slug_from_name(name)
    description = expect_type(body, "description", "string", required=False)
    status = _check_status(body.get("status")) or "active"

    if slug in RESERVED_SLUGS:
        raise ApiError(
            400,
            "FUNCTION_SLUG_RESERVED",
            f'Reserved slug - "{slug}" is used by the functions runtime '
            "and cannot be used as a function slug",
        )
    if not SLUG.match(slug):
        raise ApiError(
            400,
            "INVALID_INPUT",
            "slug: Invalid slug format - must contain only letters, numbers, hyphens, and underscores",
        )

    try:
        row = await get_state(request).db.fetchrow(
            f"""
            INSERT INTO functions.definitions (slug, name, description, code, status, deployed_at)
            VALUES ($1, $2, $3, $4, $5, CASE WHEN $5 = 'active' THEN now() END)
            RETURNING {COLUMNS}
            """,  # noqa: S608 - constant column list
            slug,
            name,
            description,
            code,
            status,
        )
    except asyncpg.UniqueViolationError as exc:
        raise ApiError(409, "FUNCTION_ALREADY_EXISTS", "Function with this slug already exists") from exc
    assert row is not None
    return JsonResponse(
        {"success": True, "function": _function_body(row), "deployment": None}, status_code=201
    )


async def get_function(request: Request) -> Response:
    require_admin(request)
    row = await get_state(request).db.fetchrow(
        f"SELECT {COLUMNS} FROM functions.definitions WHERE slug = $1",  # noqa: S608 - constant column list
        request.path_params["slug"],
    )
    if row is None:
        raise ApiError(404, "FUNCTION_NOT_FOUND", "Function not found")
    return JsonResponse(_function_body(row))


async def update_function(request: Request) -> Response:
    require_admin(request)
    body = await read_json(request)
    name = expect_type(body, "name", "string", required=False)
    code = expect_type(body, "code", "string", required=False)
    description = expect_type(body, "description", "string", required=False)
    status = _check_status(body.get("status"))
    row = await get_state(request).db.fetchrow(
        f"""
        UPDATE functions.definitions SET
          name = coalesce($2, name),
          code = coalesce($3, code),
          description = CASE WHEN $5 THEN $4 ELSE description END,
          status = coalesce($6, status),
          updated_at = now(),
          deployed_at = CASE WHEN coalesce($6, status) = 'active' AND ($3 IS NOT NULL OR $6 IS NOT NULL)
                             THEN now() ELSE deployed_at END
        WHERE slug = $1
        RETURNING {COLUMNS}
        """,  # noqa: S608 - constant column list
        request.path_params["slug"],
        name,
        code,
        description,
        "description" in body,
        status,
    )
    if row is None:
        raise ApiError(404, "FUNCTION_NOT_FOUND", "Function not found")
    return JsonResponse({"success": True, "function": _function_body(row), "deployment": None})


async def delete_function(request: Request) -> Response:
    require_admin(request)
    slug = request.path_params["slug"]
    deleted = await get_state(request).db.fetchval(
        "DELETE FROM functions.definitions WHERE slug = $1 RETURNING slug", slug
    )
    if deleted is None:
        raise ApiError(404, "FUNCTION_NOT_FOUND", "Function not found")
    return JsonResponse({"success": True, "message": f"Function {slug} deleted successfully"})


async def invoke_function(request: Request) -> Response:
    """Return what the real proxy returns when its runtime is down: 502 with only ``error``."""
    port = get_state(request).runtime_port
    slug = request.path_params["slug"]
    message = (
        f"request to http://127.0.0.1:{port}/{slug} failed, reason: connect ECONNREFUSED 127.0.0.1:{port}"
    )
    return JsonResponse({"error": message}, status_code=502)


ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]

routes = [
    Route("/api/functions", list_functions, methods=["GET"]),
    Route("/api/functions", create_function, methods=["POST"]),
    Route("/api/functions/{slug}", get_function, methods=["GET"]),
    Route("/api/functions/{slug}", update_function, methods=["PUT"]),
    Route("/api/functions/{slug}", delete_function, methods=["DELETE"]),
    Route("/functions/{slug}", invoke_function, methods=ALL_METHODS),
    Route("/functions/{slug}/{rest:path}", invoke_function, methods=ALL_METHODS),
]
