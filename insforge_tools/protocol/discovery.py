"""Discovery: Protected Resource Metadata (RFC 9728) and Authorization Server metadata (RFC 8414).

:func:`discover` starts from a resource URL, or from the ``resource_metadata``
parameter of a 401 response's ``WWW-Authenticate`` header, and returns a typed
:class:`Discovery` with the service's ``agent_auth`` block.

Every URL and identifier stays the exact string the service published: the
``resource`` and ``issuer`` comparisons are code-point equality, with no slash
added or removed and no host-case change. Two tolerances are documented and
logged as warnings:

* When the PRM at the RFC 9728 path-inserted location returns 404, the PRM at
  the origin's root location is tried. Its ``resource`` is still checked.
* An issuer that differs from the ``authorization_servers`` entry only by a
  single ``/`` after the host (``https://as.example`` against
  ``https://as.example/``) is accepted, and the string the authorization server
  published is the one used from then on. Any other difference is rejected.

``resource_match="prefix"`` (opt-in) accepts a PRM whose ``resource`` is the
same origin as the requested URL and a path prefix of it ending on a segment
boundary, over https (or loopback http when loopback is allowed).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from insforge_tools.errors import DiscoveryError
from insforge_tools.protocol._http import HttpReply, check_url, fetch_json, same_origin
from insforge_tools.settings import Settings

__all__ = [
    "ID_JAG_ASSERTION_TYPE",
    "AgentAuthMetadata",
    "AnonymousSupport",
    "AuthorizationServerMetadata",
    "Discovery",
    "DiscoveryCache",
    "FlowName",
    "FlowSupport",
    "IdentityAssertionSupport",
    "ProtectedResourceMetadata",
    "ResourceMatch",
    "authorization_server_metadata_url",
    "discover",
    "parse_resource_metadata_challenge",
    "protected_resource_metadata_url",
]

logger = logging.getLogger("insforge_tools.protocol")

ID_JAG_ASSERTION_TYPE = "urn:ietf:params:oauth:token-type:id-jag"
VERIFIED_EMAIL_ASSERTION_TYPE = "verified_email"

ResourceMatch = Literal["exact", "prefix"]
FlowName = Literal["identity_assertion", "verified_email", "anonymous"]

PRM_SUFFIX = "oauth-protected-resource"
AS_SUFFIX = "oauth-authorization-server"

DEFAULT_CACHE_TTL = 300.0


# --- Models -----------------------------------------------------------------------------------


class ProtectedResourceMetadata(BaseModel):
    """The Protected Resource Metadata document (RFC 9728); unknown members are kept."""

    model_config = ConfigDict(extra="allow")

    resource: str = Field(description="The resource identifier, exactly as published.")
    resource_name: str | None = Field(default=None, description="Human-readable name, shown at consent.")
    resource_logo_uri: str | None = Field(
        default=None, description="Logo URL, shown at consent; never fetched."
    )
    authorization_servers: list[str] = Field(description="Issuer identifiers of the authorization servers.")
    scopes_supported: list[str] = Field(default_factory=list)
    bearer_methods_supported: list[str] = Field(default_factory=list)


class AnonymousSupport(BaseModel):
    """The ``agent_auth.anonymous`` block."""

    model_config = ConfigDict(extra="allow")

    credential_types_supported: list[str] = Field(default_factory=list)


class IdentityAssertionSupport(BaseModel):
    """The ``agent_auth.identity_assertion`` block."""

    model_config = ConfigDict(extra="allow")

    assertion_types_supported: list[str] = Field(default_factory=list)
    credential_types_supported: list[str] = Field(default_factory=list)


class AgentAuthMetadata(BaseModel):
    """The ``agent_auth`` block of the authorization server metadata; unknown members are kept."""

    model_config = ConfigDict(extra="allow")

    skill: str | None = Field(default=None, description="URL of the service's agent instructions.")
    register_uri: str = Field(description="Where registrations are POSTed.")
    claim_uri: str | None = Field(default=None, description="Where the claim ceremony starts.")
    revocation_uri: str | None = Field(
        default=None, description="Where identity providers send logout tokens."
    )
    identity_types_supported: list[str] = Field(default_factory=list)
    anonymous: AnonymousSupport | None = None
    identity_assertion: IdentityAssertionSupport | None = None
    events_supported: list[str] = Field(default_factory=list)

    @property
    def claim_complete_uri(self) -> str | None:
        """The claim completion endpoint: ``claim_uri`` + ``/complete``."""
        if not self.claim_uri:
            return None
        return self.claim_uri.rstrip("/") + "/complete"


class AuthorizationServerMetadata(BaseModel):
    """The Authorization Server metadata document (RFC 8414) with ``agent_auth``; unknown members are kept."""

    model_config = ConfigDict(extra="allow")

    issuer: str | None = Field(default=None, description="Checked against the identifier used when present.")
    jwks_uri: str | None = None
    scopes_supported: list[str] = Field(default_factory=list)
    agent_auth: AgentAuthMetadata


class FlowSupport(BaseModel):
    """Whether a registration flow is advertised, with which credential types, or why not."""

    flow: FlowName
    available: bool
    credential_types: list[str] = Field(default_factory=list)
    reason: str = ""


class Discovery(BaseModel):
    """The outcome of discovery for one resource."""

    resource_url: str = Field(description="The URL discovery started from, unchanged.")
    prm_url: str = Field(description="Where the protected resource metadata was read.")
    prm: ProtectedResourceMetadata
    authorization_server_url: str = Field(description="Where the authorization server metadata was read.")
    authorization_server: AuthorizationServerMetadata
    issuer: str = Field(
        description=(
            "The authorization server identifier in use: its published issuer, else authorization_servers[0]."
        )
    )
    resource_match: ResourceMatch = "exact"
    warnings: list[str] = Field(default_factory=list)

    @property
    def agent_auth(self) -> AgentAuthMetadata:
        return self.authorization_server.agent_auth

    @property
    def service_name(self) -> str:
        return self.prm.resource_name or urlsplit(self.prm.resource).netloc

    def flows(self) -> list[FlowSupport]:
        """Return every registration flow with its availability, as the ``agent_auth`` block advertises it."""
        return [self.flow_support(flow) for flow in ("identity_assertion", "verified_email", "anonymous")]

    def flow_support(self, flow: FlowName) -> FlowSupport:
        """Return whether ``flow`` is advertised, and why not when it is not."""
        block = self.agent_auth
        types = block.identity_types_supported

        if flow == "anonymous":
            if "anonymous" not in types:
                return FlowSupport(
                    flow=flow,
                    available=False,
                    reason="agent_auth.identity_types_supported lacks 'anonymous'.",
                )
            credential_types = block.anonymous.credential_types_supported if block.anonymous else []
            if not credential_types:
                return FlowSupport(
                    flow=flow,
                    available=False,
                    reason="agent_auth.anonymous.credential_types_supported is missing or empty.",
                )
            return FlowSupport(flow=flow, available=True, credential_types=list(credential_types))

        if "identity_assertion" not in types:
            return FlowSupport(
                flow=flow,
                available=False,
                reason="agent_auth.identity_types_supported lacks 'identity_assertion'.",
            )
        support = block.identity_assertion
        assertion_types = support.assertion_types_supported if support else []
        credential_types = support.credential_types_supported if support else []
        expected_type = (
            ID_JAG_ASSERTION_TYPE if flow == "identity_assertion" else VERIFIED_EMAIL_ASSERTION_TYPE
        )
        if expected_type not in assertion_types:
            return FlowSupport(
                flow=flow,
                available=False,
                reason=f"agent_auth.identity_assertion.assertion_types_supported lacks {expected_type!r}.",
            )
        if not credential_types:
            return FlowSupport(
                flow=flow,
                available=False,
                reason="agent_auth.identity_assertion.credential_types_supported is missing or empty.",
            )
        if flow == "verified_email" and not block.claim_uri:
            return FlowSupport(
                flow=flow,
                available=False,
                reason="agent_auth.claim_uri is missing, so the one-time code cannot be redeemed.",
            )
        return FlowSupport(flow=flow, available=True, credential_types=list(credential_types))


# --- URLs and the challenge --------------------------------------------------------------------


def _insert_well_known(identifier: str, suffix: str, *, strip_path_slash: bool) -> str:
    parts = urlsplit(identifier)
    path = parts.path
    if path == "/":
        path = ""
    elif strip_path_slash and path.endswith("/"):
        path = path[:-1]
    return urlunsplit((parts.scheme, parts.netloc, f"/.well-known/{suffix}{path}", parts.query, ""))


def protected_resource_metadata_url(resource: str) -> str:
    """Return the RFC 9728 PRM location: the well-known segment after the host, then the path.

    A lone ``/`` path is dropped first; any other path is kept as it is,
    trailing slash included (``https://rs.example/api/`` →
    ``https://rs.example/.well-known/oauth-protected-resource/api/``).
    """
    return _insert_well_known(resource, PRM_SUFFIX, strip_path_slash=False)


def authorization_server_metadata_url(issuer: str) -> str:
    """Return the RFC 8414 metadata location: one terminating ``/`` is dropped, then the segment inserted."""
    return _insert_well_known(issuer, AS_SUFFIX, strip_path_slash=True)


_AUTH_PARAM = re.compile(
    r"""\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)\s*(,|$)""",
)


def parse_resource_metadata_challenge(header: str) -> str:
    """Return the ``resource_metadata`` URL of a ``Bearer`` challenge in a ``WWW-Authenticate`` value.

    The value may hold several challenges and parameters; only the ``Bearer``
    scheme's ``resource_metadata`` parameter counts.

    Raises:
        DiscoveryError: when the Bearer scheme is absent, or its ``resource_metadata``
            parameter is missing, empty or repeated.
    """
    if not isinstance(header, str) or not header.strip():
        raise DiscoveryError(
            "The WWW-Authenticate header is empty.",
            code="invalid_challenge",
            next_step="Call insforge_discover with the service URL instead.",
        )

    found: list[str] = []
    saw_bearer = False
    schemes: list[str] = []
    scheme: str | None = None
    position = 0
    text = header.strip()
    while position < len(text):
        token = re.match(r"\s*,?\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(?=\s|,|$)(?!\s*=)", text[position:])
        if token:
            scheme = token.group(1).lower()
            schemes.append(token.group(1))
            saw_bearer = saw_bearer or scheme == "bearer"
            position += token.end()
            continue
        param = _AUTH_PARAM.match(text, position)
        if not param or param.end() == position:
            raise DiscoveryError(
                f"The WWW-Authenticate header cannot be parsed near {text[position : position + 40]!r}.",
                code="invalid_challenge",
                details={"field": "WWW-Authenticate"},
            )
        name, raw_value = param.group(1).lower(), param.group(2)
        if raw_value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", raw_value[1:-1])
        else:
            value = raw_value
        if scheme == "bearer" and name == "resource_metadata":
            found.append(value)
        position = param.end()

    if not saw_bearer:
        raise DiscoveryError(
            "The WWW-Authenticate header does not use the Bearer scheme "
            f"(schemes: {', '.join(schemes) or 'none'}).",
            code="invalid_challenge",
            details={"field": "WWW-Authenticate"},
        )
    if not found:
        raise DiscoveryError(
            "The WWW-Authenticate header's Bearer scheme has no resource_metadata parameter.",
            code="invalid_challenge",
            next_step="The service does not publish protected resource metadata; "
            "call insforge_discover with the service URL instead.",
            details={"field": "resource_metadata"},
        )
    if len(found) > 1:
        raise DiscoveryError(
            f"The WWW-Authenticate header's Bearer scheme has resource_metadata {len(found)} times.",
            code="invalid_challenge",
            details={"field": "resource_metadata"},
        )
    if not found[0]:
        raise DiscoveryError(
            "The WWW-Authenticate header's resource_metadata parameter is empty.",
            code="invalid_challenge",
            details={"field": "resource_metadata"},
        )
    return found[0]


# --- Cache ------------------------------------------------------------------------------------


class DiscoveryCache:
    """Discovery results per resource URL, each kept for a bounded time.

    Args:
        ttl: Maximum time, in seconds, an entry is reused. A shorter
            ``Cache-Control: max-age`` from the service wins.
        clock: Monotonic clock in seconds; injectable for tests.
    """

    def __init__(
        self, ttl: float = DEFAULT_CACHE_TTL, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl < 0:
            raise ValueError("ttl must be zero or more seconds.")
        self.ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, Discovery]] = {}

    def get(self, resource_url: str, resource_match: ResourceMatch = "exact") -> Discovery | None:
        """Return the live entry for ``resource_url``, or ``None``."""
        key = (resource_url, resource_match)
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, discovery = entry
        if self._clock() >= expires_at:
            del self._entries[key]
            return None
        return discovery

    def put(self, discovery: Discovery, *, max_age: float | None = None) -> None:
        """Keep ``discovery`` for the TTL, or for ``max_age`` seconds if that is shorter."""
        lifetime = self.ttl if max_age is None else min(self.ttl, max_age)
        if lifetime <= 0:
            return
        key = (discovery.resource_url, discovery.resource_match)
        self._entries[key] = (self._clock() + lifetime, discovery)

    def invalidate(self, resource_url: str) -> bool:
        """Drop every entry for ``resource_url``, for example after a working credential got a 401."""
        keys = [key for key in self._entries if key[0] == resource_url]
        for key in keys:
            del self._entries[key]
        return bool(keys)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _max_age(reply: HttpReply) -> float | None:
    header = reply.headers.get("cache-control", "").lower()
    if "no-store" in header or "no-cache" in header:
        return 0.0
    match = re.search(r"max-age\s*=\s*(\d+)", header)
    return float(match.group(1)) if match else None


# --- Checks -----------------------------------------------------------------------------------


def _require_object(reply: HttpReply, *, what: str) -> dict[str, Any]:
    if reply.status != 200:
        raise DiscoveryError(
            f"{what} at {reply.url} returned HTTP {reply.status} ({reply.content_type}).",
            code="metadata_not_found" if reply.status == 404 else "metadata_unavailable",
            status=reply.status,
            details={"field": what},
        )
    if not reply.is_json:
        raise DiscoveryError(
            f"{what} at {reply.url} is not JSON ({reply.content_type}, {len(reply.body)} bytes).",
            code="invalid_metadata",
            details={"field": what},
        )
    if not isinstance(reply.data, dict):
        raise DiscoveryError(
            f"{what} at {reply.url} is JSON but not an object (a {type(reply.data).__name__}).",
            code="invalid_metadata",
            details={"field": what},
        )
    return reply.data


def _validation_message(exc: ValidationError, prefix: str) -> tuple[str, str]:
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    field = f"{prefix}.{location}" if location else prefix
    return field, f"{field} is invalid: {first['msg']} (got {first.get('input')!r})."


def _check_string_list(data: dict[str, Any], name: str, *, where: str) -> None:
    value = data.get(name)
    if value is None:
        return
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise DiscoveryError(
            f"{where}.{name} must be a list of strings, not {value!r}.",
            code="invalid_metadata",
            details={"field": f"{where}.{name}"},
        )


def _parse_prm(data: dict[str, Any], url: str) -> ProtectedResourceMetadata:
    resource = data.get("resource")
    if not isinstance(resource, str) or not resource:
        raise DiscoveryError(
            f"The protected resource metadata at {url} has no resource (got {resource!r}).",
            code="invalid_metadata",
            details={"field": "resource"},
        )
    servers = data.get("authorization_servers")
    if not isinstance(servers, list) or not servers:
        raise DiscoveryError(
            f"The protected resource metadata at {url} lists no authorization_servers (got {servers!r}).",
            code="invalid_metadata",
            next_step="The service does not say where to register; check the service URL.",
            details={"field": "authorization_servers"},
        )
    for index, server in enumerate(servers):
        if not isinstance(server, str) or not server:
            raise DiscoveryError(
                f"authorization_servers[{index}] must be a non-empty string, not {server!r}.",
                code="invalid_metadata",
                details={"field": f"authorization_servers[{index}]"},
            )
    for name in ("scopes_supported", "bearer_methods_supported"):
        _check_string_list(data, name, where="prm")

    try:
        return ProtectedResourceMetadata.model_validate(data)
    except ValidationError as exc:
        field, message = _validation_message(exc, "prm")
        raise DiscoveryError(message, code="invalid_metadata", details={"field": field}) from None


def _parse_as_metadata(data: dict[str, Any], url: str) -> AuthorizationServerMetadata:
    block = data.get("agent_auth")
    if block is None:
        raise DiscoveryError(
            f"The authorization server metadata at {url} has no agent_auth block: "
            "the service does not support agent registration.",
            code="agent_auth_unsupported",
            next_step="Register with this service another way, for example with an API key from the user.",
            details={"field": "agent_auth"},
        )
    if not isinstance(block, dict):
        raise DiscoveryError(
            f"agent_auth at {url} must be an object, not {type(block).__name__}.",
            code="invalid_metadata",
            details={"field": "agent_auth"},
        )
    register_uri = block.get("register_uri")
    if not isinstance(register_uri, str) or not register_uri:
        raise DiscoveryError(
            f"agent_auth.register_uri at {url} is missing or not a string (got {register_uri!r}).",
            code="invalid_metadata",
            details={"field": "agent_auth.register_uri"},
        )
    issuer = data.get("issuer")
    if issuer is not None and not isinstance(issuer, str):
        raise DiscoveryError(
            f"issuer at {url} must be a string, not {issuer!r}.",
            code="invalid_metadata",
            details={"field": "issuer"},
        )
    _check_string_list(block, "identity_types_supported", where="agent_auth")
    _check_string_list(block, "events_supported", where="agent_auth")

    try:
        return AuthorizationServerMetadata.model_validate(data)
    except ValidationError as exc:
        field, message = _validation_message(exc, "as")
        raise DiscoveryError(message, code="invalid_metadata", details={"field": field}) from None


def _prefix_matches(resource: str, requested: str) -> bool:
    resource_parts = urlsplit(resource)
    requested_parts = urlsplit(requested)
    if (resource_parts.scheme, resource_parts.netloc) != (requested_parts.scheme, requested_parts.netloc):
        return False
    if resource_parts.query or resource_parts.fragment:
        return False
    prefix = resource_parts.path
    path = requested_parts.path
    if path == prefix:
        return True
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path.startswith(prefix + "/")


def _check_resource(
    prm: ProtectedResourceMetadata,
    *,
    resource_url: str,
    resource_match: ResourceMatch,
    settings: Settings,
    warnings: list[str],
) -> None:
    if prm.resource == resource_url:
        return

    if resource_match == "prefix":
        check_url(prm.resource, field="resource", settings=settings)
        if _prefix_matches(prm.resource, resource_url):
            warning = (
                f"The metadata's resource {prm.resource!r} is a path prefix of the requested URL "
                f"{resource_url!r}; accepted because prefix matching is enabled."
            )
            logger.warning(warning)
            warnings.append(warning)
            return
        raise DiscoveryError(
            f"The metadata's resource {prm.resource!r} is neither equal to nor a same-origin path prefix "
            f"of the requested URL {resource_url!r}.",
            code="resource_mismatch",
            next_step="Start discovery from the URL the service publishes as its resource.",
            details={"field": "resource"},
        )

    raise DiscoveryError(
        f"The metadata's resource {prm.resource!r} is not identical to the requested URL {resource_url!r}.",
        code="resource_mismatch",
        next_step=(
            f"Start discovery from {prm.resource!r} if that is the service you mean, or enable the "
            "same-origin prefix match (resource_match='prefix')."
        ),
        details={"field": "resource"},
    )


def _choose_issuer(
    metadata: AuthorizationServerMetadata, *, identifier: str, url: str, warnings: list[str]
) -> str:
    published = metadata.issuer
    if published is None:
        warning = (
            f"The authorization server metadata at {url} has no issuer; "
            f"using authorization_servers[0] {identifier!r} as published."
        )
        logger.warning(warning)
        warnings.append(warning)
        return identifier
    if published == identifier:
        return identifier

    # RFC 8414 requires identical strings. The only tolerated difference is a lone "/"
    # after the host, because URL libraries add or drop it on their own. Both
    # spellings give the same metadata location.
    short, long = sorted((published, identifier), key=len)
    if long == short + "/" and urlsplit(long).path == "/":
        warning = (
            f"The authorization server's issuer {published!r} differs from authorization_servers[0] "
            f"{identifier!r} only by the root '/'; using the issuer as published."
        )
        logger.warning(warning)
        warnings.append(warning)
        return published

    raise DiscoveryError(
        f"The authorization server's issuer {published!r} is not identical to {identifier!r}, "
        f"the identifier its metadata was fetched for.",
        code="issuer_mismatch",
        next_step="Do not use this service: its metadata may have been swapped. Tell the user.",
        details={"field": "issuer"},
    )


def _check_endpoints(metadata: AuthorizationServerMetadata, *, issuer: str, settings: Settings) -> None:
    block = metadata.agent_auth
    endpoints = {
        "agent_auth.register_uri": block.register_uri,
        "agent_auth.claim_uri": block.claim_uri,
        "agent_auth.revocation_uri": block.revocation_uri,
        "jwks_uri": metadata.jwks_uri,
    }
    for field, value in endpoints.items():
        if value is None:
            continue
        check_url(value, field=field, settings=settings)
        if not same_origin(value, issuer):
            raise DiscoveryError(
                f"{field} {value!r} is not on the authorization server's origin {issuer!r}.",
                code="cross_origin_endpoint",
                next_step="Do not send assertions or codes to a third host; "
                "tell the user the service looks misconfigured.",
                details={"field": field},
            )


# --- Discovery --------------------------------------------------------------------------------


async def _fetch_prm(
    resource_url: str,
    prm_url: str,
    *,
    from_challenge: bool,
    settings: Settings,
    client: httpx.AsyncClient | None,
    warnings: list[str],
) -> HttpReply:
    reply = await fetch_json(prm_url, field="protected resource metadata", settings=settings, client=client)
    if reply.status != 404 or from_challenge:
        return reply

    root_url = protected_resource_metadata_url(urlunsplit(urlsplit(resource_url)._replace(path="", query="")))
    if root_url == prm_url:
        return reply

    warning = f"No protected resource metadata at {prm_url} (HTTP 404); trying the origin's {root_url}."
    logger.warning(warning)
    warnings.append(warning)
    return await fetch_json(root_url, field="protected resource metadata", settings=settings, client=client)


async def discover(
    resource_url: str,
    *,
    settings: Settings,
    client: httpx.AsyncClient | None = None,
    challenge: str | None = None,
    resource_match: ResourceMatch = "exact",
    cache: DiscoveryCache | None = None,
) -> Discovery:
    """Discover how to register with the service behind ``resource_url``.

    Args:
        resource_url: The protected resource's URL, or the URL that returned 401.
        settings: Supplies ``allow_insecure_loopback`` and ``http_timeout``.
        client: An httpx client to use; by default a short-lived one.
        challenge: The 401 response's ``WWW-Authenticate`` value; its
            ``resource_metadata`` URL is used in place of the derived location.
        resource_match: ``"exact"`` (RFC 9728) or ``"prefix"`` (same origin, path
            prefix on a segment boundary, logged as a warning).
        cache: Where to look first and keep the result.

    Raises:
        DiscoveryError: naming the field and value that made the metadata unusable.
        TransportError: when a document cannot be fetched.
    """
    if resource_match not in ("exact", "prefix"):
        raise DiscoveryError(f"resource_match must be 'exact' or 'prefix', not {resource_match!r}.")
    check_url(resource_url, field="resource_url", settings=settings)

    if cache is not None and challenge is None:
        cached = cache.get(resource_url, resource_match)
        if cached is not None:
            logger.debug("Using cached discovery for %s", resource_url)
            return cached

    logger.info("Discovering agent registration for %s", resource_url)
    warnings: list[str] = []

    # Protected resource metadata.
    if challenge is not None:
        prm_url = parse_resource_metadata_challenge(challenge)
    else:
        prm_url = protected_resource_metadata_url(resource_url)
    prm_reply = await _fetch_prm(
        resource_url,
        prm_url,
        from_challenge=challenge is not None,
        settings=settings,
        client=client,
        warnings=warnings,
    )
    prm = _parse_prm(_require_object(prm_reply, what="protected resource metadata"), prm_reply.url)
    _check_resource(
        prm, resource_url=resource_url, resource_match=resource_match, settings=settings, warnings=warnings
    )

    # Authorization server metadata. NOTE: only the first listed server is tried.
    identifier = prm.authorization_servers[0]
    check_url(identifier, field="authorization_servers[0]", settings=settings)
    if len(prm.authorization_servers) > 1:
        warnings.append(
            f"The resource lists {len(prm.authorization_servers)} authorization servers; using the first, "
            f"{identifier!r}."
        )
    as_url = authorization_server_metadata_url(identifier)
    as_reply = await fetch_json(
        as_url, field="authorization server metadata", settings=settings, client=client
    )
    metadata = _parse_as_metadata(
        _require_object(as_reply, what="authorization server metadata"), as_reply.url
    )
    issuer = _choose_issuer(metadata, identifier=identifier, url=as_reply.url, warnings=warnings)
    _check_endpoints(metadata, issuer=issuer, settings=settings)

    discovery = Discovery(
        resource_url=resource_url,
        prm_url=prm_reply.url,
        prm=prm,
        authorization_server_url=as_reply.url,
        authorization_server=metadata,
        issuer=issuer,
        resource_match=resource_match,
        warnings=warnings,
    )
    logger.info(
        "Discovered %s: register_uri %s, flows %s",
        discovery.service_name,
        metadata.agent_auth.register_uri,
        ",".join(flow.flow for flow in discovery.flows() if flow.available) or "none",
    )

    if cache is not None:
        ages = [age for age in (_max_age(prm_reply), _max_age(as_reply)) if age is not None]
        cache.put(discovery, max_age=min(ages) if ages else None)
    return discovery
