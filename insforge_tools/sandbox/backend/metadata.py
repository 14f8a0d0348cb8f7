"""Metadata routes: the project summary in JSON or Markdown, its slices and per-table details."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from insforge_tools.sandbox.backend.database import describe_foreign_keys
from insforge_tools.sandbox.backend.errors import ApiError, JsonResponse
from insforge_tools.sandbox.backend.inputs import get_state, require_admin
from insforge_tools.sandbox.backend.sqltext import quote_identifier
from insforge_tools.sandbox.backend.values import iso_timestamp

__all__ = ["routes"]

# The real server reports npm_package_version here, which read 1.0.0 on 2.3.1; /api/health has the release.
METADATA_VERSION = "1.0.0"
DATABASE_HINT = (
    "To retrieve detailed schema information for a specific table, call the get-table-schema tool with the "
    "table name."
)
GIGABYTE = 1024**3

AUTH_CONFIG: dict[str, Any] = {
    "oAuthProviders": [],
    "customOAuthProviders": [],
    "smtpConfig": {
        "enabled": False,
        "host": "",
        "port": 465,
        "username": "",
        "hasPassword": False,
        "senderEmail": "",
        "senderName": "",
        "minIntervalSeconds": 60,
    },
    "requireEmailVerification": False,
    "passwordMinLength": 6,
    "requireNumber": False,
    "requireLowercase": False,
    "requireUppercase": False,
    "requireSpecialChar": False,
    "verifyEmailMethod": "code",
    "resetPasswordMethod": "code",
    "allowedRedirectUrls": [],
    "disableSignup": False,
}
REALTIME: dict[str, Any] = {
    "channels": [],
    "permissions": {"subscribe": {"policies": []}, "publish": {"policies": []}},
}


def _number(value: float) -> float | int:
    """Return ``value`` as JavaScript prints it: a whole number has no ``.0``."""
    return int(value) if float(value).is_integer() else value


async def database_summary(conn: asyncpg.Connection) -> dict[str, Any]:
    names = await conn.fetch(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname
        """
    )
    tables = []
    for row in names:
        relation = f"public.{quote_identifier(row['relname'])}"
        count = await conn.fetchval(f"SELECT count(*) FROM {relation}")  # noqa: S608 - quoted name
        tables.append({"tableName": row["relname"], "recordCount": count})
    size = await conn.fetchval("SELECT pg_database_size(current_database())")
    return {"tables": tables, "totalSizeInGB": _number(size / GIGABYTE), "hint": DATABASE_HINT}


async def storage_summary(conn: asyncpg.Connection) -> dict[str, Any]:
    rows = await conn.fetch(
        """
        SELECT b.name, b.public, b.created_at, count(o.key) AS object_count
        FROM storage.buckets b LEFT JOIN storage.objects o ON o.bucket = b.name
        GROUP BY b.name ORDER BY b.created_at, b.name
        """
    )
    total = await conn.fetchval("SELECT coalesce(sum(size), 0)::bigint FROM storage.objects")
    return {
        "buckets": [
            {
                "name": row["name"],
                "public": row["public"],
                "createdAt": iso_timestamp(row["created_at"]),
                "objectCount": row["object_count"],
            }
            for row in rows
        ],
        "totalSizeInGB": _number(total / GIGABYTE),
    }


async def functions_summary(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT slug, name, status, description FROM functions.definitions ORDER BY created_at"
    )
    return [dict(row) for row in rows]


async def _metadata(request: Request) -> dict[str, Any]:
    async with get_state(request).db.acquire() as conn:
        return {
            "auth": AUTH_CONFIG,
            "database": await database_summary(conn),
            "storage": await storage_summary(conn),
            "functions": await functions_summary(conn),
            "realtime": REALTIME,
            "version": METADATA_VERSION,
        }


def render_markdown(metadata: dict[str, Any]) -> str:
    """Render the metadata as the backend's ``?format=markdown`` document."""
    auth = metadata["auth"]
    lines = ["# Project Metadata", f"> v{metadata['version']}", "", "## Auth"]
    providers = auth["oAuthProviders"]
    if providers:
        lines.append(f"- **OAuth providers**: {', '.join(providers)}")
    lines.append(
        f"- **Email verification**: {'required' if auth['requireEmailVerification'] else 'not required'}"
    )
    lines.append(f"- **Signup**: {'disabled' if auth['disableSignup'] else 'enabled'}")

    database = metadata["database"]
    lines += ["", "## Database"]
    if database["tables"]:
        # NOTE: the table layout is inferred; the recorded document had no tables.
        lines += ["| Table | Records |", "|-------|---------|"]
        lines += [f"| {table['tableName']} | {table['recordCount']} |" for table in database["tables"]]
        lines.append("")
    lines.append(f"- **Total size**: {database['totalSizeInGB']} GB")
    lines.append(f"- **Hint**: {database['hint']}")

    storage = metadata["storage"]
    lines += ["", "## Storage"]
    if storage["buckets"]:
        for bucket in storage["buckets"]:
            visibility = "public" if bucket["public"] else "private"
            lines.append(f"- `{bucket['name']}` — {visibility}, {bucket['objectCount']} objects")
    else:
        lines.append("No storage buckets configured.")
    lines.append(f"- **Total size**: {storage['totalSizeInGB']} GB")

    lines += ["", "## Edge Functions"]
    if metadata["functions"]:
        for function in metadata["functions"]:
            lines.append(f"- `{function['slug']}` — {function['status']}")
    else:
        lines.append("No edge functions deployed.")

    lines += ["", "## Realtime", "No realtime channels configured.", ""]
    return "\n".join(lines)


async def get_metadata(request: Request) -> Response:
    require_admin(request)
    output_format = request.query_params.get("format", "json")
    if output_format not in ("json", "markdown"):
        raise ApiError(400, "INVALID_INPUT", "Invalid format parameter")
    metadata = await _metadata(request)
    if output_format == "markdown":
        return Response(render_markdown(metadata), media_type="text/markdown; charset=utf-8")
    return JsonResponse(metadata)


async def get_auth_metadata(request: Request) -> Response:
    require_admin(request)
    return JsonResponse(AUTH_CONFIG)


async def get_database_metadata(request: Request) -> Response:
    require_admin(request)
    async with get_state(request).db.acquire() as conn:
        return JsonResponse(await database_summary(conn))


async def get_storage_metadata(request: Request) -> Response:
    require_admin(request)
    async with get_state(request).db.acquire() as conn:
        return JsonResponse(await storage_summary(conn))


async def get_functions_metadata(request: Request) -> Response:
    require_admin(request)
    async with get_state(request).db.acquire() as conn:
        return JsonResponse(await functions_summary(conn))


async def get_realtime_metadata(request: Request) -> Response:
    require_admin(request)
    return JsonResponse(REALTIME)


async def get_api_key(request: Request) -> Response:
    require_admin(request)
    return JsonResponse({"apiKey": get_state(request).api_key})


async def get_anon_key(request: Request) -> Response:
    require_admin(request)
    return JsonResponse({"anonKey": get_state(request).anon_key})


async def get_project_id(request: Request) -> Response:
    require_admin(request)
    return JsonResponse({"projectId": None})


async def get_table_metadata(request: Request) -> Response:
    """Describe one public table; an unknown table gives empty lists, as the real server does."""
    require_admin(request)
    table = request.path_params["table"]
    async with get_state(request).db.acquire() as conn:
        columns = await conn.fetch(
            """
            SELECT column_name, data_type, character_maximum_length, is_nullable, column_default
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position
            """,
            table,
        )
        indexes = await conn.fetch(
            """
            SELECT i.relname AS indexname, pg_get_indexdef(x.indexrelid) AS indexdef,
                   x.indisunique, x.indisprimary
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'public' AND t.relname = $1 ORDER BY i.relname
            """,
            table,
        )
        rls_enabled = await conn.fetchval(
            """
            SELECT c.relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relname = $1
            """,
            table,
        )
        policies = await conn.fetch(
            """
            SELECT policyname, cmd, roles::text[] AS roles, qual, with_check
            FROM pg_policies WHERE schemaname = 'public' AND tablename = $1 ORDER BY policyname
            """,
            table,
        )
        triggers = await conn.fetch(
            """
            SELECT trigger_name, action_timing, event_manipulation, action_statement
            FROM information_schema.triggers
            WHERE trigger_schema = 'public' AND event_object_table = $1 ORDER BY trigger_name
            """,
            table,
        )
        foreign_keys = await describe_foreign_keys(conn, "public", table)

    description = {
        "schema": [
            {
                "columnName": row["column_name"],
                "dataType": row["data_type"],
                "characterMaximumLength": row["character_maximum_length"],
                "isNullable": row["is_nullable"],
                "columnDefault": row["column_default"],
            }
            for row in columns
        ],
        "indexes": [
            {
                "indexname": row["indexname"],
                "indexdef": row["indexdef"],
                "isUnique": row["indisunique"],
                "isPrimary": row["indisprimary"],
            }
            for row in indexes
        ],
        "foreignKeys": foreign_keys,
        "rlsEnabled": bool(rls_enabled),
        "policies": [
            {
                "policyname": row["policyname"],
                "cmd": row["cmd"],
                "roles": list(row["roles"]),
                "qual": row["qual"],
                "with_check": row["with_check"],
            }
            for row in policies
        ],
        "triggers": [
            {
                "triggerName": row["trigger_name"],
                "actionTiming": row["action_timing"],
                "eventManipulation": row["event_manipulation"],
                "actionStatement": row["action_statement"],
            }
            for row in triggers
        ],
        "rows": [],
    }
    return JsonResponse({table: description})


routes = [
    Route("/api/metadata", get_metadata, methods=["GET"]),
    Route("/api/metadata/auth", get_auth_metadata, methods=["GET"]),
    Route("/api/metadata/database", get_database_metadata, methods=["GET"]),
    Route("/api/metadata/storage", get_storage_metadata, methods=["GET"]),
    Route("/api/metadata/functions", get_functions_metadata, methods=["GET"]),
    Route("/api/metadata/realtime", get_realtime_metadata, methods=["GET"]),
    Route("/api/metadata/api-key", get_api_key, methods=["GET"]),
    Route("/api/metadata/anon-key", get_anon_key, methods=["GET"]),
    Route("/api/metadata/project-id", get_project_id, methods=["GET"]),
    Route("/api/metadata/{table}", get_table_metadata, methods=["GET"]),
]
