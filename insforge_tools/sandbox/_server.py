"""Run an ASGI app on a free loopback port in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

__all__ = ["ThreadedServer"]


class ThreadedServer:
    """An ASGI app served by uvicorn on ``127.0.0.1`` in its own thread and event loop.

    The socket is bound before the thread starts, so the port is known at once and
    no other process can take it in between. A thread of its own keeps the server
    answering while the caller's thread blocks (for example in a synchronous tool
    call that waits on a worker thread).
    """

    def __init__(self, *, name: str, host: str = "127.0.0.1") -> None:
        self.name = name
        self.host = host
        self.port: int | None = None
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError(f"The {self.name} server is not running.")
        return f"http://{self.host}:{self.port}"

    def bind(self) -> str:
        """Bind a free port and return the base URL; the app can then be built with it."""
        if self._socket is None:
            # IPPROTO_TCP (not 0) lets asyncio set TCP_NODELAY on accepted connections;
            # without it, each response on a reused connection waits about 40 ms for a
            # delayed ACK (Nagle's algorithm).
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, 0))
            self._socket = sock
            self.port = sock.getsockname()[1]
        return self.url

    def start(self, app: Any, timeout: float = 15.0) -> str:
        """Serve ``app`` and return the base URL once the server accepts requests."""
        self.bind()
        sock = self._socket
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"sandbox-{self.name}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"The {self.name} server stopped while starting.")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"The {self.name} server did not start within {timeout} s.")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish and wait for its thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._server = None
        self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
