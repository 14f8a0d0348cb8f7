"""run_sync: the same results, exceptions and timeouts with and without a running event loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from insforge_tools._sync import run_sync
from insforge_tools.errors import NotFoundError

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


async def where_am_i() -> tuple[str, int]:
    await asyncio.sleep(0)
    return threading.current_thread().name, id(asyncio.get_running_loop())


async def fail_with(error: BaseException) -> None:
    await asyncio.sleep(0)
    raise error


async def read_request_id() -> str:
    return REQUEST_ID.get()


def test_run_sync_without_loop_uses_this_thread() -> None:
    thread_name, _ = run_sync(where_am_i())

    assert thread_name == threading.current_thread().name


def test_run_sync_without_loop_leaves_no_loop() -> None:
    run_sync(where_am_i())

    with pytest.raises(RuntimeError):
        asyncio.get_running_loop()


async def test_run_sync_inside_loop_uses_worker() -> None:
    thread_name, loop_id = run_sync(where_am_i())

    assert thread_name == "insforge-run-sync"
    assert loop_id != id(asyncio.get_running_loop())


async def current_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_run_sync_closes_loop_without_loop() -> None:
    loop = run_sync(current_loop())

    assert loop.is_closed()


async def test_run_sync_closes_loop_inside_loop() -> None:
    loop = run_sync(current_loop())

    assert loop.is_closed()
    assert loop is not asyncio.get_running_loop()


def test_run_sync_exception_without_loop() -> None:
    error = NotFoundError("The table 'orders' was not found.")

    with pytest.raises(NotFoundError) as caught:
        run_sync(fail_with(error))

    assert caught.value is error


async def test_run_sync_exception_inside_loop() -> None:
    error = NotFoundError("The table 'orders' was not found.")

    with pytest.raises(NotFoundError) as caught:
        run_sync(fail_with(error))

    assert caught.value is error


def test_run_sync_timeout_without_loop() -> None:
    with pytest.raises(TimeoutError):
        run_sync(asyncio.sleep(30), timeout=0.05)


async def test_run_sync_timeout_inside_loop() -> None:
    with pytest.raises(TimeoutError):
        run_sync(asyncio.sleep(30), timeout=0.05)


async def test_run_sync_keeps_context_variables() -> None:
    token = REQUEST_ID.set("req-42")
    try:
        assert run_sync(read_request_id()) == "req-42"
    finally:
        REQUEST_ID.reset(token)


def test_run_sync_base_exception_passes() -> None:
    with pytest.raises(KeyboardInterrupt):
        run_sync(fail_with(KeyboardInterrupt()))
