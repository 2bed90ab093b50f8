"""The minimizer: from a role's current policies and what it did, the smallest
policies that still allow every observed call and nothing the role cannot do today.

Pure Python, no database: ``build.py`` fills a :class:`RoleInput` from the tables,
and the property tests feed it random policies and calls. The steps:

1. expand every Allow statement of the role's identity policies over the catalog
   (case-insensitive ``*``/``?``; ``NotAction`` = every catalog action not matched);
2. keep an action when a successful call in the window needs it and the current
   policy allows that call (``used``), when CloudTrail cannot show it
   (``unobservable``: for the whole action, or only on the granted buckets, tables
   or functions with no data event logged, whose patterns are then kept as
   written beside the scoped used ones), when a live exception or a grace period
   covers it;
3. attribute every observed call to the one current statement that allows it
   (unconditional first, so carried-over conditions are as loose as today's
   loosest and no looser), and scope that statement's resources to the ARNs seen,
   generalised and intersected with the statement's pattern (``resources.py``);
4. emit two equivalent views: each current policy trimmed in place (Sids,
   conditions and statement order kept, so an IaC edit stays local) and one
   consolidated set of statements grouped by service, resource set and condition
   with deterministic Sids, split to fit IAM size quotas (``quotas.py``).

``invariants.py`` then proves both views against the current policies.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from recommender.recommend.exceptions import ExceptionRule, RecommendConfig
from recommender.recommend.model import (
    IDENTITY_KINDS,
    Catalog,
    Observation,
    Policy,
    RoleInput,
    Statement,
)
from recommender.recommend.resources import (
    arn_matches,
    drop_redundant,
    has_wildcard,
    scope_to_original,
)

VERSION = "2012-10-17"

# A statement's key inside a role: (policy_key, statement index).
StmtKey = tuple[str, int]
# Resources a kept action needs from one statement (the values of
# ``RoleResult.attribution``): None = the statement's own Resource/NotResource
# unchanged; otherwise a frozenset of scoped Resource patterns.


def _day(value: datetime | date | None) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def _when(value: datetime | date | None) -> str:
    d = _day(value)
    return d.isoformat() if d else "unknown date"


@dataclass
class KeptAction:
    """One action the recommendation keeps, and why."""

    action: str
    kind: str  # used | unobservable | exception | grace
    reasons: list[str]
    resources: list[
        str
    ]  # the resource patterns it keeps (Resource form; "NotResource:" prefix otherwise)
    scoped: bool  # narrower than the current grant
    calls: int = 0
    last_seen: date | None = None


@dataclass
class RemovedAction:
    action: str
    status: str
    reason: str
    last_seen: date | None = None


@dataclass
class PolicyChange:
    policy: Policy
    change: str  # unchanged | trimmed | removed | detach
    recommended_document: dict[str, Any] | None


@dataclass
class RoleResult:
    """The recommendation for one role, before rendering."""

    role: RoleInput
    verdict: str  # trim | remove_or_review | keep | skipped
    message: str
    policies: list[PolicyChange] = field(default_factory=list)
    new_policies: list[dict[str, Any]] = field(default_factory=list)
    consolidated: list[dict[str, Any]] = field(default_factory=list)
    kept: list[KeptAction] = field(default_factory=list)
    removed: list[RemovedAction] = field(default_factory=list)
    expired_exceptions: list[ExceptionRule] = field(default_factory=list)
    unmatched_exceptions: list[ExceptionRule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    attribution: dict[StmtKey, dict[str, frozenset[str] | None]] = field(default_factory=dict)
    actions_before: int = 0

    @property
    def actions_after(self) -> int:
        return len(self.kept)

    @property
    def resources_scoped(self) -> int:
        return sum(1 for k in self.kept if k.scoped)

    def current_statements(self) -> list[Statement]:
        return [s for p in self.role.policies if p.kind in IDENTITY_KINDS for s in p.statements]

    def inplace_documents(self) -> list[dict[str, Any]]:
        """The role's identity policy documents after applying the per-policy view."""
        docs = [
            c.recommended_document
            for c in self.policies
            if c.policy.kind in IDENTITY_KINDS and c.recommended_document is not None
        ]
        return docs + [n["document"] for n in self.new_policies]

    def consolidated_documents(self) -> list[dict[str, Any]]:
        return [c["document"] for c in self.consolidated]


# ---- expansion ---------------------------------------------------------------------


class Expander:
    """Statement action expansion over the catalog, cached across roles."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...]], frozenset[str]] = {}

    def actions(self, st: Statement) -> frozenset[str]:
        key = (st.actions, st.not_actions)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if st.not_actions:
            excluded: set[str] = set()
            for p in st.not_actions:
                excluded.update(self.catalog.expand(p))
            out = frozenset(a for a in self.catalog.all_actions() if a not in excluded)
        else:
            found: set[str] = set()
            for p in st.actions:
                hits = self.catalog.expand(p)
                # An exact name the catalog lacks is still granted by the text; keep it
                # visible (it will show as removed, never needed) rather than drop it.
                found.update(hits or ([] if has_wildcard(p) else [p.lower()]))
            out = frozenset(found)
        self._cache[key] = out
        return out


def _denied(denies: list[Statement], action: str, resource: str | None) -> bool:
    """An unconditional Deny that always blocks ``action`` on ``resource`` (None: on
    every resource). Conditional Denies are carried over unchanged, not evaluated."""
    for d in denies:
        if d.conditional or not d.matches_action(action):
            continue
        if resource is None:
            if not d.not_resources and "*" in d.resources:
                return True
        elif d.matches_resource(resource):
            return True
    return False


def _rank(item: tuple[Policy, Statement]) -> tuple[Any, ...]:
    p, s = item
    return (len(s.cond_items), p.key, s.idx)


def _has_variables(st: Statement) -> bool:
    return any("${" in r for r in st.resources + st.not_resources)


# ---- the minimizer -----------------------------------------------------------------


def minimize_role(
    role: RoleInput,
    catalog: Catalog,
    config: RecommendConfig,
    as_of: date,
    window_days: int,
    expander: Expander | None = None,
) -> RoleResult:
    """The recommendation for one role (see the module docstring)."""
    expander = expander or Expander(catalog)
    identity = sorted((p for p in role.policies if p.kind in IDENTITY_KINDS), key=lambda p: p.key)
    if role.skip_reason:
        result = RoleResult(role, "skipped", f"Skipped: {role.skip_reason}")
        result.policies = [
            PolicyChange(p, "unchanged", _as_document(p.document)) for p in _listed(role)
        ]
        return result

    allows: list[tuple[Policy, Statement]] = []
    denies: list[Statement] = []
    for p in identity:
        for s in p.statements:
            if s.effect == "Allow":
                allows.append((p, s))
            else:
                denies.append(s)

    granted: dict[str, list[tuple[Policy, Statement]]] = defaultdict(list)
    for p, s in allows:
        for a in expander.actions(s):
            granted[a].append((p, s))

    obs_by: dict[str, list[Observation]] = defaultdict(list)
    for o in role.observations:
        obs_by[o.action.lower()].append(o)

    role_created = _day(role.created)
    role_grace = role_created is not None and (as_of - role_created).days < config.grace_days
    grace_policies = {
        p.key
        for p in identity
        if (d := _day(p.updated or p.created)) is not None and (as_of - d).days < config.grace_days
    }
    live_rules = [r for r in config.exceptions if not r.expired(as_of)]
    used_rules: set[int] = set()

    attribution: dict[StmtKey, dict[str, frozenset[str] | None]] = defaultdict(dict)
    kept: list[KeptAction] = []
    removed: list[RemovedAction] = []
    any_activity = False
    expired_hits: set[int] = set()
    before = 0

    for lc in sorted(granted):
        action = catalog.canonical(lc)
        if _denied(denies, lc, None):
            removed.append(
                RemovedAction(
                    action,
                    "never_needed",
                    "never needed: an explicit Deny in the same policies blocks it on every resource",
                )
            )
            continue
        before += 1
        status = role.statuses.get(lc)
        info = catalog.info(lc)
        if (
            lc not in obs_by
            and (
                status is None
                or (
                    status.status not in ("used", "unobservable")
                    and not status.unobserved_resources
                )
            )
            and not config.exceptions
            and not role_grace
            and not (grace_policies and any(p.key in grace_policies for p, _ in granted[lc]))
        ):
            # Nothing below could keep it (no call, no unobserved scope, no exception, no
            # grace): most actions of a broad grant, so they skip the steps that follow.
            removed.append(_removed(action, status, window_days, as_of, info.scopable))
            continue
        sources = sorted(granted[lc], key=_rank)
        specs: dict[StmtKey, set[str] | None] = {}
        # Current patterns kept as written (unobserved scopes), added after scoping.
        extra: dict[StmtKey, set[str]] = defaultdict(set)
        reasons: list[str] = []
        kind = ""

        def keep_all(
            which: Iterable[tuple[Policy, Statement]], specs: dict[StmtKey, set[str] | None] = specs
        ) -> None:
            for p, s in which:
                specs[(p.key, s.idx)] = None

        # 1. observed, allowed calls in the window
        observations = list(obs_by.get(lc, []))
        if not observations and status is not None and status.status == "used":
            observations = [Observation(lc, r, 0, status.last_seen) for r in status.resources] or [
                Observation(lc, None, status.calls, status.last_seen)
            ]
        calls = 0
        last_seen: date | None = None
        n_resources: set[str] = set()
        for o in observations:
            if o.resource is None:
                # Resource unknown: any statement that leaves some resource open (not
                # blocked by an unconditional Deny) may have allowed the call.
                allowing = [
                    (p, s)
                    for p, s in sources
                    if any(not _denied(denies, lc, lit) for lit in (s.resources or ("*",)))
                ]
            else:
                allowing = [
                    (p, s)
                    for p, s in sources
                    if s.matches_resource(o.resource) or _has_variables(s)
                ]
            if not allowing or _denied(denies, lc, o.resource):
                continue
            calls += o.calls
            seen = _day(o.last_seen)
            last_seen = max(filter(None, [last_seen, seen]), default=None)
            if o.resource is not None:
                n_resources.add(o.resource)
            # An unconditional statement alone covers the call. Among conditional ones we
            # cannot tell which condition held, so every one of them keeps the call.
            chosen = allowing[:1] if not allowing[0][1].conditional else allowing
            for p, s in chosen:
                key = (p.key, s.idx)
                if (
                    o.resource is None
                    or not info.scopable
                    or _has_variables(s)
                    or not (s.resources or s.not_resources)
                ):
                    specs[key] = None
                elif key not in specs or specs[key] is not None:
                    specs.setdefault(key, set()).add(o.resource)  # type: ignore[union-attr]
        if specs:
            kind = "used"
            any_activity = True
            where = f" on {len(n_resources)} resource(s)" if n_resources else ""
            reasons.append(f"used: {calls} call(s){where}, last seen {_when(last_seen)}")
        elif status is not None and status.status == "used":
            # The analysis says a call needed it but our evaluator could not place the
            # call in a statement (policy variables, say): keep the grant as it is.
            any_activity = True
            kind = "used"
            calls, last_seen = status.calls, _day(status.last_seen)
            keep_all(sources)
            reasons.append(
                f"used: {status.calls} call(s), last seen {_when(status.last_seen)} (resources kept as granted)"
            )

        # 2. reasons to keep the grant exactly as it is today
        unobserved = set(status.unobserved_resources) if status is not None else set()
        holders = (
            [(p, s) for p, s in sources if unobserved & set(s.resources)] if unobserved else []
        )
        if (
            status is not None
            and status.status in ("used", "unused", "unobservable")
            and config.keep_unobservable
            and holders
        ):
            # Granted on buckets (tables, functions) the trail logs no data event for:
            # keep exactly those current patterns, in the statements that grant them.
            for p, s in holders:
                key = (p.key, s.idx)
                if key in specs and specs[key] is None:
                    continue
                specs.setdefault(key, set())
                extra[key] |= unobserved & set(s.resources)
            kind = kind or "unobservable"
            reasons.append(f"kept: unobservable — {unobserved_reason(sorted(unobserved))}")
        elif status is not None and status.status == "unobservable" and config.keep_unobservable:
            keep_all(sources)
            kind = kind or "unobservable"
            reasons.append(
                f"unobservable: {status.why or 'CloudTrail does not record this action'}"
            )
        for i, rule in enumerate(config.exceptions):
            if rule.applies_to(role.name, role.principal_arn, action):
                if rule in live_rules:
                    used_rules.add(i)
                    keep_all(sources)
                    kind = kind or "exception"
                    reasons.append(rule.label())
                else:
                    expired_hits.add(i)
        if role_grace:
            keep_all(sources)
            kind = kind or "grace"
            reasons.append(
                f"grace: the role was created {_when(role.created)}, less than {config.grace_days} days before {as_of.isoformat()}"
            )
        else:
            in_grace = (
                [(p, s) for p, s in sources if p.key in grace_policies] if grace_policies else []
            )
            if in_grace:
                keep_all(in_grace)
                kind = kind or "grace"
                names = sorted({p.name for p, _ in in_grace})
                reasons.append(
                    f"grace: policy {', '.join(names)} changed less than {config.grace_days} days before {as_of.isoformat()}"
                )

        if not specs:
            removed.append(_removed(action, status, window_days, as_of, info.scopable))
            continue

        by_key = {(p.key, s.idx): s for p, s in sources}
        for key in sorted(specs):
            spec = specs[key]
            if spec is None:
                attribution[key][lc] = None
                continue
            scoped = _scope(by_key[key], spec, config) if spec else frozenset()
            attribution[key][lc] = (
                None if scoped is None else frozenset(drop_redundant(set(scoped) | extra[key]))
            )
        kept.append(KeptAction(action, kind, reasons, [], False, calls, last_seen))

    result = RoleResult(role, "trim", "")
    result.kept = kept
    result.removed = removed
    result.actions_before = before
    result.attribution = dict(attribution)
    result.expired_exceptions = [config.exceptions[i] for i in sorted(expired_hits)]
    result.unmatched_exceptions = [
        r
        for i, r in enumerate(config.exceptions)
        if i not in used_rules and i not in expired_hits and _rule_names_role(r, role)
    ]
    _policy_view(result, identity, catalog, expander, config)
    _describe_resources(result, identity)
    result.consolidated = consolidate(
        result, catalog, config, f"{_safe_name(role.name)}-recommended"
    )

    unchanged = all(c.change == "unchanged" for c in result.policies) and not result.new_policies
    if not identity:
        result.verdict = "remove_or_review"
        result.message = "The role has no identity policies: it can do nothing today. Remove it or review why it exists."
    elif not any_activity and not role_grace:
        result.verdict = "remove_or_review"
        kept_note = (
            f"; the {len(kept)} action(s) kept below are kept only for the reasons shown"
            if kept
            else "; nothing would remain"
        )
        result.message = (
            f"No successful call in the {window_days} days up to {as_of.isoformat()}: "
            f"remove the role, or review whether it is still needed{kept_note}."
        )
    elif unchanged:
        result.verdict = "keep"
        result.message = "Every permission is still needed (or kept on purpose); nothing to change."
    else:
        result.verdict = "trim"
        result.message = f"Keep {len(kept)} of {before} action(s); {result.resources_scoped} scoped to the resources used."
    return result


def _describe_resources(result: RoleResult, identity: list[Policy]) -> None:
    """Fill each kept action's final resources and whether they are narrower than today."""
    stmts = {(p.key, s.idx): s for p in identity for s in p.statements}
    per_action: dict[str, list[tuple[Statement, frozenset[str] | None]]] = defaultdict(list)
    for key, actions in result.attribution.items():
        for lc, spec in actions.items():
            per_action[lc].append((stmts[key], spec))
    for k in result.kept:
        final: set[str] = set()
        scoped = False
        for st, spec in per_action.get(k.action.lower(), []):
            if spec is None:
                final.update(_original_entries(st))
            else:
                final.update(spec)
                scoped = scoped or set(spec) != set(st.resources)
        k.resources = sorted(final)
        k.scoped = scoped


_SCOPE_NAMES = (
    (re.compile(r"^arn:[^:]+:s3:::([^/]+)"), "S3", "bucket"),
    (re.compile(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/([^/]+)"), "DynamoDB", "table"),
    (re.compile(r"^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)"), "Lambda", "function"),
)


def unobserved_reason(patterns: Iterable[str]) -> str:
    """'no S3 data events are logged for bucket b' for the unobserved patterns kept."""
    names: dict[tuple[str, str], set[str]] = defaultdict(set)
    for pattern in patterns:
        for rx, service, noun in _SCOPE_NAMES:
            m = rx.match(pattern)
            if m:
                names[(service, noun)].add(m.group(1))
                break
        else:
            names[("", "resource")].add(pattern)
    parts = []
    for (service, noun), found in sorted(names.items()):
        plural = "s" if len(found) > 1 else ""
        what = f"{service} data events" if service else "data events"
        parts.append(f"no {what} are logged for {noun}{plural} {', '.join(sorted(found))}")
    return "; ".join(parts)


def _rule_names_role(rule: ExceptionRule, role: RoleInput) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(role.name, rule.role) or fnmatchcase(role.principal_arn, rule.role)


def _listed(role: RoleInput) -> list[Policy]:
    return sorted(
        (p for p in role.policies if p.kind in IDENTITY_KINDS + ("boundary",)), key=lambda p: p.key
    )


def _original_entries(st: Statement) -> list[str]:
    if st.not_resources:
        return [f"NotResource:{r}" for r in st.not_resources]
    return list(st.resources)


def _scope(st: Statement, arns: set[str], config: RecommendConfig) -> frozenset[str] | None:
    """Scoped Resource patterns for the ARNs one statement granted (None: keep its own)."""
    if st.not_resources:
        # Concrete ARNs the statement allowed are inside it; a generalised pattern
        # could reach into what NotResource excludes, so none is made.
        if len(arns) > config.generalize.max_resources:
            return None
        return frozenset(arns)
    out: set[str] = set()
    entries = sorted(st.resources)
    buckets: dict[str, set[str]] = defaultdict(set)
    for arn in sorted(arns):
        for entry in entries:
            if arn_matches(entry, arn):
                buckets[entry].add(arn)
                break
    for entry, members in sorted(buckets.items()):
        out.update(scope_to_original(members, entry, config.generalize))
    result = drop_redundant(out)
    if len(result) > config.generalize.max_resources:
        return None
    return frozenset(result)


def _removed(
    action: str, status: Any, window_days: int, as_of: date, scopable: bool
) -> RemovedAction:
    if status is None:
        return RemovedAction(
            action,
            "never_needed",
            f"never needed: no successful call needed it in the {window_days} days up to {as_of.isoformat()}",
        )
    last = _day(status.last_seen)
    why = f" ({status.why})" if status.why else ""
    # One branch per status, formatted only when taken: a role granted `*` removes
    # ~22,000 actions, twice per run.
    kind = status.status
    if kind == "never_needed":
        text = f"never needed{why or ': no call in the ingested history'}"
    elif kind == "unused":
        text = f"unused since {_when(last)}: no successful call in the {window_days}-day window"
    elif kind == "denied":
        text = f"denied anyway: {status.calls} call(s) were refused{', last ' + _when(last) if last else ''}{why}"
    elif kind == "unobservable":
        text = f"unobservable{why}; not kept because keep_unobservable = false"
    elif kind == "unexplained":
        text = f"unexplained{why}"
    elif kind == "used":
        text = f"used per the analysis, but no call in the window is allowed by these policies{why}"
    else:
        text = f"{kind}{why}"
    return RemovedAction(action, kind, text, last)


# ---- the per-policy (in place) view ---------------------------------------------


def _as_document(doc: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return json.loads(json.dumps(doc)) if doc is not None else None


def _shape(original: Any, values: list[str]) -> Any:
    """Keep a single string a single string, as the author wrote it."""
    return values[0] if isinstance(original, str) and len(values) == 1 else values


def trimmed_actions(st: Statement, kept: set[str], catalog: Catalog) -> list[str]:
    """The statement's action patterns minus what is no longer needed: a pattern stays
    when every catalog action it matches is kept, otherwise its kept actions are listed."""
    if st.not_actions:
        return sorted({catalog.canonical(a) for a in kept}, key=str.lower)
    out: list[str] = []
    covered: set[str] = set()
    for p in st.actions:
        if has_wildcard(p):
            exp = set(catalog.expand(p))
            if exp and exp <= kept:
                out.append(p)
                covered |= exp
        elif p.lower() in kept:
            out.append(p)
            covered.add(p.lower())
    out.extend(catalog.canonical(a) for a in kept - covered)
    seen: set[str] = set()
    unique = []
    for a in sorted(out, key=lambda x: (x.lower(), x)):
        if a.lower() not in seen:
            seen.add(a.lower())
            unique.append(a)
    return unique


def trim_document(
    policy: Policy, kept: Mapping[int, Mapping[str, frozenset[str] | None]], catalog: Catalog
) -> dict[str, Any] | None:
    """The policy with removed actions and resources taken out, Sids, conditions and
    statement order unchanged. None when no Allow statement is left and there were
    no Deny statements to keep."""
    out_statements: list[dict[str, Any]] = []
    for st in policy.statements:
        raw = json.loads(json.dumps(st.raw))
        if st.effect == "Deny":
            out_statements.append(raw)
            continue
        need = kept.get(st.idx)
        if not need:
            continue
        actions = trimmed_actions(st, set(need), catalog)
        raw.pop("NotAction", None)
        raw["Action"] = _shape(st.raw.get("Action"), actions)
        specs = list(need.values())
        if all(s is not None for s in specs):
            resources = drop_redundant(set().union(*specs))  # type: ignore[arg-type]
            raw.pop("NotResource", None)
            raw["Resource"] = _shape(st.raw.get("Resource"), resources)
        out_statements.append(raw)
    # Deny statements stay even when no Allow is left: they may block what another
    # of the role's policies allows, and dropping them would broaden the role.
    if not out_statements:
        return None
    doc = _as_document(policy.document) or {}
    doc["Statement"] = out_statements
    doc.setdefault("Version", VERSION)
    return doc


def normalise(doc: Mapping[str, Any] | None) -> Any:
    """A document in the form the diff and equality use: lists for every element that
    may be a string, Action/Resource lists sorted; statement order is kept."""
    if doc is None:
        return None
    out = json.loads(json.dumps(doc))
    stmts = out.get("Statement", [])
    if isinstance(stmts, dict):
        stmts = [stmts]
    norm = []
    for st in stmts:
        st = dict(st)
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if key in st:
                v = st[key]
                v = [v] if isinstance(v, str) else list(v)
                st[key] = (
                    sorted(set(v), key=lambda x: (x.lower(), x))
                    if "Action" in key
                    else sorted(set(v))
                )
        if "Condition" in st and isinstance(st["Condition"], dict):
            st["Condition"] = {
                op: {k: (sorted(v) if isinstance(v, list) else v) for k, v in block.items()}
                for op, block in st["Condition"].items()
            }
        norm.append(st)
    out["Statement"] = norm
    return out


def _policy_view(
    result: RoleResult,
    identity: list[Policy],
    catalog: Catalog,
    expander: Expander,
    config: RecommendConfig,
) -> None:
    from recommender.recommend.quotas import INLINE_TOTAL_LIMIT, MANAGED_POLICY_LIMIT, policy_size

    per_policy: dict[str, dict[int, dict[str, frozenset[str] | None]]] = defaultdict(dict)
    for (pkey, idx), actions in result.attribution.items():
        per_policy[pkey][idx] = dict(actions)

    def unscoped(pkey: str) -> None:
        # Listing scoped ARNs made the policy too long for its quota: keep each
        # needed statement's own resources instead (what fitted before) and say so.
        for idx in per_policy.get(pkey, {}):
            per_policy[pkey][idx] = {a: None for a in per_policy[pkey][idx]}
            result.attribution[(pkey, idx)] = dict(per_policy[pkey][idx])
        result.notes.append(
            f"policy {pkey}: resources kept as granted, because the scoped version exceeds the IAM size quota"
        )

    for p in identity:
        if p.kind == "customer_managed" and not p.shared:
            doc = trim_document(p, per_policy.get(p.key, {}), catalog)
            if doc is not None and policy_size(doc) > MANAGED_POLICY_LIMIT:
                unscoped(p.key)
    inline = [p for p in identity if p.kind == "inline"]
    sizes = [trim_document(p, per_policy.get(p.key, {}), catalog) for p in inline]
    if sum(policy_size(d) for d in sizes if d is not None) > INLINE_TOTAL_LIMIT:
        for p in inline:
            unscoped(p.key)
    detached: list[Policy] = []
    changes: list[PolicyChange] = []
    for p in _listed(result.role):
        current = _as_document(p.document)
        if p.kind == "boundary":
            changes.append(PolicyChange(p, "unchanged", current))
            continue
        trimmed = trim_document(p, per_policy.get(p.key, {}), catalog)
        if trimmed is not None and normalise(trimmed) == normalise(current):
            changes.append(PolicyChange(p, "unchanged", current))
        elif p.kind == "aws_managed" or p.shared:
            # AWS managed policies cannot be edited and shared ones serve other roles
            # too: detach them and move what this role needs into a new policy. A
            # shared policy is never "removed" here; shared_policies trims it.
            keep_part = bool(per_policy.get(p.key)) or any(s.effect == "Deny" for s in p.statements)
            if keep_part:
                detached.append(p)
            changes.append(PolicyChange(p, "detach" if keep_part or p.shared else "removed", None))
        elif trimmed is None:
            changes.append(PolicyChange(p, "removed", None))
        else:
            changes.append(PolicyChange(p, "trimmed", trimmed))
    result.policies = changes
    if detached:
        keys = {p.key for p in detached}
        part = RoleResult(result.role, result.verdict, "")
        part.attribution = {k: v for k, v in result.attribution.items() if k[0] in keys}
        part.role = RoleInput(
            result.role.principal_arn,
            result.role.name,
            result.role.account_id,
            tuple(detached),
            {},
        )
        docs = consolidate(
            part, catalog, config, f"{_safe_name(result.role.name)}-replacement", denies_alone=True
        )
        replaces = sorted(p.arn or p.key for p in detached)
        result.new_policies = [
            {"name": d["name"], "document": d["document"], "replaces": replaces} for d in docs
        ]


# ---- the consolidated view ------------------------------------------------------


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9+=,.@_-]", "-", name)[:100]


def _sid_service(service: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9]", "", service)
    return (cleaned[:1].upper() + cleaned[1:]) or "Any"


def consolidate(
    result: RoleResult,
    catalog: Catalog,
    config: RecommendConfig,
    base_name: str,
    denies_alone: bool = False,
    include_denies: bool = True,
) -> list[dict[str, Any]]:
    """Every kept grant of ``result`` as statements grouped by service, resource set and
    condition, Sids ``<Service><n>`` in a fixed order, Deny statements carried over,
    split into managed policies that fit the size quota."""
    from recommender.recommend.quotas import split_statements

    stmts: dict[StmtKey, Statement] = {}
    for p in result.role.policies:
        if p.kind in IDENTITY_KINDS:
            for s in p.statements:
                stmts[(p.key, s.idx)] = s
    groups: dict[tuple[str, str, tuple[str, ...], str], set[str]] = defaultdict(set)
    for key, granted in sorted(result.attribution.items()):
        source = stmts.get(key)
        if source is None:
            continue
        cond = (
            json.dumps(
                normalise({"Statement": [{"Condition": source.conditions}]})["Statement"][0][
                    "Condition"
                ],
                sort_keys=True,
            )
            if source.conditions
            else ""
        )
        for lc, spec in granted.items():
            service = lc.split(":", 1)[0]
            if spec is None:
                if source.not_resources:
                    gkey = (service, "NotResource", tuple(sorted(set(source.not_resources))), cond)
                else:
                    gkey = (service, "Resource", tuple(sorted(set(source.resources))), cond)
            else:
                gkey = (service, "Resource", tuple(sorted(spec)), cond)
            groups[gkey].add(lc)
    # One statement per (service, condition, resource set), in a fixed order.
    statements: list[dict[str, Any]] = []
    counters: dict[str, int] = defaultdict(int)
    for (service, res_key, resources, cond), actions in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][3], kv[0][1], kv[0][2])
    ):
        names = (
            compress_actions(actions, catalog)
            if config.allow_wildcards
            else sorted({catalog.canonical(a) for a in actions}, key=lambda x: (x.lower(), x))
        )
        counters[service] += 1
        out_st: dict[str, Any] = {
            "Sid": f"{_sid_service(service)}Allow{counters[service]}",
            "Effect": "Allow",
            "Action": names,
            res_key: list(resources),
        }
        if cond:
            out_st["Condition"] = json.loads(cond)
        statements.append(out_st)
    denies: list[dict[str, Any]] = []
    seen_denies: set[str] = set()
    for key in sorted(stmts):
        st = stmts[key]
        if st.effect == "Deny" and include_denies:
            text = json.dumps(normalise({"Statement": [st.raw]})["Statement"][0], sort_keys=True)
            if text not in seen_denies:
                seen_denies.add(text)
                denies.append(json.loads(text))
    for i, d in enumerate(denies, start=1):
        d["Sid"] = f"KeepDeny{i}"
    # Denies matter only next to Allows; a replacement for a detached policy keeps
    # them even alone, because they may block what the role's other policies allow.
    if not statements and not (denies_alone and denies):
        return []
    return split_statements(statements + denies, base_name)


def _camel_prefixes(name: str) -> list[str]:
    """``GetObjectTagging`` -> ``Get``, ``GetObject``, ``GetObjectTagging``."""
    cuts = [m.start() for m in re.finditer(r"[A-Z][a-z0-9]*", name)][1:]
    return [name[:c] for c in cuts] + [name]


def compress_actions(actions: Iterable[str], catalog: Catalog) -> list[str]:
    """Shorten an action set with ``Verb*`` wildcards whose expansion over today's
    catalog is inside the set, so the set is reproduced exactly. AWS adding an action
    that matches later would widen the grant: off unless --allow-wildcards."""
    kept = {a.lower() for a in actions}
    out: set[str] = set()
    covered: set[str] = set()
    by_service: dict[str, list[str]] = defaultdict(list)
    for a in sorted(kept):
        by_service[a.split(":", 1)[0]].append(a)
    for service, members in sorted(by_service.items()):
        every = set(catalog.service_actions(service))
        if every and every <= kept:
            out.add(f"{service}:*")
            covered |= every
            # Names the catalog does not know stay as written (s3:* does not show them).
            out.update(catalog.canonical(a) for a in members if a not in every)
            continue
        for lc in members:
            if lc in covered:
                continue
            canon = catalog.canonical(lc)
            svc, name = canon.split(":", 1)
            chosen = canon
            for prefix in _camel_prefixes(name):
                pattern = f"{svc}:{prefix}*"
                exp = set(catalog.expand(pattern))
                if len(exp) >= 2 and exp <= kept:
                    chosen = pattern
                    covered |= exp
                    break
            out.add(chosen)
            covered.add(lc)
    patterns = [p for p in out if p.endswith("*")]
    expanded: set[str] = set().union(*(catalog.expand(p) for p in patterns)) if patterns else set()
    out = {a for a in out if a.endswith("*") or a.lower() not in expanded}
    return sorted(out, key=lambda x: (x.lower(), x))


def trim_shared(
    policy: Policy, results: Iterable[RoleResult], catalog: Catalog
) -> dict[str, Any] | None:
    """The shared policy trimmed to the union of what every role attached to it needs."""
    union: dict[int, dict[str, frozenset[str] | None]] = defaultdict(dict)
    for r in results:
        for (pkey, idx), actions in r.attribution.items():
            if pkey != policy.key:
                continue
            for lc, spec in actions.items():
                if lc in union[idx]:
                    prev = union[idx][lc]
                    union[idx][lc] = (
                        None if prev is None or spec is None else frozenset(prev | spec)
                    )
                else:
                    union[idx][lc] = spec
    return trim_document(policy, union, catalog)
