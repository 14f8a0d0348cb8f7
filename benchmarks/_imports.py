"""Import time of the packages, each in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._stats import median

__all__ = ["ImportResult", "measure_imports"]

# Seconds one interpreter may take to start and import a package.
_IMPORT_TIMEOUT = 120.0


@dataclass
class ImportResult:
    """Import cost of one module.

    Attributes:
        module: The imported module.
        wall: Seconds of ``python -c "import MODULE"``, start to exit, per run.
        cumulative: Seconds ``-X importtime`` reports for the module and everything it imports, per run.
        modules_loaded: Modules the statement imports beyond those of a bare interpreter start, last run.
    """

    module: str
    wall: list[float] = field(default_factory=list)
    cumulative: list[float] = field(default_factory=list)
    modules_loaded: int = 0

    @property
    def wall_median(self) -> float:
        return median(self.wall)

    @property
    def cumulative_median(self) -> float:
        return median(self.cumulative)


def _run(code: str, cwd: Path, *, importtime: bool) -> tuple[float, str]:
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code]
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=_IMPORT_TIMEOUT, stdin=subprocess.DEVNULL
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {completed.stderr.strip()[-1000:]}")
    return elapsed, completed.stderr


def _importtime_lines(output: str) -> list[str]:
    # The first line is the column header: "import time: self [us] | cumulative | imported package".
    return [line for line in output.splitlines() if line.startswith("import time:")][1:]


def _count_modules(importtime_output: str) -> int:
    return len(_importtime_lines(importtime_output))


def _cumulative_seconds(importtime_output: str, module: str) -> float:
    """Return the cumulative seconds ``-X importtime`` reports for the top-level import of ``module``."""
    for line in _importtime_lines(importtime_output):
        columns = line.removeprefix("import time:").split("|")
        # A top-level import has exactly one space before its name in the last column.
        if len(columns) == 3 and columns[2].rstrip() == f" {module}":
            return int(columns[1]) / 1e6
    raise RuntimeError(f"-X importtime printed no line for {module}.")


def measure_imports(modules: list[str], *, repeat: int, cwd: Path) -> tuple[list[float], list[ImportResult]]:
    """Time ``import MODULE`` in ``repeat`` fresh interpreters per module, after one untimed run each.

    Returns:
        Wall seconds of ``python -c pass`` per run (the interpreter's own start-up),
        and one result per module.
    """
    _run("pass", cwd, importtime=False)
    baseline = [_run("pass", cwd, importtime=False)[0] for _ in range(repeat)]
    startup_modules = _count_modules(_run("pass", cwd, importtime=True)[1])

    results = []
    for module in modules:
        result = ImportResult(module=module)
        code = f"import {module}"
        _run(code, cwd, importtime=False)
        for _ in range(repeat):
            result.wall.append(_run(code, cwd, importtime=False)[0])
            output = _run(code, cwd, importtime=True)[1]
            result.cumulative.append(_cumulative_seconds(output, module))
            result.modules_loaded = _count_modules(output) - startup_modules
        results.append(result)
    return baseline, results
