"""Error mapping of the HTTP transport, on every recorded backend error body."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from insforge_tools.errors import (
    AuthError,
    CliError,
    ConflictError,
    InsForgeError,
    InvalidInputError,
    NotFoundError,
    NotLinkedError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)
from insforge_tools.secrets import Secret
from insforge_tools.settings import Settings
from insforge_tools.transports.errors import error_for_code, error_for_response
from insforge_tools.transports.http import HttpTransport

BASE = "http://127.0.0.1:9"

# The class each recorded error code must map to.
EXPECTED_BY_CODE: dict[str, type[InsForgeError]] = {
    "AUTH_INVALID_CREDENTIALS": AuthError,
    "AUTH_INVALID_API_KEY": AuthError,
    "AUTH_UNAUTHORIZED": AuthError,
    "INVALID_INPUT": InvalidInputError,
    "DATABASE_VALIDATION_ERROR": InvalidInputError,
    "DATABASE_DUPLICATE": ConflictError,
    "DATABASE_NOT_FOUND": NotFoundError,
    "DATABASE_CONSTRAINT_VIOLATION": InvalidInputError,
    "MISSING_FIELD": InvalidInputError,
    "INTERNAL_ERROR": ServerError,
    "STORAGE_ALREADY_EXISTS": ConflictError,
    "STORAGE_INVALID_PARAMETER": InvalidInputError,
    "STORAGE_NOT_FOUND": NotFoundError,
    "FUNCTION_ALREADY_EXISTS": ConflictError,
    "FUNCTION_SLUG_RESERVED": InvalidInputError,
    "FUNCTION_NOT_FOUND": NotFoundError,
    "SECRET_NOT_FOUND": NotFoundError,
    "AI_INVALID_API_KEY": ServerError,
    "NOT_FOUND": NotFoundError,
    "42P01": NotFoundError,
    "PGRST202": NotFoundError,
    "PGRST100": InvalidInputError,
    "PGRST102": InvalidInputError,
    "PGRST204": InvalidInputError,
    "42703": InvalidInputError,
    "23502": InvalidInputError,
}


def _transport(handler: Any, **kwargs: Any) -> HttpTransport:
    return HttpTransport(Settings(http_timeout=5), transport=httpx.MockTransport(handler), **kwargs)


def _recorded_errors(exchanges: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [exchange for exchange in exchanges if exchange["response"]["status"] >= 400]


def _expected_class(body: Any, status: int) -> type[InsForgeError]:
    if isinstance(body, dict) and isinstance(body.get("message"), str) and "error" in body:
        code = body["error"]
        if code == "FORBIDDEN":
            return (
                InvalidInputError
                if "not allowed" in body["message"] or "parsed" in body["message"]
                else (PermissionDeniedError)
            )
        return EXPECTED_BY_CODE[code]
    if isinstance(body, dict) and "code" in body:
        return EXPECTED_BY_CODE[body["code"]]
    return ServerError if status >= 500 else InsForgeError


async def test_http_errors_recorded(probe_exchanges: list[dict[str, Any]]) -> None:
    errors = _recorded_errors(probe_exchanges)
    assert len(errors) > 40

    for exchange in errors:
        response = exchange["response"]
        body = response["json"]

        def handler(request: httpx.Request, response: dict[str, Any] = response) -> httpx.Response:
            return httpx.Response(response["status"], json=response["json"])

        transport = _transport(handler, max_retries=0)
        with pytest.raises(InsForgeError) as caught:
            await transport.request(
                exchange["request"]["method"],
                BASE,
                exchange["request"]["path"],
                api_key=Secret("ik_" + "0" * 32),
            )
        await transport.aclose()

        error = caught.value
        label = exchange["label"]
        assert isinstance(error, _expected_class(body, response["status"])), label
        assert error.status == response["status"], label
        message = body.get("message") or body.get("error")
        assert message.splitlines()[0][:40] in error.message, label
        if isinstance(body, dict) and body.get("nextActions"):
            assert body["nextActions"][:40] in error.message, label


async def test_http_error_next_actions_joined() -> None:
    body = {
        "error": "AUTH_INVALID_API_KEY",
        "message": "Invalid API key",
        "statusCode": 401,
        "nextActions": "Check the API key is valid or generate a new API key.",
    }
    error = error_for_response(401, json.dumps(body).encode())
    assert isinstance(error, AuthError)
    assert error.message == "Invalid API key\nCheck the API key is valid or generate a new API key."
    assert error.code == "AUTH_INVALID_API_KEY"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(503, ServerError), (500, ServerError), (429, RateLimitError), (400, InvalidInputError)],
)
def test_auth_code_with_other_status(status: int, expected: type[InsForgeError]) -> None:
    # Only 401 and 403 mean that a key was rejected.
    body = {"error": "AUTH_INVALID_API_KEY", "message": "Could not verify", "statusCode": status}
    error = error_for_response(status, json.dumps(body).encode())
    assert isinstance(error, expected)
    assert not isinstance(error, AuthError)


def test_function_proxy_bare_error() -> None:
    body = {"error": "request to http://127.0.0.1:7133/hello failed, reason: connect ECONNREFUSED"}
    error = error_for_response(502, json.dumps(body).encode(), method="POST", path="/functions/hello")
    assert isinstance(error, ServerError)
    assert error.retryable
    assert "ECONNREFUSED" in error.message


def test_non_json_error_body() -> None:
    error = error_for_response(500, b"<html>Internal Server Error</html>", method="GET", path="/api/metadata")
    assert isinstance(error, ServerError)
    assert "not JSON" in error.message
    assert "GET /api/metadata" in error.message


def test_empty_error_body() -> None:
    error = error_for_response(404, b"", method="GET", path="/api/nothing")
    assert isinstance(error, NotFoundError)
    assert "empty body" in error.message


def test_forbidden_rejected_sql() -> None:
    parse = error_for_code(
        "FORBIDDEN", "Query could not be parsed and was rejected for security reasons.", status=403
    )
    transaction = error_for_code("FORBIDDEN", "Transaction control statements are not allowed.", status=403)
    owner = error_for_code("FORBIDDEN", "must be owner of table secrets", status=403)
    assert isinstance(parse, InvalidInputError)
    assert isinstance(transaction, InvalidInputError)
    assert isinstance(owner, PermissionDeniedError)


@pytest.mark.parametrize(
    ("code", "exit_code", "expected"),
    [
        ("AUTH_ERROR", 2, AuthError),
        ("PROJECT_NOT_LINKED", 3, NotLinkedError),
        ("PERMISSION_DENIED", 5, PermissionDeniedError),
        ("NETWORK_ERROR", 1, TransportError),
        ("DATABASE_VALIDATION_ERROR", 1, InvalidInputError),
        ("MISSING_FIELD", 1, InvalidInputError),
        ("UNKNOWN_ERROR", 1, CliError),
        (None, 2, AuthError),
        (None, 1, CliError),
    ],
)
def test_error_for_code_cli(code: str | None, exit_code: int, expected: type[InsForgeError]) -> None:
    error = error_for_code(code, "message from the CLI", exit_code=exit_code)
    assert type(error) is expected
    assert error.exit_code == exit_code


def test_error_message_redacted() -> None:
    body = {
        "error": "INVALID_INPUT",
        "message": "bad key ik_0123456789abcdef0123456789abcdef",
        "statusCode": 400,
    }
    error = error_for_response(400, json.dumps(body).encode())
    assert "0123456789abcdef0123456789abcdef" not in str(error)


async def test_success_body_not_json() -> None:
    transport = _transport(lambda request: httpx.Response(200, text="<html>not json</html>"))
    with pytest.raises(ServerError) as caught:
        await transport.request("GET", BASE, "/api/metadata", api_key=None)
    await transport.aclose()
    assert "not JSON" in caught.value.message


async def test_success_empty_body() -> None:
    transport = _transport(lambda request: httpx.Response(201, content=b""))
    response = await transport.request(
        "POST", BASE, "/api/database/records/todos", api_key=None, json_body=[{}]
    )
    await transport.aclose()
    assert response.body is None
    assert response.status == 201
