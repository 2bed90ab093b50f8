"""Find and edit IAM policies written in Terraform.

python-hcl2's parse tree keeps character offsets, so every block, attribute and
expression is located exactly and only policy text is replaced. Supported:
``aws_iam_role_policy`` / ``aws_iam_policy`` whose ``policy`` is
``jsonencode({...})``, a heredoc of JSON, ``file("...json")`` or
``data.aws_iam_policy_document.X.json``; ``inline_policy`` blocks of
``aws_iam_role``; attachments (``aws_iam_role_policy_attachment``,
``managed_policy_arns``). Roles are matched to AWS by ``name`` (literal or
built from variables with defaults / locals / tfvars), by ``name_prefix``, or
through a ``terraform show -json`` state file. Anything computed in loops
(``count``, ``for_each``, ``dynamic``) or inside modules called from elsewhere
is reported for a manual change, never guessed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.render.iac.dialects import (
    Dialect,
    HclDataDialect,
    HclObjectDialect,
    HeredocJsonDialect,
    ordered_document,
)
from recommender.render.iac.model import Found
from recommender.render.iac.nodes import (
    Edit,
    Entry,
    Node,
    ParseError,
    line_end,
    line_no,
    line_start,
    parse_json,
    template_pattern,
)
from recommender.render.iac.policyedit import PolicySite

try:  # the tree keeps offsets; hcl2.loads would lose them
    import hcl2
    from lark import Token, Tree
    from lark.exceptions import LarkError
except ImportError:  # pragma: no cover - python-hcl2 is a dependency
    hcl2 = None


AWS_MANAGED_PREFIX = "arn:aws:iam::aws:policy/"
# Terraform's PrefixedUniqueId: prefix + UTC timestamp (18 digits) + 8 hex digits.
NAME_PREFIX_SUFFIX = r"\d{18}[0-9a-f]{8}"


# ---- parse tree -> blocks and nodes ---------------------------------------------------


@dataclass
class TfAttr:
    name: str
    start: int
    end: int
    value: Node


@dataclass
class TfBlock:
    kind: str  # resource, data, variable, locals, module, statement, inline_policy, ...
    labels: list[str]
    start: int
    end: int
    attrs: dict[str, TfAttr]
    blocks: list[TfBlock]
    path: str  # repository-relative file
    text: str = field(repr=False, default="")

    @property
    def address(self) -> str:
        if self.kind == "data":
            return "data." + ".".join(self.labels)
        return ".".join(self.labels)

    @property
    def where(self) -> str:
        return f"{self.path}:{line_no(self.text, self.start)} {self.address}"

    def sub(self, kind: str) -> list[TfBlock]:
        return [b for b in self.blocks if b.kind == kind]

    def dynamic(self) -> bool:
        return "count" in self.attrs or "for_each" in self.attrs


def _attr(b: TfBlock, name: str) -> Node | None:
    a = b.attrs.get(name)
    return a.value if a is not None else None


def _pos(t: Any) -> tuple[int, int]:
    if isinstance(t, Token):
        return t.start_pos, t.end_pos
    return t.meta.start_pos, t.meta.end_pos


def _trees(t: Tree) -> list[Tree]:
    return [c for c in t.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _unwrap(t: Any) -> Any:
    while (
        isinstance(t, Tree)
        and t.data == "expr_term"
        and len(t.children) == 1
        and isinstance(t.children[0], Tree)
    ):
        t = t.children[0]
    return t


def _hcl_string(raw: str) -> str:
    """Decode the characters between the quotes of an HCL string without templates."""
    raw = raw.replace("$${", "${").replace("%%{", "%{")
    return json.loads('"' + raw + '"')


def hcl_node(t: Any, text: str) -> Node:
    """A ``Node`` for an HCL expression tree."""
    t = _unwrap(t)
    start, end = _pos(t)
    if isinstance(t, Token):
        return Node("expr", start, end, pattern="*", extra=t)
    if t.data == "object":
        node = Node("map", start, end, open_pos=start, extra=t)
        for elem in _trees(t):
            if elem.data != "object_elem":
                continue
            key_t = (
                _unwrap(elem.children[0].children[0])
                if isinstance(elem.children[0], Tree)
                else elem.children[0]
            )
            kstart, _ = _pos(key_t)
            key_node = hcl_node(key_t, text)
            key = key_node.value if key_node.kind == "str" else text[kstart : _pos(key_t)[1]]
            val = hcl_node(elem.children[-1], text)
            node.entries.append(Entry(str(key), kstart, val.end, val))
        return node
    if t.data == "tuple":
        node = Node("seq", start, end, open_pos=start, extra=t)
        node.items = [hcl_node(c, text) for c in _trees(t)]
        return node
    if t.data == "string":
        raw = text[start + 1 : end - 1]
        if any(
            isinstance(p, Tree)
            and p.data == "string_part"
            and any(isinstance(x, Tree) for x in p.children)
            for p in t.children
        ):
            return Node("expr", start, end, pattern=template_pattern(raw), extra=t)
        try:
            return Node("str", start, end, value=_hcl_string(raw), extra=t)
        except ValueError:
            return Node("expr", start, end, pattern="*", extra=t)
    if t.data == "identifier":
        return Node("expr", start, end, pattern="*", value=text[start:end], extra=t)
    if t.data == "literal_value":
        word = text[start:end]
        return Node(
            "other",
            start,
            end,
            value={"true": True, "false": False, "null": None}.get(word, word),
            extra=t,
        )
    return Node("expr", start, end, pattern="*", extra=t)


def _block(t: Tree, text: str, path: str) -> TfBlock:
    head: list[str] = []
    body: Tree | None = None
    for c in t.children:
        if isinstance(c, Tree) and c.data == "body":
            body = c
        elif isinstance(c, Tree) and c.data in ("identifier", "keyword"):
            s, e = _pos(c)
            head.append(text[s:e])
        elif isinstance(c, Tree) and c.data == "string":
            s, e = _pos(c)
            head.append(_hcl_string(text[s + 1 : e - 1]))
    start, end = _pos(t)
    blk = TfBlock(head[0], head[1:], start, end, {}, [], path, text)
    for c in _trees(body) if body is not None else []:
        if c.data == "attribute":
            s, e = _pos(c.children[0])
            name = text[s:e]
            val = hcl_node(c.children[-1], text)
            blk.attrs[name] = TfAttr(name, s, _pos(c)[1], val)
        elif c.data == "block":
            blk.blocks.append(_block(c, text, path))
    return blk


def parse_tf(text: str, path: str) -> list[TfBlock]:
    if hcl2 is None:  # pragma: no cover
        raise ParseError("python-hcl2 is not installed")
    try:
        tree = hcl2.parses_to_tree(text)
    except Exception as e:  # lark raises several unrelated types
        raise ParseError(f"{path}: not valid HCL: {str(e).splitlines()[0]}") from e
    body = tree.children[0]
    return [_block(c, text, path) for c in _trees(body) if c.data == "block"]


def check_parses(text: str, path: str) -> None:
    """Raise ``ParseError`` unless python-hcl2 parses ``text``."""
    parse_tf(text, path)


# ---- expression helpers -----------------------------------------------------------------


def _ref_parts(node: Node, text: str) -> list[str] | None:
    """``aws_iam_role.agent.name`` -> ["aws_iam_role", "agent", "name"] (plain references only)."""
    if node.kind != "expr":
        return None
    src = text[node.start : node.end].strip()
    if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)+", src):
        return None
    return src.split(".")


def _function(node: Node, text: str) -> tuple[str, list[Node]] | None:
    t = node.extra
    if not isinstance(t, Tree) or t.data != "function_call":
        return None
    name_t = t.children[0]
    s, e = _pos(name_t)
    args: list[Node] = []
    for c in t.children:
        if isinstance(c, Tree) and c.data == "arguments":
            args = [hcl_node(a, text) for a in _trees(c)]
    return text[s:e], args


# ---- one Terraform module (a directory) ----------------------------------------------------


@dataclass
class TfModule:
    dir: str  # repository-relative directory ("" for the root)
    blocks: list[TfBlock] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)  # "var.x" / "local.y" -> literal
    child: bool = False  # called as a module from another directory of this repository

    def resources(self, rtype: str, kind: str = "resource") -> Iterator[TfBlock]:
        for b in self.blocks:
            if b.kind == kind and b.labels and b.labels[0] == rtype:
                yield b

    def resolve(self, node: Node | None, text: str) -> str | None:
        """The literal string an expression evaluates to, when it can be known here."""
        if node is None:
            return None
        if node.kind == "str":
            return node.value
        src = text[node.start : node.end].strip()
        if src in self.values:
            return self.values[src]
        if node.kind == "expr" and src.startswith('"') and src.endswith('"'):
            out: list[str] = []
            pos = 1
            for m in re.finditer(r"\$\{\s*([\w.-]+)\s*\}", src):
                out.append(src[pos : m.start()])
                if m.group(1) not in self.values:
                    return None
                out.append(self.values[m.group(1)])
                pos = m.end()
            rest = src[pos:-1]
            if "${" in rest or "%{" in rest:
                return None
            out.append(rest)
            try:
                return _hcl_string("".join(out).replace('"', '\\"'))
            except ValueError:
                return None
        return None


class TerraformRepo:
    """Every ``.tf`` file of a repository, grouped by directory (module)."""

    def __init__(self, root: Path, tf_state: dict[str, Any] | None = None) -> None:
        self.root = root
        self.modules: dict[str, TfModule] = {}
        self.errors: list[str] = []
        self.texts: dict[str, str] = {}
        for f in sorted(root.rglob("*.tf")):
            rel = f.relative_to(root).as_posix()
            if any(part.startswith(".") for part in f.relative_to(root).parts):
                continue  # .terraform/ holds downloaded modules: not ours to edit
            text = f.read_text(encoding="utf-8")
            self.texts[rel] = text
            try:
                blocks = parse_tf(text, rel)
            except ParseError as e:
                self.errors.append(str(e))
                continue
            d = f.parent.relative_to(root).as_posix()
            d = "" if d == "." else d
            self.modules.setdefault(d, TfModule(d)).blocks.extend(blocks)
        for f in sorted(list(root.rglob("terraform.tfvars")) + list(root.rglob("*.auto.tfvars"))):
            d = f.parent.relative_to(root).as_posix()
            d = "" if d == "." else d
            if d in self.modules:
                try:
                    tree = hcl2.parses_to_tree(f.read_text(encoding="utf-8"))
                except LarkError as e:
                    self.errors.append(
                        f"{f.relative_to(root).as_posix()}: not valid HCL: {str(e).splitlines()[0]}"
                    )
                    continue
                text = f.read_text(encoding="utf-8")
                for c in _trees(tree.children[0]):
                    if c.data == "attribute":
                        ks, ke = _pos(c.children[0])
                        n = hcl_node(c.children[-1], text)
                        if n.kind == "str":
                            self.modules[d].values[f"var.{text[ks:ke]}"] = n.value
        for m in self.modules.values():
            self._values(m)
        self.external_modules: list[str] = []
        for m in self.modules.values():
            for b in m.blocks:
                if b.kind != "module":
                    continue
                src = m.resolve(b.attrs["source"].value, b.text) if "source" in b.attrs else None
                if src and src.startswith("."):
                    target = (Path(m.dir) / src).as_posix()
                    target = str(Path(target)).replace("\\", "/")
                    norm = Path(target).as_posix()
                    for d, mod in self.modules.items():
                        if (
                            Path(d) == Path(norm)
                            or (self.root / d).resolve() == (self.root / m.dir / src).resolve()
                        ):
                            mod.child = True
                else:
                    self.external_modules.append(f"{b.where} (source = {src or '?'})")
        self.state = _state_index(tf_state) if tf_state else {}

    def _values(self, m: TfModule) -> None:
        for b in m.blocks:
            if b.kind == "variable" and b.labels and "default" in b.attrs:
                d = b.attrs["default"].value
                if d.kind == "str" and f"var.{b.labels[0]}" not in m.values:
                    m.values[f"var.{b.labels[0]}"] = d.value
        # locals may refer to variables and to each other: a few passes settle them
        for _ in range(3):
            for b in m.blocks:
                if b.kind == "locals":
                    for name, a in b.attrs.items():
                        v = m.resolve(a.value, b.text)
                        if v is not None:
                            m.values[f"local.{name}"] = v

    def text(self, path: str) -> str:
        return self.texts[path]

    # ---- roles ----------------------------------------------------------------------

    def roles(self) -> Iterator[tuple[TfModule, TfBlock]]:
        for m in self.modules.values():
            for b in m.resources("aws_iam_role"):
                yield m, b

    def match_role(
        self, role: dict[str, Any]
    ) -> tuple[list[tuple[TfModule, TfBlock]], list[tuple[str, str]]]:
        """Role resources that define ``role``, and notes on definitions that could not be matched."""
        name = role["name"]
        arn = role.get("principal_arn", "")
        hits: list[tuple[TfModule, TfBlock]] = []
        unresolved: list[tuple[str, str]] = []  # (name pattern, description)
        for m, b in self.roles():
            state_vals = self._state_values(m, b)
            if state_vals is not None:
                if state_vals.get("name") == name or state_vals.get("arn") == arn:
                    hits.append((m, b))
                continue
            if "name" in b.attrs:
                resolved = m.resolve(b.attrs["name"].value, b.text)
                if resolved is None:
                    node = b.attrs["name"].value
                    src = b.text[node.start : node.end]
                    loop = ", count/for_each" if b.dynamic() else ""
                    unresolved.append((node.pattern or "*", f"{b.where} (name = {src}{loop})"))
                elif resolved == name:
                    hits.append((m, b))
            elif "name_prefix" in b.attrs:
                prefix = m.resolve(b.attrs["name_prefix"].value, b.text)
                if prefix is None:
                    unresolved.append(("*", f"{b.where} (name_prefix not resolvable)"))
                elif re.fullmatch(re.escape(prefix) + NAME_PREFIX_SUFFIX, name):
                    hits.append((m, b))
            else:
                unresolved.append(("*", f"{b.where} (no name: Terraform generates one)"))
        return hits, unresolved

    def _state_values(self, m: TfModule, b: TfBlock) -> dict[str, Any] | None:
        if not self.state:
            return None
        for addr in self._addresses(m, b):
            if addr in self.state:
                return self.state[addr]
        return None

    def _addresses(self, m: TfModule, b: TfBlock) -> list[str]:
        if not m.child:
            return [b.address]
        out = []
        for parent in self.modules.values():
            for mb in parent.blocks:
                if mb.kind == "module" and "source" in mb.attrs:
                    src = parent.resolve(mb.attrs["source"].value, mb.text) or ""
                    if (self.root / parent.dir / src).resolve() == (self.root / m.dir).resolve():
                        out.append(f"module.{mb.labels[0]}.{b.address}")
        return out

    def refers_to(
        self, m: TfModule, node: Node | None, text: str, role_block: TfBlock, role_name: str
    ) -> bool:
        """Whether a ``role = ...`` expression names this role."""
        if node is None:
            return False
        parts = _ref_parts(node, text)
        if (
            parts
            and parts[:2] == role_block.labels
            and len(parts) == 3
            and parts[2] in ("name", "id")
        ):
            return True
        return m.resolve(node, text) == role_name

    # ---- policy documents -------------------------------------------------------------

    def document_site(self, m: TfModule, owner: TfBlock, attr: TfAttr, label: str) -> Found:
        """Where the document of ``policy = ...`` is written (or why it cannot be edited)."""
        text = owner.text
        node = attr.value
        where = f"{owner.path}:{line_no(text, attr.start)} {label}"
        if owner.dynamic():
            return Found(
                where,
                manual=f"{owner.where} uses count/for_each: one definition makes several policies",
            )
        fn = _function(node, text)
        if fn and fn[0] == "jsonencode" and len(fn[1]) == 1:
            return self._object_site(owner.path, text, fn[1][0], where)
        if fn and fn[0] == "file" and len(fn[1]) == 1:
            arg = fn[1][0]
            raw = text[arg.start : arg.end]
            path_text = raw[1:-1] if raw.startswith('"') else None
            if path_text is not None:
                path_text = re.sub(r"\$\{\s*path\.(module|root)\s*\}", ".", path_text)
            if path_text is None or "${" in path_text:
                return Found(where, manual=f"{where}: policy file path `{raw}` is computed")
            rel = (Path(m.dir) / path_text).as_posix()
            full = (self.root / rel).resolve()
            try:
                rel = full.relative_to(self.root.resolve()).as_posix()
            except ValueError:
                return Found(where, manual=f"{where}: policy file {raw} is outside the repository")
            if not full.is_file():
                return Found(where, manual=f"{where}: policy file {rel} does not exist")
            from recommender.render.iac.policyjson import json_site

            return json_site(self.root, rel, f"{rel} (file() of {label})")
        if (
            node.extra is not None
            and isinstance(node.extra, Tree)
            and node.extra.data
            in (
                "heredoc_template",
                "heredoc_template_trim",
            )
        ):
            return self._heredoc_site(owner.path, text, node, where)
        parts = _ref_parts(node, text)
        if (
            parts
            and len(parts) == 4
            and parts[0] == "data"
            and parts[1] == "aws_iam_policy_document"
        ):
            for d in m.resources("aws_iam_policy_document", kind="data"):
                if d.labels[1] == parts[2]:
                    return self.data_site(d)
            return Found(
                where,
                manual=f"{where}: {'.'.join(parts[:3])} is not defined in {m.dir or 'the root module'}",
            )
        src = text[node.start : node.end]
        short = src if len(src) <= 60 else src[:57] + "..."
        return Found(where, manual=f"{where}: the policy is computed (`{short}`); edit it by hand")

    def _object_site(self, path: str, text: str, obj: Node, where: str) -> Found:
        if obj.kind != "map":
            return Found(where, manual=f"{where}: jsonencode() of a computed value")
        st = obj.get("Statement")
        if st is None:
            return Found(where, manual=f"{where}: no Statement in the document")
        quoted = text[obj.entries[0].start] == '"' if obj.entries else False
        dialect = HclObjectDialect(quoted_keys=quoted)
        return _statement_site(path, text, st.value, dialect, where)

    def _heredoc_site(self, path: str, text: str, node: Node, where: str) -> Found:
        token = text[node.start : node.end]
        m = re.match(r"<<-?([A-Za-z][\w.-]*)\r?\n", token)
        if not m:
            return Found(where, manual=f"{where}: unreadable heredoc")
        body_start = node.start + m.end()
        close = token.rstrip().rfind("\n")
        body_end = node.start + close + 1 if close >= 0 else node.end
        if "%{" in text[body_start:body_end]:
            return Found(where, manual=f"{where}: the heredoc uses template directives")
        try:
            doc = parse_json(text, body_start, body_end)
        except ParseError as e:
            return Found(where, manual=f"{where}: the heredoc is not plain JSON ({e})")
        if doc.kind != "map" or doc.get("Statement") is None:
            return Found(where, manual=f"{where}: no Statement in the heredoc")
        _mark_templates(doc)
        st = doc.get("Statement")
        assert st is not None
        return _statement_site(path, text, st.value, HeredocJsonDialect(), where)

    def data_site(self, d: TfBlock) -> Found:
        where = d.where
        if d.dynamic():
            return Found(where, manual=f"{where} uses count/for_each")
        for bad in (
            "source_policy_documents",
            "override_policy_documents",
            "source_json",
            "override_json",
        ):
            if bad in d.attrs:
                return Found(
                    where, manual=f"{where} merges other documents ({bad}); edit it by hand"
                )
        if any(b.kind == "dynamic" for b in d.blocks):
            return Found(
                where, manual=f"{where} builds statements with a dynamic block; edit it by hand"
            )
        stmts = d.sub("statement")
        if not stmts:
            return Found(where, manual=f"{where} has no statement blocks")
        nodes = [_statement_block_node(s) for s in stmts]
        site = PolicySite(d.path, d.text, nodes, HclDataDialect(), where, line_items=True)
        return Found(where, site=site)

    def role_policy_sites(
        self, m: TfModule, role_block: TfBlock, role_name: str, policy_name: str
    ) -> list[Found]:
        """Inline policy ``policy_name`` of the role: aws_iam_role_policy resources and inline_policy blocks."""
        out: list[Found] = []
        for b in role_block.sub("inline_policy"):
            if m.resolve(_attr(b, "name"), b.text) == policy_name and "policy" in b.attrs:
                out.append(
                    self.document_site(
                        m, role_block, b.attrs["policy"], f"{role_block.address} inline_policy"
                    )
                )
        if any(
            b.kind == "dynamic" and b.labels[:1] == ["inline_policy"] for b in role_block.blocks
        ):
            out.append(
                Found(
                    role_block.where,
                    manual=f"{role_block.where} builds inline_policy with a dynamic block",
                )
            )
        for mm in self.modules.values():
            for b in mm.resources("aws_iam_role_policy"):
                role_node = b.attrs["role"].value if "role" in b.attrs else None
                if role_node is None or (_ref_parts(role_node, b.text) and mm is not m):
                    continue  # a reference only means this role inside its own module
                if not self.refers_to(mm, role_node, b.text, role_block, role_name):
                    continue
                name = self._policy_name(mm, b)
                if name is None:
                    continue  # unnamed or computed names are matched by content later
                if name == policy_name or (
                    name.endswith("*")
                    and re.fullmatch(re.escape(name[:-1]) + NAME_PREFIX_SUFFIX, policy_name)
                ):
                    out.append(self.document_site(mm, b, b.attrs["policy"], b.address))
        return out

    def _policy_name(self, m: TfModule, b: TfBlock) -> str | None:
        if "name" in b.attrs:
            return m.resolve(b.attrs["name"].value, b.text)
        if "name_prefix" in b.attrs:
            prefix = m.resolve(b.attrs["name_prefix"].value, b.text)
            return None if prefix is None else prefix + "*"
        return None

    def managed_policy_sites(self, name: str, arn: str | None) -> list[Found]:
        out = []
        for m in self.modules.values():
            for b in m.resources("aws_iam_policy"):
                sv = self._state_values(m, b)
                if sv is not None:
                    hit = sv.get("arn") == arn or sv.get("name") == name
                else:
                    pname = self._policy_name(m, b)
                    hit = pname is not None and (
                        pname == name
                        or (
                            pname.endswith("*")
                            and re.fullmatch(re.escape(pname[:-1]) + NAME_PREFIX_SUFFIX, name)
                            is not None
                        )
                    )
                if hit and "policy" in b.attrs:
                    out.append(self.document_site(m, b, b.attrs["policy"], b.address))
        return out

    def unnamed_sites(self) -> list[Found]:
        """Policy documents whose name is not known: matched by content by the caller."""
        out = []
        for m in self.modules.values():
            for rtype in ("aws_iam_role_policy", "aws_iam_policy"):
                for b in m.resources(rtype):
                    if self._policy_name(m, b) is None and "policy" in b.attrs and not b.dynamic():
                        out.append(self.document_site(m, b, b.attrs["policy"], b.address))
        return out

    # ---- attachments ----------------------------------------------------------------------

    def attachment_edits(
        self, m: TfModule, role_block: TfBlock, role_name: str, policy_arn: str, policy_name: str
    ) -> Found | None:
        """Edits that detach ``policy_arn`` from the role, or None when no attachment is written here."""
        text = role_block.text
        mpa = role_block.attrs.get("managed_policy_arns")
        if mpa is not None:
            node = mpa.value
            if node.kind != "seq":
                return Found(
                    role_block.where, manual=f"{role_block.where}: managed_policy_arns is computed"
                )
            for i, item in enumerate(node.items):
                if self._is_policy(m, item, text, policy_arn, policy_name):
                    from recommender.render.iac.policyedit import _delete_items, _Manual

                    try:
                        edits = (
                            _delete_items(text, node.items, {i}, False)
                            if len(node.items) > 1
                            else [Edit(node.start, node.end, "[]")]
                        )
                    except _Manual as e:
                        return Found(role_block.where, manual=f"{role_block.where}: {e}")
                    return Found(
                        f"{role_block.where} managed_policy_arns", edits={role_block.path: edits}
                    )
        for mm in self.modules.values():
            for b in mm.resources("aws_iam_role_policy_attachment"):
                if not self.refers_to(
                    mm,
                    _attr(b, "role"),
                    b.text,
                    role_block,
                    role_name,
                ):
                    continue
                if "policy_arn" in b.attrs and self._is_policy(
                    mm, b.attrs["policy_arn"].value, b.text, policy_arn, policy_name
                ):
                    if b.dynamic():
                        return Found(b.where, manual=f"{b.where} uses count/for_each")
                    if self.referenced(b.address, exclude=b):
                        return Found(
                            b.where, manual=f"{b.where} is referenced elsewhere; remove it by hand"
                        )
                    return Found(b.where, edits={b.path: [block_removal(b.text, b)]})
        for mm in self.modules.values():
            for b in mm.resources("aws_iam_policy_attachment"):
                if "policy_arn" in b.attrs and self._is_policy(
                    mm, b.attrs["policy_arn"].value, b.text, policy_arn, policy_name
                ):
                    return Found(
                        b.where,
                        manual=f"{b.where} (aws_iam_policy_attachment, exclusive across the account) attaches it; edit by hand",
                    )
        return None

    def _is_policy(self, m: TfModule, node: Node, text: str, arn: str, name: str) -> bool:
        if m.resolve(node, text) == arn:
            return True
        parts = _ref_parts(node, text)
        if not parts or parts[-1] != "arn":
            return False
        if parts[0] == "aws_iam_policy" and len(parts) == 3:
            for mm in self.modules.values():
                for b in mm.resources("aws_iam_policy"):
                    if b.labels[1] == parts[1] and mm is m:
                        return (
                            self._policy_name(mm, b) == name
                            or (self._state_values(mm, b) or {}).get("arn") == arn
                        )
        if parts[0] == "data" and parts[1] == "aws_iam_policy" and len(parts) == 4:
            for b in m.resources("aws_iam_policy", kind="data"):
                if b.labels[1] == parts[2]:
                    if "arn" in b.attrs:
                        return m.resolve(b.attrs["arn"].value, b.text) == arn
                    if "name" in b.attrs:
                        return m.resolve(b.attrs["name"].value, b.text) == name
        return False

    def referenced(self, address: str, exclude: TfBlock) -> bool:
        pat = re.compile(r"(?<![\w.])" + re.escape(address) + r"\b")
        for path, text in self.texts.items():
            for mt in pat.finditer(text):
                if path == exclude.path and exclude.start <= mt.start() < exclude.end:
                    continue
                return True
        return False


def block_removal(text: str, b: TfBlock) -> Edit:
    """Delete a whole block: its lines, and one blank line so no double gap is left."""
    start = line_start(text, b.start)
    end = line_end(text, b.end - 1)
    if text[start : b.start].strip() or text[b.end : end].strip():
        return Edit(b.start, b.end, "")
    blank_after = end < len(text) and text[end : line_end(text, end)].strip() == ""
    blank_before = start > 0 and text[line_start(text, start - 1) : start].strip() == ""
    if blank_after and (blank_before or start == 0):
        end = line_end(text, end)
    elif blank_before and end >= len(text):
        start = line_start(text, start - 1)
    return Edit(start, end, "")


def _statement_site(path: str, text: str, st: Node, dialect: Dialect, where: str) -> Found:
    if st.kind == "map":
        return Found(where, site=PolicySite(path, text, [st], dialect, where, single=True))
    if st.kind != "seq" or not all(i.kind == "map" for i in st.items):
        return Found(where, manual=f"{where}: the statements are computed; edit them by hand")
    return Found(where, site=PolicySite(path, text, st.items, dialect, where, container=st))


def _mark_templates(node: Node) -> None:
    """Strings of a heredoc with ``${...}`` are Terraform templates: treat them as expressions."""
    if node.kind == "str" and isinstance(node.value, str) and "${" in node.value.replace("$${", ""):
        node.kind = "expr"
        node.pattern = template_pattern(node.value)
    for e in node.entries:
        _mark_templates(e.value)
    for i in node.items:
        _mark_templates(i)


def _statement_block_node(s: TfBlock) -> Node:
    """A ``statement { ... }`` block seen as a map, conditions folded into one entry."""
    node = Node("map", s.start, s.end, style="block", open_pos=s.start)
    for name, a in s.attrs.items():
        node.entries.append(Entry(name, a.start, a.end, a.value))
    conds = [b for b in s.blocks if b.kind == "condition"]
    dyn = [b for b in s.blocks if b.kind == "dynamic"]
    if conds or any(b.labels[:1] == ["condition"] for b in dyn):
        value: dict[str, dict[str, list[str]]] | None = {}
        for c in conds:
            test, var, vals = (c.attrs.get(k) for k in ("test", "variable", "values"))
            if (
                not (test and var and vals)
                or test.value.kind != "str"
                or var.value.kind != "str"
                or vals.value.kind != "seq"
                or any(v.kind != "str" for v in vals.value.items)
            ):
                value = None
                break
            assert value is not None
            value.setdefault(test.value.value, {})[var.value.value] = [
                v.value for v in vals.value.items
            ]
        if any(b.labels[:1] == ["condition"] for b in dyn):
            value = None
        first = min(b.start for b in conds + dyn)
        last = max(b.end for b in conds + dyn)
        node.entries.append(
            Entry("condition", first, last, Node("cond-blocks", first, last, value=value))
        )
    for kind in ("principals", "not_principals"):
        blocks = [b for b in s.blocks if b.kind == kind]
        if blocks:
            node.entries.append(
                Entry(
                    kind,
                    blocks[0].start,
                    blocks[-1].end,
                    Node("expr", blocks[0].start, blocks[-1].end, pattern="*"),
                )
            )
    node.entries.sort(key=lambda e: e.start)
    return node


def _state_index(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Resource address -> attribute values, from ``terraform show -json`` output."""
    out: dict[str, dict[str, Any]] = {}

    def walk(mod: dict[str, Any]) -> None:
        for r in mod.get("resources", []):
            if r.get("mode", "managed") == "managed":
                out[r["address"]] = r.get("values") or {}
        for c in mod.get("child_modules", []):
            walk(c)

    walk((state.get("values") or {}).get("root_module") or {})
    return out


def render_role_policy(
    resource_name: str, role_block: TfBlock, policy_name: str, document: dict[str, Any]
) -> str:
    """A new ``aws_iam_role_policy`` block carrying ``document`` as ``jsonencode``."""
    d = HclObjectDialect()
    body = d.value(ordered_document(document), "  ")
    return (
        f'resource "aws_iam_role_policy" "{resource_name}" {{\n'
        f"  name = {d.string(policy_name)}\n"
        f"  role = {role_block.address}.id\n"
        f"  policy = jsonencode({body})\n"
        "}\n"
    )
