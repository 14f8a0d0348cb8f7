"""The operation registry: every tool is declared here once.

An operation is an async function ``async def op(ctx, args: ArgsModel) ->
ResultModel`` registered with :func:`operation`. The LangChain and LlamaIndex
adapters build their tools from :func:`get_operations`, so no operation is
written twice.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from insforge_tools.context import Context
from insforge_tools.errors import ConfigurationError
from insforge_tools.secrets import redact, redact_data

__all__ = [
    "Operation",
    "get_operation",
    "get_operations",
    "invoke",
    "operation",
    "render_result",
    "to_json_text",
    "truncate_text",
]

ArgsT = TypeVar("ArgsT", bound=BaseModel)
ResultT = TypeVar("ResultT", bound=BaseModel)

OperationFunc = Callable[[Context, Any], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Operation:
    """One model-facing operation.

    Attributes:
        name: The tool name the model sees (``insforge_<verb>``).
        description: What the model reads to decide when to call it.
        args_model: The arguments model; it is the tool's input schema.
        result_model: The typed result.
        func: The implementation.
        read_only: Changes nothing anywhere.
        destructive: Deletes or overwrites data; asks the approver first.
        needs_consent: Asserts the user's identity; asks the approver first.
        summarize: Compact text for the model; defaults to the result as JSON.
    """

    name: str
    description: str
    args_model: type[BaseModel]
    result_model: type[BaseModel]
    func: OperationFunc
    read_only: bool = False
    destructive: bool = False
    needs_consent: bool = False
    summarize: Callable[[Any], str] | None = None

    async def __call__(self, ctx: Context, args: BaseModel | Mapping[str, Any] | None = None) -> BaseModel:
        parsed = self.parse_args(args)
        return await self.func(ctx, parsed)

    def parse_args(self, args: BaseModel | Mapping[str, Any] | None) -> BaseModel:
        """Validate ``args`` against the arguments model (pydantic raises ``ValidationError``)."""
        if isinstance(args, self.args_model):
            return args
        if isinstance(args, BaseModel):
            args = args.model_dump()
        return self.args_model.model_validate(dict(args or {}))


_REGISTRY: dict[str, Operation] = {}


def operation(
    name: str,
    *,
    description: str,
    read_only: bool = False,
    destructive: bool = False,
    needs_consent: bool = False,
    summarize: Callable[[Any], str] | None = None,
) -> Callable[
    [Callable[[Context, ArgsT], Awaitable[ResultT]]], Callable[[Context, ArgsT], Awaitable[ResultT]]
]:
    """Register an async operation under ``name``; the models come from its annotations."""

    def register(
        func: Callable[[Context, ArgsT], Awaitable[ResultT]],
    ) -> Callable[[Context, ArgsT], Awaitable[ResultT]]:
        hints = typing.get_type_hints(func)
        parameters = list(hints.items())
        args_model = parameters[1][1] if len(parameters) > 1 else None
        result_model = hints.get("return")
        if not (isinstance(args_model, type) and issubclass(args_model, BaseModel)):
            raise TypeError(
                f"{func.__qualname__}: the second parameter must be annotated with a pydantic model."
            )
        if not (isinstance(result_model, type) and issubclass(result_model, BaseModel)):
            raise TypeError(f"{func.__qualname__}: the return type must be a pydantic model.")
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"An operation named {name!r} is already registered.")
        _REGISTRY[name] = Operation(
            name=name,
            description=description,
            args_model=args_model,
            result_model=result_model,
            func=func,
            read_only=read_only,
            destructive=destructive,
            needs_consent=needs_consent,
            summarize=summarize,
        )
        return func

    return register


def _load_operations() -> None:
    # Importing the package registers every operation module it lists.
    import insforge_tools.operations  # noqa: F401


def get_operations() -> list[Operation]:
    """Return every registered operation, in registration order."""
    _load_operations()
    return list(_REGISTRY.values())


def get_operation(name: str) -> Operation:
    """Return the operation called ``name``."""
    _load_operations()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ConfigurationError(
            f"There is no operation named {name!r}.", next_step=f"Use one of: {known}."
        ) from None


async def invoke(ctx: Context, name: str, args: BaseModel | Mapping[str, Any] | None = None) -> BaseModel:
    """Validate ``args`` and run the operation called ``name``."""
    return await get_operation(name)(ctx, args)


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)


def to_json_text(data: Any) -> str:
    """Serialise ``data`` as compact JSON with secrets removed (never a Python repr)."""
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", exclude_none=True)
    return json.dumps(redact_data(data), ensure_ascii=False, separators=(",", ":"), default=_json_default)


def truncate_text(text: str, max_chars: int, *, hint: str = "") -> str:
    """Cut ``text`` to ``max_chars`` and append a note with the full length and how to get the rest."""
    if len(text) <= max_chars:
        return text
    kept = text[:max_chars]
    note = f"\n[truncated: showing {max_chars} of {len(text)} characters."
    if hint:
        note += f" {hint}"
    return kept + note + "]"


def render_result(op: Operation, result: BaseModel, max_chars: int) -> str:
    """Return the text the model sees for ``result``: compact, redacted and within ``max_chars``."""
    # Redact before cutting: a secret cut in half would no longer match its known value.
    text = redact(op.summarize(result)) if op.summarize is not None else to_json_text(result)
    return truncate_text(text, max_chars, hint="Ask for less, for example with LIMIT or a filter.")
