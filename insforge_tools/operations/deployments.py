"""Deployment operations: deploy a workspace directory as the project's site, read a deployment.

Deploying is a platform-level step, so it runs the CLI's ``deployments deploy`` unless the
transport is set to ``http``; then the same direct-upload flow runs here: register the file
manifest (path, SHA-1, size), upload each file the backend does not have yet, start the
deployment and poll it until it is READY, fails, or the wait ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import httpx
from pydantic import BaseModel, Field, field_validator

from insforge_tools.context import Context
from insforge_tools.errors import (
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutError,
    TransportError,
)
from insforge_tools.links import ProjectLink, check_base_url
from insforge_tools.models.deployments import DeploymentResult
from insforge_tools.operations._common import (
    cli_argv,
    confirm_destructive,
    expect_dict,
    first_of,
    workspace_path,
)
from insforge_tools.registry import operation
from insforge_tools.secrets import Secret, redact, remember_secret
from insforge_tools.transports.errors import error_for_response
from insforge_tools.transports.project import (
    HttpCall,
    call_project,
    http_transport,
    require_link,
    select_transport,
    transport_mode,
)

__all__ = [
    "DEPLOY_IGNORED",
    "DeployArgs",
    "DeploymentStatusArgs",
    "collect_files",
    "deploy",
    "deployment_status",
]

logger = logging.getLogger("insforge_tools.operations.deployments")

DEPLOY_IGNORED = frozenset({"node_modules", ".git", ".insforge", ".next", ".env", ".env.local"})
"""File and folder names never deployed; ``.insforge`` holds the project's API key."""

MAX_FILES = 5000
"""The backend's default limit of files in one deployment."""

DEPLOY_WAIT_SECONDS = 300.0
POLL_INTERVAL_SECONDS = 5.0
# The CLI waits up to 300 s for the deployment and needs time to upload before that.
_CLI_DEPLOY_TIMEOUT = DEPLOY_WAIT_SECONDS + 120.0

_FINISHED_OK = "READY"
_FINISHED_FAILED = frozenset({"ERROR", "CANCELED"})


@dataclass(frozen=True)
class DeployFile:
    """One file of a deployment: its path relative to the deployed directory and its digest."""

    path: str
    source: Path
    sha: str
    size: int


def collect_files(root: Path) -> list[DeployFile]:
    """Return the files below ``root`` to deploy, sorted by path, skipping :data:`DEPLOY_IGNORED`.

    Symbolic links are not followed, and a linked file whose target lies outside ``root``
    is skipped, so a deployment never publishes files from elsewhere.
    """
    resolved_root = root.resolve()
    files = []
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders[:] = sorted(name for name in subfolders if name not in DEPLOY_IGNORED)
        for name in sorted(names):
            if name in DEPLOY_IGNORED:
                continue
            source = Path(folder) / name
            target = source.resolve()
            if not target.is_file() or resolved_root not in target.parents:
                continue
            data = target.read_bytes()
            files.append(
                DeployFile(
                    path=source.relative_to(root).as_posix(),
                    source=target,
                    # SHA-1 is the content id the deployment API expects, not a security measure.
                    sha=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
                    size=len(data),
                )
            )
    return sorted(files, key=lambda item: item.path)


def _deployment(data: dict[str, Any]) -> DeploymentResult:
    metadata = data.get("metadata")
    return DeploymentResult(
        id=str(data["id"]) if data.get("id") is not None else None,
        status=data.get("status"),
        url=data.get("url"),
        provider=data.get("provider"),
        created_at=first_of(data, "createdAt", "created_at"),
        updated_at=first_of(data, "updatedAt", "updated_at"),
        timed_out=bool(data.get("timedOut")),
        metadata=metadata if isinstance(metadata, dict) else None,
    )


def _summarize(result: DeploymentResult) -> str:
    text = f"Deployment {result.id or '(no id)'}: {result.status or 'unknown status'}"
    if result.url:
        text += f", served at {result.url}"
    text += "."
    if result.files_total is not None:
        text += f" {result.files_uploaded or 0} of {result.files_total} files uploaded (the rest were known)."
    if result.timed_out:
        text += " The wait ended before it finished; check it later with insforge_deployment_status."
    return text


# --------------------------------------------------------------------------- deploy


class DeployArgs(BaseModel):
    """Arguments of insforge_deploy."""

    directory: str = Field(
        default=".",
        description="The directory to deploy, inside the workspace (usually the build output, such as dist).",
    )
    env: dict[str, str] | None = Field(
        default=None, description="Environment variables for the site's build and runtime, by name."
    )
    meta: dict[str, str] | None = Field(default=None, description="Labels stored with the deployment.")

    @field_validator("env")
    @classmethod
    def _remember_values(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        # Environment values are often credentials; keep them out of every log and message.
        for item in (value or {}).values():
            remember_secret(item)
        return value


async def _put_bytes(ctx: Context, link: ProjectLink, path: str, data: bytes) -> None:
    """Upload raw bytes with PUT (HttpCall carries JSON or multipart bodies only)."""
    client = await http_transport(ctx).client()
    headers = {"Content-Type": "application/octet-stream"}
    if link.api_key is not None:
        headers["Authorization"] = f"Bearer {link.api_key.reveal()}"
    try:
        response = await client.put(link.oss_host.rstrip("/") + path, content=data, headers=headers)
    except httpx.TimeoutException:
        raise TimeoutError(
            f"PUT {path} timed out after {ctx.settings.http_timeout:g} s.", retryable=True
        ) from None
    except httpx.TransportError as exc:
        raise TransportError(
            f"PUT {path} could not reach {link.oss_host}: {redact(str(exc)) or type(exc).__name__}.",
            retryable=True,
        ) from None
    if response.status_code >= 400:
        raise error_for_response(response.status_code, response.content, method="PUT", path=path)


async def _poll(ctx: Context, link: ProjectLink, deployment_id: str) -> dict[str, Any]:
    """Poll the deployment until it finishes or the wait ends; passing failures are retried."""
    path = f"/api/deployments/{quote(deployment_id, safe='')}"
    host = urlsplit(link.oss_host).hostname or ""
    deadline = time.monotonic() + DEPLOY_WAIT_SECONDS
    status: dict[str, Any] = {"id": deployment_id}

    while True:
        try:
            if not host.endswith(".insforge.app"):
                # Self-hosted backends learn the provider's state only when asked to sync.
                await call_project(ctx, cli=None, http=HttpCall("POST", f"{path}/sync"))
            status = expect_dict(await call_project(ctx, cli=None, http=HttpCall("GET", path)), "deployment")
        except (ServerError, RateLimitError, TransportError) as exc:
            logger.info(
                "Polling deployment %s failed (%s); retrying until the wait ends.", deployment_id, exc.message
            )
        else:
            state = str(status.get("status") or "").upper()
            if state == _FINISHED_OK:
                return status
            if state in _FINISHED_FAILED:
                raise ServerError(
                    f"The deployment {deployment_id} ended with status {state}.",
                    code="DEPLOYMENT_FAILED",
                    retryable=False,
                    details={"status": state},
                    next_step="Read the build output with insforge_deployment_status and the project's logs, "
                    "fix the site, then deploy again.",
                )
        if time.monotonic() + POLL_INTERVAL_SECONDS > deadline:
            return {**status, "id": deployment_id, "timedOut": True}
        await anyio.sleep(POLL_INTERVAL_SECONDS)


async def _deploy_over_http(
    ctx: Context, link: ProjectLink, root: Path, args: DeployArgs
) -> DeploymentResult:
    check_base_url(link.oss_host, allow_insecure_loopback=ctx.settings.allow_insecure_loopback)
    files = await anyio.to_thread.run_sync(collect_files, root)
    if not files:
        raise InvalidInputError(f"The directory {args.directory!r} has no files to deploy.")
    if len(files) > MAX_FILES:
        raise InvalidInputError(
            f"The directory {args.directory!r} has {len(files)} files; "
            f"a deployment takes at most {MAX_FILES}.",
            next_step="Deploy the build output folder only (such as dist), not the whole project.",
        )

    manifest = [{"path": item.path, "sha": item.sha, "size": item.size} for item in files]
    try:
        created = await call_project(
            ctx, cli=None, http=HttpCall("POST", "/api/deployments/direct", json={"files": manifest})
        )
    except NotFoundError as exc:
        # NOTE: the CLI falls back to a legacy zip upload here; this client does not implement it.
        raise NotFoundError(
            f"The backend has no direct-upload deployments ({exc.message}).",
            code=exc.code,
            status=exc.status,
            next_step="Deploy with the CLI transport (set the transport to cli), "
            "which supports older backends.",
        ) from None
    created = expect_dict(created, "deployment creation")
    deployment_id = str(created.get("id"))
    by_path = {item.path: item for item in files}

    uploaded = 0
    for entry in created.get("files") or []:
        if not isinstance(entry, dict) or entry.get("uploadedAt") or entry.get("path") not in by_path:
            continue
        data = await anyio.Path(by_path[entry["path"]].source).read_bytes()
        file_id = quote(str(entry.get("fileId")), safe="")
        file_path = f"/api/deployments/{quote(deployment_id, safe='')}/files/{file_id}/content"
        await _put_bytes(ctx, link, file_path, data)
        uploaded += 1

    start: dict[str, Any] = {}
    if args.env:
        start["envVars"] = [{"key": key, "value": value} for key, value in args.env.items()]
    if args.meta:
        start["meta"] = args.meta
    await call_project(
        ctx,
        cli=None,
        http=HttpCall("POST", f"/api/deployments/{quote(deployment_id, safe='')}/start", json=start),
    )
    logger.info("Deployment %s started (%d of %d files uploaded).", deployment_id, uploaded, len(files))

    result = _deployment(await _poll(ctx, link, deployment_id))
    result.files_uploaded = uploaded
    result.files_total = len(files)
    return result


@operation(
    "insforge_deploy",
    description="Deploy a workspace directory (a built site, such as dist) as the project's website and wait "
    "until it is live. Needs a human's approval.",
    destructive=True,
    summarize=_summarize,
)
async def deploy(ctx: Context, args: DeployArgs) -> DeploymentResult:
    """Deploy a directory, after approval, and return the finished (or still running) deployment."""
    root = workspace_path(ctx, args.directory, what="deploy directory")
    if not await anyio.Path(root).is_dir():
        raise InvalidInputError(
            f"The deploy directory {args.directory!r} does not exist or is not a directory.",
            next_step="Build the site first, then give its output folder (relative to the workspace).",
        )
    link = require_link(ctx)
    use_http = (
        transport_mode(ctx) == "http" and select_transport(ctx, link, has_cli=True, has_http=True) == "http"
    )

    await confirm_destructive(
        ctx,
        "insforge_deploy",
        f"Deploy {args.directory} as the project's live website, replacing the current deployment.",
        directory=str(root),
        env_keys=sorted(args.env or {}),
        meta=args.meta or {},
    )

    if use_http:
        return await _deploy_over_http(ctx, link, root, args)

    options: list[str | Secret] = []
    if args.env:
        options += ["--env", Secret(json.dumps(args.env))]
    if args.meta:
        options += ["--meta", json.dumps(args.meta)]
    body = await call_project(
        ctx,
        cli=cli_argv("deployments", "deploy", options=options, positionals=[str(root)]),
        http=None,
        cli_timeout=_CLI_DEPLOY_TIMEOUT,
    )
    return _deployment(expect_dict(body, "deployment"))


# --------------------------------------------------------------------------- status


class DeploymentStatusArgs(BaseModel):
    """Arguments of insforge_deployment_status."""

    deployment_id: str = Field(min_length=1, max_length=128, description="The deployment's id.")
    sync: bool = Field(
        default=False, description="Ask the backend to refresh the state from the hosting provider first."
    )

    @field_validator("deployment_id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not all(char.isalnum() or char in "-_" for char in value):
            raise ValueError("A deployment id contains only letters, digits, '-' and '_'.")
        return value


@operation(
    "insforge_deployment_status",
    description="Show one deployment's status and URL.",
    read_only=True,
    summarize=_summarize,
)
async def deployment_status(ctx: Context, args: DeploymentStatusArgs) -> DeploymentResult:
    """Return one deployment."""
    path = f"/api/deployments/{quote(args.deployment_id, safe='')}"
    link = require_link(ctx)
    chosen = select_transport(ctx, link, has_cli=True, has_http=True)
    if chosen == "cli":
        options = ["--sync"] if args.sync else []
        body = await call_project(
            ctx,
            cli=cli_argv("deployments", "status", options=options, positionals=[args.deployment_id]),
            http=None,
        )
    else:
        if args.sync:
            await call_project(ctx, cli=None, http=HttpCall("POST", f"{path}/sync"))
        body = await call_project(ctx, cli=None, http=HttpCall("GET", path))
    return _deployment(expect_dict(body, "deployment"))
