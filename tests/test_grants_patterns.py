"""The SQL pattern macros agree with their Python twins (and the twins with brute force)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender import db
from recommender.grants.patterns import (
    action_matches,
    pattern_covers,
    patterns_overlap,
    resource_matches,
)

ALPHABET = "ab:/.*?"
patterns = st.text(alphabet=ALPHABET, max_size=7)
strings = st.text(alphabet="ab:/.", max_size=7)


@pytest.fixture(scope="module")
def con():
    return db.connect(":memory:")  # the macros come with the schema; no catalog needed


def _brute_regex(p: str) -> re.Pattern[str]:
    return re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in p), re.DOTALL
    )


def test_known_cases(con):
    cases = [
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::B/x", False),  # case-sensitive
        ("arn:aws:s3:::b.c/*", "arn:aws:s3:::bxc/k", False),  # '.' is literal
        ("arn:aws:s3:::b/[a]", "arn:aws:s3:::b/a", False),  # '[' is literal
        ("arn:aws:s3:::b/[a]", "arn:aws:s3:::b/[a]", True),
        ("arn:aws:s3:::home/${aws:username}/*", "arn:aws:s3:::home/bob/k", True),
        ("arn:aws:sqs:*:1:q?", "arn:aws:sqs:us-east-1:1:q1", True),
    ]
    for pattern, arn, expected in cases:
        assert resource_matches(pattern, arn) is expected, (pattern, arn)
        assert (
            con.execute("SELECT iam_resource_match(?, ?)", [pattern, arn]).fetchone()[0] is expected
        )
    assert action_matches("S3:get*", "s3:GetObject") and not action_matches(
        "s3:[G]et*", "s3:GetObject"
    )
    assert con.execute("SELECT iam_action_match('S3:get*', 's3:GetObject')").fetchone()[0]
    assert not con.execute("SELECT iam_action_match('s3:Get_bject', 's3:GetObject')").fetchone()[0]
    assert patterns_overlap("arn:aws:s3:::bucket*", "arn:*:s3:::*/*")
    assert not patterns_overlap("arn:aws:s3:::bucket", "arn:*:s3:::*/*")
    assert pattern_covers("arn:aws:s3:::*", "arn:aws:s3:::b/*") and not pattern_covers("a?c", "a*c")


@settings(max_examples=100, deadline=None)
@given(pattern=patterns, arns=st.lists(strings, min_size=1, max_size=8))
def test_resource_match_macro_equals_python_and_brute_force(con, pattern, arns):
    got = con.execute(
        "SELECT list(iam_resource_match($p, a) ORDER BY i) FROM "
        "(SELECT unnest($arns) AS a, unnest(range(len($arns))) AS i)",
        {"p": pattern, "arns": arns},
    ).fetchone()[0]
    assert got == [resource_matches(pattern, a) for a in arns]
    assert got == [bool(_brute_regex(pattern).fullmatch(a)) for a in arns]


@settings(max_examples=100, deadline=None)
@given(d=patterns, a=patterns, samples=st.lists(strings, max_size=12))
def test_cover_and_overlap_are_sound(con, d, a, samples):
    sql_cov, sql_ovl = con.execute(
        "SELECT iam_pattern_covers($d, $a), iam_patterns_overlap($d, $a)", {"d": d, "a": a}
    ).fetchone()
    py_cov, py_ovl = pattern_covers(d, a), patterns_overlap(d, a)
    # SQL is conservative in the safe direction: it never claims more cover, nor less overlap.
    assert not sql_cov or py_cov
    assert sql_ovl or not py_ovl
    # The Python twins against concrete strings: cover means every a-string is a d-string...
    for s in samples + [
        a.replace("*", "").replace("?", "b"),
        a.replace("*", "ab:").replace("?", "."),
    ]:
        if resource_matches(a, s) and py_cov:
            assert resource_matches(d, s), (d, a, s)
        # ...and no overlap means no string matches both.
        if resource_matches(a, s) and resource_matches(d, s):
            assert py_ovl, (d, a, s)
