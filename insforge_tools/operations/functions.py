"""Edge function operations: list, read, deploy, invoke and delete.

Deploying is idempotent. The function is looked up first, and only a 404 means it is
absent. A 409 on create falls back to an update, and any other failure is reported as
it is. When a deploy fails, the most recent function build log lines are read and the
relevant excerpt is added to the error, because the backend's own message is often
generic while the cause (a syntax error in the code) appears only in that log.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import anyio
import httpx
from pydantic import BaseModel, Field, field_validator, model_validator

from insforge_tools.context import Context
from insforge_tools.errors import (
    ApprovalError,
    AuthError,
    ConfigurationError,
    ConflictError,
    InsForgeError,
    InvalidInputError,
    NotFoundError,
    NotLinkedError,
    PermissionDeniedError,
    ServerError,
    TimeoutError,
    TransportError,
)
from insforge_tools.links import ProjectLink, check_base_url
from insforge_tools.models.functions import (
    FunctionDeleteResult,
    FunctionDeployResult,
    FunctionDetail,
    FunctionInfo,
    FunctionInvokeResult,
    FunctionsResult,
)
from insforge_tools.operations._common import (
    cli_argv,
    confirm_destructive,
    cut_text,
    expect_dict,
    first_of,
    workspace_path,
)
from insforge_tools.operations.logs import fetch_logs
from insforge_tools.registry import operation
from insforge_tools.secrets import redact, redact_data
from insforge_tools.transports.cli import classify_failure
from insforge_tools.transports.project import (
    HttpCall,
    call_project,
    http_transport,
    require_link,
    select_transport,
)

__all__ = [
    "FunctionDeployArgs",
    "FunctionInvokeArgs",
    "FunctionSlugArgs",
    "FunctionsListArgs",
    "deploy_log_excerpt",
    "functions_delete",
    "functions_deploy",
    "functions_get",
    "functions_invoke",
    "functions_list",
    "relevant_log_lines",
]

logger = logging.getLogger("insforge_tools.operations.functions")

_SLUG_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
_RESERVED_SLUGS = frozenset({"health"})
MAX_CODE_BYTES = 5 * 1024 * 1024
"""Largest function source sent, in bytes (a limit of this package, not of the backend)."""

# How much of the build log a failed deploy reports.
DEPLOY_LOG_LINES = 50
EXCERPT_LINES = 12
EXCERPT_CHARS = 1500
_EXCERPT_LINE_CHARS = 300
_RELEVANT_LINE = re.compile(
    r"error|exception|fail|cannot|unexpected|invalid|not defined|already been declared|denied|timed out",
    re.IGNORECASE,
)

_CODE_BUDGET = 4000
_BODY_BUDGET = 4000
_TEXT_TYPES = re.compile(r"^(text/|application/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded))")

# Errors unrelated to the function code, for which the build log would not help.
_NOT_A_BUILD_FAILURE = (
    ApprovalError,
    AuthError,
    ConfigurationError,
    NotLinkedError,
    PermissionDeniedError,
    TransportError,
)


def _check_slug(value: str) -> str:
    if not _SLUG_PATTERN.match(value):
        raise ValueError("A function slug may contain only letters, digits, '-' and '_'.")
    if value in _RESERVED_SLUGS:
        raise ValueError(f"The slug {value!r} is reserved by the function runtime; choose another.")
    return value


def _function_path(slug: str) -> str:
    return f"/api/functions/{quote(slug, safe='')}"


def _function_info(data: dict[str, Any]) -> FunctionInfo:
    return FunctionInfo(
        slug=str(data.get("slug")),
        name=data.get("name"),
        description=data.get("description"),
        status=data.get("status"),
        created_at=first_of(data, "createdAt", "created_at"),
        updated_at=first_of(data, "updatedAt", "updated_at"),
        deployed_at=first_of(data, "deployedAt", "deployed_at"),
    )


# --------------------------------------------------------------------------- arguments


class FunctionsListArgs(BaseModel):
    """insforge_functions_list takes no arguments."""


class FunctionSlugArgs(BaseModel):
    """Arguments of insforge_functions_get and insforge_functions_delete."""

    slug: str = Field(min_length=1, max_length=128, description="The function's slug, such as hello-world.")

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        return _check_slug(value)


class FunctionDeployArgs(FunctionSlugArgs):
    """Arguments of insforge_functions_deploy: the code inline or from a workspace file."""

    slug: str = Field(
        min_length=1,
        max_length=128,
        description="The function's slug (letters, digits, '-', '_'); it becomes the URL /functions/<slug>. "
        "Deploying an existing slug replaces its code.",
    )
    code: str | None = Field(
        default=None,
        description="The function's TypeScript/JavaScript module: a default export of an async handler that "
        "takes a Request and returns a Response.",
    )
    path: str | None = Field(default=None, description="A workspace file with the code, instead of code.")
    name: str | None = Field(default=None, description="A display name. Default: the slug.")
    description: str | None = Field(default=None, description="What the function does.")

    @model_validator(mode="after")
    def _one_source(self) -> FunctionDeployArgs:
        if (self.code is None) == (self.path is None):
            raise ValueError("Give either code (inline) or path (a workspace file), not both or neither.")
        return self


class FunctionInvokeArgs(FunctionSlugArgs):
    """Arguments of insforge_functions_invoke."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field(
        default="POST", description="The HTTP method sent to the function."
    )
    body: Any = Field(default=None, description="A JSON value sent as the request body; omit for none.")


# --------------------------------------------------------------------------- list and get


def _summarize_functions(result: FunctionsResult) -> str:
    runtime = f"Function runtime: {result.runtime_status or 'unknown'}."
    if not result.functions:
        return f"The project has no edge functions. {runtime}"
    items = "\n".join(
        f"  {item.slug} ({item.status or 'unknown status'})"
        + (f": {item.description}" if item.description else "")
        for item in result.functions
    )
    return cut_text(
        f"{len(result.functions)} functions. {runtime}\n{items}", 4500, "some functions are left out"
    )


@operation(
    "insforge_functions_list",
    description="List the project's edge functions with their status, and whether the function runtime "
    "is running.",
    read_only=True,
    summarize=_summarize_functions,
)
async def functions_list(ctx: Context, args: FunctionsListArgs) -> FunctionsResult:
    """Return the functions and the runtime state."""
    body = await call_project(ctx, cli=cli_argv("functions", "list"), http=HttpCall("GET", "/api/functions"))
    runtime_status = None
    if isinstance(body, dict):
        runtime = body.get("runtime")
        runtime_status = runtime.get("status") if isinstance(runtime, dict) else None
        body = body.get("functions", [])
    if not isinstance(body, list):
        raise ServerError(f"The function list response is a JSON {type(body).__name__}, not an array.")
    functions = [_function_info(item) for item in body if isinstance(item, dict)]
    return FunctionsResult(functions=functions, runtime_status=runtime_status)


def _summarize_detail(result: FunctionDetail) -> str:
    head = f"Function {result.slug} ({result.status or 'unknown status'}), name {result.name!r}."
    return cut_text(f"{head}\n{result.code}", _CODE_BUDGET, "the rest of the code is left out")


@operation(
    "insforge_functions_get",
    description="Read one edge function's source code and details.",
    read_only=True,
    summarize=_summarize_detail,
)
async def functions_get(ctx: Context, args: FunctionSlugArgs) -> FunctionDetail:
    """Return one function with its code."""
    body = await call_project(
        ctx,
        cli=cli_argv("functions", "code", positionals=[args.slug]),
        http=HttpCall("GET", _function_path(args.slug)),
    )
    data = expect_dict(body, "function")
    data = data["function"] if isinstance(data.get("function"), dict) else data
    info = _function_info(data)
    return FunctionDetail(**info.model_dump(), code=str(data.get("code") or ""))


# --------------------------------------------------------------------------- deploy


def relevant_log_lines(
    lines: list[str], *, max_lines: int = EXCERPT_LINES, max_chars: int = EXCERPT_CHARS
) -> str | None:
    """Return the last log lines that look like errors (or the last lines), trimmed and redacted."""
    lines = [" ".join(line.split()) for line in lines if line and line.strip()]
    if not lines:
        return None
    relevant = [line for line in lines if _RELEVANT_LINE.search(line)] or lines
    picked = []
    for line in relevant[-max_lines:]:
        picked.append(line if len(line) <= _EXCERPT_LINE_CHARS else line[:_EXCERPT_LINE_CHARS] + "…")
    text = redact("\n".join(picked))
    if len(text) > max_chars:
        text = "…" + text[-max_chars:]
    return text


async def deploy_log_excerpt(ctx: Context) -> str | None:
    """Read the most recent function build log lines and return the relevant excerpt, if any."""
    try:
        result = await fetch_logs(ctx, "function-deploy.logs", DEPLOY_LOG_LINES)
    except InsForgeError as exc:
        logger.info("The function build log could not be read: %s", exc.message)
        return None
    return relevant_log_lines([entry.message for entry in result.entries])


def _with_excerpt(exc: InsForgeError, slug: str, excerpt: str | None) -> InsForgeError:
    """Return a copy of ``exc`` that names the function and carries the build log excerpt."""
    message = f"Deploying the function {slug} failed: {exc.message}"
    details = dict(exc.details)
    if excerpt:
        message += f"\nRecent function build log lines:\n{excerpt}"
        details["deploy_log_excerpt"] = excerpt
        next_step = "Fix the function code using the build log lines above, then deploy again."
    else:
        next_step = exc.next_step or "Read insforge_logs with source function-deploy.logs, then deploy again."
    return type(exc)(
        message,
        next_step=next_step,
        code=exc.code,
        status=exc.status,
        exit_code=exc.exit_code,
        retryable=exc.retryable,
        details=details,
    )


async def _code_of(ctx: Context, args: FunctionDeployArgs) -> tuple[str, Path | None]:
    if args.code is not None:
        code = args.code
        source = None
    else:
        assert args.path is not None
        source = workspace_path(ctx, args.path, what="function file")
        if not await anyio.Path(source).is_file():
            raise InvalidInputError(
                f"The function file {args.path!r} does not exist or is not a file.",
                next_step="Check the path; relative paths start at the workspace directory.",
            )
        try:
            code = await anyio.Path(source).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError(f"The function file {args.path!r} is not UTF-8 text.") from None
    if not code.strip():
        raise InvalidInputError("The function code is empty.", next_step="Send the module's source code.")
    if len(code.encode("utf-8")) > MAX_CODE_BYTES:
        raise InvalidInputError(
            f"The function code is larger than {MAX_CODE_BYTES} bytes.",
            next_step="Bundle or shorten the code; edge functions are single modules.",
        )
    return code, source


async def _deploy_over_http(ctx: Context, args: FunctionDeployArgs, code: str) -> tuple[Any, str]:
    path = _function_path(args.slug)
    update: dict[str, Any] = {"name": args.name or args.slug, "code": code}
    if args.description is not None:
        update["description"] = args.description

    try:
        await call_project(ctx, cli=None, http=HttpCall("GET", path))
        exists = True
    except NotFoundError:
        exists = False

    if exists:
        return await call_project(ctx, cli=None, http=HttpCall("PUT", path, json=update)), "updated"
    try:
        created = await call_project(
            ctx, cli=None, http=HttpCall("POST", "/api/functions", json={"slug": args.slug, **update})
        )
        return created, "created"
    except ConflictError:
        logger.info("The function %s was created meanwhile (409); updating it instead.", args.slug)
        return await call_project(ctx, cli=None, http=HttpCall("PUT", path, json=update)), "updated"


async def _deploy_through_cli(
    ctx: Context, args: FunctionDeployArgs, code: str, source: Path | None
) -> tuple[Any, str]:
    # The CLI does not report whether it created or updated, so ask first.
    try:
        await call_project(ctx, cli=cli_argv("functions", "code", positionals=[args.slug]), http=None)
        action = "updated"
    except NotFoundError:
        action = "created"

    folder = None
    if source is None:
        # The CLI deploys from a file only, so inline code goes through a private temporary file.
        folder = Path(tempfile.mkdtemp(prefix="insforge-function-"))
        source = folder / f"{args.slug}.ts"
        await anyio.Path(source).write_text(code, encoding="utf-8")
    options = ["--file", str(source), "--name", args.name or args.slug]
    if args.description is not None:
        options += ["--description", args.description]
    try:
        body = await call_project(
            ctx, cli=cli_argv("functions", "deploy", options=options, positionals=[args.slug]), http=None
        )
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    return body, action


def _failed_status(data: dict[str, Any]) -> str | None:
    """Return the failure status a deploy response reports, or None when it reports none."""
    deployment = data.get("deployment")
    if isinstance(deployment, dict) and str(deployment.get("status", "")).lower() in ("failed", "error"):
        return str(deployment["status"])
    function = data.get("function")
    if isinstance(function, dict) and str(function.get("status", "")).lower() == "error":
        return str(function["status"])
    return None


def _summarize_deploy(result: FunctionDeployResult) -> str:
    text = f"Function {result.function.slug} {result.action} (status {result.function.status or 'unknown'})."
    if result.deployment_status:
        text += f" Deployment: {result.deployment_status}."
    if result.deployment_url:
        text += f" URL: {result.deployment_url}"
    return text


@operation(
    "insforge_functions_deploy",
    description="Create or update an edge function from inline code or a workspace file. Redeploying an "
    "existing slug replaces its code. On failure the error includes the recent build log lines.",
    summarize=_summarize_deploy,
)
async def functions_deploy(ctx: Context, args: FunctionDeployArgs) -> FunctionDeployResult:
    """Deploy a function, creating it or updating the existing one."""
    code, source = await _code_of(ctx, args)
    link = require_link(ctx)
    chosen = select_transport(ctx, link, has_cli=True, has_http=True)

    try:
        if chosen == "http":
            body, action = await _deploy_over_http(ctx, args, code)
        else:
            body, action = await _deploy_through_cli(ctx, args, code, source)
    except InsForgeError as exc:
        if isinstance(exc, _NOT_A_BUILD_FAILURE):
            raise
        raise _with_excerpt(exc, args.slug, await deploy_log_excerpt(ctx)) from None

    data = expect_dict(body, "function deploy")
    failed = _failed_status(data)
    if failed is not None:
        failure = ServerError(
            f"The backend accepted the code but reported the deployment as {failed}.",
            code="FUNCTION_DEPLOY_FAILED",
            retryable=False,
        )
        raise _with_excerpt(failure, args.slug, await deploy_log_excerpt(ctx))

    function = data["function"] if isinstance(data.get("function"), dict) else {"slug": args.slug}
    deployment = data.get("deployment")
    if not isinstance(deployment, dict):
        deployment = {}
    logger.info("Function %s %s.", args.slug, action)
    return FunctionDeployResult(
        function=_function_info(function),
        action=action,
        deployment_status=deployment.get("status"),
        deployment_url=deployment.get("url"),
    )


# --------------------------------------------------------------------------- invoke


def _runtime_unavailable(status: int | None, body: Any) -> bool:
    # The backend's function proxy returns 502 with only {"error": "request to … failed, reason: …"}
    # when it cannot reach the function runtime; a function's own 502 would carry its own body.
    return (
        status in (502, 503, 504)
        and isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(body["error"], str)
    )


def _decode_body(content: bytes, content_type: str | None) -> Any:
    kind = (content_type or "").split(";")[0].strip().lower()
    if not content:
        return None
    if "json" in kind:
        try:
            return json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            pass
    if not kind or _TEXT_TYPES.match(kind):
        return content.decode("utf-8", errors="replace")
    return f"<{len(content)} bytes of {kind}; binary content is not shown>"


async def _invoke_over_http(
    ctx: Context, link: ProjectLink, args: FunctionInvokeArgs
) -> tuple[int, str | None, Any]:
    check_base_url(link.oss_host, allow_insecure_loopback=ctx.settings.allow_insecure_loopback)
    path = f"/functions/{quote(args.slug, safe='')}"
    headers = {"Content-Type": "application/json"}
    if link.api_key is not None:
        headers["Authorization"] = f"Bearer {link.api_key.reveal()}"
    content = json.dumps(args.body) if args.body is not None else None

    # Not through HttpTransport.request: a function's 4xx/5xx response is its result, not an error.
    logger.info("Project call over HTTP: %s %s", args.method, path)
    client = await http_transport(ctx).client()
    try:
        response = await client.request(
            args.method, link.oss_host.rstrip("/") + path, content=content, headers=headers
        )
    except httpx.TimeoutException:
        raise TimeoutError(
            f"Invoking the function {args.slug} timed out after {ctx.settings.http_timeout:g} s.",
            retryable=True,
        ) from None
    except httpx.TransportError as exc:
        raise TransportError(
            f"Invoking the function {args.slug} could not reach {link.oss_host}: "
            f"{redact(str(exc)) or type(exc).__name__}.",
            retryable=True,
        ) from None
    content_type = response.headers.get("content-type")
    return response.status_code, content_type, _decode_body(response.content, content_type)


def _cli_output(stdout: str) -> tuple[int | None, str | None, Any]:
    """Read what ``functions invoke --json`` printed: ``{"status", "body"}`` for JSON, else the text."""
    text = stdout.strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and set(data) == {"status", "body"} and isinstance(data["status"], int):
        return data["status"], "application/json", data["body"]
    return None, "text/plain" if text else None, stdout if text else None


async def _invoke_through_cli(ctx: Context, args: FunctionInvokeArgs) -> tuple[int | None, str | None, Any]:
    ctx.cli.ensure_ready(requires_login=False, requires_link=True)
    options = ["--method", args.method]
    if args.body is not None:
        options += ["--data", json.dumps(args.body)]
    argv = cli_argv("functions", "invoke", options=options, positionals=[args.slug])
    logger.info("Project call through the CLI: functions invoke")
    run = await ctx.cli.run(argv)
    if run.exit_code == 0:
        return _cli_output(run.stdout)

    error = classify_failure("functions invoke", run.exit_code, run.stdout, run.stderr)
    if error.code != "HTTP_ERROR":
        raise error
    status, content_type, body = _cli_output(run.stdout)
    return status if status is not None else error.status, content_type, body


def _summarize_invoke(result: FunctionInvokeResult) -> str:
    status = result.status if result.status is not None else "2xx"
    body = result.body if isinstance(result.body, str) else json.dumps(result.body, ensure_ascii=False)
    head = f"{result.slug} answered HTTP {status}" + ("" if result.ok else " (an error status)")
    return cut_text(f"{head}:\n{body}", _BODY_BUDGET, "the rest of the response body is left out")


@operation(
    "insforge_functions_invoke",
    description="Call an edge function with a method and a JSON body and return its status and response. "
    "Fails with a clear error when the project's function runtime is not running.",
    summarize=_summarize_invoke,
)
async def functions_invoke(ctx: Context, args: FunctionInvokeArgs) -> FunctionInvokeResult:
    """Invoke a function and return its response, whatever its status."""
    link = require_link(ctx)
    chosen = select_transport(ctx, link, has_cli=True, has_http=True)
    status: int | None
    if chosen == "http":
        status, content_type, body = await _invoke_over_http(ctx, link, args)
    else:
        status, content_type, body = await _invoke_through_cli(ctx, args)

    if _runtime_unavailable(status, body):
        reason = redact(str(body["error"]))[:300]
        raise ServerError(
            f"The function runtime is not running, so the function {args.slug} could not be invoked: the "
            f"backend's function proxy answered HTTP {status} ({reason}).",
            code="FUNCTION_RUNTIME_UNAVAILABLE",
            status=status,
            retryable=False,
            next_step="Functions can still be listed, deployed and deleted. Ask the project owner to start "
            "the edge function runtime (insforge_functions_list shows its status), then invoke again.",
        )

    return FunctionInvokeResult(
        slug=args.slug,
        status=status,
        ok=status is None or status < 400,
        content_type=content_type,
        body=redact_data(body),
    )


# --------------------------------------------------------------------------- delete


def _summarize_delete(result: FunctionDeleteResult) -> str:
    return f"Deleted the function {result.slug}."


@operation(
    "insforge_functions_delete",
    description="Delete an edge function. Needs a human's approval.",
    destructive=True,
    summarize=_summarize_delete,
)
async def functions_delete(ctx: Context, args: FunctionSlugArgs) -> FunctionDeleteResult:
    """Delete a function, after approval."""
    await confirm_destructive(
        ctx,
        "insforge_functions_delete",
        f"Delete the edge function {args.slug}.",
        slug=args.slug,
    )
    body = await call_project(
        ctx,
        cli=cli_argv("functions", "delete", options=["-y"], positionals=[args.slug]),
        http=HttpCall("DELETE", _function_path(args.slug)),
        destructive=True,
    )
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    return FunctionDeleteResult(slug=args.slug, message=message)
