"""The CLI finds each verb's module by name and loads it only when that verb runs."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import recommender.cli
from recommender.cli import main
from recommender.cli.base import command_modules, role_column


def test_every_verb_module_defines_the_command_it_is_named_after() -> None:
    modules = {m.name for m in pkgutil.iter_modules(recommender.cli.__path__)} - {"base"}
    assert set(command_modules().values()) == modules
    for module in modules:
        importlib.import_module(f"recommender.cli.{module}")
    assert set(main.commands) == set(command_modules())
    for name, module in command_modules().items():
        assert main.commands[name].callback.__module__ == f"recommender.cli.{module}"


def test_a_verb_imports_only_its_own_module() -> None:
    code = (
        "import json, sys\n"
        "from recommender.cli import main\n"
        "try:\n"
        "    main(['ingest', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('recommender.cli.'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert loaded == ["recommender.cli.base", "recommender.cli.ingest"]


def test_role_column_leads_with_the_account_only_when_there_are_several() -> None:
    head, cells = role_column(["agent", "ci-deploy"], ["111122223333", "111122223333"])
    assert head == "ROLE     " and cells == ["agent    ", "ci-deploy"]
    head, cells = role_column(["Admin", "Admin", "x"], ["111122223333", "444455556666", None])
    assert head == "ACCOUNT       ROLE "
    assert cells == ["111122223333  Admin", "444455556666  Admin", "-             x    "]
