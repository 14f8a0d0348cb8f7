"""Human approval inside LangGraph: pause the graph with ``interrupt()`` and resume with the response."""

from __future__ import annotations

import logging
from typing import Any

from langgraph.types import interrupt

from insforge_tools._toolset import decision_from_response
from insforge_tools.approvals import ApprovalDecision, ApprovalRequest
from insforge_tools.secrets import redact_data

__all__ = ["APPROVAL_INTERRUPT_TYPE", "LangGraphApprover"]

logger = logging.getLogger("insforge_tools.langchain")

APPROVAL_INTERRUPT_TYPE = "insforge_approval"
"""The ``type`` field of every interrupt payload this approver raises."""


class LangGraphApprover:
    """An approver that asks the human through a LangGraph interrupt.

    The tool call pauses the graph with ``interrupt(payload)``, where the
    payload is the :class:`~insforge_tools.approvals.ApprovalRequest` as JSON
    plus ``"type": "insforge_approval"``. The application shows it to the human
    and resumes with ``Command(resume=response)``. The response may be a bool, an
    :class:`~insforge_tools.approvals.ApprovalDecision` (or a dict of its
    fields), a ``{"type": "approve" | "reject", "message": …}`` decision, or for
    a one-time code request the code as a string.

    It works only inside a graph compiled with a checkpointer and run with a
    ``thread_id``, because resuming replays the tool call. Outside a graph run
    (a direct ``tool.invoke()``) the request is denied with a reason saying so. Operations ask for
    approval before any side effect, so the replay repeats nothing.
    """

    name = "langgraph-interrupt"

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        payload: dict[str, Any] = {
            "type": APPROVAL_INTERRUPT_TYPE,
            **redact_data(request.model_dump(mode="json")),
        }
        try:
            response = interrupt(payload)
        except (RuntimeError, KeyError) as exc:
            # langgraph 1.2 raises these when no graph run is in progress (a direct
            # tool.invoke()); a pause for a human is then impossible.
            logger.info("Cannot ask for approval of %s outside a LangGraph run: %r", request.operation, exc)
            return ApprovalDecision(
                approved=False,
                reason=(
                    "no LangGraph run is in progress to ask a human. Run the tool inside an agent "
                    "compiled with a checkpointer, or configure another approver."
                ),
                approver=self.name,
            )
        return decision_from_response(response, request, approver=self.name)
