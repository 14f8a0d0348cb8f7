"""Helpers for the agent tests: the human's side of approvals, recorded ID-JAGs, workspace set-up."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import httpx
import pytest

from insforge_tools.approvals import ApprovalDecision, ApprovalRequest, AutoApprover
from insforge_tools.context import Context
from insforge_tools.protocol import registration
from insforge_tools.registry import invoke
from insforge_tools.sandbox import Sandbox
from insforge_tools.secrets import Secret

HTTP_TIMEOUT = 10.0
TEST_EMAIL = "agent.tester@example.com"

CREDENTIAL_KINDS = ("user_api_key", "project_api_key", "access_token", "anonymous_api_key")
# make_context(approver=None, level="fresh", **settings) -> Context
ContextFactory = Callable[..., Awaitable[Context]]

LEVELS = ("fresh", "registered", "logged_in", "linked")


class RecordingAssertionProvider:
    """The sandbox user's assertion provider, keeping every ID-JAG it mints."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._mint = sandbox.provider.assertion_provider()
        self.tokens: list[str] = []

    async def __call__(self, *, audience: str, resource: str) -> Secret:
        token = await self._mint(audience=audience, resource=resource)
        self.tokens.append(token.reveal())
        return token


def read_mail(sandbox: Sandbox, registration_id: str) -> dict[str, Any]:
    """Read the claim email the platform delivered for ``registration_id``."""
    path = sandbox.mail_dir / f"{registration_id}.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


async def open_claim_link(sandbox: Sandbox, registration_id: str) -> str:
    """Do what the emailed page does in the user's browser and return the one-time code it shows."""
    mail = read_mail(sandbox, registration_id)
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as client:
        response = await client.post(
            f"{sandbox.platform_url}/agent/auth/claim/attempt/challenge",
            json={"claim_attempt_token": mail["claim_attempt_token"]},
        )
    response.raise_for_status()
    code: str = response.json()["challenge"]
    return code


class SandboxHuman:
    """A human who approves everything and reads one-time codes from the sandbox's mail.

    Works as an approver (``await human(request)``) and records every request it saw.
    """

    name = "sandbox-human"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.requests: list[ApprovalRequest] = []

    @property
    def kinds(self) -> list[str]:
        return [request.kind for request in self.requests]

    async def __call__(self, request: ApprovalRequest) -> ApprovalDecision:
        self.requests.append(request)
        if request.kind == "claim_code":
            code = await open_claim_link(self.sandbox, str(request.details["registration_id"]))
            return ApprovalDecision(approved=True, value=code, approver=self.name)
        return ApprovalDecision(approved=True, approver=self.name)


async def prepare(context: Context, sandbox: Sandbox, level: str) -> None:
    """Bring a fresh workspace up to ``level``: fresh, registered, logged_in or linked.

    The steps run through the core operations with an approver that agrees, so the
    context's own approver is asked nothing during set-up.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, not {level!r}.")
    wanted = LEVELS.index(level)
    approver = context.approver
    context.approver = AutoApprover()
    try:
        if wanted >= 1:
            await invoke(context, "insforge_register", {"resource_url": sandbox.resource_url})
        if wanted >= 2:
            await invoke(context, "insforge_login", {})
        if wanted >= 3:
            await invoke(context, "insforge_link", {"api_base_url": sandbox.backend_url})
    finally:
        context.approver = approver


def secret_values(sandbox: Sandbox, context: Context) -> dict[str, str]:
    """Every credential that must stay out of what agents emit, by a label for failure messages.

    The admin key, every stored credential, every ID-JAG the context's provider
    minted and every claim token the platform issued.
    """
    found: dict[str, str] = {"admin api key": sandbox.api_key}
    for kind in CREDENTIAL_KINDS:
        for record, value in context.credentials.find(kind):
            found[f"stored {kind} for {record.scope}"] = value.reveal()
    provider = context.assertion_provider
    for index, token in enumerate(getattr(provider, "tokens", [])):
        found[f"ID-JAG {index + 1}"] = token
    state = sandbox.platform_state
    with state.lock:
        for registration in state.registrations.values():
            if registration.claim_token:
                found[f"claim token of {registration.id}"] = registration.claim_token
        for credential in state.credentials.values():
            found[f"platform credential {credential.type} of {credential.registration_id}"] = credential.value
    return found


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    """Return the labels of the secrets that occur in ``text``."""
    return sorted(label for label, value in secrets.items() if value and value in text)


async def run_core(context: Context, name: str, args: dict[str, Any]) -> Any:
    """Run an operation for the test's own set-up or checks, with an approver that agrees."""
    approver = context.approver
    context.approver = AutoApprover()
    try:
        return await invoke(context, name, args)
    finally:
        context.approver = approver


async def make_table(context: Context, rows: list[str]) -> str:
    table = f"agent_{uuid4().hex[:10]}"
    await run_core(
        context, "insforge_db_query", {"sql": f"create table {table} (id serial primary key, title text)"}
    )
    await run_core(
        context, "insforge_records_create", {"table": table, "records": [{"title": t} for t in rows]}
    )
    return table


async def titles(context: Context, table: str) -> list[str]:
    result = await run_core(context, "insforge_db_query", {"sql": f"select title from {table} order by id"})  # noqa: S608
    return [row["title"] for row in result.rows]


def registration_ids(sandbox: Sandbox) -> set[str]:
    with sandbox.platform_state.lock:
        return set(sandbox.platform_state.registrations)


def issued_credentials(sandbox: Sandbox) -> set[str]:
    # The platform keeps one registration per user and audience, but issues a credential per request.
    with sandbox.platform_state.lock:
        return set(sandbox.platform_state.credentials)


def claim_attempts(sandbox: Sandbox, registration_id: str) -> int:
    """Return how many claim attempts (emails with a link) the platform opened for ``registration_id``."""
    with sandbox.platform_state.lock:
        attempts = sandbox.platform_state.claim_attempts.values()
        return sum(1 for attempt in attempts if attempt.registration_id == registration_id)


class RegistrationPosts:
    """Records the path of every registration and claim POST the core sends, and sends it unchanged.

    The platform opens no new claim attempt when ``/agent/auth/claim`` is POSTed
    again with the same email, so a repeated claim start shows only here.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        send = registration.post_json

        async def recording(url: str, payload: dict[str, Any], **options: Any) -> Any:
            self.paths.append(urlsplit(url).path)
            return await send(url, payload, **options)

        monkeypatch.setattr(registration, "post_json", recording)

    def count(self, path: str) -> int:
        return self.paths.count(path)
