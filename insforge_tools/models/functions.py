"""Typed results of the edge function operations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "FunctionDeleteResult",
    "FunctionDeployResult",
    "FunctionDetail",
    "FunctionInfo",
    "FunctionInvokeResult",
    "FunctionsResult",
]


class FunctionInfo(BaseModel):
    """One edge function, without its code."""

    slug: str
    name: str | None = None
    description: str | None = None
    status: str | None = Field(default=None, description="draft, active or error.")
    created_at: str | None = None
    updated_at: str | None = None
    deployed_at: str | None = None


class FunctionsResult(BaseModel):
    """The project's edge functions and the state of their runtime."""

    functions: list[FunctionInfo] = Field(default_factory=list)
    runtime_status: str | None = Field(
        default=None, description="running or unavailable; functions cannot be invoked while unavailable."
    )


class FunctionDetail(FunctionInfo):
    """One edge function with its source code."""

    code: str = ""


class FunctionDeployResult(BaseModel):
    """The outcome of deploying a function."""

    function: FunctionInfo
    action: str = Field(description="created or updated (or deployed, when the CLI did not say which).")
    deployment_status: str | None = Field(default=None, description="The deployment's status, if reported.")
    deployment_url: str | None = None


class FunctionInvokeResult(BaseModel):
    """A function's response."""

    slug: str
    status: int | None = Field(
        description="The HTTP status; null when the CLI printed a text body on success."
    )
    ok: bool = Field(description="Whether the status is below 400.")
    content_type: str | None = None
    body: Any = Field(default=None, description="The JSON body, or the text body.")


class FunctionDeleteResult(BaseModel):
    """The outcome of deleting a function."""

    slug: str
    deleted: bool = True
    message: str = ""
