"""A direct, statement-by-statement evaluation of one request in plain Python.

This is the textbook reading of AWS's policy evaluation for one account, with no
catalog expansion and no SQL: the property tests check the SQL pipeline against
it on random statements and requests, and it is handy for explaining a single
decision. Result shape matches ``recommender.grants.show.is_allowed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from recommender.grants.patterns import action_matches, resource_matches

Statement = Mapping[
    str, Any
]  # keys: effect, actions|not_actions, resources|not_resources, conditions


def statement_applies(stmt: Statement, action: str, arn: str) -> bool:
    """Does the statement's Action/NotAction and Resource/NotResource cover the request?"""
    if stmt.get("actions") is not None:
        act = any(action_matches(p, action) for p in stmt["actions"])
    else:
        act = not any(action_matches(p, action) for p in stmt["not_actions"])
    if stmt.get("resources") is not None:
        res = any(resource_matches(p, arn) for p in stmt["resources"])
    else:
        res = not any(resource_matches(p, arn) for p in stmt["not_resources"])
    return act and res


def _conditional(stmt: Statement) -> bool:
    return bool(stmt.get("conditions"))


def decide(
    identity: Iterable[Statement],
    action: str,
    arn: str,
    boundary: Iterable[Statement] | None = None,
    scp_levels: Iterable[Iterable[Statement]] = (),
) -> dict[str, Any]:
    """Explicit Deny anywhere wins; otherwise identity, boundary (if any) and every SCP
    level must each have an applicable Allow. A conditional Allow or Deny is assumed
    to possibly apply: the result is then marked conditional."""
    identity = list(identity)
    boundary_list = list(boundary) if boundary is not None else None
    levels = [list(level) for level in scp_levels]
    everything = identity + (boundary_list or []) + [s for level in levels for s in level]
    hits = [s for s in everything if statement_applies(s, action, arn)]
    denies = [s for s in hits if s["effect"] == "Deny"]
    id_allows = [
        s for s in identity if s["effect"] == "Allow" and statement_applies(s, action, arn)
    ]
    b_allows = (
        [s for s in boundary_list if s["effect"] == "Allow" and statement_applies(s, action, arn)]
        if boundary_list is not None
        else None
    )
    level_allows = [
        [s for s in level if s["effect"] == "Allow" and statement_applies(s, action, arn)]
        for level in levels
    ]
    if any(not _conditional(s) for s in denies):
        decision = "denied"
    elif not id_allows:
        decision = "implicit_deny"
    elif b_allows is not None and not b_allows:
        decision = "boundary_deny"
    elif any(not la for la in level_allows):
        decision = "scp_deny"
    else:
        decision = "allowed"
    conditional = decision == "allowed" and (
        all(_conditional(s) for s in id_allows)
        or any(_conditional(s) for s in denies)
        or (b_allows is not None and all(_conditional(s) for s in b_allows))
        or any(all(_conditional(s) for s in la) for la in level_allows)
    )
    return {"decision": decision, "allowed": decision == "allowed", "conditional": conditional}
