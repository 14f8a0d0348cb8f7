"""Edge function routes: definitions in ``functions.definitions`` and the unavailable runtime proxy.

The sandbox runs no function runtime, like the recorded server without Deno:
``GET /api/functions`` reports ``runtime.status = "unavailable"`` and every
invocation under ``/functions/<slug>`` returns 502 with a bare ``error``.

Deploying active code runs one syntax check, for two top-level declarations of
the same name (see :func:`duplicate_declaration`). A failing deploy stores the
function with status ``error`` and returns ``success: false`` with a failed
``deployment`` whose message does not name the cause, like the real platform,
whose deploy response carries only a generic message. The ``SyntaxError`` line
goes only to the function-deploy build log (``GET /api/logs/functions/build-logs``).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from insforge_tools.sandbox.backend.deployments import record_build
from insforge_tools.sandbox.backend.errors import ApiError, JsonResponse
from insforge_tools.sandbox.backend.inputs import expect_type, get_state, read_json, require_admin
from insforge_tools.sandbox.backend.values import iso_timestamp

__all__ = ["routes"]

SLUG = re.compile(r"^[A-Za-z0-9_-]+$")
RESERVED_SLUGS = {"health"}
STATUSES = ("draft", "active")
COLUMNS = "id, slug, name, description, code, status, created_at, updated_at, deployed_at"
GENERIC_DEPLOY_FAILURE = "Deployment failed: the function bundle did not pass validation."
TOP_LEVEL_DECLARATION = re.compile(
    r"^\s*(?:export\s+)?(?:(?:const|let)\s+(?P<variable>[A-Za-z_$][\w$]*)"
    r"|(?:async\s+)?function\s*\*?\s*(?P<function>[A-Za-z_$][\w$]*)"
    r"|class\s+(?P<class>[A-Za-z_$][\w$]*))"
)


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


def duplicate_declaration(code: str) -> tuple[str, int, int] | None:
    """Find the second top-level ``const``/``let``/``function``/``class`` declaration of one name.

    Returns ``(name, line, column)`` of the repeated declaration (1-based), or None.
    NOTE: a line-based check, not a parser: "top level" means brace depth 0 at the
    start of the line, counting every ``{`` and ``}`` (even inside strings and comments),
    and only one declaration per line is seen.
    """
    seen: set[str] = set()
    depth = 0
    for number, line in enumerate(code.splitlines(), start=1):
        match = TOP_LEVEL_DECLARATION.match(line) if depth == 0 else None
        if match is not None:
            group = next(name for name, value in match.groupdict().items() if value)
            name = match.group(group)
            if name in seen:
                return name, number, match.start(group) + 1
            seen.add(name)
        depth = max(depth + line.count("{") - line.count("}"), 0)
    return None


def _deploy_check(request: Request, slug: str, code: str | None, status: str) -> dict[str, Any] | None:
    """Check the code an active deploy publishes; return the failed ``deployment`` body, or None."""
    if code is None or status != "active":
        return None
    duplicate = duplicate_declaration(code)
    if duplicate is None:
        return None

    name, line, column = duplicate
    deployment_id = str(uuid.uuid4())
    record_build(
        get_state(request),
        deployment_id,
        "failed",
        [
            ("info", f"Bundling function {slug}"),
            ("error", f"SyntaxError: Identifier '{name}' has already been declared"),
            ("error", f"    at file:///functions/{slug}/index.ts:{line}:{column}"),
            ("error", GENERIC_DEPLOY_FAILURE),
        ],
    )
    return {"id": deployment_id, "status": "failed", "url": None, "buildLogs": [GENERIC_DEPLOY_FAILURE]}


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

    failed = _deploy_check(request, slug, code, status)
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
            "error" if failed else status,
        )
    except asyncpg.UniqueViolationError as exc:
        raise ApiError(409, "FUNCTION_ALREADY_EXISTS", "Function with this slug already exists") from exc
    assert row is not None
    return JsonResponse(
        {"success": failed is None, "function": _function_body(row), "deployment": failed}, status_code=201
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
    slug = request.path_params["slug"]

    async with get_state(request).db.acquire() as conn, conn.transaction():
        current = await conn.fetchval(
            "SELECT status FROM functions.definitions WHERE slug = $1 FOR UPDATE", slug
        )
        if current is None:
            raise ApiError(404, "FUNCTION_NOT_FOUND", "Function not found")

        # New code for a function whose last deploy failed is a redeploy of it.
        target = status or ("active" if current == "error" and code is not None else current)
        failed = _deploy_check(request, slug, code, target)
        row = await conn.fetchrow(
            f"""
            UPDATE functions.definitions SET
              name = coalesce($2, name),
              code = coalesce($3, code),
              description = CASE WHEN $5 THEN $4 ELSE description END,
              status = $6,
              updated_at = now(),
              deployed_at = CASE WHEN $6 = 'active' AND ($3 IS NOT NULL OR $7) THEN now() ELSE deployed_at END
            WHERE slug = $1
            RETURNING {COLUMNS}
            """,  # noqa: S608 - constant column list
            slug,
            name,
            code,
            description,
            "description" in body,
            "error" if failed else target,
            status is not None,
        )
    assert row is not None
    return JsonResponse({"success": failed is None, "function": _function_body(row), "deployment": failed})


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
