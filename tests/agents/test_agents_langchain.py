"""LangChain agents over the real operations in the sandbox, driven by the scripted chat model."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from agent_helpers import (
    ContextFactory,
    RegistrationPosts,
    SandboxHuman,
    claim_attempts,
    issued_credentials,
    make_table,
    open_claim_link,
    registration_ids,
    run_core,
    titles,
)
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_insforge import HumanInTheLoopApprover, InsForgeToolkit, LangGraphApprover, ScriptedChatModel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from insforge_tools.context import Context
from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox


def call(name: str, args: dict[str, Any]) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call-{uuid4().hex[:8]}"}])


def tool_messages(result: dict[str, Any]) -> list[ToolMessage]:
    return [message for message in result["messages"] if isinstance(message, ToolMessage)]


def thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": uuid4().hex}}


# --- a full run without a checkpointer --------------------------------------------------------


@pytest.mark.parametrize("transport", ["http", "cli"])
async def test_full_flow_survives_sql_error(
    sandbox: Sandbox, make_context: ContextFactory, human: SandboxHuman, transport: str
) -> None:
    context = await make_context(human, transport=transport)
    table = f"agent_{uuid4().hex[:10]}"
    create = f"create table {table} (id serial primary key, title text not null)"
    insert = f"insert into {table} (title) values ($1), ($2)"  # noqa: S608
    script = [
        call("insforge_discover", {"resource_url": sandbox.resource_url}),
        call("insforge_register", {"resource_url": sandbox.resource_url}),
        call("insforge_login", {}),
        call("insforge_link", {"api_base_url": sandbox.backend_url}),
        call("insforge_metadata", {}),
        call("insforge_db_query", {"sql": create}),
        call("insforge_db_query", {"sql": "selct 1"}),
        call("insforge_db_query", {"sql": insert, "params": ["a", "b"]}),
        call("insforge_records_list", {"table": table, "order": "id.asc"}),
        "Two rows are in the table.",
    ]
    agent = create_agent(ScriptedChatModel(script=script), tools=InsForgeToolkit(context=context).get_tools())

    result = await agent.ainvoke({"messages": [HumanMessage("Set up my project.")]})

    messages = tool_messages(result)
    statuses = [(message.name, message.status) for message in messages]
    assert statuses == [
        ("insforge_discover", "success"),
        ("insforge_register", "success"),
        ("insforge_login", "success"),
        ("insforge_link", "success"),
        ("insforge_metadata", "success"),
        ("insforge_db_query", "success"),
        ("insforge_db_query", "error"),
        ("insforge_db_query", "success"),
        ("insforge_records_list", "success"),
    ]
    error_text = str(messages[6].content)
    assert error_text.startswith("Error: insforge_db_query failed")
    assert "could not be parsed" in error_text
    assert '"title":"a"' in str(messages[8].content)
    assert result["messages"][-1].content == "Two rows are in the table."
    # "selct" starts no PostgreSQL statement, so no approval is asked and the server's error
    # reaches the model.
    assert human.kinds == ["consent"]


# --- HumanInTheLoopMiddleware -------------------------------------------------------------------


async def hitl_agent(context: Context, script: list[Any]) -> tuple[Any, InsForgeToolkit]:
    toolkit = InsForgeToolkit(context=context)
    middleware = toolkit.human_in_the_loop_middleware()
    agent = create_agent(
        ScriptedChatModel(script=script),
        tools=toolkit.get_tools(),
        middleware=[middleware],
        checkpointer=InMemorySaver(),
    )
    return agent, toolkit


def delete_call(table: str) -> AIMessage:
    return call("insforge_records_delete", {"table": table, "filters": [{"column": "title", "value": "old"}]})


async def test_middleware_approval_asks_once(make_context: ContextFactory) -> None:
    context = await make_context(level="linked")
    table = await make_table(context, ["old", "new"])
    agent, _ = await hitl_agent(context, [delete_call(table), "Deleted."])
    config = thread()

    paused = await agent.ainvoke({"messages": [HumanMessage("Delete the old row.")]}, config)

    [pause] = paused["__interrupt__"]
    assert pause.value["action_requests"][0]["name"] == "insforge_records_delete"
    assert await titles(context, table) == ["old", "new"]

    result = await agent.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), config)

    assert "__interrupt__" not in result
    [message] = tool_messages(result)
    assert message.status == "success", message.content
    assert await titles(context, table) == ["new"]
    assert isinstance(context.approver, HumanInTheLoopApprover)


async def test_middleware_rejection_keeps_rows(make_context: ContextFactory) -> None:
    context = await make_context(level="linked")
    table = await make_table(context, ["old"])
    agent, _ = await hitl_agent(context, [delete_call(table), "Kept."])
    config = thread()

    await agent.ainvoke({"messages": [HumanMessage("Delete the old row.")]}, config)
    result = await agent.ainvoke(
        Command(resume={"decisions": [{"type": "reject", "message": "keep it"}]}), config
    )

    [message] = tool_messages(result)
    assert message.status == "error"
    assert "keep it" in str(message.content)
    assert await titles(context, table) == ["old"]


async def test_plain_middleware_asks_twice(make_context: ContextFactory) -> None:
    # Without the toolkit's middleware helper the operation requests approval again after the middleware.
    context = await make_context(LangGraphApprover(), level="linked")
    table = await make_table(context, ["old"])
    toolkit = InsForgeToolkit(context=context)
    agent = create_agent(
        ScriptedChatModel(script=[delete_call(table), "Deleted."]),
        tools=toolkit.get_tools(),
        middleware=[HumanInTheLoopMiddleware(interrupt_on=toolkit.interrupt_on())],
        checkpointer=InMemorySaver(),
    )
    config = thread()

    await agent.ainvoke({"messages": [HumanMessage("Delete the old row.")]}, config)
    second = await agent.ainvoke(Command(resume={"decisions": [{"type": "approve"}]}), config)

    [pause] = second["__interrupt__"]
    assert pause.value["type"] == "insforge_approval"
    assert pause.value["kind"] == "destructive"
    assert await titles(context, table) == ["old"]


async def test_middleware_approver_direct_call_denied(make_context: ContextFactory) -> None:
    context = await make_context(level="linked")
    table = await make_table(context, ["old"])
    toolkit = InsForgeToolkit(context=context)
    toolkit.human_in_the_loop_middleware()
    [tool] = [tool for tool in toolkit.get_tools() if tool.name == "insforge_records_delete"]

    message = await tool.ainvoke(delete_call(table).tool_calls[0])

    assert message.status == "error"
    assert "no LangGraph run is in progress" in str(message.content)
    assert await titles(context, table) == ["old"]


async def test_middleware_leaves_sql_to_approver(make_context: ContextFactory) -> None:
    context = await make_context(level="linked")
    table = await make_table(context, ["old"])
    agent, _ = await hitl_agent(
        context, [call("insforge_db_query", {"sql": f"drop table {table}"}), "Dropped."]
    )
    config = thread()

    paused = await agent.ainvoke({"messages": [HumanMessage("Drop it.")]}, config)

    [pause] = paused["__interrupt__"]
    assert pause.value["kind"] == "destructive"
    assert pause.value["details"]["sql"] == f"drop table {table}"

    result = await agent.ainvoke(Command(resume=True), config)

    [message] = tool_messages(result)
    assert message.status == "success", message.content
    tables = await run_core(context, "insforge_db_tables", {})
    assert table not in tables.tables


# --- LangGraphApprover inside the tools -----------------------------------------------------------


async def test_consent_pauses_before_sending(sandbox: Sandbox, make_context: ContextFactory) -> None:
    context = await make_context(LangGraphApprover())
    agent = create_agent(
        ScriptedChatModel(
            script=[call("insforge_register", {"resource_url": sandbox.resource_url}), "Done."]
        ),
        tools=InsForgeToolkit(context=context).get_tools(),
        checkpointer=InMemorySaver(),
    )
    config = thread()
    before = issued_credentials(sandbox)

    paused = await agent.ainvoke({"messages": [HumanMessage("Register me.")]}, config)

    [pause] = paused["__interrupt__"]
    assert pause.value["type"] == "insforge_approval"
    assert pause.value["kind"] == "consent"
    assert issued_credentials(sandbox) == before
    assert context.assertion_provider.tokens == []  # type: ignore[union-attr]
    assert context.credentials.get("user_api_key", sandbox.resource_url) is None

    result = await agent.ainvoke(Command(resume=True), config)

    [message] = tool_messages(result)
    assert message.status == "success", message.content
    assert len(issued_credentials(sandbox) - before) == 1
    assert len(context.assertion_provider.tokens) == 1  # type: ignore[union-attr]
    assert context.credentials.get("user_api_key", sandbox.resource_url) is not None


async def test_consent_rejected_sends_nothing(sandbox: Sandbox, make_context: ContextFactory) -> None:
    context = await make_context(LangGraphApprover())
    agent = create_agent(
        ScriptedChatModel(script=[call("insforge_register", {"resource_url": sandbox.resource_url}), "Ok."]),
        tools=InsForgeToolkit(context=context).get_tools(),
        checkpointer=InMemorySaver(),
    )
    config = thread()
    before = issued_credentials(sandbox)

    await agent.ainvoke({"messages": [HumanMessage("Register me.")]}, config)
    result = await agent.ainvoke(Command(resume={"type": "reject", "message": "not today"}), config)

    [message] = tool_messages(result)
    assert message.status == "error"
    assert "not today" in str(message.content)
    assert issued_credentials(sandbox) == before


async def test_verified_email_code_from_mail(
    sandbox: Sandbox, make_context: ContextFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = await make_context(LangGraphApprover())
    posts = RegistrationPosts(monkeypatch)
    email = f"{uuid4().hex[:8]}@example.com"
    script = [
        call(
            "insforge_register",
            {"resource_url": sandbox.resource_url, "flow": "verified_email", "email": email},
        ),
        call("insforge_claim", {"resource_url": sandbox.resource_url}),
        "Registered.",
    ]
    agent = create_agent(
        ScriptedChatModel(script=script),
        tools=InsForgeToolkit(context=context).get_tools(),
        checkpointer=InMemorySaver(),
    )
    config = thread()
    before = registration_ids(sandbox)

    consent = await agent.ainvoke({"messages": [HumanMessage("Register me by email.")]}, config)
    assert consent["__interrupt__"][0].value["kind"] == "consent"
    assert registration_ids(sandbox) == before

    # Resuming runs insforge_register again from the start; it registers once, then the
    # model's insforge_claim pauses for the code before it sends anything.
    code_pause = await agent.ainvoke(Command(resume=True), config)

    [pause] = code_pause["__interrupt__"]
    assert pause.value["kind"] == "claim_code"
    assert pause.value["operation"] == "insforge_claim"
    [registration_id] = registration_ids(sandbox) - before
    assert pause.value["details"]["registration_id"] == registration_id
    [pending] = tool_messages(code_pause)
    assert pending.status == "success", pending.content
    assert "Status: claim_pending" in str(pending.content)
    assert "insforge_claim" in str(pending.content)
    assert posts.count("/agent/auth/claim/complete") == 0

    code = await open_claim_link(sandbox, registration_id)
    result = await agent.ainvoke(Command(resume=code), config)

    assert "__interrupt__" not in result
    claimed = tool_messages(result)[-1]
    assert claimed.status == "success", claimed.content
    assert "Status: claimed" in str(claimed.content)
    assert registration_ids(sandbox) - before == {registration_id}
    assert claim_attempts(sandbox, registration_id) == 1
    assert posts.count("/agent/auth") == 1
    assert posts.count("/agent/auth/claim") == 0
    assert posts.count("/agent/auth/claim/complete") == 1
    assert context.credentials.get("user_api_key", sandbox.resource_url) is not None


async def test_anonymous_claim_code_from_mail(
    sandbox: Sandbox, make_context: ContextFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = await make_context(LangGraphApprover())
    posts = RegistrationPosts(monkeypatch)
    email = f"{uuid4().hex[:8]}@example.com"
    script = [
        call("insforge_register", {"resource_url": sandbox.resource_url, "flow": "anonymous"}),
        call("insforge_claim", {"resource_url": sandbox.resource_url, "email": email}),
        call("insforge_claim", {"resource_url": sandbox.resource_url}),
        "Claimed.",
    ]
    agent = create_agent(
        ScriptedChatModel(script=script),
        tools=InsForgeToolkit(context=context).get_tools(),
        checkpointer=InMemorySaver(),
    )
    config = thread()
    before = registration_ids(sandbox)

    consent = await agent.ainvoke({"messages": [HumanMessage("Register, then claim for me.")]}, config)
    [pause] = consent["__interrupt__"]
    assert pause.value["kind"] == "consent"
    assert pause.value["operation"] == "insforge_claim"
    [registration_id] = registration_ids(sandbox) - before
    assert claim_attempts(sandbox, registration_id) == 0

    code_pause = await agent.ainvoke(Command(resume=True), config)

    [pause] = code_pause["__interrupt__"]
    assert pause.value["kind"] == "claim_code"
    assert pause.value["details"]["registration_id"] == registration_id
    started = tool_messages(code_pause)[-1]
    assert started.status == "success", started.content
    assert "Status: claim_pending" in str(started.content)
    assert claim_attempts(sandbox, registration_id) == 1

    code = await open_claim_link(sandbox, registration_id)
    result = await agent.ainvoke(Command(resume=code), config)

    assert "__interrupt__" not in result
    statuses = [(message.name, message.status) for message in tool_messages(result)]
    assert statuses == [
        ("insforge_register", "success"),
        ("insforge_claim", "success"),
        ("insforge_claim", "success"),
    ]
    assert "Status: claimed" in str(tool_messages(result)[-1].content)
    with sandbox.platform_state.lock:
        assert sandbox.platform_state.registrations[registration_id].claimed
    # Each tool call ran twice (paused, then resumed), yet every request went out once.
    assert registration_ids(sandbox) - before == {registration_id}
    assert claim_attempts(sandbox, registration_id) == 1
    assert posts.count("/agent/auth") == 1
    assert posts.count("/agent/auth/claim") == 1
    assert posts.count("/agent/auth/claim/complete") == 1


async def test_sync_agent_invoke_pauses(sandbox: Sandbox, make_context: ContextFactory) -> None:
    context = await make_context(LangGraphApprover(), level="linked")
    table = await make_table(context, ["old"])
    agent = create_agent(
        ScriptedChatModel(script=[call("insforge_db_query", {"sql": f"drop table {table}"}), "Kept."]),
        tools=InsForgeToolkit(context=context).get_tools(),
        checkpointer=InMemorySaver(),
    )
    config = thread()

    # The sync entry point from inside a running loop, as in a notebook cell.
    paused = agent.invoke({"messages": [HumanMessage("Drop it.")]}, config)
    result = agent.invoke(Command(resume=False), config)

    assert paused["__interrupt__"][0].value["kind"] == "destructive"
    [message] = tool_messages(result)
    assert message.status == "error"
    assert await titles(context, table) == ["old"]
