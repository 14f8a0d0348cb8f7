"""Helpers shared by the storage, functions, deployments, secrets, database and logs operations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from insforge_tools.approvals import ApprovalRequest, require_approval
from insforge_tools.context import Context
from insforge_tools.errors import InvalidInputError, ServerError
from insforge_tools.secrets import Secret

__all__ = ["cli_argv", "confirm_destructive", "cut_text", "expect_dict", "first_of", "workspace_path"]

# The CLI's link file contains the project's admin API key, so no operation reads or writes below it.
_PRIVATE_DIR = ".insforge"


def workspace_path(ctx: Context, value: str, *, what: str) -> Path:
    """Resolve ``value`` (relative to the workspace, or absolute) to a path inside the workspace.

    Symbolic links are resolved first, so a link that points out of the workspace is rejected too.

    Raises:
        InvalidInputError: The path leaves the workspace or lies in its ``.insforge`` folder.
    """
    root = Path(ctx.settings.workspace_dir).resolve()
    candidate = Path(value).expanduser()
    if not candidate.is_absolute():
        candidate = root / candidate
    resolved = candidate.resolve()

    if resolved != root and root not in resolved.parents:
        raise InvalidInputError(
            f"The {what} {value!r} is outside the workspace directory {root}.",
            next_step="Give a path inside the workspace directory (relative paths start there).",
        )
    relative = resolved.relative_to(root)
    if relative.parts and relative.parts[0] == _PRIVATE_DIR:
        raise InvalidInputError(
            f"The {what} {value!r} is in the workspace's {_PRIVATE_DIR} folder, which contains the project's "
            "credentials; it cannot be read or written by a tool.",
            next_step="Use a path outside the .insforge folder.",
        )
    return resolved


async def confirm_destructive(ctx: Context, operation: str, summary: str, **details: Any) -> None:
    """Ask ``ctx.approver`` to approve a destructive ``operation``, and raise unless it approves.

    ``summary`` is the sentence the human reads and ``details`` the facts shown with it.
    Call it before any side effect (see :func:`~insforge_tools.approvals.require_approval`).

    Raises:
        ApprovalError: The approver did not approve.
    """
    await require_approval(
        ctx.approver,
        ApprovalRequest(kind="destructive", operation=operation, summary=summary, details=details),
    )


def cli_argv(
    *words: str,
    options: Sequence[str | Secret] = (),
    positionals: Sequence[str | Secret] = (),
) -> list[str | Secret]:
    """Build a CLI command line whose positional values can never be read as options.

    ``--json`` (and any ``-y`` in ``options``) come before a ``--`` marker, and the
    positional values after it, so a value such as ``-draft.txt`` stays a value.
    """
    return [*words, *options, "--json", "--", *positionals]


def cut_text(text: str, budget: int, hint: str) -> str:
    """Cut ``text`` to ``budget`` characters and append how much was left out."""
    if len(text) <= budget:
        return text
    return f"{text[:budget]}\n[truncated: showing {budget} of {len(text)} characters; {hint}]"


def expect_dict(body: Any, what: str) -> dict[str, Any]:
    """Return ``body`` if it is a JSON object, else raise :class:`ServerError` naming ``what``."""
    if not isinstance(body, dict):
        raise ServerError(f"The {what} response is a JSON {type(body).__name__}, not an object.")
    return body


def first_of(data: Mapping[str, Any], *names: str) -> Any:
    """Return the first of ``names`` that ``data`` has with a value that is not None."""
    for name in names:
        value = data.get(name)
        if value is not None:
            return value
    return None
