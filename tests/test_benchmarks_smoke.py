"""The benchmark script's smallest case, run once: one metadata call per path, one repetition."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks.run

    return benchmarks.run


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture
def mcp_entry(bench: object) -> Path:
    from benchmarks._mcp import installed_entry_point

    if shutil.which("node") is None:
        pytest.skip("node is not on PATH; the InsForge MCP server needs Node.")
    if importlib.util.find_spec("langchain_mcp_adapters") is None:
        pytest.skip("langchain-mcp-adapters is not installed; install the bench extra.")
    entry = installed_entry_point(bench.NPM_PREFIX)  # type: ignore[attr-defined]
    if entry is None:
        pytest.skip(
            "@insforge/mcp 1.2.11 is not under benchmarks/.cache; "
            "run `python -m benchmarks.run` once to install it."
        )
    return entry


def _children_besides_postgres() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True) if child.name() != "postgres"}


async def test_benchmark_smallest_case(mcp_entry: Path, sandbox: Sandbox, tmp_path: Path) -> None:
    from benchmarks._calls import measure_calls

    children_before = _children_besides_postgres()

    report = await measure_calls(
        sandbox,
        paths=["http", "mcp-new"],
        calls=["metadata"],
        repeat=1,
        warmup=0,
        mcp_entry=mcp_entry,
        log_dir=tmp_path,
    )

    cases = {case.path: case for case in report.cases}
    assert set(cases) == {"http", "mcp-new"}
    for case in cases.values():
        assert case.error is None, case.error
        assert len(case.samples) == 1
        assert case.content_chars
    assert report.mcp_tool_count == 17
    assert report.mcp_children_left == []
    assert _children_besides_postgres() <= children_before


def test_benchmark_report_renders(bench: object) -> None:
    from benchmarks._calls import CallsReport
    from benchmarks._report import RunInfo, machine_facts, render_markdown
    from benchmarks._stats import CaseResult

    calls = CallsReport(
        cases=[
            CaseResult(path="http", call="sql", samples=[0.002, 0.004], content_chars=40),
            CaseResult(path="mcp-held", call="sql", samples=[0.006, 0.010], content_chars=191),
            CaseResult(path="mcp-new", call="sql", error="McpError: Connection closed"),
        ]
    )
    run = RunInfo(
        command="python -m benchmarks.run",
        date="2026-01-01 00:00",
        repeat=2,
        warmup=0,
        import_repeat=1,
        load_before=(0.0, 0.0, 0.0),
        load_after=(0.0, 0.0, 0.0),
    )

    text = render_markdown(machine_facts(), run, calls, [0.02], [], None)

    assert "| (a) LangChain tool, HTTP transport | `select 1` | 3.0 | 3.8 | 1.0× | 40 |" in text
    assert "| (c) MCP server, held session | `select 1` | 8.0 | 9.6 | 2.7× | 191 |" in text
    assert "| (c) MCP server, new session per call | `select 1` | failed | | | |" in text
    assert "A path failed: McpError: Connection closed" in text
