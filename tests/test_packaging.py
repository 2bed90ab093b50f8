"""The wheel carries every package, the SQL files and the templates, so the tool
works from `pip install .` exactly as from a checkout."""

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(REPO).parts)
        for p in (REPO / "recommender").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


@pytest.mark.slow
def test_wheel_contains_sql_templates_and_data(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0 and "No module named" in out.stderr:
        pytest.skip(f"cannot build a wheel here: {out.stderr.strip()[-200:]}")
    assert out.returncode == 0, out.stderr
    wheel = next(tmp_path.glob("recommender-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    sql_files = {p.relative_to(REPO / "sql").as_posix() for p in (REPO / "sql").rglob("*.sql")}
    assert {f"recommender/sql/{s}" for s in sql_files} <= names
    templates = {p.name for p in (REPO / "templates").glob("*") if p.suffix in {".j2", ".html", ".md"}}
    assert {f"recommender/templates/{t}" for t in templates} <= names
    data = {p.name for p in (REPO / "recommender" / "data").glob("*") if p.is_file()}
    assert {f"recommender/data/{d}" for d in data} <= names
