"""Organisation scale: aggregate the trail where it lives, in Amazon Athena.

One machine streaming S3 (``s3source``) handles a large account. Beyond that, the
heavy part of ingest -- reading every record, attributing it to a principal, classing
its outcome and counting calls per day -- runs in Athena over the trail's standard
CloudTrail table, and only the per-day call groups come back. They are turned into
``usage_daily`` / ``sessions_daily`` rows here; everything after ingest is unchanged.

Same semantics, one definition:

* ``sql/athena/usage_groups.sql`` and ``session_groups.sql`` restate the attribution,
  outcome and day of ``sql/ingest/extract_rows.sql`` in the common subset of Trino and
  DuckDB SQL. Two DuckDB macros (``sql/athena/shim_*.sql``: ``regexp_like``,
  ``json_format``) are the whole dialect shim, so the tests run the *same text*
  against a DuckDB table shaped like Athena's and compare with the local path.
* Resources are not re-implemented in Trino: each group keeps its record's
  ``resources[]`` and ``requestParameters`` and the local macro
  ``event_touched_resources`` derives them (``sql/athena/groups_usage.sql``), then the
  ingest stage's own MERGE statements fold the rows in.

What differs from the local path, on purpose: no ``events`` rows (the point is not to
copy the trail), so analyses that sample raw events (data-event observability,
long-lived key evidence) see less; ``sessions_daily.source_identity`` stays NULL (the
standard CloudTrail DDL has no ``sessioncontext.sourceidentity``); days are the unit of bookkeeping (``ingest_files``
rows ``athena://<db>.<table>/<day>``): a day is loaded once, complete days only
(``until`` defaults to yesterday, UTC).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

import duckdb

from recommender.db import query, render_sql, run, transaction, utcnow
from recommender.errors import AwsAccessError, ConfigError, RecommenderError

USAGE_COLUMNS = ("principal_arn", "account_id", "event_source", "event_name", "outcome", "day",
                 "aws_region", "resources_json", "request_parameters", "calls", "first_seen",
                 "last_seen")
SESSION_COLUMNS = ("principal_arn", "day", "session_name", "source_identity", "user_agent",
                   "source_ip", "access_key_id", "calls")
POLL_SECONDS = (0.5, 1, 2, 4, 5)  # then every 5 s
QUERY_TIMEOUT = 3 * 3600
DEFAULT_DAYS = 90
_PARAM = re.compile(r"\$([A-Za-z_]\w*)")


@dataclass
class AthenaResult:
    """What one Athena load added."""

    database: str
    table: str
    days: list[str] = field(default_factory=list)
    skipped_days: int = 0
    groups: int = 0
    calls: int = 0
    usage_rows: int = 0
    session_rows: int = 0
    query_ids: list[str] = field(default_factory=list)
    scanned_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database, "table": self.table,
            "days": len(self.days), "first_day": self.days[0] if self.days else None,
            "last_day": self.days[-1] if self.days else None,
            "skipped_days": self.skipped_days, "groups": self.groups, "calls": self.calls,
            "usage_rows": self.usage_rows, "session_rows": self.session_rows,
            "query_ids": self.query_ids, "scanned_bytes": self.scanned_bytes,
        }


# ---- the SQL text and its parameters ---------------------------------------------------


def query_params(since: date, until: date, accounts: Iterable[str], regions: Iterable[str],
                 skip_days: Iterable[date]) -> dict[str, str]:
    """The values of the Athena queries' ``$parameters`` (all strings)."""
    for a in accounts:
        if not re.fullmatch(r"\d{12}", a):
            raise ConfigError(f"--account {a!r} is not a 12-digit AWS account id")
    for r in regions:
        if not re.fullmatch(r"[a-z0-9-]+", r):
            raise ConfigError(f"--region {r!r} is not an AWS region name like us-east-1")
    return {
        "since": since.isoformat(),
        "before": (until + timedelta(days=1)).isoformat(),
        "accounts": ",".join(sorted(accounts)),
        "regions": ",".join(sorted(regions)),
        "skip_days": ",".join(sorted(d.isoformat() for d in skip_days)),
    }


def athena_sql(name: str, database: str, table: str) -> str:
    """The query text with the (checked) table name filled in; values stay ``$name``."""
    return render_sql(f"athena/{name}", database=database, table=table)


def positional(text: str, params: dict[str, str]) -> tuple[str, list[str]]:
    """Athena binds ``?`` in order (ExecutionParameters): ``$name`` -> ``?`` + literal list.

    Athena inserts each parameter as a SQL literal; strings are quoted here with
    single quotes doubled, the standard escaping (the values are our own filter values:
    dates, 12-digit account ids, region names).
    """
    values: list[str] = []

    def sub(m: re.Match[str]) -> str:
        values.append("'" + params[m.group(1)].replace("'", "''") + "'")
        return "?"

    return _PARAM.sub(sub, text), values


def install_duckdb_shim(con: duckdb.DuckDBPyConnection) -> None:
    """Let DuckDB run the Athena SQL text as is (tests, and checking a query locally)."""
    for name in ("shim_regexp_like", "shim_json_format"):
        run(con, f"athena/{name}")


# ---- running it in Athena --------------------------------------------------------------


def athena_client(profile: str | None = None, region: str | None = None) -> Any:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        return session.client("athena", config=Config(retries={"mode": "adaptive", "max_attempts": 10}))  # type: ignore[arg-type]
    except (ProfileNotFound, BotoCoreError) as e:
        raise AwsAccessError(f"cannot use AWS profile {profile!r}: {e}") from e


def _aws_error(e: Exception, step: str) -> AwsAccessError:
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(e, NoCredentialsError):
        return AwsAccessError("no AWS credentials found for Athena: configure a profile (--profile) "
                              "or environment credentials (see docs/tool-policy.json)")
    if isinstance(e, ClientError):
        code = str(e.response.get("Error", {}).get("Code", ""))
        msg = str(e.response.get("Error", {}).get("Message", ""))
        if "AccessDenied" in code or "not authorized" in msg.lower():
            return AwsAccessError(
                f"Athena refused {step} ({code}: {msg}): the caller needs athena:{step}, "
                "glue:GetTable/GetDatabase/GetPartitions on the trail table, s3:GetObject/ListBucket "
                "on the trail bucket and s3:PutObject/GetObject on the results location "
                "(see docs/tool-policy.json)")
        return AwsAccessError(f"Athena {step} failed ({code}): {msg}")
    return AwsAccessError(f"Athena {step} failed: {e}")


def run_athena_query(client: Any, text: str, values: Sequence[str], *, database: str,
                     output: str, workgroup: str | None = None,
                     sleep: Callable[[float], None] = time.sleep) -> tuple[str, list[dict[str, str | None]], int]:
    """Start the query, wait for it, and return (query id, rows as dicts of strings, bytes scanned)."""
    args: dict[str, Any] = {
        "QueryString": text,
        "QueryExecutionContext": {"Database": database},
        "ResultConfiguration": {"OutputLocation": output},
    }
    if values:
        args["ExecutionParameters"] = list(values)
    if workgroup:
        args["WorkGroup"] = workgroup
    try:
        qid = client.start_query_execution(**args)["QueryExecutionId"]
    except Exception as e:  # noqa: BLE001 - botocore errors become clear messages
        raise _aws_error(e, "StartQueryExecution") from e
    waited = 0.0
    polls = 0
    while True:
        try:
            execution = client.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        except Exception as e:  # noqa: BLE001
            raise _aws_error(e, "GetQueryExecution") from e
        status = execution.get("Status", {})
        state = status.get("State")
        if state == "SUCCEEDED":
            break
        if state in ("FAILED", "CANCELLED"):
            raise RecommenderError(f"Athena query {qid} {state.lower()}: "
                                   f"{status.get('StateChangeReason', 'no reason given')}")
        if waited > QUERY_TIMEOUT:
            raise RecommenderError(f"Athena query {qid} still {state} after {QUERY_TIMEOUT}s; "
                                   "check it in the Athena console")
        pause = POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)]
        sleep(pause)
        waited += pause
        polls += 1
    scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0) or 0)
    rows: list[dict[str, str | None]] = []
    header: list[str] | None = None
    try:
        for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
            rs = page["ResultSet"]
            if header is None:
                header = [c["Name"] for c in rs["ResultSetMetadata"]["ColumnInfo"]]
                data = rs["Rows"][1:]  # the first row of a SELECT's first page repeats the header
            else:
                data = rs["Rows"]
            for row in data:
                cells = [c.get("VarCharValue") for c in row["Data"]]
                rows.append(dict(zip(header, cells)))
    except Exception as e:  # noqa: BLE001
        raise _aws_error(e, "GetQueryResults") from e
    return qid, rows, scanned


# ---- folding the groups into usage_daily -------------------------------------------------


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(query(con, "athena/count_staged", table=table)[0]["n"])


def load_groups(con: duckdb.DuckDBPyConnection, usage: list[dict[str, Any]],
                sessions: list[dict[str, Any]]) -> tuple[int, int]:
    """Stage Athena's rows and merge them into usage_daily/sessions_daily (caller's transaction).

    Values may be strings (Athena's result format) or typed (DuckDB); returns the
    number of usage_daily and sessions_daily rows merged.
    """
    def col(rows: list[dict[str, Any]], name: str, conv: Callable[[Any], Any] | None = None) -> list[Any]:
        return [None if r.get(name) is None else (conv(r[name]) if conv else r[name]) for r in rows]

    def ts(v: Any) -> datetime | None:
        return v if isinstance(v, datetime) else _ts(str(v))

    run(con, "athena/stage_groups", {
        **{c: col(usage, c) for c in ("principal_arn", "account_id", "event_source", "event_name",
                                      "outcome", "aws_region", "resources_json",
                                      "request_parameters")},
        "day": col(usage, "day", _day), "calls": col(usage, "calls", int),
        "first_seen": col(usage, "first_seen", ts), "last_seen": col(usage, "last_seen", ts),
    })
    run(con, "athena/groups_usage")
    usage_rows = _count(con, "ingest_usage")
    run(con, "ingest/merge_usage_daily")
    run(con, "athena/stage_sessions", {
        **{c: col(sessions, c) for c in ("principal_arn", "session_name", "source_identity",
                                         "user_agent", "source_ip", "access_key_id")},
        "day": col(sessions, "day", _day), "calls": col(sessions, "calls", int),
    })
    session_rows = _count(con, "ingest_sessions")
    run(con, "ingest/merge_sessions_daily")
    for table in ("ingest_usage", "ingest_sessions"):
        run(con, "ingest/drop_temp", table=table)
    run(con, "athena/drop_groups")
    return usage_rows, session_rows


def _prefix(database: str, table: str, accounts: Sequence[str], regions: Sequence[str]) -> str:
    scope = []
    if accounts:
        scope.append("accounts=" + ",".join(sorted(accounts)))
    if regions:
        scope.append("regions=" + ",".join(sorted(regions)))
    return f"athena://{database}.{table}/" + ("&".join(scope) + "/" if scope else "")


def athena_ingest(
    con: duckdb.DuckDBPyConnection,
    *,
    database: str,
    table: str,
    output: str,
    since: date | None = None,
    until: date | None = None,
    accounts: Sequence[str] = (),
    regions: Sequence[str] = (),
    workgroup: str | None = None,
    profile: str | None = None,
    client: Any = None,
    progress: Callable[[str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> AthenaResult:
    """Aggregate ``database.table`` in Athena into usage_daily/sessions_daily, new days only."""
    for name, value in (("--athena-database", database), ("--athena-table", table)):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
            raise ConfigError(f"{name} {value!r} must be a plain identifier (letters, digits, _)")
    if not output.startswith("s3://"):
        raise ConfigError(f"--athena-output {output!r} must be an s3:// folder for query results")
    until = until or (datetime.now(timezone.utc).date() - timedelta(days=1))
    since = since or (until - timedelta(days=DEFAULT_DAYS - 1))
    if since > until:
        raise ConfigError(f"--since {since} is after --until {until}")
    accounts, regions = sorted(set(accounts)), sorted(set(regions))
    prefix = _prefix(database, table, accounts, regions)
    loaded = {_day(r["uri"][len(prefix):]) for r in query(con, "athena/loaded_days", {"prefix": prefix})
              if re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["uri"][len(prefix):])}
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    todo = [d for d in days if d not in loaded]
    result = AthenaResult(database=database, table=table, skipped_days=len(days) - len(todo))
    if not todo:
        return result
    params = query_params(todo[0], todo[-1], accounts, regions,
                          [d for d in loaded if todo[0] <= d <= todo[-1]])
    client = client or athena_client(profile)
    fetched: dict[str, list[dict[str, Any]]] = {}
    for name in ("usage_groups", "session_groups"):
        text, values = positional(athena_sql(name, database, table), params)
        if progress:
            progress(f"athena: running {name} for {todo[0]}..{todo[-1]}")
        qid, rows, scanned = run_athena_query(client, text, values, database=database,
                                              output=output, workgroup=workgroup, sleep=sleep)
        result.query_ids.append(qid)
        result.scanned_bytes += scanned
        fetched[name] = rows
    usage = fetched["usage_groups"]
    per_day: dict[date, int] = {d: 0 for d in todo}
    for r in usage:
        d = _day(r["day"])
        if d in per_day:
            per_day[d] += int(r["calls"] or 0)
    with transaction(con):
        result.usage_rows, result.session_rows = load_groups(con, usage, fetched["session_groups"])
        run(con, "athena/record_days", {
            "uris": [prefix + d.isoformat() for d in todo], "records": [per_day[d] for d in todo],
            "ingested_at": utcnow(),
        })
    result.days = [d.isoformat() for d in todo]
    result.groups = len(usage)
    result.calls = sum(per_day.values())
    return result
