"""Converting a human's response to an approval request into a decision, as both adapters do."""

from __future__ import annotations

from typing import Any

import pytest

from insforge_tools._toolset import decision_from_response
from insforge_tools.approvals import ApprovalDecision, ApprovalRequest

DESTRUCTIVE = ApprovalRequest(kind="destructive", operation="insforge_test_delete", summary="Delete orders.")
CLAIM = ApprovalRequest(kind="claim_code", operation="insforge_test_claim", summary="Type the code.")


@pytest.mark.parametrize(
    ("answer", "approved", "reason"),
    [
        (True, True, ""),
        (False, False, ""),
        ("yes", True, ""),
        (" Approve ", True, ""),
        ("no, keep it", False, "no, keep it"),
        ({"approved": False, "reason": "later"}, False, "later"),
        ({"type": "approve"}, True, ""),
        ({"type": "reject", "message": "keep the orders"}, False, "keep the orders"),
        ({"decisions": [{"type": "reject"}]}, False, "The human rejected the request."),
        (ApprovalDecision(approved=True, approver="ops"), True, ""),
    ],
)
def test_decision_from_response_cases(answer: Any, approved: bool, reason: str) -> None:
    decision = decision_from_response(answer, DESTRUCTIVE, approver="test")

    assert decision.approved is approved
    assert decision.reason == reason


def test_claim_code_text_is_value() -> None:
    decision = decision_from_response(" 483920 ", CLAIM, approver="test")

    assert decision.approved
    assert decision.value == "483920"


def test_claim_code_empty_is_denied() -> None:
    decision = decision_from_response("", CLAIM, approver="test")

    assert not decision.approved
    assert decision.reason == "No code was entered."


def test_claim_code_mapping_value() -> None:
    decision = decision_from_response({"code": "111222"}, CLAIM, approver="test")

    assert decision.value == "111222"


def test_mapping_without_known_keys_raises() -> None:
    with pytest.raises(ValueError, match=r"keys \['maybe'\]"):
        decision_from_response({"maybe": 1}, DESTRUCTIVE, approver="test")


def test_unsupported_type_raises() -> None:
    with pytest.raises(TypeError, match="not int"):
        decision_from_response(3, DESTRUCTIVE, approver="test")
