"""Allocator settings that keep freed memory for reuse instead of faulting it in again.

Ingest inflates each delivery object (~0.8 MB) into a fresh buffer, and DuckDB builds
and frees vectors and row groups batch after batch. With the allocators' defaults much
of that memory goes back to the kernel when it is freed (glibc: blocks over its mmap
threshold, and a heap top over its trim threshold; DuckDB's jemalloc: dirty pages after
a second), so the next object or batch takes it again as fresh pages, one page fault
per 4 KiB. On the 2-core VMs this project is measured on a fault costs ~5 us: a 500k
event ingest took ~240,000 of them, over a second of CPU time. Keeping freed memory
halves that (docs/benchmarks.md, "Twelfth session"); peak memory does not grow, since
what is kept is what the next batch uses again.

Both settings are process-wide, so they are the command line's to make, not the
library's: ``recommender.cli`` calls ``keep_freed_memory()`` before it imports duckdb.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

# DuckDB's bundled jemalloc reads this variable once, when the duckdb module loads.
DUCKDB_JEMALLOC_ENV = "DUCKDB_JE_MALLOC_CONF"
# Never purge dirty or muzzy pages: a freed page stays mapped for the next allocation.
DUCKDB_JEMALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"
# glibc mallopt() parameters (malloc.h) and the values set.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest: objects up to this come from the heap
TRIM_THRESHOLD = 256 * 1024 * 1024  # free heap top kept before it is given back


def keep_freed_memory() -> dict[str, bool]:
    """Apply both settings where they can still take effect; returns which did.

    jemalloc's is skipped when duckdb is already imported (too late) or when the user set
    the variable (theirs wins); glibc's is skipped on other C libraries."""
    applied = {"duckdb_jemalloc": False, "glibc": False}
    if "duckdb" not in sys.modules and DUCKDB_JEMALLOC_ENV not in os.environ:
        os.environ[DUCKDB_JEMALLOC_ENV] = DUCKDB_JEMALLOC_CONF
        applied["duckdb_jemalloc"] = True
    if platform.libc_ver()[0] == "glibc":
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            return applied
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        applied["glibc"] = (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
                            and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1)
    return applied
