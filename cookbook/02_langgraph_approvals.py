# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Human approval in LangGraph: consent and destructive operations
#
# **What you'll build:** a LangChain agent that stops and waits for a human at two kinds of moments,
# and continues from where it stopped once the human answers:
#
# - **consent:** `insforge_register` would register with the service in the user's name. The tool asks
#   its approver, and `LangGraphApprover` pauses the graph with a LangGraph `interrupt`.
# - **destructive operations:** `HumanInTheLoopMiddleware` pauses before every `insforge_records_delete`
#   call, and the human approves or rejects it. A `drop table` statement sent through `insforge_db_query`
#   pauses inside the tool, like consent.
#
# Both resume with `Command(resume=…)`. Pausing needs a checkpointer, which stores the graph's state
# under a `thread_id` between the pause and the answer.
#
# **Prerequisites:** `pip install insforge-tools[sandbox] langchain-insforge`, and `01_quickstart` for
# the basics.
#
# **Runs offline without keys:** a local `Sandbox` and a scripted model, with a marked cell for a real
# model.

# %% [markdown]
# ## Start a local InsForge

# %%
from insforge_tools.sandbox import Sandbox

sandbox = Sandbox().start()
print("platform:", sandbox.platform_url)
print("backend: ", sandbox.backend_url)

# %% [markdown]
# ## Tools, approver and middleware
#
# `toolkit.interrupt_on()` lists the toolkit's destructive tools (such as `insforge_records_delete` and
# `insforge_storage_delete_bucket`) in the form `HumanInTheLoopMiddleware` takes. The middleware asks
# the human before such a call runs. The operation then asks its approver too, so the approver below
# approves those calls: the human has just decided on this very call, and a rejected call never
# reaches the tool. Every other request (consent, destructive SQL) goes to `LangGraphApprover`, which
# pauses the graph.

# %%
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_insforge import InsForgeToolkit, LangGraphApprover
from langgraph.checkpoint.memory import InMemorySaver

from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, CallbackApprover

context = sandbox.context()
toolkit = InsForgeToolkit(context=context)
reviewed_by_middleware = toolkit.interrupt_on()
ask_in_graph = LangGraphApprover()


async def decide(request: ApprovalRequest) -> ApprovalDecision:
    if request.operation in reviewed_by_middleware:
        return ApprovalDecision(approved=True, approver="HumanInTheLoopMiddleware")
    return await ask_in_graph(request)


context.approver = CallbackApprover(decide)
middleware = HumanInTheLoopMiddleware(interrupt_on=reviewed_by_middleware)
checkpointer = InMemorySaver()
print("reviewed by the middleware:", ", ".join(reviewed_by_middleware))

# %% [markdown]
# ## The offline model
#
# The script sets the project up, then "cleans up" the way an overeager agent might: it tries to delete
# every todo, deletes only the finished ones after the human rejects that, and finally tries to drop
# the table.

# %%
from langchain_core.messages import AIMessage
from langchain_insforge import ScriptedChatModel

TABLE = "todos"


def call(name: str, **args: object) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": None, "type": "tool_call"}])


script = [
    call("insforge_discover", resource_url=sandbox.resource_url),
    call("insforge_register", resource_url=sandbox.resource_url),
    call("insforge_login"),
    call("insforge_link", api_base_url=sandbox.backend_url),
    call(
        "insforge_db_query",
        sql=f"create table {TABLE} (id serial primary key, title text not null, done boolean default false)",
    ),
    call(
        "insforge_records_create",
        table=TABLE,
        records=[
            {"title": "Try InsForge", "done": True},
            {"title": "Read the docs", "done": True},
            {"title": "Ship the app", "done": False},
        ],
    ),
    call("insforge_records_delete", table=TABLE, filters=[{"column": "id", "operator": "gte", "value": 1}]),
    call("insforge_records_delete", table=TABLE, filters=[{"column": "done", "value": True}]),
    call("insforge_db_query", sql=f"drop table {TABLE}"),
    f"I deleted the finished todos. You kept the table {TABLE}, so 'Ship the app' is still in it.",
]
model = ScriptedChatModel(script=script)

# %% [markdown]
# ## Use a real model instead
#
# This cell does nothing unless `INSFORGE_COOKBOOK_MODEL` is set to a `provider:model` name for
# `init_chat_model`, such as `openai:gpt-4.1-mini` (with `langchain-openai` installed and
# `OPENAI_API_KEY` set). A real model chooses its own steps, so it may ask for other approvals.

# %%
import os

if os.environ.get("INSFORGE_COOKBOOK_MODEL"):
    from langchain.chat_models import init_chat_model

    model = init_chat_model(os.environ["INSFORGE_COOKBOOK_MODEL"])
print("model:", type(model).__name__)

# %% [markdown]
# ## The agent

# %%
from langchain.agents import create_agent

SYSTEM_PROMPT = (
    "You set up InsForge backends with tools. Discover the service before registering, register with the "
    "user's identity, log the InsForge CLI in and link the self-hosted project. A human reviews "
    "registrations and destructive operations; when they reject one, follow their message."
)
agent = create_agent(
    model,
    tools=toolkit.get_tools(),
    system_prompt=SYSTEM_PROMPT,
    middleware=[middleware],
    checkpointer=checkpointer,
)

# %% [markdown]
# ## The human
#
# In an application, the question goes to a person through a UI and the run resumes when they answer.
# Here `review` stands in for that person and answers each interrupt:
#
# - A payload with `"type": "insforge_approval"` comes from `LangGraphApprover`. It carries the request's
#   `kind`, `operation`, `summary` and `details`. The human approves consent and rejects dropping a table.
# - A payload with `action_requests` comes from `HumanInTheLoopMiddleware`. It wants one decision per
#   action. The human approves deletes that only touch finished todos and rejects the rest.

# %%
from langchain_insforge.approvals import APPROVAL_INTERRUPT_TYPE

answers: list[tuple[str, str]] = []


def deletes_only_finished(args: dict) -> bool:
    filters = args.get("filters") or []
    return bool(filters) and all(
        item.get("column") == "done" and item.get("operator", "eq") == "eq" and item.get("value") is True
        for item in filters
    )


def review(payload: dict) -> dict:
    if payload.get("type") == APPROVAL_INTERRUPT_TYPE:
        print(f"[{payload['kind']}] {payload['summary']}")
        if payload["kind"] == "consent":
            answer = {"type": "approve"}
        else:
            answer = {"type": "reject", "message": "Keep the table; the app still reads it."}
        answers.append((payload["operation"], answer["type"]))
        print(f"   human: {answer}")
        return answer

    decisions = []
    for action in payload["action_requests"]:
        print(f"[review] {action['name']} {action['args']}")
        if action["name"] == "insforge_records_delete" and deletes_only_finished(action["args"]):
            decision = {"type": "approve"}
        else:
            decision = {"type": "reject", "message": "Delete only the finished todos."}
        answers.append((action["name"], decision["type"]))
        print(f"   human: {decision}")
        decisions.append(decision)
    return {"decisions": decisions}


# %% [markdown]
# ## Run until the agent finishes
#
# Each pass streams the run until it ends or pauses. The checkpointer keeps the paused state, so
# `Command(resume={interrupt_id: answer})` continues it: the paused tool call runs again and its
# `interrupt()` returns the answer, or the middleware applies the decisions.

# %%
from langchain_core.messages import ToolMessage
from langgraph.types import Command

printed_message_ids: set[str] = set()


def show(message: object) -> None:
    # On resume the middleware repeats the paused model message; print each message once.
    if getattr(message, "id", None):
        if message.id in printed_message_ids:
            return
        printed_message_ids.add(message.id)
    if isinstance(message, AIMessage):
        for tool_call in message.tool_calls:
            print(f"-> {tool_call['name']} {tool_call['args']}")
        if message.content and not message.tool_calls:
            print(f"agent: {message.content}")
    elif isinstance(message, ToolMessage):
        text = " ".join(str(message.content).split())
        print(f"   <- {message.status}: {text[:200]}")


config = {"configurable": {"thread_id": "approvals-demo"}}
request = (
    f"The InsForge service is {sandbox.resource_url} and my self-hosted backend is {sandbox.backend_url}. "
    f"Create a table {TABLE} with the todos 'Try InsForge' (done), 'Read the docs' (done) and "
    "'Ship the app' (not done). Then clean up after yourself."
)
run_input: object = {"messages": [("user", request)]}

for _ in range(20):
    async for update in agent.astream(run_input, config, stream_mode="updates"):
        for node_output in update.values():
            if isinstance(node_output, dict):
                for message in node_output.get("messages", []):
                    show(message)
    state = await agent.aget_state(config)
    if not state.interrupts:
        break
    run_input = Command(resume={item.id: review(item.value) for item in state.interrupts})
else:
    raise RuntimeError(
        "The agent still requested approval after 20 responses; check the script or the prompt."
    )

# %% [markdown]
# ## Check the result
#
# Every `drop table` was rejected, so the table exists whatever the model did. The other checks
# describe the scripted run.

# %%
from insforge_tools.registry import invoke

messages = state.values["messages"]
tool_results = {message.tool_call_id: message for message in messages if isinstance(message, ToolMessage)}
tables = await invoke(context, "insforge_db_tables", {})
assert TABLE in tables.tables

if isinstance(model, ScriptedChatModel):
    assert answers == [
        ("insforge_register", "approve"),
        ("insforge_records_delete", "reject"),
        ("insforge_records_delete", "approve"),
        ("insforge_db_query", "reject"),
    ]

    rows = await invoke(context, "insforge_records_list", {"table": TABLE, "order": "id.asc"})
    assert [record["title"] for record in rows.records] == ["Ship the app"]

    statuses = [message.status for message in tool_results.values()]
    assert statuses == ["success"] * 6 + ["error", "success", "error"], statuses
    rejected_delete, _, rejected_drop = list(tool_results.values())[-3:]
    assert "Delete only the finished todos." in rejected_delete.content
    assert "not approved: Keep the table" in rejected_drop.content

assert sandbox.api_key not in str(messages), "a credential reached the conversation"
print("All checks passed.")

# %% [markdown]
# ## Stop the sandbox

# %%
sandbox.stop()
