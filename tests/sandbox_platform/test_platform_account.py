"""The CLI's account endpoints: ``GET /auth/v1/profile`` and ``GET /organizations/v1``."""

from __future__ import annotations

from typing import Any

INVALID_KEY = {"error": "UNAUTHORIZED", "message": "Invalid API key"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_profile_id_jag_key(stack: Any) -> None:
    key = stack.register(stack.mint(email="alice@example.com")).json()["credential"]

    response = stack.client.get("/auth/v1/profile", headers=bearer(key))

    assert response.status_code == 200
    user = response.json()["user"]
    assert set(user) == {"id", "name", "email", "avatar_url", "email_verified"}
    assert user["id"].startswith("user_")
    assert user["name"] == "alice"
    assert user["email"] == "alice@example.com"
    assert user["avatar_url"] is None
    assert user["email_verified"] is True
    assert user["id"] == stack.use(key).json()["user"]["id"]


def test_profile_name_claim(stack: Any) -> None:
    key = stack.register(stack.mint(claims_override={"name": "Alice Liddell"})).json()["credential"]

    assert stack.client.get("/auth/v1/profile", headers=bearer(key)).json()["user"]["name"] == "Alice Liddell"


def test_profile_rejected(stack: Any) -> None:
    missing = stack.client.get("/auth/v1/profile")
    unknown = stack.client.get("/auth/v1/profile", headers=bearer("uak_" + "x" * 32))

    assert (missing.status_code, missing.json()) == (401, INVALID_KEY)
    assert (unknown.status_code, unknown.json()) == (401, INVALID_KEY)


def test_profile_revoked_key(stack: Any) -> None:
    key = stack.register(stack.mint()).json()["credential"]
    logout = stack.provider.sign_logout_token(audience=stack.audience)
    stack.client.post(
        "/agent/auth/revoke", content=logout, headers={"Content-Type": "application/logout+jwt"}
    )

    response = stack.client.get("/auth/v1/profile", headers=bearer(key))

    assert (response.status_code, response.json()) == (401, INVALID_KEY)


def test_profile_anonymous_key(stack: Any) -> None:
    body = stack.client.post(
        "/agent/auth", json={"type": "anonymous", "requested_credential_type": "api_key"}
    ).json()

    user = stack.client.get("/auth/v1/profile", headers=bearer(body["credential"])).json()["user"]

    assert user["email"] is None
    assert user["email_verified"] is False


def test_organizations(stack: Any) -> None:
    key = stack.register(stack.mint()).json()["credential"]

    live = stack.client.get("/organizations/v1", headers=bearer(key))
    unknown = stack.client.get("/organizations/v1", headers=bearer("uak_nope"))

    assert (live.status_code, live.json()) == (200, {"organizations": []})
    assert (unknown.status_code, unknown.json()) == (401, INVALID_KEY)
