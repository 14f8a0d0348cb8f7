"""Configuration of the platform stand-in and its default JWKS fetcher."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

__all__ = [
    "ID_JAG",
    "JwksFetchError",
    "PlatformConfig",
    "fetch_jwks_over_loopback",
]

ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
VERIFIED_EMAIL = "verified_email"

JwksFetcher = Callable[[str], Awaitable[dict[str, Any]]]

# Time budget for one JWKS request, in seconds (the jose default the reference service uses).
JWKS_TIMEOUT = 5.0


class JwksFetchError(Exception):
    """The JWKS of an issuer could not be fetched or is not a JWK set."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def fetch_jwks_over_loopback(issuer: str) -> dict[str, Any]:
    """Fetch ``issuer + "/.well-known/jwks.json"``, rejecting any host that is not loopback.

    Raises:
        JwksFetchError: The issuer is not on loopback, the request failed or
            timed out, or the body is not a JSON object with a ``keys`` list.
    """
    url = f"{issuer}/.well-known/jwks.json"
    host = urlsplit(url).hostname or ""
    if not _is_loopback(host):
        raise JwksFetchError(f"The sandbox only fetches JWKS from loopback issuers, not from {issuer}.")

    try:
        async with httpx.AsyncClient(timeout=JWKS_TIMEOUT, follow_redirects=False) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise JwksFetchError(f"Fetching {url} failed: {type(exc).__name__}.") from exc

    if response.status_code != 200:
        raise JwksFetchError(f"Fetching {url} returned HTTP {response.status_code}.")
    try:
        document = response.json()
    except ValueError as exc:
        raise JwksFetchError(f"The JWKS at {url} is not valid JSON.") from exc
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksFetchError(f"The JWKS at {url} has no 'keys' list.")
    return document


@dataclass
class PlatformConfig:
    """Settings of the platform stand-in.

    Every URL is kept as the exact string given: the stand-in compares
    audiences and issuers byte for byte, as clients must.

    Attributes:
        base_url: The platform's base URL without a trailing slash; also the
            authorization server's ``issuer``.
        resource: The protected resource identifier published in the PRM. When
            unset it is ``base_url + resource_path``.
        resource_path: A path such as ``/api``. When set, the PRM is also served
            at the RFC 9728 path-inserted location
            (``/.well-known/oauth-protected-resource/api``) and the challenge
            points there.
        trusted_issuers: Identity provider issuers whose ID-JAGs and logout
            tokens are accepted (exact strings).
        audience_policy: Which value an ID-JAG ``aud`` must equal: the PRM
            ``resource`` (what InsForge documents) or the authorization server
            issuer (what the auth.md reference code and the ID-JAG draft use).
        error_style: ``insforge`` returns errors of the ``/agent/auth``
            endpoints as ``{"error", "error_description"}``; ``reference``
            with ``{"error", "message"}`` as the auth.md reference service does.
        identity_types: Registration types offered (``identity_assertion``, ``anonymous``).
        assertion_types: Assertion types offered for ``identity_assertion``.
        credential_types: Credential types an ``identity_assertion`` may request
            (``api_key``, ``access_token``).
        scopes_supported: Scopes published in the PRM and given to claimed or
            identity-asserted registrations.
        pre_claim_scopes: Scopes of an anonymous credential before it is claimed.
        jwks_fetcher: Coroutine returning an issuer's JWK set; the default
            fetches ``iss + "/.well-known/jwks.json"`` over loopback only.
        mail_dir: Directory where each claim email is written as
            ``<registration_id>.json``; when unset, mail stays in memory and on
            ``GET /mail/<registration_id>.json``.
        clock: Returns the current time in seconds since the epoch.
    """

    base_url: str
    trusted_issuers: list[str] = field(default_factory=list)
    resource: str | None = None
    resource_path: str | None = None
    audience_policy: Literal["resource", "issuer"] = "resource"
    error_style: Literal["insforge", "reference"] = "insforge"
    identity_types: list[str] = field(default_factory=lambda: ["identity_assertion", "anonymous"])
    assertion_types: list[str] = field(default_factory=lambda: [ID_JAG, VERIFIED_EMAIL])
    credential_types: list[str] = field(default_factory=lambda: ["api_key"])
    scopes_supported: list[str] = field(
        default_factory=lambda: ["user:read", "organizations:read", "projects:read", "projects:write"]
    )
    pre_claim_scopes: list[str] = field(default_factory=lambda: ["user:read", "projects:read"])
    resource_name: str = "InsForge (sandbox)"
    jwks_fetcher: JwksFetcher = fetch_jwks_over_loopback
    mail_dir: Path | None = None
    clock: Callable[[], float] = time.time

    # Limits, in seconds unless named otherwise. The TTLs are those of the auth.md reference service.
    clock_skew: int = 60
    max_assertion_lifetime: int = 300
    max_logout_token_age: int = 300
    access_token_ttl: int = 3600
    registration_ttl: int = 86_400
    claim_view_ttl: int = 600
    otp_ttl: int = 600
    otp_max_attempts: int = 5
    jwks_cache_ttl: int = 600
    jwks_refetch_cooldown: int = 30

    def __post_init__(self) -> None:
        if self.base_url.endswith("/"):
            raise ValueError(f"base_url must not end with '/': {self.base_url!r}.")
        if self.resource_path is not None and not self.resource_path.startswith("/"):
            raise ValueError(f"resource_path must start with '/': {self.resource_path!r}.")
        if self.audience_policy not in ("resource", "issuer"):
            raise ValueError(f"audience_policy must be 'resource' or 'issuer', not {self.audience_policy!r}.")
        if self.error_style not in ("insforge", "reference"):
            raise ValueError(f"error_style must be 'insforge' or 'reference', not {self.error_style!r}.")
        if self.mail_dir is not None:
            self.mail_dir = Path(self.mail_dir)

    @property
    def resource_id(self) -> str:
        """The resource identifier published in the PRM."""
        if self.resource is not None:
            return self.resource
        return self.base_url + (self.resource_path or "")

    @property
    def expected_audience(self) -> str:
        """The exact ``aud`` an ID-JAG and a logout token must carry."""
        return self.resource_id if self.audience_policy == "resource" else self.base_url

    @property
    def prm_path(self) -> str:
        """The RFC 9728 path-inserted location of the PRM for :attr:`resource_id`."""
        path = urlsplit(self.resource_id).path
        suffix = path if path not in ("", "/") else ""
        return "/.well-known/oauth-protected-resource" + suffix

    @property
    def prm_url(self) -> str:
        """The PRM URL sent in the ``WWW-Authenticate`` challenge."""
        return self.base_url + self.prm_path
