"""A stand-in for the InsForge CLI 0.2.8, written in Python.

Run it as ``python -m insforge_tools.sandbox.standin_cli``. It follows the real
CLI's contract for the commands an agent uses: login, link, current, metadata,
db, records, storage, functions, secrets, logs, docs and deployments. It has the
same argument parsing errors, stdout JSON, stderr error lines, exit codes, files
under ``$HOME/.insforge`` and ``./.insforge``, and the same HTTP requests to the
platform API (``INSFORGE_API_URL``) and to the linked project backend.

Differences from the real CLI, on purpose:

- It connects only to loopback addresses; any other host fails like a refused
  connection, so a sandbox run never reaches the internet.
- ``link`` installs no agent skills (the real CLI runs ``npx skills add`` twice).
- Human (non ``--json``) output is the same JSON, not the real CLI's tables.
- Three variables shorten waits for tests: ``INSFORGE_STANDIN_LOGIN_WAIT``
  (seconds of the browser-login wait, default 300), ``INSFORGE_STANDIN_PING_DELAY``
  (seconds between ``link``'s usage-ping attempts, default 5) and
  ``INSFORGE_STANDIN_POLL_INTERVAL`` (seconds between deployment status polls,
  default 5).
"""

from insforge_tools.sandbox.standin_cli._main import main

__all__ = ["main"]
