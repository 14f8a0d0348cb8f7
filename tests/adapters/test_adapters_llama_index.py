"""LlamaIndex tool spec built from the registry, and FunctionAgent loops with the scripted LLM."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from llama_index.core.workflow import HumanResponseEvent, InputRequiredEvent
from llama_index.tools.insforge import (
    InsForgeToolSpec,
    ScriptedFunctionCallingLLM,
    ScriptExhaustedError,
    WorkflowApprover,
    tool_call_message,
)
from operations_for_tests import LEAKY_SECRET, EchoResult, HugeResult, ValuesResult, sample_operations

from insforge_tools._toolset import TOOL_NAME_PATTERN
from insforge_tools.context import Context
from insforge_tools.errors import InvalidInputError
from insforge_tools.settings import Settings

# llama-index-workflows 2.26.1 lists a FunctionAgent's members with inspect.getmembers,
# which touches attributes that pydantic 2.14 reports as deprecated.
pytestmark = [
    pytest.mark.filterwarnings("ignore:The `__fields(_set)?__` attribute is deprecated"),
    pytest.mark.filterwarnings("ignore:Accessing the 'model_(computed_)?fields' attribute on the instance"),
]


def make_spec(context: Context, **options: Any) -> InsForgeToolSpec:
    return InsForgeToolSpec(context, operations=sample_operations(), **options)


def tool_named(spec: InsForgeToolSpec, name: str) -> FunctionTool:
    return next(tool for tool in spec.to_tool_list() if tool.metadata.name == name)


def test_spec_is_a_tool_spec(context: Context) -> None:
    assert BaseToolSpec in InsForgeToolSpec.__mro__
    assert make_spec(context).spec_functions == [op.name for op in sample_operations()]


def test_tool_metadata_from_operation(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_echo")

    assert isinstance(tool, FunctionTool)
    assert tool.metadata.description == "Send the text back, repeated."
    assert tool.metadata.fn_schema is sample_operations("insforge_test_echo")[0].args_model
    assert tool.requires_context


def test_tool_schema_hides_context(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_echo")

    parameters = tool.metadata.get_parameters_dict()

    assert set(parameters["properties"]) == {"text", "repeat"}
    assert parameters["properties"]["text"]["description"] == "Text to send back."


def test_call_returns_real_result(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_echo")

    output = tool.call(text="ab")

    assert not output.is_error
    assert isinstance(output.raw_output, EchoResult)
    assert output.raw_output.text == "ab"
    assert "<coroutine object" not in output.content
    assert json.loads(output.content)["text"] == "ab"
    assert output.raw_input == {"args": (), "kwargs": {"text": "ab"}}


async def test_acall_returns_real_result(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_echo")

    output = await tool.acall(text="ab", repeat=2)

    assert isinstance(output.raw_output, EchoResult)
    assert output.raw_output.text == "abab"
    assert "<coroutine object" not in output.content


async def test_call_inside_running_loop(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_echo")

    output = tool.call(text="x")

    assert output.raw_output.thread == "insforge-run-sync"
    assert "<coroutine object" not in output.content


def test_fn_is_sync_callable(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_echo")

    result = tool.fn(None, text="direct")

    assert isinstance(result, EchoResult)
    assert not asyncio.iscoroutine(result)
    assert asyncio.iscoroutinefunction(tool.async_fn)


def test_call_applies_defaults(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_echo")

    output = tool.call(text="ab")

    assert output.raw_output.text == "ab"
    assert json.loads(output.content)["text"] == "ab"
    assert output.raw_input == {"args": (), "kwargs": {"text": "ab"}}


@pytest.mark.parametrize("use_async", [False, True])
async def test_insforge_error_is_error_output(context: Context, use_async: bool) -> None:
    tool = tool_named(make_spec(context), "insforge_test_fail")

    output = await tool.acall(sql="selct 1") if use_async else tool.call(sql="selct 1")

    assert output.is_error
    assert 'syntax error at or near "selct"' in output.content
    assert "exit code 1" in output.content
    assert output.raw_output["exit_code"] == 1
    assert output.raw_input == {"args": (), "kwargs": {"sql": "selct 1"}}


def test_raise_errors_reraises(context: Context) -> None:
    tool = tool_named(make_spec(context, raise_errors=True), "insforge_test_fail")

    with pytest.raises(InvalidInputError):
        tool.call(sql="selct 1")


def test_invalid_arguments_are_error_output(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_echo")

    output = tool.call(repeat="many")

    assert output.is_error
    assert "invalid arguments for insforge_test_echo" in output.content
    assert "text: Field required" in output.content
    assert "repeat: Input should be a valid integer" in output.content


@pytest.mark.parametrize("use_async", [False, True])
async def test_programming_error_raises(context: Context, use_async: bool) -> None:
    tool = tool_named(make_spec(context), "insforge_test_bug")

    with pytest.raises(RuntimeError, match="a bug in the operation"):
        if use_async:
            await tool.acall()
        else:
            tool.call()


def test_result_is_json_not_repr(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_values")

    output = tool.call()

    assert json.loads(output.content) == {
        "table": "o'neil",
        "ok": True,
        "ts": "2025-03-01T12:30:00Z",
        "amount": "1.50",
        "city": "Zürich",
    }
    assert "Decimal(" not in output.content
    assert "None" not in output.content
    assert isinstance(output.raw_output, ValuesResult)


def test_huge_result_is_truncated_with_note(context: Context) -> None:
    tool = tool_named(make_spec(context, max_result_chars=1500), "insforge_test_huge")

    output = tool.call()

    assert not output.is_error
    assert "[truncated: showing 1500 of" in output.content
    assert len(output.content) < 1800
    assert isinstance(output.raw_output, HugeResult)


def test_credential_removed(context: Context) -> None:
    tool = tool_named(make_spec(context), "insforge_test_secret")

    output = tool.call()

    assert LEAKY_SECRET not in output.content
    assert LEAKY_SECRET not in repr(output.raw_output)


def test_filters_match_langchain(context: Context) -> None:
    read_only = make_spec(context, read_only=True).spec_functions
    chosen = make_spec(
        context, include=["insforge_test_echo", "insforge_test_delete"], exclude=["insforge_test_echo"]
    )

    assert "insforge_test_delete" not in read_only
    assert "insforge_test_echo" in read_only
    assert chosen.spec_functions == ["insforge_test_delete"]


def test_to_tool_list_subset(context: Context) -> None:
    spec = make_spec(context)

    tools = spec.to_tool_list(spec_functions=["insforge_test_values"])

    assert [tool.metadata.name for tool in tools] == ["insforge_test_values"]
    with pytest.raises(ValueError, match="Unknown tools requested: nope"):
        spec.to_tool_list(spec_functions=["nope"])


def test_prefixed_names_are_valid(context: Context) -> None:
    spec = make_spec(context, name_prefix="InsForge DB")

    names = [tool.metadata.name for tool in spec.to_tool_list()]

    assert names[0] == "InsForge_DB_insforge_test_echo"
    assert all(TOOL_NAME_PATTERN.match(name) for name in names)


def test_from_settings_builds_context(tmp_path: Any) -> None:
    spec = InsForgeToolSpec.from_settings(
        operations=sample_operations("insforge_test_echo"),
        workspace_dir=tmp_path,
        credentials_path=tmp_path / "credentials.json",
    )

    assert spec.spec_functions == ["insforge_test_echo"]
    assert spec.context.settings.workspace_dir == tmp_path


# --- the scripted LLM and FunctionAgent ------------------------------------------------------------


async def run_agent(agent: FunctionAgent, message: str) -> tuple[Any, list[ToolCallResult]]:
    handler = agent.run(user_msg=message)
    results = [event async for event in handler.stream_events() if isinstance(event, ToolCallResult)]
    return await handler, results


async def test_function_agent_error_then_recover(context: Context) -> None:
    def final(messages: list[ChatMessage]) -> str:
        return f"Recovered after {sum(1 for m in messages if m.role == 'tool')} tool results."

    llm = ScriptedFunctionCallingLLM(
        script=[
            tool_call_message(("insforge_test_fail", {"sql": "selct 1"})),
            tool_call_message(("insforge_test_echo", {"text": "select 1"})),
            final,
        ]
    )
    agent = FunctionAgent(tools=make_spec(context).to_tool_list(), llm=llm)

    response, results = await run_agent(agent, "run select 1")

    failed, succeeded = results
    assert failed.tool_output.is_error
    assert "exit code 1" in failed.tool_output.content
    assert not succeeded.tool_output.is_error
    assert json.loads(succeeded.tool_output.content)["text"] == "select 1"
    assert str(response) == "Recovered after 2 tool results."


async def test_function_agent_json_result(context: Context) -> None:
    llm = ScriptedFunctionCallingLLM(script=[tool_call_message(("insforge_test_values", {})), "done"])
    agent = FunctionAgent(tools=make_spec(context).to_tool_list(), llm=llm)

    response, (result,) = await run_agent(agent, "values")

    assert json.loads(result.tool_output.content)["table"] == "o'neil"
    assert "<coroutine object" not in result.tool_output.content
    assert str(response) == "done"


async def test_scripted_llm_exhausted_raises() -> None:
    llm = ScriptedFunctionCallingLLM(script=["only"])
    await llm.achat([ChatMessage(role="user", content="one")])

    with pytest.raises(ScriptExhaustedError, match="no reply for call 2"):
        await llm.achat([ChatMessage(role="user", content="two")])


def test_scripted_llm_is_named_scripted() -> None:
    llm = ScriptedFunctionCallingLLM(script=[])

    assert llm.class_name() == "ScriptedFunctionCallingLLM"
    assert llm.metadata.is_function_calling_model


# --- approvals through workflow events -------------------------------------------------------------


def approval_context(tmp_path: Any) -> Context:
    return Context(
        settings=Settings(workspace_dir=tmp_path, credentials_path=tmp_path / "credentials.json"),
        approver=WorkflowApprover(timeout=60),
    )


async def run_with_answers(agent: FunctionAgent, message: str, answers: list[Any]) -> tuple[Any, list[Any]]:
    handler = agent.run(user_msg=message)
    requests: list[Any] = []
    results: list[ToolCallResult] = []
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            requests.append(event)
            answer = answers[len(requests) - 1]
            handler.ctx.send_event(HumanResponseEvent(response=answer, approval_id=event.get("approval_id")))
        elif isinstance(event, ToolCallResult):
            results.append(event)
    await handler
    return requests, results


async def test_workflow_approver_approves(tmp_path: Any) -> None:
    context = approval_context(tmp_path)
    llm = ScriptedFunctionCallingLLM(
        script=[tool_call_message(("insforge_test_delete", {"table": "orders"})), "deleted"]
    )
    agent = FunctionAgent(tools=make_spec(context).to_tool_list(), llm=llm)

    requests, results = await run_with_answers(agent, "drop orders", ["yes"])

    (request,) = requests
    assert request.get("type") == "insforge_approval"
    assert request.get("kind") == "destructive"
    assert request.get("details") == {"table": "orders"}
    assert "Delete the table orders" in request.get("prefix")
    assert context.state["deleted"] == ["orders"]
    assert json.loads(results[-1].tool_output.content) == {"deleted": "orders"}


async def test_workflow_approver_rejects(tmp_path: Any) -> None:
    context = approval_context(tmp_path)
    llm = ScriptedFunctionCallingLLM(
        script=[tool_call_message(("insforge_test_delete", {"table": "orders"})), "kept"]
    )
    agent = FunctionAgent(tools=make_spec(context).to_tool_list(), llm=llm)

    _, results = await run_with_answers(agent, "drop orders", ["no, keep it"])

    assert "deleted" not in context.state
    assert results[-1].tool_output.is_error
    assert "not approved: no, keep it" in results[-1].tool_output.content


async def test_workflow_approver_claim_code(tmp_path: Any) -> None:
    context = approval_context(tmp_path)
    llm = ScriptedFunctionCallingLLM(script=[tool_call_message(("insforge_test_claim", {})), "claimed"])
    agent = FunctionAgent(tools=make_spec(context).to_tool_list(), llm=llm)

    requests, _ = await run_with_answers(agent, "claim", [True, "483920"])

    assert [request.get("kind") for request in requests] == ["consent", "claim_code"]
    assert context.state["claimed"] == "483920"


async def test_workflow_approver_outside_workflow_denies(tmp_path: Any) -> None:
    tool = tool_named(make_spec(approval_context(tmp_path)), "insforge_test_delete")

    output = await tool.acall(table="orders")

    assert output.is_error
    assert "no workflow is running" in output.content
