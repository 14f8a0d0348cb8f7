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
# # A self-hosted InsForge: database metadata, storage and edge functions
#
# **What you'll build:** a LangChain agent that works on a self-hosted InsForge backend. You configure
# the backend's base URL and admin API key in the application, and the agent links the workspace by the
# URL alone. Then it reads the project's metadata, creates a storage bucket, uploads a file and lists
# the bucket, deploys an edge function and lists the functions.
#
# **Prerequisites:** `pip install insforge-tools[sandbox] langchain-insforge`. For your own backend:
# its base URL and its admin API key (`ik_…`, from the InsForge dashboard).
#
# **Runs offline without keys:** unless `INSFORGE_BASE_URL` and `INSFORGE_API_KEY` are set, a local
# `Sandbox` backend stands in for yours, and a scripted model drives the agent. A marked cell shows how
# to use a real model.

# %% [markdown]
# ## Choose the backend
#
# Set `INSFORGE_BASE_URL` and `INSFORGE_API_KEY` to use your own backend. Otherwise the sandbox starts
# and its backend plays the part; the last cell stops it.

# %%
import os

from insforge_tools.sandbox import Sandbox

BASE_URL = os.environ.get("INSFORGE_BASE_URL", "")
API_KEY = os.environ.get("INSFORGE_API_KEY", "")
sandbox = None
if not (BASE_URL and API_KEY):
    sandbox = Sandbox().start()
    BASE_URL, API_KEY = sandbox.backend_url, sandbox.api_key
print("backend:", BASE_URL)

# %% [markdown]
# ## Configure the tools
#
# The admin API key goes into the settings (`project_api_key`) and from there to the tools. The model
# never receives it: `insforge_link` takes only the base URL, no tool takes a key as an argument, and
# tool results mask credentials. The other settings:
#
# - `workspace_dir`: the project directory; `insforge_link` writes `.insforge/project.json` there, the
#   same file the InsForge CLI writes.
# - `credentials_path`: where insforge-tools stores credentials (a 0600 JSON file).
# - `transport="http"`: project operations call the backend's HTTP API directly, with no Node process.
# - `allow_insecure_loopback`: plain `http://` is accepted for loopback addresses only; other backends
#   must use `https://`.
#
# `include` limits the toolkit to what this agent needs.

# %%
import tempfile
from pathlib import Path

from langchain_insforge import InsForgeToolkit

workspace = Path(tempfile.mkdtemp(prefix="insforge-self-hosted-"))
toolkit = InsForgeToolkit.from_settings(
    workspace_dir=workspace,
    credentials_path=workspace / "credentials.json",
    project_api_key=API_KEY,
    transport="http",
    allow_insecure_loopback=sandbox is not None,
    include=[
        "insforge_link",
        "insforge_current",
        "insforge_metadata",
        "insforge_storage_buckets",
        "insforge_storage_create_bucket",
        "insforge_storage_upload",
        "insforge_storage_list_objects",
        "insforge_functions_list",
        "insforge_functions_deploy",
    ],
)
context = toolkit.context
tools = toolkit.get_tools()
print(len(tools), "tools:", ", ".join(tool.name for tool in tools))

# %% [markdown]
# ## The offline model
#
# The scripted replies call the tools in order. The edge function is a module whose default export
# handles a `Request` and returns a `Response`.

# %%
from langchain_core.messages import AIMessage
from langchain_insforge import ScriptedChatModel

BUCKET = "reports"
REPORT_KEY = "weekly/summary.md"
FUNCTION_SLUG = "hello"
FUNCTION_CODE = """export default async function handler(request: Request): Promise<Response> {
  const name = new URL(request.url).searchParams.get("name") ?? "world";
  return new Response(JSON.stringify({ greeting: `Hello, ${name}!` }), {
    headers: { "Content-Type": "application/json" },
  });
}
"""


def call(name: str, **args: object) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": None, "type": "tool_call"}])


script = [
    call("insforge_link", api_base_url=BASE_URL),
    call("insforge_metadata"),
    call("insforge_storage_create_bucket", bucket=BUCKET),
    call(
        "insforge_storage_upload",
        bucket=BUCKET,
        key=REPORT_KEY,
        content="# Weekly summary\n\nThe backend is linked and storage works.\n",
    ),
    call("insforge_storage_list_objects", bucket=BUCKET),
    call(
        "insforge_functions_deploy", slug=FUNCTION_SLUG, code=FUNCTION_CODE, description="Greets the caller."
    ),
    call("insforge_functions_list"),
    f"Linked. The private bucket {BUCKET} holds {REPORT_KEY}, and the function {FUNCTION_SLUG} is deployed.",
]
model = ScriptedChatModel(script=script)

# %% [markdown]
# ## Use a real model instead
#
# This cell does nothing unless `INSFORGE_COOKBOOK_MODEL` is set to a `provider:model` name for
# `init_chat_model`, such as `openai:gpt-4.1-mini` (with `langchain-openai` installed and
# `OPENAI_API_KEY` set).

# %%
if os.environ.get("INSFORGE_COOKBOOK_MODEL"):
    from langchain.chat_models import init_chat_model

    model = init_chat_model(os.environ["INSFORGE_COOKBOOK_MODEL"])
print("model:", type(model).__name__)

# %% [markdown]
# ## Run the agent
#
# The request names the base URL but no key.

# %%
from langchain.agents import create_agent
from langchain_core.messages import ToolMessage

SYSTEM_PROMPT = (
    "You manage a self-hosted InsForge backend with tools. Link the workspace first; the application "
    "already holds the admin API key, so never ask for it. Make new buckets private."
)
request = (
    f"Link my self-hosted InsForge at {BASE_URL} and show me its metadata. Create a bucket {BUCKET}, upload "
    f"a short weekly summary as {REPORT_KEY} and list the bucket. Then deploy an edge function "
    f"{FUNCTION_SLUG} that greets the caller by the name query parameter, and list the functions."
)
agent = create_agent(model, tools=tools, system_prompt=SYSTEM_PROMPT)


def show(message: object) -> None:
    if isinstance(message, AIMessage):
        for tool_call in message.tool_calls:
            args = {key: (value if len(str(value)) < 80 else "…") for key, value in tool_call["args"].items()}
            print(f"-> {tool_call['name']} {args}")
        if message.content and not message.tool_calls:
            print(f"agent: {message.content}")
    elif isinstance(message, ToolMessage):
        text = " ".join(str(message.content).split())
        print(f"   <- {message.status}: {text[:200]}")


final_state = None
async for mode, data in agent.astream({"messages": [("user", request)]}, stream_mode=["updates", "values"]):
    if mode == "values":
        final_state = data
        continue
    for update in data.values():
        for message in (update or {}).get("messages", []):
            show(message)

# %% [markdown]
# ## Check the result
#
# The checks call the operations directly, without a model: the bucket contains the file, the function
# is listed, and the key appears nowhere in the conversation.

# %%
from insforge_tools.registry import invoke

messages = final_state["messages"]
tool_results = [message for message in messages if isinstance(message, ToolMessage)]
assert tool_results, "the agent made no tool calls"
assert all(message.status == "success" for message in tool_results), [m.content for m in tool_results]

objects = await invoke(context, "insforge_storage_list_objects", {"bucket": BUCKET})
assert REPORT_KEY in [item.key for item in objects.objects]

functions = await invoke(context, "insforge_functions_list", {})
assert FUNCTION_SLUG in [function.slug for function in functions.functions]

assert API_KEY not in str(messages), "the admin API key reached the conversation"
print("All checks passed.")

# %% [markdown]
# ## Clean up
#
# This stops the sandbox, if it started, and deletes the workspace folder. On your own backend the
# bucket and the function stay.

# %%
import shutil

shutil.rmtree(workspace, ignore_errors=True)
if sandbox is not None:
    sandbox.stop()
