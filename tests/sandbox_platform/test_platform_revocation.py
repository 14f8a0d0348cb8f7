"""``POST /agent/auth/revoke`` with ``application/logout+jwt`` tokens."""

from __future__ import annotations

from typing import Any

import pytest

from insforge_tools.sandbox.provider import TestIdentityProvider

LOGOUT = {"Content-Type": "application/logout+jwt"}


def revoke(stack: Any, token: str, headers: dict[str, str] = LOGOUT) -> Any:
    return stack.client.post("/agent/auth/revoke", content=token.encode(), headers=headers)


def test_revokes_delegation(stack: Any) -> None:
    by_string = stack.register(stack.mint(subject="user_alice")).json()["credential"]
    by_array = stack.register(stack.mint(subject="user_alice", claims_override={"aud": [stack.audience]}))
    other_user = stack.register(stack.mint(subject="user_bob")).json()["credential"]
    by_array_key = by_array.json()["credential"]

    response = revoke(stack, stack.provider.sign_logout_token(audience=stack.audience, subject="user_alice"))

    assert response.status_code == 200
    assert response.json() == {"revoked": 2}
    assert stack.use(by_string).status_code == 401
    assert stack.use(by_array_key).status_code == 401
    assert stack.use(other_user).status_code == 200
    assert set(stack.state.revoked_keys) == {by_string, by_array_key}


def test_array_audience_token(stack: Any) -> None:
    key = stack.register(stack.mint()).json()["credential"]
    token = stack.provider.sign_logout_token(
        audience=stack.audience, claims_override={"aud": [stack.audience, "https://other.example"]}
    )

    assert revoke(stack, token).json() == {"revoked": 1}
    assert stack.use(key).status_code == 401


def test_content_type_charset(stack: Any) -> None:
    token = stack.provider.sign_logout_token(audience=stack.audience)

    response = revoke(stack, token, {"Content-Type": "application/logout+jwt; charset=utf-8"})

    assert response.json() == {"revoked": 0}


def test_replay_detected(stack: Any) -> None:
    token = stack.provider.sign_logout_token(audience=stack.audience)

    assert revoke(stack, token).status_code == 200
    replayed = revoke(stack, token)

    assert (replayed.status_code, replayed.json()["error"]) == (400, "replay_detected")


def test_wrong_content_type(stack: Any) -> None:
    token = stack.provider.sign_logout_token(audience=stack.audience)

    response = revoke(stack, token, {"Content-Type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Expected JWT body with Content-Type application/logout+jwt.",
    }


def test_id_jag_as_logout_token(stack: Any) -> None:
    response = revoke(stack, stack.mint())

    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"omit": ("events",)}, "invalid_request"),
        ({"claims_override": {"events": {"https://example.com/other": {}}}}, "invalid_request"),
        ({"omit": ("jti",)}, "invalid_request"),
        ({"omit": ("iat",)}, "invalid_request"),
        ({"claims_override": {"aud": "https://other.example"}}, "invalid_audience"),
        ({"claims_override": {"iat": 1}}, "expired"),
        ({"headers_override": {"kid": "unknown"}}, "invalid_signature"),
    ],
    ids=["no-events", "other-event", "no-jti", "no-iat", "other-audience", "stale-iat", "unknown-kid"],
)
def test_rejected_tokens(stack: Any, changes: dict[str, Any], code: str) -> None:
    token = stack.provider.sign_logout_token(audience=stack.audience, **changes)

    response = revoke(stack, token)

    assert (response.status_code, response.json()["error"]) == (400, code)


def test_untrusted_issuer(stack: Any) -> None:
    stranger = TestIdentityProvider()
    stranger.bind("http://127.0.0.1:4001")

    response = revoke(stack, stranger.sign_logout_token(audience=stack.audience))

    assert (response.status_code, response.json()["error"]) == (400, "invalid_issuer")
