"""The InsForge MCP server (``@insforge/mcp`` from npm) as the benchmarks start it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "MCP_PACKAGE",
    "MCP_VERSION",
    "McpUnavailableError",
    "install_mcp_server",
    "installed_entry_point",
    "log_tail",
    "stdio_connection",
]

MCP_PACKAGE = "@insforge/mcp"
MCP_VERSION = "1.2.11"

# Seconds for one npm install of the server and its about 200 dependencies.
_NPM_TIMEOUT = 300.0


class McpUnavailableError(RuntimeError):
    """Node, npm or the MCP server package is missing, or the install failed."""


def _package_dir(prefix: Path) -> Path:
    return prefix / "node_modules" / "@insforge" / "mcp"


def installed_entry_point(prefix: Path) -> Path | None:
    """Return the server's stdio script under ``prefix`` if version MCP_VERSION is installed there."""
    manifest_path = _package_dir(prefix) / "package.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("version") != MCP_VERSION:
        return None

    # The "insforge-mcp" bin is the stdio server; "insforge-mcp-server" is the HTTP one.
    bins = manifest.get("bin") or {}
    script = bins.get("insforge-mcp") if isinstance(bins, dict) else None
    if not isinstance(script, str):
        return None
    entry = (_package_dir(prefix) / script).resolve()
    return entry if entry.is_file() else None


def install_mcp_server(prefix: Path) -> Path:
    """Install ``@insforge/mcp`` MCP_VERSION under ``prefix`` unless it is there; return its stdio script.

    Raises:
        McpUnavailableError: node or npm is not on PATH, or npm failed.
    """
    if shutil.which("node") is None:
        raise McpUnavailableError("node is not on PATH; the InsForge MCP server is a Node program.")
    entry = installed_entry_point(prefix)
    if entry is not None:
        return entry

    npm = shutil.which("npm")
    if npm is None:
        raise McpUnavailableError("npm is not on PATH, so the InsForge MCP server cannot be installed.")
    prefix.mkdir(parents=True, exist_ok=True)
    command = [
        npm,
        "install",
        "--prefix",
        str(prefix),
        "--no-save",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        f"{MCP_PACKAGE}@{MCP_VERSION}",
    ]
    print(f"Installing {MCP_PACKAGE}@{MCP_VERSION} under {prefix} ...", file=sys.stderr, flush=True)
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=_NPM_TIMEOUT, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        raise McpUnavailableError(f"npm install did not finish within {_NPM_TIMEOUT:g} s.") from None
    if completed.returncode != 0:
        output = (completed.stderr or completed.stdout).strip()[-2000:]
        raise McpUnavailableError(f"npm install failed with exit code {completed.returncode}: {output}")

    entry = installed_entry_point(prefix)
    if entry is None:
        raise McpUnavailableError(
            f"npm install finished, but {MCP_PACKAGE}@{MCP_VERSION} is not under {prefix}."
        )
    return entry


def stdio_connection(entry: Path, *, api_key: str, base_url: str, stderr_log: Path) -> dict[str, Any]:
    """Return a ``MultiServerMCPClient`` stdio entry that starts the server with Node.

    The MCP SDK passes a child only a few variables (HOME, PATH and the like) plus
    ``env``, so the key and URL must be given here. The SDK hands the child this
    process's standard error, and the adapter offers no other choice. So a shell
    that ``exec``s Node appends the server's standard error (its start-up lines and
    any reason it exits) to ``stderr_log``, and ``exec`` leaves no shell process behind.
    """
    node = shutil.which("node") or "node"
    return {
        "transport": "stdio",
        "command": "/bin/sh",
        "args": ["-c", 'exec "$0" "$1" 2>>"$2"', node, str(entry), str(stderr_log)],
        "env": {"API_KEY": api_key, "API_BASE_URL": base_url},
    }


def log_tail(log_path: Path, lines: int = 20) -> str:
    """Return the last ``lines`` lines of ``log_path`` (empty if it does not exist)."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
