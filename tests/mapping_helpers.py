"""Shared set-up for the mapping tests: a database with the catalog and the mapping's
static inputs loaded once per test session, copied for each test that needs one
(loading the catalog takes seconds; copying the file does not)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from recommender import db, mapping

_TEMPLATE: Path | None = None


def fresh_db(dest: Path) -> Path:
    """A copy of the session's template database at ``dest`` (created on first use)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        folder = Path(tempfile.mkdtemp(prefix="recommender-mapping-"))
        path = folder / "template.duckdb"
        con = db.connect(path)
        mapping.load_static(con)
        con.close()
        _TEMPLATE = path
    shutil.copyfile(_TEMPLATE, dest)
    return dest
