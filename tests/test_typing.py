"""`mypy --strict` over the core and both adapters, as configured in pyproject.toml."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The llama-index adapter is a PEP 420 namespace package, so mypy needs the
# `mypy_path` and `explicit_package_bases` settings in pyproject.toml to name it.
TARGETS = [
    "insforge_tools",
    "integrations/langchain/langchain_insforge",
    "integrations/llama-index/llama_index",
]


MYPY_MISSING = importlib.util.find_spec("mypy") is None


# The subprocess timeout, not the suite's 120 s per-test limit, bounds a cold mypy run.
@pytest.mark.timeout(660)
@pytest.mark.skipif(MYPY_MISSING, reason="mypy is not installed; install the test extra.")
def test_mypy_strict_passes() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", *TARGETS],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
