"""Classification of PostgreSQL statements by their effect on data.

``insforge_db_query`` sends SQL written by a model to the project database, so
it requests a human's approval first when that SQL can destroy something.
:func:`classify` decides which SQL that is. It reads the text the way
PostgreSQL's lexer (``src/backend/parser/scan.l``) does, splits it into
statements the way ``psql`` does, and sorts every statement into one of three
kinds:

* ``read``: changes nothing, such as SELECT, SHOW, VALUES, TABLE, or EXPLAIN
  without ANALYZE.
* ``write``: adds or changes data or objects in a bounded way, such as INSERT,
  UPDATE with a WHERE clause, CREATE, GRANT, or SET.
* ``destructive``: deletes or overwrites data or definitions, removes a
  protection, or runs code whose effect cannot be read from the SQL text.

Wherever the text is ambiguous, the rules pick the more severe kind. Some
choices follow from that:

* DO, CALL and EXECUTE are destructive, because the code they run is not part
  of the text (a DO body is a string literal, a procedure or prepared
  statement is stored elsewhere).
* A statement that starts with a plain word that starts no PostgreSQL
  statement (a typo such as ``selct``) is a read: the grammar is fixed, so the
  server rejects it as a syntax error and the model learns why. Any other
  unrecognised start (a quoted name, an operator) is destructive.
* Bodies that run later are classified as if they ran now: the actions of
  CREATE RULE, the statement of PREPARE, and the statements of a
  ``BEGIN ATOMIC`` function body.
* DELETE is destructive with or without a WHERE clause: the rows it removes
  cannot be read back, so a human confirms every deletion.
* UPDATE with a WHERE clause that does not depend on the rows
  (``WHERE true``, ``WHERE 1=1``, ``WHERE id = 5 OR 1 = 1``) are destructive.
* PostgreSQL reads non-ASCII whitespace (such as U+00A0) outside quotes as
  part of a name, so a keyword glued to such a character is no keyword. A
  statement with such a character, or an invisible one such as U+200B, outside
  quotes is destructive because it does not do what it shows.
* Empty text, and text that PostgreSQL's lexer rejects (an unterminated
  string, quoted identifier or comment, or a NUL character), raise
  :class:`~insforge_tools.errors.InvalidInputError` because it cannot run.

NOTE: A function or operator defined in the database can write when a query
uses it. Only the built-in and extension functions in ``_FUNCTIONS`` are
recognised, so ``SELECT my_cleanup()`` is a read here. Run statements
classified as reads in a READ ONLY transaction to close this gap.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from insforge_tools.errors import InvalidInputError
from insforge_tools.secrets import redact

__all__ = ["SqlClassification", "SqlKind", "StatementClass", "classify"]

# Maximum length of a statement's text in a StatementClass.
STATEMENT_TEXT_LIMIT = 200

# Maximum number of statements listed by SqlClassification.describe().
_DESCRIBE_LIMIT = 10


class SqlKind(StrEnum):
    """Effect of a SQL statement on the database, ordered from least to most severe."""

    READ = "read"
    WRITE = "write"
    DESTRUCTIVE = "destructive"

    @property
    def severity(self) -> int:
        """Rank for comparisons: 0 for read, 1 for write, 2 for destructive."""
        return _SEVERITY[self]


_SEVERITY = {SqlKind.READ: 0, SqlKind.WRITE: 1, SqlKind.DESTRUCTIVE: 2}


@dataclass(frozen=True)
class StatementClass:
    """The kind of one statement, with the reason for it.

    Attributes:
        kind: What the statement can do.
        statement: The statement's text without comments, with whitespace runs
            collapsed to one space, redacted, and cut to 200 characters.
        reason: Why the statement has this kind.
    """

    kind: SqlKind
    statement: str
    reason: str


@dataclass(frozen=True)
class SqlClassification:
    """The kinds of all statements in a SQL text.

    Attributes:
        kind: The most severe kind over all statements.
        statements: One entry per statement, in the order of the text.
    """

    kind: SqlKind
    statements: tuple[StatementClass, ...]

    @property
    def destructive(self) -> bool:
        """Whether at least one statement is destructive."""
        return self.kind is SqlKind.DESTRUCTIVE

    @property
    def read_only(self) -> bool:
        """Whether every statement only reads."""
        return self.kind is SqlKind.READ

    def describe(self) -> str:
        """Summarise the classification in one line for an approval request.

        The line lists the statements that write or destroy, with their
        reasons, or every statement when all of them only read.
        """
        count = len(self.statements)
        noun = "statement" if count == 1 else "statements"
        numbered = list(enumerate(self.statements, start=1))
        listed = numbered if self.read_only else [(i, s) for i, s in numbered if s.kind is not SqlKind.READ]

        parts = [f"#{i} {s.kind.value} `{s.statement}`: {s.reason}" for i, s in listed[:_DESCRIBE_LIMIT]]
        if len(listed) > _DESCRIBE_LIMIT:
            parts.append(f"and {len(listed) - _DESCRIBE_LIMIT} more")

        overall = "read only" if self.read_only else f"{self.kind.value} overall"
        return f"{count} SQL {noun}, {overall}: " + "; ".join(parts)


def classify(sql: str) -> SqlClassification:
    """Classify every statement of a SQL text as a read, a write or destructive.

    Args:
        sql: One or more PostgreSQL statements separated by semicolons.

    Returns:
        The kind of each statement and the most severe kind over all of them.

    Raises:
        InvalidInputError: The text is not a string, is empty or holds only
            comments, contains a NUL character, has an unterminated string,
            quoted identifier or comment, or nests subqueries so deeply that
            Python's recursion limit is reached (a few hundred levels).
    """
    if not isinstance(sql, str):
        raise InvalidInputError(
            f"The SQL text must be a string, not {type(sql).__name__}.",
            next_step="Send the SQL statements as one string.",
        )

    nul = sql.find("\x00")
    if nul >= 0:
        raise InvalidInputError(
            f"The SQL text contains a NUL character at character {nul + 1}; PostgreSQL does not accept it.",
            next_step="Remove the NUL character and send the SQL again.",
        )

    try:
        lexed = _lex(sql, backslash_escapes=False)
    except _LexError as error:
        raise InvalidInputError(
            f"The SQL text has an {error.problem} that starts at character {error.position + 1}.",
            next_step=f"Close the {error.problem.removeprefix('unterminated ')} and send the SQL again.",
        ) from None

    if not lexed.statements:
        raise InvalidInputError(
            "The SQL text is empty: it has no statement outside comments and whitespace.",
            next_step="Send the SQL statement to run.",
        )

    try:
        return _classify_lexed(sql, lexed)
    except RecursionError:
        # Each nested subquery or parenthesised OR condition takes a few stack frames.
        raise InvalidInputError(
            "The SQL text nests subqueries or conditions too deeply to classify.",
            next_step="Split the SQL into simpler statements and send them again.",
        ) from None


def _classify_lexed(sql: str, lexed: _Lexed) -> SqlClassification:
    result = _classify_statements(sql, lexed.statements)

    # With standard_conforming_strings off, PostgreSQL reads a backslash in a
    # '...' string as an escape, so "\'" no longer ends the string. Such text
    # can hide a statement in one reading and show it in the other, so the
    # more severe reading wins.
    if lexed.plain_string_has_backslash:
        try:
            alternative = _lex(sql, backslash_escapes=True)
        except _LexError:
            alternative = None
        if alternative is not None and alternative.statements:
            other = _classify_statements(sql, alternative.statements, note=_BACKSLASH_NOTE)
            if other.kind.severity > result.kind.severity:
                result = other

    return result


_BACKSLASH_NOTE = " (when standard_conforming_strings is off, a backslash escapes a quote in '...' strings)"


# ---------------------------------------------------------------------------
# Lexer
# ---------------------------------------------------------------------------

# PostgreSQL whitespace. Other Unicode whitespace is part of a name, as in PostgreSQL.
_SPACE = frozenset(" \t\n\r\f\v")
_NEWLINE = frozenset("\n\r")

_IDENTIFIER = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
_NUMBER = re.compile(
    r"0[xX][0-9A-Fa-f_]+|0[oO][0-7_]+|0[bB][01_]+"
    r"|(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9][0-9_]*)?"
)
_PARAMETER = re.compile(r"\$[0-9]+")
_DOLLAR_DELIMITER = re.compile(r"\$(?:[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")
_COMMENT_MARK = re.compile(r"/\*|\*/")
_LINE_BREAK = re.compile(r"[\n\r]")

# String bodies up to and including the closing quote, where '' is an escaped
# quote. Possessive quantifiers keep a failed match from backtracking into a
# shorter literal, so text without a closing quote is unterminated, as in PostgreSQL.
_STANDARD_BODY = re.compile(r"[^']*+(?:''[^']*+)*+'")
_ESCAPE_BODY = re.compile(r"[^'\\]*+(?:(?:\\.|'')[^'\\]*+)*+'", re.DOTALL)
_IDENTIFIER_BODY = re.compile(r'[^"]*+(?:""[^"]*+)*+"')

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# Token kinds.
_WORD = "word"  # unquoted name or keyword; text is ASCII-lowercased like PostgreSQL does
_NAME = "name"  # quoted identifier; text is the decoded name
_STRING = "string"
_NUMERIC = "number"
_PARAM = "param"
_OP = "op"  # one punctuation or operator character


class _LexError(Exception):
    def __init__(self, problem: str, position: int) -> None:
        super().__init__(problem)
        self.problem = problem
        self.position = position


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int
    depth: int  # open parentheses before the token; a ")" has the depth of its "("
    spaced: bool  # whitespace or a comment comes before the token

    def is_word(self, *words: str) -> bool:
        return self.kind == _WORD and self.text in words

    def is_op(self, char: str) -> bool:
        return self.kind == _OP and self.text == char


@dataclass(frozen=True, slots=True)
class _Lexed:
    statements: list[list[_Token]]
    plain_string_has_backslash: bool


def _lex(sql: str, *, backslash_escapes: bool) -> _Lexed:
    """Split SQL text into statements of tokens, dropping comments and empty statements.

    A ";" ends a statement only outside parentheses and outside the
    ``BEGIN ATOMIC ... END`` body of CREATE FUNCTION or PROCEDURE, as in psql.
    ``backslash_escapes`` reads '...' strings like E'...' strings, which is
    what PostgreSQL does when standard_conforming_strings is off.
    """
    statements: list[list[_Token]] = []
    current: list[_Token] = []
    depth = 0
    block_depth = 0
    spaced = False
    saw_backslash = False
    position = 0
    length = len(sql)

    while position < length:
        char = sql[position]
        following = sql[position + 1] if position + 1 < length else ""

        if char in _SPACE:
            position += 1
            spaced = True
            continue
        if char == "-" and following == "-":
            position = _line_end(sql, position)
            spaced = True
            continue
        if char == "/" and following == "*":
            position = _skip_block_comment(sql, position)
            spaced = True
            continue

        start = position
        kind, text, position = _next_token(sql, position, backslash_escapes)
        if kind == _STRING and sql[start] in "'nN" and "\\" in sql[start:position]:
            saw_backslash = True

        if kind == _OP and text == ";" and depth == 0 and block_depth == 0:
            if current:
                statements.append(_apply_uescape(sql, current))
            current = []
            spaced = False
            continue

        if kind == _OP and text == "(":
            token_depth = depth
            depth += 1
        elif kind == _OP and text == ")":
            depth = max(0, depth - 1)
            token_depth = depth
        else:
            token_depth = depth

        current.append(_Token(kind, text, start, position, token_depth, spaced))
        spaced = False

        if kind == _WORD and text in ("begin", "case", "end") and _defines_routine(current):
            if text != "end":
                block_depth += 1
            elif block_depth > 0:
                block_depth -= 1

    if current:
        statements.append(_apply_uescape(sql, current))
    return _Lexed(statements, saw_backslash)


def _next_token(sql: str, position: int, backslash_escapes: bool) -> tuple[str, str, int]:
    """Read the token at ``position``; return its kind, its text and the index after it."""
    char = sql[position]
    following = sql[position + 1] if position + 1 < len(sql) else ""
    third = sql[position + 2] if position + 2 < len(sql) else ""

    if char == "'":
        return _STRING, "", _scan_string(sql, position, backslash_escapes)
    if char == '"':
        end = _scan_quoted_identifier(sql, position)
        return _NAME, sql[position + 1 : end - 1].replace('""', '"'), end

    if char == "$":
        match = _PARAMETER.match(sql, position)
        if match:
            return _PARAM, match.group(), match.end()
        match = _DOLLAR_DELIMITER.match(sql, position)
        if match:
            close = sql.find(match.group(), match.end())
            if close < 0:
                raise _LexError("unterminated dollar-quoted string", position)
            return _STRING, "", close + len(match.group())
        return _OP, "$", position + 1

    # Prefixed literals: E'...', B'...', X'...', N'...', U&'...' and U&"...".
    if following == "'":
        if char in "eE":
            return _STRING, "", _scan_string(sql, position + 1, True)
        if char in "bBxX":
            return _STRING, "", _scan_string(sql, position + 1, False)
        if char in "nN":
            return _STRING, "", _scan_string(sql, position + 1, backslash_escapes)
    if char in "uU" and following == "&":
        if third == "'":
            return _STRING, "", _scan_string(sql, position + 2, False)
        if third == '"':
            end = _scan_quoted_identifier(sql, position + 2)
            return _NAME, _decode_unicode_name(sql[position + 3 : end - 1], "\\"), end

    match = _IDENTIFIER.match(sql, position)
    if match:
        return _WORD, match.group().translate(_ASCII_LOWER), match.end()
    match = _NUMBER.match(sql, position)
    if match:
        return _NUMERIC, match.group(), match.end()
    return _OP, char, position + 1


def _line_end(sql: str, position: int) -> int:
    newline = _LINE_BREAK.search(sql, position)
    return newline.start() if newline else len(sql)


def _skip_block_comment(sql: str, position: int) -> int:
    """Return the index after the block comment at ``position``; comments nest."""
    nesting = 0
    index = position
    while True:
        mark = _COMMENT_MARK.search(sql, index)
        if mark is None:
            raise _LexError("unterminated /* comment", position)
        nesting += 1 if mark.group() == "/*" else -1
        index = mark.end()
        if nesting == 0:
            return index


def _scan_string(sql: str, quote: int, backslash_escapes: bool) -> int:
    """Return the index after the string literal whose opening quote is at ``quote``.

    Two literals separated by whitespace that contains a newline are one
    literal in SQL, and the continuation keeps the escape rules of the first.
    """
    body = _ESCAPE_BODY if backslash_escapes else _STANDARD_BODY
    index = quote + 1
    while True:
        match = body.match(sql, index)
        if match is None:
            raise _LexError("unterminated quoted string", quote)
        continuation = _continuation_quote(sql, match.end())
        if continuation is None:
            return match.end()
        index = continuation + 1


def _continuation_quote(sql: str, index: int) -> int | None:
    """Return the index of the quote that continues a string literal, if one does."""
    seen_newline = False
    length = len(sql)
    while index < length:
        char = sql[index]
        if char in _NEWLINE:
            seen_newline = True
            index += 1
        elif char in _SPACE:
            index += 1
        elif sql.startswith("--", index):
            index = _line_end(sql, index)
        elif char == "'" and seen_newline:
            return index
        else:
            return None
    return None


def _scan_quoted_identifier(sql: str, quote: int) -> int:
    match = _IDENTIFIER_BODY.match(sql, quote + 1)
    if match is None:
        raise _LexError("unterminated quoted identifier", quote)
    return match.end()


def _decode_unicode_name(body: str, escape: str) -> str:
    r"""Decode the escapes of a U&"..." identifier: \XXXX, \+XXXXXX and \\ (with \ the escape)."""
    body = body.replace('""', '"')
    pattern = re.compile(
        re.escape(escape) + r"(?:([0-9A-Fa-f]{4})|\+([0-9A-Fa-f]{6})|(" + re.escape(escape) + "))"
    )

    def replace(match: re.Match[str]) -> str:
        if match.group(3):
            return escape
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF else match.group()

    return pattern.sub(replace, body)


def _apply_uescape(sql: str, tokens: list[_Token]) -> list[_Token]:
    """Merge each U&"..." name with its UESCAPE clause, decoding it with that escape character."""
    merged: list[_Token] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        is_unicode_name = token.kind == _NAME and sql[token.start : token.start + 2].lower() == "u&"
        if is_unicode_name and index + 1 < len(tokens) and tokens[index].is_word("uescape"):
            literal = tokens[index + 1]
            if literal.kind == _STRING and literal.end - literal.start == 3:
                name = _decode_unicode_name(sql[token.start + 3 : token.end - 1], sql[literal.start + 1])
                token = _Token(_NAME, name, token.start, literal.end, token.depth, token.spaced)
                index += 2
        merged.append(token)
    return merged


def _defines_routine(tokens: list[_Token]) -> bool:
    """Return True if the statement starts with CREATE [OR REPLACE] FUNCTION or PROCEDURE."""
    words = [token.text for token in tokens[:4] if token.kind == _WORD]
    if words[:1] != ["create"] or len(words) < 2:
        return False
    if words[1] in ("function", "procedure"):
        return True
    return words[1:3] == ["or", "replace"] and len(words) > 3 and words[3] in ("function", "procedure")


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Verdict:
    kind: SqlKind
    reason: str


def _read(reason: str) -> _Verdict:
    return _Verdict(SqlKind.READ, reason)


def _write(reason: str) -> _Verdict:
    return _Verdict(SqlKind.WRITE, reason)


def _destructive(reason: str) -> _Verdict:
    return _Verdict(SqlKind.DESTRUCTIVE, reason)


def _worst(*verdicts: _Verdict | None) -> _Verdict | None:
    """Return the most severe verdict; the first one wins a tie."""
    found: _Verdict | None = None
    for verdict in verdicts:
        if verdict is not None and (found is None or verdict.kind.severity > found.kind.severity):
            found = verdict
    return found


def _nested(verdict: _Verdict, where: str) -> _Verdict:
    return _Verdict(verdict.kind, f"{verdict.reason} ({where})")


def _classify_statements(sql: str, statements: list[list[_Token]], note: str = "") -> SqlClassification:
    classes = []
    for tokens in statements:
        verdict = _worst(
            _hidden_characters(tokens),
            _classify_range(tokens, 0, len(tokens)),
            *_inner_semicolon_parts(tokens),
        )
        assert verdict is not None
        classes.append(StatementClass(verdict.kind, _statement_text(sql, tokens), verdict.reason + note))

    kind = max((entry.kind for entry in classes), key=lambda k: k.severity)
    return SqlClassification(kind, tuple(classes))


def _hidden_characters(tokens: list[_Token]) -> _Verdict | None:
    """Flag names that contain non-ASCII whitespace or invisible format characters.

    PostgreSQL reads such characters outside quotes as part of a name, so a
    keyword next to one is no keyword, and the text does not do what it shows.
    """
    for token in tokens:
        if token.kind == _WORD and not token.text.isascii():
            if any(char.isspace() or unicodedata.category(char) == "Cf" for char in token.text):
                return _destructive(
                    f"{token.text!r} contains non-ASCII whitespace or an invisible character, which "
                    "PostgreSQL reads as part of a name, so the statement may not do what it shows"
                )
    return None


def _inner_semicolon_parts(tokens: list[_Token]) -> list[_Verdict]:
    """Classify every part after a ";" that did not end the statement.

    Such a ";" is valid only inside CREATE RULE actions and BEGIN ATOMIC
    bodies, which the handlers classify already. This pass makes sure that no
    handler, and no unbalanced parenthesis, hides the part after one.
    """
    verdicts = []
    for index, token in enumerate(tokens):
        if token.is_op(";"):
            end = _substatement_end(tokens, index + 1, len(tokens), token.depth)
            if index + 1 < end and not (end - index == 2 and tokens[index + 1].is_word("end")):
                verdicts.append(_nested(_classify_range(tokens, index + 1, end), "in a nested statement"))
    return verdicts


def _statement_text(sql: str, tokens: list[_Token]) -> str:
    pieces = []
    for index, token in enumerate(tokens):
        if index and token.spaced:
            pieces.append(" ")
        pieces.append(sql[token.start : token.end])
    text = redact(re.sub(r"\s+", " ", "".join(pieces)).strip())
    if len(text) > STATEMENT_TEXT_LIMIT:
        text = text[: STATEMENT_TEXT_LIMIT - 1] + "…"
    return text


def _classify_range(tokens: list[_Token], low: int, high: int) -> _Verdict:
    """Classify the statement made of ``tokens[low:high]``."""
    head = low
    while head < high and tokens[head].is_op("("):
        head += 1
    if head >= high:
        return _destructive("unrecognised statement: it has only parentheses")

    first = tokens[head]
    handler = _HANDLERS.get(first.text) if first.kind == _WORD else None
    if handler is None:
        return _unrecognised(first)
    return handler(tokens, head, high)


def _unrecognised(token: _Token) -> _Verdict:
    label = token.text if token.kind in (_WORD, _NAME, _OP) and token.text else token.kind
    if token.kind == _WORD and _PLAIN_WORD.fullmatch(token.text):
        # PostgreSQL's grammar is fixed (extensions cannot add statements), and
        # _HANDLERS lists every word a statement can start with. Any other plain
        # word is a typo such as "selct" that the server rejects as a syntax error,
        # so it goes through and the model sees the server's error.
        return _read(f"{label!r} starts no PostgreSQL statement; the server rejects it")
    return _destructive(f"unrecognised statement starting with {label!r}")


_PLAIN_WORD = re.compile(r"[a-z_][a-z0-9_]*")


# Words that start a query or a data-changing statement inside parentheses,
# as in a WITH query, a subquery or COPY (...) TO.
_QUERY_WORDS = frozenset({"select", "with", "values", "table"})


def _starts_substatement(tokens: list[_Token], index: int, high: int) -> bool:
    """Return True if a statement starts at ``index``, right after a "(".

    INSERT, UPDATE, DELETE and MERGE are unreserved words that can also name a
    column, so each must have the shape PostgreSQL requires of it.
    """
    token = tokens[index]
    if token.kind != _WORD:
        return False
    if token.text in _QUERY_WORDS:
        return True
    following = tokens[index + 1] if index + 1 < high else None
    if token.text in ("insert", "merge"):
        return following is not None and following.is_word("into")
    if token.text == "delete":
        return following is not None and following.is_word("from")
    if token.text == "update":
        end = _substatement_end(tokens, index, high)
        return any(tokens[k].is_word("set") and tokens[k].depth == token.depth for k in range(index + 1, end))
    return False


def _substatement_end(tokens: list[_Token], start: int, high: int, depth: int | None = None) -> int:
    """Return the index after a nested statement: at a ")" that closes its level or a ";" on it."""
    level = tokens[start].depth if depth is None else depth
    for index in range(start, high):
        token = tokens[index]
        if token.kind != _OP:
            continue
        if token.text == ")" and token.depth < level:
            return index
        if token.text == ";" and token.depth == level:
            return index
    return high


def _matching_paren(tokens: list[_Token], open_index: int, high: int) -> int:
    """Return the index of the ")" that closes the "(" at ``open_index``, or ``high``."""
    depth = tokens[open_index].depth
    for index in range(open_index + 1, high):
        if tokens[index].is_op(")") and tokens[index].depth == depth:
            return index
    return high


def _scan_embedded(tokens: list[_Token], low: int, high: int, *, query: bool = False) -> _Verdict | None:
    """Classify what a statement contains besides its own shape.

    That is: nested statements (in parentheses, after a ";" inside
    parentheses or a block, or in a BEGIN ATOMIC body), calls of functions
    that write, and, when ``query`` is true, the locking clauses and INTO of a
    SELECT. Nested statements are classified on their own and skipped here.
    """
    found: _Verdict | None = None
    index = low
    while index < high:
        token = tokens[index]

        level = None
        if token.is_op("(") and index + 1 < high and _starts_substatement(tokens, index + 1, high):
            level = token.depth + 1
        elif token.is_op(";") or (
            token.is_word("atomic") and index > 0 and tokens[index - 1].is_word("begin")
        ):
            level = token.depth
        if level is not None:
            start = index + 1
            end = _substatement_end(tokens, start, high, level)
            if start < end and not (end - start == 1 and tokens[start].is_word("end")):
                found = _worst(found, _nested(_classify_range(tokens, start, end), "in a nested statement"))
            index = max(end, index + 1)
            continue

        if token.kind in (_WORD, _NAME) and index + 1 < high and tokens[index + 1].is_op("("):
            found = _worst(found, _function_verdict(token.text.lower()))

        if query and token.is_word("for") and _is_locking_clause(tokens, index + 1, high):
            found = _worst(found, _write("SELECT … FOR UPDATE or FOR SHARE locks the rows it reads"))
        if (
            query
            and token.is_word("into")
            and not (index > 0 and tokens[index - 1].is_word("insert", "merge"))
        ):
            found = _worst(found, _write("SELECT … INTO creates a table from the result"))

        index += 1
    return found


def _is_locking_clause(tokens: list[_Token], index: int, high: int) -> bool:
    words = [t.text for t in tokens[index : min(index + 2, high)] if t.kind == _WORD]
    if not words:
        return False
    return words[0] in ("update", "share") or words[:2] in (["no", "key"], ["key", "share"])


def _with_embedded(
    base: _Verdict, tokens: list[_Token], low: int, high: int, *, query: bool = False
) -> _Verdict:
    verdict = _worst(base, _scan_embedded(tokens, low, high, query=query))
    assert verdict is not None
    return verdict


def _first_word(tokens: list[_Token], low: int, high: int, words: Iterable[str], depth: int) -> int | None:
    targets = frozenset(words)
    for index in range(low, high):
        token = tokens[index]
        if token.kind == _WORD and token.depth == depth and token.text in targets:
            return index
    return None


def _word_at(tokens: list[_Token], index: int, high: int) -> str:
    return tokens[index].text if index < high and tokens[index].kind == _WORD else ""


# --- Functions that write ---------------------------------------------------

_FUNCTIONS: dict[str, _Verdict] = {
    "pg_terminate_backend": _destructive("pg_terminate_backend ends another session"),
    "pg_cancel_backend": _destructive("pg_cancel_backend cancels another session's query"),
    "setval": _destructive("setval resets a sequence, so new keys can collide with existing rows"),
    "lo_unlink": _destructive("lo_unlink deletes a large object"),
    "lo_truncate": _destructive("lo_truncate cuts a large object short"),
    "lo_truncate64": _destructive("lo_truncate64 cuts a large object short"),
    "lo_export": _destructive("lo_export writes a file on the database server"),
    "dblink_exec": _destructive("dblink_exec runs SQL over another connection"),
    "dblink": _destructive("dblink runs SQL over another connection"),
    "dblink_send_query": _destructive("dblink_send_query runs SQL over another connection"),
    "query_to_xml": _destructive("query_to_xml runs SQL that is passed to it as text"),
    "query_to_xmlschema": _destructive("query_to_xmlschema runs SQL that is passed to it as text"),
    "query_to_xml_and_xmlschema": _destructive("query_to_xml_and_xmlschema runs SQL passed to it as text"),
    "ts_stat": _destructive("ts_stat runs SQL that is passed to it as text"),
    "pg_file_write": _destructive("pg_file_write writes a file on the database server"),
    "pg_file_unlink": _destructive("pg_file_unlink deletes a file on the database server"),
    "pg_file_rename": _destructive("pg_file_rename renames a file on the database server"),
    "pg_drop_replication_slot": _destructive("pg_drop_replication_slot drops a replication slot"),
    "pg_replication_slot_advance": _destructive(
        "pg_replication_slot_advance skips changes a slot still holds"
    ),
    "pg_replication_origin_drop": _destructive("pg_replication_origin_drop drops a replication origin"),
    "pg_promote": _destructive("pg_promote turns a standby server into a primary"),
    "pg_truncate_visibility_map": _destructive("pg_truncate_visibility_map clears a table's visibility map"),
    "pg_stat_statements_reset": _destructive("pg_stat_statements_reset erases query statistics"),
    "nextval": _write("nextval advances a sequence"),
    "set_config": _write("set_config changes a setting"),
    "pg_notify": _write("pg_notify sends a notification to listening sessions"),
    "lo_create": _write("lo_create creates a large object"),
    "lo_creat": _write("lo_creat creates a large object"),
    "lo_import": _write("lo_import creates a large object from a server file"),
    "lo_from_bytea": _write("lo_from_bytea creates a large object"),
    "lo_put": _write("lo_put writes into a large object"),
    "pg_advisory_lock": _write("pg_advisory_lock takes an advisory lock"),
    "pg_advisory_lock_shared": _write("pg_advisory_lock_shared takes an advisory lock"),
    "pg_advisory_xact_lock": _write("pg_advisory_xact_lock takes an advisory lock"),
    "pg_advisory_xact_lock_shared": _write("pg_advisory_xact_lock_shared takes an advisory lock"),
    "pg_try_advisory_lock": _write("pg_try_advisory_lock takes an advisory lock"),
    "pg_try_advisory_lock_shared": _write("pg_try_advisory_lock_shared takes an advisory lock"),
    "pg_try_advisory_xact_lock": _write("pg_try_advisory_xact_lock takes an advisory lock"),
    "pg_try_advisory_xact_lock_shared": _write("pg_try_advisory_xact_lock_shared takes an advisory lock"),
    "pg_advisory_unlock_all": _write("pg_advisory_unlock_all releases advisory locks"),
    "pg_reload_conf": _write("pg_reload_conf reloads the server configuration"),
    "pg_rotate_logfile": _write("pg_rotate_logfile switches the server log file"),
    "pg_switch_wal": _write("pg_switch_wal switches to a new write-ahead log file"),
    "pg_create_restore_point": _write("pg_create_restore_point writes a restore point"),
    "pg_create_physical_replication_slot": _write("pg_create_physical_replication_slot creates a slot"),
    "pg_create_logical_replication_slot": _write("pg_create_logical_replication_slot creates a slot"),
    "pg_import_system_collations": _write("pg_import_system_collations creates collations"),
    "pg_backup_start": _write("pg_backup_start starts a backup"),
    "pg_backup_stop": _write("pg_backup_stop stops a backup"),
    "pg_start_backup": _write("pg_start_backup starts a backup"),
    "pg_stop_backup": _write("pg_stop_backup stops a backup"),
    "pg_wal_replay_pause": _write("pg_wal_replay_pause pauses recovery"),
    "pg_wal_replay_resume": _write("pg_wal_replay_resume resumes recovery"),
}


def _function_verdict(name: str) -> _Verdict | None:
    verdict = _FUNCTIONS.get(name)
    if verdict is None and name.startswith("pg_stat_reset"):
        verdict = _destructive(f"{name} erases collected statistics")
    return verdict


# --- Statement handlers ------------------------------------------------------
#
# A handler gets the token list, the index of the statement's first word and
# the end of the statement, and returns the statement's verdict.

_Handler = Callable[[list[_Token], int, int], _Verdict]


def _simple(kind: SqlKind, reason: str, *, query: bool = False) -> _Handler:
    def handle(tokens: list[_Token], head: int, high: int) -> _Verdict:
        return _with_embedded(_Verdict(kind, reason), tokens, head + 1, high, query=query)

    return handle


def _handle_with(tokens: list[_Token], head: int, high: int) -> _Verdict:
    """Classify WITH: every WITH query on its own, then the main statement."""
    failed = _destructive("WITH clause that could not be read")
    index = head + 1
    if _word_at(tokens, index, high) == "recursive":
        index += 1

    bodies: list[_Verdict] = []
    while True:
        if index >= high or tokens[index].kind not in (_WORD, _NAME):
            return failed
        index += 1
        if index < high and tokens[index].is_op("("):
            index = _matching_paren(tokens, index, high) + 1
        if _word_at(tokens, index, high) != "as":
            return failed
        index += 1
        if _word_at(tokens, index, high) == "not":
            index += 1
        if _word_at(tokens, index, high) == "materialized":
            index += 1
        if index >= high or not tokens[index].is_op("("):
            return failed
        close = _matching_paren(tokens, index, high)
        if index + 1 < close:
            bodies.append(_nested(_classify_range(tokens, index + 1, close), "in a WITH query"))
        index = close + 1

        # SEARCH ... SET column and CYCLE ... USING column clauses follow a recursive query.
        while _word_at(tokens, index, high) in ("search", "cycle"):
            stop = "set" if _word_at(tokens, index, high) == "search" else "using"
            found = _first_word(tokens, index + 1, high, [stop], tokens[index].depth)
            if found is None:
                return failed
            index = found + 2

        if index < high and tokens[index].is_op(","):
            index += 1
            continue
        break

    if index >= high:
        return failed
    main = _classify_range(tokens, index, high)
    verdict = _worst(main, *bodies)
    assert verdict is not None
    return verdict


def _handle_update_or_delete(tokens: list[_Token], head: int, high: int) -> _Verdict:
    verb = tokens[head].text.upper()
    effect = "changes" if verb == "UPDATE" else "deletes"
    depth = tokens[head].depth

    where = _first_word(tokens, head + 1, high, ["where"], depth)
    if where is None:
        base = _destructive(f"{verb} without WHERE {effect} every row")
    elif verb == "DELETE":
        base = _destructive("DELETE removes the matching rows for good")
    else:
        end = _first_word(tokens, where + 1, high, ["returning"], depth) or high
        if _word_at(tokens, where + 1, high) == "current" and _word_at(tokens, where + 2, high) == "of":
            base = _write(f"{verb} … WHERE CURRENT OF {effect} one row")
        elif _always_true(tokens, where + 1, end):
            base = _destructive(
                f"{verb} with a WHERE clause that does not depend on the rows (such as WHERE true "
                f"or 1=1) {effect} every row or none"
            )
        else:
            base = _write(f"{verb} with a WHERE clause {effect} only matching rows")
    return _with_embedded(base, tokens, head + 1, high)


def _handle_merge(tokens: list[_Token], head: int, high: int) -> _Verdict:
    depth = tokens[head].depth
    when = _first_word(tokens, head + 1, high, ["when"], depth) or high
    actions = [
        _word_at(tokens, index + 1, high)
        for index in range(when, high)
        if tokens[index].is_word("then") and tokens[index].depth == depth
    ]
    on_positions = [index for index in range(head + 1, when) if tokens[index].is_word("on")]

    if "delete" in actions:
        base = _destructive("MERGE … THEN DELETE deletes the matched rows")
    elif "update" in actions and on_positions and _always_true(tokens, on_positions[-1] + 1, when):
        base = _destructive("MERGE with an ON condition that does not depend on the rows updates every row")
    else:
        base = _write("MERGE inserts or updates rows")
    return _with_embedded(base, tokens, head + 1, high)


def _handle_explain(tokens: list[_Token], head: int, high: int) -> _Verdict:
    """Classify EXPLAIN: it runs the statement only with the ANALYZE option."""
    index = head + 1
    analyze = False
    if index < high and tokens[index].is_op("("):
        close = _matching_paren(tokens, index, high)
        for low, option_end in _split(tokens, index + 1, close, ","):
            if tokens[low].is_word("analyze", "analyse") and not _is_false(tokens[low + 1 : option_end]):
                analyze = True
        index = close + 1
    else:
        while _word_at(tokens, index, high) in ("analyze", "analyse", "verbose"):
            analyze = analyze or _word_at(tokens, index, high) != "verbose"
            index += 1

    if not analyze or index >= high:
        return _read("EXPLAIN without ANALYZE shows the plan and does not run the statement")
    inner = _classify_range(tokens, index, high)
    return _Verdict(inner.kind, f"EXPLAIN ANALYZE runs the statement: {inner.reason}")


def _is_false(tokens: list[_Token]) -> bool:
    """Return True if option value tokens spell false the way PostgreSQL's boolean parser reads them."""
    if len(tokens) != 1:
        return False
    token = tokens[0]
    if token.kind == _STRING:
        return False  # NOTE: a quoted value such as 'off' counts as true here, the more severe reading
    text = token.text.lower()
    return bool(text) and (text in ("0", "of", "off") or "false".startswith(text) or "no".startswith(text))


def _handle_create(tokens: list[_Token], head: int, high: int) -> _Verdict:
    index = head + 1
    replace = _word_at(tokens, index, high) == "or" and _word_at(tokens, index + 1, high) == "replace"
    if replace:
        index += 2

    if replace:
        base = _destructive("CREATE OR REPLACE overwrites the existing definition, if there is one")
    else:
        base = _write("CREATE adds a new object")

    if _word_at(tokens, index, high) != "rule":
        return _with_embedded(base, tokens, head + 1, high)

    # CREATE RULE ... DO [ALSO | INSTEAD] {NOTHING | command | (command; command ...)}
    do = _first_word(tokens, index, high, ["do"], tokens[head].depth)
    if do is None:
        return _with_embedded(base, tokens, head + 1, high)
    verdicts = [_with_embedded(base, tokens, head + 1, do)]
    action = do + 1
    if _word_at(tokens, action, high) in ("also", "instead"):
        action += 1
    if action < high and tokens[action].is_op("("):
        close = _matching_paren(tokens, action, high)
        for low, end in _split(tokens, action + 1, close, ";"):
            verdicts.append(_classify_range(tokens, low, end))
    elif action < high and not tokens[action].is_word("nothing"):
        verdicts.append(_classify_range(tokens, action, high))

    where = "in the rule's action, which runs on later statements"
    verdict = _worst(verdicts[0], *(_nested(v, where) for v in verdicts[1:]))
    assert verdict is not None
    return verdict


def _split(tokens: list[_Token], low: int, high: int, separator: str) -> list[tuple[int, int]]:
    """Split ``tokens[low:high]`` at ``separator`` characters on its own level; drop empty parts."""
    if low >= high:
        return []
    depth = tokens[low].depth
    parts = []
    start = low
    for index in range(low, high + 1):
        if index == high or (tokens[index].is_op(separator) and tokens[index].depth == depth):
            if start < index:
                parts.append((start, index))
            start = index + 1
    return parts


_ALTER_DESTRUCTIVE_OBJECTS = {
    "system": "ALTER SYSTEM changes the server configuration",
    "policy": "ALTER POLICY changes which rows a role can see or change",
    "role": "ALTER ROLE changes a role, which can lock users out or grant privileges",
    "user": "ALTER USER changes a role, which can lock users out or grant privileges",
    "group": "ALTER GROUP changes role membership",
}


def _handle_alter(tokens: list[_Token], head: int, high: int) -> _Verdict:
    target = _word_at(tokens, head + 1, high)
    if target in _ALTER_DESTRUCTIVE_OBJECTS and _word_at(tokens, head + 2, high) != "mapping":
        return _destructive(_ALTER_DESTRUCTIVE_OBJECTS[target])

    for index in range(head + 1, high):
        reason = _alter_action_reason(tokens, index, head, high)
        if reason:
            return _destructive(reason)

    has_add = any(tokens[index].is_word("add") for index in range(head + 1, high))
    if has_add:
        base = _write("ALTER … ADD adds a column, constraint or other part to the object")
    else:
        base = _write("ALTER changes the object's definition")
    return _with_embedded(base, tokens, head + 1, high)


def _alter_action_reason(tokens: list[_Token], index: int, head: int, high: int) -> str | None:
    """Return why the ALTER action word at ``index`` is destructive, or None."""
    token = tokens[index]
    if token.kind != _WORD:
        return None
    word = token.text
    previous = _word_at(tokens, index - 1, high)
    following = _word_at(tokens, index + 1, high)

    if word == "drop":
        return "ALTER … DROP removes part of the object, such as a column with its data or a constraint"
    if word == "rename":
        return "ALTER … RENAME breaks queries and code that use the old name"
    if word == "disable":
        return "ALTER … DISABLE turns off row level security, a trigger or a rule"
    if word == "force" and previous == "no":
        return "ALTER … NO FORCE ROW LEVEL SECURITY lets the table owner bypass row level security"
    if word == "inherit" and previous == "no":
        return "ALTER … NO INHERIT removes the table's rows from its parent"
    if word == "detach":
        return "ALTER … DETACH PARTITION removes the partition's rows from the table"
    if word == "owner" and following == "to":
        return "ALTER … OWNER TO hands the object to another role"
    if word == "schema" and previous == "set":
        return "ALTER … SET SCHEMA moves the object, which breaks code that uses its old name"
    if word == "restart":
        return "ALTER … RESTART resets a sequence, so new keys can collide with existing rows"
    if word == "revoke":
        return "ALTER DEFAULT PRIVILEGES … REVOKE removes privileges from future objects"
    if word == "type" and _changes_column_type(tokens, index, head):
        return "ALTER … TYPE changes a column's type, which rewrites its values and can lose data"
    return None


def _changes_column_type(tokens: list[_Token], index: int, head: int) -> bool:
    """Return True if TYPE at ``index`` is ALTER [COLUMN] c [SET DATA] TYPE or ALTER ATTRIBUTE a TYPE."""
    if tokens[index - 1].is_word("data"):
        return True
    if index - 2 <= head:
        return False
    name, keyword = tokens[index - 1], tokens[index - 2]
    is_name = name.kind == _NAME or (name.kind == _WORD and name.text != "column")
    return is_name and keyword.is_word("alter", "column", "attribute")


def _handle_copy(tokens: list[_Token], head: int, high: int) -> _Verdict:
    depth = tokens[head].depth
    if _first_word(tokens, head + 1, high, ["program"], depth) is not None:
        return _destructive("COPY … PROGRAM runs a shell command on the database server")

    direction = _first_word(tokens, head + 1, high, ["from", "to"], depth)
    if direction is None:
        return _unrecognised(tokens[head])
    if tokens[direction].text == "from":
        base = _write("COPY … FROM loads rows into a table")
    elif _word_at(tokens, direction + 1, high) == "stdout":
        base = _read("COPY … TO STDOUT reads rows")
    else:
        base = _destructive("COPY … TO a file writes a file on the database server")
    return _with_embedded(base, tokens, head + 1, high)


def _handle_set(tokens: list[_Token], head: int, high: int) -> _Verdict:
    index = head + 1
    if _word_at(tokens, index, high) in ("session", "local") and _word_at(tokens, index + 1, high):
        index += 1
    name = _word_at(tokens, index, high)
    if name == "session_replication_role":
        base = _destructive("SET session_replication_role can turn off triggers and foreign-key checks")
    elif name in ("transaction", "characteristics"):
        base = _write("SET TRANSACTION changes the mode of the transaction")
    else:
        base = _write("SET changes a setting for the session")
    return _with_embedded(base, tokens, head + 1, high)


def _handle_transaction(tokens: list[_Token], head: int, high: int) -> _Verdict:
    word = tokens[head].text
    if word in ("commit", "rollback") and _word_at(tokens, head + 1, high) == "prepared":
        return _destructive(
            f"{word.upper()} PREPARED ends a prepared transaction whose statements are not shown"
        )
    return _write("transaction control")


def _handle_prepare(tokens: list[_Token], head: int, high: int) -> _Verdict:
    if _word_at(tokens, head + 1, high) == "transaction":
        return _write("PREPARE TRANSACTION prepares the transaction for two-phase commit")
    as_index = _first_word(tokens, head + 1, high, ["as"], tokens[head].depth)
    if as_index is None or as_index + 1 >= high:
        return _unrecognised(tokens[head])
    inner = _classify_range(tokens, as_index + 1, high)
    verdict = _worst(
        _write("PREPARE stores a statement for EXECUTE"), _nested(inner, "in the prepared statement")
    )
    assert verdict is not None
    return verdict


def _handle_declare(tokens: list[_Token], head: int, high: int) -> _Verdict:
    depth = tokens[head].depth
    cursor = _first_word(tokens, head + 1, high, ["cursor"], depth)
    query = _first_word(tokens, cursor + 1, high, ["for"], depth) if cursor is not None else None
    if query is None or query + 1 >= high:
        return _unrecognised(tokens[head])
    inner = _classify_range(tokens, query + 1, high)
    verdict = _worst(_read("DECLARE opens a cursor over a query"), _nested(inner, "in the cursor's query"))
    assert verdict is not None
    return verdict


def _handle_drop(tokens: list[_Token], head: int, high: int) -> _Verdict:
    if _word_at(tokens, head + 1, high) == "policy":
        return _destructive("DROP POLICY removes a row level security policy")
    return _destructive("DROP removes the object and everything stored in it")


_SESSION = "changes the state of the session"
_HANDLERS: dict[str, _Handler] = {
    "select": _simple(SqlKind.READ, "SELECT reads rows", query=True),
    "values": _simple(SqlKind.READ, "VALUES computes rows", query=True),
    "table": _simple(SqlKind.READ, "TABLE reads rows", query=True),
    "with": _handle_with,
    "show": _simple(SqlKind.READ, "SHOW reads a setting"),
    "explain": _handle_explain,
    "fetch": _simple(SqlKind.READ, "FETCH reads rows from an open cursor"),
    "move": _simple(SqlKind.READ, "MOVE positions an open cursor"),
    "close": _simple(SqlKind.READ, "CLOSE closes a cursor"),
    "declare": _handle_declare,
    "insert": _simple(SqlKind.WRITE, "INSERT adds rows"),
    "update": _handle_update_or_delete,
    "delete": _handle_update_or_delete,
    "merge": _handle_merge,
    "copy": _handle_copy,
    "create": _handle_create,
    "alter": _handle_alter,
    "comment": _simple(SqlKind.WRITE, "COMMENT changes an object's description"),
    "security": _simple(SqlKind.WRITE, "SECURITY LABEL changes an object's security label"),
    "grant": _simple(SqlKind.WRITE, "GRANT gives privileges to a role"),
    "import": _simple(SqlKind.WRITE, "IMPORT FOREIGN SCHEMA creates foreign tables"),
    "refresh": _simple(SqlKind.WRITE, "REFRESH MATERIALIZED VIEW recomputes the view's rows"),
    "reindex": _simple(SqlKind.WRITE, "REINDEX rebuilds indexes"),
    "cluster": _simple(SqlKind.WRITE, "CLUSTER rewrites a table in index order"),
    "vacuum": _simple(SqlKind.WRITE, "VACUUM reclaims storage; VACUUM FULL rewrites the table"),
    "analyze": _simple(SqlKind.WRITE, "ANALYZE updates planner statistics"),
    "analyse": _simple(SqlKind.WRITE, "ANALYSE updates planner statistics"),
    "checkpoint": _simple(SqlKind.WRITE, "CHECKPOINT forces a write-ahead log checkpoint"),
    "lock": _simple(SqlKind.WRITE, "LOCK locks a table until the transaction ends"),
    "notify": _simple(SqlKind.WRITE, "NOTIFY sends a notification to listening sessions"),
    "listen": _simple(SqlKind.WRITE, f"LISTEN {_SESSION}"),
    "unlisten": _simple(SqlKind.WRITE, f"UNLISTEN {_SESSION}"),
    "discard": _simple(SqlKind.WRITE, f"DISCARD {_SESSION}"),
    "deallocate": _simple(SqlKind.WRITE, f"DEALLOCATE {_SESSION}"),
    "reset": _simple(SqlKind.WRITE, "RESET changes a setting for the session"),
    "set": _handle_set,
    "prepare": _handle_prepare,
    "begin": _handle_transaction,
    "start": _handle_transaction,
    "commit": _handle_transaction,
    "end": _handle_transaction,
    "abort": _handle_transaction,
    "rollback": _handle_transaction,
    "savepoint": _handle_transaction,
    "release": _handle_transaction,
    "drop": _handle_drop,
    "truncate": _simple(SqlKind.DESTRUCTIVE, "TRUNCATE deletes every row"),
    "revoke": _simple(SqlKind.DESTRUCTIVE, "REVOKE removes privileges, which can break access for users"),
    "reassign": _simple(SqlKind.DESTRUCTIVE, "REASSIGN OWNED hands every object of a role to another role"),
    "do": _simple(SqlKind.DESTRUCTIVE, "DO runs a code block whose effect cannot be read from the SQL text"),
    "call": _simple(
        SqlKind.DESTRUCTIVE, "CALL runs a procedure whose effect cannot be read from the SQL text"
    ),
    "execute": _simple(SqlKind.DESTRUCTIVE, "EXECUTE runs a prepared statement whose text is not shown"),
    "load": _simple(SqlKind.DESTRUCTIVE, "LOAD loads a shared library into the server"),
}


def _always_true(tokens: list[_Token], low: int, high: int) -> bool:
    """Return True if a condition matches regardless of the rows.

    That is the case when the condition, or one OR branch of it, uses no column (such as
    ``true``, ``1=1`` or ``'a'='a'``, and also ``1=0``, which matches no row)
    or compares a column with itself (``id = id``).

    NOTE: This is a pattern check. Conditions such as ``id > 0`` or
    ``id IS NOT NULL`` match every row too, and are not detected.
    """
    low, high = _strip_parens(tokens, low, high)
    if low >= high:
        return True
    branches = _split_words(tokens, low, high, "or")
    if len(branches) > 1:
        return any(_always_true(tokens, start, end) for start, end in branches)
    return _uses_no_column(tokens, low, high) or _compares_with_itself(tokens, low, high)


def _strip_parens(tokens: list[_Token], low: int, high: int) -> tuple[int, int]:
    while low < high and tokens[low].is_op("(") and _matching_paren(tokens, low, high) == high - 1:
        low, high = low + 1, high - 1
    return low, high


def _split_words(tokens: list[_Token], low: int, high: int, word: str) -> list[tuple[int, int]]:
    depth = tokens[low].depth
    parts = []
    start = low
    for index in range(low, high):
        if tokens[index].is_word(word) and tokens[index].depth == depth:
            parts.append((start, index))
            start = index + 1
    parts.append((start, high))
    return parts


# Words that can appear in a condition that uses no column.
_CONSTANT_WORDS = frozenset(
    {
        "true", "false", "null", "unknown", "not", "and", "or", "is", "isnull", "notnull",
        "between", "symmetric", "in", "like", "ilike", "similar", "escape", "distinct", "from",
        "case", "when", "then", "else", "end", "cast", "array", "any", "all", "some",
        "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp",
        "current_user", "session_user", "current_role", "user", "current_catalog", "current_schema",
    }
)  # fmt: skip


def _uses_no_column(tokens: list[_Token], low: int, high: int) -> bool:
    index = low
    while index < high:
        token = tokens[index]
        if token.kind == _NAME or token.is_op(";"):
            return False
        if token.kind == _OP and token.text == ":" and index + 1 < high and tokens[index + 1].is_op(":"):
            # A cast: the words after :: name a type.
            index += 2
            while index < high and tokens[index].kind == _WORD:
                index += 1
            continue
        if token.is_word("as"):
            # CAST(x AS type): the words after AS name a type.
            index += 1
            while index < high and tokens[index].kind == _WORD:
                index += 1
            continue
        if token.kind == _WORD and token.text not in _CONSTANT_WORDS:
            return False
        index += 1
    return True


def _compares_with_itself(tokens: list[_Token], low: int, high: int) -> bool:
    depth = tokens[low].depth
    for index in range(low, high):
        if not (tokens[index].is_op("=") and tokens[index].depth == depth):
            continue
        left_end = index
        previous = tokens[index - 1]
        if index > low and previous.kind == _OP and previous.text in "<>!" and not tokens[index].spaced:
            if previous.text == "!":
                return False
            left_end = index - 1
        left = [(t.kind, t.text) for t in tokens[low:left_end]]
        right = [(t.kind, t.text) for t in tokens[index + 1 : high]]
        names_only = all(kind in (_WORD, _NAME) or text == "." for kind, text in left)
        return bool(left) and names_only and left == right
    return False
