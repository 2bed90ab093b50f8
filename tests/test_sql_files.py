"""Every shipped SQL file parses, states its purpose, and binds values as $parameters."""

import re

import duckdb
import pytest

from recommender import db

NAMES = db.sql_names()


def test_there_are_sql_files():
    assert any(n.startswith("schema/") for n in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_sql_file_parses_and_starts_with_a_purpose_comment(name):
    text = db.load_sql(name)
    assert text.lstrip().startswith("--"), f"{name}.sql must start with a comment giving its purpose"
    # {{ident}} placeholders are filled with checked identifiers before running.
    probe = re.sub(r"\{\{\w+\}\}", "placeholder_ident", text)
    statements = duckdb.connect().extract_statements(probe)
    assert statements, f"{name}.sql holds no statement"
    if not name.startswith("schema/"):
        assert len(statements) == 1, f"{name}.sql must hold one statement"


@pytest.mark.parametrize("name", [n for n in NAMES if not n.startswith("schema/")])
def test_parameters_named_in_the_header_comment(name):
    text = db.load_sql(name)
    header = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("--"))
    for param in sorted(set(re.findall(r"\$([A-Za-z_]\w*)", text))):
        assert f"${param}" in header, f"{name}.sql binds ${param} but its header does not name it"


def test_schema_is_idempotent(db_path):
    con = db.connect(db_path)
    db.ensure_schema(con, force=True)  # force: the recorded fingerprint would skip the files
    db.ensure_schema(con, force=True)


def _has_macro(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_functions() WHERE function_name = ?",
                            [name]).fetchone()[0])


def test_connect_skips_the_schema_files_when_their_fingerprint_is_recorded(db_path, monkeypatch):
    con = db.connect(db_path)
    con.execute("DROP MACRO cloudtrail_outcome")
    con.close()
    con = db.connect(db_path)
    assert not _has_macro(con, "cloudtrail_outcome")  # same fingerprint: the files did not run
    con.close()
    monkeypatch.setattr(db, "schema_fingerprint", lambda: "changed schema files")
    con = db.connect(db_path)
    assert _has_macro(con, "cloudtrail_outcome")  # new fingerprint: they ran, and it is recorded
    assert con.execute("SELECT fingerprint FROM schema_state").fetchall() == [("changed schema files",)]


def test_a_database_from_before_the_fingerprint_gets_the_schema(db_path):
    con = db.connect(db_path)
    con.execute("DROP TABLE schema_state")
    con.execute("DROP MACRO cloudtrail_outcome")
    con.close()
    con = db.connect(db_path)
    assert _has_macro(con, "cloudtrail_outcome")
    assert con.execute("SELECT fingerprint FROM schema_state").fetchall() == [(db.schema_fingerprint(),)]


def test_the_fingerprint_follows_the_schema_files(monkeypatch):
    before = db.schema_fingerprint()
    db.schema_fingerprint.cache_clear()
    real = db.load_sql
    monkeypatch.setattr(db, "load_sql", lambda name: real(name) + ("\n-- edited" if name == "schema/10_ingest" else ""))
    try:
        assert db.schema_fingerprint() != before
    finally:
        db.schema_fingerprint.cache_clear()


# Exception types, not instances: an instance made at collection lives until exit, and once
# raised its traceback would keep this test's connection alive with it.
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_transaction_rolls_back_on_any_exception_and_commits_otherwise(db_path, error):
    con = duckdb.connect(str(db_path))
    con.execute("CREATE TABLE t (x INTEGER)")
    with pytest.raises(error):
        with db.transaction(con):
            con.execute("INSERT INTO t VALUES (1)")
            raise error("statement failed")
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    with db.transaction(con):
        con.execute("INSERT INTO t VALUES (2)")
    con.close()
    assert duckdb.connect(str(db_path)).execute("SELECT x FROM t").fetchall() == [(2,)]


def test_a_failed_commit_is_the_error_raised_not_the_rollback_after_it(db_path):
    con = duckdb.connect(str(db_path))
    with pytest.raises(duckdb.TransactionException, match="cannot commit"):
        with db.transaction(con):
            con.execute("COMMIT")  # ends the transaction: the block's own COMMIT then fails
    con.close()
