"""The command line: a click group whose verbs live one module each in this package.

Every module here is named after its verb and registers it on ``main`` from ``base``,
which imports a verb's module only when the verb is used (``base.command_modules``).
"""

from __future__ import annotations

from recommender.cli.base import main

__all__ = ["main"]
