"""Typed results of the storage operations: buckets and objects."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = [
    "BucketInfo",
    "BucketResult",
    "BucketsResult",
    "DownloadResult",
    "ObjectDeleteResult",
    "ObjectsResult",
    "StorageObject",
]


class BucketInfo(BaseModel):
    """One storage bucket."""

    name: str
    public: bool = Field(description="Whether objects can be read without a key.")
    created_at: str | None = Field(default=None, description="When the bucket was created (ISO 8601).")


class BucketsResult(BaseModel):
    """The project's storage buckets."""

    buckets: list[BucketInfo] = Field(default_factory=list)


class BucketResult(BaseModel):
    """The outcome of creating or deleting a bucket."""

    bucket: str
    public: bool | None = Field(default=None, description="The bucket's visibility, when it was created.")
    created: bool = False
    deleted: bool = False
    message: str = Field(default="", description="The backend's message.")


class StorageObject(BaseModel):
    """One stored object (also the result of an upload)."""

    bucket: str
    key: str = Field(description="The object key exactly as stored; it may contain '/'.")
    size: int | None = Field(default=None, description="Size in bytes.")
    mime_type: str | None = Field(default=None, description="The stored content type.")
    uploaded_at: str | None = Field(default=None, description="When the object was stored (ISO 8601).")
    url: str | None = Field(default=None, description="The object's URL on the backend.")


class ObjectsResult(BaseModel):
    """One page of a bucket's objects."""

    bucket: str
    objects: list[StorageObject] = Field(default_factory=list)
    total: int | None = Field(default=None, description="Objects that match, over all pages.")
    offset: int = 0
    limit: int = 100


class DownloadResult(BaseModel):
    """A downloaded object: saved to a file, returned as text, or described when it is binary."""

    bucket: str
    key: str
    size: int = Field(description="Size in bytes.")
    content_type: str | None = None
    saved_to: str | None = Field(default=None, description="The workspace file the bytes were written to.")
    text: str | None = Field(default=None, description="The content, when it is small UTF-8 text.")
    note: str | None = Field(default=None, description="Why the content is not shown, if it is not.")


class ObjectDeleteResult(BaseModel):
    """The outcome of deleting one object."""

    bucket: str
    key: str
    deleted: bool = True
    message: str = ""
