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
