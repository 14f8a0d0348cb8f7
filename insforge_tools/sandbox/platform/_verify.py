"""Strict verification of ID-JAGs and logout tokens.

The order of checks: structure, ``iss`` on the trust list, ``typ``, ``alg``
and ``kid``, signature against the issuer's JWKS, then the claims, and the
replay cache last, so a token rejected for any other reason does not burn its
``jti``. Unlike the auth.md reference service, every time claim is required
and checked, ``aud`` must be exactly one value, and each failure has its own
code:

=========================  ======================================================
``invalid_request``        not a compact JWS, wrong or missing ``typ``, a required
                           claim (``sub``, ``jti``, ``client_id``, ``exp``,
                           ``iat``) missing or of the wrong JSON type
``invalid_issuer``         ``iss`` missing or not exactly on the trust list
``invalid_signature``      ``alg`` not asymmetric, ``kid`` missing or unknown, bad
                           signature, JWKS unavailable
``invalid_audience``       ``aud`` missing, different, or an array of other than
                           one element
``expired``                ``exp`` more than the clock skew in the past
``not_yet_valid``          ``iat`` or ``nbf`` more than the clock skew ahead
``invalid_lifetime``       ``exp - iat`` above the maximum assertion lifetime
``replay_detected``        the (``iss``, ``jti``) pair was seen before
``missing_verified_email`` neither ``email_verified: true`` with ``email`` nor
                           ``phone_number_verified: true`` with ``phone_number``
=========================  ======================================================
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import jwt
from jwt.exceptions import InvalidKeyError, InvalidSignatureError, InvalidTokenError, PyJWKError

from insforge_tools.sandbox.platform._config import JwksFetchError, PlatformConfig
from insforge_tools.sandbox.platform._http import RequestError
from insforge_tools.sandbox.platform._state import PlatformState
from insforge_tools.sandbox.provider import ID_JAG_TYP, LOGOUT_TYP, REVOKED_EVENT

__all__ = ["JwksCache", "VerificationError", "verify_id_jag", "verify_logout_token"]

logger = logging.getLogger("insforge_tools.sandbox.platform")

# Only asymmetric algorithms: a verifier that accepts HS* can be fooled with the public key as secret.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}
)


class VerificationError(RequestError):
    """A token failed a check; ``code`` and ``message`` go into the error response."""


@dataclass
class _CachedJwks:
    keys: list[dict[str, Any]]
    fetched_at: float


@dataclass
class JwksCache:
    """JWK sets per issuer, refetched after ``jwks_cache_ttl`` or for an unknown ``kid``.

    An unknown ``kid`` triggers at most one refetch per ``jwks_refetch_cooldown``
    seconds, so a stream of bogus kids cannot make the platform hammer the issuer.
    """

    config: PlatformConfig
    fetch_count: dict[str, int] = field(default_factory=dict)
    _entries: dict[str, _CachedJwks] = field(default_factory=dict)

    async def key_for(self, issuer: str, kid: str) -> dict[str, Any]:
        """Return the JWK of ``issuer`` whose ``kid`` matches.

        Raises:
            VerificationError: ``invalid_signature`` when the JWKS cannot be
                fetched or contains no key with that ``kid``.
        """
        now = self.config.clock()
        entry = self._entries.get(issuer)
        if entry is None or now - entry.fetched_at >= self.config.jwks_cache_ttl:
            entry = await self._refresh(issuer, now)

        key = _find_key(entry.keys, kid)
        if key is None and now - entry.fetched_at >= self.config.jwks_refetch_cooldown:
            entry = await self._refresh(issuer, now)
            key = _find_key(entry.keys, kid)
        if key is None:
            raise VerificationError("invalid_signature", f"No key with kid {kid!r} in the JWKS of {issuer}.")
        return key

    async def _refresh(self, issuer: str, now: float) -> _CachedJwks:
        try:
            document = await self.config.jwks_fetcher(issuer)
        except JwksFetchError as exc:
            logger.warning("JWKS fetch for issuer %s failed: %s", issuer, exc)
            raise VerificationError(
                "invalid_signature", f"The JWKS of {issuer} is unavailable: {exc}"
            ) from exc

        keys = [key for key in document.get("keys", []) if isinstance(key, dict)]
        entry = _CachedJwks(keys=keys, fetched_at=now)
        self._entries[issuer] = entry
        self.fetch_count[issuer] = self.fetch_count.get(issuer, 0) + 1
        return entry


def _find_key(keys: list[dict[str, Any]], kid: str) -> dict[str, Any] | None:
    for key in keys:
        if key.get("kid") == kid:
            return key
    return None


def _b64url_json(segment: str, what: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise VerificationError("invalid_request", f"The {what} of the token is not base64url JSON.") from exc
    if not isinstance(value, dict):
        raise VerificationError("invalid_request", f"The {what} of the token is not a JSON object.")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _require_string(claims: dict[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise VerificationError("invalid_request", f"Missing required claim {name} (a non-empty string).")
    return value


def _require_number(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise VerificationError("invalid_request", f"Missing required claim {name}.")
    if not _is_number(value):
        raise VerificationError(
            "invalid_request", f"Claim {name} must be a number of seconds, not {value!r}."
        )
    return float(value)


async def _verify_signed(
    token: Any, *, config: PlatformConfig, jwks: JwksCache, typ: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the structural, issuer, header and signature checks; return (header, claims)."""
    if not isinstance(token, str) or token.count(".") != 2:
        raise VerificationError(
            "invalid_request", "The token is not a compact JWS (three dot-separated parts)."
        )
    header_segment, payload_segment, _ = token.split(".")
    header = _b64url_json(header_segment, "header")
    unverified = _b64url_json(payload_segment, "payload")

    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or issuer not in config.trusted_issuers:
        raise VerificationError("invalid_issuer", f"Issuer {issuer} is not in the trusted providers list.")

    actual_typ = header.get("typ")
    if actual_typ != typ:
        shown = "no typ" if actual_typ is None else f"typ {actual_typ}"
        raise VerificationError("invalid_request", f"Unexpected {shown}; wanted {typ}.")

    algorithm = header.get("alg")
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        raise VerificationError(
            "invalid_signature", f"Unsupported alg {algorithm!r}; an asymmetric alg is required."
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise VerificationError("invalid_signature", "Missing kid header; the key must be named.")

    jwk = await jwks.key_for(issuer, kid)
    if jwk.get("alg") not in (None, algorithm):
        raise VerificationError(
            "invalid_signature", f"The key {kid} is for {jwk.get('alg')}, not {algorithm}."
        )
    try:
        key = jwt.PyJWK(jwk, algorithm=algorithm)
        jwt.PyJWS().decode_complete(token, key=key, algorithms=[algorithm])
    except InvalidSignatureError as exc:
        raise VerificationError("invalid_signature", "Signature verification failed.") from exc
    except (InvalidKeyError, PyJWKError, InvalidTokenError) as exc:
        raise VerificationError("invalid_signature", f"The token cannot be verified: {exc}.") from exc
    return header, unverified


def _check_audience(claims: dict[str, Any], expected: str, *, allow_extra: bool = False) -> str:
    audience = claims.get("aud")
    if audience is None:
        raise VerificationError("invalid_audience", f"Missing aud claim; expected {expected}.")
    if isinstance(audience, str):
        values = [audience]
    elif isinstance(audience, list) and all(isinstance(item, str) for item in audience):
        values = audience
    else:
        raise VerificationError("invalid_audience", f"Claim aud must be a string; expected {expected}.")

    matches = expected in values if allow_extra else values == [expected]
    if not matches:
        raise VerificationError(
            "invalid_audience", f"Audience {audience} does not match; expected {expected}."
        )
    return expected


def _record_jti(state: PlatformState, kind: str, issuer: str, jti: str, keep_until: float) -> None:
    now = state.config.clock()
    with state.lock:
        fresh = state.replay_cache.check_and_record((kind, issuer, jti), keep_until, now)
    if not fresh:
        raise VerificationError("replay_detected", f"jti {jti} seen before.")


def _has_verified_contact(claims: dict[str, Any]) -> bool:
    email_ok = (
        claims.get("email_verified") is True and isinstance(claims.get("email"), str) and claims["email"]
    )
    phone_ok = (
        claims.get("phone_number_verified") is True
        and isinstance(claims.get("phone_number"), str)
        and claims["phone_number"]
    )
    return bool(email_ok or phone_ok)


async def verify_id_jag(token: Any, *, state: PlatformState, jwks: JwksCache) -> dict[str, Any]:
    """Verify an ID-JAG and return its claims, with ``aud`` normalised to the expected string.

    Raises:
        VerificationError: The first check that failed, with its code (see the module table).
    """
    config = state.config
    _, claims = await _verify_signed(token, config=config, jwks=jwks, typ=ID_JAG_TYP)
    now = config.clock()
    skew = config.clock_skew

    audience = _check_audience(claims, config.expected_audience)
    subject = _require_string(claims, "sub")
    jti = _require_string(claims, "jti")
    _require_string(claims, "client_id")

    expires = _require_number(claims, "exp")
    issued = _require_number(claims, "iat")
    if expires <= now - skew:
        raise VerificationError("expired", f"The assertion expired at {int(expires)} (now {int(now)}).")
    if issued > now + skew:
        raise VerificationError(
            "not_yet_valid", f"Claim iat {int(issued)} is in the future (now {int(now)})."
        )
    if expires - issued > config.max_assertion_lifetime + skew:
        raise VerificationError(
            "invalid_lifetime",
            f"The assertion lives {int(expires - issued)} s; "
            f"the maximum is {config.max_assertion_lifetime} s.",
        )
    not_before = claims.get("nbf")
    if not_before is not None:
        if not _is_number(not_before):
            raise VerificationError(
                "invalid_request", f"Claim nbf must be a number of seconds, not {not_before!r}."
            )
        if not_before > now + skew:
            raise VerificationError(
                "not_yet_valid", f"Claim nbf {int(not_before)} is in the future (now {int(now)})."
            )

    if not _has_verified_contact(claims):
        raise VerificationError(
            "missing_verified_email",
            "ID-JAG must include email with email_verified true, "
            "or phone_number with phone_number_verified true.",
        )

    _record_jti(state, "id-jag", claims["iss"], jti, keep_until=expires + skew)
    return {**claims, "aud": audience, "sub": subject}


async def verify_logout_token(token: Any, *, state: PlatformState, jwks: JwksCache) -> dict[str, Any]:
    """Verify a ``logout+jwt`` revocation token and return its claims with ``aud`` as the expected string.

    ``iat`` is required and may be at most ``max_logout_token_age`` seconds old,
    which bounds how long its ``jti`` must be remembered (the reference
    provider sends no ``exp``). ``aud`` may be an array that contains the
    expected audience, and ``events`` must name the revocation event.
    """
    config = state.config
    _, claims = await _verify_signed(token, config=config, jwks=jwks, typ=LOGOUT_TYP)
    now = config.clock()
    skew = config.clock_skew

    audience = _check_audience(claims, config.expected_audience, allow_extra=True)
    subject = _require_string(claims, "sub")
    jti = _require_string(claims, "jti")
    issued = _require_number(claims, "iat")
    if issued > now + skew:
        raise VerificationError(
            "not_yet_valid", f"Claim iat {int(issued)} is in the future (now {int(now)})."
        )
    if issued < now - config.max_logout_token_age - skew:
        raise VerificationError("expired", f"The logout token was issued at {int(issued)}, too long ago.")
    expires = claims.get("exp")
    if expires is not None and (not _is_number(expires) or expires <= now - skew):
        raise VerificationError("expired", "The logout token has expired.")

    events = claims.get("events")
    if not isinstance(events, dict) or REVOKED_EVENT not in events:
        raise VerificationError("invalid_request", f"Claim events must contain {REVOKED_EVENT}.")

    keep_until = issued + config.max_logout_token_age + 2 * skew
    _record_jti(state, "logout", claims["iss"], jti, keep_until=keep_until)
    return {**claims, "aud": audience, "sub": subject}
