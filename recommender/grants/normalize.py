"""Policy documents to statement rows.

IAM documents arrive in several shapes: URL-encoded strings (the raw API), JSON
strings, or objects (the CLI, boto3); ``Statement`` may be one object or a list;
``Action``/``Resource`` a string or a list. Everything becomes one statement row
with lists, so the SQL that expands them sees one shape.

A statement that is not valid IAM grammar becomes a ``GrammarError`` (with its
index) instead of stopping the load: the other statements and policies still
load, and the error ends up in ``iam_load_errors``. Whether an action exists is
not checked here; unknown actions are findings of the expansion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

_TOP_KEYS = {"Version", "Id", "Statement"}
_STMT_KEYS = {
    "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
    "Principal", "NotPrincipal", "Condition",
}  # fmt: skip


@dataclass
class GrammarError:
    """One problem in a policy document; ``stmt_idx`` is None for the whole document."""

    stmt_idx: int | None
    message: str


@dataclass
class Statement:
    stmt_idx: int
    sid: str | None
    effect: str
    actions: list[str] | None
    not_actions: list[str] | None
    resources: list[str] | None
    not_resources: list[str] | None
    conditions: dict[str, Any] | None

    def row(self, policy_key: str) -> dict[str, Any]:
        return {
            "policy_key": policy_key,
            "stmt_idx": self.stmt_idx,
            "sid": self.sid,
            "effect": self.effect,
            "actions": self.actions,
            "not_actions": self.not_actions,
            "resources": self.resources,
            "not_resources": self.not_resources,
            "conditions": json.dumps(self.conditions, sort_keys=True) if self.conditions else None,
        }


@dataclass
class Normalized:
    document: dict[str, Any] | None
    statements: list[Statement] = field(default_factory=list)
    errors: list[GrammarError] = field(default_factory=list)


def decode_document(doc: Any) -> dict[str, Any]:
    """A policy document as a dict, from any of the shapes IAM tools produce.

    Raises ``ValueError`` with a readable message when it is not a JSON object.
    """
    if isinstance(doc, dict):
        return doc
    if isinstance(doc, (bytes, bytearray)):
        doc = doc.decode("utf-8")
    if not isinstance(doc, str):
        raise ValueError(f"policy document is a {type(doc).__name__}, not a JSON object")
    text = doc.strip()
    if text.startswith("%"):
        # The API returns documents URL-encoded (RFC 3986); the CLI decodes them.
        text = unquote(text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        if "%" in text:  # a URL-encoded document that did not start with '%7B'
            try:
                value = json.loads(unquote(text))
            except json.JSONDecodeError:
                raise ValueError(f"policy document is not JSON: {e.msg} at char {e.pos}") from e
        else:
            raise ValueError(f"policy document is not JSON: {e.msg} at char {e.pos}") from e
    if not isinstance(value, dict):
        raise ValueError(f"policy document is a JSON {type(value).__name__}, not an object")
    return value


def _string_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if not value:
            raise ValueError(f"{key} is an empty list")
        return list(value)
    raise ValueError(f"{key} must be a string or a list of strings, not {json.dumps(value)[:80]}")


def normalize_statement(idx: int, stmt: Any) -> Statement:
    """One statement object to a ``Statement``; raises ``ValueError`` on invalid grammar."""
    if not isinstance(stmt, dict):
        raise ValueError(f"statement is a {type(stmt).__name__}, not an object")
    unknown = sorted(set(stmt) - _STMT_KEYS)
    if unknown:
        raise ValueError(f"unknown statement key {unknown[0]!r}")
    if "Effect" not in stmt:
        raise ValueError("statement has no Effect")
    effect = stmt["Effect"]
    if effect not in ("Allow", "Deny"):
        raise ValueError(f"Effect must be 'Allow' or 'Deny', not {json.dumps(effect)[:40]}")
    if "Action" in stmt and "NotAction" in stmt:
        raise ValueError("statement has both Action and NotAction")
    if "Action" not in stmt and "NotAction" not in stmt:
        raise ValueError("statement has no Action or NotAction")
    if "Resource" in stmt and "NotResource" in stmt:
        raise ValueError("statement has both Resource and NotResource")
    if "Resource" not in stmt and "NotResource" not in stmt:
        raise ValueError("statement has no Resource or NotResource")
    sid = stmt.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise ValueError("Sid must be a string")
    cond = stmt.get("Condition")
    if cond is not None and not isinstance(cond, dict):
        raise ValueError("Condition must be an object")
    # Principal/NotPrincipal only mean something in resource policies: ignored here.
    return Statement(
        stmt_idx=idx,
        sid=sid,
        effect=effect,
        actions=_string_list(stmt["Action"], "Action") if "Action" in stmt else None,
        not_actions=_string_list(stmt["NotAction"], "NotAction") if "NotAction" in stmt else None,
        resources=_string_list(stmt["Resource"], "Resource") if "Resource" in stmt else None,
        not_resources=(
            _string_list(stmt["NotResource"], "NotResource") if "NotResource" in stmt else None
        ),
        conditions=cond or None,
    )


def normalize_document(doc: Any) -> Normalized:
    """Decode and normalise one identity-policy (or SCP) document."""
    try:
        document = decode_document(doc)
    except ValueError as e:
        return Normalized(None, errors=[GrammarError(None, str(e))])
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        return Normalized(
            document, errors=[GrammarError(None, f"unknown top-level key {unknown[0]!r}")]
        )
    if "Statement" not in document:
        return Normalized(document, errors=[GrammarError(None, "document has no Statement")])
    raw = document["Statement"]
    items = raw if isinstance(raw, list) else [raw]
    out = Normalized(document)
    for idx, stmt in enumerate(items):
        try:
            out.statements.append(normalize_statement(idx, stmt))
        except ValueError as e:
            out.errors.append(GrammarError(idx, str(e)))
    return out
