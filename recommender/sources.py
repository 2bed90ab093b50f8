"""Where CloudTrail files come from: local files and folders today, S3 objects later.

Ingest only needs, for each input file, a stable ``uri`` (the key of
``ingest_files``), its ``size`` and ``mtime``/``etag`` (to decide whether a
second run must read it again) and a way to get its bytes. DuckDB reads local
paths directly (fast, no copy); a source whose objects are not on disk (S3)
provides ``open()`` and ingest materialises each object into a temporary file.
Keeping that split here lets an S3 source plug in without touching ingest.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from recommender.errors import LogFormatError

# Files picked up when walking a folder. Files named explicitly on the command line
# are always read, whatever their name; inside folders this keeps READMEs, checksums
# and similar neighbours out of the run.
DATA_SUFFIXES = (".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".gz")

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class SourceFile:
    """One input file: identity for bookkeeping plus access to its (maybe gzipped) bytes."""

    uri: str
    size: int
    mtime: datetime | None = None
    etag: str | None = None
    local_path: Path | None = None
    opener: Callable[[], BinaryIO] | None = None
    # Why the file (or folder) cannot be read at all, found while listing: ingest records
    # it as failed, reads the rest, and tries it again on the next run.
    error: str | None = None

    def open(self) -> BinaryIO:
        """The raw bytes, exactly as stored (gzip is not undone here)."""
        if self.opener is not None:
            return self.opener()
        if self.local_path is None:
            raise LogFormatError(f"{self.uri}: source has neither a local path nor an opener")
        return open(self.local_path, "rb")

    def materialise(self, folder: Path) -> Path:
        """A local path DuckDB can read: the file itself, or a copy of the object in ``folder``."""
        if self.local_path is not None:
            return self.local_path
        name = self.uri.rstrip("/").rsplit("/", 1)[-1] or "object"
        target = Path(folder) / f"{abs(hash(self.uri)):x}_{name}"
        with self.open() as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        return target


def cannot_read(what: str, e: OSError) -> str:
    """The reason an OS error gives for not reading a file or folder."""
    return f"cannot read the {what}: {e.strerror or e}"


def _unreadable(path: Path | str, what: str, e: OSError) -> SourceFile:
    return SourceFile(uri=str(path), size=0, error=cannot_read(what, e))


def _local(path: Path) -> SourceFile:
    try:
        st = path.stat()
    except OSError as e:
        return _unreadable(path, "file", e)
    return SourceFile(
        uri=str(path),
        size=st.st_size,
        mtime=datetime.fromtimestamp(st.st_mtime, tz=timezone.utc).replace(tzinfo=None),
        local_path=path,
    )


def local_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[SourceFile]:
    """Every file named in ``paths``, folders walked recursively in sorted order.

    Sorted order makes runs reproducible and, for the S3 layout (``.../YYYY/MM/DD/``),
    feeds events roughly in time order. Hidden files and folders are skipped. A file
    reached twice (named twice, or through a symbolic link) is listed once. A folder that
    cannot be listed is listed as a failed source (``error``), not skipped in silence.
    """
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise LogFormatError(f"{raw}: no such file or folder; check the path given to ingest")
        path = path.resolve()
        if path.is_file():
            if path not in seen:
                seen.add(path)
                yield _local(path)
            continue
        unlisted: list[OSError] = []
        for folder, dirs, files in os.walk(path, onerror=unlisted.append):
            while unlisted:
                e = unlisted.pop(0)
                yield _unreadable(e.filename or folder, "folder", e)
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or not name.lower().endswith(DATA_SUFFIXES):
                    continue
                file = Path(folder) / name
                # The walk does not follow linked folders, so only a linked file can reach
                # a file listed already; a looping or dangling link is no file and is passed.
                try:
                    target = file.resolve(strict=True) if file.is_symlink() else file
                except (OSError, RuntimeError):
                    continue
                if target not in seen and file.is_file():
                    seen.add(target)
                    yield _local(file)
        for e in unlisted:  # the last folder walked, or the top one
            yield _unreadable(e.filename or path, "folder", e)
