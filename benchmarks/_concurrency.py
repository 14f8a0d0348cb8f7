"""Concurrent calls over many workspaces: cross-talk, leaked processes and file descriptors."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psutil

from benchmarks._calls import describe_exception, linked_toolkit_tools
from benchmarks._stats import median, p90

__all__ = [
    "CLI_SAMPLE_INTERVAL",
    "ConcurrencyReport",
    "fd_kinds",
    "leftover_children",
    "measure_concurrency",
    "sandbox_pids",
]

# Seconds to wait for descriptors and children to return to their count before the batch.
_SETTLE_LIMIT = 10.0

# Seconds between two counts of running CLI processes during the batch.
CLI_SAMPLE_INTERVAL = 0.1


@dataclass
class ConcurrencyReport:
    """Outcome of a concurrent batch: its results and what it left behind.

    Attributes:
        workspaces: Workspace name -> transport (``http`` or ``cli``).
        link_transports: Workspace name -> how ``insforge_link`` wrote the link (``file`` or ``cli``).
        calls: Calls in the batch, by kind.
        failures: Error texts of failed calls.
        cross_talk: Descriptions of any result that did not belong to the caller.
        read_back_ok: Workspaces whose table held exactly the markers they wrote.
        cli_calls: Calls in the batch made by CLI-transport workspaces, each one CLI process.
        cli_max_concurrency: The workspaces' ``Settings.cli_max_concurrency``, 0 without CLI workspaces.
        peak_cli_processes: Maximum number of stand-in CLI processes seen running at once, counted every
            ``CLI_SAMPLE_INTERVAL`` seconds during the batch, so a shorter peak can be missed.
        batch_seconds: Wall time of the whole batch.
        call_seconds: Seconds per call, by transport.
        children_before, children_after: This process's children and their children, PID -> name.
        sandbox_pids: Those of them that belong to the sandbox, after the batch.
        fds_before, fds_during, fds_after: Entries of ``/proc/self/fd`` before the batch, right
            after it with the contexts still open, and after closing them and settling.
        fd_kinds_before, fd_kinds_after: The same descriptors by kind.
        settle_seconds: Time waited after closing the contexts.
    """

    workspaces: dict[str, str] = field(default_factory=dict)
    link_transports: dict[str, str] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    cross_talk: list[str] = field(default_factory=list)
    read_back_ok: list[str] = field(default_factory=list)
    cli_calls: int = 0
    cli_max_concurrency: int = 0
    peak_cli_processes: int = 0
    batch_seconds: float = 0.0
    call_seconds: dict[str, list[float]] = field(default_factory=dict)
    children_before: dict[int, str] = field(default_factory=dict)
    children_after: dict[int, str] = field(default_factory=dict)
    sandbox_pids: set[int] = field(default_factory=set)
    fds_before: int = 0
    fds_during: int = 0
    fds_after: int = 0
    fd_kinds_before: Counter[str] = field(default_factory=Counter)
    fd_kinds_after: Counter[str] = field(default_factory=Counter)
    settle_seconds: float = 0.0

    def call_stats(self, transport: str) -> tuple[float, float]:
        """Return the median and p90 seconds per call on ``transport``."""
        samples = self.call_seconds.get(transport, [])
        return median(samples), p90(samples)


def leftover_children(report: ConcurrencyReport) -> dict[int, str]:
    """Return children outside the sandbox that ran after the batch but not before it."""
    excluded = report.sandbox_pids
    extra = _tools_children(report.children_after, excluded) - _tools_children(
        report.children_before, excluded
    )
    return {pid: report.children_after[pid] for pid in sorted(extra)}


def fd_kinds(backend_port: int) -> Counter[str]:
    """Count this process's file descriptors by kind, telling the backend's TCP connections apart."""
    inet: dict[int, Any] = {}
    for connection in psutil.Process().net_connections(kind="inet"):
        if connection.fd != -1:
            inet[connection.fd] = connection

    kinds: Counter[str] = Counter()
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # closed between the listing and the readlink, such as the listing's own descriptor
        connection = inet.get(fd)
        if connection is not None:
            if connection.raddr and connection.raddr.port == backend_port:
                kinds["client connection to the backend"] += 1
            elif connection.laddr and connection.laddr.port == backend_port:
                kinds["backend listener or accepted connection"] += 1
            else:
                kinds["other TCP socket"] += 1
        elif target.startswith("socket:"):
            kinds["other socket"] += 1
        elif target.startswith("pipe:"):
            kinds["pipe"] += 1
        elif target.startswith("anon_inode:"):
            kinds[target] += 1
        else:
            kinds["file or device"] += 1
    return kinds


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _children() -> dict[int, str]:
    """Return this process's children and their children, PID -> process name."""
    children = {}
    for child in psutil.Process().children(recursive=True):
        try:
            children[child.pid] = child.name()
        except psutil.NoSuchProcess:
            continue
    return children


def sandbox_pids(sandbox: Any) -> set[int]:
    """Return the PIDs of the sandbox's own processes: its server process (if any) and PostgreSQL's.

    PostgreSQL starts one process per connection of the backend's database pool,
    so their number changes with load.
    """
    pids = {pid for pid, name in _children().items() if name == "postgres"}
    server_pid = getattr(sandbox, "pid", 0)
    if server_pid:
        pids.add(server_pid)
        try:
            pids |= {child.pid for child in psutil.Process(server_pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
    return pids


def _tools_children(children: dict[int, str], excluded: set[int]) -> set[int]:
    return set(children) - excluded


def _settled(report: ConcurrencyReport, backend_port: int, excluded: set[int]) -> bool:
    """Tell whether no client connection to the backend and no extra non-PostgreSQL child is left."""
    kinds = fd_kinds(backend_port)
    if kinds["client connection to the backend"] > report.fd_kinds_before["client connection to the backend"]:
        return False
    accepted = "backend listener or accepted connection"
    if kinds[accepted] > report.fd_kinds_before[accepted]:
        return False
    before = _tools_children(report.children_before, excluded)
    return not (_tools_children(_children(), excluded) - before)


def _count_cli_processes() -> int:
    """Count this process's children that run the stand-in CLI."""
    count = 0
    for child in psutil.Process().children():
        try:
            if "insforge_tools.sandbox.standin_cli" in child.cmdline():
                count += 1
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
    return count


async def _sample_cli_processes(report: ConcurrencyReport) -> None:
    """Record the maximum number of stand-in CLI processes running at once, until cancelled."""
    while True:
        report.peak_cli_processes = max(report.peak_cli_processes, _count_cli_processes())
        await asyncio.sleep(CLI_SAMPLE_INTERVAL)


async def _call(tool: Any, args: dict[str, Any], call_id: str) -> tuple[Any, float]:
    """Run a tool as a model's tool call would; return its ToolMessage and the seconds it took."""
    started = time.perf_counter()
    message = await tool.ainvoke({"name": tool.name, "args": args, "id": call_id, "type": "tool_call"})
    return message, time.perf_counter() - started


async def measure_concurrency(
    sandbox: Any, *, workspaces: int = 10, cli_workspaces: int = 5, calls: int = 100, prefix: str = "w"
) -> ConcurrencyReport:
    """Run ``calls`` tool calls at once over ``workspaces`` workspaces and check what they returned and left.

    Each workspace has its own table. In the batch it reads metadata, inserts
    markers into its table (``insert … returning``) and selects from it, in the
    proportion 4:3:3; afterwards each reads its table back. A result that names
    another workspace's marker, or an insert that returns a marker it did not
    send, is cross-talk. Workspaces are named ``{prefix}0``, ``{prefix}1`` …; a
    second batch in the same sandbox needs another prefix.
    """
    from insforge_tools.transports.project import http_transport

    report = ConcurrencyReport()
    backend_port = int(sandbox.backend_url.rsplit(":", 1)[1])
    report.children_before = _children()
    sandbox_before = sandbox_pids(sandbox)
    report.fds_before = _fd_count()
    report.fd_kinds_before = fd_kinds(backend_port)

    token = secrets.token_hex(4)
    contexts: list[Any] = []
    tools_by_workspace: dict[str, dict[str, Any]] = {}
    try:
        for index in range(workspaces):
            name = f"{prefix}{index}"
            transport = "cli" if index < cli_workspaces else "http"
            context, tools, link = await linked_toolkit_tools(sandbox, name, transport)
            contexts.append(context)
            tools_by_workspace[name] = tools
            report.workspaces[name] = transport
            report.link_transports[name] = link.transport
            if transport == "cli":
                report.cli_max_concurrency = context.settings.cli_max_concurrency
            await tools["insforge_db_query"].ainvoke(
                {"sql": f"create table if not exists bench_{name} (marker text primary key)"}
            )

        # The CLI's db query takes no bind parameters, so values are quoted into the SQL. That is safe
        # because table names and markers are built here from fixed text and hex digits.
        # Build the batch: workspace after workspace, each with its share of calls in a 4:3:3 pattern.
        jobs: list[tuple[str, str, dict[str, Any], str]] = []
        names = list(report.workspaces)
        for number in range(calls):
            name = names[number % len(names)]
            slot = (number // len(names)) % 10
            if slot in (0, 3, 6, 9):
                jobs.append((name, "metadata", {}, ""))
            elif slot in (1, 4, 7):
                marker = f"{name}-{number}-{token}"
                sql = f"insert into bench_{name} (marker) values ('{marker}') returning marker"  # noqa: S608
                jobs.append((name, "insert", {"sql": sql}, marker))
            else:
                select = f"select marker from bench_{name}"  # noqa: S608
                jobs.append((name, "select", {"sql": select}, ""))

        tasks = []
        for number, (name, kind, args, _marker) in enumerate(jobs):
            tool_name = "insforge_metadata" if kind == "metadata" else "insforge_db_query"
            tasks.append(_call(tools_by_workspace[name][tool_name], args, f"c{number}"))
            report.calls[kind] += 1
            if report.workspaces[name] == "cli":
                report.cli_calls += 1

        sampler = asyncio.create_task(_sample_cli_processes(report)) if cli_workspaces else None
        started = time.perf_counter()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        report.batch_seconds = time.perf_counter() - started
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        report.fds_during = _fd_count()

        written: dict[str, set[str]] = {name: set() for name in names}
        for (name, kind, _args, marker), outcome in zip(jobs, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                report.failures.append(f"{name} {kind}: {describe_exception(outcome)}")
                continue
            message, seconds = outcome
            report.call_seconds.setdefault(report.workspaces[name], []).append(seconds)
            if message.status == "error":
                report.failures.append(f"{name} {kind}: {message.content}")
                continue
            if kind == "metadata":
                continue
            rows = [row.get("marker") for row in message.artifact.rows]
            foreign = [value for value in rows if not str(value).startswith(f"{name}-")]
            if foreign:
                report.cross_talk.append(f"{name} {kind} returned markers of other workspaces: {foreign}")
            if kind == "insert":
                if rows != [marker]:
                    report.cross_talk.append(f"{name} inserted {marker} but got back {rows}")
                written[name].add(marker)

        for name in names:
            message = await tools_by_workspace[name]["insforge_db_query"].ainvoke(
                {
                    "name": "insforge_db_query",
                    "args": {"sql": f"select marker from bench_{name}"},  # noqa: S608
                    "id": f"r-{name}",
                    "type": "tool_call",
                }
            )
            if message.status == "error":
                report.failures.append(f"{name} read-back: {message.content}")
                continue
            stored = {row.get("marker") for row in message.artifact.rows}
            if stored == written[name]:
                report.read_back_ok.append(name)
            else:
                report.cross_talk.append(
                    f"{name} read back {sorted(stored)}, expected {sorted(written[name])}"
                )
    finally:
        for context in contexts:
            await http_transport(context).aclose()

    # The backend shares this process, so its side of each closed connection takes a moment to close too.
    # Its database pool may keep connections it opened under load; those are the backend's, not leaks.
    started = time.perf_counter()
    while time.perf_counter() - started < _SETTLE_LIMIT:
        if _settled(report, backend_port, sandbox_pids(sandbox)):
            break
        await asyncio.sleep(0.2)
    report.settle_seconds = time.perf_counter() - started
    report.fds_after = _fd_count()
    report.fd_kinds_after = fd_kinds(backend_port)
    report.children_after = _children()
    report.sandbox_pids = sandbox_pids(sandbox) | (set(report.children_before) & sandbox_before)
    return report
