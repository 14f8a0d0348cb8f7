"""The verified_email and anonymous flows, with the claim ceremony, against the running sandbox."""

from __future__ import annotations

import pytest
from e2e_helpers import ContextFactory, HumanApprover, get_profile, open_claim_link, read_mail

from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, AutoApprover, CallbackApprover
from insforge_tools.errors import InvalidInputError, NotFoundError
from insforge_tools.operations.agent_auth import pending_claims
from insforge_tools.protocol.registration import ClaimError, RegistrationResult
from insforge_tools.registry import get_operation, invoke, render_result, to_json_text
from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox


def claim_token_of(sandbox: Sandbox, registration_id: str) -> str:
    with sandbox.platform_state.lock:
        token = sandbox.platform_state.registrations[registration_id].claim_token
    assert token is not None
    return token


def texts_of(result: RegistrationResult) -> list[str]:
    """Every form of a result that leaves the process: JSON, the model's text, the repr."""
    return [
        result.model_dump_json(),
        to_json_text(result),
        render_result(get_operation("insforge_register"), result, 4000),
        repr(result),
    ]


async def test_verified_email_claimed(sandbox: Sandbox, make_context: ContextFactory) -> None:
    human = HumanApprover(sandbox)
    ctx = make_context(human)

    result = await invoke(
        ctx,
        "insforge_register",
        {"resource_url": sandbox.resource_url, "flow": "verified_email", "email": "ann@example.com"},
    )

    assert isinstance(result, RegistrationResult)
    assert result.status == "claimed"
    assert human.kinds == ["consent", "claim_code"]
    assert human.requests[1].details["registration_id"] == result.registration_id
    assert result.stored_as is not None
    assert result.stored_as.kind == "user_api_key"
    assert result.stored_as.scope == sandbox.resource_url

    key = ctx.credentials.get("user_api_key", sandbox.resource_url)
    assert key is not None
    profile = await get_profile(sandbox, key.reveal())
    assert profile.status_code == 200
    assert profile.json()["user"]["email"] == "ann@example.com"

    claim_token = claim_token_of(sandbox, result.registration_id)
    store_text = ctx.settings.credentials_path.read_text(encoding="utf-8")
    assert claim_token not in store_text
    for text in texts_of(result):
        assert claim_token not in text
        assert key.reveal() not in text


async def test_verified_email_code_later(sandbox: Sandbox, make_context: ContextFactory) -> None:
    # The human has no code yet: the registration waits, and insforge_claim finishes it.
    async def no_code_yet(request: ApprovalRequest) -> ApprovalDecision:
        if request.kind == "claim_code":
            return ApprovalDecision(approved=False, reason="The user has not opened the email yet.")
        return ApprovalDecision(approved=True)

    ctx = make_context(CallbackApprover(no_code_yet))
    args = {"resource_url": sandbox.resource_url, "flow": "verified_email", "email": "bo@example.com"}

    pending = await invoke(ctx, "insforge_register", args)

    assert pending.status == "claim_pending"
    assert pending.stored_as is None
    assert pending.next_step is not None
    assert "insforge_claim" in pending.next_step
    assert "bo@example.com" in pending.next_step
    claim_token = claim_token_of(sandbox, pending.registration_id)
    for text in texts_of(pending):
        assert claim_token not in text
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is None

    ctx.approver = HumanApprover(sandbox)
    claimed = await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})

    assert claimed.status == "claimed"
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is not None
    assert pending_claims(ctx) == {}


async def test_verified_email_wrong_code(sandbox: Sandbox, make_context: ContextFactory) -> None:
    async def wrong_code(request: ApprovalRequest) -> ApprovalDecision:
        if request.kind == "claim_code":
            await open_claim_link(sandbox, str(request.details["registration_id"]))
            return ApprovalDecision(approved=True, value="000000x")
        return ApprovalDecision(approved=True)

    ctx = make_context(CallbackApprover(wrong_code))
    args = {"resource_url": sandbox.resource_url, "flow": "verified_email", "email": "cy@example.com"}
    pending = await invoke(ctx, "insforge_register", args)
    assert pending.status == "claim_pending"

    with pytest.raises(ClaimError) as caught:
        await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})

    assert caught.value.code == "otp_invalid"
    assert caught.value.status == 401
    assert "does not match" in caught.value.message
    assert caught.value.next_step
    # A failed attempt keeps the claim, so the human can try again with the right code.
    assert sandbox.resource_url in pending_claims(ctx)


async def test_anonymous_then_claim(sandbox: Sandbox, make_context: ContextFactory) -> None:
    human = HumanApprover(sandbox)
    ctx = make_context(human)

    registered = await invoke(
        ctx, "insforge_register", {"resource_url": sandbox.resource_url, "flow": "anonymous"}
    )

    assert registered.status == "registered"
    assert registered.stored_as is not None
    assert registered.stored_as.kind == "anonymous_api_key"
    assert registered.pending_claim is not None
    assert human.kinds == []  # no identity leaves the process, so no consent is asked
    key = ctx.credentials.get("anonymous_api_key", sandbox.resource_url)
    assert key is not None
    record = ctx.credentials.record("anonymous_api_key", sandbox.resource_url)
    assert record is not None
    assert record.scopes == ["user:read", "projects:read"]
    claim_token = claim_token_of(sandbox, registered.registration_id)
    for text in texts_of(registered):
        assert claim_token not in text
        assert key.reveal() not in text

    with pytest.raises(InvalidInputError) as missing:
        await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})
    assert missing.value.code == "missing_email"

    claimed = await invoke(
        ctx, "insforge_claim", {"resource_url": sandbox.resource_url, "email": "dee@example.com"}
    )

    assert claimed.status == "claimed"
    assert human.kinds == ["consent", "claim_code"]
    assert read_mail(sandbox, registered.registration_id)["to"] == "dee@example.com"
    full_scopes = ["user:read", "organizations:read", "projects:read", "projects:write"]
    record = ctx.credentials.record("anonymous_api_key", sandbox.resource_url)
    assert record is not None
    assert record.scopes == full_scopes
    # The claimed key is the user's key now, stored where insforge_login looks for it.
    assert claimed.stored_as is not None
    assert claimed.stored_as.kind == "user_api_key"
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) == key
    user_record = ctx.credentials.record("user_api_key", sandbox.resource_url)
    assert user_record is not None
    assert user_record.scopes == full_scopes
    profile = await get_profile(sandbox, key.reveal())
    assert profile.status_code == 200
    assert profile.json()["user"]["email"] == "dee@example.com"
    store_text = ctx.settings.credentials_path.read_text(encoding="utf-8")
    assert claim_token not in store_text
    for text in texts_of(claimed):
        assert claim_token not in text
        assert key.reveal() not in text


async def test_claim_without_registration(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context(AutoApprover())

    with pytest.raises(NotFoundError) as caught:
        await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})

    assert caught.value.code == "no_pending_claim"
    assert "insforge_register" in caught.value.next_step


async def test_claimed_key_logs_cli_in(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context(HumanApprover(sandbox))
    await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url, "flow": "anonymous"})
    await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url, "email": "eve@example.com"})

    login = await invoke(ctx, "insforge_login", {"resource_url": sandbox.resource_url})

    assert login.model_dump()["user"]["email"] == "eve@example.com"
