"""Shared pieces of the stand-in CLI: errors, output, the CLI's files and HTTP.

Every message and field name here follows the InsForge CLI 0.2.8.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

CLI_VERSION = "0.2.8"
FAKE_PROJECT_ID = "fa4e0000-1234-5678-90ab-cd1234567890"
FAKE_ORG_ID = "fa4e0001-1234-5678-90ab-cd1234567890"
LEGACY_PROJECT_IDS = frozenset({"oss-project", "fa4e0000-1234-5678-90ab-0e02b2c3d479"})
LEGACY_ORG_IDS = frozenset({"oss-org", "fa4e0001-1234-5678-90ab-0e02b2c3d479"})
DEFAULT_PLATFORM_URL = "https://api.insforge.dev"
OAUTH_CLIENT_ID = "clf_NK8cMUs41gm8ZcfdtSguVw"
OAUTH_SCOPES = "user:read organizations:read projects:read projects:write"

# The real CLI sets no client timeout on project-backend requests, so Node's
# 300 s header timeout is what ends them.
BACKEND_TIMEOUT_SECONDS = 300.0
PLATFORM_TIMEOUT_SECONDS = 300.0
USAGE_PING_TIMEOUT_SECONDS = 3.0
LINK_PING_ATTEMPTS = 6
LINK_PING_DELAY_SECONDS = 5.0


def link_ping_delay() -> float:
    """Return the seconds between ``link``'s usage-ping attempts (``INSFORGE_STANDIN_PING_DELAY``)."""
    try:
        return float(os.environ.get("INSFORGE_STANDIN_PING_DELAY", LINK_PING_DELAY_SECONDS))
    except ValueError:
        return LINK_PING_DELAY_SECONDS


class CliFailure(Exception):
    """An error the CLI reports through its error handler: a JSON line (``--json``) and an exit code."""

    def __init__(self, message: str, exit_code: int = 1, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.code = code
        self.status = status


class UnknownFailure(CliFailure):
    """A thrown value that is not a CLI error (a JSON parse error, a plain Error): code UNKNOWN_ERROR."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 1, "UNKNOWN_ERROR")


def auth_failure(message: str = "Not authenticated. Run `npx @insforge/cli login` first.") -> CliFailure:
    return CliFailure(message, 2, "AUTH_ERROR")


def not_linked_failure() -> CliFailure:
    return CliFailure("No project linked. Run `npx @insforge/cli link` first.", 3, "PROJECT_NOT_LINKED")


# -- output ---------------------------------------------------------------------------------


def _js_number(value: float) -> str:
    """Format ``value`` as JavaScript's ``Number.prototype.toString`` (what ``JSON.stringify`` prints)."""
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(str(digit) for digit in digit_tuple)
    k = len(digits)
    n = k + exponent
    prefix = "-" if sign else ""
    if k <= n <= 21:
        return prefix + digits + "0" * (n - k)
    if 0 < n <= 21:
        return prefix + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return prefix + "0." + "0" * (-n) + digits
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{prefix}{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def js_stringify(data: Any, indent: int | None = None, _level: int = 0) -> str:
    """Serialise ``data`` exactly as ``JSON.stringify(data, null, indent)`` does."""
    if data is None:
        return "null"
    if data is True:
        return "true"
    if data is False:
        return "false"
    if isinstance(data, int):
        return str(data) if abs(data) < 2**53 else _js_number(float(data))
    if isinstance(data, float):
        return _js_number(data)
    if isinstance(data, str):
        return json.dumps(data, ensure_ascii=False)
    if isinstance(data, dict):
        items = [(str(key), value) for key, value in data.items()]
        if not items:
            return "{}"
        if indent is None:
            return "{" + ",".join(f"{js_stringify(k)}:{js_stringify(v)}" for k, v in items) + "}"
        inner = " " * (indent * (_level + 1))
        parts = [f"{inner}{js_stringify(k)}: {js_stringify(v, indent, _level + 1)}" for k, v in items]
        return "{\n" + ",\n".join(parts) + "\n" + " " * (indent * _level) + "}"
    if isinstance(data, list | tuple):
        if not data:
            return "[]"
        if indent is None:
            return "[" + ",".join(js_stringify(item) for item in data) + "]"
        inner = " " * (indent * (_level + 1))
        parts = [f"{inner}{js_stringify(item, indent, _level + 1)}" for item in data]
        return "[\n" + ",\n".join(parts) + "\n" + " " * (indent * _level) + "]"
    raise TypeError(f"cannot serialise {type(data).__name__}")


def print_json(data: Any) -> None:
    """Print ``data`` as the CLI's ``outputJson`` does: 2-space indent and a newline."""
    sys.stdout.write(js_stringify(data, 2) + "\n")
    sys.stdout.flush()


def print_compact(data: Any) -> None:
    sys.stdout.write(js_stringify(data) + "\n")
    sys.stdout.flush()


def report_failure(error: CliFailure, json_mode: bool) -> int:
    """Print ``error`` as the CLI's error handler does and return its exit code."""
    if json_mode:
        payload: dict[str, Any] = {"error": error.message}
        if error.code is not None:
            payload["code"] = error.code
        sys.stderr.write(js_stringify(payload) + "\n")
    else:
        sys.stderr.write(f"Error: {error.message}\n")
    sys.stderr.flush()
    return error.exit_code


# -- JSON.parse messages ---------------------------------------------------------------------------

_CONTEXT_CHARS = 10


def v8_json_error(text: str, error: json.JSONDecodeError) -> str:
    """Return the message Node 20's ``JSON.parse`` gives for ``text``."""
    position = error.pos
    if error.msg == "Extra data":
        return f"Unexpected non-whitespace character after JSON at position {position}"
    if position >= len(text) or not text.strip():
        return "Unexpected end of JSON input"
    if error.msg.startswith("Expecting property name"):
        return f"Expected property name or '}}' in JSON at position {position}"
    if error.msg.startswith("Unterminated string"):
        return f"Unterminated string in JSON at position {len(text)}"
    token = text[position]
    if len(text) < 2 * _CONTEXT_CHARS + 1:
        return f"Unexpected token '{token}', \"{text}\" is not valid JSON"
    if position < _CONTEXT_CHARS:
        return f"Unexpected token '{token}', \"{text[: position + _CONTEXT_CHARS]}\"... is not valid JSON"
    if position >= len(text) - _CONTEXT_CHARS:
        return f"Unexpected token '{token}', ...\"{text[position - _CONTEXT_CHARS :]}\" is not valid JSON"
    excerpt = text[position - _CONTEXT_CHARS : position + _CONTEXT_CHARS]
    return f"Unexpected token '{token}', ...\"{excerpt}\"... is not valid JSON"


def parse_json_text(text: str) -> Any:
    """Parse ``text`` like ``JSON.parse``; a failure is an UNKNOWN_ERROR with Node's message."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnknownFailure(v8_json_error(text, exc)) from None


# -- files ---------------------------------------------------------------------------------


def home_dir() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def global_dir() -> Path:
    return home_dir() / ".insforge"


def write_private_json(path: Path, data: Any) -> None:
    """Write ``data`` as pretty JSON with mode 0600 (the directory keeps its default mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(json.dumps(data, indent=2, ensure_ascii=False))
    os.chmod(path, 0o600)


def read_json_file(path: Path) -> Any:
    """Return the parsed file, None if it does not exist; a corrupt file is an UNKNOWN_ERROR."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_json_text(text)


def read_credentials() -> dict[str, Any] | None:
    data = read_json_file(global_dir() / "credentials.json")
    return data if isinstance(data, dict) else None


def read_global_config() -> dict[str, Any]:
    data = read_json_file(global_dir() / "config.json")
    if isinstance(data, dict):
        return data
    return {"platform_api_url": DEFAULT_PLATFORM_URL}


def write_global_config(config: dict[str, Any]) -> None:
    path = global_dir() / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")


def project_file() -> Path:
    return Path.cwd() / ".insforge" / "project.json"


def read_project_config() -> dict[str, Any] | None:
    """Read ``./.insforge/project.json``, healing legacy self-hosted ids and a bare-hostname ``oss_host``."""
    data = read_json_file(project_file())
    if not isinstance(data, dict):
        return None
    if data.get("project_id") in LEGACY_PROJECT_IDS:
        data["project_id"] = FAKE_PROJECT_ID
    if data.get("org_id") in LEGACY_ORG_IDS:
        data["org_id"] = FAKE_ORG_ID
    host = data.get("oss_host")
    if isinstance(host, str) and host and not re.match(r"^https?://", host):
        data["oss_host"] = f"https://{data.get('appkey')}.{data.get('region')}.insforge.app"
    return data


def is_self_hosted(project: dict[str, Any] | None) -> bool:
    return project is not None and project.get("project_id") == FAKE_PROJECT_ID


def platform_url(api_url_option: str | None) -> str:
    """Return the platform API base: env > ``--api-url`` > config.json > the public default."""
    from_env = os.environ.get("INSFORGE_API_URL")
    if from_env:
        return from_env.rstrip("/")
    if api_url_option:
        return api_url_option.rstrip("/")
    configured = read_global_config().get("platform_api_url")
    return str(configured or DEFAULT_PLATFORM_URL).rstrip("/")


# -- HTTP ------------------------------------------------------------------------------------


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def network_message(url: str, exc: Exception | None) -> str:
    """Return the CLI's text for a failed connection (its ``formatFetchError``)."""
    host = _host_of(url)
    if isinstance(exc, httpx.ConnectTimeout | httpx.ReadTimeout | httpx.WriteTimeout | httpx.PoolTimeout):
        return f"Connection to {host} timed out. Check your network, VPN, or proxy settings."
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return (
                f"Cannot resolve {host} (DNS lookup failed: ENOTFOUND). "
                "Check your internet connection or DNS settings."
            )
        return f"Connection to {host} refused. The server may be down or blocked by a firewall."
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return f"Connection to {host} was reset. A proxy, VPN, or firewall may be interfering."
    return f"Connection to {host} refused. The server may be down or blocked by a firewall."


def send(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request; only loopback hosts are contacted, anything else fails as refused."""
    if not _is_loopback(url):
        raise httpx.ConnectError(f"the stand-in CLI does not connect to {_host_of(url)}")
    with httpx.Client(timeout=timeout, trust_env=False) as client:
        return client.request(method, url, headers=headers, **kwargs)


def _body_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@dataclass
class Project:
    """The linked project backend: where to send requests and with which key."""

    config: dict[str, Any]
    oss_host: str = field(init=False)
    api_key: str = field(init=False)

    def __post_init__(self) -> None:
        self.oss_host = str(self.config.get("oss_host") or "").rstrip("/")
        self.api_key = str(self.config.get("api_key") or "")

    def fetch(self, method: str, path: str, body: Any = None, *, params: Any = None) -> Any:
        """Call the backend like the CLI's ``ossFetch`` and return the parsed JSON body."""
        url = f"{self.oss_host}{path}"
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        content = json.dumps(body) if body is not None else None
        try:
            response = send(
                method, url, headers=headers, content=content, params=params, timeout=BACKEND_TIMEOUT_SECONDS
            )
        except httpx.HTTPError as exc:
            raise CliFailure(network_message(url, exc), 1, "NETWORK_ERROR") from None
        if not response.is_success:
            raise oss_failure(response)
        return parse_json_text(response.text)

    def raw(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the backend with a plain fetch (Authorization only); network failures are plain errors."""
        url = f"{self.oss_host}{path}"
        headers = {"Authorization": f"Bearer {self.api_key}", **kwargs.pop("headers", {})}
        try:
            return send(method, url, headers=headers, timeout=BACKEND_TIMEOUT_SECONDS, **kwargs)
        except httpx.HTTPError as exc:
            raise UnknownFailure("fetch failed") from exc

    def ping(self, tool_name: str, success: bool, *, attempts: int = 1) -> None:
        """Send the usage ping (``POST /api/usage/mcp``); errors are ignored."""
        url = f"{self.oss_host}/api/usage/mcp"
        timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {"tool_name": tool_name, "success": success, "timestamp": timestamp}
        for attempt in range(attempts):
            try:
                response = send(
                    "POST",
                    url,
                    headers={"x-api-key": self.api_key, "Content-Type": "application/json"},
                    content=json.dumps(body),
                    timeout=USAGE_PING_TIMEOUT_SECONDS,
                )
                if response.status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if attempt + 1 < attempts:
                time.sleep(link_ping_delay())


def oss_failure(response: httpx.Response) -> CliFailure:
    """Build the CLI's error for a non-2xx backend response: message ?? error ?? ``OSS request failed``."""
    body = _body_json(response)
    if not isinstance(body, dict):
        body = {}
    error = body.get("error")
    message = body.get("message") or error or f"OSS request failed: {response.status_code}"
    if body.get("nextActions"):
        message = f"{message}\n{body['nextActions']}"
    return CliFailure(str(message), 1, error if isinstance(error, str) else None, response.status_code)


def platform_token(credentials: dict[str, Any] | None) -> str | None:
    """Return the platform bearer: ``INSFORGE_ACCESS_TOKEN`` > ``user_api_key`` > ``access_token``."""
    from_env = os.environ.get("INSFORGE_ACCESS_TOKEN")
    if from_env:
        return from_env
    if credentials:
        return credentials.get("user_api_key") or credentials.get("access_token") or None
    return None


def platform_fetch(base_url: str, method: str, path: str, body: Any = None) -> Any:
    """Call the platform API like the CLI's ``platformFetch`` and return the parsed body."""
    credentials = read_credentials()
    token = platform_token(credentials)
    if token is None:
        raise auth_failure()
    url = f"{base_url}{path}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        response = send(
            method,
            url,
            headers=headers,
            content=json.dumps(body) if body is not None else None,
            timeout=PLATFORM_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise CliFailure(network_message(url, exc), 1, "NETWORK_ERROR") from None

    if response.status_code == 401 and credentials and credentials.get("user_api_key"):
        raise auth_failure(
            "API key is invalid, revoked, or expired. "
            "Run `npx @insforge/cli login --user-api-key <new-key>` again."
        )
    if not response.is_success:
        data = _body_json(response)
        data = data if isinstance(data, dict) else {}
        if data.get("message"):
            message = f"{data.get('error') or response.status_code}: {data['message']}"
        else:
            message = str(data.get("error") or f"Request failed: {response.status_code}")
        raise CliFailure(message, 5 if response.status_code == 403 else 1, None, response.status_code)
    return parse_json_text(response.text)
