"""A tiny position-keeping syntax tree shared by every IaC format.

The PR stage must change only the policy text and leave every other byte of a
file alone, so it edits text spans instead of re-serialising files. Terraform
(via python-hcl2's parse tree), CloudFormation YAML (PyYAML's composer) and
JSON (the small parser below) are all turned into the same ``Node`` shape with
absolute character offsets, and the policy editor works on that shape only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Entry:
    """One ``key: value`` of a map (or one attribute of a Terraform block)."""

    key: str
    start: int  # where the key text starts
    end: int  # where the value text ends
    value: Node


@dataclass
class Node:
    """A value in a source file with the span of text that spells it.

    ``kind`` is ``map``, ``seq``, ``str`` (a literal string, ``value`` holds it),
    ``expr`` (anything computed: a Terraform reference or template, a
    CloudFormation intrinsic; ``pattern`` is a glob of what it can evaluate to,
    ``*`` when unknown) or ``other`` (numbers, booleans, null).
    """

    kind: str
    start: int
    end: int
    value: Any = None
    entries: list[Entry] = field(default_factory=list)
    items: list[Node] = field(default_factory=list)
    # "flow" for bracketed collections, "block" for YAML block collections and
    # Terraform blocks, whose items are whole lines.
    style: str = "flow"
    pattern: str | None = None
    # Where the opening bracket of a flow collection / the "- " of a YAML block
    # sequence starts; equals ``start`` otherwise.
    open_pos: int | None = None
    # The parser's own object for this value (a lark tree for Terraform), for
    # callers that need more than the value, e.g. a function's arguments.
    extra: Any = None

    def get(self, key: str) -> Entry | None:
        """The entry whose key equals ``key`` (IAM element names: case-insensitive)."""
        low = key.lower()
        for e in self.entries:
            if e.key.lower() == low:
                return e
        return None

    @property
    def is_literal_str(self) -> bool:
        return self.kind == "str"


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` of one file with ``new``."""

    start: int
    end: int
    new: str


class ParseError(ValueError):
    """Text that is not valid in the syntax the parser expected."""


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits (any order) to ``text``."""
    out: list[str] = []
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        if e.start < pos:
            raise ValueError(f"overlapping edits at offset {e.start}")
        out.append(text[pos : e.start])
        out.append(e.new)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


# ---- text helpers -------------------------------------------------------------


def line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def line_end(text: str, pos: int) -> int:
    """Offset just after the newline that ends the line holding ``pos``."""
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl + 1


def indent_at(text: str, pos: int) -> str:
    """The leading whitespace of the line holding ``pos``."""
    start = line_start(text, pos)
    m = re.match(r"[ \t]*", text[start:])
    return m.group(0) if m else ""


def column(text: str, pos: int) -> int:
    return pos - line_start(text, pos)


def line_no(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def only_space_before(text: str, pos: int) -> bool:
    return text[line_start(text, pos) : pos].strip() == ""


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM-style glob: ``*`` any run, ``?`` one character."""
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.DOTALL | (re.IGNORECASE if ignore_case else 0)) is not None


def template_pattern(template: str) -> str:
    """A glob for a string with ``${...}`` interpolations: each becomes ``*``."""
    out: list[str] = []
    i = 0
    while i < len(template):
        if template.startswith("$${", i):  # Terraform's escape for a literal ${
            out.append("${")
            i += 3
            continue
        if template.startswith("${", i):
            depth = 0
            j = i
            while j < len(template):
                if template[j] == "{":
                    depth += 1
                elif template[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            out.append("*")
            i = j + 1
            continue
        out.append(template[i])
        i += 1
    return re.sub(r"\*+", "*", "".join(out))


# ---- JSON with positions --------------------------------------------------------

_WS = " \t\r\n"
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.DOTALL)


def parse_json(text: str, start: int = 0, end: int | None = None) -> Node:
    """Parse the JSON value in ``text[start:end]`` into ``Node``s with absolute offsets."""
    end = len(text) if end is None else end
    parser = _JsonParser(text, end)
    pos = parser.skip(start)
    node, pos = parser.value(pos)
    pos = parser.skip(pos)
    if pos != end:
        raise ParseError(f"unexpected text after JSON value at offset {pos}")
    return node


class _JsonParser:
    def __init__(self, text: str, end: int) -> None:
        self.text = text
        self.end = end

    def skip(self, pos: int) -> int:
        while pos < self.end and self.text[pos] in _WS:
            pos += 1
        return pos

    def value(self, pos: int) -> tuple[Node, int]:
        if pos >= self.end:
            raise ParseError("unexpected end of JSON")
        c = self.text[pos]
        if c == "{":
            return self.obj(pos)
        if c == "[":
            return self.arr(pos)
        if c == '"':
            m = _STRING.match(self.text, pos, self.end)
            if not m:
                raise ParseError(f"bad JSON string at offset {pos}")
            return Node("str", pos, m.end(), value=json.loads(m.group(0))), m.end()
        for word, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, pos):
                return Node("other", pos, pos + len(word), value=val), pos + len(word)
        m = _NUMBER.match(self.text, pos, self.end)
        if m and m.end() > pos:
            return Node("other", pos, m.end(), value=json.loads(m.group(0))), m.end()
        raise ParseError(f"unexpected character {c!r} at offset {pos}")

    def obj(self, start: int) -> tuple[Node, int]:
        node = Node("map", start, start, open_pos=start)
        pos = self.skip(start + 1)
        if pos < self.end and self.text[pos] == "}":
            node.end = pos + 1
            return node, pos + 1
        while True:
            key, pos = self.value(pos)
            if key.kind != "str":
                raise ParseError(f"JSON object key must be a string at offset {key.start}")
            pos = self.skip(pos)
            if pos >= self.end or self.text[pos] != ":":
                raise ParseError(f"expected ':' at offset {pos}")
            val, pos = self.value(self.skip(pos + 1))
            node.entries.append(Entry(key.value, key.start, val.end, val))
            pos = self.skip(pos)
            if pos < self.end and self.text[pos] == ",":
                pos = self.skip(pos + 1)
                continue
            if pos < self.end and self.text[pos] == "}":
                node.end = pos + 1
                return node, pos + 1
            raise ParseError(f"expected ',' or '}}' at offset {pos}")

    def arr(self, start: int) -> tuple[Node, int]:
        node = Node("seq", start, start, open_pos=start)
        pos = self.skip(start + 1)
        if pos < self.end and self.text[pos] == "]":
            node.end = pos + 1
            return node, pos + 1
        while True:
            val, pos = self.value(pos)
            node.items.append(val)
            pos = self.skip(pos)
            if pos < self.end and self.text[pos] == ",":
                pos = self.skip(pos + 1)
                continue
            if pos < self.end and self.text[pos] == "]":
                node.end = pos + 1
                return node, pos + 1
            raise ParseError(f"expected ',' or ']' at offset {pos}")


def to_python(node: Node) -> Any:
    """The plain value of a node; expressions become ``{"__expr__": pattern}``."""
    if node.kind == "map":
        return {e.key: to_python(e.value) for e in node.entries}
    if node.kind == "seq":
        return [to_python(i) for i in node.items]
    if node.kind == "expr":
        return {"__expr__": node.pattern or "*"}
    return node.value
