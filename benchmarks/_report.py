"""The machine's facts and the Markdown report."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field

from benchmarks._calls import PATHS, CallsReport
from benchmarks._concurrency import CLI_SAMPLE_INTERVAL, ConcurrencyReport, leftover_children
from benchmarks._imports import ImportResult
from benchmarks._mcp import MCP_PACKAGE, MCP_VERSION
from benchmarks._stats import CaseResult, median

__all__ = ["Machine", "RunInfo", "machine_facts", "render_markdown"]

_PACKAGES = [
    "insforge-tools",
    "langchain-insforge",
    "langchain-core",
    "langchain-mcp-adapters",
    "mcp",
    "httpx",
]


@dataclass
class Machine:
    """The machine the numbers were measured on."""

    cpu_model: str
    cores: int
    usable_cores: int
    memory_gib: float
    system: str
    python: str
    node: str
    packages: dict[str, str] = field(default_factory=dict)


@dataclass
class RunInfo:
    """The command, date, settings and machine load of one run."""

    command: str
    date: str
    repeat: int
    warmup: int
    import_repeat: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def _node_version() -> str:
    node = shutil.which("node")
    if node is None:
        return "not installed"
    completed = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    return completed.stdout.strip() or "unknown"


def machine_facts() -> Machine:
    """Collect the CPU, memory, system, Python, Node and package versions."""
    packages = {}
    for name in _PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = "not installed"
    packages[MCP_PACKAGE] = f"{MCP_VERSION} (npm)"
    return Machine(
        cpu_model=_cpu_model(),
        cores=os.cpu_count() or 0,
        usable_cores=len(os.sched_getaffinity(0)),
        memory_gib=_memory_gib(),
        system=platform.platform(),
        python=platform.python_version(),
        node=_node_version(),
        packages=packages,
    )


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


def _load_note(run: RunInfo, machine: Machine) -> str:
    """Say whether other work competed for the CPU, judged by the load at the start."""
    cores = machine.usable_cores
    if run.load_before[0] > cores:
        return (
            f"The 1-minute load at the start was above the {cores} usable cores, so other programs were "
            "running on the machine and competed with this run for CPU. Every number below includes that. "
            "The value at the end also includes the benchmark's own processes."
        )
    return (
        f"The 1-minute load at the start was at most the {cores} usable cores. "
        "The value at the end includes the benchmark's own processes."
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def _calls_table(calls: CallsReport) -> list[str]:
    baseline = {case.call: case for case in calls.cases if case.path == "http" and case.samples}
    lines = [
        "| Path | Call | Median (ms) | p90 (ms) | Median ÷ (a) | Characters returned to the model |",
        "|---|---|---:|---:|---:|---:|",
    ]
    order = {path: index for index, path in enumerate(PATHS)}
    for case in sorted(calls.cases, key=lambda item: (order.get(item.path, 99), item.call)):
        label = PATHS.get(case.path, case.path)
        call = "metadata" if case.call == "metadata" else "`select 1`"
        if case.error is not None:
            lines.append(f"| {label} | {call} | failed | | | |")
            continue
        reference = baseline.get(case.call)
        ratio = f"{case.median / reference.median:.1f}×" if reference is not None else "n/a"
        chars = str(case.content_chars) if case.content_chars is not None else ""
        lines.append(f"| {label} | {call} | {_ms(case.median)} | {_ms(case.p90)} | {ratio} | {chars} |")
    return lines


def _errors(cases: list[CaseResult]) -> list[str]:
    seen = []
    for case in cases:
        if case.error is not None and case.error not in seen:
            seen.append(case.error)
    return seen


def _imports_table(baseline: list[float], imports: list[ImportResult]) -> list[str]:
    lines = [
        "| Statement | Wall time of `python -c` (ms, median) | `-X importtime` cumulative (ms, median) "
        "| Modules imported beyond a bare start |",
        "|---|---:|---:|---:|",
        f"| `pass` (interpreter start only) | {_ms(median(baseline))} | | |",
    ]
    for result in imports:
        lines.append(
            f"| `import {result.module}` | {_ms(result.wall_median)} | {_ms(result.cumulative_median)} "
            f"| {result.modules_loaded} |"
        )
    return lines


def _kinds(counter: dict[str, int]) -> str:
    return ", ".join(f"{kind}: {count}" for kind, count in sorted(counter.items())) or "none"


def _concurrency_lines(report: ConcurrencyReport, http_only: ConcurrencyReport | None) -> list[str]:
    cli = [name for name, transport in report.workspaces.items() if transport == "cli"]
    http = [name for name, transport in report.workspaces.items() if transport == "http"]
    total = sum(report.calls.values())
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(report.calls.items()))
    links = ", ".join(f"{name}: {how}" for name, how in report.link_transports.items())
    lines = [
        f"- Workspaces: {len(report.workspaces)} (CLI transport: {', '.join(cli)}; "
        f"HTTP transport: {', '.join(http)}), each linked with `insforge_link` to the one sandbox backend. "
        f"How each link was written: {links}.",
        f"- Batch: {total} tool calls started together with `asyncio.gather` ({kinds}); "
        f"wall time {report.batch_seconds:.2f} s.",
    ]
    if report.cli_calls:
        from insforge_tools.settings import Settings

        default = Settings.model_fields["cli_max_concurrency"].default
        bound = f"{report.cli_max_concurrency} here" + (
            ", the default" if report.cli_max_concurrency == default else f"; the default is {default}"
        )
        interval_ms = CLI_SAMPLE_INTERVAL * 1000
        lines.append(
            f"- CLI processes: each CLI-transport call starts a Python interpreter for the stand-in CLI, "
            f"{report.cli_calls} in this batch. `CliRunner` runs at most `cli_max_concurrency` CLI "
            f"processes at once per event loop ({bound}), and the other calls wait for a free slot. "
            "All workspaces here share one event loop. The maximum number of stand-in CLI processes "
            f"seen running at once, counted every {interval_ms:.0f} ms, was {report.peak_cli_processes}. "
            "On a machine with few cores these processes compete for CPU with the backend and the "
            "benchmark process, so the HTTP calls in the same batch wait too. The HTTP-only batch below "
            "shows the difference."
        )

    for transport in ("http", "cli"):
        if report.call_seconds.get(transport):
            middle, high = report.call_stats(transport)
            waiting = ", including the wait for a free CLI slot" if transport == "cli" else ""
            lines.append(
                f"- Per call under this load, {transport} transport{waiting}: median {_ms(middle)} ms, "
                f"p90 {_ms(high)} ms ({len(report.call_seconds[transport])} calls)."
            )
    if http_only is not None and http_only.call_seconds.get("http"):
        middle, high = http_only.call_stats("http")
        lines.append(
            f"- For comparison, the same batch with all {len(http_only.workspaces)} workspaces on the HTTP "
            f"transport: wall time {http_only.batch_seconds:.2f} s, per call median {_ms(middle)} ms, "
            f"p90 {_ms(high)} ms, {len(http_only.failures)} failed calls, "
            + ("cross-talk **found**." if http_only.cross_talk else "no cross-talk.")
        )

    lines.append(
        f"- Failed calls: {len(report.failures)}." + (f" {report.failures[:3]}" if report.failures else "")
    )
    if report.cross_talk:
        lines.append(f"- Cross-talk: **found** ({len(report.cross_talk)}): {report.cross_talk[:5]}.")
    else:
        lines.append(
            "- Cross-talk: none. Every insert returned exactly the marker its workspace sent, no select "
            f"returned another workspace's marker, and {len(report.read_back_ok)} of "
            f"{len(report.workspaces)} workspaces read back exactly the markers they wrote."
        )

    left = leftover_children(report)
    sandbox_before = len(set(report.children_before) & report.sandbox_pids)
    sandbox_after = len(set(report.children_after) & report.sandbox_pids)
    others_before = len(report.children_before) - sandbox_before
    others_after = len(report.children_after) - sandbox_after
    lines.append(
        f"- Child processes of the benchmark process (psutil, recursive), besides the sandbox's own: "
        f"{others_before} before, {others_after} after"
        + (f"; left running: {left}." if left else "; none left over.")
        + f" The sandbox's own (its server process and PostgreSQL, which starts one process per connection "
        f"of the backend's database pool): {sandbox_before} before, {sandbox_after} after."
    )
    lines.append(
        f"- File descriptors (`/proc/self/fd`): {report.fds_before} before, {report.fds_during} right "
        f"after the batch with the {len(report.workspaces)} contexts still open, {report.fds_after} after "
        "closing their HTTP clients and "
        f"waiting {report.settle_seconds:.1f} s."
    )
    lines.append(f"  - Before, by kind: {_kinds(report.fd_kinds_before)}.")
    lines.append(f"  - After, by kind: {_kinds(report.fd_kinds_after)}.")
    return lines


def render_markdown(
    machine: Machine,
    run: RunInfo,
    calls: CallsReport,
    import_baseline: list[float],
    imports: list[ImportResult],
    concurrency: ConcurrencyReport | None,
    http_only: ConcurrencyReport | None = None,
) -> str:
    """Return the benchmark page."""
    packages = ", ".join(f"{name} {version}" for name, version in machine.packages.items())
    lines = [
        "# Benchmarks",
        "",
        "insforge-tools side by side with the InsForge MCP server, all against one local sandbox backend "
        "(`insforge_tools.sandbox.Sandbox`: a Starlette stand-in of the InsForge backend 2.3.1 on a real "
        "PostgreSQL, on 127.0.0.1). The sandbox runs in a child process of its own, so its servers do not "
        "share the benchmark client's CPU time and GIL. The numbers below come from one run of "
        "`benchmarks/run.py`, and `--write-docs` writes this page again.",
        "",
        "## Run",
        "",
        f"- Command: `{run.command}`",
        f"- Date (UTC): {run.date}",
        f"- Repetitions: {run.repeat} timed calls per case after {run.warmup} untimed warm-up calls; "
        f"{run.import_repeat} fresh interpreters per import.",
        f"- CPU: {machine.cpu_model}, {machine.cores} cores ({machine.usable_cores} usable by this process); "
        f"memory {machine.memory_gib:.1f} GiB",
        f"- System: {machine.system}",
        f"- Python {machine.python}, Node {machine.node}",
        f"- Load average (1, 5, 15 min, from `/proc/loadavg`) at the start: {_load(run.load_before)}; "
        f"at the end: {_load(run.load_after)}. {_load_note(run, machine)}",
        f"- Packages: {packages}",
        "",
        "## What each path includes",
        "",
        "- **(a) HTTP transport**: `InsForgeToolkit` tool → `ainvoke` → operation → one HTTP request from a "
        "kept-alive httpx client → compact text for the model plus a typed artifact.",
        "- **(b) CLI transport**: the same tool, but each call starts the stand-in CLI "
        "(`python -m insforge_tools.sandbox.standin_cli`, a Python interpreter) which makes the request and "
        "prints JSON. The real CLI is `npx @insforge/cli`, a Node program; its start-up cost differs and is "
        "not measured here.",
        "- **(c) MCP server, new session per call**: what `MultiServerMCPClient.get_tools()` tools do by "
        f"default. Every call starts a Node process (`node …/{MCP_PACKAGE}/dist/index.js`, installed with "
        f"`npm install {MCP_PACKAGE}@{MCP_VERSION}`), which checks `GET /api/health` and registers "
        f"its tools ({calls.mcp_tool_count or 'unknown'} against this backend); then the MCP `initialize` "
        "handshake, the tool call, and closing stdin and waiting for the process to exit. It does not "
        "include `npx` package resolution: the configuration in the MCP server's README starts it with "
        "`npx -y @insforge/mcp@latest`, which adds that cost to every start.",
        "- **(c) MCP server, held session**: one Node process and session opened with "
        "`client.session(...)` and `load_mcp_tools(session)` before timing; each call is one JSON-RPC "
        "round trip over stdio plus the server's HTTP request. Opening the session is shown separately "
        "below.",
        "- Both MCP paths start the server as `/bin/sh -c 'exec node … 2>>LOG'`, so that its standard error "
        "lands in a log the report can quote; the shell replaces itself with Node.",
        "- The MCP server also posts a usage record to the backend (`POST /api/usage/mcp`) after every "
        "tool call without waiting for it, so the backend does one more request per MCP call.",
        "- All paths call the tool through LangChain's `BaseTool.ainvoke`, so LangChain's own overhead is "
        "in every number.",
        "",
        "## 1. One call at a time",
        "",
        *_calls_table(calls),
        "",
    ]

    if calls.one_off:
        names = {
            "mcp_get_tools": "`MultiServerMCPClient.get_tools()` (starts a server to list the tools)",
            "mcp_session_open": "opening the held MCP session (Node start, health check, `initialize`)",
            "mcp_load_tools": "`load_mcp_tools(session)` on the held session",
        }
        lines.append("One-time costs, measured once:")
        lines.append("")
        for key, seconds in calls.one_off.items():
            lines.append(f"- {names.get(key, key)}: {_ms(seconds)} ms")
        lines.append("")
    if calls.mcp_log is not None:
        left = calls.mcp_children_left
        lines.append(
            "- Child processes left running after the MCP cases: "
            + (f"{len(left)} ({left})." if left else "none.")
        )
        lines.append("")
    for error in _errors(calls.cases):
        lines += [f"A path failed: {error}", ""]

    lines += [
        "## 2. Import time",
        "",
        "Each statement in a fresh interpreter (`python -c`, working directory the repository root); "
        "wall time includes the interpreter's own start.",
        "",
        *_imports_table(import_baseline, imports),
        "",
    ]

    if concurrency is not None:
        lines += [
            f"## 3. {sum(concurrency.calls.values())} concurrent calls over "
            f"{len(concurrency.workspaces)} workspaces",
            "",
            *_concurrency_lines(concurrency, http_only),
            "",
        ]

    lines += [
        "## Limits",
        "",
        "- One machine, one run, loopback only. A remote backend adds at least one network round trip to "
        "every call on every path, which shrinks the ratios.",
        "- The backend is the sandbox stand-in, not a real InsForge server; the CLI is the stand-in CLI.",
        "- Per-call numbers include LangChain's tool machinery but no model and no agent loop.",
        "- No test asserts any of these numbers.",
        "",
    ]
    return "\n".join(lines)
