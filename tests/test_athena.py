"""The Athena path gives the same usage_daily rows as local ingest.

Athena is not reachable here, so the *same query text* runs against DuckDB (plus the
two-macro dialect shim) over a table shaped like the standard CloudTrail Athena DDL,
built from the same records the local path ingests; then the boto3 call sequence
(start_query_execution, get_query_execution, get_query_results) runs against moto's
Athena with those results."""

from __future__ import annotations

import gzip
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from recommender import db
from recommender.athena import (
    SESSION_COLUMNS,
    USAGE_COLUMNS,
    athena_ingest,
    athena_sql,
    install_duckdb_shim,
    load_groups,
    positional,
    query_params,
)
from recommender.ingest import ingest

SAMPLE_DAYS = Path(__file__).resolve().parent.parent / "sample_logs" / "AWSLogs" / "111122223333" / \
    "CloudTrail" / "us-west-2" / "2026" / "10"
DAYS = ("20", "21", "22")

# The standard CloudTrail table of the Athena docs (create-cloudtrail-table), as DuckDB types.
ATHENA_COLUMNS = {
    "eventversion": "VARCHAR",
    "useridentity": "STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, "
                    "invokedby VARCHAR, accesskeyid VARCHAR, username VARCHAR, "
                    "onbehalfof STRUCT(userid VARCHAR, identitystorearn VARCHAR), "
                    "sessioncontext STRUCT(attributes STRUCT(mfaauthenticated VARCHAR, creationdate VARCHAR), "
                    "sessionissuer STRUCT(type VARCHAR, principalid VARCHAR, arn VARCHAR, accountid VARCHAR, "
                    "username VARCHAR), ec2roledelivery VARCHAR, "
                    "webidfederationdata STRUCT(federatedprovider VARCHAR, attributes MAP(VARCHAR, VARCHAR))))",
    "eventtime": "VARCHAR", "eventsource": "VARCHAR", "eventname": "VARCHAR", "awsregion": "VARCHAR",
    "sourceipaddress": "VARCHAR", "useragent": "VARCHAR", "errorcode": "VARCHAR",
    "errormessage": "VARCHAR", "requestparameters": "VARCHAR", "responseelements": "VARCHAR",
    "additionaleventdata": "VARCHAR", "requestid": "VARCHAR", "eventid": "VARCHAR",
    "readonly": "VARCHAR",
    "resources": "STRUCT(arn VARCHAR, accountid VARCHAR, type VARCHAR)[]",
    "eventtype": "VARCHAR", "apiversion": "VARCHAR", "recipientaccountid": "VARCHAR",
    "serviceeventdetails": "VARCHAR", "sharedeventid": "VARCHAR", "vpcendpointid": "VARCHAR",
    "eventcategory": "VARCHAR",
}
_JSON_STRINGS = {"requestparameters", "responseelements", "additionaleventdata", "serviceeventdetails"}


def _edge_records() -> list[dict[str, Any]]:
    """Attribution, outcome and filtering cases the sample does not have."""
    acct = "111122223333"
    base = {"eventVersion": "1.08", "awsRegion": "us-west-2", "recipientAccountId": acct,
            "sourceIPAddress": "10.0.0.1", "userAgent": "edge/1.0"}
    issuer = {"type": "Role", "arn": f"arn:aws:iam::{acct}:role/svc/fed-role", "accountId": acct}
    return [
        {**base, "eventID": "edge-1", "eventTime": "2026-10-21T01:00:00Z", "eventSource": "sqs.amazonaws.com",
         "eventName": "SendMessage", "requestParameters": {"queueUrl": f"https://sqs.us-west-2.amazonaws.com/{acct}/q1"},
         "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{acct}:assumed-role/old-role/s1",
                          "accountId": acct}},
        {**base, "eventID": "edge-2", "eventTime": "2026-10-21T02:00:00Z", "eventSource": "s3.amazonaws.com",
         "eventName": "GetObject", "requestParameters": {"bucketName": "b1", "key": "k/1"},
         "userIdentity": {"type": "FederatedUser", "arn": f"arn:aws:sts::{acct}:federated-user/bob",
                          "accountId": acct, "sessionContext": {"sessionIssuer": issuer}}},
        {**base, "eventID": "edge-3", "eventTime": "2026-10-21T03:00:00Z", "eventSource": "iam.amazonaws.com",
         "eventName": "DeleteRole", "errorCode": "AccessDenied", "requestParameters": {"roleName": "x"},
         "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{acct}:user/alice", "accountId": acct,
                          "accessKeyId": "AKIAEXAMPLE"}},
        {**base, "eventID": "edge-3", "eventTime": "2026-10-21T03:00:00Z", "eventSource": "iam.amazonaws.com",
         "eventName": "DeleteRole", "errorCode": "AccessDenied", "requestParameters": {"roleName": "x"},
         "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{acct}:user/alice", "accountId": acct,
                          "accessKeyId": "AKIAEXAMPLE"}},
        {**base, "eventID": "edge-4", "eventTime": "2026-10-22T04:00:00Z", "eventSource": "kms.amazonaws.com",
         "eventName": "Decrypt", "userIdentity": {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"},
         "resources": [{"ARN": f"arn:aws:kms:us-west-2:{acct}:key/k1", "accountId": acct, "type": "AWS::KMS::Key"}]},
        {**base, "eventID": "edge-5", "eventTime": "2026-10-22T05:00:00Z", "eventSource": "dynamodb.amazonaws.com",
         "eventName": "PutItem", "errorCode": "ThrottlingException", "requestParameters": {"tableName": "t1"},
         "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{acct}:assumed-role/fed-role/s2",
                          "accountId": acct, "sessionContext": {"sessionIssuer": issuer}}},
        {**base, "eventID": "edge-6", "eventTime": "2026-10-22T06:00:00Z", "eventSource": "sts.amazonaws.com",
         "eventName": "GetCallerIdentity", "errorCode": "",
         "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{acct}:user/alice", "accountId": acct}},
        {**base, "eventID": "edge-7", "eventTime": "2026-10-22T07:00:00Z", "eventSource": "ec2.amazonaws.com",
         "eventName": "RunInstances", "eventCategory": "Insight", "insightDetails": {"state": "Start"},
         "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{acct}:user/alice", "accountId": acct}},
        {**base, "eventID": "edge-8", "eventTime": "2026-10-22T08:00:00Z", "eventName": "NoSource",
         "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{acct}:user/alice", "accountId": acct}},
    ]


def _lower(value: Any) -> Any:
    if isinstance(value, dict):
        return {k.lower(): _lower(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value


def _athena_row(record: dict[str, Any]) -> dict[str, Any]:
    """A record as the Hive JSON SerDe sees it: columns by lower-case key, JSON objects in
    STRING columns kept as JSON text."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        col = key.lower()
        if col not in ATHENA_COLUMNS:
            continue
        if col in _JSON_STRINGS and value is not None:
            value = json.dumps(value)
        elif col == "useridentity":
            value = _lower(value)
            web = (value.get("sessioncontext") or {}).get("webidfederationdata")
            if web:
                web["attributes"] = None
        elif col == "resources":
            value = _lower(value)
        row[col] = value
    return row


@pytest.fixture(scope="module")
def records_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of sample_logs plus the edge cases, as local files."""
    out = tmp_path_factory.mktemp("trail")
    for day in DAYS:
        for f in sorted((SAMPLE_DAYS / day).iterdir()):
            (out / f.name).write_bytes(f.read_bytes())
    (out / "111122223333_CloudTrail_us-west-2_20261021T0000Z_edge.jsonl").write_text(
        "\n".join(json.dumps(r) for r in _edge_records()) + "\n", encoding="utf-8")
    return out


def _all_records(folder: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for f in sorted(folder.iterdir()):
        if f.name.endswith(".gz"):
            out.extend(json.loads(gzip.decompress(f.read_bytes()))["Records"])
        else:
            out.extend(json.loads(line) for line in f.read_text().splitlines() if line.strip())
    return out


def _athena_table(con: Any, records: list[dict[str, Any]], tmp: Path) -> None:
    path = tmp / "athena_rows.jsonl"
    path.write_text("\n".join(json.dumps(_athena_row(r)) for r in records) + "\n", encoding="utf-8")
    con.execute("CREATE SCHEMA IF NOT EXISTS trail")
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in ATHENA_COLUMNS.items()) + "}"
    con.execute(f"CREATE OR REPLACE TABLE trail.cloudtrail_logs AS "
                f"SELECT * FROM read_json('{path}', format = 'newline_delimited', columns = {columns})")


@pytest.fixture(scope="module")
def local_db(records_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("local") / "local.duckdb"
    con = db.connect(path)
    result = ingest(con, [records_dir])
    assert result.rejected == 1  # edge-8 has no eventSource
    con.close()
    return path


PARAMS = query_params(date(2026, 10, 20), date(2026, 10, 22), [], [], [])


def _duckdb_groups(con: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    install_duckdb_shim(con)
    usage = db.query(con, "athena/usage_groups", PARAMS, database="trail", table="cloudtrail_logs")
    sessions = db.query(con, "athena/session_groups", PARAMS, database="trail", table="cloudtrail_logs")
    return usage, sessions


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    con = db.connect(path, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


USAGE_SQL = "SELECT * FROM usage_daily ORDER BY ALL"
SESSIONS_SQL = ("SELECT principal_arn, day, session_name, user_agent, source_ip, access_key_id, "
                "sum(calls) FROM sessions_daily GROUP BY ALL ORDER BY ALL")


def test_query_text_gives_local_usage_daily(records_dir: Path, local_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "athena.duckdb"
    con = db.connect(path)
    _athena_table(con, _all_records(records_dir), tmp_path)
    usage, sessions = _duckdb_groups(con)
    assert len(usage) < sum(1 for _ in _all_records(records_dir))  # aggregated, not copied
    con.execute("BEGIN TRANSACTION")
    load_groups(con, usage, sessions)
    con.execute("COMMIT")
    con.close()

    local = _rows(local_db, USAGE_SQL)
    assert local and _rows(path, USAGE_SQL) == local
    # Every attribution/outcome case is present, so equality covers them.
    principals = {r[0] for r in local}
    assert {"arn:aws:iam::111122223333:role/old-role", "arn:aws:iam::111122223333:role/svc/fed-role",
            "arn:aws:iam::111122223333:user/alice", "lambda.amazonaws.com"} <= principals
    assert {r[6] for r in local} == {"ok", "denied", "error"}
    # sessions_daily agrees except source_identity, which the standard DDL does not carry.
    assert _rows(path, SESSIONS_SQL) == _rows(local_db, SESSIONS_SQL)


def test_filters_and_skipped_days(records_dir: Path, tmp_path: Path) -> None:
    con = db.connect(tmp_path / "f.duckdb")
    _athena_table(con, _all_records(records_dir), tmp_path)
    install_duckdb_shim(con)
    params = query_params(date(2026, 10, 21), date(2026, 10, 22), ["111122223333"], ["us-west-2"],
                          [date(2026, 10, 22)])
    rows = db.query(con, "athena/usage_groups", params, database="trail", table="cloudtrail_logs")
    assert rows and {r["day"] for r in rows} == {date(2026, 10, 21)}
    none = db.query(con, "athena/usage_groups", {**params, "regions": "eu-west-1"},
                    database="trail", table="cloudtrail_logs")
    assert none == []
    con.close()


def test_positional_parameters_are_quoted_literals() -> None:
    text, values = positional("SELECT 1 WHERE a = $x AND b = $y AND c = $x", {"x": "it's", "y": "2"})
    assert text == "SELECT 1 WHERE a = ? AND b = ? AND c = ?"
    assert values == ["'it''s'", "'2'", "'it''s'"]
    sql = athena_sql("usage_groups", "default", "cloudtrail_logs")
    assert "FROM default.cloudtrail_logs" in sql
    with pytest.raises(Exception, match="refusing identifier"):
        athena_sql("usage_groups", "default", "t; DROP TABLE x")


def _athena_strings(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> dict[str, Any]:
    """DuckDB rows as Athena returns them: a header row, every cell a VarCharValue string,
    ROW values as Trino's positional JSON arrays."""
    def cell(name: str, value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if name == "resources_json":
            value = json.dumps([[e.get("arn"), e.get("accountid"), e.get("type")] for e in json.loads(value)])
        elif isinstance(value, datetime):
            value = value.strftime("%Y-%m-%d %H:%M:%S.000")
        return {"VarCharValue": str(value)}

    header = {"Data": [{"VarCharValue": c} for c in columns]}
    return {
        "rows": [header] + [{"Data": [cell(c, r[c]) for c in columns]} for r in rows],
        "column_info": [{"Name": c, "Type": "varchar"} for c in columns],
    }


def test_boto3_athena_sequence_against_moto(aws_env: str, records_dir: Path, local_db: Path,
                                            tmp_path: Path) -> None:
    con = db.connect(tmp_path / "shape.duckdb")
    _athena_table(con, _all_records(records_dir), tmp_path)
    usage, sessions = _duckdb_groups(con)
    con.close()
    assert all(set(r) == set(USAGE_COLUMNS) for r in usage)
    assert all(set(r) == set(SESSION_COLUMNS) for r in sessions)
    requests.post(f"{aws_env}/moto-api/static/athena/query-results", json={
        "account_id": "123456789012", "region": "us-east-1",
        "results": [_athena_strings(usage, USAGE_COLUMNS), _athena_strings(sessions, SESSION_COLUMNS)],
    }, timeout=10)
    boto3.client("s3").create_bucket(Bucket="athena-results")
    client = boto3.client("athena")
    path = tmp_path / "viaathena.duckdb"
    out = db.connect(path)
    result = athena_ingest(out, database="trail", table="cloudtrail_logs",
                           output="s3://athena-results/recommender/", since=date(2026, 10, 20),
                           until=date(2026, 10, 22), client=client, sleep=lambda s: None)
    assert result.days == ["2026-10-20", "2026-10-21", "2026-10-22"] and len(result.query_ids) == 2
    sent = client.get_query_execution(QueryExecutionId=result.query_ids[0])["QueryExecution"]
    assert sent["Query"] == positional(athena_sql("usage_groups", "trail", "cloudtrail_logs"), PARAMS)[0]
    assert sent["ResultConfiguration"]["OutputLocation"].startswith("s3://athena-results/recommender/")
    # The same days again: nothing queried, nothing counted twice.
    again = athena_ingest(out, database="trail", table="cloudtrail_logs",
                          output="s3://athena-results/recommender/", since=date(2026, 10, 20),
                          until=date(2026, 10, 22), client=client, sleep=lambda s: None)
    assert again.query_ids == [] and again.skipped_days == 3
    out.close()
    assert _rows(path, USAGE_SQL) == _rows(local_db, USAGE_SQL)
    assert _rows(path, SESSIONS_SQL) == _rows(local_db, SESSIONS_SQL)


def test_cli_athena_needs_its_options(db_path: Path) -> None:
    from click.testing import CliRunner

    from recommender.cli import main

    res = CliRunner().invoke(main, ["ingest", "--engine", "athena", "--db", str(db_path),
                                    "--athena-database", "default"])
    assert res.exit_code == 1 and "--athena-table" in res.output
