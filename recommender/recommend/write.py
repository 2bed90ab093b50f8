"""Writing a recommendation to a folder: per role ``<role>.json``, ``<role>.diff``,
``<role>.md``; ``recommendation.json`` (the contract); ``agent-ceiling.json``.

Files are written only after every invariant held (``build.recommend`` raises
otherwise), each through a temporary name and a rename, so a reader never sees a
half-written recommendation. Contents never include the time they were written:
same inputs, same bytes.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from recommender.errors import RecommenderError
from recommender.recommend.build import Recommendation, canonical_bytes
from recommender.recommend.diff import role_diff
from recommender.recommend.minimize import RoleResult


def file_stem(entry: dict[str, Any], duplicates: set[str]) -> str:
    """A safe file name for a role; the account id is prefixed when two accounts share a name."""
    name = entry["name"]
    if name in duplicates:
        name = f"{entry['account_id']}-{name}"
    return re.sub(r"[^A-Za-z0-9+=,.@_-]", "_", name)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def role_file(entry: dict[str, Any], result: RoleResult | None = None) -> dict[str, Any]:
    """The content of ``<role>.json``: the recommended documents, both views, and
    (given the result) every never-needed action by name."""
    never: dict[str, list[str]] = {}
    for r in result.removed if result is not None else []:
        if r.status == "never_needed":
            never.setdefault(r.action.split(":", 1)[0], []).append(r.action)
    return {
        "principal_arn": entry["principal_arn"],
        "verdict": entry["verdict"],
        "message": entry["message"],
        "counts": entry["counts"],
        # Apply these in place of today's policies (per-policy view, what IaC edits):
        "policies": [
            {
                k: p[k]
                for k in ("policy_key", "name", "kind", "arn", "change", "recommended_document")
            }
            for p in entry["policies"]
        ],
        "new_policies": entry["new_policies"],
        # Or replace every identity policy with these (the smallest equivalent set):
        "consolidated_policies": entry["consolidated_policies"],
        "kept": entry["kept"],
        "removed": entry["removed"],
        "never_needed": {
            "count": entry["never_needed"]["count"],
            "by_service": {k: sorted(v) for k, v in sorted(never.items())},
        },
    }


def write_recommendation(rec: Recommendation, out_dir: str | Path) -> list[Path]:
    """Write every file; returns the paths written, in order."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RecommenderError(f"cannot create the output folder {out}: {e}") from e
    counts = Counter(r["name"] for r in rec.document["roles"])
    duplicates = {n for n, c in counts.items() if c > 1}
    written: list[Path] = []
    try:
        results = {r.role.principal_arn: r for r in rec.results}
        for entry in rec.document["roles"]:
            stem = file_stem(entry, duplicates)
            files = {
                f"{stem}.json": canonical_bytes(
                    role_file(entry, results.get(entry["principal_arn"]))
                ),
                f"{stem}.diff": role_diff(entry).encode("utf-8"),
                f"{stem}.md": entry["explanation_md"].encode("utf-8"),
            }
            for name, data in files.items():
                _write(out / name, data)
                written.append(out / name)
        _write(out / "recommendation.json", canonical_bytes(rec.document))
        written.append(out / "recommendation.json")
        if rec.ceiling is not None:
            _write(out / "agent-ceiling.json", canonical_bytes(rec.ceiling))
            written.append(out / "agent-ceiling.json")
    except OSError as e:
        raise RecommenderError(f"cannot write the recommendation to {out}: {e}") from e
    return written
