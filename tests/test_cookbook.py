"""The cookbook: every .py/.ipynb pair is in sync, and every notebook runs offline to its last cell.

The notebooks run in a Jupyter kernel, a separate process that pytest-socket does not reach, so the
kernel installs the same loopback-only guard itself before the first cell. Subprocesses the notebooks
start (PostgreSQL, the stand-in CLI) are outside that guard; they use loopback because the sandbox
configures them so.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jupytext
import nbformat
import psutil
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

COOKBOOK = Path(__file__).resolve().parent.parent / "cookbook"

NOTEBOOKS = ["01_quickstart", "02_langgraph_approvals", "03_llamaindex_workflow", "04_self_hosted"]

# Maximum seconds per cell. Starting the sandbox's PostgreSQL takes a few of them.
CELL_TIMEOUT = 180

# Environment variables that switch a notebook to a real model or a real backend. The tests run the
# offline path only, so the kernel never sees them.
LIVE_VARIABLES = (
    "INSFORGE_COOKBOOK_MODEL",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "INSFORGE_BASE_URL",
    "INSFORGE_API_KEY",
)

KERNEL_GUARD = (
    "import pytest_socket; "
    "pytest_socket.socket_allow_hosts(['127.0.0.1', 'localhost', '::1'], allow_unix_socket=True)"
)

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
URL_LITERAL = re.compile(r"https?://([^/\s\"':]+)")


def script_path(name: str) -> Path:
    return COOKBOOK / f"{name}.py"


def notebook_path(name: str) -> Path:
    return COOKBOOK / f"{name}.ipynb"


def cell_sources(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells]


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def notebook_client(notebook: nbformat.NotebookNode) -> NotebookClient:
    """Return a client that runs ``notebook`` in the cookbook folder, in a kernel limited to loopback."""
    return NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(COOKBOOK)}},
        extra_arguments=[f"--IPKernelApp.exec_lines={[KERNEL_GUARD]!r}"],
    )


def sandbox_processes(folder: Path) -> list[psutil.Process]:
    """Return the running processes whose command line names a path under ``folder``."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if any(str(folder) in argument for argument in cmdline):
            found.append(process)
    return found


def stop_processes(processes: list[psutil.Process]) -> None:
    """Terminate ``processes``, then kill those still running after 10 s."""
    for process in processes:
        try:
            process.terminate()
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(processes, timeout=10)
    for process in alive:
        process.kill()


# --- pairs and layout ------------------------------------------------------------------------------


def test_cookbook_lists_every_pair() -> None:
    scripts = {path.stem for path in COOKBOOK.glob("*.py")}
    notebooks = {path.stem for path in COOKBOOK.glob("*.ipynb")}

    assert scripts == set(NOTEBOOKS)
    assert notebooks == set(NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_cookbook_pair_in_sync(name: str) -> None:
    from_script = jupytext.read(script_path(name))
    stored = nbformat.read(notebook_path(name), as_version=4)

    assert cell_sources(stored) == cell_sources(from_script), (
        f"{name}.ipynb differs from {name}.py; run: jupytext --sync cookbook/{name}.py"
    )
    assert stored.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert from_script.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    assert stored.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_cookbook_stored_without_outputs(name: str) -> None:
    stored = nbformat.read(notebook_path(name), as_version=4)

    for cell in stored.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}.ipynb keeps outputs of: {cell.source[:60]!r}"
            assert cell.execution_count is None


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_cookbook_notebook_layout(name: str) -> None:
    notebook = jupytext.read(script_path(name))
    first = notebook.cells[0]
    code = code_cells(notebook)

    assert first.cell_type == "markdown"
    assert "**What you'll build:**" in first.source
    assert "**Prerequisites:**" in first.source
    assert "Runs offline without keys" in first.source
    assert "INSFORGE_COOKBOOK_MODEL" in "\n".join(code), "no cell shows how to use a real model"
    assert "assert " in code[-2], "the cell before the last one must check the result"
    assert "sandbox.stop()" in code[-1], "the last cell must stop the sandbox"
    assert code[0].count("Sandbox(") == 1
    assert not [source for source in code if "getpass" in source]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_cookbook_code_names_loopback_only(name: str) -> None:
    notebook = jupytext.read(script_path(name))

    hosts = {match for source in code_cells(notebook) for match in URL_LITERAL.findall(source)}

    assert hosts <= {"127.0.0.1", "localhost"}, hosts


# --- execution -------------------------------------------------------------------------------------


@pytest.fixture
def kernel_tmp() -> Iterator[Path]:
    """A temporary folder for the kernel's TMPDIR, which identifies the processes a notebook run started.

    It lives in the system temporary folder, not under pytest's ``tmp_path``. When the tests run as
    root, the sandbox runs PostgreSQL as an unprivileged user, and that user cannot enter ``tmp_path``.
    """
    folder = Path(tempfile.mkdtemp(prefix="insforge-cookbook-"))
    folder.chmod(0o711)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_cookbook_kernel_guards_sockets() -> None:
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import socket\nprint(socket.socket.connect.__name__)")]
    )

    notebook_client(notebook).execute()

    assert notebook.cells[0].outputs[0]["text"] == "guarded_connect\n"


@pytest.mark.sandbox
@pytest.mark.timeout(CELL_TIMEOUT * 2)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_cookbook_notebook_runs(name: str, kernel_tmp: Path) -> None:
    if not notebook_path(name).exists():
        pytest.fail(f"{name}.ipynb is missing; create it with: jupytext --sync cookbook/{name}.py")
    notebook = nbformat.read(notebook_path(name), as_version=4)

    env = {key: value for key, value in os.environ.items() if key not in LIVE_VARIABLES}
    env["TMPDIR"] = str(kernel_tmp)

    client = notebook_client(notebook)
    failure = ""
    try:
        client.execute(env=env)
    except (CellExecutionError, CellTimeoutError) as exc:
        failure = ANSI_ESCAPE.sub("", str(exc))
    finally:
        leftovers = sandbox_processes(kernel_tmp)
        stop_processes(leftovers)

    if failure:
        pytest.fail(f"{name} failed:\n{failure}", pytrace=False)
    assert not leftovers, f"{name} left processes running: {[p.info['cmdline'] for p in leftovers]}"

    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    printed = "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
    assert "All checks passed." in printed
