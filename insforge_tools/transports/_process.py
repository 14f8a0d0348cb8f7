"""Run one subprocess with bounded output, a deadline and process-tree cleanup.

The child runs in its own process group (POSIX: a new session), so that a
timeout or a cancellation can signal the whole tree at once. ``npx`` starts
``npm exec``, which starts ``node``, and signalling only the first one would
leave the others running. Descendants that left the group (a grandchild that
called ``setsid``) are found through ``psutil`` when it is installed.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import ByteReceiveStream, Process

__all__ = ["MAX_OUTPUT_BYTES", "ProcessOutcome", "run_process"]

logger = logging.getLogger("insforge_tools.transports.cli")

MAX_OUTPUT_BYTES = 16 * 1024 * 1024
"""Maximum bytes of stdout plus stderr kept from one run; more ends the run."""

TERMINATE_GRACE_SECONDS = 2.0
"""Time between SIGTERM and SIGKILL to the process group."""

REAP_TIMEOUT_SECONDS = 5.0
"""Upper bound on waiting for the killed process, in case something keeps it alive."""

PIPE_GRACE_AFTER_EXIT_SECONDS = 2.0
"""Time the pipes may stay open after the leader exited before its group is killed."""

_READ_CHUNK_BYTES = 64 * 1024

_STOP_CHECK_BYTES = 64 * 1024
"""Output size after which ``stop_when`` is no longer called."""


@dataclass(frozen=True)
class ProcessOutcome:
    """The outcome of one run.

    Attributes:
        returncode: The exit code, negative for a signal, None if the process was stopped by us.
        stdout: Bytes read from stdout (at most the output cap).
        stderr: Bytes read from stderr.
        timed_out: The deadline passed and the process tree was stopped.
        output_exceeded: The output cap was reached and the process tree was stopped.
        duration: Seconds from start to the end of cleanup.
        stopped_early: ``stop_when`` matched the output and the process tree was stopped.
    """

    returncode: int | None
    stdout: bytes
    stderr: bytes
    timed_out: bool
    output_exceeded: bool
    duration: float
    stopped_early: bool = False


class _Collector:
    """Chunks from both pipes, with one shared byte budget."""

    def __init__(
        self,
        limit: int,
        scope: anyio.CancelScope,
        stop_when: Callable[[bytes, bytes], bool] | None = None,
    ) -> None:
        self.limit = limit
        self.total = 0
        self.exceeded = False
        self.stop_when = stop_when
        self.stopped_early = False
        self.scope = scope
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.open_pipes = 2
        self.all_closed = anyio.Event()

    async def drain(self, stream: ByteReceiveStream, buffer: bytearray) -> None:
        try:
            while True:
                try:
                    chunk = await stream.receive(_READ_CHUNK_BYTES)
                except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                    return
                room = self.limit - self.total
                buffer.extend(chunk[: max(room, 0)])
                self.total += len(chunk)
                if self.total > self.limit:
                    self.exceeded = True
                    self.scope.cancel()
                    return
                # Prompts come first, so only the start of the output is checked.
                if (
                    self.stop_when is not None
                    and self.total <= _STOP_CHECK_BYTES
                    and self.stop_when(bytes(self.stdout), bytes(self.stderr))
                ):
                    self.stopped_early = True
                    self.scope.cancel()
                    return
        finally:
            self.open_pipes -= 1
            if self.open_pipes == 0:
                self.all_closed.set()


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str],
    timeout: float,  # noqa: ASYNC109 - the deadline also drives the process-tree cleanup
    max_output: int = MAX_OUTPUT_BYTES,
    stop_when: Callable[[bytes, bytes], bool] | None = None,
) -> ProcessOutcome:
    """Run ``argv`` with stdin closed, read both pipes to EOF, and stop the tree on any early exit.

    ``stop_when(stdout, stderr)`` is called as output arrives; when it returns True
    the process tree is stopped at once (for a command that waits for a human).

    Raises:
        OSError: The executable could not be started (``FileNotFoundError``, ``PermissionError``).
        The backend's cancellation exception: re-raised after the process tree is gone.
    """
    started = time.monotonic()
    process = await anyio.open_process(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=dict(env),
        **_new_group_options(),
    )
    logger.debug("Started process %d", process.pid)
    assert process.stdout is not None and process.stderr is not None

    returncode: int | None = None
    timed_out = False
    collector: _Collector | None = None

    async def wait_for_exit(collector: _Collector) -> None:
        nonlocal returncode
        returncode = await process.wait()

        # A background child may still hold the pipes after the leader exits:
        # give it a moment, then stop the group so that the pipes reach EOF.
        with anyio.move_on_after(PIPE_GRACE_AFTER_EXIT_SECONDS):
            await collector.all_closed.wait()
        if not collector.all_closed.is_set():
            _signal_group(process.pid, _kill_signal())
            with anyio.move_on_after(PIPE_GRACE_AFTER_EXIT_SECONDS):
                await collector.all_closed.wait()
            if not collector.all_closed.is_set():
                collector.scope.cancel()

    try:
        with anyio.CancelScope() as output_scope:
            collector = _Collector(max_output, output_scope, stop_when)
            with anyio.move_on_after(timeout) as deadline:
                async with anyio.create_task_group() as group:
                    group.start_soon(collector.drain, process.stdout, collector.stdout)
                    group.start_soon(collector.drain, process.stderr, collector.stderr)
                    group.start_soon(wait_for_exit, collector)
            timed_out = deadline.cancelled_caught
    except BaseException:
        # Cancellation (or an unexpected error): stop the tree before the
        # exception leaves, shielded so that the cleanup itself is not cancelled.
        with anyio.CancelScope(shield=True):
            await _stop_tree(process)
            await _close_pipes(process)
        raise

    assert collector is not None
    if timed_out or collector.exceeded or collector.stopped_early:
        with anyio.CancelScope(shield=True):
            await _stop_tree(process)
        returncode = None
    else:
        # The leader exited and both pipes were read; anything still in its
        # group was left behind by the command, so it goes too.
        _signal_group(process.pid, _kill_signal())

    with anyio.CancelScope(shield=True):
        await _close_pipes(process)

    return ProcessOutcome(
        returncode=returncode,
        stdout=bytes(collector.stdout),
        stderr=bytes(collector.stderr),
        timed_out=timed_out,
        output_exceeded=collector.exceeded,
        duration=time.monotonic() - started,
        stopped_early=collector.stopped_early,
    )


def _new_group_options() -> dict[str, Any]:
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def _kill_signal() -> int:
    return int(getattr(signal, "SIGKILL", signal.SIGTERM))


def _signal_group(pgid: int, signum: int) -> None:
    """Send ``signum`` to the process group ``pgid``; a group that is gone is fine."""
    if sys.platform == "win32":
        return
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _descendants(pid: int) -> list[Any]:
    """Return the psutil processes below ``pid``, or nothing without psutil."""
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        return []
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def _kill_descendants(processes: list[Any]) -> None:
    try:
        import psutil
    except ImportError:
        return
    for child in processes:
        try:
            child.kill()
        except psutil.Error:
            pass


async def _stop_tree(process: Process) -> None:
    """SIGTERM the group, wait a grace period, SIGKILL the group and reap the leader (bounded)."""
    if process.returncode is not None and sys.platform != "win32":
        _signal_group(process.pid, _kill_signal())
        return

    # Taken before any signal: once the leader is gone its children are
    # re-parented and can no longer be found from its pid.
    stragglers = _descendants(process.pid)

    if sys.platform == "win32":
        await _kill_windows_tree(process.pid)
    else:
        _signal_group(process.pid, signal.SIGTERM)
        with anyio.move_on_after(TERMINATE_GRACE_SECONDS):
            await process.wait()
        _signal_group(process.pid, _kill_signal())
    _kill_descendants(stragglers)

    with anyio.move_on_after(REAP_TIMEOUT_SECONDS) as reap:
        await process.wait()
    if reap.cancelled_caught:
        logger.warning("Process %d did not exit %.0f s after SIGKILL", process.pid, REAP_TIMEOUT_SECONDS)
    else:
        logger.debug("Stopped process %d and its group", process.pid)


async def _kill_windows_tree(pid: int) -> None:
    # NOTE: untested here; taskkill /T walks the tree by parent pid.
    try:
        await anyio.run_process(
            ["taskkill", "/T", "/F", "/PID", str(pid)], check=False, stdout=None, stderr=None
        )
    except OSError:
        pass


async def _close_pipes(process: Process) -> None:
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            try:
                await stream.aclose()
            except (OSError, anyio.BrokenResourceError):
                pass
    if process.returncode is None:
        with anyio.move_on_after(REAP_TIMEOUT_SECONDS):
            await process.wait()
