"""Which IAM actions each CloudTrail call needed: the event-to-action rules.

CloudTrail records API operations; policies grant IAM actions. Most operations need
the same-named action of the service's IAM prefix, but not all: S3's ``ListObjects``
needs ``s3:ListBucket``, ``CopyObject`` needs read on one object and write on another,
``RunInstances`` with an instance profile also needs ``iam:PassRole``, and
``sts:GetCallerIdentity`` needs nothing. A reviewer removes permissions on the strength
of this mapping, so it is kept as data with a citation per rule, not as code:

* ``event_source_prefixes``: CloudTrail event source -> IAM prefix, derived from
  botocore's service metadata (endpoint prefix / signing name) and the catalog, with
  ``data/source_prefix_overrides.csv`` for hosts whose prefix differs.
* ``mapping_builtin_rules``: ``data/event_action_rules.csv`` plus API Gateway's
  HTTP-verb actions derived from botocore.
* ``event_action_rules``: the resolved rules for every (source, name) pair observed in
  ``usage_daily`` (and every pair the built-in rules name). Precedence: explicit rules >
  Service Authorization Reference facts (``sar_operations``, optional) > same-named
  catalog action > glob fallbacks; conditional rules (``when_param``) always add.
* views ``observed_actions`` and ``unmapped_calls`` over ``usage_daily``.

Conditional rules are evaluated at ingest, not here: ``event_touched_resources``
(``sql/schema/05_event_resources.sql``) emits a resource of the rule's
``resource_kind`` exactly when the request carries the condition, so a rule applies
only to ``usage_daily`` rows of its kind. Everything works offline.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from recommender import db
from recommender.catalog import ensure_catalog
from recommender.errors import RecommenderError

RULE_COLUMNS = (
    "event_source",
    "event_name",
    "action",
    "resource_kind",
    "when_param",
    "rule",
    "citation",
    "note",
)
# Rule kinds a built-in rule may have; the derived ones are added by resolve_rules.sql.
EXPLICIT_RULES = {"renamed", "multi_action", "when_param", "no_permission", "http_verb"}
DERIVED_RULES = {"same_name", "version_suffix", "sar"}

# Where AWS documents that CloudTrail event names carry the API version
# (UpdateFunctionConfiguration20150331v2): the citation of 'version_suffix' rules.
VERSION_SUFFIX_CITATION = (
    "https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html"
)
APIGATEWAY_CITATION = (
    "https://docs.aws.amazon.com/apigateway/latest/developerguide/"
    "api-gateway-control-access-using-iam-policies-to-create-and-manage-api.html"
)
_DATA_FILES = ("event_action_rules.csv", "source_prefix_overrides.csv", "resource_kinds.csv")
# Bumped when the derivation of event_source_prefixes changes, so stored tables rebuild.
_PREFIX_DERIVATION = "2"


# ---- rules as data --------------------------------------------------------------


def _data_file(name: str) -> str:
    return (resources.files("recommender") / "data" / name).read_text(encoding="utf-8")


def _read_csv(name: str, required: Iterable[str]) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(_data_file(name)))
    missing = set(required) - set(reader.fieldnames or [])
    if missing:
        raise RecommenderError(f"recommender/data/{name} lacks columns {sorted(missing)}")
    return [
        {k: (v.strip() or None) if isinstance(v, str) else v for k, v in row.items()}
        for row in reader
    ]


def read_rules() -> list[dict[str, Any]]:
    """The hand-written rules of ``data/event_action_rules.csv``, checked for shape."""
    rows = _read_csv("event_action_rules.csv", RULE_COLUMNS)
    for i, row in enumerate(rows, start=2):
        where = f"recommender/data/event_action_rules.csv line {i}"
        if row["rule"] not in EXPLICIT_RULES:
            raise RecommenderError(
                f"{where}: rule {row['rule']!r} is not one of {sorted(EXPLICIT_RULES)}"
            )
        if (row["action"] is None) != (row["rule"] == "no_permission"):
            raise RecommenderError(f"{where}: only no_permission rules have no action")
        if row["rule"] == "when_param" and (
            row["when_param"] is None or row["resource_kind"] is None
        ):
            raise RecommenderError(f"{where}: a when_param rule needs when_param and resource_kind")
        if row["when_param"] is not None and row["rule"] not in ("when_param", "multi_action"):
            raise RecommenderError(
                f"{where}: only when_param and multi_action rules take when_param"
            )
        if row["when_param"] is not None and row["resource_kind"] is None:
            raise RecommenderError(
                f"{where}: a conditional rule needs the resource_kind ingest emits when the condition holds"
            )
        if not row["citation"]:
            raise RecommenderError(f"{where}: every explicit rule cites its AWS documentation page")
        row["event_source"] = row["event_source"].lower()
    return rows


def read_source_overrides() -> list[dict[str, Any]]:
    return _read_csv("source_prefix_overrides.csv", ("event_source", "prefix", "citation", "note"))


def read_resource_kinds() -> list[dict[str, Any]]:
    rows = _read_csv("resource_kinds.csv", ("kind", "own_resource", "description"))
    for row in rows:
        row["own_resource"] = str(row["own_resource"]).lower() == "true"
    return rows


# ---- botocore: event source hosts and API Gateway verbs ------------------------------


def _botocore_data() -> Path:
    import botocore

    return Path(botocore.__file__).parent / "data"


def _model_path(service_dir: Path) -> Path | None:
    versions = sorted(v for v in service_dir.iterdir() if v.is_dir())
    for version in reversed(versions):
        for name in ("service-2.json.gz", "service-2.json"):
            if (version / name).is_file():
                return version / name
    return None


def _read_model_head(path: Path, size: int = 20000) -> str:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:  # type: ignore[operator]
        return f.read(size)


@lru_cache(maxsize=1)
def _apigateway_verbs() -> tuple[tuple[str, str], ...]:
    """(operation, HTTP verb) of botocore's apigateway and apigatewayv2 models."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    loader = botocore.session.get_session().get_component("data_loader")
    pairs: set[tuple[str, str]] = set()
    for service in ("apigateway", "apigatewayv2"):
        try:
            model = loader.load_service_model(service, "service-2")
        except UnknownServiceError:  # an older botocore without the model: no rules from it
            model = {}
        for name, op in model.get("operations", {}).items():
            method = op.get("http", {}).get("method")
            if method:
                pairs.add((name, method.upper()))
    return tuple(sorted(pairs))


@lru_cache(maxsize=1)
def botocore_service_metadata() -> tuple[tuple[str, str | None, str | None], ...]:
    """(service, endpointPrefix, signingName) of every botocore service model.

    Only the ``metadata`` object at the head of each model is parsed: loading all 400+
    full models takes ~10 s, the heads a fraction of a second.
    """
    out = []
    decoder = json.JSONDecoder()
    for service_dir in sorted(p for p in _botocore_data().iterdir() if p.is_dir()):
        path = _model_path(service_dir)
        if path is None:
            continue
        head = _read_model_head(path)
        at = head.find('"metadata"')
        start = head.find("{", at) if at >= 0 else -1
        if start < 0:
            continue
        try:
            meta, _ = decoder.raw_decode(head, start)
        except json.JSONDecodeError:
            continue  # metadata longer than the head: such a model has nothing we need
        out.append((service_dir.name, meta.get("endpointPrefix"), meta.get("signingName")))
    return tuple(out)


def botocore_version() -> str:
    import botocore

    return str(botocore.__version__)


def derive_source_prefixes(catalog_prefixes: set[str]) -> list[dict[str, str]]:
    """``event_source_prefixes`` rows: overrides, then botocore, then catalog identity.

    CloudTrail names a call's service by its API host (``<host>.amazonaws.com``). For each
    botocore service, the hosts are its signing name, its endpoint prefix and that prefix's
    last label (``api.sagemaker`` -> ``sagemaker``); the IAM prefix is the catalog service
    equal to the signing name, else to the endpoint prefix. A host claimed by several
    services keeps the strongest origin, then the prefix equal to the host, then the
    alphabetically first.
    """
    strength = {
        "override": 0,
        "botocore_signing": 1,
        "botocore_endpoint": 2,
        "botocore_host_label": 3,
        "catalog": 4,
    }
    candidates: dict[str, list[tuple[int, int, str, str]]] = {}

    def offer(host: str | None, prefix: str, origin: str) -> None:
        if not host:
            return
        host = host.lower()
        candidates.setdefault(host, []).append(
            (strength[origin], 0 if host == prefix else 1, prefix, origin)
        )

    for row in read_source_overrides():
        offer(row["event_source"].removesuffix(".amazonaws.com"), row["prefix"], "override")
    for _service, endpoint, signing in botocore_service_metadata():
        prefix = next((p for p in (signing, endpoint) if p and p in catalog_prefixes), None)
        if prefix is None:
            continue
        offer(signing, prefix, "botocore_signing")
        offer(endpoint, prefix, "botocore_endpoint")
        if endpoint and "." in endpoint:
            offer(endpoint.rsplit(".", 1)[-1], prefix, "botocore_host_label")
    for prefix in catalog_prefixes:
        offer(prefix, prefix, "catalog")
    rows = []
    for host, options in sorted(candidates.items()):
        _, _, prefix, origin = min(options)
        rows.append({"event_source": f"{host}.amazonaws.com", "prefix": prefix, "origin": origin})
    return rows


def apigateway_verb_rules(catalog_actions_lc: set[str]) -> list[dict[str, Any]]:
    """API Gateway management calls are authorized as ``apigateway:<HTTP verb>``.

    The verb of each operation comes from botocore's ``apigateway`` (REST) and
    ``apigatewayv2`` (HTTP/WebSocket) models; where the two disagree on a name, both
    verbs are kept (either may be the call).
    """
    verbs: dict[str, set[str]] = {}
    for name, method in _apigateway_verbs():
        verbs.setdefault(name, set()).add(method)
    rows = []
    for name in sorted(verbs):
        for verb in sorted(verbs[name]):
            action = f"apigateway:{verb}"
            if action.lower() in catalog_actions_lc:
                rows.append(
                    {
                        "event_source": "apigateway.amazonaws.com",
                        "event_name": name,
                        "action": action,
                        "resource_kind": None,
                        "when_param": None,
                        "rule": "http_verb",
                        "citation": APIGATEWAY_CITATION,
                        "note": f"{name} is an HTTP {verb} on the API Gateway resource (botocore model)",
                    }
                )
    return rows


# ---- catalog ARN templates as regular expressions -------------------------------------

# Placeholders that never contain "/" even when they end the template (an S3 bucket ARN
# must not match an object ARN; a Lambda function ARN is not a function version's).
_ATOMIC = {
    "Partition",
    "Region",
    "Account",
    "BucketName",
    "TableName",
    "FunctionName",
    "QueueName",
    "TopicName",
    "KeyId",
    "AgentId",
    "KnowledgeBaseId",
}


def template_regex(template: str) -> str:
    """An anchored RE2/Python regex for a catalog ARN template (``${X}`` placeholders).

    A placeholder matches one ARN field (no ``:`` or ``/``); the last one may contain both
    (object keys, role paths, model ids like ``...-v1:0``) unless it is a name that never does.
    """
    parts = [p for p in re.split(r"(\$\{[^}]+\})", template) if p]
    out = []
    for i, part in enumerate(parts):
        if part.startswith("${") and part.endswith("}"):
            name = part[2:-1]
            if name == "Partition":
                out.append("aws[a-z-]*")
            elif name == "Region":
                # `*`: a call that may be served in several regions (a cross-region
                # inference profile's foundation model) touches the resource in any of them.
                out.append("([a-z0-9-]*|\\*)")
            elif i == len(parts) - 1 and name not in _ATOMIC:
                out.append(".+")
            else:
                out.append("[^:/]+")
        else:
            out.append(re.escape(part))
    return "^" + "".join(out) + "$"


# ---- loading and resolving ----------------------------------------------------------


def _replace_rows(
    con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    """Replace a mapping table's content with ``rows`` (only ``columns`` are written)."""
    db.replace_rows(con, table, [{c: r.get(c) for c in columns} for r in rows])


def _meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM mapping_meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def _set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO mapping_meta VALUES (?, ?)", [key, value])


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [name]
    ).fetchone()
    views = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT temporary", [name]
    ).fetchone()
    return bool((row and row[0]) or (views and views[0]))


def load_static(con: duckdb.DuckDBPyConnection) -> None:
    """Fill the rule inputs that do not depend on observed calls, when they are stale:
    source prefixes (per botocore and catalog version), ARN patterns (per catalog
    version), built-in rules and resource kinds (always; they are small)."""
    catalog_version = ensure_catalog(con)
    stamp = f"{_PREFIX_DERIVATION}|{botocore_version()}|{catalog_version}"
    if _meta(con, "prefixes_stamp") != stamp:
        prefixes = {r[0] for r in con.execute("SELECT service FROM catalog_services").fetchall()}
        _replace_rows(
            con,
            "event_source_prefixes",
            ("event_source", "prefix", "origin"),
            derive_source_prefixes(prefixes),
        )
        _set_meta(con, "prefixes_stamp", stamp)
    if _meta(con, "patterns_stamp") != stamp:
        rows = [
            {**r, "arn_regex": template_regex(r["arn_template"])}
            for r in db.query(con, "mapping/arn_patterns_source")
        ]
        _replace_rows(
            con,
            "mapping_arn_patterns",
            ("action", "resource_type", "arn_template", "arn_regex"),
            rows,
        )
        _set_meta(con, "patterns_stamp", stamp)
    rules_stamp = "|".join(
        [stamp, hashlib.sha256("".join(_data_file(n) for n in _DATA_FILES).encode()).hexdigest()]
    )
    if _meta(con, "rules_stamp") == rules_stamp:
        return
    actions_lc = {r[0] for r in con.execute("SELECT action_lc FROM catalog_actions").fetchall()}
    builtin = [{**r, "origin": "csv"} for r in read_rules()] + [
        {**r, "origin": "botocore"} for r in apigateway_verb_rules(actions_lc)
    ]
    for row in builtin:
        row["is_glob"] = "*" in row["event_name"]
    _replace_rows(con, "mapping_builtin_rules", RULE_COLUMNS + ("is_glob", "origin"), builtin)
    _replace_rows(
        con,
        "mapping_resource_kinds",
        ("kind", "own_resource", "description"),
        read_resource_kinds(),
    )
    _set_meta(con, "rules_stamp", rules_stamp)


def refresh_rules(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Rebuild ``event_action_rules`` for every pair in ``usage_daily`` (and every pair
    the built-in rules name) and (re)create the views ``observed_actions`` and
    ``unmapped_calls``. Returns counts, for the CLI and for tests."""
    load_static(con)  # may load the catalog in its own transaction
    with db.transaction(con):
        # The views read ingest's tables; a database without them gets the rules only.
        has_usage = _table_exists(con, "usage_daily") and _table_exists(con, "events")
        db.run(con, "mapping/stage_pairs_usage" if has_usage else "mapping/stage_pairs_builtin")
        db.run(
            con,
            "mapping/resolve_rules",
            {"suffix_citation": VERSION_SUFFIX_CITATION},
            pairs="mapping_pairs",
            out="mapping_resolved",
        )
        db.run(con, "mapping/delete_rules")
        db.run(con, "mapping/store_rules")
        if has_usage:
            db.run(con, "mapping/create_observed_actions")
            db.run(con, "mapping/create_pair_calls")
            db.run(con, "mapping/create_unmapped_calls")
    summary: dict[str, Any] = {
        "rules": con.execute("SELECT count(*) FROM event_action_rules").fetchone()[0],  # type: ignore[index]
        "pairs": con.execute(
            "SELECT count(DISTINCT (event_source, event_name)) FROM event_action_rules"
        ).fetchone()[0],  # type: ignore[index]
        "has_usage": has_usage,
    }
    if has_usage:
        summary["coverage"] = coverage(con)
    return summary


def actions_for(
    con: duckdb.DuckDBPyConnection, event_source: str, event_name: str
) -> dict[str, Any]:
    """The actions one call needs, with rule and citation; works on an empty database."""
    load_static(con)
    db.run(con, "mapping/stage_one_pair", {"event_source": event_source, "event_name": event_name})
    db.run(
        con,
        "mapping/resolve_rules",
        {"suffix_citation": VERSION_SUFFIX_CITATION},
        pairs="mapping_one_pair",
        out="mapping_one_resolved",
    )
    rules = db.query(con, "mapping/rules_for_pair")
    prefix = con.execute(
        "SELECT prefix, origin FROM event_source_prefixes WHERE event_source = lower(trim(?))",
        [event_source],
    ).fetchone()
    result: dict[str, Any] = {
        "event_source": event_source,
        "event_name": event_name,
        "prefix": prefix[0] if prefix else None,
        "prefix_origin": prefix[1] if prefix else None,
        "actions": sorted({r["action"] for r in rules if r["action"]}),
        "rule": _overall_rule(rules),
        "rules": rules,
        "mapped": bool(rules),
    }
    if not rules:
        result["reason"] = (
            f"no IAM service prefix known for event source {event_source}"
            if prefix is None
            else f"no rule and no catalog action named {prefix[0]}:{_operation(event_name)}"
        )
    return result


def _operation(event_name: str) -> str:
    return re.sub(r"[0-9]{4}_?[0-9]{2}_?[0-9]{2}(v[0-9]+)?$", "", event_name.strip())


def _overall_rule(rules: list[dict[str, Any]]) -> str | None:
    """One word for a call's mapping: the rule of its unconditional rows (or 'unmapped')."""
    if not rules:
        return "unmapped"
    base = sorted({r["rule"] for r in rules if r["rule"] != "when_param"})
    if not base:
        return "when_param"
    return base[0] if len(base) == 1 else "+".join(base)


def map_all(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Every (event_source, event_name) in ``usage_daily`` with its actions and counts,
    plus the unmapped pairs and the share of calls mapped (refreshes the rules first)."""
    summary = refresh_rules(con)
    if not summary["has_usage"]:
        raise RecommenderError(
            "the database has no usage_daily table; run `recommender ingest` first"
        )
    calls = []
    for row in db.query(con, "mapping/pair_summary"):
        rules = row.pop("rules") or []
        row["actions"] = sorted({r["action"] for r in rules if r["action"]})
        row["rule"] = _overall_rule(rules)
        row["rules"] = rules
        calls.append(row)
    return {
        "calls": calls,
        "unmapped": db.query(con, "mapping/unmapped"),
        "coverage": summary["coverage"],
    }


def coverage(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """How many observed calls the rules map, to actions or explicitly to none."""
    row = db.query(con, "mapping/coverage")[0]
    total = row["calls"] or 0
    mapped = (row["calls_to_actions"] or 0) + (row["calls_no_permission"] or 0)
    row["share_mapped"] = round(mapped / total, 4) if total else None
    return row
