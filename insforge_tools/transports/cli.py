"""The InsForge CLI as a subprocess: command resolution, hardened runs, JSON parsing and error mapping.

Facts about the CLI (version 0.2.8) that this module relies on:

- Success JSON goes to stdout; errors go to stderr as one compact line
  ``{"error": <message>, "code": <CODE>}`` (``code`` omitted when undefined).
  commander's own parse errors are plain text (``error: …``), exit 1.
- Exit codes: 1 generic (every project-backend HTTP error, 401 and 403 included),
  2 platform auth, 3 project not linked, 5 permission denied, 13 a raw prompt
  that met end of input.
- Without credentials, in a directory that is not linked to a self-hosted
  backend, commands that need the platform print ``You need to log in to
  continue.`` on stdout and wait up to 5 minutes for a browser login.
- The linked project is ``./.insforge/project.json`` of the working directory;
  a self-hosted link carries the sentinel project id
  ``fa4e0000-1234-5678-90ab-cd1234567890``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import shutil
import sys
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from insforge_tools.errors import (
    AuthError,
    CliError,
    CliNotFoundError,
    CliOutputError,
    CliUsageError,
    ConfigurationError,
    InsForgeError,
    InteractionRequiredError,
    InvalidInputError,
    NotLinkedError,
    PermissionDeniedError,
    TimeoutError,
    TransportError,
)
from insforge_tools.links import (
    LEGACY_SELF_HOSTED_ORG_IDS,
    LEGACY_SELF_HOSTED_PROJECT_IDS,
    SELF_HOSTED_ORG_ID,
    SELF_HOSTED_PROJECT_ID,
    is_loopback_host,
    project_link_path,
    write_private_json,
)
from insforge_tools.secrets import Secret, redact, redact_data
from insforge_tools.settings import Settings
from insforge_tools.transports._process import MAX_OUTPUT_BYTES, ProcessOutcome, run_process
from insforge_tools.transports.errors import error_for_code, error_for_status

__all__ = [
    "FAKE_ORG_ID",
    "FAKE_PROJECT_ID",
    "MAX_OUTPUT_BYTES",
    "CliResult",
    "CliRunner",
    "LoginState",
    "classify_failure",
    "parse_json_output",
    "strip_ansi",
]

logger = logging.getLogger("insforge_tools.transports.cli")

# The CLI's names for the self-hosted sentinel ids. insforge_tools.links defines the values.
FAKE_PROJECT_ID = SELF_HOSTED_PROJECT_ID
FAKE_ORG_ID = SELF_HOSTED_ORG_ID

EXCERPT_CHARS = 200
"""Characters of unexpected CLI output quoted in an error."""

_ANSI_PATTERN = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_LOGIN_LINE = "You need to log in to continue."
_URL_PATTERN = re.compile(r"https?://[^\s\"'<>]+")
_OPEN_URL_PATTERN = re.compile(r"(?i)\bopen (?:this|the following) url\b|\bto sign in, open\b")
_NPX_PROMPT_PATTERN = re.compile(r"(?i)need to install the following packages|ok to proceed\?")
_SELECT_PROMPT_PATTERN = re.compile(r"(?im)^\s*(?:[?◆◇]\s*)?(select|choose|pick)\b[^\n]*:?\s*$")
_CONFIRM_PROMPT_PATTERN = re.compile(r"(?m)^\s*\?\s+(?P<question>[^\n]*?)\s*\[y/n\]")
_TEXT_PROMPT_PATTERN = re.compile(r"(?m)^\s*\?\s+(?P<question>[^\n]+?)\s*$")
_OSS_STATUS_PATTERN = re.compile(r"^OSS request failed: (\d{3})")
_HTTP_STATUS_PATTERN = re.compile(r"^HTTP (\d{3})")
_DIRECT_STATUS_PATTERN = re.compile(r"^(?:Upload|Download|Import) failed: (\d{3})")
_BARE_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")

_AUTH_CODES = frozenset(
    {"AUTH_INVALID_API_KEY", "UNAUTHORIZED", "AUTH_UNAUTHORIZED", "AUTH_INVALID_CREDENTIALS", "AUTH_ERROR"}
)


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours, cursor moves, OSC links) from ``text``."""
    return _ANSI_PATTERN.sub("", text)


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = redact(strip_ansi(text)).strip()
    if len(text) > limit:
        return text[:limit] + "…"
    return text


@dataclass(frozen=True)
class CliResult:
    """One finished CLI run.

    Attributes:
        argv: The command line with every secret masked.
        exit_code: The process exit code.
        stdout: Everything the CLI printed on stdout (decoded as UTF-8, not redacted).
        stderr: Everything the CLI printed on stderr (decoded as UTF-8, not redacted).
        duration: Seconds the run took, cleanup included.
    """

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    duration: float


@dataclass(frozen=True)
class LoginState:
    """The workspace state recorded in the CLI's own files, read without running it.

    Attributes:
        logged_in: ``~/.insforge/credentials.json`` holds a usable platform credential.
        linked: ``<workspace>/.insforge/project.json`` exists and names a project.
        self_hosted: The link is a direct one (the sentinel project id, legacy ids included).
        oss_host: The project backend URL from the link, as written.
        project_id: The linked project id, as written.
        problem: Why the files cannot be used as they are, or None.
    """

    logged_in: bool = False
    linked: bool = False
    self_hosted: bool = False
    oss_host: str | None = None
    project_id: str | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_slots_lock = threading.Lock()
_slots_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _run_slots(limit: int) -> asyncio.Semaphore:
    """Return the running loop's semaphore that bounds concurrent CLI processes.

    Each Node CLI process costs tens of megabytes and a CPU burst at start-up, so
    a burst of tool calls queues here instead of starting dozens at once. The
    semaphore is per event loop because an asyncio semaphore belongs to one loop.
    """
    loop = asyncio.get_running_loop()
    with _slots_lock:
        semaphore = _slots_by_loop.get(loop)
        if semaphore is None:
            semaphore = asyncio.Semaphore(limit)
            _slots_by_loop[loop] = semaphore
    return semaphore


class CliRunner:
    """Runs the InsForge CLI for one workspace.

    Every run has stdin closed, its own process group, the workspace as working
    directory, colour and prompts switched off through the environment, a
    timeout, and a cap on the output it may print. A timeout or a cancellation
    stops the whole process tree before the exception leaves.

    Args:
        settings: The workspace settings (command, timeout, workspace, CLI home, platform URL).
        env: Extra environment variables for every run; they win over the defaults.
    """

    def __init__(self, settings: Settings, *, env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self._extra_env = dict(env or {})
        self._resolved: tuple[str, ...] | None = None
        # A thread lock, not an asyncio one: resolution does no I/O that could
        # block the loop for long, and the runner may be used from several
        # event loops (the synchronous bridge runs one per worker thread).
        self._resolve_lock = threading.Lock()

    # -- command and environment -------------------------------------------------

    def resolve_command(self) -> tuple[str, ...]:
        """Return the CLI command with its executable resolved to a full path (cached).

        Raises:
            CliNotFoundError: The executable is not on PATH.
        """
        with self._resolve_lock:
            if self._resolved is None:
                self._resolved = self._resolve_uncached()
            return self._resolved

    def _resolve_uncached(self) -> tuple[str, ...]:
        command = self.settings.resolved_cli_command()
        if not command:
            raise ConfigurationError("The InsForge CLI command is empty.")
        executable = command[0]
        search_path = self._extra_env.get("PATH")
        found = shutil.which(executable, path=search_path)
        if found is None and sys.platform == "win32":
            for suffix in (".cmd", ".bat", ".exe"):
                found = shutil.which(executable + suffix, path=search_path)
                if found is not None:
                    break
        if found is None:
            raise CliNotFoundError(
                f"The InsForge CLI executable {executable!r} was not found on PATH "
                f"(command: {' '.join(redact(part) for part in command)})."
            )
        logger.debug("Resolved the InsForge CLI executable %r to %s", executable, found)
        return (found, *command[1:])

    def build_env(self) -> dict[str, str]:
        """Return the environment of a CLI run: the process's own, with colour and prompts off."""
        env = dict(os.environ)
        env.update(
            {
                "NO_COLOR": "1",
                "FORCE_COLOR": "0",
                "TERM": "dumb",
                "CI": "1",
                "npm_config_yes": "true",
                # The CLI opens a browser for OAuth through the `open` package,
                # which honours $BROWSER; a program that does nothing keeps
                # tool calls from ever opening one.
                "BROWSER": shutil.which("true") or "true",
            }
        )
        if self.settings.cli_home is not None:
            env["HOME"] = str(self.settings.cli_home)
            env["USERPROFILE"] = str(self.settings.cli_home)
        if self.settings.platform_url:
            env["INSFORGE_API_URL"] = self.settings.platform_url
        env.update(self._extra_env)
        return env

    # -- running -----------------------------------------------------------------

    async def run(
        self,
        args: Sequence[str | Secret],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the public API takes a per-run limit
        cwd: Path | None = None,
    ) -> CliResult:
        """Run the CLI with ``args`` and return what it printed; a non-zero exit is not an error here.

        Raises:
            CliNotFoundError: The CLI executable is missing.
            TimeoutError: The run took longer than ``timeout`` (default: ``settings.cli_timeout``).
            CliOutputError: The CLI printed more than :data:`MAX_OUTPUT_BYTES`.
        """
        outcome, masked = await self._execute(args, timeout=timeout, cwd=cwd)
        if outcome.timed_out:
            raise self._timeout_error(masked, outcome, timeout)
        return self._result(masked, outcome)

    async def run_json(
        self,
        args: Sequence[str | Secret],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the public API takes a per-run limit
        cwd: Path | None = None,
        requires_login: bool = False,
        requires_link: bool = False,
    ) -> Any:
        """Run the CLI in JSON mode and return the parsed stdout document.

        ``--json`` is appended unless ``args`` already has it. With
        ``requires_login`` or ``requires_link``, the CLI's files are checked
        first, so that a command that would start a browser login is never run.

        Raises:
            InsForgeError: A subclass that matches the failure (see :func:`classify_failure`).
        """
        if requires_login or requires_link:
            self.ensure_ready(requires_login=requires_login, requires_link=requires_link, cwd=cwd)

        full_args: list[str | Secret] = list(args)
        if "--json" not in [arg for arg in full_args if isinstance(arg, str)]:
            full_args.append("--json")

        outcome, masked = await self._execute(full_args, timeout=timeout, cwd=cwd, stop_when=_waits_for_human)
        command = _command_label(full_args)
        if outcome.timed_out or outcome.stopped_early:
            # Output that was printed before the deadline often shows why the
            # CLI waited (a login, a prompt): report that instead of the timeout.
            stdout = _decode(outcome.stdout)
            stderr = _decode(outcome.stderr)
            waiting = _interaction_error(command, stdout, stderr, exit_code=None)
            if waiting is not None:
                raise waiting
            if outcome.stopped_early:
                raise InteractionRequiredError(f"`insforge {command}` waited for a human and was stopped.")
            raise self._timeout_error(masked, outcome, timeout)

        result = self._result(masked, outcome)
        if result.exit_code == 0:
            return parse_json_output(command, result.stdout, result.stderr)
        raise classify_failure(command, result.exit_code, result.stdout, result.stderr)

    async def version(self) -> str:
        """Return the CLI's version string (``--version``)."""
        result = await self.run(["--version"])
        text = strip_ansi(result.stdout).strip()
        if result.exit_code != 0 or not text:
            raise CliError(
                f"`insforge --version` failed (exit {result.exit_code}): {_excerpt(result.stderr or text)}",
                exit_code=result.exit_code,
            )
        return text.splitlines()[-1].strip()

    async def doctor(self) -> dict[str, Any]:
        """Report what a CLI run needs: Node.js and npx, the resolved command, the CLI version, the files."""
        env = self.build_env()
        report: dict[str, Any] = {}
        for tool in ("node", "npx"):
            path = shutil.which(tool, path=env.get("PATH"))
            entry: dict[str, Any] = {"found": path is not None, "path": path, "version": None}
            if path is not None:
                try:
                    outcome = await run_process([path, "--version"], cwd=None, env=env, timeout=30.0)
                except OSError as exc:
                    entry["error"] = str(exc)
                else:
                    if outcome.returncode == 0:
                        entry["version"] = _decode(outcome.stdout).strip()
                    else:
                        entry["error"] = _excerpt(_decode(outcome.stderr)) or "no version printed"
            report[tool] = entry

        try:
            command = self.resolve_command()
        except CliError as exc:
            report["command"] = {"resolved": None, "error": exc.message}
            report["cli_version"] = None
        else:
            report["command"] = {"resolved": [redact(part) for part in command], "error": None}
            try:
                report["cli_version"] = await self.version()
            except InsForgeError as exc:
                report["cli_version"] = None
                report["cli_version_error"] = exc.message

        report["workspace_dir"] = str(self.settings.workspace_dir)
        report["cli_home"] = str(self._home_dir())
        report["login_state"] = self.login_state().to_dict()
        return report

    # -- the CLI's files -----------------------------------------------------------

    def login_state(self, cwd: Path | None = None) -> LoginState:
        """Read ``credentials.json`` and ``project.json`` and report what the CLI would do with them."""
        logged_in = _has_platform_credential(self._home_dir() / ".insforge" / "credentials.json")
        project_file = project_link_path(cwd or self.settings.workspace_dir)
        try:
            text = project_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return LoginState(logged_in=logged_in)
        except OSError as exc:
            return LoginState(logged_in=logged_in, problem=f"{project_file} cannot be read: {exc.strerror}")

        try:
            project = json.loads(text)
        except json.JSONDecodeError as exc:
            return LoginState(
                logged_in=logged_in, problem=f"{project_file} is not valid JSON (line {exc.lineno})."
            )
        if not isinstance(project, dict) or not isinstance(project.get("project_id"), str):
            return LoginState(logged_in=logged_in, problem=f"{project_file} has no project_id.")

        project_id = project["project_id"]
        oss_host = project.get("oss_host") if isinstance(project.get("oss_host"), str) else None
        self_hosted = project_id == FAKE_PROJECT_ID or project_id in LEGACY_SELF_HOSTED_PROJECT_IDS
        problem = None
        if self_hosted and (oss_host is None or not _has_scheme(oss_host)):
            problem = _host_problem(project_file, oss_host)
        return LoginState(
            logged_in=logged_in,
            linked=True,
            self_hosted=self_hosted,
            oss_host=oss_host,
            project_id=project_id,
            problem=problem,
        )

    def ensure_ready(
        self, *, requires_login: bool, requires_link: bool, cwd: Path | None = None
    ) -> LoginState:
        """Check the CLI's files before a command that would otherwise start a browser login.

        A self-hosted link written by an older CLI (legacy ids, an ``oss_host``
        without a scheme) is repaired in place when the host is a loopback
        address. Any other scheme-less host is rejected with a relink hint,
        because 0.2.8 would send the request to a cloud host instead.

        Raises:
            NotLinkedError: ``requires_link`` and the workspace is not linked (or its link is unusable).
            AuthError: The command needs a platform login and there is none.
        """
        workspace = cwd or self.settings.workspace_dir
        state = self.login_state(workspace)
        if state.linked and state.self_hosted and (state.problem or state.project_id != FAKE_PROJECT_ID):
            state = self._repair_self_hosted_link(workspace, state)

        if requires_link and not state.linked:
            if state.problem:
                raise NotLinkedError(
                    f"The InsForge project link in {workspace} cannot be used: {state.problem}",
                    next_step="Link the project again with the insforge_link tool.",
                )
            raise NotLinkedError(f"No InsForge project is linked in {workspace}.")

        # Project commands in a self-hosted link skip the platform login; every
        # other command without credentials would wait for a browser login.
        if (requires_login or (requires_link and not state.self_hosted)) and not state.logged_in:
            raise AuthError(
                "The InsForge CLI is not logged in, so this command would wait for a browser login.",
                code="CLI_NOT_LOGGED_IN",
                next_step="Log the CLI in with the insforge_login tool (a user API key), "
                "or link a self-hosted project with insforge_link.",
            )
        return state

    def _repair_self_hosted_link(self, workspace: Path, state: LoginState) -> LoginState:
        # Stricter than the read-time repair in insforge_tools.links, because it runs before a CLI
        # process starts: a self-hosted link without a usable http(s) URL is rejected here. The
        # file's other keys are written back as they were.
        project_file = project_link_path(workspace)
        project = json.loads(project_file.read_text(encoding="utf-8"))
        host = state.oss_host or ""
        if not _has_scheme(host):
            if not host or not _is_loopback_host(host):
                raise NotLinkedError(
                    f"The self-hosted link in {project_file} has the backend URL {host!r} without "
                    "http:// or https://; the InsForge CLI 0.2.8 would send requests to a cloud host "
                    "instead.",
                    code="RELINK_REQUIRED",
                    next_step="Link the directory again with insforge_link and the full backend URL.",
                )
            project["oss_host"] = "http://" + host.rstrip("/")
        project["project_id"] = FAKE_PROJECT_ID
        if project.get("org_id") in LEGACY_SELF_HOSTED_ORG_IDS or "org_id" not in project:
            project["org_id"] = FAKE_ORG_ID
        write_private_json(project_file, project)
        logger.info("Repaired the self-hosted link in %s (backend %s)", project_file, project["oss_host"])
        return self.login_state(workspace)

    def _home_dir(self) -> Path:
        if self.settings.cli_home is not None:
            return self.settings.cli_home
        home = self._extra_env.get("HOME")
        return Path(home) if home else Path.home()

    # -- internals -----------------------------------------------------------------

    async def _execute(
        self,
        args: Sequence[str | Secret],
        *,
        timeout: float | None,  # noqa: ASYNC109 - forwarded to the process runner
        cwd: Path | None,
        stop_when: Callable[[bytes, bytes], bool] | None = None,
    ) -> tuple[ProcessOutcome, tuple[str, ...]]:
        command = self.resolve_command()
        revealed = [*command, *(arg.reveal() if isinstance(arg, Secret) else str(arg) for arg in args)]
        masked = tuple(redact(part) for part in command) + tuple(
            arg.masked if isinstance(arg, Secret) else redact(str(arg)) for arg in args
        )
        limit = timeout if timeout is not None else self.settings.cli_timeout
        workdir = cwd or self.settings.workspace_dir
        label = _command_label(args)
        logger.debug("Running %s in %s", " ".join(masked), workdir)

        try:
            async with _run_slots(self.settings.cli_max_concurrency):
                outcome = await run_process(
                    revealed, cwd=workdir, env=self.build_env(), timeout=limit, stop_when=stop_when
                )
        except FileNotFoundError:
            if not os.path.isdir(workdir):  # noqa: ASYNC240 - one stat after a failed start
                raise ConfigurationError(
                    f"The workspace directory {workdir} does not exist.",
                    next_step="Create it or set workspace_dir to an existing directory.",
                ) from None
            raise CliNotFoundError(
                f"The InsForge CLI executable {command[0]!r} could not be started."
            ) from None
        except PermissionError:
            raise CliNotFoundError(
                f"The InsForge CLI executable {command[0]!r} is not executable.",
            ) from None

        if outcome.output_exceeded:
            logger.warning("insforge %s printed more than %d bytes and was stopped", label, MAX_OUTPUT_BYTES)
            raise CliOutputError(
                f"`insforge {label}` printed more than {MAX_OUTPUT_BYTES // (1024 * 1024)} MiB "
                "and was stopped.",
                next_step="Narrow the request (a LIMIT, a filter, fewer rows) and try again.",
            )
        if outcome.stopped_early:
            logger.warning(
                "insforge %s waited for a human and was stopped after %.1f s", label, outcome.duration
            )
        elif outcome.timed_out:
            logger.warning("insforge %s timed out after %.1f s and was stopped", label, outcome.duration)
        else:
            logger.info("insforge %s exited %s in %.2f s", label, outcome.returncode, outcome.duration)
        return outcome, masked

    def _result(self, masked: tuple[str, ...], outcome: ProcessOutcome) -> CliResult:
        assert outcome.returncode is not None
        return CliResult(
            argv=masked,
            exit_code=outcome.returncode,
            stdout=_decode(outcome.stdout),
            stderr=_decode(outcome.stderr),
            duration=outcome.duration,
        )

    def _timeout_error(
        self, masked: tuple[str, ...], outcome: ProcessOutcome, timeout: float | None
    ) -> TimeoutError:
        limit = timeout if timeout is not None else self.settings.cli_timeout
        command = " ".join(masked[len(self.resolve_command()) :])
        return TimeoutError(
            f"`insforge {_excerpt(command, 120)}` did not finish within {limit:g} s and was stopped.",
            retryable=True,
            details={"stderr": _excerpt(_decode(outcome.stderr))} if outcome.stderr else None,
        )


# -- parsing and error mapping ------------------------------------------------------


def parse_json_output(command: str, stdout: str, stderr: str = "") -> Any:
    """Parse the stdout of a successful (exit 0) run as exactly one JSON document.

    Raises:
        InteractionRequiredError: The CLI printed a login notice, a URL to open or a prompt.
        CliError: npx asked to install the package.
        CliOutputError: Anything else that is not one JSON document.
    """
    text = strip_ansi(stdout).strip()
    if text:
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass

    problem = _interaction_error(command, stdout, stderr, exit_code=0)
    if problem is not None:
        raise problem
    if not text:
        raise CliOutputError(
            f"`insforge {command}` exited 0 but printed nothing on stdout; JSON was expected."
            + (f" stderr: {_excerpt(stderr)}" if stderr.strip() else ""),
            exit_code=0,
        )
    raise CliOutputError(
        f"`insforge {command}` printed output that is not one JSON document: {_excerpt(text)!r}",
        exit_code=0,
    )


def classify_failure(command: str, exit_code: int, stdout: str, stderr: str) -> InsForgeError:
    """Map a non-zero exit to the most specific error, keeping the CLI's message, code and exit code."""
    interaction = _interaction_error(command, stdout, stderr, exit_code=exit_code)
    if interaction is not None:
        return interaction

    payload = _last_json_line(stderr)
    if payload is None:
        return _text_failure(command, exit_code, stderr, stdout)

    raw_message = payload.get("error")
    message = raw_message if isinstance(raw_message, str) else json.dumps(raw_message)
    code = payload.get("code") if isinstance(payload.get("code"), str) else None
    text = f"`insforge {command}` failed: {strip_ansi(message)}"
    common: dict[str, Any] = {"code": code, "exit_code": exit_code}
    status = _status_from_message(message)
    if status is not None:
        common["status"] = status

    if code == "HTTP_ERROR":
        body = _first_json_document(stdout)
        details = {"response": redact_data(body)} if body is not None else None
        return CliError(text, details=details, **common)
    if code in _AUTH_CODES:
        if code == "AUTH_ERROR" or exit_code == 2:
            return AuthError(
                text,
                next_step="Log the CLI in again with the insforge_login tool (a valid user API key).",
                **common,
            )
        return AuthError(
            text, next_step="Link the project again with a valid project API key (insforge_link).", **common
        )
    if code == "FORBIDDEN" and "could not be parsed" in message.lower():
        return InvalidInputError(
            f"`insforge {command}` failed: the SQL could not be parsed, so the backend rejected it "
            f"(403 FORBIDDEN). CLI message: {strip_ansi(message)}",
            next_step="Fix the SQL syntax and run the query again.",
            **common,
        )
    # Exit codes 3 and 5 are the CLI's own verdicts (no link; platform 403), whatever the code.
    if code == "PERMISSION_DENIED" or exit_code == 5:
        return PermissionDeniedError(text, **common)
    if code == "PROJECT_NOT_LINKED" or exit_code == 3:
        return NotLinkedError(text, **common)
    if code == "UNKNOWN_ERROR" and "authentication timed out" in message.lower():
        return InteractionRequiredError(
            text,
            next_step="Log the CLI in with the insforge_login tool, then call this tool again.",
            **common,
        )
    if code is None:
        return _message_failure(command, text, message, common)
    # Every other code is the backend's own: the HTTP transport maps the same code the same way.
    return error_for_code(code, text, status=common.get("status"), exit_code=exit_code)


def _message_failure(command: str, text: str, message: str, common: dict[str, Any]) -> InsForgeError:
    """Map the CLI's own messages that come without a code."""
    status = common.get("status")
    if _BARE_CODE_PATTERN.match(message):
        # Direct-fetch commands (storage upload and download) print the body's `error` field,
        # which is the backend's code itself, such as STORAGE_NOT_FOUND.
        return error_for_code(message, text, status=status, exit_code=common["exit_code"])
    if message.startswith("API key is invalid or revoked") or message.startswith("Invalid API key — must"):
        return AuthError(text, next_step="Use a valid user API key (uak_…) with insforge_login.", **common)
    if message.startswith("Could not verify API key"):
        return TransportError(
            text, retryable=True, next_step="Try again later; the key was not rejected.", **common
        )
    if message.startswith("Invalid log source"):
        return InvalidInputError(text, **common)
    if message.startswith("Both --api-base-url and --api-key") or message.startswith(
        "Invalid --api-base-url"
    ):
        return CliUsageError(text, **common)
    if status is not None:
        # The same status classes as the HTTP transport. Any other status stays a plain CLI failure.
        by_status = error_for_status(text, status, common)
        if by_status is not None:
            return by_status
    return CliError(text, **common)


def _text_failure(command: str, exit_code: int, stderr: str, stdout: str) -> InsForgeError:
    text = strip_ansi(stderr).strip()
    if exit_code == 13:
        return InteractionRequiredError(
            f"`insforge {command}` stopped at a prompt that needs an answer (exit 13).",
            exit_code=exit_code,
            next_step="Pass the missing argument or -y explicitly, or ask a human to run the command.",
        )
    first_line = text.splitlines()[0] if text else ""
    if first_line.startswith("error:"):
        return CliUsageError(
            f"`insforge {command}` rejected its arguments: {_excerpt(text)}", exit_code=exit_code
        )
    if exit_code == 3:
        return NotLinkedError(f"`insforge {command}` failed: {_excerpt(text)}", exit_code=exit_code)
    if exit_code == 5:
        return PermissionDeniedError(f"`insforge {command}` failed: {_excerpt(text)}", exit_code=exit_code)
    excerpt = _excerpt(text) or _excerpt(stdout) or "no output"
    return CliError(f"`insforge {command}` failed with exit code {exit_code}: {excerpt}", exit_code=exit_code)


def _interaction_error(
    command: str, stdout: str, stderr: str, *, exit_code: int | None
) -> InsForgeError | None:
    """Recognise output that means the CLI waited for a human: a login, a URL, a prompt, npx."""
    out = strip_ansi(stdout)
    err = strip_ansi(stderr)
    both = out + "\n" + err

    if _NPX_PROMPT_PATTERN.search(both):
        return CliError(
            f"`insforge {command}` did not run: npx asked for permission to install the CLI package "
            '("Need to install the following packages … Ok to proceed?").',
            code="NPX_INSTALL_PROMPT",
            exit_code=exit_code,
            next_step="Install the CLI once in a terminal (`npx -y @insforge/cli@0.2.8 --version`), "
            "or set INSFORGE_CLI to an installed `insforge` executable.",
        )
    if _LOGIN_LINE in out:
        return InteractionRequiredError(
            f'`insforge {command}` needs a logged-in CLI: it printed "{_LOGIN_LINE}" and waited for a '
            "browser login.",
            code="LOGIN_REQUIRED",
            exit_code=exit_code,
            next_step="Log the CLI in with the insforge_login tool (a user API key), "
            "then call this tool again.",
        )
    open_url = _OPEN_URL_PATTERN.search(both)
    if open_url:
        url_match = _URL_PATTERN.search(both, open_url.start())
        url = redact(url_match.group(0)) if url_match else None
        return InteractionRequiredError(
            f"`insforge {command}` asks a human to open a URL in a browser"
            + (f": {url}" if url else ".")
            + " The agent cannot finish this step.",
            code="BROWSER_ACTION_REQUIRED",
            exit_code=exit_code,
            details={"url": url} if url else None,
            next_step="Ask the user to open the URL and finish the step, then call this tool again.",
        )
    select = _SELECT_PROMPT_PATTERN.search(out)
    if select:
        prompt = select.group(0).strip()
        missing = _missing_argument(prompt)
        return InteractionRequiredError(
            f"`insforge {command}` asked a question instead of running ({prompt!r}); it needs {missing}.",
            code="PROMPT",
            exit_code=exit_code,
            next_step=f"Call the tool again with {missing}.",
        )
    confirm = _CONFIRM_PROMPT_PATTERN.search(out) or _TEXT_PROMPT_PATTERN.search(out)
    if confirm:
        question = _excerpt(confirm.group("question"), 120)
        return InteractionRequiredError(
            f"`insforge {command}` asked {question!r} and did not run because nobody answered.",
            code="PROMPT",
            exit_code=exit_code,
            next_step="Pass the answer as an argument (-y to confirm) or ask a human to run the command.",
        )
    return None


def _waits_for_human(stdout: bytes, stderr: bytes) -> bool:
    """Tell whether the output so far shows the CLI waiting for a login, a browser or an answer.

    In JSON mode a successful command prints JSON on stdout, so stdout is only read
    for prompts while it does not start with a JSON value; the CLI prints browser
    URLs and npx's install question on stderr.
    """
    err = strip_ansi(stderr[-4096:].decode("utf-8", errors="replace"))
    if _NPX_PROMPT_PATTERN.search(err) or _OPEN_URL_PATTERN.search(err):
        return True
    out = strip_ansi(stdout[:4096].decode("utf-8", errors="replace"))
    if out.lstrip()[:1] in ("{", "["):
        return False
    return bool(
        _LOGIN_LINE in out
        or _NPX_PROMPT_PATTERN.search(out)
        or _SELECT_PROMPT_PATTERN.search(out)
        or _CONFIRM_PROMPT_PATTERN.search(out)
    )


def _missing_argument(prompt: str) -> str:
    lowered = prompt.lower()
    if "organization" in lowered or "organisation" in lowered:
        return "an explicit organization id (--org-id)"
    if "project" in lowered:
        return "an explicit project id (--project-id)"
    if "region" in lowered:
        return "an explicit region (--region)"
    if "template" in lowered:
        return "an explicit template (--template)"
    return "the value it asked for as an explicit argument"


def _last_json_line(stderr: str) -> dict[str, Any] | None:
    for line in reversed(strip_ansi(stderr).splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and "error" in data:
            return data
    return None


def _first_json_document(stdout: str) -> Any:
    text = strip_ansi(stdout).strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _status_from_message(message: str) -> int | None:
    for pattern in (_OSS_STATUS_PATTERN, _HTTP_STATUS_PATTERN, _DIRECT_STATUS_PATTERN):
        match = pattern.match(message)
        if match:
            return int(match.group(1))
    return None


def _command_label(args: Sequence[str | Secret]) -> str:
    """Return the subcommand words of ``args`` (``db query``), never values or secrets."""
    words: list[str] = []
    for arg in args:
        if isinstance(arg, Secret) or not re.fullmatch(r"[a-z][a-z0-9-]*", arg) or len(words) == 2:
            break
        words.append(arg)
    if words:
        return " ".join(words)
    first = args[0] if args else ""
    return first if isinstance(first, str) and first.startswith("-") and len(first) < 40 else "(command)"


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _has_platform_credential(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    if not isinstance(data, dict):
        return False
    if data.get("user_api_key") or data.get("access_token"):
        return True
    refresh = data.get("refresh_token")
    return isinstance(refresh, str) and refresh.startswith("uak_")


def _has_scheme(url: str) -> bool:
    return bool(re.match(r"^https?://", url, re.IGNORECASE))


def _is_loopback_host(host_and_port: str) -> bool:
    return is_loopback_host(urlsplit("//" + host_and_port).hostname or "")


def _host_problem(project_file: Path, oss_host: str | None) -> str:
    if not oss_host:
        return f"{project_file} has no oss_host."
    return f"the oss_host {oss_host!r} in {project_file} has no http:// or https:// scheme."
