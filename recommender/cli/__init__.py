"""The command line: a click group whose verbs live one module each in this package.

Every module here is named after its verb and registers it on ``main`` from ``base``,
which imports a verb's module only when the verb is used (``base.command_modules``).
"""

from __future__ import annotations

from recommender.allocators import keep_freed_memory

keep_freed_memory()  # before duckdb is imported (recommender.cli.base imports it)

from recommender.cli.base import main  # noqa: E402

__all__ = ["main"]
