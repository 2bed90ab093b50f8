"""The four invariants of a recommendation, checked on every run.

1. Every successful call observed in the window that the current policies allow is
   still allowed (same action, same resource, under conditions no stricter).
2. Nothing is allowed that the current policies do not allow: every recommended
   Allow is evaluated for each action it grants over a set of probe resources (the
   observed ARNs, every resource pattern in either policy set taken literally, and
   synthetic instances of each wildcard), and each Deny of today is still present.
3. Same inputs give byte-identical output (``build.py`` renders twice and compares).
4. IAM size quotas hold (``quotas.py``).

A violation raises :class:`InvariantError` naming the role, the invariant, the
action and the resource, and nothing is written. The evaluator here models
identity policies only; boundaries and SCPs are left as they are, so they cap the
recommendation exactly as they cap today's policies.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from recommender.errors import InvariantError
from recommender.recommend.minimize import Expander, RoleResult, normalise
from recommender.recommend.model import Observation, Statement, parse_document
from recommender.recommend.quotas import quota_problems
from recommender.recommend.resources import has_wildcard

Cond = frozenset[tuple[str, str, tuple[str, ...]]]


class PolicySet:
    """A set of statements evaluated like IAM evaluates one principal's identity policies
    (an Allow needed, an unconditional Deny wins; conditions kept symbolic)."""

    def __init__(self, statements: Iterable[Statement]) -> None:
        self.statements = list(statements)
        self.allows = [s for s in self.statements if s.effect == "Allow"]
        self.denies = [s for s in self.statements if s.effect == "Deny" and not s.conditional]
        self._by_action: dict[str, list[Statement]] = {}
        self._deny_by_action: dict[str, list[Statement]] = {}

    @classmethod
    def from_documents(cls, docs: Iterable[Any], where: str) -> PolicySet:
        out: list[Statement] = []
        for i, d in enumerate(docs):
            out.extend(parse_document(d, f"{where} document {i}"))
        return cls(out)

    def allows_for(self, action: str) -> list[Statement]:
        key = action.lower()
        hit = self._by_action.get(key)
        if hit is None:
            hit = self._by_action[key] = [s for s in self.allows if s.matches_action(key)]
        return hit

    def denied(self, action: str, resource: str) -> bool:
        key = action.lower()
        ds = self._deny_by_action.get(key)
        if ds is None:
            ds = self._deny_by_action[key] = [s for s in self.denies if s.matches_action(key)]
        return any(d.matches_resource(resource) for d in ds)

    def conditions(self, action: str, resource: str) -> list[Cond]:
        """Condition sets under which (action, resource) is allowed; [] = not allowed."""
        if self.denied(action, resource):
            return []
        return [s.cond_items for s in self.allows_for(action) if s.matches_resource(resource)]

    def covers(self, action: str, resource: str, within: Cond) -> bool:
        """Allowed under conditions no stricter than ``within``."""
        return any(c <= within for c in self.conditions(action, resource))


def _canon(st: Statement, with_sid: bool = False) -> str:
    raw = dict(st.raw)
    if not with_sid:
        raw.pop("Sid", None)
    return json.dumps(normalise({"Statement": [raw]})["Statement"][0], sort_keys=True)


def probe_resources(observed: Iterable[str], statements: Iterable[Statement]) -> list[str]:
    """Resources to evaluate invariant 2 on: observed ARNs, each pattern literally, and
    instances of each wildcard pattern (``*`` as nothing, one segment, deeper paths)."""
    out = {"*", "arn:aws:probe:us-east-1:000000000000:probe/outside"}
    out.update(observed)
    for st in statements:
        for pattern in st.resources + st.not_resources:
            out.add(pattern)
            if has_wildcard(pattern):
                for fill in ("", "x", "probe/x", "x/probe:y"):
                    out.add(pattern.replace("*", fill).replace("?", "q"))
    return sorted(out)


def check_views(
    label: str,
    current: Sequence[Statement],
    recommended: Sequence[Statement],
    observations: Iterable[Observation],
    expander: Expander,
    extra_probes: Iterable[str] = (),
    limit: int = 5,
) -> list[str]:
    """Violations of invariants 1 and 2 for one recommended view of one role."""
    cur, rec = PolicySet(current), PolicySet(recommended)
    problems: list[str] = []
    observations = list(observations)

    # 1. never break an observed call
    for o in sorted(observations, key=lambda o: (o.action.lower(), o.resource or "")):
        a = o.action.lower()
        if o.resource is not None:
            conds = cur.conditions(a, o.resource)
            for c in conds:
                if not rec.covers(a, o.resource, c):
                    problems.append(
                        f"invariant 1 ({label}): {o.action} on {o.resource} is allowed today"
                        f"{' under ' + _cond_text(c) if c else ''} but not by the recommendation"
                    )
                    break
        else:
            # The call's resource is unknown: some statement of today allowed it on one
            # of its resources; the recommendation must still allow all of that
            # statement's resources (those today's Denies leave open).
            candidates = []
            for s in cur.allows_for(a):
                lits = [lit for lit in _literals(s) if not cur.denied(a, lit)]
                if lits:
                    candidates.append((s, lits))
            if not candidates:
                continue
            if not any(
                all(rec.covers(a, lit, s.cond_items) for lit in lits) for s, lits in candidates
            ):
                problems.append(
                    f"invariant 1 ({label}): {o.action} (resource not recorded) is allowed today "
                    "by a statement whose resources the recommendation no longer grants"
                )
        if len(problems) >= limit:
            return problems

    # 2. never broaden: each Deny kept, each new or changed Allow inside today's grants
    cur_denies = {_canon(s) for s in current if s.effect == "Deny"}
    rec_denies = {_canon(s) for s in recommended if s.effect == "Deny"}
    # (Without any Allow left nothing is allowed, and the Denies have nothing to block.)
    if not any(s.effect == "Allow" for s in recommended):
        cur_denies = set()
    for missing in sorted(cur_denies - rec_denies):
        problems.append(f"invariant 2 ({label}): the Deny statement {missing} is no longer present")
    same = {_canon(s) for s in current if s.effect == "Allow"}
    probes = probe_resources(
        [o.resource for o in observations if o.resource] + list(extra_probes),
        list(current) + list(recommended),
    )
    for st in recommended:
        if st.effect != "Allow" or _canon(st) in same:
            continue  # identical to a statement of today: allows nothing new
        reach = [r for r in probes if st.matches_resource(r)]
        cond = st.cond_items
        for a in sorted(expander.actions(st)):
            for r in reach:
                if rec.denied(a, r):
                    continue
                if not any(c <= cond for c in cur.conditions(a, r)):
                    problems.append(
                        f"invariant 2 ({label}): statement {st.sid or st.idx} allows {a} on {r}"
                        f"{' under ' + _cond_text(cond) if cond else ''}, which today's policies do not"
                    )
                    if len(problems) >= limit:
                        return problems
                    break
    return problems


def _literals(st: Statement) -> list[str]:
    return list(st.resources) if st.resources else ["*"]


def _cond_text(c: Cond) -> str:
    return "; ".join(f"{op} {key} {list(vals)}" for op, key, vals in sorted(c))


def _statements(docs: Iterable[Any], where: str) -> list[Statement]:
    out: list[Statement] = []
    for i, d in enumerate(docs):
        out.extend(parse_document(d, f"{where} {i}"))
    return out


def role_problems(result: RoleResult, expander: Expander) -> list[str]:
    """Every invariant 1, 2 and 4 violation of one role's recommendation."""
    if result.verdict == "skipped":
        return []
    current = result.current_statements()
    obs = list(result.role.observations)
    problems = check_views(
        "per-policy view",
        current,
        _statements(result.inplace_documents(), "recommended"),
        obs,
        expander,
    )
    problems += check_views(
        "consolidated view",
        current,
        _statements(result.consolidated_documents(), "consolidated"),
        obs,
        expander,
    )
    managed = [
        (c.policy.name, c.recommended_document)
        for c in result.policies
        if c.policy.kind == "customer_managed" and c.change == "trimmed"
    ]
    managed += [(n["name"], n["document"]) for n in result.new_policies]
    managed += [(n["name"], n["document"]) for n in result.consolidated]
    inline = [
        (c.policy.name, c.recommended_document)
        for c in result.policies
        if c.policy.kind == "inline" and c.recommended_document is not None
    ]
    problems += [f"invariant 4: {p}" for p in quota_problems(managed, inline)]
    return problems


def enforce(results: Iterable[RoleResult], expander: Expander) -> None:
    """Raise :class:`InvariantError` listing every role whose recommendation breaks an invariant."""
    lines = []
    for r in results:
        for p in role_problems(r, expander):
            lines.append(f"role {r.role.name} ({r.role.principal_arn}): {p}")
    if lines:
        shown = lines[:20]
        more = f"\n  ... and {len(lines) - 20} more" if len(lines) > 20 else ""
        raise InvariantError(
            "refusing to write a recommendation that breaks its invariants:\n  "
            + "\n  ".join(shown)
            + more
            + "\nThis is a bug in the recommender; please report it with the role's policies."
        )
