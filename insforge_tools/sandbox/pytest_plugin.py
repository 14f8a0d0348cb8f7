"""pytest fixtures for testing agents against a local InsForge sandbox.

Enable them in the top-level ``conftest.py`` (pytest reads ``pytest_plugins`` only there)::

    pytest_plugins = ["insforge_tools.sandbox.pytest_plugin"]

``insforge_sandbox`` starts one :class:`~insforge_tools.sandbox.Sandbox` per test
session (PostgreSQL start-up takes seconds). ``insforge_context`` gives each test a
context in a workspace of its own, so tests do not see each other's links,
CLI logins or stored credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from insforge_tools.approvals import AutoApprover
from insforge_tools.context import Context
from insforge_tools.sandbox import Sandbox

__all__ = ["insforge_context", "insforge_sandbox"]


@pytest.fixture(scope="session")
def insforge_sandbox() -> Iterator[Sandbox]:
    """A running sandbox shared by the whole test session."""
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def insforge_context(insforge_sandbox: Sandbox, request: pytest.FixtureRequest) -> Context:
    """A context in a fresh workspace of the session's sandbox; it approves every request."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:60].strip("-") or "test"
    return insforge_sandbox.context(approver=AutoApprover(), workspace=name)
