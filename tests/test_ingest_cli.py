"""`recommender ingest` through click: output formats, exit codes, --strict, rebuild."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from recommender.cli import main
from recommender.errors import EXIT_ERROR, EXIT_OK, EXIT_REJECTIONS

FIX = Path(__file__).resolve().parent / "fixtures" / "ingest"


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_json_output_and_exit_0(db_path: Path) -> None:
    res = _run("ingest", str(FIX / "good"), str(FIX / "skip"), "--db", str(db_path), "--format", "json")
    assert res.exit_code == EXIT_OK, res.output
    out = json.loads(res.stdout)
    for key in ("files", "records", "stored", "duplicates", "rejected", "skipped_files", "file_results"):
        assert key in out
    assert out["records"] == out["stored"] + out["duplicates"] + out["rejected"]
    assert out["rejected"] == 0 and out["skipped_files"] == 2 and out["reconciled"] is True
    assert len(out["file_results"]) == out["files"]


def test_human_summary_and_exit_3_on_rejections(db_path: Path) -> None:
    res = _run("ingest", str(FIX / "bad"), "--db", str(db_path))
    assert res.exit_code == EXIT_REJECTIONS
    assert "records =" in res.stdout and "rejected" in res.stdout
    assert "rejects table" in res.stdout
    assert "exit code 3" in res.stderr


def test_strict_exits_1_with_the_reason(db_path: Path) -> None:
    res = _run("ingest", str(FIX / "bad"), "--db", str(db_path), "--strict")
    assert res.exit_code == EXIT_ERROR
    assert "--strict: rejected" in res.stderr and "record" in res.stderr


def test_second_run_reads_nothing(db_path: Path) -> None:
    _run("ingest", str(FIX / "good"), "--db", str(db_path))
    res = _run("ingest", str(FIX / "good"), "--db", str(db_path), "--format", "json")
    out = json.loads(res.stdout)
    assert res.exit_code == EXIT_OK
    assert out["files"] == 0 and out["unchanged_files"] > 0 and out["records"] == 0


def test_rebuild_aggregates(db_path: Path) -> None:
    _run("ingest", str(FIX / "good"), "--db", str(db_path))
    res = _run("ingest", "--rebuild-aggregates", "--db", str(db_path), "--format", "json")
    assert res.exit_code == EXIT_OK, res.output
    out = json.loads(res.stdout)
    assert out["events"] > 0 and out["usage_daily_rows"] > 0 and out["sessions_daily_rows"] > 0


def test_no_path_is_an_error(db_path: Path) -> None:
    res = _run("ingest", "--db", str(db_path))
    assert res.exit_code == EXIT_ERROR
    assert "give at least one file or folder" in res.stderr


def test_help_ends_with_an_example() -> None:
    res = _run("ingest", "--help")
    assert res.exit_code == 0
    before_options = res.output.split("Options:")[0].rstrip().splitlines()
    assert before_options[-2].strip() == "Example:"
    assert before_options[-1].strip().startswith("recommender ingest")
