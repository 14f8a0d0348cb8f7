"""`insforge-tools demo` end to end, as a newcomer runs it."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize(
    ("framework", "transport"),
    [("langchain", "auto"), ("llama-index", "auto"), ("langchain", "cli")],
)
def test_demo_completes_every_step(framework: str, transport: str) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "insforge_tools.cli",
            "demo",
            "--framework",
            framework,
            "--transport",
            transport,
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[-1] == "8/8 steps succeeded"
    assert "scripted chat model" in lines[0]
    tool_lines = [line for line in lines if line.startswith("  [ok ]")]
    assert [line.split(":")[0].split()[-1] for line in tool_lines] == [
        "insforge_discover",
        "insforge_register",
        "insforge_login",
        "insforge_link",
        "insforge_metadata",
        "insforge_db_query",
        "insforge_db_query",
        "insforge_db_query",
    ]
    assert "uak_" not in completed.stdout.replace("uak_…", "")
    assert "ik_" not in completed.stdout


def test_demo_rejects_unknown_framework() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "insforge_tools.cli", "demo", "--framework", "crewai"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 2
    assert "invalid choice: 'crewai'" in completed.stderr
