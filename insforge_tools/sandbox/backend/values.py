"""Conversion between asyncpg values and the JSON the backend sends.

The real backend reads rows with node-postgres, so its JSON follows node-postgres
parsing: ``int8`` and ``numeric`` become strings, timestamps and dates become
JavaScript ``Date`` values (ISO strings with milliseconds and ``Z``), ``json``
is parsed, ``bytea`` becomes a serialised ``Buffer``. Query parameters arrive as
JSON values and are coerced to the types PostgreSQL inferred for them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import json
import math
import struct
import uuid
from typing import Any

__all__ = ["coerce_parameter", "iso_timestamp", "to_node_json"]

INT8_TYPES = {"int8", "numeric", "money"}
FLOAT4_TYPES = {"float4"}


def iso_timestamp(value: dt.datetime) -> str:
    """Format ``value`` as ``Date.prototype.toJSON`` does: UTC, milliseconds, ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _js_number(value: float) -> float | int:
    """Return ``value`` as ``JSON.stringify`` prints it: a whole number has no ``.0``."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _parse_json_float(text: str) -> float | int:
    return _js_number(float(text))


def _shortest_float4(value: float) -> float:
    """Return the shortest decimal that reads back as the same 4-byte float, as PostgreSQL prints it."""
    if not math.isfinite(value):
        return value
    packed = struct.pack("f", value)
    for digits in range(1, 10):
        candidate = float(f"{value:.{digits}g}")
        if struct.pack("f", candidate) == packed:
            return candidate
    return value


def to_node_json(value: Any, type_name: str) -> Any:
    """Convert one asyncpg value of PostgreSQL type ``type_name`` to its node-postgres JSON form."""
    if value is None:
        return None
    # asyncpg names array types "int8[]"; the catalogue names them "_int8".
    base = type_name.lstrip("_").removesuffix("[]")
    if isinstance(value, list):
        return [to_node_json(item, base) for item in value]
    if base in ("json", "jsonb") and isinstance(value, str):
        return json.loads(value, parse_float=_parse_json_float)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value) if base in INT8_TYPES else value
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return _js_number(_shortest_float4(value) if base in FLOAT4_TYPES else value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return iso_timestamp(value)
    if isinstance(value, dt.date):
        return iso_timestamp(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC))
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _interval_object(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "Buffer", "data": list(bytes(value))}
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple):
        return [to_node_json(item, "") for item in value]
    return str(value)


def _interval_object(value: dt.timedelta) -> dict[str, int]:
    """Render an interval as node-postgres' ``PostgresInterval`` serialises: only non-zero parts."""
    total_ms = round(value.total_seconds() * 1000)
    sign = -1 if total_ms < 0 else 1
    total_ms = abs(total_ms)
    days, rest = divmod(total_ms, 86_400_000)
    hours, rest = divmod(rest, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, milliseconds = divmod(rest, 1000)
    parts = {
        "days": days,
        "hours": hours,
        "minutes": minutes,
        "seconds": seconds,
        "milliseconds": milliseconds,
    }
    return {name: sign * amount for name, amount in parts.items() if amount}


class ParameterError(ValueError):
    """A parameter value that PostgreSQL would reject for the inferred type."""

    def __init__(self, type_name: str, value: Any) -> None:
        super().__init__(f'invalid input syntax for type {type_name}: "{_as_text(value)}"')


def _as_text(value: Any) -> str:
    """Render ``value`` as node-postgres sends a parameter: text, booleans as true/false, objects as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


_TYPE_DISPLAY = {
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float4": "real",
    "float8": "double precision",
    "bool": "boolean",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
}


def coerce_parameter(value: Any, type_name: str) -> Any:
    """Convert a JSON parameter to the Python value asyncpg needs for PostgreSQL type ``type_name``."""
    if value is None:
        return None
    if type_name.startswith("_") or type_name.endswith("[]"):
        if not isinstance(value, list):
            raise ParameterError(type_name, value)
        element_type = type_name.lstrip("_").removesuffix("[]")
        return [coerce_parameter(item, element_type) for item in value]

    display = _TYPE_DISPLAY.get(type_name, type_name)
    text = _as_text(value)
    try:
        if type_name in ("int2", "int4", "int8", "oid"):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            return int(text.strip())
        if type_name in ("float4", "float8"):
            return float(text)
        if type_name == "numeric":
            return decimal.Decimal(text.strip())
        if type_name == "bool":
            lowered = text.strip().lower()
            if lowered in ("t", "true", "y", "yes", "on", "1"):
                return True
            if lowered in ("f", "false", "n", "no", "off", "0"):
                return False
            raise ValueError(text)
        if type_name in ("json", "jsonb"):
            return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
        if type_name == "uuid":
            return uuid.UUID(text)
        if type_name in ("timestamptz", "timestamp"):
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if type_name == "timestamptz" and parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.UTC)
            if type_name == "timestamp" and parsed.tzinfo is not None:
                parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
            return parsed
        if type_name == "date":
            return dt.date.fromisoformat(text[:10])
        if type_name == "time":
            return dt.time.fromisoformat(text)
        if type_name in ("inet", "cidr"):
            return ipaddress.ip_interface(text) if "/" in text else ipaddress.ip_address(text)
        if type_name == "bytea":
            return text.encode("utf-8")
    except (ValueError, decimal.InvalidOperation, TypeError) as exc:
        raise ParameterError(display, value) from exc
    return text
