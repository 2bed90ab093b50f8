"""`recommender run` as a config-driven monthly job on sample_logs/ (twice, then history),
the example config, config errors that name file and key, and retention (prune)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.cli import main
from recommender.db import connect
from recommender.errors import ConfigError
from recommender.ingest import ingest
from recommender.runs import EXAMPLE_CONFIG, load_run_config, prune

SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "recommender.toml"
    logs = SAMPLE_LOGS / "AWSLogs"
    iam = SAMPLE_LOGS / "iam"
    path.write_text(f'''
[run]
db = "state/recommender.duckdb"
out = "out"
window_days = 30

[logs]
paths = [{json.dumps(str(logs))}]

[iam]
files = [{json.dumps(str(iam / "authorization-details.json"))}]
scp_files = [{json.dumps(str(iam / "scp.json"))}]
{extra}
''', encoding="utf-8")
    (tmp_path / "state").mkdir(exist_ok=True)
    return path


@pytest.mark.slow
def test_monthly_run_twice_then_history(tmp_path: Path) -> None:
    config = _config(tmp_path)
    runner = CliRunner()
    first = runner.invoke(main, ["run", "--config", str(config), "--format", "json"])
    assert first.exit_code == 0, first.output + repr(first.exception)
    one = json.loads(first.stdout)
    assert one["status"] == "ok" and one["exit_code"] == 0
    out = Path(one["out_dir"])
    assert out.parent == tmp_path / "out" and date.fromisoformat(out.name)
    for name in ("report.html", "findings.json", "summary.md", "recommendations/recommendation.json"):
        assert (out / name).is_file(), name
    ing = one["pipeline"]["ingest"]
    assert ing["files"] > 0 and ing["stored"] > 0 and ing["rejected"] == 0

    second = runner.invoke(main, ["run", "--config", str(config)])
    assert second.exit_code == 0, second.output
    assert "run 2: ok (exit 0)" in second.stdout
    assert f"0 new file(s), {ing['files']} unchanged" in second.stdout

    db = tmp_path / "state" / "recommender.duckdb"
    hist = runner.invoke(main, ["history", "--db", str(db), "--roles", "--format", "json"])
    assert hist.exit_code == 0, hist.output
    runs = json.loads(hist.stdout)["runs"]
    assert [r["run_id"] for r in runs] == [2, 1]
    assert all(r["status"] == "ok" and r["window_days"] == 30 for r in runs)
    assert runs[1]["counts"]["ingest"]["stored"] == ing["stored"]
    assert runs[0]["counts"]["ingest"]["stored"] == 0
    # Linked to the analysis runs: totals and per-role counts come from analysis_run(_roles).
    assert runs[0]["analysis_run_id"] != runs[1]["analysis_run_id"]
    assert runs[0]["granted"] == one["pipeline"]["analysis"]["totals"]["granted"]
    assert runs[0]["roles"] and sum(r["granted"] for r in runs[0]["roles"]) == runs[0]["granted"]
    text = runner.invoke(main, ["history", "--db", str(db)])
    assert text.exit_code == 0 and text.stdout.count(" ok ") == 2

    # Retention after two runs: events go, aggregates stay, nothing is re-read.
    con = connect(db)
    usage_before = con.execute("SELECT count(*), sum(calls) FROM usage_daily").fetchone()
    newest = con.execute("SELECT max(event_time) FROM events").fetchone()[0]
    dry = prune(con, 10, as_of=newest.date(), dry_run=True)
    assert dry.events > 0 and con.execute("SELECT count(*) FROM events").fetchone()[0] == (
        dry.events + dry.events_kept)
    done = prune(con, 10, as_of=newest.date())
    assert done.events == dry.events
    assert con.execute("SELECT min(event_time) FROM events").fetchone()[0] >= done.cutoff
    assert con.execute("SELECT count(*), sum(calls) FROM usage_daily").fetchone() == usage_before
    again = ingest(con, [SAMPLE_LOGS / "AWSLogs"])
    assert again.files == 0 and again.unchanged_files == ing["files"]
    con.close()


def test_example_config_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["init-config", "recommender.toml"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "recommender.toml").read_text() == EXAMPLE_CONFIG
    # The example names sample_logs/ relative to itself: give it one to point at.
    (tmp_path / "sample_logs").symlink_to(SAMPLE_LOGS)
    cfg = load_run_config(tmp_path / "recommender.toml")
    assert cfg.window_days == 90 and cfg.log_paths and cfg.iam_files
    assert cfg.out == tmp_path / "recommender-out"
    again = CliRunner().invoke(main, ["init-config", "recommender.toml"])
    assert again.exit_code == 1 and "already exists" in again.output
    check = CliRunner().invoke(main, ["run", "--config", "recommender.toml", "--check"])
    assert check.exit_code == 0 and "valid" in check.output


@pytest.mark.parametrize("extra, message", [
    ("[run]\nwindow = 3", "unknown key run.window"),
    ('[logs]\nsince = "soon"', "logs.since"),
    ('[logs]\ns3 = ["http://x"]', "logs.s3"),
    ('[logs]\naccounts = ["12"]', "logs.accounts"),
    ("[iam]\nfetch = 1", "iam.fetch must be bool"),
    ("[pr]\nbase = \"main\"", "needs pr.repo"),
    ("[reports]\nx = 1", "unknown table [reports]"),
    ("[grace]\nday = 3", "grace.day"),
])
def test_config_errors_name_file_and_key(tmp_path: Path, extra: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[logs]\npaths = ["."]\n' + extra if not extra.startswith("[logs]")
                    else extra.replace("[logs]", '[logs]\npaths = ["."]'), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_run_config(path, today=date(2026, 11, 1))
    assert str(path) in str(err.value) and message in str(err.value)
    result = CliRunner().invoke(main, ["run", "--config", str(path)])
    assert result.exit_code == 1 and message in result.output


def test_failed_run_is_recorded_with_exit_code(tmp_path: Path) -> None:
    config = _config(tmp_path)
    # One small log file and an IAM file that is not IAM: the run fails after ingest,
    # is recorded, and exits 1.
    day = SAMPLE_LOGS / "AWSLogs" / "111122223333" / "CloudTrail" / "us-west-2" / "2026" / "10" / "23"
    bad = tmp_path / "not-iam.json"
    bad.write_text("[]", encoding="utf-8")
    text = config.read_text().replace(
        json.dumps(str(SAMPLE_LOGS / "iam" / "authorization-details.json")), json.dumps(str(bad))
    ).replace(json.dumps(str(SAMPLE_LOGS / "AWSLogs")), json.dumps(str(sorted(day.iterdir())[0])))
    config.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(config), "--format", "json"])
    assert result.exit_code == 1, result.output
    out = json.loads(result.stdout)
    assert out["status"] == "error" and out["error"]
    con = connect(tmp_path / "state" / "recommender.duckdb")
    status, error, finished = con.execute("SELECT status, error, finished_at FROM runs").fetchone()
    assert status == "error" and error == out["error"] and isinstance(finished, datetime)
    con.close()
