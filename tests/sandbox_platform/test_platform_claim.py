"""The anonymous and verified-email flows end to end, with the one-time code read from the mail."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest


def register_anonymous(stack: Any) -> dict[str, Any]:
    response = stack.client.post(
        "/agent/auth", json={"type": "anonymous", "requested_credential_type": "api_key"}
    )
    assert response.status_code == 200
    return response.json()


def register_email(
    stack: Any, email: str = "erin@example.com", credential_type: str = "api_key"
) -> dict[str, Any]:
    body = {
        "type": "identity_assertion",
        "assertion_type": "verified_email",
        "assertion": email,
        "requested_credential_type": credential_type,
    }
    response = stack.client.post("/agent/auth", json=body)
    assert response.status_code == 200
    return response.json()


def read_mail(stack: Any, registration_id: str) -> dict[str, Any]:
    path = Path(stack.config.mail_dir) / f"{registration_id}.json"
    return json.loads(path.read_text())


def open_link(stack: Any, registration_id: str) -> str:
    """Play the user's browser: open the emailed page, then run its challenge request."""
    mail = read_mail(stack, registration_id)
    page = stack.client.get(mail["view_url"])
    assert page.status_code == 200
    response = stack.client.post(
        "/agent/auth/claim/attempt/challenge", json={"claim_attempt_token": mail["claim_attempt_token"]}
    )
    assert response.status_code == 200
    return response.json()["challenge"]


def post(stack: Any, path: str, body: dict[str, Any]) -> Any:
    return stack.client.post(path, json=body)


def test_anonymous_register_shape(stack: Any) -> None:
    body = register_anonymous(stack)

    assert re.fullmatch(r"reg_[A-Za-z0-9_-]{22}", body["registration_id"])
    assert body["registration_type"] == "anonymous"
    assert body["credential_type"] == "api_key"
    assert re.fullmatch(r"uak_[A-Za-z0-9_-]{32}", body["credential"])
    assert body["credential_expires"] is None
    assert body["scopes"] == stack.config.pre_claim_scopes
    assert body["claim_url"] == f"{stack.url}/agent/auth/claim"
    assert body["claim_token"].startswith("clm_")
    assert body["claim_token_expires"].endswith("Z")
    assert body["post_claim_scopes"] == stack.config.scopes_supported


def test_anonymous_end_to_end(stack: Any) -> None:
    registration = register_anonymous(stack)
    registration_id = registration["registration_id"]
    claim_token = registration["claim_token"]
    key = registration["credential"]

    before = stack.use(key).json()
    assert before["user"] is None
    assert before["credential"] == {
        "type": "api_key",
        "scope": stack.config.pre_claim_scopes,
        "source": "anonymous",
        "registration_id": registration_id,
    }

    bad_token = post(stack, "/agent/auth/claim", {"claim_token": "clm_nope", "email": "dana@example.com"})
    assert bad_token.status_code == 401
    assert bad_token.json()["error"] == "invalid_claim_token"
    bad_email = post(stack, "/agent/auth/claim", {"claim_token": claim_token, "email": "not-an-email"})
    assert bad_email.status_code == 400
    assert bad_email.json()["error"] == "invalid_request"

    started = post(stack, "/agent/auth/claim", {"claim_token": claim_token, "email": "dana@example.com"})
    assert started.status_code == 200
    assert started.json()["status"] == "initiated"
    assert started.json()["claim_attempt_id"].startswith("cla_")
    again = post(stack, "/agent/auth/claim", {"claim_token": claim_token, "email": "dana@example.com"})
    assert again.json()["claim_attempt_id"] == started.json()["claim_attempt_id"]

    mail = read_mail(stack, registration_id)
    assert mail["to"] == "dana@example.com"
    assert mail["otp"] is None
    assert stack.client.get(f"/mail/{registration_id}.json").json() == mail

    early = post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": "000000"})
    assert early.status_code == 400
    assert early.json()["error"] == "otp_not_generated"

    otp = open_link(stack, registration_id)
    assert re.fullmatch(r"\d{6}", otp)
    assert read_mail(stack, registration_id)["otp"] == otp

    wrong_code = "999999" if otp != "999999" else "000000"
    wrong = post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": wrong_code})
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "otp_invalid"
    unknown = post(stack, "/agent/auth/claim/complete", {"claim_token": "clm_nope", "otp": otp})
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "invalid_claim_token"

    done = post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": otp})
    assert done.status_code == 200
    assert done.json() == {"registration_id": registration_id, "status": "claimed"}

    after = stack.use(key).json()
    assert after["user"]["email"] == "dana@example.com"
    assert after["user"]["email_verified"] is True
    assert after["credential"]["scope"] == stack.config.scopes_supported


def test_anonymous_after_claim(stack: Any) -> None:
    registration = register_anonymous(stack)
    claim_token = registration["claim_token"]
    post(stack, "/agent/auth/claim", {"claim_token": claim_token, "email": "dana@example.com"})
    view_token = read_mail(stack, registration["registration_id"])["claim_attempt_token"]
    otp = open_link(stack, registration["registration_id"])
    post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": otp})

    complete_again = post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": otp})
    claim_again = post(stack, "/agent/auth/claim", {"claim_token": claim_token, "email": "dana@example.com"})
    challenge_again = post(stack, "/agent/auth/claim/attempt/challenge", {"claim_attempt_token": view_token})

    assert (complete_again.status_code, complete_again.json()["error"]) == (409, "previously_claimed")
    assert (claim_again.status_code, claim_again.json()["error"]) == (409, "claimed_or_in_flight")
    assert (challenge_again.status_code, challenge_again.json()["error"]) == (410, "claim_superseded")


def test_claim_joins_existing_user(stack: Any) -> None:
    id_jag_key = stack.register(stack.mint(email="dana@example.com")).json()["credential"]
    registration = register_anonymous(stack)
    claim_token = registration["claim_token"]
    post(stack, "/agent/auth/claim", {"claim_token": claim_token, "email": "DANA@example.com"})
    otp = open_link(stack, registration["registration_id"])

    post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": otp})

    claimed_user = stack.use(registration["credential"]).json()["user"]
    assert claimed_user["id"] == stack.use(id_jag_key).json()["user"]["id"]


def test_verified_email_end_to_end(start_stack: Any) -> None:
    stack = start_stack(credential_types=["api_key", "access_token"])
    registration = register_email(stack, credential_type="access_token")
    registration_id = registration["registration_id"]
    claim_token = registration["claim_token"]

    assert registration["registration_type"] == "email-verification"
    assert "credential" not in registration
    assert registration["claim_url"] == f"{stack.url}/agent/auth/claim"
    assert read_mail(stack, registration_id)["to"] == "erin@example.com"

    explicit = post(stack, "/agent/auth/claim", {"claim_token": claim_token, "email": "erin@example.com"})
    assert (explicit.status_code, explicit.json()["error"]) == (409, "claimed_or_in_flight")

    first = open_link(stack, registration_id)
    second = open_link(stack, registration_id)
    if first != second:
        stale = post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": first})
        assert (stale.status_code, stale.json()["error"]) == (401, "otp_invalid")

    done = post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": second})
    assert done.status_code == 200
    body = done.json()
    assert body["registration_id"] == registration_id
    assert body["status"] == "claimed"
    assert body["credential_type"] == "access_token"
    assert body["credential"].startswith("at_")
    assert body["credential_expires"].endswith("Z")
    assert body["scopes"] == stack.config.scopes_supported

    used = stack.use(body["credential"]).json()
    assert used["user"]["email"] == "erin@example.com"
    assert used["credential"]["source"] == "email_verification"
    assert used["credential"]["registration_id"] == registration_id


def test_verified_email_bad_address(stack: Any) -> None:
    body = {
        "type": "identity_assertion",
        "assertion_type": "verified_email",
        "assertion": "nope",
        "requested_credential_type": "api_key",
    }
    response = stack.client.post("/agent/auth", json=body)

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "assertion: Invalid email address",
    }


def test_otp_attempt_limit(stack: Any) -> None:
    registration = register_email(stack)
    claim_token = registration["claim_token"]
    otp = open_link(stack, registration["registration_id"])
    wrong_code = "999999" if otp != "999999" else "000000"

    for _ in range(5):
        response = post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": wrong_code})
        assert response.json()["error"] == "otp_invalid"
    locked = post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": otp})

    assert (locked.status_code, locked.json()["error"]) == (400, "otp_attempts_exceeded")
    fresh = open_link(stack, registration["registration_id"])
    assert (
        post(stack, "/agent/auth/claim/complete", {"claim_token": claim_token, "otp": fresh}).status_code
        == 200
    )


def test_otp_expired(stack: Any) -> None:
    registration = register_email(stack)
    otp = open_link(stack, registration["registration_id"])

    stack.clock.advance(601)
    response = post(
        stack, "/agent/auth/claim/complete", {"claim_token": registration["claim_token"], "otp": otp}
    )

    assert (response.status_code, response.json()["error"]) == (410, "otp_expired")


def test_view_link_expired(stack: Any) -> None:
    registration = register_email(stack)
    mail = read_mail(stack, registration["registration_id"])

    stack.clock.advance(601)
    page = stack.client.get(mail["view_url"])
    challenge = post(
        stack, "/agent/auth/claim/attempt/challenge", {"claim_attempt_token": mail["claim_attempt_token"]}
    )

    assert page.status_code == 410
    assert (challenge.status_code, challenge.json()["error"]) == (410, "claim_expired")


def test_claim_window_expired(stack: Any) -> None:
    registration = register_anonymous(stack)

    stack.clock.advance(86_401)
    response = post(
        stack, "/agent/auth/claim", {"claim_token": registration["claim_token"], "email": "a@example.com"}
    )

    assert (response.status_code, response.json()["error"]) == (410, "claim_expired")
    assert stack.use(registration["credential"]).status_code == 401
    assert registration["credential"] in stack.state.revoked_keys


def test_new_email_supersedes_link(stack: Any) -> None:
    registration = register_anonymous(stack)
    claim_token = registration["claim_token"]
    post(stack, "/agent/auth/claim", {"claim_token": claim_token, "email": "one@example.com"})
    old_token = read_mail(stack, registration["registration_id"])["claim_attempt_token"]

    post(stack, "/agent/auth/claim", {"claim_token": claim_token, "email": "two@example.com"})
    stale = post(stack, "/agent/auth/claim/attempt/challenge", {"claim_attempt_token": old_token})

    assert (stale.status_code, stale.json()["error"]) == (410, "claim_superseded")
    assert read_mail(stack, registration["registration_id"])["to"] == "two@example.com"


@pytest.mark.parametrize(("query", "status"), [("", 400), ("?token=cvt_unknown", 404)])
def test_view_errors(stack: Any, query: str, status: int) -> None:
    response = stack.client.get(f"/agent/auth/claim/view{query}")

    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/agent/auth/claim", {"email": "a@example.com"}),
        ("/agent/auth/claim/attempt/challenge", {}),
        ("/agent/auth/claim/complete", {"claim_token": "clm_x"}),
        ("/agent/auth/claim/complete", {"claim_token": "clm_x", "otp": 123456}),
    ],
    ids=["claim", "challenge", "complete-no-otp", "complete-numeric-otp"],
)
def test_ceremony_invalid_body(stack: Any, path: str, body: dict[str, Any]) -> None:
    response = post(stack, path, body)

    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_mail_unknown(stack: Any) -> None:
    assert stack.client.get("/mail/reg_unknown.json").status_code == 404
