"""Join what the principals did with what they are granted: the verdict per action.

This is the stage a reviewer relies on when removing permissions, so every verdict
carries its evidence. For each principal and each action its identity policies allow
the analysis says, over a window ending at ``as_of`` (default: the newest ingested
day), whether the action was ``used`` (a successful call needing it, on a resource the
grant covers), ``unused`` (only before the window), ``never_needed`` (never called, or a
grant that can never be exercised), or ``unobservable`` (these logs cannot show it: a
data event the trail does not record, for the account or for the granted bucket, table
or function, a permission no rule infers). Beside those,
``denied`` calls (what it tried beyond its scope) and ``unexplained`` successful calls
(that the modelled grants do not cover) are reported, never dropped.

The logic is SQL in ``sql/analysis/`` over the other stages' tables (``usage_daily``
through the mapping's ``observed_actions``, ``effective_grants``, ``sessions_daily``,
``events``); results land in ``role_action_status``, ``findings`` and the run history
(``analysis_runs``, ``analysis_run_roles``). This module only sequences the steps and
reads the result back. The JSON form of :class:`AnalysisResult` is documented in
``docs/analysis-schema.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import duckdb

from recommender import catalog, db
from recommender.errors import RecommenderError

SCHEMA = "recommender.analysis/1"

STATUSES = ("used", "unused", "never_needed", "unobservable", "denied", "unexplained")
GRANT_STATUSES = ("used", "unused", "never_needed", "unobservable")
SEVERITIES = ("critical", "high", "medium", "low", "info")

# Tables and views the analysis reads, and the stage (command) that fills each.
_INPUTS = {
    "usage_daily": "recommender ingest",
    "sessions_daily": "recommender ingest",
    "events": "recommender ingest",
    "principals": "recommender iam load",
    "effective_grants": "recommender iam load",
    "statements": "recommender iam load",
    "principal_policies": "recommender iam load",
    "iam_findings": "recommender iam load",
    "event_action_rules": "recommender map",
    "observed_actions": "recommender map",
    "catalog_actions": "recommender catalog update",
}

# The steps, in order; each is one statement in sql/analysis/.
_STEPS = (
    "analysis/scope",
    "analysis/calls",
    "analysis/observed",
    "analysis/grant_rows",
    "analysis/covered",
    "analysis/data_event_actions",
    "analysis/observability",
    "analysis/observed_scopes",
    "analysis/clear_results",
    "analysis/status_granted",
    "analysis/status_unknown_actions",
    "analysis/status_denied",
    "analysis/status_unexplained",
    "analysis/event_samples",
    "analysis/action_events",
    "analysis/clear_findings",
    "analysis/finding_wildcard_grants",
    "analysis/finding_resource_wildcard_writes",
    "analysis/finding_privilege_escalation",
    "analysis/finding_shared_role",
    "analysis/finding_long_lived_keys",
    "analysis/finding_inactive",
    "analysis/finding_denied_calls",
    "analysis/finding_unexplained_calls",
    "analysis/finding_iam_findings",
    "analysis/finding_unmodelled_principals",
    "analysis/record_run",
    "analysis/record_run_roles",
)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class ActionVerdict:
    """One row of ``role_action_status``."""

    action: str
    status: str
    calls: int
    first_seen: datetime | None
    last_seen: datetime | None
    resources: tuple[str, ...]
    why: str
    # Granted patterns on buckets / tables / functions the logs hold no data event for:
    # their use cannot be seen, so the recommender keeps them.
    unobserved_resources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "status": self.status,
            "calls": self.calls,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "resources": list(self.resources),
            "why": self.why,
            "unobserved_resources": list(self.unobserved_resources),
        }


@dataclass(frozen=True)
class Finding:
    """One row of ``findings``."""

    principal_arn: str | None
    kind: str
    severity: str
    title: str
    detail: str | None
    evidence: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "evidence": self.evidence,
        }


@dataclass
class PrincipalResult:
    """One analysed principal: its counts, verdicts and findings."""

    principal_arn: str
    name: str
    principal_type: str
    account_id: str
    is_agent: bool
    counts: dict[str, int]
    # None when the run was asked for counts only (``analyze(..., actions=False)``).
    actions: list[ActionVerdict] | None = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "principal_arn": self.principal_arn,
            "name": self.name,
            "principal_type": self.principal_type,
            "account_id": self.account_id,
            "is_agent": self.is_agent,
            "counts": self.counts,
        }
        if self.actions is not None:
            out["actions"] = [a.to_dict() for a in self.actions]
        out["findings"] = [f.to_dict() for f in self.findings]
        return out


@dataclass
class AnalysisResult:
    """What one ``analyze`` run found; ``to_dict`` is the documented JSON schema."""

    run_id: int
    created_at: datetime
    as_of: date
    window_days: int
    window_start: date
    history_start: date | None
    role_pattern: str | None
    principals: list[PrincipalResult]
    other_findings: list[Finding]  # findings about principals with no IAM data, or none

    @property
    def totals(self) -> dict[str, int]:
        out = {"principals": len(self.principals), "granted": 0}
        for status in STATUSES:
            out[status] = 0
        for p in self.principals:
            for key in ("granted", *STATUSES):
                out[key] += p.counts[key]
        return out

    @property
    def findings_by_severity(self) -> dict[str, int]:
        out = dict.fromkeys(SEVERITIES, 0)
        for f in self.all_findings():
            out[f.severity] = out.get(f.severity, 0) + 1
        return out

    def all_findings(self) -> list[Finding]:
        return [f for p in self.principals for f in p.findings] + list(self.other_findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "run": {
                "run_id": self.run_id,
                "created_at": _iso(self.created_at),
                "as_of": _iso(self.as_of),
                "window_days": self.window_days,
                "window_start": _iso(self.window_start),
                "history_start": _iso(self.history_start),
                "role_pattern": self.role_pattern,
            },
            "totals": self.totals,
            "findings_by_severity": self.findings_by_severity,
            "principals": [p.to_dict() for p in self.principals],
            "other_findings": [
                {"principal_arn": f.principal_arn, **f.to_dict()} for f in self.other_findings
            ],
        }


def _missing_inputs(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
    ).fetchall()
    present = {r[0] for r in rows}
    return [name for name in _INPUTS if name not in present]


def window_bounds(
    con: duckdb.DuckDBPyConnection, window_days: int, as_of: date | None
) -> tuple[date, date, date | None]:
    """(window_start, as_of, history_start): the window is ``window_days`` days ending
    at ``as_of`` inclusive; ``as_of`` defaults to the newest ingested day."""
    if window_days <= 0:
        raise RecommenderError(f"the analysis window must be at least one day, not {window_days}")
    row = db.query(con, "analysis/window_bounds")[0]
    oldest, newest = row["oldest"], row["newest"]
    end = as_of or newest
    if end is None:
        raise RecommenderError(
            "no CloudTrail usage in the database: run `recommender ingest` first, "
            "or pass --as-of to analyse grants against an empty history"
        )
    start = end - timedelta(days=window_days - 1)
    return start, end, oldest


def _refresh_mapping(con: duckdb.DuckDBPyConnection) -> None:
    """Let the mapping stage resolve rules for the event names ingested so far."""
    try:
        from recommender import mapping
    except ImportError:  # pragma: no cover - the mapping stage ships with the package
        return
    refresh = getattr(mapping, "refresh_rules", None)
    if refresh is not None:
        refresh(con)


def analyze(
    con: duckdb.DuckDBPyConnection,
    window_days: int = 90,
    as_of: date | None = None,
    role_pattern: str | None = None,
    *,
    progress: Callable[[int, int, str], None] | None = None,
    now: datetime | None = None,
    actions: bool = True,
) -> AnalysisResult:
    """Classify every granted action of the principals in scope and record findings.

    Replaces ``role_action_status`` and ``findings`` with this run's result and
    appends the run to ``analysis_runs`` / ``analysis_run_roles``. With ``actions``
    false the result carries counts and findings but not each action's verdict (they
    stay in ``role_action_status``): a role granted ``*`` has ~22,000 of them, and
    reading them for an organisation's roles takes longer than the analysis.
    """
    # Cheap checks first: loading the catalog into a new database takes seconds.
    row = con.execute("SELECT count(*) FROM principals").fetchone()
    if not row or row[0] == 0:
        raise RecommenderError(
            "no IAM principals in the database: run `recommender iam load FILE` "
            "(or `recommender iam fetch`) first"
        )
    catalog.ensure_catalog(con)
    # The mapping stage (re)creates observed_actions over usage_daily and resolves rules
    # for event names ingested since it last ran.
    _refresh_mapping(con)
    missing = _missing_inputs(con)
    if missing:
        needs = sorted({_INPUTS[m] for m in missing})
        raise RecommenderError(
            f"the database lacks {', '.join(missing)}; run {' and '.join(needs)} first"
        )

    window_start, end, history_start = window_bounds(con, window_days, as_of)
    created_at = (now or datetime.now(timezone.utc)).replace(tzinfo=None, microsecond=0)
    params: dict[str, Any] = {
        "as_of": end,
        "window_start": window_start,
        "window_days": window_days,
        "history_start": history_start or end,
        "role_pattern": role_pattern,
        "created_at": created_at,
    }
    con.execute("BEGIN")
    try:
        params["run_id"] = db.query(con, "analysis/next_run_id")[0]["run_id"]
        for i, step in enumerate(_STEPS, 1):
            db.run(con, step, params)
            if progress:
                progress(i, len(_STEPS), step.split("/", 1)[1])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return _read_result(con, params, history_start, actions)


def _read_result(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, Any],
    history_start: date | None,
    actions: bool,
) -> AnalysisResult:
    principals = {
        r["principal_arn"]: PrincipalResult(
            principal_arn=r["principal_arn"],
            name=r["name"],
            principal_type=r["principal_type"],
            account_id=r["account_id"],
            is_agent=bool(r["is_agent"]),
            counts={k: int(r[k]) for k in ("granted", *STATUSES)},
            actions=[] if actions else None,
        )
        for r in db.query(con, "analysis/result_principals")
    }
    for r in db.query(con, "analysis/result_actions") if actions else []:
        p = principals.get(r["principal_arn"])
        if p is not None and p.actions is not None:
            p.actions.append(
                ActionVerdict(
                    action=r["action"],
                    status=r["status"],
                    calls=int(r["calls"] or 0),
                    first_seen=r["first_seen"],
                    last_seen=r["last_seen"],
                    resources=tuple(r["resources"] or ()),
                    why=r["why"],
                    unobserved_resources=tuple(r["unobserved_resources"] or ()),
                )
            )
    others: list[Finding] = []
    for r in db.query(con, "analysis/result_findings"):
        f = Finding(
            principal_arn=r["principal_arn"],
            kind=r["kind"],
            severity=r["severity"],
            title=r["title"],
            detail=r["detail"],
            evidence=json.loads(r["evidence"]) if r["evidence"] else {},
        )
        p = principals.get(r["principal_arn"]) if r["principal_arn"] else None
        (p.findings if p is not None else others).append(f)
    return AnalysisResult(
        run_id=int(params["run_id"]),
        created_at=params["created_at"],
        as_of=params["as_of"],
        window_days=int(params["window_days"]),
        window_start=params["window_start"],
        history_start=history_start,
        role_pattern=params["role_pattern"],
        principals=list(principals.values()),
        other_findings=others,
    )
