"""Project context operations: link a project, show the current link, read project metadata."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, model_validator

from insforge_tools.context import Context
from insforge_tools.errors import (
    AuthError,
    ConfigurationError,
    NotLinkedError,
    RateLimitError,
    ServerError,
    TransportError,
)
from insforge_tools.links import (
    ProjectLink,
    check_base_url,
    project_link_path,
    read_cli_config,
    read_cli_credentials,
    read_project_link,
    self_hosted_link,
    write_project_link,
)
from insforge_tools.models.metadata import AppMetadata
from insforge_tools.models.project import CurrentResult, LinkResult, ProjectInfo
from insforge_tools.registry import operation
from insforge_tools.secrets import Secret, redact_data
from insforge_tools.transports.project import HttpCall, call_project, transport_mode

__all__ = [
    "CurrentArgs",
    "LinkArgs",
    "MetadataArgs",
    "current",
    "link",
    "metadata",
    "summarize_metadata",
]

logger = logging.getLogger("insforge_tools.operations.project")

# The CLI's link installs agent skills (two npx runs of up to 60 s each) and pings the
# backend up to six times, 5 s apart, so it needs more time than an ordinary command.
_LINK_TIMEOUT = 180.0

# Characters of the metadata summary; the registry cuts anything longer than
# Settings.max_result_chars (6000 by default) with a generic note.
_METADATA_BUDGET = 4500


class LinkArgs(BaseModel):
    """Arguments of insforge_link: either api_base_url (self-hosted) or project_id (cloud)."""

    api_base_url: str | None = Field(
        default=None,
        description="Base URL of a self-hosted InsForge backend, such as https://insforge.example.com. "
        "The admin API key comes from the application's settings or credential store, never from the chat.",
    )
    project_id: str | None = Field(
        default=None,
        description="Platform project id, to link a cloud project. Needs insforge_login first.",
    )
    org_id: str | None = Field(
        default=None,
        description="Platform organization id of the cloud project; needed when the account has several.",
    )

    @model_validator(mode="after")
    def _one_form(self) -> LinkArgs:
        if self.api_base_url and (self.project_id or self.org_id):
            raise ValueError("Give either api_base_url (self-hosted) or project_id (cloud), not both.")
        if not self.api_base_url and not self.project_id:
            raise ValueError("Give api_base_url for a self-hosted backend or project_id for a cloud project.")
        return self


class CurrentArgs(BaseModel):
    """insforge_current takes no arguments."""


class MetadataArgs(BaseModel):
    """insforge_metadata takes no arguments."""


def _project_info(link: ProjectLink) -> ProjectInfo:
    return ProjectInfo(
        project_id=link.project_id,
        project_name=link.project_name,
        org_id=link.org_id,
        region=link.region,
        oss_host=link.oss_host,
        self_hosted=link.is_self_hosted,
    )


def _project_api_key(ctx: Context, base_url: str) -> Secret:
    """Return the admin API key for a self-hosted backend from the settings or the credential store."""
    if ctx.settings.project_api_key is not None:
        return Secret(ctx.settings.project_api_key.get_secret_value())
    for scope in dict.fromkeys([base_url, base_url + "/"]):
        key = ctx.credentials.get("project_api_key", scope)
        if key is not None:
            return key
    raise ConfigurationError(
        f"No admin API key is configured for {base_url}.",
        next_step=f"Ask the user to set project_api_key in the insforge-tools settings, or to store the key "
        f"in the credential store as kind project_api_key with scope {base_url}. Never ask for the key "
        "in the chat.",
    )


def _snapshot(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _restore(path: Path, previous: bytes | None) -> None:
    """Put the project link file back as it was before a failed link."""
    if previous is None:
        path.unlink(missing_ok=True)
        return
    temporary = path.with_name(path.name + ".restore")
    temporary.write_bytes(previous)
    temporary.chmod(0o600)
    temporary.replace(path)


async def _validate_link(
    ctx: Context, path: Path, previous: bytes | None
) -> tuple[bool, str | None, int | None]:
    """Make one metadata call with the new link; undo the link if the backend rejects the key."""
    try:
        body = await call_project(ctx, cli=["metadata"], http=HttpCall("GET", "/api/metadata"))
    except AuthError as exc:
        _restore(path, previous)
        raise AuthError(
            f"The backend rejected the API key, so the link was undone: {exc.message}",
            next_step="Store the project's correct admin API key (ik_…) in the settings or the credential "
            "store, then call insforge_link again.",
            code=exc.code,
            status=exc.status,
            exit_code=exc.exit_code,
        ) from None
    except (TransportError, ServerError, RateLimitError) as exc:
        logger.info("The new link could not be validated: %s", exc.message)
        return False, exc.message, None

    tables = body.get("database", {}).get("tables") if isinstance(body, dict) else None
    return True, None, len(tables) if isinstance(tables, list) else None


def _cloud_label(project_name: str | None) -> str:
    return f"cloud project {project_name}" if project_name else "cloud project"


def _summarize_link(result: LinkResult) -> str:
    project = result.project
    kind = "self-hosted backend" if project.self_hosted else _cloud_label(project.project_name)
    lines = [f"Linked this workspace to the {kind} at {project.oss_host} (project id {project.project_id})."]
    if result.validated:
        tables = f" and sees {result.table_count} tables" if result.table_count is not None else ""
        lines.append(f"The API key works{tables}.")
    else:
        lines.append(f"The link is written, but the validation call failed: {result.validation_error}")
    return "\n".join(lines)


@operation(
    "insforge_link",
    description="Link this workspace to an InsForge project: a self-hosted backend by its base URL "
    "(api_base_url), or a cloud project by project_id after insforge_login. Checks the key with one call.",
    summarize=_summarize_link,
)
async def link(ctx: Context, args: LinkArgs) -> LinkResult:
    """Link the workspace to a project and check that its key works."""
    workspace = ctx.settings.workspace_dir
    path = project_link_path(workspace)
    previous = _snapshot(path)

    if args.api_base_url:
        base_url = check_base_url(
            args.api_base_url, allow_insecure_loopback=ctx.settings.allow_insecure_loopback
        )
        key = _project_api_key(ctx, base_url)
        if transport_mode(ctx) == "cli":
            argv: list[str | Secret] = ["link", "--api-base-url", base_url, "--api-key", key]
            await ctx.cli.run_json(argv, timeout=_LINK_TIMEOUT)
            how = "cli"
        else:
            # A hand-written link file behaves exactly like one written by the CLI's link, and
            # writing it skips the CLI's skill installation and usage pings.
            write_project_link(workspace, self_hosted_link(base_url, key))
            how = "file"
        logger.info("Linked %s to the self-hosted backend %s (%s).", workspace, base_url, how)
    else:
        argv = ["link", "--project-id", str(args.project_id)]
        if args.org_id:
            argv += ["--org-id", args.org_id]
        await ctx.cli.run_json(argv, timeout=_LINK_TIMEOUT, requires_login=True)
        how = "cli"
        logger.info("Linked %s to the cloud project %s.", workspace, args.project_id)

    linked = read_project_link(workspace)
    if linked is None:
        raise NotLinkedError(f"The link reported success, but {path} does not exist.")

    validated, validation_error, table_count = await _validate_link(ctx, path, previous)
    return LinkResult(
        project=_project_info(linked),
        link_file=str(path),
        transport=how,
        validated=validated,
        validation_error=validation_error,
        table_count=table_count,
    )


def _summarize_current(result: CurrentResult) -> str:
    lines = []
    if result.authenticated:
        user = result.user or {}
        who = user.get("email") or user.get("name") or user.get("id") or "an unknown user"
        lines.append(f"The CLI is logged in to the platform as {who}.")
    else:
        lines.append("The CLI is not logged in to the platform.")
    if result.project is None:
        lines.append("No project is linked in this workspace; use insforge_link.")
    else:
        project = result.project
        kind = "self-hosted backend" if project.self_hosted else _cloud_label(project.project_name)
        lines.append(
            f"Linked to the {kind} at {project.oss_host} (project id {project.project_id}); "
            f"project calls use {result.transport}."
        )
    return "\n".join(lines)


def _project_from_cli(data: Any) -> ProjectInfo | None:
    if not isinstance(data, dict) or not data.get("project_id"):
        return None
    fields = {key: value for key, value in data.items() if key != "api_key"}
    return _project_info(ProjectLink.model_validate(fields))


@operation(
    "insforge_current",
    description="Show the CLI's platform login and the project linked in this workspace (never its key).",
    read_only=True,
    summarize=_summarize_current,
)
async def current(ctx: Context, args: CurrentArgs) -> CurrentResult:
    """Return the workspace's login and linked project."""
    mode = transport_mode(ctx)

    if mode == "cli":
        body = redact_data(await ctx.cli.run_json(["current"]))
        if not isinstance(body, dict):
            raise ConfigurationError("The CLI's current output is not a JSON object.")
        user = body.get("user") if isinstance(body.get("user"), dict) else None
        return CurrentResult(
            authenticated=bool(body.get("authenticated")),
            user=user,
            default_org_id=body.get("default_org_id"),
            project=_project_from_cli(body.get("project")),
            transport="cli",
        )

    linked = read_project_link(ctx.settings.workspace_dir)
    credentials = read_cli_credentials(ctx.settings.cli_home)
    config = read_cli_config(ctx.settings.cli_home)
    default_org = config.get("default_org_id")
    return CurrentResult(
        authenticated=credentials.authenticated,
        user=credentials.user,
        default_org_id=default_org if isinstance(default_org, str) else None,
        project=_project_info(linked) if linked is not None else None,
        transport="http" if linked is not None and linked.has_backend_access else "cli",
    )


def _number(value: float | int | None) -> str:
    if value is None:
        return "?"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value}"


def _size(gigabytes: float | None) -> str:
    if gigabytes is None:
        return "size unknown"
    if gigabytes < 1:
        return f"{gigabytes * 1024:.1f} MB"
    return f"{gigabytes:.2f} GB"


def _listing(items: list[str], budget: int, total: int, hint: str) -> list[str]:
    """Return as many of ``items`` as fit in ``budget`` characters, then a note about the rest."""
    shown: list[str] = []
    used = 0
    for item in items:
        if used + len(item) + 1 > budget:
            break
        shown.append(item)
        used += len(item) + 1
    if len(shown) < total:
        shown.append(f"  [showing {len(shown)} of {total}; {hint}]")
    return shown


def summarize_metadata(result: AppMetadata, budget: int = _METADATA_BUDGET) -> str:
    """Render project metadata compactly: tables with row counts, buckets, functions, auth highlights."""
    lines = [f"InsForge project metadata (backend version {result.version or 'unknown'})."]

    database = result.database
    lines.append(f"Database: {len(database.tables)} tables, {_size(database.total_size_gb)}.")
    table_items = [f"  {table.table_name} ({_number(table.record_count)} rows)" for table in database.tables]
    lines += _listing(
        table_items,
        budget * 6 // 10,
        len(table_items),
        "call insforge_db_tables for every name, insforge_table_schema for one table",
    )

    storage = result.storage
    lines.append(f"Storage: {len(storage.buckets)} buckets, {_size(storage.total_size_gb)}.")
    bucket_items = []
    for bucket in storage.buckets:
        objects = f", {bucket.object_count} objects" if bucket.object_count is not None else ""
        bucket_items.append(f"  {bucket.name} ({'public' if bucket.public else 'private'}{objects})")
    lines += _listing(bucket_items, budget * 15 // 100, len(bucket_items), "call insforge_storage_buckets")

    lines.append(f"Functions: {len(result.functions)}.")
    function_items = [f"  {item.slug} ({item.status or 'unknown status'})" for item in result.functions]
    lines += _listing(function_items, budget * 15 // 100, len(function_items), "call insforge_functions_list")

    auth = result.auth
    providers = auth.oauth_providers + auth.custom_oauth_providers
    highlights = [
        "email verification " + ("required" if auth.require_email_verification else "not required"),
        "signup " + ("disabled" if auth.disable_signup else "enabled"),
        "OAuth providers: " + (", ".join(providers) if providers else "none"),
    ]
    if auth.password_min_length is not None:
        highlights.append(f"password min length {_number(auth.password_min_length)}")
    lines.append("Auth: " + "; ".join(highlights) + ".")

    channels = result.realtime.channels
    lines.append(f"Realtime: {len(channels)} channels.")
    if result.deployments is not None:
        lines.append(f"Deployments: custom slug {result.deployments.custom_slug or 'not set'}.")
    if result.compute is not None:
        lines.append(f"Compute: default provider {result.compute.get('defaultProvider', 'unknown')}.")
    return "\n".join(lines)


@operation(
    "insforge_metadata",
    description="Read the linked project's metadata: tables with row counts, storage buckets, edge "
    "functions, auth settings and realtime channels. Start here to learn what a project contains.",
    read_only=True,
    summarize=summarize_metadata,
)
async def metadata(ctx: Context, args: MetadataArgs) -> AppMetadata:
    """Return the linked project's metadata."""
    body = await call_project(ctx, cli=["metadata"], http=HttpCall("GET", "/api/metadata"))
    if not isinstance(body, dict):
        raise ServerError(f"The metadata response is a JSON {type(body).__name__}, not an object.")
    try:
        return AppMetadata.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ServerError(
            f"The metadata response has an unusable field {where}: {first['msg']}.",
            next_step="Check that the backend is an InsForge backend of a supported version.",
        ) from None
