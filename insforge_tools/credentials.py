"""The credential store: user API keys, project API keys and access tokens.

Credentials live in one JSON file, written atomically (a temporary file in the
same directory, then ``os.replace``) with mode 0600, so a crash never leaves a
half-written file and no other local user can read it. Values come back as
:class:`~insforge_tools.secrets.Secret` objects.

Entry names are ``<kind>:<scope>``, where the scope is the URL the credential
belongs to, for example ``user_api_key:https://api.insforge.dev``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from insforge_tools.errors import ConfigurationError
from insforge_tools.secrets import Secret

__all__ = ["CredentialKind", "CredentialRecord", "CredentialStore", "default_credentials_path"]

CredentialKind = Literal["user_api_key", "project_api_key", "access_token", "anonymous_api_key"]

_FILE_MODE = 0o600


def default_credentials_path() -> Path:
    """Return the credential file path: ``$INSFORGE_TOOLS_CREDENTIALS`` or the user config folder."""
    configured = os.environ.get("INSFORGE_TOOLS_CREDENTIALS")
    if configured:
        return Path(configured).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "insforge-tools" / "credentials.json"


class CredentialRecord(BaseModel):
    """What the store keeps about one credential, apart from its value."""

    kind: CredentialKind
    scope: str = Field(description="The URL the credential belongs to.")
    registration_id: str | None = None
    expires_at: str | None = Field(default=None, description="ISO 8601 expiry, or null for no expiry.")
    scopes: list[str] = Field(default_factory=list)
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())


class CredentialStore:
    """A JSON file of credentials with atomic, owner-only writes.

    Args:
        path: The file to use. It is created on the first write.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_credentials_path()
        self._lock = threading.Lock()

    @staticmethod
    def entry_name(kind: CredentialKind, scope: str) -> str:
        return f"{kind}:{scope}"

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"The credential file {self.path} is not valid JSON (line {exc.lineno}).",
                next_step="Move the file away and register again; it is not read or changed until then.",
            ) from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"The credential file {self.path} does not contain a JSON object.")
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(prefix=".credentials-", dir=self.path.parent)
        try:
            os.fchmod(handle, _FILE_MODE)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream, indent=2, sort_keys=True)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def put(self, secret: Secret | str, record: CredentialRecord) -> None:
        """Store ``secret`` under ``record.kind`` and ``record.scope``, replacing any older value."""
        value = secret.reveal() if isinstance(secret, Secret) else Secret(secret).reveal()
        with self._lock:
            data = self._read()
            data[self.entry_name(record.kind, record.scope)] = {
                "value": value,
                **record.model_dump(mode="json"),
            }
            self._write(data)

    def get(self, kind: CredentialKind, scope: str) -> Secret | None:
        """Return the stored credential, or ``None`` when there is none."""
        with self._lock:
            entry = self._read().get(self.entry_name(kind, scope))
        if not isinstance(entry, dict) or not isinstance(entry.get("value"), str) or not entry["value"]:
            return None
        return Secret(entry["value"])

    def record(self, kind: CredentialKind, scope: str) -> CredentialRecord | None:
        """Return what is stored about a credential, without its value."""
        with self._lock:
            entry = self._read().get(self.entry_name(kind, scope))
        if not isinstance(entry, dict):
            return None
        fields = {key: value for key, value in entry.items() if key != "value"}
        return CredentialRecord.model_validate(fields)

    def find(self, kind: CredentialKind) -> Iterator[tuple[CredentialRecord, Secret]]:
        """Yield every stored credential of ``kind``, newest first."""
        with self._lock:
            data = self._read()
        entries = [entry for entry in data.values() if isinstance(entry, dict) and entry.get("kind") == kind]
        entries.sort(key=lambda entry: str(entry.get("created_at", "")), reverse=True)
        for entry in entries:
            fields = {key: value for key, value in entry.items() if key != "value"}
            yield CredentialRecord.model_validate(fields), Secret(entry["value"])

    def delete(self, kind: CredentialKind, scope: str) -> bool:
        """Remove a credential; return whether one was stored."""
        with self._lock:
            data = self._read()
            removed = data.pop(self.entry_name(kind, scope), None) is not None
            if removed:
                self._write(data)
        return removed
