"""Fixtures for agent loops over the real operations and the sandbox.

Every test gets the session's sandbox (``insforge_sandbox`` from the insforge-tools
pytest plugin) and builds contexts in workspaces of its own, so links, CLI logins
and stored credentials never leak from one test into another.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from agent_helpers import ContextFactory, RecordingAssertionProvider, SandboxHuman, prepare

from insforge_tools.approvals import Approver
from insforge_tools.context import Context
from insforge_tools.sandbox import Sandbox

# pytest accepts ``pytest_plugins`` only in the top-level conftest, so the plugin's
# fixtures are imported here instead; importing a fixture registers it.
from insforge_tools.sandbox.pytest_plugin import insforge_context, insforge_sandbox  # noqa: F401


@pytest.fixture
def sandbox(insforge_sandbox: Sandbox) -> Sandbox:  # noqa: F811
    return insforge_sandbox


@pytest.fixture
def human(sandbox: Sandbox) -> SandboxHuman:
    return SandboxHuman(sandbox)


@pytest.fixture
def make_context(sandbox: Sandbox, request: pytest.FixtureRequest) -> ContextFactory:
    """Build contexts in fresh workspaces, prepared up to ``level`` (fresh, registered, logged_in, linked)."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:50].strip("-") or "test"
    made = 0

    async def build(approver: Approver | None = None, level: str = "fresh", **settings: Any) -> Context:
        nonlocal made
        made += 1
        context = sandbox.context(approver=approver, workspace=f"agents-{base}-{made}", **settings)
        context.assertion_provider = RecordingAssertionProvider(sandbox)
        await prepare(context, sandbox, level)
        return context

    return build
