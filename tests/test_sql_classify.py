"""Tests of the SQL statement classifier behind insforge_db_query's approval check."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from insforge_tools.errors import InvalidInputError
from insforge_tools.sql import SqlKind, classify

READ, WRITE, DESTRUCTIVE = SqlKind.READ, SqlKind.WRITE, SqlKind.DESTRUCTIVE

# Single statements that can be joined with others.
SINGLE_CASES: list[tuple[str, SqlKind]] = [
    # Reads.
    ("SELECT 1", READ),
    ("select * from users where id = 5", READ),
    ("(SELECT 1)", READ),
    ("((SELECT 1) UNION (SELECT 2))", READ),
    ("WITH t AS (SELECT 1 AS a) SELECT a FROM t", READ),
    ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r", READ),
    (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
        "SEARCH DEPTH FIRST BY n SET ord SELECT * FROM r LIMIT 3",
        READ,
    ),
    ("SHOW search_path", READ),
    ("VALUES (1, 'a'), (2, 'b')", READ),
    ("TABLE users", READ),
    ("EXPLAIN SELECT * FROM t", READ),
    ("EXPLAIN DELETE FROM t", READ),
    ("EXPLAIN (ANALYZE false) DELETE FROM t", READ),
    ("EXPLAIN (ANALYZE off, VERBOSE) UPDATE t SET a = 1", READ),
    ("EXPLAIN ANALYZE SELECT * FROM t", READ),
    ("SELECT 'x; DROP TABLE users' AS note", READ),
    ("SELECT '…;DROP TABLE x' ", READ),
    ("SELECT 'it''s; DROP TABLE t'", READ),
    ("SELECT $$ DROP TABLE t $$", READ),
    ("SELECT $tag$ ; DROP TABLE t; $notag$ ; $tag$", READ),
    ("SELECT E'it\\'s; DROP TABLE t'", READ),
    ("SELECT 'a'\n'; DROP TABLE t'", READ),
    ('SELECT "DROP TABLE t" FROM t', READ),
    ("SELECT 1 -- ; DROP TABLE t", READ),
    ("/* ; DROP TABLE t */ SELECT 1", READ),
    ("/* outer /* inner */ ; DROP TABLE t */ SELECT 1", READ),
    ("select/**/1", READ),
    ("SELECT count(*) FROM orders WHERE created_at > now() - interval '1 day'", READ),
    ("SELECT * FROM events WHERE (start > now())", READ),
    ("SELECT delete_flag, drop_count FROM t", READ),
    ("SELECT a$$b FROM t", READ),
    ("SELECT substring('abc' FROM 1 FOR 2)", READ),
    ("COPY t TO STDOUT", READ),
    ("COPY (SELECT * FROM t) TO STDOUT WITH (FORMAT csv)", READ),
    ("DECLARE c CURSOR FOR SELECT * FROM t", READ),
    ("FETCH 10 FROM c", READ),
    # Writes.
    ("INSERT INTO t (a) VALUES (1)", WRITE),
    ("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = excluded.a", WRITE),
    ("UPDATE t SET a = 1 WHERE id = 5", WRITE),
    ("update t set a = 1 where id = 5 returning *", WRITE),
    ("DELETE FROM t WHERE id = $1", DESTRUCTIVE),
    ("DELETE FROM t USING u WHERE t.id = u.id", DESTRUCTIVE),
    ("DELETE FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)", DESTRUCTIVE),
    ("UPDATE t SET a = 1 WHERE id IN (SELECT id FROM u)", WRITE),
    ("UPDATE t SET a = 1 WHERE CURRENT OF c", WRITE),
    ("CREATE TABLE t (id int PRIMARY KEY)", WRITE),
    ("CREATE INDEX ON t (a)", WRITE),
    ("CREATE TABLE t2 AS SELECT * FROM t", WRITE),
    ("CREATE POLICY p ON t FOR DELETE USING (owner = current_user)", WRITE),
    ("CREATE TRIGGER tr BEFORE INSERT OR UPDATE ON t FOR EACH ROW EXECUTE FUNCTION f()", WRITE),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ DELETE FROM t; SELECT 1 $$", WRITE),
    ("ALTER TABLE t ADD COLUMN b text", WRITE),
    ("ALTER TABLE t ADD COLUMN type text", WRITE),
    ("ALTER TABLE t ENABLE ROW LEVEL SECURITY", WRITE),
    ("ALTER TABLE t ALTER COLUMN a SET DEFAULT 0", WRITE),
    ("COMMENT ON TABLE t IS 'drop me'", WRITE),
    ("GRANT SELECT ON t TO anon", WRITE),
    ("COPY t FROM STDIN", WRITE),
    ("SET statement_timeout = 1000", WRITE),
    ("SELECT * INTO t2 FROM t", WRITE),
    ("SELECT * FROM t FOR UPDATE", WRITE),
    ("SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED", WRITE),
    ("SELECT * FROM (SELECT * FROM t FOR SHARE) s", WRITE),
    ("SELECT nextval('s')", WRITE),
    ("REINDEX TABLE t", WRITE),
    ("VACUUM FULL t", WRITE),
    ("ANALYZE t", WRITE),
    ("REFRESH MATERIALIZED VIEW mv", WRITE),
    ("NOTIFY ch", WRITE),
    ("BEGIN", WRITE),
    (
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a "
        "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.a)",
        WRITE,
    ),
    ("WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d", DESTRUCTIVE),
    ("WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x", WRITE),
    ("EXPLAIN ANALYZE INSERT INTO t VALUES (1)", WRITE),
    ("INSERT INTO log (update, delete) VALUES (1, 2)", WRITE),
    # Destructive.
    ("DROP TABLE t", DESTRUCTIVE),
    ("drop table if exists t cascade", DESTRUCTIVE),
    ("DrOp TaBlE t", DESTRUCTIVE),
    ("DROP POLICY p ON t", DESTRUCTIVE),
    ("TRUNCATE t", DESTRUCTIVE),
    ("DELETE FROM t", DESTRUCTIVE),
    ("UPDATE t SET a = 1", DESTRUCTIVE),
    ("DELETE FROM t WHERE true", DESTRUCTIVE),
    ("DELETE FROM t WHERE 1=1", DESTRUCTIVE),
    ("DELETE FROM t WHERE id = 5 OR 1 = 1", DESTRUCTIVE),
    ("UPDATE t SET a = 1 WHERE 'a' = 'a'", DESTRUCTIVE),
    ("DELETE FROM t WHERE (id = 5 OR (1 = 1))", DESTRUCTIVE),
    ("DELETE FROM t WHERE id = id", DESTRUCTIVE),
    ("DELETE FROM t WHERE 1::int = 1", DESTRUCTIVE),
    ("DELETE FROM t WHERE NOT false RETURNING *", DESTRUCTIVE),
    ("UPDATE t SET a = (SELECT b FROM u WHERE u.id = 1)", DESTRUCTIVE),
    ("DELETE FROM t AS WHERE\u00a0x", DESTRUCTIVE),
    ("ALTER TABLE t DROP COLUMN a", DESTRUCTIVE),
    ("ALTER TABLE t DROP CONSTRAINT c", DESTRUCTIVE),
    ("ALTER TABLE t RENAME TO u", DESTRUCTIVE),
    ("ALTER TABLE t RENAME COLUMN a TO b", DESTRUCTIVE),
    ("ALTER TABLE t DISABLE ROW LEVEL SECURITY", DESTRUCTIVE),
    ("ALTER TABLE t NO FORCE ROW LEVEL SECURITY", DESTRUCTIVE),
    ("ALTER TABLE t ALTER COLUMN a TYPE int USING 0", DESTRUCTIVE),
    ("ALTER TABLE t ALTER COLUMN a SET DATA TYPE bigint", DESTRUCTIVE),
    ("ALTER TABLE t OWNER TO someone", DESTRUCTIVE),
    ("ALTER TABLE t DETACH PARTITION p", DESTRUCTIVE),
    ("ALTER SEQUENCE s RESTART WITH 1", DESTRUCTIVE),
    ("ALTER POLICY p ON t USING (true)", DESTRUCTIVE),
    ("ALTER SYSTEM SET fsync = off", DESTRUCTIVE),
    ("REVOKE SELECT ON t FROM anon", DESTRUCTIVE),
    ("REASSIGN OWNED BY a TO b", DESTRUCTIVE),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", DESTRUCTIVE),
    ("WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT count(*) FROM u", DESTRUCTIVE),
    ("WITH x AS (SELECT 1) DELETE FROM t", DESTRUCTIVE),
    ("WITH insert AS (SELECT 1) DELETE FROM t", DESTRUCTIVE),
    ("EXPLAIN ANALYZE DELETE FROM t", DESTRUCTIVE),
    ("EXPLAIN (ANALYZE true, FORMAT json) UPDATE t SET a = 1", DESTRUCTIVE),
    ("CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", DESTRUCTIVE),
    ("CREATE OR REPLACE VIEW v AS SELECT 1", DESTRUCTIVE),
    ("CREATE RULE r AS ON INSERT TO t DO INSTEAD DELETE FROM t", DESTRUCTIVE),
    ("CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY ch; DELETE FROM t)", DESTRUCTIVE),
    ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", DESTRUCTIVE),
    ("MERGE INTO t USING s ON true WHEN MATCHED THEN UPDATE SET a = 1", DESTRUCTIVE),
    ("DO $$ BEGIN DELETE FROM t; END $$", DESTRUCTIVE),
    ("DO $$ SELECT 1 $$", DESTRUCTIVE),
    ("CALL cleanup()", DESTRUCTIVE),
    ("EXECUTE p(1)", DESTRUCTIVE),
    ("PREPARE p AS DELETE FROM t", DESTRUCTIVE),
    ("LOAD 'plugin'", DESTRUCTIVE),
    ("ROLLBACK PREPARED 'x'", DESTRUCTIVE),
    ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", DESTRUCTIVE),
    ("SELECT pg_catalog.PG_CANCEL_BACKEND(42)", DESTRUCTIVE),
    ("SELECT setval('s', 1)", DESTRUCTIVE),
    ("SELECT lo_unlink(123)", DESTRUCTIVE),
    ("SELECT * FROM dblink_exec('dbname=x', 'DROP TABLE t')", DESTRUCTIVE),
    ("SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')", DESTRUCTIVE),
    ("SELECT pg_stat_reset()", DESTRUCTIVE),
    ("SELECT \"setval\"('s', 1)", DESTRUCTIVE),
    ("SELECT U&\"\\0073etval\"('s', 1)", DESTRUCTIVE),
    ("SELECT U&\"!0073etval\" UESCAPE '!' ('s', 1)", DESTRUCTIVE),
    ("VALUES (pg_terminate_backend(1))", DESTRUCTIVE),
    ("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity) s", DESTRUCTIVE),
    ("INSERT INTO log SELECT pg_terminate_backend(pid) FROM pg_stat_activity", DESTRUCTIVE),
    ("DECLARE c CURSOR FOR SELECT pg_terminate_backend(pid) FROM pg_stat_activity", DESTRUCTIVE),
    ("COPY t TO '/tmp/out.csv'", DESTRUCTIVE),
    ("COPY t FROM PROGRAM 'curl example.invalid'", DESTRUCTIVE),
    ("COPY (DELETE FROM t RETURNING *) TO STDOUT", DESTRUCTIVE),
    ("SET session_replication_role = replica", DESTRUCTIVE),
    ("FROBNICATE t", READ),
    ("selct 1", READ),
    ("'DROP TABLE t'", DESTRUCTIVE),
    ("\u00a0SELECT 1", DESTRUCTIVE),
    ("SELECT\u2003*\u2003FROM t", DESTRUCTIVE),
    ("SELECT * FROM t FOR UPDATE\u200b", DESTRUCTIVE),
]

# Statements that split into several, or that swallow what follows them.
MULTI_CASES: list[tuple[str, SqlKind]] = [
    ("SELECT 1; DROP TABLE t", DESTRUCTIVE),
    ("SELECT 1; -- harmless\nDROP TABLE t", DESTRUCTIVE),
    ("/* ; */ DROP TABLE t", DESTRUCTIVE),
    ("SELECT '…;' ; DROP TABLE x", DESTRUCTIVE),
    ("SELECT 1 /* ; */ ; DELETE FROM t", DESTRUCTIVE),
    ("select 1;;;drop table t;;", DESTRUCTIVE),
    ("SELECT 1; SELECT 2", READ),
    ("INSERT INTO t VALUES (1); SELECT * FROM t", WRITE),
    ("SELECT a$$ FROM t; DROP TABLE x; SELECT $$ $$", DESTRUCTIVE),
    ("SELECT E'a'\n'\\''; DROP TABLE t; --'", DESTRUCTIVE),
    ("SELECT 'a\\', ' ; DROP TABLE t; --'", DESTRUCTIVE),
    ("SELECT (1; DROP TABLE t", DESTRUCTIVE),
    ("SELECT 1); DROP TABLE t", DESTRUCTIVE),
    ("SELECT 1;\u00a0DROP TABLE t", DESTRUCTIVE),
    ("SELECT 1;\u3000SELECT 2", DESTRUCTIVE),
    ("CREATE FUNCTION f() RETURNS void LANGUAGE sql BEGIN ATOMIC DELETE FROM t; END", DESTRUCTIVE),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; SELECT 2", WRITE),
    ("CREATE FUNCTION begin() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql; DROP TABLE t;", DESTRUCTIVE),
    ("BEGIN; DELETE FROM t WHERE id = 1; COMMIT", DESTRUCTIVE),
    ("EXPLAIN (\n;DROP TABLE x", DESTRUCTIVE),
]

ALL_CASES = SINGLE_CASES + MULTI_CASES


def test_case_table_size() -> None:
    assert len(ALL_CASES) >= 60


@pytest.mark.parametrize(("sql", "expected"), ALL_CASES)
def test_classify_table(sql: str, expected: SqlKind) -> None:
    result = classify(sql)

    assert result.kind is expected, result.describe()


def test_statements_split_on_top_level_semicolons() -> None:
    result = classify("SELECT ';'; /* ; */ INSERT INTO t VALUES (';'); -- ;\nDROP TABLE t")

    assert [entry.kind for entry in result.statements] == [READ, WRITE, DESTRUCTIVE]
    assert [entry.statement for entry in result.statements] == [
        "SELECT ';'",
        "INSERT INTO t VALUES (';')",
        "DROP TABLE t",
    ]


def test_begin_atomic_body_is_one_statement() -> None:
    sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT 3"

    result = classify(sql)

    assert len(result.statements) == 2
    assert result.statements[0].statement.endswith("END")
    assert result.statements[1].statement == "SELECT 3"


def test_statement_text_drops_comments_and_whitespace() -> None:
    result = classify("  SELECT   a,\n\tb -- note\n FROM /* x */ t  ")

    assert result.statements[0].statement == "SELECT a, b FROM t"


def test_statement_text_is_cut_to_200_characters() -> None:
    sql = "SELECT " + ", ".join(f"column_{i}" for i in range(100)) + " FROM t"  # noqa: S608 - test input

    text = classify(sql).statements[0].statement

    assert len(text) == 200
    assert text.startswith("SELECT column_0, column_1")
    assert text.endswith("…")


def test_statement_text_is_redacted() -> None:
    result = classify("INSERT INTO keys VALUES ('uak_abcdef1234567890')")

    assert "abcdef1234567890" not in result.statements[0].statement
    assert "abcdef1234567890" not in result.describe()


def test_reason_names_the_rule() -> None:
    result = classify("DELETE FROM t")

    assert result.statements[0].reason == "DELETE without WHERE deletes every row"


def test_reason_for_word_that_starts_no_statement() -> None:
    result = classify("FROBNICATE t")

    assert "starts no PostgreSQL statement" in result.statements[0].reason
    assert "frobnicate" in result.statements[0].reason


def test_unrecognised_quoted_start_stays_destructive() -> None:
    result = classify('"drop" table t')

    assert result.kind is DESTRUCTIVE
    assert result.statements[0].reason.startswith("unrecognised statement")


def test_typo_before_drop_is_still_destructive() -> None:
    assert classify("selct 1; drop table t").kind is DESTRUCTIVE


def test_reason_for_hidden_whitespace() -> None:
    result = classify("SELECT 1;\u00a0DROP TABLE t")

    assert "non-ASCII whitespace" in result.statements[1].reason


def test_reason_for_backslash_reading() -> None:
    result = classify("SELECT 'a\\', ' ; DROP TABLE t; --'")

    assert "standard_conforming_strings" in result.statements[-1].reason


def test_flags_follow_kind() -> None:
    read = classify("SELECT 1")
    write = classify("INSERT INTO t VALUES (1)")
    destructive = classify("DROP TABLE t")

    assert read.read_only
    assert not read.destructive
    assert not write.read_only
    assert not write.destructive
    assert destructive.destructive
    assert not destructive.read_only


def test_kind_severity_order() -> None:
    assert READ.severity < WRITE.severity < DESTRUCTIVE.severity
    assert str(DESTRUCTIVE) == "destructive"


def test_describe_lists_non_read_statements() -> None:
    text = classify("SELECT 1; INSERT INTO t VALUES (1); DROP TABLE t").describe()

    assert "\n" not in text
    assert text.startswith("3 SQL statements, destructive overall:")
    assert "#2 write `INSERT INTO t VALUES (1)`: INSERT adds rows" in text
    assert "#3 destructive `DROP TABLE t`" in text
    assert "SELECT 1" not in text


def test_describe_read_only_lists_all() -> None:
    text = classify("SELECT 1").describe()

    assert text == "1 SQL statement, read only: #1 read `SELECT 1`: SELECT reads rows"


def test_describe_limits_the_list() -> None:
    text = classify("; ".join(f"DROP TABLE t{i}" for i in range(15))).describe()

    assert "#10 destructive" in text
    assert "#11 destructive" not in text
    assert text.endswith("and 5 more")


@pytest.mark.parametrize("sql", ["", "   \n\t", "-- only a comment", "/* c */", ";", " ; ;; "])
def test_empty_text_raises(sql: str) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        classify(sql)


@pytest.mark.parametrize(
    ("sql", "what", "position"),
    [
        ("SELECT 'abc", "unterminated quoted string", 8),
        ("SELECT E'abc\\'", "unterminated quoted string", 9),
        ("SELECT 'a'\n'b", "unterminated quoted string", 8),
        ("SELECT $$abc", "unterminated dollar-quoted string", 8),
        ("SELECT $a$ x $b$", "unterminated dollar-quoted string", 8),
        ('SELECT "abc', "unterminated quoted identifier", 8),
        ("SELECT 1 /* abc", "unterminated /* comment", 10),
        ("/* /* */ SELECT 1", "unterminated /* comment", 1),
    ],
)
def test_unterminated_text_raises(sql: str, what: str, position: int) -> None:
    with pytest.raises(InvalidInputError) as caught:
        classify(sql)

    assert what in caught.value.message
    assert f"character {position}" in caught.value.message
    assert caught.value.next_step.startswith("Close the")


def test_nul_character_raises() -> None:
    with pytest.raises(InvalidInputError, match="NUL character at character 10"):
        classify("SELECT 1;\x00DROP TABLE t")


def test_deep_nesting_raises() -> None:
    sql = "SELECT " + "(SELECT " * 3000 + "1" + ")" * 3000

    with pytest.raises(InvalidInputError, match="too deeply"):
        classify(sql)


def test_moderate_nesting_classifies() -> None:
    sql = "SELECT " + "(SELECT " * 50 + "pg_terminate_backend(1)" + ")" * 50

    assert classify(sql).kind is DESTRUCTIVE


def test_non_string_raises() -> None:
    with pytest.raises(InvalidInputError, match="must be a string"):
        classify(None)  # type: ignore[arg-type]


# --- Properties ---------------------------------------------------------------

SINGLE_SQL = [sql for sql, _ in SINGLE_CASES]
ALL_SQL = [sql for sql, _ in ALL_CASES]
KIND_OF = dict(ALL_CASES)

wrappers = st.lists(
    st.sampled_from(
        [" ", "\n", "\t", "\r\n", "\f", "-- note ; DROP TABLE x\n", "/* ; */", "/* a /* b */ c */"]
    ),
    max_size=4,
).map("".join)
unicode_spaces = st.sampled_from(["", "\u00a0", "\u2003", "\u3000", "\u200b", "\ufeff"])


@settings(max_examples=300)
@given(sql=st.sampled_from(ALL_SQL), before=wrappers, after=wrappers, odd=unicode_spaces)
def test_wrapping_never_lowers_kind(sql: str, before: str, after: str, odd: str) -> None:
    wrapped = odd + before + sql + "\n" + after + odd

    assert classify(wrapped).kind.severity >= KIND_OF[sql].severity


# Text built from the characters and pieces that matter to the lexer.
sql_like_text = st.lists(
    st.sampled_from(
        list("'\"$-/*;()eEuU&\\\n abcSELECTDROPtag_1=") + ["$$", "$tag$", "E'", "--", "/*", "*/"]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=400)
@given(text=st.one_of(st.text(), sql_like_text, st.sampled_from(ALL_SQL)))
@example(text="EXPLAIN (")
@example(text="BEGIN (")
@example(text="CREATE FUNCTION f() BEGIN ATOMIC")
@example(text="SELECT 1 -- comment")
def test_appended_drop_is_destructive(text: str) -> None:
    try:
        result = classify(text + "\n; DROP TABLE x")
    except InvalidInputError:
        with pytest.raises(InvalidInputError):
            classify(text)
        return

    assert result.kind is DESTRUCTIVE


@settings(max_examples=300)
@given(inner=st.one_of(st.sampled_from(ALL_SQL), st.text()).filter(lambda s: "\x00" not in s))
def test_string_literal_hides_statement(inner: str) -> None:
    plain = inner.replace("\\", "").replace("'", "''")
    escaped = inner.replace("\\", "\\\\").replace("'", "\\'")
    tag = "$q$" if "$q$" not in inner else None

    assert classify(f"SELECT '{plain}'").kind is READ
    assert classify(f"SELECT E'{escaped}' AS note").kind is READ
    assert classify(f"INSERT INTO t (c) VALUES ('{plain}')").kind is WRITE  # noqa: S608 - test input
    if tag:
        assert classify(f"SELECT {tag}{inner}{tag}").kind is READ


@settings(max_examples=200)
@given(inner=st.sampled_from(ALL_SQL), outer=st.sampled_from(SINGLE_CASES))
def test_string_literal_keeps_outer_kind(inner: str, outer: tuple[str, SqlKind]) -> None:
    sql, kind = outer
    literal = "'" + inner.replace("\\", "").replace("'", "''") + "'"

    assert classify(f"{sql}\n; SELECT {literal}").kind is kind


# Statements without dollar tags, whose case matters.
CASE_FREE_SQL = [sql for sql in ALL_SQL if not re.search(r"\$[A-Za-z_]", sql)]


@settings(max_examples=300)
@given(sql=st.sampled_from(CASE_FREE_SQL), flips=st.lists(st.booleans(), min_size=1))
def test_letter_case_does_not_matter(sql: str, flips: list[bool]) -> None:
    varied = "".join(
        char.swapcase() if char.isascii() and flips[i % len(flips)] else char for i, char in enumerate(sql)
    )

    assert classify(varied).kind is KIND_OF[sql]


# Single statements that end cleanly, so joining them adds nothing.
JOINABLE = [case for case in SINGLE_CASES if not case[0].startswith("CREATE FUNCTION")]


@settings(max_examples=200)
@given(cases=st.lists(st.sampled_from(JOINABLE), min_size=1, max_size=5))
def test_joined_statements_keep_their_kinds(cases: list[tuple[str, SqlKind]]) -> None:
    result = classify("\n;\n".join(sql for sql, _ in cases))

    assert [entry.kind for entry in result.statements] == [kind for _, kind in cases]
    assert result.kind.severity == max(kind.severity for _, kind in cases)


@settings(max_examples=500)
@given(text=st.one_of(st.text(), sql_like_text))
def test_any_text_classifies_or_raises(text: str) -> None:
    try:
        result = classify(text)
    except InvalidInputError:
        return

    assert result.statements
    assert result.kind.severity == max(entry.kind.severity for entry in result.statements)
    assert all(len(entry.statement) <= 200 for entry in result.statements)
    assert all(entry.reason for entry in result.statements)
