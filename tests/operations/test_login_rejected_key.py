"""A stored user API key the platform rejects is dropped together with the cached discovery."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from insforge_tools.approvals import AutoApprover
from insforge_tools.credentials import CredentialRecord
from insforge_tools.errors import AuthError
from insforge_tools.operations.agent_auth import discovery_cache
from insforge_tools.registry import invoke
from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


async def test_rejected_key_is_removed_and_discovery_forgotten(sandbox: Sandbox) -> None:
    ctx = sandbox.context(approver=AutoApprover(), workspace="rejected-key")
    await invoke(ctx, "insforge_discover", {"resource_url": sandbox.resource_url})
    assert discovery_cache(ctx).get(sandbox.resource_url) is not None
    ctx.credentials.put(
        "uak_revokedrevokedrevokedrevoked00",
        CredentialRecord(kind="user_api_key", scope=sandbox.resource_url),
    )

    with pytest.raises(AuthError) as caught:
        await invoke(ctx, "insforge_login", {})

    assert "was removed" in caught.value.message
    assert "insforge_discover" in caught.value.next_step
    assert "uak_revokedrevokedrevokedrevoked00" not in str(caught.value)
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is None
    assert discovery_cache(ctx).get(sandbox.resource_url) is None


async def test_registered_key_logs_in_after_rediscovery(sandbox: Sandbox) -> None:
    ctx = sandbox.context(approver=AutoApprover(), workspace="fresh-key")
    await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    result = await invoke(ctx, "insforge_login", {})

    assert result.model_dump()["user"]["email"] == "test.user@example.com"
