"""A scripted chat model for running LangChain agents offline.

:class:`ScriptedChatModel` is not a language model: it replays replies written
in advance, so agent loops over the InsForge tools run in tests, notebooks and
demos without an API key or network access.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from pydantic import ConfigDict, Field, PrivateAttr, field_validator

__all__ = ["ScriptExhaustedError", "ScriptedChatModel", "ScriptedReply"]

ScriptedReply = AIMessage | str | Callable[[list[BaseMessage]], AIMessage | str]
"""One scripted turn: a message, a final answer as text, or a function of the conversation so far."""


class ScriptExhaustedError(RuntimeError):
    """The scripted model was called more times than its script has replies."""


class ScriptedChatModel(BaseChatModel):
    """A fake tool-calling chat model that replays a script.

    Each call returns the next reply of ``script``: an ``AIMessage`` (usually
    with ``tool_calls``), a string (a final answer), or a callable that gets the
    messages sent so far and returns either, for replies that depend on earlier
    tool results. Tool calls without an ``id`` get ``call_<turn>_<index>``.
    ``bind_tools`` returns the model itself, so the tools offered change
    nothing. A call after the last reply raises :class:`ScriptExhaustedError`.

    Example:
        ```python
        model = ScriptedChatModel(script=[
            AIMessage("", tool_calls=[{"name": "insforge_db_tables", "args": {}, "id": "c1"}]),
            "The project has 3 tables.",
        ])
        ```
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    # Typed as Any for pydantic: validating a callable against AIMessage fails
    # inside langchain-core. The validator below checks each reply instead.
    script: list[Any] = Field(default_factory=list)
    """The replies, in order (each a ``ScriptedReply``)."""

    model_name: str = "scripted"
    """Shown in traces so that a scripted run is never mistaken for a real model."""

    _turn: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @field_validator("script")
    @classmethod
    def _check_replies(cls, script: list[Any]) -> list[Any]:
        for index, reply in enumerate(script):
            if not (isinstance(reply, AIMessage | str) or callable(reply)):
                raise ValueError(
                    f"Scripted reply {index + 1} must be an AIMessage, a string or a callable, "
                    f"not {type(reply).__name__}."
                )
        return script

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "replies": len(self.script)}

    @property
    def turns_used(self) -> int:
        """How many replies have been returned so far."""
        return self._turn

    def reset(self) -> None:
        """Start the script again from the first reply."""
        with self._lock:
            self._turn = 0

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        """Return the model itself: the script decides which tools are called."""
        return self

    def _next_reply(self) -> tuple[int, ScriptedReply]:
        with self._lock:
            turn = self._turn
            if turn >= len(self.script):
                raise ScriptExhaustedError(
                    f"ScriptedChatModel has no reply for call {turn + 1}: its script has {len(self.script)} "
                    "replies. Add replies (ending with a final answer) or check why the agent looped again."
                )
            self._turn = turn + 1
            return turn, self.script[turn]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn, reply = self._next_reply()
        if callable(reply) and not isinstance(reply, AIMessage):
            reply = reply(list(messages))

        if isinstance(reply, str):
            message = AIMessage(content=reply)
        elif isinstance(reply, AIMessage):
            message = reply.model_copy(deep=True)
        else:
            raise TypeError(
                f"Scripted reply {turn + 1} must be an AIMessage or a string, not {type(reply).__name__}."
            )

        for index, call in enumerate(message.tool_calls):
            if not call.get("id"):
                call["id"] = f"call_{turn + 1}_{index}"
        return ChatResult(generations=[ChatGeneration(message=message)])
