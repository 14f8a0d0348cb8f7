"""Fixtures: the registration operations against a running sandbox.

A module gets the shared default sandbox unless it sets ``SANDBOX_OPTIONS``
(keyword arguments of :class:`Sandbox`), in which case it starts its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_helpers import ContextFactory, RecordingAssertionProvider

from insforge_tools.approvals import Approver
from insforge_tools.context import Context
from insforge_tools.sandbox import Sandbox


@pytest.fixture(scope="session")
def default_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as box:
        yield box


@pytest.fixture(scope="module")
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    options: dict[str, Any] | None = getattr(request.module, "SANDBOX_OPTIONS", None)
    if options is None:
        yield request.getfixturevalue("default_sandbox")
        return
    with Sandbox(**options) as box:
        yield box


@pytest.fixture
def make_context(sandbox: Sandbox, request: pytest.FixtureRequest) -> ContextFactory:
    """Build contexts in workspaces of their own, with a recording assertion provider."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:50].strip("-") or "test"
    built = 0

    def build(approver: Approver | None = None, **settings: Any) -> Context:
        nonlocal built
        built += 1
        ctx = sandbox.context(approver=approver, workspace=f"{base}-{built}", **settings)
        ctx.assertion_provider = RecordingAssertionProvider(sandbox)
        return ctx

    return build
