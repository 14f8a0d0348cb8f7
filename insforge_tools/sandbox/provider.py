"""A test identity provider that signs ID-JAGs and logout tokens and serves its JWKS.

The provider has one asymmetric signing key generated at construction. Its
``kid`` is the RFC 7638 thumbprint of the public key, as the auth.md reference
provider does. Tokens are serialised by hand (not through a JWT library's
``encode``) so that the header and claims are exactly what the caller asked
for: tests use the override knobs of :meth:`TestIdentityProvider.mint` to build
malformed or hostile assertions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from insforge_tools.secrets import Secret

if TYPE_CHECKING:
    from insforge_tools.sandbox._server import ThreadedServer

__all__ = [
    "ID_JAG_TYP",
    "LOGOUT_TYP",
    "REVOKED_EVENT",
    "MintingAssertionProvider",
    "TestIdentityProvider",
    "b64url",
    "jwk_thumbprint",
]

ID_JAG_TYP = "oauth-id-jag+jwt"
LOGOUT_TYP = "logout+jwt"
REVOKED_EVENT = "https://schemas.workos.com/events/agent/auth/identity/assertion/revoked"

# ID-JAG lifetime of the auth.md reference provider, in seconds.
DEFAULT_LIFETIME = 300

_EC_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
SUPPORTED_ALGORITHMS = frozenset(_EC_CURVES) | _RSA_ALGORITHMS | {"EdDSA"}

# Members that RFC 7638 hashes for each key type, already in lexicographic order.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def b64url(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """Compute the RFC 7638 SHA-256 thumbprint of a public JWK."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def _generate_key(algorithm: str) -> Any:
    if algorithm in _EC_CURVES:
        return ec.generate_private_key(_EC_CURVES[algorithm])
    if algorithm in _RSA_ALGORITHMS:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ed25519.Ed25519PrivateKey.generate()


class MintingAssertionProvider:
    """An ``AssertionProvider`` that mints a fresh ID-JAG for one test user on every call."""

    def __init__(self, provider: TestIdentityProvider, *, subject: str, email: str) -> None:
        self._provider = provider
        self.subject = subject
        self.email = email
        self.calls = 0

    async def __call__(self, *, audience: str, resource: str) -> Secret:
        self.calls += 1
        token = self._provider.mint(
            audience=audience, resource=resource, subject=self.subject, email=self.email
        )
        return Secret(token)


class TestIdentityProvider:
    """Signs ID-JAGs for test users and serves the matching JWKS.

    Args:
        algorithm: The JWS algorithm of the signing key: ``ES256`` (default),
            ``ES384``, ``ES512``, ``RS*``, ``PS*`` or ``EdDSA``.
        clock: Returns the current time in seconds since the epoch; used for
            ``iat`` and ``exp``.
    """

    __test__ = False  # The name starts with "Test", but this is not a pytest test class.

    def __init__(self, *, algorithm: str = "ES256", clock: Callable[[], float] = time.time) -> None:
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(
                f"Unsupported signing algorithm {algorithm!r}; use one of {sorted(SUPPORTED_ALGORITHMS)}."
            )
        self.algorithm = algorithm
        self.clock = clock
        self._issuer: str | None = None
        self._private_key = _generate_key(algorithm)
        self._signer = get_default_algorithms()[algorithm]

        public_jwk = self._signer.to_jwk(self._private_key.public_key(), as_dict=True)
        self._kid = jwk_thumbprint(public_jwk)
        self._public_jwk = {**public_jwk, "alg": algorithm, "use": "sig", "kid": self._kid}
        self.jwks_requests = 0

    # -- identity -------------------------------------------------------------------------------

    def bind(self, target: ThreadedServer | str) -> str:
        """Set the issuer to the server's base URL (binding its port) or to a URL string, kept verbatim."""
        self._issuer = target if isinstance(target, str) else target.bind()
        return self._issuer

    @property
    def issuer(self) -> str:
        """The ``iss`` value of every token, the provider's base URL."""
        if self._issuer is None:
            raise RuntimeError("The identity provider has no issuer yet; call bind() first.")
        return self._issuer

    @issuer.setter
    def issuer(self, value: str) -> None:
        self._issuer = value

    @property
    def kid(self) -> str:
        """The key id (RFC 7638 thumbprint) of the signing key."""
        return self._kid

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public signing key as a JWK with ``alg``, ``use`` and ``kid``."""
        return dict(self._public_jwk)

    @property
    def jwks(self) -> dict[str, Any]:
        """The JWK set served at ``/.well-known/jwks.json``."""
        return {"keys": [self.public_jwk]}

    @property
    def private_key_pem(self) -> str:
        """The signing key as unencrypted PKCS #8 PEM, for applications that mint their own tokens."""
        pem: bytes = self._private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return pem.decode("ascii")

    @property
    def client_id(self) -> str:
        """The default ``client_id`` claim: the provider's client metadata document URL."""
        return f"{self.issuer}/agent-auth.json"

    # -- tokens ---------------------------------------------------------------------------------

    def sign(self, header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
        """Serialise ``header`` and ``claims`` as a compact JWS signed with the provider's key.

        The header is used as given, so its ``alg`` may disagree with the key on purpose.
        """
        signing_input = f"{b64url(_json_bytes(header))}.{b64url(_json_bytes(claims))}"
        signature = self._signer.sign(signing_input.encode("ascii"), self._private_key)
        return f"{signing_input}.{b64url(signature)}"

    def mint(
        self,
        *,
        audience: str,
        subject: str = "user_test",
        email: str = "test.user@example.com",
        resource: str | None = None,
        client_id: str | None = None,
        lifetime: int = DEFAULT_LIFETIME,
        headers_override: Mapping[str, Any] | None = None,
        claims_override: Mapping[str, Any] | None = None,
        omit: Iterable[str] = (),
    ) -> str:
        """Mint an ID-JAG for ``subject`` addressed to ``audience``.

        The defaults give a token a strict verifier accepts. ``headers_override``
        and ``claims_override`` replace or add members; ``omit`` removes members
        by name from both the header and the claims (for example ``("exp", "kid")``).
        """
        now = int(self.clock())
        header: dict[str, Any] = {"alg": self.algorithm, "kid": self.kid, "typ": ID_JAG_TYP}
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "client_id": client_id if client_id is not None else self.client_id,
            "jti": str(uuid.uuid4()),
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + lifetime,
        }
        if resource is not None:
            claims["resource"] = resource
        return self._finish(header, claims, headers_override, claims_override, omit)

    def sign_logout_token(
        self,
        *,
        audience: str,
        subject: str = "user_test",
        jti: str | None = None,
        headers_override: Mapping[str, Any] | None = None,
        claims_override: Mapping[str, Any] | None = None,
        omit: Iterable[str] = (),
    ) -> str:
        """Sign a ``logout+jwt`` revocation token for every credential of (issuer, ``subject``, ``audience``).

        The claims follow what the auth.md reference provider sends (``iss``,
        ``sub``, ``aud``, ``jti``, ``events``, ``iat``, no ``exp``).
        """
        header: dict[str, Any] = {"alg": self.algorithm, "kid": self.kid, "typ": LOGOUT_TYP}
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "jti": jti or str(uuid.uuid4()),
            "events": {REVOKED_EVENT: {}},
            "iat": int(self.clock()),
        }
        return self._finish(header, claims, headers_override, claims_override, omit)

    def assertion_provider(
        self, *, subject: str = "user_test", email: str = "test.user@example.com"
    ) -> MintingAssertionProvider:
        """Return an assertion provider that mints a fresh ID-JAG per call for this user."""
        return MintingAssertionProvider(self, subject=subject, email=email)

    def _finish(
        self,
        header: dict[str, Any],
        claims: dict[str, Any],
        headers_override: Mapping[str, Any] | None,
        claims_override: Mapping[str, Any] | None,
        omit: Iterable[str],
    ) -> str:
        header.update(headers_override or {})
        claims.update(claims_override or {})
        for name in omit:
            header.pop(name, None)
            claims.pop(name, None)
        return self.sign(header, claims)

    # -- HTTP -----------------------------------------------------------------------------------

    def create_app(self) -> Starlette:
        """Build the provider's ASGI app: its JWKS and client metadata document."""

        async def jwks(request: Request) -> JSONResponse:
            self.jwks_requests += 1
            return JSONResponse(self.jwks, headers={"Cache-Control": "public, max-age=300"})

        async def client_metadata(request: Request) -> JSONResponse:
            document = {
                "client_id": self.client_id,
                "client_name": "InsForge sandbox identity provider",
                "client_uri": self.issuer,
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
                "scope": "openid email profile",
            }
            return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})

        return Starlette(
            routes=[
                Route("/.well-known/jwks.json", jwks, methods=["GET"]),
                Route("/agent-auth.json", client_metadata, methods=["GET"]),
            ]
        )


def _json_bytes(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode("utf-8")
