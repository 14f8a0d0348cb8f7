"""``insforge-tools demo``: an agent goes from discovery to a linked project's data.

The demo starts a :class:`~insforge_tools.sandbox.Sandbox` and runs an agent
(LangChain ``create_agent`` or LlamaIndex ``FunctionAgent``) over the
insforge-tools operations: discover → register (after consent) → log the CLI in
→ link → metadata → create a table, insert rows and read them back. Without a
model name the agent is driven by a scripted chat model that emits exactly these
tool calls; it needs no network beyond loopback.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from typing import Any

from insforge_tools.approvals import ApprovalRequest, AutoApprover
from insforge_tools.sandbox import Sandbox
from insforge_tools.secrets import redact

__all__ = ["DemoStep", "demo_steps", "run_demo"]

DEMO_TABLE = "demo_todos"

SYSTEM_PROMPT = (
    "You operate an InsForge backend through tools. Discover the service, register with the user's identity "
    "(the user has approved), log the InsForge CLI in, link the self-hosted project, read its metadata, then "
    f"create a table {DEMO_TABLE}, insert two rows and read them back."
)


@dataclass(frozen=True)
class DemoStep:
    """One scripted tool call."""

    tool: str
    args: dict[str, Any]


def demo_steps(sandbox: Sandbox) -> list[DemoStep]:
    """Return the tool calls the scripted model makes, in order."""
    return [
        DemoStep("insforge_discover", {"resource_url": sandbox.resource_url}),
        DemoStep("insforge_register", {"resource_url": sandbox.resource_url}),
        DemoStep("insforge_login", {}),
        DemoStep("insforge_link", {"api_base_url": sandbox.backend_url}),
        DemoStep("insforge_metadata", {}),
        DemoStep(
            "insforge_db_query",
            {
                "sql": f"create table if not exists {DEMO_TABLE} "
                "(id serial primary key, title text not null, done boolean not null default false)"
            },
        ),
        DemoStep(
            "insforge_db_query",
            {
                "sql": f"insert into {DEMO_TABLE} (title, done) "  # noqa: S608 - a constant table name
                "values ($1, $2), ($3, $4) returning id, title",
                "params": ["write the agent", True, "ship it", False],
            },
        ),
        DemoStep(
            "insforge_db_query",
            {"sql": f"select id, title, done from {DEMO_TABLE} order by id"},  # noqa: S608 - a constant table name
        ),
    ]


@dataclass
class DemoReport:
    """The outcome of each tool call, printed as it arrives."""

    results: list[tuple[str, bool, str]] = field(default_factory=list)

    def record(self, tool: str, ok: bool, text: str) -> None:
        self.results.append((tool, ok, text))
        mark = "ok " if ok else "ERR"
        short = " ".join(redact(text).split())
        if len(short) > 160:
            short = short[:157] + "..."
        print(f"  [{mark}] {tool}: {short}")
        sys.stdout.flush()

    @property
    def succeeded(self) -> int:
        return sum(1 for _, ok, _ in self.results if ok)


def _print_approval(request: ApprovalRequest) -> None:
    details = json.dumps(request.details, default=str)
    print(f"  [approval] {request.summary}")
    print(
        f"             approved by the demo's approver, standing in for a human. Details: {redact(details)}"
    )


async def _run_langchain(
    sandbox: Sandbox, model_name: str | None, transport: str, report: DemoReport
) -> None:
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_insforge import InsForgeToolkit

    context = sandbox.context(approver=AutoApprover(notify=_print_approval), transport=transport)
    tools = InsForgeToolkit(context=context).get_tools()

    if model_name is None:
        from langchain_insforge.testing import ScriptedChatModel

        script = [
            AIMessage(
                content="",
                tool_calls=[
                    {"name": step.tool, "args": step.args, "id": f"call_{index}", "type": "tool_call"}
                ],
            )
            for index, step in enumerate(demo_steps(sandbox))
        ]
        script.append(AIMessage(content=f"Done: the table {DEMO_TABLE} holds two rows."))
        model: Any = ScriptedChatModel(script=script)
    else:
        from langchain.chat_models import init_chat_model

        model = init_chat_model(model_name)

    agent = create_agent(model, tools=tools, system_prompt=SYSTEM_PROMPT)
    final_text = ""
    async for update in agent.astream(
        {"messages": [{"role": "user", "content": "Set up my InsForge project and show me the todo rows."}]},
        stream_mode="updates",
    ):
        for node_output in update.values():
            for message in (node_output or {}).get("messages", []):
                if isinstance(message, ToolMessage):
                    report.record(message.name or "tool", message.status != "error", str(message.content))
                elif isinstance(message, AIMessage) and not message.tool_calls:
                    final_text = str(message.content)
    if final_text:
        print(f"  agent: {redact(final_text)}")


async def _run_llama_index(
    sandbox: Sandbox, model_name: str | None, transport: str, report: DemoReport
) -> None:
    from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
    from llama_index.tools.insforge import InsForgeToolSpec

    context = sandbox.context(approver=AutoApprover(notify=_print_approval), transport=transport)
    tools = InsForgeToolSpec(context=context).to_tool_list()

    if model_name is None:
        from llama_index.tools.insforge.testing import ScriptedFunctionCallingLLM, tool_call_message

        replies: list[Any] = [tool_call_message((step.tool, step.args)) for step in demo_steps(sandbox)]
        replies.append(f"Done: the table {DEMO_TABLE} holds two rows.")
        llm: Any = ScriptedFunctionCallingLLM(script=replies)
    else:
        llm = _llama_index_llm(model_name)

    agent = FunctionAgent(tools=tools, llm=llm, system_prompt=SYSTEM_PROMPT)
    handler = agent.run(user_msg="Set up my InsForge project and show me the todo rows.")
    async for event in handler.stream_events():
        if isinstance(event, ToolCallResult):
            output = event.tool_output
            report.record(event.tool_name, not output.is_error, str(output.content))
    response = await handler
    print(f"  agent: {redact(str(response))}")


def _llama_index_llm(model_name: str) -> Any:
    provider, _, model = model_name.partition(":")
    if not model:
        raise SystemExit(f"--model must look like 'provider:model', got {model_name!r}.")
    if provider == "openai":
        try:
            from llama_index.llms.openai import OpenAI
        except ImportError:
            raise SystemExit("--model openai:… needs `pip install llama-index-llms-openai`.") from None
        return OpenAI(model=model)
    if provider == "anthropic":
        try:
            from llama_index.llms.anthropic import Anthropic
        except ImportError:
            raise SystemExit("--model anthropic:… needs `pip install llama-index-llms-anthropic`.") from None
        return Anthropic(model=model)
    raise SystemExit(f"Unsupported provider {provider!r} for LlamaIndex; use openai:… or anthropic:….")


async def _main(framework: str, model_name: str | None, transport: str) -> int:
    expected = 8
    driver = (
        "a scripted chat model (offline, no real LLM)" if model_name is None else f"the model {model_name}"
    )
    print(f"insforge-tools demo: {framework} agent driven by {driver}; project transport: {transport}.")
    print("Starting the local sandbox (identity provider, platform, PostgreSQL backend)...")
    sys.stdout.flush()

    report = DemoReport()
    async with Sandbox() as sandbox:
        print(f"  platform {sandbox.platform_url}, backend {sandbox.backend_url}")
        if framework == "langchain":
            await _run_langchain(sandbox, model_name, transport, report)
        else:
            await _run_llama_index(sandbox, model_name, transport, report)

    total = len(report.results)
    if model_name is None:
        total = max(total, expected)
    failed = total - report.succeeded
    print(f"{report.succeeded}/{total} steps succeeded" + ("" if failed == 0 else f", {failed} failed"))
    return 0 if failed == 0 and total > 0 else 1


def run_demo(*, framework: str = "langchain", model: str | None = None, transport: str = "auto") -> int:
    """Run the demo and return the process exit status (0 when every step succeeded)."""
    return asyncio.run(_main(framework, model, transport))
