"""SQL text handling: statement splitting, forbidden statements, identifier quoting.

The splitter understands quoted strings, ``E''`` escapes, quoted identifiers,
dollar quoting and both comment styles, so a ``;`` inside any of them does not
end a statement.
"""

from __future__ import annotations

import re

from insforge_tools.sandbox.backend.errors import ApiError

__all__ = ["check_allowed", "quote_identifier", "split_statements"]

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def split_statements(sql: str) -> list[str]:
    """Split ``sql`` at top-level semicolons; return the statements with comments removed."""
    statements: list[str] = []
    current: list[str] = []
    i = 0
    length = len(sql)

    while i < length:
        char = sql[i]
        pair = sql[i : i + 2]

        if pair == "--":
            end = sql.find("\n", i)
            i = length if end == -1 else end
            current.append(" ")
            continue

        if pair == "/*":
            depth = 1
            i += 2
            while i < length and depth:
                if sql.startswith("/*", i):
                    depth += 1
                    i += 2
                elif sql.startswith("*/", i):
                    depth -= 1
                    i += 2
                else:
                    i += 1
            current.append(" ")
            continue

        if char == "'":
            escaped = (
                i > 0 and sql[i - 1] in "eE" and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == "_"))
            )
            end = _end_of_quoted(sql, i, "'", backslash=escaped)
            current.append(sql[i:end])
            i = end
            continue

        if char == '"':
            end = _end_of_quoted(sql, i, '"', backslash=False)
            current.append(sql[i:end])
            i = end
            continue

        if char == "$":
            match = _DOLLAR_TAG.match(sql, i)
            preceded_by_word = i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == "_")
            if match and not preceded_by_word:
                tag = match.group(0)
                end = sql.find(tag, match.end())
                end = length if end == -1 else end + len(tag)
                current.append(sql[i:end])
                i = end
                continue

        if char == ";":
            statement = "".join(current).strip()
            if statement:
                statements.append(statement)
            current = []
            i += 1
            continue

        current.append(char)
        i += 1

    statement = "".join(current).strip()
    if statement:
        statements.append(statement)
    return statements


def _end_of_quoted(sql: str, start: int, quote: str, *, backslash: bool) -> int:
    i = start + 1
    while i < len(sql):
        char = sql[i]
        if backslash and char == "\\":
            i += 2
            continue
        if char == quote:
            if sql.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return len(sql)


_TRANSACTION_WORDS = {"begin", "start", "commit", "rollback", "end", "abort", "savepoint", "release"}
_PROTECTED_SETTINGS = {"role", "session", "search_path", "statement_timeout", "session_authorization"}


def check_allowed(statement: str) -> None:
    """Raise the backend's 403 for statements that would escape the per-request session setup."""
    words = re.findall(r"[A-Za-z_]+", statement.lower())[:4]
    if not words:
        return
    first = words[0]

    if first in _TRANSACTION_WORDS or (first == "prepare" and words[1:2] == ["transaction"]):
        raise ApiError(403, "FORBIDDEN", "Transaction control statements are not allowed.")

    if first in ("set", "reset"):
        rest = words[1:]
        if rest[:1] in (["local"], ["session"]) and rest[1:2] and rest[1] != "authorization":
            rest = rest[1:]
        target = rest[0] if rest else ""
        if target in _PROTECTED_SETTINGS or first == "reset" and target == "all":
            raise ApiError(403, "FORBIDDEN", f"Changing {target or 'session settings'} is not allowed.")

    if first in ("create", "drop", "alter") and words[1:2] == ["database"]:
        raise ApiError(403, "FORBIDDEN", "Database management statements are not allowed.")
    if first == "alter" and words[1:2] == ["system"]:
        raise ApiError(403, "FORBIDDEN", "ALTER SYSTEM is not allowed.")


def quote_identifier(name: str) -> str:
    """Quote ``name`` as a PostgreSQL identifier; embedded quotes are doubled."""
    if "\x00" in name:
        raise ValueError("identifiers cannot contain NUL characters")
    return '"' + name.replace('"', '""') + '"'
