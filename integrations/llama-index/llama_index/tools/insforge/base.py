"""InsForge operations as LlamaIndex tools.

This module defines no ``from __future__ import annotations`` on purpose: the
tool functions take a workflow ``Context`` parameter, and ``FunctionTool``
recognises it only from a real (not string) annotation.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from llama_index.core.base.llms.types import ContentBlock
from llama_index.core.tools import FunctionTool, ToolMetadata, ToolOutput
from llama_index.core.tools.tool_spec.base import SPEC_FUNCTION_TYPE, BaseToolSpec
from llama_index.core.workflow import Context as WorkflowContext
from llama_index.tools.insforge.approvals import current_workflow_context
from pydantic import BaseModel, ValidationError

from insforge_tools._sync import run_sync
from insforge_tools._toolset import (
    NamedOperation,
    build_context,
    format_error,
    format_validation_error,
    redact_result,
    run_operation,
    select_operations,
)
from insforge_tools.approvals import Approver
from insforge_tools.context import AssertionProvider, Context
from insforge_tools.credentials import CredentialStore
from insforge_tools.errors import InsForgeError
from insforge_tools.registry import Operation, render_result

__all__ = ["InsForgeFunctionTool", "InsForgeToolSpec"]


class InsForgeFunctionTool(FunctionTool):
    """A ``FunctionTool`` for one InsForge operation.

    ``fn`` is a real sync callable (it runs the operation through
    :func:`insforge_tools._sync.run_sync`) and ``async_fn`` the coroutine
    function, so ``call()`` and ``acall()`` both return the result, never a
    coroutine. Both validate the arguments with the operation's model and apply
    its defaults, which ``FunctionTool`` itself does not do.

    Their output's content is the compact text the operation renders for the
    model (JSON unless the operation summarises, cut to ``max_result_chars``
    with a note) and ``raw_output`` is the typed result, with credential-looking
    strings masked. An ``InsForgeError`` or invalid arguments give an output
    with ``is_error=True`` and a short message; every other exception
    propagates.
    """

    operation: Operation
    insforge_context: Context
    max_result_chars: int | None
    raise_errors: bool

    @classmethod
    def from_operation(
        cls,
        operation: Operation,
        context: Context,
        *,
        name: str | None = None,
        max_result_chars: int | None = None,
        raise_errors: bool = False,
    ) -> "InsForgeFunctionTool":
        """Build the tool for ``operation``.

        Args:
            operation: The registry entry.
            context: What the operation receives.
            name: The tool name; defaults to the operation's name. It is used
                as given, so it must already match ``^[a-zA-Z0-9_-]{1,64}$``.
            max_result_chars: Maximum characters of content sent to the model; ``None`` uses
                the context's settings.
            raise_errors: Raise ``InsForgeError`` instead of returning an error output.
        """

        # FunctionTool finds the workflow-context parameter by its annotation and
        # FunctionAgent fills it. A direct call passes None. The leading underscore
        # keeps the name apart from argument fields, which pydantic forbids to start
        # with one.
        async def run_async(_workflow_ctx: WorkflowContext, **kwargs: Any) -> BaseModel:
            args = operation.parse_args(kwargs)
            token = current_workflow_context.set(_workflow_ctx)
            try:
                return redact_result(await run_operation(operation, context, args))
            finally:
                current_workflow_context.reset(token)

        def run_blocking(_workflow_ctx: WorkflowContext, **kwargs: Any) -> BaseModel:
            return run_sync(run_async(_workflow_ctx, **kwargs))

        tool_name = name or operation.name
        run_async.__name__ = run_blocking.__name__ = tool_name
        run_async.__doc__ = run_blocking.__doc__ = operation.description

        tool = cls.from_defaults(
            fn=run_blocking,
            async_fn=run_async,
            tool_metadata=ToolMetadata(
                name=tool_name,
                description=operation.description,
                fn_schema=operation.args_model,
            ),
        )
        assert isinstance(tool, cls)
        tool.operation = operation
        tool.insforge_context = context
        tool.max_result_chars = max_result_chars
        tool.raise_errors = raise_errors
        return tool

    def _parse_tool_output(self, raw_output: Any) -> list[ContentBlock]:
        # The content is replaced by the rendered text in _success; skipping
        # FunctionTool's str(raw_output) avoids a Python repr of a large result.
        return []

    def _result_limit(self) -> int:
        if self.max_result_chars is not None:
            return self.max_result_chars
        return self.insforge_context.settings.max_result_chars

    def _with_context_slot(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        # FunctionAgent passes its workflow context; a direct call has none.
        if self.ctx_param_name is not None and self.ctx_param_name not in kwargs:
            return {**kwargs, self.ctx_param_name: None}
        return kwargs

    def _raw_input(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        return {"args": args, "kwargs": {k: v for k, v in kwargs.items() if k != self.ctx_param_name}}

    def _success(self, output: ToolOutput) -> ToolOutput:
        result = output.raw_output
        return ToolOutput(
            content=render_result(self.operation, result, self._result_limit()),
            tool_name=output.tool_name,
            raw_input=output.raw_input,
            raw_output=result,
        )

    def _failure(
        self, text: str, error: Exception, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> ToolOutput:
        raw_output = error.to_dict() if isinstance(error, InsForgeError) else {"error": text}
        return ToolOutput(
            content=text,
            tool_name=self.metadata.get_name(),
            raw_input=self._raw_input(args, kwargs),
            raw_output=raw_output,
            is_error=True,
            exception=error,
        )

    def _handle(self, error: Exception, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ToolOutput:
        name = self.metadata.get_name()
        if isinstance(error, ValidationError):
            return self._failure(format_validation_error(name, error), error, args, kwargs)
        if isinstance(error, InsForgeError) and not self.raise_errors:
            return self._failure(format_error(name, error), error, args, kwargs)
        raise error

    def call(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Run the operation synchronously and return its output."""
        kwargs = self._with_context_slot(kwargs)
        try:
            output = super().call(*args, **kwargs)
        except (InsForgeError, ValidationError) as exc:
            return self._handle(exc, args, kwargs)
        return self._success(output)

    async def acall(self, *args: Any, **kwargs: Any) -> ToolOutput:
        """Run the operation and return its output."""
        kwargs = self._with_context_slot(kwargs)
        try:
            output = await super().acall(*args, **kwargs)
        except (InsForgeError, ValidationError) as exc:
            return self._handle(exc, args, kwargs)
        return self._success(output)


class InsForgeToolSpec(BaseToolSpec):
    """The InsForge operations as LlamaIndex tools.

    The operations are chosen and named when the spec is constructed, so a bad
    filter or a tool name the model API would reject raises ``ValueError``
    here, before any model call.

    Example:
        ```python
        spec = InsForgeToolSpec.from_settings(workspace_dir="./app", read_only=True)
        agent = FunctionAgent(tools=spec.to_tool_list(), llm=llm)
        ```

    Args:
        context: Settings, credentials and approver every tool shares.
        read_only: Expose only operations that change nothing.
        include: Expose only these operations (registry names such as ``insforge_db_query``).
        exclude: Leave out these operations.
        name_prefix: Put in front of every tool name, joined with ``_``;
            sanitised to ``[a-zA-Z0-9_-]``.
        max_result_chars: Maximum characters of tool content sent to the model; ``None`` uses
            ``context.settings.max_result_chars``.
        raise_errors: Raise ``InsForgeError`` from the tools instead of
            returning error outputs.
        operations: The operations to choose from; ``None`` takes every
            registered operation.
    """

    def __init__(
        self,
        context: Context,
        *,
        read_only: bool = False,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        name_prefix: str | None = None,
        max_result_chars: int | None = None,
        raise_errors: bool = False,
        operations: Sequence[Operation] | None = None,
    ) -> None:
        self.context = context
        self.max_result_chars = max_result_chars
        self.raise_errors = raise_errors
        self._chosen: list[NamedOperation] = select_operations(
            operations,
            read_only=read_only,
            include=include,
            exclude=exclude,
            name_prefix=name_prefix,
        )
        self.spec_functions: list[SPEC_FUNCTION_TYPE] = [item.tool_name for item in self._chosen]

    @classmethod
    def from_settings(
        cls,
        *,
        approver: Approver | None = None,
        store: CredentialStore | None = None,
        assertion_provider: AssertionProvider | None = None,
        read_only: bool = False,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        name_prefix: str | None = None,
        raise_errors: bool = False,
        operations: Sequence[Operation] | None = None,
        **settings_kwargs: Any,
    ) -> "InsForgeToolSpec":
        """Build a tool spec with a new :class:`~insforge_tools.context.Context`.

        Args:
            approver: Decides on consent, one-time codes and destructive
                actions; ``None`` keeps the default, which denies.
            store: The credential store; ``None`` uses the settings' file.
            assertion_provider: Where identity assertions come from.
            read_only: Expose only operations that change nothing.
            include: Expose only these operations.
            exclude: Leave out these operations.
            name_prefix: Put in front of every tool name.
            raise_errors: Raise ``InsForgeError`` instead of returning error outputs.
            operations: The operations to choose from; ``None`` takes every registered one.
            **settings_kwargs: Fields of :class:`~insforge_tools.settings.Settings`,
                such as ``workspace_dir`` or ``max_result_chars``.
        """
        context = build_context(
            approver=approver, store=store, assertion_provider=assertion_provider, **settings_kwargs
        )
        return cls(
            context,
            read_only=read_only,
            include=include,
            exclude=exclude,
            name_prefix=name_prefix,
            raise_errors=raise_errors,
            operations=operations,
        )

    def to_tool_list(
        self,
        spec_functions: list[SPEC_FUNCTION_TYPE] | None = None,
        func_to_metadata_mapping: dict[str, ToolMetadata] | None = None,
    ) -> list[FunctionTool]:
        """Return one tool per chosen operation, in registry order.

        Args:
            spec_functions: Tool names to return, a subset of ``spec_functions``;
                ``None`` returns them all.
            func_to_metadata_mapping: Replacement metadata by tool name, for
                example to reword a description. The replacement's schema is
                ignored: arguments are always checked with the operation's model.
        """
        wanted = None if spec_functions is None else {str(item) for item in spec_functions}
        unknown = sorted((wanted or set()) - set(self.spec_functions))
        if unknown:
            raise ValueError(
                f"Unknown tools requested: {', '.join(unknown)}. Known tools: {self.spec_functions}."
            )
        overrides = func_to_metadata_mapping or {}

        tools: list[FunctionTool] = []
        for item in self._chosen:
            if wanted is not None and item.tool_name not in wanted:
                continue
            tool = InsForgeFunctionTool.from_operation(
                item.operation,
                self.context,
                name=item.tool_name,
                max_result_chars=self.max_result_chars,
                raise_errors=self.raise_errors,
            )
            override = overrides.get(item.tool_name)
            if override is not None:
                tool._metadata = ToolMetadata(
                    name=item.tool_name,
                    description=override.description,
                    fn_schema=item.operation.args_model,
                    return_direct=override.return_direct,
                )
            tools.append(tool)
        return tools
