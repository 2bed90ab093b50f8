"""ruff over the whole tree with the project's rules (pyproject [tool.ruff.lint]):
real bugs, and no SQL built by string formatting inside the package."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    out = subprocess.run(
        [ruff, "check", "--output-format", "concise", "recommender", "tests", "benchmarks", "scripts"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
