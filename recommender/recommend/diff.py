"""Unified diffs from a role's current policies to the recommended ones.

Both sides are rendered the same way (keys sorted, Action and Resource lists
sorted, single strings as lists, two-space indent, one block per policy in a fixed
order), so a line in the diff is a change in meaning, never in formatting.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from recommender.recommend.minimize import normalise


def render_document(doc: Mapping[str, Any] | None) -> list[str]:
    """A policy document as the lines both sides of the diff use."""
    text = json.dumps(normalise(doc), indent=2, sort_keys=True, ensure_ascii=False)
    return [line + "\n" for line in text.splitlines()]


def _header(p: Mapping[str, Any]) -> str:
    where = p.get("arn") or p.get("policy_key")
    return f"# policy {p['name']} ({p['kind']}) {where}\n"


def role_diff(entry: Mapping[str, Any]) -> str:
    """The unified diff for one role entry of recommendation.json."""
    name = entry["name"]
    before: list[str] = []
    after: list[str] = []
    for p in entry["policies"]:
        before.append(_header(p))
        before.extend(render_document(p["current_document"]))
        if p["recommended_document"] is not None:
            after.append(_header(p))
            after.extend(render_document(p["recommended_document"]))
    for n in entry.get("new_policies", []):
        after.append(f"# new policy {n['name']} (replaces {', '.join(n['replaces'])})\n")
        after.extend(render_document(n["document"]))
    return "".join(
        difflib.unified_diff(
            before, after, fromfile=f"current/{name}", tofile=f"recommended/{name}", n=3
        )
    )
