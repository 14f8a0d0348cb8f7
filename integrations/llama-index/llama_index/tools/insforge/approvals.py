"""Human approval inside a LlamaIndex workflow: emit an event and wait for the response.

This module defines no ``from __future__ import annotations`` on purpose: the
tool functions in this package take a workflow ``Context`` parameter, and
LlamaIndex recognises it only from a real (not string) annotation.
"""

import hashlib
import json
from contextvars import ContextVar
from typing import Any

from llama_index.core.workflow import Context, HumanResponseEvent, InputRequiredEvent

from insforge_tools._toolset import decision_from_response
from insforge_tools.approvals import ApprovalDecision, ApprovalRequest
from insforge_tools.secrets import redact, redact_data

__all__ = ["APPROVAL_EVENT_TYPE", "WorkflowApprover", "current_workflow_context"]

APPROVAL_EVENT_TYPE = "insforge_approval"
"""The ``type`` field of every ``InputRequiredEvent`` this approver emits."""

current_workflow_context: ContextVar[Context | None] = ContextVar("insforge_workflow_context", default=None)
"""The workflow context of the tool call in progress; set by the InsForge tools."""


def _approval_id(request: ApprovalRequest) -> str:
    # Stable across the replay of the tool call, so the response finds its waiter.
    encoded = json.dumps(request.model_dump(mode="json"), sort_keys=True, default=str).encode("utf-8")
    return "insforge-approval-" + hashlib.sha256(encoded).hexdigest()[:16]


class WorkflowApprover:
    """An approver that asks the human through LlamaIndex workflow events.

    When an InsForge tool asks for approval inside a workflow (for example a
    ``FunctionAgent`` run), the approver emits an ``InputRequiredEvent`` with
    ``type="insforge_approval"``, ``approval_id``, ``prefix`` (a question for
    the human) and the request's fields (``kind``, ``operation``, ``summary``,
    ``details``). The application responds with
    ``handler.ctx.send_event(HumanResponseEvent(response=…, approval_id=ev.approval_id))``.
    ``response`` may be a bool, ``"yes"``/``"no"`` (any other text rejects with
    that text as the reason), the one-time code for a ``claim_code`` request,
    or a dict of :class:`~insforge_tools.approvals.ApprovalDecision` fields.

    The workflow runs the tool call again from the start when the response
    arrives, and ``wait_for_event`` then returns it. Every InsForge operation
    asks at most one question per call, before any side effect, so that second
    run repeats no request.

    Outside a workflow (a direct ``tool.acall()``) there is nobody to ask, and
    the request is denied with a reason saying so.

    Args:
        timeout: Seconds to wait for the response; ``None`` waits without limit.
            When it passes, ``asyncio.TimeoutError`` ends the tool call.
    """

    name = "llama-index-workflow"

    def __init__(self, *, timeout: float | None = 600.0) -> None:
        self.timeout = timeout

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        ctx = current_workflow_context.get()
        if ctx is None:
            return ApprovalDecision(
                approved=False,
                reason=(
                    "no workflow is running to ask a human. Run the tool inside a LlamaIndex agent or "
                    "workflow, or configure another approver."
                ),
                approver=self.name,
            )

        approval_id = _approval_id(request)
        fields: dict[str, Any] = redact_data(request.model_dump(mode="json"))
        question = redact(f"{request.summary} Approve {request.operation} ({request.kind})? ")
        waiter_event = InputRequiredEvent(
            prefix=question,
            type=APPROVAL_EVENT_TYPE,
            approval_id=approval_id,
            **fields,
        )

        event = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=waiter_event,
            waiter_id=approval_id,
            requirements={"approval_id": approval_id},
            timeout=self.timeout,
        )
        return decision_from_response(_response_value(event), request, approver=self.name)


def _response_value(event: HumanResponseEvent) -> Any:
    for key in ("approved", "value", "code"):
        if event.get(key) is not None:
            return {key: event.get(key), "reason": event.get("reason") or ""}
    return event.get("response")
