"""``POST /agent/auth`` (the three registration flows) and ``POST /agent/auth/revoke``."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from insforge_tools.sandbox.platform._claim import start_claim_attempt
from insforge_tools.sandbox.platform._config import ID_JAG, VERIFIED_EMAIL
from insforge_tools.sandbox.platform._http import (
    RequestError,
    error_response,
    media_type,
    read_json_object,
    require_email,
    require_string,
)
from insforge_tools.sandbox.platform._state import PlatformState, Registration, User, isoformat, random_token
from insforge_tools.sandbox.platform._verify import JwksCache, verify_id_jag, verify_logout_token

__all__ = ["register", "revoke"]

logger = logging.getLogger("insforge_tools.sandbox.platform")

IDENTITY_TYPES = ("identity_assertion", "anonymous")
CREDENTIAL_TYPES = ("api_key", "access_token")


def registration_id_for(iss: str, sub: str, aud: str) -> str:
    """Compute an ID-JAG registration id: ``reg_`` + the first 22 hex digits of sha256(iss|sub|aud)."""
    digest = hashlib.sha256(f"{iss}|{sub}|{aud}".encode()).hexdigest()
    return f"reg_{digest[:22]}"


async def register(request: Request) -> Response:
    """``POST /agent/auth``: register with an ID-JAG, a verified email, or anonymously."""
    state: PlatformState = request.app.state.platform
    jwks: JwksCache = request.app.state.jwks
    try:
        body = await read_json_object(request)
        result = await _register(body, state, jwks)
    except RequestError as exc:
        logger.info("Registration rejected: %s", exc.code)
        return error_response(state.config, exc.code, exc.message, exc.status)
    return JSONResponse(result)


async def _register(body: dict[str, Any], state: PlatformState, jwks: JwksCache) -> dict[str, Any]:
    config = state.config
    identity_type = body.get("type")
    if identity_type not in IDENTITY_TYPES:
        raise RequestError("invalid_request", "type: Expected 'identity_assertion' or 'anonymous'.")
    if identity_type not in config.identity_types:
        raise RequestError(f"{identity_type}_not_enabled", f"This platform does not offer {identity_type}.")

    requested = body.get("requested_credential_type")
    if identity_type == "anonymous":
        if requested != "api_key":
            raise RequestError(
                "invalid_request", "requested_credential_type: Anonymous registrations issue only 'api_key'."
            )
        return _register_anonymous(state)

    assertion_type = require_string(body, "assertion_type")
    if assertion_type not in (ID_JAG, VERIFIED_EMAIL):
        raise RequestError("invalid_request", f"assertion_type: Expected '{ID_JAG}' or '{VERIFIED_EMAIL}'.")
    if assertion_type not in config.assertion_types:
        code = (
            "verified_email_not_enabled" if assertion_type == VERIFIED_EMAIL else "unsupported_assertion_type"
        )
        raise RequestError(code, f"This platform does not accept {assertion_type} assertions.")
    if requested not in CREDENTIAL_TYPES:
        raise RequestError(
            "invalid_request", "requested_credential_type: Expected 'api_key' or 'access_token'."
        )
    if requested not in config.credential_types:
        raise RequestError(
            "unsupported_credential_type",
            f"This platform issues {', '.join(config.credential_types)}, not {requested}.",
        )

    if assertion_type == VERIFIED_EMAIL:
        return _register_verified_email(state, require_email(body, "assertion"), requested)
    claims = await verify_id_jag(require_string(body, "assertion"), state=state, jwks=jwks)
    return _register_id_jag(state, claims, requested)


def _claim_fields(state: PlatformState, registration: Registration) -> dict[str, Any]:
    assert registration.expires_at is not None
    return {
        "claim_url": f"{state.config.base_url}/agent/auth/claim",
        "claim_token": registration.claim_token,
        "claim_token_expires": isoformat(registration.expires_at),
        "post_claim_scopes": list(state.config.scopes_supported),
    }


def _new_claimable(state: PlatformState, kind: str, **fields: Any) -> Registration:
    now = state.config.clock()
    registration = Registration(
        id=random_token("reg_", 22),
        type=kind,
        created_at=now,
        expires_at=now + state.config.registration_ttl,
        claim_token=random_token("clm_", 26),
        **fields,
    )
    with state.lock:
        state.registrations[registration.id] = registration
    return registration


def _register_anonymous(state: PlatformState) -> dict[str, Any]:
    # A provisional account, so the key works on the account endpoints before a human claims it.
    user = state.add_user(email=None, name="Anonymous agent", email_verified=False)
    registration = _new_claimable(state, "anonymous", user_id=user.id)
    credential = state.issue_credential(
        registration, credential_type="api_key", scopes=state.config.pre_claim_scopes, source="anonymous"
    )
    logger.info("Anonymous registration %s created", registration.id)
    return {
        "registration_id": registration.id,
        "registration_type": "anonymous",
        "credential_type": credential.type,
        "credential": credential.value,
        "credential_expires": None,
        "scopes": list(credential.scopes),
        **_claim_fields(state, registration),
    }


def _register_verified_email(state: PlatformState, email: str, requested: str) -> dict[str, Any]:
    registration = _new_claimable(
        state, "email-verification", email=email, requested_credential_type=requested
    )
    start_claim_attempt(state, registration, email)
    logger.info("Email-verification registration %s created", registration.id)
    return {
        "registration_id": registration.id,
        "registration_type": "email-verification",
        **_claim_fields(state, registration),
    }


def _match_user(state: PlatformState, claims: dict[str, Any]) -> User:
    """Find the user of an ID-JAG: known delegation, then verified email, else a new user."""
    delegation = (claims["iss"], claims["sub"])
    with state.lock:
        user_id = state.delegations.get(delegation)
        if user_id is not None and user_id in state.users:
            return state.users[user_id]

    email = claims.get("email") if claims.get("email_verified") is True else None
    user = state.find_verified_user(email) if email else None
    if user is None:
        name_claim = claims.get("name")
        fallback_name = email.split("@", 1)[0] if email else str(claims["sub"])
        name = name_claim if isinstance(name_claim, str) and name_claim else fallback_name
        user = state.add_user(email=email, name=name, email_verified=email is not None)
    with state.lock:
        state.delegations[delegation] = user.id
    return user


def _register_id_jag(state: PlatformState, claims: dict[str, Any], requested: str) -> dict[str, Any]:
    iss, sub, aud = claims["iss"], claims["sub"], claims["aud"]
    user = _match_user(state, claims)
    registration_id = registration_id_for(iss, sub, aud)
    with state.lock:
        registration = state.registrations.get(registration_id)
        if registration is None:
            registration = Registration(
                id=registration_id,
                type="agent-provider",
                created_at=state.config.clock(),
                user_id=user.id,
                requested_credential_type=requested,
                claimed=True,
                iss=iss,
                sub=sub,
                aud=aud,
            )
            state.registrations[registration_id] = registration

    credential = state.issue_credential(
        registration,
        credential_type=requested,
        scopes=state.config.scopes_supported,
        source="identity_assertion",
    )
    logger.info("ID-JAG registration %s issued a %s for user %s", registration_id, requested, user.id)
    return {
        "registration_id": registration_id,
        "registration_type": "agent-provider",
        "credential_type": credential.type,
        "credential": credential.value,
        "credential_expires": isoformat(credential.expires_at) if credential.expires_at else None,
        "scopes": list(credential.scopes),
    }


async def revoke(request: Request) -> Response:
    """``POST /agent/auth/revoke``: revoke the credentials named by a ``logout+jwt`` token."""
    state: PlatformState = request.app.state.platform
    jwks: JwksCache = request.app.state.jwks
    try:
        if media_type(request) != "application/logout+jwt":
            raise RequestError(
                "invalid_request", "Expected JWT body with Content-Type application/logout+jwt."
            )
        token = (await request.body()).decode("utf-8", errors="replace").strip()
        claims = await verify_logout_token(token, state=state, jwks=jwks)
    except RequestError as exc:
        logger.info("Revocation rejected: %s", exc.code)
        return error_response(state.config, exc.code, exc.message, exc.status)

    count = state.revoke_delegation(claims["iss"], claims["sub"], claims["aud"])
    logger.info("Logout token from %s revoked %d credentials", claims["iss"], count)
    return JSONResponse({"revoked": count})
