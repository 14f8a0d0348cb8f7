"""Error body styles and injected failures for client retry tests."""

from __future__ import annotations

from typing import Any

import pytest

from insforge_tools.sandbox.platform import PlatformConfig

ANONYMOUS = {"type": "anonymous", "requested_credential_type": "api_key"}


def test_insforge_style(stack: Any) -> None:
    response = stack.register(stack.mint(omit=("exp",)))

    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == "invalid_request"


def test_reference_style(start_stack: Any) -> None:
    stack = start_stack(error_style="reference")

    body = stack.register(stack.mint(omit=("exp",))).json()

    assert set(body) == {"error", "message"}
    assert body["message"] == "Missing required claim exp."


def test_reference_style_ceremony(start_stack: Any) -> None:
    stack = start_stack(error_style="reference")

    response = stack.client.post(
        "/agent/auth/claim", json={"claim_token": "clm_nope", "email": "a@example.com"}
    )

    assert response.json() == {"error": "invalid_claim_token", "message": "The claim token is invalid."}


def test_injected_rate_limit(stack: Any) -> None:
    stack.state.issue_error("rate_limited", 429, retry_after=2, count=2)

    first = stack.client.post("/agent/auth", json=ANONYMOUS)
    second = stack.client.post("/agent/auth", json=ANONYMOUS)
    third = stack.client.post("/agent/auth", json=ANONYMOUS)

    assert (first.status_code, first.headers["retry-after"], first.json()["error"]) == (
        429,
        "2",
        "rate_limited",
    )
    assert second.status_code == 429
    assert third.status_code == 200


def test_injected_error_by_path(stack: Any) -> None:
    stack.state.issue_error("temporarily_unavailable", 503, path="/auth/v1/profile")

    metadata = stack.client.get("/.well-known/oauth-authorization-server")
    profile = stack.client.get("/auth/v1/profile")

    assert metadata.status_code == 200
    assert profile.status_code == 503
    assert "retry-after" not in profile.headers
    assert profile.json()["error"] == "temporarily_unavailable"
    assert stack.client.get("/auth/v1/profile").status_code == 401


def test_config_rejects_trailing_slash() -> None:
    with pytest.raises(ValueError, match="must not end with '/'"):
        PlatformConfig(base_url="http://127.0.0.1:8000/")
