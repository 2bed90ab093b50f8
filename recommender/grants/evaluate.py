"""Expand statements against the catalog and evaluate effective access, in SQL.

The work is a fixed sequence of SQL files (``sql/grants/``): match every action
pattern once, expand each policy statement once (NotAction inverted against the
whole catalog), fan the identity statements out per principal (``grants``), then
decide each Allow row against Denies, the permissions boundary and every SCP
level (``effective_grants``), and derive the findings. Nothing here loops over
actions in Python; a 1,000-role account evaluates in seconds (see
``benchmarks/bench_grants.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import duckdb

from recommender import db
from recommender.catalog import ensure_catalog

_DERIVED = (
    "action_pattern_matches",
    "statement_actions",
    "grants",
    "effective_grants",
    "iam_findings",
)
_STEPS = (
    "grants/action_pattern_matches",
    "grants/statement_actions",
    "grants/grants",
    "grants/principal_profiles",
    "grants/allow_rows",
    "grants/checks",
    "grants/identity_checks",
    "grants/check_relations",
    "grants/resource_mismatch",
    "grants/verdicts",
    "grants/deny_verdicts",
    "grants/effective_grants",
    "grants/findings_unknown_actions",
    "grants/findings_wildcards",
    "grants/findings_resource_star",
    "grants/findings_resource_mismatch",
    "grants/findings_blocked_statements",
    "grants/findings_policy_variables",
)
_TEMP = (
    "_principal_profiles", "_allow_rows", "_checks", "_identity_checks", "_check_rel",
    "_mismatch", "_verdicts", "_deny_verdicts",
)  # fmt: skip


def evaluate(
    con: duckdb.DuckDBPyConnection, progress: Callable[[int, int, str], None] | None = None
) -> dict[str, Any]:
    """Rebuild statement_actions, grants, effective_grants and iam_findings from the
    loaded principals/policies/statements. Returns counts and per-step seconds."""
    ensure_catalog(con)
    timings: dict[str, float] = {}
    con.execute("BEGIN")
    try:
        for table in _DERIVED:
            db.run(con, "common/clear_table", table=table)
        for i, step in enumerate(_STEPS, 1):
            started = time.perf_counter()
            db.run(con, step)
            timings[step.split("/", 1)[1]] = round(time.perf_counter() - started, 3)
            if progress:
                progress(i, len(_STEPS), step)
        for table in _TEMP:
            db.run(con, "grants/drop_temp", table=table)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    counts = db.query(con, "grants/counts")[0]
    return {**counts, "timings": timings}
