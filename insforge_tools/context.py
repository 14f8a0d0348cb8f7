"""The context every operation receives: settings, credentials, approver, transports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from insforge_tools.approvals import Approver, DenyingApprover
from insforge_tools.credentials import CredentialStore
from insforge_tools.secrets import Secret, remember_secret
from insforge_tools.settings import Settings

if TYPE_CHECKING:
    from insforge_tools.transports.cli import CliRunner

__all__ = ["AssertionProvider", "Context"]


@runtime_checkable
class AssertionProvider(Protocol):
    """Returns a fresh identity assertion (an ID-JAG) for the given audience.

    Called once per registration attempt, retries included, so that every
    request carries a new ``jti``.
    """

    async def __call__(self, *, audience: str, resource: str) -> Secret: ...


@dataclass
class Context:
    """What operations share within one workspace.

    Attributes:
        settings: The workspace's settings.
        store: Where credentials are kept.
        approver: Who decides on consent, one-time codes and destructive actions.
        assertion_provider: Where identity assertions come from, if the application has one.
        state: Per-context memory, such as the last discovery result.
    """

    settings: Settings = field(default_factory=Settings)
    store: CredentialStore | None = None
    approver: Approver = field(default_factory=DenyingApprover)
    assertion_provider: AssertionProvider | None = None
    state: dict[str, Any] = field(default_factory=dict)
    _cli: CliRunner | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.store is None:
            self.store = CredentialStore(self.settings.credentials_path)
        if self.settings.project_api_key is not None:
            remember_secret(self.settings.project_api_key.get_secret_value())

    @property
    def credentials(self) -> CredentialStore:
        """The credential store (always set after construction)."""
        assert self.store is not None
        return self.store

    @property
    def cli(self) -> CliRunner:
        """The InsForge CLI runner for this workspace, created on first use."""
        if self._cli is None:
            from insforge_tools.transports.cli import CliRunner

            self._cli = CliRunner(self.settings)
        return self._cli
