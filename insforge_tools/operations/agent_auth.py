"""Agent registration operations: discover a service, register with it, claim a registration.

Discovery results are cached per context (``ctx.state``) for a bounded time.
Claim tokens of pending registrations stay in ``ctx.state`` only, in memory,
so a claim must be completed by the same running application that registered.

Each call asks the human at most one question, before its request is sent,
because approvers that pause for a human run the whole call again on resume.
So a claim takes separate calls: ``insforge_register`` (verified_email) or
``insforge_claim`` with an email sends the email, and a later
``insforge_claim`` without an email asks for the one-time code and redeems it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from insforge_tools.context import Context
from insforge_tools.errors import ApprovalError, InvalidInputError, NotFoundError
from insforge_tools.protocol.discovery import Discovery, DiscoveryCache, ResourceMatch, discover
from insforge_tools.protocol.registration import (
    ClaimError,
    PendingClaim,
    RegistrationResult,
    complete_claim,
    register,
    start_claim,
)
from insforge_tools.registry import operation

__all__ = [
    "ClaimArgs",
    "DiscoverArgs",
    "RegisterArgs",
    "cached_discovery",
    "discovery_cache",
    "forget_discovery",
    "insforge_claim",
    "insforge_discover",
    "insforge_register",
    "pending_claims",
]

DISCOVERY_CACHE_KEY = "insforge_tools.discovery_cache"
PENDING_CLAIMS_KEY = "insforge_tools.pending_claims"


# --- Context state ----------------------------------------------------------------------------


def discovery_cache(ctx: Context) -> DiscoveryCache:
    """Return the context's discovery cache, creating it on first use."""
    cache = ctx.state.get(DISCOVERY_CACHE_KEY)
    if not isinstance(cache, DiscoveryCache):
        cache = DiscoveryCache(ttl=ctx.settings.discovery_cache_ttl)
        ctx.state[DISCOVERY_CACHE_KEY] = cache
    return cache


def pending_claims(ctx: Context) -> dict[str, PendingClaim]:
    """Return the context's pending claims, keyed by the resource URL the registration used."""
    claims = ctx.state.get(PENDING_CLAIMS_KEY)
    if not isinstance(claims, dict):
        claims = {}
        ctx.state[PENDING_CLAIMS_KEY] = claims
    return claims


def _resource_match(ctx: Context) -> ResourceMatch:
    return "prefix" if ctx.settings.resource_match == "prefix" else "exact"


def forget_discovery(ctx: Context, resource_url: str) -> bool:
    """Drop the cached discovery for ``resource_url``, for example after a working credential got a 401."""
    return discovery_cache(ctx).invalidate(resource_url)


async def cached_discovery(ctx: Context, resource_url: str, *, challenge: str | None = None) -> Discovery:
    """Return the cached discovery for ``resource_url``, or discover it now.

    With ``challenge`` (a 401 response's ``WWW-Authenticate`` value) the metadata
    it names is always read afresh, and the result replaces the cached one.
    """
    return await discover(
        resource_url,
        settings=ctx.settings,
        challenge=challenge,
        resource_match=_resource_match(ctx),
        cache=discovery_cache(ctx),
    )


# --- insforge_discover ------------------------------------------------------------------------


class DiscoverArgs(BaseModel):
    resource_url: str = Field(
        description="The service's protected resource URL, exactly as the service publishes it "
        "(for example https://api.example.com/api/). Do not add or remove a trailing slash."
    )
    www_authenticate: str | None = Field(
        default=None,
        max_length=2048,
        description="Optional: the WWW-Authenticate header of a 401 response from that URL, copied verbatim "
        '(Bearer resource_metadata="…"). Discovery then reads the metadata it names.',
    )


def _summarize_discovery(result: Discovery) -> str:
    flows = []
    for flow in result.flows():
        if flow.available:
            flows.append(f"{flow.flow} ({', '.join(flow.credential_types)})")
        else:
            flows.append(f"{flow.flow}: unavailable, {flow.reason}")
    lines = [
        f"Service: {result.service_name}",
        f"Resource: {result.prm.resource}",
        f"Scopes: {', '.join(result.prm.scopes_supported) or 'none listed'}",
        f"Register at: {result.agent_auth.register_uri}",
        "Flows: " + "; ".join(flows),
    ]
    if result.warnings:
        lines.append("Warnings: " + " ".join(result.warnings))
    return "\n".join(lines)


@operation(
    "insforge_discover",
    description=(
        "Read a service's agent-registration metadata (RFC 9728 protected resource metadata and the "
        "authorization server's agent_auth block): its name, scopes, where to register and which "
        "registration flows it offers. Use it before insforge_register, or when a request to the service "
        "returned 401. Changes nothing and needs no approval."
    ),
    read_only=True,
    summarize=_summarize_discovery,
)
async def insforge_discover(ctx: Context, args: DiscoverArgs) -> Discovery:
    return await cached_discovery(ctx, args.resource_url, challenge=args.www_authenticate)


# --- insforge_register ------------------------------------------------------------------------


class RegisterArgs(BaseModel):
    resource_url: str = Field(
        description="The service's protected resource URL, the same value given to insforge_discover."
    )
    flow: Literal["identity_assertion", "verified_email", "anonymous"] = Field(
        default="identity_assertion",
        description="identity_assertion: register as the user with a signed assertion from their identity "
        "provider (preferred). verified_email: the service emails the user a link with a one-time code. "
        "anonymous: a limited key at once, which the user may claim later. Use a flow insforge_discover "
        "lists as available.",
    )
    requested_credential_type: Literal["api_key", "access_token"] = Field(
        default="api_key",
        description="The credential to ask for; it must be one the service lists for the chosen flow.",
    )
    email: str | None = Field(
        default=None,
        description="The user's email address; required for the verified_email flow only. Ask the user.",
    )


def _summarize_registration(result: RegistrationResult) -> str:
    parts = [f"Status: {result.status}", f"Registration: {result.registration_id}"]
    if result.stored_as is not None:
        parts.append(
            f"Credential: {result.credential_type} {result.credential_masked or ''} stored as "
            f"{result.stored_as.kind} for {result.stored_as.scope}".replace("  ", " ")
        )
    if result.credential_expires:
        parts.append(f"Expires: {result.credential_expires}")
    if result.scopes:
        parts.append(f"Scopes: {', '.join(result.scopes)}")
    pending = result.pending_claim
    if pending is not None:
        parts.append(f"Claim pending ({pending.flow}, until {pending.claim_token_expires or 'unknown'})")
    if result.next_step:
        parts.append(f"Next step: {result.next_step}")
    return "\n".join(parts)


@operation(
    "insforge_register",
    description=(
        "Register with a service in the user's name and store the credential it issues (the credential is "
        "never shown). A human must first consent to sharing their identity. The verified_email flow ends "
        "with status claim_pending: the service emails the user a link, and insforge_claim finishes the "
        "registration once the user has the one-time code. Call insforge_discover first to see which flows "
        "the service offers."
    ),
    needs_consent=True,
    summarize=_summarize_registration,
)
async def insforge_register(ctx: Context, args: RegisterArgs) -> RegistrationResult:
    discovery = await cached_discovery(ctx, args.resource_url)
    result = await register(
        discovery,
        settings=ctx.settings,
        store=ctx.credentials,
        approver=ctx.approver,
        assertion_provider=ctx.assertion_provider,
        flow=args.flow,
        requested_credential_type=args.requested_credential_type,
        email=args.email,
        operation="insforge_register",
    )
    if result.pending_claim is not None:
        pending_claims(ctx)[args.resource_url] = result.pending_claim
    return result


# --- insforge_claim ---------------------------------------------------------------------------


class ClaimArgs(BaseModel):
    resource_url: str = Field(description="The resource URL the registration was made for.")
    email: str | None = Field(
        default=None,
        description="The user's email address, needed once to start the claim of an anonymous "
        "registration. Leave it out to enter the one-time code: for a verified_email registration or a "
        "claim already started.",
    )


def _same_address(email: str | None, other: str | None) -> bool:
    return email is not None and other is not None and email.strip().casefold() == other.strip().casefold()


# Codes after which the same claim can still be completed: the user needs a (new) code.
_CODE_ERRORS = frozenset({"otp_not_generated", "otp_invalid", "otp_expired", "otp_attempts_exceeded"})


def _with_retry_step(error: ClaimError | ApprovalError, resource_url: str) -> ClaimError | ApprovalError:
    """Return a copy of ``error`` whose next step adds that the claim is still pending."""
    again = (
        f"The claim is still pending: when the user has the code, call insforge_claim again with "
        f"resource_url {resource_url!r} and no email."
    )
    return type(error)(
        error.message,
        next_step=f"{error.next_step} {again}".strip(),
        code=error.code,
        status=error.status,
        retryable=error.retryable,
        details=error.details,
    )


@operation(
    "insforge_claim",
    description=(
        "Finish a pending anonymous or verified_email registration, in up to two calls. For an anonymous "
        "key whose claim has not started, pass the user's email: after a human consents, the service "
        "emails them a link, and the result says claim_pending. Once the user has opened the link, call "
        "again without email: a human types the one-time code the page shows into the approval prompt "
        "(the code is never a tool argument), and the claimed credential is stored."
    ),
    needs_consent=True,
    summarize=_summarize_registration,
)
async def insforge_claim(ctx: Context, args: ClaimArgs) -> RegistrationResult:
    claims = pending_claims(ctx)
    pending = claims.get(args.resource_url)
    if pending is None:
        raise NotFoundError(
            f"No pending registration for {args.resource_url!r} in this application.",
            code="no_pending_claim",
            next_step="Register with insforge_register (flow anonymous or verified_email) first; "
            "claim tokens are kept in memory only, so a restart loses them.",
        )
    discovery = await cached_discovery(ctx, args.resource_url)

    if pending.flow == "anonymous" and pending.status == "registered" and not args.email:
        raise InvalidInputError(
            "Claiming an anonymous registration needs the user's email address.",
            code="missing_email",
            next_step="Ask the user which email address should own the key and pass it as email.",
        )

    other_email = bool(args.email) and not _same_address(args.email, pending.email)
    if pending.flow == "anonymous" and args.email and (pending.status == "registered" or other_email):
        # A new address restarts the claim: the service emails a new link to it.
        await start_claim(discovery, pending, email=args.email, settings=ctx.settings, approver=ctx.approver)
        return RegistrationResult.claim_pending(pending, registration_type="anonymous")

    if other_email:
        raise InvalidInputError(
            f"Registration {pending.registration_id} waits for the code the service emailed to another "
            f"address than {args.email!r}.",
            code="claim_in_progress",
            next_step="Call insforge_claim without email to enter the one-time code from that email, or "
            "register again with insforge_register to use another address.",
        )

    try:
        result = await complete_claim(
            discovery, pending, settings=ctx.settings, store=ctx.credentials, approver=ctx.approver
        )
    except ClaimError as exc:
        if exc.code in _CODE_ERRORS:
            raise _with_retry_step(exc, args.resource_url) from exc
        raise
    except ApprovalError as exc:
        raise _with_retry_step(exc, args.resource_url) from exc
    claims.pop(args.resource_url, None)
    return result
