"""What one principal may do: ``iam show`` and single-request decisions.

``show_principal`` groups the effective grants by service and access level,
each with the policy and statement it comes from. ``is_allowed`` decides one
concrete (principal, action, ARN) request straight from the statements; later
stages use it to check that a recommendation still allows an observed call, and
the property tests compare it with a plain-Python evaluation.
"""

from __future__ import annotations

from typing import Any

import duckdb

from recommender import db
from recommender.errors import RecommenderError


def find_principal(con: duckdb.DuckDBPyConnection, name_or_arn: str) -> dict[str, Any]:
    """The principal named ``name_or_arn`` (role first); error if none or ambiguous."""
    rows = db.query(con, "grants/find_principal", {"ident": name_or_arn})
    if not rows:
        raise RecommenderError(
            f"no role or user named {name_or_arn!r} is loaded; run `recommender iam load FILE` "
            "or `recommender iam fetch` first, or pass the full ARN"
        )
    roles = [r for r in rows if r["principal_type"] == "role"] or rows
    if len(roles) > 1:
        arns = ", ".join(r["principal_arn"] for r in roles)
        raise RecommenderError(f"{name_or_arn!r} names several principals ({arns}); pass the ARN")
    return roles[0]


def _decide(facts: dict[str, Any]) -> dict[str, Any]:
    if facts["denied"]:
        decision = "denied"
    elif not facts["identity_allows"]:
        decision = "implicit_deny"
    elif facts["has_boundary"] and not facts["boundary_allows"]:
        decision = "boundary_deny"
    elif set(facts["scp_levels"]) - set(facts["scp_allow"]):
        decision = "scp_deny"
    else:
        decision = "allowed"
    conditional = decision == "allowed" and (
        not facts["identity_unconditional"]
        or facts["conditionally_denied"]
        or (facts["has_boundary"] and not facts["boundary_unconditional"])
        or bool(set(facts["scp_levels"]) - set(facts["scp_unconditional"]))
    )
    return {"decision": decision, "allowed": decision == "allowed", "conditional": conditional}


def is_allowed(
    con: duckdb.DuckDBPyConnection, principal_arn: str, action: str, arn: str
) -> dict[str, Any]:
    """Would AWS allow this request? ``{"decision", "allowed", "conditional"}`` where
    decision is allowed | denied | implicit_deny | boundary_deny | scp_deny."""
    facts = db.query(
        con, "grants/is_allowed", {"principal_arn": principal_arn, "action": action, "arn": arn}
    )[0]
    return _decide(facts)


def show_principal(con: duckdb.DuckDBPyConnection, name_or_arn: str) -> dict[str, Any]:
    """The principal, its policies, and its effective grants grouped by service and
    access level (allowed), plus blocked grants and findings."""
    p = find_principal(con, name_or_arn)
    arn = p["principal_arn"]
    rows = db.query(con, "grants/show_effective", {"principal_arn": arn})
    services: dict[str, dict[str, dict[str, list[dict[str, Any]]]]] = {}
    blocked = []
    for r in rows:
        grant = {
            "resource_pattern": r["resource_pattern"],
            "except_resources": r["except_resources"] or [],
            "conditional": r["conditional"],
            "reason": r["reason"],
            "policy_key": r["policy_key"],
            "policy_name": r["policy_name"],
            "policy_kind": r["policy_kind"],
            "stmt_idx": r["stmt_idx"],
            "sid": r["sid"],
        }
        if r["status"] != "allowed":
            blocked.append({"action": r["action"], **grant})
            continue
        level = services.setdefault(r["service"], {}).setdefault(r["access_level"], {})
        level.setdefault(r["action"], []).append(grant)
    allowed_actions = {a for s in services.values() for lv in s.values() for a in lv}
    conditional_actions = {
        a
        for s in services.values()
        for lv in s.values()
        for a, gs in lv.items()
        if all(g["conditional"] for g in gs)
    }
    return {
        "principal": {k: v for k, v in p.items()},
        "policies": db.query(con, "grants/principal_policy_list", {"principal_arn": arn}),
        "summary": {
            "allowed_actions": len(allowed_actions),
            "conditional_only_actions": len(conditional_actions),
            "services": len(services),
            "blocked_grants": len(blocked),
        },
        "services": [
            {
                "service": svc,
                "access_levels": [
                    {
                        "access_level": level,
                        "actions": [
                            {"action": a, "grants": gs} for a, gs in sorted(actions.items())
                        ],
                    }
                    for level, actions in sorted(levels.items())
                ],
            }
            for svc, levels in sorted(services.items())
        ],
        "blocked": blocked,
        "findings": db.query(con, "grants/principal_findings", {"principal_arn": arn}),
    }
