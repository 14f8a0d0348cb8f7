"""A whole registration run at DEBUG level leaves no credential, assertion or claim token in the logs."""

from __future__ import annotations

import logging

import httpx
import pytest
from e2e_helpers import ContextFactory, HumanApprover, RecordingAssertionProvider

from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, CallbackApprover
from insforge_tools.errors import InsForgeError
from insforge_tools.operations.agent_auth import cached_discovery
from insforge_tools.registry import invoke
from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

# A sandbox of its own, so every secret it contains comes from this run.
SANDBOX_OPTIONS: dict[str, object] = {}


def secrets_of(sandbox: Sandbox, providers: list[RecordingAssertionProvider]) -> set[str]:
    """Every credential, claim token, claim-link token and assertion the run produced."""
    state = sandbox.platform_state
    with state.lock:
        values = set(state.credentials)
        values.update(item.claim_token for item in state.registrations.values() if item.claim_token)
        for mail in state.mailbox.messages.values():
            values.add(str(mail["claim_attempt_token"]))
    for provider in providers:
        values.update(provider.tokens)
    return values


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = [caplog.text]
    for record in caplog.records:
        texts.append(record.getMessage())
        texts.append(repr(record.args))
        if record.exc_text:
            texts.append(record.exc_text)
    return texts


async def test_debug_run_logs_no_secret(
    sandbox: Sandbox, make_context: ContextFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    resource = sandbox.resource_url
    human = HumanApprover(sandbox)
    contexts = [make_context(human) for _ in range(4)]
    by_assertion, by_email, anonymous, failing = contexts

    # Discovery, from the URL and from a 401 challenge.
    await invoke(by_assertion, "insforge_discover", {"resource_url": resource})
    async with httpx.AsyncClient(timeout=10.0) as client:
        challenged = await client.get(f"{sandbox.platform_url}/api/resource")
    await cached_discovery(failing, resource, challenge=challenged.headers["www-authenticate"])

    # identity_assertion with one retry after a 503.
    sandbox.platform_state.issue_error("temporarily_unavailable", 503, path="/agent/auth")
    await invoke(by_assertion, "insforge_register", {"resource_url": resource})

    # verified_email with the claim ceremony, and anonymous then claimed.
    await invoke(
        by_email,
        "insforge_register",
        {"resource_url": resource, "flow": "verified_email", "email": "gil@example.com"},
    )
    await invoke(by_email, "insforge_claim", {"resource_url": resource})
    await invoke(anonymous, "insforge_register", {"resource_url": resource, "flow": "anonymous"})
    await invoke(anonymous, "insforge_claim", {"resource_url": resource, "email": "hal@example.com"})
    await invoke(anonymous, "insforge_claim", {"resource_url": resource})

    # A claim that fails with a wrong code, so error paths log too.
    async def wrong_code(request: ApprovalRequest) -> ApprovalDecision:
        return ApprovalDecision(approved=True, value="12345x")

    failing.approver = CallbackApprover(wrong_code)
    await invoke(failing, "insforge_register", {"resource_url": resource, "flow": "anonymous"})
    await invoke(failing, "insforge_claim", {"resource_url": resource, "email": "ida@example.com"})
    with pytest.raises(InsForgeError):
        await invoke(failing, "insforge_claim", {"resource_url": resource})

    # Revocation by the identity provider.
    logout_token = sandbox.provider.sign_logout_token(audience=resource)
    async with httpx.AsyncClient(timeout=10.0) as client:
        revoked = await client.post(
            f"{sandbox.platform_url}/agent/auth/revoke",
            content=logout_token,
            headers={"Content-Type": "application/logout+jwt"},
        )
    assert revoked.status_code == 200

    providers = [ctx.assertion_provider for ctx in contexts]
    assert all(isinstance(provider, RecordingAssertionProvider) for provider in providers)
    recording = [provider for provider in providers if isinstance(provider, RecordingAssertionProvider)]
    secrets = secrets_of(sandbox, recording) | {logout_token}
    assert len(recording[0].tokens) == 2
    assert len(sandbox.platform_state.credentials) == 4
    assert len(caplog.records) > 20
    assert any(record.levelno == logging.DEBUG for record in caplog.records)

    texts = log_texts(caplog)
    leaked = sorted(secret[:8] for secret in secrets if any(secret in text for text in texts))
    assert leaked == []
