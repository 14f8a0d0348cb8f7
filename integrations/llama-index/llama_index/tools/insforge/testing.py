"""A scripted function-calling LLM for running LlamaIndex agents offline.

:class:`ScriptedFunctionCallingLLM` is not a language model: it replays replies
written in advance, so a ``FunctionAgent`` over the InsForge tools runs in
tests, notebooks and demos without an API key or network access.
"""

import itertools
import threading
from collections.abc import Callable, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.llms.mock import MockFunctionCallingLLM
from pydantic import PrivateAttr

__all__ = ["ScriptExhaustedError", "ScriptedFunctionCallingLLM", "ScriptedReply", "tool_call_message"]

ScriptedReply = ChatMessage | str | Callable[[list[ChatMessage]], ChatMessage | str]
"""One scripted turn: a message, a final answer as text, or a function of the conversation so far."""

_call_ids = itertools.count(1)


class ScriptExhaustedError(RuntimeError):
    """The scripted LLM was called more times than its script has replies."""


def tool_call_message(*calls: tuple[str, dict[str, Any]], text: str = "") -> ChatMessage:
    """Return an assistant message that calls the given tools.

    Args:
        *calls: ``(tool_name, arguments)`` pairs, called in order.
        text: Optional text shown with the calls.
    """
    blocks: list[Any] = [
        ToolCallBlock(
            tool_call_id=f"scripted-call-{next(_call_ids)}", tool_name=name, tool_kwargs=dict(arguments)
        )
        for name, arguments in calls
    ]
    if text:
        return ChatMessage(role=MessageRole.ASSISTANT, content=text, blocks=blocks)
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks)


class ScriptedFunctionCallingLLM(MockFunctionCallingLLM):
    """A fake function-calling LLM that replays a script, for ``FunctionAgent``.

    Each chat call returns the next reply of ``script``: a ``ChatMessage``
    (usually built with :func:`tool_call_message`), a string (a final answer),
    or a callable that gets the messages so far and returns either, for replies
    that depend on earlier tool results. A call after the last reply raises
    :class:`ScriptExhaustedError`.

    Example:
        ```python
        llm = ScriptedFunctionCallingLLM(script=[
            tool_call_message(("insforge_db_tables", {})),
            "The project has 3 tables.",
        ])
        agent = FunctionAgent(tools=spec.to_tool_list(), llm=llm)
        ```

    Args:
        script: The replies, in order.
    """

    _script: list[ScriptedReply] = PrivateAttr(default_factory=list)
    _turn: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, script: Sequence[ScriptedReply], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._script = list(script)
        self.response_generator = self._reply

    @classmethod
    def class_name(cls) -> str:
        return "ScriptedFunctionCallingLLM"

    @property
    def turns_used(self) -> int:
        """How many replies have been returned so far."""
        return self._turn

    def _next_reply(self) -> tuple[int, ScriptedReply]:
        with self._lock:
            turn = self._turn
            if turn >= len(self._script):
                raise ScriptExhaustedError(
                    f"ScriptedFunctionCallingLLM has no reply for call {turn + 1}: its script has "
                    f"{len(self._script)} replies. Add replies (ending with a final answer) or check why "
                    "the agent looped again."
                )
            self._turn = turn + 1
            return turn, self._script[turn]

    def _reply(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        turn, reply = self._next_reply()
        if callable(reply) and not isinstance(reply, ChatMessage):
            reply = reply(list(messages))

        if isinstance(reply, str):
            return ChatMessage(role=MessageRole.ASSISTANT, content=reply)
        if isinstance(reply, ChatMessage):
            return reply.model_copy(deep=True)
        raise TypeError(
            f"Scripted reply {turn + 1} must be a ChatMessage or a string, not {type(reply).__name__}."
        )
