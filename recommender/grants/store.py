"""Write an ``Inventory`` into the grants tables, replacing what it reloads.

A load replaces whole accounts: principals and policies of every account in
the inventory are deleted first, so a role removed from IAM disappears on the
next load. AWS managed policies are shared by all accounts and replaced by key.
Everything happens in one transaction, so a failed load leaves the previous
state intact.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import duckdb
import pyarrow as pa

from recommender import db
from recommender.errors import RecommenderError
from recommender.grants.authdetails import Inventory

_SCHEMAS: dict[str, pa.Schema] = {
    "instance_profiles": pa.schema(
        [
            ("account_id", pa.string()),
            ("profile_arn", pa.string()),
            ("profile_name", pa.string()),
            ("role_arn", pa.string()),
        ]
    ),
    "principals": pa.schema(
        [
            ("principal_arn", pa.string()),
            ("principal_type", pa.string()),
            ("account_id", pa.string()),
            ("name", pa.string()),
            ("path", pa.string()),
            ("principal_id", pa.string()),
            ("created", pa.timestamp("us")),
            ("trust_policy", pa.string()),
            ("tags", pa.string()),
            ("boundary_arn", pa.string()),
            ("last_used_at", pa.timestamp("us")),
            ("last_used_region", pa.string()),
            ("is_agent", pa.bool_()),
            ("agent_reason", pa.string()),
            ("source_uri", pa.string()),
        ]
    ),
    "policies": pa.schema(
        [
            ("policy_key", pa.string()),
            ("policy_arn", pa.string()),
            ("name", pa.string()),
            ("kind", pa.string()),
            ("account_id", pa.string()),
            ("version_id", pa.string()),
            ("document", pa.string()),
            ("created", pa.timestamp("us")),
            ("updated", pa.timestamp("us")),
            ("source_uri", pa.string()),
        ]
    ),
    "principal_policies": pa.schema(
        [
            ("principal_arn", pa.string()),
            ("policy_key", pa.string()),
            ("via", pa.string()),
            ("scp_level", pa.string()),
        ]
    ),
    "statements": pa.schema(
        [
            ("policy_key", pa.string()),
            ("stmt_idx", pa.int32()),
            ("sid", pa.string()),
            ("effect", pa.string()),
            ("actions", pa.list_(pa.string())),
            ("not_actions", pa.list_(pa.string())),
            ("resources", pa.list_(pa.string())),
            ("not_resources", pa.list_(pa.string())),
            ("conditions", pa.string()),
        ]
    ),
    "iam_load_errors": pa.schema(
        [
            ("file", pa.string()),
            ("principal", pa.string()),
            ("policy", pa.string()),
            ("stmt_idx", pa.int32()),
            ("message", pa.string()),
            ("loaded_at", pa.timestamp("us")),
        ]
    ),
}


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    db.append_rows(con, table, rows, schema=_SCHEMAS[table])


def write_inventory(con: duckdb.DuckDBPyConnection, inv: Inventory, files: list[str]) -> None:
    """Replace the accounts in ``inv`` with its rows, and record its load errors."""
    params = {
        "accounts": sorted(inv.accounts),
        "principal_arns": sorted(inv.principals),
        "policy_keys": sorted(inv.policies),
        "files": files,
    }
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    con.execute("BEGIN")
    try:
        for name in (
            "grants/delete_principal_policies",
            "grants/delete_principals",
            "grants/delete_policies",
            "grants/delete_statements",
            "grants/delete_load_errors",
            "grants/delete_instance_profiles",
        ):
            db.run(con, name, params)
        _insert(con, "principals", list(inv.principals.values()))
        _insert(con, "policies", list(inv.policies.values()))
        _insert(con, "principal_policies", inv.principal_policies)
        _insert(con, "instance_profiles", inv.instance_profiles)
        _insert(con, "statements", inv.statements)
        _insert(
            con,
            "iam_load_errors",
            [{**e.to_dict(), "loaded_at": now} for e in inv.errors],
        )
        db.run(con, "grants/delete_orphan_policies")
        db.run(con, "grants/delete_statements", {**params, "policy_keys": []})
        con.execute("COMMIT")
    except (duckdb.Error, RecommenderError):
        con.execute("ROLLBACK")
        raise
