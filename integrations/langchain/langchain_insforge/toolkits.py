"""The InsForge toolkit: every operation as a LangChain tool, filtered and named."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from langchain.agents.middleware import HumanInTheLoopMiddleware, InterruptOnConfig
from langchain.agents.middleware.human_in_the_loop import DecisionType
from langchain_core.tools import BaseTool, BaseToolkit
from pydantic import ConfigDict, InstanceOf, PrivateAttr

from insforge_tools._toolset import build_context, select_operations
from insforge_tools.approvals import Approver, DenyingApprover
from insforge_tools.context import AssertionProvider, Context
from insforge_tools.credentials import CredentialStore
from insforge_tools.registry import Operation
from langchain_insforge.approvals import HumanInTheLoopApprover, LangGraphApprover
from langchain_insforge.tools import InsForgeTool

__all__ = ["InsForgeToolkit", "interrupt_on"]


class InsForgeToolkit(BaseToolkit):
    """The InsForge operations as LangChain tools.

    The tools are built, filtered and named when the toolkit is constructed, so
    a bad filter or a tool name the model API would reject raises
    ``ValueError`` here, before any model call.

    Example:
        ```python
        toolkit = InsForgeToolkit.from_settings(workspace_dir="./app", read_only=True)
        agent = create_agent(model, tools=toolkit.get_tools())
        ```

    Human approval: operations that assert the user's identity or destroy data
    ask the context's approver before they act. In a LangGraph agent with a
    checkpointer, :class:`~langchain_insforge.LangGraphApprover` turns each
    request into an ``interrupt()`` that the application answers with
    ``Command(resume=...)``. ``HumanInTheLoopMiddleware`` can pause earlier,
    before a destructive tool runs, with :meth:`interrupt_on`; on its own that
    makes the human approve the same deletion twice (once at the middleware,
    once at the operation). :meth:`human_in_the_loop_middleware` builds the
    middleware and installs a :class:`~langchain_insforge.HumanInTheLoopApprover`
    that accepts the middleware's approval for the tools it gates, so each
    destructive tool call is put to the human once::

        toolkit = InsForgeToolkit(context=context)
        middleware = toolkit.human_in_the_loop_middleware()
        agent = create_agent(model, tools=toolkit.get_tools(), middleware=[middleware],
                             checkpointer=InMemorySaver())

    Destructive SQL in ``insforge_db_query`` is not gated by the middleware (the
    tool is destructive only for some statements); it still pauses once, inside
    the tool, through the fallback approver.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    context: InstanceOf[Context]
    """Settings, credentials and approver every tool shares."""

    read_only: bool = False
    """Expose only operations that change nothing."""

    include: list[str] | None = None
    """Expose only these operations (registry names such as ``insforge_db_query``)."""

    exclude: list[str] | None = None
    """Leave out these operations."""

    name_prefix: str | None = None
    """Put in front of every tool name, joined with ``_``; sanitised to ``[a-zA-Z0-9_-]``."""

    max_result_chars: int | None = None
    """Maximum characters of tool content sent to the model; ``None`` uses the context's settings."""

    raise_errors: bool = False
    """Raise ``InsForgeError`` from the tools instead of returning error messages to the model."""

    operations: list[Operation] | None = None
    """The operations to choose from; ``None`` takes every registered operation."""

    _tools: list[InsForgeTool] = PrivateAttr(default_factory=list)

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        # Built here rather than in a validator so that a bad filter or name
        # raises a plain ValueError instead of a pydantic ValidationError.
        self._tools = self._build_tools()

    def _build_tools(self) -> list[InsForgeTool]:
        chosen = select_operations(
            self.operations,
            read_only=self.read_only,
            include=self.include,
            exclude=self.exclude,
            name_prefix=self.name_prefix,
        )
        return [
            InsForgeTool.from_operation(
                item.operation,
                self.context,
                name=item.tool_name,
                max_result_chars=self.max_result_chars,
                raise_errors=self.raise_errors,
            )
            for item in chosen
        ]

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
    ) -> InsForgeToolkit:
        """Build a toolkit with a new :class:`~insforge_tools.context.Context`.

        Args:
            approver: Decides on consent, one-time codes and destructive
                actions; ``None`` keeps the default, which denies.
            store: The credential store; ``None`` uses the settings' file.
            assertion_provider: Where identity assertions come from.
            read_only: Expose only operations that change nothing.
            include: Expose only these operations.
            exclude: Leave out these operations.
            name_prefix: Put in front of every tool name.
            raise_errors: Raise ``InsForgeError`` instead of returning error messages.
            operations: The operations to choose from; ``None`` takes every registered one.
            **settings_kwargs: Fields of :class:`~insforge_tools.settings.Settings`,
                such as ``workspace_dir`` or ``max_result_chars``.
        """
        context = build_context(
            approver=approver, store=store, assertion_provider=assertion_provider, **settings_kwargs
        )
        return cls(
            context=context,
            read_only=read_only,
            include=list(include) if include is not None else None,
            exclude=list(exclude) if exclude is not None else None,
            name_prefix=name_prefix,
            raise_errors=raise_errors,
            operations=list(operations) if operations is not None else None,
        )

    def get_tools(self) -> list[BaseTool]:
        """Return the tools, in registry order."""
        return list(self._tools)

    def interrupt_on(self) -> dict[str, bool | InterruptOnConfig]:
        """Return ``HumanInTheLoopMiddleware`` settings that pause before this toolkit's destructive tools."""
        return interrupt_on(self._tools)

    def human_in_the_loop_middleware(
        self,
        *,
        allowed_decisions: Sequence[DecisionType] = ("approve", "reject"),
        fallback: Approver | None = None,
        **middleware_kwargs: Any,
    ) -> HumanInTheLoopMiddleware[Any, Any]:
        """Return a middleware that pauses before destructive tools, and ask the human only there.

        Replaces the context's approver with a
        :class:`~langchain_insforge.HumanInTheLoopApprover` that accepts the
        middleware's approval for the gated tools and passes every other request
        to ``fallback``. The agent needs a checkpointer for the middleware to pause.

        Args:
            allowed_decisions: What the reviewer may answer at the middleware's pause.
            fallback: Decides consent, one-time codes and destructive SQL; ``None``
                keeps the context's approver unless it is the default one that
                denies, which is replaced by :class:`~langchain_insforge.LangGraphApprover`.
            **middleware_kwargs: Other ``HumanInTheLoopMiddleware`` arguments, such
                as ``description_prefix``.
        """
        settings = interrupt_on(self._tools, allowed_decisions=allowed_decisions)
        gated = {
            tool.metadata["operation"] for tool in self._tools if tool.name in settings and tool.metadata
        }

        current = self.context.approver
        if isinstance(current, HumanInTheLoopApprover):
            current = current.fallback
        if fallback is None:
            fallback = LangGraphApprover() if isinstance(current, DenyingApprover) else current
        self.context.approver = HumanInTheLoopApprover(gated, fallback=fallback)
        return HumanInTheLoopMiddleware(interrupt_on=settings, **middleware_kwargs)


def interrupt_on(
    tools: Iterable[BaseTool],
    *,
    allowed_decisions: Sequence[DecisionType] = ("approve", "reject"),
) -> dict[str, bool | InterruptOnConfig]:
    """Return ``HumanInTheLoopMiddleware`` settings that pause before every destructive tool.

    A tool counts as destructive when its ``metadata["destructive"]`` is true,
    as it is for InsForge tools that delete or overwrite data. Other tools run
    without a pause.

    Args:
        tools: The agent's tools.
        allowed_decisions: What the reviewer may answer; add ``"edit"`` or
            ``"respond"`` to allow more than approve and reject.

    Returns:
        A mapping for ``HumanInTheLoopMiddleware(interrupt_on=...)``.
    """
    settings: dict[str, bool | InterruptOnConfig] = {}
    for tool in tools:
        if (tool.metadata or {}).get("destructive"):
            settings[tool.name] = InterruptOnConfig(
                allowed_decisions=list(allowed_decisions),
                description=f"{tool.name} deletes or overwrites data. Approve only if the user asked for it.",
            )
    return settings
