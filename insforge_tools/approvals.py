"""Human approval of actions that assert the user's identity or destroy data.

The core asks ``ctx.approver`` before such an action and goes on only with an
approved :class:`ApprovalDecision`. The default, :class:`DenyingApprover`, denies
and tells the model that a human must approve. Adapters supply approvers
native to their framework; plain Python code can use :class:`CallbackApprover`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

__all__ = [
    "ApprovalDecision",
    "ApprovalKind",
    "ApprovalRequest",
    "Approver",
    "AutoApprover",
    "CallbackApprover",
    "DenyingApprover",
    "require_approval",
]

ApprovalKind = Literal["consent", "claim_code", "destructive"]


class ApprovalRequest(BaseModel):
    """A decision put to a human."""

    kind: ApprovalKind = Field(
        description="consent: let the agent register with the user's identity; "
        "claim_code: type the one-time code from the service's email; "
        "destructive: allow an operation that deletes or overwrites data."
    )
    operation: str = Field(description="The tool that asks, such as insforge_register.")
    summary: str = Field(description="One sentence for the human.")
    details: dict[str, Any] = Field(default_factory=dict, description="Facts shown with the request.")


class ApprovalDecision(BaseModel):
    """A human's decision on an :class:`ApprovalRequest`."""

    approved: bool
    reason: str = ""
    value: str | None = Field(default=None, description="Text the human typed, such as a one-time code.")
    approver: str = Field(default="", description="Who or what decided, for the audit trail.")


@runtime_checkable
class Approver(Protocol):
    """Decides on an :class:`ApprovalRequest`."""

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision: ...


class DenyingApprover:
    """The default approver: denies every request and tells the model that a human must approve."""

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        return ApprovalDecision(
            approved=False,
            reason=(
                f"{request.operation} needs a human's approval ({request.kind}), and no approver is "
                "configured. Tell the user what you want to do and why; the application must be set up "
                "with an approver before this can run."
            ),
            approver="default-deny",
        )


class AutoApprover:
    """Approves every request, after reporting it through ``notify``.

    Only for demos and tests in which a human has agreed in advance.

    Args:
        notify: Called with each request before it is approved, for example to print a notice.
        value: The text returned for ``claim_code`` requests.
    """

    def __init__(
        self,
        notify: Callable[[ApprovalRequest], None] | None = None,
        value: str | None = None,
    ) -> None:
        self._notify = notify
        self._value = value

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        if self._notify is not None:
            self._notify(request)
        return ApprovalDecision(
            approved=True, reason="approved in advance", value=self._value, approver="auto"
        )


class CallbackApprover:
    """Wraps a function (sync or async) that takes a request and returns a decision or a bool."""

    def __init__(
        self,
        callback: Callable[[ApprovalRequest], ApprovalDecision | bool | Awaitable[ApprovalDecision | bool]],
    ) -> None:
        self._callback = callback

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        answer = self._callback(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, ApprovalDecision):
            return answer
        if isinstance(answer, bool):
            return ApprovalDecision(approved=answer, approver="callback")
        raise TypeError(
            f"An approver callback must return ApprovalDecision or bool, not {type(answer).__name__}."
        )


async def require_approval(approver: Approver, request: ApprovalRequest) -> ApprovalDecision:
    """Ask ``approver`` and return its decision; raise :class:`ApprovalError` unless it approved.

    Call it before any side effect: frameworks that pause for a human (LangGraph
    ``interrupt()``, LlamaIndex ``wait_for_event``) run the code before the
    question again when they resume.
    """
    from insforge_tools.errors import ApprovalError

    decision = await approver(request)
    if not decision.approved:
        reason = decision.reason or "The human did not approve."
        raise ApprovalError(
            f"{request.operation} was not approved: {reason}",
            code="approval_denied",
            details={"kind": request.kind},
        )
    return decision
