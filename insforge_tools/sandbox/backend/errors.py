"""Error bodies of the InsForge backend and the mapping from PostgreSQL errors to them.

The backend answers errors in three shapes: the InsForge shape
``{"error", "message", "statusCode", "nextActions"?}``, PostgREST's
``{"code", "details", "hint", "message"}`` on the records routes, and a bare
``{"error"}`` from the function proxy.
"""

from __future__ import annotations

import json
import re
from typing import Any

import asyncpg
from starlette.responses import Response

__all__ = [
    "ApiError",
    "JsonResponse",
    "PostgrestError",
    "api_error_from_postgres",
    "invalid_json_message",
    "postgrest_error_from_postgres",
]

JSON_MEDIA_TYPE = "application/json; charset=utf-8"

MISSING_TOKEN_NEXT = "Check the token is valid or login to get a new token."  # noqa: S105 - hint text
INVALID_KEY_NEXT = "Check the API key is valid or generate a new API key."

UNKNOWN_RELATION_NEXT = (
    "The resource you are trying to access does not exist. "
    "Please check the table with get metadata tool and try again."
)
UNKNOWN_COLUMN_NEXT = (
    "Check the column name spelling and verify it exists in the table using "
    "GET /api/database/tables/{table}/schema"
)
FOREIGN_KEY_NEXT = (
    "The referenced record does not exist. Please check the reference with get metadata tool and try again."
)
PRIVILEGE_NEXT = (
    "A row-level security policy denied this operation. Verify the calling user owns the row "
    "(uploaded_by / user_id matches the JWT sub), or that an appropriate INSERT/UPDATE/DELETE "
    "policy exists for this role."
)
UNPARSABLE_QUERY_MESSAGE = "Query could not be parsed and was rejected for security reasons."


class JsonResponse(Response):
    """A compact JSON response with the backend's ``application/json; charset=utf-8`` type."""

    media_type = JSON_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class ApiError(Exception):
    """An error answered in the InsForge shape."""

    def __init__(self, status: int, error: str, message: str, next_actions: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.next_actions = next_actions

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "message": self.message, "statusCode": self.status}
        if self.next_actions is not None:
            body["nextActions"] = self.next_actions
        return body

    def response(self) -> JsonResponse:
        return JsonResponse(self.body(), status_code=self.status)


class PostgrestError(Exception):
    """An error answered in PostgREST's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint

    def response(self) -> JsonResponse:
        body = {"code": self.code, "details": self.details, "hint": self.hint, "message": self.message}
        return JsonResponse(body, status_code=self.status)


def api_error_from_postgres(exc: asyncpg.PostgresError) -> ApiError:
    """Map a PostgreSQL error to the status, code and hint the backend's raw-SQL route sends."""
    state = exc.sqlstate or ""
    message = exc.message or str(exc)

    if state == "42601":
        return ApiError(403, "FORBIDDEN", UNPARSABLE_QUERY_MESSAGE)
    if state == "42P01":
        return ApiError(400, "DATABASE_VALIDATION_ERROR", message, UNKNOWN_RELATION_NEXT)
    if state == "42703":
        return ApiError(400, "DATABASE_VALIDATION_ERROR", message, UNKNOWN_COLUMN_NEXT)
    if state == "23505":
        match = re.match(r"Key \((.*?)\)=", exc.detail or "")
        field = match.group(1) if match else "unknown"
        return ApiError(
            409,
            "DATABASE_DUPLICATE",
            message,
            f"A record with this field({field}) already exists. You can query the existing record "
            "by using the query tool and then try again.",
        )
    if state == "23502":
        column = exc.column_name or "unknown"
        return ApiError(
            400,
            "MISSING_FIELD",
            message,
            f"The {column} field is required and cannot be empty. Please fill in a value and try again.",
        )
    if state in ("23503", "23514"):
        next_actions = FOREIGN_KEY_NEXT if state == "23503" else None
        return ApiError(400, "DATABASE_CONSTRAINT_VIOLATION", message, next_actions)
    if state == "42501":
        return ApiError(403, "FORBIDDEN", message, PRIVILEGE_NEXT)
    return ApiError(500, "INTERNAL_ERROR", message)


# Status codes PostgREST 12 gives to PostgreSQL error classes and states.
_POSTGREST_STATUS_BY_STATE = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "42883": 404,
    "42P01": 404,
    "42P17": 500,
    "42501": 403,
    "57014": 500,
    "P0001": 400,
}
_POSTGREST_STATUS_BY_CLASS = {
    "08": 503,
    "09": 500,
    "0L": 403,
    "0P": 403,
    "22": 400,
    "23": 400,
    "25": 500,
    "28": 403,
    "2D": 500,
    "38": 500,
    "39": 500,
    "3B": 500,
    "40": 500,
    "42": 400,
    "53": 503,
    "54": 500,
    "55": 500,
    "57": 500,
    "58": 500,
    "F0": 500,
    "HV": 500,
    "P0": 500,
    "XX": 500,
}


def postgrest_error_from_postgres(exc: asyncpg.PostgresError, *, anonymous: bool = False) -> PostgrestError:
    """Map a PostgreSQL error as PostgREST does: the fields pass through and the status follows the state."""
    state = exc.sqlstate or "XX000"
    status = _POSTGREST_STATUS_BY_STATE.get(state) or _POSTGREST_STATUS_BY_CLASS.get(state[:2], 500)
    if state == "42501" and anonymous:
        status = 401
    return PostgrestError(status, state, exc.message or str(exc), exc.detail, exc.hint)


def invalid_json_message(text: str, error: json.JSONDecodeError) -> str:
    """Phrase a JSON syntax error the way Node's ``JSON.parse`` does, which the backend passes on."""
    position = error.pos
    reason = error.msg
    if not text.strip():
        return "Unexpected end of JSON input"
    if reason.startswith("Expecting property name"):
        return f"Expected property name or '}}' in JSON at position {position}"
    if reason.startswith("Expecting ':'"):
        return f"Expected ':' after property name in JSON at position {position}"
    if reason.startswith("Expecting ','"):
        return f"Expected ',' or '}}' after property value in JSON at position {position}"
    if reason.startswith("Unterminated string"):
        return f"Unterminated string in JSON at position {position}"
    if reason.startswith("Extra data"):
        return f"Unexpected non-whitespace character after JSON at position {position}"
    if position >= len(text):
        return "Unexpected end of JSON input"
    snippet = text if len(text) <= 10 else text[:10] + "..."
    return f"Unexpected token '{text[position]}', \"{snippet}\" is not valid JSON"
