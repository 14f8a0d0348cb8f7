"""The sandbox in a process of its own, so its servers do not share the benchmark's CPU time and GIL.

``Sandbox`` runs its HTTP servers as threads of the process that starts it. A
client in that process then competes with the server for the GIL, which the
MCP server and the CLI (separate processes) do not. Run as a module, this file
starts a sandbox, prints its URLs and key as one JSON line, and serves until its
standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = ["SandboxProcess"]

_ROOT = Path(__file__).resolve().parent.parent

# Seconds for the sandbox to start (PostgreSQL's initdb dominates) and to stop.
_START_TIMEOUT = 120.0
_STOP_TIMEOUT = 30.0


class SandboxProcess:
    """A sandbox in a child process, with contexts for workspaces in this process.

    Attributes:
        backend_url: Base URL of the backend stand-in.
        platform_url: Base URL of the platform stand-in.
        api_key: The backend's admin API key.
        pid: The child's process id.
    """

    def __init__(self) -> None:
        self.backend_url = ""
        self.platform_url = ""
        self.api_key = ""
        self.pid = 0
        self._process: asyncio.subprocess.Process | None = None
        self._workdir = Path(tempfile.mkdtemp(prefix="insforge-bench-workspaces-"))

    async def __aenter__(self) -> SandboxProcess:
        from insforge_tools.secrets import remember_secret

        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks._sandbox_process",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=_ROOT,
        )
        self.pid = self._process.pid
        try:
            started = await self._read_line(_START_TIMEOUT)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        self.backend_url = started["backend_url"]
        self.platform_url = started["platform_url"]
        self.api_key = started["api_key"]
        remember_secret(self.api_key)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        import shutil

        process = self._process
        if process is not None and process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), _STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
        shutil.rmtree(self._workdir, ignore_errors=True)

    async def _read_line(self, timeout: float) -> dict[str, Any]:  # noqa: ASYNC109 - one limit per message
        assert self._process is not None and self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError(
                "The sandbox process exited before it reported its URLs; see its stderr above."
            )
        return json.loads(line)  # type: ignore[no-any-return]

    def context(self, *, approver: Any = None, workspace: str, transport: str) -> Any:
        """Return a context for a new workspace of this process that uses the sandbox backend.

        The settings match what ``Sandbox.settings()`` gives for project operations.
        """
        from insforge_tools.approvals import DenyingApprover
        from insforge_tools.context import Context
        from insforge_tools.credentials import CredentialStore
        from insforge_tools.settings import Settings

        root = self._workdir / workspace
        (root / "project").mkdir(parents=True, exist_ok=True)
        (root / "home").mkdir(parents=True, exist_ok=True)
        settings = Settings(
            platform_url=self.platform_url,
            project_api_key=self.api_key,
            allow_insecure_loopback=True,
            cli_command=(sys.executable, "-m", "insforge_tools.sandbox.standin_cli"),
            cli_timeout=60.0,
            workspace_dir=root / "project",
            cli_home=root / "home",
            credentials_path=root / "credentials.json",
            transport=transport,
        )
        return Context(
            settings=settings,
            store=CredentialStore(settings.credentials_path),
            approver=approver or DenyingApprover(),
        )


def _serve() -> None:
    from insforge_tools.sandbox import Sandbox

    with Sandbox() as sandbox:
        started = {
            "backend_url": sandbox.backend_url,
            "platform_url": sandbox.platform_url,
            "api_key": sandbox.api_key,
        }
        print(json.dumps(started), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve()
