"""Settings shared by every operation.

URLs are kept as the exact strings they were given: the protocol compares
``resource`` and ``issuer`` values byte for byte, and URL types that add or strip
a trailing slash would break that.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["DEFAULT_CLI_COMMAND", "CLI_VERSION", "Settings"]

CLI_VERSION = "0.2.8"
DEFAULT_CLI_COMMAND: tuple[str, ...] = ("npx", "-y", f"@insforge/cli@{CLI_VERSION}")


class Settings(BaseModel):
    """Configuration for one workspace: which services, which CLI, which limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform_url: str | None = Field(
        default=None,
        description="InsForge platform API base URL (the CLI's INSFORGE_API_URL). "
        "None keeps the CLI's default.",
    )
    project_api_key: SecretStr | None = Field(
        default=None,
        description="Admin API key (ik_…) of a self-hosted project, used by insforge_link. "
        "If unset, the credential store entry for the base URL is used.",
    )
    allow_insecure_loopback: bool = Field(
        default=False,
        description="Allow plain http:// for loopback addresses (127.0.0.0/8, ::1, localhost). "
        "Plain http to any other host is always refused.",
    )
    audience_policy: Literal["resource", "issuer"] = Field(
        default="resource",
        description="Which value an identity assertion's aud carries: the protected resource metadata's "
        "resource (what InsForge documents) or the authorization server's issuer (the ID-JAG draft).",
    )
    resource_match: Literal["exact", "prefix"] = Field(
        default="exact",
        description="How a metadata document's resource must match the URL it was fetched for: exactly, or "
        "(opt-in, for servers known to break the rule) same origin with a path prefix on a segment boundary.",
    )
    discovery_cache_ttl: float = Field(
        default=300.0, ge=0, description="Seconds a discovery result is reused."
    )
    transport: Literal["auto", "cli", "http"] = Field(
        default="auto",
        description="How project operations reach the backend: auto (HTTP when the link file has a host and "
        "key, else the CLI), cli, or http. Platform operations always use the CLI.",
    )
    expected_assertion_issuer: str | None = Field(
        default=None,
        description="The identity provider's issuer that assertions must carry, compared exactly.",
    )
    cli_command: tuple[str, ...] | None = Field(
        default=None,
        description="argv prefix that runs the InsForge CLI. "
        "None: $INSFORGE_CLI, else npx with the pinned version.",
    )
    cli_timeout: float = Field(
        default=60.0,
        gt=0,
        description="Seconds one CLI run may take. insforge_link allows 180 s, because the CLI's link "
        "installs agent skills with npx and retries its usage ping.",
    )
    cli_max_concurrency: int = Field(
        default=8,
        ge=1,
        description="Maximum number of CLI processes one event loop runs at once. Further runs wait "
        "for a free slot.",
    )
    workspace_dir: Path = Field(
        default_factory=Path.cwd,
        description="The project directory: the CLI runs here and reads .insforge/project.json from here.",
    )
    cli_home: Path | None = Field(
        default=None,
        description="HOME for CLI runs (where ~/.insforge/credentials.json lives). "
        "None keeps the user's HOME.",
    )
    credentials_path: Path | None = Field(
        default=None,
        description="The credential store file. None: $INSFORGE_TOOLS_CREDENTIALS or the user config folder.",
    )
    http_timeout: float = Field(default=30.0, gt=0, description="Seconds one HTTP request may take.")
    max_result_chars: int = Field(
        default=6000, ge=200, description="Maximum length, in characters, of a tool result sent to the model."
    )

    def resolved_cli_command(self) -> tuple[str, ...]:
        """Return the CLI command: the setting, else ``$INSFORGE_CLI``, else the pinned npx command."""
        if self.cli_command:
            return tuple(self.cli_command)
        from_env = os.environ.get("INSFORGE_CLI", "").strip()
        if from_env:
            return tuple(shlex.split(from_env))
        return DEFAULT_CLI_COMMAND
