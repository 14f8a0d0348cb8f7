"""A path-bearing resource (``<base>/api``): discovery through the RFC 9728 path-inserted URL."""

from __future__ import annotations

import httpx
import pytest
from e2e_helpers import ContextFactory, get_profile

from insforge_tools.approvals import AutoApprover
from insforge_tools.errors import DiscoveryError
from insforge_tools.operations.agent_auth import cached_discovery
from insforge_tools.protocol.discovery import Discovery
from insforge_tools.protocol.registration import RegistrationRejectedError
from insforge_tools.registry import invoke
from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

SANDBOX_OPTIONS = {"resource_path": "/api"}


async def test_path_resource_discovery(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context()

    result = await invoke(ctx, "insforge_discover", {"resource_url": sandbox.resource_url})

    assert isinstance(result, Discovery)
    assert sandbox.resource_url == f"{sandbox.platform_url}/api"
    assert result.prm_url == f"{sandbox.platform_url}/.well-known/oauth-protected-resource/api"
    assert result.prm.resource == sandbox.resource_url
    assert result.issuer == sandbox.platform_url
    assert result.warnings == []


async def test_path_resource_trailing_slash(sandbox: Sandbox, make_context: ContextFactory) -> None:
    # <base>/api/ is another identifier than <base>/api; its metadata location does not exist
    # and the origin's root metadata names <base>/api, so exact matching rejects it.
    ctx = make_context()

    with pytest.raises(DiscoveryError) as caught:
        await invoke(ctx, "insforge_discover", {"resource_url": sandbox.resource_url + "/"})

    assert caught.value.code == "resource_mismatch"
    assert repr(sandbox.resource_url) in caught.value.next_step


async def test_path_resource_challenge(sandbox: Sandbox, make_context: ContextFactory) -> None:
    url = f"{sandbox.platform_url}/api/resource"
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(url)
    challenge = response.headers["www-authenticate"]
    assert challenge == (
        f'Bearer resource_metadata="{sandbox.platform_url}/.well-known/oauth-protected-resource/api"'
    )
    ctx = make_context(resource_match="prefix")

    result = await cached_discovery(ctx, url, challenge=challenge)

    assert result.prm_url == f"{sandbox.platform_url}/.well-known/oauth-protected-resource/api"
    assert result.prm.resource == sandbox.resource_url


async def test_path_resource_register(sandbox: Sandbox, make_context: ContextFactory) -> None:
    ctx = make_context(AutoApprover())

    result = await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert result.stored_as is not None
    assert result.stored_as.scope == sandbox.resource_url
    key = ctx.credentials.get("user_api_key", sandbox.resource_url)
    assert key is not None
    assert (await get_profile(sandbox, key.reveal())).status_code == 200


async def test_path_resource_issuer_audience(sandbox: Sandbox, make_context: ContextFactory) -> None:
    # The platform expects aud = the resource; an assertion for the issuer is rejected.
    ctx = make_context(AutoApprover(), audience_policy="issuer")

    with pytest.raises(RegistrationRejectedError) as caught:
        await invoke(ctx, "insforge_register", {"resource_url": sandbox.resource_url})

    assert caught.value.code == "invalid_audience"
    assert "audience_policy" in caught.value.next_step
    assert "'resource'" in caught.value.message
    assert ctx.credentials.get("user_api_key", sandbox.resource_url) is None
