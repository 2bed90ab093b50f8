"""Operation-to-action facts from AWS's Service Authorization Reference JSON.

AWS publishes, per service, which IAM actions each API operation authorizes
(``Operations[].AuthorizedActions``) at https://servicereference.us-east-1.amazonaws.com/
(a list of ``{"service", "url"}``; each URL a service document with ``Name``,
``Actions[]`` and ``Operations[]``). ``recommender catalog update`` fetches it into a
local cache beside the database and loads ``sar_operations``; the mapping uses those
facts between its explicit rules and the same-name default. It is optional: the
built-in rules stand alone offline, and nothing here runs unless asked.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import duckdb
import pyarrow as pa

from recommender.errors import AwsAccessError, RecommenderError

DEFAULT_URL = "https://servicereference.us-east-1.amazonaws.com/"
INDEX_FILE = "index.json"
_SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TIMEOUT = 30


def default_cache_dir(db_path: str | Path) -> Path:
    """The cache lives in the database's folder, so each database keeps its own facts."""
    return Path(db_path).resolve().parent / ".recommender-cache" / "sar"


def _get(url: str) -> bytes:
    if not url.lower().startswith(("https://", "http://")):
        raise RecommenderError(f"refusing to fetch {url!r}: only http(s) URLs are read")
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT) as resp:
            return bytes(resp.read())
    except (urllib.error.URLError, OSError) as e:
        raise AwsAccessError(
            f"could not fetch {url}: {e}; the built-in mapping rules work offline, "
            "retry when online or pass --url to a reachable copy"
        ) from e


def _json(data: bytes, where: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as e:
        raise RecommenderError(
            f"{where} is not JSON ({e}); is --url the service reference list?"
        ) from e


def fetch(
    url: str = DEFAULT_URL,
    cache_dir: Path | None = None,
    *,
    services: Iterable[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Path:
    """Download the service list and the service documents into ``cache_dir``.

    ``services`` limits the download to those IAM prefixes. Returns the cache folder.
    """
    if cache_dir is None:
        raise RecommenderError("fetch needs a cache folder")
    index = _json(_get(url), url)
    if not isinstance(index, list):
        raise RecommenderError(f"{url} did not return the list of services it should")
    wanted = {s.lower() for s in services} if services else None
    entries = []
    for entry in index:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("service"), str)
            or not isinstance(entry.get("url"), str)
        ):
            continue
        name = entry["service"].lower()
        if not _SAFE_NAME.match(name):  # the name becomes a file name
            continue
        if wanted is None or name in wanted:
            entries.append({"service": name, "url": urljoin(url, entry["url"])})
    if wanted is not None and not entries:
        raise RecommenderError(f"none of {sorted(wanted)} is in the service list at {url}")
    cache_dir.mkdir(parents=True, exist_ok=True)
    for i, entry in enumerate(entries, start=1):
        body = _get(entry["url"])
        _json(body, entry["url"])  # do not cache what cannot be read back
        (cache_dir / f"{entry['service']}.json").write_bytes(body)
        entry["sha256"] = hashlib.sha256(body).hexdigest()
        entry["fetched_at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        if progress:
            progress(i, len(entries), entry["service"])
    (cache_dir / INDEX_FILE).write_text(
        json.dumps({"url": url, "services": entries}, indent=1), encoding="utf-8"
    )
    return cache_dir


def parse_service(doc: Any, fallback_name: str) -> list[dict[str, str]]:
    """``sar_operations`` rows of one service document (unknown shapes give no rows)."""
    if not isinstance(doc, dict):
        return []
    service = str(doc.get("Name") or fallback_name).lower()
    rows = []
    for op in doc.get("Operations") or []:
        if not isinstance(op, dict) or not isinstance(op.get("Name"), str):
            continue
        name = op["Name"].split(":")[-1]
        for auth in op.get("AuthorizedActions") or []:
            if isinstance(auth, dict) and isinstance(auth.get("Name"), str):
                prefix = str(auth.get("Service") or service).lower()
                rows.append(
                    {"service": service, "operation": name, "action": f"{prefix}:{auth['Name']}"}
                )
    return rows


def load_cache(con: duckdb.DuckDBPyConnection, cache_dir: Path) -> dict[str, Any]:
    """Replace ``sar_operations``/``sar_sources`` with the cached documents."""
    index_path = cache_dir / INDEX_FILE
    if not index_path.is_file():
        raise RecommenderError(
            f"no Service Authorization Reference cache at {cache_dir}; run `recommender catalog update` first"
        )
    index = _json(index_path.read_bytes(), str(index_path))
    ops: list[dict[str, str]] = []
    sources = []
    for entry in index.get("services", []):
        path = cache_dir / f"{entry['service']}.json"
        if not path.is_file():
            continue
        rows = parse_service(_json(path.read_bytes(), str(path)), entry["service"])
        ops.extend(rows)
        sources.append(
            {
                "service": entry["service"],
                "url": entry.get("url"),
                "sha256": entry.get("sha256"),
                "operations": len({r["operation"] for r in rows}),
                "fetched_at": datetime.fromisoformat(entry["fetched_at"])
                if entry.get("fetched_at")
                else None,
            }
        )
    # Deduplicate: a document may list an action twice for one operation.
    ops = [dict(t) for t in sorted({tuple(sorted(r.items())) for r in ops})]
    con.execute("BEGIN")
    try:
        con.execute("DELETE FROM sar_operations")
        con.execute("DELETE FROM sar_sources")
        if ops:
            ops_arrow = pa.Table.from_pylist(ops)  # noqa: F841 - read by DuckDB by name
            con.execute(
                "INSERT INTO sar_operations (service, operation, action) SELECT service, operation, action FROM ops_arrow"
            )
        if sources:
            src_arrow = pa.Table.from_pylist(sources)  # noqa: F841
            con.execute(
                "INSERT INTO sar_sources (service, url, sha256, operations, fetched_at) "
                "SELECT service, url, sha256, operations, fetched_at FROM src_arrow"
            )
        con.execute("COMMIT")
    except duckdb.Error as e:
        con.execute("ROLLBACK")
        raise RecommenderError(
            f"could not load the Service Authorization Reference cache: {e}"
        ) from e
    return {
        "services": len(sources),
        "operations": len({(r["service"], r["operation"]) for r in ops}),
        "facts": len(ops),
    }


def update(
    con: duckdb.DuckDBPyConnection,
    url: str = DEFAULT_URL,
    cache_dir: Path | None = None,
    *,
    services: Iterable[str] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> dict[str, Any]:
    """Fetch into the cache and load it; returns counts and the cache folder."""
    if cache_dir is None:
        raise RecommenderError("update needs a cache folder")
    fetch(url, cache_dir, services=services, progress=progress)
    result = load_cache(con, cache_dir)
    result["cache"] = str(cache_dir)
    result["url"] = url
    return result
