"""The claim ceremony: a user proves an email address and takes over a registration.

Flow: ``POST /agent/auth/claim`` (anonymous registrations; verified-email
registrations start an attempt at once) sends an "email" with a view link. The
user's browser opens ``GET /agent/auth/claim/view``, whose script calls
``POST /agent/auth/claim/attempt/challenge`` to reveal a one-time code. The
user hands the code to the agent, which calls ``POST /agent/auth/claim/complete``.

The sandbox's emails are JSON documents in the mailbox (and in ``mail_dir``):
``to``, ``subject``, ``registration_id``, ``claim_attempt_id``, ``view_url``,
``claim_attempt_token``, ``expires_at``, and, once the challenge endpoint has
been called for the current link, ``otp`` and ``otp_expires_at``. A test plays
the browser by posting ``claim_attempt_token`` to the challenge endpoint and
then reads the code from the response or the mail.

Unlike the auth.md reference service, wrong codes are counted: after
``otp_max_attempts`` failures the code is void until the link is opened again.
"""

from __future__ import annotations

import html
import json
import logging
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from insforge_tools.sandbox.platform._http import (
    RequestError,
    error_response,
    read_json_object,
    require_email,
    require_string,
)
from insforge_tools.sandbox.platform._state import (
    ClaimAttempt,
    PlatformState,
    Registration,
    User,
    isoformat,
    random_token,
)

__all__ = ["claim", "claim_challenge", "claim_complete", "claim_view", "start_claim_attempt"]

logger = logging.getLogger("insforge_tools.sandbox.platform")


def start_claim_attempt(state: PlatformState, registration: Registration, email: str) -> ClaimAttempt:
    """Open a new claim attempt for ``registration``, void older ones, and send the email."""
    config = state.config
    now = config.clock()
    view_token = random_token("cvt_", 32)
    attempt = ClaimAttempt(
        id=random_token("cla_", 22),
        registration_id=registration.id,
        email=email,
        view_token=view_token,
        expires_at=now + config.claim_view_ttl,
    )
    with state.lock:
        for older in state.claim_attempts.values():
            if older.registration_id == registration.id:
                older.view_token = None
                older.otp = None
        state.claim_attempts[attempt.id] = attempt
        state.mailbox.write(registration.id, _mail(state, attempt))
    logger.info("Claim attempt %s opened for registration %s", attempt.id, registration.id)
    return attempt


def _mail(state: PlatformState, attempt: ClaimAttempt) -> dict[str, Any]:
    base = state.config.base_url
    return {
        "to": attempt.email,
        "subject": "Confirm your InsForge (sandbox) registration",
        "registration_id": attempt.registration_id,
        "claim_attempt_id": attempt.id,
        "view_url": f"{base}/agent/auth/claim/view?token={attempt.view_token}",
        "claim_attempt_token": attempt.view_token,
        "expires_at": isoformat(attempt.expires_at),
        "otp": attempt.otp,
        "otp_expires_at": isoformat(attempt.otp_expires_at) if attempt.otp_expires_at is not None else None,
    }


def _registration_by_claim_token(state: PlatformState, claim_token: str) -> Registration:
    with state.lock:
        for registration in state.registrations.values():
            stored = registration.claim_token
            if stored is not None and secrets.compare_digest(stored, claim_token):
                return registration
    raise RequestError("invalid_claim_token", "The claim token is invalid.", 401)


def _current_attempt(state: PlatformState, registration_id: str) -> ClaimAttempt | None:
    with state.lock:
        live = [
            attempt
            for attempt in state.claim_attempts.values()
            if attempt.registration_id == registration_id and attempt.view_token is not None
        ]
    return live[-1] if live else None


def _attempt_by_view_token(state: PlatformState, view_token: str) -> ClaimAttempt | None:
    with state.lock:
        for attempt in state.claim_attempts.values():
            if attempt.view_token is not None and secrets.compare_digest(attempt.view_token, view_token):
                return attempt
    return None


def _ensure_not_expired(state: PlatformState, registration: Registration) -> None:
    """Raise ``claim_expired`` once the registration's claim window has passed, revoking anonymous keys."""
    if registration.expires_at is None or registration.expires_at > state.config.clock():
        return
    if registration.type == "anonymous":
        with state.lock:
            for credential in state.credentials_of(registration.id):
                credential.revoked = True
    raise RequestError("claim_expired", "The claim window of this registration has closed.", 410)


async def claim(request: Request) -> Response:
    """``POST /agent/auth/claim``: start (or repeat) a claim of an anonymous registration."""
    state: PlatformState = request.app.state.platform
    try:
        body = await read_json_object(request)
        claim_token = require_string(body, "claim_token")
        email = require_email(body, "email")

        registration = _registration_by_claim_token(state, claim_token)
        if registration.type == "email-verification":
            raise RequestError(
                "claimed_or_in_flight",
                "Email-verification registrations do not require an explicit /claim call.",
                409,
            )
        if registration.claimed:
            raise RequestError("claimed_or_in_flight", "This registration has already been claimed.", 409)
        _ensure_not_expired(state, registration)

        attempt = _current_attempt(state, registration.id)
        now = state.config.clock()
        if attempt is None or attempt.email != email or attempt.expires_at <= now:
            attempt = start_claim_attempt(state, registration, email)
    except RequestError as exc:
        logger.info("%s %s rejected: %s", request.method, request.url.path, exc.code)
        return error_response(state.config, exc.code, exc.message, exc.status)

    return JSONResponse(
        {
            "registration_id": registration.id,
            "claim_attempt_id": attempt.id,
            "status": "initiated",
            "expires_at": isoformat(attempt.expires_at),
        }
    )


_VIEW_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Claim your InsForge (sandbox) registration</title></head>
<body>
<h1>Confirm {email}</h1>
<p>Give this one-time code to your agent: <strong id="code">…</strong></p>
<script>
fetch("/agent/auth/claim/attempt/challenge", {{
  method: "POST",
  headers: {{"Content-Type": "application/json"}},
  body: JSON.stringify({{claim_attempt_token: {token}}})
}}).then(r => r.json()).then(d => {{
  document.getElementById("code").textContent = d.challenge || d.error;
}});
</script>
</body></html>
"""


def _html_error(status: int, text: str) -> HTMLResponse:
    page = f"<!doctype html><html><body><p>{html.escape(text)}</p></body></html>"
    return HTMLResponse(page, status_code=status)


async def claim_view(request: Request) -> Response:
    """``GET /agent/auth/claim/view?token=cvt_…``: the page the emailed link opens."""
    state: PlatformState = request.app.state.platform
    view_token = request.query_params.get("token")
    if not view_token:
        return _html_error(400, "The link has no token.")
    attempt = _attempt_by_view_token(state, view_token)
    if attempt is None:
        return _html_error(404, "This link is unknown or has been replaced by a newer one.")
    if attempt.expires_at <= state.config.clock():
        return _html_error(410, "This link has expired.")

    page = _VIEW_PAGE.format(email=html.escape(attempt.email), token=json.dumps(view_token))
    return HTMLResponse(page)


async def claim_challenge(request: Request) -> Response:
    """``POST /agent/auth/claim/attempt/challenge``: reveal a fresh one-time code (rotating the old one)."""
    state: PlatformState = request.app.state.platform
    config = state.config
    try:
        body = await read_json_object(request)
        view_token = require_string(body, "claim_attempt_token")
        attempt = _attempt_by_view_token(state, view_token)
        if attempt is None:
            raise RequestError(
                "claim_superseded", "The claim attempt token is invalid or has been superseded.", 410
            )
        with state.lock:
            registration = state.registrations[attempt.registration_id]
        if registration.claimed:
            raise RequestError("claim_completed", "This registration has already been claimed.", 409)
        _ensure_not_expired(state, registration)
        now = config.clock()
        if attempt.expires_at <= now:
            raise RequestError("claim_expired", "This claim link has expired; start the claim again.", 410)

        with state.lock:
            attempt.otp = f"{secrets.randbelow(1_000_000):06d}"
            attempt.otp_expires_at = now + config.otp_ttl
            attempt.failed_otp_attempts = 0
            state.mailbox.write(registration.id, _mail(state, attempt))
    except RequestError as exc:
        logger.info("%s %s rejected: %s", request.method, request.url.path, exc.code)
        return error_response(config, exc.code, exc.message, exc.status)

    return JSONResponse(
        {"type": "otp", "challenge": attempt.otp, "expires_at": isoformat(attempt.otp_expires_at)}
    )


def _check_otp(state: PlatformState, registration: Registration, otp: str) -> ClaimAttempt:
    config = state.config
    attempt = _current_attempt(state, registration.id)
    if attempt is None or attempt.otp is None or attempt.otp_expires_at is None:
        raise RequestError(
            "otp_not_generated", "No OTP has been generated for this claim. Open the email link first.", 400
        )
    if attempt.failed_otp_attempts >= config.otp_max_attempts:
        raise RequestError(
            "otp_attempts_exceeded",
            f"{config.otp_max_attempts} wrong codes were entered; open the email link again for a new code.",
            400,
        )
    if attempt.otp_expires_at <= config.clock():
        raise RequestError(
            "otp_expired", "The OTP has expired; open the email link again for a new code.", 410
        )

    with state.lock:
        if not secrets.compare_digest(attempt.otp, otp):
            attempt.failed_otp_attempts += 1
            left = config.otp_max_attempts - attempt.failed_otp_attempts
            raise RequestError(
                "otp_invalid", f"The provided OTP does not match the claim attempt ({left} tries left).", 401
            )
    return attempt


def _bind_user(state: PlatformState, registration: Registration, email: str) -> User:
    """Attach the registration to the verified user with ``email``, creating or upgrading one."""
    existing = state.find_verified_user(email)
    with state.lock:
        provisional = state.users.get(registration.user_id) if registration.user_id else None
        if existing is not None:
            if provisional is not None and provisional.id != existing.id:
                del state.users[provisional.id]
            return existing
        if provisional is not None:
            provisional.email = email
            provisional.name = email.split("@", 1)[0]
            provisional.email_verified = True
            return provisional
    return state.add_user(email=email, name=email.split("@", 1)[0], email_verified=True)


async def claim_complete(request: Request) -> Response:
    """``POST /agent/auth/claim/complete``: finish a claim with the one-time code."""
    state: PlatformState = request.app.state.platform
    config = state.config
    try:
        body = await read_json_object(request)
        claim_token = require_string(body, "claim_token")
        otp = require_string(body, "otp")

        registration = _registration_by_claim_token(state, claim_token)
        if registration.claimed:
            raise RequestError("previously_claimed", "This registration has already been claimed.", 409)
        _ensure_not_expired(state, registration)
        attempt = _check_otp(state, registration, otp)
    except RequestError as exc:
        logger.info("%s %s rejected: %s", request.method, request.url.path, exc.code)
        return error_response(config, exc.code, exc.message, exc.status)

    user = _bind_user(state, registration, attempt.email)
    with state.lock:
        registration.claimed = True
        registration.user_id = user.id
        registration.email = attempt.email
        # The reference service clears the view token on success, so the link then reports claim_superseded.
        attempt.view_token = None
        attempt.otp = None
        for credential in state.credentials_of(registration.id):
            credential.scopes = list(config.scopes_supported)
            credential.user_id = user.id
    logger.info("Registration %s claimed by user %s", registration.id, user.id)

    if registration.type == "anonymous":
        return JSONResponse({"registration_id": registration.id, "status": "claimed"})

    credential = state.issue_credential(
        registration,
        credential_type=registration.requested_credential_type,
        scopes=config.scopes_supported,
        source="email_verification",
    )
    return JSONResponse(
        {
            "registration_id": registration.id,
            "status": "claimed",
            "credential_type": credential.type,
            "credential": credential.value,
            "credential_expires": isoformat(credential.expires_at) if credential.expires_at else None,
            "scopes": list(credential.scopes),
        }
    )
