"""The credential store: atomic, owner-only writes and masked values."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from insforge_tools.credentials import CredentialRecord, CredentialStore
from insforge_tools.errors import ConfigurationError
from insforge_tools.secrets import Secret


def test_store_round_trip(store: CredentialStore) -> None:
    store.put(
        Secret("uak_roundtripvalue0001"), CredentialRecord(kind="user_api_key", scope="http://127.0.0.1:1")
    )
    value = store.get("user_api_key", "http://127.0.0.1:1")
    assert value is not None
    assert value.reveal() == "uak_roundtripvalue0001"
    assert store.get("user_api_key", "http://127.0.0.1:2") is None


def test_store_file_mode_is_0600(store: CredentialStore) -> None:
    store.put("uak_modecheckvalue0001", CredentialRecord(kind="user_api_key", scope="s"))
    mode = stat.S_IMODE(os.stat(store.path).st_mode)
    assert mode == 0o600


def test_store_leaves_no_temporary_files(store: CredentialStore) -> None:
    for index in range(5):
        store.put(f"uak_manywrites{index:08d}", CredentialRecord(kind="user_api_key", scope=f"s{index}"))
    assert sorted(path.name for path in store.path.parent.iterdir()) == ["credentials.json"]


def test_store_record_has_no_value(store: CredentialStore) -> None:
    store.put(
        "uak_recordvalue00001",
        CredentialRecord(kind="user_api_key", scope="s", registration_id="reg_1", scopes=["api.read"]),
    )
    record = store.record("user_api_key", "s")
    assert record is not None
    assert record.registration_id == "reg_1"
    assert "uak_recordvalue00001" not in record.model_dump_json()


def test_store_find_newest_first(store: CredentialStore) -> None:
    store.put(
        "uak_oldervalue000001", CredentialRecord(kind="user_api_key", scope="a", created_at="2026-01-01")
    )
    store.put(
        "uak_newervalue000001", CredentialRecord(kind="user_api_key", scope="b", created_at="2026-06-01")
    )
    scopes = [record.scope for record, _ in store.find("user_api_key")]
    assert scopes == ["b", "a"]


def test_store_delete(store: CredentialStore) -> None:
    store.put("uak_deletevalue00001", CredentialRecord(kind="user_api_key", scope="s"))
    assert store.delete("user_api_key", "s") is True
    assert store.delete("user_api_key", "s") is False
    assert store.get("user_api_key", "s") is None


def test_store_corrupt_file_is_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text("{not json")
    store = CredentialStore(path)
    with pytest.raises(ConfigurationError) as caught:
        store.get("user_api_key", "s")
    assert "not valid JSON" in str(caught.value)
    assert path.read_text() == "{not json"


def test_store_file_is_json_object(store: CredentialStore) -> None:
    store.put("uak_jsoncheckvalue01", CredentialRecord(kind="project_api_key", scope="http://127.0.0.1:9"))
    data = json.loads(store.path.read_text())
    assert data["project_api_key:http://127.0.0.1:9"]["kind"] == "project_api_key"
