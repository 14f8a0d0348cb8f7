"""Health, logs, agent docs, MCP usage records and a few fixed listings."""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from insforge_tools.sandbox.backend.errors import ApiError, JsonResponse
from insforge_tools.sandbox.backend.inputs import (
    expect_type,
    get_state,
    read_json,
    require_admin,
    require_api_key,
)
from insforge_tools.sandbox.backend.state import BackendState
from insforge_tools.sandbox.backend.values import iso_timestamp

__all__ = ["BACKEND_VERSION", "record_request", "routes"]

BACKEND_VERSION = "2.3.1"
LOG_SOURCES = ("insforge.logs", "postgres.logs", "postgREST.logs", "function.logs")


def _now() -> str:
    return iso_timestamp(dt.datetime.now(dt.UTC))


async def health(request: Request) -> Response:
    return JsonResponse(
        {"status": "ok", "version": BACKEND_VERSION, "service": "Insforge OSS Backend", "timestamp": _now()}
    )


# --- logs --------------------------------------------------------------------


def _log_id() -> str:
    # The real server's ids are a millisecond timestamp and Math.random(); only uniqueness matters here.
    return f"{int(time.time() * 1000)}-{random.random()}"  # noqa: S311


def record_request(
    state: BackendState, *, method: str, path: str, status: int, size: int, duration_ms: int, ip: str
) -> None:
    """Append one access-log line to ``insforge.logs`` in the real server's entry shape."""
    timestamp = _now()
    state.logs.append(
        {
            "id": _log_id(),
            "timestamp": timestamp,
            "eventMessage": f"{method} {path} {status} {size} {duration_ms}ms - {ip} - ",
            "body": {
                "id": _log_id(),
                "timestamp": timestamp,
                "message": "HTTP Request",
                "level": "info",
                "metadata": {
                    "method": method,
                    "path": path,
                    "status": status,
                    "size": size,
                    "duration": f"{duration_ms}ms",
                    "ip": ip,
                },
            },
        }
    )


async def log_sources(request: Request) -> Response:
    require_admin(request)
    return JsonResponse(
        [
            {"id": str(index), "name": name, "token": f"{name.lower()}.jsonl"}
            for index, name in enumerate(LOG_SOURCES, start=1)
        ]
    )


def _limit(request: Request, default: int) -> int:
    raw = request.query_params.get("limit")
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ApiError(400, "INVALID_INPUT", "limit: must be an integer from 1 to 1000")
    return int(raw)


async def log_stats(request: Request) -> Response:
    require_admin(request)
    logs = get_state(request).logs
    last = logs[-1]["timestamp"] if logs else None
    return JsonResponse([{"source": "insforge.logs", "count": len(logs), "lastActivity": last}])


async def logs_by_source(request: Request) -> Response:
    require_admin(request)
    source = request.path_params["source"]
    known = {name.lower(): name for name in LOG_SOURCES}
    if source.lower() not in known:
        # NOTE: the response to an unknown source was not recorded; the wording follows the CLI's check.
        raise ApiError(
            400, "INVALID_INPUT", f'Invalid log source "{source}". Valid sources: {", ".join(LOG_SOURCES)}'
        )
    limit = _limit(request, 100)
    entries: list[dict[str, Any]] = []
    if known[source.lower()] == "insforge.logs":
        before = request.query_params.get("before_timestamp")
        entries = [entry for entry in get_state(request).logs if not before or entry["timestamp"] < before]
        entries = entries[-limit:]
    return JsonResponse({"logs": entries, "total": len(entries)})


async def search_logs(request: Request) -> Response:
    require_admin(request)
    needle = request.query_params.get("q")
    if not needle:
        raise ApiError(400, "INVALID_INPUT", "q: Required")
    limit = _limit(request, 100)
    offset_raw = request.query_params.get("offset") or "0"
    offset = int(offset_raw) if offset_raw.isdigit() else 0
    matches = [
        {**entry, "source": "insforge.logs"}
        for entry in get_state(request).logs
        if needle.lower() in entry["eventMessage"].lower()
    ]
    page = matches[offset : offset + limit]
    content_range = f"{offset}-{offset + len(page) - 1}/{len(matches)}" if page else f"*/{len(matches)}"
    partial = bool(page) and (offset > 0 or offset + len(page) < len(matches))
    headers = {"Content-Range": content_range, "Preference-Applied": "count=exact"}
    return JsonResponse(page, status_code=206 if partial else 200, headers=headers)


# --- docs --------------------------------------------------------------------

_DOC_FEATURES = ("db", "storage", "functions", "auth", "ai", "realtime")
_LANGUAGES = ("typescript", "swift", "kotlin", "rest-api")
_SDK_FILES = {
    "db": "database",
    "storage": "storage",
    "functions": "functions",
    "auth": "auth",
    "ai": "ai",
    "realtime": "realtime",
}


def _doc_index() -> list[dict[str, str]]:
    docs = [
        {"type": "instructions", "filename": "../.agents/docs/insforge-instructions-sdk.md",
         "endpoint": "/api/docs/instructions"},
        {"type": "db-sdk", "filename": "sdks/typescript/database.mdx", "endpoint": "/api/docs/db-sdk"},
        {"type": "auth-sdk", "filename": "sdks/typescript/auth.mdx", "endpoint": "/api/docs/auth-sdk"},
        {"type": "storage-sdk", "filename": "sdks/typescript/storage.mdx",
         "endpoint": "/api/docs/storage-sdk"},
        {"type": "functions-sdk", "filename": "sdks/typescript/functions.mdx",
         "endpoint": "/api/docs/functions-sdk"},
        {"type": "ai-integration-sdk", "filename": "sdks/typescript/ai.mdx",
         "endpoint": "/api/docs/ai-integration-sdk"},
        {"type": "real-time", "filename": "../.agents/docs/real-time.md", "endpoint": "/api/docs/real-time"},
        {"type": "deployment", "filename": "../.agents/docs/deployment.md",
         "endpoint": "/api/docs/deployment"},
        {"type": "payments", "filename": "../.agents/docs/payments.md", "endpoint": "/api/docs/payments"},
    ]  # fmt: skip
    for feature in _DOC_FEATURES:
        for language in _LANGUAGES:
            folder = "rest" if language == "rest-api" else language
            kind = "rest-api" if language == "rest-api" else f"sdk-{language}"
            docs.append(
                {
                    "type": f"{feature}-{kind}",
                    "filename": f"sdks/{folder}/{_SDK_FILES[feature]}.mdx",
                    "endpoint": f"/api/docs/{feature}/{language}",
                }
            )
    docs.append(
        {"type": "payments-sdk-typescript", "filename": "sdks/typescript/payments.mdx",
         "endpoint": "/api/docs/payments/typescript"}
    )  # fmt: skip
    return docs


DOC_INDEX = _doc_index()

_SANDBOX_NOTE = (
    "> Short edition served by the insforge-tools sandbox backend. A real InsForge backend serves the full "
    "text at this endpoint."
)
_DOC_BODIES = {
    "instructions": (
        "InsForge gives an app a PostgreSQL database, authentication, file storage, edge functions and "
        "deployments behind one API.\n\n"
        "1. Call `GET /api/metadata` first to learn the tables, buckets and functions.\n"
        "2. Change the schema with SQL (`POST /api/database/advance/rawsql`).\n"
        "3. Read and write rows through `/api/database/records/<table>`.\n"
        "4. Keep credentials out of client code: use the anon key in browsers and the admin key on servers."
    ),
    "db": (
        "```ts\nconst { data, error } = await insforge.database\n  .from('todos')\n  .select('id, title')\n"
        "  .eq('done', false)\n  .order('id', { ascending: true });\n```\n\n"
        "Filters: `eq`, `neq`, `gt`, `gte`, `lt`, `lte`, `like`, `ilike`, `is`, `in`. "
        "Inserts take an array of objects with the same keys."
    ),
    "storage": (
        "```ts\nconst { data, error } = await insforge.storage\n  .from('docs')\n"
        "  .upload('notes/hello.txt', file);\n```\n\n"
        "Object keys may contain `/`. Public buckets serve objects without a token."
    ),
    "functions": (
        "```ts\nconst { data, error } = await insforge.functions.invoke('hello-world', {\n"
        "  body: { name: 'World' },\n});\n```\n\n"
        "A function module exports a default async handler that takes a `Request` and returns a `Response`."
    ),
    "auth": (
        "```ts\nconst { data, error } = await insforge.auth.signUp({ email, password });\n"
        "await insforge.auth.signInWithPassword({ email, password });\n```"
    ),
    "ai": (
        "```ts\nconst completion = await insforge.ai.chat.completions.create({\n"
        "  model: 'openai/gpt-4o-mini',\n  messages: [{ role: 'user', content: 'Hello' }],\n});\n```"
    ),
    "realtime": (
        "```ts\nawait insforge.realtime.connect();\nawait insforge.realtime.subscribe('orders');\n"
        "insforge.realtime.on('order_created', (payload) => console.log(payload));\n```"
    ),
    "deployment": (
        "Build the site, then deploy the output folder with `insforge deployments deploy ./dist`. "
        "The command uploads each file, starts the deployment and waits until it is READY."
    ),
    "payments": "Payments are configured per project; the sandbox has no payment provider.",
}
_DOC_ALIASES = {
    "db-sdk": "db",
    "auth-sdk": "auth",
    "storage-sdk": "storage",
    "functions-sdk": "functions",
    "ai-integration-sdk": "ai",
    "real-time": "realtime",
}


def _doc_response(doc_type: str, topic: str, title: str) -> Response:
    text = f"# {title}\n\n{_SANDBOX_NOTE}\n\n{_DOC_BODIES[topic]}\n"
    # NOTE: the single-document body shape was not recorded; the CLI reads `data` when present, else the body.
    return JsonResponse({"type": doc_type, "content": text})


def _unknown_doc(name: str) -> ApiError:
    return ApiError(404, "NOT_FOUND", f"Documentation not found: {name}")


async def list_docs(request: Request) -> Response:
    return JsonResponse(DOC_INDEX)


async def get_doc(request: Request) -> Response:
    doc_type = request.path_params["doc_type"]
    topic = _DOC_ALIASES.get(doc_type, doc_type)
    if topic not in _DOC_BODIES:
        raise _unknown_doc(doc_type)
    return _doc_response(doc_type, topic, f"InsForge {doc_type}")


async def get_sdk_doc(request: Request) -> Response:
    feature = request.path_params["feature"]
    language = request.path_params["language"]
    if feature not in _DOC_BODIES or language not in _LANGUAGES + ("typescript",):
        raise _unknown_doc(f"{feature}/{language}")
    return _doc_response(f"{feature}-{language}", feature, f"InsForge {feature} ({language})")


# --- usage and fixed listings --------------------------------------------------


async def record_mcp_usage(request: Request) -> Response:
    require_api_key(request)
    body = await read_json(request)
    tool_name = expect_type(body, "tool_name", "string")
    success = expect_type(body, "success", "boolean", required=False)
    get_state(request).mcp_usage.append(
        {"tool_name": tool_name, "success": True if success is None else success, "created_at": _now()}
    )
    return JsonResponse({"success": True})


async def list_mcp_usage(request: Request) -> Response:
    require_admin(request)
    limit = _limit(request, 100)
    records = list(reversed(get_state(request).mcp_usage))[:limit]
    return JsonResponse({"records": records})


async def empty_list(request: Request) -> Response:
    require_admin(request)
    return JsonResponse([])


async def auth_public_config(request: Request) -> Response:
    return JsonResponse(
        {
            "oAuthProviders": [],
            "customOAuthProviders": [],
            "requireEmailVerification": False,
            "passwordMinLength": 6,
            "requireNumber": False,
            "requireLowercase": False,
            "requireUppercase": False,
            "requireSpecialChar": False,
            "verifyEmailMethod": "code",
            "resetPasswordMethod": "code",
            "disableSignup": False,
        }
    )


routes = [
    Route("/api/health", health, methods=["GET"]),
    Route("/api/logs/sources", log_sources, methods=["GET"]),
    Route("/api/logs/stats", log_stats, methods=["GET"]),
    Route("/api/logs/search", search_logs, methods=["GET"]),
    Route("/api/logs/{source}", logs_by_source, methods=["GET"]),
    Route("/api/docs", list_docs, methods=["GET"]),
    Route("/api/docs/{doc_type}", get_doc, methods=["GET"]),
    Route("/api/docs/{feature}/{language}", get_sdk_doc, methods=["GET"]),
    Route("/api/usage/mcp", record_mcp_usage, methods=["POST"]),
    Route("/api/usage/mcp", list_mcp_usage, methods=["GET"]),
    Route("/api/realtime/channels", empty_list, methods=["GET"]),
    Route("/api/schedules", empty_list, methods=["GET"]),
    Route("/api/auth/public-config", auth_public_config, methods=["GET"]),
]
