"""insforge_db_query: both transports, approval of destructive SQL, and JSON-safe rendering."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from ops_helpers import ScriptedBackend, ScriptedCli

from insforge_tools.approvals import CallbackApprover, DenyingApprover
from insforge_tools.context import Context
from insforge_tools.errors import ApprovalError, InvalidInputError
from insforge_tools.models.database import QueryResult, json_safe
from insforge_tools.registry import get_operation, invoke, render_result

ROWS_BODY = {
    "rows": [{"id": 1, "title": "write client", "done": False}],
    "rowCount": 1,
    "fields": [
        {"name": "id", "dataTypeID": 23},
        {"name": "title", "dataTypeID": 25},
        {"name": "done", "dataTypeID": 16},
    ],
}


async def test_query_over_http(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("POST", "/api/database/advance/rawsql", body=ROWS_BODY)
    result = await invoke(
        make_context(), "insforge_db_query", {"sql": "select * from todos where id = $1", "params": [1]}
    )
    assert isinstance(result, QueryResult)
    assert result.rows == ROWS_BODY["rows"]
    assert result.row_count == 1
    assert [field.name for field in result.fields] == ["id", "title", "done"]
    assert backend.json_of(0) == {"query": "select * from todos where id = $1", "params": [1]}


async def test_query_through_cli(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli
) -> None:
    cli.answer(ROWS_BODY)
    result = await invoke(make_context(transport="cli"), "insforge_db_query", {"sql": "select * from todos"})
    assert result.rows == ROWS_BODY["rows"]
    assert cli.calls[0]["args"] == ["db", "query", "select * from todos"]


async def test_query_comment_first_cli(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli
) -> None:
    # A leading "--" must not be read as a CLI option.
    cli.answer({"rows": []})
    await invoke(make_context(transport="cli"), "insforge_db_query", {"sql": "-- note\nselect 1"})
    assert cli.calls[0]["args"][2] == " -- note\nselect 1"


async def test_query_params_skip_cli(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli, backend: ScriptedBackend
) -> None:
    backend.on("POST", "/api/database/advance/rawsql", body=ROWS_BODY)
    await invoke(make_context(transport="cli"), "insforge_db_query", {"sql": "select $1::int", "params": [1]})
    assert cli.calls == []
    assert len(backend.requests) == 1


async def test_destructive_denied(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    ctx = make_context(approver=DenyingApprover())
    with pytest.raises(ApprovalError):
        await invoke(ctx, "insforge_db_query", {"sql": "drop table todos"})
    assert backend.requests == []


async def test_destructive_approved(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    asked = []
    backend.on("POST", "/api/database/advance/rawsql", body={"rows": [], "rowCount": 3, "fields": []})
    ctx = make_context(approver=CallbackApprover(lambda request: asked.append(request) or True))
    result = await invoke(ctx, "insforge_db_query", {"sql": "delete from todos"})
    assert len(asked) == 1
    assert asked[0].kind == "destructive"
    assert asked[0].details["sql"] == "delete from todos"
    assert asked[0].details["reason"]
    assert result.row_count == 3
    assert (
        render_result(get_operation("insforge_db_query"), result, 6000)
        == "The statement ran; 3 rows affected."
    )


async def test_select_needs_no_approval(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("POST", "/api/database/advance/rawsql", body=ROWS_BODY)
    await invoke(
        make_context(approver=DenyingApprover()), "insforge_db_query", {"sql": "select * from todos"}
    )
    assert len(backend.requests) == 1


async def test_query_syntax_error(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    body = {
        "error": "FORBIDDEN",
        "message": "Query could not be parsed and was rejected for security reasons.",
        "statusCode": 403,
    }
    backend.on("POST", "/api/database/advance/rawsql", status=403, body=body)
    with pytest.raises(InvalidInputError) as caught:
        await invoke(make_context(), "insforge_db_query", {"sql": "selct 1"})
    assert "could not be parsed" in caught.value.message


def test_query_values_json_safe() -> None:
    # The C16 value table: quotes, booleans, null, datetime and decimal must render as JSON.
    row = {
        "table": "o'neil",
        "ok": True,
        "deleted_at": None,
        "ts": dt.datetime(2026, 12, 4, 19, 34, 21, tzinfo=dt.UTC),
        "amount": Decimal("1.50"),
        "blob": b"\x00\x01",
        "name": "Zoë",
    }
    result = QueryResult(rows=[row], row_count=1, fields=[{"name": name} for name in row])
    text = render_result(get_operation("insforge_db_query"), result, 6000)
    line = text.splitlines()[1]
    assert json.loads(line) == {
        "table": "o'neil",
        "ok": True,
        "deleted_at": None,
        "ts": "2026-12-04T19:34:21+00:00",
        "amount": "1.50",
        "blob": "AAE=",
        "name": "Zoë",
    }
    assert "True" not in text
    assert "None" not in text
    assert "Decimal" not in text
    assert "datetime" not in text


def test_json_safe_rejects_unknown() -> None:
    with pytest.raises(TypeError):
        json_safe(object())


def test_query_rows_cut() -> None:
    rows = [{"id": index, "payload": "x" * 40} for index in range(200_000)]
    result = QueryResult(rows=rows, row_count=200_000, fields=[{"name": "id"}, {"name": "payload"}])
    text = render_result(get_operation("insforge_db_query"), result, 6000)
    assert len(text) <= 6000
    assert text.startswith("200000 rows; columns: id, payload")
    assert "of 200000 rows" in text
    assert "LIMIT" in text
    assert json.loads(text.splitlines()[1]) == {"id": 0, "payload": "x" * 40}


def test_query_no_rows_summary() -> None:
    result = QueryResult(rows=[], row_count=None, fields=[])
    assert (
        render_result(get_operation("insforge_db_query"), result, 6000)
        == "The statement ran and returned no rows."
    )
