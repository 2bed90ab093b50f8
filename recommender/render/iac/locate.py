"""Decide, role by role, which text edits apply a recommendation to a repository.

For each recommended role: find its definition (Terraform or CloudFormation),
then for each policy that changes find where the document is written and turn
the change into edits (``policyedit``), or into a "manual change needed" item
with the reason. Nothing is guessed: a role found twice, a policy found in
several places, a definition built in a loop, or a repository that no longer
matches what AWS has all become manual items.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.render.iac import cloudformation, terraform
from recommender.render.iac.model import Found, ManualItem, PolicyChange, RoleChange
from recommender.render.iac.nodes import Edit, ParseError, apply_edits, glob_match
from recommender.render.iac.policyedit import PolicySite, plan_policy, statements_of
from recommender.render.iac.policyjson import (
    canonical_document,
    json_site,
    policy_files,
    site_document,
)


def count_actions(doc: dict[str, Any] | None) -> int:
    n = 0
    for s in statements_of(doc):
        for k in ("Action", "NotAction"):
            v = s.get(k)
            n += len(v) if isinstance(v, list) else (1 if v else 0)
    return n


@dataclass
class RoleDef:
    """Where a role is defined: a Terraform resource or a CloudFormation resource."""

    tool: str  # "terraform" | "cloudformation"
    where: str
    tf: tuple[terraform.TfModule, terraform.TfBlock] | None = None
    cfn: tuple[cloudformation.Template, str] | None = None


class RepoIndex:
    """Everything the locators know about one checkout, parsed once per role."""

    def __init__(self, root: Path, tf_state: dict[str, Any] | None) -> None:
        self.root = root
        self.tf = terraform.TerraformRepo(root, tf_state)
        self.cfn = cloudformation.CloudFormationRepo(root)
        self.json_files = dict(policy_files(root))

    def find_role(self, role: dict[str, Any]) -> tuple[RoleDef | None, str | None]:
        """The role's definition, or why there is none to edit."""
        tf_hits, tf_unres = self.tf.match_role(role)
        cfn_hits, cfn_unres = self.cfn.match_role(role)
        defs = [RoleDef("terraform", b.where, tf=(m, b)) for m, b in tf_hits] + [
            RoleDef("cloudformation", t.where(lid), cfn=(t, lid)) for t, lid in cfn_hits
        ]
        if len(defs) > 1:
            return None, "the role matches several definitions: " + ", ".join(d.where for d in defs)
        if not defs:
            unres = tf_unres + cfn_unres
            likely = [w for pat, w in unres if pat.strip("*") and glob_match(pat, role["name"])]
            if likely:
                return None, (
                    "the role is probably defined by " + "; ".join(likely) + ", which cannot be "
                    "matched to one role safely (a loop or an unresolved name); edit it by hand"
                )
            hints = []
            if unres:
                hints.append(
                    "definitions whose name could not be resolved: "
                    + "; ".join(w for _p, w in unres)
                )
            if self.tf.external_modules:
                hints.append("modules from elsewhere: " + "; ".join(self.tf.external_modules))
            if self.tf.errors:
                hints.append("files that did not parse: " + "; ".join(self.tf.errors))
            return None, "role not found in the repository" + (
                " (" + "; ".join(hints) + ")" if hints else ""
            )
        d = defs[0]
        if d.tf is not None:
            m, b = d.tf
            if b.dynamic():
                return None, f"{d.where} uses count/for_each: one definition makes several roles"
            if m.child:
                return (
                    None,
                    f"{d.where} is inside a module used from elsewhere in the repository; change the module call",
                )
        return d, None


def _one(found: list[Found], what: str) -> Found | str:
    sites: dict[Any, Found] = {}
    for f in found:
        key = (
            (f.site.path, f.site.statements[0].start)
            if f.site is not None and f.site.statements
            else f.where
        )
        sites.setdefault(key, f)
    uniq = list(sites.values())
    if not uniq:
        return f"{what} not found in the repository"
    if len(uniq) > 1:
        return f"{what} is defined in several places: " + ", ".join(f.where for f in uniq)
    return uniq[0]


def _plain_json_sites(idx: RepoIndex, name: str, current: dict[str, Any] | None) -> list[Found]:
    out = []
    want = canonical_document(current) if current else None
    for rel, doc in idx.json_files.items():
        stem = Path(rel).stem
        if stem.lower() == name.lower() or (want is not None and canonical_document(doc) == want):
            out.append(json_site(idx.root, rel, rel))
    return out


def _content_sites(idx: RepoIndex, current: dict[str, Any] | None) -> list[Found]:
    if not current:
        return []
    want = canonical_document(current)
    out = []
    for f in idx.tf.unnamed_sites():
        if f.site is not None:
            doc = site_document(f.site)
            if doc is not None and canonical_document(doc) == want:
                out.append(f)
    return out


def plan_role(
    root: Path,
    role: dict[str, Any],
    *,
    tf_state: dict[str, Any] | None = None,
    skip_arns: set[str] | frozenset[str] = frozenset(),
) -> RoleChange:
    """Edits (per file) and manual items for one recommended role, against ``root``."""
    idx = RepoIndex(root, tf_state)
    name = role["name"]
    rc = RoleChange(name, role.get("principal_arn", ""))
    changing = [p for p in role.get("policies", []) if p.get("change", "unchanged") != "unchanged"]
    if not changing and not role.get("new_policies"):
        return rc
    role_def, role_why = idx.find_role(role)

    def manual(
        policy: dict[str, Any] | None, reason: str, doc: dict[str, Any] | None = None
    ) -> None:
        pname = None if policy is None else policy.get("name")
        rc.manual.append(
            ManualItem(
                name,
                pname,
                reason,
                doc if doc is not None else (policy or {}).get("recommended_document"),
            )
        )

    detach = [p for p in changing if p["change"] == "detach"]
    for p in changing:
        if p.get("arn") in skip_arns:
            continue  # a shared policy: edited once, in its own commit
        kind, change = p.get("kind"), p["change"]
        if kind == "boundary":
            manual(p, "permissions boundaries are not rewritten by this tool")
            continue
        if change == "trimmed":
            found = locate_document(idx, role_def, role, p)
            if isinstance(found, str):
                manual(p, found if role_def or kind == "customer_managed" else str(role_why))
                continue
            _apply_plan(rc, p, found)
        elif change == "removed":
            _removal(idx, rc, role_def, role_why, role, p, manual)
    if detach or role.get("new_policies"):
        _detach(idx, rc, role_def, role_why, role, detach, manual)
    _verify(root, rc, manual)
    return rc


def locate_document(
    idx: RepoIndex, role_def: RoleDef | None, role: dict[str, Any], p: dict[str, Any]
) -> Found | str:
    """Where policy ``p`` of ``role`` is written, or why it cannot be edited."""
    name, kind, arn = p.get("name") or "", p.get("kind"), p.get("arn")
    found: list[Found] = []
    if kind == "inline" and role_def is not None:
        if role_def.tf is not None:
            m, b = role_def.tf
            found += idx.tf.role_policy_sites(m, b, role["name"], name)
        if role_def.cfn is not None:
            t, lid = role_def.cfn
            found += idx.cfn.role_policy_sites(t, lid, role["name"], name)
    elif kind == "customer_managed":
        found += idx.tf.managed_policy_sites(name, arn)
        found += idx.cfn.managed_policy_sites(name, arn, role_def.cfn if role_def else None)
    if not found:
        found += _content_sites(idx, p.get("current_document"))
    known = {f.site.path for f in found if f.site is not None}
    if not found:
        found += [
            f
            for f in _plain_json_sites(idx, name, p.get("current_document"))
            if f.site is None or f.site.path not in known
        ]
    label = f"{kind} policy {name}"
    one = _one(found, label)
    if isinstance(one, str):
        return one
    if one.manual:
        return one.manual
    return one


def _apply_plan(rc: RoleChange, p: dict[str, Any], found: Found) -> None:
    site = found.site
    assert site is not None
    plan = plan_policy(
        site,
        p.get("current_document") or {},
        p.get("recommended_document") or {},
        p.get("name") or "policy",
    )
    if plan.manual:
        rc.manual.append(
            ManualItem(rc.role, p.get("name"), plan.manual, p.get("recommended_document"))
        )
        return
    if (
        site.dialect.name == "json"
        and site.path.endswith(".json")
        and not site.single
        and site.container is not None
    ):
        new = json.loads(apply_edits(site.text, plan.edits))
        if (
            canonical_document(new) != canonical_document(p.get("recommended_document"))
            and "Statement" in new
            and "Resources" not in new
        ):
            rc.manual.append(
                ManualItem(
                    rc.role,
                    p.get("name"),
                    f"{site.where}: the edited file would not equal the recommendation",
                    p.get("recommended_document"),
                )
            )
            return
    rc.add_edits({site.path: plan.edits})
    rc.changes.append(
        PolicyChange(
            rc.role,
            p.get("name") or "",
            p.get("kind") or "",
            p["change"],
            found.where,
            count_actions(p.get("current_document")),
            count_actions(p.get("recommended_document")),
            plan.notes,
        )
    )


def _removal(
    idx: RepoIndex,
    rc: RoleChange,
    role_def: RoleDef | None,
    role_why: str | None,
    role: dict[str, Any],
    p: dict[str, Any],
    manual: Any,
) -> None:
    name, kind = p.get("name") or "", p.get("kind")
    if role_def is None:
        manual(p, f"{role_why}; remove policy {name} from the role by hand", {})
        return
    found: Found | None = None
    if kind == "inline":
        if role_def.tf is not None:
            found = _tf_inline_removal(idx, *role_def.tf, role["name"], name)
        else:
            assert role_def.cfn is not None
            found = idx.cfn.inline_removal(*role_def.cfn, role["name"], name)
    elif kind == "customer_managed":
        if role_def.tf is not None:
            found = idx.tf.attachment_edits(*role_def.tf, role["name"], p.get("arn") or "", name)
        else:
            assert role_def.cfn is not None
            found = idx.cfn.attachment_edits(*role_def.cfn, role["name"], p.get("arn") or "", name)
    if found is None:
        manual(
            p,
            f"where {name} is given to {role['name']} was not found in the repository; remove it by hand",
            {},
        )
        return
    if found.manual:
        manual(p, found.manual, {})
        return
    rc.add_edits(found.edits)
    what = "deleted" if kind == "inline" else "detached from the role (the policy itself is kept)"
    rc.changes.append(
        PolicyChange(
            rc.role,
            name,
            kind or "",
            "removed",
            found.where,
            count_actions(p.get("current_document")),
            0,
            [f"{name}: {what}"],
        )
    )


def _tf_inline_removal(
    idx: RepoIndex, m: terraform.TfModule, b: terraform.TfBlock, role_name: str, policy_name: str
) -> Found | None:
    for ip in b.sub("inline_policy"):
        if "name" in ip.attrs and m.resolve(ip.attrs["name"].value, ip.text) == policy_name:
            return Found(
                f"{b.where} inline_policy", edits={b.path: [terraform.block_removal(b.text, ip)]}
            )
    for mm in idx.tf.modules.values():
        for rp in mm.resources("aws_iam_role_policy"):
            role_node = rp.attrs["role"].value if "role" in rp.attrs else None
            if role_node is None or not idx.tf.refers_to(mm, role_node, rp.text, b, role_name):
                continue
            if idx.tf._policy_name(mm, rp) != policy_name:
                continue
            if rp.dynamic():
                return Found(rp.where, manual=f"{rp.where} uses count/for_each")
            if idx.tf.referenced(rp.address, exclude=rp):
                return Found(
                    rp.where, manual=f"{rp.where} is referenced elsewhere; remove it by hand"
                )
            return Found(rp.where, edits={rp.path: [terraform.block_removal(rp.text, rp)]})
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "policy"


def _detach(
    idx: RepoIndex,
    rc: RoleChange,
    role_def: RoleDef | None,
    role_why: str | None,
    role: dict[str, Any],
    detach: list[dict[str, Any]],
    manual: Any,
) -> None:
    """Replace AWS managed policies by the new policies holding what is needed of them."""
    new_policies = role.get("new_policies") or []
    by_ref = {}
    for p in detach:
        for ref in (p.get("arn"), p.get("policy_key")):
            if ref:
                by_ref[ref] = p
    claimed: set[int] = set()
    groups: list[tuple[dict[str, Any] | None, list[dict[str, Any]]]] = []
    for npol in new_policies:
        replaced = [by_ref[r] for r in npol.get("replaces", []) if r in by_ref]
        claimed.update(id(p) for p in replaced)
        groups.append((npol, replaced))
    for p in detach:
        if id(p) not in claimed:
            groups.append((None, [p]))  # nothing of it is needed: only detach
    for npol, replaced in groups:
        doc = npol.get("document") if npol else {}
        if role_def is None:
            for p in replaced:
                manual(p, f"{role_why}; detach {p.get('arn')} by hand", doc)
            if npol is not None:
                manual(None, f"{role_why}; add the new policy {npol.get('name')} by hand", doc)
            continue
        edits: dict[str, list[Edit]] = {}
        problems: list[str] = []
        wheres: list[str] = []
        for p in replaced:
            if role_def.tf is not None:
                f = idx.tf.attachment_edits(
                    *role_def.tf, role["name"], p.get("arn") or "", p.get("name") or ""
                )
            else:
                assert role_def.cfn is not None
                f = idx.cfn.attachment_edits(
                    *role_def.cfn, role["name"], p.get("arn") or "", p.get("name") or ""
                )
            if f is None:
                problems.append(
                    f"the attachment of {p.get('arn')} to {role['name']} is not in the repository"
                )
            elif f.manual:
                problems.append(f.manual)
            else:
                wheres.append(f.where)
                for path, es in f.edits.items():
                    edits.setdefault(path, []).extend(es)
        if npol is not None and not problems:
            f = _add_policy(idx, role_def, npol)
            if f.manual:
                problems.append(f.manual)
            else:
                wheres.append(f.where)
                for path, es in f.edits.items():
                    edits.setdefault(path, []).extend(es)
        if problems:
            # half a swap (detached but not replaced) could break the workload: all or nothing
            reason = "; ".join(problems)
            for p in replaced:
                manual(p, reason, doc)
            if npol is not None:
                manual(
                    None,
                    f"new policy {npol.get('name')} (replaces {', '.join(npol.get('replaces', []))}): {reason}",
                    doc,
                )
            continue
        rc.add_edits(edits)
        for p in replaced:
            rc.changes.append(
                PolicyChange(
                    rc.role,
                    p.get("name") or p.get("arn") or "",
                    "aws_managed",
                    "detach",
                    wheres[0] if wheres else "",
                    count_actions(p.get("current_document")),
                    0,
                    [
                        f"{p.get('arn')} detached"
                        + (f"; what is needed of it moves to {npol.get('name')}" if npol else "")
                    ],
                )
            )
        if npol is not None:
            rc.changes.append(
                PolicyChange(
                    rc.role,
                    npol.get("name") or "",
                    "inline",
                    "added",
                    wheres[-1],
                    0,
                    count_actions(doc),
                    [
                        f"new inline policy {npol.get('name')} replaces {', '.join(npol.get('replaces', []))}"
                    ],
                )
            )


def _add_policy(idx: RepoIndex, role_def: RoleDef, npol: dict[str, Any]) -> Found:
    name = npol.get("name") or "least-privilege"
    if role_def.tf is not None:
        m, b = role_def.tf
        taken = {rp.labels[1] for rp in m.resources("aws_iam_role_policy")}
        rname = _slug(name)
        if rname in taken:
            rname = f"{b.labels[1]}_{rname}"
        while rname in taken:
            rname += "_new"
        text = b.text
        block = terraform.render_role_policy(rname, b, name, npol.get("document") or {})
        lead = "\n" if text.endswith("\n") else "\n\n"
        return Found(
            f"{b.path} aws_iam_role_policy.{rname}",
            edits={b.path: [Edit(len(text), len(text), lead + block)]},
        )
    assert role_def.cfn is not None
    return idx.cfn.add_inline_policy(*role_def.cfn, name, npol.get("document") or {})


def _verify(root: Path, rc: RoleChange, manual: Any) -> None:
    """Every edited file must still parse; a file that would not is left alone."""
    for path in list(rc.edits):
        text = (root / path).read_text(encoding="utf-8")
        try:
            new = apply_edits(text, rc.edits[path])
            if path.endswith(".tf"):
                terraform.check_parses(new, path)
            elif path.endswith(".json"):
                json.loads(new)
            else:
                cloudformation.check_parses(new, path)
        except (ParseError, ValueError) as e:
            del rc.edits[path]
            rc.changes = [c for c in rc.changes if not c.where.startswith(path)]
            manual(
                None,
                f"{path}: the edited file would not parse ({e}); nothing was changed there",
                {},
            )


def plan_shared(
    root: Path,
    shared: dict[str, Any],
    current: dict[str, Any] | None,
    tf_state: dict[str, Any] | None,
) -> RoleChange:
    """Edits for a customer-managed policy used by several roles (one document for all)."""
    idx = RepoIndex(root, tf_state)
    name = shared.get("name") or ""
    rc = RoleChange(f"shared policy {name}", shared.get("policy_arn", ""))
    p: dict[str, Any] = {
        "name": name,
        "kind": "customer_managed",
        "arn": shared.get("policy_arn"),
        "change": "trimmed",
        "current_document": current,
        "recommended_document": shared.get("recommended_document"),
    }
    if current is None:
        rc.manual.append(
            ManualItem(
                rc.role,
                name,
                "no role entry carries the policy's current document",
                p["recommended_document"],
            )
        )
        return rc
    found = locate_document(idx, None, {"name": ""}, p)
    if isinstance(found, str):
        rc.manual.append(ManualItem(rc.role, name, found, p["recommended_document"]))
        return rc
    _apply_plan(rc, p, found)
    _verify(
        root,
        rc,
        lambda pol, reason, doc=None: rc.manual.append(ManualItem(rc.role, name, reason, doc)),
    )
    return rc


__all__ = ["PolicySite", "count_actions", "plan_role", "plan_shared"]
