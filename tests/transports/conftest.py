"""Fixtures for the HTTP transport and project link tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REFERENCE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"


def load_probe_exchanges() -> list[dict[str, Any]]:
    """Return every recorded backend exchange, or an empty list when the recordings are absent."""
    exchanges: list[dict[str, Any]] = []
    for path in sorted(REFERENCE_DIR.glob("backend-probe-*.json")):
        exchanges += json.loads(path.read_text(encoding="utf-8"))
    return exchanges


@pytest.fixture
def probe_exchanges() -> list[dict[str, Any]]:
    exchanges = load_probe_exchanges()
    if not exchanges:
        pytest.skip(f"the recorded backend exchanges are not in {REFERENCE_DIR}")
    return exchanges


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path
