"""What a page fault costs on this machine, and how many an ingest takes.

Ingest's speed in this machine's slow spells follows the price of first touching fresh
memory (docs/benchmarks.md, "Twelfth session"); `gzip -dc`, the baseline, works in a few
fixed buffers and does not pay it. This prints:

1. the time per page fault: an anonymous mapping of ``--mib`` MiB written one byte per
   4 KiB page (each write faults a page in), against writing the same pages again;
2. with ``--ingest PATH``, the page faults of ``recommender ingest PATH`` into a fresh
   database, with the command line's allocator settings (the default) and without them.

Usage::

    python benchmarks/bench_page_faults.py
    python benchmarks/bench_page_faults.py --ingest benchmarks/.corpus/v2-500000
"""

from __future__ import annotations

import argparse
import mmap
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench_ingest import run_child  # this folder is the script's sys.path[0]

PAGE = 4096

# `recommender ingest`, with recommender.allocators' settings or without them (the CLI
# applies them when its package is imported; this child imports the library instead).
INGEST = """
import sys
if sys.argv[1] == "kept":
    from recommender.allocators import keep_freed_memory
    keep_freed_memory()
from recommender.db import connect
from recommender.ingest import ingest
ingest(connect(sys.argv[3]), [sys.argv[2]])
"""


def fault_cost(mib: int) -> tuple[float, float, int]:
    """(us per first touch, us per second touch, faults) for ``mib`` MiB of fresh memory."""
    size = mib * 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    area = mmap.mmap(-1, size)
    for offset in range(0, size, PAGE):
        area[offset] = 1
    first = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    start = time.perf_counter()
    for offset in range(0, size, PAGE):
        area[offset] = 2
    again = time.perf_counter() - start
    area.close()
    pages = size // PAGE
    return first / pages * 1e6, again / pages * 1e6, faults


def ingest_faults(corpus: Path, mode: str) -> tuple[float, float, int, int]:
    """(wall s, CPU s, page faults, peak RSS KiB) of one ingest of ``corpus``."""
    with tempfile.TemporaryDirectory(prefix="bench_faults_") as tmp:
        run = run_child([sys.executable, "-c", INGEST, mode, str(corpus), str(Path(tmp) / "db.duckdb")])
    return run.wall, run.cpu, run.faults, run.peak_kib


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mib", type=int, default=512, help="fresh memory to touch (default 512)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ingest", type=Path, default=None,
                    help="also count the page faults of ingesting this corpus, both ways")
    args = ap.parse_args()
    for n in range(1, args.rounds + 1):
        first, again, faults = fault_cost(args.mib)
        print(f"round {n}: {faults} page faults, {first:5.2f} us per first touch "
              f"({again:4.2f} us per page touched again)", flush=True)
    if args.ingest:
        for n in range(1, args.rounds + 1):
            for mode in ("default", "kept"):
                wall, cpu, faults, rss = ingest_faults(args.ingest, mode)
                label = "allocator defaults" if mode == "default" else "freed memory kept"
                print(f"ingest round {n}, {label:18s}: {wall:6.2f} s (CPU {cpu:6.2f} s)  "
                      f"{faults:9,d} page faults  peak RSS {rss / 1024:5.0f} MiB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
