"""Typed errors raised by insforge-tools.

Every error carries a message that is safe to show to a model (it goes through
the redaction pass when it is built), an optional machine-readable ``code``, the
HTTP ``status`` or CLI ``exit_code`` that caused it, and a ``next_step`` telling
the caller what to do about it.

InsForgeError
├── ConfigurationError        settings or arguments that cannot work
├── ApprovalError             a human decision is missing or negative
├── ProtocolError             discovery or registration documents are unusable
│   ├── DiscoveryError
│   └── AssertionCheckError   an identity assertion failed the pre-flight check
├── RegistrationError         the registration endpoint rejected the request
├── AuthError                 a credential is missing, invalid or revoked
├── PermissionDeniedError
├── NotLinkedError            no project is linked in the workspace
├── NotFoundError
├── ConflictError
├── InvalidInputError         the backend rejected the input (bad SQL, bad value)
├── RateLimitError
├── ServerError               the backend failed (5xx)
├── TransportError            the request did not complete
│   └── TimeoutError
└── CliError                  the InsForge CLI failed in a way not covered above
    ├── CliNotFoundError
    ├── CliUsageError
    ├── CliOutputError
    └── InteractionRequiredError
"""

from __future__ import annotations

from typing import Any

from insforge_tools.secrets import redact

__all__ = [
    "ApprovalError",
    "AssertionCheckError",
    "AuthError",
    "CliError",
    "CliNotFoundError",
    "CliOutputError",
    "CliUsageError",
    "ConfigurationError",
    "ConflictError",
    "DiscoveryError",
    "InsForgeError",
    "InteractionRequiredError",
    "InvalidInputError",
    "NotFoundError",
    "NotLinkedError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "RegistrationError",
    "ServerError",
    "TimeoutError",
    "TransportError",
]


class InsForgeError(Exception):
    """Base class of every error insforge-tools raises on purpose.

    Args:
        message: What went wrong, naming the value involved.
        next_step: What the caller (often a model) should do about it.
        code: A machine-readable code, such as the backend's ``error`` field.
        status: The HTTP status that caused the error, if any.
        exit_code: The CLI exit code that caused the error, if any.
        retryable: Whether the same request may succeed later unchanged.
        details: Extra structured facts, already free of secrets.
    """

    default_next_step = ""

    # A CLI or server can put megabytes into an error text; a model, a log line or a
    # traceback needs the start of it.
    max_message_chars = 4000

    def __init__(
        self,
        message: str,
        *,
        next_step: str | None = None,
        code: str | None = None,
        status: int | None = None,
        exit_code: int | None = None,
        retryable: bool = False,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = _cap(redact(message), self.max_message_chars)
        self.next_step = redact(next_step if next_step is not None else self.default_next_step)
        self.code = code
        self.status = status
        self.exit_code = exit_code
        self.retryable = retryable
        self.details = details or {}
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.next_step:
            return f"{self.message} Next step: {self.next_step}"
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Return the error as a JSON-ready dictionary for tool results."""
        data: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        for key in ("code", "status", "exit_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.next_step:
            data["next_step"] = self.next_step
        if self.retryable:
            data["retryable"] = True
        return data


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [message cut: {len(text)} characters in all]"


class ConfigurationError(InsForgeError):
    default_next_step = "Fix the insforge-tools settings named in the message and try again."


class ApprovalError(InsForgeError):
    default_next_step = "Ask the human user to approve this action, then call the tool again."


class ProtocolError(InsForgeError):
    default_next_step = "Check the service URL; the service's metadata does not follow the protocol."


class DiscoveryError(ProtocolError):
    pass


class AssertionCheckError(ProtocolError):
    default_next_step = "Mint a new identity assertion that fixes the named claim."


class RegistrationError(InsForgeError):
    default_next_step = "Read the error code; a new request with corrected input may succeed."


class AuthError(InsForgeError):
    default_next_step = "Register again or log in with a valid key."


class PermissionDeniedError(InsForgeError):
    default_next_step = "Use a key with access to this project or ask the project owner for access."


class NotLinkedError(InsForgeError):
    default_next_step = "Link a project first with the insforge_link tool."


class NotFoundError(InsForgeError):
    default_next_step = "Check the name; list what exists first."


class ConflictError(InsForgeError):
    default_next_step = "The resource already exists; use another name or update the existing one."


class InvalidInputError(InsForgeError):
    default_next_step = "Correct the input named in the message and try again."


class RateLimitError(InsForgeError):
    default_next_step = "Wait a little before trying again."


class ServerError(InsForgeError):
    default_next_step = "The server failed; try again later or check the project's logs."


class TransportError(InsForgeError):
    default_next_step = "Check that the service is reachable and try again."


class TimeoutError(TransportError):  # noqa: A001 - the standard name inside this namespace
    default_next_step = "The operation took too long; try again, or narrow the request."


class CliError(InsForgeError):
    default_next_step = "Check the InsForge CLI's message; run `insforge-tools doctor` if it persists."


class CliNotFoundError(CliError):
    default_next_step = (
        "Install Node.js 20+ so that `npx` is on PATH, or set INSFORGE_CLI to the command that runs the CLI."
    )


class CliUsageError(CliError):
    default_next_step = "Correct the arguments named in the message."


class CliOutputError(CliError):
    default_next_step = "The CLI printed something that is not JSON; run `insforge-tools doctor` to check it."


class InteractionRequiredError(CliError):
    default_next_step = "A human must finish this step outside the agent; then call the tool again."
