"""One table of bad inputs: discovery documents, challenges, redirects and assertions.

Each case expects a specific typed error whose message names the field at fault.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from protocol_fakes import (
    BASE,
    HTTPS_BASE,
    PROVIDER,
    FakeService,
    exact_service,
    json_response,
    new_signing_key,
    reference_as,
    reference_prm,
    sign,
    valid_claims,
)

from insforge_tools.errors import AssertionCheckError, DiscoveryError
from insforge_tools.protocol import discover, parse_resource_metadata_challenge, preflight_check
from insforge_tools.settings import Settings

RESOURCE_URL = f"{HTTPS_BASE}/api/"
PRM_URL = f"{HTTPS_BASE}/.well-known/oauth-protected-resource/api/"
AS_URL = f"{HTTPS_BASE}/.well-known/oauth-authorization-server"
OTHER = "https://elsewhere.invalid"
REMOVE = object()


def prm_with(**changes: Any) -> Callable[[FakeService], None]:
    def apply(service: FakeService) -> None:
        document = reference_prm(HTTPS_BASE)
        for name, value in changes.items():
            if value is REMOVE:
                document.pop(name, None)
            else:
                document[name] = value
        service.add("GET", PRM_URL, json_response(document))

    return apply


def as_with(block: dict[str, Any] | None = None, **changes: Any) -> Callable[[FakeService], None]:
    def apply(service: FakeService) -> None:
        document = reference_as(HTTPS_BASE)
        document["issuer"] = HTTPS_BASE
        for name, value in (block or {}).items():
            if value is REMOVE:
                document["agent_auth"].pop(name, None)
            else:
                document["agent_auth"][name] = value
        for name, value in changes.items():
            if value is REMOVE:
                document.pop(name, None)
            else:
                document[name] = value
        service.add("GET", AS_URL, json_response(document))

    return apply


def raw(url: str, response: httpx.Response) -> Callable[[FakeService], None]:
    def apply(service: FakeService) -> None:
        service.add("GET", url, response)

    return apply


def redirect(url: str, location: str | None, status: int = 302) -> Callable[[FakeService], None]:
    headers = {"location": location} if location is not None else {}
    return raw(url, httpx.Response(status, headers=headers))


HTML = {"content-type": "text/html"}
BIG = json.dumps({"resource": RESOURCE_URL, "padding": "x" * 70_000})

# (case id, change to a valid service, expected code, text the message must contain)
DOCUMENT_CASES: list[tuple[str, Callable[[FakeService], None], str, str]] = [
    (
        "prm-html",
        raw(PRM_URL, httpx.Response(200, text="<html>", headers=HTML)),
        "invalid_metadata",
        "not JSON",
    ),
    ("prm-array", raw(PRM_URL, json_response([RESOURCE_URL])), "invalid_metadata", "not an object"),
    ("prm-null", raw(PRM_URL, httpx.Response(200, text="null")), "invalid_metadata", "not an object"),
    ("prm-no-resource", prm_with(resource=REMOVE), "invalid_metadata", "resource"),
    ("prm-resource-number", prm_with(resource=123), "invalid_metadata", "resource"),
    ("prm-resource-empty", prm_with(resource=""), "invalid_metadata", "resource"),
    ("prm-no-servers", prm_with(authorization_servers=REMOVE), "invalid_metadata", "authorization_servers"),
    ("prm-empty-servers", prm_with(authorization_servers=[]), "invalid_metadata", "authorization_servers"),
    (
        "prm-server-number",
        prm_with(authorization_servers=[7]),
        "invalid_metadata",
        "authorization_servers[0]",
    ),
    (
        "prm-servers-string",
        prm_with(authorization_servers=HTTPS_BASE),
        "invalid_metadata",
        "authorization_servers",
    ),
    ("prm-resource-slash", prm_with(resource=f"{HTTPS_BASE}/api"), "resource_mismatch", "resource"),
    (
        "prm-resource-case",
        prm_with(resource="https://API.service.invalid/api/"),
        "resource_mismatch",
        "resource",
    ),
    ("prm-resource-other", prm_with(resource=f"{OTHER}/api/"), "resource_mismatch", "resource"),
    ("prm-scopes-string", prm_with(scopes_supported="api.read"), "invalid_metadata", "scopes_supported"),
    ("prm-name-number", prm_with(resource_name=5), "invalid_metadata", "resource_name"),
    ("prm-500", raw(PRM_URL, httpx.Response(500, text="oops")), "metadata_unavailable", "HTTP 500"),
    ("prm-too-big", raw(PRM_URL, httpx.Response(200, text=BIG)), "document_too_large", "protected resource"),
    (
        "prm-declared-big",
        raw(PRM_URL, httpx.Response(200, text="{}", headers={"content-length": "999999"})),
        "document_too_large",
        "999999",
    ),
    (
        "prm-server-http",
        prm_with(authorization_servers=["http://as.invalid"]),
        "insecure_url",
        "authorization_servers",
    ),
    ("as-no-agent-auth", as_with(agent_auth=REMOVE), "agent_auth_unsupported", "agent_auth"),
    ("as-agent-auth-list", as_with(agent_auth=[]), "invalid_metadata", "agent_auth"),
    ("as-no-register", as_with({"register_uri": REMOVE}), "invalid_metadata", "agent_auth.register_uri"),
    (
        "as-register-other",
        as_with({"register_uri": f"{OTHER}/agent/auth"}),
        "cross_origin_endpoint",
        "register_uri",
    ),
    (
        "as-register-port",
        as_with({"register_uri": f"{HTTPS_BASE}:8443/a"}),
        "cross_origin_endpoint",
        "register_uri",
    ),
    (
        "as-register-http",
        as_with({"register_uri": "http://api.service.invalid/a"}),
        "insecure_url",
        "register_uri",
    ),
    ("as-claim-other", as_with({"claim_uri": f"{OTHER}/claim"}), "cross_origin_endpoint", "claim_uri"),
    ("as-revoke-other", as_with({"revocation_uri": f"{OTHER}/r"}), "cross_origin_endpoint", "revocation_uri"),
    ("as-jwks-other", as_with(jwks_uri=f"{OTHER}/jwks.json"), "cross_origin_endpoint", "jwks_uri"),
    ("as-issuer-other", as_with(issuer=OTHER), "issuer_mismatch", "issuer"),
    ("as-issuer-path", as_with(issuer=f"{HTTPS_BASE}/tenant"), "issuer_mismatch", "issuer"),
    ("as-issuer-case", as_with(issuer="https://API.service.invalid"), "issuer_mismatch", "issuer"),
    ("as-issuer-number", as_with(issuer=1), "invalid_metadata", "issuer"),
    (
        "as-types-string",
        as_with({"identity_types_supported": "anonymous"}),
        "invalid_metadata",
        "identity_types",
    ),
    ("as-anonymous-list", as_with({"anonymous": ["api_key"]}), "invalid_metadata", "agent_auth.anonymous"),
    ("as-html", raw(AS_URL, httpx.Response(200, text="<p>", headers=HTML)), "invalid_metadata", "not JSON"),
    (
        "as-404",
        raw(AS_URL, httpx.Response(404, text="missing")),
        "metadata_not_found",
        "authorization server",
    ),
    # Redirects.
    ("redirect-other-host", redirect(PRM_URL, f"{OTHER}/prm"), "cross_origin_redirect", "elsewhere.invalid"),
    (
        "redirect-downgrade",
        redirect(PRM_URL, "http://api.service.invalid/prm"),
        "cross_origin_redirect",
        "http://",
    ),
    ("redirect-other-port", redirect(PRM_URL, f"{HTTPS_BASE}:444/prm"), "cross_origin_redirect", ":444"),
    ("redirect-no-location", redirect(PRM_URL, None), "invalid_redirect", "Location"),
    ("redirect-loop", redirect(PRM_URL, PRM_URL), "too_many_redirects", "3 times"),
    (
        "redirect-as-other",
        redirect(AS_URL, f"{OTHER}/as", status=307),
        "cross_origin_redirect",
        "authorization",
    ),
]


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [case[1:] for case in DOCUMENT_CASES],
    ids=[case[0] for case in DOCUMENT_CASES],
)
async def test_bad_document(
    strict_settings: Settings, change: Callable[[FakeService], None], code: str, fragment: str
) -> None:
    service = exact_service()
    change(service)
    async with service.client() as client:
        with pytest.raises(DiscoveryError) as caught:
            await discover(RESOURCE_URL, settings=strict_settings, client=client)
    assert caught.value.code == code
    assert fragment in caught.value.message


# (case id, resource URL, resource_match, expected code, text the message must contain)
URL_CASES = [
    ("url-http-remote", "http://api.service.invalid/api/", "exact", "insecure_url", "resource_url"),
    ("url-fragment", f"{HTTPS_BASE}/api/#x", "exact", "invalid_url", "fragment"),
    ("url-userinfo", "https://user:pw@api.service.invalid/api/", "exact", "invalid_url", "user info"),
    ("url-scheme", "ftp://api.service.invalid/api/", "exact", "invalid_url", "resource_url"),
    ("url-relative", "/api/", "exact", "invalid_url", "resource_url"),
    ("url-empty", "", "exact", "invalid_url", "resource_url"),
    ("url-bad-port", "https://api.service.invalid:99999/api/", "exact", "invalid_url", "resource_url"),
    ("prefix-other-origin", f"{OTHER}/api/x", "prefix", "resource_mismatch", "prefix"),
    ("prefix-segment", f"{HTTPS_BASE}/apiv2", "prefix", "resource_mismatch", "prefix"),
]


@pytest.mark.parametrize(
    ("url", "match", "code", "fragment"),
    [case[1:] for case in URL_CASES],
    ids=[case[0] for case in URL_CASES],
)
async def test_bad_resource_url(
    strict_settings: Settings, url: str, match: str, code: str, fragment: str
) -> None:
    service = exact_service()
    # The prefix cases fetch the PRM through a challenge, so its resource is compared with the URL.
    challenge = f'Bearer resource_metadata="{PRM_URL}"' if match == "prefix" else None
    prm = reference_prm(HTTPS_BASE)
    prm["resource"] = f"{HTTPS_BASE}/api"
    service.add("GET", PRM_URL, json_response(prm))
    async with service.client() as client:
        with pytest.raises(DiscoveryError) as caught:
            await discover(
                url, settings=strict_settings, client=client, challenge=challenge, resource_match=match
            )
    assert caught.value.code == code
    assert fragment in caught.value.message


CHALLENGE_CASES = [
    ("empty", "", "empty"),
    ("blank", "   ", "empty"),
    ("basic-only", 'Basic realm="x"', "schemes: Basic"),
    ("no-parameter", 'Bearer realm="api"', "resource_metadata"),
    ("empty-value", 'Bearer resource_metadata=""', "resource_metadata"),
    (
        "twice",
        'Bearer resource_metadata="https://a.invalid/m", resource_metadata="https://b.invalid/m"',
        "2 times",
    ),
    ("other-scheme", 'DPoP resource_metadata="https://a.invalid/m"', "schemes: DPoP"),
    ("unparsable", 'Bearer resource_metadata="https://a.invalid/m" "stray"', "cannot be parsed"),
]


@pytest.mark.parametrize(
    ("header", "fragment"), [case[1:] for case in CHALLENGE_CASES], ids=[case[0] for case in CHALLENGE_CASES]
)
def test_bad_challenge(header: str, fragment: str) -> None:
    with pytest.raises(DiscoveryError) as caught:
        parse_resource_metadata_challenge(header)
    assert caught.value.code == "invalid_challenge"
    assert fragment in caught.value.message


async def test_challenge_http_remote(strict_settings: Settings) -> None:
    service = exact_service()
    async with service.client() as client:
        with pytest.raises(DiscoveryError) as caught:
            await discover(
                RESOURCE_URL,
                settings=strict_settings,
                client=client,
                challenge='Bearer resource_metadata="http://metadata.invalid/prm"',
            )
    assert caught.value.code == "insecure_url"
    assert service.requests == []


# --- Assertions -------------------------------------------------------------------------------

KEY = new_signing_key("table-key")
AUDIENCE = f"{BASE}/api/"
NOW = 1_900_000_000.0


def claims_with(**changes: Any) -> dict[str, Any]:
    claims = valid_claims(AUDIENCE, now=NOW, resource=AUDIENCE)
    for name, value in changes.items():
        if value is REMOVE:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(header)}.{b64(claims)}."


# (case id, token, claim named in the error)
ASSERTION_CASES: list[tuple[str, str, str]] = [
    ("two-parts", "aaa.bbb", "token"),
    ("four-parts", "a.b.c.d", "token"),
    (
        "alg-none",
        unsigned({"alg": "none", "typ": "oauth-id-jag+jwt", "kid": "k"}, claims_with()),
        "signature",
    ),
    (
        "alg-hs256",
        f"{b64({'alg': 'HS256', 'typ': 'oauth-id-jag+jwt', 'kid': 'k'})}.{b64(claims_with())}.c2ln",
        "alg header",
    ),
    ("header-garbage", f"%%%.{b64(claims_with())}.c2ln", "header"),
    ("payload-array", f"{b64({'alg': 'ES256', 'typ': 'oauth-id-jag+jwt', 'kid': 'k'})}.WzFd.c2ln", "payload"),
    ("typ-jwt", sign(KEY, claims_with(), header={"kid": "k", "typ": "JWT"}), "typ header"),
    (
        "typ-long-form",
        sign(KEY, claims_with(), header={"kid": "k", "typ": "application/oauth-id-jag+jwt"}),
        "typ header",
    ),
    ("typ-upper", sign(KEY, claims_with(), header={"kid": "k", "typ": "OAUTH-ID-JAG+JWT"}), "typ header"),
    ("typ-absent", sign(KEY, claims_with(), header={"kid": "k", "typ": None}), "typ header"),
    ("kid-absent", sign(KEY, claims_with(), header={"typ": "oauth-id-jag+jwt"}), "kid header"),
    ("iss-slash", sign(KEY, claims_with(iss=f"{PROVIDER}/")), "iss"),
    ("iss-missing", sign(KEY, claims_with(iss=REMOVE)), "iss"),
    ("aud-resource-vs-base", sign(KEY, claims_with(aud=BASE)), "aud"),
    ("aud-slash", sign(KEY, claims_with(aud=f"{BASE}/api")), "aud"),
    ("aud-localhost", sign(KEY, claims_with(aud="http://localhost:8000/api/")), "aud"),
    ("aud-two", sign(KEY, claims_with(aud=[AUDIENCE, "https://other.invalid"])), "aud"),
    ("aud-missing", sign(KEY, claims_with(aud=REMOVE)), "aud"),
    ("resource-elsewhere", sign(KEY, claims_with(resource="https://other.invalid/api/")), "resource"),
    ("sub-missing", sign(KEY, claims_with(sub=REMOVE)), "sub"),
    ("jti-missing", sign(KEY, claims_with(jti=REMOVE)), "jti"),
    ("client-id-missing", sign(KEY, claims_with(client_id=REMOVE)), "client_id"),
    ("exp-missing", sign(KEY, claims_with(exp=REMOVE)), "exp"),
    ("exp-string", sign(KEY, claims_with(exp=str(int(NOW) + 200))), "exp"),
    ("exp-past", sign(KEY, claims_with(exp=int(NOW) - 120)), "exp"),
    ("exp-soon", sign(KEY, claims_with(exp=int(NOW) + 10)), "exp"),
    ("exp-year", sign(KEY, claims_with(exp=int(NOW) + 365 * 86400)), "exp"),
    ("iat-future", sign(KEY, claims_with(iat=int(NOW) + 3600, exp=int(NOW) + 3700)), "iat"),
    ("iat-missing", sign(KEY, claims_with(iat=REMOVE)), "iat"),
    ("iat-bool", sign(KEY, claims_with(iat=True)), "iat"),
    ("nbf-future", sign(KEY, claims_with(nbf=int(NOW) + 3600)), "nbf"),
    ("email-verified-string", sign(KEY, claims_with(email_verified="true")), "email_verified"),
    ("email-verified-false", sign(KEY, claims_with(email_verified=False)), "email_verified"),
    ("email-missing", sign(KEY, claims_with(email=REMOVE)), "email"),
    (
        "phone-without-number",
        sign(KEY, claims_with(email_verified=REMOVE, phone_number_verified=True)),
        "phone_number",
    ),
]


@pytest.mark.parametrize(
    ("token", "claim"), [case[1:] for case in ASSERTION_CASES], ids=[case[0] for case in ASSERTION_CASES]
)
def test_bad_assertion(token: str, claim: str) -> None:
    with pytest.raises(AssertionCheckError) as caught:
        preflight_check(token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=AUDIENCE, now=NOW)
    assert caught.value.details["claim"] == claim
    assert claim in caught.value.message
    assert caught.value.next_step


def test_unknown_kid_in_jwks() -> None:
    token = sign(KEY, claims_with(), header={"kid": "not-published", "typ": "oauth-id-jag+jwt"})
    with pytest.raises(AssertionCheckError) as caught:
        preflight_check(
            token, expected_issuer=PROVIDER, audience=AUDIENCE, resource=None, now=NOW, jwks=KEY.jwks
        )
    assert caught.value.details["claim"] == "kid header"


def test_table_size() -> None:
    total = len(DOCUMENT_CASES) + len(URL_CASES) + len(CHALLENGE_CASES) + len(ASSERTION_CASES)
    assert total >= 40
