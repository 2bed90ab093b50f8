"""Builders shared by the grants tests: authorization-details documents from plain
statements, and a loader that replaces everything in a reused connection."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

from recommender import db
from recommender.catalog import ensure_catalog
from recommender.grants.authdetails import (
    Inventory,
    ScpDocument,
    apply_scps,
    parse_authorization_details,
)
from recommender.grants.load import load_inventory
from recommender.grants.store import write_inventory

ACCOUNT = "111122223333"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/agent"
_TABLES = (
    "principals", "policies", "principal_policies", "statements", "iam_load_errors",
)  # fmt: skip


_TEMPLATE: list[Path] = []


def catalog_template_path(tmp_path_factory: Any) -> Path:
    """A database file with the catalog already loaded, built once per test process;
    tests copy it instead of loading the 20k-action catalog again."""
    if not _TEMPLATE:
        path = tmp_path_factory.mktemp("grants-template") / "catalog.duckdb"
        con = db.connect(path)
        ensure_catalog(con)
        con.close()
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


def fresh_db(template: Path, path: Path) -> Any:
    """A new database at ``path`` with the catalog loaded (copied from the template)."""
    shutil.copy(template, path)
    return db.connect(path)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def auth_details(
    identity: list[dict[str, Any]],
    boundary: list[dict[str, Any]] | None = None,
    *,
    name: str = "agent",
    encode: bool = False,
) -> dict[str, Any]:
    """One role with an inline policy (and a customer managed boundary)."""
    arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    inline = doc(*identity)
    role: dict[str, Any] = {
        "RoleName": name, "Arn": arn, "Path": "/", "RoleId": "AROAEXAMPLE",
        "CreateDate": "2026-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                          "Action": "sts:AssumeRole"}),
        "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": quote(json.dumps(inline)) if encode else inline}],
        "AttachedManagedPolicies": [], "Tags": [],
    }  # fmt: skip
    policies = []
    if boundary is not None:
        barn = f"arn:aws:iam::{ACCOUNT}:policy/boundary"
        role["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": barn,
        }
        policies.append({
            "PolicyName": "boundary", "Arn": barn, "DefaultVersionId": "v1",
            "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": doc(*boundary)}],
        })  # fmt: skip
    return {
        "RoleDetailList": [role],
        "UserDetailList": [],
        "GroupDetailList": [],
        "Policies": policies,
    }


def reset(con: Any) -> None:
    for table in _TABLES:
        db.run(con, "common/clear_table", table=table)


def load_role(
    con: Any,
    identity: list[dict[str, Any]],
    boundary: list[dict[str, Any]] | None = None,
    scp_levels: list[list[dict[str, Any]]] | None = None,
    *,
    evaluate_all: bool = True,
) -> Any:
    """Replace the database's IAM with one role; each SCP level is a list of documents."""
    reset(con)
    inv = Inventory()
    parse_authorization_details(auth_details(identity, boundary), "test.json", inv)
    scps = [
        ScpDocument(f"scp:L{i}-{j}", f"L{i}-{j}", None, d, f"level{i}", "test-scp.json")
        for i, level in enumerate(scp_levels or [])
        for j, d in enumerate(level)
    ]
    apply_scps(inv, scps)
    if evaluate_all:
        return load_inventory(con, inv, ["test.json"])
    # Only the expansion steps (for tests of action matching alone).
    write_inventory(con, inv, ["test.json"])
    for table in ("action_pattern_matches", "statement_actions"):
        db.run(con, "common/clear_table", table=table)
    db.run(con, "grants/action_pattern_matches")
    db.run(con, "grants/statement_actions")
    return None


def effective(con: Any, action: str) -> list[dict[str, Any]]:
    cur = con.execute(
        "SELECT resource_pattern, conditional, status, reason, except_resources, stmt_idx "
        "FROM effective_grants WHERE action = ? ORDER BY stmt_idx, resource_pattern",
        [action],
    )
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]
