"""Behaviour of the backend stand-in beyond the recorded exchanges: storage keys, injection, limits, types."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from insforge_tools.sandbox.postgres import EmbeddedPostgres, EmbeddedPostgresError


def _sql(client: httpx.Client, query: str, params: list[Any] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"query": query}
    if params is not None:
        body["params"] = params
    return client.post("/api/database/advance/rawsql", json=body)


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# --- embedded PostgreSQL -------------------------------------------------------


def test_postgres_stop_closes_port() -> None:
    server = EmbeddedPostgres()
    with server:
        port = server.port
        root = server._root
        assert server.dsn.startswith("postgresql://postgres:")
        assert server.dsn.endswith(f"@127.0.0.1:{port}/postgres")
        assert _port_open(port)
        assert root is not None and root.is_dir()

    assert not _port_open(port)
    assert not root.exists()
    assert not server.running


def test_postgres_port_before_start() -> None:
    with pytest.raises(EmbeddedPostgresError, match="not running"):
        _ = EmbeddedPostgres().port


def test_postgres_stop_twice() -> None:
    server = EmbeddedPostgres().start()
    server.stop()
    server.stop()
    assert not server.running


# --- raw SQL -------------------------------------------------------------------


def test_rawsql_node_postgres_types(admin: httpx.Client) -> None:
    response = _sql(
        admin,
        "SELECT 9007199254740993::int8 AS big, 12.50::numeric AS money, 1.1::float4 AS f4, "
        "2.0::float8 AS f8, '2026-01-02 03:04:05.678+00'::timestamptz AS ts, '2026-01-02'::date AS d, "
        "'{\"a\": [1, 2.0]}'::jsonb AS j, '\\x0001ff'::bytea AS b, ARRAY[1, 2]::int8[] AS a, 'x;y' AS semi",
    )

    assert response.status_code == 200, response.text
    row = response.json()["rows"][0]
    assert row["big"] == "9007199254740993"
    assert row["money"] == "12.50"
    assert row["f4"] == 1.1
    assert row["f8"] == 2
    assert row["ts"] == "2026-01-02T03:04:05.678Z"
    assert row["d"] == "2026-01-02T00:00:00.000Z"
    assert row["j"] == {"a": [1, 2]}
    assert row["b"] == {"type": "Buffer", "data": [0, 1, 255]}
    assert row["a"] == ["1", "2"]
    assert row["semi"] == "x;y"
    assert response.json()["fields"][0] == {"name": "big", "dataTypeID": 20}


def test_rawsql_params_coerced(admin: httpx.Client) -> None:
    response = _sql(
        admin, "SELECT $1::int + 1 AS n, $2::text AS t, $3::jsonb AS j", ["41", "hi", {"k": True}]
    )

    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [{"n": 42, "t": "hi", "j": {"k": True}}]


@pytest.mark.parametrize(
    "query",
    ["BEGIN", "COMMIT", "SET ROLE postgres", "RESET ROLE", "SET search_path TO system",
     "SET statement_timeout = 0", "select 1; rollback", "DROP DATABASE postgres"],
)  # fmt: skip
def test_rawsql_session_escape_forbidden(admin: httpx.Client, query: str) -> None:
    response = _sql(admin, query)

    assert response.status_code == 403
    assert response.json()["error"] == "FORBIDDEN"


def test_rawsql_cannot_read_secret_values(admin: httpx.Client) -> None:
    names = _sql(admin, "SELECT key FROM system.secrets WHERE key = 'API_KEY'")
    values = _sql(admin, "SELECT value FROM system.secrets")

    assert names.status_code == 200
    assert names.json()["rows"] == [{"key": "API_KEY"}]
    assert values.status_code == 403
    assert values.json()["message"] == "permission denied for table secrets"


def test_rawsql_role_reset_after_request(admin: httpx.Client) -> None:
    for _ in range(3):
        assert _sql(admin, "SELECT 1/0").status_code == 500
    unrestricted = admin.post(
        "/api/database/advance/rawsql/unrestricted", json={"query": "SELECT current_user"}
    )

    assert unrestricted.json()["rows"] == [{"current_user": "postgres"}]


def test_header_names_case_insensitive(backend: Any, anonymous: httpx.Client) -> None:
    response = anonymous.get("/api/metadata/project-id", headers={"X-API-KEY": backend.api_key})

    assert response.status_code == 200
    assert response.json() == {"projectId": None}


# --- records: injection ----------------------------------------------------------


@pytest.fixture(scope="module")
def books(backend: Any) -> None:
    with backend.client() as client:
        response = _sql(
            client,
            "CREATE TABLE public.books (id serial PRIMARY KEY, title text NOT NULL, secret text); "
            "INSERT INTO public.books (title, secret) VALUES ('a', 's1'), ('b', 's2')",
        )
        assert response.status_code == 200, response.text


def _book_count(client: httpx.Client) -> int:
    response = _sql(client, "SELECT count(*)::int AS n FROM public.books")
    return int(response.json()["rows"][0]["n"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/database/records/books; DROP TABLE public.books",
        '/api/database/records/books" WHERE 1=1; DROP TABLE public.books; --',
        "/api/database/records/books?id=eq.1 OR 1=1",
        "/api/database/records/books?id=eq.1; DROP TABLE public.books",
        "/api/database/records/books?title=eq.a' OR '1'='1",
        '/api/database/records/books?id") OR 1=1 --=eq.1',
        "/api/database/records/books?select=id,(select secret from books)",
        "/api/database/records/books?order=id; DROP TABLE public.books",
        "/api/database/records/books?title=in.(a,b') OR ('1'='1)",
        "/api/database/records/books?select=id::int; DROP TABLE public.books",
    ],
)
def test_records_injection_harmless(books: None, admin: httpx.Client, path: str) -> None:
    response = admin.get(path)

    assert response.status_code in (200, 400, 404), response.text
    if response.status_code == 200:
        assert response.json() == [] or all(
            "secret" not in row or row["secret"] in ("s1",) for row in response.json()
        )
    else:
        assert set(response.json()) == {"code", "details", "hint", "message"}
    assert _book_count(admin) == 2


def test_records_delete_injection_harmless(books: None, admin: httpx.Client) -> None:
    response = admin.delete("/api/database/records/books?title=eq.x' OR '1'='1")

    assert response.status_code == 204
    assert _book_count(admin) == 2


def test_records_filters_and_count(books: None, admin: httpx.Client) -> None:
    response = admin.get(
        "/api/database/records/books?select=name:title&id=in.(1,2)&title=neq.zzz&order=id.desc&offset=1",
        headers={"Prefer": "count=exact"},
    )

    assert response.status_code == 206
    assert response.headers["content-range"] == "1-1/2"
    assert response.json() == [{"name": "a"}]


def test_records_is_and_like(books: None, admin: httpx.Client) -> None:
    nulls = admin.get("/api/database/records/books?secret=is.null")
    likes = admin.get("/api/database/records/books?select=title&title=ilike.*A*")
    negated = admin.get("/api/database/records/books?select=title&title=not.eq.a")

    assert nulls.json() == []
    assert likes.json() == [{"title": "a"}]
    assert negated.json() == [{"title": "b"}]


def test_records_bad_value_type(books: None, admin: httpx.Client) -> None:
    response = admin.get("/api/database/records/books?id=eq.abc")

    assert response.status_code == 400
    assert response.json()["code"] == "22P02"


# --- storage ---------------------------------------------------------------------

ODD_KEYS = [
    "products/p1/main.jpg",
    "with space/and plus+.txt",
    "unicode/Grüße — 東京.txt",
    "hash#and?query&x=1.bin",
    "percent%20literal.txt",
    "../../escape-attempt.txt",
    "deep/../../../etc/passwd",
]
BINARY = bytes(range(256)) + b"\x00\r\n\x00" + "é".encode()


@pytest.fixture(scope="module")
def bucket(backend: Any) -> str:
    with backend.client() as client:
        response = client.post("/api/storage/buckets", json={"bucketName": "files", "isPublic": False})
        assert response.status_code == 201, response.text
    return "files"


@pytest.mark.parametrize("key", ODD_KEYS)
def test_storage_key_round_trip(backend: Any, admin: httpx.Client, bucket: str, key: str) -> None:
    encoded = quote(key, safe="")
    upload = admin.put(
        f"/api/storage/buckets/{bucket}/objects/{encoded}", files={"file": ("blob.bin", BINARY, "image/png")}
    )

    assert upload.status_code == 200, upload.text
    body = upload.json()
    assert body["key"] == key
    assert body["size"] == len(BINARY)
    assert body["mimeType"] == "image/png"
    assert body["url"].startswith(
        f"{backend.url}/api/storage/buckets/{bucket}/objects/{quote(key, safe='!*()~')}?v="
    )

    download = admin.get(f"/api/storage/buckets/{bucket}/objects/{encoded}")
    assert download.status_code == 200
    assert download.content == BINARY
    assert download.headers["content-type"] == "image/png"

    listed = admin.get(f"/api/storage/buckets/{bucket}/objects", params={"prefix": key})
    assert [item["key"] for item in listed.json()["data"]] == [key]


def test_storage_slash_key_unencoded(admin: httpx.Client, bucket: str) -> None:
    upload = admin.put(f"/api/storage/buckets/{bucket}/objects/a/b/c.txt", files={"file": ("c.txt", b"abc")})
    download = admin.get(f"/api/storage/buckets/{bucket}/objects/a%2Fb%2Fc.txt")

    assert upload.json()["key"] == "a/b/c.txt"
    assert upload.json()["mimeType"] == "text/plain"
    assert download.content == b"abc"


def test_storage_files_stay_inside(backend: Any, admin: httpx.Client, bucket: str) -> None:
    admin.put(f"/api/storage/buckets/{bucket}/objects/..%2F..%2Foutside.txt", files={"file": ("o.txt", b"o")})
    storage_root = Path(backend.storage_dir).resolve()
    bucket_dir = storage_root / bucket

    for directory, _dirs, files in os.walk(storage_root):
        for name in files:
            path = Path(directory, name).resolve()
            assert path.parent == bucket_dir
            assert len(name) == 64
    assert not (storage_root.parent / "outside.txt").exists()


def test_storage_private_needs_token(anonymous: httpx.Client, admin: httpx.Client, bucket: str) -> None:
    admin.put(f"/api/storage/buckets/{bucket}/objects/private.txt", files={"file": ("p.txt", b"p")})
    response = anonymous.get(f"/api/storage/buckets/{bucket}/objects/private.txt")

    assert response.status_code == 401
    assert response.json()["message"] == "No token provided"


def test_storage_public_without_token(anonymous: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/api/storage/buckets", json={"bucketName": "open"})
    admin.put("/api/storage/buckets/open/objects/hi.txt", files={"file": ("hi.txt", b"hi")})
    response = anonymous.get("/api/storage/buckets/open/objects/hi.txt")

    assert response.status_code == 200
    assert response.content == b"hi"


def test_storage_size_limit(admin: httpx.Client, bucket: str) -> None:
    assert admin.put("/api/storage/config", json={"maxFileSizeMb": 1}).json()["maxFileSizeMb"] == 1
    try:
        response = admin.put(
            f"/api/storage/buckets/{bucket}/objects/big.bin",
            files={"file": ("big.bin", b"x" * (1024 * 1024 + 1))},
        )
    finally:
        admin.put("/api/storage/config", json={"maxFileSizeMb": 50})

    assert response.status_code == 413
    assert response.json()["statusCode"] == 413
    assert admin.get(f"/api/storage/buckets/{bucket}/objects/big.bin").status_code == 404


def test_storage_bucket_delete_removes_bytes(backend: Any, admin: httpx.Client) -> None:
    admin.post("/api/storage/buckets", json={"bucketName": "temporary"})
    admin.put("/api/storage/buckets/temporary/objects/x.txt", files={"file": ("x.txt", b"x")})

    assert admin.delete("/api/storage/buckets/temporary").status_code == 200
    assert not (Path(backend.storage_dir) / "temporary").exists()


# --- other routes ------------------------------------------------------------------


def test_function_invoke_port_closed(backend: Any, admin: httpx.Client) -> None:
    response = admin.get("/functions/anything")
    port = int(response.json()["error"].rsplit(":", 1)[1])

    assert response.status_code == 502
    assert list(response.json()) == ["error"]
    assert not _port_open(port)


def test_metadata_reflects_state(admin: httpx.Client, books: None, bucket: str) -> None:
    admin.post("/api/functions", json={"name": "Meta Fn", "code": "export default () => new Response('x')"})
    metadata = admin.get("/api/metadata").json()

    assert {"tableName": "books", "recordCount": 2} in metadata["database"]["tables"]
    assert bucket in [item["name"] for item in metadata["storage"]["buckets"]]
    assert {"slug": "meta-fn", "name": "Meta Fn", "status": "active", "description": None} in metadata[
        "functions"
    ]


def test_metadata_markdown_lists_tables(admin: httpx.Client, books: None) -> None:
    text = admin.get("/api/metadata", params={"format": "markdown"}).text

    assert "| Table | Records |" in text
    assert "| books | 2 |" in text


def test_logs_record_requests(admin: httpx.Client) -> None:
    admin.get("/api/health")
    logs = admin.get("/api/logs/insforge.logs", params={"limit": 5}).json()["logs"]

    assert any(entry["body"]["metadata"]["path"] == "/api/health" for entry in logs)


def test_docs_single_document(anonymous: httpx.Client) -> None:
    index = anonymous.get("/api/docs").json()
    for entry in index[:9]:
        response = anonymous.get(entry["endpoint"])
        assert response.status_code == 200, entry
        assert response.json()["content"].startswith("# ")
    assert anonymous.get("/api/docs/db/typescript").status_code == 200
    assert anonymous.get("/api/docs/nope").status_code == 404


def test_usage_mcp_needs_key(anonymous: httpx.Client, backend: Any) -> None:
    missing = anonymous.post("/api/usage/mcp", json={"tool_name": "t", "success": True})
    accepted = anonymous.post(
        "/api/usage/mcp", json={"tool_name": "t", "success": True}, headers={"x-api-key": backend.api_key}
    )

    assert missing.status_code == 401
    assert accepted.json() == {"success": True}


def test_unknown_method_is_not_found(admin: httpx.Client) -> None:
    response = admin.put("/api/health")

    assert response.status_code == 404
    assert response.json()["error"] == "NOT_FOUND"
