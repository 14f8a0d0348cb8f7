"""Run a coroutine to completion from synchronous code.

Frameworks call a tool's sync entry point (LangChain ``BaseTool._run``,
LlamaIndex ``FunctionTool.call``) from two kinds of threads: plain threads with
no event loop, and threads whose loop is already running (a Jupyter cell, an
``async def`` that calls a sync agent). ``asyncio.run`` fails in the second
case, so :func:`run_sync` runs the coroutine on a one-shot worker thread with a
loop of its own there.

Every call gets a fresh event loop. Objects bound to a loop, such as an
``httpx.AsyncClient`` holding pooled connections, must therefore be created per
call and never shared between sync calls.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = ["run_sync"]

T = TypeVar("T")


async def _await_within(awaitable: Awaitable[T], seconds: float | None) -> T:
    if seconds is None:
        return await awaitable
    async with asyncio.timeout(seconds):
        return await awaitable


def _loop_is_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_sync(awaitable: Awaitable[T], *, timeout: float | None = None) -> T:
    """Run ``awaitable`` to completion and return its result.

    With no event loop running in the calling thread, the awaitable runs on a
    fresh loop in this thread. With one running, it runs on a fresh loop in a
    one-shot worker thread while the caller blocks, so the caller's loop is
    stalled for the duration. The worker gets a copy of the caller's context
    variables, so tracing and framework configuration carried in them still
    apply. Results and exceptions are the same on both paths: the exception the
    awaitable raised is raised again, unchanged.

    A coroutine that needs the caller's own loop (a lock, a queue or a client
    created there) deadlocks on the worker path. From async code, use the
    framework's async entry point (``ainvoke``, ``acall``) instead.

    Args:
        awaitable: A coroutine or other awaitable. It is awaited exactly once.
        timeout: Seconds after which the awaitable is cancelled and
            ``TimeoutError`` is raised; ``None`` waits without limit.

    Returns:
        What the awaitable returned.
    """
    main = _await_within(awaitable, timeout)
    if not _loop_is_running():
        return asyncio.run(main)

    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()

    def work() -> None:
        try:
            outcome["result"] = context.run(asyncio.run, main)
        except BaseException as exc:  # re-raised unchanged in the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="insforge-run-sync", daemon=True)
    worker.start()
    worker.join()

    if "error" in outcome:
        error = outcome.pop("error")
        try:
            raise error
        finally:
            # Break the frame -> exception -> traceback -> frame cycle.
            del error
    return outcome["result"]  # type: ignore[no-any-return]
