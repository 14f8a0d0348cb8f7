"""Fixtures for the CLI transport tests: fake CLIs written as small Python scripts."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from cli_fakes import FakeCli

from insforge_tools.settings import Settings
from insforge_tools.transports.cli import CliRunner


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def cli_home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def fake_cli(tmp_path: Path, workspace: Path, cli_home: Path) -> FakeCli:
    """Return a factory: Python source of a fake CLI in, a runner that runs it out."""

    def make(source: str, *, timeout: float = 30.0, **settings: object) -> CliRunner:
        script = tmp_path / f"fake_cli_{len(list(tmp_path.glob('fake_cli_*.py')))}.py"
        script.write_text(textwrap.dedent(source), encoding="utf-8")
        options: dict[str, object] = {
            "cli_command": (sys.executable, str(script)),
            "cli_timeout": timeout,
            "workspace_dir": workspace,
            "cli_home": cli_home,
        }
        options.update(settings)
        return CliRunner(Settings(**options))  # type: ignore[arg-type]

    return make
