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
# # A LlamaIndex agent that asks a human before it acts
#
# **What you'll build:** a LlamaIndex `FunctionAgent` with the InsForge tool spec that registers in
# your name, links a project, creates a table and cleans up after itself. Registering and destructive
# operations wait for a human: `WorkflowApprover` emits an `InputRequiredEvent` on the workflow's event
# stream, and the application answers with a `HumanResponseEvent`. The human approves the registration
# and the deletion of finished rows, and rejects dropping the table.
#
# **Prerequisites:** `pip install insforge-tools[sandbox] llama-index-tools-insforge`.
#
# **Runs offline without keys:** a local `Sandbox` and `ScriptedFunctionCallingLLM`, which replays tool
# calls written in advance. A marked cell shows how to use a real LLM.

# %% [markdown]
# ## Start a local InsForge

# %%
from insforge_tools.sandbox import Sandbox

sandbox = Sandbox().start()
print("platform:", sandbox.platform_url)
print("backend: ", sandbox.backend_url)

# %% [markdown]
# ## Tools and approver
#
# `WorkflowApprover` works inside a running workflow: a tool that needs approval emits the question as
# an event and waits for the answer, for at most `timeout` seconds. The backend's admin API key stays in
# the context's settings; no tool takes a key as an argument.

# %%
from llama_index.tools.insforge import InsForgeToolSpec, WorkflowApprover

context = sandbox.context(approver=WorkflowApprover(timeout=120))
tools = InsForgeToolSpec(context=context).to_tool_list()
print(len(tools), "tools:", ", ".join(tool.metadata.name for tool in tools))

# %% [markdown]
# ## The offline LLM
#
# `tool_call_message` builds an assistant message with tool calls; a plain string is the final answer.

# %%
from llama_index.tools.insforge import ScriptedFunctionCallingLLM, tool_call_message

TABLE = "notes"

script = [
    tool_call_message(("insforge_discover", {"resource_url": sandbox.resource_url})),
    tool_call_message(("insforge_register", {"resource_url": sandbox.resource_url})),
    tool_call_message(("insforge_login", {})),
    tool_call_message(("insforge_link", {"api_base_url": sandbox.backend_url})),
    tool_call_message(
        (
            "insforge_db_query",
            {"sql": f"create table {TABLE} (id serial primary key, body text, archived boolean)"},
        )
    ),
    tool_call_message(
        (
            "insforge_records_create",
            {
                "table": TABLE,
                "records": [
                    {"body": "Old meeting notes", "archived": True},
                    {"body": "Launch checklist", "archived": False},
                ],
            },
        )
    ),
    tool_call_message(
        ("insforge_records_delete", {"table": TABLE, "filters": [{"column": "archived", "value": True}]})
    ),
    tool_call_message(("insforge_db_query", {"sql": f"drop table {TABLE}"})),
    f"I removed the archived note. You kept the table {TABLE}; it still holds 'Launch checklist'.",
]
llm = ScriptedFunctionCallingLLM(script=script)

# %% [markdown]
# ## Use a real LLM instead
#
# This cell does nothing unless `INSFORGE_COOKBOOK_MODEL` is set, for example to `openai:gpt-4.1-mini`
# (needs `pip install llama-index-llms-openai` and `OPENAI_API_KEY`) or `anthropic:claude-sonnet-4-5`
# (needs `llama-index-llms-anthropic` and `ANTHROPIC_API_KEY`). A real LLM chooses its own steps.

# %%
import os

if os.environ.get("INSFORGE_COOKBOOK_MODEL"):
    provider, _, model_name = os.environ["INSFORGE_COOKBOOK_MODEL"].partition(":")
    if provider == "openai":
        from llama_index.llms.openai import OpenAI

        llm = OpenAI(model=model_name)
    elif provider == "anthropic":
        from llama_index.llms.anthropic import Anthropic

        llm = Anthropic(model=model_name)
    else:
        raise ValueError(f"INSFORGE_COOKBOOK_MODEL must start with openai: or anthropic:, got {provider!r}.")
print("llm:", type(llm).__name__)

# %% [markdown]
# ## The agent

# %%
from llama_index.core.agent.workflow import FunctionAgent

SYSTEM_PROMPT = (
    "You set up InsForge backends with tools. Discover the service before registering, register with the "
    "user's identity, log the InsForge CLI in and link the self-hosted project. A human reviews "
    "registrations and destructive operations; when they reject one, do not retry it."
)
agent = FunctionAgent(tools=tools, llm=llm, system_prompt=SYSTEM_PROMPT)

# %% [markdown]
# ## The human
#
# Each `InputRequiredEvent` from the approver carries `prefix` (the question), `kind` (`consent`,
# `claim_code` or `destructive`), `operation`, `summary`, `details` and `approval_id`. The answer goes
# back as `HumanResponseEvent(response=…, approval_id=…)`. `response` may be a bool, `"yes"`/`"no"`,
# other text (a rejection with that reason), or the one-time code for a `claim_code` request.
# Here `review` stands in for the person behind a UI.

# %%
from llama_index.core.workflow import HumanResponseEvent, InputRequiredEvent

answers: list[tuple[str, str]] = []


def review(event: InputRequiredEvent) -> bool | str:
    print(f"[{event.kind}] {event.prefix}")
    if event.kind == "consent" or event.operation == "insforge_records_delete":
        answer: bool | str = True
    else:
        answer = "Keep the table; the app still reads it."
    answers.append((event.operation, "approve" if answer is True else "reject"))
    print(f"   human: {answer}")
    return answer


# %% [markdown]
# ## Run the agent and answer its questions
#
# The loop reads the event stream: it prints tool calls and results, and answers every
# `InputRequiredEvent` by sending a `HumanResponseEvent` into the running workflow. The workflow runs
# a paused tool call again when the answer arrives, so the same `ToolCall` event can come twice; the
# loop prints each call once.

# %%
from llama_index.core.agent.workflow import ToolCall, ToolCallResult

request = (
    f"The InsForge service is {sandbox.resource_url} and my self-hosted backend is {sandbox.backend_url}. "
    f"Create a table {TABLE} (id serial primary key, body text, archived boolean) with the notes "
    "'Old meeting notes' (archived) and 'Launch checklist' (not archived), then clean up after yourself."
)

handler = agent.run(user_msg=request)
results: list[ToolCallResult] = []
calls_shown: set[str] = set()
async for event in handler.stream_events():
    if isinstance(event, ToolCall) and event.tool_id not in calls_shown:
        calls_shown.add(event.tool_id)
        print(f"-> {event.tool_name} {event.tool_kwargs}")
    elif isinstance(event, ToolCallResult):
        results.append(event)
        status = "error" if event.tool_output.is_error else "success"
        text = " ".join(str(event.tool_output.content).split())
        print(f"   <- {status}: {text[:200]}")
    elif isinstance(event, InputRequiredEvent):
        handler.ctx.send_event(HumanResponseEvent(response=review(event), approval_id=event.approval_id))

response = await handler
print("agent:", response)

# %% [markdown]
# ## Check the result
#
# The human rejected every `drop table`, so the table exists whatever the LLM did. The other checks
# describe the scripted run.

# %%
from insforge_tools.registry import invoke

tables = await invoke(context, "insforge_db_tables", {})
assert TABLE in tables.tables

if isinstance(llm, ScriptedFunctionCallingLLM):
    assert answers == [
        ("insforge_register", "approve"),
        ("insforge_records_delete", "approve"),
        ("insforge_db_query", "reject"),
    ]
    assert [result.tool_output.is_error for result in results] == [False] * 7 + [True]
    assert "not approved: Keep the table" in results[-1].tool_output.content

    rows = await invoke(context, "insforge_records_list", {"table": TABLE})
    assert [record["body"] for record in rows.records] == ["Launch checklist"]

assert sandbox.api_key not in str([result.tool_output.content for result in results])
print("All checks passed.")

# %% [markdown]
# ## Stop the sandbox

# %%
sandbox.stop()
