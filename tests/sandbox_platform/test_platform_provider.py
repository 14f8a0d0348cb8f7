"""The test identity provider: keys, JWKS, minted tokens."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from insforge_tools.sandbox._server import ThreadedServer
from insforge_tools.sandbox.provider import REVOKED_EVENT, TestIdentityProvider, jwk_thumbprint
from insforge_tools.secrets import Secret


@pytest.fixture
def provider() -> TestIdentityProvider:
    provider = TestIdentityProvider()
    provider.bind("http://127.0.0.1:4000")
    return provider


def test_thumbprint_rfc7638_vector() -> None:
    # The RSA example key of RFC 7638 section 3.1 and its published thumbprint.
    key = {
        "kty": "RSA",
        "e": "AQAB",
        "n": (
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJE"
            "CPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
            "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6"
            "WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
        ),
    }
    assert jwk_thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_jwks_served(provider: TestIdentityProvider) -> None:
    server = ThreadedServer(name="identity-provider")
    provider.bind(server)
    server.start(provider.create_app())
    try:
        response = httpx.get(f"{provider.issuer}/.well-known/jwks.json", timeout=5)
    finally:
        server.stop()

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    (key,) = response.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "y", "alg", "use", "kid"}
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert key["alg"] == "ES256"
    assert key["use"] == "sig"
    assert key["kid"] == provider.kid == jwk_thumbprint(key)
    assert provider.jwks_requests == 1


def test_mint_defaults(provider: TestIdentityProvider) -> None:
    token = provider.mint(audience="http://127.0.0.1:8000", resource="http://127.0.0.1:8000/api")

    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "kid": provider.kid, "typ": "oauth-id-jag+jwt"}
    claims = jwt.decode(
        token, jwt.PyJWK(provider.public_jwk).key, algorithms=["ES256"], audience="http://127.0.0.1:8000"
    )
    assert claims["iss"] == "http://127.0.0.1:4000"
    assert claims["sub"] == "user_test"
    assert claims["client_id"] == "http://127.0.0.1:4000/agent-auth.json"
    assert claims["email"] == "test.user@example.com"
    assert claims["email_verified"] is True
    assert claims["resource"] == "http://127.0.0.1:8000/api"
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - time.time()) < 5
    assert len(claims["jti"]) == 36


def test_mint_fresh_jti(provider: TestIdentityProvider) -> None:
    first = jwt.decode(provider.mint(audience="a"), options={"verify_signature": False})
    second = jwt.decode(provider.mint(audience="a"), options={"verify_signature": False})
    assert first["jti"] != second["jti"]


def test_mint_overrides_and_omit(provider: TestIdentityProvider) -> None:
    override = {"typ": "JWT", "extra": "x"}
    token = provider.mint(
        audience="a",
        headers_override=override,
        claims_override={"email_verified": "true"},
        omit=("kid", "exp"),
    )

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert header == {"alg": "ES256", "typ": "JWT", "extra": "x"}
    assert claims["email_verified"] == "true"
    assert "exp" not in claims
    assert override == {"typ": "JWT", "extra": "x"}


def test_private_key_pem_signs(provider: TestIdentityProvider) -> None:
    token = jwt.encode(
        {"sub": "s", "aud": "a"},
        provider.private_key_pem,
        algorithm="ES256",
        headers={"kid": provider.kid, "typ": "oauth-id-jag+jwt"},
    )
    claims = jwt.decode(token, jwt.PyJWK(provider.public_jwk).key, algorithms=["ES256"], audience="a")
    assert claims["sub"] == "s"


@pytest.mark.parametrize("algorithm", ["ES384", "RS256", "PS256", "EdDSA"])
def test_other_algorithms(algorithm: str) -> None:
    provider = TestIdentityProvider(algorithm=algorithm)
    provider.bind("http://127.0.0.1:4000")
    token = provider.mint(audience="a")
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    key = jwt.PyJWK(provider.public_jwk).key
    assert jwt.decode(token, key, algorithms=[algorithm], audience="a")["sub"] == "user_test"


def test_unknown_algorithm_rejected() -> None:
    with pytest.raises(ValueError, match="HS256"):
        TestIdentityProvider(algorithm="HS256")


def test_issuer_required() -> None:
    with pytest.raises(RuntimeError, match="bind"):
        TestIdentityProvider().mint(audience="a")


async def test_assertion_provider(provider: TestIdentityProvider) -> None:
    assertions = provider.assertion_provider(subject="user_alice", email="alice@example.com")

    first = await assertions(audience="http://127.0.0.1:8000", resource="http://127.0.0.1:8000")
    second = await assertions(audience="http://127.0.0.1:8000", resource="http://127.0.0.1:8000")

    assert isinstance(first, Secret)
    assert "eyJ" not in repr(first)
    claims = jwt.decode(first.reveal(), options={"verify_signature": False})
    assert claims["sub"] == "user_alice"
    assert claims["email"] == "alice@example.com"
    assert claims["resource"] == "http://127.0.0.1:8000"
    assert claims["jti"] != jwt.decode(second.reveal(), options={"verify_signature": False})["jti"]
    assert assertions.calls == 2


def test_logout_token_shape(provider: TestIdentityProvider) -> None:
    token = provider.sign_logout_token(audience="http://127.0.0.1:8000", subject="user_alice")

    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": provider.kid, "typ": "logout+jwt"}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"iss", "sub", "aud", "jti", "events", "iat"}
    assert claims["events"] == {REVOKED_EVENT: {}}
