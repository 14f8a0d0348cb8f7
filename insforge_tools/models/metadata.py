"""The project metadata document (``GET /api/metadata``, ``insforge metadata --json``).

The shape follows ``appMetaDataSchema`` of ``@insforge/shared-schemas`` 1.1.59 as the
backend 2.3.1 returns it. The backend's shape has changed between releases, so every
model here keeps unknown fields, every section may be missing (it is then empty), and
fields with a known set of values (function status, OAuth providers, verification
methods) accept any string.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AppMetadata",
    "AuthMetadata",
    "BucketMetadata",
    "DatabaseMetadata",
    "DeploymentsMetadata",
    "FunctionMetadata",
    "RealtimeChannel",
    "RealtimeMetadata",
    "RealtimePermissions",
    "RealtimePolicy",
    "SmtpConfig",
    "StorageMetadata",
    "TableMetadata",
]


class _Open(BaseModel):
    """A model that keeps fields it does not declare and reads ``null`` as "use the default"."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        # A section or list sent as null means "nothing there"; the field's default says so
        # in the model's own terms (an empty list or an empty section).
        if not isinstance(data, dict):
            return data
        cleaned = dict(data)
        for name, info in cls.model_fields.items():
            if info.default_factory is None:
                continue
            for key in (info.alias, name):
                if key is not None and key in cleaned and cleaned[key] is None:
                    del cleaned[key]
        return cleaned


class SmtpConfig(_Open):
    """Outgoing email settings; the password itself is never returned."""

    enabled: bool = False
    host: str = ""
    port: int | None = None
    username: str = ""
    has_password: bool = Field(default=False, alias="hasPassword")
    sender_email: str = Field(default="", alias="senderEmail")
    sender_name: str = Field(default="", alias="senderName")
    min_interval_seconds: int | None = Field(default=None, alias="minIntervalSeconds")


class AuthMetadata(_Open):
    """Authentication settings of the project."""

    oauth_providers: list[str] = Field(
        default_factory=list,
        alias="oAuthProviders",
        description="Built-in OAuth providers: google, github, discord, linkedin, facebook, instagram, "
        "tiktok, apple, x, spotify, microsoft, or newer ones.",
    )
    custom_oauth_providers: list[str] = Field(default_factory=list, alias="customOAuthProviders")
    smtp_config: SmtpConfig | None = Field(default=None, alias="smtpConfig")
    require_email_verification: bool = Field(default=False, alias="requireEmailVerification")
    password_min_length: int | float | None = Field(default=None, alias="passwordMinLength")
    require_number: bool = Field(default=False, alias="requireNumber")
    require_lowercase: bool = Field(default=False, alias="requireLowercase")
    require_uppercase: bool = Field(default=False, alias="requireUppercase")
    require_special_char: bool = Field(default=False, alias="requireSpecialChar")
    verify_email_method: str | None = Field(
        default=None, alias="verifyEmailMethod", description="code or link."
    )
    reset_password_method: str | None = Field(
        default=None, alias="resetPasswordMethod", description="code or link."
    )
    allowed_redirect_urls: list[str] | None = Field(default=None, alias="allowedRedirectUrls")
    disable_signup: bool = Field(default=False, alias="disableSignup")


class TableMetadata(_Open):
    """One table and its approximate row count."""

    table_name: str = Field(alias="tableName")
    record_count: int | float | None = Field(default=None, alias="recordCount")


class DatabaseMetadata(_Open):
    """The database section: tables and total size."""

    tables: list[TableMetadata] = Field(default_factory=list)
    total_size_gb: float | None = Field(default=None, alias="totalSizeInGB")
    hint: str | None = None


class BucketMetadata(_Open):
    """One storage bucket."""

    name: str
    public: bool = False
    created_at: str | None = Field(default=None, alias="createdAt")
    object_count: int | None = Field(default=None, alias="objectCount")


class StorageMetadata(_Open):
    """The storage section: buckets and total size."""

    buckets: list[BucketMetadata] = Field(default_factory=list)
    total_size_gb: float | None = Field(default=None, alias="totalSizeInGB")


class FunctionMetadata(_Open):
    """One edge function."""

    slug: str
    name: str = ""
    description: str | None = None
    status: str = Field(default="", description="draft, active, error, or a newer value.")


class RealtimePolicy(_Open):
    """A row-level security policy that governs a realtime channel."""

    policy_name: str = Field(default="", alias="policyName")
    table_name: str = Field(default="", alias="tableName")
    command: str = ""
    roles: list[str] = Field(default_factory=list)
    using: str | None = None
    with_check: str | None = Field(default=None, alias="withCheck")


class RealtimeChannel(_Open):
    """One realtime channel pattern."""

    id: str | None = None
    pattern: str = ""
    description: str | None = None
    webhook_urls: list[str] | None = Field(default=None, alias="webhookUrls")
    enabled: bool = True
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")


class _PolicyList(_Open):
    policies: list[RealtimePolicy] = Field(default_factory=list)


class RealtimePermissions(_Open):
    """Who may subscribe to and publish on realtime channels."""

    subscribe: _PolicyList = Field(default_factory=_PolicyList)
    publish: _PolicyList = Field(default_factory=_PolicyList)


class RealtimeMetadata(_Open):
    """The realtime section (optional in the document)."""

    channels: list[RealtimeChannel] = Field(default_factory=list)
    permissions: RealtimePermissions = Field(default_factory=RealtimePermissions)


class DeploymentsMetadata(_Open):
    """The deployments section (cloud projects only)."""

    custom_slug: str | None = Field(default=None, alias="customSlug")


class AppMetadata(_Open):
    """The whole metadata document of a project."""

    auth: AuthMetadata = Field(default_factory=AuthMetadata)
    database: DatabaseMetadata = Field(default_factory=DatabaseMetadata)
    storage: StorageMetadata = Field(default_factory=StorageMetadata)
    functions: list[FunctionMetadata] = Field(default_factory=list)
    realtime: RealtimeMetadata = Field(default_factory=RealtimeMetadata)
    deployments: DeploymentsMetadata | None = None
    compute: dict[str, Any] | None = Field(
        default=None, description="Compute providers; absent when the backend has no compute driver."
    )
    version: str | None = None
