"""The insforge_discover, insforge_register and insforge_claim operations against a loopback service."""

from __future__ import annotations

import logging

import pytest
from protocol_fakes import LoopbackState, SigningKey

from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, CallbackApprover
from insforge_tools.context import Context
from insforge_tools.credentials import CredentialStore
from insforge_tools.errors import ApprovalError, ConfigurationError, InvalidInputError, NotFoundError
from insforge_tools.operations.agent_auth import DISCOVERY_CACHE_KEY, PENDING_CLAIMS_KEY, forget_discovery
from insforge_tools.protocol.registration import ClaimError
from insforge_tools.registry import get_operation, invoke, render_result
from insforge_tools.settings import Settings

NAMES = ("insforge_discover", "insforge_register", "insforge_claim")


def approver(code: str) -> CallbackApprover:
    def decide(request: ApprovalRequest) -> ApprovalDecision:
        return ApprovalDecision(approved=True, value=code if request.kind == "claim_code" else None)

    return CallbackApprover(decide)


def make_context(
    settings: Settings,
    store: CredentialStore,
    signing_key: SigningKey,
    state: LoopbackState,
    **options: object,
) -> Context:
    options.setdefault("approver", approver(state.otp))
    return Context(
        settings=settings.model_copy(update={"audience_policy": "issuer"}),
        store=store,
        assertion_provider=signing_key.minter(),
        **options,
    )


def test_flags_and_descriptions() -> None:
    discover = get_operation("insforge_discover")
    register = get_operation("insforge_register")
    claim = get_operation("insforge_claim")
    assert discover.read_only is True
    assert register.needs_consent is True
    assert claim.needs_consent is True
    # No argument can carry a credential, an assertion or a one-time code.
    assert set(discover.args_model.model_fields) == {"resource_url", "www_authenticate"}
    assert set(register.args_model.model_fields) == {
        "resource_url",
        "flow",
        "requested_credential_type",
        "email",
    }
    assert set(claim.args_model.model_fields) == {"resource_url", "email"}
    for op in (discover, register, claim):
        for name, field in op.args_model.model_fields.items():
            assert field.description, f"{op.name}.{name} has no description"


async def test_discover_summary(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    ctx = make_context(settings, store, signing_key, loopback_service)
    base = loopback_service.base
    result = await invoke(ctx, "insforge_discover", {"resource_url": f"{base}/api/"})
    text = render_result(get_operation("insforge_discover"), result, 2000)
    assert "Agent Auth Consumer" in text
    assert f"{base}/agent/auth" in text
    assert "identity_assertion (access_token, api_key)" in text
    assert "anonymous (api_key)" in text
    assert "api.read, api.write" in text
    assert len(ctx.state[DISCOVERY_CACHE_KEY]) == 1


async def test_register_identity(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    ctx = make_context(settings, store, signing_key, loopback_service)
    base = loopback_service.base
    await invoke(ctx, "insforge_discover", {"resource_url": f"{base}/api/"})
    result = await invoke(ctx, "insforge_register", {"resource_url": f"{base}/api/"})
    text = render_result(get_operation("insforge_register"), result, 2000)
    stored = store.get("user_api_key", f"{base}/api/")
    assert stored is not None
    assert stored.reveal() not in text
    assert "user_api_key" in text
    assert "Status: registered" in text
    assert len(loopback_service.registrations) == 1


async def test_register_denied(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    ctx = make_context(
        settings, store, signing_key, loopback_service, approver=CallbackApprover(lambda request: False)
    )
    with pytest.raises(ApprovalError):
        await invoke(ctx, "insforge_register", {"resource_url": f"{loopback_service.base}/api/"})
    assert loopback_service.registrations == []


async def test_anonymous_claim(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    ctx = make_context(settings, store, signing_key, loopback_service)
    resource = f"{loopback_service.base}/api/"
    registered = await invoke(ctx, "insforge_register", {"resource_url": resource, "flow": "anonymous"})
    assert registered.stored_as.kind == "anonymous_api_key"
    assert resource in ctx.state[PENDING_CLAIMS_KEY]

    with pytest.raises(InvalidInputError):
        await invoke(ctx, "insforge_claim", {"resource_url": resource})

    started = await invoke(ctx, "insforge_claim", {"resource_url": resource, "email": "dana@example.com"})
    assert started.status == "claim_pending"
    assert "d…@example.com" in started.next_step
    assert "insforge_claim" in started.next_step
    assert store.record("anonymous_api_key", resource).scopes == ["api.read"]

    claimed = await invoke(ctx, "insforge_claim", {"resource_url": resource})
    assert claimed.status == "claimed"
    assert ctx.state[PENDING_CLAIMS_KEY] == {}
    assert store.record("anonymous_api_key", resource).scopes == ["api.read", "api.write"]


async def test_claim_one_question_per_call(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    asked: list[list[str]] = []

    def decide(request: ApprovalRequest) -> ApprovalDecision:
        asked[-1].append(request.kind)
        return ApprovalDecision(approved=True, value=loopback_service.otp)

    ctx = make_context(settings, store, signing_key, loopback_service, approver=CallbackApprover(decide))
    resource = f"{loopback_service.base}/api/"
    calls = [
        (
            "insforge_register",
            {"resource_url": resource, "flow": "verified_email", "email": "erin@example.com"},
        ),
        ("insforge_claim", {"resource_url": resource}),
        ("insforge_register", {"resource_url": resource, "flow": "anonymous"}),
        ("insforge_claim", {"resource_url": resource, "email": "dana@example.com"}),
        ("insforge_claim", {"resource_url": resource, "email": "dana@example.com"}),
    ]
    for name, args in calls:
        asked.append([])
        await invoke(ctx, name, args)

    assert asked == [["consent"], ["claim_code"], [], ["consent"], ["claim_code"]]
    assert ctx.state[PENDING_CLAIMS_KEY] == {}


async def test_anonymous_claim_new_email(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    ctx = make_context(settings, store, signing_key, loopback_service)
    resource = f"{loopback_service.base}/api/"
    await invoke(ctx, "insforge_register", {"resource_url": resource, "flow": "anonymous"})
    await invoke(ctx, "insforge_claim", {"resource_url": resource, "email": "dana@example.com"})

    again = await invoke(ctx, "insforge_claim", {"resource_url": resource, "email": "dan@example.com"})

    assert again.status == "claim_pending"
    assert ctx.state[PENDING_CLAIMS_KEY][resource].email == "dan@example.com"
    [entry] = loopback_service.claim_tokens.values()
    assert entry["email"] == "dan@example.com"


async def test_verified_email_other_email(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    ctx = make_context(settings, store, signing_key, loopback_service)
    resource = f"{loopback_service.base}/api/"
    await invoke(
        ctx,
        "insforge_register",
        {"resource_url": resource, "flow": "verified_email", "email": "erin@example.com"},
    )

    with pytest.raises(InvalidInputError) as caught:
        await invoke(ctx, "insforge_claim", {"resource_url": resource, "email": "someone@example.com"})

    assert caught.value.code == "claim_in_progress"
    assert resource in ctx.state[PENDING_CLAIMS_KEY]


async def test_verified_email_register(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    ctx = make_context(settings, store, signing_key, loopback_service)
    resource = f"{loopback_service.base}/api/"
    result = await invoke(
        ctx,
        "insforge_register",
        {
            "resource_url": resource,
            "flow": "verified_email",
            "email": "erin@example.com",
            "requested_credential_type": "access_token",
        },
    )
    assert result.status == "claim_pending"
    assert result.pending_claim is not None
    assert "e…@example.com" in result.next_step
    assert store.get("access_token", resource) is None

    claimed = await invoke(ctx, "insforge_claim", {"resource_url": resource})
    assert claimed.status == "claimed"
    assert store.get("access_token", resource) is not None


async def test_verified_email_claim_later(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    codes = iter(["000000", loopback_service.otp])

    def decide(request: ApprovalRequest) -> ApprovalDecision:
        value = next(codes) if request.kind == "claim_code" else None
        return ApprovalDecision(approved=True, value=value)

    ctx = make_context(settings, store, signing_key, loopback_service, approver=CallbackApprover(decide))
    resource = f"{loopback_service.base}/api/"
    first = await invoke(
        ctx,
        "insforge_register",
        {"resource_url": resource, "flow": "verified_email", "email": "erin@example.com"},
    )
    assert first.status == "claim_pending"

    with pytest.raises(ClaimError) as caught:
        await invoke(ctx, "insforge_claim", {"resource_url": resource})
    assert caught.value.code == "otp_invalid"
    assert "call insforge_claim again" in caught.value.next_step
    assert resource in ctx.state[PENDING_CLAIMS_KEY]

    claimed = await invoke(ctx, "insforge_claim", {"resource_url": resource})
    assert claimed.status == "claimed"
    assert claimed.credential_type == "access_token"
    assert store.get("access_token", resource) is not None


async def test_claim_without_pending(settings: Settings, store: CredentialStore) -> None:
    ctx = Context(settings=settings, store=store)
    with pytest.raises(NotFoundError) as caught:
        await invoke(ctx, "insforge_claim", {"resource_url": "https://api.service.invalid/api/"})
    assert caught.value.code == "no_pending_claim"


async def test_register_without_provider(
    settings: Settings, store: CredentialStore, loopback_service: LoopbackState
) -> None:
    ctx = Context(settings=settings, store=store, approver=approver("1"))
    with pytest.raises(ConfigurationError) as caught:
        await invoke(ctx, "insforge_register", {"resource_url": f"{loopback_service.base}/api/"})
    assert caught.value.code == "no_assertion_provider"


async def test_logs_free_of_secrets(
    settings: Settings,
    store: CredentialStore,
    signing_key: SigningKey,
    loopback_service: LoopbackState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ctx = make_context(settings, store, signing_key, loopback_service)
    resource = f"{loopback_service.base}/api/"
    await invoke(ctx, "insforge_register", {"resource_url": resource})
    await invoke(ctx, "insforge_register", {"resource_url": resource, "flow": "anonymous"})
    pending = ctx.state[PENDING_CLAIMS_KEY][resource]
    claim_token = pending.claim_token.reveal()
    await invoke(ctx, "insforge_claim", {"resource_url": resource, "email": "dana@example.com"})
    await invoke(ctx, "insforge_claim", {"resource_url": resource})

    secrets = [
        store.get("user_api_key", resource).reveal(),
        store.get("anonymous_api_key", resource).reveal(),
        claim_token,
        loopback_service.otp,
    ]
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "insforge_tools.protocol" in {record.name for record in caplog.records}
    for value in secrets:
        assert value not in logged
    assert "eyJ" not in logged


async def test_forget_discovery(
    settings: Settings, store: CredentialStore, signing_key: SigningKey, loopback_service: LoopbackState
) -> None:
    ctx = make_context(settings, store, signing_key, loopback_service)
    resource = f"{loopback_service.base}/api/"
    await invoke(ctx, "insforge_discover", {"resource_url": resource})
    assert forget_discovery(ctx, resource) is True
    assert len(ctx.state[DISCOVERY_CACHE_KEY]) == 0
    assert forget_discovery(ctx, resource) is False
