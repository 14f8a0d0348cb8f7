"""Sync entry points on the real operations: plain sync code, inside a running loop, sync agents."""

from __future__ import annotations

from typing import Any

import pytest
from agent_helpers import ContextFactory, make_table
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_insforge import InsForgeToolkit, ScriptedChatModel
from llama_index.tools.insforge import InsForgeToolSpec

from insforge_tools._sync import run_sync
from insforge_tools.context import Context
from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

QUERY = {"sql": "select $1::text as word", "params": ["sync"]}


def langchain_tool(context: Context, name: str) -> Any:
    [tool] = InsForgeToolkit(context=context, include=[name]).get_tools()
    return tool


def llama_index_tool(context: Context, name: str) -> Any:
    [tool] = InsForgeToolSpec(context, include=[name]).to_tool_list()
    return tool


def query_agent(context: Context, table: str) -> Any:
    script = [
        AIMessage(content="", tool_calls=[{"name": "insforge_db_query", "args": QUERY, "id": "c1"}]),
        AIMessage(
            content="",
            tool_calls=[{"name": "insforge_records_list", "args": {"table": table}, "id": "c2"}],
        ),
        "Done.",
    ]
    return create_agent(ScriptedChatModel(script=script), tools=InsForgeToolkit(context=context).get_tools())


def check_agent_result(result: dict[str, Any]) -> None:
    messages = [message for message in result["messages"] if isinstance(message, ToolMessage)]
    assert [message.status for message in messages] == ["success", "success"]
    assert '"word":"sync"' in str(messages[0].content)
    assert '"title":"row"' in str(messages[1].content)


def test_invoke_from_plain_sync(make_context: ContextFactory) -> None:
    context = run_sync(make_context(level="linked"))
    tool = langchain_tool(context, "insforge_db_query")

    content = tool.invoke(QUERY)

    assert '"word":"sync"' in content


async def test_invoke_inside_running_loop(make_context: ContextFactory) -> None:
    context = await make_context(level="linked")
    tool = langchain_tool(context, "insforge_db_query")

    content = tool.invoke(QUERY)

    assert '"word":"sync"' in content
    assert content == await tool.ainvoke(QUERY)


async def test_invoke_error_same_both_paths(make_context: ContextFactory) -> None:
    context = await make_context(level="linked")
    tool = langchain_tool(context, "insforge_table_schema")
    args = {"table": "no_such_table_here"}

    sync_text = tool.invoke(args)
    async_text = await tool.ainvoke(args)

    assert sync_text.startswith("Error: insforge_table_schema failed")
    assert sync_text == async_text


def test_sync_agent_from_plain_sync(make_context: ContextFactory) -> None:
    context = run_sync(make_context(level="linked"))
    table = run_sync(make_table(context, ["row"]))

    result = query_agent(context, table).invoke({"messages": [HumanMessage("Query it.")]})

    check_agent_result(result)


async def test_sync_agent_inside_running_loop(make_context: ContextFactory) -> None:
    context = await make_context(level="linked")
    table = await make_table(context, ["row"])

    result = query_agent(context, table).invoke({"messages": [HumanMessage("Query it.")]})

    check_agent_result(result)


async def test_llama_index_call_inside_running_loop(make_context: ContextFactory) -> None:
    context = await make_context(level="linked")
    tool = llama_index_tool(context, "insforge_db_query")

    output = tool.call(**QUERY)
    async_output = await tool.acall(**QUERY)

    assert not output.is_error
    assert '"word":"sync"' in output.content
    assert "<coroutine object" not in output.content
    assert output.content == async_output.content
    assert output.raw_output.rows == [{"word": "sync"}]


def test_llama_index_call_from_plain_sync(sandbox: Sandbox, make_context: ContextFactory) -> None:
    context = run_sync(make_context(level="linked"))
    tool = llama_index_tool(context, "insforge_metadata")

    output = tool.call()

    assert not output.is_error
    assert "metadata" in output.content
