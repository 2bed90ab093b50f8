"""recommender.allocators: freed memory is kept for reuse by the command line's process.

Each case runs in a fresh interpreter: both settings are process-wide and must come
before duckdb is loaded, which this test process did long ago."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from recommender.allocators import DUCKDB_JEMALLOC_CONF, DUCKDB_JEMALLOC_ENV

GLIBC = platform.libc_ver()[0] == "glibc"

# Inflate a ~1 MB gzip object 50 times on a thread that is not the main one, as ingest
# does on DuckDB's scan threads (same function, same output limit), and count the page
# faults it takes.
INFLATE_IN_A_THREAD = """
import os, resource, sys, threading
if sys.argv[1] == "kept":
    from recommender.allocators import keep_freed_memory
    keep_freed_memory()
from isal import isal_zlib
from recommender.ingest import MAX_OBJECT_BYTES, _inflate
raw = isal_zlib.compress(os.urandom(200_000) * 5, wbits=31)
faults = []
def work():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        assert len(_inflate(raw, MAX_OBJECT_BYTES)) == 1_000_000
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
t = threading.Thread(target=work)
t.start()
t.join()
print(faults[0])
"""


def _python(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    base = {k: v for k, v in os.environ.items() if k != DUCKDB_JEMALLOC_ENV}
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt() settings; this C library is not glibc")
def test_inflated_objects_reuse_freed_memory_instead_of_faulting_it_in() -> None:
    default = int(_python(INFLATE_IN_A_THREAD, "default"))
    kept = int(_python(INFLATE_IN_A_THREAD, "kept"))
    # 50 MB inflated: one fresh 4 KiB page after another by default (~12,000 faults),
    # the same few pages over again once freed memory is kept.
    assert default > 5_000
    assert kept < default / 10


def test_the_command_line_configures_duckdbs_allocator_before_loading_it() -> None:
    code = ("import os, sys, recommender.cli; "
            f"print(os.environ.get({DUCKDB_JEMALLOC_ENV!r}), 'duckdb' in sys.modules)")
    assert _python(code) == f"{DUCKDB_JEMALLOC_CONF} True"
    # A setting of the user's own is left as it is.
    assert _python(code, env={DUCKDB_JEMALLOC_ENV: "narenas:1"}) == "narenas:1 True"


def test_nothing_is_set_for_duckdb_once_it_is_loaded() -> None:
    code = ("import duckdb, json, os; from recommender.allocators import keep_freed_memory; "
            f"print(json.dumps([keep_freed_memory(), os.environ.get({DUCKDB_JEMALLOC_ENV!r})]))")
    applied, env = json.loads(_python(code))
    assert applied == {"duckdb_jemalloc": False, "glibc": GLIBC} and env is None
