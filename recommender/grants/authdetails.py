"""Read ``get-account-authorization-details`` output (and SCP exports) into rows.

One file is one account's IAM: roles, users, groups, and the managed policies
they use with every version. This module turns it into the rows of the grants
tables (principals, policies, principal_policies, statements) without touching
the database, so it is the same for a file, for several files (several
accounts) and for the boto3 pages of ``iam fetch``.

Problems are collected, never raised, once the file is readable JSON: a policy
that is not valid grammar, a managed policy referenced but missing from the
file. Each becomes a ``LoadError`` naming the file, principal, policy and
statement, and the rest still loads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from recommender.grants.agents import AgentConfig, detect_agent
from recommender.grants.normalize import decode_document, normalize_document

# The document SCP evaluation assumes when a team exports only its deny-list SCPs:
# AWS attaches FullAWSAccess everywhere by default.
FULL_AWS_ACCESS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass
class LoadError:
    file: str
    principal: str | None
    policy: str | None
    stmt_idx: int | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.principal:
            where.append(f"principal {self.principal}")
        if self.policy:
            where.append(f"policy {self.policy}")
        if self.stmt_idx is not None:
            where.append(f"statement {self.stmt_idx}")
        return f"{', '.join(where)}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "principal": self.principal,
            "policy": self.policy,
            "stmt_idx": self.stmt_idx,
            "message": self.message,
        }


@dataclass
class ScpDocument:
    """One SCP and the level (root, OU, account, or 'file') it is attached at."""

    key: str
    name: str
    arn: str | None
    document: Any
    level: str
    source_uri: str


@dataclass
class Inventory:
    """Rows for the grants tables, accumulated over one or more sources."""

    principals: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    principal_policies: list[dict[str, Any]] = field(default_factory=list)
    instance_profiles: list[dict[str, Any]] = field(default_factory=list)
    statements: list[dict[str, Any]] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)

    def error(
        self,
        file: str,
        message: str,
        principal: str | None = None,
        policy: str | None = None,
        stmt_idx: int | None = None,
    ) -> None:
        self.errors.append(LoadError(file, principal, policy, stmt_idx, message))


def account_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def to_timestamp(value: Any) -> datetime | None:
    """ISO strings (CLI output), datetimes (boto3) -> naive UTC, like every table."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def _tags(raw: Any) -> dict[str, str]:
    if isinstance(raw, list):
        return {str(t.get("Key")): str(t.get("Value", "")) for t in raw if isinstance(t, dict)}
    return {}


def add_policy(
    inv: Inventory,
    *,
    key: str,
    arn: str | None,
    name: str,
    kind: str,
    account_id: str | None,
    document: Any,
    source: str,
    principal: str | None,
    version_id: str | None = None,
    created: datetime | None = None,
    updated: datetime | None = None,
) -> None:
    """Normalise one document into ``inv`` (once per key); grammar errors become LoadErrors."""
    if key in inv.policies:
        return
    norm = normalize_document(document)
    for err in norm.errors:
        inv.error(source, err.message, principal, key, err.stmt_idx)
    inv.policies[key] = {
        "policy_key": key,
        "policy_arn": arn,
        "name": name,
        "kind": kind,
        "account_id": account_id,
        "version_id": version_id,
        "document": json.dumps(norm.document, sort_keys=True)
        if norm.document is not None
        else None,
        "created": created,
        "updated": updated,
        "source_uri": source,
    }
    inv.statements.extend(s.row(key) for s in norm.statements)


def _managed_index(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["Arn"]: p for p in data.get("Policies") or [] if isinstance(p, dict) and p.get("Arn")}


def _add_managed(
    inv: Inventory,
    index: dict[str, dict[str, Any]],
    arn: str,
    source: str,
    principal: str,
    *,
    as_boundary: bool = False,
) -> str | None:
    """Add the managed policy ``arn`` (its default version); return its key, None if missing."""
    key = f"boundary:{arn}" if as_boundary else arn
    if key in inv.policies:
        return key
    entry = index.get(arn)
    if entry is None:
        inv.error(
            source,
            f"{'permissions boundary' if as_boundary else 'managed policy'} {arn} is referenced "
            "but not in the file, so its statements are unknown"
            + (" and the boundary is ignored" if as_boundary else "")
            + " (export with the LocalManagedPolicy and AWSManagedPolicy filters)",
            principal,
            arn,
        )
        return None
    default_id = entry.get("DefaultVersionId")
    versions = [v for v in entry.get("PolicyVersionList") or [] if isinstance(v, dict)]
    default = next(
        (v for v in versions if v.get("IsDefaultVersion") or v.get("VersionId") == default_id),
        None,
    )
    if default is None:
        inv.error(
            source, f"managed policy {arn} has no default version in the file", principal, arn
        )
        return None
    owner = account_of(arn)
    add_policy(
        inv,
        key=key,
        arn=arn,
        name=entry.get("PolicyName") or arn.rsplit("/", 1)[-1],
        kind="boundary"
        if as_boundary
        else ("aws_managed" if owner == "aws" else "customer_managed"),
        account_id=owner,
        document=default.get("Document"),
        source=source,
        principal=principal,
        version_id=default.get("VersionId") or default_id,
        created=to_timestamp(entry.get("CreateDate")),
        updated=to_timestamp(default.get("CreateDate")) or to_timestamp(entry.get("UpdateDate")),
    )
    return key


def _inline(inv: Inventory, owner_arn: str, items: Any, source: str, principal: str) -> list[str]:
    keys = []
    for item in items or []:
        if not isinstance(item, dict) or "PolicyName" not in item:
            inv.error(source, "inline policy entry without PolicyName", principal)
            continue
        key = f"inline:{owner_arn}:{item['PolicyName']}"
        add_policy(
            inv,
            key=key,
            arn=None,
            name=item["PolicyName"],
            kind="inline",
            account_id=account_of(owner_arn),
            document=item.get("PolicyDocument"),
            source=source,
            principal=principal,
        )
        keys.append(key)
    return keys


def parse_authorization_details(
    data: Any, source: str, inv: Inventory, agent_config: AgentConfig | None = None
) -> None:
    """Add one ``get-account-authorization-details`` result (dict, or a list of pages) to ``inv``."""
    config = agent_config or AgentConfig()
    pages = data if isinstance(data, list) else [data]
    if not pages or not all(isinstance(p, dict) for p in pages):
        inv.error(source, "not an authorization-details document (expected a JSON object)")
        return
    merged: dict[str, list[Any]] = {}
    for page in pages:
        for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
            merged.setdefault(key, []).extend(page.get(key) or [])
    if not any(merged.values()):
        inv.error(
            source,
            "no RoleDetailList, UserDetailList, GroupDetailList or Policies: "
            "is this the output of `aws iam get-account-authorization-details`?",
        )
        return
    inv.sources.append(source)
    index = _managed_index(merged)

    # Groups first: users inherit their policies as via = group:<name>.
    groups: dict[str, list[str]] = {}
    for g in merged["GroupDetailList"]:
        if not isinstance(g, dict) or not g.get("Arn") or not g.get("GroupName"):
            inv.error(source, "group entry without Arn/GroupName")
            continue
        label = f"group {g['GroupName']}"
        keys = _inline(inv, g["Arn"], g.get("GroupPolicyList"), source, label)
        for att in g.get("AttachedManagedPolicies") or []:
            k = _add_managed(inv, index, att.get("PolicyArn", ""), source, label)
            if k:
                keys.append(k)
        groups[g["GroupName"]] = keys

    for kind, list_key, name_key, inline_key in (
        ("role", "RoleDetailList", "RoleName", "RolePolicyList"),
        ("user", "UserDetailList", "UserName", "UserPolicyList"),
    ):
        for p in merged[list_key]:
            if not isinstance(p, dict) or not p.get("Arn") or not p.get(name_key):
                inv.error(source, f"{kind} entry without Arn/{name_key}")
                continue
            arn, name = p["Arn"], p[name_key]
            account = account_of(arn)
            if account:
                inv.accounts.add(account)
            trust = None
            if kind == "role":
                try:
                    trust = decode_document(p.get("AssumeRolePolicyDocument") or "{}")
                except ValueError as e:
                    inv.error(source, f"trust policy: {e}", arn)
            tags = _tags(p.get("Tags"))
            is_agent, reason = detect_agent(name, tags, trust, config)
            last_used = p.get("RoleLastUsed") or {}
            boundary = (p.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
            inv.principals[arn] = {
                "principal_arn": arn,
                "principal_type": kind,
                "account_id": account,
                "name": name,
                "path": p.get("Path"),
                "principal_id": p.get("RoleId") or p.get("UserId"),
                "created": to_timestamp(p.get("CreateDate")),
                "trust_policy": json.dumps(trust, sort_keys=True) if trust is not None else None,
                "tags": json.dumps(tags, sort_keys=True),
                "boundary_arn": boundary,
                "last_used_at": to_timestamp(last_used.get("LastUsedDate")),
                "last_used_region": last_used.get("Region"),
                "is_agent": is_agent,
                "agent_reason": reason,
                "source_uri": source,
            }
            for profile in p.get("InstanceProfileList") or [] if kind == "role" else []:
                if isinstance(profile, dict) and profile.get("Arn"):
                    inv.instance_profiles.append(
                        {
                            "account_id": account,
                            "profile_arn": profile["Arn"],
                            "profile_name": profile.get("InstanceProfileName"),
                            "role_arn": arn,
                        }
                    )
            links: list[tuple[str, str]] = []
            links += [(k, "inline") for k in _inline(inv, arn, p.get(inline_key), source, arn)]
            for att in p.get("AttachedManagedPolicies") or []:
                k = _add_managed(inv, index, att.get("PolicyArn", ""), source, arn)
                if k:
                    links.append((k, "managed"))
            for group in p.get("GroupList") or [] if kind == "user" else []:
                if group not in groups:
                    inv.error(source, f"member of group {group!r}, which is not in the file", arn)
                for k in groups.get(group, []):
                    links.append((k, f"group:{group}"))
            if boundary:
                k = _add_managed(inv, index, boundary, source, arn, as_boundary=True)
                if k:
                    links.append((k, "boundary"))
            seen = set()
            for k, via in links:
                if (k, via) not in seen:
                    seen.add((k, via))
                    inv.principal_policies.append(
                        {"principal_arn": arn, "policy_key": k, "via": via, "scp_level": None}
                    )

    # Customer managed policies load even when unattached (the recommend stage may
    # rewrite them); AWS managed ones only when something uses them.
    for arn in index:
        if account_of(arn) not in (None, "aws"):
            _add_managed(inv, index, arn, source, "")


def read_json_file(path: Path, inv: Inventory) -> Any | None:
    """The parsed JSON of ``path``, or None after recording why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        inv.error(str(path), f"cannot read file: {e}")
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        inv.error(str(path), f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}")
        return None


def scp_documents(data: Any, source: str, inv: Inventory) -> list[ScpDocument]:
    """SCPs from an export: a policy document, a list of them, or Organizations
    ``describe-policy`` output (one, or a list, or ``{"Policies": [...]}``). All of
    a file's SCPs count as one level (attached together)."""
    items = data if isinstance(data, list) else [data]
    if isinstance(data, dict) and isinstance(data.get("Policies"), list):
        items = data["Policies"]
    base = Path(source).name
    out = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and isinstance(item.get("Policy"), dict):
            item = item["Policy"]
        if isinstance(item, dict) and "Content" in item:
            summary = item.get("PolicySummary") or {}
            name = summary.get("Name") or f"{base}#{i}"
            out.append(
                ScpDocument(
                    key=f"scp:{summary.get('Id') or f'{base}#{i}'}",
                    name=name,
                    arn=summary.get("Arn"),
                    document=item["Content"],
                    level="file",
                    source_uri=source,
                )
            )
        elif isinstance(item, (dict, str)):
            out.append(
                ScpDocument(
                    key=f"scp:{base}#{i}",
                    name=f"{base}#{i}",
                    arn=None,
                    document=item,
                    level="file",
                    source_uri=source,
                )
            )
        else:
            inv.error(
                source, f"SCP entry {i} is neither a policy document nor describe-policy output"
            )
    return out


def apply_scps(inv: Inventory, scps: list[ScpDocument], accounts: set[str] | None = None) -> None:
    """Attach SCPs to every principal of ``accounts`` (default: all in ``inv``)."""
    if not scps:
        return
    targets = inv.accounts if accounts is None else accounts
    levels: dict[str, list[ScpDocument]] = {}
    for scp in scps:
        add_policy(
            inv,
            key=scp.key,
            arn=scp.arn,
            name=scp.name,
            kind="scp",
            account_id=None,
            document=scp.document,
            source=scp.source_uri,
            principal=None,
        )
        levels.setdefault(scp.level, []).append(scp)
    for level, docs in levels.items():
        keys = {d.key for d in docs}
        has_allow = any(s["effect"] == "Allow" for s in inv.statements if s["policy_key"] in keys)
        if not has_allow:
            # A deny-list export without FullAWSAccess would otherwise block everything.
            key = "scp:implicit-FullAWSAccess"
            add_policy(
                inv,
                key=key,
                arn=None,
                name="FullAWSAccess (assumed)",
                kind="scp",
                account_id=None,
                document=FULL_AWS_ACCESS,
                source="(implicit)",
                principal=None,
            )
            docs.append(ScpDocument(key, "FullAWSAccess", None, FULL_AWS_ACCESS, level, ""))
            inv.warnings.append(
                f"SCPs at level {level!r} contain no Allow statement; assuming FullAWSAccess is "
                "attached there too, as AWS does by default"
            )
        for arn, p in inv.principals.items():
            if p["account_id"] in targets:
                for d in docs:
                    inv.principal_policies.append(
                        {
                            "principal_arn": arn,
                            "policy_key": d.key,
                            "via": "scp",
                            "scp_level": level,
                        }
                    )
