"""Ingest: every CloudTrail record into DuckDB, once, with nothing dropped silently.

Why it is shaped this way:

* **Speed.** Records are never looped over in Python. S3 delivery objects
  (``{"Records":[...]}`` on one line, the bulk of any real trail) are read whole and
  inflated with ISA-L (``isal``, ~3x faster than zlib) by a reader thread while DuckDB
  works on the previous chunk (ISA-L keeps the GIL, but DuckDB's scan of an Arrow table
  does not need it); each object goes to DuckDB as one string of an Arrow table, without
  a copy, and is parsed once straight into record structs and flattened into the batch's
  rows in the same statement (``stage_delivery``). Every other shape (JSON Lines,
  arrays, pretty-printed objects, EventBridge envelopes, lookup-events output) is found
  by peeking at the first bytes and read by DuckDB's own JSON reader keeping each
  record's raw JSON (``stage_documents``, then ``extract_rows``). Validation,
  attribution, dedup and the daily aggregates are SQL over the whole batch.
  ``docs/benchmarks.md`` has the figures and what each step costs.
* **Flat memory.** Files are taken in batches bounded by (estimated uncompressed)
  bytes; each batch is staged chunk by chunk (Python holds at most two chunks of
  inflated objects), merged into ``events``/``usage_daily``/``sessions_daily`` and
  committed together with its ``ingest_files`` rows, so a crash never leaves a file
  half-counted and memory does not grow with input.
* **Nothing lost.** A file that cannot be read as a whole (corrupt or truncated gzip,
  truncated or invalid JSON, bytes that are not UTF-8) is re-read by a tolerant Python
  path that keeps every record it can recover and turns the unreadable part into one
  reject with its reason. A whole unreadable file or tail counts as one rejected
  record, so every file reconciles: ``records = stored + duplicates + rejected``.
  Digest files, Insight events and JSON that is not CloudTrail are *skipped* with a
  reason (not rejected).
* **Incremental.** ``ingest_files`` remembers size and mtime (or etag); a second
  run over the same tree reads only new or changed files, and ``event_id`` dedup
  makes re-reading harmless anyway.
"""

from __future__ import annotations

import json
import re
import struct
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from isal import isal_zlib

from recommender.db import query, run, utcnow
from recommender.errors import LogFormatError, RecommenderError
from recommender.sources import GZIP_MAGIC, SourceFile, local_files

ProgressFn = Callable[[int, int, str], None]

# A batch (one transaction: its events, aggregates and ingest_files rows) holds files up to
# about this many uncompressed bytes (gzip sizes are scaled by GZIP_RATIO to estimate it).
# Larger batches amortise the per-batch statements and parallelise better (256 -> 512 MiB:
# 7.2 s -> 4.7 s per 500,000 events in-process); their staged rows live in DuckDB, under its
# memory limit. Files reach DuckDB in chunks of CHUNK_BYTES, so Python holds at most two
# chunks of inflated objects (the one being staged, the one being read).
BATCH_BYTES = 512 * 1024 * 1024
CHUNK_BYTES = 256 * 1024 * 1024
BATCH_FILES = 2000
GZIP_RATIO = 10
# Largest single JSON document DuckDB reads (an S3 delivery object is one document).
# DuckDB sizes its read buffers by it, per thread, inside the memory limit, so it stays
# modest; a bigger file fails the fast path and is read by the tolerant path record by
# record (slower, same result).
MAX_OBJECT_BYTES = 64 * 1024 * 1024
HEAD_BYTES = 64 * 1024
MARKER = "__recommender_reject__"

_DELIVERY_HEAD = re.compile(rb'^\{\s*"Records"\s*:\s*\[')
_DIGEST_KEYS = (b'"digestStartTime"', b'"digestEndTime"', b'"logFiles"')


@dataclass
class FileResult:
    """What one file contributed; ``records = stored + duplicates + rejected``."""

    uri: str
    status: str  # ok | rejections | skipped | unchanged
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped_records: int = 0
    reason: str | None = None


@dataclass
class IngestResult:
    """Totals of one run plus per-file details (``files`` counts files read this run)."""

    run_id: int | None = None
    files: int = 0
    unchanged_files: int = 0
    records: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped_files: int = 0
    skipped_records: int = 0
    seconds: float = 0.0
    file_results: list[FileResult] = field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return self.records == self.stored + self.duplicates + self.rejected

    def add(self, fr: FileResult) -> None:
        self.file_results.append(fr)
        if fr.status == "unchanged":
            self.unchanged_files += 1
            return
        self.files += 1
        self.records += fr.records
        self.stored += fr.stored
        self.duplicates += fr.duplicates
        self.rejected += fr.rejected
        self.skipped_records += fr.skipped_records
        if fr.status == "skipped":
            self.skipped_files += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "files": self.files,
            "unchanged_files": self.unchanged_files,
            "records": self.records,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "skipped_files": self.skipped_files,
            "skipped_records": self.skipped_records,
            "reconciled": self.reconciled,
            "seconds": round(self.seconds, 3),
            "skipped": [
                {"uri": f.uri, "reason": f.reason} for f in self.file_results if f.status == "skipped"
            ],
            "file_results": [asdict(f) for f in self.file_results if f.status != "unchanged"],
        }


@dataclass
class _Prepared:
    """A file of the current batch and how DuckDB will read it."""

    file_no: int
    src: SourceFile
    route: str  # delivery | documents | recover | recovered | skip
    path: Path | None = None
    compression: str = "none"
    reason: str | None = None
    # Delivery route: the whole object, inflated and checked as UTF-8, for DuckDB via Arrow.
    doc: pa.LargeStringArray | None = None


# ---- public API -----------------------------------------------------------------


def ingest(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path] | None = None,
    *,
    sources: Iterable[SourceFile] | None = None,
    strict: bool = False,
    progress: ProgressFn | None = None,
    batch_bytes: int = BATCH_BYTES,
) -> IngestResult:
    """Ingest CloudTrail files (local ``paths`` and/or ready-made ``sources``) into ``con``.

    Returns the run's reconciliation. With ``strict`` the first rejected record
    raises ``LogFormatError`` (its batch is not written; earlier batches stay).
    """
    started = time.perf_counter()
    run(con, "ingest/quiet")
    run(con, "ingest/memory_limit")
    all_sources = list(local_files(paths or [])) + list(sources or [])
    if not all_sources:
        raise LogFormatError("no CloudTrail files found under the given paths (looked for *.json, "
                             "*.json.gz, *.jsonl, *.ndjson and *.gz)")
    now = utcnow()
    result = IngestResult()
    result.run_id = int(query(con, "ingest/start_run", {"started_at": now})[0]["run_id"])

    todo = _changed(con, all_sources, result)
    total = len(todo)
    done = 0
    ordered = bool(query(con, "ingest/insertion_order")[0]["preserved"])
    run(con, "ingest/unordered_inserts")
    try:
        with tempfile.TemporaryDirectory(prefix="recommender-ingest-") as tmp:
            batch: list[_Prepared] = []
            for chunk, last in _prepared_chunks(todo, batch_bytes, CHUNK_BYTES, Path(tmp)):
                if not batch:
                    _begin_batch(con)
                _stage_chunk(con, chunk, Path(tmp), now)
                batch.extend(chunk)
                if last:
                    for fr in _finish_batch(con, batch, Path(tmp), result.run_id, strict, now):
                        result.add(fr)
                    batch = []
                done += len(chunk)
                if progress and chunk:
                    progress(done, total, chunk[-1].src.uri.rsplit("/", 1)[-1])
    finally:
        if ordered:
            run(con, "ingest/ordered_inserts")

    result.seconds = time.perf_counter() - started
    run(con, "ingest/finish_run", {
        "run_id": result.run_id, "finished_at": utcnow(), "files": result.files,
        "records": result.records, "stored": result.stored, "duplicates": result.duplicates,
        "rejected": result.rejected, "skipped_files": result.skipped_files,
    })
    return result


def rebuild_aggregates(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Recompute ``usage_daily`` and ``sessions_daily`` from ``events`` (one transaction).

    Needed after the resource macro (``event_touched_resources``) or the outcome
    rules change; a normal ingest keeps both tables up to date incrementally.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        for name in ("clear_usage_daily", "rebuild_usage_daily",
                     "clear_sessions_daily", "rebuild_sessions_daily"):
            run(con, f"ingest/{name}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return {k: int(v) for k, v in query(con, "ingest/aggregate_counts")[0].items()}


# ---- planning -------------------------------------------------------------------




def _changed(con: duckdb.DuckDBPyConnection, sources: list[SourceFile],
             result: IngestResult) -> list[SourceFile]:
    """The sources not read before with the same size and mtime/etag; others are noted unchanged."""
    known = {row["uri"]: row for row in query(con, "ingest/known_files",
                                              {"uris": [s.uri for s in sources]})}
    todo = []
    for src in sources:
        row = known.get(src.uri)
        same = (
            row is not None
            and row["status"] != "failed"
            and row["size"] == src.size
            and ((src.etag is not None and row["etag"] == src.etag)
                 or (src.etag is None and row["mtime"] == src.mtime))
        )
        if same:
            result.add(FileResult(uri=src.uri, status="unchanged"))
        else:
            todo.append(src)
    return todo


def _batches(sources: Sequence[SourceFile], limit: int) -> Iterable[list[SourceFile]]:
    batch: list[SourceFile] = []
    size = 0
    for src in sources:
        est = src.size * (GZIP_RATIO if src.uri.endswith(".gz") else 1)
        if batch and (size + est > limit or len(batch) >= BATCH_FILES):
            yield batch
            batch, size = [], 0
        batch.append(src)
        size += est
    if batch:
        yield batch


def _prepared_chunks(sources: Sequence[SourceFile], batch_limit: int, chunk_limit: int,
                     tmp: Path) -> Iterator[tuple[list[_Prepared], bool]]:
    """Each batch's files in prepared chunks, with whether a chunk ends its batch.

    Reading, inflating and checking files is Python and ISA-L work. ISA-L keeps the GIL
    while it inflates, but DuckDB runs statements without it, so one reader thread
    prepares the next chunk while DuckDB stages this one. File numbers count within the
    batch, across its chunks.
    """
    plan: list[tuple[int, list[SourceFile], bool]] = []
    for batch in _batches(sources, batch_limit):
        chunks = list(_batches(batch, chunk_limit))
        offset = 0
        for i, chunk in enumerate(chunks):
            plan.append((offset, chunk, i == len(chunks) - 1))
            offset += len(chunk)
    if not plan:
        return

    def prepare(offset: int, chunk: list[SourceFile]) -> list[_Prepared]:
        return [_prepare(offset + i, src, tmp) for i, src in enumerate(chunk)]

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recommender-read") as reader:
        pending: Future[list[_Prepared]] = reader.submit(prepare, plan[0][0], plan[0][1])
        for i, (_, _, last) in enumerate(plan):
            prepared = pending.result()
            if i + 1 < len(plan):
                pending = reader.submit(prepare, plan[i + 1][0], plan[i + 1][1])
            yield prepared, last


def _head(path: Path) -> tuple[bytes, str]:
    """First bytes of the content (gzip undone) and the compression DuckDB should use."""
    with open(path, "rb") as fh:
        start = fh.read(HEAD_BYTES)
    if not start.startswith(GZIP_MAGIC):
        return start, "none"
    # Decompress only the first chunk; a damaged stream raises and the file is recovered.
    data = isal_zlib.decompressobj(wbits=47).decompress(start, HEAD_BYTES)
    return data, "gzip"


def _gunzip(raw: bytes, limit: int | None = None, lib: Any = isal_zlib) -> tuple[bytes, str | None]:
    """Every gzip member of ``raw`` (gzip allows several) inflated as far as it goes, and
    what stopped it: None when the stream is complete, else why (truncated, corrupt, or
    more than ``limit`` bytes). ``lib`` is ``isal_zlib`` (fast) or ``zlib``, which the
    tolerant path keeps for its reject messages."""
    parts: list[bytes] = []
    size = 0
    data = raw
    try:
        while data:
            d = lib.decompressobj(wbits=47)
            part = d.decompress(data) if limit is None else d.decompress(data, limit + 1 - size)
            parts.append(part)
            size += len(part)
            if limit is not None and size > limit:
                return b"".join(parts), f"inflates to more than {limit} bytes"
            if not d.eof:
                return b"".join(parts), "gzip stream is truncated"
            data = d.unused_data.lstrip(b"\0")  # concatenated members, as gzip allows
    except lib.error as e:
        return b"".join(parts), f"corrupt gzip data ({e})"
    return (parts[0] if len(parts) == 1 else b"".join(parts)), None


def _inflate(raw: bytes, limit: int) -> bytes | None:
    """The whole content of ``raw`` (gzip undone), or None when it is damaged, truncated
    or larger than ``limit`` bytes: such files take the tolerant path, which keeps what
    can be read and says why the rest could not."""
    if not raw.startswith(GZIP_MAGIC):
        return raw if len(raw) <= limit else None
    doc, problem = _gunzip(raw, limit)
    return None if problem else doc


def _as_arrow_text(doc: bytes) -> pa.LargeStringArray | None:
    """``doc`` as a one-element Arrow string without copying it, or None if not UTF-8."""
    offsets = pa.py_buffer(struct.pack("<qq", 0, len(doc)))
    text = pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(doc))
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return text


def _prepare(file_no: int, src: SourceFile, tmp: Path) -> _Prepared:
    """Pick the route for one file from its name and first bytes; a delivery object is
    read whole and inflated here (in the reader thread), everything else is left to DuckDB."""
    uri = src.uri
    if "CloudTrail-Digest" in uri:
        return _Prepared(file_no, src, "skip", reason="CloudTrail digest file (log file hashes, no events)")
    if "/CloudTrail-Insight/" in uri:
        return _Prepared(file_no, src, "skip", reason="CloudTrail Insight events file (not API calls)")
    path = src.materialise(tmp)
    try:
        head, compression = _head(path)
    except (OSError, isal_zlib.error, EOFError):
        return _Prepared(file_no, src, "recover", path=path)
    body = head.lstrip()
    if body.startswith(b"\xef\xbb\xbf") or not body:
        return _Prepared(file_no, src, "recover", path=path, compression=compression)
    if body.startswith(b"{") and all(k in body[:4096] for k in _DIGEST_KEYS[:2]):
        return _Prepared(file_no, src, "skip", reason="CloudTrail digest file (log file hashes, no events)")
    # CloudTrail writes each delivery object on a single line. Anything else (pretty-printed
    # objects, JSON Lines, arrays, envelopes) takes the documents path, where DuckDB's
    # reader finds the documents itself.
    one_line = b"\n" not in body.rstrip()
    if not (_DELIVERY_HEAD.match(body) and one_line):
        return _Prepared(file_no, src, "documents", path=path, compression=compression)
    # A damaged, oversized or non-UTF-8 object goes to the tolerant path record by record
    # (an uncompressed file is not read whole just to find it is too big).
    if compression == "none" and path.stat().st_size > MAX_OBJECT_BYTES:
        return _Prepared(file_no, src, "recover", path=path, compression=compression)
    doc = _inflate(path.read_bytes(), MAX_OBJECT_BYTES)
    text = _as_arrow_text(doc) if doc is not None else None
    if text is None:
        return _Prepared(file_no, src, "recover", path=path, compression=compression)
    return _Prepared(file_no, src, "delivery", path=path, compression=compression, doc=text)


# ---- one batch ------------------------------------------------------------------


def _begin_batch(con: duckdb.DuckDBPyConnection) -> None:
    """Empty temp tables for a new batch (its chunks are staged into them)."""
    run(con, "ingest/create_stage")
    run(con, "ingest/create_rows")
    run(con, "ingest/create_batch_files")


def _stage_chunk(con: duckdb.DuckDBPyConnection, chunk: list[_Prepared], tmp: Path,
                 now: datetime) -> None:
    """Stage one chunk of the batch: delivery objects from memory, every other file with
    DuckDB's reader, damaged ones after recovery."""
    readable = [p for p in chunk if p.route != "skip"]
    for p in readable:
        if p.route == "recover":
            _recover(p, tmp)
    if readable:
        run(con, "ingest/load_batch_files", {
            "file_nos": [p.file_no for p in readable],
            "paths": [str(p.path) for p in readable],
            "uris": [p.src.uri for p in readable],
        })
    delivery = [p for p in readable if p.route == "delivery"]
    if delivery:
        _stage_delivery(con, delivery, now)
    # Groups are fixed before staging: a file recovered while staging its group is staged
    # there and must not be picked up again by a later group.
    groups = [[p for p in readable if p.compression == compression
               and p.route in ("documents", "recovered")] for compression in ("gzip", "none")]
    for group in groups:
        if group:
            _stage(con, group, tmp)


def _finish_batch(con: duckdb.DuckDBPyConnection, prepared: list[_Prepared], tmp: Path,
                  run_id: int, strict: bool, now: datetime) -> list[FileResult]:
    """Validate, deduplicate and store the staged batch in one transaction."""
    readable = [p for p in prepared if p.route != "skip"]
    skipped = {p.file_no: p.reason for p in prepared if p.route == "skip"}

    # Delivery files whose records would be rejected are read again keeping raw JSON,
    # so each reject carries its exact reason and snippet.
    suspects = {r["file_no"] for r in query(con, "ingest/suspect_delivery_files")}
    if suspects:
        again = [p for p in readable if p.file_no in suspects and p.route == "delivery"]
        run(con, "ingest/delete_rows_files", {"file_nos": [p.file_no for p in again]})
        for p in again:
            p.route = "documents"
        for compression in ("gzip", "none"):
            group = [p for p in again if p.compression == compression]
            if group:
                _stage(con, group, tmp)

    run(con, "ingest/extract_rows", {"ingested_at": now})
    not_ct = query(con, "ingest/non_cloudtrail_files")
    for row in not_ct:
        skipped[row["file_no"]] = (f"not CloudTrail: none of its {row['values_read']} JSON value(s) "
                                   "has eventVersion, eventTime, eventID or userIdentity")
    if not_ct:
        run(con, "ingest/delete_rows_files", {"file_nos": [r["file_no"] for r in not_ct]})

    if strict:
        first = query(con, "ingest/first_rejects", {"limit": 3})
        if first:
            _drop_temps(con)
            lines = "; ".join(f"{r['uri']} record {r['record_index']}: {r['reason']}" for r in first)
            raise LogFormatError(f"--strict: rejected {lines}. Nothing from this batch was stored; "
                                 "rerun without --strict to keep the good records and list every "
                                 "reject in the rejects table")

    con.execute("BEGIN TRANSACTION")
    try:
        run(con, "ingest/insert_rejects", {"run_id": run_id})
        span = query(con, "ingest/batch_time_span")[0]
        run(con, "ingest/batch_duplicates", span)
        run(con, "ingest/drop_duplicates")
        run(con, "ingest/new_events")
        run(con, "ingest/insert_events")
        run(con, "ingest/batch_usage")
        run(con, "ingest/merge_usage_daily")
        run(con, "ingest/batch_sessions")
        run(con, "ingest/merge_sessions_daily")
        counts = {r["file_no"]: r for r in query(con, "ingest/file_counts")}
        results = [_file_result(p, counts.get(p.file_no), skipped.get(p.file_no)) for p in prepared]
        _record_files(con, prepared, results, now)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        _drop_temps(con)
    return results


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    run(con, "ingest/drop_temp_view", view="ingest_new")
    for table in ("ingest_stage", "ingest_rows", "ingest_dups", "ingest_usage", "ingest_sessions",
                  "ingest_batch_files"):
        run(con, "ingest/drop_temp", table=table)


@contextmanager
def _docs_table(con: duckdb.DuckDBPyConnection, files: list[_Prepared]) -> Iterator[None]:
    """Register ``files``' inflated objects as the Arrow table ``ingest_docs(file_no, uri, json)``."""
    schema = pa.schema([("file_no", pa.int32()), ("uri", pa.string()), ("json", pa.large_string())])
    table = pa.Table.from_batches(
        [pa.RecordBatch.from_arrays([pa.array([p.file_no], pa.int32()),
                                     pa.array([p.src.uri], pa.string()), p.doc], schema=schema)
         for p in files], schema)
    con.register("ingest_docs", table)
    try:
        yield
    finally:
        con.unregister("ingest_docs")


def _staged(con: duckdb.DuckDBPyConnection, now: datetime) -> bool:
    """Run ``stage_delivery`` on the registered table; False if it failed (and inserted nothing)."""
    try:
        run(con, "ingest/stage_delivery", {"ingested_at": now})
        return True
    except RecommenderError:
        return False


def _stage_delivery(con: duckdb.DuckDBPyConnection, group: list[_Prepared], now: datetime) -> None:
    """Stage the chunk's delivery objects from memory in one statement (``stage_delivery``).

    If the statement fails, the files that are not one valid JSON document leave for the
    documents path (which recovers what it cannot read) and the rest are staged again;
    should that fail too, every file of the group takes the documents path.
    """
    with _docs_table(con, group):
        staged = _staged(con, now)
        leave = set() if staged else {r["file_no"] for r in query(con, "ingest/invalid_docs")}
    rest = [p for p in group if p.file_no not in leave]
    if not staged and rest:
        with _docs_table(con, rest):
            if not _staged(con, now):
                leave = {p.file_no for p in group}
    for p in group:
        if p.file_no in leave:
            p.route = "documents"
        p.doc = None  # the objects are staged (or will be read from their files): free them


def _stage(con: duckdb.DuckDBPyConnection, group: list[_Prepared], tmp: Path) -> None:
    """Stage a group of files on the documents path in one statement; on failure split it,
    then recover single files. Writes ``ingest_stage``, which ``extract_rows`` flattens."""
    params: dict[str, Any] = {
        "paths": [str(p.path) for p in group],
        "compression": group[0].compression,
        "max_object": MAX_OBJECT_BYTES,
    }
    try:
        run(con, "ingest/stage_documents", params)
        return
    except RecommenderError:
        pass
    if len(group) > 1:
        # A failed statement inserted nothing: retry file by file to isolate the bad one(s).
        for p in group:
            _stage(con, [p], tmp)
        return
    p = group[0]
    if p.route == "recovered":
        raise LogFormatError(f"{p.src.uri}: could not be read even after recovery; please report this")
    _recover(p, tmp)
    run(con, "ingest/repoint_batch_file", {"path": str(p.path), "file_no": p.file_no})
    _stage(con, [p], tmp)


def _file_result(p: _Prepared, counts: dict[str, Any] | None, skip_reason: str | None) -> FileResult:
    if skip_reason is not None:
        return FileResult(uri=p.src.uri, status="skipped", reason=skip_reason)
    c = counts or {}
    records, rejected, stored = int(c.get("records", 0)), int(c.get("rejected", 0)), int(c.get("stored", 0))
    skipped_records = int(c.get("skipped_records", 0))
    reasons = []
    if rejected:
        reasons.append(f"{rejected} record(s) rejected (see the rejects table)")
    if skipped_records:
        reasons.append(f"{skipped_records} record(s) skipped: {c.get('skip_reasons')}")
    return FileResult(
        uri=p.src.uri,
        status="rejections" if rejected else "ok",
        records=records,
        stored=stored,
        duplicates=records - rejected - stored,
        rejected=rejected,
        skipped_records=skipped_records,
        reason="; ".join(reasons) or None,
    )


def _record_files(con: duckdb.DuckDBPyConnection, prepared: list[_Prepared],
                  results: list[FileResult], now: datetime) -> None:
    run(con, "ingest/record_files", {
        "uris": [r.uri for r in results],
        "sizes": [p.src.size for p in prepared],
        "mtimes": [p.src.mtime for p in prepared],
        "etags": [p.src.etag for p in prepared],
        "records": [r.records for r in results],
        "stored": [r.stored for r in results],
        "duplicates": [r.duplicates for r in results],
        "rejected": [r.rejected for r in results],
        "skipped_records": [r.skipped_records for r in results],
        "statuses": [r.status for r in results],
        "errors": [r.reason for r in results],
        "ingested_at": now,
    })


# ---- tolerant recovery of damaged files ---------------------------------------------


def _read_all(path: Path) -> tuple[bytes, str | None]:
    """The file's content with gzip undone as far as possible, and what went wrong if anything."""
    raw = path.read_bytes()
    if not raw.startswith(GZIP_MAGIC):
        return raw, None
    return _gunzip(raw, lib=zlib)


def _marker(reason: str, snippet: str) -> str:
    return json.dumps({MARKER: reason, "snippet": snippet[:500]})


def _recover_lines(text: str) -> list[str] | None:
    """Per-line recovery for JSON Lines; None when the text does not look like lines."""
    lines = text.splitlines()
    nonblank = [ln for ln in lines if ln.strip()]
    if len(nonblank) < 2:
        return None
    try:
        json.loads(nonblank[0])
    except ValueError:
        return None
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(json.dumps(json.loads(line)))
        except json.JSONDecodeError as e:
            out.append(_marker(f"line {number}: invalid JSON ({e.msg})", line))
    return out


def _recover_document(text: str) -> list[str]:
    """Recover the complete elements of a truncated or damaged single JSON document."""
    decoder = json.JSONDecoder()
    m = re.match(r'\s*\{\s*"(Records|Events)"\s*:\s*\[', text) or re.match(r"\s*\[", text)
    if m is None:
        try:
            doc, end = decoder.raw_decode(text.lstrip())
            return [json.dumps(doc), _marker("unexpected data after the JSON document",
                                             text.lstrip()[end:])]
        except json.JSONDecodeError as e:
            return [_marker(f"not valid JSON ({e.msg} at byte {e.pos})", text)]
    out: list[str] = []
    pos = m.end()

    def skip_ws(at: int) -> int:
        while at < len(text) and text[at].isspace():
            at += 1
        return at

    while True:
        pos = skip_ws(pos)
        if text.startswith("]", pos):
            return out
        try:
            elem, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            return out + [_marker(f"invalid JSON at byte {e.pos} ({e.msg}); file truncated or damaged",
                                  text[e.pos:])]
        out.append(json.dumps(elem))
        pos = skip_ws(pos)
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):
            return out + [_marker(f"invalid JSON at byte {pos} (expected ',' or ']'); file truncated "
                                  "or damaged", text[pos:])]


def _recover(p: _Prepared, tmp: Path) -> None:
    """Rewrite a file DuckDB cannot read as NDJSON of what can be recovered plus reject markers."""
    assert p.path is not None
    data, read_error = _read_all(p.path)
    text = data.decode("utf-8", errors="replace").lstrip("\ufeff")
    if not text.strip():
        lines = [_marker(read_error or "file is empty", "")]
    else:
        try:
            doc = json.loads(text)
            # One line per record, so no line is larger than the file's biggest record
            # (a whole delivery object can exceed DuckDB's maximum object size).
            if isinstance(doc, dict) and isinstance(doc.get("Records"), list):
                docs = doc["Records"]
            elif isinstance(doc, dict) and isinstance(doc.get("Events"), list):
                docs = doc["Events"]
            else:
                docs = doc if isinstance(doc, list) else [doc]
            lines = [json.dumps(d) for d in docs]
        except ValueError:
            lines = _recover_lines(text) or _recover_document(text)
        if read_error:
            if lines and MARKER in lines[-1]:
                last = json.loads(lines[-1])
                lines[-1] = _marker(f"{read_error}; {last[MARKER]}", last["snippet"])
            else:
                lines.append(_marker(read_error, ""))
    out = tmp / f"recovered_{p.file_no}_{id(p)}.ndjson"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    p.path, p.compression, p.route = out, "none", "recovered"
