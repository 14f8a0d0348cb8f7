"""Registration: flows, error bodies, retries, re-minting, consent, and what reaches the logs."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import jwt
import pytest
from protocol_fakes import (
    BASE,
    FakeService,
    LoopbackState,
    SigningKey,
    json_response,
    reference_as,
    reference_service,
)

from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, CallbackApprover
from insforge_tools.credentials import CredentialStore
from insforge_tools.errors import (
    ApprovalError,
    AssertionCheckError,
    ConfigurationError,
    RateLimitError,
    RegistrationError,
    ServerError,
)
from insforge_tools.protocol import (
    ERROR_CATALOGUE,
    ClaimError,
    Discovery,
    PendingClaim,
    RegistrationRejectedError,
    RegistrationResult,
    RetryPolicy,
    UnsupportedFlowError,
    complete_claim,
    discover,
    register,
    start_claim,
)
from insforge_tools.secrets import Secret
from insforge_tools.settings import Settings

REGISTER = f"{BASE}/agent/auth"
CLAIM = f"{BASE}/agent/auth/claim"
COMPLETE = f"{BASE}/agent/auth/claim/complete"
RESOURCE = f"{BASE}/api/"

SUCCESS = {
    "registration_id": "reg_e40723e7a4a42e7d9cf9d2",
    "registration_type": "agent-provider",
    "credential_type": "api_key",
    "credential": "uak_9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "credential_expires": None,
    "scopes": ["api.read", "api.write"],
}


class Approvals:
    """An approver that records every request and decides from fixed settings."""

    def __init__(self, *, consent: bool = True, code: str | None = "123456") -> None:
        self.requests: list[ApprovalRequest] = []
        self.consent = consent
        self.code = code
        self.approver = CallbackApprover(self.decide)

    def decide(self, request: ApprovalRequest) -> ApprovalDecision:
        self.requests.append(request)
        if request.kind == "claim_code":
            return ApprovalDecision(approved=self.code is not None, value=self.code, reason="no code yet")
        return ApprovalDecision(approved=self.consent, reason="the user said no")

    def kinds(self) -> list[str]:
        return [request.kind for request in self.requests]


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def policy(sleeps: Sleeps, **options: Any) -> RetryPolicy:
    return RetryPolicy(sleep=sleeps, jitter=lambda: 0.5, **options)


async def reference_discovery(service: FakeService, settings: Settings) -> Discovery:
    async with service.client() as client:
        return await discover(RESOURCE, settings=settings, client=client)


async def run_register(
    service: FakeService,
    settings: Settings,
    store: CredentialStore,
    *,
    approvals: Approvals | None = None,
    retry: RetryPolicy | None = None,
    **options: Any,
) -> Any:
    discovery = await reference_discovery(service, settings)
    async with service.client() as client:
        return await register(
            discovery,
            settings=settings,
            store=store,
            approver=(approvals or Approvals()).approver,
            client=client,
            retry=retry or policy(Sleeps()),
            **options,
        )


def issuer_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"audience_policy": "issuer", "expected_assertion_issuer": None})


def jti_of(body: dict[str, Any]) -> str:
    return jwt.decode(body["assertion"], options={"verify_signature": False})["jti"]


def error_body(code: str, text: str, *, shape: str = "message") -> dict[str, str]:
    return {"error": code, shape: text}


# --- identity_assertion -----------------------------------------------------------------------


async def test_assertion_flow_stores_key(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(SUCCESS))
    approvals = Approvals()
    result = await run_register(
        service, settings, store, approvals=approvals, assertion_provider=signing_key.minter()
    )

    body = service.posts(REGISTER)[0]
    assert body["type"] == "identity_assertion"
    assert body["assertion_type"] == "urn:ietf:params:oauth:token-type:id-jag"
    assert body["requested_credential_type"] == "api_key"
    claims = jwt.decode(body["assertion"], options={"verify_signature": False})
    assert claims["aud"] == RESOURCE
    assert claims["resource"] == RESOURCE

    assert approvals.kinds() == ["consent"]
    details = approvals.requests[0].details
    assert details["audience"] == RESOURCE
    assert details["register_host"] == "127.0.0.1:8000"
    assert details["service_name"] == "Agent Auth Consumer"
    assert details["scopes"] == ["api.read", "api.write"]
    assert details["logo_uri"] == f"{BASE}/logo.png"

    assert result.status == "registered"
    assert result.stored_as.kind == "user_api_key"
    assert result.stored_as.scope == RESOURCE
    assert result.credential_masked == "uak_…b1a0"
    stored = store.get("user_api_key", RESOURCE)
    assert stored is not None
    assert stored.reveal() == SUCCESS["credential"]
    assert SUCCESS["credential"] not in result.model_dump_json()


async def test_access_token_kind(settings: Settings, store: CredentialStore, signing_key: SigningKey) -> None:
    service = reference_service()
    reply = dict(SUCCESS, credential_type="access_token", credential="at_cavAprm1c-5frFskDRU4e2A63N97yFfD")
    reply["credential_expires"] = "2026-12-04T20:30:43.278Z"
    service.add("POST", REGISTER, json_response(reply))
    result = await run_register(
        service,
        settings,
        store,
        assertion_provider=signing_key.minter(),
        requested_credential_type="access_token",
    )
    assert result.stored_as.kind == "access_token"
    record = store.record("access_token", RESOURCE)
    assert record.expires_at == "2026-12-04T20:30:43.278Z"
    assert record.registration_id == "reg_e40723e7a4a42e7d9cf9d2"


async def test_issuer_audience_policy(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(SUCCESS))
    await run_register(service, issuer_settings(settings), store, assertion_provider=signing_key.minter())
    claims = jwt.decode(service.posts(REGISTER)[0]["assertion"], options={"verify_signature": False})
    assert claims["aud"] == BASE


async def test_consent_denied_sends_nothing(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(SUCCESS))
    minted: list[str] = []

    async def provider(*, audience: str, resource: str) -> Secret:
        minted.append(audience)
        return await signing_key.minter()(audience=audience, resource=resource)

    with pytest.raises(ApprovalError) as caught:
        await run_register(
            service, settings, store, approvals=Approvals(consent=False), assertion_provider=provider
        )
    assert "the user said no" in caught.value.message
    assert minted == []
    assert service.posts(REGISTER) == []
    assert store.get("user_api_key", RESOURCE) is None


async def test_no_provider_no_consent(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    approvals = Approvals()
    with pytest.raises(ConfigurationError) as caught:
        await run_register(service, settings, store, approvals=approvals)
    assert caught.value.code == "no_assertion_provider"
    assert approvals.requests == []


async def test_preflight_failure_sends_nothing(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(SUCCESS))

    async def wrong_audience(*, audience: str, resource: str) -> Secret:
        return signing_key.minter().mint(audience=audience + "x")

    with pytest.raises(AssertionCheckError) as caught:
        await run_register(service, settings, store, assertion_provider=wrong_audience)
    assert caught.value.details["claim"] == "aud"
    assert service.posts(REGISTER) == []


async def test_expected_issuer_enforced(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(SUCCESS))
    strict = settings.model_copy(update={"expected_assertion_issuer": "https://auth.workos.invalid"})
    with pytest.raises(AssertionCheckError) as caught:
        await run_register(service, strict, store, assertion_provider=signing_key.minter())
    assert caught.value.details["claim"] == "iss"
    assert service.posts(REGISTER) == []


# --- Error bodies -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["message", "error_description"])
async def test_error_body_shapes(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, shape: str
) -> None:
    service = reference_service()
    text = "Issuer http://127.0.0.1:4001 is not in the trusted providers list."
    service.add("POST", REGISTER, json_response(error_body("invalid_issuer", text, shape=shape), status=400))
    with pytest.raises(RegistrationRejectedError) as caught:
        await run_register(service, settings, store, assertion_provider=signing_key.minter())
    assert caught.value.code == "invalid_issuer"
    assert caught.value.status == 400
    assert text in caught.value.message
    assert caught.value.next_step == ERROR_CATALOGUE["invalid_issuer"].next_step
    assert len(service.posts(REGISTER)) == 1


async def test_non_json_error_body(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add(
        "POST",
        REGISTER,
        httpx.Response(
            404, text="<html>Cannot POST /agent/auth</html>", headers={"content-type": "text/html"}
        ),
    )
    with pytest.raises(RegistrationRejectedError) as caught:
        await run_register(service, settings, store, assertion_provider=signing_key.minter())
    assert caught.value.code == "unexpected_response"
    assert "text/html" in caught.value.message
    assert len(service.posts(REGISTER)) == 1


async def test_unknown_code_final(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response({"error": "brand_new_code", "message": "New."}, status=403))
    with pytest.raises(RegistrationRejectedError) as caught:
        await run_register(service, settings, store, assertion_provider=signing_key.minter())
    assert caught.value.code == "brand_new_code"
    assert "not documented" in caught.value.next_step
    assert len(service.posts(REGISTER)) == 1


@pytest.mark.parametrize(
    "code",
    [
        "invalid_request",
        "invalid_issuer",
        "invalid_signature",
        "missing_verified_email",
        "invalid_audience",
        "audience_mismatch",
        "issuer_not_enabled",
        "anonymous_not_enabled",
        "verified_email_not_enabled",
        "unsupported_credential_type",
        "rate_limited",
        "invalid_client_id",
        "insufficient_user_authentication",
    ],
)
async def test_catalogue_codes_final(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, code: str
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response({"error": code, "error_description": "d"}, status=400))
    with pytest.raises(RegistrationRejectedError) as caught:
        await run_register(service, settings, store, assertion_provider=signing_key.minter())
    assert caught.value.code == code
    assert caught.value.next_step == ERROR_CATALOGUE[code].next_step
    assert len(service.posts(REGISTER)) == 1


def test_catalogue_complete() -> None:
    emitted = {
        "invalid_request",
        "invalid_issuer",
        "invalid_signature",
        "expired",
        "replay_detected",
        "missing_verified_email",
        "invalid_audience",
        "internal_error",
        "invalid_claim_token",
        "claimed_or_in_flight",
        "claim_expired",
        "claim_superseded",
        "claim_completed",
        "previously_claimed",
        "otp_not_generated",
        "otp_expired",
        "otp_invalid",
        "unauthorized",
        "unknown_user",
        "consent_required",
    }
    documented_only = {
        "audience_mismatch",
        "credential_expired",
        "issuer_not_enabled",
        "anonymous_not_enabled",
        "verified_email_not_enabled",
        "unsupported_credential_type",
        "rate_limited",
        "invalid_client_id",
        "insufficient_user_authentication",
    }
    assert emitted | documented_only <= set(ERROR_CATALOGUE)
    assert all(advice.next_step for advice in ERROR_CATALOGUE.values())


# --- Retries ----------------------------------------------------------------------------------


async def test_429_retry_after(settings: Settings, store: CredentialStore, signing_key: SigningKey) -> None:
    service = reference_service()
    service.add(
        "POST",
        REGISTER,
        [
            json_response(
                {"error": "rate_limited", "message": "Slow down."}, status=429, headers={"Retry-After": "2"}
            ),
            json_response(SUCCESS),
        ],
    )
    sleeps = Sleeps()
    result = await run_register(
        service, settings, store, assertion_provider=signing_key.minter(), retry=policy(sleeps)
    )
    assert result.status == "registered"
    assert sleeps.delays == [2.0]
    bodies = service.posts(REGISTER)
    assert len(bodies) == 2
    assert jti_of(bodies[0]) != jti_of(bodies[1])


async def test_retry_after_too_long(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add(
        "POST",
        REGISTER,
        json_response({"error": "rate_limited"}, status=429, headers={"Retry-After": "3600"}),
    )
    sleeps = Sleeps()
    with pytest.raises(RateLimitError) as caught:
        await run_register(
            service, settings, store, assertion_provider=signing_key.minter(), retry=policy(sleeps)
        )
    assert "3600" in caught.value.next_step
    assert sleeps.delays == []
    assert len(service.posts(REGISTER)) == 1


async def test_5xx_backoff_capped(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add(
        "POST",
        REGISTER,
        json_response({"error": "internal_error", "message": "An unexpected error occurred."}, 500),
    )
    sleeps = Sleeps()
    retry = policy(sleeps, max_attempts=5, base_delay=1.0, max_delay=3.0)
    with pytest.raises(ServerError) as caught:
        await run_register(service, settings, store, assertion_provider=signing_key.minter(), retry=retry)
    assert caught.value.status == 500
    assert caught.value.retryable is True
    # Full jitter at 0.5 of min(3, 1 * 2**n): 0.5, 1.0, 1.5, 1.5.
    assert sleeps.delays == [0.5, 1.0, 1.5, 1.5]
    bodies = service.posts(REGISTER)
    assert len(bodies) == 5
    assert len({jti_of(body) for body in bodies}) == 5


async def test_5xx_then_success(settings: Settings, store: CredentialStore, signing_key: SigningKey) -> None:
    service = reference_service()
    service.add("POST", REGISTER, [httpx.Response(503, text="unavailable"), json_response(SUCCESS)])
    result = await run_register(service, settings, store, assertion_provider=signing_key.minter())
    assert result.registration_id == SUCCESS["registration_id"]
    assert len(service.posts(REGISTER)) == 2


async def test_replay_remints_once(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    replay = json_response({"error": "replay_detected", "message": "jti x seen before."}, status=400)
    service.add("POST", REGISTER, [replay, json_response(SUCCESS)])
    result = await run_register(service, settings, store, assertion_provider=signing_key.minter())
    assert result.status == "registered"
    bodies = service.posts(REGISTER)
    assert len(bodies) == 2
    assert jti_of(bodies[0]) != jti_of(bodies[1])
    assert bodies[0]["assertion"] != bodies[1]["assertion"]


async def test_replay_twice_final(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response({"error": "replay_detected", "message": "seen"}, status=400))
    with pytest.raises(RegistrationRejectedError) as caught:
        await run_register(service, settings, store, assertion_provider=signing_key.minter())
    assert caught.value.code == "replay_detected"
    assert len(service.posts(REGISTER)) == 2


async def test_expired_remints(settings: Settings, store: CredentialStore, signing_key: SigningKey) -> None:
    service = reference_service()
    expired = json_response({"error": "expired", "message": '"exp" claim timestamp check failed'}, status=400)
    service.add("POST", REGISTER, [expired, json_response(SUCCESS)])
    result = await run_register(service, settings, store, assertion_provider=signing_key.minter())
    assert result.status == "registered"
    assert len(service.posts(REGISTER)) == 2


async def test_expired_wrong_aud_hint(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add(
        "POST", REGISTER, json_response({"error": "expired", "message": 'unexpected "aud" claim value'}, 400)
    )
    with pytest.raises(RegistrationRejectedError) as caught:
        await run_register(service, settings, store, assertion_provider=signing_key.minter())
    assert len(service.posts(REGISTER)) == 1
    assert "audience_policy" in caught.value.message
    assert f"{BASE}'" in caught.value.message


async def test_external_assertion_not_resent(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response({"error": "replay_detected", "message": "seen"}, status=400))
    token = signing_key.minter().mint(audience=RESOURCE, resource=RESOURCE)
    with pytest.raises(RegistrationRejectedError) as caught:
        await run_register(service, settings, store, assertion=token)
    assert "came from outside" in caught.value.message
    assert len(service.posts(REGISTER)) == 1


async def test_external_assertion_no_5xx_retry(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, httpx.Response(503, json={"error": "internal_error"}))
    token = signing_key.minter().mint(audience=RESOURCE)
    sleeps = Sleeps()
    with pytest.raises(RegistrationError):
        await run_register(service, settings, store, assertion=token, retry=policy(sleeps))
    assert len(service.posts(REGISTER)) == 1
    assert sleeps.delays == []


async def test_external_assertion_success(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(SUCCESS))
    token = signing_key.minter().mint(audience=RESOURCE)
    result = await run_register(service, settings, store, assertion=token)
    assert result.status == "registered"
    assert service.posts(REGISTER)[0]["assertion"] == token.reveal()


# --- Flow selection ---------------------------------------------------------------------------


async def test_flow_not_advertised(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    metadata = reference_as()
    metadata["agent_auth"]["identity_types_supported"] = ["identity_assertion"]
    service.add("GET", f"{BASE}/.well-known/oauth-authorization-server", json_response(metadata))
    with pytest.raises(UnsupportedFlowError) as caught:
        await run_register(service, settings, store, flow="anonymous")
    assert "identity_types_supported" in caught.value.message
    assert "identity_assertion" in caught.value.next_step


async def test_credential_type_not_advertised(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    with pytest.raises(UnsupportedFlowError) as caught:
        await run_register(
            service, settings, store, flow="anonymous", requested_credential_type="access_token"
        )
    assert caught.value.code == "unsupported_credential_type"
    assert "api_key" in caught.value.next_step


# --- verified_email and anonymous -------------------------------------------------------------

EMAIL_REGISTERED = {
    "registration_id": "reg_QGuMR6rwF-nm4-AcY_aeug",
    "registration_type": "email-verification",
    "claim_url": CLAIM,
    "claim_token": "clm_Zq3x9YwVb2Lk8Rt5Pm1Nc7",
    "claim_token_expires": "2999-12-05T19:30:43.500Z",
    "post_claim_scopes": ["api.read", "api.write"],
}
EMAIL_CLAIMED = {
    "registration_id": "reg_QGuMR6rwF-nm4-AcY_aeug",
    "status": "claimed",
    "credential_type": "access_token",
    "credential": "at_Vf2hK9sLq3mW8xZp1cR7tY5uB4nE6gJd",
    "credential_expires": "2999-12-04T20:30:43.278Z",
    "scopes": ["api.read", "api.write"],
}


async def complete_with(
    service: FakeService,
    settings: Settings,
    store: CredentialStore,
    pending: PendingClaim,
    approvals: Approvals,
) -> RegistrationResult:
    discovery = await reference_discovery(service, settings)
    async with service.client() as client:
        return await complete_claim(
            discovery, pending, settings=settings, store=store, approver=approvals.approver, client=client
        )


async def test_verified_email_flow(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(EMAIL_REGISTERED))
    service.add("POST", COMPLETE, json_response(EMAIL_CLAIMED))
    approvals = Approvals(code="886100")
    result = await run_register(
        service,
        settings,
        store,
        approvals=approvals,
        flow="verified_email",
        email="erin@example.com",
        requested_credential_type="access_token",
    )
    assert service.posts(REGISTER)[0] == {
        "type": "identity_assertion",
        "assertion_type": "verified_email",
        "assertion": "erin@example.com",
        "requested_credential_type": "access_token",
    }
    assert approvals.kinds() == ["consent"]
    assert approvals.requests[0].details["email"] == "erin@example.com"
    assert result.status == "claim_pending"
    assert result.stored_as is None
    assert service.posts(COMPLETE) == []
    assert store.get("access_token", RESOURCE) is None

    pending = result.pending_claim
    assert pending is not None
    claimed = await complete_with(service, settings, store, pending, approvals)

    assert service.posts(COMPLETE)[0] == {"claim_token": EMAIL_REGISTERED["claim_token"], "otp": "886100"}
    assert approvals.kinds() == ["consent", "claim_code"]
    assert approvals.requests[1].details["registration_id"] == EMAIL_REGISTERED["registration_id"]
    assert claimed.status == "claimed"
    assert claimed.stored_as.kind == "access_token"
    assert store.get("access_token", RESOURCE).reveal() == EMAIL_CLAIMED["credential"]


async def test_verified_email_pending(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(EMAIL_REGISTERED))
    result = await run_register(
        service, settings, store, flow="verified_email", email="erin.smith@example.com"
    )
    assert result.status == "claim_pending"
    assert result.registration_type == "email-verification"
    assert result.pending_claim is not None
    assert result.pending_claim.claim_token.reveal() == EMAIL_REGISTERED["claim_token"]
    dumped = result.model_dump_json()
    assert EMAIL_REGISTERED["claim_token"] not in dumped
    assert "insforge_claim" in result.next_step
    assert "e…@example.com" in result.next_step
    assert "erin.smith" not in result.next_step
    assert RESOURCE in result.next_step


async def test_code_denied_sends_nothing(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(EMAIL_REGISTERED))
    service.add("POST", COMPLETE, json_response(EMAIL_CLAIMED))
    result = await run_register(service, settings, store, flow="verified_email", email="erin@example.com")

    with pytest.raises(ApprovalError):
        await complete_with(service, settings, store, result.pending_claim, Approvals(code=None))
    assert service.posts(COMPLETE) == []

    claimed = await complete_with(service, settings, store, result.pending_claim, Approvals())
    assert claimed.status == "claimed"


async def test_verified_email_needs_email(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    with pytest.raises(ConfigurationError) as caught:
        await run_register(service, settings, store, flow="verified_email")
    assert caught.value.code == "missing_email"


async def test_wrong_otp_error(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(EMAIL_REGISTERED))
    wrong = json_response(
        {"error": "otp_invalid", "message": "The provided OTP does not match the claim attempt."}, 401
    )
    service.add("POST", COMPLETE, [wrong, json_response(EMAIL_CLAIMED)])
    result = await run_register(service, settings, store, flow="verified_email", email="erin@example.com")

    with pytest.raises(ClaimError) as caught:
        await complete_with(service, settings, store, result.pending_claim, Approvals(code="000000"))
    assert caught.value.code == "otp_invalid"
    assert caught.value.status == 401
    assert len(service.posts(COMPLETE)) == 1

    # The pending claim stays usable for the right code.
    claimed = await complete_with(service, settings, store, result.pending_claim, Approvals(code="886100"))
    assert claimed.status == "claimed"
    assert service.posts(COMPLETE)[1]["otp"] == "886100"


async def test_otp_not_generated(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(EMAIL_REGISTERED))
    not_yet = {"error": "otp_not_generated", "message": "No OTP has been generated for this claim."}
    service.add("POST", COMPLETE, json_response(not_yet, 400))
    result = await run_register(service, settings, store, flow="verified_email", email="erin@example.com")

    with pytest.raises(ClaimError) as caught:
        await complete_with(service, settings, store, result.pending_claim, Approvals())
    assert caught.value.code == "otp_not_generated"
    assert "open the link" in caught.value.next_step


class Paused(Exception):  # noqa: N818 - named after what LangGraph's interrupt() does
    """Raised by :class:`PausingApprover` where a framework would pause for the human."""


class PausingApprover:
    """Pauses at every new question, then answers it when the call is run again, as LangGraph does."""

    def __init__(self, code: str = "886100") -> None:
        self.code = code
        self.asked: list[str] = []
        self.answered: set[str] = set()

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        key = f"{request.kind}:{request.summary}"
        self.asked.append(request.kind)
        if key not in self.answered:
            self.answered.add(key)
            raise Paused(request.kind)
        return ApprovalDecision(approved=True, value=self.code if request.kind == "claim_code" else None)


async def test_replayed_calls_send_once(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(EMAIL_REGISTERED))
    service.add("POST", COMPLETE, json_response(EMAIL_CLAIMED))
    approver = PausingApprover()
    discovery = await reference_discovery(service, settings)

    async def register_by_email() -> RegistrationResult:
        async with service.client() as client:
            return await register(
                discovery,
                settings=settings,
                store=store,
                approver=approver,
                client=client,
                flow="verified_email",
                email="erin@example.com",
            )

    with pytest.raises(Paused):
        await register_by_email()
    assert service.posts(REGISTER) == []
    result = await register_by_email()
    assert result.status == "claim_pending"

    async def complete() -> RegistrationResult:
        async with service.client() as client:
            return await complete_claim(
                discovery,
                result.pending_claim,
                settings=settings,
                store=store,
                approver=approver,
                client=client,
            )

    with pytest.raises(Paused):
        await complete()
    assert service.posts(COMPLETE) == []
    claimed = await complete()

    assert claimed.status == "claimed"
    assert approver.asked == ["consent", "consent", "claim_code", "claim_code"]
    assert len(service.posts(REGISTER)) == 1
    assert len(service.posts(COMPLETE)) == 1


ANONYMOUS = {
    "registration_id": "reg_o35udU8usZLine_a3HZ2Dg",
    "registration_type": "anonymous",
    "credential_type": "api_key",
    "credential": "sk_test_Xy7Kp2Qw9Lm4Nv8Bc3Rt6Hs1Dg5",
    "credential_expires": None,
    "scopes": ["api.read"],
    "claim_url": CLAIM,
    "claim_token": "clm_Ab4Cd8Ef2Gh6Ij0Kl3Mn7Op",
    "claim_token_expires": "2999-12-05T19:30:43.500Z",
    "post_claim_scopes": ["api.read", "api.write"],
}


async def test_anonymous_then_claim(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(ANONYMOUS))
    service.add(
        "POST",
        CLAIM,
        json_response(
            {
                "registration_id": ANONYMOUS["registration_id"],
                "claim_attempt_id": "cla_1",
                "status": "initiated",
            }
        ),
    )
    service.add(
        "POST",
        COMPLETE,
        json_response({"registration_id": ANONYMOUS["registration_id"], "status": "claimed"}),
    )
    approvals = Approvals(code="868631")
    result = await run_register(service, settings, store, approvals=approvals, flow="anonymous")

    assert service.posts(REGISTER)[0] == {"type": "anonymous", "requested_credential_type": "api_key"}
    assert approvals.requests == []
    assert result.stored_as.kind == "anonymous_api_key"
    assert store.record("anonymous_api_key", RESOURCE).scopes == ["api.read"]
    pending = result.pending_claim
    assert pending is not None
    assert pending.flow == "anonymous"

    discovery = await reference_discovery(service, settings)
    async with service.client() as client:
        await start_claim(
            discovery,
            pending,
            email="dana@example.com",
            settings=settings,
            approver=approvals.approver,
            client=client,
        )
        claimed = await complete_claim(
            discovery, pending, settings=settings, store=store, approver=approvals.approver, client=client
        )
    assert service.posts(CLAIM)[0] == {"claim_token": ANONYMOUS["claim_token"], "email": "dana@example.com"}
    assert service.posts(COMPLETE)[0] == {"claim_token": ANONYMOUS["claim_token"], "otp": "868631"}
    assert approvals.kinds() == ["consent", "claim_code"]
    assert claimed.status == "claimed"
    assert store.record("anonymous_api_key", RESOURCE).scopes == ["api.read", "api.write"]
    assert store.get("anonymous_api_key", RESOURCE).reveal() == ANONYMOUS["credential"]


async def test_complete_before_start(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(ANONYMOUS))
    result = await run_register(service, settings, store, flow="anonymous")
    approvals = Approvals()

    with pytest.raises(ConfigurationError) as caught:
        await complete_with(service, settings, store, result.pending_claim, approvals)

    assert caught.value.code == "claim_not_started"
    assert approvals.requests == []
    assert service.posts(COMPLETE) == []


async def test_replayed_claim_start_sends_once(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(ANONYMOUS))
    service.add(
        "POST", CLAIM, json_response({"registration_id": ANONYMOUS["registration_id"], "status": "initiated"})
    )
    result = await run_register(service, settings, store, flow="anonymous")
    pending = result.pending_claim
    approver = PausingApprover()
    discovery = await reference_discovery(service, settings)

    async def start() -> PendingClaim:
        async with service.client() as client:
            return await start_claim(
                discovery,
                pending,
                email="dana@example.com",
                settings=settings,
                approver=approver,
                client=client,
            )

    with pytest.raises(Paused):
        await start()
    assert service.posts(CLAIM) == []
    assert pending.status == "registered"

    await start()

    assert approver.asked == ["consent", "consent"]
    assert len(service.posts(CLAIM)) == 1
    assert pending.status == "initiated"
    assert pending.email == "dana@example.com"


async def test_claim_expired_locally(settings: Settings, store: CredentialStore) -> None:
    service = reference_service()
    service.add("POST", REGISTER, json_response(dict(ANONYMOUS, claim_token_expires="2001-01-01T00:00:00Z")))
    result = await run_register(service, settings, store, flow="anonymous")
    discovery = await reference_discovery(service, settings)
    with pytest.raises(RegistrationError) as caught:
        await start_claim(
            discovery,
            result.pending_claim,
            email="dana@example.com",
            settings=settings,
            approver=Approvals().approver,
        )
    assert caught.value.code == "claim_expired"
    assert service.posts(CLAIM) == []


# --- Logs -------------------------------------------------------------------------------------


async def test_no_secret_in_logs(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    service = reference_service()
    replay = json_response({"error": "replay_detected", "message": "seen"}, status=400)
    service.add("POST", REGISTER, [replay, httpx.Response(503, text="busy"), json_response(SUCCESS)])
    await run_register(service, settings, store, assertion_provider=signing_key.minter())

    service.add("POST", REGISTER, json_response(EMAIL_REGISTERED))
    service.add("POST", COMPLETE, json_response(EMAIL_CLAIMED))
    pending = await run_register(service, settings, store, flow="verified_email", email="erin@example.com")
    await complete_with(service, settings, store, pending.pending_claim, Approvals())

    secrets = [SUCCESS["credential"], EMAIL_REGISTERED["claim_token"], EMAIL_CLAIMED["credential"], "123456"]
    secrets += [
        body.get("assertion", "") for body in service.posts(REGISTER) if body["type"] == "identity_assertion"
    ]
    secrets = [value for value in secrets if value and "@" not in value]
    assert len(secrets) >= 6
    messages = [record.getMessage() + (record.exc_text or "") for record in caplog.records]
    assert any("POST" in message for message in messages)
    for message in messages:
        for value in secrets:
            assert value not in message


# --- A real loopback service ------------------------------------------------------------------


async def test_loopback_assertion_replay(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    base = loopback_service.base
    discovery = await discover(f"{base}/api/", settings=settings)
    minter = signing_key.minter()
    first = await minter(audience=base, resource=f"{base}/api/")
    loopback_service.seen_jti.add(jwt.decode(first.reveal(), options={"verify_signature": False})["jti"])

    calls: list[str] = []

    async def provider(*, audience: str, resource: str) -> Secret:
        calls.append(audience)
        if len(calls) == 1:
            return first
        return await minter(audience=audience, resource=resource)

    result = await register(
        discovery,
        settings=issuer_settings(settings),
        store=store,
        approver=Approvals().approver,
        assertion_provider=provider,
    )
    assert result.status == "registered"
    assert calls == [base, base]
    assert len(loopback_service.registrations) == 1
    assert loopback_service.registrations[0]["aud"] == base
    assert (
        loopback_service.registrations[0]["jti"]
        != jwt.decode(first.reveal(), options={"verify_signature": False})["jti"]
    )
    assert store.get("user_api_key", f"{base}/api/").reveal().startswith("sk_test_")


async def test_loopback_wrong_audience(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    base = loopback_service.base
    discovery = await discover(f"{base}/api/", settings=settings)
    with pytest.raises(RegistrationRejectedError) as caught:
        await register(
            discovery,
            settings=settings,
            store=store,
            approver=Approvals().approver,
            assertion_provider=signing_key.minter(),
        )
    assert caught.value.code == "expired"
    assert "audience_policy to 'issuer'" in caught.value.message


async def test_loopback_claim_flows(
    settings: Settings, store: CredentialStore, loopback_service: LoopbackState
) -> None:
    base = loopback_service.base
    discovery = await discover(f"{base}/api/", settings=settings)
    approvals = Approvals(code=loopback_service.otp)

    anonymous = await register(
        discovery, settings=settings, store=store, approver=approvals.approver, flow="anonymous"
    )
    await start_claim(
        discovery,
        anonymous.pending_claim,
        email="dana@example.com",
        settings=settings,
        approver=approvals.approver,
    )
    claimed = await complete_claim(
        discovery, anonymous.pending_claim, settings=settings, store=store, approver=approvals.approver
    )
    assert claimed.status == "claimed"
    assert store.record("anonymous_api_key", f"{base}/api/").scopes == ["api.read", "api.write"]

    email = await register(
        discovery,
        settings=settings,
        store=store,
        approver=approvals.approver,
        flow="verified_email",
        email="erin@example.com",
        requested_credential_type="access_token",
    )
    assert email.status == "claim_pending"
    assert store.get("access_token", f"{base}/api/") is None

    claimed = await complete_claim(
        discovery, email.pending_claim, settings=settings, store=store, approver=approvals.approver
    )
    assert claimed.status == "claimed"
    assert store.get("access_token", f"{base}/api/").reveal().startswith("at_")


async def test_server_clock_rejection_names_clock(
    settings: Settings, store: CredentialStore, signing_key: SigningKey
) -> None:
    # A service whose clock runs behind this machine rejects iat as lying in the future.
    service = reference_service()
    too_early = json_response(
        {"error": "not_yet_valid", "error_description": "The assertion's iat lies in the future."}, status=400
    )
    service.add("POST", REGISTER, too_early)

    with pytest.raises(RegistrationRejectedError) as caught:
        await run_register(service, settings, store, assertion_provider=signing_key.minter())

    assert caught.value.code == "not_yet_valid"
    assert "clock" in caught.value.next_step
    bodies = service.posts(REGISTER)
    assert len(bodies) == 2
    assert jti_of(bodies[0]) != jti_of(bodies[1])
