"""The plain data the minimizer works on, with no database behind it.

The recommender's core is pure Python so that its invariants can be tested by
hypothesis over thousands of random policies without a database; ``build.py``
fills these classes from the DuckDB tables. Everything here is immutable and
ordered deterministically, because invariant 3 (same inputs, byte-identical
output) must hold regardless of the order rows come back from a query.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property, lru_cache
from typing import Any

from recommender.errors import PolicyParseError

# Identity-policy kinds the recommender may rewrite. Boundaries and SCPs only limit
# what identity policies grant; trimming identity policies never needs them changed.
IDENTITY_KINDS = ("inline", "customer_managed", "aws_managed")


@lru_cache(maxsize=4096)
def action_regex(pattern: str) -> re.Pattern[str]:
    """IAM action patterns: ``*`` and ``?`` wildcards, matched case-insensitively."""
    out = []
    for ch in pattern.lower():
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.DOTALL)


def action_matches(pattern: str, action: str) -> bool:
    return action_regex(pattern).fullmatch(action.lower()) is not None


@dataclass(frozen=True)
class ActionInfo:
    """One catalog action: ``action`` in catalog case and the resource types it can be
    scoped to (empty: the action only works with ``Resource: "*"``)."""

    action: str
    resource_types: tuple[str, ...] = ()

    @property
    def service(self) -> str:
        return self.action.split(":", 1)[0].lower()

    @property
    def scopable(self) -> bool:
        return bool(self.resource_types)


class Catalog:
    """The IAM actions known to the catalog, for expanding action patterns."""

    def __init__(self, actions: Iterable[ActionInfo], version: str = "test") -> None:
        by_lc: dict[str, ActionInfo] = {}
        for info in sorted(actions, key=lambda a: a.action):
            by_lc.setdefault(info.action.lower(), info)
        self.by_lc = by_lc
        self.version = version
        self._names = sorted(by_lc)
        self._by_service: dict[str, list[str]] = {}
        for lc in self._names:
            self._by_service.setdefault(lc.split(":", 1)[0], []).append(lc)

    def __contains__(self, action: str) -> bool:
        return action.lower() in self.by_lc

    def info(self, action: str) -> ActionInfo:
        """The catalog entry, or a scopable stand-in for an action the catalog lacks
        (treating it as scopable keeps the original resource pattern: never broader)."""
        found = self.by_lc.get(action.lower())
        return found if found is not None else ActionInfo(action, ("unknown",))

    def canonical(self, action: str) -> str:
        found = self.by_lc.get(action.lower())
        return found.action if found is not None else action

    def expand(self, pattern: str) -> list[str]:
        """Catalog actions (lower case, sorted) an Action element value matches."""
        if "*" not in pattern and "?" not in pattern:
            lc = pattern.lower()
            return [lc] if lc in self.by_lc else []
        service = pattern.split(":", 1)[0].lower()
        pool = (
            self._names if ("*" in service or "?" in service) else self._by_service.get(service, [])
        )
        rx = action_regex(pattern)
        return [a for a in pool if rx.fullmatch(a)]

    def all_actions(self) -> list[str]:
        return list(self._names)

    def service_actions(self, service: str) -> list[str]:
        return list(self._by_service.get(service.lower(), []))


def _as_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyParseError(f"{where}: expected a string or a list of strings, got {value!r}")


def condition_items(
    conditions: Mapping[str, Any] | None,
) -> frozenset[tuple[str, str, tuple[str, ...]]]:
    """A Condition block as a set of (operator, key, values): more items, narrower grant.
    Keys are case-insensitive in IAM, operators are not."""
    items = set()
    for op, block in (conditions or {}).items():
        if not isinstance(block, Mapping):
            raise PolicyParseError(f"Condition operator {op!r} must map keys to values")
        for key, values in block.items():
            vals = values if isinstance(values, list) else [values]
            items.add((str(op), str(key).lower(), tuple(sorted(json_scalar(v) for v in vals))))
    return frozenset(items)


def json_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Statement:
    """One statement of a policy document, normalised to lists."""

    idx: int
    sid: str | None
    effect: str
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    not_resources: tuple[str, ...] = ()
    conditions: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def conditional(self) -> bool:
        return bool(self.conditions)

    @cached_property
    def cond_items(self) -> frozenset[tuple[str, str, tuple[str, ...]]]:
        # Cached: the minimizer ranks a role's statements once per granted action.
        return condition_items(self.conditions)

    def matches_action(self, action: str) -> bool:
        if self.not_actions:
            return not any(action_matches(p, action) for p in self.not_actions)
        return any(action_matches(p, action) for p in self.actions)

    def matches_resource(self, arn: str) -> bool:
        from recommender.recommend.resources import arn_matches

        if self.not_resources:
            return not any(arn_matches(p, arn) for p in self.not_resources)
        return any(arn_matches(p, arn) for p in self.resources)


def parse_document(document: Mapping[str, Any] | str | None, where: str) -> list[Statement]:
    """The statements of a policy document (a dict or its JSON text)."""
    import json

    if document is None:
        return []
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as e:
            raise PolicyParseError(f"{where}: policy document is not JSON: {e}") from e
    if not isinstance(document, Mapping):
        raise PolicyParseError(f"{where}: policy document must be a JSON object")
    raw_statements = document.get("Statement", [])
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyParseError(f"{where}: Statement must be an object or a list")
    out = []
    for idx, st in enumerate(raw_statements):
        here = f"{where} statement {idx}"
        if not isinstance(st, Mapping):
            raise PolicyParseError(f"{here}: must be an object")
        effect = st.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyParseError(f"{here}: Effect must be Allow or Deny, got {effect!r}")
        cond = st.get("Condition")
        if cond is not None and not isinstance(cond, Mapping):
            raise PolicyParseError(f"{here}: Condition must be an object")
        out.append(
            Statement(
                idx=idx,
                sid=st.get("Sid"),
                effect=effect,
                actions=_as_list(st.get("Action"), here),
                not_actions=_as_list(st.get("NotAction"), here),
                resources=_as_list(st.get("Resource"), here),
                not_resources=_as_list(st.get("NotResource"), here),
                conditions=dict(cond) if cond else None,
                raw=dict(st),
            )
        )
    return out


@dataclass(frozen=True)
class Policy:
    """One policy attached to the role (identity policy or boundary)."""

    key: str
    kind: str
    name: str
    arn: str | None
    document: Mapping[str, Any]
    created: datetime | date | None = None
    updated: datetime | date | None = None
    attached_to: tuple[str, ...] = ()  # every role ARN it is attached to (shared when > 1)

    @cached_property
    def statements(self) -> list[Statement]:
        return parse_document(self.document, f"policy {self.name!r} ({self.key})")

    @property
    def shared(self) -> bool:
        return self.kind == "customer_managed" and len(set(self.attached_to)) > 1


@dataclass(frozen=True)
class ActionStatus:
    """The analysis stage's verdict on one granted action (``role_action_status``)."""

    action: str
    status: str  # used | unused | never_needed | unobservable | denied | unexplained
    calls: int = 0
    first_seen: datetime | date | None = None
    last_seen: datetime | date | None = None
    resources: tuple[str, ...] = ()
    why: str | None = None
    # Granted resource patterns on buckets / tables / functions the logs hold no data
    # event for (any principal): kept beside what was used, since their use is unseen.
    unobserved_resources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Observation:
    """Successful calls in the window needing ``action`` on ``resource`` (None: unknown)."""

    action: str
    resource: str | None
    calls: int = 1
    last_seen: datetime | date | None = None


@dataclass(frozen=True)
class RoleInput:
    """Everything the minimizer needs about one role."""

    principal_arn: str
    name: str
    account_id: str
    policies: tuple[Policy, ...]
    statuses: Mapping[str, ActionStatus]  # keyed by lower-case action
    observations: tuple[Observation, ...] = ()
    created: datetime | date | None = None
    is_agent: bool = False
    skip_reason: str | None = None  # set when effective grants could not be computed
