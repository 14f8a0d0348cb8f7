"""The identity_assertion flow through insforge_register against the running sandbox."""

from __future__ import annotations

import json

import httpx
import pytest
from e2e_helpers import ContextFactory, RecordingAssertionProvider, get_profile

from insforge_tools._toolset import format_error
from insforge_tools.approvals import AutoApprover
from insforge_tools.errors import ApprovalError, RateLimitError, ServerError
from insforge_tools.protocol.registration import RegistrationResult
from insforge_tools.registry import get_operation, invoke, render_result, to_json_text
from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox


def registrations_of(sandbox: Sandbox) -> set[str]:
    with sandbox.platform_state.lock:
        return set(sandbox.platform_state.registrations)


async def test_register_stores_user_key(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context(AutoApprover())

    result = await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert isinstance(result, RegistrationResult)
    assert result.status == "registered"
    assert result.stored_as is not None
    assert result.stored_as.kind == "user_api_key"
    assert result.stored_as.scope == sandbox.resource_url

    key = ctx.credentials.get("user_api_key", sandbox.resource_url)
    assert key is not None
    record = ctx.credentials.record("user_api_key", sandbox.resource_url)
    assert record is not None
    assert record.registration_id == result.registration_id

    assert result.credential_masked == key.masked
    assert key.reveal() not in result.model_dump_json()
    assert key.reveal() not in to_json_text(result)
    assert key.reveal() not in render_result(get_operation("insforge_register"), result, 4000)

    response = await get_profile(sandbox, key.reveal())
    assert response.status_code == 200
    assert response.json()["user"]["email"] == "test.user@example.com"


async def test_register_consent_details(sandbox: Sandbox, make_context: ContextFactory) -> None:
    seen = []
    ctx = make_context(AutoApprover(notify=seen.append))

    await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert [request.kind for request in seen] == ["consent"]
    assert seen[0].operation == "insforge_register"
    assert seen[0].details["resource"] == sandbox.resource_url
    assert seen[0].details["audience"] == sandbox.resource_url
    assert seen[0].details["service_name"] == "InsForge (sandbox)"


async def test_register_denied_sends_nothing(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context()  # the default DenyingApprover
    before = registrations_of(sandbox)

    with pytest.raises(ApprovalError) as caught:
        await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert registrations_of(sandbox) == before
    assert isinstance(ctx.assertion_provider, RecordingAssertionProvider)
    assert ctx.assertion_provider.tokens == []
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is None
    assert caught.value.code == "approval_denied"
    text = format_error("insforge_register", caught.value)
    assert "needs a human's approval" in text


@pytest.mark.parametrize(
    ("code", "status", "retry_after"),
    [("temporarily_unavailable", 503, None), ("rate_limited", 429, 1)],
)
async def test_register_retries_fresh_assertion(
    sandbox: Sandbox,
    make_context: ContextFactory,
    code: str,
    status: int,
    retry_after: int | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = make_context(AutoApprover())
    sandbox.platform_state.issue_error(code, status, retry_after=retry_after, path="/agent/auth")

    with caplog.at_level("INFO", logger="insforge_tools.protocol"):
        result = await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert result.status == "registered"
    assert isinstance(ctx.assertion_provider, RecordingAssertionProvider)
    jtis = ctx.assertion_provider.jtis
    assert len(jtis) == 2
    assert jtis[0] != jtis[1]
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is not None
    retries = [record.getMessage() for record in caplog.records if "Retrying" in record.getMessage()]
    assert len(retries) == 1
    assert f"HTTP {status}" in retries[0]
    if retry_after is not None:
        assert f"in {retry_after:.2f} s" in retries[0]


async def test_register_gives_up_after_503s(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context(AutoApprover())
    sandbox.platform_state.issue_error("temporarily_unavailable", 503, count=4, path="/agent/auth")

    with pytest.raises(ServerError) as caught:
        await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert caught.value.status == 503
    assert caught.value.retryable
    assert "Injected error temporarily_unavailable" in caught.value.message
    assert isinstance(ctx.assertion_provider, RecordingAssertionProvider)
    assert len(set(ctx.assertion_provider.jtis)) == 4
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is None


async def test_register_long_retry_after(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context(AutoApprover())
    sandbox.platform_state.issue_error("rate_limited", 429, retry_after=3600, path="/agent/auth")

    with pytest.raises(RateLimitError) as caught:
        await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert caught.value.status == 429
    assert "3600" in caught.value.next_step


async def test_register_then_revoke(sandbox: Sandbox, make_context: ContextFactory) -> None:
    # A user of its own, so that revoking does not touch keys other tests hold.
    ctx = make_context(AutoApprover())
    ctx.assertion_provider = RecordingAssertionProvider(
        sandbox, subject="user_revoked", email="gone@example.com"
    )
    discovery = await invoke(ctx, "insforge_discover", {"resource_url": sandbox.resource_url})
    await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})
    key = ctx.credentials.get("user_api_key", sandbox.resource_url)
    assert key is not None
    assert (await get_profile(sandbox, key.reveal())).status_code == 200

    # The identity provider sends the platform a logout token: the user's delegation ended.
    logout_token = sandbox.provider.sign_logout_token(audience=sandbox.resource_url, subject="user_revoked")
    revocation_uri = discovery.model_dump()["authorization_server"]["agent_auth"]["revocation_uri"]
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(
            revocation_uri,
            content=logout_token,
            headers={"Content-Type": "application/logout+jwt"},
        )
    assert response.status_code == 200
    assert json.loads(response.text)["revoked"] == 1

    after = await get_profile(sandbox, key.reveal())
    assert after.status_code == 401
    assert after.json()["error"] == "UNAUTHORIZED"


async def test_register_again_new_key(sandbox: Sandbox, make_context: ContextFactory) -> None:
    # Registering twice for the same user keeps one registration and replaces the stored key.
    ctx = make_context(AutoApprover())

    first = await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})
    first_key = ctx.credentials.get("user_api_key", sandbox.resource_url)
    second = await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})
    second_key = ctx.credentials.get("user_api_key", sandbox.resource_url)

    assert first.registration_id == second.registration_id
    assert first_key is not None
    assert second_key is not None
    assert first_key != second_key
    assert (await get_profile(sandbox, second_key.reveal())).status_code == 200
