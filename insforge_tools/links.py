"""The InsForge CLI's own files, read and written so that both transports share one link.

``./.insforge/project.json`` names the linked project: its backend URL (``oss_host``) and
its admin API key. The CLI writes it with mode 0600; a project linked to a self-hosted
backend carries the sentinel ids :data:`SELF_HOSTED_PROJECT_ID` and
:data:`SELF_HOSTED_ORG_ID`, which tell the CLI to skip platform login. The CLI accepts a
hand-written file exactly like one written by ``link``, so this module writes the same
fields in the same order.

``$HOME/.insforge/credentials.json`` holds the CLI's platform login. It is only read here.

The API key is kept as a :class:`~insforge_tools.secrets.Secret`; :meth:`ProjectLink.public_view`
is the only form of a link meant for a model.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from insforge_tools.errors import ConfigurationError
from insforge_tools.secrets import Secret

__all__ = [
    "CliCredentials",
    "LEGACY_SELF_HOSTED_ORG_IDS",
    "LEGACY_SELF_HOSTED_PROJECT_IDS",
    "ProjectLink",
    "SELF_HOSTED_ORG_ID",
    "SELF_HOSTED_PROJECT_ID",
    "check_base_url",
    "cli_home",
    "is_loopback_host",
    "load_project_link",
    "normalize_base_url",
    "project_link_path",
    "read_cli_config",
    "read_cli_credentials",
    "read_project_link",
    "self_hosted_link",
    "write_private_json",
    "write_project_link",
]

logger = logging.getLogger("insforge_tools.links")

SELF_HOSTED_PROJECT_ID = "fa4e0000-1234-5678-90ab-cd1234567890"
SELF_HOSTED_ORG_ID = "fa4e0001-1234-5678-90ab-cd1234567890"

# Placeholder ids written by older CLI versions; CLI 0.2.8 maps them to the sentinels on read.
LEGACY_SELF_HOSTED_PROJECT_IDS = frozenset({"oss-project", "fa4e0000-1234-5678-90ab-0e02b2c3d479"})
LEGACY_SELF_HOSTED_ORG_IDS = frozenset({"oss-org", "fa4e0001-1234-5678-90ab-0e02b2c3d479"})

_FILE_MODE = 0o600
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# The order in which the CLI writes project.json.
_FIELD_ORDER = ("project_id", "project_name", "org_id", "appkey", "region", "api_key", "oss_host")

_RELINK_STEP = (
    "Link this directory again with insforge_link and a full base URL such as "
    "https://insforge.example.com (the stored URL has no http:// or https:// prefix)."
)


def project_link_path(workspace_dir: Path) -> Path:
    """Return the path of the CLI's project link file in ``workspace_dir``."""
    return Path(workspace_dir) / ".insforge" / "project.json"


def cli_home(home: Path | None = None) -> Path:
    """Return the HOME the CLI uses: ``home`` when given, else the user's home directory."""
    return Path(home) if home is not None else Path.home()


def is_loopback_host(host: str) -> bool:
    """Return whether ``host`` is ``localhost`` or a loopback IP address (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(url: str) -> str:
    """Strip whitespace and one trailing ``/`` from a base URL, as the CLI's ``link`` does."""
    url = url.strip()
    return url[:-1] if url.endswith("/") else url


def check_base_url(url: str, *, allow_insecure_loopback: bool) -> str:
    """Validate a project backend base URL and return it normalised.

    Raises:
        ConfigurationError: The URL is not an absolute http(s) URL, or it uses plain
            ``http://`` where the API key would travel unencrypted.
    """
    normalized = normalize_base_url(url)
    parts = urlsplit(normalized)
    if not _SCHEME.match(normalized) or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"The base URL {normalized!r} is not an absolute http(s) URL.",
            next_step="Pass the backend's full base URL, such as https://insforge.example.com.",
        )
    if parts.scheme == "http":
        if not is_loopback_host(parts.hostname):
            raise ConfigurationError(
                f"The base URL {normalized!r} uses plain http:// to a host that is not loopback; the API key "
                "would be sent unencrypted.",
                next_step="Use https:// for this backend.",
            )
        if not allow_insecure_loopback:
            raise ConfigurationError(
                f"The base URL {normalized!r} uses plain http://, which is only allowed for loopback "
                "addresses when the allow_insecure_loopback setting is on.",
                next_step="Set allow_insecure_loopback=True in the insforge-tools settings, or use https://.",
            )
    return normalized


class ProjectLink(BaseModel):
    """The content of ``.insforge/project.json``.

    Unknown fields written by other CLI versions are kept and written back unchanged.
    """

    model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

    project_id: str = Field(description="Platform project id, or the self-hosted sentinel id.")
    project_name: str = ""
    org_id: str = ""
    appkey: str = ""
    region: str = ""
    api_key: Secret | None = Field(default=None, exclude=True, repr=False)
    oss_host: str = Field(default="", description="The project backend's base URL, without a trailing slash.")
    guard: bool | None = None
    branched_from: dict[str, Any] | None = None

    @property
    def is_self_hosted(self) -> bool:
        """Whether the link points at a self-hosted backend (the CLI then skips platform login)."""
        return self.project_id == SELF_HOSTED_PROJECT_ID

    @property
    def has_backend_access(self) -> bool:
        """Whether the link has both a backend URL and an API key, so HTTP can reach the project."""
        return bool(self.oss_host) and self.api_key is not None

    def public_view(self) -> dict[str, Any]:
        """Return the link's fields without the API key, for a model or a log."""
        data = self.model_dump(mode="json", exclude_none=True)
        data.pop("api_key", None)
        data["self_hosted"] = self.is_self_hosted
        return data

    def to_file_data(self) -> dict[str, Any]:
        """Return the JSON object the CLI expects in project.json, API key included."""
        data = self.model_dump(mode="json", exclude_none=True)
        data["api_key"] = self.api_key.reveal() if self.api_key is not None else ""
        ordered = {key: data.pop(key) for key in _FIELD_ORDER if key in data}
        ordered.update(data)
        return ordered


def self_hosted_link(base_url: str, api_key: Secret) -> ProjectLink:
    """Build the link the CLI writes for ``link --api-base-url URL --api-key KEY``."""
    return ProjectLink(
        project_id=SELF_HOSTED_PROJECT_ID,
        project_name="oss-project",
        org_id=SELF_HOSTED_ORG_ID,
        appkey="ossfkey",
        region="us-test",
        api_key=api_key,
        oss_host=normalize_base_url(base_url),
    )


def _repair_oss_host(data: dict[str, Any], path: Path) -> bool:
    """Give a scheme-less ``oss_host`` its scheme where that is unambiguous; return whether it changed."""
    host = str(data.get("oss_host") or "").strip()
    if not host or _SCHEME.match(host):
        return False

    hostname = urlsplit(f"//{host}").hostname or ""
    if is_loopback_host(hostname):
        data["oss_host"] = normalize_base_url(f"http://{host}")
        return True

    self_hosted = data.get("project_id") == SELF_HOSTED_PROJECT_ID
    if not self_hosted and data.get("appkey") and data.get("region"):
        # The CLI rebuilds a cloud project's host the same way.
        data["oss_host"] = f"https://{data['appkey']}.{data['region']}.insforge.app"
        return True

    raise ConfigurationError(
        f"The project link {path} stores the backend URL {host!r} without a scheme, so it is unclear whether "
        "to use http or https.",
        code="RELINK_REQUIRED",
        next_step=_RELINK_STEP,
    )


def _heal(data: dict[str, Any], path: Path) -> bool:
    """Apply the CLI's read-time repairs to raw project.json data; return whether anything changed."""
    changed = False
    if data.get("project_id") in LEGACY_SELF_HOSTED_PROJECT_IDS:
        data["project_id"] = SELF_HOSTED_PROJECT_ID
        changed = True
    if data.get("org_id") in LEGACY_SELF_HOSTED_ORG_IDS or (
        data.get("project_id") == SELF_HOSTED_PROJECT_ID and not data.get("org_id")
    ):
        data["org_id"] = SELF_HOSTED_ORG_ID
        changed = True
    if _repair_oss_host(data, path):
        changed = True
    return changed


def _parse_link(data: dict[str, Any], path: Path) -> ProjectLink:
    if not isinstance(data.get("project_id"), str) or not data["project_id"]:
        raise ConfigurationError(
            f"The project link {path} has no project_id.",
            next_step="Link this directory again with insforge_link.",
        )
    fields = dict(data)
    raw_key = fields.pop("api_key", None)
    link = ProjectLink.model_validate(fields)
    if isinstance(raw_key, str) and raw_key:
        link.api_key = Secret(raw_key)
    return link


def _read_raw(path: Path) -> dict[str, Any] | None:
    return _read_raw_json(
        path, "project link", "Delete the file and link this directory again with insforge_link."
    )


def read_project_link(workspace_dir: Path) -> ProjectLink | None:
    """Read ``.insforge/project.json`` from ``workspace_dir``, applying the CLI's repairs in memory.

    Returns ``None`` when the directory is not linked.

    Raises:
        ConfigurationError: The file is corrupt, or its backend URL has no scheme and is not loopback.
    """
    path = project_link_path(workspace_dir)
    data = _read_raw(path)
    if data is None:
        return None
    _heal(data, path)
    return _parse_link(data, path)


def load_project_link(workspace_dir: Path) -> ProjectLink | None:
    """Read the project link and write the repairs back, so the CLI reads the repaired file too.

    An old self-hosted link with placeholder ids or a scheme-less loopback URL would
    otherwise send the CLI to platform login or to a wrong host.
    """
    path = project_link_path(workspace_dir)
    data = _read_raw(path)
    if data is None:
        return None
    if _heal(data, path):
        logger.info("Repaired the project link %s (self-hosted ids or backend URL scheme).", path)
        link = _parse_link(data, path)
        write_project_link(workspace_dir, link)
        return link
    return _parse_link(data, path)


def write_project_link(workspace_dir: Path, link: ProjectLink) -> Path:
    """Write ``link`` to ``.insforge/project.json`` atomically with mode 0600 and return the path."""
    path = project_link_path(workspace_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private_json(path, link.to_file_data())
    return path


def write_private_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically with mode 0600, as the CLI does.

    The directory of ``path`` must exist.
    """
    handle, temporary = tempfile.mkstemp(prefix=".project-", dir=path.parent)
    try:
        os.fchmod(handle, _FILE_MODE)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, indent=2)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class CliCredentials(BaseModel):
    """What the CLI's credentials.json says about the platform login, without any token."""

    authenticated: bool = Field(description="Whether the CLI has a platform login (the file exists).")
    has_user_api_key: bool = Field(
        default=False, description="Whether the login uses a user API key (uak_…)."
    )
    user: dict[str, Any] | None = Field(default=None, description="The logged-in user as the CLI stored it.")


_USER_FIELDS = ("id", "name", "email", "avatar_url", "email_verified")


def read_cli_credentials(home: Path | None = None) -> CliCredentials:
    """Read ``$HOME/.insforge/credentials.json`` without returning any token.

    Raises:
        ConfigurationError: The file exists but is not a JSON object.
    """
    path = cli_home(home) / ".insforge" / "credentials.json"
    data = _read_raw_json(path, "CLI credential file", "Log the CLI in again with insforge_login.")
    if data is None:
        return CliCredentials(authenticated=False)
    user = data.get("user") if isinstance(data.get("user"), dict) else None
    return CliCredentials(
        authenticated=True,
        has_user_api_key=bool(data.get("user_api_key")),
        user={key: value for key, value in (user or {}).items() if key in _USER_FIELDS} or None,
    )


def read_cli_config(home: Path | None = None) -> dict[str, Any]:
    """Read ``$HOME/.insforge/config.json`` (platform URL, default organization); ``{}`` when absent."""
    path = cli_home(home) / ".insforge" / "config.json"
    return _read_raw_json(path, "CLI config file", "Delete the file; the CLI recreates it.") or {}


def _read_raw_json(path: Path, what: str, next_step: str) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"The {what} {path} is not valid JSON (line {exc.lineno}, column {exc.colno}).",
            next_step=next_step,
        ) from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"The {what} {path} does not contain a JSON object.", next_step=next_step)
    return data
