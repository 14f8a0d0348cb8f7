"""What the LangChain and LlamaIndex adapters share.

Both adapters expose the same operations under the same names, report errors
to the model in the same words and read a human's response the same way. The
rules live here once, free of any framework import.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, Approver
from insforge_tools.context import AssertionProvider, Context
from insforge_tools.credentials import CredentialStore
from insforge_tools.errors import InsForgeError
from insforge_tools.registry import Operation, get_operations, truncate_text
from insforge_tools.secrets import redact, redact_data
from insforge_tools.settings import Settings

__all__ = [
    "build_context",
    "MAX_ERROR_CHARS",
    "TOOL_NAME_PATTERN",
    "NamedOperation",
    "OperationResultError",
    "decision_from_response",
    "format_error",
    "format_validation_error",
    "redact_result",
    "run_operation",
    "sanitize_tool_name",
    "select_operations",
]

logger = logging.getLogger("insforge_tools.adapters")

# The tool-name rule of OpenAI-compatible function-calling APIs: letters,
# digits, '_' and '-', at most 64 characters.
TOOL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MAX_NAME_CHARS = 64
_DISALLOWED_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")

# Error texts are for the model: long enough for a CLI message, short enough to
# leave the context for the rest of the run.
MAX_ERROR_CHARS = 2000

_YES_WORDS = frozenset({"y", "yes", "ok", "approve", "approved", "allow", "true", "1"})


@dataclass(frozen=True)
class NamedOperation:
    """An operation and the tool name it is exposed under."""

    tool_name: str
    operation: Operation


class OperationResultError(RuntimeError):
    """An operation raised a pydantic ``ValidationError`` of its own.

    That is a fault in the operation (or an unexpected backend reply), not in
    the model's arguments, so it is kept apart from argument validation and
    propagates like any other programming error.
    """


async def run_operation(operation: Operation, context: Context, args: BaseModel) -> BaseModel:
    """Run ``operation`` with already validated ``args``.

    Raises:
        InsForgeError: The operation failed in a way the model can act on.
        OperationResultError: The operation raised a ``ValidationError``.
    """
    logger.info("Running operation %s.", operation.name)
    try:
        return await operation.func(context, args)
    except InsForgeError as exc:
        logger.info("Operation %s failed: %s", operation.name, exc)
        raise
    except ValidationError as exc:
        raise OperationResultError(
            f"The operation {operation.name!r} raised a validation error of its own: {exc}"
        ) from exc


def build_context(
    *,
    approver: Approver | None,
    store: CredentialStore | None,
    assertion_provider: AssertionProvider | None,
    **settings_kwargs: Any,
) -> Context:
    """Return a new context from settings fields; ``approver=None`` keeps the denying default."""
    context = Context(
        settings=Settings(**settings_kwargs), store=store, assertion_provider=assertion_provider
    )
    if approver is not None:
        context.approver = approver
    return context


def sanitize_tool_name(name: str) -> str:
    """Turn ``name`` into a valid tool name, the same way every time.

    Runs of characters other than letters, digits, ``_`` and ``-`` become one
    ``_``. A result longer than 64 characters is cut and ends with the first 8
    hex digits of the SHA-256 of ``name``, so two long names stay distinct.

    Raises:
        ValueError: ``name`` contains no usable character at all.
    """
    cleaned = _DISALLOWED_NAME_CHARS.sub("_", name).strip("_")
    if not cleaned:
        raise ValueError(
            f"The tool name {name!r} contains no letter, digit, '_' or '-'. "
            "Use a name that matches ^[a-zA-Z0-9_-]{1,64}$."
        )
    if len(cleaned) > _MAX_NAME_CHARS:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        cleaned = cleaned[: _MAX_NAME_CHARS - len(digest) - 1].rstrip("_-") + "_" + digest
    return cleaned


def _check_names(names: Iterable[str] | None, known: Sequence[str], option: str) -> set[str] | None:
    if names is None:
        return None
    if isinstance(names, str):
        raise ValueError(f"{option} must be a list of operation names, not the string {names!r}.")
    wanted = set(names)
    unknown = sorted(wanted - set(known))
    if unknown:
        raise ValueError(
            f"{option} names unknown operations: {', '.join(unknown)}. Known operations: {', '.join(known)}."
        )
    return wanted


def select_operations(
    operations: Sequence[Operation] | None = None,
    *,
    read_only: bool = False,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    name_prefix: str | None = None,
) -> list[NamedOperation]:
    """Choose the operations to expose and give each a valid, unique tool name.

    Args:
        operations: The operations to choose from; ``None`` takes every
            registered operation.
        read_only: Keep only operations that change nothing.
        include: Keep only these operation names (registry names, without the prefix).
        exclude: Drop these operation names.
        name_prefix: Put in front of every tool name, joined with ``_``, for
            example ``"prod"`` gives ``prod_insforge_db_query``. Sanitised
            like the names themselves.

    Returns:
        The chosen operations, in the given order, with their tool names.

    Raises:
        ValueError: A filter names an unknown operation, the prefix has no usable
            character, or two tools would get the same name.
    """
    available = list(get_operations() if operations is None else operations)
    known = [op.name for op in available]
    wanted = _check_names(include, known, "include")
    unwanted = _check_names(exclude, known, "exclude") or set()

    prefix = ""
    if name_prefix is not None:
        prefix = sanitize_tool_name(name_prefix)

    chosen: list[NamedOperation] = []
    owners: dict[str, str] = {}
    for op in available:
        if wanted is not None and op.name not in wanted:
            continue
        if op.name in unwanted or (read_only and not op.read_only):
            continue

        requested = f"{prefix}_{op.name}" if prefix else op.name
        tool_name = sanitize_tool_name(requested)
        if tool_name != requested:
            logger.info(
                "Tool name %r changed to %r to match %s.", requested, tool_name, TOOL_NAME_PATTERN.pattern
            )
        if tool_name in owners:
            raise ValueError(
                f"The operations {owners[tool_name]!r} and {op.name!r} would both be exposed as the tool "
                f"{tool_name!r}. Exclude one of them or rename it."
            )
        owners[tool_name] = op.name
        chosen.append(NamedOperation(tool_name=tool_name, operation=op))
    return chosen


def redact_result(result: BaseModel) -> BaseModel:
    """Return ``result``, or a copy of it with credential-like strings masked.

    The copy is validated against the result's own model; when masking breaks
    a field's constraints, the copy is built without validation.
    """
    data = result.model_dump(mode="python")
    cleaned = redact_data(data)
    if cleaned == data:
        return result
    try:
        return type(result).model_validate(cleaned)
    except ValidationError:
        return type(result).model_construct(**cleaned)


def format_error(tool_name: str, error: InsForgeError) -> str:
    """Return the short text a model reads when ``tool_name`` failed with ``error``."""
    facts = [type(error).__name__]
    if error.code:
        facts.append(f"code {error.code}")
    if error.status is not None:
        facts.append(f"HTTP status {error.status}")
    if error.exit_code is not None:
        facts.append(f"exit code {error.exit_code}")
    if error.retryable:
        facts.append("retryable")

    text = f"Error: {tool_name} failed ({', '.join(facts)}): {error.message}"
    if error.next_step:
        text += f" Next step: {error.next_step}"
    return truncate_text(redact(text), MAX_ERROR_CHARS)


def format_validation_error(tool_name: str, error: ValidationError) -> str:
    """Return the short text a model reads when its arguments for ``tool_name`` were invalid."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "arguments"
        problems.append(f"{location}: {item['msg']}")
    text = (
        f"Error: invalid arguments for {tool_name}: {'; '.join(problems)}. "
        "Next step: call the tool again with arguments that match its schema."
    )
    return truncate_text(redact(text), MAX_ERROR_CHARS)


def _decision_from_text(text: str, request: ApprovalRequest, approver: str) -> ApprovalDecision:
    text = text.strip()
    if request.kind == "claim_code":
        if not text:
            return ApprovalDecision(approved=False, reason="No code was entered.", approver=approver)
        return ApprovalDecision(approved=True, value=text, approver=approver)
    if text.lower() in _YES_WORDS:
        return ApprovalDecision(approved=True, approver=approver)
    return ApprovalDecision(approved=False, reason=text or "The human did not approve.", approver=approver)


def _decision_from_mapping(
    response: Mapping[str, Any], request: ApprovalRequest, approver: str
) -> ApprovalDecision:
    decisions = response.get("decisions")
    if isinstance(decisions, Sequence) and not isinstance(decisions, str) and decisions:
        return decision_from_response(decisions[0], request, approver=approver)

    if "approved" in response:
        return ApprovalDecision.model_validate({"approver": approver, **response})

    decision_type = response.get("type")
    if decision_type == "approve":
        return ApprovalDecision(approved=True, value=response.get("value"), approver=approver)
    if decision_type == "reject":
        reason = str(response.get("message") or "The human rejected the request.")
        return ApprovalDecision(approved=False, reason=reason, approver=approver)

    for key in ("value", "code", "response"):
        if key in response:
            return _decision_from_text(str(response[key] or ""), request, approver)
    raise ValueError(
        f"Invalid approval response: a mapping with keys {sorted(response)}. "
        "Send {'approved': true/false}, {'type': 'approve'|'reject'} or {'value': '<code>'}."
    )


def decision_from_response(response: Any, request: ApprovalRequest, *, approver: str) -> ApprovalDecision:
    """Convert a human's response to ``request`` into a decision.

    Accepted responses: an :class:`ApprovalDecision`; a bool; a string (for a
    ``claim_code`` request the code itself, otherwise ``yes``/``approve``/``ok``
    approve and anything else rejects with that text as the reason); a mapping
    with ``approved`` (the decision's fields), with ``type`` ``approve`` or
    ``reject`` (and ``message``), with ``decisions`` (the first one is used), or
    with ``value``, ``code`` or ``response`` (read like a string).

    Raises:
        ValueError: A mapping has none of the keys above.
        TypeError: ``response`` has an unsupported type.
    """
    if isinstance(response, ApprovalDecision):
        return response
    if isinstance(response, bool):
        return ApprovalDecision(approved=response, approver=approver)
    if isinstance(response, str):
        return _decision_from_text(response, request, approver)
    if isinstance(response, Mapping):
        return _decision_from_mapping(response, request, approver)
    raise TypeError(
        "An approval response must be a bool, a string, a mapping or an ApprovalDecision, "
        f"not {type(response).__name__}."
    )
