"""LangChain agent loops over InsForge tools with the scripted chat model, offline."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_insforge import InsForgeToolkit, LangGraphApprover, ScriptedChatModel, ScriptExhaustedError
from langchain_insforge.approvals import APPROVAL_INTERRUPT_TYPE
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from operations_for_tests import LEAKY_SECRET, sample_operations

from insforge_tools.context import Context
from insforge_tools.settings import Settings


def tool_call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def calls(*items: dict[str, Any]) -> AIMessage:
    return AIMessage(content="", tool_calls=list(items))


def tool_messages(result: dict[str, Any]) -> list[ToolMessage]:
    return [message for message in result["messages"] if isinstance(message, ToolMessage)]


def make_agent(context: Context, script: list[Any], **options: Any) -> Any:
    toolkit = InsForgeToolkit(context=context, operations=sample_operations())
    return create_agent(ScriptedChatModel(script=script), tools=toolkit.get_tools(), **options)


# --- the scripted model on its own ---------------------------------------------------------------


def test_scripted_model_replays_in_order() -> None:
    model = ScriptedChatModel(script=[calls(tool_call("insforge_test_echo", {"text": "a"}, "c1")), "done"])

    first = model.invoke("hello")
    second = model.invoke("hello")

    assert first.tool_calls[0]["name"] == "insforge_test_echo"
    assert second.content == "done"
    assert model.turns_used == 2


def test_scripted_model_assigns_missing_call_ids() -> None:
    message = AIMessage(
        content="", tool_calls=[{"name": "insforge_test_echo", "args": {"text": "a"}, "id": None}]
    )
    model = ScriptedChatModel(script=[message])

    reply = model.invoke("hello")

    assert reply.tool_calls[0]["id"] == "call_1_0"


def test_scripted_model_callable_sees_messages() -> None:
    seen: list[list[BaseMessage]] = []

    def reply(messages: list[BaseMessage]) -> str:
        seen.append(messages)
        return f"you said {messages[-1].content}"

    model = ScriptedChatModel(script=[reply])

    assert model.invoke([HumanMessage("ping")]).content == "you said ping"
    assert len(seen) == 1


def test_scripted_model_exhausted_raises_clear_error() -> None:
    model = ScriptedChatModel(script=["only answer"])
    model.invoke("one")

    with pytest.raises(ScriptExhaustedError, match="no reply for call 2: its script has 1 replies"):
        model.invoke("two")


def test_scripted_model_bind_tools_returns_self() -> None:
    model = ScriptedChatModel(script=["x"])

    assert model.bind_tools([]) is model
    assert model._llm_type == "scripted-chat-model"


# --- agent loops ----------------------------------------------------------------------------------


def error_then_recover_script() -> list[Any]:
    def answer_from_results(messages: list[BaseMessage]) -> str:
        last = messages[-1]
        assert isinstance(last, ToolMessage)
        return f"Recovered: {json.loads(last.content)['text']}"

    return [
        calls(tool_call("insforge_test_fail", {"sql": "selct 1"}, "c1")),
        calls(tool_call("insforge_test_echo", {"text": "select 1"}, "c2")),
        answer_from_results,
    ]


def test_agent_sync_tool_error_continues(context: Context) -> None:
    agent = make_agent(context, error_then_recover_script())

    result = agent.invoke({"messages": [HumanMessage("run select 1")]})

    failed, succeeded = tool_messages(result)
    assert failed.status == "error"
    assert "exit code 1" in failed.content
    assert 'syntax error at or near "selct"' in failed.content
    assert succeeded.status == "success"
    assert result["messages"][-1].content == "Recovered: select 1"


async def test_agent_async_tool_error_continues(context: Context) -> None:
    agent = make_agent(context, error_then_recover_script())

    result = await agent.ainvoke({"messages": [HumanMessage("run select 1")]})

    failed, succeeded = tool_messages(result)
    assert failed.status == "error"
    assert succeeded.status == "success"
    assert result["messages"][-1].content == "Recovered: select 1"


async def test_agent_sync_invoke_inside_loop(context: Context) -> None:
    agent = make_agent(context, error_then_recover_script())

    result = agent.invoke({"messages": [HumanMessage("run select 1")]})

    assert result["messages"][-1].content == "Recovered: select 1"


def test_agent_invalid_arguments_continue(context: Context) -> None:
    agent = make_agent(
        context,
        [calls(tool_call("insforge_test_echo", {"repeat": 2}, "c1")), "gave up"],
    )

    result = agent.invoke({"messages": [HumanMessage("echo")]})

    (message,) = tool_messages(result)
    assert message.status == "error"
    assert "text: Field required" in message.content
    assert result["messages"][-1].content == "gave up"


def test_agent_programming_error_aborts(context: Context) -> None:
    agent = make_agent(context, [calls(tool_call("insforge_test_bug", {}, "c1")), "unreachable"])

    with pytest.raises(RuntimeError, match="a bug in the operation"):
        agent.invoke({"messages": [HumanMessage("go")]})


def test_agent_artifact_stays_in_state(context: Context) -> None:
    agent = make_agent(context, [calls(tool_call("insforge_test_values", {}, "c1")), "done"])

    result = agent.invoke({"messages": [HumanMessage("values")]})

    (message,) = tool_messages(result)
    assert message.artifact.table == "o'neil"
    assert json.loads(message.content)["amount"] == "1.50"


# --- approvals through LangGraph interrupts -------------------------------------------------------


def approval_agent(tmp_path: Any, script: list[Any]) -> tuple[Any, Context]:
    context = Context(
        settings=Settings(workspace_dir=tmp_path, credentials_path=tmp_path / "credentials.json"),
        approver=LangGraphApprover(),
    )
    agent = make_agent(context, script, checkpointer=InMemorySaver())
    return agent, context


def delete_script() -> list[Any]:
    return [calls(tool_call("insforge_test_delete", {"table": "orders"}, "c1")), "finished"]


@pytest.mark.parametrize("answer", [True, {"type": "approve"}, {"approved": True, "reason": "ok"}])
def test_langgraph_approver_resume_approves(tmp_path: Any, answer: Any) -> None:
    agent, context = approval_agent(tmp_path, delete_script())
    config = {"configurable": {"thread_id": str(uuid4())}}

    paused = agent.invoke({"messages": [HumanMessage("drop orders")]}, config)

    (pending,) = paused["__interrupt__"]
    assert pending.value["type"] == APPROVAL_INTERRUPT_TYPE
    assert pending.value["kind"] == "destructive"
    assert pending.value["operation"] == "insforge_test_delete"
    assert pending.value["details"] == {"table": "orders"}
    assert "deleted" not in context.state

    result = agent.invoke(Command(resume=answer), config)

    assert context.state["deleted"] == ["orders"]
    (message,) = tool_messages(result)
    assert message.status == "success"
    assert json.loads(message.content) == {"deleted": "orders"}
    assert result["messages"][-1].content == "finished"


def test_langgraph_approver_resume_rejects(tmp_path: Any) -> None:
    agent, context = approval_agent(tmp_path, delete_script())
    config = {"configurable": {"thread_id": str(uuid4())}}
    agent.invoke({"messages": [HumanMessage("drop orders")]}, config)

    result = agent.invoke(Command(resume={"type": "reject", "message": "keep the orders"}), config)

    assert "deleted" not in context.state
    (message,) = tool_messages(result)
    assert message.status == "error"
    assert "not approved: keep the orders" in message.content
    assert result["messages"][-1].content == "finished"


async def test_langgraph_approver_two_questions(tmp_path: Any) -> None:
    agent, context = approval_agent(tmp_path, [calls(tool_call("insforge_test_claim", {}, "c1")), "claimed"])
    config = {"configurable": {"thread_id": str(uuid4())}}

    first = await agent.ainvoke({"messages": [HumanMessage("claim")]}, config)
    second = await agent.ainvoke(Command(resume=True), config)
    result = await agent.ainvoke(Command(resume="483920"), config)

    assert first["__interrupt__"][0].value["kind"] == "consent"
    assert second["__interrupt__"][0].value["kind"] == "claim_code"
    assert context.state["claimed"] == "483920"
    assert json.loads(tool_messages(result)[0].content) == {"code": "483920"}


def test_langgraph_approver_outside_graph_denies(tmp_path: Any) -> None:
    context = Context(
        settings=Settings(workspace_dir=tmp_path, credentials_path=tmp_path / "credentials.json"),
        approver=LangGraphApprover(),
    )
    tool = InsForgeToolkit(context=context, operations=sample_operations("insforge_test_delete")).get_tools()[
        0
    ]

    message = tool.invoke(tool_call("insforge_test_delete", {"table": "orders"}, "c1"))

    assert message.status == "error"
    assert "no LangGraph run is in progress" in message.content
    assert "deleted" not in context.state


# --- no callback receives a credential ----------------------------------------------------


class RecordingHandler(BaseCallbackHandler):
    """Records the repr of every callback LangChain makes."""

    def __init__(self) -> None:
        self.records: list[str] = []


def _recorder(event: str) -> Any:
    def record(self: RecordingHandler, *args: Any, **kwargs: Any) -> None:
        self.records.append(f"{event} {args!r} {kwargs!r}")

    return record


for _event in [name for name in dir(BaseCallbackHandler) if name.startswith("on_")]:
    setattr(RecordingHandler, _event, _recorder(_event))


def test_callbacks_never_see_credential(context: Context) -> None:
    handler = RecordingHandler()
    agent = make_agent(
        context,
        [
            calls(tool_call("insforge_test_secret", {}, "c1")),
            lambda messages: f"The tool said: {messages[-1].content}",
        ],
    )

    result = agent.invoke({"messages": [HumanMessage("show the note")]}, {"callbacks": [handler]})

    events = {record.split(" ", 1)[0] for record in handler.records}
    assert {"on_chain_start", "on_tool_start", "on_tool_end", "on_chat_model_start", "on_llm_end"} <= events
    assert any("the service key is" in record for record in handler.records)
    assert not [record for record in handler.records if LEAKY_SECRET in record]
    assert LEAKY_SECRET not in repr(result)


# --- langchain-tests standard suites ---------------------------------------------------------------


def _standard_tool() -> Any:
    context = Context(settings=Settings(credentials_path="/nonexistent/insforge-tests/credentials.json"))
    toolkit = InsForgeToolkit(context=context, operations=sample_operations("insforge_test_echo"))
    return toolkit.get_tools()[0]


class TestInsForgeToolStandardUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> Any:
        return _standard_tool()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"text": "hello", "repeat": 2}


class TestInsForgeToolStandardIntegration(ToolsIntegrationTests):
    @property
    def tool_constructor(self) -> Any:
        return _standard_tool()

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"text": "hello", "repeat": 2}
