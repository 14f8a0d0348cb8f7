"""Secret values and the redaction pass.

A :class:`Secret` wraps a credential so that ``repr``, ``str``, f-strings, logs
and exceptions never show it. Every secret that is created is also remembered
(in this process) so that :func:`redact` can remove it from any text, whatever
its format. On top of that, :func:`redact` masks strings that look like InsForge
keys, bearer tokens and JWTs, and JSON fields whose name says they hold a secret.

Every string bound for a model, a log record or an exception goes through
:func:`redact`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any

__all__ = ["Secret", "mask", "redact", "redact_data", "remember_secret"]

# Known credential shapes. Each pattern keeps a short, harmless prefix visible so
# that a reader can still tell which kind of value was removed.
_TOKEN_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"\b(uak_|ik_|anon_|sk_live_|sk_test_|clm_|cvt_)[A-Za-z0-9_\-]{4,}"),
    re.compile(r"\b(at_)[A-Za-z0-9_\-]{16,}"),
    # A compact JWS: three base64url parts, the first starting with '{"' encoded.
    re.compile(r"\b(eyJ)[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9_\-\.~+/]{8,}=*"),
)

# JSON-ish fields whose values are credentials, in both `"key": "value"` and
# `key=value` spellings.
_FIELD_PATTERN = re.compile(
    r"""(?ix)
    (["']?(?:api_?key|user_api_key|access_token|refresh_token|credential|claim_token|assertion|
        password|secret|client_secret|otp)["']?\s*[:=]\s*)
    (["'])(?!\*\*\*)([^"']{3,})(\2)
    """
)

_SECRET_FIELD_NAMES = frozenset(
    {
        "api_key",
        "apikey",
        "user_api_key",
        "access_token",
        "refresh_token",
        "credential",
        "claim_token",
        "assertion",
        "password",
        "secret",
        "client_secret",
        "otp",
        "anonkey",
        "accesstoken",
        "access_api_key",
    }
)

_known_lock = threading.Lock()
_known_secrets: set[str] = set()

REDACTED = "***"


def remember_secret(value: str) -> None:
    """Remember ``value`` so that :func:`redact` removes it from any text.

    Values shorter than 6 characters are not remembered: removing them would
    mangle ordinary words, and they are too short to be credentials.
    """
    if len(value) >= 6:
        with _known_lock:
            _known_secrets.add(value)


def mask(value: str) -> str:
    """Return a short, non-reversible form of ``value`` for display.

    Keeps a recognisable prefix (``uak_``, ``ik_`` …) and the last four
    characters: ``uak_…9f2c``.
    """
    match = re.match(r"^([a-z]{1,6}_(?:test_|live_)?)", value)
    prefix = match.group(1) if match else ""
    if len(value) <= len(prefix) + 8:
        return f"{prefix}{REDACTED}"
    return f"{prefix}…{value[-4:]}"


def redact(text: str) -> str:
    """Remove every known secret and every credential-shaped string from ``text``."""
    if not text:
        return text
    with _known_lock:
        known = sorted(_known_secrets, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, mask(value))
    text = _FIELD_PATTERN.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(4)}", text)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return text


def redact_data(data: Any) -> Any:
    """Return a copy of JSON-like ``data`` with secret fields and values removed.

    Fields whose name says they hold a credential (``api_key``, ``credential``
    …) are replaced by ``"***"``; every other string goes through :func:`redact`.
    """
    if isinstance(data, Mapping):
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            normalised = str(key).lower().replace("-", "_")
            if normalised in _SECRET_FIELD_NAMES and isinstance(value, str) and value:
                cleaned[key] = REDACTED
            else:
                cleaned[key] = redact_data(value)
        return cleaned
    if isinstance(data, list | tuple):
        return [redact_data(item) for item in data]
    if isinstance(data, str):
        return redact(data)
    return data


class Secret:
    """A credential that never shows itself by accident.

    ``str()``, ``repr()`` and formatting return a masked form; the real value is
    only available through :meth:`reveal`, which code calls at the last moment
    (an HTTP header, a CLI argument, the credential file).
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str) or not value:
            raise ValueError("A secret must be a non-empty string.")
        self._value = value
        remember_secret(value)

    def reveal(self) -> str:
        """Return the real value. Call it only where the value must leave the process."""
        return self._value

    @property
    def masked(self) -> str:
        """The display form, such as ``uak_…9f2c``."""
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __str__(self) -> str:
        return self.masked

    def __format__(self, format_spec: str) -> str:
        return format(self.masked, format_spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("Secret values cannot be pickled.")
