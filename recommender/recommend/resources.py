"""Resource scoping: which ARNs a pattern matches, whether one pattern lies inside
another, and how observed ARNs are generalised without ever broadening a grant.

Matching is the grants stage's (``recommender.grants.patterns``): ``*`` matches
any run of characters, ``?`` one, case-sensitively; a policy variable counts as
``*``. One semantics for the whole pipeline, so "allowed today" means the same
thing here as in ``effective_grants``.

Generalisation turns many observed objects under one prefix into ``prefix/*``
(thresholds from the ``[generalize]`` config table). The result is then
intersected with the pattern of the statement that granted the call: a generalised
pattern is used only when it provably lies inside the original one
(:func:`pattern_within`); otherwise the concrete observed ARNs (or, when there are
too many of them, the original pattern itself) are kept. Never broader than today.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from recommender.grants.patterns import pattern_covers, resource_matches

_SEGMENTS = 6  # arn:partition:service:region:account:resource


@dataclass(frozen=True)
class GeneralizeConfig:
    """How eagerly observed ARNs are folded into ``prefix/*`` patterns."""

    min_siblings: int = 3  # at least this many distinct ARNs under one prefix -> prefix/*
    max_resources: int = 25  # more concrete ARNs than this in one scoped set -> keep the original
    enabled: bool = True


def _split(arn: str) -> list[str] | None:
    parts = arn.split(":", _SEGMENTS - 1)
    return parts if len(parts) == _SEGMENTS else None


def arn_matches(pattern: str, arn: str) -> bool:
    """Whether an IAM ``Resource`` pattern matches a concrete ARN (or ``*``): the grants
    stage's semantics, so both stages agree on what a statement allows."""
    return resource_matches(pattern, arn)


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def pattern_within(inner: str, outer: str) -> bool:
    """Whether every ARN ``inner`` matches is also matched by ``outer``. Sound: a False
    only costs precision (the caller falls back to something narrower)."""
    head = outer[:-1]
    if outer.endswith("*") and not has_wildcard(head) and "${" not in outer:
        # The common case, ``prefix*``: exact and much cheaper than the general check.
        return inner.startswith(head) and not has_wildcard(inner[: len(head)])
    return pattern_covers(outer, inner)


def _resource_part(arn: str) -> tuple[str, str] | None:
    parts = _split(arn)
    if parts is None:
        return None
    return ":".join(parts[:5]) + ":", parts[5]


def _min_components(arn: str) -> int:
    """Path components a generalised prefix must keep. In S3 the first component is
    the bucket name, a real resource; elsewhere it is usually the resource type
    (``table/``, ``role/``, ``function/``) and one concrete name must follow it."""
    parts = _split(arn)
    return 1 if parts is not None and parts[2] == "s3" else 2


def generalise(arns: Iterable[str], config: GeneralizeConfig) -> list[str]:
    """Fold ARNs into ``prefix/*`` where a path prefix has many distinct children.

    The ARNs' resource parts form a tree of ``/``-separated components. Deepest
    first, a prefix with at least ``min_siblings`` distinct children (objects or
    sub-prefixes leading to them) becomes ``prefix/*``; that subtree then counts as
    one child of its parent. So 48 ``builds/<sha>/app.zip`` objects become
    ``builds/*``, while two objects in one folder stay listed (at the default of 3). A
    prefix never has fewer than :func:`_min_components` components, so ``bucket/*``
    is the widest an S3 object set can become and ``table/*`` is never produced.
    Patterns already present pass through unchanged. Sorted output.
    """
    items = sorted(set(arns))
    if not config.enabled or config.min_siblings < 2:
        return items
    out: set[str] = set()
    # (head, prefix components) -> distinct next components; and the items below.
    children: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    below: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for item in items:
        split = _resource_part(item)
        if split is None or has_wildcard(item):
            out.add(item)
            continue
        head, res = split
        parts = tuple(res.split("/"))
        floor = _min_components(item)
        for depth in range(floor, len(parts)):
            key = (head, parts[:depth])
            children.setdefault(key, set()).add(parts[depth])
            below.setdefault(key, set()).add(item)
        if len(parts) <= floor:
            out.add(item)
    folds: list[tuple[str, tuple[str, ...]]] = [
        key for key, kids in children.items() if len(kids) >= config.min_siblings
    ]
    # Deeper folds inside a shallower one are covered by it: keep the topmost only.
    tops = {
        (head, prefix)
        for head, prefix in folds
        if not any(h == head and len(p) < len(prefix) and prefix[: len(p)] == p for h, p in folds)
    }
    folded: set[str] = set()
    for key in tops:
        folded |= below[key]
        out.add(key[0] + "/".join(key[1]) + "/*")
    out |= {
        i
        for i in items
        if i not in folded and _resource_part(i) is not None and not has_wildcard(i)
    }
    return sorted(out)


def scope_to_original(
    observed: Iterable[str], original: str, config: GeneralizeConfig
) -> list[str]:
    """Resource patterns covering every observed ARN, all inside ``original``.

    ``observed`` must be ARNs that ``original`` matches. Each generalised pattern is
    kept only if it lies inside ``original``; the ARNs it would have covered are
    otherwise listed one by one. If ``original`` is itself narrower than a generalised
    pattern it replaces it. Too many resulting entries: the original pattern.
    """
    concrete = sorted({a for a in observed if arn_matches(original, a)})
    if not concrete:
        return []
    out: set[str] = set()
    for pattern in generalise(concrete, config):
        if pattern_within(pattern, original):
            out.add(pattern)
        elif has_wildcard(original) and pattern_within(original, pattern):
            out.add(original)
        else:
            out.update(a for a in concrete if arn_matches(pattern, a))
    result = drop_redundant(out)
    if len(result) > config.max_resources:
        return [original]
    return result


def drop_redundant(patterns: Iterable[str]) -> list[str]:
    """Sorted patterns without those another (kept) pattern already covers."""
    items = sorted(set(patterns))
    wild = [o for o in items if has_wildcard(o)]
    kept: list[str] = []
    for r in items:
        covered = False
        if not has_wildcard(r):
            # A concrete ARN is covered exactly when a wildcard pattern matches it.
            covered = any(arn_matches(o, r) for o in wild)
        else:
            for o in wild:
                if o == r or not pattern_within(r, o):
                    continue
                # Of two patterns covering each other keep the smaller string, once.
                if not pattern_within(o, r) or o < r:
                    covered = True
                    break
        if not covered:
            kept.append(r)
    return kept
