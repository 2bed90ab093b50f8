"""IAM size quotas, and splitting a recommendation so it fits them.

IAM limits the *size of the policy text*, not the number of permissions:

* a customer managed policy (also what a permission boundary is) may hold at most
  **6,144 characters**; IAM does not count whitespace, so the figure is the JSON
  with every whitespace character removed;
* all **inline** policies of one role together may hold at most **10,240**
  characters, counted the same way;
* a role may have **10 managed policies** attached by default (raisable to 20);
* an SCP (the agent ceiling, if used as one) may hold at most **5,120** characters.

Scoping resources to what was observed can make a policy *longer* than the
``"Resource": "*"`` it replaces, so every recommended document is measured here.
The consolidated recommendation is packed into as few managed policies as fit
(first fit, statements in their deterministic order; one statement too large on
its own is split by its resources, then by its actions, never by dropping any).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

MANAGED_POLICY_LIMIT = 6144
INLINE_TOTAL_LIMIT = 10240
SCP_LIMIT = 5120
MANAGED_POLICIES_PER_ROLE = 10

_WS = re.compile(r"\s")
VERSION = "2012-10-17"


def policy_size(document: Any) -> int:
    """Characters IAM counts for a policy document (whitespace excluded)."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return len(_WS.sub("", text))


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": statements}


_OVERHEAD = policy_size(_doc([]))


def _split_one(st: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """A statement too large for one policy, as several smaller ones (same meaning)."""
    if policy_size(_doc([st])) <= limit:
        return [st]
    for key in ("Resource", "Action"):
        values = st.get(key)
        if isinstance(values, list) and len(values) > 1:
            half = len(values) // 2
            parts = []
            for i, chunk in enumerate((values[:half], values[half:]), start=1):
                piece = dict(st)
                piece[key] = chunk
                piece["Sid"] = f"{st.get('Sid', 'S')}P{i}"
                parts.extend(_split_one(piece, limit))
            return parts
    raise ValueError(f"statement {st.get('Sid')!r} alone exceeds {limit} characters")


def split_statements(
    statements: Iterable[dict[str, Any]], base_name: str, limit: int = MANAGED_POLICY_LIMIT
) -> list[dict[str, Any]]:
    """``[{"name", "document"}]``: the statements packed into managed policies of at
    most ``limit`` characters each, named ``base_name`` or ``base_name-<n>``."""
    pieces: list[dict[str, Any]] = []
    for st in statements:
        pieces.extend(_split_one(st, limit))
    docs: list[list[dict[str, Any]]] = []
    sizes: list[int] = []
    for st in pieces:
        size = policy_size(st) + 1  # the comma between statements
        for i, used in enumerate(sizes):
            if used + size <= limit:
                docs[i].append(st)
                sizes[i] += size
                break
        else:
            docs.append([st])
            sizes.append(_OVERHEAD + size)
    if len(docs) == 1:
        return [{"name": base_name, "document": _doc(docs[0])}]
    return [{"name": f"{base_name}-{i}", "document": _doc(d)} for i, d in enumerate(docs, start=1)]


def quota_problems(
    managed: Iterable[tuple[str, Any]], inline: Iterable[tuple[str, Any]]
) -> list[str]:
    """Every size quota a role's recommended policy set breaks, as sentences."""
    problems = []
    for name, doc in managed:
        size = policy_size(doc)
        if size > MANAGED_POLICY_LIMIT:
            problems.append(
                f"managed policy {name!r} has {size} characters (limit {MANAGED_POLICY_LIMIT})"
            )
    inline = list(inline)
    total = sum(policy_size(doc) for _, doc in inline)
    if total > INLINE_TOTAL_LIMIT:
        problems.append(
            f"inline policies {', '.join(n for n, _ in inline)} total {total} characters (limit {INLINE_TOTAL_LIMIT})"
        )
    return problems
