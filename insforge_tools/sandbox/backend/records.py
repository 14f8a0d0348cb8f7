"""The records API: PostgREST's query language for ``public`` tables, run directly as SQL.

The real backend forwards ``/api/database/records/*`` to PostgREST. This module
builds the equivalent SQL itself: every name is quoted as an identifier, every
value travels as a parameter, rows are rendered to JSON by PostgreSQL
(``json_agg``) exactly as PostgREST lets it, and PostgreSQL errors keep their
``code``, ``details``, ``hint`` and ``message``.

Supported: ``select`` (columns, ``alias:column``, ``column::type``), filters
``eq neq gt gte lt lte like ilike is in`` with optional ``not.``, ``order``,
``limit``, ``offset``, ``Prefer: return=representation`` and ``count=exact``.

The ``noqa: S608`` marks below sit on SQL built only from ``quote_identifier``
names, validated cast types and ``$n`` placeholders.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from insforge_tools.sandbox.backend.errors import (
    JSON_MEDIA_TYPE,
    PostgrestError,
    postgrest_error_from_postgres,
)
from insforge_tools.sandbox.backend.inputs import ANON_ROLE, get_state, read_json, require_user
from insforge_tools.sandbox.backend.sqltext import quote_identifier

__all__ = ["routes"]

RESERVED_PARAMETERS = {"select", "order", "limit", "offset", "columns", "on_conflict"}
COMPARISONS = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "like": "LIKE",
    "ilike": "ILIKE",
}
FILTER_OPERATORS = set(COMPARISONS) | {"is", "in"}
CAST_TYPE = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ]*(\[\])?$")
SELECT_ITEM = re.compile(r"^(?:(?P<alias>[^:]+):(?!:))?(?P<column>[^:]+?)(?:::(?P<cast>.+))?$")


def _parse_error(what: str, text: str, details: str) -> PostgrestError:
    return PostgrestError(400, "PGRST100", f'"failed to parse {what} ({text})" (line 1, column 1)', details)


@dataclass
class _Query:
    """SQL fragments and parameters built from one request's query string."""

    table: str
    column_types: dict[str, str]
    parameters: list[Any] = field(default_factory=list)

    @property
    def relation(self) -> str:
        return f"public.{quote_identifier(self.table)}"

    def column(self, name: str) -> str:
        return f"{quote_identifier(self.table)}.{quote_identifier(name)}"

    def parameter(self, value: Any, cast: str = "text") -> str:
        self.parameters.append(value)
        return f"${len(self.parameters)}::{cast}"

    def typed_value(self, name: str, value: str) -> str:
        """Return SQL for ``value`` read as the column's type, as PostgREST's untyped literals are."""
        placeholder = self.parameter(value)
        column_type = self.column_types.get(name)
        return f"({placeholder})::{column_type}" if column_type else placeholder

    def typed_list(self, name: str, values: list[str]) -> str:
        placeholder = self.parameter(values, "text[]")
        column_type = self.column_types.get(name)
        return f"({placeholder})::{column_type}[]" if column_type else placeholder


def _select_list(query: _Query, select: str | None) -> str:
    if not select or select.strip() == "*":
        return f"{quote_identifier(query.table)}.*"
    items = []
    for raw in select.split(","):
        item = raw.strip()
        if item == "*":
            items.append(f"{quote_identifier(query.table)}.*")
            continue
        match = SELECT_ITEM.match(item)
        if not item or "(" in item or match is None:
            raise _parse_error("select", select, f'unexpected "{item[:1] or ","}" expecting field name')
        column = match.group("column").strip()
        sql = query.column(column)
        cast = match.group("cast")
        if cast:
            if not CAST_TYPE.match(cast.strip()):
                raise _parse_error("select", select, f'unexpected "{cast[:1]}" expecting type name')
            sql = f"{sql}::{cast.strip()}"
        alias = (match.group("alias") or "").strip() or column
        items.append(f"{sql} AS {quote_identifier(alias)}")
    return ", ".join(items)


def _split_in_list(text: str) -> list[str]:
    """Split ``a,b,"c,d"`` into items; double quotes protect commas."""
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items


def _filter_condition(query: _Query, name: str, expression: str) -> str:
    match = re.match(r"^(not\.)?([a-z]+)\.(.*)$", expression, re.DOTALL)
    if match is None or match.group(2) not in FILTER_OPERATORS:
        first = expression[:1] or " "
        raise _parse_error(
            "filter", expression, f'unexpected "{first}" expecting "not" or operator (eq, gt, ...)'
        )
    negated, operator, value = match.groups()
    column = query.column(name)

    if operator in ("like", "ilike"):
        condition = f"{column} {COMPARISONS[operator]} {query.parameter(value.replace('*', '%'))}"
    elif operator in COMPARISONS:
        condition = f"{column} {COMPARISONS[operator]} {query.typed_value(name, value)}"
    elif operator == "is":
        keyword = value.lower()
        if keyword not in ("null", "true", "false", "unknown"):
            raise _parse_error(
                "filter", expression, f'unexpected "{value[:1]}" expecting null or trilean value'
            )
        condition = f"{column} IS {keyword.upper()}"
    else:
        if not (value.startswith("(") and value.endswith(")")):
            raise _parse_error("filter", expression, f'unexpected "{value[:1]}" expecting "("')
        condition = f"{column} = ANY({query.typed_list(name, _split_in_list(value[1:-1]))})"

    return f"NOT ({condition})" if negated else condition


def _where_clause(query: _Query, request: Request) -> str:
    conditions = [
        _filter_condition(query, name, expression)
        for name, expression in request.query_params.multi_items()
        if name not in RESERVED_PARAMETERS
    ]
    return f" WHERE {' AND '.join(conditions)}" if conditions else ""


def _order_clause(query: _Query, order: str | None) -> str:
    if not order:
        return ""
    terms = []
    for raw in order.split(","):
        match = re.match(r"^([^.]+)(?:\.(asc|desc))?(?:\.(nullsfirst|nullslast))?$", raw.strip())
        if match is None:
            raise _parse_error("order", order, f'unexpected "{raw[:1]}" expecting field name')
        column, direction, nulls = match.groups()
        term = query.column(column)
        if direction:
            term += f" {direction.upper()}"
        if nulls:
            term += " NULLS FIRST" if nulls == "nullsfirst" else " NULLS LAST"
        terms.append(term)
    return " ORDER BY " + ", ".join(terms)


def _non_negative(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise _parse_error(name, raw, f'unexpected "{raw[:1]}" expecting digit')
    return int(raw)


def _preferences(request: Request) -> set[str]:
    header = request.headers.get("prefer", "")
    return {part.strip().lower() for part in header.split(",") if part.strip()}


async def _column_types(conn: asyncpg.Connection, table: str) -> dict[str, str] | None:
    """Return the table's column types, or ``None`` when ``public.<table>`` does not exist."""
    exists = await conn.fetchval(
        """
        SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        """,
        table,
    )
    if exists is None:
        return None
    rows = await conn.fetch(
        """
        SELECT attname, format_type(atttypid, atttypmod) AS column_type FROM pg_attribute
        WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum
        """,
        exists,
    )
    return {row["attname"]: row["column_type"] for row in rows}


def _content_range(offset: int, count: int, total: int | None) -> str:
    size = "*" if total is None else str(total)
    if count == 0:
        return f"*/{size}"
    return f"{offset}-{offset + count - 1}/{size}"


def _json_rows(text: str, status: int, headers: dict[str, str]) -> Response:
    return Response(text, status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE)


def _check_columns(query: _Query, keys: list[str]) -> None:
    for key in keys:
        if key not in query.column_types:
            raise PostgrestError(
                400, "PGRST204", f"Column '{key}' of relation '{query.table}' does not exist"
            )


async def records(request: Request) -> Response:
    role = require_user(request)
    table = request.path_params["table"]
    method = request.method
    body = await read_json(request) if method in ("POST", "PATCH") else None
    preferences = _preferences(request)
    representation = "return=representation" in preferences

    async with get_state(request).db.acquire() as conn, conn.transaction():
        column_types = await _column_types(conn, table)
        if column_types is None:
            raise PostgrestError(404, "42P01", f'relation "public.{table}" does not exist')
        query = _Query(table, column_types)
        select = _select_list(query, request.query_params.get("select"))

        await conn.execute(f"SET LOCAL ROLE {role}")
        try:
            if method == "GET":
                return await _read(conn, query, request, select, preferences)
            if method == "POST":
                return await _insert(conn, query, body, select, representation)
            if method == "PATCH":
                return await _update(conn, query, request, body, select, representation)
            return await _delete(conn, query, request, select, representation)
        except asyncpg.PostgresError as exc:
            raise postgrest_error_from_postgres(exc, anonymous=role == ANON_ROLE) from exc


async def _read(
    conn: asyncpg.Connection, query: _Query, request: Request, select: str, preferences: set[str]
) -> Response:
    where = _where_clause(query, request)
    order = _order_clause(query, request.query_params.get("order"))
    limit = _non_negative(request, "limit")
    offset = _non_negative(request, "offset") or 0
    page = ""
    if limit is not None:
        page += f" LIMIT {limit}"
    if offset:
        page += f" OFFSET {offset}"

    sql = (
        "SELECT coalesce(json_agg(_postgrest_t), '[]')::text AS body, count(*) AS page_count "  # noqa: S608
        f"FROM (SELECT {select} FROM {query.relation}{where}{order}{page}) _postgrest_t"
    )
    row = await conn.fetchrow(sql, *query.parameters)
    page_count = row["page_count"]

    headers: dict[str, str] = {}
    total = None
    if "count=exact" in preferences:
        count_sql = f"SELECT count(*) FROM {query.relation}{where}"  # noqa: S608
        total = await conn.fetchval(count_sql, *query.parameters)
        headers["preference-applied"] = "count=exact"
    headers["content-range"] = _content_range(offset, page_count, total)
    partial = total is not None and page_count > 0 and (offset > 0 or offset + page_count < total)
    return _json_rows(row["body"], 206 if partial else 200, headers)


async def _insert(
    conn: asyncpg.Connection, query: _Query, body: Any, select: str, representation: bool
) -> Response:
    rows = body if isinstance(body, list) else [body]
    if not all(isinstance(row, dict) for row in rows):
        raise PostgrestError(400, "PGRST102", "Empty or invalid json")
    headers = {"content-range": "*/*"}
    if representation:
        headers["preference-applied"] = "return=representation"
    if not rows:
        return _json_rows("[]", 201, headers)

    keys = list(rows[0])
    if any(set(row) != set(keys) for row in rows[1:]):
        raise PostgrestError(400, "PGRST102", "All object keys must match")
    _check_columns(query, keys)

    columns = ", ".join(quote_identifier(key) for key in keys)
    source = (
        f"SELECT {columns} FROM json_populate_recordset(NULL::{query.relation}, "  # noqa: S608
        f"{query.parameter(json.dumps(rows), 'json')}) _postgrest_body"
    )
    target = f"{query.relation} AS {quote_identifier(query.table)}"
    insert = f"INSERT INTO {target} ({columns}) {source}" if keys else f"INSERT INTO {target} {source}"
    sql = (
        f"WITH _postgrest_t AS ({insert} RETURNING {select}) "  # noqa: S608
        "SELECT coalesce(json_agg(_postgrest_t), '[]')::text AS body FROM _postgrest_t"
    )
    result = await conn.fetchval(sql, *query.parameters)
    return _json_rows(result if representation else "[]", 201, headers)


async def _update(
    conn: asyncpg.Connection, query: _Query, request: Request, body: Any, select: str, representation: bool
) -> Response:
    if not isinstance(body, dict):
        raise PostgrestError(400, "PGRST102", "Empty or invalid json")
    keys = list(body)
    _check_columns(query, keys)
    if not keys:
        return (
            _json_rows("[]", 200, {"content-range": "*/*"}) if representation else Response(status_code=204)
        )

    body_parameter = query.parameter(json.dumps(body), "json")
    where = _where_clause(query, request)
    assignments = ", ".join(
        f"{quote_identifier(key)} = _postgrest_body.{quote_identifier(key)}" for key in keys
    )
    sql = (
        f"WITH _postgrest_t AS (UPDATE {query.relation} AS {quote_identifier(query.table)} SET {assignments} "  # noqa: S608
        f"FROM (SELECT * FROM json_populate_record(NULL::{query.relation}, {body_parameter})) _postgrest_body"
        f"{where} RETURNING {select}) "
        "SELECT coalesce(json_agg(_postgrest_t), '[]')::text AS body, count(*) AS row_count FROM _postgrest_t"
    )
    row = await conn.fetchrow(sql, *query.parameters)
    headers = {"content-range": _content_range(0, row["row_count"], None)}
    if not representation:
        return Response(status_code=204, headers=headers)
    headers["preference-applied"] = "return=representation"
    return _json_rows(row["body"], 200, headers)


async def _delete(
    conn: asyncpg.Connection, query: _Query, request: Request, select: str, representation: bool
) -> Response:
    where = _where_clause(query, request)
    sql = (
        f"WITH _postgrest_t AS (DELETE FROM {query.relation} AS {quote_identifier(query.table)}{where} "  # noqa: S608
        f"RETURNING {select}) SELECT coalesce(json_agg(_postgrest_t), '[]')::text AS body FROM _postgrest_t"
    )
    result = await conn.fetchval(sql, *query.parameters)
    headers = {"content-range": "*/*"}
    if not representation:
        return Response(status_code=204, headers=headers)
    headers["preference-applied"] = "return=representation"
    return _json_rows(result, 200, headers)


routes = [
    Route("/api/database/records/{table}", records, methods=["GET", "POST", "PATCH", "DELETE"]),
]
