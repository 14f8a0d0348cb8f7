"""Small operations, registered under insforge_test_* names, that the adapter tests expose as tools."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from insforge_tools import registry
from insforge_tools.approvals import ApprovalRequest, require_approval
from insforge_tools.context import Context
from insforge_tools.errors import InvalidInputError
from insforge_tools.registry import Operation, operation
from insforge_tools.secrets import remember_secret

# A credential that is not shaped like any known key, so only remembering it
# makes the redaction pass remove it.
LEAKY_SECRET = "zq9-internal-credential-7731-plover"
remember_secret(LEAKY_SECRET)


class EchoArgs(BaseModel):
    text: str = Field(description="Text to send back.")
    repeat: int = Field(default=1, ge=1, le=5, description="How many times to repeat the text.")


class EchoResult(BaseModel):
    text: str
    thread: str


@operation("insforge_test_echo", description="Send the text back, repeated.", read_only=True)
async def echo(ctx: Context, args: EchoArgs) -> EchoResult:
    return EchoResult(text=args.text * args.repeat, thread=threading.current_thread().name)


class QueryArgs(BaseModel):
    sql: str = Field(description="The SQL statement to run.")


class QueryResult(BaseModel):
    rows: list[dict[str, str]] = Field(default_factory=list)


@operation("insforge_test_fail", description="Run SQL; always fails like a CLI syntax error.", read_only=True)
async def fail(ctx: Context, args: QueryArgs) -> QueryResult:
    raise InvalidInputError(f'syntax error at or near "{args.sql.split()[0]}"', code="42601", exit_code=1)


class NoArgs(BaseModel):
    pass


class ValuesResult(BaseModel):
    table: str
    ok: bool
    deleted_at: datetime | None
    ts: datetime
    amount: Decimal
    city: str


@operation("insforge_test_values", description="Return a row with awkward value types.", read_only=True)
async def values(ctx: Context, args: NoArgs) -> ValuesResult:
    return ValuesResult(
        table="o'neil",
        ok=True,
        deleted_at=None,
        ts=datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        amount=Decimal("1.50"),
        city="Zürich",
    )


class DeleteArgs(BaseModel):
    table: str = Field(description="The table to delete.")


class DeleteResult(BaseModel):
    deleted: str


@operation("insforge_test_delete", description="Delete a table (destructive).", destructive=True)
async def delete(ctx: Context, args: DeleteArgs) -> DeleteResult:
    ctx.state.setdefault("approval_requests", []).append(args.table)
    await require_approval(
        ctx.approver,
        ApprovalRequest(
            kind="destructive",
            operation="insforge_test_delete",
            summary=f"Delete the table {args.table} and all its rows.",
            details={"table": args.table},
        ),
    )
    ctx.state.setdefault("deleted", []).append(args.table)
    return DeleteResult(deleted=args.table)


class ClaimResult(BaseModel):
    code: str


@operation(
    "insforge_test_claim", description="Ask for consent, then for a one-time code.", needs_consent=True
)
async def claim(ctx: Context, args: NoArgs) -> ClaimResult:
    await require_approval(
        ctx.approver,
        ApprovalRequest(
            kind="consent", operation="insforge_test_claim", summary="Register with your identity."
        ),
    )
    decision = await require_approval(
        ctx.approver,
        ApprovalRequest(
            kind="claim_code", operation="insforge_test_claim", summary="Type the code from the email."
        ),
    )
    ctx.state["claimed"] = decision.value
    return ClaimResult(code=decision.value or "")


class HugeArgs(BaseModel):
    rows: int = Field(default=200_000, description="How many rows to return.")


class Row(BaseModel):
    id: int
    name: str


class HugeResult(BaseModel):
    rows: list[Row]


@operation("insforge_test_huge", description="Return very many rows.", read_only=True)
async def huge(ctx: Context, args: HugeArgs) -> HugeResult:
    return HugeResult(rows=[Row(id=index, name=f"event-{index}") for index in range(args.rows)])


class SecretResult(BaseModel):
    note: str


@operation("insforge_test_secret", description="Return a note that contains a credential.", read_only=True)
async def leak(ctx: Context, args: NoArgs) -> SecretResult:
    return SecretResult(note=f"the service key is {LEAKY_SECRET}")


@operation("insforge_test_bug", description="Fail with a programming error.", read_only=True)
async def bug(ctx: Context, args: NoArgs) -> SecretResult:
    raise RuntimeError("a bug in the operation")


NAMES = (
    "insforge_test_echo",
    "insforge_test_fail",
    "insforge_test_values",
    "insforge_test_delete",
    "insforge_test_claim",
    "insforge_test_huge",
    "insforge_test_secret",
    "insforge_test_bug",
)


# Take the sample operations out of the global registry again, so that toolkits
# built from the registry elsewhere in the same test run expose only product tools.
_SAMPLES: dict[str, Operation] = {name: registry._REGISTRY.pop(name) for name in NAMES}


def sample_operations(*names: str) -> list[Operation]:
    """Return the named operations above (all of them by default), in a fixed order."""
    return [_SAMPLES[name] for name in names or NAMES]
