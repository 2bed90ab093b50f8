"""How each IaC syntax spells strings, lists and whole statements.

The policy editor (``policyedit``) decides *what* changes; a ``Dialect`` says
how a new value is written so that it looks like the code around it: JSON
(plain policy files, CloudFormation JSON, Terraform heredocs), Terraform
``jsonencode`` objects, Terraform ``aws_iam_policy_document`` statement blocks
and CloudFormation YAML.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from recommender.render.iac.nodes import Node, indent_at

# IAM policy elements in the order AWS documents them; new statements use it.
STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
LIST_FIELDS = ("Action", "NotAction", "Resource", "NotResource")


class Dialect:
    """JSON, the base every other dialect adjusts."""

    name = "json"
    # Key names of the statement elements in this syntax (canonical -> source).
    keys: ClassVar[dict[str, str]] = {k: k for k in STATEMENT_KEYS}
    # Whether a single value may be written without brackets.
    scalar_lists = True
    default_effect: str | None = None

    def canonical(self, key: str) -> str | None:
        low = key.lower()
        for canon, src in self.keys.items():
            if src.lower() == low:
                return canon
        return None

    def string(self, value: str) -> str:
        return json.dumps(value)

    def key(self, name: str) -> str:
        return json.dumps(name) + ": "

    def entry_joiner(self) -> str:
        return ","

    def value(self, value: Any, indent: str, step: str = "  ") -> str:
        """A literal value laid out like pretty JSON, continuation lines at ``indent``."""
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, list):
            if all(isinstance(v, str) for v in value) and len(value) <= 1:
                return "[" + ", ".join(self.string(v) for v in value) + "]"
            inner = indent + step
            parts = [self.value(v, inner, step) for v in value]
            return "[\n" + ",\n".join(inner + p for p in parts) + "\n" + indent + "]"
        if isinstance(value, dict):
            inner = indent + step
            parts = [self.key(k) + self.value(v, inner, step) for k, v in value.items()]
            sep = self.entry_joiner() + "\n"
            return "{\n" + sep.join(inner + p for p in parts) + "\n" + indent + "}"
        return json.dumps(value)

    def statement(self, stmt: dict[str, Any], indent: str, step: str = "  ") -> str:
        return self.value(ordered_statement(stmt), indent, step)


class HeredocJsonDialect(Dialect):
    """JSON inside a Terraform heredoc: ``${`` and ``%{`` start templates there."""

    name = "heredoc-json"

    def string(self, value: str) -> str:
        return escape_hcl_template(json.dumps(value))


class HclObjectDialect(Dialect):
    """A Terraform object expression, as inside ``jsonencode({...})``."""

    name = "hcl"

    def __init__(self, quoted_keys: bool = False) -> None:
        self.quoted_keys = quoted_keys

    def string(self, value: str) -> str:
        return escape_hcl_template(json.dumps(value))

    def key(self, name: str) -> str:
        if self.quoted_keys or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name):
            return json.dumps(name) + " = "
        return name + " = "

    def entry_joiner(self) -> str:
        return ""

    def value(self, value: Any, indent: str, step: str = "  ") -> str:
        if not isinstance(value, dict):
            return super().value(value, indent, step)
        inner = indent + step
        rendered = [
            (self.key(k).rstrip(" ="), self.value(v, inner, step)) for k, v in value.items()
        ]
        lines: list[str] = []
        group: list[tuple[str, str]] = []

        def flush() -> None:
            width = max((len(k) for k, _ in group), default=0)
            lines.extend(inner + k.ljust(width) + " = " + v for k, v in group)
            group.clear()

        for k, v in rendered:
            if "\n" in v:
                flush()
                lines.append(inner + k + " = " + v)
            else:
                group.append((k, v))
        flush()
        return "{\n" + "\n".join(lines) + "\n" + indent + "}"


class HclDataDialect(HclObjectDialect):
    """Statement blocks of ``data "aws_iam_policy_document"``."""

    name = "hcl-data"
    keys: ClassVar[dict[str, str]] = {
        "Sid": "sid",
        "Effect": "effect",
        "Principal": "principals",
        "NotPrincipal": "not_principals",
        "Action": "actions",
        "NotAction": "not_actions",
        "Resource": "resources",
        "NotResource": "not_resources",
        "Condition": "condition",
    }
    scalar_lists = False
    default_effect = "Allow"

    def key(self, name: str) -> str:
        return name + " = "

    def statement(self, stmt: dict[str, Any], indent: str, step: str = "  ") -> str:
        inner = indent + step
        lines = ["statement {"]
        for canon in STATEMENT_KEYS:
            if canon not in stmt or canon in ("Principal", "NotPrincipal", "Condition"):
                continue
            val = stmt[canon]
            if canon in LIST_FIELDS and isinstance(val, str):
                val = [val]
            lines.append(inner + self.keys[canon] + " = " + self.value(val, inner, step))
        for test, pairs in (stmt.get("Condition") or {}).items():
            for variable, values in pairs.items():
                vals = values if isinstance(values, list) else [values]
                lines.append(inner + "condition {")
                lines.append(inner + step + "test     = " + self.string(test))
                lines.append(inner + step + "variable = " + self.string(variable))
                lines.append(inner + step + "values   = " + self.value(vals, inner + step, step))
                lines.append(inner + "}")
        lines.append(indent + "}")
        return "\n".join(lines)


_YAML_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9:/._*$@+=,-]*")


class YamlDialect(Dialect):
    """CloudFormation YAML: plain scalars where safe, block collections."""

    name = "yaml"

    def string(self, value: str) -> str:
        # A plain scalar must not look like another type or contain ": " / " #".
        if (
            _YAML_PLAIN.fullmatch(value)
            and not value.endswith(":")
            and value.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "y", "n")
            and not re.fullmatch(r"[-+]?[0-9][0-9_.:eE+-]*", value)
        ):
            return value
        return json.dumps(value)

    def key(self, name: str) -> str:
        return self.string(name) + ": "

    def value(self, value: Any, indent: str, step: str = "  ") -> str:
        """Flow style for values written into an existing line (valid YAML)."""
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, list):
            return "[" + ", ".join(self.value(v, indent, step) for v in value) + "]"
        if isinstance(value, dict):
            return (
                "{"
                + ", ".join(self.key(k) + self.value(v, indent, step) for k, v in value.items())
                + "}"
            )
        return json.dumps(value)

    def block(self, value: Any, indent: str, step: str = "  ") -> str:
        """Block style starting at the current column (first line unindented)."""
        if isinstance(value, dict):
            lines = []
            for k, v in value.items():
                if isinstance(v, (dict, list)) and v:
                    sub = indent + step
                    if isinstance(v, list):
                        body = ("\n" + sub).join("- " + self.block(i, sub + "  ", step) for i in v)
                    else:
                        body = self.block(v, sub, step)
                    lines.append(self.key(k).rstrip() + "\n" + sub + body)
                else:
                    lines.append(self.key(k) + self.value(v, indent, step))
            return ("\n" + indent).join(lines)
        return self.value(value, indent, step)

    def statement(self, stmt: dict[str, Any], indent: str, step: str = "  ") -> str:
        return self.block(ordered_statement(stmt), indent, step)


def ordered_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Version and Id first, statements in AWS's element order: how people write policies."""
    out: dict[str, Any] = {k: doc[k] for k in ("Version", "Id") if k in doc}
    st = doc.get("Statement")
    if st is not None:
        out["Statement"] = (
            [ordered_statement(s) for s in st] if isinstance(st, list) else ordered_statement(st)
        )
    out.update({k: v for k, v in doc.items() if k not in out})
    return out


def ordered_statement(stmt: dict[str, Any]) -> dict[str, Any]:
    known = {k: stmt[k] for k in STATEMENT_KEYS if k in stmt}
    known.update({k: v for k, v in stmt.items() if k not in known})
    return known


def escape_hcl_template(quoted: str) -> str:
    """Escape template introducers so a literal ARN is not read as an interpolation."""
    return quoted.replace("${", "$${").replace("%{", "%%{")


def item_indent(text: str, node: Node) -> str:
    return indent_at(text, node.start)
