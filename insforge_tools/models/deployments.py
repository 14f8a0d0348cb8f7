"""Typed results of the deployment operations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["DeploymentResult"]


class DeploymentResult(BaseModel):
    """One deployment run of the project's site."""

    id: str | None = None
    status: str | None = Field(
        default=None, description="WAITING, UPLOADING, QUEUED, BUILDING, READY, ERROR or CANCELED."
    )
    url: str | None = Field(default=None, description="Where the deployed site is served, once READY.")
    provider: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    timed_out: bool = Field(default=False, description="The wait ended before the deployment finished.")
    files_uploaded: int | None = Field(default=None, description="Files sent in this run (direct upload).")
    files_total: int | None = Field(default=None, description="Files in the deployed directory.")
    metadata: dict[str, Any] | None = None
