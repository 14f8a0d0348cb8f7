"""Stand-ins for protocol tests: metadata documents, a scripted MockTransport service, signing keys,
and a small loopback service that verifies ID-JAGs the way the reference service does."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from insforge_tools.protocol import IdJagMinter

BASE = "http://127.0.0.1:8000"
PROVIDER = "http://127.0.0.1:4000"
HTTPS_BASE = "https://api.service.invalid"
KID = "test-key-1"
CLIENT_ID = f"{PROVIDER}/agent-auth.json"

AGENT_AUTH_KEYS = ("register_uri", "claim_uri", "revocation_uri")


def reference_prm(base: str = BASE) -> dict[str, Any]:
    """The reference service's PRM: served at the root, resource = base + /api/."""
    return {
        "resource": f"{base}/api/",
        "resource_name": "Agent Auth Consumer",
        "resource_logo_uri": f"{base}/logo.png",
        "authorization_servers": [base],
        "scopes_supported": ["api.read", "api.write"],
        "bearer_methods_supported": ["header"],
    }


def reference_agent_auth(base: str = BASE) -> dict[str, Any]:
    return {
        "skill": f"{base}/auth.md",
        "register_uri": f"{base}/agent/auth",
        "claim_uri": f"{base}/agent/auth/claim",
        "revocation_uri": f"{base}/agent/auth/revoke",
        "identity_types_supported": ["anonymous", "identity_assertion"],
        "anonymous": {"credential_types_supported": ["api_key"]},
        "identity_assertion": {
            "assertion_types_supported": ["urn:ietf:params:oauth:token-type:id-jag", "verified_email"],
            "credential_types_supported": ["access_token", "api_key"],
        },
        "events_supported": ["https://schemas.workos.com/events/agent/auth/identity/assertion/revoked"],
    }


def reference_as(base: str = BASE) -> dict[str, Any]:
    """The reference service's AS metadata: no issuer, restated PRM fields, the agent_auth block."""
    return {
        "resource": f"{base}/api/",
        "authorization_servers": [base],
        "scopes_supported": ["api.read", "api.write"],
        "bearer_methods_supported": ["header"],
        "agent_auth": reference_agent_auth(base),
    }


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=data, headers=headers)


Handler = Callable[[httpx.Request], httpx.Response]


@dataclass
class FakeService:
    """A scripted service behind ``httpx.MockTransport``.

    Routes map ``(method, url)`` to a handler or to a list of responses served in
    order (the last one repeats). Every request is recorded.
    """

    routes: dict[tuple[str, str], Handler | list[httpx.Response] | httpx.Response] = field(
        default_factory=dict
    )
    requests: list[httpx.Request] = field(default_factory=list)

    def add(self, method: str, url: str, route: Handler | list[httpx.Response] | httpx.Response) -> None:
        self.routes[(method, url)] = route

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, str(request.url)))
        if route is None:
            return httpx.Response(404, text="<html>Cannot GET</html>", headers={"content-type": "text/html"})
        if isinstance(route, list):
            response = route.pop(0) if len(route) > 1 else route[0]
            return httpx.Response(response.status_code, headers=response.headers, content=response.content)
        if isinstance(route, httpx.Response):
            return httpx.Response(route.status_code, headers=route.headers, content=route.content)
        return route(request)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def posts(self, url: str) -> list[dict[str, Any]]:
        """Return the JSON bodies POSTed to ``url``, in order."""
        return [
            json.loads(request.content)
            for request in self.requests
            if request.method == "POST" and str(request.url) == url
        ]


def reference_service(base: str = BASE) -> FakeService:
    """A FakeService serving the reference discovery documents at the reference locations."""
    service = FakeService()
    service.add("GET", f"{base}/.well-known/oauth-protected-resource", json_response(reference_prm(base)))
    service.add("GET", f"{base}/.well-known/oauth-authorization-server", json_response(reference_as(base)))
    return service


def exact_service(base: str = HTTPS_BASE, *, issuer: str | None = None) -> FakeService:
    """A FakeService whose PRM sits at the RFC 9728 path-inserted location and whose AS has an issuer."""
    service = FakeService()
    service.add(
        "GET", f"{base}/.well-known/oauth-protected-resource/api/", json_response(reference_prm(base))
    )
    metadata = reference_as(base)
    metadata["issuer"] = issuer if issuer is not None else base
    service.add("GET", f"{base}/.well-known/oauth-authorization-server", json_response(metadata))
    return service


# --- Keys -------------------------------------------------------------------------------------


@dataclass
class SigningKey:
    private_key: ec.EllipticCurvePrivateKey
    kid: str

    @property
    def pem(self) -> str:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": "ES256", "use": "sig"})
        return {"keys": [jwk]}

    def minter(self, **overrides: Any) -> IdJagMinter:
        options: dict[str, Any] = {
            "issuer": PROVIDER,
            "kid": self.kid,
            "subject": "user_alice",
            "email": "alice@example.com",
            "client_id": CLIENT_ID,
        }
        options.update(overrides)
        return IdJagMinter(self.private_key, **options)


def new_signing_key(kid: str = KID) -> SigningKey:
    return SigningKey(ec.generate_private_key(ec.SECP256R1()), kid)


def sign(
    key: SigningKey, claims: dict[str, Any], header: dict[str, Any] | None = None, alg: str = "ES256"
) -> str:
    """Sign arbitrary claims and header fields (for malformed-token cases)."""
    headers = {"kid": key.kid, "typ": "oauth-id-jag+jwt"} if header is None else dict(header)
    return jwt.encode(claims, key.private_key, algorithm=alg, headers=headers)


def valid_claims(audience: str, *, now: float | None = None, resource: str | None = None) -> dict[str, Any]:
    issued = int(now if now is not None else time.time()) - 30
    claims: dict[str, Any] = {
        "iss": PROVIDER,
        "sub": "user_alice",
        "aud": audience,
        "client_id": CLIENT_ID,
        "jti": secrets.token_hex(8),
        "email": "alice@example.com",
        "email_verified": True,
        "iat": issued,
        "exp": issued + 300,
    }
    if resource is not None:
        claims["resource"] = resource
    return claims


# --- A loopback reference-style service -------------------------------------------------------


@dataclass
class LoopbackState:
    """What the loopback service has seen and issued."""

    base: str
    jwks: dict[str, Any]
    audience: str
    otp: str = "123456"
    seen_jti: set[str] = field(default_factory=set)
    registrations: list[dict[str, Any]] = field(default_factory=list)
    claim_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)


def _error(code: str, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def loopback_app(state: LoopbackState) -> Starlette:
    """An ASGI service with the reference service's discovery, /agent/auth and claim endpoints."""
    base = state.base

    async def prm(request: Request) -> Response:
        return JSONResponse(reference_prm(base), headers={"Cache-Control": "public, max-age=300"})

    async def as_metadata(request: Request) -> Response:
        return JSONResponse(reference_as(base), headers={"Cache-Control": "public, max-age=300"})

    async def protected(request: Request) -> Response:
        return JSONResponse(
            {"error": "unauthorized", "message": "Missing Bearer credential."},
            status_code=401,
            headers={
                "WWW-Authenticate": f'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource"'
            },
        )

    async def moved(request: Request) -> Response:
        return RedirectResponse(f"{base}/.well-known/oauth-protected-resource", status_code=302)

    async def away(request: Request) -> Response:
        other_host = base.replace("127.0.0.1", "localhost")
        return RedirectResponse(f"{other_host}/.well-known/oauth-protected-resource", status_code=302)

    async def loop(request: Request) -> Response:
        return RedirectResponse(f"{base}/loop", status_code=302)

    def credential(prefix: str) -> str:
        return prefix + secrets.token_urlsafe(20)

    async def agent_auth(request: Request) -> Response:
        body = await request.json()
        kind = body.get("type")
        if kind == "anonymous":
            token = "clm_" + secrets.token_urlsafe(16)
            state.claim_tokens[token] = {"kind": "anonymous", "registration_id": "reg_anon1"}
            return JSONResponse(
                {
                    "registration_id": "reg_anon1",
                    "registration_type": "anonymous",
                    "credential_type": "api_key",
                    "credential": credential("sk_test_"),
                    "credential_expires": None,
                    "scopes": ["api.read"],
                    "claim_url": f"{base}/agent/auth/claim",
                    "claim_token": token,
                    "claim_token_expires": "2999-01-01T00:00:00.000Z",
                    "post_claim_scopes": ["api.read", "api.write"],
                }
            )
        if body.get("assertion_type") == "verified_email":
            token = "clm_" + secrets.token_urlsafe(16)
            state.claim_tokens[token] = {"kind": "email", "registration_id": "reg_mail1"}
            return JSONResponse(
                {
                    "registration_id": "reg_mail1",
                    "registration_type": "email-verification",
                    "claim_url": f"{base}/agent/auth/claim",
                    "claim_token": token,
                    "claim_token_expires": "2999-01-01T00:00:00.000Z",
                    "post_claim_scopes": ["api.read", "api.write"],
                }
            )

        assertion = body.get("assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            if header.get("typ") != "oauth-id-jag+jwt":
                return _error(
                    "invalid_request", f"Unexpected typ {header.get('typ')}; wanted oauth-id-jag+jwt."
                )
            key = jwt.PyJWK(state.jwks["keys"][0])
            claims = jwt.decode(
                assertion, key=key, algorithms=["ES256"], audience=state.audience, issuer=PROVIDER, leeway=60
            )
        except jwt.ExpiredSignatureError:
            return _error("expired", '"exp" claim timestamp check failed')
        except jwt.InvalidAudienceError:
            return _error("expired", 'unexpected "aud" claim value')
        except jwt.PyJWTError as exc:
            return _error("invalid_signature", str(exc))
        if claims["jti"] in state.seen_jti:
            return _error("replay_detected", f"jti {claims['jti']} seen before.")
        state.seen_jti.add(claims["jti"])
        state.registrations.append(claims)
        return JSONResponse(
            {
                "registration_id": "reg_e40723e7a4a42e7d9cf9d2",
                "registration_type": "agent-provider",
                "credential_type": body["requested_credential_type"],
                "credential": credential(
                    "sk_test_" if body["requested_credential_type"] == "api_key" else "at_"
                ),
                "credential_expires": None,
                "scopes": ["api.read", "api.write"],
            }
        )

    async def claim(request: Request) -> Response:
        body = await request.json()
        entry = state.claim_tokens.get(body.get("claim_token", ""))
        if entry is None:
            return _error("invalid_claim_token", "The claim token is invalid.", 401)
        if entry["kind"] != "anonymous":
            return _error(
                "claimed_or_in_flight",
                "Email-verification registrations do not require an explicit /claim call.",
                409,
            )
        entry["email"] = body.get("email")
        return JSONResponse(
            {
                "registration_id": entry["registration_id"],
                "claim_attempt_id": "cla_1",
                "status": "initiated",
                "expires_at": "2999-01-01T00:00:00.000Z",
            }
        )

    async def complete(request: Request) -> Response:
        body = await request.json()
        entry = state.claim_tokens.get(body.get("claim_token", ""))
        if entry is None:
            return _error("invalid_claim_token", "The claim token is invalid.", 401)
        if entry.get("claimed"):
            return _error("previously_claimed", "This registration has already been claimed.", 409)
        if body.get("otp") != state.otp:
            return _error("otp_invalid", "The provided OTP does not match the claim attempt.", 401)
        entry["claimed"] = True
        if entry["kind"] == "anonymous":
            return JSONResponse({"registration_id": entry["registration_id"], "status": "claimed"})
        return JSONResponse(
            {
                "registration_id": entry["registration_id"],
                "status": "claimed",
                "credential_type": "access_token",
                "credential": credential("at_"),
                "credential_expires": "2999-01-01T00:00:00.000Z",
                "scopes": ["api.read", "api.write"],
            }
        )

    return Starlette(
        routes=[
            Route("/.well-known/oauth-protected-resource", prm),
            Route("/.well-known/oauth-authorization-server", as_metadata),
            Route("/api/resource", protected),
            Route("/moved", moved),
            Route("/loop", loop),
            Route("/away", away),
            Route("/agent/auth", agent_auth, methods=["POST"]),
            Route("/agent/auth/claim", claim, methods=["POST"]),
            Route("/agent/auth/claim/complete", complete, methods=["POST"]),
        ]
    )
