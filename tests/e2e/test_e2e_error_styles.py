"""Service errors in both body styles reach the model as typed errors with the service's message.

``insforge`` bodies are ``{error, error_description}``; ``reference`` bodies are ``{error, message}``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from e2e_helpers import ContextFactory

from insforge_tools._toolset import format_error
from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, AutoApprover, CallbackApprover
from insforge_tools.protocol.registration import ClaimError, RegistrationRejectedError
from insforge_tools.registry import invoke
from insforge_tools.sandbox import Sandbox
from insforge_tools.sandbox.provider import TestIdentityProvider

pytestmark = pytest.mark.sandbox


MESSAGE_MEMBER = {"insforge": "error_description", "reference": "message"}


@pytest.fixture(scope="module", params=["insforge", "reference"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    with Sandbox(error_style=request.param) as box:
        yield box


async def test_error_body_style(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(f"{sandbox.platform_url}/agent/auth", json={})

    assert response.status_code == 400
    assert set(response.json()) == {"error", MESSAGE_MEMBER[sandbox.error_style]}


async def test_untrusted_issuer_error(sandbox: Sandbox, make_context: ContextFactory) -> None:
    # An identity provider the platform does not trust; the local issuer check is off so the
    # assertion reaches the platform.
    stranger = TestIdentityProvider()
    stranger.issuer = "http://127.0.0.1:9/untrusted"
    ctx = make_context(AutoApprover(), expected_assertion_issuer=None)
    ctx.assertion_provider = stranger.assertion_provider()

    with pytest.raises(RegistrationRejectedError) as caught:
        await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    error = caught.value
    assert error.code == "invalid_issuer"
    assert error.status == 400
    assert "http://127.0.0.1:9/untrusted is not in the trusted providers list" in error.message
    assert "trust list" in error.next_step
    text = format_error("insforge_register", error)
    assert "RegistrationRejectedError" in text
    assert "code invalid_issuer" in text
    assert "not in the trusted providers list" in text


async def test_injected_error_message(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context(AutoApprover())
    sandbox.platform_state.issue_error("unsupported_credential_type", 400, path="/agent/auth")

    with pytest.raises(RegistrationRejectedError) as caught:
        await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert caught.value.code == "unsupported_credential_type"
    assert caught.value.status == 400
    assert "Injected error unsupported_credential_type (HTTP 400)" in caught.value.message
    assert "insforge_discover" in caught.value.next_step


async def test_wrong_code_error(sandbox: Sandbox, make_context: ContextFactory) -> None:
    async def wrong_code(request: ApprovalRequest) -> ApprovalDecision:
        return ApprovalDecision(approved=True, value="999999x")

    ctx = make_context(CallbackApprover(wrong_code))
    await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url, "flow": "anonymous"})

    await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url, "email": "fay@example.com"})
    with pytest.raises(ClaimError) as caught:
        await invoke(ctx, "insforge_claim", {"resource_url": sandbox.resource_url})

    # The human never opened the link, so no code exists yet.
    assert caught.value.code == "otp_not_generated"
    assert "Open the email link first" in caught.value.message
    assert "open the link" in caught.value.next_step
