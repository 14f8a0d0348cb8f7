"""``POST /agent/auth`` with an ID-JAG: success shapes and every verification failure.

The failure cases mirror the recorded exchanges with the auth.md reference
service, but expect the strict responses: where the reference accepted a token
(no exp, no iat, aud arrays with extra members, string email_verified) or
reported the wrong code (a wrong aud as ``expired``), the stand-in rejects it
with its own code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import socket
from datetime import UTC, datetime
from typing import Any

import pytest

from insforge_tools.sandbox.platform import ID_JAG, JwksFetchError, fetch_jwks_over_loopback
from insforge_tools.sandbox.provider import TestIdentityProvider


def error_of(response: Any) -> str:
    assert response.status_code == 400, response.text
    return response.json()["error"]


# -- success ------------------------------------------------------------------------------------


def test_register_api_key(stack: Any) -> None:
    response = stack.register(stack.mint())

    assert response.status_code == 200
    body = response.json()
    digest = hashlib.sha256(f"{stack.provider.issuer}|user_test|{stack.audience}".encode()).hexdigest()
    assert body["registration_id"] == f"reg_{digest[:22]}"
    assert body["registration_type"] == "agent-provider"
    assert body["credential_type"] == "api_key"
    assert re.fullmatch(r"uak_[A-Za-z0-9_-]{32}", body["credential"])
    assert body["credential_expires"] is None
    assert body["scopes"] == stack.config.scopes_supported


def test_credential_accepted(stack: Any) -> None:
    credential = stack.register(stack.mint()).json()["credential"]

    response = stack.use(credential)

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Success — credential accepted."
    assert body["user"]["email"] == "test.user@example.com"
    assert body["user"]["email_verified"] is True
    assert body["credential"] == {
        "type": "api_key",
        "scope": stack.config.scopes_supported,
        "source": "identity_assertion",
        "iss": stack.provider.issuer,
        "sub": "user_test",
        "aud": stack.audience,
    }


def test_same_delegation_same_registration(stack: Any) -> None:
    first = stack.register(stack.mint()).json()
    second = stack.register(stack.mint()).json()

    assert first["registration_id"] == second["registration_id"]
    assert first["credential"] != second["credential"]
    assert (
        stack.use(first["credential"]).json()["user"]["id"]
        == stack.use(second["credential"]).json()["user"]["id"]
    )


def test_register_access_token(start_stack: Any) -> None:
    stack = start_stack(credential_types=["api_key", "access_token"])

    body = stack.register(stack.mint(), credential_type="access_token").json()

    assert body["credential_type"] == "access_token"
    assert re.fullmatch(r"at_[A-Za-z0-9_-]{32}", body["credential"])
    expires = datetime.fromisoformat(body["credential_expires"].replace("Z", "+00:00"))
    assert abs(expires.timestamp() - (stack.clock() + 3600)) < 2
    assert stack.use(body["credential"]).status_code == 200


def test_access_token_not_offered(stack: Any) -> None:
    assert (
        error_of(stack.register(stack.mint(), credential_type="access_token"))
        == "unsupported_credential_type"
    )


def test_aud_single_element_array(stack: Any) -> None:
    response = stack.register(stack.mint(claims_override={"aud": [stack.audience]}))

    assert response.status_code == 200
    assert stack.use(response.json()["credential"]).json()["credential"]["aud"] == stack.audience


def test_issuer_audience_policy(start_stack: Any) -> None:
    stack = start_stack(audience_policy="issuer", resource_path="/api")

    accepted = stack.register(stack.mint(audience=stack.url))
    rejected = stack.register(stack.mint(audience=f"{stack.url}/api"))

    assert accepted.status_code == 200
    assert error_of(rejected) == "invalid_audience"


def test_exp_within_skew(stack: Any) -> None:
    now = int(stack.clock())
    token = stack.mint(claims_override={"iat": now - 330, "exp": now - 30})

    assert stack.register(token).status_code == 200


def test_phone_number_verified(stack: Any) -> None:
    token = stack.mint(
        claims_override={"phone_number": "+15555550100", "phone_number_verified": True},
        omit=("email_verified",),
    )

    assert stack.register(token).status_code == 200


# -- signature and header -----------------------------------------------------------------------


def flip_signature(token: str) -> str:
    head, body, signature = token.split(".")
    first = "A" if signature[0] != "A" else "B"
    return f"{head}.{body}.{first}{signature[1:]}"


def test_bad_signature(stack: Any) -> None:
    assert error_of(stack.register(flip_signature(stack.mint()))) == "invalid_signature"


def test_tampered_payload(stack: Any, jws: Any) -> None:
    head, _, signature = stack.mint().split(".")
    claims = jws.decode_part(stack.mint(), 1) | {"email": "mallory@example.com"}
    tampered = f"{head}.{jws.b64url(json.dumps(claims).encode())}.{signature}"

    assert error_of(stack.register(tampered)) == "invalid_signature"


def test_right_kid_wrong_key(stack: Any) -> None:
    impostor = TestIdentityProvider()
    impostor.bind(stack.provider.issuer)
    token = impostor.mint(audience=stack.audience, headers_override={"kid": stack.provider.kid})

    assert error_of(stack.register(token)) == "invalid_signature"


def test_unknown_kid(stack: Any) -> None:
    assert error_of(stack.register(stack.mint(headers_override={"kid": "not-a-key"}))) == "invalid_signature"


def test_missing_kid(stack: Any) -> None:
    response = stack.register(stack.mint(omit=("kid",)))

    assert error_of(response) == "invalid_signature"
    assert "kid" in response.json()["error_description"]


def test_alg_none(stack: Any, jws: Any) -> None:
    header = {"alg": "none", "kid": stack.provider.kid, "typ": "oauth-id-jag+jwt"}
    token = jws.compact(header, jws.decode_part(stack.mint(), 1))

    assert error_of(stack.register(token)) == "invalid_signature"


def test_hs256_confusion(stack: Any, jws: Any) -> None:
    # The classic attack: HMAC keyed with the issuer's public key material.
    header = {"alg": "HS256", "kid": stack.provider.kid, "typ": "oauth-id-jag+jwt"}
    claims = jws.decode_part(stack.mint(), 1)
    unsigned = jws.compact(header, claims).rsplit(".", 1)[0]
    secret = json.dumps(stack.provider.public_jwk).encode()
    signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()

    assert error_of(stack.register(f"{unsigned}.{jws.b64url(signature)}")) == "invalid_signature"


@pytest.mark.parametrize("typ", ["JWT", "application/oauth-id-jag+jwt", "logout+jwt"])
def test_wrong_typ(stack: Any, typ: str) -> None:
    response = stack.register(stack.mint(headers_override={"typ": typ}))

    assert error_of(response) == "invalid_request"
    assert "oauth-id-jag+jwt" in response.json()["error_description"]


def test_missing_typ(stack: Any) -> None:
    assert error_of(stack.register(stack.mint(omit=("typ",)))) == "invalid_request"


def test_not_a_jwt(stack: Any) -> None:
    assert error_of(stack.register("not-a-token")) == "invalid_request"


# -- issuer -------------------------------------------------------------------------------------


def test_untrusted_issuer(stack: Any) -> None:
    stranger = TestIdentityProvider()
    stranger.bind("http://127.0.0.1:4001")

    response = stack.register(stranger.mint(audience=stack.audience))

    assert error_of(response) == "invalid_issuer"
    assert "http://127.0.0.1:4001" in response.json()["error_description"]


def test_issuer_trailing_slash(stack: Any) -> None:
    token = stack.mint(claims_override={"iss": stack.provider.issuer + "/"})

    assert error_of(stack.register(token)) == "invalid_issuer"


# -- claims -------------------------------------------------------------------------------------


@pytest.mark.parametrize("claim", ["jti", "sub", "client_id", "exp", "iat"])
def test_missing_claim(stack: Any, claim: str) -> None:
    response = stack.register(stack.mint(omit=(claim,)))

    assert error_of(response) == "invalid_request"
    assert claim in response.json()["error_description"]


def test_exp_string(stack: Any) -> None:
    token = stack.mint(claims_override={"exp": str(int(stack.clock()) + 300)})

    assert error_of(stack.register(token)) == "invalid_request"


def test_exp_past(stack: Any) -> None:
    now = int(stack.clock())
    token = stack.mint(claims_override={"iat": now - 400, "exp": now - 120})

    assert error_of(stack.register(token)) == "expired"


def test_exp_far_future(stack: Any) -> None:
    token = stack.mint(claims_override={"exp": int(stack.clock()) + 365 * 86_400})

    assert error_of(stack.register(token)) == "invalid_lifetime"


def test_iat_future(stack: Any) -> None:
    now = int(stack.clock())
    token = stack.mint(claims_override={"iat": now + 3600, "exp": now + 3900})

    assert error_of(stack.register(token)) == "not_yet_valid"


def test_nbf_future(stack: Any) -> None:
    token = stack.mint(claims_override={"nbf": int(stack.clock()) + 3600})

    assert error_of(stack.register(token)) == "not_yet_valid"


def audience_variants(url: str) -> dict[str, Any]:
    return {
        "trailing-slash": url + "/",
        "localhost": url.replace("127.0.0.1", "localhost"),
        "other-path": url + "/api/",
        "array-two": [url, "https://other.example"],
        "array-empty": [],
        "number": 42,
    }


@pytest.mark.parametrize("variant", list(audience_variants("http://x")))
def test_wrong_audience(stack: Any, variant: str) -> None:
    audience = audience_variants(stack.audience)[variant]

    response = stack.register(stack.mint(claims_override={"aud": audience}))

    assert error_of(response) == "invalid_audience"
    assert stack.audience in response.json()["error_description"]


def test_missing_audience(stack: Any) -> None:
    assert error_of(stack.register(stack.mint(omit=("aud",)))) == "invalid_audience"


@pytest.mark.parametrize(
    ("override", "omit"),
    [
        ({"email_verified": False}, ()),
        ({"email_verified": "true"}, ()),
        ({}, ("email",)),
        ({}, ("email_verified",)),
    ],
    ids=["false", "string-true", "no-email", "no-flag"],
)
def test_unverified_email(stack: Any, override: dict[str, Any], omit: tuple[str, ...]) -> None:
    assert (
        error_of(stack.register(stack.mint(claims_override=override, omit=omit))) == "missing_verified_email"
    )


# -- replay -------------------------------------------------------------------------------------


def test_replay_detected(stack: Any) -> None:
    token = stack.mint()

    assert stack.register(token).status_code == 200
    response = stack.register(token)

    assert error_of(response) == "replay_detected"


def test_replay_after_window(stack: Any) -> None:
    token = stack.mint()
    assert stack.register(token).status_code == 200

    stack.clock.advance(400)

    assert error_of(stack.register(token)) == "expired"
    assert stack.register(stack.mint()).status_code == 200
    assert len(stack.state.replay_cache) == 1


def test_rejection_keeps_jti(start_stack: Any) -> None:
    calls = {"count": 0}

    async def flaky_fetcher(issuer: str) -> dict[str, Any]:
        calls["count"] += 1
        if calls["count"] == 1:
            raise JwksFetchError("connection refused")
        return await fetch_jwks_over_loopback(issuer)

    stack = start_stack(jwks_fetcher=flaky_fetcher)
    token = stack.mint()

    assert error_of(stack.register(token)) == "invalid_signature"
    assert stack.register(token).status_code == 200


# -- JWKS ---------------------------------------------------------------------------------------


def test_jwks_cached(stack: Any) -> None:
    stack.register(stack.mint())
    stack.register(stack.mint())

    assert stack.provider.jwks_requests == 1


def test_unknown_kid_refetch_cooldown(stack: Any) -> None:
    stack.register(stack.mint())
    stack.register(stack.mint(headers_override={"kid": "rotated"}))
    assert stack.provider.jwks_requests == 1

    stack.clock.advance(31)
    stack.register(stack.mint(headers_override={"kid": "rotated"}))

    assert stack.provider.jwks_requests == 2


def test_jwks_unreachable(start_stack: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_issuer = f"http://127.0.0.1:{probe.getsockname()[1]}"
    offline = TestIdentityProvider()
    offline.bind(dead_issuer)
    stack = start_stack(trusted_issuers=[dead_issuer])

    response = stack.register(offline.mint(audience=stack.audience))

    assert error_of(response) == "invalid_signature"
    assert "unavailable" in response.json()["error_description"]


async def test_fetcher_loopback_only() -> None:
    with pytest.raises(JwksFetchError, match="loopback"):
        await fetch_jwks_over_loopback("https://idp.example.invalid")


# -- request shape ------------------------------------------------------------------------------


def test_malformed_json(stack: Any) -> None:
    response = stack.client.post(
        "/agent/auth", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert error_of(response) == "invalid_request"


def test_form_body(stack: Any) -> None:
    response = stack.client.post(
        "/agent/auth", data={"type": "anonymous", "requested_credential_type": "api_key"}
    )

    assert error_of(response) == "invalid_request"


def test_json_array_body(stack: Any) -> None:
    assert error_of(stack.client.post("/agent/auth", json=[1, 2])) == "invalid_request"


@pytest.mark.parametrize(
    "body",
    [
        {"type": "oauth", "requested_credential_type": "api_key"},
        {"type": "anonymous", "requested_credential_type": "access_token"},
        {"type": "anonymous"},
        {
            "type": "identity_assertion",
            "assertion_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": "x",
            "requested_credential_type": "api_key",
        },
        {
            "type": "identity_assertion",
            "assertion_type": ID_JAG,
            "assertion": "x",
            "requested_credential_type": "refresh_token",
        },
        {"type": "identity_assertion", "assertion_type": ID_JAG, "requested_credential_type": "api_key"},
    ],
    ids=[
        "unknown-type",
        "anonymous-access-token",
        "anonymous-no-type",
        "jwt-bearer",
        "refresh-token",
        "no-assertion",
    ],
)
def test_invalid_body(stack: Any, body: dict[str, Any]) -> None:
    assert error_of(stack.client.post("/agent/auth", json=body)) == "invalid_request"


def test_anonymous_disabled(start_stack: Any) -> None:
    stack = start_stack(identity_types=["identity_assertion"])

    response = stack.client.post(
        "/agent/auth", json={"type": "anonymous", "requested_credential_type": "api_key"}
    )

    assert error_of(response) == "anonymous_not_enabled"


def test_verified_email_disabled(start_stack: Any) -> None:
    stack = start_stack(assertion_types=[ID_JAG])
    body = {
        "type": "identity_assertion",
        "assertion_type": "verified_email",
        "assertion": "a@example.com",
        "requested_credential_type": "api_key",
    }

    assert error_of(stack.client.post("/agent/auth", json=body)) == "verified_email_not_enabled"


def test_timestamps_iso(start_stack: Any) -> None:
    stack = start_stack(credential_types=["access_token"])

    expires = stack.register(stack.mint(), credential_type="access_token").json()["credential_expires"]

    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", expires)
    assert datetime.fromisoformat(expires.replace("Z", "+00:00")).tzinfo == UTC
