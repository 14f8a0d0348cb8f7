"""Discovery documents, the protected resource, the account endpoints and the mailbox."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from insforge_tools.sandbox.platform._config import PlatformConfig
from insforge_tools.sandbox.platform._http import METADATA_CACHE, bearer_token
from insforge_tools.sandbox.platform._state import Credential, PlatformState, User
from insforge_tools.sandbox.provider import REVOKED_EVENT

__all__ = [
    "authorization_server_metadata",
    "mail",
    "organizations",
    "profile",
    "protected_resource",
    "protected_resource_metadata",
    "skill",
]


def prm_document(config: PlatformConfig) -> dict[str, Any]:
    """Build the RFC 9728 Protected Resource Metadata."""
    return {
        "resource": config.resource_id,
        "resource_name": config.resource_name,
        "resource_logo_uri": f"{config.base_url}/logo.png",
        "authorization_servers": [config.base_url],
        "scopes_supported": list(config.scopes_supported),
        "bearer_methods_supported": ["header"],
    }


def agent_auth_block(config: PlatformConfig) -> dict[str, Any]:
    """Build the ``agent_auth`` member of the AS metadata in the auth.md reference service's shape."""
    base = config.base_url
    block: dict[str, Any] = {
        "skill": f"{base}/auth.md",
        "register_uri": f"{base}/agent/auth",
        "claim_uri": f"{base}/agent/auth/claim",
        "revocation_uri": f"{base}/agent/auth/revoke",
        "identity_types_supported": list(config.identity_types),
    }
    if "anonymous" in config.identity_types:
        block["anonymous"] = {"credential_types_supported": ["api_key"]}
    if "identity_assertion" in config.identity_types:
        block["identity_assertion"] = {
            "assertion_types_supported": list(config.assertion_types),
            "credential_types_supported": list(config.credential_types),
        }
    block["events_supported"] = [REVOKED_EVENT]
    return block


async def protected_resource_metadata(request: Request) -> Response:
    """``GET /.well-known/oauth-protected-resource[/path]``."""
    state: PlatformState = request.app.state.platform
    return JSONResponse(prm_document(state.config), headers=METADATA_CACHE)


async def authorization_server_metadata(request: Request) -> Response:
    """``GET /.well-known/oauth-authorization-server``, with ``issuer`` equal to the base URL (RFC 8414)."""
    config: PlatformConfig = request.app.state.platform.config
    # The members after issuer restate the PRM, as the reference service does. NOTE: RFC 8414 also
    # requires response_types_supported; it is omitted because there is no authorization endpoint.
    document = {
        "issuer": config.base_url,
        "resource": config.resource_id,
        "authorization_servers": [config.base_url],
        "scopes_supported": list(config.scopes_supported),
        "bearer_methods_supported": ["header"],
        "agent_auth": agent_auth_block(config),
    }
    return JSONResponse(document, headers=METADATA_CACHE)


_SKILL = """# InsForge (sandbox)

A local stand-in for the InsForge platform, for tests and demos. It serves
discovery (RFC 9728 and RFC 8414 metadata with an `agent_auth` block),
`POST /agent/auth` with an ID-JAG, a verified email or anonymously, the claim
ceremony, `logout+jwt` revocation, and the CLI's `GET /auth/v1/profile`.

- Resource: `{resource}`
- Expected ID-JAG `aud`: `{audience}` (exact string)
- Trusted issuers: {issuers}
- Credentials: user API keys (`uak_…`)

Nothing here is the real InsForge service; its state lives in memory.
"""


async def skill(request: Request) -> Response:
    """``GET /auth.md``: a short description of the sandbox for agents."""
    config: PlatformConfig = request.app.state.platform.config
    issuers = ", ".join(f"`{issuer}`" for issuer in config.trusted_issuers) or "none"
    text = _SKILL.format(resource=config.resource_id, audience=config.expected_audience, issuers=issuers)
    return PlainTextResponse(text, media_type="text/markdown", headers={"Cache-Control": "public, max-age=0"})


def _unauthorized(config: PlatformConfig, message: str) -> Response:
    challenge = f'Bearer resource_metadata="{config.prm_url}"'
    return JSONResponse(
        {"error": "unauthorized", "message": message},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )


async def protected_resource(request: Request) -> Response:
    """``GET /api/resource``: echo the caller's user and credential, or send the 401 challenge."""
    state: PlatformState = request.app.state.platform
    token = bearer_token(request)
    if token is None:
        return _unauthorized(state.config, "Missing Bearer credential.")
    credential = state.live_credential(token)
    if credential is None:
        return _unauthorized(state.config, "Invalid, expired, or revoked credential.")

    with state.lock:
        registration = state.registrations.get(credential.registration_id)
    # An anonymous registration has no user until it is claimed (reference behaviour).
    claimed = registration is not None and registration.claimed
    user = state.user_of(credential) if claimed else None
    return JSONResponse(
        {
            "message": "Success — credential accepted.",
            "user": user.summary() if user is not None else None,
            "credential": credential.describe(),
        }
    )


def _account(request: Request) -> tuple[Credential, User] | None:
    state: PlatformState = request.app.state.platform
    token = bearer_token(request)
    credential = state.live_credential(token) if token else None
    user = state.user_of(credential) if credential is not None else None
    if credential is None or user is None:
        return None
    return credential, user


def _invalid_api_key() -> Response:
    return JSONResponse({"error": "UNAUTHORIZED", "message": "Invalid API key"}, status_code=401)


async def profile(request: Request) -> Response:
    """``GET /auth/v1/profile``: the user behind a live credential (what ``insforge login`` checks)."""
    account = _account(request)
    if account is None:
        return _invalid_api_key()
    return JSONResponse({"user": account[1].profile()})


async def organizations(request: Request) -> Response:
    """``GET /organizations/v1``: the sandbox user belongs to no organization."""
    if _account(request) is None:
        return _invalid_api_key()
    return JSONResponse({"organizations": []})


async def mail(request: Request) -> Response:
    """``GET /mail/<registration_id>.json``: the current claim email of a registration."""
    state: PlatformState = request.app.state.platform
    message = state.mailbox.read(request.path_params["registration_id"])
    if message is None:
        return JSONResponse(
            {"error": "not_found", "message": "No mail for this registration."}, status_code=404
        )
    return JSONResponse(message)
