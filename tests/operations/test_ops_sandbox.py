"""Project and database operations against the sandbox backend, through both transports."""

# The SQL below interpolates table names that the tests generate themselves.
# ruff: noqa: S608

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from insforge_tools.approvals import AutoApprover
from insforge_tools.context import Context
from insforge_tools.errors import InvalidInputError, NotFoundError
from insforge_tools.registry import get_operation, invoke, render_result

pytestmark = pytest.mark.sandbox

TRANSPORTS = ["http", "cli"]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    try:
        from insforge_tools.sandbox import Sandbox
    except ImportError as exc:  # pragma: no cover - the sandbox extra is optional
        pytest.skip(f"the sandbox is not available: {exc}")
    box = Sandbox()
    box.start()
    yield box
    box.stop()


def _context(sandbox: Any, tmp_path: Path, transport: str) -> Context:
    workspace = tmp_path / "workspace"
    home = tmp_path / "home"
    workspace.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    ctx = sandbox.context(
        approver=AutoApprover(),
        workspace_dir=workspace,
        cli_home=home,
        credentials_path=tmp_path / "credentials.json",
    )
    ctx.state["transport"] = transport
    return ctx


async def _linked(sandbox: Any, tmp_path: Path, transport: str) -> Context:
    ctx = _context(sandbox, tmp_path, transport)
    result = await invoke(ctx, "insforge_link", {"api_base_url": sandbox.backend_url})
    assert result.validated, result.validation_error
    return ctx


def _table_name(transport: str) -> str:
    return f"todos_{transport}_{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_link_and_metadata(sandbox: Any, tmp_path: Path, transport: str) -> None:
    ctx = await _linked(sandbox, tmp_path, transport)
    table = _table_name(transport)
    await invoke(
        ctx, "insforge_db_query", {"sql": f"create table {table} (id serial primary key, title text)"}
    )

    metadata = await invoke(ctx, "insforge_metadata")
    names = [item.table_name for item in metadata.database.tables]
    assert table in names
    text = render_result(get_operation("insforge_metadata"), metadata, 6000)
    assert f"{table} (0 rows)" in text
    assert sandbox.api_key not in text

    current = await invoke(ctx, "insforge_current")
    assert current.project is not None
    assert current.project.oss_host == sandbox.backend_url
    assert sandbox.api_key not in render_result(get_operation("insforge_current"), current, 6000)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_sql_and_records(sandbox: Any, tmp_path: Path, transport: str) -> None:
    ctx = await _linked(sandbox, tmp_path, transport)
    table = _table_name(transport)
    await invoke(
        ctx,
        "insforge_db_query",
        {
            "sql": f"create table {table} "
            "(id serial primary key, title text not null, done boolean default false)"
        },
    )

    inserted = await invoke(
        ctx, "insforge_db_query", {"sql": f"insert into {table} (title) values ('a'), ('b') returning *"}
    )
    assert inserted.row_count == 2
    assert [row["title"] for row in inserted.rows] == ["a", "b"]
    assert [field.name for field in inserted.fields] == ["id", "title", "done"]

    tables = await invoke(ctx, "insforge_db_tables")
    assert table in tables.tables

    created = await invoke(ctx, "insforge_records_create", {"table": table, "records": [{"title": "c"}]})
    if created.records:
        assert created.records[0]["title"] == "c"
    else:
        assert created.note is not None
    if transport == "http":
        assert created.count == 1

    listed = await invoke(
        ctx,
        "insforge_records_list",
        {
            "table": table,
            "select": "id,title",
            "order": "id.asc",
            "filters": [{"column": "done", "value": False}],
        },
    )
    assert [row["title"] for row in listed.records] == ["a", "b", "c"]

    updated = await invoke(
        ctx,
        "insforge_records_update",
        {"table": table, "filters": [{"column": "title", "value": "a"}], "values": {"done": True}},
    )
    assert updated.records[0]["done"] is True

    deleted = await invoke(
        ctx, "insforge_records_delete", {"table": table, "filters": [{"column": "done", "value": True}]}
    )
    assert [row["title"] for row in deleted.records] == ["a"]

    remaining = await invoke(ctx, "insforge_db_query", {"sql": f"select count(*)::int as n from {table}"})
    assert remaining.rows == [{"n": 2}]


async def test_schema_same_on_both(sandbox: Any, tmp_path: Path) -> None:
    http_ctx = await _linked(sandbox, tmp_path / "http", "http")
    cli_ctx = await _linked(sandbox, tmp_path / "cli", "cli")
    table = _table_name("schema")
    await invoke(
        http_ctx,
        "insforge_db_query",
        {
            "sql": f"create table {table} (id serial primary key, title text not null, "
            "done boolean default false, created_at timestamptz default now())"
        },
    )
    await invoke(http_ctx, "insforge_db_query", {"sql": f"insert into {table} (title) values ('x')"})

    over_http = await invoke(http_ctx, "insforge_table_schema", {"table": table})
    through_cli = await invoke(cli_ctx, "insforge_table_schema", {"table": table})
    assert [column.column_name for column in through_cli.columns] == ["id", "title", "done", "created_at"]
    assert through_cli.record_count == 1
    assert over_http.record_count == 1
    for left, right in zip(over_http.columns, through_cli.columns, strict=True):
        assert left.column_name == right.column_name
        assert left.type == right.type, left.column_name
        assert left.is_nullable == right.is_nullable, left.column_name
        assert left.is_primary_key == right.is_primary_key, left.column_name


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_errors_same_on_both(sandbox: Any, tmp_path: Path, transport: str) -> None:
    ctx = await _linked(sandbox, tmp_path, transport)

    with pytest.raises(InvalidInputError):
        await invoke(ctx, "insforge_db_query", {"sql": "selec * from nothing"})
    with pytest.raises(InvalidInputError) as caught:
        await invoke(ctx, "insforge_db_query", {"sql": "select * from no_such_table"})
    assert "does not exist" in caught.value.message
    with pytest.raises(NotFoundError):
        await invoke(ctx, "insforge_table_schema", {"table": "no_such_table"})


async def test_params_over_http(sandbox: Any, tmp_path: Path) -> None:
    ctx = await _linked(sandbox, tmp_path, "auto")
    result = await invoke(
        ctx, "insforge_db_query", {"sql": "select $1::int + 1 as n, $2::text as t", "params": [41, "x"]}
    )
    assert result.rows == [{"n": 42, "t": "x"}]
