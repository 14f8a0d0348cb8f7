"""Discovery: the 401 challenge, the PRM, the AS metadata and auth.md."""

from __future__ import annotations

from typing import Any

from insforge_tools.sandbox.platform import ID_JAG

REVOKED_EVENT = "https://schemas.workos.com/events/agent/auth/identity/assertion/revoked"


def test_resource_challenge(stack: Any) -> None:
    response = stack.client.get("/api/resource")

    assert response.status_code == 401
    expected = f'Bearer resource_metadata="{stack.url}/.well-known/oauth-protected-resource"'
    assert response.headers["www-authenticate"] == expected
    assert response.json() == {"error": "unauthorized", "message": "Missing Bearer credential."}


def test_resource_unknown_bearer(stack: Any) -> None:
    response = stack.use("uak_" + "x" * 32)

    assert response.status_code == 401
    assert "resource_metadata=" in response.headers["www-authenticate"]
    assert response.json() == {"error": "unauthorized", "message": "Invalid, expired, or revoked credential."}


def test_prm_document(stack: Any) -> None:
    response = stack.client.get("/.well-known/oauth-protected-resource")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.json() == {
        "resource": stack.url,
        "resource_name": "InsForge (sandbox)",
        "resource_logo_uri": f"{stack.url}/logo.png",
        "authorization_servers": [stack.url],
        "scopes_supported": ["user:read", "organizations:read", "projects:read", "projects:write"],
        "bearer_methods_supported": ["header"],
    }


def test_as_metadata(stack: Any) -> None:
    response = stack.client.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    document = response.json()
    assert document["issuer"] == stack.url
    assert not document["issuer"].endswith("/")
    assert document["authorization_servers"] == [stack.url]
    assert document["agent_auth"] == {
        "skill": f"{stack.url}/auth.md",
        "register_uri": f"{stack.url}/agent/auth",
        "claim_uri": f"{stack.url}/agent/auth/claim",
        "revocation_uri": f"{stack.url}/agent/auth/revoke",
        "identity_types_supported": ["identity_assertion", "anonymous"],
        "anonymous": {"credential_types_supported": ["api_key"]},
        "identity_assertion": {
            "assertion_types_supported": [ID_JAG, "verified_email"],
            "credential_types_supported": ["api_key"],
        },
        "events_supported": [REVOKED_EVENT],
    }


def test_as_metadata_from_config(start_stack: Any) -> None:
    stack = start_stack(
        identity_types=["identity_assertion"],
        assertion_types=[ID_JAG],
        credential_types=["api_key", "access_token"],
    )

    block = stack.client.get("/.well-known/oauth-authorization-server").json()["agent_auth"]

    assert block["identity_types_supported"] == ["identity_assertion"]
    assert "anonymous" not in block
    assert block["identity_assertion"]["assertion_types_supported"] == [ID_JAG]
    assert block["identity_assertion"]["credential_types_supported"] == ["api_key", "access_token"]


def test_resource_path_prm(start_stack: Any) -> None:
    stack = start_stack(resource_path="/api")

    inserted = stack.client.get("/.well-known/oauth-protected-resource/api")
    root = stack.client.get("/.well-known/oauth-protected-resource")
    challenge = stack.client.get("/api/resource")

    assert inserted.status_code == 200
    assert inserted.json()["resource"] == f"{stack.url}/api"
    assert root.json()["resource"] == f"{stack.url}/api"
    expected = f'Bearer resource_metadata="{stack.url}/.well-known/oauth-protected-resource/api"'
    assert challenge.headers["www-authenticate"] == expected
    assert stack.audience == f"{stack.url}/api"


def test_skill_markdown(stack: Any) -> None:
    response = stack.client.get("/auth.md")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert "InsForge (sandbox)" in response.text
    assert stack.provider.issuer in response.text


def test_openid_configuration_absent(stack: Any) -> None:
    assert stack.client.get("/.well-known/openid-configuration").status_code == 404
