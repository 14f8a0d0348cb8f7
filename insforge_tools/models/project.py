"""Typed results of the project context operations: link and current."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = ["CurrentResult", "LinkResult", "ProjectInfo"]


class ProjectInfo(BaseModel):
    """The linked project, without its API key."""

    project_id: str
    project_name: str = ""
    org_id: str = ""
    region: str = ""
    oss_host: str = Field(default="", description="The project backend's base URL.")
    self_hosted: bool = False


class LinkResult(BaseModel):
    """The outcome of linking the workspace to a project."""

    project: ProjectInfo
    link_file: str = Field(description="The project link file that was written.")
    transport: str = Field(description="How the link was made: file (written directly) or cli.")
    validated: bool = Field(description="Whether one metadata call with the new link succeeded.")
    validation_error: str | None = Field(default=None, description="Why the validation call failed.")
    table_count: int | None = Field(default=None, description="Tables seen by the validation call.")


class CurrentResult(BaseModel):
    """The workspace's CLI login and linked project."""

    authenticated: bool = Field(description="Whether the CLI has a platform login.")
    user: dict[str, Any] | None = None
    default_org_id: str | None = None
    project: ProjectInfo | None = None
    transport: str = Field(description="The transport project calls will use: cli or http.")
