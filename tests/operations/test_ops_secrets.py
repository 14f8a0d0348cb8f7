"""Secret operations: the value reaches the backend and appears nowhere else."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from ops_helpers import ScriptedBackend, ScriptedCli

from insforge_tools.approvals import ApprovalRequest, CallbackApprover
from insforge_tools.context import Context
from insforge_tools.errors import InvalidInputError, PermissionDeniedError
from insforge_tools.registry import get_operation, invoke, render_result, to_json_text
from insforge_tools.secrets import Secret

LISTING = {
    "secrets": [
        {"id": "1", "key": "API_KEY", "isActive": True, "isReserved": True},
        {"id": "2", "key": "OLD_TOKEN", "isActive": False, "isReserved": False},
        {"id": "3", "key": "STRIPE_KEY", "isActive": True, "isReserved": False},
    ]
}


async def test_set_creates_and_hides_value(
    make_context: Callable[..., Context],
    linked: Path,
    backend: ScriptedBackend,
    caplog: pytest.LogCaptureFixture,
) -> None:
    value = "sk-very-private-value-0001"
    backend.on("GET", "/api/secrets", 200, LISTING)
    backend.on(
        "POST",
        "/api/secrets",
        201,
        {"success": True, "message": "Secret NEW_KEY has been created", "id": "9"},
    )
    requests: list[ApprovalRequest] = []
    ctx = make_context(approver=CallbackApprover(lambda request: requests.append(request) or True))

    with caplog.at_level(logging.DEBUG):
        result = await invoke(ctx, "insforge_secrets_set", {"key": "NEW_KEY", "value": value})

    assert backend.json_of(1) == {"key": "NEW_KEY", "value": value}
    assert result.action == "created"
    assert value not in result.model_dump_json()
    assert value not in render_result(get_operation("insforge_secrets_set"), result, 6000)
    assert value not in caplog.text
    assert value not in json.dumps([request.model_dump() for request in requests])
    assert requests[0].details == {"key": "NEW_KEY", "action": "created"}


async def test_set_existing_updates(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/secrets", 200, LISTING)
    backend.on("PUT", "/api/secrets/OLD_TOKEN", 200, {"success": True, "message": "updated"})
    result = await invoke(
        make_context(), "insforge_secrets_set", {"key": "OLD_TOKEN", "value": "new-value-123"}
    )
    assert result.action == "updated"
    assert backend.json_of(1) == {"value": "new-value-123", "isActive": True}


async def test_set_conflict_updates(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/secrets", 200, {"secrets": []})
    backend.on("POST", "/api/secrets", 409, {"error": "SECRET_ALREADY_EXISTS", "message": "exists"})
    backend.on("PUT", "/api/secrets/RACE_KEY", 200, {"success": True})
    result = await invoke(
        make_context(), "insforge_secrets_set", {"key": "RACE_KEY", "value": "value-abcdef"}
    )
    assert result.action == "updated"


async def test_short_value_kept_out_of_errors(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    value = "ab12"
    backend.on("GET", "/api/secrets", 200, {"secrets": []})
    echo = {"error": "INVALID_INPUT", "message": f"value {value} is too short", "statusCode": 400}
    backend.on("POST", "/api/secrets", 400, echo)
    with pytest.raises(InvalidInputError) as caught:
        await invoke(make_context(), "insforge_secrets_set", {"key": "SHORT", "value": value})
    assert value not in str(caught.value)
    assert value not in json.dumps(caught.value.to_dict())


async def test_reserved_key_rejected(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/secrets", 200, LISTING)
    with pytest.raises(PermissionDeniedError, match="reserved"):
        await invoke(
            make_context(), "insforge_secrets_set", {"key": "API_KEY", "value": "ik_replacement0000"}
        )
    with pytest.raises(PermissionDeniedError):
        await invoke(make_context(), "insforge_secrets_delete", {"key": "API_KEY"})
    assert [request.method for request in backend.requests] == ["GET", "GET"]


async def test_args_repr_masks_value() -> None:
    args = get_operation("insforge_secrets_set").parse_args({"key": "K_1", "value": "plain-visible-value"})
    assert "plain-visible-value" not in repr(args)
    assert "plain-visible-value" not in to_json_text(args.model_dump(mode="json"))


async def test_list_hides_inactive(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    backend.on("GET", "/api/secrets", 200, LISTING)
    active = await invoke(make_context(), "insforge_secrets_list")
    everything = await invoke(make_context(), "insforge_secrets_list", {"include_inactive": True})
    assert [item.key for item in active.secrets] == ["API_KEY", "STRIPE_KEY"]
    assert [item.key for item in everything.secrets] == ["API_KEY", "OLD_TOKEN", "STRIPE_KEY"]


async def test_cli_gets_masked_value(
    make_context: Callable[..., Context], linked: Path, cli: ScriptedCli
) -> None:
    cli.answer({"secrets": []}, {"success": True, "message": "created", "id": "1"})
    await invoke(
        make_context(transport="cli"), "insforge_secrets_set", {"key": "K_2", "value": "-starts-with-dash"}
    )
    assert cli.calls[0]["args"] == ["secrets", "list", "--all", "--json", "--"]
    args = cli.calls[1]["args"]
    assert args[:5] == ["secrets", "add", "--json", "--", "K_2"]
    assert isinstance(args[5], Secret)
    assert args[5].reveal() == "-starts-with-dash"


def test_invalid_key_rejected() -> None:
    with pytest.raises(ValueError, match="uppercase"):
        get_operation("insforge_secrets_set").parse_args({"key": "lower", "value": "x" * 8})


async def test_no_response_value_passes(
    make_context: Callable[..., Context], linked: Path, backend: ScriptedBackend
) -> None:
    leaked = {"secrets": [{"key": "A_B", "isActive": True, "value": "should-not-appear-anywhere"}]}
    backend.routes[("GET", "/api/secrets")] = lambda request: httpx.Response(200, json=leaked)
    result = await invoke(make_context(), "insforge_secrets_list")
    assert "should-not-appear-anywhere" not in result.model_dump_json()
