"""Tool names: sanitised the same way every time, valid for model APIs, unique, checked at construction."""

from __future__ import annotations

from dataclasses import replace

import pytest
from langchain_insforge import InsForgeToolkit
from llama_index.tools.insforge import InsForgeToolSpec
from operations_for_tests import sample_operations

from insforge_tools._toolset import TOOL_NAME_PATTERN, sanitize_tool_name, select_operations
from insforge_tools.context import Context


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("insforge.db", "insforge_db"),
        ("InsForge DB", "InsForge_DB"),
        ("my func/v2", "my_func_v2"),
        ("a..b  c", "a_b_c"),
        ("keep-dashes_and_underscores", "keep-dashes_and_underscores"),
        ("  padded  ", "padded"),
    ],
)
def test_sanitize_tool_name_cases(raw: str, expected: str) -> None:
    assert sanitize_tool_name(raw) == expected


def test_sanitize_long_name_is_capped() -> None:
    raw = "insforge_" + "x" * 61

    name = sanitize_tool_name(raw)

    assert len(raw) == 70
    assert len(name) == 64
    assert TOOL_NAME_PATTERN.match(name)
    assert name == sanitize_tool_name(raw)


def test_sanitize_long_names_stay_distinct() -> None:
    first = sanitize_tool_name("p" * 70 + "_a")
    second = sanitize_tool_name("p" * 70 + "_b")

    assert first != second
    assert first[:55] == second[:55]


def test_sanitize_rejects_empty_result() -> None:
    with pytest.raises(ValueError, match=r"contains no letter, digit"):
        sanitize_tool_name("./ ...")


def test_prefix_joined_and_sanitised() -> None:
    chosen = select_operations(sample_operations("insforge_test_echo"), name_prefix="insforge.db")

    assert [item.tool_name for item in chosen] == ["insforge_db_insforge_test_echo"]


def test_long_prefix_gives_valid_names() -> None:
    chosen = select_operations(sample_operations(), name_prefix="tenant-" + "a" * 60)

    names = [item.tool_name for item in chosen]
    assert all(TOOL_NAME_PATTERN.match(name) for name in names)
    assert len(set(names)) == len(names)


def collision_operations() -> list:
    echo = sample_operations("insforge_test_echo")[0]
    return [replace(echo, name="insforge_test.echo"), replace(echo, name="insforge_test echo")]


def test_collision_raises_value_error() -> None:
    with pytest.raises(ValueError, match="would both be exposed as the tool 'insforge_test_echo'"):
        select_operations(collision_operations())


def test_collision_resolved_by_exclude() -> None:
    chosen = select_operations(collision_operations(), exclude=["insforge_test echo"])

    assert [item.tool_name for item in chosen] == ["insforge_test_echo"]


def test_toolkit_rejects_collision_at_construction(context: Context) -> None:
    with pytest.raises(ValueError, match="would both be exposed"):
        InsForgeToolkit(context=context, operations=collision_operations())


def test_spec_rejects_collision_at_construction(context: Context) -> None:
    with pytest.raises(ValueError, match="would both be exposed"):
        InsForgeToolSpec(context, operations=collision_operations())


def test_toolkit_rejects_unusable_prefix(context: Context) -> None:
    with pytest.raises(ValueError, match="contains no letter, digit"):
        InsForgeToolkit(context=context, operations=sample_operations(), name_prefix="...")


def test_spec_rejects_unusable_prefix(context: Context) -> None:
    with pytest.raises(ValueError, match="contains no letter, digit"):
        InsForgeToolSpec(context, operations=sample_operations(), name_prefix="/")


def test_include_must_be_a_list(context: Context) -> None:
    with pytest.raises(ValueError, match="must be a list of operation names"):
        select_operations(sample_operations(), include="insforge_test_echo")


def test_same_names_in_both_adapters(context: Context) -> None:
    toolkit = InsForgeToolkit(context=context, operations=sample_operations(), name_prefix="InsForge DB")
    spec = InsForgeToolSpec(context, operations=sample_operations(), name_prefix="InsForge DB")

    assert [tool.name for tool in toolkit.get_tools()] == [tool.metadata.name for tool in spec.to_tool_list()]


def test_registry_operations_give_valid_tools(context: Context) -> None:
    toolkit = InsForgeToolkit(context=context)
    spec = InsForgeToolSpec(context)

    names = [tool.name for tool in toolkit.get_tools()]
    destructive = {tool.name for tool in toolkit.get_tools() if tool.metadata["destructive"]}
    assert all(TOOL_NAME_PATTERN.match(name) for name in names)
    assert len(set(names)) == len(names)
    assert names == [tool.metadata.name for tool in spec.to_tool_list()]
    assert set(toolkit.interrupt_on()) == destructive
