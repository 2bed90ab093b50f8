"""End to end on the committed sample (sample_logs/): ingest, IAM load with the SCP,
mapping, analyze. Checks the verdicts the sample was made to show (see
scripts/make_sample_logs.py) and the invariants every result must keep."""

from __future__ import annotations

from pathlib import Path

import pytest

from recommender import db
from recommender.analysis import GRANT_STATUSES, SEVERITIES, STATUSES, analyze

SAMPLE = Path(__file__).resolve().parent.parent / "sample_logs"
ACCT = "111122223333"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory, sample_db):
    """The session's sample database (ingest, iam load with the SCP), analysed again on a copy."""
    import shutil

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    shutil.copyfile(sample_db, path)
    con = db.connect(path)
    out = analyze(con)
    yield out
    con.close()


def by_name(result):
    return {p.name: p for p in result.principals}


def test_every_principal_is_classified_consistently(result):
    assert result.principals
    for p in result.principals:
        statuses = [a.status for a in p.actions]
        assert set(statuses) <= set(STATUSES)
        grant = [a.action for a in p.actions if a.status in GRANT_STATUSES]
        assert len(grant) == len(set(grant)) == p.counts["granted"]
        for a in p.actions:
            assert a.why, (p.name, a.action)
            if a.status in ("used", "denied", "unexplained"):
                assert a.calls > 0 and a.last_seen is not None, (p.name, a.action)
            assert list(a.resources) == sorted(a.resources)
        assert all(f.severity in SEVERITIES and f.title for f in p.findings)


def test_sample_scenarios(result):
    roles = by_name(result)
    agent = {(a.action, a.status): a for a in roles["bedrock-agent-support"].actions}
    assert ("bedrock:InvokeModel", "used") in agent
    assert ("s3:GetObject", "used") in agent
    # logs:PutLogEvents is never in CloudTrail: the Lambda tools keep it as unobservable
    weather = {(a.action, a.status) for a in roles["lambda-tool-weather"].actions}
    assert ("logs:PutLogEvents", "unobservable") in weather
    # iam:PassRole is inferred, with the passed role as its resource
    ci = {(a.action, a.status): a for a in roles["ci-deploy"].actions}
    assert f"arn:aws:iam::{ACCT}:role/lambda-tool-calendar" in ci[("iam:PassRole", "used")].resources
    kinds = {(name, f.kind) for name, p in roles.items() for f in p.findings}
    assert ("agent-shared-runner", "shared_role") in kinds
    assert ("ops-readonly-dormant", "inactive") in kinds
    assert ("lambda-tool-ticketing", "self_modification") in kinds
    assert result.totals["used"] > 0 and result.totals["denied"] > 0
