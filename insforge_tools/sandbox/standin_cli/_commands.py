"""The stand-in CLI's commands. Each follows the InsForge CLI 0.2.8 command of the same name."""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from insforge_tools.sandbox.standin_cli._runtime import (
    BACKEND_TIMEOUT_SECONDS,
    FAKE_ORG_ID,
    FAKE_PROJECT_ID,
    LINK_PING_ATTEMPTS,
    OAUTH_CLIENT_ID,
    OAUTH_SCOPES,
    PLATFORM_TIMEOUT_SECONDS,
    CliFailure,
    Project,
    UnknownFailure,
    _is_loopback,
    global_dir,
    is_self_hosted,
    js_stringify,
    network_message,
    oss_failure,
    parse_json_text,
    platform_fetch,
    platform_url,
    print_compact,
    print_json,
    project_file,
    read_credentials,
    read_global_config,
    read_project_config,
    send,
    write_global_config,
    write_private_json,
)

LOG_SOURCES = ("insforge.logs", "postgREST.logs", "postgres.logs", "function.logs", "function-deploy.logs")
GITIGNORE_ENTRIES = (
    ".insforge",
    ".agent",
    ".agents",
    ".augment",
    ".claude",
    ".cline",
    ".github/copilot*",
    ".kilocode",
    ".qoder",
    ".qwen",
    ".roo",
    ".trae",
    ".windsurf",
)
DEPLOY_IGNORED = frozenset({"node_modules", ".git", ".insforge", ".next", ".env", ".env.local"})
DEPLOY_TIMEOUT_SECONDS = 300.0


class Cancelled(Exception):
    """A prompt was cancelled (end of input): the CLI exits 0 without doing anything."""


@dataclass
class Invocation:
    """One parsed command line."""

    path: tuple[str, ...]
    arguments: list[str]
    options: dict[str, Any] = field(default_factory=dict)
    json_mode: bool = False
    yes: bool = False
    api_url: str | None = None

    @property
    def tool_name(self) -> str:
        return "cli." + ".".join(self.path)

    def argument(self, index: int) -> str | None:
        return self.arguments[index] if index < len(self.arguments) else None

    def output(self, data: Any) -> None:
        print_json(data)


# -- authentication ------------------------------------------------------------------------------


def _login_wait_seconds() -> float:
    try:
        return float(os.environ.get("INSFORGE_STANDIN_LOGIN_WAIT", "300"))
    except ValueError:
        return 300.0


def browser_login(invocation: Invocation) -> None:
    """Imitate the OAuth browser login: print the authorize URL, open $BROWSER, wait, time out."""
    base = platform_url(invocation.api_url)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        verifier = secrets.token_urlsafe(32)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query = urlencode(
            {
                "client_id": OAUTH_CLIENT_ID,
                "redirect_uri": f"http://127.0.0.1:{port}/callback",
                "response_type": "code",
                "scope": OAUTH_SCOPES,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "state": secrets.token_urlsafe(16),
            }
        )
        url = f"{base}/api/oauth/v1/authorize?{query}"
        sys.stderr.write(f"\nTo sign in, open this URL in your browser:\n\n  {url}\n\n")
        sys.stderr.flush()
        _open_browser(url)
        sys.stderr.write("Waiting for authentication...\n")
        sys.stderr.flush()
        time.sleep(_login_wait_seconds())
    finally:
        listener.close()
    raise UnknownFailure("Authentication timed out. Please try again.")


def _open_browser(url: str) -> None:
    browser = os.environ.get("BROWSER")
    if not browser:
        return
    try:
        subprocess.run(
            [*shlex.split(browser), url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        pass


def require_auth(invocation: Invocation, *, allow_oss_bypass: bool = True) -> dict[str, Any]:
    """Return credentials, or start the browser login exactly when the real CLI does."""
    if allow_oss_bypass and is_self_hosted(read_project_config()):
        return {"access_token": "oss-token", "user": {"id": "oss-user", "email": "oss@insforge.local"}}
    credentials = read_credentials()
    if credentials and (credentials.get("user_api_key") or credentials.get("access_token")):
        return credentials
    if credentials and str(credentials.get("refresh_token") or "").startswith("uak_"):
        credentials["user_api_key"] = credentials["refresh_token"]
        write_private_json(global_dir() / "credentials.json", credentials)
        return credentials
    sys.stdout.write("│\n●  You need to log in to continue.\n")
    sys.stdout.flush()
    browser_login(invocation)
    raise AssertionError("unreachable")


def require_project(invocation: Invocation) -> Project:
    require_auth(invocation)
    config = read_project_config()
    if config is None:
        raise CliFailure("No project linked. Run `npx @insforge/cli link` first.", 3, "PROJECT_NOT_LINKED")
    return Project(config)


def run_project_command(
    invocation: Invocation, body: Callable[[Project], Any], *, ping_on_success: bool = True
) -> None:
    """Run a project-backend command: auth, link check, the request(s), output and the usage ping."""
    project = require_project(invocation)
    try:
        result = body(project)
    except CliFailure:
        project.ping(invocation.tool_name, False)
        raise
    if result is not None:
        invocation.output(result)
    if ping_on_success:
        project.ping(invocation.tool_name, True)


def confirm(invocation: Invocation, question: str) -> None:
    """Ask a yes/no question on stdout unless -y or --json; end of input cancels."""
    if invocation.yes or invocation.json_mode:
        return
    sys.stdout.write(f"? {question} [y/n] ")
    sys.stdout.flush()
    answer = sys.stdin.readline()
    if answer.strip().lower() not in ("y", "yes"):
        sys.stdout.write("│\n●  Cancelled.\n")
        raise Cancelled()


# -- account ------------------------------------------------------------------------------


def login(invocation: Invocation) -> None:
    key = invocation.options.get("userApiKey")
    if not isinstance(key, str):
        if invocation.options.get("email"):
            raise CliFailure(
                "Email and password are required. Set INSFORGE_EMAIL and INSFORGE_PASSWORD environment "
                "variables for non-interactive mode.",
                1,
                "UNKNOWN_ERROR",
            )
        browser_login(invocation)
        return
    if not key.startswith("uak_"):
        raise CliFailure('Invalid API key — must start with "uak_".')

    url = f"{platform_url(invocation.api_url)}/auth/v1/profile"
    try:
        response = send(
            "GET", url, headers={"Authorization": f"Bearer {key}"}, timeout=PLATFORM_TIMEOUT_SECONDS
        )
    except httpx.HTTPError as exc:
        raise CliFailure(network_message(url, exc)) from None
    if not response.is_success:
        try:
            body = response.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        detail = body.get("message") or body.get("error")
        suffix = f": {detail}" if detail else ""
        if response.status_code in (401, 403):
            raise CliFailure(f"API key is invalid or revoked{suffix}")
        raise CliFailure(f"Could not verify API key (HTTP {response.status_code}){suffix}")

    try:
        profile = response.json()
    except ValueError:
        profile = None
    user = profile.get("user") if isinstance(profile, dict) and "user" in profile else profile
    if not isinstance(user, dict) or not user.get("id"):
        raise CliFailure("Profile response was empty or malformed")

    write_private_json(
        global_dir() / "credentials.json",
        {"access_token": "", "refresh_token": "", "user_api_key": key, "user": user},
    )
    print_compact({"success": True, "user": user})


def logout(invocation: Invocation) -> None:
    for name in ("credentials.json", "pending-device.json"):
        (global_dir() / name).unlink(missing_ok=True)
    config_path = global_dir() / "config.json"
    if config_path.exists():
        config = read_global_config()
        config.pop("default_org_id", None)
        write_global_config(config)
    invocation.output({"success": True, "message": "Logged out successfully"})


def whoami(invocation: Invocation) -> None:
    require_auth(invocation)
    profile = platform_fetch(platform_url(invocation.api_url), "GET", "/auth/v1/profile")
    user = profile.get("user") if isinstance(profile, dict) and "user" in profile else profile
    invocation.output(user)


def current(invocation: Invocation) -> None:
    credentials = read_credentials()
    config = read_global_config()
    project = read_project_config()
    if project is not None:
        project = {key: value for key, value in project.items() if key != "api_key"}
    invocation.output(
        {
            "authenticated": credentials is not None,
            "user": credentials.get("user") if credentials else None,
            "default_org_id": config.get("default_org_id"),
            "project": project,
        }
    )


# -- link ----------------------------------------------------------------------------------


def link(invocation: Invocation) -> None:
    options = invocation.options
    base_url = options.get("apiBaseUrl")
    api_key = options.get("apiKey")
    if base_url is not None or api_key is not None:
        _link_direct(invocation, base_url, api_key)
        return
    if options.get("projectId") or options.get("orgId") or options.get("template") or options.get("auth"):
        _link_cloud(invocation)
        return

    _write_gitignore()
    config = read_project_config()
    _write_agents_md(config)
    invocation.output({"success": True, "skills_only": True})
    if config is not None:
        Project(config).ping("cli.link", True)


def _link_direct(invocation: Invocation, base_url: Any, api_key: Any) -> None:
    if not isinstance(base_url, str) or not isinstance(api_key, str):
        raise CliFailure("Both --api-base-url and --api-key must be provided together for direct linking.")
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$", base_url) or " " in base_url:
        raise CliFailure("Invalid --api-base-url. Please provide a valid URL.")

    oss_host = base_url[:-1] if base_url.endswith("/") else base_url
    config: dict[str, Any] = {
        "project_id": FAKE_PROJECT_ID,
        "project_name": "oss-project",
        "org_id": FAKE_ORG_ID,
        "appkey": "ossfkey",
        "region": "us-test",
        "api_key": api_key,
        "oss_host": oss_host,
    }
    guard = invocation.options.get("guard")
    if guard is not None:
        config["guard"] = guard is True or str(guard).lower() in ("1", "true", "on", "yes", "enabled")
    write_private_json(project_file(), config)
    _write_gitignore()
    _write_agents_md(config)
    invocation.output(
        {"success": True, "project": {"id": FAKE_PROJECT_ID, "name": "oss-project", "region": "us-test"}}
    )
    Project(config).ping("cli.link_direct", True, attempts=LINK_PING_ATTEMPTS)


def _link_cloud(invocation: Invocation) -> None:
    credentials = require_auth(invocation, allow_oss_bypass=False)
    base = platform_url(invocation.api_url)
    options = invocation.options

    org_id = options.get("orgId") or os.environ.get("INSFORGE_ORG_ID")
    if not org_id:
        organizations = _unwrap(platform_fetch(base, "GET", "/organizations/v1"), "organizations")
        if len(organizations) == 1:
            org_id = organizations[0].get("id")
        elif not organizations:
            raise CliFailure("No organizations found.")
        else:
            raise CliFailure("Multiple organizations found. Specify --org-id.")

    project_id = options.get("projectId")
    if not project_id:
        projects = _unwrap(platform_fetch(base, "GET", f"/organizations/v1/{org_id}/projects"), "projects")
        if not projects:
            raise CliFailure("No projects found in this organization.")
        raise CliFailure("Specify --project-id in JSON mode.")

    config = read_global_config()
    config["platform_api_url"] = base
    config["default_org_id"] = org_id
    write_global_config(config)

    email = (credentials.get("user") or {}).get("email", "")
    try:
        project = platform_fetch(base, "GET", f"/projects/v1/{project_id}")
        key_body = platform_fetch(base, "GET", f"/projects/v1/{project_id}/access-api-key")
    except CliFailure as exc:
        if exc.status in (403, 404) or "not found" in exc.message.lower():
            # NOTE: the real message continues after the email; only this part is recorded.
            raise CliFailure(
                f"No access to project {project_id} as {email}.", 5, "PERMISSION_DENIED"
            ) from None
        raise
    project = project.get("project", project) if isinstance(project, dict) else {}
    appkey = project.get("appkey")
    region = project.get("region")
    project_config = {
        "project_id": project.get("id", project_id),
        "project_name": project.get("name"),
        "org_id": project.get("organization_id", org_id),
        "appkey": appkey,
        "region": region,
        "api_key": key_body.get("access_api_key") if isinstance(key_body, dict) else None,
        "oss_host": f"https://{appkey}.{region}.insforge.app",
    }
    write_private_json(project_file(), project_config)
    _write_gitignore()
    _write_agents_md(project_config)
    invocation.output(
        {
            "success": True,
            "project": {"id": project_config["project_id"], "name": project.get("name"), "region": region},
        }
    )
    # The cloud host is never loopback, and the stand-in contacts only loopback
    # hosts, so the usage ping and its retries are skipped.
    if _is_loopback(project_config["oss_host"]):
        Project(project_config).ping("cli.link", True, attempts=LINK_PING_ATTEMPTS)


def _unwrap(body: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        body = body.get(key, [])
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []


def _write_gitignore() -> None:
    path = Path.cwd() / ".gitignore"
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in existing.splitlines()}
    missing = [entry for entry in GITIGNORE_ENTRIES if entry not in present]
    if not missing:
        return
    block = "# InsForge & AI agent skills\n" + "\n".join(missing) + "\n"
    if not existing or existing.endswith("\n\n"):
        separator = ""
    elif existing.endswith("\n"):
        separator = "\n"
    else:
        separator = "\n\n"
    path.write_text(existing + separator + block, encoding="utf-8")


def _write_agents_md(config: dict[str, Any] | None) -> None:
    start, end = "<!-- INSFORGE:START -->", "<!-- INSFORGE:END -->"
    lines = [start, "## InsForge", ""]
    if config is not None:
        lines.append(
            f"This project uses InsForge project `{config.get('project_name')}` at {config.get('oss_host')}."
        )
        lines.append("")
    lines.append(
        "Use the InsForge CLI (`npx @insforge/cli`) with `--json` to inspect and change the backend."
    )
    lines.append(end)
    block = "\n".join(lines)

    path = Path.cwd() / "AGENTS.md"
    if not path.exists():
        path.write_text(block + "\n", encoding="utf-8")
        return
    text = path.read_text(encoding="utf-8")
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        path.write_text(before + block + after, encoding="utf-8")
    else:
        path.write_text(text.rstrip("\n") + "\n\n" + block + "\n", encoding="utf-8")


# -- project backend: metadata, db, records --------------------------------------------------


def metadata(invocation: Invocation) -> None:
    # In JSON mode the real CLI pings only on failure.
    run_project_command(
        invocation, lambda p: p.fetch("GET", "/api/metadata"), ping_on_success=not invocation.json_mode
    )


def db_query(invocation: Invocation) -> None:
    path = "/api/database/advance/rawsql"
    if invocation.options.get("unrestricted"):
        path += "/unrestricted"
    sql = invocation.arguments[0]
    run_project_command(invocation, lambda p: p.fetch("POST", path, {"query": sql}))


def db_tables(invocation: Invocation) -> None:
    run_project_command(invocation, lambda p: p.fetch("GET", "/api/database/tables"))


def _filter_pairs(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, str) or not value:
        return []
    key, _, rest = value.partition("=")
    return [(key, rest)]


def _table_path(table: str) -> str:
    return f"/api/database/records/{quote(table, safe='')}"


def records_list(invocation: Invocation) -> None:
    options = invocation.options
    params: list[tuple[str, str]] = []
    if options.get("select"):
        params.append(("select", str(options["select"])))
    params += _filter_pairs(options.get("filter"))
    for name in ("order", "limit", "offset"):
        if options.get(name) is not None:
            params.append((name, str(options[name])))
    path = _table_path(invocation.arguments[0])
    if params:
        path += "?" + urlencode(params, safe=".,*()")
    run_project_command(invocation, lambda p: p.fetch("GET", path))


def _data_option(invocation: Invocation) -> Any:
    raw = invocation.options.get("data")
    try:
        return json.loads(str(raw))
    except json.JSONDecodeError:
        raise CliFailure("Invalid JSON for --data.") from None


def records_create(invocation: Invocation) -> None:
    data = _data_option(invocation)
    rows = data if isinstance(data, list) else [data]
    path = _table_path(invocation.arguments[0]) + "?return=representation"
    run_project_command(invocation, lambda p: p.fetch("POST", path, rows))


def records_update(invocation: Invocation) -> None:
    data = _data_option(invocation)
    query = urlencode(
        _filter_pairs(invocation.options.get("filter")) + [("return", "representation")], safe=".,"
    )
    path = f"{_table_path(invocation.arguments[0])}?{query}"
    run_project_command(invocation, lambda p: p.fetch("PATCH", path, data))


def records_delete(invocation: Invocation) -> None:
    query = urlencode(
        _filter_pairs(invocation.options.get("filter")) + [("return", "representation")], safe=".,"
    )
    path = f"{_table_path(invocation.arguments[0])}?{query}"
    run_project_command(invocation, lambda p: p.fetch("DELETE", path))


# -- storage ------------------------------------------------------------------------------------


def storage_buckets(invocation: Invocation) -> None:
    run_project_command(invocation, lambda p: p.fetch("GET", "/api/storage/buckets"))


def storage_create_bucket(invocation: Invocation) -> None:
    name = invocation.arguments[0]
    is_public = invocation.options.get("public", True) is not False
    body = {"bucketName": name, "isPublic": is_public}
    run_project_command(invocation, lambda p: p.fetch("POST", "/api/storage/buckets", body))


def storage_delete_bucket(invocation: Invocation) -> None:
    name = invocation.arguments[0]
    project = require_project(invocation)
    confirm(invocation, f'Delete bucket "{name}" and all its objects? This cannot be undone.')
    try:
        result = project.fetch("DELETE", f"/api/storage/buckets/{quote(name, safe='')}")
    except CliFailure:
        project.ping(invocation.tool_name, False)
        raise
    invocation.output(result)
    project.ping(invocation.tool_name, True)


def storage_list_objects(invocation: Invocation) -> None:
    options = invocation.options
    params = [("limit", str(options.get("limit", 100))), ("offset", str(options.get("offset", 0)))]
    for name in ("prefix", "search"):
        if options.get(name):
            params.append((name, str(options[name])))
    path = f"/api/storage/buckets/{quote(invocation.arguments[0], safe='')}/objects?{urlencode(params)}"
    run_project_command(invocation, lambda p: p.fetch("GET", path))


def _object_path(bucket: str, key: str) -> str:
    # encodeURIComponent keeps these characters unescaped.
    encoded_key = quote(key, safe="-_.!~*'()")
    return f"/api/storage/buckets/{quote(bucket, safe='')}/objects/{encoded_key}"


def storage_upload(invocation: Invocation) -> None:
    source = Path(invocation.arguments[0])
    bucket = str(invocation.options["bucket"])
    key = str(invocation.options.get("key") or source.name)
    content_type = invocation.options.get("contentType") or mimetypes.guess_type(source.name)[0]

    def upload(project: Project) -> Any:
        if not source.is_file():
            raise CliFailure(f"File not found: {source}")
        files = {"file": (source.name, source.read_bytes(), content_type or "application/octet-stream")}
        response = project.raw("PUT", _object_path(bucket, key), files=files)
        if not response.is_success:
            raise CliFailure(_direct_error(response, "Upload failed"))
        return parse_json_text(response.text)

    run_project_command(invocation, upload)


def storage_download(invocation: Invocation) -> None:
    key = invocation.arguments[0]
    bucket = str(invocation.options["bucket"])
    target = Path(str(invocation.options.get("output") or Path(key).name))

    def download(project: Project) -> Any:
        response = project.raw("GET", _object_path(bucket, key))
        if not response.is_success:
            raise CliFailure(_direct_error(response, "Download failed"))
        target.write_bytes(response.content)
        return {"success": True, "path": str(target), "size": len(response.content)}

    run_project_command(invocation, download)


def _direct_error(response: httpx.Response, prefix: str) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return f"{prefix}: {response.status_code}"


# -- functions ------------------------------------------------------------------------------------


def functions_list(invocation: Invocation) -> None:
    run_project_command(invocation, lambda p: p.fetch("GET", "/api/functions"))


def functions_code(invocation: Invocation) -> None:
    slug = quote(invocation.arguments[0], safe="")
    run_project_command(invocation, lambda p: p.fetch("GET", f"/api/functions/{slug}"))


def functions_deploy(invocation: Invocation) -> None:
    slug = invocation.arguments[0]
    source = Path(str(invocation.options["file"]))
    name = invocation.options.get("name") or slug
    description = invocation.options.get("description")
    path = f"/api/functions/{quote(slug, safe='')}"

    def deploy(project: Project) -> Any:
        if not source.is_file():
            raise CliFailure(f"File not found: {source}")
        code = source.read_text(encoding="utf-8")
        # JSON.stringify drops undefined keys, so the real CLI sends no description unless given.
        update: dict[str, Any] = {"name": name, "code": code}
        if description is not None:
            update["description"] = description
        try:
            project.fetch("GET", path)
            exists = True
        except CliFailure as exc:
            if exc.status != 404:
                raise
            exists = False
        if exists:
            result = project.fetch("PUT", path, update)
        else:
            try:
                result = project.fetch("POST", "/api/functions", {"slug": slug, **update})
            except CliFailure as exc:
                if exc.status != 409:
                    raise
                result = project.fetch("PUT", path, update)
        deployment = result.get("deployment") if isinstance(result, dict) else None
        if isinstance(deployment, dict) and deployment.get("status") == "failed":
            invocation.output(result)
            raise CliFailure("Function deployment failed")
        return result

    run_project_command(invocation, deploy)


def functions_invoke(invocation: Invocation) -> None:
    slug = quote(invocation.arguments[0], safe="")
    method = str(invocation.options.get("method") or "POST").upper()
    data = invocation.options.get("data")
    project = require_project(invocation)
    headers = {"Content-Type": "application/json"}
    response = project.raw(method, f"/functions/{slug}", headers=headers, content=data if data else None)
    if "application/json" in response.headers.get("content-type", ""):
        invocation.output({"status": response.status_code, "body": parse_json_text(response.text)})
    else:
        sys.stdout.write(response.text)
        sys.stdout.flush()
    if response.status_code >= 400:
        raise CliFailure(f"HTTP {response.status_code}", 1, "HTTP_ERROR", response.status_code)


def functions_delete(invocation: Invocation) -> None:
    slug = invocation.arguments[0]
    project = require_project(invocation)
    confirm(invocation, f'Delete function "{slug}"? This cannot be undone.')
    try:
        result = project.fetch("DELETE", f"/api/functions/{quote(slug, safe='')}")
    except CliFailure:
        project.ping(invocation.tool_name, False)
        raise
    invocation.output(result)
    project.ping(invocation.tool_name, True)


# -- secrets -----------------------------------------------------------------------------------------


def secrets_list(invocation: Invocation) -> None:
    def list_secrets(project: Project) -> Any:
        body = project.fetch("GET", "/api/secrets")
        if invocation.options.get("all"):
            return body
        items = body.get("secrets", []) if isinstance(body, dict) else []
        return {"secrets": [item for item in items if isinstance(item, dict) and item.get("isActive")]}

    run_project_command(invocation, list_secrets)


def secrets_get(invocation: Invocation) -> None:
    key = quote(invocation.arguments[0], safe="")
    run_project_command(invocation, lambda p: p.fetch("GET", f"/api/secrets/{key}"))


def secrets_add(invocation: Invocation) -> None:
    body: dict[str, Any] = {"key": invocation.arguments[0], "value": invocation.arguments[1]}
    if invocation.options.get("reserved"):
        body["isReserved"] = True
    if invocation.options.get("expires"):
        body["expiresAt"] = invocation.options["expires"]
    run_project_command(invocation, lambda p: p.fetch("POST", "/api/secrets", body))


def secrets_update(invocation: Invocation) -> None:
    options = invocation.options
    body: dict[str, Any] = {}
    if options.get("value") is not None:
        body["value"] = options["value"]
    if options.get("active") is not None:
        body["isActive"] = str(options["active"]).lower() == "true"
    if options.get("reserved") is not None:
        body["isReserved"] = str(options["reserved"]).lower() == "true"
    if options.get("expires") is not None:
        body["expiresAt"] = None if options["expires"] == "null" else options["expires"]
    key = quote(invocation.arguments[0], safe="")
    run_project_command(invocation, lambda p: p.fetch("PUT", f"/api/secrets/{key}", body))


def secrets_delete(invocation: Invocation) -> None:
    key = invocation.arguments[0]
    project = require_project(invocation)
    confirm(invocation, f'Delete secret "{key}"? This cannot be undone.')
    try:
        result = project.fetch("DELETE", f"/api/secrets/{quote(key, safe='')}")
    except CliFailure:
        project.ping(invocation.tool_name, False)
        raise
    invocation.output(result)
    project.ping(invocation.tool_name, True)


# -- logs and docs ------------------------------------------------------------------------------------


def logs(invocation: Invocation) -> None:
    project = require_project(invocation)
    requested = invocation.arguments[0]
    source = next((name for name in LOG_SOURCES if name.lower() == requested.lower()), None)
    if source is None:
        raise CliFailure(f'Invalid log source "{requested}". Valid sources: {", ".join(LOG_SOURCES)}')
    limit = invocation.options.get("limit", 20)
    if source == "function-deploy.logs":
        path = f"/api/logs/functions/build-logs?limit={limit}"
    else:
        path = f"/api/logs/{source}?limit={limit}"
    try:
        result = project.fetch("GET", path)
    except CliFailure:
        project.ping(invocation.tool_name, False)
        raise
    invocation.output(result)
    project.ping(invocation.tool_name, True)


def docs(invocation: Invocation) -> None:
    project = require_project(invocation)
    project.ping(invocation.tool_name, True)
    feature = invocation.argument(0)
    language = invocation.argument(1)
    if feature is None:
        body = project.fetch("GET", "/api/docs")
        invocation.output(body.get("data", body) if isinstance(body, dict) else body)
        return
    path = f"/api/docs/{quote(feature, safe='')}"
    if language is not None:
        path += f"/{quote(language, safe='')}"
    body = project.fetch("GET", path)
    invocation.output(body.get("data", body) if isinstance(body, dict) and "data" in body else body)


# -- deployments ---------------------------------------------------------------------------------------


def deployments_list(invocation: Invocation) -> None:
    limit = invocation.options.get("limit", 20)
    offset = invocation.options.get("offset", 0)
    run_project_command(
        invocation, lambda p: p.fetch("GET", f"/api/deployments?limit={limit}&offset={offset}")
    )


def deployments_status(invocation: Invocation) -> None:
    deployment_id = quote(invocation.arguments[0], safe="")

    def status(project: Project) -> Any:
        if invocation.options.get("sync"):
            project.fetch("POST", f"/api/deployments/{deployment_id}/sync")
        return project.fetch("GET", f"/api/deployments/{deployment_id}")

    run_project_command(invocation, status)


def _deploy_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in DEPLOY_IGNORED for part in relative.parts):
            continue
        if path.is_file():
            yield path


def _poll_interval() -> float:
    try:
        return float(os.environ.get("INSFORGE_STANDIN_POLL_INTERVAL", "5"))
    except ValueError:
        return 5.0


def _start_body(invocation: Invocation) -> dict[str, Any]:
    """Build the ``start`` request from ``--env`` (object or array) and ``--meta``."""
    body: dict[str, Any] = {}
    env_option = invocation.options.get("env")
    if env_option:
        try:
            env_vars = json.loads(str(env_option))
        except json.JSONDecodeError:
            raise CliFailure("Invalid --env JSON.") from None
        if isinstance(env_vars, dict):
            env_vars = [{"key": key, "value": _js_string(value)} for key, value in env_vars.items()]
        elif not isinstance(env_vars, list):
            # The CLI's own "expected an object or array" error is caught and replaced by this one.
            raise CliFailure("Invalid --env JSON.")
        body["envVars"] = env_vars
    meta_option = invocation.options.get("meta")
    if meta_option:
        try:
            body["meta"] = json.loads(str(meta_option))
        except json.JSONDecodeError:
            raise CliFailure("Invalid --meta JSON.") from None
    return body


def _js_string(value: Any) -> str:
    """Convert a JSON value as JavaScript's ``String(value)`` does."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if item is None else _js_string(item) for item in value)
    return js_stringify(value)


def _create_direct_deployment(project: Project, manifest: list[dict[str, Any]]) -> dict[str, Any]:
    """``POST /api/deployments/direct`` with a plain fetch: errors carry no code."""
    url = f"{project.oss_host}/api/deployments/direct"
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {project.api_key}"}
    try:
        response = send(
            "POST",
            url,
            headers=headers,
            content=json.dumps({"files": manifest}),
            timeout=BACKEND_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise CliFailure(network_message(url, exc)) from None
    if response.status_code == 404:
        # NOTE: the real CLI falls back to the legacy zip upload here; the stand-in does not implement it.
        raise UnknownFailure("Direct deployment endpoints are not available on this backend")
    if not response.is_success:
        failure = oss_failure(response)
        raise CliFailure(failure.message)
    created = parse_json_text(response.text)
    if not isinstance(created, dict) or not created.get("id") or not isinstance(created.get("files"), list):
        raise CliFailure("Unexpected response from direct deployment create endpoint.")
    return created


def deployments_deploy(invocation: Invocation) -> None:
    project = require_project(invocation)
    root = Path(invocation.argument(0) or ".").resolve()

    try:
        if not root.is_dir():
            raise CliFailure(f'"{root}" is not a valid directory.')
        start_body = _start_body(invocation)
        result = _deploy_directory(project, root, start_body)
    except CliFailure:
        project.ping(invocation.tool_name, False)
        raise
    invocation.output(result)
    project.ping(invocation.tool_name, True)


def _deploy_directory(project: Project, root: Path, start_body: dict[str, Any]) -> Any:
    """Upload ``root`` with the direct flow, start the deployment and poll it to an end state."""
    files: dict[str, tuple[bytes, str]] = {}
    for path in _deploy_files(root):
        content = path.read_bytes()
        files[path.relative_to(root).as_posix()] = (content, hashlib.sha1(content).hexdigest())  # noqa: S324
    if not files:
        raise CliFailure("No deployable files found in the source directory.")

    manifest = [{"path": p, "sha": sha, "size": len(content)} for p, (content, sha) in files.items()]
    created = _create_direct_deployment(project, manifest)
    deployment_id = quote(str(created["id"]), safe="")
    for entry in created["files"]:
        if not isinstance(entry, dict) or entry.get("uploadedAt"):
            continue
        local = files.get(str(entry.get("path")))
        if local is None:
            raise CliFailure(f"Backend returned an unknown file path: {entry.get('path')}")
        content, sha = local
        if entry.get("sha") != sha or entry.get("size") != len(content):
            raise CliFailure(f"Backend file metadata mismatch for: {entry.get('path')}")
        file_id = quote(str(entry.get("fileId")), safe="")
        response = project.raw(
            "PUT",
            f"/api/deployments/{deployment_id}/files/{file_id}/content",
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(content))},
            content=content,
        )
        if not response.is_success:
            raise oss_failure(response)
        parse_json_text(response.text)

    project.fetch("POST", f"/api/deployments/{deployment_id}/start", start_body)

    # The CLI waits one interval before each status read, and syncs first unless the host is InsForge cloud.
    sync_first = not (urlsplit(project.oss_host).hostname or "").endswith(".insforge.app")
    deadline = time.monotonic() + DEPLOY_TIMEOUT_SECONDS
    deployment: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        time.sleep(_poll_interval())
        if sync_first:
            project.fetch("POST", f"/api/deployments/{deployment_id}/sync")
        body = project.fetch("GET", f"/api/deployments/{deployment_id}")
        deployment = body if isinstance(body, dict) else {}
        status = str(deployment.get("status", "")).upper()
        if status == "READY":
            return deployment
        if status in ("ERROR", "CANCELED"):
            raise CliFailure(
                _deployment_error(deployment) or f"Deployment failed with status: {deployment.get('status')}"
            )
    return {"id": created["id"], "status": (deployment or {}).get("status") or "building", "timedOut": True}


def _deployment_error(deployment: dict[str, Any]) -> str | None:
    """Return ``metadata.error.errorMessage``, where a failed deployment keeps its reason."""
    metadata = deployment.get("metadata")
    error = metadata.get("error") if isinstance(metadata, dict) else None
    message = error.get("errorMessage") if isinstance(error, dict) else None
    return message if isinstance(message, str) else None
