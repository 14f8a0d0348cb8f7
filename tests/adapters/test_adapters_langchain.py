"""LangChain tools and toolkit built from the registry, with test operations."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langchain_insforge import InsForgeTool, InsForgeToolkit, interrupt_on
from operations_for_tests import LEAKY_SECRET, EchoResult, HugeResult, ValuesResult, sample_operations

from insforge_tools._toolset import TOOL_NAME_PATTERN
from insforge_tools.context import Context
from insforge_tools.errors import InvalidInputError


def make_toolkit(context: Context, **options: object) -> InsForgeToolkit:
    return InsForgeToolkit(context=context, operations=sample_operations(), **options)


def tool_named(toolkit: InsForgeToolkit, name: str) -> BaseTool:
    return next(tool for tool in toolkit.get_tools() if tool.name == name)


def call(name: str, args: dict[str, object], call_id: str = "call-1") -> dict[str, object]:
    return {"type": "tool_call", "name": name, "args": args, "id": call_id}


def test_toolkit_builds_one_tool_per_operation(context: Context) -> None:
    tools = make_toolkit(context).get_tools()

    assert [tool.name for tool in tools] == [op.name for op in sample_operations()]
    assert all(isinstance(tool, InsForgeTool) for tool in tools)


def test_tool_fields_come_from_operation(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_delete")

    assert tool.description == "Delete a table (destructive)."
    assert tool.args_schema is sample_operations("insforge_test_delete")[0].args_model
    assert tool.response_format == "content_and_artifact"
    assert tool.metadata == {
        "operation": "insforge_test_delete",
        "read_only": False,
        "destructive": True,
        "needs_consent": False,
    }
    assert "destructive" in (tool.tags or [])


def test_tool_schema_shows_field_descriptions(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_echo")

    schema = tool.tool_call_schema.model_json_schema()

    assert schema["properties"]["text"]["description"] == "Text to send back."
    assert schema["required"] == ["text"]


def test_invoke_plain_dict_returns_content(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_echo")

    content = tool.invoke({"text": "ab", "repeat": 2})

    assert json.loads(content)["text"] == "abab"


def test_invoke_tool_call_returns_artifact(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_echo")

    message = tool.invoke(call("insforge_test_echo", {"text": "hi"}))

    assert isinstance(message, ToolMessage)
    assert message.status == "success"
    assert isinstance(message.artifact, EchoResult)
    assert message.artifact.text == "hi"
    assert json.loads(message.content) == {"text": "hi", "thread": message.artifact.thread}


async def test_ainvoke_tool_call_returns_artifact(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_echo")

    message = await tool.ainvoke(call("insforge_test_echo", {"text": "hi", "repeat": 3}))

    assert message.status == "success"
    assert message.artifact.text == "hihihi"


def test_invoke_sync_without_loop_runs_here(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_echo")

    message = tool.invoke(call("insforge_test_echo", {"text": "x"}))

    assert message.artifact.thread == "MainThread"


async def test_invoke_sync_inside_loop_works(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_echo")

    message = tool.invoke(call("insforge_test_echo", {"text": "x"}))

    assert message.status == "success"
    assert message.artifact.thread == "insforge-run-sync"


@pytest.mark.parametrize("use_async", [False, True])
async def test_insforge_error_becomes_error_message(context: Context, use_async: bool) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_fail")
    tool_call = call("insforge_test_fail", {"sql": "selct 1"})

    message = await tool.ainvoke(tool_call) if use_async else tool.invoke(tool_call)

    assert message.status == "error"
    assert 'syntax error at or near "selct"' in message.content
    assert "code 42601" in message.content
    assert "exit code 1" in message.content
    assert "InvalidInputError" in message.content
    assert "Next step:" in message.content


def test_raise_errors_reraises_insforge_error(context: Context) -> None:
    tool = tool_named(make_toolkit(context, raise_errors=True), "insforge_test_fail")

    with pytest.raises(InvalidInputError) as caught:
        tool.invoke(call("insforge_test_fail", {"sql": "selct 1"}))

    assert caught.value.exit_code == 1


def test_programming_error_propagates(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_bug")

    with pytest.raises(RuntimeError, match="a bug in the operation"):
        tool.invoke(call("insforge_test_bug", {}))


def test_invalid_arguments_become_error_message(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_echo")

    message = tool.invoke(call("insforge_test_echo", {"repeat": 9}))

    assert message.status == "error"
    assert message.content.startswith("Error: invalid arguments for insforge_test_echo:")
    assert "text: Field required" in message.content
    assert "repeat: Input should be less than or equal to 5" in message.content


def test_result_is_json_not_repr(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_values")

    message = tool.invoke(call("insforge_test_values", {}))

    data = json.loads(message.content)
    assert data == {
        "table": "o'neil",
        "ok": True,
        "ts": "2025-03-01T12:30:00Z",
        "amount": "1.50",
        "city": "Zürich",
    }
    assert "None" not in message.content
    assert "Decimal(" not in message.content
    assert "datetime.datetime" not in message.content
    assert isinstance(message.artifact, ValuesResult)


def test_huge_result_is_truncated_with_note(context: Context) -> None:
    tool = tool_named(make_toolkit(context, max_result_chars=2000), "insforge_test_huge")

    message = tool.invoke(call("insforge_test_huge", {}))

    assert message.status == "success"
    assert len(message.content) < 2300
    assert "[truncated: showing 2000 of" in message.content
    assert "LIMIT" in message.content
    assert isinstance(message.artifact, HugeResult)
    assert len(message.artifact.rows) == 200_000


def test_max_result_chars_defaults_to_settings(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_huge")

    content = tool.invoke({"rows": 5000})

    assert content.startswith('{"rows":[{"id":0,"name":"event-0"}')
    assert f"[truncated: showing {context.settings.max_result_chars} of" in content


def test_credential_removed_from_content_and_artifact(context: Context) -> None:
    tool = tool_named(make_toolkit(context), "insforge_test_secret")

    message = tool.invoke(call("insforge_test_secret", {}))

    assert LEAKY_SECRET not in message.content
    assert LEAKY_SECRET not in repr(message.artifact)
    assert message.artifact.note.startswith("the service key is ")


def test_read_only_filter(context: Context) -> None:
    names = [tool.name for tool in make_toolkit(context, read_only=True).get_tools()]

    assert "insforge_test_delete" not in names
    assert "insforge_test_claim" not in names
    assert "insforge_test_echo" in names
    assert all(tool.metadata["read_only"] for tool in make_toolkit(context, read_only=True).get_tools())


def test_include_and_exclude_filters(context: Context) -> None:
    toolkit = make_toolkit(
        context,
        include=["insforge_test_echo", "insforge_test_fail", "insforge_test_delete"],
        exclude=["insforge_test_fail"],
    )

    assert [tool.name for tool in toolkit.get_tools()] == ["insforge_test_echo", "insforge_test_delete"]


def test_unknown_include_raises_value_error(context: Context) -> None:
    with pytest.raises(ValueError, match="include names unknown operations: insforge_test_nope"):
        make_toolkit(context, include=["insforge_test_nope"])


def test_interrupt_on_covers_destructive_tools(context: Context) -> None:
    toolkit = make_toolkit(context)

    settings = interrupt_on(toolkit.get_tools())

    assert set(settings) == {"insforge_test_delete"}
    assert settings["insforge_test_delete"]["allowed_decisions"] == ["approve", "reject"]
    assert toolkit.interrupt_on() == settings


def test_interrupt_on_uses_prefixed_names(context: Context) -> None:
    toolkit = make_toolkit(context, name_prefix="prod")

    assert set(toolkit.interrupt_on()) == {"prod_insforge_test_delete"}


def test_interrupt_on_accepts_middleware(context: Context) -> None:
    from langchain.agents.middleware import HumanInTheLoopMiddleware

    middleware = HumanInTheLoopMiddleware(interrupt_on=make_toolkit(context).interrupt_on())

    assert set(middleware.interrupt_on) == {"insforge_test_delete"}


def test_from_settings_builds_context(tmp_path) -> None:
    toolkit = InsForgeToolkit.from_settings(
        operations=sample_operations("insforge_test_echo"),
        workspace_dir=tmp_path,
        credentials_path=tmp_path / "credentials.json",
        max_result_chars=300,
    )

    assert toolkit.context.settings.max_result_chars == 300
    assert [tool.name for tool in toolkit.get_tools()] == ["insforge_test_echo"]


def test_tool_names_match_pattern(context: Context) -> None:
    for prefix in (None, "insforge.db", "InsForge DB", "my func/v2"):
        for tool in make_toolkit(context, name_prefix=prefix).get_tools():
            assert TOOL_NAME_PATTERN.match(tool.name), tool.name
