"""Timed metadata and ``select 1`` calls through each path to the same backend."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks._mcp import log_tail, stdio_connection
from benchmarks._stats import CaseResult

__all__ = [
    "CALLS",
    "PATHS",
    "CallsReport",
    "BenchmarkError",
    "describe_exception",
    "linked_toolkit_tools",
    "measure_calls",
    "tool_text",
]

# Key -> what the path is, as the report shows it.
PATHS: dict[str, str] = {
    "http": "(a) LangChain tool, HTTP transport",
    "cli": "(b) LangChain tool, CLI transport (stand-in CLI)",
    "mcp-new": "(c) MCP server, new session per call",
    "mcp-held": "(c) MCP server, held session",
}

# Key -> (insforge-tools tool, its args, text its content contains, MCP tool, its args, text expected).
CALLS: dict[str, tuple[str, dict[str, Any], str, str, dict[str, Any], str]] = {
    "metadata": (
        "insforge_metadata",
        {},
        "InsForge project metadata",
        "get-backend-metadata",
        {},
        "Backend metadata",
    ),
    "sql": (
        "insforge_db_query",
        {"sql": "select 1"},
        "1 rows",
        "run-raw-sql",
        {"query": "select 1"},
        "SQL query executed",
    ),
}

_TOOL_NAMES = ["insforge_link", "insforge_metadata", "insforge_db_query"]


class BenchmarkError(RuntimeError):
    """A timed call returned something other than the expected result."""


@dataclass
class CallsReport:
    """Results of the call benchmarks.

    Attributes:
        cases: One result per path and call kind.
        one_off: Seconds of one-time steps, such as opening the held MCP session.
        mcp_children_left: PIDs of child processes still running after the MCP cases.
        mcp_log: Where the MCP server's standard error went.
        mcp_tool_count: Tools the MCP server registered, from its start-up lines.
    """

    cases: list[CaseResult] = field(default_factory=list)
    one_off: dict[str, float] = field(default_factory=dict)
    mcp_children_left: list[int] = field(default_factory=list)
    mcp_log: Path | None = None
    mcp_tool_count: int | None = None


def tool_text(output: Any) -> str:
    """Return the text of a tool's output: a string, or MCP content blocks."""
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        parts = []
        for block in output:
            if isinstance(block, dict):
                parts.append(str(block.get("text", "")))
            else:
                parts.append(str(getattr(block, "text", block)))
        return "".join(parts)
    return str(output)


def describe_exception(exc: BaseException) -> str:
    """Return ``Type: message`` of ``exc``, or of every leaf when it is an exception group."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(describe_exception(inner) for inner in exc.exceptions)
    return f"{type(exc).__name__}: {exc}"


async def linked_toolkit_tools(
    sandbox: Any, workspace: str, transport: str
) -> tuple[Any, dict[str, Any], Any]:
    """Link a new workspace to the sandbox backend.

    Returns:
        The workspace's context, its tools by name, and the ``insforge_link`` result.
    """
    from langchain_insforge import InsForgeToolkit

    from insforge_tools.approvals import AutoApprover

    context = sandbox.context(approver=AutoApprover(), workspace=workspace, transport=transport)
    tools = {tool.name: tool for tool in InsForgeToolkit(context=context, include=_TOOL_NAMES).get_tools()}
    message = await tools["insforge_link"].ainvoke(
        {
            "name": "insforge_link",
            "args": {"api_base_url": sandbox.backend_url},
            "id": "link",
            "type": "tool_call",
        }
    )
    if message.status == "error":
        raise BenchmarkError(f"Linking the workspace {workspace} ({transport}) failed: {message.content}")
    return context, tools, message.artifact


async def _time_tool(
    tool: Any, args: dict[str, Any], expected: str, *, repeat: int, warmup: int, result: CaseResult
) -> None:
    for index in range(warmup + repeat):
        started = time.perf_counter()
        output = await tool.ainvoke(args)
        elapsed = time.perf_counter() - started

        text = tool_text(output)
        if expected not in text:
            raise BenchmarkError(f"{tool.name} returned an unexpected result: {text[:300]}")
        if index >= warmup:
            result.samples.append(elapsed)
        result.content_chars = len(text)


async def _measure_toolkit(
    sandbox: Any, path: str, calls: Sequence[str], *, repeat: int, warmup: int
) -> list[CaseResult]:
    from insforge_tools.transports.project import http_transport

    transport = "cli" if path == "cli" else "http"
    context, tools, _link = await linked_toolkit_tools(sandbox, f"bench-{path}", transport)
    results = []
    try:
        for call in calls:
            tool_name, args, expected, *_ = CALLS[call]
            result = CaseResult(path=path, call=call)
            await _time_tool(tools[tool_name], args, expected, repeat=repeat, warmup=warmup, result=result)
            results.append(result)
    finally:
        # Each path starts with new connections, so no path reuses another's.
        await http_transport(context).aclose()
    return results


async def _measure_mcp(
    sandbox: Any,
    paths: Sequence[str],
    calls: Sequence[str],
    *,
    entry: Path,
    repeat: int,
    warmup: int,
    report: CallsReport,
    log_path: Path,
) -> None:
    from langchain_mcp_adapters.client import MultiServerMCPClient
    from langchain_mcp_adapters.tools import load_mcp_tools

    connections: dict[str, Any] = {
        "insforge": stdio_connection(
            entry, api_key=sandbox.api_key, base_url=sandbox.backend_url, stderr_log=log_path
        )
    }
    client = MultiServerMCPClient(connections)

    if "mcp-new" in paths:
        started = time.perf_counter()
        tools = {tool.name: tool for tool in await client.get_tools()}
        report.one_off["mcp_get_tools"] = time.perf_counter() - started
        for call in calls:
            *_, mcp_name, mcp_args, expected = CALLS[call]
            result = CaseResult(path="mcp-new", call=call)
            await _time_tool(tools[mcp_name], mcp_args, expected, repeat=repeat, warmup=warmup, result=result)
            report.cases.append(result)

    if "mcp-held" in paths:
        started = time.perf_counter()
        async with client.session("insforge") as session:
            opened = time.perf_counter()
            tools = {tool.name: tool for tool in await load_mcp_tools(session)}
            report.one_off["mcp_session_open"] = opened - started
            report.one_off["mcp_load_tools"] = time.perf_counter() - opened
            for call in calls:
                *_, mcp_name, mcp_args, expected = CALLS[call]
                result = CaseResult(path="mcp-held", call=call)
                await _time_tool(
                    tools[mcp_name], mcp_args, expected, repeat=repeat, warmup=warmup, result=result
                )
                report.cases.append(result)


async def measure_calls(
    sandbox: Any,
    *,
    paths: Sequence[str],
    calls: Sequence[str] = ("metadata", "sql"),
    repeat: int,
    warmup: int,
    mcp_entry: Path | None = None,
    log_dir: Path | None = None,
) -> CallsReport:
    """Time each call kind through each path, ``warmup`` untimed calls first.

    Args:
        sandbox: A started :class:`~insforge_tools.sandbox.Sandbox`.
        paths: Keys of :data:`PATHS`; the MCP paths need ``mcp_entry``.
        calls: Keys of :data:`CALLS`.
        repeat: Timed calls per case.
        warmup: Untimed calls before them.
        mcp_entry: The MCP server's stdio script.
        log_dir: Where the MCP server's standard error is written.
    """
    report = CallsReport()
    for path in paths:
        if path.startswith("mcp-"):
            continue
        report.cases += await _measure_toolkit(sandbox, path, calls, repeat=repeat, warmup=warmup)

    mcp_paths = [path for path in paths if path.startswith("mcp-")]
    if not mcp_paths:
        return report
    if mcp_entry is None:
        raise ValueError("The MCP paths need mcp_entry, the server's stdio script.")

    log_path = (log_dir or Path(tempfile.gettempdir())) / "mcp-server-stderr.log"
    log_path.unlink(missing_ok=True)
    report.mcp_log = log_path
    me = psutil.Process()
    children_before = {child.pid for child in me.children(recursive=True)}
    try:
        await _measure_mcp(
            sandbox,
            mcp_paths,
            calls,
            entry=mcp_entry,
            repeat=repeat,
            warmup=warmup,
            report=report,
            log_path=log_path,
        )
    except Exception as exc:  # noqa: BLE001 - a failed start surfaces as an ExceptionGroup of McpError
        reason = describe_exception(exc)
        printed = log_tail(log_path)
        error = f"{reason}. The server printed: {printed or '(nothing)'}"
        measured = {(case.path, case.call) for case in report.cases}
        for path in mcp_paths:
            for call in calls:
                if (path, call) not in measured:
                    report.cases.append(CaseResult(path=path, call=call, error=error))

    # The server prints "Tools registered: N" on standard error once it is ready.
    counts = re.findall(r"Tools registered: (\d+)", log_tail(log_path, lines=100_000))
    report.mcp_tool_count = int(counts[-1]) if counts else None

    children_after = {child.pid for child in me.children(recursive=True)}
    report.mcp_children_left = sorted(children_after - children_before)
    return report
