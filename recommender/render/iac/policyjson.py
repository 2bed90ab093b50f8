"""Plain IAM policy JSON files: ``policies/agent-s3.json`` and the files Terraform's
``file()`` reads.

A file is matched to a recommended policy by its name (``<policy name>.json``)
or by holding exactly the deployed document. JSON has no comments, but key
order, indentation and line breaks are still kept: only the changed list items
and statements are edited.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from recommender.render.iac.dialects import Dialect
from recommender.render.iac.model import Found
from recommender.render.iac.nodes import ParseError, parse_json, to_python
from recommender.render.iac.policyedit import PolicySite, norm_condition, statements_of


def json_site(root: Path, rel: str, where: str) -> Found:
    text = (root / rel).read_text(encoding="utf-8")
    try:
        doc = parse_json(text)
    except ParseError as e:
        return Found(where, manual=f"{where}: not valid JSON ({e})")
    st = doc.get("Statement") if doc.kind == "map" else None
    if st is None:
        return Found(where, manual=f"{where}: no Statement in the document")
    if st.value.kind == "map":
        return Found(where, site=PolicySite(rel, text, [st.value], Dialect(), where, single=True))
    if st.value.kind != "seq" or not all(i.kind == "map" for i in st.value.items):
        return Found(where, manual=f"{where}: Statement is not a list of objects")
    return Found(
        where, site=PolicySite(rel, text, st.value.items, Dialect(), where, container=st.value)
    )


def policy_files(root: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ``*.json`` file of the repository that holds an IAM policy document."""
    for f in sorted(root.rglob("*.json")):
        rel = f.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        try:
            doc = json.loads(f.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and "Statement" in doc and "Resources" not in doc:
            yield rel.as_posix(), doc


def canonical_document(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    """A document in a form where equal meaning compares equal (list order and case kept where IAM keeps it)."""
    out = []
    for s in statements_of(doc):
        n: dict[str, Any] = {}
        for k, v in s.items():
            if k == "Condition":
                n[k] = norm_condition(v)
            elif k in ("Action", "NotAction"):
                n[k] = sorted({str(a).lower() for a in (v if isinstance(v, list) else [v])})
            elif k in ("Resource", "NotResource"):
                n[k] = sorted(set(v if isinstance(v, list) else [v]))
            else:
                n[k] = v
        out.append(n)
    return out


def site_document(site: PolicySite) -> dict[str, Any] | None:
    """The literal document a site spells, or None when it uses expressions."""
    stmts = []
    for s in site.statements:
        py = to_python(s)
        if "__expr__" in json.dumps(py) or any(e.value.kind == "cond-blocks" for e in s.entries):
            return None
        if site.dialect.name == "hcl-data":
            py = {site.dialect.canonical(k) or k: v for k, v in py.items()}
            py.setdefault("Effect", "Allow")
        stmts.append(py)
    return {"Statement": stmts}
