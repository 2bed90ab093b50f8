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
    db.ensure_schema(con)
    db.ensure_schema(con)
