"""`recommender ingest` through click: output formats, exit codes, --strict, rebuild."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from recommender.cli import main
from recommender.errors import EXIT_ERROR, EXIT_OK, EXIT_REJECTIONS, EXIT_USAGE

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


def test_wrong_command_lines_exit_2_and_create_no_database(db_path: Path) -> None:
    res = _run("ingest", "--db", str(db_path))
    assert res.exit_code == EXIT_USAGE and "give at least one file or folder" in res.stderr
    res = _run("ingest", str(FIX / "good"), "--rebuild-aggregates", "--db", str(db_path))
    assert res.exit_code == EXIT_USAGE and "--rebuild-aggregates takes no PATH" in res.stderr
    res = _run("ingest", str(FIX / "no-such-folder"), "--db", str(db_path))
    assert res.exit_code == EXIT_ERROR and "no-such-folder: no such file or folder" in res.stderr
    assert not db_path.exists()


def _without_root_file_access() -> list[str]:
    """A command prefix under which chmod 000 denies reading, as it does for a normal user:
    root loses the capabilities that bypass file permissions."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file permissions cannot be enforced")
    return ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
            "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_unreadable_file_and_folder_fail_alone_exit_1_and_are_read_next_time(
        tmp_path: Path, db_path: Path) -> None:
    tree = tmp_path / "logs"
    shutil.copytree(FIX / "good" / "AWSLogs", tree / "AWSLogs")
    locked_file = tree / "locked.json"
    locked_file.write_text((FIX / "good" / "exports" / "records_array.json").read_text())
    locked_folder = tree / "locked-folder"
    locked_folder.mkdir()
    (locked_folder / "records.json").write_text(locked_file.read_text())
    locked_file.chmod(0)
    locked_folder.chmod(0)
    cmd = [*_without_root_file_access(), sys.executable, "-m", "recommender", "ingest", str(tree),
           "--db", str(db_path), "--format", "json"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        locked_file.chmod(0o644)
        locked_folder.chmod(0o755)
    assert res.returncode == EXIT_ERROR, res.stderr
    out = json.loads(res.stdout)
    assert out["failed_files"] == 2 and out["stored"] > 0 and out["reconciled"]
    assert {(Path(f["uri"]).name, f["reason"]) for f in out["failed"]} == {
        ("locked.json", "cannot read the file: Permission denied"),
        ("locked-folder", "cannot read the folder: Permission denied")}
    assert "could not be read; exit code 1" in res.stderr and "Traceback" not in res.stderr
    # Readable again: the next run reads them, and only them.
    again = _run("ingest", str(tree), "--db", str(db_path), "--format", "json")
    assert again.exit_code == EXIT_OK, again.output
    out = json.loads(again.stdout)
    assert out["files"] == 2 and out["failed_files"] == 0 and out["unchanged_files"] > 0
    # The folder's failure is forgotten once its files are listed under their own names.
    with duckdb.connect(str(db_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM ingest_files WHERE status = 'failed'").fetchone() == (0,)


def test_help_ends_with_an_example() -> None:
    res = _run("ingest", "--help")
    assert res.exit_code == 0
    before_options = res.output.split("Options:")[0].rstrip().splitlines()
    assert before_options[-2].strip() == "Example:"
    assert before_options[-1].strip().startswith("recommender ingest")


def test_filters_given_with_local_paths_only_are_named_as_ignored(db_path: Path) -> None:
    res = _run("ingest", str(FIX / "good"), "--db", str(db_path), "--since", "2030-01-01")
    assert res.exit_code == EXIT_OK
    assert "warning: --since/--until/--account/--region select S3 objects" in res.stderr
