"""Secret wrapping and the redaction pass."""

from __future__ import annotations

import json
import logging
import pickle

import pytest

from insforge_tools.errors import AuthError
from insforge_tools.secrets import Secret, mask, redact, redact_data


def test_secret_repr_and_str_are_masked() -> None:
    secret = Secret("uak_abcdefghijklmnopqrstuvwxyz123456")
    assert "abcdefghijklmnop" not in repr(secret)
    assert "abcdefghijklmnop" not in str(secret)
    assert "abcdefghijklmnop" not in f"{secret}"
    assert str(secret) == "uak_…3456"
    assert secret.reveal() == "uak_abcdefghijklmnopqrstuvwxyz123456"


def test_secret_cannot_be_pickled() -> None:
    with pytest.raises(TypeError):
        pickle.dumps(Secret("ik_0123456789abcdef0123456789abcdef"))


def test_secret_rejects_empty_value() -> None:
    with pytest.raises(ValueError):
        Secret("")


def test_redact_removes_remembered_secret_of_any_shape() -> None:
    value = "plain-looking-credential-7f3a9b"
    Secret(value)
    assert value not in redact(f"the key is {value}.")


@pytest.mark.parametrize(
    "text",
    [
        "key uak_SECRETVALUE1234567890",
        "admin ik_0123456789abcdef0123456789abcdef",
        "anon anon_eyJhbGciOiJIUzI1NiJ9xyz",
        "Authorization: Bearer sometokenvalue123456",
        "jwt eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlX2J5dGVz",
        "claim clm_0123456789abcdef",
        "reference key sk_test_NeSEO1BfNlsE5shnzaGzHabwHak",
    ],
)
def test_redact_masks_credential_shapes(text: str) -> None:
    redacted = redact(text)
    secret_part = text.split()[-1]
    assert secret_part not in redacted
    assert "***" in redacted or "…" in redacted


def test_redact_masks_api_key_json_field() -> None:
    raw = '{"project":{"project_id":"proj-123","api_key":"ik_SECRETVALUE","oss_host":"https://demo.insforge.example"}}'
    redacted = redact(raw)
    assert "ik_SECRETVALUE" not in redacted
    assert "proj-123" in redacted


def test_redact_data_replaces_secret_fields() -> None:
    data = {"project": {"api_key": "ik_SECRETVALUE", "name": "demo"}, "rows": [{"note": "uak_abcdefgh12345"}]}
    cleaned = redact_data(data)
    assert cleaned["project"]["api_key"] == "***"
    assert cleaned["project"]["name"] == "demo"
    assert "uak_abcdefgh12345" not in json.dumps(cleaned)


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "SELECT id, title FROM todos WHERE done = true"
    assert redact(text) == text


def test_mask_keeps_prefix_and_tail() -> None:
    assert mask("uak_0123456789abcdef") == "uak_…cdef"
    assert mask("short") == "***"


def test_error_message_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    error = AuthError("Key uak_LEAKEDKEY123456 was rejected.")
    logging.getLogger("insforge_tools.test").error("failed: %s", error)
    assert "uak_LEAKEDKEY123456" not in str(error)
    assert "uak_LEAKEDKEY123456" not in caplog.text


def test_error_message_is_capped() -> None:
    error = AuthError("x" * 100_000)

    assert len(error.message) < 4100
    assert error.message.endswith("[message cut: 100000 characters in all]")
