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
# # Quickstart: a LangChain agent from discovery to its first table
#
# **What you'll build:** a LangChain agent (`create_agent`) with the InsForge toolkit. It discovers an
# InsForge service, registers in your name after you consent, logs the InsForge CLI in and links a
# project. Then it reads the project's metadata, creates a table, inserts rows and reads them back.
#
# **Prerequisites:** `pip install insforge-tools[sandbox] langchain-insforge` (the sandbox extra brings a
# local InsForge with an embedded PostgreSQL server).
#
# **Runs offline without keys.** Everything runs against `Sandbox`, a local InsForge on loopback ports,
# and the agent is driven by `ScriptedChatModel`, which replays tool calls written in advance. A marked
# cell below shows how to put a real model in its place.

# %% [markdown]
# ## Start a local InsForge
#
# `Sandbox` starts a test identity provider, the platform (discovery and agent registration), a project
# backend on a real PostgreSQL server, and a stand-in for the InsForge CLI. It takes a few seconds.
# The last cell of this notebook stops it.

# %%
from insforge_tools.sandbox import Sandbox

sandbox = Sandbox().start()
print("platform:", sandbox.platform_url)
print("backend: ", sandbox.backend_url)

# %% [markdown]
# ## Build the tools
#
# The context contains the settings, the credential store and the **approver**, which decides on requests
# that need a human: registering in your name (consent) and destroying data. Here it approves in
# advance and prints each request, because running this cell is your consent.
# `02_langgraph_approvals` shows how to pause the agent and ask instead.
#
# The sandbox's settings include the backend's admin API key. The key goes from the settings to the
# tools and never through the model: no tool takes a key as an argument, and tool results mask
# credentials.

# %%
from langchain_insforge import InsForgeToolkit

from insforge_tools.approvals import ApprovalRequest, AutoApprover


def show_request(request: ApprovalRequest) -> None:
    print(f"[approval requested: {request.kind}] {request.summary}")


context = sandbox.context(approver=AutoApprover(notify=show_request))
toolkit = InsForgeToolkit(context=context)
tools = toolkit.get_tools()
print(len(tools), "tools:", ", ".join(tool.name for tool in tools))

# %% [markdown]
# ## The offline model
#
# `ScriptedChatModel` is not a language model: it returns the replies below in order, each a set of
# tool calls, and finally a text answer. The agent loop, the tools and the sandbox are real.

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
    call("insforge_metadata"),
    call(
        "insforge_db_query",
        sql=f"create table {TABLE} (id serial primary key, title text not null, done boolean default false)",
    ),
    call(
        "insforge_records_create",
        table=TABLE,
        records=[{"title": "Try InsForge", "done": True}, {"title": "Ship the app", "done": False}],
    ),
    call("insforge_records_list", table=TABLE, order="id.asc"),
    f"The table {TABLE} exists and holds two todos: 'Try InsForge' (done) and 'Ship the app'.",
]
model = ScriptedChatModel(script=script)

# %% [markdown]
# ## Use a real model instead
#
# This cell does nothing unless `INSFORGE_COOKBOOK_MODEL` is set, so the notebook stays offline by
# default. Set it to a `provider:model` name that `init_chat_model` understands, such as
# `openai:gpt-4.1-mini` (needs `pip install langchain-openai` and `OPENAI_API_KEY`) or
# `anthropic:claude-sonnet-4-5` (needs `langchain-anthropic` and `ANTHROPIC_API_KEY`).
# A real model decides its own steps from the prompt below, so its run differs from the script.

# %%
import os

if os.environ.get("INSFORGE_COOKBOOK_MODEL"):
    from langchain.chat_models import init_chat_model

    model = init_chat_model(os.environ["INSFORGE_COOKBOOK_MODEL"])
print("model:", type(model).__name__)

# %% [markdown]
# ## Run the agent
#
# The prompt gives the service's URL and the backend's URL, never a key. The loop prints every tool
# call and the start of each result.

# %%
from langchain.agents import create_agent
from langchain_core.messages import ToolMessage

SYSTEM_PROMPT = (
    "You set up InsForge backends with tools. Discover the service before registering, register with the "
    "user's identity, log the InsForge CLI in, link the self-hosted project, read its metadata, then do "
    "what the user asks. Create tables with insforge_db_query and write rows with insforge_records_create."
)
request = (
    f"The InsForge service is {sandbox.resource_url} and my self-hosted backend is {sandbox.backend_url}. "
    f"Create a table {TABLE} (id serial primary key, title text not null, done boolean default false), "
    "add the todos 'Try InsForge' (done) and 'Ship the app' (not done), and show me the table."
)

agent = create_agent(model, tools=tools, system_prompt=SYSTEM_PROMPT)


def show(message: object) -> None:
    if isinstance(message, AIMessage):
        for tool_call in message.tool_calls:
            print(f"-> {tool_call['name']} {tool_call['args']}")
        if message.content and not message.tool_calls:
            print(f"agent: {message.content}")
    elif isinstance(message, ToolMessage):
        text = " ".join(str(message.content).split())
        print(f"   <- {message.status}: {text[:200]}")


final_state = None
async for chunk in agent.astream({"messages": [("user", request)]}, stream_mode=["updates", "values"]):
    mode, data = chunk
    if mode == "values":
        final_state = data
        continue
    for update in data.values():
        for message in (update or {}).get("messages", []):
            show(message)

# %% [markdown]
# ## Check the result
#
# These checks call the core operations directly, without a model, so they hold for a real model too:
# the workspace is linked and the table contains the two rows.

# %%
from insforge_tools.registry import invoke

tool_results = [message for message in final_state["messages"] if isinstance(message, ToolMessage)]
assert tool_results, "the agent made no tool calls"
assert all(message.status == "success" for message in tool_results), [m.content for m in tool_results]

rows = await invoke(context, "insforge_records_list", {"table": TABLE, "order": "id.asc"})
assert [record["title"] for record in rows.records] == ["Try InsForge", "Ship the app"]
assert [record["done"] for record in rows.records] == [True, False]
assert sandbox.api_key not in str(final_state["messages"]), "a credential reached the conversation"
print("All checks passed.")

# %% [markdown]
# ## Stop the sandbox
#
# This stops every server and deletes the sandbox's temporary folder.

# %%
sandbox.stop()
