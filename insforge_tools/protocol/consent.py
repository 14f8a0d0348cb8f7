"""The consent request shown to a human before the agent registers in the user's name."""

from __future__ import annotations

from urllib.parse import urlsplit

from insforge_tools.approvals import ApprovalRequest
from insforge_tools.protocol.discovery import Discovery

__all__ = ["build_claim_code_request", "build_consent_request"]

_FLOW_WORDS = {
    "identity_assertion": "a signed identity assertion (ID-JAG) from your identity provider",
    "verified_email": "your email address, which the service will verify with a one-time code",
    "claim": "your email address, to which the service will send a one-time code",
}


def build_consent_request(
    discovery: Discovery,
    *,
    audience: str | None,
    operation: str = "insforge_register",
    flow: str = "identity_assertion",
    email: str | None = None,
    requested_credential_type: str | None = None,
) -> ApprovalRequest:
    """Return the ``consent`` request for registering with the discovered service.

    The details name the service, its logo, the scopes it grants, the resource,
    the audience the assertion will carry and the host the request goes to, so
    the human can see who receives their identity.
    """
    register_host = urlsplit(discovery.agent_auth.register_uri).netloc
    proof = _FLOW_WORDS.get(flow, flow)
    details: dict[str, object] = {
        "service_name": discovery.service_name,
        "logo_uri": discovery.prm.resource_logo_uri,
        "scopes": list(discovery.prm.scopes_supported),
        "resource": discovery.prm.resource,
        "audience": audience,
        "register_host": register_host,
        "flow": flow,
    }
    if email is not None:
        details["email"] = email
    if requested_credential_type is not None:
        details["credential_type"] = requested_credential_type
    if discovery.warnings:
        details["warnings"] = list(discovery.warnings)

    scopes = ", ".join(discovery.prm.scopes_supported) or "the service's default scopes"
    summary = (
        f"Let the agent register with {discovery.service_name} ({register_host}) in your name, "
        f"using {proof}, and receive a credential for {scopes}."
    )
    return ApprovalRequest(kind="consent", operation=operation, summary=summary, details=details)


def build_claim_code_request(
    discovery: Discovery,
    *,
    registration_id: str,
    email: str | None = None,
    operation: str = "insforge_claim",
) -> ApprovalRequest:
    """Return the ``claim_code`` request: the human types the one-time code from the service's email."""
    where = f"the email sent to {email}" if email else "the service's email"
    return ApprovalRequest(
        kind="claim_code",
        operation=operation,
        summary=(
            f"Open the link in {where} from {discovery.service_name}, "
            "then type the one-time code the page shows."
        ),
        details={
            "service_name": discovery.service_name,
            "registration_id": registration_id,
            "claim_host": urlsplit(discovery.agent_auth.claim_uri or "").netloc,
        },
    )
