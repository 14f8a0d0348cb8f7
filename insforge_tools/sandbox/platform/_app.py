"""Assembly of the platform stand-in's ASGI app."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from insforge_tools.sandbox.platform import _claim, _discovery, _register
from insforge_tools.sandbox.platform._config import PlatformConfig
from insforge_tools.sandbox.platform._http import ErrorInjectionMiddleware
from insforge_tools.sandbox.platform._state import PlatformState
from insforge_tools.sandbox.platform._verify import JwksCache

__all__ = ["create_platform_app"]

logger = logging.getLogger("insforge_tools.sandbox.platform")

PRM_ROOT = "/.well-known/oauth-protected-resource"


def create_platform_app(config: PlatformConfig) -> Starlette:
    """Build the platform stand-in for ``config``.

    The app's ``state.platform`` is the :class:`PlatformState` (registrations,
    credentials, mailbox, ``issue_error``) and ``state.jwks`` the JWKS cache.
    """
    state = PlatformState(config)

    routes = [
        Route(PRM_ROOT, _discovery.protected_resource_metadata, methods=["GET"]),
        Route(
            "/.well-known/oauth-authorization-server",
            _discovery.authorization_server_metadata,
            methods=["GET"],
        ),
        Route("/auth.md", _discovery.skill, methods=["GET"]),
        Route("/api/resource", _discovery.protected_resource, methods=["GET"]),
        Route("/agent/auth", _register.register, methods=["POST"]),
        Route("/agent/auth/revoke", _register.revoke, methods=["POST"]),
        Route("/agent/auth/claim", _claim.claim, methods=["POST"]),
        Route("/agent/auth/claim/view", _claim.claim_view, methods=["GET"]),
        Route("/agent/auth/claim/attempt/challenge", _claim.claim_challenge, methods=["POST"]),
        Route("/agent/auth/claim/complete", _claim.claim_complete, methods=["POST"]),
        Route("/auth/v1/profile", _discovery.profile, methods=["GET"]),
        Route("/organizations/v1", _discovery.organizations, methods=["GET"]),
        Route("/mail/{registration_id}.json", _discovery.mail, methods=["GET"]),
    ]
    if config.prm_path != PRM_ROOT:
        routes.append(Route(config.prm_path, _discovery.protected_resource_metadata, methods=["GET"]))

    async def internal_error(request: Request, exc: Exception) -> Response:
        logger.exception("Unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"error": "internal_error", "message": "An unexpected error occurred."}, status_code=500
        )

    app = Starlette(
        routes=routes,
        middleware=[Middleware(ErrorInjectionMiddleware, state=state)],
        exception_handlers={Exception: internal_error},
    )
    app.state.platform = state
    app.state.jwks = JwksCache(config)
    return app
