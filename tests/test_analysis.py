"""The analysis stage on a small account that shows every verdict and finding once
(tests/fixtures/analysis, made by its generate.py): CloudTrail fixture files go through
the real ingest, the IAM export through the real grants loader, the mapping through its
rules, then ``analyze``.

What the scenario holds is described in the fixture's generate.py; each test below
names the part of it that it checks.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from recommender import db, ingest
from recommender.analysis import SCHEMA, AnalysisResult, analyze
from recommender.cli import main
from recommender.errors import RecommenderError
from recommender.grants.load import load_authorization_details

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "analysis"
ACCOUNT = "111122223333"
AGENT = f"arn:aws:iam::{ACCOUNT}:role/service-role/agent-support"
BATCH = f"arn:aws:iam::{ACCOUNT}:role/batch-worker"
IDLE = f"arn:aws:iam::{ACCOUNT}:role/idle-admin"
CI = f"arn:aws:iam::{ACCOUNT}:user/ci-user"
GHOST = f"arn:aws:iam::{ACCOUNT}:role/ghost"


def build(path: Path) -> None:
    con = db.connect(path)
    try:
        ingest.ingest(con, [FIXTURE / "AWSLogs"])
        load_authorization_details(con, [FIXTURE / "iam" / "authorization-details.json"])
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture account ingested and loaded, not yet analysed (copied per test)."""
    path = tmp_path_factory.mktemp("analysis") / "built.duckdb"
    build(path)
    return path


@pytest.fixture(scope="module")
def analysed(built: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AnalysisResult]:
    path = tmp_path_factory.mktemp("analysed") / "a.duckdb"
    shutil.copy(built, path)
    con = db.connect(path)
    try:
        result = analyze(con)  # default: 90 days ending at the newest event, 2026-10-30
    finally:
        con.close()
    return path, result


def fresh_copy(built: Path, tmp_path: Path) -> Path:
    path = tmp_path / "copy.duckdb"
    shutil.copy(built, path)
    return path


def verdicts(result: AnalysisResult, arn: str) -> dict[tuple[str, str], Any]:
    p = next(p for p in result.principals if p.principal_arn == arn)
    return {(a.action, a.status): a for a in p.actions}


def status_of(result: AnalysisResult, arn: str, action: str) -> set[str]:
    return {s for (a, s) in verdicts(result, arn) if a == action}


def findings(result: AnalysisResult, arn: str) -> dict[str, Any]:
    p = next(p for p in result.principals if p.principal_arn == arn)
    return {f.kind: f for f in p.findings}


# ---- the window ------------------------------------------------------------------


def test_window_ends_at_newest_event_and_spans_window_days(analysed):
    _, result = analysed
    assert result.as_of == date(2026, 10, 30)
    assert result.window_start == date(2026, 8, 2)  # 90 days including 2026-10-30
    assert result.history_start == date(2026, 6, 10)


def test_used_vs_unused_follows_window_and_as_of(built, tmp_path):
    con = db.connect(fresh_copy(built, tmp_path))
    # Default window: SendMessage (July 1) and PutObject (June 10) are before it.
    r = analyze(con)
    assert status_of(r, AGENT, "sqs:SendMessage") == {"unused"}
    put = verdicts(r, AGENT)[("s3:PutObject", "unused")]
    assert put.last_seen.date() == date(2026, 6, 10) and put.calls == 1
    assert "last seen 2026-06-10" in put.why
    # A window that reaches back to June makes both used.
    r = analyze(con, window_days=150)
    assert status_of(r, AGENT, "sqs:SendMessage") == {"used"}
    assert status_of(r, AGENT, "s3:PutObject") == {"used"}
    # Ending the window on 2026-07-20 (30 days): SendMessage used, PutObject unused, and the
    # October calls are in the future, so GetObject was never needed by then.
    r = analyze(con, window_days=30, as_of=date(2026, 7, 20))
    assert r.window_start == date(2026, 6, 21)
    assert status_of(r, AGENT, "sqs:SendMessage") == {"used"}
    assert status_of(r, AGENT, "s3:PutObject") == {"unused"}
    assert status_of(r, AGENT, "s3:GetObject") == {"never_needed"}
    assert status_of(r, AGENT, "iam:PassRole") == {"never_needed"}
    con.close()


# ---- every class -----------------------------------------------------------------


def test_used_is_resource_aware_and_keeps_the_resources(analysed):
    _, r = analysed
    v = verdicts(r, AGENT)
    used = v[("s3:GetObject", "used")]
    assert used.calls == 6 and used.resources == ("arn:aws:s3:::kb-docs/faq.md",)
    assert used.first_seen.date() == date(2026, 10, 20) and used.last_seen.date() == date(2026, 10, 25)
    # the same action on a bucket the grant does not cover is not "used" but unexplained
    other = v[("s3:GetObject", "unexplained")]
    assert other.resources == ("arn:aws:s3:::other-bucket/x.txt",)
    assert "granted only on arn:aws:s3:::kb-docs/*" in other.why


def test_never_needed_covers_uncalled_blocked_mismatched_and_unknown(analysed):
    _, r = analysed
    v = verdicts(r, AGENT)
    assert "never called in the ingested history (since 2026-06-10)" in v[("s3:DeleteObject", "never_needed")].why
    assert "denied by" in v[("ec2:TerminateInstances", "never_needed")].why
    assert "arn:aws:s3:::kb-docs" in v[("s3:GetObjectTagging", "never_needed")].why
    assert "no action in the IAM catalog matches s3:GetObjekt" in v[("s3:GetObjekt", "never_needed")].why
    assert status_of(r, AGENT, "bedrock:ListFoundationModels") == {"never_needed"}


def test_unobservable_is_decided_from_the_logs(built, analysed, tmp_path):
    _, r = analysed
    v = verdicts(r, AGENT)
    for action in ("dynamodb:GetItem", "dynamodb:PutItem", "lambda:InvokeFunction"):
        assert (action, "unobservable") in v, action
    assert "no dynamodb_item read event for account 111122223333" in v[("dynamodb:GetItem", "unobservable")].why
    # S3 write data events are in the logs (PutObject), so an uncalled DeleteObject is not unobservable
    assert "the logs do record s3_object write events" in v[("s3:DeleteObject", "never_needed")].why

    # Trails select data events per table: one DynamoDB read data event on another table
    # (from another principal) says nothing about table/sessions, so GetItem stays
    # unobservable, now because of that table. Once the logs hold one on table/sessions,
    # GetItem is observable there and was never needed; PutItem (write) stays
    # unobservable by the account-wide read/write rule.
    path = fresh_copy(built, tmp_path)
    con = db.connect(path)
    sessions = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/sessions"
    for n, table in enumerate(("orders", "sessions")):
        _add_dynamodb_read(tmp_path / f"logs{n}", table, n)
        ingest.ingest(con, [tmp_path / f"logs{n}" / "AWSLogs"])
        r2 = analyze(con)
        if table == "orders":
            get = verdicts(r2, AGENT)[("dynamodb:GetItem", "unobservable")]
            assert f"no dynamodb_item data event for table(s) {sessions} from any principal" in get.why
            assert get.unobserved_resources == (sessions,)
    con.close()
    assert status_of(r2, AGENT, "dynamodb:GetItem") == {"never_needed"}
    assert status_of(r2, AGENT, "dynamodb:PutItem") == {"unobservable"}


def _add_dynamodb_read(root: Path, table: str, n: int) -> None:
    """One GetItem data event on ``table`` by another principal, under ``root``/AWSLogs."""
    extra = root / "AWSLogs" / ACCOUNT / "CloudTrail" / "us-east-1" / "2026" / "10" / "29"
    extra.mkdir(parents=True)
    record = json.loads(next((FIXTURE / "AWSLogs").rglob("*20261029T1505Z*.json")).read_text())["Records"][0]
    record.update(
        eventID=f"00000000-0000-4000-8000-00000000d1d{n}", eventSource="dynamodb.amazonaws.com",
        eventName="GetItem", readOnly=True, requestParameters={"tableName": table, "key": {}},
        resources=[{"type": "AWS::DynamoDB::Table",
                    "ARN": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}"}],
    )  # fmt: skip
    (extra / f"{ACCOUNT}_CloudTrail_us-east-1_20261029T1600Z_00000000000ddb0{n}.json").write_text(
        json.dumps({"Records": [record]})
    )


RESULTS = "arn:aws:s3:::athena-results-111122223333/q/*"


def test_unobservable_is_decided_per_bucket(tmp_path):
    """Trails select S3 data events per bucket. The fixture's logs hold S3 data events for
    kb-docs and other-bucket, none for athena-results-111122223333 (from anyone): what
    the agent may do there cannot be seen, so it is unobservable (and the patterns are
    listed to keep) instead of never needed; a bucket with data events stays decidable,
    and a wildcard in the bucket name falls back to the account-wide rule."""
    iam = json.loads((FIXTURE / "iam" / "authorization-details.json").read_text())
    agent = next(r for r in iam["RoleDetailList"] if r["RoleName"] == "agent-support")
    agent["RolePolicyList"].append({"PolicyName": "athena-results", "PolicyDocument": {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Results", "Effect": "Allow", "Resource": RESULTS,
             "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:RestoreObject"]},
            {"Sid": "Other", "Effect": "Allow", "Action": "s3:PutObjectAcl",
             "Resource": "arn:aws:s3:::other-bucket/*"},
            {"Sid": "Wild", "Effect": "Allow", "Action": "s3:GetObjectAcl",
             "Resource": "arn:aws:s3:::athena-*/q/*"},
        ]}})  # fmt: skip
    iam_file = tmp_path / "authorization-details.json"
    iam_file.write_text(json.dumps(iam))
    con = db.connect(tmp_path / "b.duckdb")
    ingest.ingest(con, [FIXTURE / "AWSLogs"])
    load_authorization_details(con, [iam_file])
    r = analyze(con)
    con.close()
    v = verdicts(r, AGENT)
    # used / unused on kb-docs, also granted on the unobserved bucket: listed to keep
    get = v[("s3:GetObject", "used")]
    assert get.unobserved_resources == (RESULTS,)
    assert "also granted on bucket(s) athena-results-111122223333" in get.why
    assert v[("s3:PutObject", "unused")].unobserved_resources == (RESULTS,)
    # never called: unobservable where no data event is logged, whatever kb-docs shows
    delete = v[("s3:DeleteObject", "unobservable")]
    assert delete.unobserved_resources == (RESULTS,)
    assert "no s3_object data event for bucket(s) athena-results-111122223333" in delete.why
    assert "never called on its other granted resources" in delete.why
    restore = v[("s3:RestoreObject", "unobservable")]
    assert restore.unobserved_resources == (RESULTS,)
    assert "never called on its other" not in restore.why
    # other-bucket has data events (the agent's unexplained GetObject): never needed
    acl = v[("s3:PutObjectAcl", "never_needed")]
    assert acl.unobserved_resources == ()
    # athena-* names no one bucket: the account-wide rule (read events are logged)
    assert "the logs do record s3_object read events" in v[("s3:GetObjectAcl", "never_needed")].why
    # a grant that can never be exercised is never needed, observed bucket or not
    assert status_of(r, AGENT, "s3:GetObjectTagging") == {"never_needed"}


def test_denied_is_reported_even_when_not_granted(analysed):
    _, r = analysed
    d = verdicts(r, AGENT)[("iam:CreateUser", "denied")]
    assert d.calls == 1 and d.resources == (f"arn:aws:iam::{ACCOUNT}:user/backdoor",)
    assert "the action is not granted" in d.why
    assert not status_of(r, AGENT, "iam:CreateUser") - {"denied"}


def test_unmapped_successful_calls_are_unexplained_not_dropped(analysed):
    _, r = analysed
    u = verdicts(r, AGENT)[("foo:DoThing", "unexplained")]
    assert u.calls == 1 and "mapping gap" in u.why
    # a call that needs no permission is neither
    assert not status_of(r, AGENT, "sts:GetCallerIdentity")


def test_counts_add_up(analysed):
    _, r = analysed
    for p in r.principals:
        by_status = {s: sum(1 for a in p.actions if a.status == s) for s in p.counts if s != "granted"}
        assert {k: p.counts[k] for k in by_status} == by_status
        assert p.counts["granted"] == sum(by_status[s] for s in ("used", "unused", "never_needed", "unobservable"))
        granted = [a.action for a in p.actions if a.status in ("used", "unused", "never_needed", "unobservable")]
        assert len(granted) == len(set(granted)), f"{p.name}: one grant status per action"


# ---- iam:PassRole ------------------------------------------------------------------


def test_passrole_is_inferred_from_the_call_that_passes_the_role(analysed):
    _, r = analysed
    p = verdicts(r, AGENT)[("iam:PassRole", "used")]
    assert p.resources == (f"arn:aws:iam::{ACCOUNT}:role/tool-runner",)
    assert p.why.startswith("inferred from 1 call(s)") and "CreateFunction" in p.why
    # an instance profile handed to RunInstances counts too; this profile is in no IAM
    # load, so its role is unknown and no resource is claimed (never the profile ARN)
    b = verdicts(r, BATCH)[("iam:PassRole", "used")]
    assert b.resources == ()


def test_passrole_without_a_passing_call_was_not_needed_not_unobservable(analysed):
    _, r = analysed
    assert status_of(r, IDLE, "iam:PassRole") == {"never_needed"}
    assert "inferred from the calls that pass it" in verdicts(r, IDLE)[("iam:PassRole", "never_needed")].why


# ---- findings --------------------------------------------------------------------


def test_findings_per_principal_with_severity(analysed):
    _, r = analysed
    got = {(p.name, f.kind, f.severity) for p in r.principals for f in p.findings}
    expected = {
        ("agent-support", "self_modification", "critical"),
        ("agent-support", "privilege_escalation", "high"),
        ("agent-support", "broad_secret_access", "high"),
        ("agent-support", "shared_role", "medium"),
        ("agent-support", "denied_calls", "medium"),
        ("agent-support", "unexplained_calls", "medium"),
        ("agent-support", "resource_wildcard_write", "medium"),
        ("agent-support", "unknown_action", "medium"),  # carried over from the grants stage
        ("batch-worker", "wildcard_grant", "high"),
        ("idle-admin", "wildcard_grant", "critical"),
        ("idle-admin", "inactive", "low"),
        ("ci-user", "long_lived_key", "medium"),
    }
    assert expected <= got, expected - got
    assert not any(kind == "inactive" for name, kind, _ in got if name != "idle-admin")
    assert not any(kind == "shared_role" for name, kind, _ in got if name != "agent-support")
    assert [(f.kind, f.principal_arn) for f in r.other_findings] == [("unmodelled_principal", GHOST)]


def test_findings_carry_evidence(analysed):
    _, r = analysed
    f = findings(r, AGENT)
    esc = f["privilege_escalation"].evidence
    assert esc["actions"][0]["action"] == "iam:PassRole" and esc["actions"][0]["status"] == "used"
    assert esc["event_ids"], "the CreateFunction event id is quoted"
    selfmod = {a["action"] for a in f["self_modification"].evidence["actions"]}
    assert selfmod == {"iam:PutRolePolicy", "lambda:UpdateFunctionCode"}
    denied = f["denied_calls"].evidence
    assert denied["calls"] == 1 and len(denied["event_ids"]) == 1
    wild = findings(r, BATCH)["wildcard_grant"]
    assert wild.evidence["pattern"] == "s3:*" and wild.evidence["used_actions"] == ["s3:GetObject"]
    assert "1 of" in wild.title
    key = findings(r, CI)["long_lived_key"].evidence
    assert key["access_key_id"] == "AKIAEXAMPLECIUSER001" and key["event_ids"]


def test_shared_role_groups_sessions_into_families(analysed):
    _, r = analysed
    fams = {f["family"] for f in findings(r, AGENT)["shared_role"].evidence["session_families"]}
    assert fams == {"support-agent", "alice-debug"}


def test_session_family_normalisation(tmp_path):
    con = db.connect(tmp_path / "m.duckdb")
    cases = {
        "agent-run-7f3a9c12": "agent-run", "worker7": "worker", "botocore-session-1700000000": "botocore-session",
        "i-0abc1234def567890": "i", "f3ed60e8e9df92f273c9557eec67e5cb": "(id)", "1700000000": "(id)",
        "alice@example.com": "alice@example.com", "support-agent": "support-agent",
    }  # fmt: skip
    for name, family in cases.items():
        assert con.execute("SELECT session_family(?)", [name]).fetchone()[0] == family, name
    con.close()


def test_resource_like_agrees_with_iam_resource_match(tmp_path):
    con = db.connect(tmp_path / "m.duckdb")
    patterns = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b_1/?.txt", "arn:aws:s3:::b/${aws:username}/*",
                "arn:aws:iam::*:role/app-*", "arn:aws:s3:::b%"]  # fmt: skip
    arns = ["arn:aws:s3:::b/k", "arn:aws:s3:::b_1/a.txt", "arn:aws:s3:::bx1/a.txt", "arn:aws:s3:::b/alice/x",
            "arn:aws:iam::1:role/app-x", "arn:aws:s3:::b%", "arn:aws:s3:::bz"]  # fmt: skip
    for p in patterns:
        for a in arns:
            ours, theirs = con.execute(
                "SELECT like_escape(?, resource_like(?), '\\'), iam_resource_match(?, ?)", [a, p, p, a]
            ).fetchone()
            assert ours == theirs, (p, a)
    con.close()


# ---- runs, scope, determinism, CLI ------------------------------------------------


def test_runs_are_recorded_and_role_filter_narrows(built, tmp_path):
    path = fresh_copy(built, tmp_path)
    con = db.connect(path)
    full = analyze(con)
    only = analyze(con, role_pattern="batch-*")
    assert [p.name for p in only.principals] == ["batch-worker"]
    rows = con.execute("SELECT DISTINCT principal_arn FROM role_action_status").fetchall()
    assert rows == [(BATCH,)]
    runs = con.execute(
        "SELECT run_id, role_pattern, principals, granted, used FROM analysis_runs ORDER BY run_id"
    ).fetchall()
    assert [(r[1], r[2]) for r in runs] == [(None, 4), ("batch-*", 1)]
    assert runs[0][3] == full.totals["granted"] and runs[0][4] == full.totals["used"]
    per_role = dict(con.execute(
        "SELECT principal_arn, used FROM analysis_run_roles WHERE run_id = ?", [full.run_id]
    ).fetchall())  # fmt: skip
    assert per_role == {p.principal_arn: p.counts["used"] for p in full.principals}
    con.close()


def test_json_is_deterministic_apart_from_the_run(analysed, tmp_path):
    path, first = analysed
    copy = tmp_path / "again.duckdb"
    shutil.copy(path, copy)
    con = db.connect(copy)
    a, b = first.to_dict(), analyze(con).to_dict()
    con.close()
    assert a["run"]["run_id"] < b["run"]["run_id"]
    for d in (a, b):
        d.pop("run")
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
    assert a["schema"] == SCHEMA


def test_counts_only_result_is_the_full_one_without_verdicts(analysed, tmp_path):
    """`actions=False` (the text summary, the pipeline) reads no per-action verdict, and
    says so in its JSON by leaving the key out rather than listing none."""
    path, full = analysed
    copy = tmp_path / "counts.duckdb"
    shutil.copy(path, copy)
    con = db.connect(copy)
    brief = analyze(con, actions=False)
    stored = con.execute("SELECT count(*) FROM role_action_status").fetchone()[0]
    con.close()
    assert stored == sum(len(p.actions) for p in full.principals) > 0
    assert [p.actions for p in brief.principals] == [None] * len(full.principals)
    a, b = full.to_dict(), brief.to_dict()
    for d in (a, b):
        d.pop("run")
    for p in a["principals"]:
        assert p.pop("actions")
    assert all("actions" not in p for p in b["principals"])
    assert json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def test_cli_json_and_text(analysed, tmp_path):
    path, _ = analysed
    copy = tmp_path / "cli.duckdb"
    shutil.copy(path, copy)
    runner = CliRunner()
    out = runner.invoke(main, ["analyze", "--db", str(copy), "--format", "json", "--as-of", "2026-10-30"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["schema"] == "recommender.analysis/1"
    assert doc["run"]["as_of"] == "2026-10-30" and doc["run"]["window_days"] == 90
    names = [p["name"] for p in doc["principals"]]
    assert names == sorted(names)
    agent = next(p for p in doc["principals"] if p["name"] == "agent-support")
    assert [(a["action"], a["status"]) for a in agent["actions"]] == sorted(
        (a["action"], a["status"]) for a in agent["actions"]
    )
    text = runner.invoke(main, ["analyze", "--db", str(copy), "--window", "30d", "--role", "*agent*"])
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0].startswith("Analysis window: 2026-10-01 .. 2026-10-30 (30 days)")
    assert lines[1].split()[:8] == ["ROLE", "GRANTED", "USED", "UNUSED", "NEVER", "UNOBS", "DENIED", "UNEXPL"]
    assert lines[2].startswith("agent-support ") and "critical: self_modification" in lines[2]


def test_cli_errors_name_the_missing_stage(tmp_path):
    runner = CliRunner()
    out = runner.invoke(main, ["analyze", "--db", str(tmp_path / "empty.duckdb")])
    assert out.exit_code == 1
    assert "recommender iam load" in out.stderr


def test_analyze_without_any_usage_needs_as_of(built, tmp_path):
    con = db.connect(fresh_copy(built, tmp_path))
    for table in ("usage_daily", "sessions_daily", "events"):
        con.execute(f"DELETE FROM {table}")  # our own constant table names
    with pytest.raises(RecommenderError, match="recommender ingest"):
        analyze(con)
    r = analyze(con, as_of=date(2026, 10, 30))
    # no CloudTrail for the account at all: nothing can be concluded about any grant
    agent = next(p for p in r.principals if p.principal_arn == AGENT)
    # only the grants that can never be exercised are judged: blocked, mismatched, a typo
    assert agent.counts["used"] == 0 and agent.counts["never_needed"] == 3
    assert agent.counts["unobservable"] == agent.counts["granted"] - 3
    assert "no CloudTrail activity of account 111122223333" in verdicts(r, AGENT)[("s3:GetObject", "unobservable")].why
    assert [f.severity for f in agent.findings if f.kind == "inactive"] == ["info"]
    con.close()
