"""Database routes: raw SQL, the tables API and the catalogue listings."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from insforge_tools.sandbox.backend.errors import ApiError, JsonResponse, api_error_from_postgres
from insforge_tools.sandbox.backend.inputs import ADMIN_ROLE, expect_type, get_state, read_json, require_admin
from insforge_tools.sandbox.backend.sqltext import check_allowed, quote_identifier, split_statements
from insforge_tools.sandbox.backend.state import PROTECTED_SCHEMAS
from insforge_tools.sandbox.backend.values import ParameterError, coerce_parameter, to_node_json

__all__ = ["column_type_label", "describe_foreign_keys", "routes", "table_exists"]

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SQL_TYPE = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?(\[\])*$")

COLUMN_SQL_TYPES = {
    "string": "TEXT",
    "date": "DATE",
    "datetime": "TIMESTAMPTZ",
    "integer": "INTEGER",
    "float": "DOUBLE PRECISION",
    "boolean": "BOOLEAN",
    "uuid": "UUID",
    "json": "JSONB",
}
FOREIGN_KEY_ACTIONS = {"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT", "NO ACTION"}
CREATE_TABLE_NEXT = "Please check the request body, it must conform with the CreateTableRequest schema."
TABLE_NOT_FOUND_NEXT = (
    "table not found. Please check the table name, it must be a valid table name, or you can create a new "
    "table with the POST /api/database/tables endpoint"
)


# --- raw SQL -----------------------------------------------------------------


def _row_count(status: str | None) -> int | None:
    """Read the row count from a command tag as node-postgres does.

    ``INSERT 0 2`` gives 2 and ``CREATE TABLE`` gives ``None``.
    """
    if not status:
        return None
    last = status.split()[-1]
    return int(last) if last.isdigit() else None


async def _run_statement(
    conn: asyncpg.Connection, query: str, params: list[Any], explain: bool
) -> dict[str, Any]:
    if explain:
        words = query.lstrip().split(None, 1)
        if not words or words[0].lower() not in ("select", "with"):
            raise ApiError(400, "INVALID_INPUT", "explain is only supported for SELECT statements")
        query = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}"

    statement = await conn.prepare(query)
    parameter_types = statement.get_parameters()
    if len(params) != len(parameter_types):
        raise ApiError(
            500,
            "INTERNAL_ERROR",
            f'bind message supplies {len(params)} parameters, but prepared statement "" requires '
            f"{len(parameter_types)}",
        )
    try:
        arguments = [
            coerce_parameter(value, kind.name) for value, kind in zip(params, parameter_types, strict=True)
        ]
    except ParameterError as exc:
        raise ApiError(500, "INTERNAL_ERROR", str(exc)) from exc

    records = await statement.fetch(*arguments)
    attributes = statement.get_attributes()
    rows = [
        {
            attribute.name: to_node_json(record[index], attribute.type.name)
            for index, attribute in enumerate(attributes)
        }
        for record in records
    ]
    return {
        "rows": rows,
        "rowCount": _row_count(statement.get_statusmsg()),
        "fields": [{"name": attribute.name, "dataTypeID": attribute.type.oid} for attribute in attributes],
    }


async def _raw_sql(request: Request, *, unrestricted: bool) -> Response:
    require_admin(request)
    body = await read_json(request)
    query = expect_type(body, "query", "string")
    params = expect_type(body, "params", "array", required=False) or []
    explain = body.get("explain") is True
    if not query.strip():
        raise ApiError(400, "INVALID_INPUT", "query: String must contain at least 1 character(s)")

    statements = split_statements(query)
    for statement in statements:
        check_allowed(statement)

    state = get_state(request)
    async with state.db.acquire() as conn:
        try:
            if not unrestricted:
                await conn.execute(f"SET ROLE {ADMIN_ROLE}")
            try:
                if len(statements) > 1 and not params:
                    # The real backend returns only an empty row list for a multi-statement query.
                    await conn.execute(query)
                    return JsonResponse({"rows": []})
                result = await _run_statement(conn, query, params, explain)
            finally:
                if not unrestricted:
                    await conn.execute("RESET ROLE")
        except asyncpg.PostgresError as exc:
            raise api_error_from_postgres(exc) from exc
    return JsonResponse(result)


async def raw_sql(request: Request) -> Response:
    return await _raw_sql(request, unrestricted=False)


async def raw_sql_unrestricted(request: Request) -> Response:
    return await _raw_sql(request, unrestricted=True)


# --- tables API --------------------------------------------------------------


def _schema_param(request: Request) -> str:
    return request.query_params.get("schema") or "public"


async def table_exists(conn: asyncpg.Connection, schema: str, table: str) -> bool:
    found = await conn.fetchval(
        """
        SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        """,
        schema,
        table,
    )
    return found is not None


async def list_tables(request: Request) -> Response:
    require_admin(request)
    rows = await get_state(request).db.fetch(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname
        """,
        _schema_param(request),
    )
    return JsonResponse([row["relname"] for row in rows])


def _check_identifier(value: Any, what: str) -> str:
    if not isinstance(value, str) or not IDENTIFIER.match(value) or len(value) > 63:
        raise ApiError(
            400,
            "INVALID_INPUT",
            f"Invalid {what}: {value!r}. Use letters, digits and underscores, "
            "starting with a letter or underscore.",
        )
    return value


def _sql_type(kind: Any) -> str:
    if not isinstance(kind, str) or not kind:
        raise ApiError(400, "INVALID_INPUT", "type: Required", CREATE_TABLE_NEXT)
    if kind in COLUMN_SQL_TYPES:
        return COLUMN_SQL_TYPES[kind]
    if not SQL_TYPE.match(kind):
        raise ApiError(400, "INVALID_INPUT", f"Invalid column type: {kind!r}", CREATE_TABLE_NEXT)
    return kind.upper()


def _default_sql(value: Any) -> str:
    """Render a column default: ``name()`` calls stay expressions, everything else is a quoted literal."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\(\)", text):
        return text
    return "'" + text.replace("'", "''") + "'"


def _column_definition(column: Any) -> tuple[str, dict[str, Any]]:
    """Return the SQL for one requested column and its echo for the response (with ``sqlType``)."""
    if not isinstance(column, dict):
        raise ApiError(400, "INVALID_INPUT", "columns: Expected object", CREATE_TABLE_NEXT)
    name = _check_identifier(column.get("columnName"), "column name")
    sql_type = _sql_type(column.get("type"))
    nullable = column.get("isNullable", True) is not False
    unique = column.get("isUnique") is True

    parts = [quote_identifier(name), sql_type]
    if column.get("isPrimaryKey") is True:
        parts.append("PRIMARY KEY")
    if not nullable:
        parts.append("NOT NULL")
    if unique:
        parts.append("UNIQUE")
    if column.get("defaultValue") not in (None, ""):
        parts.append(f"DEFAULT {_default_sql(column['defaultValue'])}")

    echo: dict[str, Any] = {"columnName": name, "type": column.get("type")}
    if "defaultValue" in column:
        echo["defaultValue"] = column["defaultValue"]
    echo["isNullable"] = nullable
    echo["isUnique"] = unique
    if "isPrimaryKey" in column:
        echo["isPrimaryKey"] = column["isPrimaryKey"]
    echo["sqlType"] = sql_type
    return " ".join(parts), echo


def _foreign_key_sql(schema: str, foreign_key: Any) -> str:
    if not isinstance(foreign_key, dict):
        raise ApiError(400, "INVALID_INPUT", "foreignKeys: Expected object", CREATE_TABLE_NEXT)
    table = _check_identifier(foreign_key.get("referenceTable"), "reference table")
    pairs = foreign_key.get("referenceColumns")
    if not isinstance(pairs, list) or not pairs:
        raise ApiError(400, "INVALID_INPUT", "foreignKeys.referenceColumns: Required", CREATE_TABLE_NEXT)
    sources = [
        quote_identifier(_check_identifier(pair.get("sourceColumn"), "source column")) for pair in pairs
    ]
    targets = [
        quote_identifier(_check_identifier(pair.get("referenceColumn"), "reference column")) for pair in pairs
    ]
    sql = (
        f"FOREIGN KEY ({', '.join(sources)}) REFERENCES {quote_identifier(schema)}.{quote_identifier(table)} "
        f"({', '.join(targets)})"
    )
    for clause, key in (("ON DELETE", "onDelete"), ("ON UPDATE", "onUpdate")):
        action = str(foreign_key.get(key) or "").upper()
        if action:
            if action not in FOREIGN_KEY_ACTIONS:
                raise ApiError(400, "INVALID_INPUT", f"{key}: Invalid action {action!r}", CREATE_TABLE_NEXT)
            sql += f" {clause} {action}"
    return sql


async def create_table(request: Request) -> Response:
    require_admin(request)
    body = await read_json(request)
    table = expect_type(body, "tableName", "string", next_actions=CREATE_TABLE_NEXT)
    columns = expect_type(body, "columns", "array", next_actions=CREATE_TABLE_NEXT)
    foreign_keys = expect_type(body, "foreignKeys", "array", required=False) or []
    rls_enabled = body.get("rlsEnabled", True) is not False
    schema = _schema_param(request)
    _check_identifier(table, "table name")

    definitions: list[str] = []
    echoes: list[dict[str, Any]] = []
    for column in columns:
        definition, echo = _column_definition(column)
        definitions.append(definition)
        echoes.append(echo)
    names = {echo["columnName"] for echo in echoes}

    parts: list[str] = []
    if "id" not in names:
        parts.append('"id" UUID PRIMARY KEY DEFAULT gen_random_uuid()')
    parts.extend(definitions)
    for auto in ("created_at", "updated_at"):
        if auto not in names:
            parts.append(f"{quote_identifier(auto)} TIMESTAMPTZ DEFAULT now()")
    parts.extend(_foreign_key_sql(schema, foreign_key) for foreign_key in foreign_keys)

    qualified = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    async with get_state(request).db.acquire() as conn, conn.transaction():
        try:
            await conn.execute(f"SET LOCAL ROLE {ADMIN_ROLE}")
            await conn.execute(f"CREATE TABLE {qualified} ({', '.join(parts)})")
            if "updated_at" not in names:
                trigger = quote_identifier(f"update_{table}_updated_at")
                await conn.execute(
                    f"CREATE TRIGGER {trigger} BEFORE UPDATE ON {qualified} "
                    "FOR EACH ROW EXECUTE FUNCTION system.update_updated_at_column()"
                )
            if rls_enabled:
                await conn.execute(f"ALTER TABLE {qualified} ENABLE ROW LEVEL SECURITY")
                await conn.execute(
                    f'CREATE POLICY "project_admin_policy" ON {qualified} FOR ALL TO {ADMIN_ROLE} '
                    "USING (true) WITH CHECK (true)"
                )
        except asyncpg.DuplicateTableError as exc:
            raise ApiError(
                400,
                "DATABASE_DUPLICATE",
                f"table {table} already exists",
                f"table {table} already exists. Please check the table name, it must be a unique table name.",
            ) from exc
        except asyncpg.PostgresError as exc:
            raise api_error_from_postgres(exc) from exc

    return JsonResponse(
        {
            "schemaName": schema,
            "message": "table created successfully",
            "tableName": table,
            "columns": echoes,
            "autoFields": ["id", "created_at", "updated_at"],
            "nextActions": "you can now use the table with the POST /api/database/tables/{table} endpoint",
        },
        status_code=201,
    )


def column_type_label(data_type: str) -> str:
    """Name a PostgreSQL type with the tables API's column type words."""
    labels = {
        "text": "string",
        "character varying": "string",
        "character": "string",
        "integer": "integer",
        "bigint": "integer",
        "smallint": "integer",
        "double precision": "float",
        "real": "float",
        "numeric": "float",
        "boolean": "boolean",
        "timestamp with time zone": "datetime",
        "timestamp without time zone": "datetime",
        "date": "date",
        "uuid": "uuid",
        "json": "json",
        "jsonb": "json",
    }
    return labels.get(data_type, data_type)


async def describe_foreign_keys(conn: asyncpg.Connection, schema: str, table: str) -> list[dict[str, Any]]:
    # NOTE: the shape of a non-empty foreignKeys entry was never recorded; these names are an assumption.
    rows = await conn.fetch(
        """
        SELECT con.conname, a.attname AS column_name, rc.relname AS reference_table,
               ra.attname AS reference_column, con.confdeltype, con.confupdtype
        FROM pg_constraint con
        JOIN pg_class c ON c.oid = con.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_class rc ON rc.oid = con.confrelid
        CROSS JOIN LATERAL unnest(con.conkey, con.confkey) AS k(src, dst)
        JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.src
        JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.dst
        WHERE con.contype = 'f' AND n.nspname = $1 AND c.relname = $2
        ORDER BY con.conname
        """,
        schema,
        table,
    )
    actions = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
    return [
        {
            "constraintName": row["conname"],
            "columnName": row["column_name"],
            "referenceTable": row["reference_table"],
            "referenceColumn": row["reference_column"],
            "onDelete": actions.get(row["confdeltype"], "NO ACTION"),
            "onUpdate": actions.get(row["confupdtype"], "NO ACTION"),
        }
        for row in rows
    ]


async def get_table_schema(request: Request) -> Response:
    require_admin(request)
    table = request.path_params["table"]
    schema = _schema_param(request)
    async with get_state(request).db.acquire() as conn:
        if not await table_exists(conn, schema, table):
            raise ApiError(404, "DATABASE_NOT_FOUND", "table not found", TABLE_NOT_FOUND_NEXT)

        columns = await conn.fetch(
            """
            SELECT column_name, data_type, is_nullable, column_default
            FROM information_schema.columns
            WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position
            """,
            schema,
            table,
        )
        keyed = await conn.fetch(
            """
            SELECT a.attname, bool_or(con.contype = 'p') AS is_primary
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
            WHERE n.nspname = $1 AND c.relname = $2 AND con.contype IN ('p', 'u')
              AND array_length(con.conkey, 1) = 1
            GROUP BY a.attname
            """,
            schema,
            table,
        )
        record_count = await conn.fetchval(
            f"SELECT count(*) FROM {quote_identifier(schema)}.{quote_identifier(table)}"  # noqa: S608
        )
        foreign_keys = await describe_foreign_keys(conn, schema, table)

    unique = {row["attname"]: row["is_primary"] for row in keyed}
    described = []
    for row in columns:
        entry: dict[str, Any] = {
            "columnName": row["column_name"],
            "type": column_type_label(row["data_type"]),
            "isNullable": row["is_nullable"] == "YES",
            "isPrimaryKey": bool(unique.get(row["column_name"], False)),
            "isUnique": row["column_name"] in unique,
        }
        if row["column_default"] is not None:
            entry["defaultValue"] = row["column_default"]
        described.append(entry)

    return JsonResponse(
        {
            "schemaName": schema,
            "tableName": table,
            "columns": described,
            "foreignKeys": foreign_keys,
            "recordCount": record_count,
        }
    )


async def update_table_schema(request: Request) -> Response:
    require_admin(request)
    table = request.path_params["table"]
    schema = _schema_param(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_INPUT", "Expected object")
    qualified = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    operations: list[str] = []
    statements: list[str] = []

    for column in body.get("addColumns") or []:
        definition, echo = _column_definition(column)
        statements.append(f"ALTER TABLE {qualified} ADD COLUMN {definition}")
        operations.append(f"Added column: {echo['columnName']}")
    for name in body.get("dropColumns") or []:
        _check_identifier(name, "column name")
        statements.append(f"ALTER TABLE {qualified} DROP COLUMN {quote_identifier(name)}")
        operations.append(f"Dropped column: {name}")
    for update in body.get("updateColumns") or []:
        if not isinstance(update, dict):
            raise ApiError(400, "INVALID_INPUT", "updateColumns: Expected object")
        name = _check_identifier(update.get("columnName"), "column name")
        if "defaultValue" in update:
            default = update["defaultValue"]
            clause = "DROP DEFAULT" if default in (None, "") else f"SET DEFAULT {_default_sql(default)}"
            statements.append(f"ALTER TABLE {qualified} ALTER COLUMN {quote_identifier(name)} {clause}")
            operations.append(f"Updated default value for column: {name}")
        if update.get("newColumnName"):
            new_name = _check_identifier(update["newColumnName"], "column name")
            statements.append(
                f"ALTER TABLE {qualified} RENAME COLUMN {quote_identifier(name)} "
                f"TO {quote_identifier(new_name)}"
            )
            operations.append(f"Renamed column: {name} to {new_name}")
    for foreign_key in body.get("addForeignKeys") or []:
        statements.append(f"ALTER TABLE {qualified} ADD {_foreign_key_sql(schema, foreign_key)}")
        operations.append(f"Added foreign key to table: {foreign_key.get('referenceTable')}")
    for name in body.get("dropForeignKeys") or []:
        _check_identifier(name, "constraint name")
        statements.append(f"ALTER TABLE {qualified} DROP CONSTRAINT {quote_identifier(name)}")
        operations.append(f"Dropped foreign key: {name}")
    new_table = table
    rename = body.get("renameTable")
    if isinstance(rename, dict) and rename.get("newTableName"):
        new_table = _check_identifier(rename["newTableName"], "table name")
        statements.append(f"ALTER TABLE {qualified} RENAME TO {quote_identifier(new_table)}")
        operations.append(f"Renamed table from {table} to {new_table}")

    async with get_state(request).db.acquire() as conn, conn.transaction():
        if not await table_exists(conn, schema, table):
            raise ApiError(404, "DATABASE_NOT_FOUND", "table not found", TABLE_NOT_FOUND_NEXT)
        try:
            await conn.execute(f"SET LOCAL ROLE {ADMIN_ROLE}")
            for statement in statements:
                await conn.execute(statement)
        except asyncpg.PostgresError as exc:
            raise api_error_from_postgres(exc) from exc

    return JsonResponse(
        {
            "schemaName": schema,
            "message": "table schema updated successfully",
            "tableName": new_table,
            "operations": operations,
        }
    )


async def delete_table(request: Request) -> Response:
    require_admin(request)
    table = request.path_params["table"]
    schema = _schema_param(request)
    async with get_state(request).db.acquire() as conn, conn.transaction():
        try:
            await conn.execute(f"SET LOCAL ROLE {ADMIN_ROLE}")
            await conn.execute(
                f"DROP TABLE IF EXISTS {quote_identifier(schema)}.{quote_identifier(table)} CASCADE"
            )
        except asyncpg.PostgresError as exc:
            raise api_error_from_postgres(exc) from exc
    return JsonResponse(
        {
            "schemaName": schema,
            "message": "table deleted successfully",
            "tableName": table,
            "nextActions": "table deleted successfully, you can create a new table with the POST "
            "/api/database/tables endpoint",
        }
    )


# --- catalogue listings --------------------------------------------------------
# NOTE: only empty lists of functions, policies and triggers were recorded; the entry
# fields below follow the catalogue's own names and are an assumption.


async def list_schemas(request: Request) -> Response:
    require_admin(request)
    rows = await get_state(request).db.fetch(
        """
        SELECT nspname FROM pg_namespace
        WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
        ORDER BY nspname <> 'public', nspname
        """
    )
    return JsonResponse(
        {
            "schemas": [
                {"name": row["nspname"], "isProtected": row["nspname"] in PROTECTED_SCHEMAS} for row in rows
            ]
        }
    )


async def list_functions(request: Request) -> Response:
    require_admin(request)
    rows = await get_state(request).db.fetch(
        """
        SELECT p.proname, pg_get_functiondef(p.oid) AS definition, p.prokind
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = $1 AND p.prokind IN ('f', 'p')
        ORDER BY p.proname
        """,
        _schema_param(request),
    )
    kinds = {"f": "function", "p": "procedure"}
    return JsonResponse(
        {
            "functions": [
                {
                    "functionName": row["proname"],
                    "functionDef": row["definition"],
                    "kind": kinds[row["prokind"]],
                }
                for row in rows
            ]
        }
    )


async def list_indexes(request: Request) -> Response:
    require_admin(request)
    rows = await get_state(request).db.fetch(
        """
        SELECT t.relname AS table_name, i.relname AS index_name, pg_get_indexdef(x.indexrelid) AS definition,
               x.indisunique, x.indisprimary
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = $1
        ORDER BY t.relname, i.relname
        """,
        _schema_param(request),
    )
    return JsonResponse(
        {
            "indexes": [
                {
                    "tableName": row["table_name"],
                    "indexName": row["index_name"],
                    "indexDef": row["definition"],
                    "isUnique": row["indisunique"],
                    "isPrimary": row["indisprimary"],
                }
                for row in rows
            ]
        }
    )


async def list_policies(request: Request) -> Response:
    require_admin(request)
    rows = await get_state(request).db.fetch(
        """
        SELECT tablename, policyname, cmd, roles::text[] AS roles, qual, with_check
        FROM pg_policies WHERE schemaname = $1 ORDER BY tablename, policyname
        """,
        _schema_param(request),
    )
    return JsonResponse(
        {
            "policies": [
                {
                    "tableName": row["tablename"],
                    "policyName": row["policyname"],
                    "cmd": row["cmd"],
                    "roles": list(row["roles"]),
                    "qual": row["qual"],
                    "withCheck": row["with_check"],
                }
                for row in rows
            ]
        }
    )


async def list_triggers(request: Request) -> Response:
    require_admin(request)
    rows = await get_state(request).db.fetch(
        """
        SELECT event_object_table, trigger_name, action_timing,
               string_agg(event_manipulation, ' OR ' ORDER BY event_manipulation) AS events, action_statement
        FROM information_schema.triggers WHERE trigger_schema = $1
        GROUP BY event_object_table, trigger_name, action_timing, action_statement
        ORDER BY event_object_table, trigger_name
        """,
        _schema_param(request),
    )
    return JsonResponse(
        {
            "triggers": [
                {
                    "tableName": row["event_object_table"],
                    "triggerName": row["trigger_name"],
                    "actionTiming": row["action_timing"],
                    "eventManipulation": row["events"],
                    "actionStatement": row["action_statement"],
                }
                for row in rows
            ]
        }
    )


async def list_migrations(request: Request) -> Response:
    require_admin(request)
    return JsonResponse({"migrations": []})


routes = [
    Route("/api/database/advance/rawsql", raw_sql, methods=["POST"]),
    Route("/api/database/advance/rawsql/unrestricted", raw_sql_unrestricted, methods=["POST"]),
    Route("/api/database/tables", list_tables, methods=["GET"]),
    Route("/api/database/tables", create_table, methods=["POST"]),
    Route("/api/database/tables/{table}/schema", get_table_schema, methods=["GET"]),
    Route("/api/database/tables/{table}/schema", update_table_schema, methods=["PATCH"]),
    Route("/api/database/tables/{table}", delete_table, methods=["DELETE"]),
    Route("/api/database/schemas", list_schemas, methods=["GET"]),
    Route("/api/database/functions", list_functions, methods=["GET"]),
    Route("/api/database/indexes", list_indexes, methods=["GET"]),
    Route("/api/database/policies", list_policies, methods=["GET"]),
    Route("/api/database/triggers", list_triggers, methods=["GET"]),
    Route("/api/database/migrations", list_migrations, methods=["GET"]),
]
