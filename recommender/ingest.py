"""Ingest: every CloudTrail record into DuckDB, once, with nothing dropped silently.

Why it is shaped this way:

* **Speed.** Records are never looped over in Python. S3 delivery objects
  (``{"Records":[...]}`` on one line, the bulk of any real trail) are streamed through
  one DuckDB statement per batch (``insert_delivery``): DuckDB pulls them one file at a
  time as Arrow record batches, each read whole and inflated with ISA-L (``isal``, ~3x
  faster than zlib) on the pulling thread while DuckDB's other thread parses the previous
  one, and each is parsed once into record structs and stored straight into ``events``
  (no staging table). Every other shape (JSON Lines, arrays, pretty-printed objects,
  EventBridge envelopes, lookup-events output) is found by peeking at the first bytes and
  read by DuckDB's own JSON reader keeping each record's raw JSON (``stage_documents``,
  then ``extract_rows``), as is any delivery object with a record the direct insert cannot
  take as it is. Validation, attribution, dedup and the daily aggregates are SQL over the
  whole batch. ``docs/benchmarks.md`` has the figures and what each step costs.
* **Flat memory.** Python holds the few delivery objects DuckDB is working on, not a
  batch; batches are bounded by (estimated uncompressed) bytes and files, and by bytes on
  the documents path, whose files are staged whole. Each batch is merged into
  ``usage_daily``/``sessions_daily`` and committed together with its ``ingest_files``
  and ``ingest_batches`` rows. Its delivery objects' rows reach ``events`` before that
  commit, marked with the batch's id; a batch that fails is taken back, and the rows of a
  process killed mid-batch are deleted by the next connection (``discard_unfinished``), so
  a file is never half counted.
* **Nothing lost.** A file that cannot be read as a whole (corrupt or truncated gzip,
  truncated or invalid JSON, bytes that are not UTF-8) is re-read by a tolerant Python
  path that keeps every record it can recover and turns the unreadable part into one
  reject with its reason. Bytes that are not UTF-8 are not an unreadable part: they
  become U+FFFD and their record is kept. A whole unreadable file or tail counts as one rejected
  record, so every file reconciles: ``records = stored + duplicates + rejected``.
  Digest files, Insight events and JSON that is not CloudTrail are *skipped* with a
  reason (not rejected). A file or folder that cannot be read at all (permissions, gone)
  is recorded as *failed*, without stopping the run, and read again by the next one.
* **Incremental.** ``ingest_files`` remembers size and mtime (or etag); a second
  run over the same tree reads only new or changed files, and ``event_id`` dedup
  makes re-reading harmless anyway.
"""

from __future__ import annotations

import bisect
import collections
import json
import re
import signal
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from isal import isal_zlib

from recommender.db import query, run, transaction, utcnow
from recommender.errors import LogFormatError, RecommenderError, SourceGone
from recommender.sources import GZIP_MAGIC, SourceFile, cannot_read, local_files

ProgressFn = Callable[[int, int, str], None]

# A batch (one transaction: its aggregates, ingest_files rows and ingest_batches row) takes
# files until about BATCH_BYTES of uncompressed input (gzip sizes are scaled by GZIP_RATIO
# to estimate it), BATCH_FILES files, or DOCUMENTS_BYTES read on the documents path,
# whichever comes first. Delivery objects stream through DuckDB a few at a time, so the
# batch size does not set the memory they take; bigger batches amortise the per-batch
# statements. The documents path stages its files whole in temp tables (under DuckDB's
# memory limit), hence its own, smaller budget.
BATCH_BYTES = 2048 * 1024 * 1024
DOCUMENTS_BYTES = 512 * 1024 * 1024
BATCH_FILES = 5000
GZIP_RATIO = 10
# DuckDB memory that may stay cached from one batch to the next (sql/ingest/release_cache.sql).
CACHE_KEPT_BETWEEN_BATCHES = "64MB"
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
    status: str  # ok | rejections | skipped | failed | unchanged
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
    failed_files: int = 0
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
        elif fr.status == "failed":
            self.failed_files += 1

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
            "failed_files": self.failed_files,
            "reconciled": self.reconciled,
            "seconds": round(self.seconds, 3),
            "skipped": [
                {"uri": f.uri, "reason": f.reason} for f in self.file_results if f.status == "skipped"
            ],
            "failed": [
                {"uri": f.uri, "reason": f.reason} for f in self.file_results if f.status == "failed"
            ],
            "file_results": [asdict(f) for f in self.file_results if f.status != "unchanged"],
        }


@dataclass
class _Prepared:
    """A file of the current batch and how DuckDB will read it."""

    file_no: int
    src: SourceFile
    route: str  # delivery | direct | documents | recover | recovered | skip | failed
    path: Path | None = None
    compression: str = "none"
    reason: str | None = None
    # Delivery route: the whole object, inflated and checked as UTF-8, for DuckDB via Arrow.
    # After insert_delivery the route is "direct" (stored) or "documents" (read again).
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

    Returns the run's reconciliation. With ``strict`` the first rejected record, or a
    file that cannot be read, raises ``LogFormatError`` (its batch is not written;
    earlier batches stay).
    """
    started = time.perf_counter()
    run(con, "common/time_zone")  # connect() does too; a raw connection may not have
    run(con, "ingest/quiet")
    run(con, "ingest/memory_limit")
    # A file or object named twice (the same S3 prefix with and without its slash,
    # overlapping prefixes) is read once.
    first: dict[str, SourceFile] = {}
    for src in [*local_files(paths or []), *(sources or [])]:
        first.setdefault(src.uri, src)
    all_sources = list(first.values())
    if not all_sources:
        raise LogFormatError("no CloudTrail files found under the given paths (looked for *.json, "
                             "*.json.gz, *.jsonl, *.ndjson and *.gz)")
    now = utcnow()
    result = IngestResult()
    result.run_id = int(query(con, "ingest/start_run", {"started_at": now})[0]["run_id"])

    run(con, "ingest/discard_unfinished")  # connect() does too; a raw connection may not have
    batch_id = int(query(con, "ingest/next_batch_id")[0]["batch_id"])
    _forget_failures_now_listed(con, all_sources)
    pending = collections.deque(_changed(con, all_sources, result))
    counter = _Progress(len(pending), progress)
    ordered = bool(query(con, "ingest/insertion_order")[0]["preserved"])
    run(con, "ingest/unordered_inserts")
    failure: BaseException | None = None
    try:
        while pending:
            # A folder per batch for its local copies of S3 objects and its recovered files,
            # so temp space is bounded by a batch, not by the run.
            with tempfile.TemporaryDirectory(prefix="recommender-ingest-") as tmp:
                stream = _BatchStream(pending, Path(tmp), batch_bytes, counter)
                _begin_batch(con)
                try:
                    _insert_delivery(con, stream, batch_id, now)
                    _stage_documents_path(con, stream.prepared, Path(tmp))
                    results = _finish_batch(con, stream.prepared, result.run_id, batch_id, strict, now)
                except BaseException:
                    _discard_batch(con, batch_id)
                    raise
            for fr in results:
                result.add(fr)
            batch_id += 1
            if pending:
                _release_cache(con)
    except BaseException as e:
        failure = e
        reason = "interrupted" if isinstance(e, KeyboardInterrupt) else str(e) or type(e).__name__
        try:
            _finish_run(con, result, f"failed: {reason}")
        except RecommenderError:
            pass  # the error being raised says more than this one
        raise
    finally:
        if ordered:
            try:
                run(con, "ingest/ordered_inserts")
            except RecommenderError:
                if failure is None:
                    raise

    result.seconds = time.perf_counter() - started
    _finish_run(con, result, "ok")
    return result


def _finish_run(con: duckdb.DuckDBPyConnection, result: IngestResult, status: str) -> None:
    """Record how the run ended, with the totals of the batches it committed."""
    run(con, "ingest/finish_run", {
        "run_id": result.run_id, "finished_at": utcnow(), "status": status[:1000], "files": result.files,
        "records": result.records, "stored": result.stored, "duplicates": result.duplicates,
        "rejected": result.rejected, "skipped_files": result.skipped_files,
    })


def rebuild_aggregates(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Recompute ``usage_daily`` and ``sessions_daily`` from ``events`` (one transaction).

    Needed after the resource macro (``event_touched_resources``) or the outcome
    rules change; a normal ingest keeps both tables up to date incrementally.
    """
    with transaction(con):
        run(con, "ingest/clear_usage_daily")
        run(con, "ingest/insert_usage_daily", events="events")
        run(con, "ingest/clear_sessions_daily")
        run(con, "ingest/rebuild_sessions_daily")
    return {k: int(v) for k, v in query(con, "ingest/aggregate_counts")[0].items()}


# ---- planning -------------------------------------------------------------------




def _forget_failures_now_listed(con: duckdb.DuckDBPyConnection, sources: list[SourceFile]) -> None:
    """Drop the ``failed`` rows of earlier runs for folders that could be listed this time
    (their files are listed in their own names now). A failed file keeps its row until it
    is read: it is never "unchanged", and reading it replaces the row."""
    failed = [r["uri"] for r in query(con, "ingest/failed_files")]
    if not failed:
        return
    listed = sorted(s.uri for s in sources if s.error is None)
    gone = []
    for uri in failed:
        folder = uri.rstrip("/") + "/"
        i = bisect.bisect_left(listed, folder)
        if i < len(listed) and listed[i].startswith(folder):
            gone.append(uri)
    if gone:
        run(con, "ingest/forget_files", {"uris": gone})


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


class _Progress:
    """Counts prepared files for the progress callback (called from DuckDB's scan threads)."""

    def __init__(self, total: int, callback: ProgressFn | None) -> None:
        self.total, self.done, self.callback = total, 0, callback

    def step(self, p: _Prepared) -> None:
        self.done += 1
        if self.callback:
            self.callback(self.done, self.total, p.src.uri.rsplit("/", 1)[-1])


class _BatchStream:
    """One batch's files, taken from ``pending`` and prepared one at a time as DuckDB asks.

    Iterating yields each delivery object as an Arrow record batch ``(file_no, uri, json)``
    for ``insert_delivery``; every file (those too) is kept in ``prepared``, in order, with
    its route. DuckDB pulls from its scan threads: a lock keeps the pulls one at a time, and
    the file is read and inflated on the pulling thread (ISA-L holds the GIL meanwhile,
    while DuckDB's other thread parses the previous object). The batch ends before the file
    that would take it over ``limit`` estimated bytes, over ``BATCH_FILES``, or over
    ``DOCUMENTS_BYTES`` on the documents path; the rest stays in ``pending``.
    """

    SCHEMA = pa.schema([("file_no", pa.int32()), ("uri", pa.string()), ("json", pa.large_string())])

    def __init__(self, pending: collections.deque[SourceFile], tmp: Path, limit: int,
                 progress: _Progress) -> None:
        self.pending, self.tmp, self.limit, self.progress = pending, tmp, limit, progress
        self.prepared: list[_Prepared] = []
        self.error: BaseException | None = None
        self._bytes = self._documents = 0
        self._lock = threading.Lock()

    def _next_file(self) -> _Prepared | None:
        if not self.pending:
            return None
        src = self.pending[0]
        est = src.size * (GZIP_RATIO if src.uri.endswith(".gz") else 1)
        if self.prepared and (self._bytes + est > self.limit or len(self.prepared) >= BATCH_FILES
                              or self._documents >= DOCUMENTS_BYTES):
            return None
        self.pending.popleft()
        p = _prepare(len(self.prepared), src, self.tmp)
        self.prepared.append(p)
        self._bytes += est
        if p.route in ("documents", "recover"):
            self._documents += est
        self.progress.step(p)
        return p

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        with self._lock:
            try:
                while self.error is None and (p := self._next_file()) is not None:
                    if p.route == "delivery":
                        doc, p.doc = p.doc, None
                        return pa.RecordBatch.from_arrays(
                            [pa.array([p.file_no], pa.int32()), pa.array([p.src.uri], pa.string()), doc],
                            schema=self.SCHEMA)
            except BaseException as e:  # an S3 object that cannot be fetched, or Ctrl-C here
                # Not raised through DuckDB's scan (that leaks the objects it holds, and
                # turns Ctrl-C into a query error): the stream just ends, and
                # _insert_delivery raises it once the statement returns.
                self.error = e
            raise StopIteration

    def finish(self) -> None:
        """Prepare the batch's files DuckDB did not ask for (none, unless the stream ended
        early); raise the error that ended it, if one did."""
        with self._lock:
            while self.error is None and (p := self._next_file()) is not None:
                p.doc = None
        if self.error is not None:
            raise self.error


def _head(start: bytes) -> tuple[bytes, str]:
    """The file's first bytes with gzip undone, and the compression DuckDB should use."""
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
    read whole and inflated here (on the DuckDB thread that asks for it, see _BatchStream),
    everything else is left to DuckDB."""
    uri = src.uri
    if src.error is not None:
        return _Prepared(file_no, src, "failed", reason=src.error)
    if "CloudTrail-Digest" in uri:
        return _Prepared(file_no, src, "skip", reason="CloudTrail digest file (log file hashes, no events)")
    if "/CloudTrail-Insight/" in uri:
        return _Prepared(file_no, src, "skip", reason="CloudTrail Insight events file (not API calls)")
    try:
        path = src.materialise(tmp)
    except SourceGone as e:  # deleted or rewritten since it was listed
        return _Prepared(file_no, src, "failed", reason=str(e))
    try:
        with open(path, "rb") as fh:
            start = fh.read(HEAD_BYTES)
    except OSError as e:
        return _Prepared(file_no, src, "failed", reason=cannot_read("file", e))
    try:
        head, compression = _head(start)
    except (isal_zlib.error, EOFError):
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
    """Empty temp tables for a new batch (its documents-path files are staged into them)."""
    run(con, "ingest/create_stage")
    run(con, "ingest/create_rows")
    run(con, "ingest/create_batch_files")


def _insert_delivery(con: duckdb.DuckDBPyConnection, stream: _BatchStream, batch_id: int,
                     now: datetime) -> None:
    """Store the batch's delivery objects straight into ``events`` (``insert_delivery``),
    streamed from ``stream``; decide each file's route from what was stored.

    A file whose every record was stored is ``direct`` (its record count goes to
    ``ingest_direct``). A file with a placeholder row (a record that needs its raw JSON)
    or with no rows (not valid JSON, no records) has its rows deleted and takes the
    documents path. Bad input cannot make the statement fail (see insert_delivery.sql), so
    a failure (out of memory, disk full, Ctrl-C) is raised, as is an error reading a file;
    ingest then takes back what the batch stored. (Sending the batch to the documents path
    instead would stage up to BATCH_BYTES whole, far over its memory budget.)
    """
    reader = pa.RecordBatchReader.from_batches(_BatchStream.SCHEMA, stream)
    con.register("ingest_docs", reader)
    try:
        with _ctrl_c_interrupts(con):
            run(con, "ingest/insert_delivery", {"ingested_at": now, "batch_id": batch_id})
    finally:
        con.unregister("ingest_docs")
    stream.finish()
    readable = [p for p in stream.prepared if p.route not in ("skip", "failed")]
    if readable:
        run(con, "ingest/load_batch_files", {
            "file_nos": [p.file_no for p in readable],
            "paths": [str(p.path) for p in readable],
            "uris": [p.src.uri for p in readable],
        })
    counts = {r["file_no"]: r for r in query(con, "ingest/delivery_file_counts", {"batch_id": batch_id})}
    direct: list[_Prepared] = []
    moved: list[str] = []  # files with rows here that the documents path reads instead
    for p in stream.prepared:
        if p.route != "delivery":
            continue
        c = counts.get(p.file_no)
        if c is not None and c["placeholders"] == 0:
            p.route = "direct"
            direct.append(p)
        else:
            p.route = "documents"
            if c is not None:
                moved.append(p.src.uri)
    if moved:
        run(con, "ingest/delete_direct_files", {"batch_id": batch_id, "uris": moved})
    run(con, "ingest/record_direct_files", {
        "file_nos": [p.file_no for p in direct],
        "records": [int(counts[p.file_no]["records"]) for p in direct],
    })


@contextmanager
def _ctrl_c_interrupts(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Ctrl-C during the block interrupts DuckDB's query and is raised as KeyboardInterrupt
    once the query has stopped. The default handler would raise it in whatever Python
    frame runs at that moment, here often _BatchStream on a DuckDB thread, where it becomes
    a query error. Only the main thread can set a handler; elsewhere the block runs as is."""
    hits: list[int] = []

    def handler(signum: int, frame: Any) -> None:
        hits.append(signum)
        con.interrupt()

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    except RecommenderError:
        if not hits:
            raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if hits:
        raise KeyboardInterrupt


def _stage_documents_path(con: duckdb.DuckDBPyConnection, prepared: list[_Prepared], tmp: Path) -> None:
    """Stage the batch's files that ``insert_delivery`` did not store, with DuckDB's reader
    (``stage_documents``), damaged ones after recovery."""
    for p in prepared:
        if p.route == "recover":
            _recover_in_batch(con, p, tmp)
    # Groups are fixed before staging: a file recovered while staging its group is staged
    # there and must not be picked up again by a later group.
    groups = [[p for p in prepared if p.compression == compression
               and p.route in ("documents", "recovered")] for compression in ("gzip", "none")]
    for group in groups:
        if group:
            _stage(con, group, tmp)


def _finish_batch(con: duckdb.DuckDBPyConnection, prepared: list[_Prepared], run_id: int,
                  batch_id: int, strict: bool, now: datetime) -> list[FileResult]:
    """Validate, deduplicate and store the staged batch, and commit it with its aggregates
    and bookkeeping in one transaction (its direct rows are already in ``events``)."""
    skipped = {p.file_no: p.reason for p in prepared if p.route == "skip"}
    failed = [p for p in prepared if p.route == "failed"]
    try:
        if strict and failed:
            raise LogFormatError(f"--strict: {failed[0].src.uri}: {failed[0].reason}. Nothing from this "
                                 "batch was stored")
        # Only the documents path stages rows (binding extract_rows alone costs ~0.1 s).
        if any(p.route in ("documents", "recovered") for p in prepared):
            run(con, "ingest/extract_rows", {"ingested_at": now})
        not_ct = query(con, "ingest/non_cloudtrail_files")
        for row in not_ct:
            skipped[row["file_no"]] = row["same_skip"] or (
                f"not CloudTrail: none of its {row['values_read']} JSON value(s) "
                "has eventVersion, eventTime, eventID or userIdentity")
        if not_ct:
            run(con, "ingest/delete_rows_files", {"file_nos": [r["file_no"] for r in not_ct]})
        if strict:
            first = query(con, "ingest/first_rejects", {"limit": 3})
            if first:
                lines = "; ".join(f"{r['uri']} record {r['record_index']}: {r['reason']}" for r in first)
                raise LogFormatError(f"--strict: rejected {lines}. Nothing from this batch was stored; "
                                     "rerun without --strict to keep the good records and list every "
                                     "reject in the rejects table")
        batch = {"batch_id": batch_id}
        with transaction(con):
            run(con, "ingest/insert_rejects", {"run_id": run_id})
            span = query(con, "ingest/batch_time_span", batch)[0]
            run(con, "ingest/batch_duplicates", {**span, **batch})
            run(con, "ingest/drop_duplicates")
            run(con, "ingest/drop_direct_duplicates", batch)
            run(con, "ingest/insert_events", batch)
            run(con, "ingest/set_batch", batch)
            run(con, "ingest/new_events")
            if query(con, "ingest/usage_days_stored", span)[0]["stored"]:
                run(con, "ingest/batch_usage")
                run(con, "ingest/merge_usage_daily")
            else:
                run(con, "ingest/insert_usage_daily", events="ingest_new")
            run(con, "ingest/batch_sessions")
            run(con, "ingest/merge_sessions_daily")
            counts = {r["file_no"]: r for r in query(con, "ingest/file_counts")}
            results = [_file_result(p, counts.get(p.file_no), skipped.get(p.file_no)) for p in prepared]
            _record_files(con, prepared, results, now)
            run(con, "ingest/record_batch", {**batch, "run_id": run_id, "files": len(results),
                                             "stored": sum(r.stored for r in results),
                                             "committed_at": utcnow()})
    finally:
        _drop_temps(con)
    return results


def _release_cache(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what DuckDB caches of earlier batches, so memory stays flat as the tables grow
    (see release_cache.sql), then give the next batch the ingest's memory limit again."""
    try:
        run(con, "ingest/release_cache", {"limit": CACHE_KEPT_BETWEEN_BATCHES})
    except RecommenderError:
        pass  # DuckDB refused the lower limit (more is pinned): the batch runs as before
    run(con, "ingest/memory_limit")


def _discard_batch(con: duckdb.DuckDBPyConnection, batch_id: int) -> None:
    """Take back the rows an unfinished batch stored (its direct rows were committed as they
    were inserted). Should even that fail, the next ingest removes them (discard_unfinished)."""
    try:
        run(con, "ingest/discard_batch", {"batch_id": batch_id})
    except Exception:  # noqa: BLE001 - the original error is the one to report
        pass


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    run(con, "ingest/drop_temp_view", view="ingest_new")
    for table in ("ingest_stage", "ingest_rows", "ingest_dups", "ingest_usage", "ingest_sessions",
                  "ingest_batch_files", "ingest_direct"):
        run(con, "ingest/drop_temp", table=table)


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
    _recover_in_batch(con, p, tmp)
    _stage(con, [p], tmp)


def _recover_in_batch(con: duckdb.DuckDBPyConnection, p: _Prepared, tmp: Path) -> None:
    """Recover ``p`` (``_recover``) and point the batch's file list at the rewritten file."""
    _recover(p, tmp)
    run(con, "ingest/repoint_batch_file", {"path": str(p.path), "file_no": p.file_no})


def _file_result(p: _Prepared, counts: dict[str, Any] | None, skip_reason: str | None) -> FileResult:
    if p.route == "failed":
        return FileResult(uri=p.src.uri, status="failed", reason=p.reason)
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
    try:
        raw = path.read_bytes()
    except OSError as e:  # readable when listed, not any more
        return b"", cannot_read("file", e)
    if not raw.startswith(GZIP_MAGIC):
        return raw, None
    return _gunzip(raw, lib=zlib)


def _marker(reason: str, snippet: str) -> str:
    return json.dumps({MARKER: reason, "snippet": snippet[:500]})


def _recover_lines(text: str) -> list[str] | None:
    """Per-line recovery for JSON Lines; None when the text does not look like lines: fewer
    than two, or fewer than half of them valid JSON on their own (a pretty-printed document
    has almost none). A damaged line keeps the complete records it holds."""
    lines = text.split("\n")  # not splitlines(): JSON strings may hold U+2028 and the like
    nonblank = 0
    parsed: dict[int, str] = {}
    for number, line in enumerate(lines, start=1):
        if line.strip():
            nonblank += 1
            try:
                parsed[number] = json.dumps(json.loads(line))
            except ValueError:
                pass
    if nonblank < 2 or 2 * len(parsed) < nonblank:
        return None
    out = []
    for number, line in enumerate(lines, start=1):
        if number in parsed:
            out.append(parsed[number])
        elif line.strip():
            out.extend(_recover_document(line, where=f"line {number}: "))
    return out


_CONTAINER_START = re.compile(r'(?:\{\s*"(?:Records|Events)"\s*:\s*)?\[')


def _records_of(doc: Any) -> list[Any]:
    """The records a whole JSON document holds: a container's elements, else itself."""
    if isinstance(doc, dict):
        for key in ("Records", "Events"):
            if isinstance(doc.get(key), list):
                return doc[key]
        return [doc]
    return doc if isinstance(doc, list) else [doc]


def _recover_document(text: str, where: str = "") -> list[str]:
    """Recover the complete records of truncated or damaged JSON: one document or several
    written one after another (appended pages of lookup-events output, say). Each whole
    document gives its records (``_records_of``); in a damaged container
    (``{"Records": [...]}``, ``{"Events": [...]}`` or a bare array) the elements before the
    damage are kept one by one. The first part that is not valid JSON becomes one reject
    marker, its snippet starting where that part starts (``where`` says where in the file,
    for a line), and ends the recovery."""
    decoder = json.JSONDecoder()
    out: list[str] = []
    pos = 0
    documents = 0  # complete top-level documents before pos

    def skip_ws(at: int) -> int:
        while at < len(text) and text[at].isspace():
            at += 1
        return at

    def damaged(start: int, at: int, what: str) -> list[str]:
        if documents == 0 and not out and at == start == skip_ws(0):
            return [_marker(f"{where}not valid JSON ({what} at byte {at})", text)]
        after = f" after {documents} complete JSON document(s)" if documents else ""
        of_line = " of the line" if where else ""
        return out + [_marker(f"{where}invalid JSON at byte {at}{of_line}{after} ({what}); "
                              "file truncated or damaged", text[start:])]

    while (pos := skip_ws(pos)) < len(text):
        start = pos
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            m = _CONTAINER_START.match(text, start)
            if m is None:
                return damaged(start, e.pos, e.msg)
        else:
            out.extend(json.dumps(r) for r in _records_of(doc))
            documents += 1
            continue
        # A damaged container: keep its elements up to the damage.
        pos = m.end()
        while not text.startswith("]", pos := skip_ws(pos)):
            element = pos
            try:
                elem, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                return damaged(element, e.pos, e.msg)
            out.append(json.dumps(elem))
            pos = skip_ws(pos)
            if text.startswith(",", pos):
                pos += 1
            elif not text.startswith("]", pos):
                return damaged(pos, pos, "expected ',' or ']'")
        # The elements were whole, so the damage is after them (in a key such as NextToken).
        return damaged(pos + 1, pos + 1, "after the records of the document")
    return out


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
