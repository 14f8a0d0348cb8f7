"""The ``insforge-tools`` command: ``demo``, ``sandbox`` and ``doctor``."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="insforge-tools",
        description="Tools that let LangChain and LlamaIndex agents drive InsForge.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo",
        help="run an agent from discovery to a linked project's data against a local sandbox",
        description="Start a local sandbox and let an agent discover it, register, log the CLI in, link a "
        "project, read its metadata, and create, fill and read a table with SQL. Without --model the agent "
        "is driven by a scripted chat model (offline).",
    )
    demo.add_argument(
        "--framework",
        choices=("langchain", "llama-index"),
        default="langchain",
        help="agent framework to run (default: langchain)",
    )
    demo.add_argument(
        "--model",
        default=None,
        help="a chat model you have configured, as 'provider:model' (for example openai:gpt-4.1); "
        "the default is a scripted model that needs no network",
    )

    demo.add_argument(
        "--transport",
        choices=("auto", "cli", "http"),
        default="auto",
        help="how project operations reach the backend: auto (HTTP once linked), cli (the InsForge CLI, "
        "here its stand-in) or http (default: auto)",
    )

    commands.add_parser(
        "sandbox",
        help="start a local sandbox and keep it running until Ctrl-C",
        description="Start the local sandbox (identity provider, platform, project backend on PostgreSQL) "
        "and print the settings to use it. Stop it with Ctrl-C.",
    )

    commands.add_parser(
        "doctor",
        help="check Node.js, npx and the InsForge CLI command",
        description="Report which InsForge CLI command insforge-tools would run, and whether Node.js, npx "
        "and the CLI answer.",
    )
    return parser


def _run_sandbox() -> int:
    from insforge_tools.sandbox import Sandbox

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Sandbox() as sandbox:
        settings = sandbox.settings()
        # The admin key goes to an owner-only file, not to the terminal.
        settings_file = sandbox.workdir / "sandbox-settings.json"
        settings_file.touch(mode=0o600)
        values = settings.model_dump(mode="json")
        values["project_api_key"] = sandbox.api_key
        settings_file.write_text(json.dumps(values, indent=2))
        print("InsForge sandbox running (stop with Ctrl-C):")
        print(f"  platform (resource and issuer): {sandbox.platform_url}")
        print(f"  identity provider:              {sandbox.provider.issuer}")
        print(f"  project backend:                {sandbox.backend_url}")
        print(f"  stand-in CLI:                   {' '.join(sandbox.cli_command)}")
        print(f"  workspace:                      {settings.workspace_dir}")
        print(f"  settings with the admin key:    {settings_file} (mode 0600)")
        sys.stdout.flush()
        stop.wait()
    print("Sandbox stopped.")
    return 0


def _run_doctor() -> int:
    from insforge_tools.errors import InsForgeError
    from insforge_tools.settings import Settings
    from insforge_tools.transports.cli import CliRunner

    runner = CliRunner(Settings())
    try:
        report = asyncio.run(runner.doctor())
    except InsForgeError as error:
        print(f"doctor: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2, default=str))
    command_error = (report.get("command") or {}).get("error")
    if command_error:
        print(f"doctor: {command_error}", file=sys.stderr)
        return 1
    if report.get("cli_version") is None:
        print(f"doctor: the CLI did not report a version: {report.get('cli_version_error')}", file=sys.stderr)
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``insforge-tools`` command line and return its exit status."""
    args = _build_parser().parse_args(argv)
    if args.command == "demo":
        from insforge_tools.demo import run_demo

        return run_demo(framework=args.framework, model=args.model, transport=args.transport)
    if args.command == "sandbox":
        return _run_sandbox()
    return _run_doctor()


if __name__ == "__main__":
    sys.exit(main())
