"""Identity Assertion JWT Authorization Grants (ID-JAG): minting and the pre-flight check.

An ID-JAG is a short-lived JWT that an identity provider signs for one user and
one audience. :class:`IdJagMinter` signs one with a key the application has (a test
identity provider, or an application that is its own provider).
:func:`preflight_check` inspects any ID-JAG before it is sent, so that a token
the service would reject, or one that carries more than it should, never leaves
the process.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from insforge_tools.errors import AssertionCheckError, ConfigurationError
from insforge_tools.protocol.discovery import Discovery
from insforge_tools.secrets import Secret

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "ID_JAG_TYP",
    "MAX_ASSERTION_LIFETIME",
    "MIN_REMAINING_LIFETIME",
    "AudiencePolicy",
    "IdJagMinter",
    "preflight_check",
    "select_audience",
]

logger = logging.getLogger("insforge_tools.protocol")

ID_JAG_TYP = "oauth-id-jag+jwt"

# Maximum lifetime (exp - iat) of an ID-JAG, in seconds. The auth.md reference
# provider (workos/auth.md) issues 300 s tokens, and its AUTH.md says "about five minutes".
MAX_ASSERTION_LIFETIME = 300

# An assertion with less than this many seconds left may expire in flight.
MIN_REMAINING_LIFETIME = 30

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "ES256K", "EdDSA"}
)

AudiencePolicy = Literal["resource", "issuer"]
SigningAlgorithm = Literal["ES256", "RS256"]


# --- Audience ---------------------------------------------------------------------------------


def select_audience(discovery: Discovery, policy: AudiencePolicy) -> str:
    """Return the ``aud`` an assertion for this service must carry, verbatim.

    ``"resource"`` gives the PRM ``resource`` (what InsForge documents);
    ``"issuer"`` gives the authorization server's issuer, or
    ``authorization_servers[0]`` when its metadata has none (the ID-JAG draft and
    the reference implementation).
    """
    if policy == "resource":
        return discovery.prm.resource
    if policy == "issuer":
        return discovery.issuer
    raise ConfigurationError(
        f"audience_policy must be 'resource' or 'issuer', not {policy!r}.",
        next_step="Set audience_policy to the value the service documents for the assertion's aud.",
    )


# --- Minting ----------------------------------------------------------------------------------


def _load_private_key(private_key: Any, algorithm: str) -> Any:
    key = private_key
    if isinstance(key, Secret):
        key = key.reveal()
    if isinstance(key, str):
        key = key.encode("utf-8")
    if isinstance(key, bytes):
        try:
            key = serialization.load_pem_private_key(key, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(
                "The ID-JAG signing key is not an unencrypted PEM private key.",
                next_step="Pass a PEM string (PKCS#8 or traditional) or a cryptography private key object.",
            ) from None

    if algorithm == "ES256":
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ConfigurationError(
                "ES256 needs an EC P-256 private key.",
                next_step="Pass a P-256 key or choose RS256 for an RSA key.",
            )
    elif algorithm == "RS256":
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
            raise ConfigurationError(
                "RS256 needs an RSA private key of at least 2048 bits.",
                next_step="Pass a suitable RSA key or choose ES256 for an EC key.",
            )
    else:
        raise ConfigurationError(f"The ID-JAG algorithm must be ES256 or RS256, not {algorithm!r}.")
    return key


class IdJagMinter:
    """Signs ID-JAGs for one user; an :class:`~insforge_tools.context.AssertionProvider`.

    Every call returns a new token with a fresh ``jti``. ``iat`` is backdated by
    ``clock_skew`` seconds so that a verifier whose clock runs behind does not
    see a token from the future, and no ``nbf`` is set for the same reason.

    Args:
        private_key: PEM text or a cryptography private key (EC P-256 for ES256, RSA for RS256).
        issuer: The identity provider's issuer (``iss``).
        kid: The key id published in the provider's JWKS.
        algorithm: ``"ES256"`` or ``"RS256"``.
        subject: The user's id at the provider (``sub``).
        email: The user's verified email address.
        client_id: The client's id (``client_id``), such as a client metadata document URL.
        lifetime: Seconds from ``iat`` to ``exp``; at most 300.
        clock_skew: Seconds ``iat`` is set back from now.
        clock: Returns the current time in seconds since the epoch.
    """

    def __init__(
        self,
        private_key: Any,
        *,
        issuer: str,
        kid: str,
        algorithm: SigningAlgorithm = "ES256",
        subject: str,
        email: str,
        client_id: str,
        lifetime: int = MAX_ASSERTION_LIFETIME,
        clock_skew: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (
            ("issuer", issuer),
            ("kid", kid),
            ("subject", subject),
            ("email", email),
            ("client_id", client_id),
        ):
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"IdJagMinter needs a non-empty {name}, not {value!r}.")
        if not 0 < lifetime <= MAX_ASSERTION_LIFETIME:
            raise ConfigurationError(
                f"lifetime must be between 1 and {MAX_ASSERTION_LIFETIME} seconds, not {lifetime!r}."
            )
        if clock_skew < 0 or lifetime - clock_skew <= MIN_REMAINING_LIFETIME:
            raise ConfigurationError(
                f"clock_skew {clock_skew!r} leaves less than {MIN_REMAINING_LIFETIME} s of a {lifetime} s "
                "lifetime.",
                next_step="Use a clock_skew of 0 to 60 seconds and a longer lifetime.",
            )

        self._key = _load_private_key(private_key, algorithm)
        self.issuer = issuer
        self.kid = kid
        self.algorithm = algorithm
        self.subject = subject
        self.email = email
        self.client_id = client_id
        self.lifetime = lifetime
        self.clock_skew = clock_skew
        self._clock = clock

    def __repr__(self) -> str:
        return f"IdJagMinter(issuer={self.issuer!r}, kid={self.kid!r}, algorithm={self.algorithm!r})"

    def claims(self, *, audience: str, resource: str | None) -> dict[str, Any]:
        """Return the claims of a new assertion: fresh ``jti``, backdated ``iat``."""
        issued_at = int(self._clock()) - self.clock_skew
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.subject,
            "aud": audience,
            "client_id": self.client_id,
            "jti": str(uuid.uuid4()),
            "email": self.email,
            "email_verified": True,
            "iat": issued_at,
            "exp": issued_at + self.lifetime,
        }
        if resource:
            claims["resource"] = resource
        return claims

    def mint(self, *, audience: str, resource: str | None = None) -> Secret:
        """Sign a new assertion for ``audience`` (and ``resource``, if given)."""
        if not isinstance(audience, str) or not audience:
            raise ConfigurationError(f"An ID-JAG needs a non-empty audience, not {audience!r}.")

        # A new dict every time: some JOSE libraries have written into the dict
        # they were given, and pyjwt adds its own "typ" unless one is supplied.
        headers = {"alg": self.algorithm, "kid": self.kid, "typ": ID_JAG_TYP}
        token = jwt.encode(
            self.claims(audience=audience, resource=resource),
            self._key,
            algorithm=self.algorithm,
            headers=headers,
        )

        header = jwt.get_unverified_header(token)
        if header != {"alg": self.algorithm, "kid": self.kid, "typ": ID_JAG_TYP}:
            raise ConfigurationError(
                f"The JWT library wrote the header {sorted(header)} with typ {header.get('typ')!r}; "
                f"an ID-JAG needs exactly alg, kid and typ {ID_JAG_TYP!r}.",
                next_step="Pin a pyjwt version that keeps explicit headers.",
            )
        logger.debug("Minted an ID-JAG for audience %s", audience)
        return Secret(token)

    async def __call__(self, *, audience: str, resource: str) -> Secret:
        return self.mint(audience=audience, resource=resource)


# --- Pre-flight check -------------------------------------------------------------------------


def _fail(claim: str, problem: str, fix: str) -> AssertionCheckError:
    return AssertionCheckError(
        f"The identity assertion's {claim} {problem}",
        next_step=fix,
        code="invalid_assertion",
        details={"claim": claim},
    )


def _decode_segment(segment: str, name: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii"))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeError):
        raise _fail(
            name, "is not base64url-encoded JSON.", "Get a well-formed JWT from the identity provider."
        ) from None
    if not isinstance(value, dict):
        raise _fail(name, "is not a JSON object.", "Get a well-formed JWT from the identity provider.")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _require_string(claims: dict[str, Any], name: str, fix: str) -> str:
    value = claims.get(name)
    if value is None:
        raise _fail(name, "is missing.", fix)
    if not isinstance(value, str) or not value:
        raise _fail(name, f"must be a non-empty string, not {value!r}.", fix)
    return value


def _require_time(claims: dict[str, Any], name: str) -> float:
    value = claims.get(name)
    if value is None:
        raise _fail(
            name, "is missing.", f"Mint the assertion with a numeric {name} (seconds since the epoch)."
        )
    if not _is_number(value):
        raise _fail(
            name, f"must be a number of seconds, not {value!r}.", f"Mint the assertion with a numeric {name}."
        )
    return float(value)


def _check_header(header: dict[str, Any]) -> str:
    typ = header.get("typ")
    if typ != ID_JAG_TYP:
        raise _fail(
            "typ header",
            f"must be exactly {ID_JAG_TYP!r}, not {typ!r}.",
            f"Mint the assertion with the header typ {ID_JAG_TYP!r} "
            "(the short form, as the service compares it).",
        )
    alg = header.get("alg")
    if alg not in ASYMMETRIC_ALGORITHMS:
        raise _fail(
            "alg header",
            f"must be an asymmetric signature algorithm, not {alg!r}.",
            "Sign the assertion with ES256 or RS256; none and HMAC algorithms are never accepted.",
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _fail(
            "kid header",
            f"must be a non-empty string, not {kid!r}.",
            "Mint the assertion with the signing key's kid.",
        )
    return str(alg)


def _check_audience(claims: dict[str, Any], audience: str) -> None:
    value = claims.get("aud")
    if value is None:
        raise _fail("aud", "is missing.", f"Mint the assertion for the audience {audience!r}.")
    if isinstance(value, list):
        if len(value) != 1:
            raise _fail(
                "aud",
                f"must name exactly one audience, not {len(value)}: {value!r}.",
                f"Mint the assertion for the single audience {audience!r}.",
            )
        value = value[0]
    if not isinstance(value, str) or value != audience:
        raise _fail(
            "aud",
            f"{value!r} is not byte-identical to the expected audience {audience!r}.",
            f"Mint the assertion for exactly {audience!r} (no added or removed slash), "
            "or change audience_policy if the service documents another audience.",
        )


def _check_times(claims: dict[str, Any], *, now: float, clock_skew: float) -> None:
    issued_at = _require_time(claims, "iat")
    expires_at = _require_time(claims, "exp")

    if issued_at > now + clock_skew:
        raise _fail(
            "iat",
            f"is {issued_at - now:.0f} s in the future (more than the {clock_skew:.0f} s allowed).",
            "Check the identity provider's clock and mint the assertion again.",
        )
    if expires_at - now < MIN_REMAINING_LIFETIME:
        raise _fail(
            "exp",
            f"leaves {expires_at - now:.0f} s, less than the {MIN_REMAINING_LIFETIME} s needed to use it.",
            "Mint a fresh assertion right before registering.",
        )
    if expires_at - issued_at > MAX_ASSERTION_LIFETIME:
        raise _fail(
            "exp",
            f"is {expires_at - issued_at:.0f} s after iat, more than the {MAX_ASSERTION_LIFETIME} s maximum.",
            f"Mint the assertion with a lifetime of at most {MAX_ASSERTION_LIFETIME} seconds.",
        )
    if expires_at <= issued_at:
        raise _fail("exp", "is not after iat.", "Mint the assertion with exp later than iat.")

    if "nbf" in claims:
        not_before = claims["nbf"]
        if not _is_number(not_before):
            raise _fail(
                "nbf", f"must be a number of seconds, not {not_before!r}.", "Mint the assertion without nbf."
            )
        if not_before > now:
            raise _fail(
                "nbf",
                f"is {not_before - now:.0f} s in the future.",
                "Mint the assertion without nbf, or with nbf at or before the current time.",
            )


def _check_verified_contact(claims: dict[str, Any]) -> None:
    if claims.get("email_verified") is True:
        if isinstance(claims.get("email"), str) and claims["email"]:
            return
        raise _fail(
            "email",
            "is missing although email_verified is true.",
            "Mint the assertion with the user's email.",
        )
    if claims.get("phone_number_verified") is True:
        if isinstance(claims.get("phone_number"), str) and claims["phone_number"]:
            return
        raise _fail(
            "phone_number",
            "is missing although phone_number_verified is true.",
            "Mint the assertion with the user's phone number.",
        )
    raise _fail(
        "email_verified",
        f"must be the JSON value true with an email, not {claims.get('email_verified')!r}.",
        "Mint the assertion for a user whose email (or phone number) the identity provider has verified.",
    )


def _verify_signature(token: str, *, alg: str, kid: str, jwks: dict[str, Any]) -> None:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list):
        raise _fail(
            "signature", "cannot be checked: the JWKS has no keys list.", "Pass the provider's JWKS document."
        )
    matching = [key for key in keys if isinstance(key, dict) and key.get("kid") == kid]
    if not matching:
        raise _fail(
            "kid header",
            f"{kid!r} is not in the identity provider's JWKS.",
            "Fetch the provider's current JWKS, or mint the assertion with a published key.",
        )
    jwk = matching[0]
    if jwk.get("alg") not in (None, alg):
        raise _fail(
            "alg header",
            f"{alg!r} does not match the JWKS key's alg {jwk.get('alg')!r}.",
            "Mint the assertion with the algorithm the key is published for.",
        )
    try:
        key = jwt.PyJWK(jwk, algorithm=alg)
        jwt.PyJWS().decode(token, key=key, algorithms=[alg])
    except jwt.PyJWKError as exc:
        raise _fail(
            "signature", f"cannot be checked: the JWKS key is unusable ({exc}).", "Check the JWKS."
        ) from None
    except jwt.InvalidSignatureError:
        raise _fail(
            "signature",
            "does not verify with the JWKS key.",
            "Get a new assertion from the identity provider.",
        ) from None
    except jwt.PyJWTError as exc:
        raise _fail(
            "signature", f"cannot be verified ({type(exc).__name__}).", "Get a new assertion."
        ) from None


def preflight_check(
    assertion: str | Secret,
    *,
    expected_issuer: str | None,
    audience: str,
    resource: str | None,
    now: float | None = None,
    clock_skew: float = 60,
    jwks: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Check an ID-JAG before it is sent and return its claims.

    Rules:

    * a compact JWS of three parts;
    * header ``typ`` exactly ``oauth-id-jag+jwt``, an asymmetric ``alg`` and a ``kid``;
    * ``iss`` equal to ``expected_issuer`` when given;
    * ``aud`` a single value byte-identical to ``audience``;
    * ``resource``, if present, equal to ``resource``;
    * ``sub``, ``jti`` and ``client_id`` present;
    * ``iat`` at most ``clock_skew`` seconds ahead, ``exp`` at least 30 s away and
      at most 300 s after ``iat``, ``nbf`` (if present) not in the future;
    * ``email_verified`` true with ``email``, or ``phone_number_verified`` true
      with ``phone_number``;
    * with ``jwks``, a signature that verifies with the key named by ``kid``.

    The assertion itself is never logged or quoted.

    Raises:
        AssertionCheckError: naming the claim that failed and how to fix it.
    """
    token = assertion.reveal() if isinstance(assertion, Secret) else assertion
    if not isinstance(token, str) or not token:
        raise _fail("token", "is empty.", "Get an assertion from the identity provider.")
    segments = token.split(".")
    if len(segments) != 3 or not all(segments[:2]):
        raise _fail(
            "token",
            f"is not a compact JWS (three dot-separated parts; found {len(segments)}).",
            "Pass the JWT the identity provider returned, unchanged.",
        )
    if not segments[2]:
        raise _fail(
            "signature", "is empty (an unsigned JWT).", "Get a signed assertion from the identity provider."
        )

    header = _decode_segment(segments[0], "header")
    claims = _decode_segment(segments[1], "payload")
    alg = _check_header(header)

    issuer = _require_string(claims, "iss", "Mint the assertion with the identity provider's issuer.")
    if expected_issuer is not None and issuer != expected_issuer:
        raise _fail(
            "iss",
            f"{issuer!r} is not the expected issuer {expected_issuer!r}.",
            "Use the identity provider the service trusts, or correct expected_assertion_issuer.",
        )

    _check_audience(claims, audience)

    if "resource" in claims and resource is not None and claims["resource"] != resource:
        raise _fail(
            "resource",
            f"{claims['resource']!r} is not the protected resource {resource!r}.",
            f"Mint the assertion with resource {resource!r} or without a resource claim.",
        )

    _require_string(claims, "sub", "Mint the assertion with the user's subject id.")
    _require_string(claims, "jti", "Mint the assertion with a unique jti.")
    _require_string(claims, "client_id", "Mint the assertion with the client's client_id.")

    _check_times(claims, now=time.time() if now is None else now, clock_skew=clock_skew)
    _check_verified_contact(claims)

    if jwks is not None:
        _verify_signature(token, alg=alg, kid=header["kid"], jwks=jwks)
    return claims
