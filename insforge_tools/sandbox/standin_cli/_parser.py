"""A small argument parser with commander 13's behaviour and error texts.

Program options (``--json``, ``-y``, ``--api-url``) are accepted before and
after the subcommand. Parse errors are plain ``error: …`` lines on stderr with
exit 1, never JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class UsageFailure(Exception):
    """A commander parse error; the text goes to stderr after ``error: ``."""


@dataclass(frozen=True)
class Option:
    """One option: its flags, the value placeholder (None for a switch) and its attribute name."""

    flags: tuple[str, ...]
    placeholder: str | None = None
    required: bool = False
    negates: str | None = None

    @property
    def name(self) -> str:
        long = next((flag for flag in self.flags if flag.startswith("--")), self.flags[0])
        words = long.lstrip("-").split("-")
        return words[0] + "".join(word.capitalize() for word in words[1:])

    @property
    def display(self) -> str:
        flags = ", ".join(self.flags)
        return f"{flags} {self.placeholder}" if self.placeholder else flags


@dataclass
class Command:
    """A command node: positional arguments (``name`` or ``name?``), options, subcommands, an action."""

    name: str
    arguments: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    action: Callable[..., Any] | None = None
    children: dict[str, Command] = field(default_factory=dict)

    def add(self, child: Command) -> Command:
        self.children[child.name] = child
        return child


PROGRAM_OPTIONS = (
    Option(("--json",)),
    Option(("--api-url",), "<url>"),
    Option(("-y", "--yes")),
    Option(("--reason",), "<text>"),
    Option(("--impact",), "<text>"),
    Option(("--recommendation",), "<text>"),
)


@dataclass
class Parsed:
    """The result of parsing: the command path, its positional values and option values."""

    path: tuple[str, ...]
    command: Command
    arguments: list[str]
    options: dict[str, Any]
    program: dict[str, Any]


def _find_option(options: tuple[Option, ...], flag: str) -> Option | None:
    for option in options:
        if flag in option.flags:
            return option
    return None


def parse(root: Command, argv: list[str]) -> Parsed:
    """Parse ``argv`` against the command tree rooted at ``root``.

    Raises:
        UsageFailure: with commander's message (unknown option, missing argument, …).
    """
    node = root
    path: list[str] = []
    positionals: list[str] = []
    values: dict[str, Any] = {}
    program: dict[str, Any] = {}
    index = 0
    only_positionals = False

    while index < len(argv):
        word = argv[index]
        index += 1

        if only_positionals or not word.startswith("-") or word == "-":
            if node.children and not positionals:
                if word in node.children:
                    node = node.children[word]
                    path.append(word)
                    continue
                if node is not root:
                    raise UsageFailure(f"unknown command '{word}'")
            positionals.append(word)
            continue

        if word == "--":
            only_positionals = True
            continue

        flag, inline_value = (word.split("=", 1) + [None])[:2] if word.startswith("--") else (word, None)
        assert flag is not None
        option = _find_option(node.options, flag)
        target = values
        if option is None:
            option = _find_option(PROGRAM_OPTIONS, flag)
            target = program
        if option is None:
            raise UsageFailure(f"unknown option '{flag}'")

        if option.placeholder is None:
            if option.negates:
                target[option.negates] = False
            else:
                target[option.name] = True
            continue
        value: str | bool
        if inline_value is not None:
            value = inline_value
        elif option.placeholder.startswith("[") and (index >= len(argv) or argv[index].startswith("-")):
            value = True
        elif index < len(argv):
            value = argv[index]
            index += 1
        else:
            raise UsageFailure(f"option '{option.display}' argument missing")
        target[option.name] = value

    return _finish(root, node, path, positionals, values, program)


def _finish(
    root: Command,
    node: Command,
    path: list[str],
    positionals: list[str],
    values: dict[str, Any],
    program: dict[str, Any],
) -> Parsed:
    if node.action is None and node.children:
        if node is root and positionals:
            raise UsageFailure(f"too many arguments. Expected 0 arguments but got {len(positionals)}.")
        return Parsed(tuple(path), node, positionals, values, program)

    for option in node.options:
        if option.required and option.name not in values:
            raise UsageFailure(f"required option '{option.display}' not specified")

    required = [name for name in node.arguments if not name.endswith("?")]
    if len(positionals) < len(required):
        missing = required[len(positionals)]
        raise UsageFailure(f"missing required argument '{missing}'")
    if len(positionals) > len(node.arguments):
        expected = len(node.arguments)
        noun = "argument" if expected == 1 else "arguments"
        raise UsageFailure(
            f"too many arguments for '{node.name}'. Expected {expected} {noun} but got {len(positionals)}."
        )
    return Parsed(tuple(path), node, positionals, values, program)
