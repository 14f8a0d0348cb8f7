"""LlamaIndex agents over the real operations in the sandbox, driven by the scripted LLM."""

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
    read_mail,
    registration_ids,
    run_core,
    titles,
)
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent, ToolCallResult
from llama_index.core.workflow import HumanResponseEvent, InputRequiredEvent
from llama_index.tools.insforge import (
    InsForgeToolSpec,
    ScriptedFunctionCallingLLM,
    WorkflowApprover,
    tool_call_message,
)

from insforge_tools.sandbox import Sandbox

pytestmark = pytest.mark.sandbox

Answer = Any  # what the human sends for one InputRequiredEvent


async def run_agent(
    agent: Any, message: str, answer: Any = None
) -> tuple[list[ToolCallResult], list[Any], Any]:
    """Run ``agent`` and reply to every approval event with ``answer(event)``.

    Returns the tool results, the approval events and the final response.
    """
    handler = agent.run(user_msg=message)
    results: list[ToolCallResult] = []
    asked: list[Any] = []
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            asked.append(event)
            response = await answer(event)
            handler.ctx.send_event(
                HumanResponseEvent(response=response, approval_id=event.get("approval_id"))
            )
        elif isinstance(event, ToolCallResult):
            results.append(event)
    return results, asked, await handler


def outcome(results: list[ToolCallResult]) -> list[tuple[str, bool]]:
    return [(result.tool_name, result.tool_output.is_error) for result in results]


async def test_function_agent_full_flow(
    sandbox: Sandbox, make_context: ContextFactory, human: SandboxHuman
) -> None:
    context = await make_context(human)
    table = f"agent_{uuid4().hex[:10]}"
    llm = ScriptedFunctionCallingLLM(
        script=[
            tool_call_message(("insforge_discover", {"resource_url": sandbox.resource_url})),
            tool_call_message(("insforge_register", {"resource_url": sandbox.resource_url})),
            tool_call_message(("insforge_login", {})),
            tool_call_message(("insforge_link", {"api_base_url": sandbox.backend_url})),
            tool_call_message(("insforge_metadata", {})),
            tool_call_message(
                ("insforge_db_query", {"sql": f"create table {table} (id serial, title text)"})
            ),
            tool_call_message(("insforge_db_query", {"sql": "selct 1"})),
            tool_call_message(("insforge_records_create", {"table": table, "records": [{"title": "a"}]})),
            tool_call_message(("insforge_records_list", {"table": table})),
            "One row.",
        ]
    )
    agent = FunctionAgent(tools=InsForgeToolSpec(context).to_tool_list(), llm=llm)

    results, asked, response = await run_agent(agent, "Set up my project.")

    assert outcome(results) == [
        ("insforge_discover", False),
        ("insforge_register", False),
        ("insforge_login", False),
        ("insforge_link", False),
        ("insforge_metadata", False),
        ("insforge_db_query", False),
        ("insforge_db_query", True),
        ("insforge_records_create", False),
        ("insforge_records_list", False),
    ]
    assert "could not be parsed" in str(results[6].tool_output.content)
    assert '"title":"a"' in str(results[8].tool_output.content)
    assert "<coroutine object" not in " ".join(str(result.tool_output.content) for result in results)
    assert asked == []
    assert str(response) == "One row."


async def test_consent_through_events(sandbox: Sandbox, make_context: ContextFactory) -> None:
    context = await make_context(WorkflowApprover(timeout=60))
    llm = ScriptedFunctionCallingLLM(
        script=[
            tool_call_message(("insforge_register", {"resource_url": sandbox.resource_url})),
            "Registered.",
        ]
    )
    agent = FunctionAgent(tools=InsForgeToolSpec(context).to_tool_list(), llm=llm)
    before = issued_credentials(sandbox)
    seen_before_answer: list[set[str]] = []

    async def answer(event: Any) -> Any:
        seen_before_answer.append(issued_credentials(sandbox))
        return "yes"

    results, asked, _ = await run_agent(agent, "Register me.", answer)

    assert [event.get("kind") for event in asked] == ["consent"]
    assert seen_before_answer == [before]
    assert outcome(results) == [("insforge_register", False)]
    assert len(issued_credentials(sandbox) - before) == 1
    assert context.credentials.get("user_api_key", sandbox.resource_url) is not None


async def test_drop_table_rejected_through_events(make_context: ContextFactory) -> None:
    context = await make_context(WorkflowApprover(timeout=60), level="linked")
    table = await make_table(context, ["keep"])
    llm = ScriptedFunctionCallingLLM(
        script=[tool_call_message(("insforge_db_query", {"sql": f"drop table {table}"})), "Not dropped."]
    )
    agent = FunctionAgent(tools=InsForgeToolSpec(context).to_tool_list(), llm=llm)

    async def answer(event: Any) -> Any:
        return "no, keep the table"

    results, asked, _ = await run_agent(agent, "Drop it.", answer)

    [event] = asked
    assert event.get("kind") == "destructive"
    assert event.get("details")["sql"] == f"drop table {table}"
    assert outcome(results) == [("insforge_db_query", True)]
    assert "keep the table" in str(results[0].tool_output.content)
    assert await titles(context, table) == ["keep"]


async def test_drop_table_approved_in_workflow(make_context: ContextFactory) -> None:
    context = await make_context(WorkflowApprover(timeout=60), level="linked")
    table = await make_table(context, ["gone"])
    llm = ScriptedFunctionCallingLLM(
        script=[tool_call_message(("insforge_db_query", {"sql": f"drop table {table}"})), "Dropped."]
    )
    agent = FunctionAgent(
        name="db",
        description="Works the project's database.",
        tools=InsForgeToolSpec(context).to_tool_list(),
        llm=llm,
    )
    workflow = AgentWorkflow(agents=[agent], root_agent="db")

    async def answer(event: Any) -> Any:
        return True

    results, asked, response = await run_agent(workflow, "Drop it.", answer)

    assert [event.get("kind") for event in asked] == ["destructive"]
    assert outcome(results) == [("insforge_db_query", False)]
    tables = await run_core(context, "insforge_db_tables", {})
    assert table not in tables.tables
    assert "Dropped." in str(response)


async def test_verified_email_through_events(
    sandbox: Sandbox, make_context: ContextFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = await make_context(WorkflowApprover(timeout=60))
    posts = RegistrationPosts(monkeypatch)
    email = f"{uuid4().hex[:8]}@example.com"
    register = {"resource_url": sandbox.resource_url, "flow": "verified_email", "email": email}
    llm = ScriptedFunctionCallingLLM(
        script=[
            tool_call_message(("insforge_register", register)),
            tool_call_message(("insforge_claim", {"resource_url": sandbox.resource_url})),
            "Registered.",
        ]
    )
    agent = FunctionAgent(tools=InsForgeToolSpec(context).to_tool_list(), llm=llm)
    before = registration_ids(sandbox)

    async def answer(event: Any) -> Any:
        if event.get("kind") == "claim_code":
            # The human opens the link in the mail and types the code the page shows.
            return await open_claim_link(sandbox, event.get("details")["registration_id"])
        assert registration_ids(sandbox) == before  # consent comes before the registration
        return "yes"

    results, asked, _ = await run_agent(agent, "Register me by email.", answer)

    assert [(event.get("kind"), event.get("operation")) for event in asked] == [
        ("consent", "insforge_register"),
        ("claim_code", "insforge_claim"),
    ]
    assert outcome(results) == [("insforge_register", False), ("insforge_claim", False)]
    assert "Status: claim_pending" in str(results[0].tool_output.content)
    assert "Status: claimed" in str(results[1].tool_output.content)
    # Each tool call ran again when the response arrived, yet every request went out once.
    [registration_id] = registration_ids(sandbox) - before
    assert asked[1].get("details")["registration_id"] == registration_id
    assert claim_attempts(sandbox, registration_id) == 1
    assert posts.count("/agent/auth") == 1
    assert posts.count("/agent/auth/claim") == 0
    assert posts.count("/agent/auth/claim/complete") == 1
    assert context.credentials.get("user_api_key", sandbox.resource_url) is not None


async def test_anonymous_claim_through_events(
    sandbox: Sandbox, make_context: ContextFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = await make_context(WorkflowApprover(timeout=60))
    posts = RegistrationPosts(monkeypatch)
    email = f"{uuid4().hex[:8]}@example.com"
    llm = ScriptedFunctionCallingLLM(
        script=[
            tool_call_message(
                ("insforge_register", {"resource_url": sandbox.resource_url, "flow": "anonymous"})
            ),
            tool_call_message(("insforge_claim", {"resource_url": sandbox.resource_url, "email": email})),
            tool_call_message(("insforge_claim", {"resource_url": sandbox.resource_url})),
            "Claimed.",
        ]
    )
    agent = FunctionAgent(tools=InsForgeToolSpec(context).to_tool_list(), llm=llm)
    before = registration_ids(sandbox)

    async def answer(event: Any) -> Any:
        if event.get("kind") == "claim_code":
            return await open_claim_link(sandbox, event.get("details")["registration_id"])
        return "yes"

    results, asked, _ = await run_agent(agent, "Register, then claim for me.", answer)

    assert [(event.get("kind"), event.get("operation")) for event in asked] == [
        ("consent", "insforge_claim"),
        ("claim_code", "insforge_claim"),
    ]
    assert outcome(results) == [
        ("insforge_register", False),
        ("insforge_claim", False),
        ("insforge_claim", False),
    ]
    assert "Status: claim_pending" in str(results[1].tool_output.content)
    assert "Status: claimed" in str(results[2].tool_output.content)
    [registration_id] = registration_ids(sandbox) - before
    with sandbox.platform_state.lock:
        assert sandbox.platform_state.registrations[registration_id].claimed
    assert read_mail(sandbox, registration_id)["to"] == email
    assert claim_attempts(sandbox, registration_id) == 1
    assert posts.count("/agent/auth") == 1
    assert posts.count("/agent/auth/claim") == 1
    assert posts.count("/agent/auth/claim/complete") == 1
