"""Replay recorded exchanges with the real InsForge backend 2.3.1 against the stand-in.

The exchanges run once, in recorded order, against one fresh backend (later
ones depend on the state earlier ones leave, as in the recording). Each one is
then checked as its own test: status, content type, ranges, and the body after
normalising ids, timestamps and ports.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from backend_probes import (
    REFERENCE_DIR,
    Exchange,
    key_order,
    load_exchanges,
    mask_auto_key_etags,
    normalise,
    normalise_text,
    substitute_keys,
)

pytestmark = pytest.mark.skipif(
    not REFERENCE_DIR.is_dir(),
    reason=f"recorded backend exchanges not found at {REFERENCE_DIR}",
)

# Exchanges left out, with the reason. Everything else in the recording is replayed.
SKIPPED = {
    "1: rawsql touching system schema (project_admin)": "the first physical row of system.secrets differs",
    "1: rawsql explain": "plan costs and timings differ between servers",
    "1: records (PostgREST proxy) list todos": "recorded while PostgREST was down",
    "1: records (PostgREST proxy) insert": "recorded while PostgREST was down",
    "1: records (PostgREST proxy) unknown table": "recorded while PostgREST was down",
    "1: records (PostgREST proxy) anon key": "recorded while PostgREST was down",
    "1: rpc (PostgREST proxy)": "rpc is not served",
    "1: logs stats": "counts depend on the server's whole history",
    "1: logs audits": "audit logs are not kept",
    "1: logs audits stats": "audit logs are not kept",
    "1: logs search": "counts depend on the server's whole history",
    "1: metadata with user JWT (not admin)": "user sign-in is not served",
    "1: usage (api key)": "cloud usage statistics are not served",
    "2: rawsql create extension as project_admin (needs insforge_pg_utils)": "extensions differ",
    "2: rawsql vector extension present": "extensions differ",
    "3: rpc now() (not exposed)": "rpc is not served",
    "3: rpc add_numbers": "rpc is not served",
}
SKIPPED_PREFIXES = ("1: admin records", "1: ai ", "1: auth ", "2: admin login")

# Multipart bodies are recorded only as their size; these are uploads of the same size.
UPLOADS = {
    "1: object PUT exact key": ("hello.txt", b"hello from the probe\n", "text/plain"),
    "1: object POST auto key": ("auto.txt", b"auto-key content.\n", "text/plain"),
    "1: object PUT unknown bucket": ("x.txt", b"x\n", "text/plain"),
}
MALFORMED_JSON = b"{bad json"


def _selected() -> list[Exchange]:
    if not REFERENCE_DIR.is_dir():
        return []
    return [
        exchange
        for name, exchange in load_exchanges(REFERENCE_DIR).items()
        if name not in SKIPPED and not name.startswith(SKIPPED_PREFIXES)
    ]


SELECTED = _selected()


def _send(client: httpx.Client, exchange: Exchange, api_key: str, anon_key: str) -> httpx.Response:
    headers = substitute_keys(exchange.headers, api_key, anon_key)
    content_type = headers.pop("Content-Type", None)
    kwargs: dict[str, Any] = {"headers": headers}
    if exchange.name in UPLOADS:
        kwargs["files"] = {"file": UPLOADS[exchange.name]}
    elif isinstance(exchange.body, str) and exchange.body.startswith("<"):
        kwargs["content"] = MALFORMED_JSON
        headers["Content-Type"] = content_type or "application/json"
    elif exchange.body is not None:
        kwargs["json"] = exchange.body
    elif content_type:
        headers["Content-Type"] = content_type
    return client.request(exchange.method, exchange.path, **kwargs)


@pytest.fixture(scope="module")
def replayed(backend: Any) -> dict[str, httpx.Response]:
    responses: dict[str, httpx.Response] = {}
    with httpx.Client(base_url=backend.url, timeout=30.0) as client:
        for exchange in SELECTED:
            responses[exchange.name] = _send(client, exchange, backend.api_key, backend.anon_key)
    return responses


def test_replay_covers_enough() -> None:
    if not SELECTED:
        pytest.skip(f"recorded backend exchanges not found at {REFERENCE_DIR}")
    assert len(SELECTED) >= 40
    families = {exchange.path.split("?")[0].split("/")[2] for exchange in SELECTED}
    assert {
        "health",
        "metadata",
        "database",
        "storage",
        "functions",
        "secrets",
        "logs",
        "docs",
        "usage",
    } <= families


@pytest.mark.parametrize("exchange", SELECTED, ids=[exchange.name for exchange in SELECTED])
def test_replay(exchange: Exchange, replayed: dict[str, httpx.Response], backend: Any) -> None:
    response = replayed[exchange.name]
    expected_json = substitute_keys(exchange.json, backend.api_key, backend.anon_key)

    assert response.status_code == exchange.status, response.text
    assert response.headers.get("content-type") == exchange.response_headers.get("content-type")
    for header in ("content-range", "preference-applied", "cache-control"):
        if header in exchange.response_headers:
            assert response.headers.get(header) == exchange.response_headers[header]

    if exchange.text is not None:
        assert normalise_text(response.text) == normalise_text(exchange.text)
        return

    actual = mask_auto_key_etags(normalise(response.json()))
    expected = mask_auto_key_etags(normalise(expected_json))
    if exchange.label == "logs by source insforge.logs":
        # The recorded lines came from other requests; the entry shape and the count must match.
        assert actual["total"] == expected["total"]
        assert key_order(actual["logs"][0])[:3] == key_order(expected["logs"][0])[:3]
        assert list(actual["logs"][0]["body"]) == list(expected["logs"][0]["body"])
        return
    assert actual == expected
    assert key_order(actual) == key_order(expected)
