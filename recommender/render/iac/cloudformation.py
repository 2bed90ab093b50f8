"""Find and edit IAM policies in CloudFormation templates (YAML and JSON).

``AWS::IAM::Role`` ``Policies``, ``AWS::IAM::Policy`` and
``AWS::IAM::ManagedPolicy``. PyYAML's composer gives every node its character
offsets without constructing values, so short-form intrinsics (``!Sub``,
``!Ref``, ``!GetAtt``, ``!Join``) need no special loader and are kept exactly
as written; long forms (``Fn::Sub``, ``Ref``) in either syntax likewise. A
value that uses one is an expression whose *pattern* (``${Bucket}`` -> ``*``)
is only used to check that the template still says what AWS has.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from recommender.render.iac.dialects import Dialect, YamlDialect, ordered_document
from recommender.render.iac.model import Found
from recommender.render.iac.nodes import (
    Edit,
    Entry,
    Node,
    ParseError,
    glob_match,
    indent_at,
    line_end,
    line_no,
    line_start,
    only_space_before,
    parse_json,
    template_pattern,
)
from recommender.render.iac.policyedit import PolicySite, _delete_items, _item_separator, _Manual

TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json", ".template")
AWS_MANAGED = "arn:aws:iam::aws:policy/"


# ---- YAML / JSON -> Node ------------------------------------------------------------------


def _yaml_end(n: yaml.Node) -> int:
    """Where a node's own text ends (PyYAML extends block collections to the next token)."""
    if isinstance(n, yaml.MappingNode) and not n.flow_style and n.value:
        return _yaml_end(n.value[-1][1])
    if isinstance(n, yaml.SequenceNode) and not n.flow_style and n.value:
        return _yaml_end(n.value[-1])
    return n.end_mark.index


def _yaml_node(n: yaml.Node, text: str) -> Node:
    start, end = n.start_mark.index, _yaml_end(n)
    custom = n.tag.startswith("!")
    if isinstance(n, yaml.ScalarNode):
        if custom:
            return Node("expr", start, end, pattern=_short_pattern(n), value=n.tag, extra=n)
        return Node("str", start, end, value=n.value, extra=n)
    style = "flow" if getattr(n, "flow_style", False) else "block"
    if isinstance(n, yaml.SequenceNode):
        node = Node("seq", start, end, style=style, open_pos=start, extra=n)
        for item in n.value:
            child = _yaml_node(item, text)
            if style == "block":
                child.open_pos = text.rfind("-", line_start(text, child.start), child.start)
            node.items.append(child)
        if custom:
            return Node("expr", start, end, pattern=_short_pattern(n), value=n.tag, extra=n)
        return node
    node = Node("map", start, end, style=style, open_pos=start, extra=n)
    for k, v in n.value:
        val = _yaml_node(v, text)
        node.entries.append(Entry(str(k.value), k.start_mark.index, val.end, val))
    if custom:
        return Node("expr", start, end, pattern="*", value=n.tag, extra=n)
    return _intrinsic(node)


def _short_pattern(n: yaml.Node) -> str:
    if n.tag == "!Sub":
        if isinstance(n, yaml.ScalarNode):
            return template_pattern(n.value)
        if isinstance(n, yaml.SequenceNode) and n.value and isinstance(n.value[0], yaml.ScalarNode):
            return template_pattern(n.value[0].value)
    if n.tag == "!Join" and isinstance(n, yaml.SequenceNode) and len(n.value) == 2:
        sep, parts = n.value
        if isinstance(sep, yaml.ScalarNode) and isinstance(parts, yaml.SequenceNode):
            return sep.value.join(
                p.value if isinstance(p, yaml.ScalarNode) and not p.tag.startswith("!") else "*"
                for p in parts.value
            )
    return "*"


def _intrinsic(node: Node) -> Node:
    """``{"Ref": ..}`` / ``{"Fn::Sub": ..}`` maps are expressions, not data."""
    if len(node.entries) != 1:
        return node
    key = node.entries[0].key
    if key != "Ref" and not key.startswith("Fn::") and key != "Condition":
        return node
    val = node.entries[0].value
    pattern = "*"
    if key == "Fn::Sub":
        tmpl = (
            val
            if val.kind == "str"
            else (val.items[0] if val.kind == "seq" and val.items else None)
        )
        if tmpl is not None and tmpl.kind == "str":
            pattern = template_pattern(tmpl.value)
    elif (
        key == "Fn::Join"
        and val.kind == "seq"
        and len(val.items) == 2
        and val.items[1].kind == "seq"
    ):
        sep = val.items[0].value if val.items[0].kind == "str" else ""
        pattern = sep.join(p.value if p.kind == "str" else "*" for p in val.items[1].items)
    return Node(
        "expr",
        node.start,
        node.end,
        pattern=pattern,
        value=key,
        entries=node.entries,
        extra=node.extra,
    )


def _json_intrinsics(node: Node) -> Node:
    for e in node.entries:
        e.value = _json_intrinsics(e.value)
    node.items = [_json_intrinsics(i) for i in node.items]
    return _intrinsic(node) if node.kind == "map" else node


# ---- templates ---------------------------------------------------------------------------


@dataclass
class Template:
    path: str
    text: str
    root: Node
    dialect: Dialect
    params: dict[str, str]

    @property
    def resources(self) -> Node:
        e = self.root.get("Resources")
        assert e is not None
        return e.value

    def of_type(self, rtype: str) -> Iterator[tuple[str, Node, Node]]:
        """(logical id, resource node, Properties node) of every resource of ``rtype``."""
        for e in self.resources.entries:
            res = e.value
            if res.kind != "map":
                continue
            t = res.get("Type")
            if t and t.value.kind == "str" and t.value.value == rtype:
                props = res.get("Properties")
                yield e.key, res, props.value if props else Node("map", res.end, res.end)

    def where(self, lid: str, node: Node | None = None) -> str:
        entry = next(e for e in self.resources.entries if e.key == lid)
        pos = node.start if node is not None else entry.start
        return f"{self.path}:{line_no(self.text, pos)} {lid}"

    def resolve(self, node: Node | None) -> str | None:
        """A literal string value, following ``Ref``/``Sub`` of parameters with defaults."""
        if node is None:
            return None
        if node.kind == "str":
            return str(node.value)
        if node.kind != "expr":
            return None
        tag, arg = self._intrinsic_arg(node)
        if tag in ("!Ref", "Ref") and arg is not None and arg.kind == "str":
            return self.params.get(str(arg.value))
        if tag in ("!Sub", "Fn::Sub") and arg is not None and arg.kind == "str":

            def sub(m: re.Match[str]) -> str:
                v = self.params.get(m.group(1))
                if v is None:
                    raise KeyError(m.group(1))
                return v

            try:
                return re.sub(r"\$\{([\w:.]+)\}", sub, str(arg.value))
            except KeyError:
                return None
        return None

    def _intrinsic_arg(self, node: Node) -> tuple[str | None, Node | None]:
        if (
            isinstance(node.extra, yaml.ScalarNode)
            and node.value
            and str(node.value).startswith("!")
        ):
            return node.value, Node("str", node.start, node.end, value=node.extra.value)
        if node.entries:
            return node.entries[0].key, node.entries[0].value
        return None, None

    def pattern(self, node: Node | None) -> str | None:
        if node is None:
            return None
        lit = self.resolve(node)
        if lit is not None:
            return lit
        return node.pattern if node.kind == "expr" else None

    def refs(self, node: Node) -> str | None:
        """The logical id a ``Ref``/``!Ref`` (or ``!GetAtt X.Arn``) points at."""
        tag, arg = self._intrinsic_arg(node) if node.kind == "expr" else (None, None)
        if tag in ("!Ref", "Ref") and arg is not None and arg.kind == "str":
            return str(arg.value)
        if tag in ("!GetAtt", "Fn::GetAtt") and arg is not None:
            if arg.kind == "str":
                return str(arg.value).split(".")[0]
            if arg.kind == "seq" and arg.items and arg.items[0].kind == "str":
                return str(arg.items[0].value)
        return None


def load_template(root: Path, rel: str) -> Template | None:
    text = (root / rel).read_text(encoding="utf-8")
    if rel.endswith(".json") or text.lstrip().startswith("{"):
        try:
            node = _json_intrinsics(parse_json(text))
        except ParseError:
            return None
        dialect: Dialect = Dialect()
    else:
        try:
            composed = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            return None
        if composed is None:
            return None
        node = _yaml_node(composed, text)
        dialect = YamlDialect()
    if node.kind != "map":
        return None
    res = node.get("Resources")
    if res is None or res.value.kind != "map":
        return None
    types = [e.value.get("Type") for e in res.value.entries if e.value.kind == "map"]
    if node.get("AWSTemplateFormatVersion") is None and not any(
        t and t.value.kind == "str" and str(t.value.value).startswith("AWS::") for t in types
    ):
        return None
    params: dict[str, str] = {}
    pe = node.get("Parameters")
    if pe is not None and pe.value.kind == "map":
        for e in pe.value.entries:
            d = e.value.get("Default") if e.value.kind == "map" else None
            if d is not None and d.value.kind == "str":
                params[e.key] = str(d.value.value)
    return Template(rel, text, node, dialect, params)


def check_parses(text: str, path: str) -> None:
    try:
        if path.endswith(".json") or text.lstrip().startswith("{"):
            parse_json(text)
        else:
            yaml.compose(text, Loader=yaml.SafeLoader)
    except (ParseError, yaml.YAMLError) as e:
        raise ParseError(f"{path}: {e}") from e


class CloudFormationRepo:
    """Every CloudFormation template of a repository."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.templates: list[Template] = []
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root)
            if (
                not f.is_file()
                or f.suffix not in TEMPLATE_SUFFIXES
                or any(p.startswith(".") for p in rel.parts)
            ):
                continue
            t = load_template(root, rel.as_posix())
            if t is not None:
                self.templates.append(t)

    def match_role(
        self, role: dict[str, Any]
    ) -> tuple[list[tuple[Template, str]], list[tuple[str, str]]]:
        name = role["name"]
        hits: list[tuple[Template, str]] = []
        unresolved: list[tuple[str, str]] = []  # (name pattern, description)
        for t in self.templates:
            for lid, _res, props in t.of_type("AWS::IAM::Role"):
                rn = props.get("RoleName") if props.kind == "map" else None
                if rn is None:
                    # CloudFormation names it <stack>-<LogicalId>-<random> (parts cut to fit 64)
                    if re.fullmatch(
                        r".+-" + re.escape(lid[: max(1, len(lid))]) + r"-[A-Za-z0-9]{6,}", name
                    ):
                        hits.append((t, lid))
                    continue
                lit = t.resolve(rn.value)
                if lit is not None:
                    if lit == name:
                        hits.append((t, lid))
                    continue
                pat = t.pattern(rn.value)
                if pat and pat != "*" and glob_match(pat, name):
                    hits.append((t, lid))
                else:
                    unresolved.append((pat or "*", f"{t.where(lid)} (RoleName not resolvable)"))
        return hits, unresolved

    # ---- documents ----------------------------------------------------------------------

    def document_site(self, t: Template, doc: Node | None, where: str) -> Found:
        if doc is None:
            return Found(where, manual=f"{where}: no PolicyDocument")
        if doc.kind != "map":
            return Found(
                where,
                manual=f"{where}: the PolicyDocument is computed or a string; edit it by hand",
            )
        st = doc.get("Statement")
        if st is None:
            return Found(where, manual=f"{where}: no Statement")
        v = st.value
        if v.kind == "map":
            return Found(where, site=PolicySite(t.path, t.text, [v], t.dialect, where, single=True))
        if v.kind != "seq" or not all(i.kind == "map" for i in v.items):
            return Found(
                where,
                manual=f"{where}: statements use intrinsic functions (Fn::If ...); edit by hand",
            )
        return Found(
            where,
            site=PolicySite(
                t.path,
                t.text,
                v.items,
                t.dialect,
                where,
                container=v,
                line_items=v.style == "block",
            ),
        )

    def _role_refs(
        self, t: Template, roles_node: Node | None, lid: str, name: str
    ) -> tuple[int, int] | None:
        """(index, count) of the role in a ``Roles`` list, when it is there."""
        if roles_node is None or roles_node.kind != "seq":
            return None
        for i, item in enumerate(roles_node.items):
            if t.refs(item) == lid or t.resolve(item) == name:
                return i, len(roles_node.items)
        return None

    def role_policy_sites(
        self, t: Template, lid: str, role_name: str, policy_name: str
    ) -> list[Found]:
        out: list[Found] = []
        props = _props(t, "AWS::IAM::Role")[lid]
        pol = props.get("Policies") if props.kind == "map" else None
        if pol is not None and pol.value.kind == "seq":
            for item in pol.value.items:
                if item.kind == "map" and t.resolve(_val(item, "PolicyName")) == policy_name:
                    where = f"{t.where(lid, item)} Policies[{policy_name}]"
                    doc = item.get("PolicyDocument")
                    out.append(self.document_site(t, doc.value if doc else None, where))
        elif pol is not None:
            out.append(Found(t.where(lid), manual=f"{t.where(lid)}: Policies is computed"))
        for pid, _res, pprops in t.of_type("AWS::IAM::Policy"):
            if pprops.kind != "map":
                continue
            hit = self._role_refs(t, _val(pprops, "Roles"), lid, role_name)
            pn = t.resolve(_val(pprops, "PolicyName"))
            if hit is None or pn != policy_name:
                continue
            where = t.where(pid)
            if hit[1] > 1:
                out.append(
                    Found(
                        where, manual=f"{where}: this AWS::IAM::Policy is shared by {hit[1]} roles"
                    )
                )
                continue
            doc = pprops.get("PolicyDocument")
            out.append(self.document_site(t, doc.value if doc else None, where))
        return out

    def managed_policy_sites(
        self, name: str, arn: str | None, role: tuple[Template, str] | None
    ) -> list[Found]:
        out = []
        for t in self.templates:
            for pid, _res, props in t.of_type("AWS::IAM::ManagedPolicy"):
                if props.kind != "map":
                    continue
                mpn = props.get("ManagedPolicyName")
                hit = False
                if mpn is not None:
                    hit = t.resolve(mpn.value) == name
                elif role is not None and role[0] is t:
                    hit = (
                        self._managed_attached(t, pid, role[1])
                        and re.fullmatch(r".+-" + re.escape(pid) + r"-[A-Za-z0-9]{6,}", name)
                        is not None
                    )
                if hit:
                    doc = props.get("PolicyDocument")
                    out.append(self.document_site(t, doc.value if doc else None, t.where(pid)))
        return out

    def _managed_attached(self, t: Template, pid: str, lid: str) -> bool:
        props = _props(t, "AWS::IAM::ManagedPolicy")[pid]
        if self._role_refs(t, _val(props, "Roles"), lid, "\0") is not None:
            return True
        rprops = _props(t, "AWS::IAM::Role")[lid]
        mpa = rprops.get("ManagedPolicyArns") if rprops.kind == "map" else None
        return (
            mpa is not None
            and mpa.value.kind == "seq"
            and any(t.refs(i) == pid for i in mpa.value.items)
        )

    # ---- removal / detach ------------------------------------------------------------------

    def attachment_edits(
        self, t: Template, lid: str, role_name: str, arn: str, name: str
    ) -> Found | None:
        rprops = _props(t, "AWS::IAM::Role")[lid]
        mpa = rprops.get("ManagedPolicyArns") if rprops.kind == "map" else None
        where = t.where(lid)
        if mpa is not None:
            if mpa.value.kind != "seq":
                return Found(where, manual=f"{where}: ManagedPolicyArns is computed")
            for i, item in enumerate(mpa.value.items):
                pat = t.pattern(item)
                ref = t.refs(item)
                by_ref = ref is not None and any(
                    p == ref and t.resolve(_val(pp, "ManagedPolicyName")) == name
                    for p, _r, pp in t.of_type("AWS::IAM::ManagedPolicy")
                )
                if (pat is not None and pat != "*" and glob_match(pat, arn)) or by_ref:
                    return self._remove_list_item(t, rprops, mpa, i, f"{where} ManagedPolicyArns")
        for pid, _res, props in t.of_type("AWS::IAM::ManagedPolicy"):
            roles = props.get("Roles") if props.kind == "map" else None
            hit = self._role_refs(t, roles.value if roles else None, lid, role_name)
            if hit is None or roles is None:
                continue
            mpn = props.get("ManagedPolicyName")
            if mpn is not None and t.resolve(mpn.value) == name:
                return self._remove_list_item(t, props, roles, hit[0], f"{t.where(pid)} Roles")
        return None

    def _remove_list_item(
        self, t: Template, parent: Node, entry: Entry, i: int, where: str
    ) -> Found:
        try:
            if len(entry.value.items) > 1:
                edits = _delete_items(t.text, entry.value.items, {i}, entry.value.style == "block")
            else:
                edits = [delete_entry(t.text, parent, entry)]
        except _Manual as e:
            return Found(where, manual=f"{where}: {e}")
        return Found(where, edits={t.path: edits})

    def inline_removal(
        self, t: Template, lid: str, role_name: str, policy_name: str
    ) -> Found | None:
        rprops = _props(t, "AWS::IAM::Role")[lid]
        pol = rprops.get("Policies") if rprops.kind == "map" else None
        if pol is not None and pol.value.kind == "seq":
            for i, item in enumerate(pol.value.items):
                if item.kind == "map" and t.resolve(_val(item, "PolicyName")) == policy_name:
                    return self._remove_list_item(
                        t, rprops, pol, i, f"{t.where(lid, item)} Policies[{policy_name}]"
                    )
        for pid, _res, pprops in t.of_type("AWS::IAM::Policy"):
            if pprops.kind != "map":
                continue
            roles = pprops.get("Roles")
            hit = self._role_refs(t, roles.value if roles else None, lid, role_name)
            if hit is None or t.resolve(_val(pprops, "PolicyName")) != policy_name:
                continue
            if hit[1] > 1:
                assert roles is not None
                return self._remove_list_item(t, pprops, roles, hit[0], f"{t.where(pid)} Roles")
            if re.search(
                r"(?<![\w:])" + re.escape(pid) + r"(?![\w])",
                t.text[: self._entry(t, pid).start] + t.text[self._entry(t, pid).end :],
            ):
                return Found(
                    t.where(pid),
                    manual=f"{t.where(pid)} is referenced elsewhere in the template; remove it by hand",
                )
            return Found(
                t.where(pid),
                edits={t.path: [delete_entry(t.text, t.resources, self._entry(t, pid))]},
            )
        return None

    def _entry(self, t: Template, lid: str) -> Entry:
        return next(e for e in t.resources.entries if e.key == lid)

    def add_inline_policy(
        self, t: Template, lid: str, policy_name: str, document: dict[str, Any]
    ) -> Found:
        """Append a ``Policies`` item to the role (creating ``Policies`` when absent)."""
        rprops = _props(t, "AWS::IAM::Role")[lid]
        where = t.where(lid)
        if rprops.kind != "map" or not rprops.entries:
            return Found(where, manual=f"{where}: no Properties to add the policy to")
        item = {"PolicyName": policy_name, "PolicyDocument": ordered_document(document)}
        pol = rprops.get("Policies")
        text, d = t.text, t.dialect
        if pol is not None and pol.value.kind == "seq" and pol.value.items:
            items = pol.value.items
            last = items[-1]
            if pol.value.style == "block":
                # a whole new "- " item after the last line of the list, so it cannot
                # collide with edits inside the last item
                first = last.open_pos if last.open_pos is not None else last.start
                prefix = text[line_start(text, first) : last.start]
                col = " " * len(prefix)
                at = line_end(text, last.end)
                block = d.block(item, col) if isinstance(d, YamlDialect) else d.value(item, col)
                return Found(
                    f"{where} Policies", edits={t.path: [Edit(at, at, prefix + block + "\n")]}
                )
            sep = _item_separator(text, items, pol.value, False)
            new = d.value(item, indent_at(text, last.start))
            return Found(f"{where} Policies", edits={t.path: [Edit(last.end, last.end, sep + new)]})
        if pol is not None:
            return Found(where, manual=f"{where}: Policies is computed")
        last_entry = rprops.entries[-1]
        ind = indent_at(text, last_entry.start)
        if isinstance(d, YamlDialect):
            if rprops.style != "block":
                return Found(where, manual=f"{where}: Properties is a flow mapping")
            new = "\n" + ind + "Policies:\n" + ind + "  - " + d.block(item, ind + "    ")
        else:
            new = ",\n" + ind + d.key("Policies") + d.value([item], ind)
        at = last_entry.end
        return Found(f"{where} Policies", edits={t.path: [Edit(at, at, new)]})


def _val(node: Node, key: str) -> Node | None:
    e = node.get(key)
    return e.value if e is not None else None


def _props(t: Template, rtype: str) -> dict[str, Node]:
    """Logical id -> Properties node of every resource of ``rtype``."""
    return {lid: props for lid, _res, props in t.of_type(rtype)}


def delete_entry(text: str, parent: Node, entry: Entry) -> Edit:
    """Delete one ``key: value`` from a map, with its separator or whole lines."""
    if parent.style == "block" and only_space_before(text, entry.start):
        return Edit(line_start(text, entry.start), line_end(text, entry.end - 1), "")
    items = [Node("x", e.start, e.end) for e in parent.entries]
    i = parent.entries.index(entry)
    edits = _delete_items(text, items, {i}, False)
    return edits[0]
