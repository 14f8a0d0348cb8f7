"""Database operations: SQL, tables, table schemas and the records API.

Every operation describes its request for both transports (see
:mod:`insforge_tools.transports.project`). The records operations use the backend's
PostgREST pass-through (``/api/database/records/:table``); the CLI reaches the same
routes with its hidden ``records`` command group.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field, field_validator, model_validator

from insforge_tools.context import Context
from insforge_tools.errors import NotFoundError, ServerError
from insforge_tools.models.database import (
    ColumnSchema,
    ForeignKeySchema,
    QueryResult,
    RecordsResult,
    TableSchema,
    TablesResult,
    json_safe,
)
from insforge_tools.operations._common import confirm_destructive
from insforge_tools.registry import operation
from insforge_tools.transports.project import HttpCall, call_project, require_link, select_transport

try:  # The statement classifier is optional; without it a keyword check decides (below).
    from insforge_tools import sql as _sql_classifier
except ImportError:  # pragma: no cover - depends on the installed modules
    _sql_classifier = None  # type: ignore[assignment]

__all__ = [
    "DbQueryArgs",
    "DbTablesArgs",
    "FilterOperator",
    "RecordFilter",
    "RecordsCreateArgs",
    "RecordsDeleteArgs",
    "RecordsListArgs",
    "RecordsUpdateArgs",
    "TableSchemaArgs",
    "db_query",
    "db_tables",
    "is_destructive_sql",
    "records_create",
    "records_delete",
    "records_list",
    "records_update",
    "render_rows",
    "table_schema",
]

logger = logging.getLogger("insforge_tools.operations.database")

# Maximum rows and characters of a row listing before it is cut with a note. The registry
# also cuts any result longer than Settings.max_result_chars (6000 by default).
ROW_BUDGET = 50
ROW_CHARS_BUDGET = 4500

ScalarValue = str | int | float | bool | None
FilterOperator = Literal["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "is", "in"]

# PostgREST reserves these characters in filter values and column names.
_COLUMN_PATTERN = re.compile(r"^[^\s=&,().:\"]+$")
_RESERVED_IN_LIST = re.compile(r"[,().:\"\\\s]")
_TABLE_PATTERN = re.compile(r"^[^\x00/?#]+$")


# --------------------------------------------------------------------------- rendering


def render_rows(
    rows: Sequence[Any],
    *,
    total: int | None,
    hint: str,
    max_rows: int = ROW_BUDGET,
    max_chars: int = ROW_CHARS_BUDGET,
) -> str:
    """Render rows as JSON lines, cut to ``max_rows`` rows and ``max_chars`` characters.

    When rows are left out, a last line gives the shown and total counts followed by ``hint``.
    """
    lines: list[str] = []
    used = 0
    for row in rows[:max_rows]:
        line = json.dumps(json_safe(row), ensure_ascii=False, separators=(",", ":"))
        if used + len(line) + 1 > max_chars and lines:
            break
        if len(line) > max_chars:
            line = line[: max_chars - 1] + "…"
        lines.append(line)
        used += len(line) + 1

    available = total if total is not None else len(rows)
    available = max(available, len(rows))
    if len(lines) < available:
        lines.append(f"[showing {len(lines)} of {available} rows; {hint}]")
    return "\n".join(lines)


# --------------------------------------------------------------------------- SQL


_DESTRUCTIVE_KEYWORDS = frozenset(
    {"drop", "truncate", "delete", "update", "alter", "grant", "revoke", "reindex", "vacuum"}
)


def _keyword_destructive(sql: str) -> bool:
    # Used only when insforge_tools.sql is missing: any statement that starts with a word
    # that deletes, overwrites or changes structure counts as destructive.
    words = re.findall(r"(?:^|;)\s*(?:--[^\n]*\n\s*)*([A-Za-z]+)", sql)
    return any(word.lower() in _DESTRUCTIVE_KEYWORDS for word in words)


def is_destructive_sql(sql: str) -> tuple[bool, str]:
    """Return whether ``sql`` deletes or overwrites data, and why, using ``insforge_tools.sql.classify``."""
    classify = getattr(_sql_classifier, "classify", None)
    if classify is None:
        # NOTE: a plain keyword check; insforge_tools.sql.classify replaces it when present.
        destructive = _keyword_destructive(sql)
        return destructive, "the statement deletes or changes data or structure" if destructive else ""

    verdict = classify(sql)
    if isinstance(verdict, bool):
        return verdict, "the SQL classifier marked it destructive" if verdict else ""
    if isinstance(verdict, dict):
        destructive = bool(verdict.get("destructive"))
        reason = verdict.get("reason") or verdict.get("summary") or ""
    else:
        destructive = bool(getattr(verdict, "destructive", False))
        reasons = [
            str(getattr(statement, "reason", ""))
            for statement in getattr(verdict, "statements", ())
            if str(getattr(statement, "kind", "")) == "destructive"
        ]
        reason = "; ".join(item for item in reasons if item) or getattr(verdict, "reason", "") or ""
    return destructive, str(reason) if destructive else ""


class DbQueryArgs(BaseModel):
    """Arguments of insforge_db_query."""

    sql: str = Field(
        min_length=1,
        description="One PostgreSQL statement. Put values in params with $1, $2 … placeholders instead of "
        "quoting them into the SQL. Add LIMIT to SELECTs on large tables.",
    )
    params: list[ScalarValue] | None = Field(
        default=None, description="Values for the $1, $2 … placeholders, in order."
    )


def _summarize_query(result: QueryResult) -> str:
    names = ", ".join(field.name for field in result.fields)
    if not result.rows:
        if result.row_count:
            return f"The statement ran; {result.row_count} rows affected."
        return "The statement ran and returned no rows."
    count = result.row_count if result.row_count is not None else len(result.rows)
    header = f"{count} rows" + (f"; columns: {names}" if names else "")
    body = render_rows(
        result.rows,
        total=max(count, len(result.rows)),
        hint="add LIMIT/OFFSET or a WHERE clause to get the rows you need",
    )
    return f"{header}\n{body}"


def _query_result(body: Any) -> QueryResult:
    if isinstance(body, list):
        return QueryResult(rows=body, row_count=len(body))
    if not isinstance(body, dict):
        raise ServerError(f"The SQL response is a JSON {type(body).__name__}, not an object.")
    rows = body.get("rows")
    if rows is None:
        rows = body.get("data") or []
    return QueryResult(rows=rows, row_count=body.get("rowCount"), fields=body.get("fields") or [])


def _cli_sql(sql: str) -> str:
    # A leading "-" (such as a "--" comment) would make the CLI read the SQL as an option.
    return f" {sql}" if sql.startswith("-") else sql


@operation(
    "insforge_db_query",
    description="Run one SQL statement on the linked project's PostgreSQL database and return its rows. "
    "Statements that delete or overwrite data need a human's approval.",
    summarize=_summarize_query,
)
async def db_query(ctx: Context, args: DbQueryArgs) -> QueryResult:
    """Run a SQL statement, asking for approval first when it is destructive."""
    destructive, reason = is_destructive_sql(args.sql)
    if destructive:
        excerpt = args.sql if len(args.sql) <= 300 else args.sql[:300] + "…"
        await confirm_destructive(
            ctx,
            "insforge_db_query",
            f"Run a SQL statement that changes or deletes data: {excerpt}",
            sql=args.sql,
            reason=reason,
        )

    payload: dict[str, Any] = {"query": args.sql}
    if args.params:
        payload["params"] = args.params
    # The CLI's db query has no parameters, so a query with params goes over HTTP only.
    cli = None if args.params else ["db", "query", _cli_sql(args.sql)]
    body = await call_project(
        ctx,
        cli=cli,
        http=HttpCall("POST", "/api/database/advance/rawsql", json=payload),
        destructive=destructive,
    )
    return _query_result(body)


# --------------------------------------------------------------------------- tables


class DbTablesArgs(BaseModel):
    """insforge_db_tables takes no arguments."""


def _summarize_tables(result: TablesResult) -> str:
    if not result.tables:
        return "The project has no tables in the public schema."
    names = ", ".join(result.tables)
    text = f"{len(result.tables)} tables: {names}"
    if len(text) > ROW_CHARS_BUDGET:
        text = text[:ROW_CHARS_BUDGET].rsplit(", ", 1)[0]
        shown = text.count(", ") + 1
        text += (
            f"\n[showing {shown} of {len(result.tables)} tables; query information_schema.tables to filter]"
        )
    return text


@operation(
    "insforge_db_tables",
    description="List the tables of the linked project's database (public schema).",
    read_only=True,
    summarize=_summarize_tables,
)
async def db_tables(ctx: Context, args: DbTablesArgs) -> TablesResult:
    """Return the table names."""
    body = await call_project(ctx, cli=["db", "tables"], http=HttpCall("GET", "/api/database/tables"))
    if isinstance(body, dict):
        body = body.get("tables") or body.get("data") or []
    if not isinstance(body, list):
        raise ServerError(f"The table list response is a JSON {type(body).__name__}, not an array.")
    names = []
    for item in body:
        if isinstance(item, dict):
            item = item.get("tableName") or item.get("name")
        if isinstance(item, str):
            names.append(item)
    return TablesResult(tables=names)


def _check_table(value: str) -> str:
    if not _TABLE_PATTERN.match(value):
        raise ValueError("A table name must not contain '/', '?', '#' or NUL characters.")
    return value


class TableSchemaArgs(BaseModel):
    """Arguments of insforge_table_schema."""

    table: str = Field(min_length=1, max_length=63, description="The table name, such as todos.")
    schema_name: str = Field(
        default="public", min_length=1, max_length=63, description="The PostgreSQL schema of the table."
    )

    @field_validator("table", "schema_name")
    @classmethod
    def _check_names(cls, value: str) -> str:
        return _check_table(value)


def _summarize_schema(result: TableSchema) -> str:
    count = f", {result.record_count} rows" if result.record_count is not None else ""
    lines = [f"Table {result.schema_name}.{result.table_name}{count}:"]
    for column in result.columns:
        flags = []
        if column.is_primary_key:
            flags.append("primary key")
        elif column.is_unique:
            flags.append("unique")
        flags.append("nullable" if column.is_nullable else "not null")
        if column.default_value is not None:
            flags.append(f"default {column.default_value}")
        lines.append(f"  {column.column_name} {column.type} ({', '.join(flags)})")
    for key in result.foreign_keys:
        target = f"{key.reference_table}.{key.reference_column}" if key.reference_table else "another table"
        lines.append(f"  foreign key {key.column_name} -> {target}")
    return "\n".join(lines)


def _sql_literal(value: str) -> str:
    # Standard-conforming string literal: only the quote character needs doubling.
    return "'" + value.replace("'", "''") + "'"


def _sql_identifier(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


_BACKEND_TYPES = {
    "text": "string",
    "character varying": "string",
    "character": "string",
    "citext": "string",
    "integer": "integer",
    "bigint": "integer",
    "smallint": "integer",
    "real": "float",
    "double precision": "float",
    "numeric": "float",
    "boolean": "boolean",
    "timestamp with time zone": "datetime",
    "timestamp without time zone": "datetime",
    "date": "date",
    "uuid": "uuid",
    "json": "json",
    "jsonb": "json",
}


def _columns_sql(schema: str, table: str) -> str:
    s, t = _sql_literal(schema), _sql_literal(table)
    key_exists = (
        "exists (select 1 from information_schema.table_constraints tc "
        "join information_schema.key_column_usage k on k.constraint_name = tc.constraint_name "
        "and k.constraint_schema = tc.constraint_schema "
        "where tc.table_schema = c.table_schema and tc.table_name = c.table_name "
        "and k.column_name = c.column_name and tc.constraint_type in ({types}))"
    )
    primary = key_exists.format(types="'PRIMARY KEY'")
    unique = key_exists.format(types="'PRIMARY KEY', 'UNIQUE'")
    # Both names are quoted as literals by _sql_literal, so they cannot change the statement.
    return (
        "select c.column_name, c.data_type, c.udt_name, c.is_nullable, c.column_default, "  # noqa: S608
        f"{primary} as is_primary_key, {unique} as is_unique "
        f"from information_schema.columns c where c.table_schema = {s} and c.table_name = {t} "
        "order by c.ordinal_position"
    )


def _details_sql(schema: str, table: str) -> str:
    s, t = _sql_literal(schema), _sql_literal(table)
    relation = f"{_sql_identifier(schema)}.{_sql_identifier(table)}"
    # The names are quoted as an identifier and as literals, so they cannot change the statement.
    return (
        f"select (select count(*) from {relation}) as record_count, "  # noqa: S608
        "coalesce((select json_agg(json_build_object('columnName', kcu.column_name, "
        "'referenceTable', ccu.table_name, 'referenceColumn', ccu.column_name, "
        "'onDelete', rc.delete_rule, 'onUpdate', rc.update_rule)) "
        "from information_schema.table_constraints tc "
        "join information_schema.key_column_usage kcu on kcu.constraint_name = tc.constraint_name "
        "and kcu.constraint_schema = tc.constraint_schema "
        "join information_schema.constraint_column_usage ccu on ccu.constraint_name = tc.constraint_name "
        "and ccu.constraint_schema = tc.constraint_schema "
        "join information_schema.referential_constraints rc on rc.constraint_name = tc.constraint_name "
        "and rc.constraint_schema = tc.constraint_schema "
        f"where tc.constraint_type = 'FOREIGN KEY' and tc.table_schema = {s} and tc.table_name = {t}), "
        "'[]'::json) as foreign_keys"
    )


async def _table_schema_from_sql(ctx: Context, schema: str, table: str) -> TableSchema:
    """Build the tables API's schema document from information_schema, through the CLI's db query."""
    columns_body = await call_project(ctx, cli=["db", "query", _columns_sql(schema, table)], http=None)
    rows = _query_result(columns_body).rows
    if not rows:
        raise NotFoundError(
            f"The table {schema}.{table} was not found.",
            code="DATABASE_NOT_FOUND",
            next_step="List the tables with insforge_db_tables and check the name.",
        )

    details_body = await call_project(ctx, cli=["db", "query", _details_sql(schema, table)], http=None)
    details = (_query_result(details_body).rows or [{}])[0]
    foreign_keys = details.get("foreign_keys") or []
    if isinstance(foreign_keys, str):
        foreign_keys = json.loads(foreign_keys)

    columns = []
    for row in rows:
        data_type = str(row.get("data_type") or "")
        backend_type = _BACKEND_TYPES.get(data_type) or (
            str(row.get("udt_name")) if data_type in ("USER-DEFINED", "ARRAY") else data_type
        )
        columns.append(
            ColumnSchema(
                column_name=row["column_name"],
                type=backend_type,
                is_nullable=row.get("is_nullable") in ("YES", True),
                is_primary_key=bool(row.get("is_primary_key")),
                is_unique=bool(row.get("is_unique")),
                default_value=row.get("column_default"),
            )
        )
    return TableSchema(
        schema_name=schema,
        table_name=table,
        columns=columns,
        foreign_keys=[ForeignKeySchema.model_validate(item) for item in foreign_keys],
        record_count=details.get("record_count"),
    )


@operation(
    "insforge_table_schema",
    description="Show one table's columns (type, nullability, keys, defaults), foreign keys and row count.",
    read_only=True,
    summarize=_summarize_schema,
)
async def table_schema(ctx: Context, args: TableSchemaArgs) -> TableSchema:
    """Return the schema of one table."""
    link = require_link(ctx)
    chosen = select_transport(ctx, link, has_cli=True, has_http=True)
    if chosen == "cli":
        return await _table_schema_from_sql(ctx, args.schema_name, args.table)

    params = {"schema": args.schema_name} if args.schema_name != "public" else None
    path = f"/api/database/tables/{quote(args.table, safe='')}/schema"
    body = await call_project(ctx, cli=None, http=HttpCall("GET", path, params=params))
    if not isinstance(body, dict):
        raise ServerError(f"The table schema response is a JSON {type(body).__name__}, not an object.")
    return TableSchema.model_validate(body)


# --------------------------------------------------------------------------- records


def _format_scalar(value: ScalarValue) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _format_list_item(value: ScalarValue) -> str:
    text = _format_scalar(value)
    if isinstance(value, str) and (not text or _RESERVED_IN_LIST.search(text)):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


_IS_VALUES = (None, True, False, "null", "true", "false", "unknown")


class RecordFilter(BaseModel):
    """One condition on a column, in PostgREST terms."""

    column: str = Field(min_length=1, description="The column to compare.")
    operator: FilterOperator = Field(
        default="eq",
        description="eq (=), neq (<>), gt, gte, lt, lte, like / ilike (pattern with * or % as wildcard), "
        "is (null, true or false), in (value is a list).",
    )
    value: ScalarValue | list[ScalarValue] = Field(
        description="The value to compare with; a list for the in operator, null/true/false for is."
    )

    @field_validator("column")
    @classmethod
    def _check_column(cls, value: str) -> str:
        if not _COLUMN_PATTERN.match(value):
            raise ValueError('A column name must not contain spaces or any of = & , ( ) . : "')
        return value

    @model_validator(mode="after")
    def _check_value(self) -> RecordFilter:
        if self.operator == "in" and not isinstance(self.value, list):
            raise ValueError("The in operator needs a list value.")
        if self.operator != "in" and isinstance(self.value, list):
            raise ValueError(f"The {self.operator} operator needs a single value, not a list.")
        if self.operator == "is" and self.value not in _IS_VALUES:
            raise ValueError("The is operator compares with null, true or false only.")
        return self

    def to_query(self) -> tuple[str, str]:
        """Return the PostgREST query parameter, such as ``("done", "eq.true")``."""
        operator = self.operator
        if operator in ("eq", "neq") and self.value is None:
            return self.column, "is.null" if operator == "eq" else "not.is.null"
        if isinstance(self.value, list):
            items = ",".join(_format_list_item(item) for item in self.value)
            return self.column, f"{operator}.({items})"
        return self.column, f"{operator}.{_format_scalar(self.value)}"

    def describe(self) -> str:
        """Return the condition in words, for approval requests."""
        return f"{self.column} {self.operator} {json.dumps(self.value, ensure_ascii=False)}"


class RecordsListArgs(BaseModel):
    """Arguments of insforge_records_list."""

    table: str = Field(min_length=1, description="The table to read.")
    select: str | None = Field(
        default=None,
        description="Columns to return, comma-separated (PostgREST select syntax). Default: all.",
    )
    filters: list[RecordFilter] = Field(
        default_factory=list, description="Conditions that every row must meet."
    )
    order: str | None = Field(
        default=None, description="Sort order, such as created_at.desc or title.asc,id.asc."
    )
    limit: int = Field(default=100, ge=1, le=1000, description="Maximum number of rows to return.")
    offset: int = Field(default=0, ge=0, description="Rows to skip, for paging.")

    @field_validator("table")
    @classmethod
    def _check_table_name(cls, value: str) -> str:
        return _check_table(value)


class RecordsCreateArgs(BaseModel):
    """Arguments of insforge_records_create."""

    table: str = Field(min_length=1, description="The table to insert into.")
    records: list[dict[str, Any]] = Field(
        min_length=1,
        description="The rows to insert, as objects of column name to value, all with the same keys.",
    )

    @field_validator("table")
    @classmethod
    def _check_table_name(cls, value: str) -> str:
        return _check_table(value)

    @field_validator("records")
    @classmethod
    def _same_keys(cls, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        first = set(records[0])
        for index, record in enumerate(records[1:], start=1):
            if set(record) != first:
                raise ValueError(
                    f"Record {index} has the keys {sorted(record)}, but record 0 has {sorted(first)}. "
                    "Every record in one call must have the same keys: split the call or add the keys."
                )
        return records


class RecordsUpdateArgs(BaseModel):
    """Arguments of insforge_records_update."""

    table: str = Field(min_length=1, description="The table to update.")
    filters: list[RecordFilter] = Field(
        min_length=1, description="Conditions that select the rows to update (at least one)."
    )
    values: dict[str, Any] = Field(min_length=1, description="The new values, as column name to value.")

    @field_validator("table")
    @classmethod
    def _check_table_name(cls, value: str) -> str:
        return _check_table(value)


class RecordsDeleteArgs(BaseModel):
    """Arguments of insforge_records_delete."""

    table: str = Field(min_length=1, description="The table to delete from.")
    filters: list[RecordFilter] = Field(
        min_length=1, description="Conditions that select the rows to delete (at least one)."
    )

    @field_validator("table")
    @classmethod
    def _check_table_name(cls, value: str) -> str:
        return _check_table(value)


def _records_path(table: str) -> str:
    return f"/api/database/records/{quote(table, safe='')}"


def _cli_records(command: str, table: str, filters: Sequence[RecordFilter], *extra: str) -> list[str] | None:
    """Return the CLI argv of a records command, or ``None`` when the CLI cannot express the filters.

    CLI 0.2.8 sends only one ``--filter`` (a later one replaces an earlier one), so a request
    with several conditions goes over HTTP; through the CLI it would match too many rows.
    """
    if len(filters) > 1:
        return None
    args = ["records", command, table]
    for condition in filters:
        column, expression = condition.to_query()
        args += ["--filter", f"{column}={expression}"]
    return args + list(extra)


def _records_result(table: str, body: Any) -> RecordsResult:
    if isinstance(body, dict):
        body = body.get("data", body.get("records", [body]))
    if body is None:
        body = []
    if not isinstance(body, list):
        raise ServerError(f"The records response is a JSON {type(body).__name__}, not an array.")
    return RecordsResult(table=table, records=body, count=len(body))


def _summarize_records(verb: str) -> Any:
    def summarize(result: RecordsResult) -> str:
        header = f"{result.count} records {verb} {result.table}."
        if result.note:
            header += f" {result.note}"
        if not result.records:
            return header
        body = render_rows(
            result.records, total=result.count, hint="use limit/offset or filters to get the rows you need"
        )
        return f"{header}\n{body}"

    return summarize


_PREFER_REPRESENTATION = {"Prefer": "return=representation"}

# NOTE: updates and deletes go over HTTP only. CLI 0.2.8's records update/delete append
# return=representation to the query string, where PostgREST reads it as a filter on a
# column named "return" and rejects the request (PGRST100, seen with the sandbox backend).


@operation(
    "insforge_records_list",
    description="Read rows of a table with optional column selection, filters, ordering and paging.",
    read_only=True,
    summarize=_summarize_records("from"),
)
async def records_list(ctx: Context, args: RecordsListArgs) -> RecordsResult:
    """Return the rows of a table that meet the filters."""
    params: list[tuple[str, str]] = []
    options: list[str] = []
    if args.select:
        params.append(("select", args.select))
        options += ["--select", args.select]
    params += [condition.to_query() for condition in args.filters]
    if args.order:
        params.append(("order", args.order))
        options += ["--order", args.order]
    params += [("limit", str(args.limit)), ("offset", str(args.offset))]
    options += ["--limit", str(args.limit), "--offset", str(args.offset)]
    cli = _cli_records("list", args.table, args.filters, *options)

    body = await call_project(ctx, cli=cli, http=HttpCall("GET", _records_path(args.table), params=params))
    return _records_result(args.table, body)


@operation(
    "insforge_records_create",
    description="Insert rows into a table and return them as stored (with generated ids and defaults).",
    summarize=_summarize_records("created in"),
)
async def records_create(ctx: Context, args: RecordsCreateArgs) -> RecordsResult:
    """Insert rows and return them."""
    records = json_safe(args.records)
    body = await call_project(
        ctx,
        cli=["records", "create", args.table, "--data", json.dumps(records, ensure_ascii=False)],
        http=HttpCall("POST", _records_path(args.table), json=records, headers=_PREFER_REPRESENTATION),
    )
    result = _records_result(args.table, body)
    if not result.records:
        # PostgREST returns an empty list for an insert unless the request asks for the rows.
        result.note = (
            f"The backend accepted {len(records)} records but returned none; "
            "read them back with insforge_records_list."
        )
    return result


@operation(
    "insforge_records_update",
    description="Change columns of the rows of a table that meet the filters (at least one filter); "
    "returns the changed rows.",
    summarize=_summarize_records("updated in"),
)
async def records_update(ctx: Context, args: RecordsUpdateArgs) -> RecordsResult:
    """Update the rows that meet the filters and return them."""
    values = json_safe(args.values)
    params = [condition.to_query() for condition in args.filters]
    body = await call_project(
        ctx,
        cli=None,
        http=HttpCall(
            "PATCH", _records_path(args.table), params=params, json=values, headers=_PREFER_REPRESENTATION
        ),
    )
    return _records_result(args.table, body)


@operation(
    "insforge_records_delete",
    description="Delete the rows of a table that meet the filters (at least one filter); returns the deleted "
    "rows. Needs a human's approval.",
    destructive=True,
    summarize=_summarize_records("deleted from"),
)
async def records_delete(ctx: Context, args: RecordsDeleteArgs) -> RecordsResult:
    """Delete the rows that meet the filters, after approval, and return them."""
    conditions = " and ".join(condition.describe() for condition in args.filters)
    await confirm_destructive(
        ctx,
        "insforge_records_delete",
        f"Delete the rows of {args.table} where {conditions}.",
        table=args.table,
        filters=[item.model_dump() for item in args.filters],
    )

    params = [condition.to_query() for condition in args.filters]
    body = await call_project(
        ctx,
        cli=None,
        http=HttpCall("DELETE", _records_path(args.table), params=params, headers=_PREFER_REPRESENTATION),
        destructive=True,
    )
    return _records_result(args.table, body)
