"""The operation registry and result rendering."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from pydantic import BaseModel, Field, ValidationError

from insforge_tools import registry
from insforge_tools.context import Context
from insforge_tools.registry import Operation, operation, render_result, to_json_text, truncate_text


class EchoArgs(BaseModel):
    text: str = Field(description="Text to echo.")


class EchoResult(BaseModel):
    text: str
    at: dt.datetime | None = None
    amount: decimal.Decimal | None = None


@operation("insforge_test_registry_echo", description="Echo text back.", read_only=True)
async def echo(ctx: Context, args: EchoArgs) -> EchoResult:
    return EchoResult(text=args.text)


# Keep the test operation out of the global registry, so that toolkits built
# elsewhere in the same test run expose only product tools.
_ECHO: Operation = registry._REGISTRY.pop("insforge_test_registry_echo")


def _echo_operation() -> Operation:
    return _ECHO


async def test_operation_validates_arguments(tmp_path) -> None:
    op = _echo_operation()
    ctx = Context(store=None)
    result = await op(ctx, {"text": "hi"})
    assert isinstance(result, EchoResult)
    with pytest.raises(ValidationError):
        await op(ctx, {"wrong": 1})


def test_operation_models_come_from_annotations() -> None:
    op = _echo_operation()
    assert op.args_model is EchoArgs
    assert op.result_model is EchoResult
    assert op.read_only is True


def test_operation_rejects_unannotated_function() -> None:
    with pytest.raises(TypeError):

        @operation("insforge_test_bad", description="x")
        async def bad(ctx, args):  # type: ignore[no-untyped-def]
            return None


def test_json_text_is_json_not_repr() -> None:
    result = EchoResult(
        text="o'neil", at=dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC), amount=decimal.Decimal("1.50")
    )
    text = to_json_text(result)
    assert text == '{"text":"o\'neil","at":"2026-12-04T12:00:00Z","amount":"1.50"}'


def test_render_result_truncates_with_note() -> None:
    op = _echo_operation()
    text = render_result(op, EchoResult(text="x" * 5000), max_chars=300)
    assert len(text) < 500
    assert "truncated: showing 300 of" in text


def test_truncate_text_keeps_short_text() -> None:
    assert truncate_text("short", 100) == "short"
