"""insforge_metadata: the typed model on recorded and drifted bodies, and its compact summary."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ops_helpers import ScriptedBackend, load_recorded

from insforge_tools.context import Context
from insforge_tools.models.metadata import AppMetadata
from insforge_tools.operations.project import summarize_metadata
from insforge_tools.registry import get_operation, invoke, render_result


def _recorded() -> dict[str, Any]:
    return copy.deepcopy(load_recorded("metadata, Bearer API key"))


async def test_metadata_recorded_body(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/metadata", body=_recorded())
    result = await invoke(make_context(), "insforge_metadata")
    assert isinstance(result, AppMetadata)
    assert result.auth.password_min_length == 6
    assert result.auth.verify_email_method == "code"
    assert result.auth.smtp_config is not None
    assert result.auth.smtp_config.port == 465
    assert result.version == "1.0.0"
    assert result.realtime.channels == []


def test_metadata_without_realtime() -> None:
    body = _recorded()
    del body["realtime"]
    result = AppMetadata.model_validate(body)
    assert result.realtime.channels == []
    assert "Realtime: 0 channels." in summarize_metadata(result)


def test_metadata_drifted_body() -> None:
    # No aiIntegration, no realtime, an unknown key, a function in status "error", no tables.
    body = _recorded()
    del body["realtime"]
    body["brandNewSection"] = {"enabled": True}
    body["database"]["tables"] = []
    body["functions"] = [
        {"slug": "broken", "name": "broken", "description": None, "status": "error"},
        {"slug": "next", "name": "next", "description": "x", "status": "paused-by-newer-backend"},
    ]
    body["auth"]["verifyEmailMethod"] = "magic-link"
    result = AppMetadata.model_validate(body)
    assert result.model_extra == {"brandNewSection": {"enabled": True}}
    assert [item.status for item in result.functions] == ["error", "paused-by-newer-backend"]

    summary = summarize_metadata(result)
    assert "broken (error)" in summary
    assert "Database: 0 tables" in summary


def test_metadata_null_sections() -> None:
    result = AppMetadata.model_validate({"functions": None, "database": {"tables": None}, "storage": None})
    assert result.functions == []
    assert result.database.tables == []
    assert result.storage.buckets == []


def test_metadata_summary_highlights() -> None:
    body = _recorded()
    body["database"]["tables"] = [
        {"tableName": "posts", "recordCount": 1},
        {"tableName": "todos", "recordCount": 3},
    ]
    body["storage"]["buckets"] = [
        {"name": "docs", "public": False, "createdAt": "2026-12-04", "objectCount": 1}
    ]
    body["auth"]["oAuthProviders"] = ["google", "github"]
    summary = summarize_metadata(AppMetadata.model_validate(body))
    assert "posts (1 rows)" in summary
    assert "todos (3 rows)" in summary
    assert "docs (private, 1 objects)" in summary
    assert "OAuth providers: google, github" in summary
    assert "email verification not required" in summary
    assert "signup enabled" in summary


def test_metadata_500_tables() -> None:
    body = _recorded()
    body["database"]["tables"] = [
        {"tableName": f"table_{index:03d}", "recordCount": index} for index in range(500)
    ]
    result = AppMetadata.model_validate(body)

    summary = summarize_metadata(result)
    assert len(summary) < 6000
    assert "Database: 500 tables" in summary
    assert "table_000 (0 rows)" in summary
    assert "table_499" not in summary
    assert "of 500; call insforge_db_tables" in summary
    assert "Auth:" in summary

    rendered = render_result(get_operation("insforge_metadata"), result, 6000)
    assert rendered == summary
