"""The stand-in CLI as a subprocess against a running sandbox: platform, backend stand-in and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from insforge_tools.sandbox import Sandbox
from insforge_tools.sandbox.platform import ID_JAG

pytestmark = pytest.mark.sandbox

REFERENCE_TRANSCRIPT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "cli-transcript.json"
BUNDLED_TRANSCRIPT = Path(__file__).parent / "data" / "cli-transcript.json"


def load_transcript() -> dict[str, dict[str, Any]]:
    """Return the recorded runs of the real CLI 0.2.8 by case name (empty when no copy is present)."""
    for path in (BUNDLED_TRANSCRIPT, REFERENCE_TRANSCRIPT):
        if path.exists():
            return {entry["case"]: entry for entry in json.loads(path.read_text(encoding="utf-8"))}
    return {}


TRANSCRIPT = load_transcript()


def recorded(name: str) -> dict[str, Any]:
    if name not in TRANSCRIPT:
        pytest.skip(f"the recorded CLI transcript has no case {name!r}")
    return TRANSCRIPT[name]


def recorded_json(name: str) -> Any:
    return json.loads(recorded(name)["stdout"])


def shape(value: Any) -> Any:
    """Reduce JSON to its structure: object keys in order, array item shapes and scalar kinds."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


@dataclass
class StandinCli:
    """A runner of the stand-in CLI in one project directory with its own HOME."""

    sandbox: Sandbox
    project: Path
    home: Path

    def run(self, *argv: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("INSFORGE_")}
        env.update(
            {
                "HOME": str(self.home),
                "INSFORGE_API_URL": self.sandbox.platform_url,
                "BROWSER": "true",
                "INSFORGE_STANDIN_LOGIN_WAIT": "0.2",
                "INSFORGE_STANDIN_POLL_INTERVAL": "0.05",
                **extra_env,
            }
        )
        return subprocess.run(
            [*self.sandbox.cli_command, *argv],
            cwd=self.project,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    def json(self, *argv: str) -> Any:
        """Run a command with ``--json`` that must succeed and return its stdout parsed."""
        result = self.run(*argv, "--json")
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
        assert result.stderr == "", argv
        return json.loads(result.stdout)

    def fails(self, *argv: str, exit_code: int = 1) -> subprocess.CompletedProcess[str]:
        """Run a command with ``--json`` that must fail with ``exit_code``."""
        result = self.run(*argv, "--json")
        assert result.returncode == exit_code, (argv, result.stdout, result.stderr)
        return result


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


@pytest.fixture(scope="module")
def cli(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> StandinCli:
    root = tmp_path_factory.mktemp("standin-cli")
    (root / "project").mkdir()
    (root / "home").mkdir()
    return StandinCli(sandbox, root / "project", root / "home")


@pytest.fixture(scope="module")
def linked(cli: StandinCli) -> subprocess.CompletedProcess[str]:
    """The project directory linked to the backend stand-in; the result of ``link``."""
    result = cli.run(
        "link", "--api-base-url", cli.sandbox.backend_url + "/", "--api-key", cli.sandbox.api_key, "--json"
    )
    assert result.returncode == 0, result.stderr
    return result


# --- link and context ------------------------------------------------------------------------


def test_link_direct(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    assert linked.stdout == recorded("link self-hosted")["stdout"]
    assert linked.stderr == ""

    project_file = cli.project / ".insforge" / "project.json"
    written = json.loads(project_file.read_text())
    expected = dict(recorded("project.json written by link")["content"])
    expected.update(api_key=cli.sandbox.api_key, oss_host=cli.sandbox.backend_url)
    assert written == expected
    assert oct(project_file.stat().st_mode & 0o777) == "0o600"
    assert (cli.project / ".gitignore").exists()
    assert (cli.project / "AGENTS.md").exists()


def test_current_unauthenticated(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    result = cli.run("current", "--json")
    expected = recorded("current")["stdout"].replace("http://127.0.0.1:7130", cli.sandbox.backend_url)
    assert result.returncode == 0
    assert result.stdout == expected


def test_metadata_shape(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    cli.json("db", "query", "create table if not exists meta_probe (id serial primary key, note text)")
    cli.json("storage", "create-bucket", "meta-probe", "--private")

    body = cli.json("metadata")
    reference = recorded_json("metadata")
    assert shape(body["auth"]) == shape(reference["auth"])
    assert list(body) == list(reference)
    assert shape(body["database"]["tables"]) == shape(reference["database"]["tables"])
    assert {"tableName": "meta_probe", "recordCount": 0} in body["database"]["tables"]
    assert shape(body["storage"]["buckets"]) == shape(reference["storage"]["buckets"])
    assert [bucket["name"] for bucket in body["storage"]["buckets"]] == ["meta-probe"]
    assert body["storage"]["buckets"][0]["public"] is False
    assert body["realtime"] == reference["realtime"]

    cli.json("storage", "delete-bucket", "meta-probe", "-y")
    cli.json("db", "query", "drop table meta_probe")


# --- database ------------------------------------------------------------------------------------


def test_db_query_recorded(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    for name in (
        "db query create table",
        "db query insert returning",
        "db query ok",
        "db query multi statement",
    ):
        entry = recorded(name)
        result = cli.run(*entry["argv"][1:])
        assert result.returncode == 0, (name, result.stderr)
        assert result.stdout == entry["stdout"], name
        assert result.stderr == "", name

    for name in ("db query syntax error", "db query unknown table", "db query not null violation"):
        entry = recorded(name)
        result = cli.run(*entry["argv"][1:])
        assert result.returncode == entry["exit"], name
        assert result.stdout == "", name
        assert result.stderr == entry["stderr"], name

    assert "cli_probe" in cli.json("db", "tables")
    cli.json("db", "query", "drop table cli_probe")
    assert "cli_probe" not in cli.json("db", "tables")


def test_db_tables_sorted(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    cli.json("db", "query", "create table zeta_t (id int)")
    cli.json("db", "query", "create table alpha_t (id int)")
    tables = cli.json("db", "tables")
    assert tables.index("alpha_t") < tables.index("zeta_t")
    assert shape(tables) == shape(recorded_json("db tables"))
    cli.json("db", "query", "drop table zeta_t, alpha_t")


def test_db_query_missing_argument(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    entry = recorded("db query missing argument")
    result = cli.run(*entry["argv"][1:])
    assert result.returncode == entry["exit"]
    assert result.stderr == entry["stderr"]


# --- records -------------------------------------------------------------------------------------


def test_records_list_filters(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    cli.json(
        "db", "query", "create table rec_list (id serial primary key, title text not null, done boolean)"
    )
    cli.json(
        "db", "query", "insert into rec_list (title, done) values ('a', false), ('b', true), ('c', true)"
    )

    everything = cli.json("records", "list", "rec_list")
    assert everything == [
        {"id": 1, "title": "a", "done": False},
        {"id": 2, "title": "b", "done": True},
        {"id": 3, "title": "c", "done": True},
    ]
    assert shape(everything) == shape(recorded_json("records list"))
    assert cli.json("records", "list", "rec_list", "--filter", "id=eq.2") == [everything[1]]
    done = cli.json(
        "records", "list", "rec_list", "--filter", "done=is.true", "--order", "id.desc", "--limit", "1"
    )
    assert done == [everything[2]]
    assert cli.json("records", "list", "rec_list", "--select", "title", "--offset", "2") == [{"title": "c"}]
    assert cli.json("records", "list", "rec_list", "--filter", "title=in.(a,c)") == [
        everything[0],
        everything[2],
    ]

    unknown = cli.fails("records", "list", "no_such_table")
    assert json.loads(unknown.stderr) == {"error": 'relation "public.no_such_table" does not exist'}
    cli.json("db", "query", "drop table rec_list")


def test_records_create_update_delete(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    cli.json(
        "db", "query", "create table rec_write (id serial primary key, title text not null, done boolean)"
    )

    # CLI 0.2.8 requests the rows with a `return=representation` query parameter, not the
    # Prefer header, so PostgREST answers an insert with an empty list.
    assert cli.json("records", "create", "rec_write", "--data", '{"title": "one", "done": false}') == []
    assert (
        cli.json("records", "create", "rec_write", "--data", '[{"title": "two"}, {"title": "three"}]') == []
    )
    rows = cli.json("records", "list", "rec_write", "--order", "id")
    assert [row["title"] for row in rows] == ["one", "two", "three"]

    invalid = cli.fails("records", "create", "rec_write", "--data", "{not json")
    assert json.loads(invalid.stderr) == {"error": "Invalid JSON for --data."}

    # The same query parameter reaches PostgREST as a filter on a column named "return",
    # which it cannot parse, so update and delete fail and change nothing.
    parse_error = {"error": '"failed to parse filter (representation)" (line 1, column 1)'}
    update = cli.fails("records", "update", "rec_write", "--filter", "id=eq.1", "--data", '{"done": true}')
    assert json.loads(update.stderr) == parse_error
    delete = cli.fails("records", "delete", "rec_write", "--filter", "id=eq.2")
    assert json.loads(delete.stderr) == parse_error
    assert cli.json("records", "list", "rec_write", "--filter", "id=eq.1")[0]["done"] is False
    assert len(cli.json("records", "list", "rec_write")) == 3

    missing = cli.run("records", "delete", "rec_write", "--json")
    assert missing.returncode == 1
    assert missing.stderr == "error: required option '--filter <filter>' not specified\n"
    cli.json("db", "query", "drop table rec_write")


# --- storage -------------------------------------------------------------------------------------


def test_storage_round_trip(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    created = cli.json("storage", "create-bucket", "cli-probe-bucket")
    assert created == recorded_json("storage create-bucket")
    buckets = cli.json("storage", "buckets")
    assert shape(buckets) == shape(recorded_json("storage buckets"))
    assert [bucket["name"] for bucket in buckets] == ["cli-probe-bucket"]

    (cli.project / "hello.txt").write_text("hello from the stand-in\n!")
    binary = bytes(range(256)) * 4 + b"\x00\xff\r\n"
    (cli.project / "cover.png").write_bytes(binary)

    text_upload = cli.json("storage", "upload", "hello.txt", "--bucket", "cli-probe-bucket")
    expected_upload = recorded_json("storage upload")
    assert shape(text_upload) == shape(expected_upload)
    assert {key: text_upload[key] for key in ("bucket", "key", "size", "mimeType")} == {
        key: expected_upload[key] for key in ("bucket", "key", "size", "mimeType")
    }

    image_upload = cli.json(
        "storage", "upload", "cover.png", "--bucket", "cli-probe-bucket", "--key", "products/p1/main.png"
    )
    assert image_upload["key"] == "products/p1/main.png"
    assert image_upload["size"] == len(binary)
    assert image_upload["mimeType"] == "image/png"

    listing = cli.json("storage", "list-objects", "cli-probe-bucket")
    assert shape(listing) == shape(recorded_json("storage list-objects"))
    assert [item["key"] for item in listing["data"]] == ["hello.txt", "products/p1/main.png"]
    assert listing["pagination"] == {"offset": 0, "limit": 100, "total": 2}
    assert [item["mimeType"] for item in listing["data"]] == ["text/plain", "image/png"]
    prefixed = cli.json("storage", "list-objects", "cli-probe-bucket", "--prefix", "products/")
    assert [item["key"] for item in prefixed["data"]] == ["products/p1/main.png"]

    downloaded = cli.json(
        "storage", "download", "products/p1/main.png", "--bucket", "cli-probe-bucket", "--output", "copy.png"
    )
    assert downloaded == {"success": True, "path": "copy.png", "size": len(binary)}
    assert (cli.project / "copy.png").read_bytes() == binary
    default_name = cli.json("storage", "download", "products/p1/main.png", "--bucket", "cli-probe-bucket")
    assert default_name["path"] == "main.png"
    assert (cli.project / "main.png").read_bytes() == binary

    missing = cli.fails("storage", "download", "nope.txt", "--bucket", "cli-probe-bucket")
    assert missing.stdout == ""
    assert "code" not in json.loads(missing.stderr)

    deleted = cli.run("storage", "delete-bucket", "cli-probe-bucket", "--json", "-y")
    assert deleted.returncode == 0
    assert deleted.stdout == recorded("storage delete-bucket")["stdout"]
    assert cli.json("storage", "buckets") == []


# --- functions -----------------------------------------------------------------------------------


def test_functions_lifecycle(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    assert cli.json("functions", "list") == recorded_json("functions list")

    source = cli.project / "hello.js"
    source.write_text("export default async function (req) {\n  return new Response('hi');\n}\n")
    first = cli.json("functions", "deploy", "hello-fn", "--file", "hello.js", "--description", "first")
    assert first["success"] is True
    assert first["function"]["slug"] == "hello-fn"
    assert first["function"]["name"] == "hello-fn"
    assert first["function"]["status"] == "active"

    source.write_text("export default async function (req) {\n  return new Response('v2');\n}\n")
    second = cli.json("functions", "deploy", "hello-fn", "--file", "hello.js", "--name", "Hello")
    assert second["function"]["id"] == first["function"]["id"]
    assert second["function"]["name"] == "Hello"
    assert "v2" in second["function"]["code"]

    listed = cli.json("functions", "list")
    assert [item["slug"] for item in listed["functions"]] == ["hello-fn"]
    assert "code" not in listed["functions"][0]
    assert cli.json("functions", "code", "hello-fn")["code"] == source.read_text()

    invoked = cli.run("functions", "invoke", "hello-fn", "--data", '{"name": "x"}', "--json")
    assert invoked.returncode == 1
    output = json.loads(invoked.stdout)
    assert output["status"] == 502
    assert list(output["body"]) == ["error"]
    assert "ECONNREFUSED" in output["body"]["error"]
    assert invoked.stderr == '{"error":"HTTP 502","code":"HTTP_ERROR"}\n'

    missing_file = cli.fails("functions", "deploy", "other", "--file", "missing.js")
    assert json.loads(missing_file.stderr) == {"error": "File not found: missing.js"}

    assert cli.json("functions", "delete", "hello-fn") == {
        "success": True,
        "message": "Function hello-fn deleted successfully",
    }
    gone = cli.fails("functions", "code", "hello-fn")
    assert json.loads(gone.stderr) == {"error": "Function not found", "code": "FUNCTION_NOT_FOUND"}


# --- secrets, logs, docs -------------------------------------------------------------------------


def test_secrets_lifecycle(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    added = cli.json("secrets", "add", "CLI_PROBE_KEY", "first-value")
    assert added["success"] is True
    assert set(added) == {"success", "message", "id"}

    listed = cli.json("secrets", "list")
    recorded_fields = list(recorded_json("secrets list")["secrets"][0])
    assert list(listed) == ["secrets"]
    assert all(list(item) == recorded_fields for item in listed["secrets"])
    keys = [item["key"] for item in listed["secrets"]]
    assert "CLI_PROBE_KEY" in keys
    assert "API_KEY" in keys
    assert all("value" not in item for item in listed["secrets"])

    assert cli.json("secrets", "get", "CLI_PROBE_KEY") == {"key": "CLI_PROBE_KEY", "value": "first-value"}
    assert cli.json("secrets", "update", "CLI_PROBE_KEY", "--value", "second")["success"] is True
    assert cli.json("secrets", "get", "CLI_PROBE_KEY")["value"] == "second"

    cli.json("secrets", "update", "CLI_PROBE_KEY", "--active", "false")
    active_keys = [item["key"] for item in cli.json("secrets", "list")["secrets"]]
    all_keys = [item["key"] for item in cli.json("secrets", "list", "--all")["secrets"]]
    assert "CLI_PROBE_KEY" not in active_keys
    assert "CLI_PROBE_KEY" in all_keys

    assert cli.json("secrets", "delete", "CLI_PROBE_KEY")["success"] is True
    gone = cli.fails("secrets", "get", "CLI_PROBE_KEY")
    assert json.loads(gone.stderr) == {"error": "Secret not found: CLI_PROBE_KEY", "code": "SECRET_NOT_FOUND"}


def test_logs_sources(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    body = cli.json("logs", "insforge.logs", "--limit", "5")
    assert set(body) == {"logs", "total"}
    assert 1 <= len(body["logs"]) <= 5
    assert body["total"] == len(body["logs"])
    entry = body["logs"][-1]
    assert set(entry) == {"id", "timestamp", "eventMessage", "body"}
    assert entry["body"]["message"] == "HTTP Request"

    assert cli.json("logs", "INSFORGE.LOGS", "--limit", "1")["total"] == 1

    bogus = cli.run("logs", "bogus", "--json")
    assert bogus.returncode == 1
    assert bogus.stdout == ""
    assert bogus.stderr == (
        '{"error":"Invalid log source \\"bogus\\". Valid sources: insforge.logs, postgREST.logs, '
        'postgres.logs, function.logs, function-deploy.logs"}\n'
    )


def test_docs_index(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    result = cli.run("docs", "--json")
    assert result.returncode == 0
    assert result.stdout == recorded("docs")["stdout"]

    document = cli.json("docs", "db", "typescript")
    assert document["type"] == "db-typescript"
    assert "insforge.database" in document["content"]
    unknown = cli.fails("docs", "nothing-here")
    assert json.loads(unknown.stderr)["code"] == "NOT_FOUND"


# --- platform login ------------------------------------------------------------------------------


def register_user_key(sandbox: Sandbox) -> str:
    """Register the test user at the platform with an ID-JAG and return the issued ``uak_`` key."""
    audience = sandbox.platform_state.config.expected_audience
    assertion = sandbox.provider.mint(audience=audience)
    response = httpx.post(
        f"{sandbox.platform_url}/agent/auth",
        json={
            "type": "identity_assertion",
            "assertion_type": ID_JAG,
            "assertion": assertion,
            "requested_credential_type": "api_key",
        },
        timeout=30.0,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["credential"])


def test_login_whoami(cli: StandinCli, linked: subprocess.CompletedProcess[str], tmp_path: Path) -> None:
    key = register_user_key(cli.sandbox)
    assert key.startswith("uak_")

    home = tmp_path / "home"
    home.mkdir()
    other = StandinCli(cli.sandbox, cli.project, home)
    result = other.run("login", "--user-api-key", key, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    login = json.loads(result.stdout)
    assert login["success"] is True
    user = login["user"]
    assert list(user) == ["id", "name", "email", "avatar_url", "email_verified"]
    assert user["email"] == "test.user@example.com"
    assert user["email_verified"] is True

    credentials = json.loads((home / ".insforge" / "credentials.json").read_text())
    assert credentials["user_api_key"] == key
    assert credentials["user"] == user

    assert other.json("whoami") == user
    current = other.json("current")
    assert current["authenticated"] is True
    assert current["user"] == user
    assert current["project"]["oss_host"] == cli.sandbox.backend_url

    rejected = other.run("login", "--user-api-key", "uak_" + "0" * 32, "--json")
    assert rejected.returncode == 1
    assert json.loads(rejected.stderr) == {"error": "API key is invalid or revoked: Invalid API key"}


# --- site deployments ----------------------------------------------------------------------------

DEPLOYMENT_FIELDS = [
    "id",
    "providerDeploymentId",
    "provider",
    "status",
    "url",
    "metadata",
    "createdAt",
    "updatedAt",
]


def write_site(root: Path, files: dict[str, bytes]) -> Path:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return root


def test_deployments_deploy_ready(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    index = b"<!doctype html><h1>deployed by the stand-in CLI</h1>"
    logo = bytes(range(256)) * 3
    write_site(
        cli.project / "site",
        {"index.html": index, "img/logo.png": logo, "node_modules/skip.js": b"ignored", ".env": b"SECRET=1"},
    )

    deployment = cli.json(
        "deployments",
        "deploy",
        "site",
        "--env",
        '{"API_URL": "x", "RETRIES": 3}',
        "--meta",
        '{"branch": "main"}',
    )
    assert list(deployment) == DEPLOYMENT_FIELDS
    assert deployment["status"] == "READY"
    assert deployment["url"] == f"{cli.sandbox.backend_url}/sites/{deployment['id']}/"
    assert deployment["metadata"]["fileCount"] == 2
    assert deployment["metadata"]["envVarKeys"] == ["API_URL", "RETRIES"]
    assert deployment["metadata"]["meta"] == {"branch": "main"}

    with httpx.Client(timeout=30.0) as client:
        page = client.get(deployment["url"])
        image = client.get(deployment["url"] + "img/logo.png")
        skipped = client.get(deployment["url"] + "node_modules/skip.js")
    assert page.content == index
    assert image.content == logo
    assert image.headers["content-type"] == "image/png"
    assert skipped.status_code == 404

    status = cli.json("deployments", "status", deployment["id"])
    assert status == deployment
    assert cli.json("deployments", "status", deployment["id"], "--sync")["status"] == "READY"
    listing = cli.json("deployments", "list", "--limit", "5")
    assert list(listing) == ["data", "pagination"]
    assert deployment["id"] in [item["id"] for item in listing["data"]]
    assert listing["pagination"]["limit"] == 5

    missing = cli.fails("deployments", "status", "00000000-0000-0000-0000-000000000000")
    assert json.loads(missing.stderr)["code"] == "NOT_FOUND"


def test_deployments_deploy_build_error(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    package = {"name": "broken-site", "scripts": {"build": "tsc && exit 1"}}
    write_site(
        cli.project / "broken", {"package.json": json.dumps(package).encode(), "index.html": b"<p>x</p>"}
    )

    result = cli.fails("deployments", "deploy", "broken")
    assert result.stdout == ""
    assert result.stderr == '{"error":"Error: Command \\"npm run build\\" exited with 1"}\n'

    # An agent finds the build output in the deploy log source.
    logs = cli.json("logs", "function-deploy.logs")
    assert logs["status"] == "failed"
    assert [line["message"] for line in logs["logs"]][-2:] == [
        "> tsc && exit 1",
        'Error: Command "npm run build" exited with 1',
    ]
    failed = cli.json("deployments", "status", logs["deploymentId"])
    assert failed["status"] == "ERROR"
    assert failed["metadata"]["buildLogs"][-1] == 'Error: Command "npm run build" exited with 1'


def test_deployments_deploy_invalid_input(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    missing = cli.fails("deployments", "deploy", "no-such-dir")
    assert json.loads(missing.stderr) == {
        "error": f'"{cli.project / "no-such-dir"}" is not a valid directory.'
    }

    (cli.project / "empty-site").mkdir()
    empty = cli.fails("deployments", "deploy", "empty-site")
    assert json.loads(empty.stderr) == {"error": "No deployable files found in the source directory."}

    write_site(cli.project / "env-site", {"index.html": b"x"})
    bad_env = cli.fails("deployments", "deploy", "env-site", "--env", "{nope")
    assert json.loads(bad_env.stderr) == {"error": "Invalid --env JSON."}
    bad_meta = cli.fails("deployments", "deploy", "env-site", "--meta", "[1")
    assert json.loads(bad_meta.stderr) == {"error": "Invalid --meta JSON."}


# --- function deploy failure: the real error only in the deploy logs -------------------------------


def test_functions_deploy_duplicate_const(cli: StandinCli, linked: subprocess.CompletedProcess[str]) -> None:
    source = cli.project / "dup.js"
    source.write_text(
        "const X = 1;\nconst X = 1;\n"
        "export default async function (req) {\n  return new Response(String(X));\n}\n"
    )

    result = cli.run("functions", "deploy", "dup-const", "--file", "dup.js", "--json")
    assert result.returncode == 1
    printed = json.loads(result.stdout)
    assert printed["success"] is False
    assert printed["function"]["status"] == "error"
    assert printed["deployment"]["status"] == "failed"
    assert "already been declared" not in result.stdout
    assert result.stderr == '{"error":"Function deployment failed"}\n'

    logs = cli.json("logs", "function-deploy.logs", "--limit", "20")
    assert logs["deploymentId"] == printed["deployment"]["id"]
    messages = [line["message"] for line in logs["logs"]]
    assert "SyntaxError: Identifier 'X' has already been declared" in messages

    source.write_text(
        "const X = 1;\nexport default async function (req) {\n  return new Response(String(X));\n}\n"
    )
    fixed = cli.json("functions", "deploy", "dup-const", "--file", "dup.js")
    assert fixed["success"] is True
    assert fixed["function"]["status"] == "active"
    cli.json("functions", "delete", "dup-const")
