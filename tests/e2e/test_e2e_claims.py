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

    pending = await invoke(
        ctx,
        "insforge_register",
        {"resource_url": sandbox.resource_url, "flow": "verified_email", "email": "ann@example.com"},
    )

    assert isinstance(pending, RegistrationResult)
    assert pending.status == "claim_pending"
    assert human.kinds == ["consent"]
    assert pending.stored_as is None
    assert read_mail(sandbox, pending.registration_id)["to"] == "ann@example.com"
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is None

    result = await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})

    assert result.status == "claimed"
    assert result.registration_id == pending.registration_id
    assert human.kinds == ["consent", "claim_code"]
    assert human.requests[1].details["registration_id"] == result.registration_id
    assert result.stored_as is not None
    assert result.stored_as.kind == "user_api_key"
    assert result.stored_as.scope == sandbox.resource_url
    assert pending_claims(ctx) == {}

    key = ctx.credentials.get("user_api_key", sandbox.resource_url)
    assert key is not None
    profile = await get_profile(sandbox, key.reveal())
    assert profile.status_code == 200
    assert profile.json()["user"]["email"] == "ann@example.com"

    claim_token = claim_token_of(sandbox, result.registration_id)
    store_text = ctx.settings.credentials_path.read_text(encoding="utf-8")
    assert claim_token not in store_text
    for text in texts_of(pending) + texts_of(result):
        assert claim_token not in text
        assert key.reveal() not in text


async def test_verified_email_pending_result(sandbox: Sandbox, make_context: ContextFactory) -> None:
    human = HumanApprover(sandbox)
    ctx = make_context(human)
    args = {"resource_url": sandbox.resource_url, "flow": "verified_email", "email": "bo@example.com"}

    pending = await invoke(ctx, "insforge_register", args)

    assert pending.status == "claim_pending"
    assert human.kinds == ["consent"]
    assert pending.next_step is not None
    assert "insforge_claim" in pending.next_step
    assert "b…@example.com" in pending.next_step
    assert sandbox.resource_url in pending.next_step
    assert sandbox.resource_url in pending_claims(ctx)
    claim_token = claim_token_of(sandbox, pending.registration_id)
    for text in texts_of(pending):
        assert claim_token not in text
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is None


async def test_claim_before_link_opened(sandbox: Sandbox, make_context: ContextFactory) -> None:
    # The human types something before opening the email's link: no code exists yet.
    async def too_early(request: ApprovalRequest) -> ApprovalDecision:
        return ApprovalDecision(approved=True, value="123456" if request.kind == "claim_code" else None)

    ctx = make_context(CallbackApprover(too_early))
    args = {"resource_url": sandbox.resource_url, "flow": "verified_email", "email": "di@example.com"}
    await invoke(ctx, "insforge_register", args)

    with pytest.raises(ClaimError) as caught:
        await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})

    assert caught.value.code == "otp_not_generated"
    assert "open the link" in caught.value.next_step
    assert "call insforge_claim again" in caught.value.next_step
    assert sandbox.resource_url in pending_claims(ctx)

    ctx.approver = HumanApprover(sandbox)
    claimed = await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})
    assert claimed.status == "claimed"


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
    assert "call insforge_claim again" in caught.value.next_step
    # A failed attempt keeps the claim, so the human can try again with the right code.
    assert sandbox.resource_url in pending_claims(ctx)

    ctx.approver = HumanApprover(sandbox)
    claimed = await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})
    assert claimed.status == "claimed"


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

    started = await invoke(
        ctx, "insforge_claim", {"resource_url": sandbox.resource_url, "email": "dee@example.com"}
    )

    assert started.status == "claim_pending"
    assert human.kinds == ["consent"]
    assert read_mail(sandbox, registered.registration_id)["to"] == "dee@example.com"
    assert started.next_step is not None
    assert "d…@example.com" in started.next_step
    record = ctx.credentials.record("anonymous_api_key", sandbox.resource_url)
    assert record is not None
    assert record.scopes == ["user:read", "projects:read"]

    claimed = await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})

    assert claimed.status == "claimed"
    assert human.kinds == ["consent", "claim_code"]
    assert pending_claims(ctx) == {}
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
    for text in texts_of(started) + texts_of(claimed):
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
    await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})

    login = await invoke(ctx, "insforge_login", {"resource_url": sandbox.resource_url})

    assert login.model_dump()["user"]["email"] == "eve@example.com"
