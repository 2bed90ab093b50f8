"""Map a recommended policy document back onto the text that defines the policy.

The recommended document is the deployed one with actions, resources or whole
statements taken away. Rewriting the file from the recommended JSON would lose
``${var.bucket}``, ``!Sub`` and comments, so instead each recommended statement
is matched to the source statement it came from (by ``Sid``, else by being a
subset of it) and only the differences become text edits: list items removed,
literal items added, statements deleted or split. A value that did not change is
left exactly as written, references included.

Before editing, the source statements are checked against the deployed
(current) document: if the repository no longer says what AWS has (drift), the
policy is reported for a manual change instead of being guessed at.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from recommender.render.iac.dialects import LIST_FIELDS, Dialect
from recommender.render.iac.nodes import (
    Edit,
    Entry,
    Node,
    apply_edits,
    glob_match,
    indent_at,
    line_end,
    line_start,
    only_space_before,
)


@dataclass
class PolicySite:
    """Where one policy document's statements are written in one file."""

    path: str  # repository-relative, POSIX separators
    text: str  # the whole file
    statements: list[Node]  # map-like nodes, one per statement
    dialect: Dialect
    where: str  # for people: "iam.tf:12 aws_iam_role_policy.support"
    container: Node | None = None  # the list holding the statements, if any
    single: bool = False  # "Statement": {...} rather than a list
    line_items: bool = False  # statements are whole lines (YAML block list, HCL blocks)


@dataclass
class PolicyPlan:
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # reviewer-facing remarks
    manual: str | None = None  # why this policy cannot be edited safely


class _Manual(Exception):
    pass


# ---- normalising documents ---------------------------------------------------------


def statements_of(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    if not doc:
        return []
    st = doc.get("Statement", [])
    return [st] if isinstance(st, dict) else list(st)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def norm_condition(cond: Any) -> dict[str, dict[str, list[str]]] | None:
    if not cond:
        return None
    out: dict[str, dict[str, list[str]]] = {}
    for op, pairs in cond.items():
        for key, vals in (pairs or {}).items():
            out.setdefault(op, {})[key.lower()] = sorted(str(v) for v in _as_list(vals))
    return out


def _fold(values: list[str], field_name: str) -> set[str]:
    # IAM compares actions case-insensitively, resources exactly.
    if field_name in ("Action", "NotAction"):
        return {v.lower() for v in values}
    return set(values)


def _field_values(entry: Entry | None) -> list[Node]:
    if entry is None:
        return []
    return list(entry.value.items) if entry.value.kind == "seq" else [entry.value]


def _fields(site: PolicySite, stmt: Node) -> dict[str, Entry]:
    out: dict[str, Entry] = {}
    for e in stmt.entries:
        canon = site.dialect.canonical(e.key)
        if canon:
            out[canon] = e
    return out


# ---- pairing source values with deployed values -------------------------------------


def _pair(nodes: list[Node], values: list[str], field_name: str) -> dict[int, str] | None:
    """Which deployed value each source item spells, or None when they disagree."""
    ci = field_name in ("Action", "NotAction")
    if len(nodes) == 1 and nodes[0].kind == "expr":
        return {}  # one computed value (a variable list, a reference): cannot pair, cannot refute
    if len(nodes) != len(values):
        return None
    left = list(range(len(values)))
    pairs: dict[int, str] = {}
    for i, n in enumerate(nodes):
        if n.kind == "str":
            hit = next(
                (
                    j
                    for j in left
                    if (values[j].lower() == n.value.lower() if ci else values[j] == n.value)
                ),
                None,
            )
            if hit is None:
                return None
            pairs[i] = values[hit]
            left.remove(hit)
    for i, n in enumerate(nodes):
        if n.kind == "str":
            continue
        if n.kind != "expr":
            return None
        hit = next(
            (j for j in left if glob_match(n.pattern or "*", values[j], ignore_case=ci)), None
        )
        if hit is None:
            return None
        pairs[i] = values[hit]
        left.remove(hit)
    return pairs


def _cond_of(site: PolicySite, entry: Entry | None) -> Any:
    """The literal condition written in the source, or ``...`` when it is computed."""
    if entry is None:
        return None
    from recommender.render.iac.nodes import to_python

    if entry.value.kind == "cond-blocks":
        return entry.value.value if entry.value.value is not None else ...
    py = to_python(entry.value)
    if "__expr__" in json.dumps(py):
        return ...
    return py


@dataclass
class _Aligned:
    pairs: dict[str, dict[int, str]]  # field -> source item index -> deployed value


def _align(site: PolicySite, src: Node, cur: dict[str, Any], idx: int) -> _Aligned:
    fields = _fields(site, src)
    eff = fields.get("Effect")
    src_effect = (
        eff.value.value if eff and eff.value.kind == "str" else None
    ) or site.dialect.default_effect
    if eff is not None and eff.value.kind != "str":
        src_effect = cur.get("Effect")  # computed effect: cannot check
    if src_effect != cur.get("Effect"):
        raise _Manual(
            f"statement {idx + 1}: Effect is {src_effect!r} in the repository, {cur.get('Effect')!r} in AWS"
        )
    pairs: dict[str, dict[int, str]] = {}
    for name in LIST_FIELDS:
        nodes = _field_values(fields.get(name))
        values = [str(v) for v in _as_list(cur.get(name))]
        if not nodes and not values:
            continue
        p = _pair(nodes, values, name)
        if p is None:
            raise _Manual(
                f"statement {idx + 1}{_sid_label(cur)}: {name} in the repository does not match the "
                "deployed policy (drift); apply the repository first or edit by hand"
            )
        pairs[name] = p
    src_cond = _cond_of(site, fields.get("Condition"))
    if src_cond is not ... and norm_condition(src_cond) != norm_condition(cur.get("Condition")):
        raise _Manual(
            f"statement {idx + 1}{_sid_label(cur)}: Condition differs from the deployed policy (drift)"
        )
    return _Aligned(pairs)


def _sid_label(stmt: dict[str, Any]) -> str:
    return f" ({stmt['Sid']})" if stmt.get("Sid") else ""


# ---- which deployed statement each recommended statement came from ------------------


def _covers(cur: dict[str, Any], rec: dict[str, Any]) -> int | None:
    """A score when ``rec`` can be a trimmed copy of ``cur`` (higher = closer), else None."""
    if rec.get("Effect") != cur.get("Effect"):
        return None
    if norm_condition(rec.get("Condition")) != norm_condition(cur.get("Condition")):
        return None
    score = 0
    for name in LIST_FIELDS:
        cv = [str(v) for v in _as_list(cur.get(name))]
        rv = [str(v) for v in _as_list(rec.get(name))]
        if bool(cv) != bool(rv):
            return None
        ci = name in ("Action", "NotAction")
        for v in rv:
            if any((c.lower() == v.lower()) if ci else c == v for c in cv):
                score += 2
            elif name in ("Action", "Resource") and any(
                glob_match(c, v, ignore_case=ci) for c in cv
            ):
                score += 1  # narrowed from a wildcard the statement had
            else:
                return None
    return score


def map_statements(
    current: list[dict[str, Any]], recommended: list[dict[str, Any]]
) -> list[int | None]:
    """For each recommended statement, the index of the deployed statement it trims."""
    out: list[int | None] = []
    for rec in recommended:
        sid = rec.get("Sid")
        by_sid = [i for i, c in enumerate(current) if sid and c.get("Sid") == sid]
        if by_sid and _covers(current[by_sid[0]], rec) is not None:
            out.append(by_sid[0])
            continue
        scored = [(s, -i) for i, c in enumerate(current) if (s := _covers(c, rec)) is not None]
        out.append(-max(scored)[1] if scored else None)
    return out


# ---- edits ------------------------------------------------------------------------


def _delete_items(text: str, items: list[Node], remove: set[int], line_items: bool) -> list[Edit]:
    """Edits that delete ``items[i]`` for i in ``remove``, separators included."""
    if line_items:
        edits = []
        for i in sorted(remove):
            n = items[i]
            first = n.open_pos if n.open_pos is not None else n.start
            if not only_space_before(text, first):
                raise _Manual("a list item shares its line with other code")
            edits.append(Edit(line_start(text, first), line_end(text, n.end), ""))
        return edits
    edits = []
    i = 0
    while i < len(items):
        if i not in remove:
            i += 1
            continue
        j = i
        while j + 1 < len(items) and j + 1 in remove:
            j += 1
        if j + 1 < len(items):
            edits.append(Edit(items[i].start, items[j + 1].start, ""))
        elif i > 0:
            edits.append(Edit(items[i - 1].end, items[j].end, ""))
        else:
            raise _Manual("every item of a list would be removed")
        i = j + 1
    return edits


def _item_separator(text: str, items: list[Node], container: Node | None, line_items: bool) -> str:
    """Text that goes between two items of this list, copied from the list itself."""
    last = items[-1]
    if line_items:
        first = last.open_pos if last.open_pos is not None else last.start
        # YAML "- " marker or an HCL block: a new line at the same indentation
        return "\n" + text[line_start(text, first) : last.start]
    if len(items) >= 2:
        gap = text[items[-2].end : items[-1].start]
        if "\n" in gap:
            return (
                gap[: gap.index("\n")].split("#")[0].split("//")[0].rstrip()
                + "\n"
                + indent_at(text, last.start)
            )
        return gap
    open_pos = (
        container.open_pos if container is not None and container.open_pos is not None else None
    )
    comma = ","  # JSON arrays and Terraform tuples both separate items with commas
    if open_pos is not None and "\n" in text[open_pos : last.start]:
        return comma + "\n" + indent_at(text, last.start)
    return comma + " "


def _list_field_edits(
    site: PolicySite,
    entry: Entry,
    name: str,
    keep_idx: list[int],
    add: list[str],
    indent: str,
) -> list[Edit]:
    """Edits turning the list in ``entry`` into its kept items plus ``add``."""
    text, d = site.text, site.dialect
    node = entry.value
    if node.kind != "seq":
        values = ([text[node.start : node.end]] if keep_idx else []) + [d.string(a) for a in add]
        if len(values) == 1 and d.scalar_lists:
            new = values[0]
        else:
            new = "[" + ", ".join(values) + "]"
        return [Edit(node.start, node.end, new)]
    items = node.items
    line_items = node.style == "block"
    removed = set(range(len(items))) - set(keep_idx)
    if not keep_idx:
        # nothing written survives: write the new list in the same place
        if line_items:
            sep = "\n" + text[line_start(text, node.start) : items[0].start]
            first = node.open_pos if node.open_pos is not None else node.start
            body = text[first : items[0].start] + sep.join(d.string(a) for a in add)
            return [Edit(first, items[-1].end, body)]
        return [
            Edit(items[0].start, items[-1].end, _join_flow(text, node, [d.string(a) for a in add]))
        ]
    edits = _delete_items(text, items, removed, line_items)
    if add:
        sep = _item_separator(text, items, node, line_items)
        anchor = items[max(keep_idx)]
        edits.append(Edit(anchor.end, anchor.end, "".join(sep + d.string(a) for a in add)))
    return edits


def _join_flow(text: str, node: Node, parts: list[str]) -> str:
    if len(node.items) >= 2:
        gap = text[node.items[0].end : node.items[1].start]
        return gap.join(parts)
    return (
        ",\n" + indent_at(text, node.items[0].start)
        if "\n" in text[node.start : node.items[0].start]
        else ", "
    ).join(parts)


@dataclass
class _StmtResult:
    edits: list[Edit]
    notes: list[str]


def _statement_edits(
    site: PolicySite,
    src: Node,
    cur: dict[str, Any],
    rec: dict[str, Any],
    aligned: _Aligned,
    label: str,
) -> _StmtResult:
    """Field-level edits that turn source statement ``src`` (deployed ``cur``) into ``rec``."""
    d, text = site.dialect, site.text
    fields = _fields(site, src)
    edits: list[Edit] = []
    notes: list[str] = []
    for name in LIST_FIELDS:
        entry = fields.get(name)
        cur_vals = [str(v) for v in _as_list(cur.get(name))]
        rec_vals = [str(v) for v in _as_list(rec.get(name))]
        if _fold(cur_vals, name) == _fold(rec_vals, name):
            continue
        if entry is None:
            raise _Manual(f"{label}: {name} would have to be added to a statement that has none")
        if not rec_vals:
            raise _Manual(f"{label}: the recommendation drops {name} entirely")
        pairs = aligned.pairs.get(name, {})
        nodes = _field_values(entry)
        ci = name in ("Action", "NotAction")
        rec_fold = {v.lower() if ci else v for v in rec_vals}
        keep_idx = [i for i, v in pairs.items() if (v.lower() if ci else v) in rec_fold]
        kept_fold = {pairs[i].lower() if ci else pairs[i] for i in keep_idx}
        add = [v for v in rec_vals if (v.lower() if ci else v) not in kept_fold]
        if not pairs and nodes:  # one computed value written for the whole list
            written = text[entry.value.start : entry.value.end]
            notes.append(
                f"{label}: {name} was `{written}`; the recommended narrower list is written as literals"
            )
            keep_idx = []
        else:
            for v in add:
                # the written expression this literal most likely replaces: a dropped one first
                order = [i for i in range(len(nodes)) if i not in keep_idx] + sorted(keep_idx)
                exprs = [
                    nodes[i]
                    for i in order
                    if nodes[i].kind == "expr"
                    and glob_match(nodes[i].pattern or "*", v, ignore_case=ci)
                ]
                if exprs:
                    src_text = text[exprs[0].start : exprs[0].end]
                    notes.append(
                        f"{label}: {name} `{v}` is written as a literal; the repository expressed "
                        f"this resource set with `{src_text}`"
                    )
        edits += _list_field_edits(
            site, entry, name, sorted(keep_idx), add, indent_at(text, entry.start)
        )
    rec_sid, src_sid_entry = rec.get("Sid"), fields.get("Sid")
    src_sid = (
        src_sid_entry.value.value if src_sid_entry and src_sid_entry.value.kind == "str" else None
    )
    if rec_sid and src_sid_entry is not None and rec_sid != src_sid:
        edits.append(Edit(src_sid_entry.value.start, src_sid_entry.value.end, d.string(rec_sid)))
    elif rec_sid and src_sid_entry is None:
        first = src.entries[0] if src.entries else None
        if first is None:
            raise _Manual(f"{label}: empty statement")
        sep = d.entry_joiner() + "\n" + indent_at(text, first.start)
        if not only_space_before(text, first.start):
            sep = d.entry_joiner() + " "
        edits.append(Edit(first.start, first.start, d.key(d.keys["Sid"]) + d.string(rec_sid) + sep))
    return _StmtResult(edits, notes)


def _shift(edits: list[Edit], base: int) -> list[Edit]:
    return [Edit(e.start - base, e.end - base, e.new) for e in edits]


def plan_policy(
    site: PolicySite,
    current: dict[str, Any],
    recommended: dict[str, Any],
    label: str,
) -> PolicyPlan:
    """Text edits that make ``site`` say ``recommended``; ``manual`` set when unsafe."""
    try:
        return _plan(site, current, recommended, label)
    except _Manual as e:
        return PolicyPlan(manual=f"{site.where}: {e}")


def _plan(
    site: PolicySite, current: dict[str, Any], recommended: dict[str, Any], label: str
) -> PolicyPlan:
    text = site.text
    cur = statements_of(current)
    rec = statements_of(recommended)
    src = site.statements
    if not rec:
        raise _Manual("the recommendation leaves no statement; remove the policy instead")
    if len(src) != len(cur):
        raise _Manual(
            f"the repository defines {len(src)} statement(s), AWS has {len(cur)} (drift); "
            "apply the repository first or edit by hand"
        )
    aligned = [_align(site, s, c, i) for i, (s, c) in enumerate(zip(src, cur))]
    mapping = map_statements(cur, rec)
    groups: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(src))}
    orphans: list[dict[str, Any]] = []
    for r, m in zip(rec, mapping):
        (groups[m] if m is not None else orphans).append(r)
    plan = PolicyPlan()
    gone = {i for i, g in groups.items() if not g}
    if len(gone) == len(src) and not orphans:
        raise _Manual("every statement would be removed")
    if gone:
        if site.single:
            raise _Manual("the only statement would be removed")
        plan.edits += _delete_items(text, src, gone, site.line_items)
    for i, group in groups.items():
        if not group:
            continue
        label_i = f"{label} statement {i + 1}{_sid_label(cur[i])}"
        results = [_statement_edits(site, src[i], cur[i], r, aligned[i], label_i) for r in group]
        for res in results:
            plan.notes += res.notes
        if len(group) == 1:
            plan.edits += results[0].edits
            continue
        # One statement became several (e.g. split per resource): copy it once per part.
        s = src[i]
        stmt_text = text[s.start : s.end]
        clones = [apply_edits(stmt_text, _shift(res.edits, s.start)) for res in results]
        sep = _item_separator(text, src, site.container, site.line_items)
        if site.single:
            plan.edits.append(Edit(s.start, s.end, "[" + ", ".join(clones) + "]"))
        else:
            plan.edits.append(Edit(s.start, s.end, sep.join(clones)))
        plan.notes.append(f"{label_i}: split into {len(group)} statements")
    if orphans:
        last = src[max(i for i in groups if groups[i])] if any(groups.values()) else src[-1]
        if site.single:
            raise _Manual("new statements cannot be added next to a single Statement object")
        if site.line_items:
            # whole lines after the last statement: clear of any edit inside it
            first = last.open_pos if last.open_pos is not None else last.start
            prefix = text[line_start(text, first) : last.start]
            at = line_end(text, last.end)
            new = "".join(
                prefix + site.dialect.statement(o, " " * len(prefix)) + "\n" for o in orphans
            )
            plan.edits.append(Edit(at, at, new))
        else:
            sep = _item_separator(text, src, site.container, site.line_items)
            ind = indent_at(text, last.start)
            new = "".join(sep + site.dialect.statement(o, ind) for o in orphans)
            plan.edits.append(Edit(last.end, last.end, new))
        plan.notes.append(
            f"{label}: {len(orphans)} recommended statement(s) do not trim an existing one and are "
            "written as literals"
        )
    return plan
