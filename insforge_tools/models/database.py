"""Typed results of the database operations: SQL, tables, table schemas and records.

Row values are made JSON-safe when a result is built. Datetimes, dates and times become
ISO 8601 strings, and decimals become their exact decimal string, as the backend's
PostgreSQL driver returns ``numeric``. UUIDs become strings and bytes become base64 text.
A result therefore never needs ``str()`` or ``repr()`` to be serialised.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ColumnSchema",
    "ForeignKeySchema",
    "QueryField",
    "QueryResult",
    "RecordsResult",
    "TableSchema",
    "TablesResult",
    "json_safe",
]


def json_safe(value: Any) -> Any:
    """Return ``value`` with every non-JSON type converted explicitly (never through ``repr``)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # JSON has no NaN or Infinity; PostgreSQL spells them this way.
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    if isinstance(value, BaseModel):
        return json_safe(value.model_dump(mode="json"))
    raise TypeError(f"A value of type {type(value).__name__} cannot be converted to JSON.")


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class QueryField(_Open):
    """One column of a SQL result."""

    name: str
    data_type_id: int | None = Field(default=None, alias="dataTypeID", description="PostgreSQL type OID.")


class QueryResult(BaseModel):
    """The result of one SQL statement."""

    rows: list[dict[str, Any]] = Field(default_factory=list, description="The rows, as JSON objects.")
    row_count: int | None = Field(
        default=None, description="Rows returned or changed; null for statements such as CREATE TABLE."
    )
    fields: list[QueryField] = Field(default_factory=list, description="The result's columns.")

    @field_validator("rows", mode="before")
    @classmethod
    def _json_safe_rows(cls, rows: Any) -> Any:
        if isinstance(rows, list):
            return [json_safe(row) if isinstance(row, Mapping) else row for row in rows]
        return rows


class TablesResult(BaseModel):
    """The tables of the project's ``public`` schema."""

    tables: list[str] = Field(default_factory=list)


class ColumnSchema(_Open):
    """One column of a table."""

    column_name: str = Field(alias="columnName")
    type: str = Field(description="The backend's type name, such as string, integer, boolean or datetime.")
    is_nullable: bool = Field(default=True, alias="isNullable")
    is_primary_key: bool = Field(default=False, alias="isPrimaryKey")
    is_unique: bool = Field(default=False, alias="isUnique")
    default_value: str | None = Field(default=None, alias="defaultValue")


class ForeignKeySchema(_Open):
    """One foreign key; the backend's fields are kept as they are."""

    column_name: str | None = Field(default=None, alias="columnName")
    reference_table: str | None = Field(default=None, alias="referenceTable")
    reference_column: str | None = Field(default=None, alias="referenceColumn")
    on_delete: str | None = Field(default=None, alias="onDelete")
    on_update: str | None = Field(default=None, alias="onUpdate")


class TableSchema(_Open):
    """The schema of one table: columns, foreign keys and row count."""

    schema_name: str = Field(default="public", alias="schemaName")
    table_name: str = Field(alias="tableName")
    columns: list[ColumnSchema] = Field(default_factory=list)
    foreign_keys: list[ForeignKeySchema] = Field(default_factory=list, alias="foreignKeys")
    record_count: int | None = Field(default=None, alias="recordCount")


class RecordsResult(BaseModel):
    """Rows read or changed through the records API."""

    table: str
    records: list[dict[str, Any]] = Field(default_factory=list)
    count: int = Field(default=0, description="How many records the response contains.")
    note: str | None = Field(default=None, description="A remark about the response, such as missing rows.")

    @field_validator("records", mode="before")
    @classmethod
    def _json_safe_records(cls, records: Any) -> Any:
        if isinstance(records, list):
            return [json_safe(row) if isinstance(row, Mapping) else row for row in records]
        return records
