"""The README's first command works, and every command is documented.

The first command sets up a virtualenv and runs `recommender demo`. On CI (CI=true)
this test runs it verbatim in a fresh clone; elsewhere it runs the `recommender demo`
part with this interpreter, so a developer's test run stays quick.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from recommender.cli import main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README, flags=re.S)


def test_readme_starts_with_the_two_commands():
    first, second = _commands()[:2]
    assert "recommender demo" in first and "pip install" in first
    assert "pytest" in second and ".[test]" in second
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert second.strip() in ci, ".ci/run must run the README's test command verbatim"


@pytest.mark.slow
def test_first_command_runs_the_demo_and_writes_the_report(tmp_path):
    first = _commands()[0]
    if os.environ.get("CI") == "true" and shutil.which("git"):
        clone = tmp_path / "clone"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        out = subprocess.run(["bash", "-c", first], cwd=clone, capture_output=True, text=True, timeout=1200)
        workdir = clone
    else:
        demo = first.split("&&")[-1].strip()
        args = demo.split()[1:]  # drop ".venv/bin/recommender"
        workdir = tmp_path
        (tmp_path / "sample_logs").symlink_to(REPO / "sample_logs")
        out = subprocess.run(
            [sys.executable, "-m", "recommender", *args], cwd=tmp_path, capture_output=True, text=True,
            timeout=600,
        )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Report:" in out.stdout
    report = workdir / "recommender-out" / "report.html"
    assert report.is_file() and report.stat().st_size > 10_000
    html = report.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "ci-deploy" in html
    assert (workdir / "recommender-out" / "findings.json").is_file()
    assert (workdir / "recommender-out" / "recommendations" / "recommendation.json").is_file()


def _all_commands() -> list[tuple[str, object]]:
    # Through click's own listing: the group loads each verb's module on first use, so
    # main.commands alone is empty until something has run.
    ctx = click.Context(main)
    found = []
    for name, cmd in ((n, main.get_command(ctx, n)) for n in main.list_commands(ctx)):
        sub = getattr(cmd, "commands", None)
        if sub:
            found += [(f"{name} {s}", c) for s, c in sorted(sub.items())]
        else:
            found.append((name, cmd))
    return found


def test_the_help_checks_below_see_every_verb() -> None:
    from recommender.cli.base import command_modules

    assert {name.split()[0] for name, _ in _all_commands()} == set(command_modules())


@pytest.mark.parametrize("name,cmd", _all_commands(), ids=[n for n, _ in _all_commands()])
def test_every_command_has_help_with_an_example_and_is_in_the_readme(name, cmd):
    result = CliRunner().invoke(main, [*name.split(), "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`recommender {name} --help` should end with an example"
    top = name.split()[0]
    assert f"`{name}" in README or f"`{top} " in README or f"`{top}`" in README, (
        f"`recommender {name}` is not documented in the README"
    )
