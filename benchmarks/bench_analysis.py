"""Measure `analyze` on 1,000 roles and the usage_daily of ~10 million events.

The issue's target: the analysis of 1,000 roles over 10 million events' usage_daily
runs in seconds to a minute on this machine. Ingest is measured by bench_ingest.py,
so this script fills the aggregated tables directly, with realistic shapes:

- IAM: an authorization-details document with ``--roles`` roles of five workload kinds
  (RAG agent, ETL worker, Lambda tool, CI deployer, monitor), each granted what it
  uses on its own resources plus unused extras; every 10th role also has ``s3:*``, every
  20th ``iam:PassRole`` on ``*``, every 50th AdministratorAccess-like ``*``. Loaded
  through the real grants stage (``load_authorization_details``), timed separately.
- usage_daily: 180 days of history, each role active on ~70% of days, calling its
  kind's events on 1..20 resources a day (S3 objects vary most), ~1% denied, a few
  calls with no mapping rule; rows sum to ``--events`` calls (at least one call per
  row, so a small ``--events`` gives more). Some event kinds stop after the first 90
  days so "unused" occurs. sessions_daily: 1-3 sessions per active day. The events
  table stays empty (its sample event ids are a small extra scan).

Prints the row counts, the time of each analysis step and the total.

Usage::

    python benchmarks/bench_analysis.py                       # 1,000 roles, 10M events
    python benchmarks/bench_analysis.py --roles 200 --events 1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from recommender import analysis, catalog, db, mapping
from recommender.grants.load import load_authorization_details

ACCT = "111122223333"
REGION = "us-east-1"

# (kind, event_source, event_name, resource ARN template, resource_kind, resources/day,
#  active half: 'all' | 'early' (only the first 90 days: unused later)). {i} = role, {k} = 0..n-1.
SPECS = [
    ("rag", "s3.amazonaws.com", "GetObject", "arn:aws:s3:::kb-{i}/docs/doc-{k}.md", "AWS::S3::Object", 20, "all"),
    ("rag", "bedrock.amazonaws.com", "InvokeModel",
     "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
     "AWS::Bedrock::FoundationModel", 1, "all"),
    ("rag", "dynamodb.amazonaws.com", "GetItem", "arn:aws:dynamodb:us-east-1:" + ACCT + ":table/conv-{i}",
     "AWS::DynamoDB::Table", 1, "all"),
    ("rag", "dynamodb.amazonaws.com", "Query", "arn:aws:dynamodb:us-east-1:" + ACCT + ":table/conv-{i}",
     "AWS::DynamoDB::Table", 1, "all"),
    ("rag", "secretsmanager.amazonaws.com", "GetSecretValue",
     "arn:aws:secretsmanager:us-east-1:" + ACCT + ":secret:agent-{i}-AbCdEf", "AWS::SecretsManager::Secret", 1, "early"),
    ("etl", "s3.amazonaws.com", "GetObject", "arn:aws:s3:::raw-{i}/in/part-{k}.parquet", "AWS::S3::Object", 20, "all"),
    ("etl", "s3.amazonaws.com", "PutObject", "arn:aws:s3:::curated-{i}/out/part-{k}.parquet", "AWS::S3::Object", 10, "all"),
    ("etl", "s3.amazonaws.com", "ListObjects", "arn:aws:s3:::raw-{i}", "AWS::S3::Bucket", 1, "all"),
    ("etl", "kms.amazonaws.com", "Decrypt", "arn:aws:kms:us-east-1:" + ACCT + ":key/key-{i}", "AWS::KMS::Key", 1, "all"),
    ("etl", "kms.amazonaws.com", "GenerateDataKey", "arn:aws:kms:us-east-1:" + ACCT + ":key/key-{i}",
     "AWS::KMS::Key", 1, "early"),
    ("etl", "glue.amazonaws.com", "GetTable", None, None, 1, "all"),
    ("tool", "dynamodb.amazonaws.com", "PutItem", "arn:aws:dynamodb:us-east-1:" + ACCT + ":table/tickets-{i}",
     "AWS::DynamoDB::Table", 1, "all"),
    ("tool", "dynamodb.amazonaws.com", "UpdateItem", "arn:aws:dynamodb:us-east-1:" + ACCT + ":table/tickets-{i}",
     "AWS::DynamoDB::Table", 1, "all"),
    ("tool", "sqs.amazonaws.com", "SendMessage", "arn:aws:sqs:us-east-1:" + ACCT + ":queue-{i}", "AWS::SQS::Queue", 1, "all"),
    ("tool", "sns.amazonaws.com", "Publish", "arn:aws:sns:us-east-1:" + ACCT + ":topic-{i}", "AWS::SNS::Topic", 1, "early"),
    ("tool", "logs.amazonaws.com", "CreateLogStream",
     "arn:aws:logs:us-east-1:" + ACCT + ":log-group:/aws/lambda/tool-{i}", "AWS::Logs::LogGroup", 1, "all"),
    ("ci", "cloudformation.amazonaws.com", "DescribeStacks", None, None, 1, "all"),
    ("ci", "cloudformation.amazonaws.com", "CreateChangeSet", None, None, 1, "all"),
    ("ci", "lambda.amazonaws.com", "UpdateFunctionCode20150331v2",
     "arn:aws:lambda:us-east-1:" + ACCT + ":function:svc-{i}-{k}", "AWS::Lambda::Function", 3, "all"),
    ("ci", "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
     "arn:aws:iam::" + ACCT + ":role/svc-{i}-exec", "passed_role", 1, "early"),
    ("ci", "s3.amazonaws.com", "PutObject", "arn:aws:s3:::artifacts-{i}/builds/b-{k}.zip", "AWS::S3::Object", 5, "all"),
    ("mon", "ec2.amazonaws.com", "DescribeInstances", None, None, 1, "all"),
    ("mon", "monitoring.amazonaws.com", "GetMetricData", None, None, 1, "all"),
    ("mon", "logs.amazonaws.com", "FilterLogEvents",
     "arn:aws:logs:us-east-1:" + ACCT + ":log-group:/app/{i}-{k}", "AWS::Logs::LogGroup", 4, "all"),
    ("mon", "sts.amazonaws.com", "GetCallerIdentity", None, None, 1, "all"),
    ("mon", "example.amazonaws.com", "DoSomethingUnmapped", None, None, 1, "all"),
]
KINDS = ["rag", "etl", "tool", "ci", "mon"]

# What each kind is granted: (actions, resource template) statements; {i} = role.
GRANTS = {
    "rag": [
        (["s3:GetObject", "s3:ListBucket", "s3:PutObject"], ["arn:aws:s3:::kb-{i}", "arn:aws:s3:::kb-{i}/*"]),
        (["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"], ["*"]),
        (["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:DeleteItem"],
         ["arn:aws:dynamodb:us-east-1:" + ACCT + ":table/conv-{i}"]),
        (["secretsmanager:GetSecretValue"], ["arn:aws:secretsmanager:us-east-1:" + ACCT + ":secret:agent-{i}-*"]),
    ],
    "etl": [
        (["s3:GetObject", "s3:ListBucket"], ["arn:aws:s3:::raw-{i}", "arn:aws:s3:::raw-{i}/*"]),
        (["s3:PutObject", "s3:DeleteObject"], ["arn:aws:s3:::curated-{i}/*"]),
        (["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"], ["arn:aws:kms:us-east-1:" + ACCT + ":key/key-{i}"]),
        (["glue:GetTable", "glue:GetPartitions", "glue:UpdateTable"], ["*"]),
    ],
    "tool": [
        (["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"],
         ["arn:aws:dynamodb:us-east-1:" + ACCT + ":table/tickets-{i}"]),
        (["sqs:SendMessage", "sqs:GetQueueUrl"], ["arn:aws:sqs:us-east-1:" + ACCT + ":queue-{i}"]),
        (["sns:Publish"], ["arn:aws:sns:us-east-1:" + ACCT + ":topic-{i}"]),
        (["logs:CreateLogStream", "logs:PutLogEvents", "logs:CreateLogGroup"], ["*"]),
    ],
    "ci": [
        (["cloudformation:*"], ["*"]),
        (["lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:GetFunction"],
         ["arn:aws:lambda:us-east-1:" + ACCT + ":function:svc-{i}-*"]),
        (["iam:PassRole"], ["arn:aws:iam::" + ACCT + ":role/svc-{i}-*"]),
        (["s3:PutObject", "s3:GetObject"], ["arn:aws:s3:::artifacts-{i}/*"]),
    ],
    "mon": [
        (["ec2:Describe*", "cloudwatch:GetMetricData", "cloudwatch:ListMetrics", "logs:FilterLogEvents",
          "logs:GetLogEvents"], ["*"]),
    ],
}


def authorization_details(n_roles: int) -> dict:
    roles = []
    for i in range(n_roles):
        kind = KINDS[i % len(KINDS)]
        stmts = [
            {"Effect": "Allow", "Action": actions, "Resource": [r.format(i=i) for r in res]}
            for actions, res in GRANTS[kind]
        ]
        if i % 10 == 0:
            stmts.append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
        if i % 20 == 5:
            stmts.append({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
        if i % 50 == 7:
            stmts.append({"Effect": "Allow", "Action": "*", "Resource": "*"})
        name = f"{kind}-role-{i:04d}"
        roles.append({
            "Path": "/", "RoleName": name, "RoleId": f"AROABENCH{i:08d}",
            "Arn": f"arn:aws:iam::{ACCT}:role/{name}", "CreateDate": "2026-01-01T00:00:00Z",
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": {"Version": "2012-10-17", "Statement": stmts}}],
            "AttachedManagedPolicies": [], "Tags": [], "InstanceProfileList": [],
        })  # fmt: skip
    return {"RoleDetailList": roles, "UserDetailList": [], "GroupDetailList": [], "Policies": []}


def fill_usage(con, n_roles: int, events: int, days: int = 180) -> None:
    """usage_daily / sessions_daily rows for the roles, scaled so calls sum to ``events``
    (each row has at least one call, so fewer than the rows' natural weights gives more)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE bench_specs (kind VARCHAR, src VARCHAR, name VARCHAR, tmpl VARCHAR, "
        "rkind VARCHAR, n INTEGER, half VARCHAR)"
    )
    con.executemany("INSERT INTO bench_specs VALUES (?, ?, ?, ?, ?, ?, ?)", SPECS)
    con.execute("CREATE OR REPLACE TEMP TABLE bench_roles AS SELECT range AS i, "
                "['rag','etl','tool','ci','mon'][(range % 5) + 1] AS kind FROM range($n)", {"n": n_roles})
    # One row per (role, active day, spec, resource); calls drawn from a hash so the run is reproducible.
    con.execute("""
        CREATE OR REPLACE TEMP TABLE bench_rows AS
        SELECT r.i, r.kind, s.src, s.name,
               CASE WHEN s.tmpl IS NULL THEN NULL
                    ELSE replace(replace(s.tmpl, '{i}', CAST(r.i AS VARCHAR)), '{k}', CAST(k.range AS VARCHAR)) END AS res,
               s.rkind, d.range AS dn,
               1 + (hash(r.i, d.range, s.name, k.range) % 9)::INTEGER AS w,
               hash(r.i, d.range, s.name, k.range, 'x') % 100 AS roll
        FROM bench_roles AS r
        JOIN bench_specs AS s ON s.kind = r.kind
        CROSS JOIN range($days) AS d
        CROSS JOIN range(20) AS k
        WHERE k.range < s.n
          AND hash(r.i, d.range) % 10 < 7
          AND (s.half = 'all' OR d.range < $days / 2)
    """, {"days": days})
    total_w = con.execute("SELECT sum(w) FROM bench_rows").fetchone()[0]
    scale = max(1.0, events / total_w)
    con.execute("""
        INSERT INTO usage_daily
        SELECT 'arn:aws:iam::111122223333:role/' || kind || '-role-' || lpad(CAST(i AS VARCHAR), 4, '0'),
               '111122223333', src, name, res, rkind,
               CASE WHEN roll = 0 THEN 'denied' WHEN roll = 1 THEN 'error' ELSE 'ok' END,
               DATE '2026-05-04' + CAST(dn AS INTEGER),
               greatest(1, round(w * $scale))::BIGINT,
               TIMESTAMP '2026-05-04 08:00:00' + to_days(CAST(dn AS INTEGER)),
               TIMESTAMP '2026-05-04 18:00:00' + to_days(CAST(dn AS INTEGER))
        FROM bench_rows
    """, {"scale": scale})
    con.execute("""
        INSERT INTO sessions_daily
        SELECT 'arn:aws:iam::111122223333:role/' || kind || '-role-' || lpad(CAST(i AS VARCHAR), 4, '0'),
               DATE '2026-05-04' + CAST(dn AS INTEGER),
               CASE WHEN i % 25 = 3 AND dn % 7 = 0 THEN 'debug-human-' || dn ELSE kind || '-task-' || dn END,
               NULL, 'Boto3/1.34.0 md/Botocore#1.34.0', '10.0.0.' || (i % 250), 'ASIABENCH' || i, sum(w)
        FROM bench_rows GROUP BY ALL
    """)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--roles", type=int, default=1000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--db", type=Path, default=None, help="database file (default: a temporary one)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-analysis-") as tmp:
        path = args.db or Path(tmp) / "bench.duckdb"
        con = db.connect(path)
        t0 = time.perf_counter()
        catalog.ensure_catalog(con)
        auth = Path(tmp) / "auth.json"
        auth.write_text(json.dumps(authorization_details(args.roles)))
        t1 = time.perf_counter()
        load_authorization_details(con, [auth])
        t2 = time.perf_counter()
        fill_usage(con, args.roles, args.events)
        t3 = time.perf_counter()
        mapping.refresh_rules(con)
        t4 = time.perf_counter()
        counts = con.execute("""
            SELECT (SELECT count(*) FROM principals), (SELECT count(*) FROM effective_grants),
                   (SELECT count(*) FROM usage_daily), (SELECT sum(calls) FROM usage_daily),
                   (SELECT count(*) FROM sessions_daily), (SELECT count(*) FROM observed_actions)
        """).fetchone()
        t5 = time.perf_counter()
        print(f"roles {counts[0]:,}  effective_grants {counts[1]:,}  usage_daily rows {counts[2]:,} "
              f"(= {counts[3]:,} calls)  sessions_daily {counts[4]:,}  observed_actions {counts[5]:,}")
        print(f"setup: catalog {t1 - t0:.1f}s, grants load {t2 - t1:.1f}s, usage fill {t3 - t2:.1f}s, "
              f"mapping refresh {t4 - t3:.1f}s, observed_actions count {t5 - t4:.1f}s")

        steps: list[tuple[str, float]] = []
        last = [time.perf_counter()]

        def progress(done: int, total: int, step: str) -> None:
            now = time.perf_counter()
            steps.append((step, now - last[0]))
            last[0] = now

        start = time.perf_counter()
        last[0] = start
        result = analysis.analyze(con, window_days=90, progress=progress)
        total = time.perf_counter() - start
        for step, secs in sorted(steps, key=lambda s: -s[1])[:8]:
            print(f"  {step:<36} {secs:6.2f}s")
        t = result.totals
        print(f"analyze: {total:.1f}s for {t['principals']:,} principals: granted {t['granted']:,}, "
              f"used {t['used']:,}, unused {t['unused']:,}, never_needed {t['never_needed']:,}, "
              f"unobservable {t['unobservable']:,}, denied {t['denied']:,}, unexplained {t['unexplained']:,}; "
              f"{len(result.all_findings()):,} findings")
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
