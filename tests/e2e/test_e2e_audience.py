"""A platform that expects the authorization server's issuer as the ID-JAG ``aud``.

The resource is path-bearing (``<base>/api``) so that it differs from the issuer (``<base>``);
with a bare base URL both audience policies give the same string.
"""

from __future__ import annotations

import jwt
import pytest
from e2e_helpers import ContextFactory, RecordingAssertionProvider, get_profile

from insforge_tools._toolset import format_error
from insforge_tools.approvals import AutoApprover
from insforge_tools.protocol.registration import RegistrationRejectedError
from insforge_tools.registry import invoke
from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

SANDBOX_OPTIONS = {"audience_policy": "issuer", "resource_path": "/api"}


async def test_issuer_audience_registers(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context(AutoApprover(), audience_policy="issuer")

    result = await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert result.status == "registered"
    assert isinstance(ctx.assertion_provider, RecordingAssertionProvider)
    claims = jwt.decode(ctx.assertion_provider.tokens[0], options={"verify_signature": False})
    assert claims["aud"] == sandbox.platform_url
    assert claims["resource"] == sandbox.resource_url
    key = ctx.credentials.get("user_api_key", sandbox.resource_url)
    assert key is not None
    assert (await get_profile(sandbox, key.reveal())).status_code == 200


async def test_resource_audience_mismatch(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context(AutoApprover(), audience_policy="resource")

    with pytest.raises(RegistrationRejectedError) as caught:
        await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    error = caught.value
    assert error.code == "invalid_audience"
    assert error.status == 400
    assert "audience_policy" in error.next_step
    assert "'issuer'" in error.message
    assert sandbox.platform_url in error.message
    text = format_error("insforge_register", error)
    assert "audience_policy" in text
    assert isinstance(ctx.assertion_provider, RecordingAssertionProvider)
    assert len(ctx.assertion_provider.tokens) == 1  # a client error is not retried
