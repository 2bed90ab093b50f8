"""``iam load``: authorization-details files (and SCP exports) into the database.

Reads every file, collects the rows and the problems, writes them in one
transaction, then re-evaluates. A file that is not JSON, or a policy that is not
IAM grammar, is recorded in ``iam_load_errors`` and reported; the rest loads.
Only when nothing at all could be read is the load an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from recommender.catalog import ensure_catalog
from recommender.errors import PolicyParseError
from recommender.grants.agents import AgentConfig, load_agent_config
from recommender.grants.authdetails import (
    Inventory,
    LoadError,
    ScpDocument,
    apply_scps,
    parse_authorization_details,
    read_json_file,
    scp_documents,
)
from recommender.grants.evaluate import evaluate
from recommender.grants.store import write_inventory


@dataclass
class LoadResult:
    files: list[str]
    accounts: list[str]
    counts: dict[str, Any]
    errors: list[LoadError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["errors"] = [e.to_dict() for e in self.errors]
        return d


def _resolve_agent_config(agent_config: AgentConfig | str | Path | None) -> AgentConfig:
    if isinstance(agent_config, AgentConfig):
        return agent_config
    return load_agent_config(agent_config)


def load_inventory(
    con: duckdb.DuckDBPyConnection,
    inv: Inventory,
    files: list[str],
    progress: Callable[[int, int, str], None] | None = None,
) -> LoadResult:
    """Write an already-parsed inventory and re-evaluate (shared by load and fetch)."""
    if not inv.principals and not inv.policies:
        raise PolicyParseError(
            "nothing to load: " + ("; ".join(str(e) for e in inv.errors) or "no principals found")
        )
    ensure_catalog(con)
    write_inventory(con, inv, files)
    counts = evaluate(con, progress)
    return LoadResult(
        files=files,
        accounts=sorted(inv.accounts),
        counts=counts,
        errors=inv.errors,
        warnings=inv.warnings,
    )


def load_authorization_details(
    con: duckdb.DuckDBPyConnection,
    paths: Iterable[str | Path],
    scp_paths: Iterable[str | Path] | None = None,
    agent_config: AgentConfig | str | Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> LoadResult:
    """Load ``get-account-authorization-details`` files (one account each) and
    optional SCP exports applied to every principal of those accounts."""
    config = _resolve_agent_config(agent_config)
    inv = Inventory()
    files = [str(p) for p in paths]
    if not files:
        raise PolicyParseError("no authorization-details file given")
    for f in files:
        data = read_json_file(Path(f), inv)
        if data is not None:
            parse_authorization_details(data, f, inv, config)
    scps: list[ScpDocument] = []
    for s in scp_paths or []:
        data = read_json_file(Path(s), inv)
        if data is not None:
            scps.extend(scp_documents(data, str(s), inv))
        files.append(str(s))
    apply_scps(inv, scps)
    return load_inventory(con, inv, files, progress)
