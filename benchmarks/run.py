"""Benchmark insforge-tools against the InsForge MCP server on one sandbox backend.

Run from the repository root::

    .venv/bin/python -m benchmarks.run [--repeat 20] [--write-docs]

It starts one :class:`~insforge_tools.sandbox.Sandbox`, installs ``@insforge/mcp``
under ``benchmarks/.cache`` on first use, and measures: single calls through
each path (section 1), import time (section 2) and a concurrent batch over many
workspaces (section 3). The report is printed as Markdown; ``--write-docs``
also writes it to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import shlex
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks._calls import CallsReport, measure_calls
from benchmarks._concurrency import ConcurrencyReport, measure_concurrency
from benchmarks._imports import ImportResult, measure_imports
from benchmarks._mcp import McpUnavailableError, install_mcp_server
from benchmarks._report import RunInfo, machine_facts, render_markdown
from benchmarks._sandbox_process import SandboxProcess
from benchmarks._stats import CaseResult

__all__ = ["CACHE_DIR", "DOCS_PATH", "BenchmarkResults", "main", "run_benchmarks"]

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / "benchmarks" / ".cache"
DOCS_PATH = ROOT / "docs" / "benchmarks.md"
NPM_PREFIX = CACHE_DIR / "npm"


@dataclass
class BenchmarkResults:
    """Everything one run measured."""

    calls: CallsReport
    import_baseline: list[float]
    imports: list[ImportResult]
    concurrency: ConcurrencyReport
    http_only: ConcurrencyReport


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="Timed calls per case (default 20).")
    parser.add_argument(
        "--warmup", type=int, default=2, help="Untimed calls before each case's timed ones (default 2)."
    )
    parser.add_argument(
        "--import-repeat",
        type=int,
        default=10,
        help="Fresh interpreters per import measurement (default 10).",
    )
    parser.add_argument(
        "--calls", type=int, default=100, help="Tool calls in the concurrent batch (default 100)."
    )
    parser.add_argument("--skip-mcp", action="store_true", help="Leave out the MCP server paths.")
    parser.add_argument("--write-docs", action="store_true", help=f"Also write the report to {DOCS_PATH}.")
    return parser


async def run_benchmarks(
    *, repeat: int, warmup: int, import_repeat: int, calls: int, skip_mcp: bool, log_dir: Path
) -> BenchmarkResults:
    """Run every section against one sandbox."""
    mcp_entry = None
    mcp_error = None
    if not skip_mcp:
        try:
            mcp_entry = install_mcp_server(NPM_PREFIX)
        except McpUnavailableError as exc:
            mcp_error = str(exc)

    print("Starting the sandbox ...", file=sys.stderr, flush=True)
    async with SandboxProcess() as sandbox:
        print("Section 1: single calls", file=sys.stderr, flush=True)
        paths = ["http", "cli"]
        if mcp_entry is not None:
            paths += ["mcp-new", "mcp-held"]
        calls_report = await measure_calls(
            sandbox, paths=paths, repeat=repeat, warmup=warmup, mcp_entry=mcp_entry, log_dir=log_dir
        )
        if mcp_error is not None:
            for path in ("mcp-new", "mcp-held"):
                for call in ("metadata", "sql"):
                    calls_report.cases.append(CaseResult(path=path, call=call, error=mcp_error))

        print("Section 3: concurrent calls", file=sys.stderr, flush=True)
        concurrency = await measure_concurrency(sandbox, calls=calls)
        http_only = await measure_concurrency(sandbox, calls=calls, cli_workspaces=0, prefix="h")

    # Imports are timed with the sandbox stopped, so its servers and PostgreSQL do not compete for CPU.
    print("Section 2: import time", file=sys.stderr, flush=True)
    baseline, imports = measure_imports(
        ["insforge_tools", "langchain_insforge"], repeat=import_repeat, cwd=ROOT
    )
    return BenchmarkResults(calls_report, baseline, imports, concurrency, http_only)


def _load_average() -> tuple[float, float, float]:
    """Return the 1-, 5- and 15-minute load averages from ``/proc/loadavg``."""
    with open("/proc/loadavg", encoding="ascii") as loadavg:
        one, five, fifteen = loadavg.read().split()[:3]
    return float(one), float(five), float(fifteen)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print the report, and write it to the docs with ``--write-docs``."""
    args = _parser().parse_args(argv)
    if args.repeat < 1 or args.warmup < 0 or args.import_repeat < 1 or args.calls < 1:
        print(
            "--repeat, --import-repeat and --calls must be at least 1, --warmup at least 0.", file=sys.stderr
        )
        return 2

    started = datetime.datetime.now(datetime.UTC)
    load_before = _load_average()
    with tempfile.TemporaryDirectory(prefix="insforge-bench-") as log_dir:
        results = asyncio.run(
            run_benchmarks(
                repeat=args.repeat,
                warmup=args.warmup,
                import_repeat=args.import_repeat,
                calls=args.calls,
                skip_mcp=args.skip_mcp,
                log_dir=Path(log_dir),
            )
        )

    command = ".venv/bin/python -m benchmarks.run " + shlex.join(sys.argv[1:] if argv is None else argv)
    run = RunInfo(
        command=command.strip(),
        date=started.strftime("%Y-%m-%d %H:%M"),
        repeat=args.repeat,
        warmup=args.warmup,
        import_repeat=args.import_repeat,
        load_before=load_before,
        load_after=_load_average(),
    )
    text = render_markdown(
        machine_facts(),
        run,
        results.calls,
        results.import_baseline,
        results.imports,
        results.concurrency,
        results.http_only,
    )
    print(text)
    if args.write_docs:
        DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
        DOCS_PATH.write_text(text, encoding="utf-8")
        print(f"Wrote {DOCS_PATH}", file=sys.stderr)

    failed = [case for case in results.calls.cases if case.error is not None]
    problems = [
        problem
        for batch in (results.concurrency, results.http_only)
        for problem in batch.failures + batch.cross_talk
    ]
    return 1 if failed or problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
