"""Typed results of the log and documentation operations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["DocEntry", "DocsResult", "LogEntry", "LogsResult"]


class LogEntry(BaseModel):
    """One log line."""

    timestamp: str | None = None
    level: str | None = None
    message: str = ""
    details: dict[str, Any] | None = Field(default=None, description="Structured fields of the entry.")


class LogsResult(BaseModel):
    """Recent lines of one log source, oldest first as the backend returns them."""

    source: str
    entries: list[LogEntry] = Field(default_factory=list)
    total: int | None = None


class DocEntry(BaseModel):
    """One document of the backend's agent documentation."""

    type: str
    endpoint: str | None = None


class DocsResult(BaseModel):
    """The documentation index, or one document's text."""

    feature: str | None = None
    language: str | None = None
    documents: list[DocEntry] = Field(
        default_factory=list, description="The index, when no feature was given."
    )
    content: str | None = Field(default=None, description="The document's text (Markdown).")
