"""Records and table operations: request shapes on both transports, filters and approvals."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ops_helpers import ScriptedBackend, ScriptedCli, load_recorded
from pydantic import ValidationError

from insforge_tools.approvals import DenyingApprover
from insforge_tools.context import Context
from insforge_tools.errors import ApprovalError, InvalidInputError, NotFoundError
from insforge_tools.operations.database import RecordFilter
from insforge_tools.registry import get_operation, invoke, render_result

TODOS = [{"id": 1, "title": "write client", "done": False}, {"id": 2, "title": "test it", "done": True}]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"column": "done", "value": True}, ("done", "eq.true")),
        ({"column": "id", "operator": "gte", "value": 3}, ("id", "gte.3")),
        ({"column": "title", "operator": "ilike", "value": "*client*"}, ("title", "ilike.*client*")),
        ({"column": "deleted_at", "value": None}, ("deleted_at", "is.null")),
        ({"column": "deleted_at", "operator": "neq", "value": None}, ("deleted_at", "not.is.null")),
        ({"column": "id", "operator": "in", "value": [1, 2]}, ("id", "in.(1,2)")),
        (
            {"column": "title", "operator": "in", "value": ["a,b", 'say "hi"']},
            ("title", 'in.("a,b","say \\"hi\\"")'),
        ),
    ],
)
def test_filter_query(condition: dict[str, object], expected: tuple[str, str]) -> None:
    assert RecordFilter.model_validate(condition).to_query() == expected


@pytest.mark.parametrize(
    "condition",
    [
        {"column": "id", "operator": "in", "value": 1},
        {"column": "id", "operator": "eq", "value": [1]},
        {"column": "id", "operator": "is", "value": "maybe"},
        {"column": "id=eq.1&x", "value": 1},
        {"column": "id", "operator": "contains", "value": 1},
    ],
)
def test_filter_invalid(condition: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RecordFilter.model_validate(condition)


async def test_list_over_http(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/database/records/todos", body=TODOS)
    args = {
        "table": "todos",
        "select": "id,title",
        "filters": [{"column": "done", "value": True}],
        "order": "id.asc",
        "limit": 5,
    }
    result = await invoke(make_context(), "insforge_records_list", args)
    assert result.records == TODOS
    assert result.count == 2
    query = backend.requests[0].url.params
    assert query["select"] == "id,title"
    assert query["done"] == "eq.true"
    assert query["order"] == "id.asc"
    assert query["limit"] == "5"


async def test_list_through_cli(make_context: Callable[..., Context], linked: Path, cli: ScriptedCli) -> None:
    cli.answer(TODOS)
    args = {"table": "todos", "filters": [{"column": "id", "value": 3}], "limit": 5}
    await invoke(make_context(transport="cli"), "insforge_records_list", args)
    assert cli.calls[0]["args"] == [
        "records",
        "list",
        "todos",
        "--filter",
        "id=eq.3",
        "--limit",
        "5",
        "--offset",
        "0",
    ]


async def test_list_unknown_table(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    body = load_recorded("records unknown table")
    backend.on("GET", "/api/database/records/no_such_table", status=404, body=body)
    with pytest.raises(NotFoundError):
        await invoke(make_context(), "insforge_records_list", {"table": "no_such_table"})


async def test_create_records(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on(
        "POST", "/api/database/records/todos", status=201, body=[{"id": 9, "title": "new", "done": False}]
    )
    result = await invoke(
        make_context(), "insforge_records_create", {"table": "todos", "records": [{"title": "new"}]}
    )
    assert result.count == 1
    assert backend.json_of(0) == [{"title": "new"}]
    assert backend.requests[0].headers["Prefer"] == "return=representation"
    assert "1 records created in todos." in render_result(
        get_operation("insforge_records_create"), result, 6000
    )


def test_create_mixed_keys() -> None:
    args_model = get_operation("insforge_records_create").args_model
    with pytest.raises(ValidationError):
        args_model.model_validate(
            {"table": "todos", "records": [{"title": "a"}, {"title": "b", "done": True}]}
        )


async def test_create_rejected(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on(
        "POST", "/api/database/records/todos", status=400, body=load_recorded("records insert bad column")
    )
    with pytest.raises(InvalidInputError) as caught:
        await invoke(make_context(), "insforge_records_create", {"table": "todos", "records": [{"nope": 1}]})
    assert "nope" in caught.value.message


async def test_update_records(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend, cli: ScriptedCli
) -> None:
    backend.on("PATCH", "/api/database/records/todos", body=[{"id": 4, "title": "minimal", "done": True}])
    args = {"table": "todos", "filters": [{"column": "title", "value": "minimal"}], "values": {"done": True}}
    result = await invoke(make_context(), "insforge_records_update", args)
    assert result.count == 1
    assert backend.requests[0].url.params["title"] == "eq.minimal"
    assert backend.json_of(0) == {"done": True}

    # The CLI's records update cannot be used (see the operation), so HTTP serves it in cli mode too.
    await invoke(make_context(transport="cli"), "insforge_records_update", args)
    assert cli.calls == []
    assert len(backend.requests) == 2


def test_update_needs_filter() -> None:
    args_model = get_operation("insforge_records_update").args_model
    with pytest.raises(ValidationError):
        args_model.model_validate({"table": "todos", "filters": [], "values": {"done": True}})


async def test_delete_denied(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    args = {"table": "todos", "filters": [{"column": "id", "value": 1}]}
    with pytest.raises(ApprovalError):
        await invoke(make_context(approver=DenyingApprover()), "insforge_records_delete", args)
    assert backend.requests == []


async def test_delete_records(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend, cli: ScriptedCli
) -> None:
    backend.on("DELETE", "/api/database/records/todos", body=[TODOS[0]])
    args = {"table": "todos", "filters": [{"column": "id", "value": 1}]}
    result = await invoke(make_context(), "insforge_records_delete", args)
    assert result.records == [TODOS[0]]
    assert backend.requests[0].url.params["id"] == "eq.1"

    await invoke(make_context(transport="cli"), "insforge_records_delete", args)
    assert cli.calls == []
    assert len(backend.requests) == 2


async def test_list_two_filters_skip_cli(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend, cli: ScriptedCli
) -> None:
    # The CLI keeps only one --filter, so two conditions must not go through it.
    backend.on("GET", "/api/database/records/todos", body=[])
    args = {"table": "todos", "filters": [{"column": "id", "value": 1}, {"column": "done", "value": True}]}
    await invoke(make_context(transport="cli"), "insforge_records_list", args)
    assert cli.calls == []
    assert backend.requests[0].url.params.get_list("id") == ["eq.1"]
    assert backend.requests[0].url.params.get_list("done") == ["eq.true"]


def test_delete_needs_filter() -> None:
    op = get_operation("insforge_records_delete")
    assert op.destructive
    with pytest.raises(ValidationError):
        op.args_model.model_validate({"table": "todos", "filters": []})


async def test_tables_both_paths(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend, cli: ScriptedCli
) -> None:
    backend.on("GET", "/api/database/tables", body=["notes", "todos"])
    cli.answer(["notes", "todos"])
    over_http = await invoke(make_context(), "insforge_db_tables")
    through_cli = await invoke(make_context(transport="cli"), "insforge_db_tables")
    assert over_http.tables == ["notes", "todos"]
    assert through_cli == over_http


async def test_schema_over_http(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/database/tables/todos/schema", body=load_recorded("table schema todos"))
    result = await invoke(make_context(), "insforge_table_schema", {"table": "todos"})
    assert [column.column_name for column in result.columns] == ["id", "title", "done", "created_at"]
    assert result.columns[0].is_primary_key
    assert result.record_count == 2
    text = render_result(get_operation("insforge_table_schema"), result, 6000)
    assert "id integer (primary key, not null, default nextval('todos_id_seq'::regclass))" in text


async def test_schema_through_cli(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli
) -> None:
    columns = {
        "rows": [
            {
                "column_name": "id",
                "data_type": "integer",
                "udt_name": "int4",
                "is_nullable": "NO",
                "column_default": "nextval('todos_id_seq'::regclass)",
                "is_primary_key": True,
                "is_unique": True,
            },
            {
                "column_name": "title",
                "data_type": "text",
                "udt_name": "text",
                "is_nullable": "NO",
                "column_default": None,
                "is_primary_key": False,
                "is_unique": False,
            },
        ]
    }
    cli.answer(columns, {"rows": [{"record_count": "2", "foreign_keys": []}]})
    result = await invoke(make_context(transport="cli"), "insforge_table_schema", {"table": "todo's"})
    assert [column.type for column in result.columns] == ["integer", "string"]
    assert result.record_count == 2
    sql = cli.calls[0]["args"][2]
    assert "c.table_name = 'todo''s'" in sql
    assert '"public"."todo\'s"' in cli.calls[1]["args"][2]


async def test_schema_unknown_cli(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli
) -> None:
    cli.answer({"rows": []})
    with pytest.raises(NotFoundError):
        await invoke(make_context(transport="cli"), "insforge_table_schema", {"table": "nope"})
