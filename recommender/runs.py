"""The monthly job: one config file, one command, a history row per run, and retention.

A scheduler runs ``recommender run --config recommender.toml`` once a month. This
module turns the config into one ``pipeline.run_pipeline`` call (ingest only what is
new from local folders and/or S3, reload IAM, analyze, recommend, report) writing to a
dated folder ``<out>/<YYYY-MM-DD>/``, optionally opens the IaC pull request, and
records the run in ``runs`` whatever its outcome, so ``recommender history`` shows
progress and failures alike. Per-role counts are not copied: ``runs.analysis_run_id``
points at ``analysis_runs``/``analysis_run_roles``, which the report's trend reads too.

Retention (``prune``) drops old ``events`` but keeps ``usage_daily`` and
``sessions_daily``, the compact aggregates the analysis and the trend need, and keeps
``ingest_files`` so a pruned file is never read (and counted) a second time.

Exit codes for schedulers come from ``recommender.errors``: 0 ok, 1 error, 3 finished
with rejected input, 4 a recommendation refused by its invariants.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import duckdb

from recommender.db import connect, query, run, transaction, utcnow
from recommender.errors import (
    EXIT_ERROR,
    EXIT_INVARIANT,
    EXIT_OK,
    EXIT_REJECTIONS,
    ConfigError,
    InvariantError,
    RecommenderError,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ProgressFactory = Callable[[str], Callable[[int, int, str], None]]

# The tables this module reads; the others in the same file belong to other stages
# (recommend: grace/generalize/recommend/exceptions; grants: agents) and are validated
# by their own loaders when the config is read.
_KEYS: dict[str, dict[str, tuple[type, ...]]] = {
    "run": {"db": (str,), "out": (str,), "window_days": (int,), "as_of": (date,),
            "keep": (str,), "ceiling": (bool,)},
    "logs": {"paths": (list,), "s3": (list,), "since": (str, date), "until": (date,),
             "accounts": (list,), "regions": (list,), "profile": (str,)},
    "athena": {"database": (str,), "table": (str,), "output": (str,), "workgroup": (str,),
               "profile": (str,), "since": (str, date)},
    "iam": {"files": (list,), "scp_files": (list,), "fetch": (bool,), "profile": (str,),
            "region": (str,), "scp": (bool,)},
    "pr": {"repo": (str,), "base": (str,), "branch": (str,), "push": (bool,), "remote": (str,),
           "open_pr": (bool,), "per_role_commits": (bool,), "role": (str,)},
}
_OTHER_TABLES = {"agents", "grace", "generalize", "recommend", "exceptions"}

EXAMPLE_CONFIG = '''\
# recommender.toml: the monthly right-sizing job (`recommender run --config recommender.toml`).
# Relative paths are relative to this file. Check it with `recommender run --config ... --check`.

[run]
db = "recommender.duckdb"          # the DuckDB file that keeps every stage's tables and the history
out = "recommender-out"            # each run writes <out>/<YYYY-MM-DD>/ (report.html, findings.json, summary.md)
window_days = 90                   # analysis window ending at as_of
# as_of = 2026-10-30               # default: the newest ingested event
# keep = "400d"                    # after each run, drop events older than this (aggregates stay)

[logs]
# Local folders/files and/or S3 prefixes in the CloudTrail layout; only new files/objects are read.
paths = ["sample_logs/AWSLogs"]
# s3 = ["s3://my-org-trail/AWSLogs/"]
# since = "120d"                   # S3: only day folders from this many days ago (or a date: 2026-01-01)
# accounts = ["111122223333"]      # S3: only these accounts
# regions = ["us-east-1"]          # S3: only these regions
# profile = "audit"                # AWS profile (default: the standard credential chain)

# [athena]                         # organisation scale: aggregate the trail table in Athena instead
# database = "default"
# table = "cloudtrail_logs"
# output = "s3://my-athena-results/recommender/"
# workgroup = "primary"
# since = "120d"

[iam]
# An authorization-details export (aws iam get-account-authorization-details) ...
files = ["sample_logs/iam/authorization-details.json"]
scp_files = ["sample_logs/iam/scp.json"]
# ... or a live read with boto3 (iam:GetAccountAuthorizationDetails, Organizations reads).
# fetch = true
# profile = "audit"

# [pr]                             # open a pull request on the IaC repository with the changes
# repo = "../infrastructure"
# base = "main"
# push = false
# open_pr = false

# Read by `recommend` (see docs/recommend.md): grace period, generalisation, exceptions.
[grace]
days = 14

[recommend]
keep_unobservable = true

# [[exceptions]]
# role = "agent-*"
# action = "s3:Delete*"
# reason = "cleanup job runs quarterly"
# owner = "data-platform@example.com"
# expires = 2026-12-31
'''


# ---- config ------------------------------------------------------------------------


@dataclass
class RunConfig:
    """A validated ``recommender.toml``; paths already resolved against the file."""

    path: Path
    db: Path
    out: Path
    window_days: int = 90
    as_of: date | None = None
    keep_days: int | None = None
    ceiling: bool = True
    log_paths: list[Path] = field(default_factory=list)
    s3_urls: list[str] = field(default_factory=list)
    since: date | None = None
    until: date | None = None
    accounts: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    aws_profile: str | None = None
    athena: dict[str, Any] | None = None
    iam_files: list[Path] = field(default_factory=list)
    scp_files: list[Path] = field(default_factory=list)
    fetch_iam: bool = False
    fetch_options: dict[str, Any] = field(default_factory=dict)
    agent_config: Path | None = None
    pr: dict[str, Any] | None = None

    def inputs(self) -> dict[str, Any]:
        """What the run reads, as recorded in ``runs.inputs``."""
        return {
            "logs": [str(p) for p in self.log_paths],
            "s3": self.s3_urls,
            "since": self.since, "until": self.until,
            "accounts": self.accounts, "regions": self.regions,
            "athena": self.athena,
            "iam_files": [str(p) for p in self.iam_files],
            "scp_files": [str(p) for p in self.scp_files],
            "fetch_iam": self.fetch_iam,
            "pr": bool(self.pr),
        }


def parse_days(text: str, where: str) -> int:
    """``"400d"`` (or ``"400"``) as a number of days."""
    m = re.fullmatch(r"\s*(\d+)\s*d?\s*", str(text).lower())
    if m is None or int(m.group(1)) <= 0:
        raise ConfigError(f"{where}: {text!r} is not a number of days like \"400d\"")
    return int(m.group(1))


def _since(value: Any, where: str, today: date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return today - timedelta(days=parse_days(value, where))


def _strings(value: list[Any], where: str) -> list[str]:
    if not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of non-empty strings")
    return list(value)


def load_run_config(path: str | Path, *, today: date | None = None) -> RunConfig:
    """Read and validate ``path``; every error names the file and the key."""
    path = Path(path)
    today = today or datetime.now(timezone.utc).date()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"config file {path} does not exist; create one with "
                          "`recommender init-config`") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read config file {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e

    for table in data:
        if table not in _KEYS and table not in _OTHER_TABLES:
            raise ConfigError(f"{path}: unknown table [{table}]; known tables: "
                              f"{', '.join(sorted(set(_KEYS) | _OTHER_TABLES))}")
    sections: dict[str, dict[str, Any]] = {}
    for table, keys in _KEYS.items():
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [{table}] must be a table")
        for key, value in section.items():
            if key not in keys:
                raise ConfigError(f"{path}: unknown key {table}.{key}; known keys: "
                                  f"{', '.join(sorted(keys))}")
            kinds = keys[key]
            ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
            if date in kinds and isinstance(value, datetime):
                ok = True
            if not ok:
                names = " or ".join("a TOML date (no quotes)" if k is date else k.__name__
                                    for k in kinds)
                raise ConfigError(f"{path}: {table}.{key} must be {names}, got {value!r}")
        sections[table] = section

    base = path.resolve().parent

    def resolve(p: str) -> Path:
        return (base / Path(p).expanduser()).resolve() if not Path(p).is_absolute() else Path(p)

    r, logs, iam = sections["run"], sections["logs"], sections["iam"]
    cfg = RunConfig(path=path.resolve(), db=resolve(r.get("db", "recommender.duckdb")),
                    out=resolve(r.get("out", "recommender-out")))
    cfg.window_days = r.get("window_days", 90)
    if cfg.window_days <= 0:
        raise ConfigError(f"{path}: run.window_days must be a positive number of days")
    as_of = r.get("as_of")
    cfg.as_of = as_of.date() if isinstance(as_of, datetime) else as_of
    if "keep" in r:
        cfg.keep_days = parse_days(r["keep"], f"{path}: run.keep")
    cfg.ceiling = r.get("ceiling", True)

    cfg.log_paths = [resolve(p) for p in _strings(logs.get("paths", []), f"{path}: logs.paths")]
    from recommender.s3source import parse_s3_url

    cfg.s3_urls = _strings(logs.get("s3", []), f"{path}: logs.s3")
    for url in cfg.s3_urls:
        try:
            parse_s3_url(url)
        except ConfigError as e:
            raise ConfigError(f"{path}: logs.s3: {e}") from e
    if "since" in logs:
        cfg.since = _since(logs["since"], f"{path}: logs.since", today)
    until = logs.get("until")
    cfg.until = until.date() if isinstance(until, datetime) else until
    cfg.accounts = _strings(logs.get("accounts", []), f"{path}: logs.accounts")
    for a in cfg.accounts:
        if not re.fullmatch(r"\d{12}", a):
            raise ConfigError(f"{path}: logs.accounts: {a!r} is not a 12-digit account id")
    cfg.regions = _strings(logs.get("regions", []), f"{path}: logs.regions")
    cfg.aws_profile = logs.get("profile")

    if "athena" in data:
        athena: dict[str, Any] = dict(sections["athena"])
        for key in ("database", "table", "output"):
            if key not in athena:
                raise ConfigError(f"{path}: [athena] needs athena.{key}")
        if not athena["output"].startswith("s3://"):
            raise ConfigError(f"{path}: athena.output must be an s3:// folder for query results")
        if "since" in athena:
            athena["since"] = _since(athena["since"], f"{path}: athena.since", today)
        cfg.athena = athena

    cfg.iam_files = [resolve(p) for p in _strings(iam.get("files", []), f"{path}: iam.files")]
    cfg.scp_files = [resolve(p) for p in _strings(iam.get("scp_files", []), f"{path}: iam.scp_files")]
    cfg.fetch_iam = iam.get("fetch", False)
    if cfg.fetch_iam and cfg.iam_files:
        raise ConfigError(f"{path}: iam.files and iam.fetch = true exclude each other; pick one")
    cfg.fetch_options = {k: iam[k] for k in ("profile", "region", "scp") if k in iam}
    for p in cfg.log_paths + cfg.iam_files + cfg.scp_files:
        if not p.exists():
            raise ConfigError(f"{path}: {p} (from the config) does not exist")
    if not (cfg.log_paths or cfg.s3_urls or cfg.athena):
        raise ConfigError(f"{path}: nothing to ingest: set logs.paths, logs.s3 or an [athena] table")

    if "agents" in data:
        from recommender.grants.agents import load_agent_config

        load_agent_config(path)  # validates [agents] now rather than mid-run
        cfg.agent_config = path.resolve()
    if "pr" in data:
        cfg.pr = dict(sections["pr"])
        if "repo" not in cfg.pr:
            raise ConfigError(f"{path}: [pr] needs pr.repo (the IaC git repository)")
        cfg.pr["repo"] = str(resolve(cfg.pr["repo"]))

    # The recommend tables of the same file: validated now, so a typo fails before ingest.
    from recommender.recommend.exceptions import parse_config

    parse_config(data, str(path))
    return cfg


def write_example_config(path: str | Path, force: bool = False) -> Path:
    """Write the commented example config; refuse to overwrite unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it")
    path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    return path


# ---- the job ---------------------------------------------------------------------------


@dataclass
class JobResult:
    """One run of the monthly job: what happened and where its outputs are."""

    run_id: int
    status: str
    exit_code: int
    out_dir: str
    started_at: datetime
    finished_at: datetime | None = None
    pipeline: dict[str, Any] = field(default_factory=dict)
    athena: dict[str, Any] | None = None
    pr: dict[str, Any] | None = None
    prune: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "status": self.status, "exit_code": self.exit_code,
            "out_dir": self.out_dir, "started_at": self.started_at,
            "finished_at": self.finished_at, "pipeline": self.pipeline, "athena": self.athena,
            "pr": self.pr, "prune": self.prune, "error": self.error,
        }




def _json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=lambda v: v.isoformat()
                      if isinstance(v, (date, datetime)) else str(v))


def _counts(pipeline: dict[str, Any]) -> dict[str, Any]:
    """The compact totals kept in ``runs.counts`` (details stay in the stage tables)."""
    ing, iam, ana, rec = (pipeline.get(k) or {} for k in ("ingest", "iam", "analysis",
                                                          "recommendation"))
    verdicts: dict[str, int] = {}
    for role in rec.get("roles", []):
        verdicts[role["verdict"]] = verdicts.get(role["verdict"], 0) + 1
    return {
        "ingest": {k: ing.get(k) for k in ("files", "unchanged_files", "records", "stored",
                                          "duplicates", "rejected", "skipped_files") if k in ing},
        "iam": iam.get("counts", {k: iam.get(k) for k in ("principals", "policies") if k in iam}),
        "analysis": ana.get("totals", {}),
        "roles": len(rec.get("roles", [])),
        "verdicts": verdicts,
    }


def run_job(
    config: RunConfig,
    *,
    db: str | Path | None = None,
    today: date | None = None,
    progress: ProgressFactory | None = None,
    warn: Callable[[str], None] | None = None,
) -> JobResult:
    """Run the monthly job described by ``config`` and record it in ``runs``.

    Never raises for a failed stage: the error is recorded and returned with its exit
    code (1, or 4 for an invariant refusal), so the scheduler and ``history`` both see it.
    """
    from recommender.pipeline import run_pipeline

    started = utcnow()
    day = today or started.date()
    out = config.out / day.isoformat()
    con = connect(db or config.db)
    try:
        run_id = int(query(con, "runs/start_run", {
            "started_at": started, "config_path": str(config.path),
            "window_days": config.window_days, "inputs": _json(config.inputs()),
            "out_dir": str(out),
        })[0]["run_id"])
        result = JobResult(run_id=run_id, status="running", exit_code=EXIT_OK, out_dir=str(out),
                           started_at=started)
        try:
            _run(con, config, result, out, progress, run_pipeline)
        except InvariantError as e:
            result.status, result.exit_code, result.error = "invariant_refused", EXIT_INVARIANT, str(e)
        except RecommenderError as e:
            result.status, result.exit_code, result.error = "error", e.exit_code or EXIT_ERROR, str(e)
        except duckdb.Error as e:
            result.status, result.exit_code, result.error = "error", EXIT_ERROR, f"database error: {e}"
        result.finished_at = utcnow()
        ana = result.pipeline.get("analysis") or {}
        ing = result.pipeline.get("ingest") or {}
        run(con, "runs/finish_run", {
            "run_id": run_id, "finished_at": result.finished_at, "status": result.status,
            "as_of": ana.get("as_of") or config.as_of,
            "counts": _json({**_counts(result.pipeline),
                             **({"athena": result.athena} if result.athena else {}),
                             **({"pr": {"branch": result.pr.get("branch"),
                                        "pr_url": result.pr.get("pr_url")}} if result.pr else {}),
                             **({"prune": result.prune} if result.prune else {})}),
            "ingest_run_id": ing.get("run_id"), "analysis_run_id": ana.get("run_id"),
            "error": result.error,
        })
        return result
    finally:
        con.close()


def _run(con: duckdb.DuckDBPyConnection, config: RunConfig, result: JobResult, out: Path,
         progress: ProgressFactory | None, run_pipeline: Any) -> None:
    sources: list[Any] = []
    if config.s3_urls:
        from recommender.s3source import s3_client, s3_sources

        client = s3_client(config.aws_profile)
        for url in config.s3_urls:
            sources.extend(s3_sources(url, config.since, config.until, config.accounts,
                                      config.regions, client=client))
    if config.athena:
        from recommender.athena import athena_ingest

        a = config.athena
        result.athena = athena_ingest(
            con, database=a["database"], table=a["table"], output=a["output"],
            workgroup=a.get("workgroup"), profile=a.get("profile", config.aws_profile),
            since=a.get("since"), until=config.until, accounts=config.accounts,
            regions=config.regions).to_dict()
    pipe = run_pipeline(
        con,
        log_paths=config.log_paths,
        log_sources=sources,
        iam_files=config.iam_files,
        scp_files=config.scp_files,
        fetch_iam=config.fetch_iam,
        fetch_options=config.fetch_options,
        out_dir=out,
        window_days=config.window_days,
        as_of=config.as_of,
        config_path=config.path,
        agent_config=config.agent_config,
        ceiling=config.ceiling,
        progress=progress,
    )
    # The run's summary keeps totals only; per-file and per-role details stay in the
    # stage tables and the output folder.
    result.pipeline = pipe.to_dict()
    result.pipeline["ingest"] = {k: v for k, v in (pipe.ingest or {}).items()
                                 if k not in ("file_results", "skipped")}
    result.pipeline["analysis"] = {**_analysis_ids(pipe.analysis),
                                   "totals": pipe.analysis.get("totals", {}),
                                   "findings_by_severity": pipe.analysis.get("findings_by_severity", {})}
    rejected = int(pipe.rejected)
    if config.pr:
        result.pr = _open_pr(config.pr, out)
    if config.keep_days:
        result.prune = prune(con, config.keep_days).to_dict()
    result.status = "rejections" if rejected else "ok"
    result.exit_code = EXIT_REJECTIONS if rejected else EXIT_OK


def _analysis_ids(analysis: dict[str, Any]) -> dict[str, Any]:
    """run_id and as_of of the analysis, wherever its result dict keeps them."""
    nested = analysis.get("run")
    run_info: dict[str, Any] = nested if isinstance(nested, dict) else {}
    return {"run_id": analysis.get("run_id", run_info.get("run_id")),
            "as_of": analysis.get("as_of", run_info.get("as_of"))}


def _open_pr(pr: dict[str, Any], out: Path) -> dict[str, Any] | None:
    from recommender.render.iac.pr import create_pull_request

    path = out / "recommendations" / "recommendation.json"
    rec = json.loads(path.read_text(encoding="utf-8"))
    if not any(role.get("verdict") in ("trim", "remove_or_review") for role in rec.get("roles", [])):
        return {"skipped": "no role needs a change"}
    res = create_pull_request(
        pr["repo"], rec, branch=pr.get("branch"), base=pr.get("base", "main"),
        per_role_commits=pr.get("per_role_commits", True), push=pr.get("push", False),
        remote=pr.get("remote", "origin"), open_pr=pr.get("open_pr", False),
        role_pattern=pr.get("role"), description_out=out / "pr-description.md",
    )
    return res.to_dict()


# ---- history -------------------------------------------------------------------------


def history(con: duckdb.DuckDBPyConnection, limit: int = 50, roles: bool = False) -> list[dict[str, Any]]:
    """Job runs, newest first, with their analysis totals (and per-role counts if asked)."""
    rows = query(con, "runs/history", {"limit": limit})
    for row in rows:
        for key in ("inputs", "counts"):
            if isinstance(row[key], str):
                row[key] = json.loads(row[key])
    if roles and rows:
        per: dict[int, list[dict[str, Any]]] = {}
        for r in query(con, "runs/history_roles", {"run_ids": [r["run_id"] for r in rows]}):
            per.setdefault(r.pop("run_id"), []).append(r)
        for row in rows:
            row["roles"] = per.get(row["run_id"], [])
    return rows


# ---- retention -----------------------------------------------------------------------


@dataclass
class PruneResult:
    cutoff: datetime
    dry_run: bool
    events: int
    rejects: int
    events_kept: int
    oldest_kept: datetime | None
    usage_daily_rows: int
    sessions_daily_rows: int
    db_bytes_before: int | None = None
    db_bytes_after: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _db_bytes(con: duckdb.DuckDBPyConnection) -> int | None:
    rows = query(con, "runs/database_size")
    if not rows:
        return None
    text = str(rows[0]["database_size"]).strip()
    m = re.fullmatch(r"([\d.]+)\s*([KMGT]?i?B|bytes)", text)
    if not m:
        return None
    scale = {"bytes": 1, "B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
             "KB": 1000, "MB": 10**6, "GB": 10**9, "TB": 10**12}
    return int(float(m.group(1)) * scale.get(m.group(2), 1))


def prune(con: duckdb.DuckDBPyConnection, keep_days: int, *, as_of: date | None = None,
          dry_run: bool = False) -> PruneResult:
    """Delete events older than ``keep_days`` before ``as_of`` (default: today, UTC).

    Keeps ``usage_daily``/``sessions_daily`` (the aggregates), ``ingest_files`` (so the
    same files are not ingested and counted again) and the run history.
    """
    if keep_days <= 0:
        raise ConfigError("--keep must be a positive number of days like 400d")
    end = as_of or datetime.now(timezone.utc).date()
    cutoff = datetime.combine(end - timedelta(days=keep_days), datetime.min.time())
    counts = query(con, "runs/prune_counts", {"cutoff": cutoff})[0]
    result = PruneResult(cutoff=cutoff, dry_run=dry_run, events=int(counts["events"]),
                         rejects=int(counts["rejects"]), events_kept=int(counts["events_kept"]),
                         oldest_kept=counts["oldest_kept"],
                         usage_daily_rows=int(counts["usage_daily_rows"]),
                         sessions_daily_rows=int(counts["sessions_daily_rows"]),
                         db_bytes_before=_db_bytes(con))
    if dry_run or not (result.events or result.rejects):
        result.db_bytes_after = result.db_bytes_before
        return result
    with transaction(con):
        run(con, "runs/prune_events", {"cutoff": cutoff})
        run(con, "runs/prune_rejects", {"cutoff": cutoff})
    run(con, "runs/vacuum")
    run(con, "runs/allow_vacuum")
    run(con, "runs/checkpoint")
    result.db_bytes_after = _db_bytes(con)
    return result
