"""Helpers for the CLI transport tests: process liveness checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import psutil

from insforge_tools.transports.cli import CliRunner

FakeCli = Callable[..., CliRunner]


def is_alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie waiting for its parent to reap it counts as gone."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_gone(pid: int, limit: float = 10.0) -> bool:
    """Wait until ``pid`` is gone (SIGKILL delivery is asynchronous); return whether it is."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.05)
    return not is_alive(pid)


def read_pids(path: Path, count: int, limit: float = 10.0) -> list[int]:
    """Wait for a fake CLI to write ``count`` pids (one per line) to ``path``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists():
            lines = [line for line in path.read_text().splitlines() if line.strip()]
            if len(lines) >= count:
                return [int(line) for line in lines[:count]]
        time.sleep(0.02)
    raise AssertionError(f"the fake CLI did not write {count} pids to {path}")
