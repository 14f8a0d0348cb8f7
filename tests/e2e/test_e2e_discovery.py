"""Discovery through insforge_discover against the running sandbox: from the URL and from a 401."""

from __future__ import annotations

import httpx
import pytest
from e2e_helpers import ContextFactory, HumanApprover

from insforge_tools.errors import DiscoveryError
from insforge_tools.operations.agent_auth import cached_discovery
from insforge_tools.protocol.discovery import Discovery, discover
from insforge_tools.registry import get_operation, invoke, render_result
from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox


async def challenge_of(sandbox: Sandbox) -> tuple[str, str]:
    """Return the URL of an unauthenticated request to the protected API and its 401 challenge."""
    url = f"{sandbox.platform_url}/api/resource"
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(url)
    assert response.status_code == 401
    return url, response.headers["www-authenticate"]


async def test_discover_from_resource_url(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context()

    result = await invoke(ctx, "insforge_discover", {"resource_url": sandbox.resource_url})

    assert isinstance(result, Discovery)
    assert result.prm.resource == sandbox.resource_url
    assert result.prm_url == f"{sandbox.platform_url}/.well-known/oauth-protected-resource"
    assert result.issuer == sandbox.platform_url
    assert result.agent_auth.register_uri == f"{sandbox.platform_url}/agent/auth"
    assert [flow.flow for flow in result.flows() if flow.available] == [
        "identity_assertion",
        "verified_email",
        "anonymous",
    ]
    assert result.warnings == []

    text = render_result(get_operation("insforge_discover"), result, 4000)
    assert "InsForge (sandbox)" in text
    assert "identity_assertion (api_key)" in text


async def test_discover_challenge_header_shape(sandbox: Sandbox) -> None:
    _, challenge = await challenge_of(sandbox)

    assert challenge == (
        f'Bearer resource_metadata="{sandbox.platform_url}/.well-known/oauth-protected-resource"'
    )


async def test_discover_challenge_prefix_match(sandbox: Sandbox, make_context: ContextFactory) -> None:
    # The challenge comes from <base>/api/resource while the resource is <base>, so only
    # the opt-in prefix match accepts it.
    url, challenge = await challenge_of(sandbox)
    ctx = make_context(resource_match="prefix")

    result = await cached_discovery(ctx, url, challenge=challenge)

    assert result.resource_url == url
    assert result.prm_url == f"{sandbox.platform_url}/.well-known/oauth-protected-resource"
    assert result.prm.resource == sandbox.resource_url
    assert result.resource_match == "prefix"
    assert len(result.warnings) == 1
    assert "path prefix" in result.warnings[0]


async def test_discover_challenge_exact_mismatch(sandbox: Sandbox, make_context: ContextFactory) -> None:
    url, challenge = await challenge_of(sandbox)
    ctx = make_context()

    with pytest.raises(DiscoveryError) as caught:
        await cached_discovery(ctx, url, challenge=challenge)

    assert caught.value.code == "resource_mismatch"
    assert repr(sandbox.resource_url) in caught.value.next_step
    assert "resource_match" in caught.value.next_step


async def test_discover_challenge_then_register(sandbox: Sandbox, make_context: ContextFactory) -> None:
    # The application discovers from the 401; the model then registers with the same URL,
    # and the operations reuse that discovery.
    url, challenge = await challenge_of(sandbox)
    ctx = make_context(HumanApprover(sandbox), resource_match="prefix")
    await cached_discovery(ctx, url, challenge=challenge)

    discovered = await invoke(ctx, "insforge_discover", {"resource_url": url})
    result = await invoke(ctx, "insforge_register", {"resource_url": url})

    assert isinstance(discovered, Discovery)
    assert discovered.prm.resource == sandbox.resource_url
    assert result.model_dump()["stored_as"] == {"kind": "user_api_key", "scope": sandbox.resource_url}
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is not None


async def test_discover_protocol_from_challenge(sandbox: Sandbox, make_context: ContextFactory) -> None:
    url, challenge = await challenge_of(sandbox)
    ctx = make_context()

    result = await discover(url, settings=ctx.settings, challenge=challenge, resource_match="prefix")

    assert result.prm_url == f"{sandbox.platform_url}/.well-known/oauth-protected-resource"
    assert result.prm.resource == sandbox.resource_url


async def test_discover_empty_challenge(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context()

    with pytest.raises(DiscoveryError) as caught:
        await cached_discovery(ctx, sandbox.resource_url, challenge=" ")

    assert caught.value.code == "invalid_challenge"
    assert caught.value.next_step


async def test_discover_operation_takes_challenge(sandbox: Sandbox, make_context: ContextFactory) -> None:
    url, challenge = await challenge_of(sandbox)
    ctx = make_context(resource_match="prefix")

    result = await invoke(ctx, "insforge_discover", {"resource_url": url, "www_authenticate": challenge})

    assert isinstance(result, Discovery)
    assert result.prm.resource == sandbox.resource_url
    assert result.resource_match == "prefix"
