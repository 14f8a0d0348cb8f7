"""No credential reaches what agents emit: callbacks, instrumentation, messages and checkpoints.

Each test runs a full loop (discover, register, an anonymous registration and
its claim in two calls, login, link, metadata, a query) and scans everything
recorded for the user API key, the admin key, every ID-JAG the provider issued,
every claim token and every credential the platform issued.
"""

from __future__ import annotations

import inspect
import json
from typing import Any
from uuid import uuid4

import pytest
from agent_helpers import ContextFactory, SandboxHuman, leaks, secret_values
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, HumanMessage
from langchain_insforge import InsForgeToolkit, ScriptedChatModel
from langgraph.checkpoint.memory import InMemorySaver
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.span.simple import SimpleSpan
from llama_index.core.instrumentation.span_handlers import BaseSpanHandler
from llama_index.tools.insforge import InsForgeToolSpec, ScriptedFunctionCallingLLM, tool_call_message
from pydantic import PrivateAttr

from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox


def serialise(value: Any) -> list[str]:
    """Return the repr and, where possible, the JSON of ``value``."""
    texts = [repr(value)]
    try:
        texts.append(json.dumps(value, default=repr))
    except (TypeError, ValueError):
        pass
    return texts


def loop_steps(sandbox: Sandbox) -> list[tuple[str, dict[str, Any]]]:
    email = f"{uuid4().hex[:8]}@example.com"
    return [
        ("insforge_discover", {"resource_url": sandbox.resource_url}),
        ("insforge_register", {"resource_url": sandbox.resource_url}),
        ("insforge_register", {"resource_url": sandbox.resource_url, "flow": "anonymous"}),
        ("insforge_claim", {"resource_url": sandbox.resource_url, "email": email}),
        ("insforge_claim", {"resource_url": sandbox.resource_url}),
        ("insforge_login", {}),
        ("insforge_whoami", {}),
        ("insforge_link", {"api_base_url": sandbox.backend_url}),
        ("insforge_current", {}),
        ("insforge_metadata", {}),
        ("insforge_db_query", {"sql": "select current_user as who"}),
    ]


def check_secrets(found: dict[str, str]) -> None:
    """Make sure the scan looks for every kind of secret, so that it can fail."""
    labels = " ".join(found)
    assert "admin api key" in labels
    assert "stored user_api_key" in labels
    assert "stored anonymous_api_key" in labels
    assert "ID-JAG 1" in labels
    assert "claim token" in labels


# --- LangChain ---------------------------------------------------------------------------------


class RecordingHandler(BaseCallbackHandler):
    """Records every callback LangChain makes, serialised."""

    def __init__(self) -> None:
        self.records: list[str] = []
        self.events: list[str] = []


def _recorder(event: str) -> Any:
    def record(self: RecordingHandler, *args: Any, **kwargs: Any) -> None:
        self.events.append(event)
        for item in (*args, kwargs):
            self.records.extend(serialise(item))

    return record


for _event in [name for name in dir(BaseCallbackHandler) if name.startswith("on_")]:
    setattr(RecordingHandler, _event, _recorder(_event))


async def test_langchain_emits_no_secret(
    sandbox: Sandbox, make_context: ContextFactory, human: SandboxHuman
) -> None:
    context = await make_context(human)
    script: list[Any] = [
        AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"c{index}"}])
        for index, (name, args) in enumerate(loop_steps(sandbox))
    ]
    script.append("All set.")
    checkpointer = InMemorySaver()
    agent = create_agent(
        ScriptedChatModel(script=script),
        tools=InsForgeToolkit(context=context).get_tools(),
        checkpointer=checkpointer,
    )
    handler = RecordingHandler()
    config = {"configurable": {"thread_id": uuid4().hex}, "callbacks": [handler]}

    result = await agent.ainvoke({"messages": [HumanMessage("Set everything up.")]}, config)

    statuses = [getattr(message, "status", None) for message in result["messages"][2::2]]
    assert statuses == ["success"] * len(loop_steps(sandbox)), result["messages"]
    assert human.kinds == ["consent", "consent", "claim_code"]
    for event in ("on_tool_start", "on_tool_end", "on_chat_model_start", "on_llm_end", "on_chain_start"):
        assert event in handler.events

    found = secret_values(sandbox, context)
    check_secrets(found)
    assert leaks("\n".join(handler.records), found) == []
    assert leaks(repr(result) + json.dumps(result, default=repr), found) == []

    checkpoints = [repr(item) for item in checkpointer.list(config)]
    assert checkpoints
    assert leaks("\n".join(checkpoints), found) == []
    raw = [blob for blob in _blobs(checkpointer.storage)] + [blob for blob in _blobs(checkpointer.blobs)]
    assert raw
    assert leaks("\n".join(raw), found) == []


def _blobs(value: Any) -> list[str]:
    """Every bytes or str leaf of the checkpointer's storage, decoded byte for byte."""
    if isinstance(value, bytes | bytearray):
        return [bytes(value).decode("latin-1")]
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for key, item in value.items() for text in _blobs(key) + _blobs(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _blobs(item)]
    return [repr(value)]


# --- LlamaIndex --------------------------------------------------------------------------------


class RecordingEventHandler(BaseEventHandler):
    records: list[str] = []

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.records.extend(serialise(event))
        self.records.append(event.model_dump_json(fallback=repr))


class RecordingSpanHandler(BaseSpanHandler[SimpleSpan]):
    # BaseSpanHandler's own __init__ takes no field values, so the list is private.
    _records: list[str] = PrivateAttr(default_factory=list)

    @property
    def records(self) -> list[str]:
        return self._records

    def _record(self, bound_args: inspect.BoundArguments, **values: Any) -> None:
        self.records.extend(serialise(dict(bound_args.arguments)))
        for value in values.values():
            self.records.extend(serialise(value))

    def new_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        parent_span_id: str | None = None,
        tags: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SimpleSpan:
        self._record(bound_args, instance=instance, tags=tags)
        return SimpleSpan(id_=id_, parent_id=parent_span_id, tags=tags or {})

    def prepare_to_exit_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        result: Any | None = None,
        **kwargs: Any,
    ) -> SimpleSpan | None:
        self._record(bound_args, result=result)
        return self.open_spans.get(id_)

    def prepare_to_drop_span(
        self,
        id_: str,
        bound_args: inspect.BoundArguments,
        instance: Any | None = None,
        err: BaseException | None = None,
        **kwargs: Any,
    ) -> SimpleSpan | None:
        self._record(bound_args, err=err)
        return self.open_spans.get(id_)


async def test_llama_index_emits_no_secret(
    sandbox: Sandbox, make_context: ContextFactory, human: SandboxHuman
) -> None:
    context = await make_context(human)
    script: list[Any] = [tool_call_message(step) for step in loop_steps(sandbox)]
    script.append("All set.")
    agent = FunctionAgent(
        tools=InsForgeToolSpec(context).to_tool_list(), llm=ScriptedFunctionCallingLLM(script=script)
    )
    events = RecordingEventHandler(records=[])
    spans = RecordingSpanHandler()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(events)
    dispatcher.add_span_handler(spans)
    streamed: list[str] = []
    try:
        handler = agent.run(user_msg="Set everything up.")
        async for event in handler.stream_events():
            streamed.extend(serialise(event))
        response = await handler
    finally:
        dispatcher.event_handlers.remove(events)
        dispatcher.span_handlers.remove(spans)

    assert human.kinds == ["consent", "consent", "claim_code"]
    assert events.records
    assert spans.records

    found = secret_values(sandbox, context)
    check_secrets(found)
    assert leaks("\n".join(events.records), found) == []
    assert leaks("\n".join(spans.records), found) == []
    assert leaks("\n".join(streamed), found) == []
    assert leaks(repr(response), found) == []

    memory = await handler.ctx.store.get("memory")
    history = await memory.aget_all()
    assert len(history) > len(loop_steps(sandbox))
    assert leaks(repr(history), found) == []
