"""The command line: a click group whose verbs live one module each in this package.

Every module here registers its commands on ``main`` from ``base``; they are
imported below so ``recommender --help`` lists them all.
"""

from __future__ import annotations

import importlib
import pkgutil

from recommender.cli.base import main

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _mod != "base":
        importlib.import_module(f"{__name__}.{_mod}")

__all__ = ["main"]
