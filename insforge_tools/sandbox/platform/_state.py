"""In-memory state of the platform stand-in: users, registrations, credentials, claims, mail.

Handlers run on the server's event loop while tests read the same objects from
their own thread, so every change and every compound read takes ``state.lock``.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from insforge_tools.sandbox.platform._config import PlatformConfig

__all__ = [
    "ClaimAttempt",
    "Credential",
    "InjectedError",
    "Mailbox",
    "PlatformState",
    "Registration",
    "ReplayCache",
    "User",
    "isoformat",
]

logger = logging.getLogger("insforge_tools.sandbox.platform")

# Length of the random part of a user API key, in characters (``uak_`` + 32).
API_KEY_RANDOM_CHARS = 32


def isoformat(timestamp: float) -> str:
    """Format a POSIX time as ISO 8601 UTC with milliseconds and ``Z``, as the reference service does."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def random_token(prefix: str, chars: int) -> str:
    """Return ``prefix`` followed by ``chars`` random base64url characters."""
    # token_urlsafe(n) yields ceil(4n/3) characters, so ask for enough bytes and cut.
    return prefix + secrets.token_urlsafe(chars)[:chars]


@dataclass
class User:
    """A platform account."""

    id: str
    email: str | None
    name: str
    email_verified: bool

    def profile(self) -> dict[str, Any]:
        """Return the body of ``GET /auth/v1/profile`` (the InsForge CLI's user shape)."""
        return {
            "id": self.id,
            "name": self.name,
            "email": self.email,
            "avatar_url": None,
            "email_verified": self.email_verified,
        }

    def summary(self) -> dict[str, Any]:
        """Return the ``user`` member of a protected-resource response."""
        return {"id": self.id, "email": self.email, "name": self.name, "email_verified": self.email_verified}


@dataclass
class Registration:
    """One ``POST /agent/auth`` registration.

    ``type`` is ``agent-provider`` (ID-JAG), ``anonymous`` or ``email-verification``.
    """

    id: str
    type: str
    created_at: float
    user_id: str | None = None
    requested_credential_type: str = "api_key"
    expires_at: float | None = None
    claim_token: str | None = None
    claimed: bool = False
    email: str | None = None
    iss: str | None = None
    sub: str | None = None
    aud: str | None = None


@dataclass
class ClaimAttempt:
    """One claim attempt: the emailed view link and the one-time code it reveals."""

    id: str
    registration_id: str
    email: str
    view_token: str | None
    expires_at: float
    otp: str | None = None
    otp_expires_at: float | None = None
    failed_otp_attempts: int = 0


@dataclass
class Credential:
    """An issued credential (user API key or access token)."""

    value: str
    type: str
    scopes: list[str]
    source: str
    registration_id: str
    user_id: str | None
    issued_at: float
    expires_at: float | None = None
    revoked: bool = False
    iss: str | None = None
    sub: str | None = None
    aud: str | None = None

    def describe(self) -> dict[str, Any]:
        """Return the ``credential`` member of a protected-resource response."""
        description: dict[str, Any] = {"type": self.type, "scope": list(self.scopes), "source": self.source}
        if self.source == "identity_assertion":
            description.update({"iss": self.iss, "sub": self.sub, "aud": self.aud})
        else:
            description["registration_id"] = self.registration_id
        return description


@dataclass
class InjectedError:
    """An error response that replaces the normal response of the next matching requests."""

    code: str
    status: int
    retry_after: int | None
    remaining: int
    path: str | None = None


class ReplayCache:
    """Token ids seen recently, each kept until a given time."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, str], float] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def check_and_record(self, key: tuple[str, str, str], keep_until: float, now: float) -> bool:
        """Record ``key`` and return ``True``, or return ``False`` when it is already recorded."""
        expired = [entry for entry, until in self._entries.items() if until <= now]
        for entry in expired:
            del self._entries[entry]
        if key in self._entries:
            return False
        self._entries[key] = keep_until
        return True


class Mailbox:
    """Claim emails, one JSON document per registration, optionally mirrored to a directory."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._messages: dict[str, dict[str, Any]] = {}
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def write(self, registration_id: str, message: dict[str, Any]) -> None:
        """Store ``message`` as the current email for ``registration_id`` (replacing an older one)."""
        self._messages[registration_id] = dict(message)
        if self.directory is None:
            return

        # Write to a temporary file and rename, so a reader never sees half a document.
        target = self.directory / f"{registration_id}.json"
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".mail-", suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(message, stream, indent=2)
        os.replace(temporary, target)

    def read(self, registration_id: str) -> dict[str, Any] | None:
        """Return the current email for ``registration_id``, or ``None``."""
        message = self._messages.get(registration_id)
        return dict(message) if message is not None else None

    @property
    def messages(self) -> dict[str, dict[str, Any]]:
        """Every current email by registration id (a copy)."""
        return {key: dict(value) for key, value in self._messages.items()}


@dataclass
class PlatformState:
    """Everything the stand-in remembers; exposed to tests as ``app.state.platform``."""

    config: PlatformConfig
    users: dict[str, User] = field(default_factory=dict)
    registrations: dict[str, Registration] = field(default_factory=dict)
    credentials: dict[str, Credential] = field(default_factory=dict)
    claim_attempts: dict[str, ClaimAttempt] = field(default_factory=dict)
    delegations: dict[tuple[str, str], str] = field(default_factory=dict)
    injected_errors: list[InjectedError] = field(default_factory=list)
    replay_cache: ReplayCache = field(default_factory=ReplayCache)
    lock: threading.RLock = field(default_factory=threading.RLock)
    mailbox: Mailbox = field(init=False)

    def __post_init__(self) -> None:
        self.mailbox = Mailbox(self.config.mail_dir)

    # -- inspection and fault injection ---------------------------------------------------------

    @property
    def revoked_keys(self) -> list[str]:
        """Values of every revoked credential."""
        with self.lock:
            return [credential.value for credential in self.credentials.values() if credential.revoked]

    def issue_error(
        self,
        code: str,
        status: int,
        retry_after: int | None = None,
        count: int = 1,
        *,
        path: str | None = None,
    ) -> None:
        """Queue an error response for the next ``count`` requests (to ``path`` only, when given).

        The body follows the configured error style; ``retry_after`` adds a
        ``Retry-After`` header in seconds.
        """
        with self.lock:
            self.injected_errors.append(InjectedError(code, status, retry_after, count, path))

    def take_injected_error(self, path: str) -> InjectedError | None:
        """Consume one pending injected error that applies to ``path``."""
        with self.lock:
            for injected in self.injected_errors:
                if injected.path is None or injected.path == path:
                    injected.remaining -= 1
                    if injected.remaining <= 0:
                        self.injected_errors.remove(injected)
                    return injected
        return None

    # -- users ----------------------------------------------------------------------------------

    def add_user(self, *, email: str | None, name: str, email_verified: bool) -> User:
        """Create a user with a fresh id."""
        with self.lock:
            user = User(id=f"user_{uuid.uuid4()}", email=email, name=name, email_verified=email_verified)
            self.users[user.id] = user
            return user

    def find_verified_user(self, email: str) -> User | None:
        """Return the email-verified user with ``email`` (case-insensitive), if any."""
        wanted = email.casefold()
        with self.lock:
            for user in self.users.values():
                if user.email_verified and user.email is not None and user.email.casefold() == wanted:
                    return user
        return None

    # -- credentials ----------------------------------------------------------------------------

    def issue_credential(
        self,
        registration: Registration,
        *,
        credential_type: str,
        scopes: list[str],
        source: str,
    ) -> Credential:
        """Create and store a credential for ``registration``."""
        now = self.config.clock()
        if credential_type == "access_token":
            value = random_token("at_", 32)
            expires_at: float | None = now + self.config.access_token_ttl
        else:
            value = random_token("uak_", API_KEY_RANDOM_CHARS)
            expires_at = None

        credential = Credential(
            value=value,
            type=credential_type,
            scopes=list(scopes),
            source=source,
            registration_id=registration.id,
            user_id=registration.user_id,
            issued_at=now,
            expires_at=expires_at,
            iss=registration.iss,
            sub=registration.sub,
            aud=registration.aud,
        )
        with self.lock:
            self.credentials[value] = credential
        return credential

    def live_credential(self, value: str) -> Credential | None:
        """Return the credential ``value`` if it exists, is not revoked and has not expired."""
        with self.lock:
            credential = self.credentials.get(value)
        if credential is None or credential.revoked:
            return None
        if credential.expires_at is not None and credential.expires_at <= self.config.clock():
            return None
        return credential

    def credentials_of(self, registration_id: str) -> list[Credential]:
        """Return every credential issued for a registration."""
        with self.lock:
            return [item for item in self.credentials.values() if item.registration_id == registration_id]

    def revoke_delegation(self, iss: str, sub: str, aud: str) -> int:
        """Revoke every live credential obtained with an ID-JAG for (``iss``, ``sub``, ``aud``)."""
        count = 0
        with self.lock:
            for credential in self.credentials.values():
                matches = (credential.iss, credential.sub, credential.aud) == (iss, sub, aud)
                if matches and not credential.revoked:
                    credential.revoked = True
                    count += 1
        return count

    def user_of(self, credential: Credential) -> User | None:
        """Return the user a credential acts for, or ``None``."""
        with self.lock:
            return self.users.get(credential.user_id) if credential.user_id else None
