"""Helpers for the end-to-end tests: a recording assertion provider, the human's side of a claim."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import jwt

from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, CallbackApprover
from insforge_tools.context import Context
from insforge_tools.sandbox import Sandbox
from insforge_tools.secrets import Secret

HTTP_TIMEOUT = 10.0

# make_context(approver=None, **settings_overrides) -> Context
ContextFactory = Callable[..., Context]


class RecordingAssertionProvider:
    """The sandbox user's assertion provider, keeping every ID-JAG it mints."""

    def __init__(
        self, sandbox: Sandbox, *, subject: str = "user_test", email: str = "test.user@example.com"
    ) -> None:
        self._mint = sandbox.provider.assertion_provider(subject=subject, email=email)
        self.tokens: list[str] = []

    async def __call__(self, *, audience: str, resource: str) -> Secret:
        token = await self._mint(audience=audience, resource=resource)
        self.tokens.append(token.reveal())
        return token

    @property
    def jtis(self) -> list[str]:
        return [jwt.decode(token, options={"verify_signature": False})["jti"] for token in self.tokens]


async def get_profile(sandbox: Sandbox, key: str) -> httpx.Response:
    """``GET /auth/v1/profile`` with ``key`` as the bearer credential."""
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        return await client.get(
            f"{sandbox.platform_url}/auth/v1/profile", headers={"Authorization": f"Bearer {key}"}
        )


def read_mail(sandbox: Sandbox, registration_id: str) -> dict[str, object]:
    """Read the claim email the platform wrote for ``registration_id``."""
    path = sandbox.mail_dir / f"{registration_id}.json"
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


async def open_claim_link(sandbox: Sandbox, registration_id: str) -> str:
    """Do what the email's page does in the user's browser and return the one-time code it shows."""
    mail = read_mail(sandbox, registration_id)
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        response = await client.post(
            f"{sandbox.platform_url}/agent/auth/claim/attempt/challenge",
            json={"claim_attempt_token": mail["claim_attempt_token"]},
        )
    response.raise_for_status()
    code: str = response.json()["challenge"]
    return code


class HumanApprover(CallbackApprover):
    """Consents, and for a ``claim_code`` request reads the mail, opens its link and returns the code."""

    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(self._decide)
        self.sandbox = sandbox
        self.requests: list[ApprovalRequest] = []

    async def _decide(self, request: ApprovalRequest) -> ApprovalDecision:
        self.requests.append(request)
        if request.kind != "claim_code":
            return ApprovalDecision(approved=True, approver="test human")
        code = await open_claim_link(self.sandbox, str(request.details["registration_id"]))
        return ApprovalDecision(approved=True, value=code, approver="test human")

    @property
    def kinds(self) -> list[str]:
        return [request.kind for request in self.requests]
