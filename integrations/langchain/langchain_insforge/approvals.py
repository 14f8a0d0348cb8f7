"""Human approval inside LangGraph: pause the graph with ``interrupt()`` and resume with the response."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from langgraph.config import get_config
from langgraph.types import interrupt

from insforge_tools._toolset import decision_from_response
from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, Approver
from insforge_tools.secrets import redact_data

__all__ = ["APPROVAL_INTERRUPT_TYPE", "HumanInTheLoopApprover", "LangGraphApprover"]

logger = logging.getLogger("insforge_tools.langchain")

APPROVAL_INTERRUPT_TYPE = "insforge_approval"
"""The ``type`` field of every interrupt payload this approver raises."""


def _inside_graph_run() -> bool:
    """Return whether the caller runs as a task of a LangGraph graph with a thread (a checkpointer run)."""
    try:
        config = get_config()
    except RuntimeError:
        return False
    configurable = config.get("configurable") or {}
    return "checkpoint_ns" in configurable and "thread_id" in configurable


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
    ``thread_id``, because resuming runs the tool call again from the start;
    ``interrupt()`` then returns the response instead of pausing. Every InsForge
    operation asks at most one question per call, before any side effect, so
    that second run repeats no request. Outside a graph run (a direct
    ``tool.invoke()``) the request is denied with a reason saying so.
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


class HumanInTheLoopApprover:
    """An approver for agents whose ``HumanInTheLoopMiddleware`` already pauses before destructive tools.

    The middleware asks the human before the tool runs; the operation then asks
    its approver again. This approver approves that second ``destructive``
    request for the operations the middleware gates, so the human is asked
    once. Every other request (consent, one-time codes, destructive SQL in
    ``insforge_db_query``, which the middleware does not gate) goes to
    ``fallback``.

    It trusts the middleware only inside a LangGraph run with a ``thread_id``;
    a direct ``tool.invoke()`` of a gated tool goes to ``fallback`` as well.
    It cannot see whether the running agent really has the middleware, so use
    it only with ``HumanInTheLoopMiddleware(interrupt_on=...)`` built from the
    same toolkit, which :meth:`InsForgeToolkit.human_in_the_loop_middleware
    <langchain_insforge.InsForgeToolkit.human_in_the_loop_middleware>` does.

    Args:
        gated_operations: Registry names of the operations whose destructive
            requests the middleware has already put to the human.
        fallback: Decides everything else; defaults to :class:`LangGraphApprover`.
    """

    name = "human-in-the-loop-middleware"

    def __init__(self, gated_operations: Iterable[str], fallback: Approver | None = None) -> None:
        self.gated_operations = frozenset(gated_operations)
        self.fallback: Approver = fallback if fallback is not None else LangGraphApprover()

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        if (
            request.kind == "destructive"
            and request.operation in self.gated_operations
            and _inside_graph_run()
        ):
            logger.info("%s was approved at the HumanInTheLoopMiddleware pause.", request.operation)
            return ApprovalDecision(
                approved=True,
                reason="approved by the human when HumanInTheLoopMiddleware paused before the tool call",
                approver=self.name,
            )
        return await self.fallback(request)
