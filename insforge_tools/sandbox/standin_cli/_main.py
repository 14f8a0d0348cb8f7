"""The stand-in CLI's command tree and main function."""

from __future__ import annotations

import sys
from typing import Any

from insforge_tools.sandbox.standin_cli import _commands as commands
from insforge_tools.sandbox.standin_cli._parser import Command, Option, UsageFailure, parse
from insforge_tools.sandbox.standin_cli._runtime import CLI_VERSION, CliFailure, report_failure


def build_tree() -> Command:
    """Return the commands the stand-in implements, with the real CLI's arguments and options."""
    root = Command("insforge")
    root.add(
        Command(
            "login",
            options=(
                Option(("--email",)),
                Option(("--client-id",), "<id>"),
                Option(("--user-api-key",), "<key>"),
                Option(("--device",)),
            ),
            action=commands.login,
        )
    )
    root.add(Command("logout", action=commands.logout))
    root.add(Command("whoami", action=commands.whoami))
    root.add(Command("current", action=commands.current))
    root.add(
        Command(
            "link",
            options=(
                Option(("--project-id",), "<id>"),
                Option(("--org-id",), "<id>"),
                Option(("--template",), "<template>"),
                Option(("--auth",), "<provider>"),
                Option(("--api-base-url",), "<url>"),
                Option(("--api-key",), "<key>"),
                Option(("--guard",), "[state]"),
            ),
            action=commands.link,
        )
    )
    root.add(Command("metadata", action=commands.metadata))
    root.add(Command("docs", arguments=("feature?", "language?"), action=commands.docs))
    root.add(
        Command("logs", arguments=("source",), options=(Option(("--limit",), "<n>"),), action=commands.logs)
    )

    db = root.add(Command("db"))
    db.add(
        Command("query", arguments=("sql",), options=(Option(("--unrestricted",)),), action=commands.db_query)
    )
    db.add(Command("tables", action=commands.db_tables))

    records = root.add(Command("records"))
    filter_option = Option(("--filter",), "<filter>")
    records.add(
        Command(
            "list",
            arguments=("table",),
            options=(
                Option(("--select",), "<columns>"),
                filter_option,
                Option(("--order",), "<order>"),
                Option(("--limit",), "<n>"),
                Option(("--offset",), "<n>"),
            ),
            action=commands.records_list,
        )
    )
    records.add(
        Command(
            "create",
            arguments=("table",),
            options=(Option(("--data",), "<json>", required=True),),
            action=commands.records_create,
        )
    )
    records.add(
        Command(
            "update",
            arguments=("table",),
            options=(
                Option(("--filter",), "<filter>", required=True),
                Option(("--data",), "<json>", required=True),
            ),
            action=commands.records_update,
        )
    )
    records.add(
        Command(
            "delete",
            arguments=("table",),
            options=(Option(("--filter",), "<filter>", required=True),),
            action=commands.records_delete,
        )
    )

    storage = root.add(Command("storage"))
    storage.add(Command("buckets", action=commands.storage_buckets))
    storage.add(
        Command(
            "create-bucket",
            arguments=("name",),
            options=(Option(("--public",)), Option(("--private",), negates="public")),
            action=commands.storage_create_bucket,
        )
    )
    storage.add(Command("delete-bucket", arguments=("name",), action=commands.storage_delete_bucket))
    storage.add(
        Command(
            "list-objects",
            arguments=("bucket",),
            options=(
                Option(("--limit",), "<n>"),
                Option(("--offset",), "<n>"),
                Option(("--prefix",), "<prefix>"),
                Option(("--search",), "<text>"),
                Option(("--sort",), "<field>"),
            ),
            action=commands.storage_list_objects,
        )
    )
    storage.add(
        Command(
            "upload",
            arguments=("file",),
            options=(
                Option(("--bucket",), "<name>", required=True),
                Option(("--key",), "<key>"),
                Option(("--content-type",), "<type>"),
            ),
            action=commands.storage_upload,
        )
    )
    storage.add(
        Command(
            "download",
            arguments=("key",),
            options=(Option(("--bucket",), "<name>", required=True), Option(("--output",), "<path>")),
            action=commands.storage_download,
        )
    )

    functions = root.add(Command("functions"))
    functions.add(Command("list", action=commands.functions_list))
    functions.add(Command("code", arguments=("slug",), action=commands.functions_code))
    functions.add(
        Command(
            "deploy",
            arguments=("slug",),
            options=(
                Option(("--file",), "<path>", required=True),
                Option(("--name",), "<name>"),
                Option(("--description",), "<text>"),
            ),
            action=commands.functions_deploy,
        )
    )
    functions.add(
        Command(
            "invoke",
            arguments=("slug",),
            options=(Option(("--data",), "<json>"), Option(("--method",), "<method>")),
            action=commands.functions_invoke,
        )
    )
    functions.add(Command("delete", arguments=("slug",), action=commands.functions_delete))

    secrets = root.add(Command("secrets"))
    secrets.add(Command("list", options=(Option(("--all",)),), action=commands.secrets_list))
    secrets.add(Command("get", arguments=("key",), action=commands.secrets_get))
    secrets.add(
        Command(
            "add",
            arguments=("key", "value"),
            options=(Option(("--reserved",)), Option(("--expires",), "<date>")),
            action=commands.secrets_add,
        )
    )
    secrets.add(
        Command(
            "update",
            arguments=("key",),
            options=(
                Option(("--value",), "<value>"),
                Option(("--active",), "<bool>"),
                Option(("--reserved",), "<bool>"),
                Option(("--expires",), "<date>"),
            ),
            action=commands.secrets_update,
        )
    )
    secrets.add(Command("delete", arguments=("key",), action=commands.secrets_delete))

    deployments = root.add(Command("deployments"))
    deployments.add(
        Command(
            "deploy",
            arguments=("directory?",),
            options=(Option(("--env",), "<json>"), Option(("--meta",), "<json>")),
            action=commands.deployments_deploy,
        )
    )
    deployments.add(
        Command(
            "list",
            options=(Option(("--limit",), "<n>"), Option(("--offset",), "<n>")),
            action=commands.deployments_list,
        )
    )
    deployments.add(
        Command(
            "status", arguments=("id",), options=(Option(("--sync",)),), action=commands.deployments_status
        )
    )
    return root


def main(argv: list[str] | None = None) -> int:
    """Run one command and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        # Without a TTY the real CLI prints nothing and exits 0.
        return 0
    if args[0] in ("-V", "--version"):
        sys.stdout.write(CLI_VERSION + "\n")
        return 0

    try:
        parsed = parse(build_tree(), args)
    except UsageFailure as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1

    if parsed.command.action is None:
        sys.stderr.write(f"Usage: insforge {' '.join(parsed.path)} [options] [command]\n")
        return 1

    json_mode = bool(parsed.program.get("json"))
    context = commands.Invocation(
        path=parsed.path,
        arguments=parsed.arguments,
        options=parsed.options,
        json_mode=json_mode,
        yes=bool(parsed.program.get("yes")),
        api_url=_string_or_none(parsed.program.get("apiUrl")),
    )
    try:
        parsed.command.action(context)
    except CliFailure as exc:
        return report_failure(exc, json_mode)
    except commands.Cancelled:
        return 0
    return 0


def _string_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
