"""One LangChain tool per InsForge operation."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Literal

from langchain_core.tools import BaseTool, ToolException
from pydantic import InstanceOf, ValidationError
from pydantic.v1 import ValidationError as ValidationErrorV1

from insforge_tools._sync import run_sync
from insforge_tools._toolset import (
    format_error,
    format_validation_error,
    redact_result,
    run_operation,
)
from insforge_tools.context import Context
from insforge_tools.errors import InsForgeError
from insforge_tools.registry import Operation, render_result
from insforge_tools.secrets import redact

__all__ = ["InsForgeTool", "InsForgeToolError", "tool_error_text", "validation_error_text"]


class InsForgeToolError(ToolException):
    """An InsForge operation failed in a way the model can act on.

    Args:
        tool_name: The tool that failed.
        error: The error the operation raised.
    """

    def __init__(self, tool_name: str, error: InsForgeError) -> None:
        self.tool_name = tool_name
        self.error = error
        super().__init__(format_error(tool_name, error))


def tool_error_text(error: ToolException) -> str:
    """Return the error message a model reads for a failed tool call."""
    if isinstance(error, InsForgeToolError):
        return format_error(error.tool_name, error.error)
    return str(error) or "Error: the tool failed without a message."


def validation_error_text(error: ValidationError | ValidationErrorV1, *, tool_name: str | None = None) -> str:
    """Return the error message a model reads for invalid tool arguments."""
    if isinstance(error, ValidationError):
        return format_validation_error(tool_name or error.title, error)
    return redact(f"Error: invalid arguments for {tool_name or 'the tool'}: {error}")


class InsForgeTool(BaseTool):
    """A LangChain tool that runs one InsForge operation.

    The tool message content is the compact text the operation renders for the
    model: JSON unless the operation summarises, cut to ``max_result_chars``
    with a note. The artifact is the typed result model, with credential-looking
    strings masked. An :class:`~insforge_tools.errors.InsForgeError`
    becomes an error tool message (``status="error"``) so the agent loop goes
    on; with ``raise_errors=True`` it is raised instead. Every other exception
    propagates.

    Build instances with :meth:`from_operation` or through
    :class:`~langchain_insforge.InsForgeToolkit`.
    """

    operation: Operation
    """The operation this tool runs."""

    context: InstanceOf[Context]
    """Settings, credentials and approver the operation receives."""

    max_result_chars: int | None = None
    """Maximum characters of content sent to the model; ``None`` uses the context's settings."""

    raise_errors: bool = False
    """Raise an operation's ``InsForgeError`` instead of returning an error message."""

    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool | str | Callable[[ToolException], Any] | None = tool_error_text
    handle_validation_error: bool | str | Callable[[ValidationError | ValidationErrorV1], str] | None = (
        validation_error_text
    )

    @classmethod
    def from_operation(
        cls,
        operation: Operation,
        context: Context,
        *,
        name: str | None = None,
        max_result_chars: int | None = None,
        raise_errors: bool = False,
    ) -> InsForgeTool:
        """Build the tool for ``operation``.

        Args:
            operation: The registry entry.
            context: What the operation receives.
            name: The tool name; defaults to the operation's name. It is used
                as given, so it must already match ``^[a-zA-Z0-9_-]{1,64}$``.
            max_result_chars: Maximum characters of content sent to the model.
            raise_errors: Raise ``InsForgeError`` instead of returning an error message.
        """
        tags = ["insforge"]
        tags.append("read_only" if operation.read_only else "writes")
        if operation.destructive:
            tags.append("destructive")
        if operation.needs_consent:
            tags.append("needs_consent")

        return cls(
            name=name or operation.name,
            description=operation.description,
            args_schema=operation.args_model,
            operation=operation,
            context=context,
            max_result_chars=max_result_chars,
            raise_errors=raise_errors,
            handle_validation_error=partial(validation_error_text, tool_name=name or operation.name),
            metadata={
                "operation": operation.name,
                "read_only": operation.read_only,
                "destructive": operation.destructive,
                "needs_consent": operation.needs_consent,
            },
            tags=tags,
        )

    def _result_limit(self) -> int:
        if self.max_result_chars is not None:
            return self.max_result_chars
        return self.context.settings.max_result_chars

    async def _arun(self, **kwargs: Any) -> tuple[str, Any]:
        # LangChain passes only the arguments the model sent; parsing them
        # again applies the model's defaults. A ValidationError here is the
        # model's fault and is turned into `handle_validation_error` text.
        args = self.operation.parse_args(kwargs)

        try:
            result = await run_operation(self.operation, self.context, args)
        except InsForgeError as exc:
            if self.raise_errors:
                raise
            raise InsForgeToolError(self.name, exc) from exc

        content = render_result(self.operation, result, self._result_limit())
        return content, redact_result(result)

    def _run(self, **kwargs: Any) -> tuple[str, Any]:
        return run_sync(self._arun(**kwargs))
