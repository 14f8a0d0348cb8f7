"""Log and documentation operations: recent lines of a log source, the backend's agent docs."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field, field_validator, model_validator

from insforge_tools.context import Context
from insforge_tools.errors import ServerError
from insforge_tools.models.logs import DocEntry, DocsResult, LogEntry, LogsResult
from insforge_tools.operations._common import cli_argv, cut_text, first_of
from insforge_tools.registry import operation
from insforge_tools.secrets import redact
from insforge_tools.transports.project import HttpCall, call_project

__all__ = [
    "LOG_SOURCES",
    "DocsArgs",
    "LogSource",
    "LogsArgs",
    "docs",
    "fetch_logs",
    "logs",
    "parse_log_entries",
]

logger = logging.getLogger("insforge_tools.operations.logs")

LogSource = Literal[
    "insforge.logs", "postgREST.logs", "postgres.logs", "function.logs", "function-deploy.logs"
]
LOG_SOURCES: tuple[str, ...] = (
    "insforge.logs",
    "postgREST.logs",
    "postgres.logs",
    "function.logs",
    "function-deploy.logs",
)
"""The sources the CLI accepts (compared without regard to case)."""

# Characters of a summary; the registry cuts anything longer than Settings.max_result_chars.
_LOG_BUDGET = 4500
_DOC_BUDGET = 5000
_LINE_CHARS = 400
_DOC_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


# --------------------------------------------------------------------------- logs


class LogsArgs(BaseModel):
    """Arguments of insforge_logs."""

    source: LogSource = Field(
        description="insforge.logs (API requests and server events), postgREST.logs, postgres.logs, "
        "function.logs (function runs) or function-deploy.logs (function builds)."
    )
    limit: int = Field(default=20, ge=1, le=1000, description="How many of the most recent lines to read.")

    @field_validator("source", mode="before")
    @classmethod
    def _known_source(cls, value: Any) -> Any:
        if isinstance(value, str):
            for name in LOG_SOURCES:
                if name.lower() == value.strip().lower():
                    return name
        return value


def _entry_message(item: dict[str, Any]) -> str:
    message = first_of(item, "eventMessage", "event_message", "message", "log", "line", "text", "msg")
    body = item.get("body")
    if message is None and isinstance(body, dict):
        message = first_of(body, "message", "msg")
    if message is None:
        return json.dumps(item, ensure_ascii=False, default=str)
    return message if isinstance(message, str) else json.dumps(message, ensure_ascii=False, default=str)


def parse_log_entries(body: Any) -> list[LogEntry]:
    """Return the entries of a log response in any of the backend's shapes (object or array)."""
    if isinstance(body, dict):
        body = first_of(body, "logs", "data", "buildLogs", "entries") or []
    if isinstance(body, str):
        body = body.splitlines()
    if not isinstance(body, list):
        raise ServerError(f"The log response is a JSON {type(body).__name__}, not a list of entries.")

    entries = []
    for item in body:
        if isinstance(item, str):
            entries.append(LogEntry(message=item))
            continue
        if not isinstance(item, dict):
            continue
        inner = item.get("body")
        if not isinstance(inner, dict):
            inner = {}
        level = first_of(item, "level", "severity") or inner.get("level")
        details = inner.get("metadata") if isinstance(inner.get("metadata"), dict) else None
        entries.append(
            LogEntry(
                timestamp=first_of(item, "timestamp", "time", "createdAt", "created_at"),
                level=str(level) if level is not None else None,
                message=_entry_message(item),
                details=details,
            )
        )
    return entries


async def fetch_logs(ctx: Context, source: str, limit: int) -> LogsResult:
    """Read the most recent ``limit`` lines of ``source`` through the workspace's transport."""
    if source == "function-deploy.logs":
        http = HttpCall("GET", "/api/logs/functions/build-logs", params={"limit": str(limit)})
    else:
        http = HttpCall("GET", f"/api/logs/{quote(source, safe='')}", params={"limit": str(limit)})
    body = await call_project(
        ctx, cli=cli_argv("logs", options=["--limit", str(limit)], positionals=[source]), http=http
    )
    total = body.get("total") if isinstance(body, dict) and isinstance(body.get("total"), int) else None
    return LogsResult(source=source, entries=parse_log_entries(body), total=total)


def _summarize_logs(result: LogsResult) -> str:
    if not result.entries:
        return f"{result.source} has no recent lines."
    lines = []
    for entry in result.entries:
        prefix = " ".join(part for part in (entry.timestamp, entry.level) if part)
        message = " ".join(entry.message.split())
        if len(message) > _LINE_CHARS:
            message = message[:_LINE_CHARS] + "…"
        lines.append(f"{prefix} {message}".strip())
    text = f"{len(result.entries)} lines of {result.source}:\n" + "\n".join(lines)
    return cut_text(redact(text), _LOG_BUDGET, "ask for fewer lines with a lower limit")


@operation(
    "insforge_logs",
    description="Read the most recent lines of one of the project's log sources, such as API requests, "
    "database errors or function build output.",
    read_only=True,
    summarize=_summarize_logs,
)
async def logs(ctx: Context, args: LogsArgs) -> LogsResult:
    """Return recent log lines of one source."""
    return await fetch_logs(ctx, args.source, args.limit)


# --------------------------------------------------------------------------- docs


class DocsArgs(BaseModel):
    """Arguments of insforge_docs."""

    feature: str | None = Field(
        default=None,
        description="The document to read, such as instructions, db-sdk, storage-sdk, functions-sdk, "
        "real-time or deployment; or a feature (db, storage, functions, auth, ai, realtime) with a "
        "language. Leave empty to list the documents.",
    )
    language: str | None = Field(
        default=None,
        description="With a feature: typescript, swift, kotlin or rest-api, for that SDK's document.",
    )

    @field_validator("feature", "language")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not _DOC_NAME.match(value):
            raise ValueError("Use letters, digits, '-' and '_' only, as in db-sdk or rest-api.")
        return value

    @model_validator(mode="after")
    def _language_needs_feature(self) -> DocsArgs:
        if self.language is not None and self.feature is None:
            raise ValueError("A language needs a feature, such as feature=db with language=typescript.")
        return self


def _doc_content(body: Any) -> str:
    if isinstance(body, dict) and "data" in body:
        body = body["data"]
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        content = first_of(body, "content", "text", "markdown", "body")
        if isinstance(content, str):
            return content
    return json.dumps(body, ensure_ascii=False, default=str)


def _summarize_docs(result: DocsResult) -> str:
    if result.content is not None:
        name = "/".join(part for part in (result.feature, result.language) if part)
        return cut_text(
            f"InsForge docs: {name}\n{result.content}",
            _DOC_BUDGET,
            "the rest of the document is left out; read the section you need from the backend's /api/docs",
        )
    if not result.documents:
        return "The backend lists no documents."
    names = ", ".join(entry.type for entry in result.documents)
    return cut_text(
        f"{len(result.documents)} documents: {names}\nRead one with feature=<type>, or feature and language.",
        _DOC_BUDGET,
        "some document names are left out",
    )


@operation(
    "insforge_docs",
    description="Read InsForge's documentation for agents: without arguments the list of documents, "
    "with feature (and language) one document, such as how to use the database SDK.",
    read_only=True,
    summarize=_summarize_docs,
)
async def docs(ctx: Context, args: DocsArgs) -> DocsResult:
    """Return the documentation index or one document."""
    positionals = [name for name in (args.feature, args.language) if name is not None]
    path = "/api/docs" + "".join(f"/{quote(name, safe='')}" for name in positionals)
    body = await call_project(ctx, cli=cli_argv("docs", positionals=positionals), http=HttpCall("GET", path))

    if args.feature is not None:
        return DocsResult(feature=args.feature, language=args.language, content=_doc_content(body))

    if isinstance(body, dict):
        body = body.get("data", [])
    if not isinstance(body, list):
        raise ServerError(f"The documentation index is a JSON {type(body).__name__}, not an array.")
    documents = [
        DocEntry(type=str(item.get("type")), endpoint=item.get("endpoint"))
        for item in body
        if isinstance(item, dict) and item.get("type")
    ]
    return DocsResult(documents=documents)
