"""The benchmark scripts still run and their figures add up, at a size that takes seconds.

They are measured by hand (docs/benchmarks.md), never timed here: these tests only keep
the scripts from rotting as the code they drive changes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = REPO / "benchmarks"


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _bench_ingest() -> ModuleType:
    """benchmarks/bench_ingest.py as a module, for its helpers."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_ingest
    finally:
        sys.path.remove(str(BENCHMARKS))
    return bench_ingest


def test_bench_ingest_reconciles_and_profiles_memory(tmp_path: Path) -> None:
    out = _run("bench_ingest.py", "--events", "1500", "--rounds", "2", "--latency-mib", "8",
               "--corpus", str(tmp_path / "corpus"), "--delete-corpus")
    assert "3 files, 1500 events" in out
    assert re.search(r"^stored=1500 duplicates=0 rejected=0 files=3 ", out, re.M)
    rounds = re.findall(r"^round (\d): gzip -dc +[\d.]+ s .* ratio +([\d.]+)x +peak RSS +(\d+) MiB$", out, re.M)
    assert [r[0] for r in rounds] == ["1", "2"]
    # The memory profile: one figure (or "-" where no sample fell) per tenth of the run,
    # none above the peak wait4() reports.
    profiles = re.findall(r"RSS by tenth of the run \(MiB\): (.+)$", out, re.M)
    assert len(profiles) == 2
    for (_n, _ratio, peak), profile in zip(rounds, profiles):
        tenths = profile.split()
        assert len(tenths) == 10
        sampled = [int(t) for t in tenths if t != "-"]
        # (Both are rounded to MiB, and the kernel's per-CPU RSS counters that /proc
        # reports are approximate: a sample may read a MiB or so over the high-water mark.)
        assert sampled and max(sampled) <= int(peak) + 2
    assert re.search(r"^ratio +: +[\d.]+ x gzip -dc \(target <= 1.5\) \(rounds: [\d.]+, [\d.]+\)$", out, re.M)
    # The memory latency probe ran before each round, in a child of its own: the probe's
    # tables (twice 8 MiB here) do not show in the ingest's peak.
    probes = re.findall(r"memory latency before the round: (\d+) ns \(random loads over 8 MiB", out)
    assert len(probes) == 2
    assert re.search(rf"^memory +: {probes[0]}, {probes[1]} ns before rounds 1-2$", out, re.M)
    assert "fit to memory" not in out  # two rounds are too few for a fit
    assert not (tmp_path / "corpus").exists()


def test_bench_ingest_resources_only(tmp_path: Path) -> None:
    out = _run("bench_ingest.py", "--events", "600", "--resources-only",
               "--corpus", str(tmp_path / "corpus"))
    assert "python -c <resources-only ingest>" in out
    assert re.search(r"^stored=600 duplicates=0 rejected=0 files=2 ", out, re.M)


def test_rss_profile_takes_the_peak_of_each_slice() -> None:
    bench_ingest = _bench_ingest()
    samples = [(0.05, 1024), (0.15, 3072), (0.16, 2048), (0.95, 10240)]
    assert bench_ingest._rss_profile(samples, 1.0, parts=4) == "3 - - 10"
    assert bench_ingest._rss_profile([], 1.0, parts=2) == "- -"


def test_latency_fit_follows_the_rounds() -> None:
    bench_ingest = _bench_ingest()
    # Ratios on an exact line: 1.0 at 100 ns, +0.5 per 100 ns.
    fit = bench_ingest._latency_fit([100.0, 200.0, 300.0], [1.0, 1.5, 2.0], "x")
    assert fit == "r =  1.00 (1.00x at 100 ns, 2.00x at 300 ns)"
    falling = bench_ingest._latency_fit([300.0, 100.0, 200.0], [2.0, 4.0, 3.0], " s")
    assert falling == "r = -1.00 (4.00 s at 100 ns, 2.00 s at 300 ns)"
    assert bench_ingest._latency_fit([100.0, 200.0], [1.0, 2.0], "x") is None  # too few rounds
    assert bench_ingest._latency_fit([150.0] * 3, [1.0, 1.2, 1.4], "x") is None  # no spread


def test_latency_probe_chases_one_scattered_cycle_through_every_slot() -> None:
    bench_ingest = _bench_ingest()
    slots = bench_ingest._chase_table(1)
    seen, x, jumps = set(), 0, 0
    for _ in range(len(slots)):
        seen.add(x)
        jumps += abs(slots[x] - x)
        x = slots[x]
    assert x == 0 and len(slots) == 131072
    assert seen == set(range(len(slots)))  # one cycle: every slot, each once
    # Scattered: a step goes a third of the table on average (a stride a prefetcher could
    # follow would go one slot).
    assert jumps / len(slots) > len(slots) / 4
    assert bench_ingest.memory_latency_ns(mib=8, loads=20_000) >= 0.0


@pytest.mark.parametrize("script, args, expect", [
    ("bench_grants.py", ["--roles", "12"], r"^input: 12 roles, .*\n.*total [\d.]+ s$"),
    ("bench_analysis.py", ["--roles", "12", "--events", "20000"],
     r"^roles 12 .*\n(.*\n)*analyze: [\d.]+s for 12 principals: granted [\d,]+, used [\d,]+"),
])
def test_other_benchmarks_run(script: str, args: list[str], expect: str) -> None:
    assert re.search(expect, _run(script, *args), re.M)


def test_bench_page_faults_counts_faults_both_ways() -> None:
    out = _run("bench_page_faults.py", "--mib", "16", "--rounds", "1",
               "--ingest", str(REPO / "tests" / "fixtures" / "ingest" / "good"))
    # 16 MiB written one byte per page: one fault per 4 KiB page.
    faults = int(re.search(r"round 1: (\d+) page faults", out).group(1))
    assert 4096 <= faults < 4096 + 64
    ingests = re.findall(r"ingest round 1, (allocator defaults|freed memory kept) *: .* ([\d,]+) page faults", out)
    assert [label for label, _ in ingests] == ["allocator defaults", "freed memory kept"]
    assert all(int(n.replace(",", "")) > 0 for _, n in ingests)
