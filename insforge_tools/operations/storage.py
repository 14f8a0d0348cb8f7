"""Storage operations: buckets, object upload and download, listing and deletion.

Object keys are sent as one percent-encoded path component, as JavaScript's
``encodeURIComponent`` encodes them (and as the InsForge JS SDK and the CLI do), so a key
such as ``products/p1/main.jpg`` or ``notes #1?.txt`` reaches the backend unchanged. A
leading ``/`` is removed from every key before use; the results show the key as stored.
"""

from __future__ import annotations

import base64
import binascii
import logging
import mimetypes
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import quote

import anyio
from pydantic import BaseModel, Field, field_validator, model_validator

from insforge_tools.context import Context
from insforge_tools.errors import InvalidInputError, NotFoundError, ServerError
from insforge_tools.links import check_base_url
from insforge_tools.models.storage import (
    BucketInfo,
    BucketResult,
    BucketsResult,
    DownloadResult,
    ObjectDeleteResult,
    ObjectsResult,
    StorageObject,
)
from insforge_tools.operations._common import (
    cli_argv,
    confirm_destructive,
    expect_dict,
    first_of,
    workspace_path,
)
from insforge_tools.registry import operation
from insforge_tools.transports.project import (
    HttpCall,
    call_project,
    http_transport,
    require_link,
    select_transport,
)

__all__ = [
    "MAX_UPLOAD_BYTES",
    "BucketNameArgs",
    "CreateBucketArgs",
    "DeleteObjectArgs",
    "DownloadArgs",
    "ListObjectsArgs",
    "StorageBucketsArgs",
    "UploadArgs",
    "content_type_for",
    "normalize_key",
    "object_path",
    "storage_buckets",
    "storage_create_bucket",
    "storage_delete_bucket",
    "storage_delete_object",
    "storage_download",
    "storage_list_objects",
    "storage_upload",
]

logger = logging.getLogger("insforge_tools.operations.storage")

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""Largest upload sent, in bytes: the backend's default ``maxFileSizeMb`` of 50."""

INLINE_TEXT_BYTES = 64 * 1024
"""Largest download returned inline as text, in bytes; larger objects need ``save_to``."""

_BUCKET_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
_LIST_BUDGET = 4500


# --------------------------------------------------------------------------- keys and paths


def normalize_key(key: str) -> str:
    """Return ``key`` without leading slashes, or raise ``ValueError`` if nothing usable is left."""
    normalized = key.lstrip("/")
    if not normalized:
        raise ValueError("The object key is empty (after removing leading '/').")
    if "\x00" in normalized:
        raise ValueError("The object key must not contain NUL characters.")
    if normalized in (".", ".."):
        raise ValueError("The object key must not be '.' or '..'.")
    return normalized


def object_path(bucket: str, key: str) -> str:
    """Return the backend path of one object, with the key encoded as one component."""
    # The characters encodeURIComponent leaves alone; everything else, '/' included, is escaped.
    encoded = quote(key, safe="-_.!~*'()")
    return f"/api/storage/buckets/{quote(bucket, safe='')}/objects/{encoded}"


def content_type_for(name: str) -> str:
    """Return the content type for a file or key name from its extension."""
    return mimetypes.guess_type(PurePosixPath(name).name)[0] or "application/octet-stream"


def _check_bucket(value: str) -> str:
    if not _BUCKET_PATTERN.match(value):
        raise ValueError("A bucket name may contain only letters, digits, '-' and '_'.")
    return value


def _bucket_path(bucket: str) -> str:
    return f"/api/storage/buckets/{quote(bucket, safe='')}"


# --------------------------------------------------------------------------- arguments


class StorageBucketsArgs(BaseModel):
    """insforge_storage_buckets takes no arguments."""


class BucketNameArgs(BaseModel):
    """Arguments of insforge_storage_delete_bucket."""

    bucket: str = Field(min_length=1, max_length=63, description="The bucket name.")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        return _check_bucket(value)


class CreateBucketArgs(BucketNameArgs):
    """Arguments of insforge_storage_create_bucket."""

    bucket: str = Field(
        min_length=1, max_length=63, description="The new bucket's name: letters, digits, '-' and '_'."
    )
    public: bool = Field(
        default=False,
        description="Let anyone read the objects without a key. Default false (private), although the "
        "backend's own default is public; set true only for files meant to be public.",
    )


class ListObjectsArgs(BucketNameArgs):
    """Arguments of insforge_storage_list_objects."""

    prefix: str | None = Field(default=None, description="Only keys that start with this, such as photos/.")
    search: str | None = Field(
        default=None, description="Only keys that contain this text (case-insensitive)."
    )
    limit: int = Field(default=100, ge=1, le=1000, description="Maximum number of objects to return.")
    offset: int = Field(default=0, ge=0, description="Objects to skip, for paging.")


class UploadArgs(BucketNameArgs):
    """Arguments of insforge_storage_upload: a workspace file or inline content."""

    key: str | None = Field(
        default=None,
        description="The object key; '/' makes folders, such as products/p1/main.jpg. A leading '/' is "
        "removed. Default: the file's name. Required with inline content.",
    )
    path: str | None = Field(
        default=None, description="A file inside the workspace directory to upload (relative or absolute)."
    )
    content: str | None = Field(default=None, description="Inline content to upload instead of a file.")
    encoding: Literal["text", "base64"] = Field(
        default="text", description="How content is written: text (stored as UTF-8) or base64 (binary)."
    )
    content_type: str | None = Field(
        default=None,
        description="The stored content type, such as image/png. "
        "Default: from the extension of the key (or of the file name).",
    )

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        return normalize_key(value) if value is not None else None

    @model_validator(mode="after")
    def _one_source(self) -> UploadArgs:
        if (self.path is None) == (self.content is None):
            raise ValueError("Give either path (a workspace file) or content (inline), not both or neither.")
        if self.content is not None and self.key is None:
            raise ValueError("Inline content needs a key.")
        return self


class DownloadArgs(BucketNameArgs):
    """Arguments of insforge_storage_download."""

    key: str = Field(min_length=1, description="The object key, such as products/p1/main.jpg.")
    save_to: str | None = Field(
        default=None,
        description="A file path inside the workspace to write the object to. Without it, small text "
        "objects are returned inline and anything else is only described.",
    )
    overwrite: bool = Field(default=False, description="Replace save_to if it already exists.")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        return normalize_key(value)


class DeleteObjectArgs(BucketNameArgs):
    """Arguments of insforge_storage_delete_object."""

    key: str = Field(min_length=1, description="The object key to delete.")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        return normalize_key(value)


# --------------------------------------------------------------------------- buckets


def _summarize_buckets(result: BucketsResult) -> str:
    if not result.buckets:
        return "The project has no storage buckets."
    items = ", ".join(f"{b.name} ({'public' if b.public else 'private'})" for b in result.buckets)
    return f"{len(result.buckets)} buckets: {items}"


@operation(
    "insforge_storage_buckets",
    description="List the linked project's storage buckets and whether each is public or private.",
    read_only=True,
    summarize=_summarize_buckets,
)
async def storage_buckets(ctx: Context, args: StorageBucketsArgs) -> BucketsResult:
    """Return the buckets."""
    body = await call_project(
        ctx, cli=cli_argv("storage", "buckets"), http=HttpCall("GET", "/api/storage/buckets")
    )
    if isinstance(body, dict):
        body = body.get("buckets", [])
    if not isinstance(body, list):
        raise ServerError(f"The bucket list response is a JSON {type(body).__name__}, not an array.")
    buckets = [
        BucketInfo(
            name=str(item.get("name")),
            public=bool(first_of(item, "public", "isPublic")),
            created_at=first_of(item, "createdAt", "created_at"),
        )
        for item in body
        if isinstance(item, dict)
    ]
    return BucketsResult(buckets=buckets)


def _summarize_bucket(result: BucketResult) -> str:
    if result.deleted:
        return f"Deleted the bucket {result.bucket} and its objects."
    visibility = "public (anyone can read its objects)" if result.public else "private"
    return f"Created the {visibility} bucket {result.bucket}."


@operation(
    "insforge_storage_create_bucket",
    description="Create a storage bucket. Buckets are private unless public=true is given.",
    summarize=_summarize_bucket,
)
async def storage_create_bucket(ctx: Context, args: CreateBucketArgs) -> BucketResult:
    """Create a bucket with the requested visibility."""
    flag = "--public" if args.public else "--private"
    body = await call_project(
        ctx,
        cli=cli_argv("storage", "create-bucket", options=[flag], positionals=[args.bucket]),
        http=HttpCall(
            "POST", "/api/storage/buckets", json={"bucketName": args.bucket, "isPublic": args.public}
        ),
    )
    data = expect_dict(body, "bucket creation")
    public = data.get("isPublic")
    return BucketResult(
        bucket=str(data.get("bucketName") or args.bucket),
        public=public if isinstance(public, bool) else args.public,
        created=True,
        message=str(data.get("message") or ""),
    )


@operation(
    "insforge_storage_delete_bucket",
    description="Delete a storage bucket and every object in it. Needs a human's approval.",
    destructive=True,
    summarize=_summarize_bucket,
)
async def storage_delete_bucket(ctx: Context, args: BucketNameArgs) -> BucketResult:
    """Delete a bucket, after approval."""
    await confirm_destructive(
        ctx,
        "insforge_storage_delete_bucket",
        f"Delete the storage bucket {args.bucket} and every object in it.",
        bucket=args.bucket,
    )
    body = await call_project(
        ctx,
        cli=cli_argv("storage", "delete-bucket", options=["-y"], positionals=[args.bucket]),
        http=HttpCall("DELETE", _bucket_path(args.bucket)),
        destructive=True,
    )
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    return BucketResult(bucket=args.bucket, deleted=True, message=message)


# --------------------------------------------------------------------------- objects


def _storage_object(item: dict[str, Any], bucket: str) -> StorageObject:
    return StorageObject(
        bucket=str(item.get("bucket") or bucket),
        key=str(item.get("key")),
        size=item.get("size") if isinstance(item.get("size"), int) else None,
        mime_type=first_of(item, "mimeType", "mime_type"),
        uploaded_at=first_of(item, "uploadedAt", "uploaded_at"),
        url=item.get("url"),
    )


def _summarize_objects(result: ObjectsResult) -> str:
    if not result.objects:
        return (
            f"No objects in bucket {result.bucket} match (an unknown bucket also lists as empty; "
            "check the name with insforge_storage_buckets)."
        )
    total = result.total if result.total is not None else len(result.objects)
    lines = [f"{total} objects in {result.bucket}:"]
    used = len(lines[0])
    shown = 0
    for item in result.objects:
        line = f"  {item.key} ({item.size if item.size is not None else '?'} bytes, {item.mime_type or '?'})"
        if used + len(line) > _LIST_BUDGET:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    if shown < total:
        lines.append(
            f"[showing {shown} of {total}, from offset {result.offset}; use offset, limit, prefix or search]"
        )
    return "\n".join(lines)


@operation(
    "insforge_storage_list_objects",
    description="List the objects in a bucket, optionally only keys with a prefix or containing a text, "
    "with paging.",
    read_only=True,
    summarize=_summarize_objects,
)
async def storage_list_objects(ctx: Context, args: ListObjectsArgs) -> ObjectsResult:
    """Return one page of a bucket's objects."""
    params: list[tuple[str, str]] = [("limit", str(args.limit)), ("offset", str(args.offset))]
    options = ["--limit", str(args.limit), "--offset", str(args.offset)]
    if args.prefix:
        params.append(("prefix", args.prefix))
        options += ["--prefix", args.prefix]
    if args.search:
        params.append(("search", args.search))
        options += ["--search", args.search]

    body = await call_project(
        ctx,
        cli=cli_argv("storage", "list-objects", options=options, positionals=[args.bucket]),
        http=HttpCall("GET", f"{_bucket_path(args.bucket)}/objects", params=params),
    )
    if isinstance(body, list):
        body = {"data": body}
    data = expect_dict(body, "object list")
    items = first_of(data, "data", "objects") or []
    pagination = data.get("pagination")
    if not isinstance(pagination, dict):
        pagination = {}
    if not items and args.offset == 0:
        # The backend lists an unknown bucket as empty (200), so an empty first page
        # is checked against the bucket list to tell "no objects" from "no bucket".
        buckets = await storage_buckets(ctx, StorageBucketsArgs())
        if args.bucket not in {bucket.name for bucket in buckets.buckets}:
            raise NotFoundError(
                f"The bucket {args.bucket!r} does not exist.",
                code="STORAGE_NOT_FOUND",
                next_step="List the buckets with insforge_storage_buckets, or create it with "
                "insforge_storage_create_bucket.",
            )
    return ObjectsResult(
        bucket=args.bucket,
        objects=[_storage_object(item, args.bucket) for item in items if isinstance(item, dict)],
        total=pagination.get("total"),
        offset=pagination.get("offset", args.offset),
        limit=pagination.get("limit", args.limit),
    )


async def _upload_bytes(ctx: Context, args: UploadArgs) -> tuple[bytes, str, Path | None]:
    """Return the bytes to upload, the key and the source file (None for inline content)."""
    if args.path is not None:
        source = workspace_path(ctx, args.path, what="upload file")
        if not await anyio.Path(source).is_file():
            raise InvalidInputError(
                f"The upload file {args.path!r} does not exist or is not a file.",
                next_step="Check the path; relative paths start at the workspace directory.",
            )
        size = (await anyio.Path(source).stat()).st_size
        _check_size(size, args.path)
        data = await anyio.Path(source).read_bytes()
        return data, args.key or source.name, source

    assert args.content is not None and args.key is not None
    if args.encoding == "base64":
        try:
            data = base64.b64decode(args.content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInputError(
                "The content is not valid base64.",
                next_step="Send base64 text (A-Z, a-z, 0-9, +, /, = padding) or use encoding text.",
            ) from None
    else:
        data = args.content.encode("utf-8")
    _check_size(len(data), f"inline content for {args.key}")
    return data, args.key, None


def _check_size(size: int, what: str) -> None:
    if size > MAX_UPLOAD_BYTES:
        raise InvalidInputError(
            f"The {what} is {size} bytes, more than the upload limit of {MAX_UPLOAD_BYTES} bytes "
            f"({MAX_UPLOAD_BYTES // (1024 * 1024)} MB).",
            code="PAYLOAD_TOO_LARGE",
            next_step="Upload a smaller file, or split it into several objects.",
        )


def _summarize_upload(result: StorageObject) -> str:
    size = f"{result.size} bytes" if result.size is not None else "unknown size"
    kind = result.mime_type or "unknown type"
    return f"Uploaded {result.bucket}/{result.key} ({size}, {kind}). URL: {result.url}"


@operation(
    "insforge_storage_upload",
    description="Upload a workspace file or inline text/base64 content to a bucket under a key "
    "(keys may contain '/'). An existing object with the same key is replaced.",
    summarize=_summarize_upload,
)
async def storage_upload(ctx: Context, args: UploadArgs) -> StorageObject:
    """Upload one object and return it as stored."""
    data, key, source = await _upload_bytes(ctx, args)
    content_type = args.content_type or content_type_for(key)
    filename = PurePosixPath(key).name

    link = require_link(ctx)
    chosen = select_transport(ctx, link, has_cli=True, has_http=True)
    if chosen == "http":
        body = await call_project(
            ctx,
            cli=None,
            http=HttpCall(
                "PUT", object_path(args.bucket, key), files={"file": (filename, data, content_type)}
            ),
        )
    else:
        body = await _upload_through_cli(ctx, args.bucket, key, content_type, data, source, filename)
    return _storage_object(expect_dict(body, "upload"), args.bucket)


async def _upload_through_cli(
    ctx: Context, bucket: str, key: str, content_type: str, data: bytes, source: Path | None, filename: str
) -> Any:
    options = ["--bucket", bucket, f"--key={key}", "--content-type", content_type]
    if source is not None:
        return await call_project(
            ctx, cli=cli_argv("storage", "upload", options=options, positionals=[str(source)]), http=None
        )

    # The CLI uploads files only, so inline content goes through a private temporary file.
    folder = Path(tempfile.mkdtemp(prefix="insforge-upload-"))
    try:
        temporary = folder / (filename if filename not in ("", ".", "..") else "content")
        await anyio.Path(temporary).write_bytes(data)
        return await call_project(
            ctx, cli=cli_argv("storage", "upload", options=options, positionals=[str(temporary)]), http=None
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _with_key(exc: NotFoundError, bucket: str, key: str) -> NotFoundError:
    return NotFoundError(
        f"The object {key!r} was not found in the bucket {bucket!r} "
        f"(requested as {object_path(bucket, key)}): {exc.message}",
        code=exc.code,
        status=exc.status,
        exit_code=exc.exit_code,
        next_step="List the bucket's objects with insforge_storage_list_objects and check the key.",
    )


def _summarize_download(result: DownloadResult) -> str:
    head = f"{result.bucket}/{result.key}: {result.size} bytes, {result.content_type or 'unknown type'}."
    if result.saved_to:
        return f"{head} Saved to {result.saved_to}."
    if result.text is not None:
        return f"{head}\n{result.text}"
    return f"{head} {result.note or ''}".strip()


def _download_result(
    args: DownloadArgs, data: bytes, content_type: str | None, saved: Path | None
) -> DownloadResult:
    result = DownloadResult(bucket=args.bucket, key=args.key, size=len(data), content_type=content_type)
    if saved is not None:
        result.saved_to = str(saved)
        return result
    if len(data) > INLINE_TEXT_BYTES:
        result.note = (
            f"The object is larger than {INLINE_TEXT_BYTES} bytes, so it is not shown; "
            "call again with save_to to write it to a workspace file."
        )
        return result
    try:
        result.text = data.decode("utf-8")
    except UnicodeDecodeError:
        result.note = (
            "The object is binary, so it is not shown; call again with save_to to write it to a file."
        )
    return result


@operation(
    "insforge_storage_download",
    description="Download an object: save it to a workspace file (save_to), or get small text objects "
    "inline. Binary content is never returned inline.",
    summarize=_summarize_download,
)
async def storage_download(ctx: Context, args: DownloadArgs) -> DownloadResult:
    """Download one object to a workspace file or into the result."""
    target = None
    if args.save_to is not None:
        target = workspace_path(ctx, args.save_to, what="download target")
        if await anyio.Path(target).exists() and not args.overwrite:
            raise InvalidInputError(
                f"The download target {args.save_to!r} already exists.",
                next_step="Pick another path, or set overwrite to true to replace it.",
            )

    link = require_link(ctx)
    chosen = select_transport(ctx, link, has_cli=True, has_http=True)
    try:
        if chosen == "http":
            check_base_url(link.oss_host, allow_insecure_loopback=ctx.settings.allow_insecure_loopback)
            logger.info("Project call over HTTP: GET %s", object_path(args.bucket, args.key))
            response = await http_transport(ctx).request(
                "GET",
                link.oss_host,
                object_path(args.bucket, args.key),
                api_key=link.api_key,
                response_kind="bytes",
            )
            data = response.body
            content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
        else:
            data = await _download_through_cli(ctx, args.bucket, args.key)
            content_type = content_type_for(args.key)
    except NotFoundError as exc:
        raise _with_key(exc, args.bucket, args.key) from None

    if target is not None:
        await anyio.Path(target.parent).mkdir(parents=True, exist_ok=True)
        await anyio.Path(target).write_bytes(data)
    return _download_result(args, data, content_type, target)


async def _download_through_cli(ctx: Context, bucket: str, key: str) -> bytes:
    # The CLI always writes a file; it goes to a private temporary folder and is read back.
    folder = Path(tempfile.mkdtemp(prefix="insforge-download-"))
    try:
        output = folder / "object"
        await call_project(
            ctx,
            cli=cli_argv(
                "storage",
                "download",
                options=["--bucket", bucket, "--output", str(output)],
                positionals=[key],
            ),
            http=None,
        )
        return await anyio.Path(output).read_bytes()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _summarize_delete_object(result: ObjectDeleteResult) -> str:
    return f"Deleted {result.bucket}/{result.key}."


@operation(
    "insforge_storage_delete_object",
    description="Delete one object from a bucket. Needs a human's approval.",
    destructive=True,
    summarize=_summarize_delete_object,
)
async def storage_delete_object(ctx: Context, args: DeleteObjectArgs) -> ObjectDeleteResult:
    """Delete one object, after approval."""
    await confirm_destructive(
        ctx,
        "insforge_storage_delete_object",
        f"Delete the object {args.key} from the bucket {args.bucket}.",
        bucket=args.bucket,
        key=args.key,
    )
    # The CLI has no command to delete one object, so this request goes over HTTP.
    try:
        body = await call_project(
            ctx, cli=None, http=HttpCall("DELETE", object_path(args.bucket, args.key)), destructive=True
        )
    except NotFoundError as exc:
        raise _with_key(exc, args.bucket, args.key) from None
    message = str(body.get("message") or "") if isinstance(body, dict) else ""
    return ObjectDeleteResult(bucket=args.bucket, key=args.key, message=message)
