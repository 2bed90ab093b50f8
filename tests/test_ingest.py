"""Ingest on fixture files: every input shape, every kind of bad input, dedup,
incremental runs, attribution and reconciliation."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from recommender.db import connect, render_sql, run
from recommender.errors import LogFormatError
from recommender.ingest import ingest, rebuild_aggregates
from recommender.sources import local_files

SAMPLE_LOGS = Path(__file__).resolve().parent.parent / "sample_logs"
FIX = Path(__file__).resolve().parent / "fixtures" / "ingest"
GOOD, BAD, SKIP = FIX / "good", FIX / "bad", FIX / "skip"
ACCT = "111122223333"
ROLE = f"arn:aws:iam::{ACCT}:role/service-role/agent-exec"
USER = f"arn:aws:iam::{ACCT}:user/legacy-bot"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def _reconciles(result) -> None:
    assert result.records == result.stored + result.duplicates + result.rejected
    for f in result.file_results:
        assert f.records == f.stored + f.duplicates + f.rejected, f


@pytest.fixture
def good_db(db_path: Path):
    con = connect(db_path)
    result = ingest(con, [GOOD])
    yield con, result
    con.close()


def test_every_good_shape_is_read(good_db) -> None:
    con, result = good_db
    _reconciles(result)
    assert result.rejected == 0
    by_name = {f.uri.rsplit("/", 1)[-1]: f for f in result.file_results}
    # S3 delivery .json.gz, org-trail pretty .json, JSONL, array, EventBridge (object and
    # lines), lookup-events ({"Events"} and lines), Logstash lines: each contributes records.
    for name in (
        f"{ACCT}_CloudTrail_us-east-1_20260115T1205Z_Abc123DefGhi456J.json.gz",
        f"{ACCT}_CloudTrail_eu-west-1_20260115T1210Z_Zyx987WvuTsr654Q.json",
        "cloudwatch_export.jsonl", "records_array.json", "event-ssm-get-parameter.json",
        "events.jsonl", "lookup-events.json", "lookup-events.jsonl", "logstash.jsonl",
    ):
        assert by_name[name].records >= 1, name
    stored = {r[0] for r in _rows(con, "SELECT event_id FROM events")}
    assert {"e0000000-0000-4000-8000-000000000011", "e0000000-0000-4000-8000-000000000021",
            "e0000000-0000-4000-8000-000000000022", "e0000000-0000-4000-8000-000000000031",
            "e0000000-0000-4000-8000-000000000033", "e0000000-0000-4000-8000-000000000041"} <= stored
    assert len(stored) == result.stored == _rows(con, "SELECT count(*) FROM events")[0][0]


def test_assumed_role_is_attributed_to_the_role_with_its_path(good_db) -> None:
    con, _ = good_db
    rows = _rows(con, "SELECT principal_arn, principal_type, session_name, source_identity, access_key_id "
                      "FROM events WHERE event_id = 'e0000000-0000-4000-8000-000000000001'")
    assert rows == [(ROLE, "AssumedRole", "agent-a", "alice@example.com", "ASIAEXAMPLESESSION01")]
    sessions = _rows(con, "SELECT DISTINCT session_name FROM sessions_daily WHERE principal_arn = ? "
                          "ORDER BY 1", ROLE)
    assert sessions == [("agent-a",), ("agent-b",)]


def test_iam_user_and_aws_service_attribution(good_db) -> None:
    con, _ = good_db
    user = _rows(con, "SELECT principal_arn, session_name, access_key_id FROM events "
                      "WHERE event_id = 'e0000000-0000-4000-8000-000000000004'")
    assert user == [(USER, None, "AKIAEXAMPLELEGACY001")]
    svc = _rows(con, "SELECT principal_arn, invoked_by, principal_type FROM events "
                     "WHERE event_id = 'e0000000-0000-4000-8000-000000000005'")
    assert svc == [("lambda.amazonaws.com", "lambda.amazonaws.com", "AWSService")]


def test_attacker_controlled_strings_are_stored_verbatim(good_db) -> None:
    con, _ = good_db
    ua = _rows(con, "SELECT user_agent FROM events WHERE event_id = 'e0000000-0000-4000-8000-000000000004'")
    assert ua == [("Mozilla/5.0 \"quoted\" '; DROP TABLE events; -- <script>alert(1)</script>",)]
    assert _rows(con, "SELECT count(*) FROM events")[0][0] > 0


def test_logstash_timestamp_fallback(good_db) -> None:
    con, _ = good_db
    rows = _rows(con, "SELECT CAST(event_time AS VARCHAR) FROM events "
                      "WHERE event_id = 'e0000000-0000-4000-8000-000000000041'")
    assert rows == [("2026-01-18 07:00:00",)]


def test_records_without_event_id_get_a_stable_hash(good_db) -> None:
    con, result = good_db
    ids = _rows(con, "SELECT event_name, event_id FROM events WHERE event_version = '1.0' ORDER BY 1")
    assert [n for n, _ in ids] == ["StartInstances", "StopInstances"]
    assert all(i.startswith("sha256:") and len(i) == 7 + 64 for _, i in ids)
    # The same record pretty-printed in a second file is recognised as a duplicate.
    old2 = next(f for f in result.file_results if f.uri.endswith("OldFormat0000002.json"))
    assert (old2.records, old2.stored, old2.duplicates) == (1, 0, 1)


def test_skipped_records_are_counted_apart(good_db) -> None:
    _, result = good_db
    reasons = {f.uri.rsplit("/", 1)[-1]: f.reason for f in result.file_results if f.skipped_records}
    assert "Insight" in reasons[f"{ACCT}_CloudTrail_us-east-1_20260115T1215Z_WithInsight00001.json"]
    assert "not from CloudTrail" in reasons["events.jsonl"]
    assert result.skipped_records == 2


def test_usage_daily_outcomes_and_resources(good_db) -> None:
    con, _ = good_db
    outcomes = dict(_rows(con, "SELECT event_name, string_agg(DISTINCT outcome) FROM usage_daily "
                               "WHERE event_name IN ('PutObject', 'DescribeInstances', 'GetItem', 'ListUsers') "
                               "GROUP BY 1"))
    assert outcomes == {"PutObject": "denied", "DescribeInstances": "denied", "GetItem": "error",
                        "ListUsers": "ok"}
    obj = _rows(con, "SELECT calls, resource_kind FROM usage_daily WHERE principal_arn = ? "
                     "AND event_name = 'GetObject' AND resource_arn = 'arn:aws:s3:::agent-data/docs/a.txt'", ROLE)
    assert obj == [(2, "AWS::S3::Object")]
    total = _rows(con, "SELECT sum(calls) FROM sessions_daily")[0][0]
    assert total == _rows(con, "SELECT count(*) FROM events")[0][0]


def test_reingest_adds_nothing_and_reads_nothing(good_db) -> None:
    con, first = good_db
    before = _rows(con, "SELECT count(*), (SELECT sum(calls) FROM usage_daily) FROM events")
    again = ingest(con, [GOOD])
    assert again.files == 0 and again.unchanged_files == first.files
    assert again.records == 0
    assert _rows(con, "SELECT count(*), (SELECT sum(calls) FROM usage_daily) FROM events") == before


def test_changed_file_is_read_again_and_deduplicated(tmp_path: Path, db_path: Path) -> None:
    tree = tmp_path / "logs"
    shutil.copytree(GOOD / "exports", tree)
    con = connect(db_path)
    first = ingest(con, [tree])
    usage = _rows(con, "SELECT sum(calls) FROM usage_daily")
    target = tree / "cloudwatch_export.jsonl"
    target.write_text(target.read_text() + target.read_text().splitlines()[0] + "\n")
    second = ingest(con, [tree])
    assert second.files == 1 and second.unchanged_files == 1
    assert (second.records, second.stored, second.duplicates) == (3, 0, 3)
    assert _rows(con, "SELECT count(*) FROM events")[0][0] == first.stored
    assert _rows(con, "SELECT sum(calls) FROM usage_daily") == usage


def _ingest_memory_limit() -> str:
    """memory_limit as DuckDB shows it once sql/ingest/memory_limit.sql has run."""
    con = duckdb.connect()
    run(con, "ingest/memory_limit")
    return con.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_batches_start_without_the_cache_of_earlier_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory stays flat as the tables grow: what DuckDB caches of events and usage_daily
    in one batch is evicted before the next (release_cache.sql), and each batch gets the
    ingest's whole memory limit back."""
    import recommender.ingest as ingest_module

    real_run = ingest_module.run
    real_release = ingest_module._release_cache
    # sample_logs is small: keep 1 MB instead of 64 MB so that evicting shows.
    monkeypatch.setattr(ingest_module, "CACHE_KEPT_BETWEEN_BATCHES", "1MB")

    def batch_starts(release: bool) -> list[tuple[int, str]]:
        """(KiB of table blocks cached, memory limit) as each batch starts."""
        seen: list[tuple[int, str]] = []

        def spy(con, name, *a, **k):
            if name == "ingest/create_stage":
                seen.append(con.cursor().execute(
                    "SELECT coalesce(sum(memory_usage_bytes) FILTER (tag = 'BASE_TABLE'), 0) >> 10, "
                    "current_setting('memory_limit') FROM duckdb_memory()").fetchone())
            return real_run(con, name, *a, **k)

        monkeypatch.setattr(ingest_module, "run", spy)
        monkeypatch.setattr(ingest_module, "_release_cache", real_release if release else (lambda con: None))
        con = connect(tmp_path / f"release-{release}.duckdb")
        result = ingest(con, [SAMPLE_LOGS], batch_bytes=3_000_000)
        assert result.stored == result.records > 0
        con.close()
        return seen

    kept, grown = batch_starts(release=True), batch_starts(release=False)
    assert len(kept) == len(grown) >= 8
    # Without the release the cache grows from batch to batch (it would up to the whole
    # limit); with it, a batch starts with at most about what may stay.
    assert max(k for k, _ in grown) > 3 * 1024
    assert max(k for k, _ in kept) <= 1536
    # Every batch has the ingest's limit back.
    assert {limit for _, limit in kept} == {_ingest_memory_limit()}


def test_a_refused_cache_release_changes_nothing(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import recommender.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "CACHE_KEPT_BETWEEN_BATCHES", "no such size")
    con = connect(db_path)
    result = ingest(con, [GOOD / "AWSLogs" / ACCT], batch_bytes=1)
    assert result.files > 1 and result.stored > 0 and result.reconciled
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == _ingest_memory_limit()


def test_delivery_unnest_does_not_carry_the_whole_object(db_path: Path) -> None:
    # DuckDB's UNNEST repeats its input row's other columns next to each output chunk, and
    # copies a string column to do so: the input must be the parsed records, not the
    # delivery object's text (two copies of ~1 MB per file; docs/benchmarks.md).
    con = connect(db_path)
    con.register("ingest_docs", pa.table({
        "file_no": pa.array([0], pa.int32()), "uri": ["s3://b/f.json.gz"],
        "json": pa.array(['{"Records":[]}'], pa.large_string())}))
    plan = json.loads(con.execute("EXPLAIN (FORMAT JSON) " + render_sql("ingest/insert_delivery"),
                                  {"ingested_at": "2026-01-01", "batch_id": 1}).fetchall()[0][1])

    def unnest_inputs(node: dict) -> list[dict]:
        found = list(node.get("children", [])) if node.get("name") == "UNNEST" else []
        return found + [x for c in node.get("children", []) for x in unnest_inputs(c)]

    inputs = [x for node in plan for x in unnest_inputs(node)]
    assert [x["name"] for x in inputs] == ["PROJECTION"]
    assert "json" not in inputs[0]["extra_info"]["Projections"]
    con.close()


def test_incremental_merge_equals_rebuild(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import recommender.ingest as ingest_module

    real_run = ingest_module.run
    ran: list[str] = []

    def spy(con, name, *a, **k):
        ran.append(name + "".join(f" {v}" for v in k.values() if isinstance(v, str)))
        return real_run(con, name, *a, **k)

    monkeypatch.setattr(ingest_module, "run", spy)
    con = connect(db_path)
    # Two runs whose files overlap and share usage_daily keys, merged incrementally...
    ingest(con, [GOOD / "exports", GOOD / "AWSLogs" / ACCT], batch_bytes=1)
    ingest(con, [GOOD])
    # (batches on days usage_daily has no rows for are appended, the others merged)
    assert "ingest/insert_usage_daily ingest_new" in ran and "ingest/merge_usage_daily" in ran
    merged = _rows(con, "SELECT * FROM usage_daily ORDER BY ALL")
    sessions = _rows(con, "SELECT * FROM sessions_daily ORDER BY ALL")
    # ...equal a rebuild from events.
    counts = rebuild_aggregates(con)
    assert _rows(con, "SELECT * FROM usage_daily ORDER BY ALL") == merged
    assert _rows(con, "SELECT * FROM sessions_daily ORDER BY ALL") == sessions
    assert counts["usage_daily_rows"] == len(merged)


def test_skipped_files(db_path: Path) -> None:
    con = connect(db_path)
    result = ingest(con, [SKIP])
    assert result.skipped_files == 2 and result.records == 0 and result.rejected == 0
    reasons = sorted(f.reason for f in result.file_results)
    assert reasons[0].startswith("CloudTrail digest file")
    assert reasons[1].startswith("not CloudTrail")
    status = _rows(con, "SELECT DISTINCT status FROM ingest_files")
    assert status == [("skipped",)]


EXPECTED_REJECTS = {
    "CorruptGzip00001": [(0, "corrupt gzip data")],
    "TruncatedGzip001": [(2, "gzip stream is truncated")],
    "TruncatedJson001": [(2, "invalid JSON at byte")],
    "NonObjectRecs01": [(0, "record is not a JSON object (it is a number)"),
                        (1, "record is not a JSON object (it is a string)")],
    "MissingFields01": [(0, "missing eventSource"), (1, "missing eventName"), (2, "missing eventTime"),
                        (3, "eventTime is not a timestamp: yesterday")],
    "EmptyFile000001": [(0, "file is empty")],
    "broken-line": [(1, "line 2: invalid JSON")],
    "not-json": [(0, "not valid JSON")],
}


def test_bad_input_is_rejected_with_reasons_and_the_run_continues(db_path: Path) -> None:
    con = connect(db_path)
    result = ingest(con, [BAD])
    _reconciles(result)
    rejects = _rows(con, "SELECT uri, record_index, reason, snippet, run_id FROM rejects ORDER BY uri, record_index")
    assert len(rejects) == result.rejected == sum(len(v) for v in EXPECTED_REJECTS.values())
    for key, expected in EXPECTED_REJECTS.items():
        got = [(i, reason) for uri, i, reason, _, _ in rejects if key in uri]
        assert len(got) == len(expected), key
        for (i, reason), (want_i, want) in zip(got, expected):
            assert i == want_i and reason.startswith(want), (key, i, reason)
    assert {r[4] for r in rejects} == {result.run_id}
    # Good records survive next to bad ones: recovered from truncated files, and the
    # valid record next to non-object ones.
    kept = {r[0] for r in _rows(con, "SELECT event_id FROM events")}
    assert {"b0000000-0000-4000-8000-000000000100", "b0000000-0000-4000-8000-000000000101",
            "b0000000-0000-4000-8000-000000000200", "b0000000-0000-4000-8000-000000000201",
            "b0000000-0000-4000-8000-000000000301", "b0000000-0000-4000-8000-000000000501",
            "b0000000-0000-4000-8000-000000000502"} == kept
    snippet = next(s for uri, _, _, s, _ in rejects if "NonObjectRecs01" in uri)
    assert snippet == "42"
    files = dict(_rows(con, "SELECT regexp_extract(uri, '[^/]*$'), status FROM ingest_files"))
    assert set(files.values()) == {"rejections"}


def test_strict_makes_a_reject_fatal(db_path: Path) -> None:
    con = connect(db_path)
    bad = next(BAD.rglob("*MissingFields01.json"))
    with pytest.raises(LogFormatError, match="MissingFields01.json record 0: missing eventSource"):
        ingest(con, [bad], strict=True)
    assert _rows(con, "SELECT count(*) FROM events")[0][0] == 0
    assert _rows(con, "SELECT count(*) FROM ingest_files")[0][0] == 0
    [(finished, status, files)] = _rows(con, "SELECT finished_at, status, files FROM ingest_runs")
    assert finished is not None and files == 0
    assert status.startswith("failed: --strict: rejected") and "MissingFields01.json record 0" in status


def test_missing_path_is_an_error(db_path: Path, tmp_path: Path) -> None:
    con = connect(db_path)
    with pytest.raises(LogFormatError, match="no such file or folder"):
        ingest(con, [tmp_path / "nope"])


def test_folder_walk_ignores_non_data_files(tmp_path: Path, db_path: Path) -> None:
    shutil.copytree(GOOD / "exports", tmp_path / "t")
    (tmp_path / "t" / "README.md").write_text("# not a log\n")
    result = ingest(connect(db_path), [tmp_path / "t"])
    assert result.files == 2


def test_files_larger_than_the_fast_path_limit_are_read_record_by_record(
        db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import recommender.ingest as ingest_module

    monkeypatch.setattr(ingest_module, "MAX_OBJECT_BYTES", 4096)  # smaller than the delivery objects
    con = connect(db_path)
    result = ingest(con, [GOOD / "AWSLogs" / ACCT / "CloudTrail" / "us-east-1"])
    _reconciles(result)
    assert result.rejected == 0 and result.stored == 6


# ---- the fast path: delivery objects inflated in Python and handed over as Arrow ----------

DELIVERY = next((GOOD / "AWSLogs" / ACCT / "CloudTrail" / "us-east-1").rglob("*Abc123DefGhi456J.json.gz"))


def _delivery_records() -> list[dict]:
    return json.loads(gzip.decompress(DELIVERY.read_bytes()))["Records"]


def _write_delivery(folder: Path, name: str, records: list[dict]) -> Path:
    path = folder / "AWSLogs" / ACCT / "CloudTrail" / "us-east-1" / "2026" / "02" / "01" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps({"Records": records}, separators=(",", ":")).encode()))
    return path


def _renumbered(records: list[dict], tag: str) -> list[dict]:
    return [{**r, "eventID": f"{tag}-{i:04d}"} for i, r in enumerate(records)]


def _spy_documents_path(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files that leave the fast path for the documents path."""
    import recommender.ingest as ingest_module

    names: list[str] = []
    real_stage = ingest_module._stage

    def spy(con, group, tmp):
        names.extend(Path(p.src.uri).name for p in group)
        return real_stage(con, group, tmp)

    monkeypatch.setattr(ingest_module, "_stage", spy)
    return names


def test_multi_member_gzip_delivery_object_is_read_whole(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # gzip allows several members; zlib's one-shot inflate would stop after the first.
    body = json.dumps({"Records": _renumbered(_delivery_records(), "mm")}, separators=(",", ":")).encode()
    half = len(body) // 2
    path = tmp_path / f"{ACCT}_CloudTrail_us-east-1_20260201T0000Z_MultiMember0001.json.gz"
    path.write_bytes(gzip.compress(body[:half]) + gzip.compress(body[half:]))
    documents = _spy_documents_path(monkeypatch)
    result = ingest(connect(db_path), [path])
    _reconciles(result)
    assert result.stored == len(_delivery_records()) and result.rejected == 0
    assert documents == []  # read on the fast path, not rescued by the fallback


def test_delivery_object_with_bytes_that_are_not_utf8_is_recovered(tmp_path: Path, db_path: Path) -> None:
    records = _renumbered(_delivery_records(), "u8")
    records[0]["userAgent"] = "agent-\udcff"  # a lone surrogate: encodes to invalid UTF-8 below
    path = tmp_path / f"{ACCT}_CloudTrail_us-east-1_20260201T0000Z_NotUtf8Bytes0001.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": records}, ensure_ascii=False)
                                   .encode("utf-8", "surrogateescape")))
    con = connect(db_path)
    result = ingest(con, [path])
    _reconciles(result)
    assert result.stored == len(records) and result.rejected == 0
    agent = _rows(con, "SELECT user_agent FROM events WHERE event_id = 'u8-0000'")[0][0]
    assert agent.startswith("agent-") and agent != "agent-"  # kept, with the bad byte replaced


def test_one_bad_object_does_not_take_its_batch_off_the_fast_path(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = [_write_delivery(tmp_path, f"{ACCT}_CloudTrail_us-east-1_20260201T00{i}0Z_Good{i:011d}.json.gz",
                            _renumbered(_delivery_records(), f"g{i}")) for i in range(3)]
    bad = good[1].with_name(f"{ACCT}_CloudTrail_us-east-1_20260201T0015Z_BadJson000000001.json.gz")
    body = json.dumps({"Records": _renumbered(_delivery_records(), "bad")}, separators=(",", ":"))
    bad.write_bytes(gzip.compress(body[:-40].encode()))  # complete gzip, truncated JSON
    documents = _spy_documents_path(monkeypatch)
    result = ingest(connect(db_path), [tmp_path])
    _reconciles(result)
    assert documents and set(documents) == {bad.name}
    n = len(_delivery_records())
    assert result.stored >= 3 * n and result.rejected == 1


def test_connections_do_not_merge_row_groups_on_checkpoint(db_path: Path) -> None:
    # Ingest's parallel appends leave partly filled row groups; merging them at every
    # checkpoint would rewrite what was just written (common/storage_settings.sql).
    con = connect(db_path)
    assert _rows(con, "SELECT current_setting('max_vacuum_tasks')")[0][0] == 0


@pytest.mark.parametrize("folder", [GOOD, BAD], ids=["good", "bad"])
def test_batched_runs_store_the_same(folder: Path, tmp_path: Path) -> None:
    # Each batch is committed on its own (its delivery objects stored directly, the rest
    # staged); the result must not depend on where batch boundaries fall.
    def stored(db: Path, **kw: int) -> tuple:
        con = connect(db)
        result = ingest(con, [folder], **kw)
        _reconciles(result)
        tables = (_rows(con, "SELECT * EXCLUDE (ingested_at, batch_id) FROM events ORDER BY ALL"),
                  _rows(con, "SELECT * FROM usage_daily ORDER BY ALL"),
                  _rows(con, "SELECT * FROM sessions_daily ORDER BY ALL"))
        rejects = _rows(con, "SELECT uri, record_index, reason FROM rejects ORDER BY ALL")
        files = _rows(con, "SELECT uri, records, stored, duplicates, rejected, skipped_records, status "
                           "FROM ingest_files ORDER BY uri")
        con.close()
        return (result.records, result.stored, result.duplicates, result.rejected), tables, rejects, files

    whole = stored(tmp_path / "whole.duckdb")
    single = stored(tmp_path / "single.duckdb", batch_bytes=1)  # every file its own batch
    batched = stored(tmp_path / "batched.duckdb", batch_bytes=3000)  # a few files per batch
    assert single == whole
    assert batched == whole


# ---- the direct path: delivery objects stored straight into events ---------------------


def _events(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return _rows(con, "SELECT * EXCLUDE (ingested_at, batch_id) FROM events ORDER BY ALL")


def test_delivery_objects_are_stored_without_staging_and_their_batch_is_recorded(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        _write_delivery(tmp_path, f"{ACCT}_CloudTrail_us-east-1_20260201T00{i}0Z_Direct{i:09d}.json.gz",
                        _renumbered(_delivery_records(), f"d{i}"))
    documents = _spy_documents_path(monkeypatch)
    con = connect(db_path)
    result = ingest(con, [tmp_path])
    _reconciles(result)
    n = 3 * len(_delivery_records())
    assert documents == [] and result.stored == n
    assert _rows(con, "SELECT batch_id, files, stored FROM ingest_batches") == [(1, 3, n)]
    assert _rows(con, "SELECT DISTINCT batch_id FROM events") == [(1,)]
    assert _rows(con, "SELECT count(*) FROM events WHERE event_id = ''")[0][0] == 0


def _three_deliveries(folder: Path) -> int:
    for i in range(3):
        _write_delivery(folder, f"{ACCT}_CloudTrail_us-east-1_20260201T00{i}0Z_Three{i:010d}.json.gz",
                        _renumbered(_delivery_records(), f"t{i}"))
    return len(_delivery_records())


def test_failed_direct_insert_fails_the_run_and_keeps_earlier_batches(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Bad input cannot make insert_delivery fail; when it fails anyway (out of memory, a
    # full disk) the run stops with the error, keeping the batches committed before.
    import recommender.ingest as ingest_module
    from recommender.errors import RecommenderError

    per_file = _three_deliveries(tmp_path)
    real_run = ingest_module.run
    calls: list[str] = []

    def failing(con, name, *a, **k):
        if name == "ingest/insert_delivery":
            calls.append(name)
            if len(calls) == 2:
                raise RecommenderError("simulated failure of the direct insert")
        return real_run(con, name, *a, **k)

    monkeypatch.setattr(ingest_module, "run", failing)
    con = connect(db_path)
    with pytest.raises(RecommenderError, match="simulated failure"):
        ingest(con, [tmp_path], batch_bytes=1)  # one file per batch
    assert _rows(con, "SELECT count(*) FROM ingest_batches")[0][0] == 1
    assert _rows(con, "SELECT count(*) FROM events")[0][0] == per_file
    # The run is closed with what it committed, and why it stopped.
    assert _rows(con, "SELECT status, files, stored FROM ingest_runs") == [
        ("failed: simulated failure of the direct insert", 1, per_file)]
    monkeypatch.setattr(ingest_module, "run", real_run)
    rest = ingest(con, [tmp_path])
    assert rest.unchanged_files == 1 and rest.stored == 2 * per_file and rest.duplicates == 0
    assert _rows(con, "SELECT status FROM ingest_runs WHERE run_id = ?", rest.run_id) == [("ok",)]


def test_ctrl_c_while_reading_stops_the_run_and_takes_back_its_batch(
        tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # DuckDB runs the Python that reads the files; a Ctrl-C landing there must stop the
    # run as a KeyboardInterrupt, not read as a failed query.
    import recommender.ingest as ingest_module

    _three_deliveries(tmp_path)
    real_prepare = ingest_module._prepare
    prepared: list[str] = []

    def interrupted(file_no, src, tmp):
        prepared.append(src.uri)
        if len(prepared) == 3:
            raise KeyboardInterrupt
        return real_prepare(file_no, src, tmp)

    monkeypatch.setattr(ingest_module, "_prepare", interrupted)
    con = connect(db_path)
    with pytest.raises(KeyboardInterrupt):
        ingest(con, [tmp_path])
    assert len(prepared) == 3
    assert _rows(con, "SELECT count(*) FROM events")[0][0] == 0
    assert _rows(con, "SELECT count(*) FROM ingest_files")[0][0] == 0
    assert _rows(con, "SELECT status FROM ingest_runs") == [("failed: interrupted",)]


def test_duplicates_across_paths_keep_the_first_file(tmp_path: Path, db_path: Path) -> None:
    records = _renumbered(_delivery_records()[:3], "dup")
    # Walked first (files before folders): a JSON Lines file, read on the documents path.
    (tmp_path / "a-export.jsonl").write_text(json.dumps(records[1]) + "\n")
    # Then a delivery object, stored directly: dup-0001 again, and dup-0000 twice in itself.
    _write_delivery(tmp_path, f"{ACCT}_CloudTrail_us-east-1_20260201T0000Z_Dups00000001.json.gz",
                    records + [records[0]])
    con = connect(db_path)
    # A third copy of dup-0002 stored by an earlier run.
    _write_delivery(tmp_path / "earlier", f"{ACCT}_CloudTrail_us-east-1_20260201T0000Z_Early0000001.json.gz",
                    [records[2]])
    ingest(con, [tmp_path / "earlier"])
    shutil.rmtree(tmp_path / "earlier")
    result = ingest(con, [tmp_path])
    _reconciles(result)
    by_file = {Path(f.uri).name: (f.records, f.stored, f.duplicates) for f in result.file_results}
    assert by_file == {"a-export.jsonl": (1, 1, 0),
                       f"{ACCT}_CloudTrail_us-east-1_20260201T0000Z_Dups00000001.json.gz": (4, 1, 3)}
    assert _rows(con, "SELECT event_id, count(*) FROM events GROUP BY ALL ORDER BY ALL") == [
        ("dup-0000", 1), ("dup-0001", 1), ("dup-0002", 1)]
    assert _rows(con, "SELECT source_uri LIKE '%a-export.jsonl' FROM events WHERE event_id = 'dup-0001'") == [(True,)]
    # The aggregates counted each record once: the same as rebuilt from events.
    merged = _rows(con, "SELECT * FROM usage_daily ORDER BY ALL")
    rebuild_aggregates(con)
    assert _rows(con, "SELECT * FROM usage_daily ORDER BY ALL") == merged


def test_strict_stop_takes_back_the_batchs_direct_rows(tmp_path: Path, db_path: Path) -> None:
    _write_delivery(tmp_path, f"{ACCT}_CloudTrail_us-east-1_20260201T0000Z_Clean0000001.json.gz",
                    _renumbered(_delivery_records(), "clean"))
    shutil.copy(next(BAD.rglob("*MissingFields01.json")), tmp_path)
    con = connect(db_path)
    with pytest.raises(LogFormatError, match="missing eventSource"):
        ingest(con, [tmp_path], strict=True)
    assert _rows(con, "SELECT count(*) FROM events")[0][0] == 0
    assert _rows(con, "SELECT count(*) FROM ingest_batches")[0][0] == 0


def test_rows_of_an_interrupted_ingest_are_discarded(tmp_path: Path, db_path: Path) -> None:
    # Delivery objects are committed to events as they stream in; the batch's bookkeeping
    # commits later. A process killed in between leaves rows without a committed batch:
    # the next connection removes them, and the next ingest stores the files again.
    logs = tmp_path / "logs"
    for i in range(2):
        _write_delivery(logs, f"{ACCT}_CloudTrail_us-east-1_20260201T00{i}0Z_Killed{i:09d}.json.gz",
                        _renumbered(_delivery_records(), f"k{i}"))
    script = (
        "import os, sys\n"
        "import recommender.ingest as ing\n"
        "from recommender.db import connect\n"
        "def killed(*a, **k):\n"
        "    os._exit(9)\n"
        "ing._finish_batch = killed\n"
        "ing.ingest(connect(sys.argv[1]), [sys.argv[2]])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(db_path), str(logs)], check=False)
    assert done.returncode == 9
    raw = duckdb.connect(str(db_path))
    assert raw.execute("SELECT count(*) FROM events").fetchone()[0] == 2 * len(_delivery_records())
    assert raw.execute("SELECT count(*) FROM ingest_batches").fetchone()[0] == 0
    raw.close()
    con = connect(db_path)
    assert _rows(con, "SELECT count(*) FROM events")[0][0] == 0
    result = ingest(con, [logs])
    _reconciles(result)
    assert result.stored == 2 * len(_delivery_records()) and result.duplicates == 0
    assert _rows(con, "SELECT count(*) FROM events")[0][0] == result.stored


def test_database_from_before_batch_ids_gets_the_column_and_dedups_against_its_rows(
        tmp_path: Path, db_path: Path) -> None:
    con = connect(db_path)
    first = ingest(con, [GOOD])
    # What a database written before events.batch_id looks like.
    con.execute("ALTER TABLE events DROP COLUMN batch_id")
    con.execute("DROP TABLE ingest_batches")
    con.execute("DELETE FROM schema_state")
    con.close()
    con = connect(db_path)
    assert _rows(con, "SELECT count(*), count(batch_id) FROM events")[0] == (first.stored, 0)
    copy = tmp_path / "copy"
    shutil.copytree(GOOD, copy)  # the same records under other uris: all duplicates
    again = ingest(con, [copy])
    _reconciles(again)
    assert again.stored == 0 and again.duplicates == first.stored + first.duplicates
    assert _rows(con, "SELECT count(*) FROM events")[0][0] == first.stored


LONG_QUERY = "SELECT count(*) FROM range(3000000000) AS a(i) WHERE hash(i) % 7 = 3"


@pytest.fixture
def sigint_raises():
    """Ctrl-C as an interactive run gets it: Python's default handler. A process started in
    the background by a shell without job control inherits SIGINT ignored, and Python
    keeps that, so these tests set the handler themselves (and put the old one back)."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_interrupts_the_streaming_query_and_is_raised_after_it(
        db_path: Path, monkeypatch: pytest.MonkeyPatch, sigint_raises: None) -> None:
    # While insert_delivery runs, Ctrl-C interrupts DuckDB instead of landing in whatever
    # Python frame a DuckDB thread is running; the KeyboardInterrupt comes after.
    import os
    import signal
    import threading
    import time

    import recommender.db as db_module
    from recommender.ingest import _ctrl_c_interrupts

    con = connect(db_path)
    # Inside the block the signal does not raise where it lands; it is raised at the end.
    reached: list[bool] = []
    with pytest.raises(KeyboardInterrupt):
        with _ctrl_c_interrupts(con):
            signal.raise_signal(signal.SIGINT)
            reached.append(True)
    assert reached == [True]
    # And it stops a running query.
    monkeypatch.setattr(db_module, "render_sql", lambda name, **idents: LONG_QUERY)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        with _ctrl_c_interrupts(con):
            run(con, "anything")
    assert time.perf_counter() - started < 20
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_ctrl_c_during_any_statement_is_a_keyboard_interrupt(
        db_path: Path, monkeypatch: pytest.MonkeyPatch, sigint_raises: None) -> None:
    # DuckDB reports it as RuntimeError("Query interrupted"); db.run gives it back as what
    # it was, so every command stops the same way (click: "Aborted!").
    import os
    import signal
    import threading

    import recommender.db as db_module

    con = connect(db_path)
    monkeypatch.setattr(db_module, "render_sql", lambda name, **idents: LONG_QUERY)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
    with pytest.raises(KeyboardInterrupt):
        run(con, "anything")


def test_times_without_a_zone_are_utc_whatever_the_machine_zone(tmp_path: Path, db_path: Path) -> None:
    records = _renumbered(_delivery_records()[:3], "tz")
    records[0]["eventTime"] = "2022-11-21 18:06:52"        # no zone: UTC
    records[1]["eventTime"] = "2022-11-21T18:06:52+02:00"  # an offset: converted to UTC
    records[2]["eventTime"] = "2022-11-21T18:06:52Z"
    path = tmp_path / "records.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    # A fresh process, so that DuckDB takes the machine's zone from TZ as it would there.
    env = {**os.environ, "TZ": "America/New_York"}
    subprocess.run([sys.executable, "-m", "recommender", "ingest", str(path), "--db", str(db_path)],
                   env=env, check=True, capture_output=True)
    with duckdb.connect(str(db_path), read_only=True) as con:
        got = _rows(con, "SELECT event_id, CAST(event_time AS VARCHAR) FROM events ORDER BY event_id")
    assert got == [("tz-0000", "2022-11-21 18:06:52"), ("tz-0001", "2022-11-21 16:06:52"),
                   ("tz-0002", "2022-11-21 18:06:52")]


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize("name, text, stored, reason", [
    # JSON Lines whose first line is damaged: the other lines are still lines.
    ("first-line.jsonl", lambda d: "{\"eventVersion\": \"1.08\", \"eventID\n" + "\n".join(map(_compact, d[:3])),
     ["rc-0000", "rc-0001", "rc-0002"], (0, "line 1: invalid JSON at byte")),
    # A damaged line keeps the complete records before the damage.
    ("damaged-line.jsonl", lambda d: _compact(d[0]) + "\n" + _compact({"Records": d[1:3]})[:-40] + "\n",
     ["rc-0000", "rc-0001"], (2, "line 2: invalid JSON at byte")),
    # Two delivery objects on one line, the second cut short.
    ("two-documents.json", lambda d: _compact({"Records": d[:1]}) + _compact({"Records": d[1:3]})[:-40],
     ["rc-0000", "rc-0001"], (2, "invalid JSON at byte")),
    # Data after a complete delivery object.
    ("trailing-data.json", lambda d: _compact({"Records": d[:2]}) + " garbage",
     ["rc-0000", "rc-0001"], (2, "invalid JSON at byte")),
    # Pages of lookup-events output appended to one file, the last cut short.
    ("lookup-pages.json", lambda d: "".join(
        _compact({"Events": [{"EventId": r["eventID"], "CloudTrailEvent": _compact(r)}], "NextToken": "t"})
        for r in d)[:-60],
     ["rc-0000", "rc-0001"], (2, "invalid JSON at byte")),
], ids=["first-line", "damaged-line", "two-documents", "trailing-data", "lookup-pages"])
def test_damaged_files_keep_every_complete_record(tmp_path: Path, db_path: Path, name, text, stored,
                                                  reason) -> None:
    path = tmp_path / name
    path.write_text(text(_renumbered(_delivery_records()[:3], "rc")), encoding="utf-8")
    con = connect(db_path)
    result = ingest(con, [path])
    _reconciles(result)
    assert sorted(r[0] for r in _rows(con, "SELECT event_id FROM events")) == stored
    rejects = _rows(con, "SELECT record_index, reason FROM rejects")
    assert len(rejects) == result.rejected == 1
    assert rejects[0][0] == reason[0] and rejects[0][1].startswith(reason[1]), rejects
    if name in ("two-documents.json", "trailing-data.json"):
        assert "after 1 complete JSON document(s)" in rejects[0][1]
    if name == "lookup-pages.json":
        assert "after 2 complete JSON document(s)" in rejects[0][1]
    # The snippet starts where the damaged part does (the record, or what follows the records).
    snippet = _rows(con, "SELECT snippet FROM rejects")[0][0]
    assert snippet.startswith({"trailing-data.json": "garbage"}.get(name, "{")), snippet


def test_eventbridge_events_from_another_source_are_skipped_with_their_own_reason(
        tmp_path: Path, db_path: Path) -> None:
    envelope = {"version": "0", "detail-type": "EC2 Instance State-change Notification",
                "source": "aws.ec2", "detail": {"state": "running"}}
    path = tmp_path / "ec2-events.jsonl"
    path.write_text(f"{json.dumps(envelope)}\n{json.dumps(envelope)}\n", encoding="utf-8")
    result = ingest(connect(db_path), [path])
    assert (result.skipped_files, result.records, result.rejected) == (1, 0, 0)
    assert result.file_results[0].reason == ("EventBridge event that is not from CloudTrail: "
                                             "EC2 Instance State-change Notification")


def test_a_file_gone_between_listing_and_reading_fails_alone(tmp_path: Path, db_path: Path) -> None:
    records = _renumbered(_delivery_records(), "gone")
    kept = _write_delivery(tmp_path, "kept.json.gz", records[:2])
    gone = _write_delivery(tmp_path, "gone.json.gz", records[2:])
    listed = list(local_files([tmp_path]))
    content = gone.read_bytes()
    gone.unlink()
    con = connect(db_path)
    result = ingest(con, sources=listed)
    _reconciles(result)
    assert (result.files, result.failed_files, result.stored) == (2, 1, 2)
    [failed] = [f for f in result.file_results if f.status == "failed"]
    assert failed.uri == str(gone) and failed.reason == "cannot read the file: No such file or directory"
    assert _rows(con, "SELECT status, error FROM ingest_files WHERE uri = ?", str(gone)) == [
        ("failed", "cannot read the file: No such file or directory")]
    # Back again: the next run reads it (a failed file is never "unchanged").
    gone.write_bytes(content)
    again = ingest(con, [tmp_path])
    assert (again.files, again.unchanged_files, again.stored) == (1, 1, len(records) - 2)
    assert str(kept) in {f.uri for f in again.file_results if f.status == "unchanged"}


def test_a_file_reached_twice_is_read_once(tmp_path: Path, db_path: Path) -> None:
    path = _write_delivery(tmp_path, "once.json.gz", _renumbered(_delivery_records(), "once"))
    (path.parent / "link.json.gz").symlink_to(path)
    (path.parent / "loop.json").symlink_to(path.parent / "loop.json")  # no file: passed
    (path.parent / "dangling.json").symlink_to(path.parent / "missing.json")
    result = ingest(connect(db_path), [tmp_path, path])
    assert (result.files, result.duplicates, result.failed_files) == (1, 0, 0)
