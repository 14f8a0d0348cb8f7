"""The project call layer: one request, described once for each transport.

An operation that works on a linked project describes its request twice, as a CLI argv
(``["db", "query", sql]``) and as an :class:`HttpCall`, and :func:`call_project` runs
whichever the workspace uses. With ``--json`` the CLI prints the backend's response body
unchanged for these commands, so both paths return the same data, and both raise the
same typed errors.

The transport comes from ``Settings.transport``, which ``ctx.state["transport"]`` overrides
for one context: ``"auto"`` (the default) uses HTTP
when the project link has a backend URL and an API key and the CLI otherwise, ``"cli"``
and ``"http"`` force one. Platform operations (login, cloud link) always use the CLI and
do not come through here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

from insforge_tools.context import Context
from insforge_tools.errors import ConfigurationError, NotLinkedError
from insforge_tools.links import ProjectLink, check_base_url, load_project_link, project_link_path
from insforge_tools.secrets import Secret
from insforge_tools.transports.http import HttpTransport, ResponseKind

__all__ = [
    "HttpCall",
    "TransportMode",
    "call_project",
    "http_transport",
    "require_link",
    "select_transport",
    "transport_mode",
]

logger = logging.getLogger("insforge_tools.transports.project")

TransportMode = Literal["auto", "cli", "http"]

_HTTP_TRANSPORT_KEY = "_http_transport"


@dataclass(frozen=True)
class HttpCall:
    """One request to the project backend.

    Attributes:
        method: The HTTP method.
        path: The path below the backend's base URL, such as ``/api/metadata``.
        params: Query parameters; a sequence of pairs keeps repeated names and their order.
        json: The JSON body, if any.
        files: Multipart files, as httpx takes them.
        headers: Extra headers, such as PostgREST's ``Prefer``.
        response_kind: How to decode the response body.
    """

    method: str
    path: str
    params: Mapping[str, str] | Sequence[tuple[str, str]] | None = None
    json: Any = None
    files: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    response_kind: ResponseKind = "json"


def transport_mode(ctx: Context) -> TransportMode:
    """Return the workspace's transport: ``ctx.state["transport"]`` if set, else ``settings.transport``."""
    mode = ctx.state.get("transport") or getattr(ctx.settings, "transport", "auto")
    if mode not in get_args(TransportMode):
        raise ConfigurationError(
            f"The transport setting {mode!r} is not one of auto, cli, http.",
            next_step="Set the transport to auto, cli or http.",
        )
    return cast(TransportMode, mode)


def http_transport(ctx: Context) -> HttpTransport:
    """Return the workspace's HTTP transport, created on first use and kept in ``ctx.state``."""
    transport = ctx.state.get(_HTTP_TRANSPORT_KEY)
    if not isinstance(transport, HttpTransport):
        transport = HttpTransport(ctx.settings)
        ctx.state[_HTTP_TRANSPORT_KEY] = transport
    return transport


def require_link(ctx: Context) -> ProjectLink:
    """Return the workspace's project link (repaired on disk if needed), or raise :class:`NotLinkedError`."""
    link = load_project_link(ctx.settings.workspace_dir)
    if link is None:
        raise NotLinkedError(
            f"No project is linked in {ctx.settings.workspace_dir} "
            f"({project_link_path(ctx.settings.workspace_dir)} does not exist).",
        )
    return link


def select_transport(
    ctx: Context, link: ProjectLink, *, has_cli: bool, has_http: bool
) -> Literal["cli", "http"]:
    """Pick the transport for one call from the workspace's choice and what the call offers."""
    mode = transport_mode(ctx)
    http_ready = has_http and link.has_backend_access

    if mode == "http":
        if not has_http:
            raise ConfigurationError(
                "This operation has no HTTP form, and the transport is set to http.",
                next_step="Set the transport to auto or cli.",
            )
        if not link.has_backend_access:
            raise NotLinkedError(
                "The project link has no backend URL or API key, so HTTP cannot reach the project.",
                next_step="Link the project again with insforge_link.",
            )
        return "http"

    if mode == "cli":
        if has_cli:
            return "cli"
        if http_ready:
            logger.info("The CLI has no command for this request; using HTTP instead.")
            return "http"
        raise ConfigurationError(
            "The CLI has no command for this request, and the project link has no backend URL or API key.",
            next_step="Link the project again with insforge_link, then retry.",
        )

    if http_ready:
        return "http"
    if has_cli:
        return "cli"
    raise NotLinkedError(
        "The project link has no backend URL or API key, and this request has no CLI form.",
        next_step="Link the project again with insforge_link.",
    )


async def call_project(
    ctx: Context,
    *,
    cli: Sequence[str | Secret] | None,
    http: HttpCall | None,
    destructive: bool = False,
    cli_timeout: float | None = None,
) -> Any:
    """Run one project request through the workspace's transport and return the response body.

    Args:
        ctx: The operation context.
        cli: The CLI argv without ``--json``, or ``None`` when the CLI has no such command.
        http: The HTTP request, or ``None`` when there is no HTTP form.
        destructive: The request deletes or overwrites data. The caller asks for approval
            first; here it adds ``-y`` so that the CLI never stops at its own prompt.
        cli_timeout: Seconds the CLI run may take; ``None`` keeps the CLI runner's default.

    Raises:
        NotLinkedError: No project is linked in the workspace.
        ConfigurationError: The link's backend URL is unusable (no scheme, plain http).
        InsForgeError: The typed error of the failed request.
    """
    link = require_link(ctx)
    if link.oss_host:
        check_base_url(link.oss_host, allow_insecure_loopback=ctx.settings.allow_insecure_loopback)

    chosen = select_transport(ctx, link, has_cli=cli is not None, has_http=http is not None)

    if chosen == "http":
        assert http is not None
        logger.info("Project call over HTTP: %s %s", http.method, http.path)
        response = await http_transport(ctx).request(
            http.method,
            link.oss_host,
            http.path,
            api_key=link.api_key,
            params=http.params,
            json_body=http.json,
            files=http.files,
            headers=http.headers,
            response_kind=http.response_kind,
        )
        return response.body

    assert cli is not None
    args: list[str | Secret] = list(cli)
    if destructive and "-y" not in args:
        args.append("-y")
    logger.info("Project call through the CLI: %s", " ".join(str(arg) for arg in args[:2]))
    return await ctx.cli.run_json(args, timeout=cli_timeout, requires_link=True)
