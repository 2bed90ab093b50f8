"""From the database to the ``recommendation.json`` document (docs/architecture.md).

This is the thin layer around the pure minimizer: it reads the grants, analysis
and mapping tables, turns rows into :mod:`model` objects, runs the minimizer per
role, proves the invariants, and assembles the document the report and the IaC
PR stage read. It renders everything twice, the second time from inputs in
reverse order, and refuses to continue if the bytes differ (invariant 3).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from recommender import db
from recommender.errors import InvariantError, PolicyParseError, RecommenderError
from recommender.gcpause import no_cyclic_gc
from recommender.recommend.exceptions import RecommendConfig
from recommender.recommend.explain import explain_role
from recommender.recommend.invariants import enforce
from recommender.recommend.minimize import (
    Expander,
    RoleResult,
    consolidate,
    minimize_role,
    trim_shared,
)
from recommender.recommend.model import (
    ActionInfo,
    ActionStatus,
    Catalog,
    Observation,
    Policy,
    RoleInput,
)
from recommender.recommend.quotas import MANAGED_POLICY_LIMIT, SCP_LIMIT, policy_size

SCHEMA = "recommender.recommendation/1"
CEILING_SCHEMA = "recommender.agent-ceiling/1"


@dataclass
class Inputs:
    """Everything read from the database, before any recommendation is made."""

    as_of: date
    window_start: date
    window_days: int
    catalog: Catalog
    roles: dict[str, RoleInput]
    selected: list[str]
    agents: list[str]
    notes: list[str] = field(default_factory=list)


def _day(value: Any) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def load_catalog(con: duckdb.DuckDBPyConnection) -> Catalog:
    from recommender.catalog import ensure_catalog

    version = ensure_catalog(con)
    rows = db.query(con, "recommend/catalog_actions")
    return Catalog(
        (ActionInfo(r["action"], tuple(r["resource_types"] or ())) for r in rows), version
    )


def load_inputs(
    con: duckdb.DuckDBPyConnection, window_days: int, as_of: date | None, role_pattern: str | None
) -> Inputs:
    """Read the tables the recommendation needs."""
    if window_days <= 0:
        raise RecommenderError(f"the window must be at least one day, not {window_days}")
    end = as_of or db.query(con, "recommend/newest_day")[0]["newest"]
    if end is None:
        raise RecommenderError(
            "no CloudTrail usage in the database: run `recommender ingest` first, or pass --as-of"
        )
    start = end - timedelta(days=window_days - 1)
    catalog = load_catalog(con)
    role_rows = db.query(con, "recommend/roles", {"role_pattern": role_pattern})
    if not role_rows:
        raise RecommenderError(
            "no IAM roles in the database: run `recommender iam load` (or `iam fetch`) first"
        )
    notes: list[str] = []
    latest = db.query(con, "recommend/latest_analysis")
    if not latest:
        raise RecommenderError("no analysis in the database: run `recommender analyze` first")
    run = latest[0]
    if run["window_days"] != window_days or (
        run["as_of"] is not None and _day(run["as_of"]) != end
    ):
        notes.append(
            f"the latest analysis (run {run['run_id']}) used a {run['window_days']}-day window up to {run['as_of']}, "
            f"this recommendation {window_days} days up to {end}: statuses may be stale; run "
            f"`recommender analyze --window {window_days}d --as-of {end}` first"
        )
    if run["role_pattern"] is not None and run["role_pattern"] != role_pattern:
        notes.append(
            f"the latest analysis covered only roles matching {run['role_pattern']!r}; other roles' statuses come from older runs"
        )

    policies: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in db.query(con, "recommend/role_policies"):
        policies[r["principal_arn"]].append(r)
    statuses: dict[str, dict[str, ActionStatus]] = defaultdict(dict)
    # Tuples, not db.query's dicts: one row per role and granted action (millions for an
    # organisation's broad roles).
    for arn, lc, action, status, calls, first, last, res, why, unobserved in db.run(
        con, "recommend/action_status"
    ).fetchall():
        statuses[arn][lc] = ActionStatus(
            action, status, int(calls or 0), first, last, tuple(res or ()), why,
            tuple(unobserved or ()),
        )
    observations: dict[str, list[Observation]] = defaultdict(list)
    for r in db.query(con, "recommend/observations", {"window_start": start, "as_of": end}):
        observations[r["principal_arn"]].append(
            Observation(r["action"], r["resource_arn"], int(r["calls"] or 0), r["last_seen"])
        )
    skips: dict[str, str] = {}
    for r in db.query(con, "recommend/skip_reasons"):
        skips.setdefault(r["principal_arn"], r["reason"])

    roles: dict[str, RoleInput] = {}
    for r in role_rows:
        arn = r["principal_arn"]
        pols = tuple(
            Policy(
                key=p["policy_key"],
                kind=p["kind"],
                name=p["name"],
                arn=p["policy_arn"],
                document=json.loads(p["document"])
                if p["document"]
                else {"Version": "2012-10-17", "Statement": []},
                created=p["created"],
                updated=p["updated"],
                attached_to=tuple(p["attached_to"] or ()),
            )
            for p in policies.get(arn, [])
        )
        skip = skips.get(arn)
        if skip is None:
            try:
                for p in pols:
                    _ = (
                        p.statements
                    )  # parse once here so a bad document skips the role, not the run
            except PolicyParseError as e:
                skip = f"a policy cannot be read: {e}"
        roles[arn] = RoleInput(
            principal_arn=arn,
            name=r["name"],
            account_id=r["account_id"],
            policies=pols,
            statuses=statuses.get(arn, {}),
            observations=tuple(observations.get(arn, [])),
            created=r["created"],
            is_agent=bool(r["is_agent"]),
            skip_reason=skip,
        )
    selected = [r["principal_arn"] for r in role_rows if r["selected"]]
    if not selected:
        raise RecommenderError(
            f"no role matches {role_pattern!r}; `recommender iam show` lists the loaded roles"
        )
    agents = [r["principal_arn"] for r in role_rows if r["is_agent"]]
    return Inputs(end, start, window_days, catalog, roles, selected, agents, notes)


def _reversed(role: RoleInput) -> RoleInput:
    """The same role with every collection in the opposite order (for invariant 3)."""
    return RoleInput(
        role.principal_arn,
        role.name,
        role.account_id,
        tuple(reversed(role.policies)),
        dict(reversed(list(role.statuses.items()))),
        tuple(reversed(role.observations)),
        role.created,
        role.is_agent,
        role.skip_reason,
    )


def _kept_json(result: RoleResult) -> list[dict[str, Any]]:
    return [
        {
            "action": k.action,
            "kind": k.kind,
            "reasons": k.reasons,
            "resources": k.resources,
            "scoped": k.scoped,
            "calls": k.calls,
            "last_seen": k.last_seen.isoformat() if k.last_seen else None,
        }
        for k in result.kept
    ]


def role_entry(
    result: RoleResult, window_days: int = 90, as_of: date = date(1970, 1, 1)
) -> dict[str, Any]:
    """One role's entry of recommendation.json (the contract's fields first, then ours)."""
    role = result.role
    removed = [r for r in result.removed if r.status != "never_needed"]
    never: dict[str, list[str]] = defaultdict(list)
    for r in result.removed:
        if r.status == "never_needed":
            never[r.action.split(":", 1)[0]].append(r.action)
    return {
        "principal_arn": role.principal_arn,
        "name": role.name,
        "account_id": role.account_id,
        "verdict": result.verdict,
        "policies": [
            {
                "policy_key": c.policy.key,
                "kind": c.policy.kind,
                "name": c.policy.name,
                "arn": c.policy.arn,
                "change": c.change,
                "shared": c.policy.shared,
                "current_document": json.loads(json.dumps(c.policy.document)),
                "recommended_document": c.recommended_document,
            }
            for c in result.policies
        ],
        "new_policies": result.new_policies,
        "explanation_md": explain_role(result, window_days, as_of),
        # Additions beyond the contract's minimum, for the report and for scripts:
        "message": result.message,
        "is_agent": role.is_agent,
        "counts": {
            "actions_before": result.actions_before,
            "actions_after": result.actions_after,
            "resources_scoped": result.resources_scoped,
        },
        "consolidated_policies": result.consolidated,
        "kept": _kept_json(result),
        "removed": [
            {
                "action": r.action,
                "status": r.status,
                "reason": r.reason,
                "last_seen": r.last_seen.isoformat() if r.last_seen else None,
            }
            for r in removed
        ],
        # Counts only: AdministratorAccess alone has 22,000 never-needed actions. The
        # names are in <role>.json (write.role_file).
        "never_needed": {
            "count": sum(len(v) for v in never.values()),
            "by_service": {k: len(v) for k, v in sorted(never.items())},
        },
        "expired_exceptions": [
            {
                "role": e.role,
                "action": e.action,
                "reason": e.reason,
                "owner": e.owner,
                "expires": e.expires.isoformat() if e.expires else None,
                "where": e.where,
            }
            for e in result.expired_exceptions
        ],
        "notes": result.notes,
    }


def _ceiling(
    results: list[RoleResult], catalog: Catalog, config: RecommendConfig
) -> dict[str, Any]:
    """The union of what every agent role keeps, as one policy for an SCP or boundary."""
    merged: dict[tuple[str, int], dict[str, frozenset[str] | None]] = defaultdict(dict)
    policies: dict[str, Policy] = {}
    for r in results:
        for p in r.role.policies:
            policies.setdefault(p.key, p)
        for key, actions in r.attribution.items():
            for lc, spec in actions.items():
                prev = merged[key].get(lc, spec)
                merged[key][lc] = None if prev is None or spec is None else frozenset(prev | spec)
    union = RoleResult(
        RoleInput("ceiling", "agent-ceiling", "", tuple(policies.values()), {}), "trim", ""
    )
    union.attribution = dict(merged)
    docs = consolidate(union, catalog, config, "agent-ceiling", include_denies=False)
    statements = [s for d in docs for s in d["document"]["Statement"]]
    document = {"Version": "2012-10-17", "Statement": statements}
    size = policy_size(document)
    return {
        "schema": CEILING_SCHEMA,
        "roles": sorted(r.role.principal_arn for r in results),
        "document": document,
        "characters": size,
        "fits_permission_boundary": size <= MANAGED_POLICY_LIMIT,
        "fits_scp": size <= SCP_LIMIT,
        "note": (
            "The union of what every agent role's recommendation keeps (used, unobservable, "
            "exceptions, grace). Attach it as a permission boundary (limit "
            f"{MANAGED_POLICY_LIMIT} characters) or an SCP (limit {SCP_LIMIT}) so a new or "
            "compromised agent cannot exceed the fleet's observed scope."
        ),
    }


def _compute(
    inputs: Inputs,
    config: RecommendConfig,
    ceiling: bool,
    flip: bool,
    progress: Callable[[int, int, str], None] | None,
) -> tuple[dict[str, Any], list[RoleResult], dict[str, Any] | None]:
    expander = Expander(inputs.catalog)
    needed = set(inputs.selected)
    for arn in inputs.selected:
        for p in inputs.roles[arn].policies:
            if p.shared:
                needed.update(a for a in p.attached_to if a in inputs.roles)
    if ceiling:
        needed.update(inputs.agents)
    results: dict[str, RoleResult] = {}
    order = sorted(needed, reverse=flip)
    for i, arn in enumerate(order, start=1):
        role = inputs.roles[arn]
        results[arn] = minimize_role(
            _reversed(role) if flip else role,
            inputs.catalog,
            config,
            inputs.as_of,
            inputs.window_days,
            expander,
        )
        if progress:
            progress(i, len(order), role.name)
    selected = [results[a] for a in sorted(inputs.selected)]
    enforce(selected, expander)

    shared: dict[str, Policy] = {}
    for r in selected:
        for p in r.role.policies:
            if p.shared:
                shared.setdefault(p.key, p)
    shared_out = []
    for key in sorted(shared):
        p = shared[key]
        users = [results[a] for a in sorted(p.attached_to) if a in results]
        shared_out.append(
            {
                "policy_arn": p.arn,
                "name": p.name,
                "roles": sorted(p.attached_to),
                "recommended_document": trim_shared(p, users, inputs.catalog),
            }
        )
    document = {
        "schema": SCHEMA,
        "generated_from": {
            "window_days": inputs.window_days,
            "as_of": inputs.as_of.isoformat(),
            "window_start": inputs.window_start.isoformat(),
            "catalog_version": inputs.catalog.version,
            "config": config.source,
            "allow_wildcards": config.allow_wildcards,
        },
        "roles": [role_entry(r, inputs.window_days, inputs.as_of) for r in selected],
        "shared_policies": shared_out,
        "notes": inputs.notes,
    }
    ceiling_doc = None
    if ceiling:
        agents = [results[a] for a in sorted(inputs.agents) if results[a].verdict != "skipped"]
        ceiling_doc = _ceiling(agents, inputs.catalog, config)
    return document, selected, ceiling_doc


def canonical_bytes(obj: Any) -> bytes:
    """The one serialisation every output file uses (sorted keys, two-space indent)."""
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass
class Recommendation:
    """The document plus what the writer and the CLI need besides it."""

    document: dict[str, Any]
    ceiling: dict[str, Any] | None
    inputs: Inputs
    results: list[RoleResult] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "as_of": self.document["generated_from"]["as_of"],
            "window_days": self.document["generated_from"]["window_days"],
            "roles": [
                {
                    "name": r["name"],
                    "principal_arn": r["principal_arn"],
                    "account_id": r["account_id"],
                    "verdict": r["verdict"],
                    **r["counts"],
                }
                for r in self.document["roles"]
            ],
            "notes": self.document["notes"],
        }


@no_cyclic_gc()
def recommend(
    con: duckdb.DuckDBPyConnection,
    window_days: int,
    as_of: date | None,
    role_pattern: str | None,
    config: RecommendConfig | None = None,
    ceiling: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
) -> Recommendation:
    """Recommend for every selected role; raise InvariantError rather than return a bad one."""
    config = config or RecommendConfig()
    inputs = load_inputs(con, window_days, as_of, role_pattern)
    first, results, ceiling_doc = _compute(inputs, config, ceiling, flip=False, progress=progress)
    second, _, ceiling_again = _compute(inputs, config, ceiling, flip=True, progress=None)
    if canonical_bytes(first) != canonical_bytes(second) or canonical_bytes(
        ceiling_doc
    ) != canonical_bytes(ceiling_again):
        raise InvariantError(
            "invariant 3: the same inputs in another order gave a different recommendation; "
            "nothing written. This is a bug in the recommender; please report it."
        )
    return Recommendation(first, ceiling_doc, inputs, results)


def build_recommendation(
    con: duckdb.DuckDBPyConnection,
    window_days: int,
    as_of: date | None,
    role_pattern: str | None,
    config: RecommendConfig | None = None,
) -> dict[str, Any]:
    """The ``recommendation.json`` document (see docs/architecture.md)."""
    return recommend(con, window_days, as_of, role_pattern, config).document
