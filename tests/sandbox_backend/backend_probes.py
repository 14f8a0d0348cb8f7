"""Load the recorded backend exchanges and compare live responses with them.

Values that differ between any two runs (ids, timestamps, ports, database size)
are normalised before comparing; everything else must match exactly, including
the order of object keys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REFERENCE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "reference"

ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:\d{2})?)?")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:\d+")
AUTO_KEY = re.compile(r"auto-\d+-[a-z0-9]{6}")
TOTAL_SIZE = re.compile(r"(\*\*Total size\*\*: )[0-9.e+-]+")

# Keys whose values change on every run, whatever the server.
VOLATILE_KEYS = {"totalSizeInGB", "anonKey", "eventMessage"}


@dataclass(frozen=True)
class Exchange:
    """One recorded request and the response the real backend gave."""

    source: str
    label: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    response_headers: dict[str, str]
    json: Any
    text: str | None

    @property
    def name(self) -> str:
        return f"{self.source}: {self.label}"


def load_exchanges(reference_dir: Path) -> dict[str, Exchange]:
    """Read ``backend-probe-*.json`` into exchanges keyed by ``"<n>: <label>"``."""
    exchanges: dict[str, Exchange] = {}
    for path in sorted(reference_dir.glob("backend-probe-*.json")):
        source = path.stem.removeprefix("backend-probe-")
        for entry in json.loads(path.read_text(encoding="utf-8")):
            request, response = entry["request"], entry["response"]
            exchange = Exchange(
                source=source,
                label=entry["label"],
                method=request["method"],
                path=request["path"],
                headers=request["headers"],
                body=request["body"],
                status=response["status"],
                response_headers={key.lower(): value for key, value in response["headers"].items()},
                json=response["json"],
                text=response["text"],
            )
            exchanges[exchange.name] = exchange
    return exchanges


def substitute_keys(value: Any, api_key: str, anon_key: str) -> Any:
    """Put the running backend's keys where the recording has placeholders."""
    if isinstance(value, str):
        return (
            value.replace("ik_<ADMIN_API_KEY>", api_key)
            .replace("<API_KEY>", api_key)
            .replace("<ANON_KEY>", anon_key)
        )
    if isinstance(value, dict):
        return {key: substitute_keys(item, api_key, anon_key) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_keys(item, api_key, anon_key) for item in value]
    return value


def normalise_text(text: str) -> str:
    text = LOOPBACK_PORT.sub("127.0.0.1:<port>", text)
    text = ISO_TIMESTAMP.sub("<timestamp>", text)
    text = UUID.sub("<uuid>", text)
    text = AUTO_KEY.sub("auto-<key>", text)
    return TOTAL_SIZE.sub(r"\1<size>", text)


def normalise(value: Any) -> Any:
    """Replace run-dependent values so two responses to the same request compare equal."""
    if isinstance(value, str):
        return normalise_text(value)
    if isinstance(value, dict):
        return {key: "<volatile>" if key in VOLATILE_KEYS else normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [normalise(item) for item in value]
    return value


def mask_auto_key_etags(value: Any) -> Any:
    """Hide the content hash of objects stored under automatic keys, whose recorded bytes are unknown."""
    if isinstance(value, dict):
        masked = {key: mask_auto_key_etags(item) for key, item in value.items()}
        if str(masked.get("key", "")).startswith("auto-"):
            if "etag" in masked:
                masked["etag"] = "<etag>"
            if isinstance(masked.get("url"), str):
                masked["url"] = re.sub(r"\?v=[0-9a-f]+$", "?v=<etag>", masked["url"])
        return masked
    if isinstance(value, list):
        return [mask_auto_key_etags(item) for item in value]
    return value


def key_order(value: Any) -> Any:
    """Return the nested key structure of ``value`` (keys in order, no values)."""
    if isinstance(value, dict):
        return [(key, key_order(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [key_order(item) for item in value]
    return type(value).__name__ if value is not None else "null"
