"""ID-JAG minting and the pre-flight check, with property-based cases."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_fakes import BASE, PROVIDER, SigningKey, new_signing_key, sign, valid_claims

from insforge_tools.errors import AssertionCheckError, ConfigurationError
from insforge_tools.protocol import ID_JAG_TYP, IdJagMinter, preflight_check
from insforge_tools.secrets import Secret

AUDIENCE = f"{BASE}/api/"
NOW = 1_900_000_000.0


def fixed_minter(key: SigningKey, now: float = NOW, **overrides: Any) -> IdJagMinter:
    return key.minter(clock=lambda: now, **overrides)


def decode(token: Secret) -> tuple[dict[str, Any], dict[str, Any]]:
    text = token.reveal()
    return jwt.get_unverified_header(text), jwt.decode(text, options={"verify_signature": False})


def test_mint_header_exact(signing_key: SigningKey) -> None:
    header, _ = decode(fixed_minter(signing_key).mint(audience=AUDIENCE))
    assert header == {"alg": "ES256", "kid": signing_key.kid, "typ": ID_JAG_TYP}


def test_mint_claims(signing_key: SigningKey) -> None:
    _, claims = decode(fixed_minter(signing_key).mint(audience=AUDIENCE, resource=AUDIENCE))
    assert claims["iss"] == PROVIDER
    assert claims["sub"] == "user_alice"
    assert claims["aud"] == AUDIENCE
    assert claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True
    assert claims["resource"] == AUDIENCE
    assert claims["client_id"].endswith("/agent-auth.json")
    assert claims["exp"] - claims["iat"] == 300
    assert "nbf" not in claims


def test_mint_fresh_jti(signing_key: SigningKey) -> None:
    minter = fixed_minter(signing_key)
    ids = {decode(minter.mint(audience=AUDIENCE))[1]["jti"] for _ in range(20)}
    assert len(ids) == 20


def test_mint_backdates_iat(signing_key: SigningKey) -> None:
    # A verifier whose clock runs 30 s behind must not see iat in the future.
    token = fixed_minter(signing_key, clock_skew=30).mint(audience=AUDIENCE)
    _, claims = decode(token)
    assert claims["iat"] == int(NOW) - 30
    assert claims["exp"] == int(NOW) - 30 + 300
    verified = preflight_check(
        token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=None, now=NOW - 30, clock_skew=0
    )
    assert verified["iat"] <= NOW - 30


def test_mint_strict_verifier_accepts(signing_key: SigningKey) -> None:
    # A verifier that rejects a future iat and has no leeway accepts a token minted now.
    token = signing_key.minter().mint(audience=AUDIENCE).reveal()
    claims = jwt.decode(
        token,
        key=signing_key.private_key.public_key(),
        algorithms=["ES256"],
        audience=AUDIENCE,
        leeway=0,
        options={"require": ["iat", "exp", "jti"]},
    )
    assert claims["iat"] <= time.time()


def test_encode_header_dict_untouched(signing_key: SigningKey) -> None:
    # One header dict serves two tokens. The JWT library must not rewrite typ or the dict.
    headers = {"typ": ID_JAG_TYP, "kid": "k1"}
    original = dict(headers)
    first = jwt.encode(valid_claims(AUDIENCE), signing_key.private_key, algorithm="ES256", headers=headers)
    second = jwt.encode(valid_claims(AUDIENCE), signing_key.private_key, algorithm="ES256", headers=headers)
    assert headers == original
    for token in (first, second):
        header = jwt.get_unverified_header(token)
        assert header["typ"] == ID_JAG_TYP
        assert header["kid"] == "k1"
        assert header["alg"] == "ES256"


def test_mint_keeps_typ(signing_key: SigningKey) -> None:
    minter = fixed_minter(signing_key)
    tokens = [minter.mint(audience=AUDIENCE) for _ in range(3)]
    for token in tokens:
        header, _ = decode(token)
        assert header["typ"] == ID_JAG_TYP
        assert set(header) == {"alg", "kid", "typ"}


def test_mint_rs256() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    minter = IdJagMinter(
        key, issuer=PROVIDER, kid="r1", algorithm="RS256", subject="s", email="a@example.com", client_id="c"
    )
    header, _ = decode(minter.mint(audience=AUDIENCE))
    assert header == {"alg": "RS256", "kid": "r1", "typ": ID_JAG_TYP}


def test_mint_from_pem(signing_key: SigningKey) -> None:
    minter = IdJagMinter(
        signing_key.pem,
        issuer=PROVIDER,
        kid=signing_key.kid,
        subject="s",
        email="a@example.com",
        client_id="c",
    )
    claims = preflight_check(
        minter.mint(audience=AUDIENCE),
        expected_issuer=PROVIDER,
        audience=AUDIENCE,
        resource=None,
        jwks=signing_key.jwks,
    )
    assert claims["sub"] == "s"


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"lifetime": 301}, "lifetime"),
        ({"lifetime": 0}, "lifetime"),
        ({"clock_skew": 280}, "clock_skew"),
        ({"email": ""}, "email"),
        ({"algorithm": "RS256"}, "RS256"),
    ],
)
def test_minter_rejects_options(signing_key: SigningKey, options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        signing_key.minter(**options)
    assert fragment in caught.value.message


def test_minter_rejects_wrong_curve() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(ConfigurationError):
        IdJagMinter(key, issuer=PROVIDER, kid="k", subject="s", email="a@example.com", client_id="c")


def test_minter_repr_hides_key(signing_key: SigningKey) -> None:
    text = repr(signing_key.minter())
    assert "PRIVATE" not in text
    assert PROVIDER in text


async def test_minter_is_provider(signing_key: SigningKey) -> None:
    token = await signing_key.minter()(audience=AUDIENCE, resource=AUDIENCE)
    assert isinstance(token, Secret)
    assert preflight_check(token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=AUDIENCE)["resource"]


def test_preflight_signature_ok(signing_key: SigningKey) -> None:
    token = signing_key.minter().mint(audience=AUDIENCE)
    claims = preflight_check(
        token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=None, jwks=signing_key.jwks
    )
    assert claims["aud"] == AUDIENCE


def test_preflight_signature_wrong_key(signing_key: SigningKey) -> None:
    other = new_signing_key(kid=signing_key.kid)
    token = other.minter().mint(audience=AUDIENCE)
    with pytest.raises(AssertionCheckError) as caught:
        preflight_check(
            token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=None, jwks=signing_key.jwks
        )
    assert caught.value.details["claim"] == "signature"


def test_preflight_one_element_aud(signing_key: SigningKey) -> None:
    claims = valid_claims(AUDIENCE)
    claims["aud"] = [AUDIENCE]
    token = sign(signing_key, claims)
    assert preflight_check(token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=None)["aud"] == [
        AUDIENCE
    ]


def test_preflight_phone_verified(signing_key: SigningKey) -> None:
    claims = valid_claims(AUDIENCE)
    del claims["email"], claims["email_verified"]
    claims.update({"phone_number": "+15550100", "phone_number_verified": True})
    assert preflight_check(sign(signing_key, claims), expected_issuer=None, audience=AUDIENCE, resource=None)


def test_preflight_never_quotes_token(signing_key: SigningKey) -> None:
    claims = valid_claims("https://other.invalid")
    token = sign(signing_key, claims)
    with pytest.raises(AssertionCheckError) as caught:
        preflight_check(token, expected_issuer=None, audience=AUDIENCE, resource=None)
    assert token not in str(caught.value)
    assert token.split(".")[1] not in str(caught.value)


# --- Properties -------------------------------------------------------------------------------

PROPERTY_KEY = new_signing_key("prop-key")
PROPERTY_MINTER = PROPERTY_KEY.minter()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    now=st.floats(min_value=1_000_000_000, max_value=4_000_000_000, allow_nan=False),
    skew=st.integers(min_value=0, max_value=60),
    lifetime=st.integers(min_value=120, max_value=300),
    audience=st.sampled_from([AUDIENCE, BASE, f"{BASE}/", "https://API.example.invalid/x/"]),
)
def test_minted_always_pass(now: float, skew: int, lifetime: int, audience: str) -> None:
    minter = PROPERTY_KEY.minter(clock=lambda: now, clock_skew=skew, lifetime=lifetime)
    token = minter.mint(audience=audience, resource=audience)
    claims = preflight_check(
        token, expected_issuer=PROVIDER, audience=audience, resource=audience, now=now, jwks=PROPERTY_KEY.jwks
    )
    assert claims["aud"] == audience


def mutated_token(name: str, value: Any) -> str:
    claims = valid_claims(AUDIENCE, now=NOW)
    if value is _DELETE:
        del claims[name]
    else:
        claims[name] = value
    return sign(PROPERTY_KEY, claims)


_DELETE = object()

# (claim, strategy of values the check must reject, with NOW as the current time)
_BAD_VALUES = {
    "iss": st.text(min_size=1).filter(lambda value: value != PROVIDER),
    "aud": st.one_of(
        st.text().filter(lambda value: value != AUDIENCE),
        st.lists(st.just(AUDIENCE), min_size=2, max_size=4),
        st.integers(),
    ),
    "sub": st.one_of(st.just(""), st.integers(), st.just(_DELETE)),
    "jti": st.one_of(st.just(""), st.none(), st.just(_DELETE)),
    "client_id": st.one_of(st.just(""), st.booleans(), st.just(_DELETE)),
    "iat": st.one_of(
        st.integers(min_value=int(NOW) + 61, max_value=int(NOW) + 10**6),
        st.text(),
        st.booleans(),
        st.just(_DELETE),
    ),
    "exp": st.one_of(
        st.integers(min_value=0, max_value=int(NOW) + 29),
        st.integers(min_value=int(NOW) - 30 + 301, max_value=int(NOW) + 10**7),
        st.text(),
        st.just(_DELETE),
    ),
    "nbf": st.one_of(st.integers(min_value=int(NOW) + 1, max_value=int(NOW) + 10**6), st.text()),
    "email_verified": st.one_of(st.just("true"), st.just(False), st.integers(), st.none(), st.just(_DELETE)),
    "resource": st.text().filter(lambda value: value != AUDIENCE),
}


@settings(max_examples=200, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(_BAD_VALUES)))
def test_single_mutation_rejected(data: st.DataObject, name: str) -> None:
    value = data.draw(_BAD_VALUES[name], label=name)
    token = mutated_token(name, value)
    with pytest.raises(AssertionCheckError) as caught:
        preflight_check(token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=AUDIENCE, now=NOW)
    claim = caught.value.details["claim"]
    assert claim == name or (name == "email_verified" and claim in {"email_verified", "email"})


@settings(max_examples=100, deadline=None)
@given(offset=st.integers(min_value=-60, max_value=60))
def test_iat_within_skew_passes(offset: int) -> None:
    claims = valid_claims(AUDIENCE, now=NOW)
    claims["iat"] = int(NOW) + offset
    claims["exp"] = int(NOW) + offset + 240
    if claims["exp"] - NOW < 30:
        return
    token = sign(PROPERTY_KEY, claims)
    assert preflight_check(token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=None, now=NOW)


@settings(max_examples=100, deadline=None)
@given(
    typ=st.one_of(st.just(ID_JAG_TYP), st.text(max_size=30)), kid=st.one_of(st.just("k"), st.text(max_size=5))
)
def test_header_mutation_rejected(typ: str, kid: str) -> None:
    if typ == ID_JAG_TYP and kid:
        return
    token = sign(PROPERTY_KEY, valid_claims(AUDIENCE, now=NOW), header={"typ": typ, "kid": kid})
    with pytest.raises(AssertionCheckError) as caught:
        preflight_check(token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=None, now=NOW)
    assert caught.value.details["claim"] in {"typ header", "kid header"}
