"""IAM pattern semantics in plain Python: the twins of the SQL macros in
``sql/schema/30_grants.sql``.

The database does the bulk work with the macros; these functions exist so the
property tests can check the macros against an independent implementation, and
so library code can answer one-off questions without a query. IAM knows only
``*`` (any run of characters) and ``?`` (one character); actions match
case-insensitively, resources case-sensitively. A policy variable such as
``${aws:username}`` stands for text only known at request time, so it is treated
as ``*`` (and flagged by the findings).
"""

from __future__ import annotations

import re
from functools import lru_cache

_VARIABLE = re.compile(r"\$\{[^}]*\}")


def strip_variables(pattern: str) -> str:
    """Replace every policy variable with ``*``."""
    return _VARIABLE.sub("*", pattern)


def has_variables(pattern: str) -> bool:
    return bool(_VARIABLE.search(pattern))


@lru_cache(maxsize=65536)
def glob_regex(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """An IAM glob as a compiled regex matching whole strings."""
    parts = []
    for ch in strip_variables(pattern):
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def action_matches(pattern: str, action: str) -> bool:
    """Does an Action element value (``s3:Get*``) match an action? Case-insensitive."""
    return glob_regex(pattern.lower()).fullmatch(action.lower()) is not None


def resource_matches(pattern: str, arn: str) -> bool:
    """Does a Resource element value match a concrete ARN? Case-sensitive, like IAM."""
    if pattern == "*" or pattern == arn:
        return True
    return glob_regex(pattern).fullmatch(arn) is not None


def pattern_covers(d: str, a: str) -> bool:
    """Does every string that ``a`` matches also match ``d``? (Exact for IAM globs.)

    Used to decide whether a Deny on ``d`` blocks an Allow on ``a`` entirely. A ``d``
    with a policy variable covers only if it is ``*`` (its value is unknown).
    """
    if d == "*" or d == a:
        return True
    if has_variables(d):
        return False
    return _covers(d, strip_variables(a))


@lru_cache(maxsize=65536)
def _covers(d: str, a: str) -> bool:
    # Language inclusion for globs: a's '*' can only be absorbed by d's '*'; a's '?'
    # by d's '?' or '*'; a literal by the same literal, '?' or '*'.
    n, m = len(d), len(a)
    # reach[i][j]: d[:i] can cover a[:j]
    reach = [[False] * (m + 1) for _ in range(n + 1)]
    reach[0][0] = True
    for i in range(n + 1):
        for j in range(m + 1):
            if not reach[i][j]:
                continue
            if i < n and d[i] == "*":
                reach[i + 1][j] = True  # d's star matches nothing more
                if j < m:
                    reach[i][j + 1] = True  # d's star absorbs a[j], whatever it is
            if i < n and j < m and d[i] != "*":
                if a[j] == "*":
                    continue
                if d[i] == "?" or d[i] == a[j]:
                    reach[i + 1][j + 1] = True
    return reach[n][m]


def patterns_overlap(p: str, q: str) -> bool:
    """Is there a string both IAM globs match? (Exact: product of the two automata.)"""
    if p == "*" or q == "*" or p == q:
        return True
    return _overlap(strip_variables(p), strip_variables(q))


@lru_cache(maxsize=65536)
def _overlap(p: str, q: str) -> bool:
    n, m = len(p), len(q)
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == n and j == m:
            return True
        nxt = []
        if i < n and p[i] == "*":
            nxt.append((i + 1, j))
            if j < m and q[j] != "*":
                nxt.append((i, j + 1))  # p's star eats the character q produces
        if j < m and q[j] == "*":
            nxt.append((i, j + 1))
            if i < n and p[i] != "*":
                nxt.append((i + 1, j))
        if i < n and j < m and p[i] != "*" and q[j] != "*":
            if p[i] == "?" or q[j] == "?" or p[i] == q[j]:
                nxt.append((i + 1, j + 1))
        stack.extend(nxt)
    return False


def template_glob(arn_template: str) -> str:
    """A catalog ARN template (``arn:${Partition}:s3:::${BucketName}``) as an IAM glob."""
    return strip_variables(arn_template)
