"""Every (event source, event name) in the shared real-world CloudTrail datasets is
mapped, and every action the mapping produces exists in the catalog. Prints the share
of events mapped (to actions, or explicitly to none)."""

from __future__ import annotations

from pathlib import Path

from mapping_helpers import fresh_db

from recommender import db, mapping
from recommender.ingest import ingest


def test_shared_datasets_map_to_catalog_actions(shared_datasets: Path, tmp_path: Path) -> None:
    con = db.connect(fresh_db(tmp_path / "datasets.duckdb"))
    ingest(con, [shared_datasets])
    summary = mapping.refresh_rules(con)

    unknown = con.execute(
        """SELECT DISTINCT r.event_source, r.event_name, r.action
           FROM event_action_rules r LEFT JOIN catalog_actions c ON c.action = r.action
           WHERE r.action IS NOT NULL AND c.action IS NULL"""
    ).fetchall()
    assert unknown == []
    observed_unknown = con.execute(
        """SELECT DISTINCT o.action FROM observed_actions o
           LEFT JOIN catalog_actions c ON c.action = o.action WHERE c.action IS NULL"""
    ).fetchall()
    assert observed_unknown == []

    cov = summary["coverage"]
    events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert cov["exact"] and cov["calls"] == events
    assert (
        cov["calls"] == cov["calls_to_actions"] + cov["calls_no_permission"] + cov["calls_unmapped"]
    )
    unmapped = con.execute(
        "SELECT event_source, event_name, events, reason FROM unmapped_calls"
    ).fetchall()
    assert sum(u[2] for u in unmapped) == cov["calls_unmapped"]
    print(
        f"\nshared datasets: {cov['calls']} events, {cov['pairs']} (source, name) pairs; "
        f"{cov['calls_to_actions']} events map to actions, {cov['calls_no_permission']} explicitly to none, "
        f"{cov['calls_unmapped']} unmapped -> {cov['share_mapped']:.2%} mapped"
    )
    for source, name, n, reason in unmapped:
        print(f"  unmapped {source} {name!r} ({n}): {reason}")
    # A floor, not a figure: losing a family of rules (S3, sign-in, version suffixes) drops
    # the share far below it.
    assert cov["share_mapped"] >= 0.95
    con.close()


def test_request_kept_only_where_read_changes_no_usage_row(shared_datasets: Path, tmp_path: Path) -> None:
    """usage_daily_rows drops the request from the group key for services the derivation
    does not read it for (er_reads_request). On the real datasets (dozens of services) the
    rows equal those grouped with every request kept."""
    con = db.connect(fresh_db(tmp_path / "datasets.duckdb"))
    ingest(con, [shared_datasets])
    con.execute("CREATE TEMP TABLE kept_where_read AS SELECT * FROM usage_daily_rows('events')")
    con.execute("CREATE OR REPLACE TEMP MACRO er_reads_request(event_source) AS true")
    con.execute("CREATE TEMP TABLE kept_always AS SELECT * FROM usage_daily_rows('events')")
    rows = con.execute("SELECT count(*), sum(calls) FROM kept_where_read").fetchone()
    assert rows == con.execute("SELECT count(*), sum(calls) FROM kept_always").fetchone()
    assert rows[0] > 1000
    for a, b in (("kept_where_read", "kept_always"), ("kept_always", "kept_where_read")):
        assert con.execute(f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})").fetchone()[0] == 0
    # The shortcut applies: many calls there come from services whose request is not read.
    con.execute("DROP MACRO temp.er_reads_request")
    others = con.execute("SELECT count(*) FROM events WHERE NOT er_reads_request(event_source)").fetchone()[0]
    assert others > 100
    con.close()
