"""The CLI's project link file: round trip, self-hosted sentinel, repairs, and key handling."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from insforge_tools.errors import ConfigurationError
from insforge_tools.links import (
    SELF_HOSTED_ORG_ID,
    SELF_HOSTED_PROJECT_ID,
    ProjectLink,
    check_base_url,
    load_project_link,
    project_link_path,
    read_cli_credentials,
    read_project_link,
    self_hosted_link,
    write_project_link,
)
from insforge_tools.secrets import Secret

KEY = "ik_" + "c0ffee" * 5 + "ab"


def _write_raw(workspace: Path, data: dict[str, object]) -> Path:
    path = project_link_path(workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_link_round_trip(workspace: Path) -> None:
    link = self_hosted_link("http://127.0.0.1:7130/", Secret(KEY))
    path = write_project_link(workspace, link)

    # The same fields, order and values as the CLI's own link --api-base-url writes.
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "project_id": SELF_HOSTED_PROJECT_ID,
        "project_name": "oss-project",
        "org_id": SELF_HOSTED_ORG_ID,
        "appkey": "ossfkey",
        "region": "us-test",
        "api_key": KEY,
        "oss_host": "http://127.0.0.1:7130",
    }
    assert list(json.loads(path.read_text(encoding="utf-8")))[0] == "project_id"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    again = read_project_link(workspace)
    assert again is not None
    assert again.is_self_hosted
    assert again.api_key == Secret(KEY)
    assert again.oss_host == "http://127.0.0.1:7130"


def test_link_keeps_unknown_fields(workspace: Path) -> None:
    _write_raw(
        workspace,
        {
            "project_id": "p1",
            "oss_host": "https://a.us-east.insforge.app",
            "api_key": KEY,
            "future_field": [1],
        },
    )
    link = read_project_link(workspace)
    assert link is not None
    write_project_link(workspace, link)
    data = json.loads(project_link_path(workspace).read_text(encoding="utf-8"))
    assert data["future_field"] == [1]
    assert data["api_key"] == KEY


def test_public_view_hides_key(workspace: Path) -> None:
    link = self_hosted_link("https://insforge.example.com", Secret(KEY))
    view = link.public_view()
    assert "api_key" not in view
    assert KEY not in json.dumps(view)
    assert KEY not in repr(link)
    assert KEY not in link.model_dump_json()
    assert view["self_hosted"] is True


def test_missing_link(workspace: Path) -> None:
    assert read_project_link(workspace) is None
    assert load_project_link(workspace) is None


def test_legacy_self_hosted_ids(workspace: Path) -> None:
    # An old CLI wrote placeholder ids and a scheme-less loopback host.
    _write_raw(
        workspace,
        {"project_id": "oss-project", "org_id": "oss-org", "oss_host": "localhost:7130", "api_key": KEY},
    )
    link = load_project_link(workspace)
    assert link is not None
    assert link.project_id == SELF_HOSTED_PROJECT_ID
    assert link.org_id == SELF_HOSTED_ORG_ID
    assert link.oss_host == "http://localhost:7130"

    # The repair is written back, so the CLI reads the same file.
    data = json.loads(project_link_path(workspace).read_text(encoding="utf-8"))
    assert data["project_id"] == SELF_HOSTED_PROJECT_ID
    assert data["oss_host"] == "http://localhost:7130"
    assert data["api_key"] == KEY
    assert stat.S_IMODE(project_link_path(workspace).stat().st_mode) == 0o600


def test_read_does_not_write(workspace: Path) -> None:
    path = _write_raw(workspace, {"project_id": "oss-project", "oss_host": "127.0.0.1:7130", "api_key": KEY})
    before = path.read_text(encoding="utf-8")
    link = read_project_link(workspace)
    assert link is not None
    assert link.oss_host == "http://127.0.0.1:7130"
    assert path.read_text(encoding="utf-8") == before


def test_schemeless_remote_rejected(workspace: Path) -> None:
    _write_raw(
        workspace, {"project_id": SELF_HOSTED_PROJECT_ID, "oss_host": "db.example.com:7130", "api_key": KEY}
    )
    with pytest.raises(ConfigurationError) as caught:
        load_project_link(workspace)
    assert "insforge_link" in caught.value.next_step
    assert "db.example.com:7130" in caught.value.message
    assert caught.value.code == "RELINK_REQUIRED"


def test_schemeless_cloud_rebuilt(workspace: Path) -> None:
    _write_raw(
        workspace,
        {"project_id": "p1", "appkey": "abc123", "region": "us-east", "oss_host": "abc123", "api_key": KEY},
    )
    link = read_project_link(workspace)
    assert link is not None
    assert link.oss_host == "https://abc123.us-east.insforge.app"
    assert not link.is_self_hosted


def test_corrupt_link(workspace: Path) -> None:
    path = project_link_path(workspace)
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        read_project_link(workspace)
    assert "not valid JSON" in caught.value.message


def test_link_without_project_id(workspace: Path) -> None:
    _write_raw(workspace, {"oss_host": "https://x.example.com"})
    with pytest.raises(ConfigurationError):
        read_project_link(workspace)


def test_link_without_key(workspace: Path) -> None:
    _write_raw(workspace, {"project_id": "p1", "oss_host": "https://x.example.com", "api_key": ""})
    link = read_project_link(workspace)
    assert link is not None
    assert link.api_key is None
    assert not link.has_backend_access


@pytest.mark.parametrize(
    ("url", "insecure", "expected"),
    [
        ("https://insforge.example.com/", False, "https://insforge.example.com"),
        ("http://127.0.0.1:7130/", True, "http://127.0.0.1:7130"),
        ("http://localhost:7130", True, "http://localhost:7130"),
        ("http://[::1]:7130", True, "http://[::1]:7130"),
    ],
)
def test_base_url_accepted(url: str, insecure: bool, expected: str) -> None:
    assert check_base_url(url, allow_insecure_loopback=insecure) == expected


@pytest.mark.parametrize(
    ("url", "insecure"),
    [
        ("not a url", True),
        ("localhost:7130", True),
        ("ftp://example.com", True),
        ("http://insforge.example.com", True),
        ("http://127.0.0.1:7130", False),
    ],
)
def test_base_url_rejected(url: str, insecure: bool) -> None:
    with pytest.raises(ConfigurationError):
        check_base_url(url, allow_insecure_loopback=insecure)


def test_cli_credentials_without_tokens(tmp_path: Path) -> None:
    folder = tmp_path / ".insforge"
    folder.mkdir()
    (folder / "credentials.json").write_text(
        json.dumps(
            {
                "access_token": "",
                "refresh_token": "",
                "user_api_key": "uak_test123456",
                "user": {"id": "u1", "name": "Test User", "email": "test@example.com", "avatar_url": None},
            }
        ),
        encoding="utf-8",
    )
    credentials = read_cli_credentials(tmp_path)
    assert credentials.authenticated
    assert credentials.has_user_api_key
    assert credentials.user == {
        "id": "u1",
        "name": "Test User",
        "email": "test@example.com",
        "avatar_url": None,
    }
    assert "uak_test123456" not in credentials.model_dump_json()


def test_cli_credentials_absent(tmp_path: Path) -> None:
    assert not read_cli_credentials(tmp_path).authenticated


def test_project_link_model_secret() -> None:
    link = ProjectLink(project_id="p1", api_key=Secret(KEY), oss_host="https://x.example.com")
    assert link.to_file_data()["api_key"] == KEY
    assert "api_key" not in link.model_dump()
