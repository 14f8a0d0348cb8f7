"""A stand-in for the InsForge platform's agent registration surface.

It serves discovery (RFC 9728 Protected Resource Metadata, RFC 8414
Authorization Server metadata with the ``agent_auth`` block), ``POST
/agent/auth`` (ID-JAG, verified email, anonymous), the claim ceremony,
``logout+jwt`` revocation, a protected resource, and the account endpoints the
InsForge CLI calls (``GET /auth/v1/profile``, ``GET /organizations/v1``).
Responses follow the auth.md reference service's shapes. ID-JAG verification is
strict where the reference is lenient (see :mod:`._verify`).
"""

from insforge_tools.sandbox.platform._app import create_platform_app
from insforge_tools.sandbox.platform._config import (
    ID_JAG,
    VERIFIED_EMAIL,
    JwksFetchError,
    PlatformConfig,
    fetch_jwks_over_loopback,
)
from insforge_tools.sandbox.platform._register import registration_id_for
from insforge_tools.sandbox.platform._state import Credential, PlatformState, Registration, User
from insforge_tools.sandbox.platform._verify import VerificationError

__all__ = [
    "ID_JAG",
    "VERIFIED_EMAIL",
    "Credential",
    "JwksFetchError",
    "PlatformConfig",
    "PlatformState",
    "Registration",
    "User",
    "VerificationError",
    "create_platform_app",
    "fetch_jwks_over_loopback",
    "registration_id_for",
]
