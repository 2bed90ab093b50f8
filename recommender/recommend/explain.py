"""Why each line of a recommendation stays and each removed action goes, in Markdown.

A reviewer approves a permission change when every kept line has a reason they can
check (the calls that needed it, the exception and its owner, the unobservable
reason, the grace period) and every removal has one too (unused since, never
needed, denied anyway). ARNs and names come from CloudTrail and IAM, so every one
is written as a code span (HTML in it stays text) with table pipes escaped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

from recommender.recommend.minimize import RoleResult

_NEVER_LISTED = 15  # never-needed actions of one service listed by name up to this many
_NEVER_LISTED_TOTAL = 200  # above this many in one group, only counts per service


def code(text: str) -> str:
    """``text`` as a Markdown code span safe inside a table cell."""
    text = text.replace("\n", " ").replace("|", "\\|")
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (ticks + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell(text: str) -> str:
    """Plain text for a table cell: pipes escaped, no line breaks, no raw HTML."""
    return text.replace("\n", " ").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _resources(items: list[str], limit: int = 6) -> str:
    shown = [code(r) for r in items[:limit]]
    if len(items) > limit:
        shown.append(f"and {len(items) - limit} more")
    return ", ".join(shown) or "-"


def explain_role(result: RoleResult, window_days: int, as_of: date) -> str:
    """The Markdown explanation of one role's recommendation."""
    role = result.role
    lines = [
        f"# {code(role.name)}: {result.verdict}",
        "",
        f"{code(role.principal_arn)}; window {window_days} days up to {as_of.isoformat()}.",
        "",
        cell(result.message),
        "",
    ]
    if result.verdict == "skipped":
        return "\n".join(lines).rstrip() + "\n"
    lines += [
        (
            f"Actions allowed today: {result.actions_before}; kept: {result.actions_after}; "
            f"scoped to the resources used: {result.resources_scoped}."
        ),
        "",
        "## Policies",
        "",
    ]
    for c in result.policies:
        p = c.policy
        what = {
            "unchanged": "unchanged",
            "trimmed": "trimmed in place (same Sids and conditions)",
            "removed": "remove: nothing in it is needed",
            "detach": (
                "detach"
                + ("; it is shared, see shared_policies" if p.shared else "")
                + (
                    "; the part still needed moves to the new policy below"
                    if result.new_policies
                    else ""
                )
            ),
        }[c.change]
        lines.append(f"- {code(p.name)} ({p.kind}): {what}")
    for n in result.new_policies:
        lines.append(
            f"- new policy {code(n['name'])}, replacing {', '.join(code(r) for r in n['replaces'])}"
        )
    lines.append("")

    lines += ["## Kept", ""]
    if result.kept:
        lines += ["| action | why | resources |", "|---|---|---|"]
        for k in result.kept:
            lines.append(
                f"| {code(k.action)} | {cell('; '.join(k.reasons))} | {_resources(k.resources)} |"
            )
    else:
        lines.append("Nothing.")
    lines.append("")

    lines += ["## Removed", ""]
    groups: dict[str, list] = defaultdict(list)
    for r in result.removed:
        groups[r.status].append(r)
    if not result.removed:
        lines.append("Nothing.")
    for status in ("unused", "denied", "unexplained", "unobservable", "used"):
        for r in groups.get(status, []):
            lines.append(f"- {code(r.action)}: {cell(r.reason)}")
    never = groups.get("never_needed", [])
    if never:
        by_reason: dict[str, list[str]] = defaultdict(list)
        for r in never:
            by_reason[r.reason].append(r.action)
        for reason, actions in sorted(by_reason.items()):
            lines.append(f"- {len(actions)} action(s), {cell(reason)}:")
            by_service: dict[str, list[str]] = defaultdict(list)
            for a in actions:
                by_service[a.split(":", 1)[0]].append(a)
            if len(actions) > _NEVER_LISTED_TOTAL:
                # Thousands of names help nobody here; <role>.json lists them all.
                counts = ", ".join(f"{s} ({len(n)})" for s, n in sorted(by_service.items()))
                lines.append(f"  - by service (names in the role's JSON file): {cell(counts)}")
                continue
            for service, names in sorted(by_service.items()):
                if len(names) <= _NEVER_LISTED:
                    lines.append(f"  - {code(service)}: {', '.join(code(n) for n in names)}")
                else:
                    lines.append(
                        f"  - {code(service)}: {len(names)} actions (listed in the role's JSON file)"
                    )
    lines.append("")

    if result.expired_exceptions or result.unmatched_exceptions:
        lines += ["## Exceptions", ""]
        for rule in result.expired_exceptions:
            lines.append(
                f"- EXPIRED, not honoured: {code(rule.action)} for {code(rule.role)} ({cell(rule.where)}): "
                f"{cell(rule.reason)}; owner {cell(rule.owner)}; expired {rule.expires.isoformat() if rule.expires else ''}"
            )
        for rule in result.unmatched_exceptions:
            lines.append(
                f"- matches no action this role is granted: {code(rule.action)} ({cell(rule.where)})"
            )
        lines.append("")
    if result.notes:
        lines += ["## Notes", ""] + [f"- {cell(n)}" for n in result.notes] + [""]
    return "\n".join(lines).rstrip() + "\n"
