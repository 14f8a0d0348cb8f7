"""PostgreSQL stops when the process that started it exits without calling stop()."""

from __future__ import annotations

import os
import subprocess
import sys
import time

SCRIPT = """
import sys
from insforge_tools.sandbox.postgres import EmbeddedPostgres
server = EmbeddedPostgres()
server.start()
print(server._process.pid, flush=True)
sys.exit(3)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_server_stops_at_interpreter_exit() -> None:
    completed = subprocess.run(
        [sys.executable, "-c", SCRIPT], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
    )

    assert completed.returncode == 3, completed.stderr
    pid = int(completed.stdout.strip().splitlines()[-1])
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
