"""Ingest every real CloudTrail file in ../shared/datasets: counts reconcile per file and
in total, and assumed-role records land on the role that issued the session."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from recommender.db import connect
from recommender.ingest import ingest


@pytest.fixture(scope="module")
def shared_db(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory):
    con = connect(tmp_path_factory.mktemp("shared") / "shared.duckdb")
    result = ingest(con, [shared_datasets])
    yield con, result
    con.close()


def test_counts_reconcile(shared_db) -> None:
    con, result = shared_db
    assert result.files > 100
    assert result.records == result.stored + result.duplicates + result.rejected
    for f in result.file_results:
        assert f.records == f.stored + f.duplicates + f.rejected, f.uri
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == result.stored
    assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == result.rejected
    assert con.execute("SELECT count(DISTINCT event_id) FROM events").fetchone()[0] == result.stored
    # The provenance listings next to the record files are JSON but not CloudTrail.
    skipped = [f.uri for f in result.file_results if f.status == "skipped"]
    assert skipped and all(u.endswith("provenance.json") for u in skipped)


def _issuers(root: Path) -> dict[str, str]:
    """eventID -> sessionIssuer.arn, read straight from the delivery-shaped and array files."""
    out: dict[str, str] = {}
    seen: dict[str, int] = {}
    for path in root.rglob("*.json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        records = doc.get("Records") if isinstance(doc, dict) else doc
        if not isinstance(records, list):
            continue
        for rec in records:
            if not isinstance(rec, dict):
                continue
            seen[rec.get("eventID")] = seen.get(rec.get("eventID"), 0) + 1
            ui = rec.get("userIdentity") or {}
            arn = ((ui.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn")
            if ui.get("type") == "AssumedRole" and arn and rec.get("eventID"):
                out[rec["eventID"]] = arn
    # Test fixtures reuse some eventIDs for different records ("1"); dedup keeps the first,
    # so only ids that occur once are compared.
    return {k: v for k, v in out.items() if seen[k] == 1}


def test_assumed_roles_are_attributed_to_the_issuing_role(shared_db, shared_datasets: Path) -> None:
    con, _ = shared_db
    expected = _issuers(shared_datasets)
    assert len(expected) > 200
    stored = dict(con.execute(
        "SELECT event_id, principal_arn FROM events WHERE list_contains($ids, event_id)",
        {"ids": list(expected)}).fetchall())
    assert len(stored) == len(expected)
    assert {k: v for k, v in stored.items() if v != expected[k]} == {}
    # A known session from an EventBridge envelope (cloud-custodian event-cloud-trail-s3.json).
    row = con.execute("SELECT principal_arn, session_name FROM events "
                      "WHERE event_id = '80486b96-9f31-441e-b4e2-b85a4e520a07'").fetchall()
    assert row == [("arn:aws:iam::101010101111:role/Sandbox_Dev", "user")]
    # Records without a session issuer fall back to the role derived from a well-formed
    # assumed-role ARN; only hand-written doc examples with malformed ARNs keep their ARN.
    odd = [r[0] for r in con.execute(
        "SELECT principal_arn FROM events WHERE principal_type = 'AssumedRole' "
        "AND NOT regexp_matches(principal_arn, '^arn:[^:]+:iam::[0-9]{12}:role/')").fetchall()]
    assert all(not re.match(r"^arn:[^:]+:sts::[0-9]{12}:assumed-role/[^/]+/[^/]+$", a) for a in odd)


def test_every_shape_in_the_datasets_contributes(shared_db) -> None:
    _, result = shared_db
    got = {}
    for f in result.file_results:
        for key in ("otrf_security-datasets", "plaso_test-data/aws_cloudtrail_lookup_events",
                    "eventbridge_envelopes", "stratus-red-team", "trailscraper_fixtures"):
            if key in f.uri:
                got[key] = got.get(key, 0) + f.records
    assert all(v > 0 for v in got.values()) and len(got) == 5
