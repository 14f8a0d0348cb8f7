"""`insforge-tools doctor` reports the CLI command it would run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_doctor_reports_configured_cli(tmp_path: Path) -> None:
    env = {**os.environ, "INSFORGE_CLI": f"{sys.executable} -m insforge_tools.sandbox.standin_cli"}
    completed = subprocess.run(
        [sys.executable, "-m", "insforge_tools.cli", "doctor"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )

    report = json.loads(completed.stdout)
    assert "0.2.8" in json.dumps(report)
    assert "insforge_tools.sandbox.standin_cli" in json.dumps(report)


def test_doctor_without_cli_fails_clearly(tmp_path: Path) -> None:
    env = {**os.environ, "INSFORGE_CLI": "insforge-cli-that-does-not-exist"}
    completed = subprocess.run(
        [sys.executable, "-m", "insforge_tools.cli", "doctor"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )

    assert completed.returncode != 0
    output = completed.stdout + completed.stderr
    assert "insforge-cli-that-does-not-exist" in output
