"""The benchmark scripts still run and their figures add up, at a size that takes seconds.

They are measured by hand (docs/benchmarks.md), never timed here: these tests only keep
the scripts from rotting as the code they drive changes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS = REPO / "benchmarks"


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bench_ingest_reconciles_and_profiles_memory(tmp_path: Path) -> None:
    out = _run("bench_ingest.py", "--events", "1500", "--rounds", "2",
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
        assert sampled and max(sampled) <= int(peak)
    assert re.search(r"^ratio +: +[\d.]+ x gzip -dc \(target <= 1.5\) \(rounds: [\d.]+, [\d.]+\)$", out, re.M)
    assert not (tmp_path / "corpus").exists()


def test_bench_ingest_resources_only(tmp_path: Path) -> None:
    out = _run("bench_ingest.py", "--events", "600", "--resources-only",
               "--corpus", str(tmp_path / "corpus"))
    assert "python -c <resources-only ingest>" in out
    assert re.search(r"^stored=600 duplicates=0 rejected=0 files=2 ", out, re.M)


def test_rss_profile_takes_the_peak_of_each_slice() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_ingest
    finally:
        sys.path.remove(str(BENCHMARKS))
    samples = [(0.05, 1024), (0.15, 3072), (0.16, 2048), (0.95, 10240)]
    assert bench_ingest._rss_profile(samples, 1.0, parts=4) == "3 - - 10"
    assert bench_ingest._rss_profile([], 1.0, parts=2) == "- -"


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
