"""Registration at ``agent_auth.register_uri`` and the claim ceremony.

Three flows, each used only when the service's ``agent_auth`` block advertises it:

* ``identity_assertion``: a human consents, then a fresh ID-JAG is minted,
  checked and POSTed for every attempt. The credential is stored at once.
* ``verified_email``: a human consents, the user's email is POSTed, and the
  service returns a claim token (kept in memory only, inside a
  :class:`PendingClaim`). The credential arrives later, when the one-time code
  from the service's email is redeemed (:func:`complete_claim`).
* ``anonymous``: a pre-claim API key is stored at once. The user may claim it
  later (:func:`start_claim`, then :func:`complete_claim`).

Each public function asks the approver at most one question, and asks it
before it sends anything. Approvers that pause the run for a human (LangGraph
``interrupt()``, LlamaIndex ``wait_for_event``) run the whole call again when
the human answers, so the replay repeats no request.

Errors come back as ``{"error", "error_description"}`` (InsForge's description)
or ``{"error", "message"}`` (the reference service); both become typed errors
with a next step. Client errors are never resent unchanged. 429 and 5xx replies
and failed connections are retried with capped exponential backoff and full
jitter, honouring ``Retry-After``. An ID-JAG is never sent twice.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import anyio
import httpx
from pydantic import BaseModel, Field, PrivateAttr

from insforge_tools.approvals import Approver, require_approval
from insforge_tools.context import AssertionProvider
from insforge_tools.credentials import CredentialKind, CredentialRecord, CredentialStore
from insforge_tools.errors import (
    ApprovalError,
    ConfigurationError,
    InsForgeError,
    ProtocolError,
    RateLimitError,
    RegistrationError,
    ServerError,
    TransportError,
)
from insforge_tools.protocol._http import HttpReply, post_json
from insforge_tools.protocol.consent import build_claim_code_request, build_consent_request
from insforge_tools.protocol.discovery import ID_JAG_ASSERTION_TYPE, Discovery, FlowName
from insforge_tools.protocol.idjag import preflight_check, select_audience
from insforge_tools.secrets import Secret
from insforge_tools.settings import Settings

__all__ = [
    "ERROR_CATALOGUE",
    "ClaimError",
    "PendingClaim",
    "RegistrationRejectedError",
    "RegistrationResult",
    "RetryPolicy",
    "StoredCredential",
    "UnsupportedFlowError",
    "complete_claim",
    "register",
    "start_claim",
]

logger = logging.getLogger("insforge_tools.protocol")


# --- Errors -----------------------------------------------------------------------------------


class UnsupportedFlowError(ConfigurationError):
    """The service does not advertise the requested flow or credential type."""


class RegistrationRejectedError(RegistrationError):
    """An error response from the registration endpoint."""


class ClaimError(RegistrationError):
    """An error response from a claim endpoint."""


@dataclass(frozen=True)
class ErrorAdvice:
    next_step: str
    remint: bool = False


# Every code the reference service emits, the codes its documentation lists but
# never emits, and the ID-JAG draft's invalid_grant. Unknown codes are final.
ERROR_CATALOGUE: dict[str, ErrorAdvice] = {
    "invalid_request": ErrorAdvice(
        "The request body or the assertion's header or claims are malformed; read the message, "
        "check the flow and credential type the service advertises, and get a new assertion."
    ),
    "invalid_issuer": ErrorAdvice(
        "The service does not trust the assertion's identity provider (iss, compared exactly). "
        "Use a provider on the service's trust list."
    ),
    "invalid_signature": ErrorAdvice(
        "The service could not verify the assertion (signature, key id, algorithm, aud present, nbf). "
        "Check the provider's JWKS and mint a new assertion."
    ),
    "expired": ErrorAdvice(
        "The assertion was rejected as expired. Check the clocks and mint a new one. The reference service "
        "also reports a wrong aud or a missing typ as 'expired', so read the message.",
        remint=True,
    ),
    "replay_detected": ErrorAdvice(
        "The service has seen this assertion's jti before; mint a new assertion (never resend one).",
        remint=True,
    ),
    "missing_verified_email": ErrorAdvice(
        "The assertion carries no verified email or phone number; the user must verify their email "
        "with the identity provider first."
    ),
    "invalid_audience": ErrorAdvice(
        "The assertion's aud is not what the service expects; set audience_policy to the value the service "
        "documents ('resource' or 'issuer')."
    ),
    "audience_mismatch": ErrorAdvice(
        "The assertion's aud is not what the service expects; set audience_policy to the value the service "
        "documents ('resource' or 'issuer')."
    ),
    "invalid_grant": ErrorAdvice(
        "The service rejected the assertion; read the message and mint a corrected one."
    ),
    "credential_expired": ErrorAdvice(
        "The credential or assertion has expired; register again.", remint=True
    ),
    "issuer_not_enabled": ErrorAdvice(
        "The service has not enabled the assertion's identity provider; use another provider or flow."
    ),
    "anonymous_not_enabled": ErrorAdvice(
        "The service does not allow anonymous registration; use the identity_assertion flow."
    ),
    "verified_email_not_enabled": ErrorAdvice(
        "The service does not allow verified-email registration; use the identity_assertion flow."
    ),
    "unsupported_credential_type": ErrorAdvice(
        "Request a credential type the service lists in agent_auth (see insforge_discover)."
    ),
    "rate_limited": ErrorAdvice("The service is limiting requests; wait before registering again."),
    "invalid_client_id": ErrorAdvice(
        "The service does not accept the assertion's client_id; mint it with the client_id the service "
        "expects."
    ),
    "insufficient_user_authentication": ErrorAdvice(
        "The service wants a stronger sign-in; the user must authenticate again (for example with MFA) "
        "at the identity provider."
    ),
    "internal_error": ErrorAdvice("The service failed; try again later."),
    "invalid_claim_token": ErrorAdvice(
        "The claim token is unknown to the service; register again to get a new one."
    ),
    "claimed_or_in_flight": ErrorAdvice(
        "The registration is already claimed, or is a verified-email registration that needs no /claim call; "
        "complete it with the one-time code instead."
    ),
    "claim_expired": ErrorAdvice("The registration's claim window has passed; register again."),
    "claim_superseded": ErrorAdvice(
        "A newer claim link replaced this one; the user must open the latest email."
    ),
    "claim_completed": ErrorAdvice("The claim is already complete; nothing more to do."),
    "previously_claimed": ErrorAdvice("The registration is already claimed; nothing more to do."),
    "otp_not_generated": ErrorAdvice(
        "No one-time code exists yet: the user must open the link in the service's email first, "
        "then give the code."
    ),
    "otp_expired": ErrorAdvice(
        "The one-time code has expired; the user must open the email link again for a new code."
    ),
    "otp_invalid": ErrorAdvice(
        "The one-time code is wrong; ask the user for the code the page shows now (each visit replaces it)."
    ),
    "unauthorized": ErrorAdvice("The service wants a valid credential; register again."),
    "consent_required": ErrorAdvice(
        "The identity provider has no consent grant for this audience; "
        "the user must grant it at the provider."
    ),
    "unknown_user": ErrorAdvice("The identity provider does not know this user."),
    # Stricter services (the insforge-tools sandbox among them) also name these cases.
    "not_yet_valid": ErrorAdvice(
        "The assertion's iat or nbf lies in the future for the service: this machine's clock runs ahead. "
        "Check the clock, then mint a new assertion.",
        remint=True,
    ),
    "invalid_lifetime": ErrorAdvice(
        "The assertion lives longer than the service allows (exp - iat at most 300 s); mint one with a "
        "shorter lifetime."
    ),
    "otp_attempts_exceeded": ErrorAdvice(
        "Too many wrong one-time codes; the user must open the email link again for a new code."
    ),
    "unsupported_assertion_type": ErrorAdvice(
        "The service does not accept this assertion type; use one it lists in agent_auth "
        "(see insforge_discover)."
    ),
    "identity_assertion_not_enabled": ErrorAdvice(
        "The service does not allow identity-assertion registration; use a flow it lists in agent_auth."
    ),
}


# --- Results ----------------------------------------------------------------------------------


class StoredCredential(BaseModel):
    """The credential store entry (kind and scope) a credential was written to."""

    kind: CredentialKind
    scope: str


class PendingClaim(BaseModel):
    """A registration that still waits for the claim ceremony.

    The claim token stays in this object's memory only: it is not a field, so it
    is never serialised, shown to a model or written to disk.
    """

    registration_id: str
    flow: Literal["anonymous", "verified_email"]
    resource: str = Field(description="The protected resource the registration is for.")
    claim_uri: str
    status: Literal["registered", "initiated"] = "registered"
    claim_token_expires: str | None = None
    post_claim_scopes: list[str] = Field(default_factory=list)
    requested_credential_type: str = "api_key"
    email: str | None = None
    stored_as: StoredCredential | None = Field(
        default=None, description="The pre-claim credential (anonymous registrations)."
    )
    _claim_token: Secret | None = PrivateAttr(default=None)

    @classmethod
    def create(cls, claim_token: Secret, **fields: Any) -> PendingClaim:
        pending = cls(**fields)
        pending._claim_token = claim_token
        return pending

    @property
    def claim_token(self) -> Secret:
        if self._claim_token is None:
            raise ConfigurationError("This pending claim has no claim token; register again.")
        return self._claim_token

    def expired(self, now: datetime | None = None) -> bool:
        """Return whether ``claim_token_expires`` has passed (``False`` when it is unknown)."""
        expires = _parse_time(self.claim_token_expires)
        return expires is not None and expires <= (now or datetime.now(UTC))


class RegistrationResult(BaseModel):
    """The outcome of a registration or claim, without the credential value."""

    status: Literal["registered", "claim_pending", "claimed"]
    registration_id: str
    registration_type: str | None = None
    credential_type: str | None = None
    credential_masked: str | None = None
    credential_expires: str | None = None
    scopes: list[str] = Field(default_factory=list)
    stored_as: StoredCredential | None = None
    pending_claim: PendingClaim | None = None
    next_step: str | None = None

    @classmethod
    def claim_pending(
        cls, pending: PendingClaim, *, registration_type: str | None = None
    ) -> RegistrationResult:
        """Build the ``claim_pending`` result for ``pending``, with a next step and no claim token."""
        recipient = _mask_email(pending.email) if pending.email else "the user"
        return cls(
            status="claim_pending",
            registration_id=pending.registration_id,
            registration_type=registration_type,
            credential_type=pending.requested_credential_type,
            scopes=list(pending.post_claim_scopes),
            pending_claim=pending,
            next_step=(
                f"The service emailed {recipient} a link. When the user has opened it and has the one-time "
                f"code the page shows, call insforge_claim with resource_url {pending.resource!r} and no "
                "email; a human then types the code in the approval prompt."
            ),
        )


def _mask_email(email: str) -> str:
    """Return ``email`` with its local part shortened to the first character: ``e…@example.com``."""
    local, at, domain = email.partition("@")
    if not at:
        return "…"
    return f"{local[:1]}…@{domain}"


# --- Retries ----------------------------------------------------------------------------------


@dataclass
class RetryPolicy:
    """Backoff for 429, 5xx and failed connections.

    Attributes:
        max_attempts: Requests in total, the first included.
        base_delay: Seconds before the first retry; doubled each time, then jittered.
        max_delay: Cap of the backoff, in seconds.
        max_retry_after: Longest ``Retry-After``, in seconds, that is waited for; a
            longer one ends the retries with a :class:`RateLimitError`.
        sleep: Awaited with the delay in seconds; injectable for tests.
        jitter: Returns a number in [0, 1) that scales the backoff (full jitter).
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    jitter: Callable[[], float] = field(default=random.random)

    def backoff(self, retry: int) -> float:
        """Return the delay before retry number ``retry`` (1 for the first)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return float(ceiling * self.jitter())


def _retry_after(reply: HttpReply) -> float | None:
    value = reply.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- Replies ----------------------------------------------------------------------------------


@dataclass
class _ErrorBody:
    code: str | None
    description: str | None


def _read_error(reply: HttpReply) -> _ErrorBody:
    if not (reply.is_json and isinstance(reply.data, dict)):
        return _ErrorBody(code=None, description=None)
    code = reply.data.get("error")
    description = reply.data.get("error_description")
    if not isinstance(description, str) or not description:
        description = reply.data.get("message")
    return _ErrorBody(
        code=code if isinstance(code, str) and code else None,
        description=description if isinstance(description, str) and description else None,
    )


def _rejection(
    reply: HttpReply,
    body: _ErrorBody,
    *,
    endpoint: str,
    error: type[RegistrationError],
    note: str = "",
) -> RegistrationError:
    if body.code is None:
        shape = f"{reply.content_type}, {len(reply.body)} bytes"
        return error(
            f"{endpoint} returned HTTP {reply.status} without a JSON error body ({shape}).{note}",
            code="unexpected_response",
            status=reply.status,
            next_step="Check the service URL; this does not look like an agent registration endpoint.",
        )

    advice = ERROR_CATALOGUE.get(body.code)
    # Service messages usually end with a period of their own.
    described = f": {body.description.rstrip().rstrip('.')}" if body.description else ""
    if advice is None:
        next_step = "This error code is not documented; read the message and tell the user."
    else:
        next_step = advice.next_step
    return error(
        f"{endpoint} rejected the request with {body.code} (HTTP {reply.status}){described}.{note}",
        code=body.code,
        status=reply.status,
        next_step=next_step,
    )


def _final_retry_error(reply: HttpReply, body: _ErrorBody, *, endpoint: str, attempts: int) -> InsForgeError:
    described = f" ({body.code}: {body.description})" if body.code else ""
    if reply.status == 429:
        return RateLimitError(
            f"{endpoint} kept returning HTTP 429{described} after {attempts} attempts.",
            code=body.code or "rate_limited",
            status=429,
            retryable=True,
        )
    return ServerError(
        f"{endpoint} kept failing with HTTP {reply.status}{described} after {attempts} attempts.",
        code=body.code or "server_error",
        status=reply.status,
        retryable=True,
    )


PayloadFactory = Callable[[int], Awaitable[dict[str, Any]]]


async def _post_with_retries(
    url: str,
    make_payload: PayloadFactory,
    *,
    endpoint: str,
    settings: Settings,
    client: httpx.AsyncClient | None,
    policy: RetryPolicy,
    error: type[RegistrationError],
    resendable: bool,
    remintable: bool,
    not_resendable_note: str = "",
    audience_hint: str = "",
) -> HttpReply:
    """POST to ``url`` until a 2xx, a final error or the attempt limit; return the 2xx reply."""
    attempt = 0
    remints_left = 1

    while True:
        attempt += 1
        payload = await make_payload(attempt)
        logger.info("POST %s (%s, attempt %d)", url, endpoint, attempt)

        try:
            reply = await post_json(
                url, payload, field=endpoint, settings=settings, client=client, error=ProtocolError
            )
        except TransportError as exc:
            if not resendable or attempt >= policy.max_attempts:
                if not resendable:
                    exc.next_step = f"{exc.next_step} {not_resendable_note}".strip()
                raise
            delay = policy.backoff(attempt)
            logger.info("%s failed (%s); retrying in %.2f s", endpoint, type(exc).__name__, delay)
            await policy.sleep(delay)
            continue

        if 200 <= reply.status < 300:
            return reply

        body = _read_error(reply)
        logger.info("%s returned HTTP %d %s", endpoint, reply.status, body.code or "(no error code)")

        if reply.status == 429 or reply.status >= 500:
            if not resendable:
                raise _rejection(reply, body, endpoint=endpoint, error=error, note=f" {not_resendable_note}")
            if attempt >= policy.max_attempts:
                raise _final_retry_error(reply, body, endpoint=endpoint, attempts=attempt)
            wait = _retry_after(reply)
            if wait is not None and wait > policy.max_retry_after:
                raise RateLimitError(
                    f"{endpoint} asked to wait {wait:.0f} s (Retry-After), longer than the "
                    f"{policy.max_retry_after:.0f} s this client waits.",
                    code=body.code or "rate_limited",
                    status=reply.status,
                    retryable=True,
                    next_step=f"Try again in {wait:.0f} seconds.",
                )
            delay = wait if wait is not None else policy.backoff(attempt)
            logger.info("Retrying %s after HTTP %d in %.2f s", endpoint, reply.status, delay)
            await policy.sleep(delay)
            continue

        advice = ERROR_CATALOGUE.get(body.code or "")
        misreported = (
            body.code == "expired"
            and body.description is not None
            and ('"aud"' in body.description or '"typ"' in body.description)
        )
        if advice is not None and advice.remint and not misreported:
            if remintable and remints_left > 0:
                remints_left -= 1
                logger.info(
                    "%s returned %s, so a new assertion is minted for one more attempt", endpoint, body.code
                )
                continue
            if not remintable:
                raise _rejection(reply, body, endpoint=endpoint, error=error, note=f" {not_resendable_note}")

        note = ""
        if body.code in ("invalid_audience", "audience_mismatch"):
            note = audience_hint
        elif misreported and '"aud"' in (body.description or ""):
            note = f" This service reports a wrong aud as 'expired'.{audience_hint}"
        elif misreported:
            note = (
                " This service reports a missing typ header as 'expired'; "
                "the assertion needs typ oauth-id-jag+jwt."
            )
        raise _rejection(reply, body, endpoint=endpoint, error=error, note=note)


# --- Flow selection ---------------------------------------------------------------------------


def _require_flow(discovery: Discovery, flow: FlowName, credential_type: str) -> None:
    support = discovery.flow_support(flow)
    if not support.available:
        available = [item.flow for item in discovery.flows() if item.available]
        raise UnsupportedFlowError(
            f"{discovery.service_name} does not offer the {flow} flow: {support.reason}",
            code="flow_not_supported",
            next_step=f"Use one of the advertised flows: {', '.join(available) or 'none'}.",
        )
    if credential_type not in support.credential_types:
        raise UnsupportedFlowError(
            f"{discovery.service_name} does not issue {credential_type!r} credentials in the {flow} flow; "
            f"it lists {support.credential_types}.",
            code="unsupported_credential_type",
            next_step=f"Request one of: {', '.join(support.credential_types)}.",
        )


def _credential_kind(flow: FlowName, credential_type: str) -> CredentialKind:
    if flow == "anonymous":
        return "anonymous_api_key"
    if credential_type == "access_token":
        return "access_token"
    return "user_api_key"


def _require_text(data: dict[str, Any], name: str, endpoint: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise ProtocolError(
            f"{endpoint} returned 2xx without a usable {name} (got {type(value).__name__}).",
            code="invalid_response",
            next_step="The service's reply does not follow the protocol; tell the user.",
        )
    return value


def _reply_object(reply: HttpReply, endpoint: str) -> dict[str, Any]:
    if not (reply.is_json and isinstance(reply.data, dict)):
        raise ProtocolError(
            f"{endpoint} returned HTTP {reply.status} with a body that is not a JSON object "
            f"({reply.content_type}).",
            code="invalid_response",
        )
    return reply.data


def _string_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _optional_text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _store_credential(
    store: CredentialStore,
    credential: Secret,
    *,
    kind: CredentialKind,
    scope: str,
    registration_id: str,
    expires: str | None,
    scopes: list[str],
) -> StoredCredential:
    store.put(
        credential,
        CredentialRecord(
            kind=kind, scope=scope, registration_id=registration_id, expires_at=expires, scopes=scopes
        ),
    )
    logger.info("Stored a %s for %s (registration %s)", kind, scope, registration_id)
    return StoredCredential(kind=kind, scope=scope)


# --- Flows ------------------------------------------------------------------------------------


async def register(
    discovery: Discovery,
    *,
    settings: Settings,
    store: CredentialStore,
    approver: Approver,
    assertion_provider: AssertionProvider | None = None,
    assertion: Secret | str | None = None,
    flow: FlowName = "identity_assertion",
    requested_credential_type: str = "api_key",
    email: str | None = None,
    client: httpx.AsyncClient | None = None,
    retry: RetryPolicy | None = None,
    operation: str = "insforge_register",
) -> RegistrationResult:
    """Register with the discovered service and store the credential it issues.

    The ``verified_email`` flow stores nothing yet: it returns a ``claim_pending``
    result whose :class:`PendingClaim` goes to :func:`complete_claim` once the
    user has the one-time code from the service's email.

    Args:
        discovery: The result of :func:`~insforge_tools.protocol.discovery.discover`.
        settings: Supplies ``audience_policy``, ``expected_assertion_issuer`` and timeouts.
        store: Where the credential goes.
        approver: Asked for consent before anything is minted or sent; asked nothing else.
        assertion_provider: Mints a fresh ID-JAG for every attempt (identity_assertion flow).
        assertion: An ID-JAG obtained elsewhere; it is sent once and never resent.
        flow: ``identity_assertion``, ``verified_email`` or ``anonymous``.
        requested_credential_type: A type the service advertises for the flow.
        email: The user's email (verified_email flow).
        client: An httpx client to use; by default a short-lived one.
        retry: Backoff settings; the defaults retry 429/5xx up to four attempts in total.
        operation: The tool name shown in approval requests.

    Raises:
        UnsupportedFlowError: the service does not advertise the flow or credential type.
        ApprovalError: the human did not consent.
        AssertionCheckError: the assertion failed the pre-flight check (nothing was sent).
        RegistrationError: the service rejected the request.
        RateLimitError, ServerError, TransportError: the service stayed unavailable.
    """
    policy = retry or RetryPolicy()
    if flow == "identity_assertion":
        return await _register_with_assertion(
            discovery,
            settings=settings,
            store=store,
            approver=approver,
            assertion_provider=assertion_provider,
            assertion=assertion,
            credential_type=requested_credential_type,
            client=client,
            policy=policy,
            operation=operation,
        )
    if flow == "verified_email":
        return await _register_with_email(
            discovery,
            settings=settings,
            approver=approver,
            email=email,
            credential_type=requested_credential_type,
            client=client,
            policy=policy,
            operation=operation,
        )
    if flow == "anonymous":
        return await _register_anonymously(
            discovery,
            settings=settings,
            store=store,
            credential_type=requested_credential_type,
            client=client,
            policy=policy,
        )
    raise ConfigurationError(
        f"flow must be identity_assertion, verified_email or anonymous, not {flow!r}.",
        next_step="Pick one of the flows insforge_discover lists as available.",
    )


async def _register_with_assertion(
    discovery: Discovery,
    *,
    settings: Settings,
    store: CredentialStore,
    approver: Approver,
    assertion_provider: AssertionProvider | None,
    assertion: Secret | str | None,
    credential_type: str,
    client: httpx.AsyncClient | None,
    policy: RetryPolicy,
    operation: str,
) -> RegistrationResult:
    _require_flow(discovery, "identity_assertion", credential_type)
    if assertion_provider is None and assertion is None:
        raise ConfigurationError(
            "The identity_assertion flow needs an identity assertion, "
            "and no assertion provider is configured.",
            code="no_assertion_provider",
            next_step="The application must be set up with an assertion provider (an identity provider that "
            "issues ID-JAGs); until then, a human can register another way.",
        )
    external = None
    if assertion is not None and assertion_provider is None:
        external = assertion if isinstance(assertion, Secret) else Secret(assertion)

    audience = select_audience(discovery, settings.audience_policy)
    resource = discovery.prm.resource
    await require_approval(
        approver,
        build_consent_request(
            discovery,
            audience=audience,
            operation=operation,
            flow="identity_assertion",
            requested_credential_type=credential_type,
        ),
    )

    used_external = False

    async def next_payload(attempt: int) -> dict[str, Any]:
        nonlocal used_external
        if external is not None:
            if used_external:
                raise ConfigurationError("An assertion obtained elsewhere is never sent twice.")
            used_external = True
            token = external
        else:
            assert assertion_provider is not None
            token = await assertion_provider(audience=audience, resource=resource)
            if not isinstance(token, Secret):
                token = Secret(token)
        preflight_check(
            token,
            expected_issuer=settings.expected_assertion_issuer,
            audience=audience,
            resource=resource,
        )
        return {
            "type": "identity_assertion",
            "assertion_type": ID_JAG_ASSERTION_TYPE,
            "assertion": token.reveal(),
            "requested_credential_type": credential_type,
        }

    alternatives = {"resource": discovery.prm.resource, "issuer": discovery.issuer}
    other_policy = "issuer" if settings.audience_policy == "resource" else "resource"
    hint = (
        f" The assertion's aud was {audience!r} (audience_policy {settings.audience_policy!r}); "
        f"if the service expects {alternatives[other_policy]!r}, set audience_policy to {other_policy!r}."
    )
    reply = await _post_with_retries(
        discovery.agent_auth.register_uri,
        next_payload,
        endpoint="agent registration",
        settings=settings,
        client=client,
        policy=policy,
        error=RegistrationRejectedError,
        resendable=external is None,
        remintable=external is None,
        not_resendable_note=(
            "The assertion came from outside insforge-tools and cannot be re-minted or resent; "
            "get a fresh one from the identity provider."
        ),
        audience_hint=hint,
    )
    return _finish_direct_registration(
        reply, discovery, store=store, flow="identity_assertion", credential_type=credential_type
    )


def _finish_direct_registration(
    reply: HttpReply,
    discovery: Discovery,
    *,
    store: CredentialStore,
    flow: FlowName,
    credential_type: str,
) -> RegistrationResult:
    endpoint = "agent registration"
    data = _reply_object(reply, endpoint)
    credential = Secret(_require_text(data, "credential", endpoint))
    registration_id = _require_text(data, "registration_id", endpoint)
    issued_type = _optional_text(data.get("credential_type")) or credential_type
    if issued_type != credential_type:
        logger.warning("Requested a %s but the service issued a %s", credential_type, issued_type)
    expires = _optional_text(data.get("credential_expires"))
    scopes = _string_list(data.get("scopes"))

    stored = _store_credential(
        store,
        credential,
        kind=_credential_kind(flow, issued_type),
        scope=discovery.prm.resource,
        registration_id=registration_id,
        expires=expires,
        scopes=scopes,
    )

    pending = None
    claim_token = _optional_text(data.get("claim_token"))
    if flow == "anonymous" and claim_token and discovery.agent_auth.claim_uri:
        pending = PendingClaim.create(
            Secret(claim_token),
            registration_id=registration_id,
            flow="anonymous",
            resource=discovery.prm.resource,
            claim_uri=discovery.agent_auth.claim_uri,
            claim_token_expires=_optional_text(data.get("claim_token_expires")),
            post_claim_scopes=_string_list(data.get("post_claim_scopes")),
            requested_credential_type=issued_type,
            stored_as=stored,
        )

    return RegistrationResult(
        status="registered",
        registration_id=registration_id,
        registration_type=_optional_text(data.get("registration_type")),
        credential_type=issued_type,
        credential_masked=credential.masked,
        credential_expires=expires,
        scopes=scopes,
        stored_as=stored,
        pending_claim=pending,
        next_step=(
            "The key is anonymous with limited scopes; "
            "the user may claim it with insforge_claim and their email."
            if pending is not None
            else None
        ),
    )


async def _register_anonymously(
    discovery: Discovery,
    *,
    settings: Settings,
    store: CredentialStore,
    credential_type: str,
    client: httpx.AsyncClient | None,
    policy: RetryPolicy,
) -> RegistrationResult:
    _require_flow(discovery, "anonymous", credential_type)

    async def payload(attempt: int) -> dict[str, Any]:
        return {"type": "anonymous", "requested_credential_type": credential_type}

    reply = await _post_with_retries(
        discovery.agent_auth.register_uri,
        payload,
        endpoint="agent registration",
        settings=settings,
        client=client,
        policy=policy,
        error=RegistrationRejectedError,
        resendable=True,
        remintable=False,
    )
    return _finish_direct_registration(
        reply, discovery, store=store, flow="anonymous", credential_type=credential_type
    )


async def _register_with_email(
    discovery: Discovery,
    *,
    settings: Settings,
    approver: Approver,
    email: str | None,
    credential_type: str,
    client: httpx.AsyncClient | None,
    policy: RetryPolicy,
    operation: str,
) -> RegistrationResult:
    _require_flow(discovery, "verified_email", credential_type)
    if not email or "@" not in email:
        raise ConfigurationError(
            f"The verified_email flow needs the user's email address, not {email!r}.",
            code="missing_email",
            next_step="Ask the user which email address to register with and pass it as email.",
        )
    await require_approval(
        approver,
        build_consent_request(
            discovery,
            audience=None,
            operation=operation,
            flow="verified_email",
            email=email,
            requested_credential_type=credential_type,
        ),
    )

    async def payload(attempt: int) -> dict[str, Any]:
        return {
            "type": "identity_assertion",
            "assertion_type": "verified_email",
            "assertion": email,
            "requested_credential_type": credential_type,
        }

    endpoint = "agent registration"
    reply = await _post_with_retries(
        discovery.agent_auth.register_uri,
        payload,
        endpoint=endpoint,
        settings=settings,
        client=client,
        policy=policy,
        error=RegistrationRejectedError,
        resendable=True,
        remintable=False,
    )
    data = _reply_object(reply, endpoint)
    claim_token = Secret(_require_text(data, "claim_token", endpoint))
    registration_id = _require_text(data, "registration_id", endpoint)
    assert discovery.agent_auth.claim_uri is not None  # checked by _require_flow
    pending = PendingClaim.create(
        claim_token,
        registration_id=registration_id,
        flow="verified_email",
        resource=discovery.prm.resource,
        claim_uri=discovery.agent_auth.claim_uri,
        status="initiated",
        claim_token_expires=_optional_text(data.get("claim_token_expires")),
        post_claim_scopes=_string_list(data.get("post_claim_scopes")),
        requested_credential_type=credential_type,
        email=email,
    )
    logger.info("Registration %s waits for the one-time code sent by email", registration_id)

    # The code is asked for in a later call (complete_claim). Asking here, after the
    # registration was sent, would register again when an approver replays this call.
    return RegistrationResult.claim_pending(
        pending, registration_type=_optional_text(data.get("registration_type"))
    )


async def start_claim(
    discovery: Discovery,
    pending: PendingClaim,
    *,
    email: str,
    settings: Settings,
    approver: Approver,
    client: httpx.AsyncClient | None = None,
    retry: RetryPolicy | None = None,
    operation: str = "insforge_claim",
) -> PendingClaim:
    """Start claiming an anonymous registration: the service emails ``email`` a link.

    Asks the approver for consent first, because the user's email leaves the process.
    """
    if pending.flow != "anonymous":
        raise ConfigurationError(
            "Only anonymous registrations are claimed with an email; a verified-email registration "
            "needs only the one-time code.",
            next_step="Call insforge_claim without an email.",
        )
    if not email or "@" not in email:
        raise ConfigurationError(
            f"Claiming needs the user's email address, not {email!r}.",
            code="missing_email",
            next_step="Ask the user which email address should own the key.",
        )
    _raise_if_expired(pending)
    await require_approval(
        approver,
        build_consent_request(discovery, audience=None, operation=operation, flow="claim", email=email),
    )

    async def payload(attempt: int) -> dict[str, Any]:
        return {"claim_token": pending.claim_token.reveal(), "email": email}

    await _post_with_retries(
        pending.claim_uri,
        payload,
        endpoint="claim",
        settings=settings,
        client=client,
        policy=retry or RetryPolicy(),
        error=ClaimError,
        resendable=True,
        remintable=False,
    )
    pending.status = "initiated"
    pending.email = email
    logger.info("Claim of registration %s started; the service emailed the user", pending.registration_id)
    return pending


def _raise_if_expired(pending: PendingClaim) -> None:
    if pending.expired():
        raise ClaimError(
            f"The claim token of registration {pending.registration_id} "
            f"expired at {pending.claim_token_expires}.",
            code="claim_expired",
            next_step=ERROR_CATALOGUE["claim_expired"].next_step,
        )


async def complete_claim(
    discovery: Discovery,
    pending: PendingClaim,
    *,
    settings: Settings,
    store: CredentialStore,
    approver: Approver,
    client: httpx.AsyncClient | None = None,
    retry: RetryPolicy | None = None,
    operation: str = "insforge_claim",
) -> RegistrationResult:
    """Redeem the one-time code the human reads from the service's email page.

    The approver is asked once, with kind ``claim_code``, before anything is
    sent, and must return the code as its ``value``. The code is then POSTed to
    ``<claim_uri>/complete``. A verified-email registration yields its
    credential, which is stored; an anonymous one keeps its key with the
    post-claim scopes. A rejected code raises :class:`ClaimError` and leaves
    ``pending`` usable for another attempt.

    Raises:
        ConfigurationError: ``pending`` is an anonymous registration whose claim
            was never started (:func:`start_claim`).
        ApprovalError: the human gave no code.
        ClaimError: the service rejected the code (for example ``otp_invalid``,
            or ``otp_not_generated`` before the user opened the email's link).
    """
    if pending.flow == "anonymous" and pending.status != "initiated":
        raise ConfigurationError(
            f"The claim of anonymous registration {pending.registration_id} has not been started, "
            "so no email with a one-time code exists.",
            code="claim_not_started",
            next_step="Call insforge_claim with the user's email address first.",
        )
    _raise_if_expired(pending)
    complete_uri = pending.claim_uri.rstrip("/") + "/complete"

    decision = await require_approval(
        approver,
        build_claim_code_request(
            discovery, registration_id=pending.registration_id, email=pending.email, operation=operation
        ),
    )
    code = (decision.value or "").strip()
    if not code:
        raise ApprovalError(
            "The approver approved the claim but gave no one-time code.",
            code="missing_code",
            next_step="Ask the user for the code shown on the page the service's email links to.",
        )

    async def payload(attempt: int) -> dict[str, Any]:
        return {"claim_token": pending.claim_token.reveal(), "otp": code}

    endpoint = "claim completion"
    reply = await _post_with_retries(
        complete_uri,
        payload,
        endpoint=endpoint,
        settings=settings,
        client=client,
        policy=retry or RetryPolicy(),
        error=ClaimError,
        resendable=True,
        remintable=False,
    )
    data = _reply_object(reply, endpoint)
    registration_id = _optional_text(data.get("registration_id")) or pending.registration_id

    credential_text = _optional_text(data.get("credential"))
    if credential_text is not None:
        credential = Secret(credential_text)
        credential_type = _optional_text(data.get("credential_type")) or pending.requested_credential_type
        expires = _optional_text(data.get("credential_expires"))
        scopes = _string_list(data.get("scopes")) or pending.post_claim_scopes
        stored = _store_credential(
            store,
            credential,
            kind=_credential_kind("verified_email", credential_type),
            scope=pending.resource,
            registration_id=registration_id,
            expires=expires,
            scopes=scopes,
        )
        return RegistrationResult(
            status="claimed",
            registration_id=registration_id,
            registration_type="email-verification",
            credential_type=credential_type,
            credential_masked=credential.masked,
            credential_expires=expires,
            scopes=scopes,
            stored_as=stored,
        )

    # An anonymous key keeps its value and gains the post-claim scopes. It now acts for
    # a verified user, so it is also stored as that user's key, where insforge_login
    # looks for it. The anonymous entry stays, with the new scopes.
    kept = pending.stored_as
    stored_as = kept
    masked = None
    if kept is not None:
        existing = store.get(kept.kind, kept.scope)
        record = store.record(kept.kind, kept.scope)
        if existing is not None and record is not None:
            record.scopes = list(pending.post_claim_scopes) or record.scopes
            store.put(existing, record)
            masked = existing.masked
            stored_as = _store_credential(
                store,
                existing,
                kind=_credential_kind("verified_email", pending.requested_credential_type),
                scope=kept.scope,
                registration_id=registration_id,
                expires=record.expires_at,
                scopes=record.scopes,
            )
    return RegistrationResult(
        status="claimed",
        registration_id=registration_id,
        registration_type="anonymous",
        credential_type=pending.requested_credential_type,
        credential_masked=masked,
        scopes=list(pending.post_claim_scopes),
        stored_as=stored_as,
    )
