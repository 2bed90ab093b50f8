#!/usr/bin/env python3
"""Generate ``sample_logs/``: 30 days of CloudTrail and the matching IAM export.

Why it exists: the README's first command, the tests and every later stage (grants,
analysis, recommendations) need one realistic account to run on, and anyone must be
able to regenerate it and get the same bytes. So everything comes from one seeded
RNG and fixed dates, and gzip is written with ``mtime=0`` and no file name.

What it writes (default ``sample_logs/`` next to this script's parent):
  AWSLogs/111122223333/CloudTrail/<region>/2026/10/DD/<acct>_CloudTrail_<region>_<ts>_<rand>.json.gz
  iam/authorization-details.json   (``aws iam get-account-authorization-details`` output)
  iam/scp.json                     (one service control policy document)

Read the tables to see the account: PRINCIPALS and ACTIVITIES (who calls what, when)
at the top, ROLES / CUSTOMER / AWS_MANAGED (what each is granted) further down. The
engine in between only turns those rows into records of CloudTrail's shape.

Deliberate gaps, as in real trails: logs:PutLogEvents is never recorded (so its grant
is only "unobservable"); iam:PassRole appears only inside the calls that pass a role
(UpdateFunctionConfiguration/CreateFunction `role`, RunInstances `iamInstanceProfile`);
S3 logs a boto3 list_objects_v2 as "ListObjects" with list-type 2 (the ETL worker) and
the reporting worker's as "ListObjectsV2", so both spellings occur.

Usage: python scripts/make_sample_logs.py [--out DIR]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import io
import json
import random
import shutil
import string
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

SEED = 20261001
ACCT = "111122223333"
ORCH_ACCT = "444455556666"  # the agent platform account whose orchestrator assumes agent-shared-runner
START = datetime(2026, 10, 1)
DAYS = 30
REGION = "us-east-1"
OTHER_REGION = "us-west-2"

KMS_ETL = f"arn:aws:kms:{REGION}:{ACCT}:key/8f2c1a9e-3b7d-4e51-9c0a-6d4e2b7f1a35"
KMS_FINANCE = f"arn:aws:kms:{REGION}:{ACCT}:key/c41d7e02-95ab-4f3c-8e61-0b9a7d3e5f28"
KB_ID = "KBSUPPORT01"
OIDC = f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"
GH_SUB = "repo:example-org/agents-platform:ref:refs/heads/main"
SSO_ROLE = "AWSReservedSSO_AdministratorAccess_5f2b8c3e9a1d7f40"
FN = f"arn:aws:lambda:{REGION}:{ACCT}:function:"
QUEUE = f"https://sqs.{REGION}.amazonaws.com/{ACCT}/"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:"
TOPIC = f"arn:aws:sns:{REGION}:{ACCT}:support-ticket-events"

UA = {
    "svc": "",  # filled per record with the acting service's host (AWS's own convention)
    "lambda_py": "Boto3/1.35.36 md/Botocore#1.35.36 ua/2.0 os/linux#5.10.226-235.879.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.35.36",
    "lambda_worker": "awslambda-worker/1.0 rusoto/0.48.0 rust/1.79.0 linux",
    "ecs_py": "Boto3/1.35.90 md/Botocore#1.35.90 ua/2.0 os/linux#5.10.230-223.885.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.11 md/pyimpl#CPython exec-env/AWS_ECS_FARGATE cfg/retry-mode#standard Botocore/1.35.90",
    "support_agent": "Boto3/1.40.21 md/Botocore#1.40.21 ua/2.1 os/linux#5.10.240-238.955.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.11 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 m/b,Z,D cfg/retry-mode#standard Botocore/1.40.21 strands-agents/1.6.0",
    "research": "Boto3/1.39.4 md/Botocore#1.39.4 ua/2.1 os/linux#6.1.141-155.222.amzn2023.x86_64 md/arch#x86_64 lang/python#3.12.10 md/pyimpl#CPython m/Z,b cfg/retry-mode#standard Botocore/1.39.4 langchain-aws/0.2.27",
    "billing": "aws-sdk-js/3.858.0 ua/2.1 os/linux#5.10.238-231.953.amzn2.x86_64 lang/js md/nodejs#20.19.4 api/cost-explorer#3.858.0 m/E,N billing-agent/2.3.1",
    "gha": "aws-cli/2.27.50 md/awscrt#0.26.1 ua/2.1 os/linux#6.11.0-1018-azure md/arch#x86_64 lang/python#3.13.4 md/pyimpl#CPython exec-env/GitHubActions cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24 md/prompt#off",
    "cli_v1": "aws-cli/1.18.147 Python/2.7.18 Linux/4.14.198-152.320.amzn2.x86_64 botocore/1.18.6",
    "browser": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "console": "AWS Internal",
    "ec2_py": "Boto3/1.34.162 md/Botocore#1.34.162 ua/2.0 os/linux#6.1.109-118.189.amzn2023.x86_64 md/arch#x86_64 lang/python#3.9.16 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.162",
    "evil": 'Mozilla/5.0 <script>alert(1)</script> "><img src=x onerror=alert(document.domain)>',
}

# Who acts. kind: role | user | sso. `by`: the service principal that assumes the role
# (its AssumeRole record is written as an AWSService call). Templates in {} are filled
# from VOCAB or the run context, see Fill.
PRINCIPALS: dict[str, dict[str, str]] = {
    "support": dict(kind="role", name="bedrock-agent-support", path="/service-role/", by="bedrock.amazonaws.com", session="BedrockAgent-{hex12}", ua="support_agent", ip="198.18.{b}.{b2}"),
    "weather": dict(kind="role", name="lambda-tool-weather", by="lambda.amazonaws.com", session="lambda-tool-weather", ua="lambda_py", ip="198.18.{b}.{b2}"),
    "ticketing": dict(kind="role", name="lambda-tool-ticketing", by="lambda.amazonaws.com", session="lambda-tool-ticketing", ua="lambda_py", ip="198.18.{b}.{b2}"),
    "calendar": dict(kind="role", name="lambda-tool-calendar", by="lambda.amazonaws.com", session="lambda-tool-calendar", ua="lambda_py", ip="198.18.{b}.{b2}"),
    "etl": dict(kind="role", name="ecs-worker-etl", by="ecs-tasks.amazonaws.com", session="{hex32}", ua="ecs_py", ip="10.20.{b}.{b2}", vpce="vpce-0a1b2c3d4e5f60718"),
    "reporting": dict(kind="role", name="ecs-worker-reporting", by="ecs-tasks.amazonaws.com", session="{hex32}", ua="ecs_py", ip="10.20.{b}.{b2}"),
    "ci": dict(kind="role", name="ci-deploy", by="web", session="GitHubActions-{run_id}", ua="gha", ip="198.51.100.{b}"),
    "runner": dict(kind="role", name="ec2-build-runner", by="ec2.amazonaws.com", session="i-0{hex16}", ua="ec2_py", ip="10.30.{b}.{b2}"),
    "research": dict(kind="role", name="agent-shared-runner", by="xacct", session="research-agent-{n2}", source_identity="research-agent", ua="research", ip="192.0.2.{b}"),
    "billing": dict(kind="role", name="agent-shared-runner", by="xacct", session="billing-agent-{n2}", source_identity="billing-agent", ua="billing", ip="192.0.2.{b}"),
    "odd": dict(kind="role", name="agent-shared-runner", by="xacct", session="research-agent-7=x,y@evil.example--", ua="evil", ip="192.0.2.66"),
    "legacy": dict(kind="user", name="legacy-etl-bot", ua="cli_v1", ip="203.0.113.25"),
    "kms": dict(kind="service", name="kms.amazonaws.com", by="kms.amazonaws.com", ua="svc", ip=""),
    "human": dict(kind="sso", name=SSO_ROLE, path="/aws-reserved/sso.amazonaws.com/", session="{person}@example.com", ua="console", ip="192.0.2.{b}"),
}


@dataclass(frozen=True)
class Step:
    """One kind of call in a run: `n` calls (int or (lo, hi)) of source:name."""

    n: int | tuple[int, int]
    source: str  # host prefix: "s3" means s3.amazonaws.com
    name: str
    params: dict[str, Any] | None = None
    p: float = 1.0  # chance the step happens at all in a run
    err: tuple[str, str, float] | None = None  # errorCode, errorMessage, chance per call
    actor: str = ""  # "" session | "svc:<host>" AWSService | "via:<host>" service using session creds | "web" | "xacct"
    ua: str = ""  # override of the principal's user agent (key of UA)
    region: tuple[str, float] | None = None  # (region, chance) to send the call elsewhere
    resp: dict[str, Any] | None = None
    res: tuple[dict[str, str], ...] = ()  # resources CloudTrail lists that are not in the params
    extra: dict[str, Any] = field(default_factory=dict)  # further top-level record fields


@dataclass(frozen=True)
class Activity:
    """`runs` sessions a day of principal `who`, each `minutes` long, starting in `hours`.

    Agents and their tools share an hour grid (a scheduler drains the ticket queue every
    two hours), which is also what keeps CloudTrail's 5-minute files few and full."""

    who: str
    steps: tuple[Step, ...]
    runs: tuple[int, int] = (1, 1)
    hours: tuple[int, int] = (0, 22)
    every: int = 1  # candidate start hours: range(hours[0], hours[1] + 1, every)
    minute: tuple[int, int] = (0, 1)  # schedulers fire at the top of the hour
    minutes: int = 4
    days: str | frozenset[int] = "all"  # "all", "weekdays", or days of the month
    p: float = 1.0  # chance per day that the activity runs at all
    ordered: bool = False  # steps happen one after another (a human clicking through), not interleaved


DENY = "User: {session_arn} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
THROTTLE = ("ThrottlingException", "Too many requests, please wait before trying again.", 0.02)
ASSUME = Step(1, "sts", "AssumeRole", {"roleArn": "{role_arn}", "roleSessionName": "{session}"}, actor="svc:by")
S3_DENIED = ("AccessDenied", "Access Denied", 1.0)
SUPPORT_ART = "articles/{article}"
RAW, CUR = "etl-raw-111122223333", "etl-curated-111122223333"

ACTIVITIES: list[Activity] = [
    Activity("support", runs=(4, 6), hours=(8, 18), every=2, minute=(0, 0), minutes=4, steps=(
        ASSUME,
        Step((5, 9), "bedrock", "InvokeModel", {"modelId": "{model}"}, actor="via:bedrock.amazonaws.com", err=THROTTLE),
        Step((2, 4), "bedrock", "Retrieve", {"knowledgeBaseId": KB_ID, "retrievalQuery": "HIDDEN_DUE_TO_SECURITY_REASONS"}, actor="via:bedrock.amazonaws.com"),
        Step((1, 3), "dynamodb", "GetItem", {"tableName": "support-conversations", "key": {"conversation_id": "{uuid}"}, "consistentRead": False}),
        Step((1, 2), "dynamodb", "Query", {"tableName": "support-conversations", "indexName": "customer-index", "keyConditionExpression": "customer_id = :c"}),
        Step((2, 5), "s3", "GetObject", {"bucketName": "support-kb-docs", "Host": "support-kb-docs.s3.us-east-1.amazonaws.com", "key": SUPPORT_ART}),
        Step((1, 3), "lambda", "Invoke", {"functionName": FN + "{tool_fn}", "sourceArn": f"arn:aws:bedrock:{REGION}:{ACCT}:agent/AGSUPPORT1"}, actor="svc:bedrock.amazonaws.com"),
        Step(1, "iam", "ListUsers", {"maxItems": 100}, p=0.03, err=("AccessDenied", DENY.replace("{action}", "iam:ListUsers").replace("{resource}", f"arn:aws:iam::{ACCT}:user/"), 1.0)),
        Step(1, "iam", "GetAccountAuthorizationDetails", {"filter": ["Role"]}, p=0.02, err=("AccessDenied", DENY.replace("{action}", "iam:GetAccountAuthorizationDetails").replace("{resource}", "*"), 1.0)),
        Step(1, "s3", "DeleteObject", {"bucketName": "support-kb-docs", "Host": "support-kb-docs.s3.us-east-1.amazonaws.com", "key": SUPPORT_ART}, p=0.02, err=S3_DENIED),
    )),
    Activity("weather", runs=(4, 6), hours=(8, 18), every=2, minute=(0, 2), minutes=1, steps=(
        ASSUME,
        Step(1, "logs", "CreateLogStream", {"logGroupName": "/aws/lambda/lambda-tool-weather", "logStreamName": "{day_slash}/[$LATEST]{hex32}"}, ua="lambda_worker"),
        Step((1, 2), "ssm", "GetParameter", {"name": "/tools/weather/api-endpoint", "withDecryption": False}),
        Step(1, "secretsmanager", "GetSecretValue", {"secretId": SECRET + "tools/weather/api-key-Xy12Ab"}),
        Step(1, "sts", "GetCallerIdentity", None, p=0.1),
    )),
    Activity("ticketing", runs=(3, 6), hours=(8, 18), every=2, minute=(0, 2), minutes=1, steps=(
        ASSUME,
        Step(1, "logs", "CreateLogStream", {"logGroupName": "/aws/lambda/lambda-tool-ticketing", "logStreamName": "{day_slash}/[$LATEST]{hex32}"}, ua="lambda_worker"),
        Step((1, 3), "sqs", "SendMessage", {"queueUrl": QUEUE + "support-tickets", "messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
        Step((1, 2), "dynamodb", "PutItem", {"tableName": "support-tickets", "key": {"ticket_id": "{ticket}"}}),
        Step((1, 2), "dynamodb", "UpdateItem", {"tableName": "support-tickets", "key": {"ticket_id": "{ticket}"}, "updateExpression": "SET #s = :s", "conditionExpression": "attribute_exists(ticket_id)"}),
        Step(1, "sns", "Publish", {"topicArn": TOPIC, "message": "HIDDEN_DUE_TO_SECURITY_REASONS", "subject": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
    )),
    # The ticketing tool rewriting its own code once: a self-modification grant that
    # was used on day 2 and never again (used in a 30-day window, unused in 14 days).
    Activity("ticketing", days=frozenset({2}), hours=(10, 10), minutes=1, steps=(
        Step(1, "lambda", "UpdateFunctionCode20150331v2", {"functionName": "lambda-tool-ticketing", "publish": True, "dryRun": False, "s3Bucket": "ci-artifacts-111122223333", "s3Key": "hotfix/ticketing.zip"},
             resp={"functionName": "lambda-tool-ticketing", "functionArn": FN + "lambda-tool-ticketing", "runtime": "python3.12", "role": f"arn:aws:iam::{ACCT}:role/lambda-tool-ticketing", "lastUpdateStatus": "InProgress"}),
    )),
    Activity("etl", runs=(1, 1), hours=(1, 1), minutes=14, steps=(
        ASSUME,
        Step((3, 6), "s3", "ListObjects", {"bucketName": RAW, "Host": f"{RAW}.s3.us-east-1.amazonaws.com", "prefix": "{raw_prefix}dt={day}/", "list-type": "2"}),
        Step((55, 85), "s3", "HeadObject", {"bucketName": RAW, "Host": f"{RAW}.s3.us-east-1.amazonaws.com", "key": "{raw_key}"}),
        Step((55, 85), "s3", "GetObject", {"bucketName": RAW, "Host": f"{RAW}.s3.us-east-1.amazonaws.com", "key": "{raw_key}"}),
        Step((55, 85), "kms", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{RAW}/{{raw_key}}"}}, actor="via:s3.amazonaws.com", res=({"type": "AWS::KMS::Key", "ARN": KMS_ETL},)),
        Step((15, 25), "s3", "PutObject", {"bucketName": CUR, "Host": f"{CUR}.s3.us-east-1.amazonaws.com", "key": "{cur_key}", "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": KMS_ETL}),
        Step((15, 25), "kms", "GenerateDataKey", {"keyId": KMS_ETL, "keySpec": "AES_256", "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{CUR}/{{cur_key}}"}}, actor="via:s3.amazonaws.com"),
        Step((3, 6), "s3", "CopyObject", {"bucketName": CUR, "Host": f"{CUR}.s3.us-east-1.amazonaws.com", "key": "{cur_key}", "x-amz-copy-source": f"{RAW}/{{raw_key}}"}),
        Step((2, 4), "glue", "GetTable", {"databaseName": "sales", "name": "{glue_table}"}),
        Step((3, 6), "glue", "GetPartitions", {"databaseName": "sales", "tableName": "{glue_table}", "expression": "dt = '{day}'"}, err=("ThrottlingException", "Rate exceeded", 0.05)),
        # Attempts outside the grant: a bucket it was never given, another team's key.
        Step(1, "s3", "PutObject", {"bucketName": "etl-archive-111122223333", "Host": "etl-archive-111122223333.s3.us-east-1.amazonaws.com", "key": "archive/{raw_key}"}, p=0.3, err=S3_DENIED),
        Step(1, "kms", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": KMS_FINANCE}, p=0.2,
             err=("AccessDeniedException", DENY.replace("{action}", "kms:Decrypt").replace("{resource}", KMS_FINANCE), 1.0)),
    )),
    Activity("etl", runs=(4, 5), hours=(6, 22), every=4, minute=(30, 30), minutes=4, steps=(  # hourly incremental loads
        ASSUME,
        Step(1, "s3", "ListObjects", {"bucketName": RAW, "Host": f"{RAW}.s3.us-east-1.amazonaws.com", "prefix": "raw/clickstream/dt={day}/", "list-type": "2"}),
        Step((5, 10), "s3", "GetObject", {"bucketName": RAW, "Host": f"{RAW}.s3.us-east-1.amazonaws.com", "key": "raw/clickstream/dt={day}/hour={hh}/events-{hex8}.json.gz"}),
        Step((5, 10), "kms", "Decrypt", {"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{RAW}/raw/clickstream/"}}, actor="via:s3.amazonaws.com", res=({"type": "AWS::KMS::Key", "ARN": KMS_ETL},)),
        Step((1, 3), "s3", "PutObject", {"bucketName": CUR, "Host": f"{CUR}.s3.us-east-1.amazonaws.com", "key": "curated/sessions/dt={day}/hour={hh}/part-{hex8}.snappy.parquet"}),
    )),
    Activity("reporting", runs=(2, 2), hours=(7, 13), every=6, minutes=4, steps=(
        ASSUME,
        Step((1, 3), "athena", "StartQueryExecution", {"queryString": "HIDDEN_DUE_TO_SECURITY_REASONS", "workGroup": "reporting", "queryExecutionContext": {"database": "sales"}}),
        Step((3, 6), "athena", "GetQueryExecution", {"queryExecutionId": "{uuid}"}),
        Step((1, 3), "athena", "GetQueryResults", {"queryExecutionId": "{uuid}", "maxResults": 1000}),
        Step((1, 2), "s3", "ListObjectsV2", {"bucketName": CUR, "Host": f"{CUR}.s3.us-east-1.amazonaws.com", "prefix": "curated/orders_daily/", "list-type": "2"}),
        Step((3, 6), "s3", "GetObject", {"bucketName": CUR, "Host": f"{CUR}.s3.us-east-1.amazonaws.com", "key": "{cur_key}"}),
        Step((1, 2), "glue", "GetTable", {"databaseName": "sales", "name": "{glue_table}"}),
    )),
    Activity("ci", days="weekdays", runs=(1, 3), hours=(9, 17), minutes=4, steps=(
        Step(1, "sts", "AssumeRoleWithWebIdentity", {"roleArn": "{role_arn}", "roleSessionName": "{session}", "durationSeconds": 3600}, actor="web"),
        Step(1, "sts", "GetCallerIdentity", None),
        Step(1, "ecr", "GetAuthorizationToken", None),
        Step((1, 2), "ecr", "BatchCheckLayerAvailability", {"repositoryName": "agents/support-agent", "registryId": ACCT}),
        Step(1, "ecr", "PutImage", {"repositoryName": "agents/support-agent", "registryId": ACCT, "imageTag": "{sha}"}),
        Step((1, 2), "s3", "PutObject", {"bucketName": "ci-artifacts-111122223333", "Host": "ci-artifacts-111122223333.s3.us-east-1.amazonaws.com", "key": "builds/{sha}/lambda-tools.zip"}),
        Step(1, "cloudformation", "CreateChangeSet", {"stackName": "agents-platform", "changeSetName": "gha-{sha}", "changeSetType": "UPDATE", "capabilities": ["CAPABILITY_IAM"]}),
        Step((2, 4), "cloudformation", "DescribeChangeSet", {"stackName": "agents-platform", "changeSetName": "gha-{sha}"}),
        Step(1, "cloudformation", "ExecuteChangeSet", {"stackName": "agents-platform", "changeSetName": "gha-{sha}"}),
        Step((3, 6), "cloudformation", "DescribeStacks", {"stackName": "agents-platform"}),
        Step((2, 4), "cloudformation", "DescribeStackEvents", {"stackName": "agents-platform"}),
        Step((1, 2), "lambda", "UpdateFunctionCode20150331v2", {"functionName": "{tool_fn}", "s3Bucket": "ci-artifacts-111122223333", "s3Key": "builds/{sha}/lambda-tools.zip", "publish": False}, actor="via:cloudformation.amazonaws.com"),
        Step(1, "lambda", "UpdateFunctionConfiguration20150331v2", {"functionName": "lambda-tool-weather", "role": f"arn:aws:iam::{ACCT}:role/lambda-tool-weather", "timeout": 30, "memorySize": 256}, p=0.3, actor="via:cloudformation.amazonaws.com"),
        Step(1, "lambda", "GetFunction", {"functionName": "{tool_fn}"}),
        Step(1, "lambda", "Invoke", {"functionName": FN + "{tool_fn}", "invocationType": "RequestResponse"}),
    )),
    Activity("ci", days=frozenset({9}), hours=(14, 14), minutes=2, steps=(  # a one-off build box
        Step(1, "sts", "AssumeRoleWithWebIdentity", {"roleArn": "{role_arn}", "roleSessionName": "{session}", "durationSeconds": 3600}, actor="web"),
        Step(1, "ec2", "RunInstances", {"instancesSet": {"items": [{"imageId": "ami-0c02fb55956c7d316", "minCount": 1, "maxCount": 1}]}, "instanceType": "c6i.2xlarge",
                                        "iamInstanceProfile": {"arn": f"arn:aws:iam::{ACCT}:instance-profile/ec2-build-runner"}, "subnetId": "subnet-0f1e2d3c4b5a69788"}),
    )),
    Activity("runner", days=frozenset({9}), hours=(14, 14), minute=(6, 7), minutes=3, steps=(
        Step(1, "sts", "AssumeRole", {"roleArn": "{role_arn}", "roleSessionName": "{session}"}, actor="svc:by"),
        Step(1, "ecr", "GetAuthorizationToken", None),
        Step((2, 3), "s3", "GetObject", {"bucketName": "ci-artifacts-111122223333", "Host": "ci-artifacts-111122223333.s3.us-east-1.amazonaws.com", "key": "builds/{sha}/lambda-tools.zip"}),
    )),
    Activity("ci", days=frozenset({25}), hours=(16, 16), minute=(20, 21), minutes=2, steps=(  # a new tool, created by CI
        Step(1, "sts", "AssumeRoleWithWebIdentity", {"roleArn": "{role_arn}", "roleSessionName": "{session}", "durationSeconds": 3600}, actor="web"),
        Step(1, "lambda", "CreateFunction20150331", {"functionName": "lambda-tool-calendar", "runtime": "python3.12", "handler": "app.handler",
                                                    "role": f"arn:aws:iam::{ACCT}:role/lambda-tool-calendar", "code": {"s3Bucket": "ci-artifacts-111122223333", "s3Key": "builds/{sha}/lambda-tools.zip"}}),
    )),
    Activity("calendar", days=frozenset(range(26, 31)), runs=(2, 4), hours=(8, 18), every=2, minute=(0, 2), minutes=1, steps=(
        ASSUME,
        Step(1, "logs", "CreateLogStream", {"logGroupName": "/aws/lambda/lambda-tool-calendar", "logStreamName": "{day_slash}/[$LATEST]{hex32}"}, ua="lambda_worker"),
        Step(1, "secretsmanager", "GetSecretValue", {"secretId": SECRET + "tools/calendar/oauth-Qw34Er"}),
        Step((1, 2), "dynamodb", "Query", {"tableName": "calendar-slots", "keyConditionExpression": "agent_id = :a"}),
    )),
    Activity("research", runs=(3, 5), hours=(2, 22), every=4, minute=(30, 30), minutes=4, steps=(
        Step(1, "sts", "AssumeRole", {"roleArn": "{role_arn}", "roleSessionName": "{session}", "sourceIdentity": "{source_identity}", "durationSeconds": 3600}, actor="xacct"),
        Step((1, 2), "s3", "ListObjects", {"bucketName": "research-data", "Host": "research-data.s3.us-east-1.amazonaws.com", "prefix": "papers/", "delimiter": "/"}),
        Step((3, 8), "s3", "GetObject", {"bucketName": "research-data", "Host": "research-data.s3.us-east-1.amazonaws.com", "key": "{paper}"}),
        Step((2, 5), "bedrock", "InvokeModel", {"modelId": "{model}"}, region=(OTHER_REGION, 0.1), err=THROTTLE),
        Step(1, "sts", "GetCallerIdentity", None, p=0.3),
    )),
    Activity("billing", runs=(1, 2), hours=(6, 10), every=4, minute=(30, 30), minutes=3, steps=(
        Step(1, "sts", "AssumeRole", {"roleArn": "{role_arn}", "roleSessionName": "{session}", "sourceIdentity": "{source_identity}", "durationSeconds": 3600}, actor="xacct"),
        Step((2, 4), "ce", "GetCostAndUsage", {"timePeriod": {"start": "2026-09-01", "end": "{day}"}, "granularity": "DAILY", "metrics": ["UnblendedCost"]}),
        Step(1, "ce", "GetCostForecast", {"timePeriod": {"start": "{day}", "end": "2026-11-30"}, "metric": "UNBLENDED_COST", "granularity": "MONTHLY"}, p=0.3),
        Step((3, 6), "dynamodb", "Query", {"tableName": "billing-ledger", "keyConditionExpression": "account_id = :a AND period = :p"}),
    )),
    Activity("odd", days=frozenset({17}), hours=(21, 21), minute=(13, 14), minutes=1, steps=(  # hostile strings for the report
        Step(1, "sts", "AssumeRole", {"roleArn": "{role_arn}", "roleSessionName": "{session}", "durationSeconds": 900}, actor="xacct"),
        Step(1, "s3", "GetObject", {"bucketName": "research-data", "Host": "research-data.s3.us-east-1.amazonaws.com", "key": 'papers/"><b>bold</b><script>alert(1)</script>.pdf'}),
        Step(1, "s3", "PutObject", {"bucketName": "research-data", "Host": "research-data.s3.us-east-1.amazonaws.com", "key": "notes/<img src=x onerror=alert(1)>.txt"}, err=S3_DENIED),
    )),
    Activity("legacy", runs=(1, 1), hours=(3, 3), minute=(15, 16), minutes=3, steps=(
        Step(1, "sts", "GetCallerIdentity", None, p=0.5),
        Step(1, "s3", "ListBuckets", {"Host": "s3.amazonaws.com"}),
        Step((2, 4), "s3", "GetObject", {"bucketName": "legacy-exports-111122223333", "Host": "legacy-exports-111122223333.s3.amazonaws.com", "key": "daily/{day}/export-{n2}.csv"}),
        Step((3, 6), "sqs", "ReceiveMessage", {"queueUrl": QUEUE + "legacy-jobs", "maxNumberOfMessages": 10, "waitTimeSeconds": 20}),
        Step((2, 5), "sqs", "DeleteMessage", {"queueUrl": QUEUE + "legacy-jobs", "receiptHandle": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
    )),
    Activity("kms", days=frozenset({15}), hours=(6, 6), minute=(42, 42), minutes=1, steps=(  # yearly key rotation
        Step(1, "kms", "RotateKey", None, actor="svc:by", res=({"type": "AWS::KMS::Key", "ARN": KMS_ETL},),
             extra={"eventType": "AwsServiceEvent", "serviceEventDetails": {"keyId": KMS_ETL.rsplit("/", 1)[1]}}),
    )),
    Activity("human", days="weekdays", p=0.4, hours=(9, 17), minute=(0, 59), minutes=5, steps=(
        Step(1, "signin", "ConsoleLogin", None, ua="browser", resp={"ConsoleLogin": "Success"},
             extra={"eventType": "AwsConsoleSignIn", "additionalEventData": {"MobileVersion": "No", "MFAUsed": "Yes"}}),
        Step((1, 2), "iam", "ListRoles", {"maxItems": 1000}),
        Step((1, 3), "cloudtrail", "LookupEvents", {"maxResults": 50, "lookupAttributes": [{"attributeKey": "ReadOnly", "attributeValue": "false"}]}),
        Step(1, "s3", "ListBuckets", {"Host": "s3.amazonaws.com"}, p=0.5),
    )),
    Activity("human", days=frozenset({25}), hours=(15, 15), minute=(40, 40), ordered=True, steps=(  # the calendar tool's role
        Step(1, "iam", "CreateRole", {"roleName": "lambda-tool-calendar", "assumeRolePolicyDocument": "HIDDEN_FOR_BREVITY", "tags": [{"key": "workload-type", "value": "agent"}]}),
        Step(1, "iam", "CreatePolicy", {"policyName": "calendar-tool-access", "policyDocument": "HIDDEN_FOR_BREVITY"}),
        Step(1, "iam", "AttachRolePolicy", {"roleName": "lambda-tool-calendar", "policyArn": f"arn:aws:iam::{ACCT}:policy/calendar-tool-access"}),
    )),
    Activity("human", days=frozenset({26}), hours=(11, 11), minute=(5, 6), minutes=2, steps=(
        Step(1, "iam", "CreatePolicyVersion", {"policyArn": f"arn:aws:iam::{ACCT}:policy/calendar-tool-access", "policyDocument": "HIDDEN_FOR_BREVITY", "setAsDefault": True}),
    )),
]

TOPICS = ["billing", "login", "shipping", "returns", "api", "security", "mobile"]
VOCAB: dict[str, Any] = {
    "model": lambda r, c: r.choice(["us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0", "amazon.titan-embed-text-v2:0"]),
    "article": lambda r, c: f"{r.choice(TOPICS)}/kb-{r.randint(1000, 1400)}.md",
    "tool_fn": lambda r, c: r.choice(["lambda-tool-weather", "lambda-tool-ticketing"]),
    "ticket": lambda r, c: f"TCK-{r.randint(100000, 999999)}",
    "raw_prefix": lambda r, c: r.choice(["raw/orders/", "raw/inventory/", "raw/returns/"]),
    "raw_key": lambda r, c: f"{r.choice(['raw/orders/', 'raw/orders/', 'raw/inventory/', 'raw/returns/'])}dt={c['day']}/part-{r.randint(0, 119):05d}.snappy.parquet",
    "cur_key": lambda r, c: f"{r.choice(['curated/orders_daily/', 'curated/inventory_snapshot/'])}dt={c['day']}/part-{r.randint(0, 15):05d}.snappy.parquet",
    "glue_table": lambda r, c: r.choice(["orders", "inventory", "returns", "orders_daily"]),
    "paper": lambda r, c: f"papers/2026/{r.randint(2601, 2610)}.{r.randint(10000, 19999):05d}.pdf",
    "person": lambda r, c: r.choice(["alice", "bob", "carol"]),
    "sha": lambda r, c: c.setdefault("_sha", "%012x" % r.getrandbits(48)),
    "run_id": lambda r, c: str(r.randint(17_000_000_000, 17_999_999_999)),
    "uuid": lambda r, c: str(uuid.UUID(int=r.getrandbits(128), version=4)),
    "hex8": lambda r, c: "%08x" % r.getrandbits(32),
    "hex12": lambda r, c: "%012x" % r.getrandbits(48),
    "hex16": lambda r, c: "%016x" % r.getrandbits(64),
    "hex32": lambda r, c: "%032x" % r.getrandbits(128),
    "n2": lambda r, c: str(r.randint(1, 12)),
    "b": lambda r, c: str(r.randint(1, 254)),
    "b2": lambda r, c: str(r.randint(1, 254)),
}


# ---------------------------------------------------------------- engine

@functools.lru_cache(maxsize=None)
def stable_id(prefix: str, name: str) -> str:
    """IAM-style unique id (AROA…, AIDA…) derived from the name so logs and IAM agree."""
    digest = hashlib.sha256(name.encode()).digest()
    alphabet = string.ascii_uppercase + "234567"
    return prefix + "".join(alphabet[b % 32] for b in digest[:17])


def role_arn(p: dict[str, str]) -> str:
    return f"arn:aws:iam::{ACCT}:role{p.get('path', '/')}{p['name']}"


class Fill(dict):  # type: ignore[type-arg]
    """Values for {placeholders}: run context first, then VOCAB, drawn once per record."""

    def __init__(self, rng: random.Random, ctx: dict[str, str]) -> None:
        super().__init__(ctx)
        self.rng, self.ctx = rng, ctx

    def __missing__(self, key: str) -> str:
        self[key] = value = VOCAB[key](self.rng, self.ctx)
        return value

    def apply(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return obj.format_map(self) if "{" in obj else obj
        if isinstance(obj, dict):
            return {k: self.apply(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.apply(v) for v in obj]
        return obj


DATA_EVENTS = {"dynamodb": {"GetItem", "Query", "PutItem", "UpdateItem"}, "lambda": {"Invoke"},
               "sqs": {"SendMessage", "ReceiveMessage", "DeleteMessage"}, "sns": {"Publish"}, "bedrock": {"Retrieve"}}
READ_ONLY_NAMES = {"Decrypt", "GenerateDataKey", "AssumeRole", "AssumeRoleWithWebIdentity", "InvokeModel", "ReceiveMessage", "Retrieve"}
HOSTS = {"bedrock:InvokeModel": "bedrock-runtime.{r}.amazonaws.com", "bedrock:Retrieve": "bedrock-agent-runtime.{r}.amazonaws.com",
         "iam": "iam.amazonaws.com", "ce": "ce.us-east-1.amazonaws.com", "s3": "s3.{r}.amazonaws.com", "ecr": "api.ecr.{r}.amazonaws.com"}


def is_data(source: str, name: str) -> bool:
    return (source == "s3" and name != "ListBuckets") or name in DATA_EVENTS.get(source, ())


def resources_of(source: str, name: str, params: dict[str, Any], region: str) -> list[dict[str, str]]:
    """The resources[] CloudTrail fills in for these calls."""
    out: list[dict[str, str]] = []
    if source == "s3" and params.get("bucketName"):
        src = params.get("x-amz-copy-source")
        if src:
            out.append({"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{src}"})
        if params.get("key"):
            out.append({"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{params['bucketName']}/{params['key']}"})
        out.append({"accountId": ACCT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{params['bucketName']}"})
    elif source == "dynamodb":
        out.append({"accountId": ACCT, "type": "AWS::DynamoDB::Table", "ARN": f"arn:aws:dynamodb:{region}:{ACCT}:table/{params['tableName']}"})
    elif (source, name) == ("lambda", "Invoke"):
        out.append({"accountId": ACCT, "type": "AWS::Lambda::Function", "ARN": params["functionName"]})
    elif source == "sqs":
        out.append({"accountId": ACCT, "type": "AWS::SQS::Queue", "ARN": f"arn:aws:sqs:{region}:{ACCT}:{params['queueUrl'].rsplit('/', 1)[1]}"})
    elif source == "sns":
        out.append({"accountId": ACCT, "type": "AWS::SNS::Topic", "ARN": params["topicArn"]})
    elif source == "kms" and params.get("keyId"):
        out.append({"accountId": ACCT, "type": "AWS::KMS::Key", "ARN": params["keyId"]})
    elif source == "sts" and name.startswith("AssumeRole"):
        out.append({"accountId": ACCT, "type": "AWS::IAM::Role", "ARN": params["roleArn"]})
    elif (source, name) == ("bedrock", "Retrieve"):
        out.append({"accountId": ACCT, "type": "AWS::Bedrock::KnowledgeBase", "ARN": f"arn:aws:bedrock:{region}:{ACCT}:knowledge-base/{params['knowledgeBaseId']}"})
    return out


def identity(p: dict[str, str], step: Step, ctx: dict[str, str]) -> dict[str, Any]:
    if step.actor.startswith("svc:"):
        return {"type": "AWSService", "invokedBy": ctx["by"] if step.actor == "svc:by" else step.actor[4:]}
    if step.actor == "web":
        return {"type": "WebIdentityUser", "principalId": f"{OIDC}:sts.amazonaws.com:{GH_SUB}", "userName": GH_SUB, "identityProvider": OIDC}
    if step.actor == "xacct":
        return {"type": "AWSAccount", "principalId": f"{stable_id('AROA', 'agent-orchestrator')}:orchestrator", "accountId": ORCH_ACCT}
    if p["kind"] == "user":
        return {"type": "IAMUser", "principalId": stable_id("AIDA", p["name"]), "arn": f"arn:aws:iam::{ACCT}:user/{p['name']}",
                "accountId": ACCT, "accessKeyId": stable_id("AKIA", p["name"])[:20], "userName": p["name"]}
    rid = stable_id("AROA", p["name"])
    sc: dict[str, Any] = {"sessionIssuer": {"type": "Role", "principalId": rid, "arn": role_arn(p), "accountId": ACCT, "userName": p["name"]},
                          "webIdFederationData": {"federatedProvider": OIDC, "attributes": {}} if p.get("by") == "web" else {},
                          "attributes": {"creationDate": ctx["created"], "mfaAuthenticated": "false"}}
    if p.get("source_identity"):
        sc["sourceIdentity"] = p["source_identity"]
    ident = {"type": "AssumedRole", "principalId": f"{rid}:{ctx['session']}", "arn": ctx["session_arn"], "accountId": ACCT,
             "accessKeyId": ctx["key"], "sessionContext": sc}
    if step.actor.startswith("via:"):
        ident["invokedBy"] = step.actor[4:]
    return ident


def make_record(rng: random.Random, p: dict[str, str], step: Step, ctx: dict[str, str], t: datetime) -> dict[str, Any]:
    fill = Fill(rng, ctx)
    params = fill.apply(step.params)
    region = step.region[0] if step.region and rng.random() < step.region[1] else REGION
    data = is_data(step.source, step.name)
    service = step.actor[4:] if step.actor.startswith(("svc:", "via:")) and step.actor != "svc:by" else ""
    service = ctx["by"] if step.actor == "svc:by" else service
    ua = service or UA[step.ua or p["ua"]]
    ip = service or fill.apply(p["ip"])
    err = step.err if step.err and rng.random() < step.err[2] else None
    host = HOSTS.get(f"{step.source}:{step.name}", HOSTS.get(step.source, "{s}.{r}.amazonaws.com"))
    if step.source == "s3" and params and params.get("Host"):
        host = params["Host"]
    rec: dict[str, Any] = {
        "eventVersion": "1.09" if data or step.source in ("bedrock", "lambda", "s3") else "1.08",
        "userIdentity": identity(p, step, ctx),
        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": f"{step.source}.amazonaws.com",
        "eventName": step.name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": ua,
    }
    if err:
        rec["errorCode"], rec["errorMessage"] = err[0], fill.apply(err[1])
    rec["requestParameters"] = params
    resp = fill.apply(step.resp)
    if step.name.startswith("AssumeRole") and not err:
        resp = {"credentials": {"accessKeyId": ctx["key"], "expiration": (t + timedelta(hours=1)).strftime("%b %d, %Y, %I:%M:%S %p")},
                "assumedRoleUser": {"assumedRoleId": f"{stable_id('AROA', p['name'])}:{ctx['session']}", "arn": ctx["session_arn"]}}
        if step.actor == "web":
            resp.update(subjectFromWebIdentityToken=GH_SUB, provider=OIDC, audience="sts.amazonaws.com")
    rec["responseElements"] = None if err else resp
    if step.source == "s3":
        rec["additionalEventData"] = {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0,
                                      "AuthenticationMethod": "AuthHeader", "bytesTransferredOut": 0 if err else rng.randint(800, 4_000_000)}
    rec["requestID"] = "%016X" % rng.getrandbits(64) if step.source == "s3" else str(uuid.UUID(int=rng.getrandbits(128), version=4))
    rec["eventID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    rec["readOnly"] = step.name in READ_ONLY_NAMES or step.name.startswith(("Get", "List", "Describe", "Head", "Query", "Lookup", "BatchCheck"))
    res = resources_of(step.source, step.name, params or {}, region) + [dict(r, accountId=ACCT) for r in step.res]
    if res:
        rec["resources"] = res
    rec["eventType"] = "AwsApiCall"
    rec["managementEvent"] = not data
    rec["recipientAccountId"] = ACCT
    if p.get("vpce") and step.source in ("s3", "kms") and not service:
        rec["vpcEndpointId"] = p["vpce"]
    if step.actor.startswith("svc:"):
        rec["sharedEventID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    rec["eventCategory"] = "Data" if data else "Management"
    if not service:
        rec["tlsDetails"] = {"tlsVersion": "TLSv1.2" if p["ua"] == "cli_v1" else "TLSv1.3",
                             "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256" if p["ua"] == "cli_v1" else "TLS_AES_128_GCM_SHA256",
                             "clientProvidedHostHeader": host.format(s=step.source, r=region)}
    if p["kind"] == "sso" and step.name != "ConsoleLogin":
        rec["sessionCredentialFromConsole"] = "true"
    for key, value in step.extra.items():  # e.g. eventType AwsConsoleSignIn
        rec[key] = value
    if step.name == "ConsoleLogin":
        rec.pop("tlsDetails", None)
    return rec


def runs_on(a: Activity, day: date) -> bool:
    if a.days == "all":
        return True
    if a.days == "weekdays":
        return day.weekday() < 5
    return day.day in a.days  # type: ignore[operator]


def generate(rng: random.Random) -> list[dict[str, Any]]:
    """Every record of the month, in time order."""
    timed: list[tuple[datetime, int, dict[str, Any]]] = []
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        for a in ACTIVITIES:
            if not runs_on(a, day.date()) or rng.random() >= a.p:
                continue
            p = PRINCIPALS[a.who]
            n_runs = rng.randint(*a.runs)
            grid = list(range(a.hours[0], a.hours[1] + 1, a.every))
            hours = rng.sample(grid, n_runs) if n_runs <= len(grid) else [rng.choice(grid) for _ in range(n_runs)]
            for hour in sorted(hours):
                t0 = day + timedelta(hours=hour, minutes=rng.randint(*a.minute), seconds=rng.randint(0, 59))
                ctx: dict[str, str] = {"day": day.strftime("%Y-%m-%d"), "day_slash": day.strftime("%Y/%m/%d"), "hh": f"{hour:02d}",
                                       "role_arn": role_arn(p), "by": p.get("by", ""), "source_identity": p.get("source_identity", ""),
                                       "created": t0.strftime("%Y-%m-%dT%H:%M:%SZ"), "key": "ASIA" + stable_id("", "%x" % rng.getrandbits(64))[:16]}
                fill = Fill(rng, ctx)
                ctx["session"] = fill.apply(p.get("session", ""))
                ctx["session_arn"] = f"arn:aws:sts::{ACCT}:assumed-role/{p['name']}/{ctx['session']}"
                for i, step in enumerate(a.steps):
                    if rng.random() >= step.p:
                        continue
                    count = step.n if isinstance(step.n, int) else rng.randint(*step.n)
                    for _ in range(count):
                        if a.ordered:
                            t = t0 + timedelta(seconds=i * 40 + rng.randint(0, 30))
                        else:
                            t = t0 if i == 0 else t0 + timedelta(seconds=rng.randint(1, a.minutes * 60))
                        timed.append((t, len(timed), make_record(rng, p, step, ctx, t)))
    timed.sort(key=lambda x: (x[0], x[1]))
    return [rec for _, _, rec in timed]


def write_logs(records: list[dict[str, Any]], out: Path, rng: random.Random) -> list[Path]:
    """One gzip file per region and 5-minute delivery window, named like CloudTrail's S3 keys."""
    windows: dict[tuple[str, datetime], list[dict[str, Any]]] = {}
    for rec in records:
        t = datetime.fromisoformat(rec["eventTime"][:-1])
        end = t.replace(second=0, minute=t.minute - t.minute % 5) + timedelta(minutes=5)
        windows.setdefault((rec["awsRegion"], end), []).append(rec)
    alphabet = string.ascii_letters + string.digits
    paths = []
    for (region, end), recs in sorted(windows.items()):
        folder = out / "AWSLogs" / ACCT / "CloudTrail" / region / end.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        suffix = "".join(rng.choice(alphabet) for _ in range(16))
        path = folder / f"{ACCT}_CloudTrail_{region}_{end.strftime('%Y%m%dT%H%MZ')}_{suffix}.json.gz"
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
            gz.write(json.dumps({"Records": recs}, separators=(",", ":"), ensure_ascii=False).encode())
        path.write_bytes(buf.getvalue())
        paths.append(path)
    return paths


# ---------------------------------------------------------------- IAM (the grants side)

def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(sid: str, action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal: dict[str, Any], action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": principal, "Action": action, **extra})


A = f"arn:aws:iam::{ACCT}"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCT}:table/"
READ_ONLY_ACTIONS = [  # a representative subset of ReadOnlyAccess, in its own style
    "access-analyzer:Get*", "access-analyzer:List*", "acm:Describe*", "acm:Get*", "acm:List*", "apigateway:GET",
    "athena:Batch*", "athena:Get*", "athena:List*", "autoscaling:Describe*", "bedrock:Get*", "bedrock:List*",
    "ce:Describe*", "ce:Get*", "ce:List*", "cloudformation:Describe*", "cloudformation:Detect*", "cloudformation:Get*",
    "cloudformation:List*", "cloudfront:Get*", "cloudfront:List*", "cloudtrail:Describe*", "cloudtrail:Get*",
    "cloudtrail:List*", "cloudtrail:LookupEvents", "cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*",
    "dynamodb:BatchGet*", "dynamodb:Describe*", "dynamodb:Get*", "dynamodb:List*", "dynamodb:Query", "dynamodb:Scan",
    "ec2:Describe*", "ec2:Get*", "ecr:BatchCheck*", "ecr:BatchGet*", "ecr:Describe*", "ecr:Get*", "ecr:List*",
    "ecs:Describe*", "ecs:List*", "events:Describe*", "events:List*", "glue:BatchGet*", "glue:Get*", "glue:List*",
    "iam:Generate*", "iam:Get*", "iam:List*", "iam:Simulate*", "kms:Describe*", "kms:Get*", "kms:List*",
    "lambda:Get*", "lambda:List*", "logs:Describe*", "logs:FilterLogEvents", "logs:Get*", "logs:List*",
    "logs:StartQuery", "logs:StopQuery", "logs:TestMetricFilter", "organizations:Describe*", "organizations:List*",
    "s3:DescribeJob", "s3:Get*", "s3:List*", "secretsmanager:Describe*", "secretsmanager:GetResourcePolicy",
    "secretsmanager:List*", "sns:Check*", "sns:Get*", "sns:List*", "sqs:Get*", "sqs:List*", "sqs:Receive*",
    "ssm:Describe*", "ssm:Get*", "ssm:List*", "states:Describe*", "states:Get*", "states:List*", "sts:GetAccessKeyInfo",
    "tag:Get*", "xray:BatchGet*", "xray:Get*",
]
SAGEMAKER_MARKETPLACE = {"StringEquals": {"aws:ResourceTag/sagemaker-sdk:bedrock": "compatible"}}
# AWS managed policies: name -> (default version, created, updated, document).
AWS_MANAGED: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "AdministratorAccess": ("v1", "2015-02-06T18:39:46", "2015-02-06T18:39:46", doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
    "ReadOnlyAccess": ("v131", "2015-02-06T18:39:48", "2026-09-18T17:05:11", doc({"Sid": "ReadOnlyActions", "Effect": "Allow", "Action": READ_ONLY_ACTIONS, "Resource": "*"})),
    "PowerUserAccess": ("v5", "2015-02-06T18:39:47", "2023-07-06T22:04:00", doc(
        {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["account:GetAccountInformation", "account:GetPrimaryEmail", "account:ListRegions", "iam:CreateServiceLinkedRole",
                                       "iam:DeleteServiceLinkedRole", "iam:ListRoles", "organizations:DescribeOrganization"], "Resource": "*"})),
    "AmazonSQSFullAccess": ("v2", "2015-02-06T18:41:07", "2024-06-25T16:00:00", doc(allow("SQSFullAccess", ["sqs:*"]))),
    "AmazonDynamoDBFullAccess": ("v12", "2015-02-06T18:40:11", "2024-10-11T17:40:00", doc(
        {"Action": ["dynamodb:*", "dax:*", "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:DeregisterScalableTarget",
                    "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingActivities",
                    "application-autoscaling:DescribeScalingPolicies", "application-autoscaling:PutScalingPolicy",
                    "application-autoscaling:RegisterScalableTarget", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarmHistory",
                    "cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmsForMetric", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics",
                    "cloudwatch:PutMetricAlarm", "cloudwatch:GetMetricData", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
                    "iam:GetRole", "iam:ListRoles", "kms:DescribeKey", "kms:ListAliases", "sns:CreateTopic", "sns:DeleteTopic",
                    "sns:ListSubscriptions", "sns:ListSubscriptionsByTopic", "sns:ListTopics", "sns:Subscribe", "sns:Unsubscribe",
                    "sns:SetTopicAttributes", "lambda:CreateFunction", "lambda:ListFunctions", "lambda:ListEventSourceMappings",
                    "lambda:CreateEventSourceMapping", "lambda:DeleteEventSourceMapping", "lambda:GetFunctionConfiguration",
                    "lambda:DeleteFunction", "resource-groups:ListGroups", "resource-groups:ListGroupResources", "resource-groups:GetGroup",
                    "resource-groups:GetGroupQuery", "resource-groups:DeleteGroup", "resource-groups:CreateGroup", "tag:GetResources",
                    "kinesis:ListStreams", "kinesis:DescribeStream", "kinesis:DescribeStreamSummary"], "Effect": "Allow", "Resource": "*"},
        {"Action": "cloudwatch:GetInsightRuleReport", "Effect": "Allow", "Resource": "arn:aws:cloudwatch:*:*:insight-rule/DynamoDBContributorInsights*"},
        {"Action": ["iam:PassRole"], "Effect": "Allow", "Resource": "*",
         "Condition": {"StringLike": {"iam:PassedToService": ["application-autoscaling.amazonaws.com", "dax.amazonaws.com"]}}},
        {"Effect": "Allow", "Action": ["iam:CreateServiceLinkedRole"], "Resource": "*", "Condition": {"StringEquals": {"iam:AWSServiceName": [
            "replication.dynamodb.amazonaws.com", "dax.amazonaws.com", "dynamodb.application-autoscaling.amazonaws.com",
            "contributorinsights.dynamodb.amazonaws.com", "kinesisreplication.dynamodb.amazonaws.com"]}}})),
    "AmazonBedrockFullAccess": ("v9", "2023-12-12T17:24:03", "2025-05-12T20:50:00", doc(
        allow("BedrockAll", ["bedrock:*"]),
        allow("DescribeKey", ["kms:DescribeKey"], "arn:*:kms:*:::*"),
        allow("APIsWithAllResourceAccess", ["iam:ListRoles", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"]),
        allow("MarketplaceModelEndpointMutatingAPIs", ["sagemaker:CreateEndpoint", "sagemaker:CreateEndpointConfig", "sagemaker:CreateModel",
                                                       "sagemaker:DeleteEndpoint", "sagemaker:UpdateEndpoint"],
              ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*", "arn:aws:sagemaker:*:*:model/*"],
              Condition={"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com", "aws:ResourceTag/sagemaker-sdk:bedrock": "compatible"}}),
        allow("MarketplaceModelEndpointAddTagsOperations", ["sagemaker:AddTags"],
              ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*", "arn:aws:sagemaker:*:*:model/*"],
              Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["sagemaker-sdk:bedrock", "bedrock:marketplace-registration-status",
                                                                        "sagemaker-studio:hub-content-arn"]}, "StringLike": {"aws:RequestTag/sagemaker-sdk:bedrock": "compatible"}}),
        allow("MarketplaceModelEndpointDeleteTagsOperations", ["sagemaker:DeleteTags"], "arn:aws:sagemaker:*:*:endpoint/*",
              Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["sagemaker-sdk:bedrock", "bedrock:marketplace-registration-status"]},
                         **SAGEMAKER_MARKETPLACE}),
        allow("MarketplaceModelEndpointNonMutatingAPIs", ["sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel",
                                                          "sagemaker:ListTags"],
              ["arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*", "arn:aws:sagemaker:*:*:model/*"],
              Condition={"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com"}}),
        allow("MarketplaceModelEndpointInvokingOperations", ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
              "arn:aws:sagemaker:*:*:endpoint/*", Condition={"StringEquals": {"aws:CalledViaLast": "bedrock.amazonaws.com"}, **SAGEMAKER_MARKETPLACE}),
        allow("DiscoveringMarketplaceModel", ["sagemaker:DescribeHubContent"],
              ["arn:aws:sagemaker:*:aws:hub-content/SageMakerPublicHub/Model/*", "arn:aws:sagemaker:*:aws:hub/SageMakerPublicHub"]),
        allow("AllowMarketplaceModelsListing", ["sagemaker:ListHubContents"], "arn:aws:sagemaker:*:aws:hub/SageMakerPublicHub"),
        allow("PassRoleToSageMaker", ["iam:PassRole"], ["arn:aws:iam::*:role/*SageMaker*ForBedrock*"],
              Condition={"StringEquals": {"iam:PassedToService": ["sagemaker.amazonaws.com", "bedrock.amazonaws.com"]}}),
        allow("PassRoleToBedrock", ["iam:PassRole"], "arn:aws:iam::*:role/*AmazonBedrock*",
              Condition={"StringEquals": {"iam:PassedToService": ["bedrock.amazonaws.com"]}}))),
}
RAW_ARNS = [f"arn:aws:s3:::{RAW}", f"arn:aws:s3:::{RAW}/*"]
CUR_ARNS = [f"arn:aws:s3:::{CUR}", f"arn:aws:s3:::{CUR}/*"]
GLUE = [f"arn:aws:glue:{REGION}:{ACCT}:catalog", f"arn:aws:glue:{REGION}:{ACCT}:database/sales", f"arn:aws:glue:{REGION}:{ACCT}:table/sales/*"]
# Customer managed policies: name -> versions (id, created, document); the last is the default.
CUSTOMER: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "etl-data-access": [
        ("v1", "2025-06-02T08:14:51", doc(allow("EtlBuckets", "s3:*", RAW_ARNS + CUR_ARNS), allow("EtlKey", "kms:*", KMS_ETL))),
        ("v2", "2026-03-17T13:02:09", doc(
            allow("ReadRaw", ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:GetBucketLocation"], RAW_ARNS),
            allow("ReadWriteCurated", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:AbortMultipartUpload"], CUR_ARNS),
            allow("EtlKey", ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], KMS_ETL),
            allow("Catalog", ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions", "glue:BatchCreatePartition"], GLUE),
            allow("PassGlueJobRole", "iam:PassRole", f"{A}:role/glue-etl-*", Condition={"StringEquals": {"iam:PassedToService": "glue.amazonaws.com"}}))),
    ],
    "workload-boundary": [("v1", "2025-06-02T08:10:12", doc(
        allow("WorkloadServices", ["s3:*", "kms:*", "glue:*", "logs:*", "dynamodb:*", "sqs:*", "cloudwatch:*"]),
        {"Sid": "NoIam", "Effect": "Deny", "Action": "iam:*", "Resource": "*"}))],
    "calendar-tool-access": [
        ("v1", "2026-10-25T15:41:37", doc(allow("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], f"arn:aws:logs:{REGION}:{ACCT}:log-group:/aws/lambda/lambda-tool-calendar:*"),
                                          allow("OAuthSecret", "secretsmanager:GetSecretValue", SECRET + "tools/calendar/oauth-*"))),
        ("v2", "2026-10-26T11:05:48", doc(allow("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], f"arn:aws:logs:{REGION}:{ACCT}:log-group:/aws/lambda/lambda-tool-calendar:*"),
                                          allow("OAuthSecret", "secretsmanager:GetSecretValue", SECRET + "tools/calendar/oauth-*"),
                                          allow("Slots", ["dynamodb:Query", "dynamodb:GetItem"], TABLE + "calendar-slots"))),
    ],
}
SVC = lambda s: trust({"Service": s}, Condition={"StringEquals": {"aws:SourceAccount": ACCT}})  # noqa: E731
AGENT = {"workload-type": "agent"}
# Roles: name -> path, created, trust, managed, inline, boundary, tags, instance profile.
ROLES: dict[str, dict[str, Any]] = {
    "bedrock-agent-support": dict(path="/service-role/", created="2025-11-04T10:12:33", trust=SVC("bedrock.amazonaws.com"),
                                  managed=["AmazonBedrockFullAccess"], tags={**AGENT, "owner": "team-support"},
                                  inline={"support-agent-data": doc(allow("AgentDataAccess", "s3:*"),
                                                                    allow("ConversationTable", "dynamodb:*", [TABLE + "support-conversations", TABLE + "support-conversations/index/*"]))}),
    "lambda-tool-weather": dict(created="2025-11-04T10:20:05", trust=trust({"Service": "lambda.amazonaws.com"}), tags={**AGENT, "owner": "team-support"},
                                inline={"weather-tool": doc(allow("Logs", "logs:*", "arn:aws:logs:*:*:*"), allow("Config", "ssm:*"),
                                                            allow("Secrets", "secretsmanager:GetSecretValue"))}),
    "lambda-tool-ticketing": dict(created="2025-11-04T10:21:44", trust=trust({"Service": "lambda.amazonaws.com"}), tags={**AGENT, "owner": "team-support"},
                                  managed=["AmazonSQSFullAccess", "AmazonDynamoDBFullAccess"],
                                  inline={"ticketing-tool": doc(
                                      allow("Logs", ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], f"arn:aws:logs:{REGION}:{ACCT}:log-group:/aws/lambda/lambda-tool-ticketing:*"),
                                      allow("Notify", "sns:Publish", TOPIC),
                                      allow("SelfUpdate", ["lambda:UpdateFunctionCode", "lambda:GetFunction"]))}),
    "lambda-tool-calendar": dict(created="2026-10-25T15:41:02", trust=trust({"Service": "lambda.amazonaws.com"}), tags={**AGENT, "owner": "team-support"},
                                 managed=["calendar-tool-access"]),
    "ecs-worker-etl": dict(created="2025-06-02T08:16:40", trust=SVC("ecs-tasks.amazonaws.com"), managed=["etl-data-access"], boundary="workload-boundary",
                           tags={"workload-type": "batch", "owner": "team-data"}),
    "ecs-worker-reporting": dict(created="2025-07-21T14:03:18", trust=SVC("ecs-tasks.amazonaws.com"), managed=["etl-data-access"],
                                 tags={"workload-type": "batch", "owner": "team-data"},
                                 inline={"reporting-athena": doc(
                                     allow("Athena", ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                                                      "athena:StopQueryExecution", "athena:GetWorkGroup"], f"arn:aws:athena:{REGION}:{ACCT}:workgroup/reporting"),
                                     allow("Results", ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation"],
                                           ["arn:aws:s3:::athena-results-111122223333", "arn:aws:s3:::athena-results-111122223333/reporting/*"]))}),
    "ci-deploy": dict(created="2025-03-14T09:21:07", managed=["PowerUserAccess"], tags={"workload-type": "ci", "owner": "team-platform"},
                      trust=trust({"Federated": OIDC}, "sts:AssumeRoleWithWebIdentity", Condition={
                          "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                          "StringLike": {"token.actions.githubusercontent.com:sub": "repo:example-org/agents-platform:*"}}),
                      inline={"ci-deploy-iam": doc(allow("PassAnyRole", "iam:PassRole"),
                                                   allow("ManageRolePolicies", ["iam:Put*Policy", "iam:AttachRolePolicy", "iam:GetRole", "iam:GetRolePolicy"]))}),
    "ec2-build-runner": dict(created="2025-03-14T09:25:51", trust=trust({"Service": "ec2.amazonaws.com"}), profile=True, tags={"owner": "team-platform"},
                             inline={"build-runner": doc(allow("Registry", ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]),
                                                         allow("Artifacts", "s3:GetObject", "arn:aws:s3:::ci-artifacts-111122223333/builds/*"))}),
    "agent-shared-runner": dict(created="2026-01-19T16:44:02", managed=["ReadOnlyAccess"], tags={**AGENT, "owner": "team-research"},
                                trust=trust({"AWS": f"arn:aws:iam::{ORCH_ACCT}:role/agent-orchestrator"}, ["sts:AssumeRole", "sts:SetSourceIdentity"]),
                                inline={"bedrock-invoke": doc(allow("InvokeModels", ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                                                                    ["arn:aws:bedrock:*::foundation-model/*", f"arn:aws:bedrock:*:{ACCT}:inference-profile/*"]))}),
    "ops-readonly-dormant": dict(created="2024-02-12T11:30:00", managed=["ReadOnlyAccess"], tags={"owner": "team-ops"},
                                 trust=trust({"AWS": f"{A}:root"}, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
    SSO_ROLE: dict(path="/aws-reserved/sso.amazonaws.com/", created="2024-01-08T09:00:12", managed=["AdministratorAccess"],
                   trust=trust({"Federated": f"{A}:saml-provider/AWSSSO_3f5a7c9e1b2d4f60_DO_NOT_DELETE"}, ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                               Condition={"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}})),
}


def iso(ts: str) -> str:
    return ts + "+00:00"


def policy_arn(name: str) -> str:
    return f"arn:aws:iam::aws:policy/{name}" if name in AWS_MANAGED else f"{A}:policy/{name}"


def created_at(records: list[dict[str, Any]], event_name: str, param: str, value: str) -> str:
    """When the sample's own IAM calls created a role or policy version (so both sides agree)."""
    for rec in records:
        if rec["eventName"] == event_name and (rec["requestParameters"] or {}).get(param) == value:
            return str(rec["eventTime"]).rstrip("Z")
    raise ValueError(f"no {event_name} with {param}={value} in the generated records")


def build_authorization_details(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The JSON `aws iam get-account-authorization-details` prints for this account."""
    calendar, cal_policy = "lambda-tool-calendar", "calendar-tool-access"
    role_table = {**ROLES, calendar: {**ROLES[calendar], "created": created_at(records, "CreateRole", "roleName", calendar)}}
    (v1, _, d1), (v2, _, d2) = CUSTOMER[cal_policy]
    customer = {**CUSTOMER, cal_policy: [(v1, created_at(records, "CreatePolicy", "policyName", cal_policy), d1),
                                         (v2, created_at(records, "CreatePolicyVersion", "policyArn", policy_arn(cal_policy)), d2)]}
    last_used: dict[str, tuple[str, str]] = {}
    for rec in records:  # time-ordered, so the last write wins
        issuer = rec["userIdentity"].get("sessionContext", {}).get("sessionIssuer", {})
        if issuer.get("type") == "Role":
            last_used[issuer["userName"]] = (rec["eventTime"].replace("Z", "+00:00"), rec["awsRegion"])
    attach: dict[str, int] = {}
    roles = []
    for name, r in role_table.items():
        path = r.get("path", "/")
        base = {"Path": path, "RoleName": name, "RoleId": stable_id("AROA", name), "Arn": f"{A}:role{path}{name}",
                "CreateDate": iso(r["created"]), "AssumeRolePolicyDocument": r["trust"]}
        profiles = [{"Path": "/", "InstanceProfileName": name, "InstanceProfileId": stable_id("AIPA", name), "Arn": f"{A}:instance-profile/{name}",
                     "CreateDate": iso(r["created"]), "Roles": [base]}] if r.get("profile") else []
        for m in r.get("managed", []):
            attach[m] = attach.get(m, 0) + 1
        detail = {**base, "InstanceProfileList": profiles,
                  "RolePolicyList": [{"PolicyName": k, "PolicyDocument": v} for k, v in r.get("inline", {}).items()],
                  "AttachedManagedPolicies": [{"PolicyName": m, "PolicyArn": policy_arn(m)} for m in r.get("managed", [])]}
        if r.get("boundary"):
            detail["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": policy_arn(r["boundary"])}
        detail["Tags"] = [{"Key": k, "Value": v} for k, v in r.get("tags", {}).items()]
        used = last_used.get(name)
        detail["RoleLastUsed"] = {"LastUsedDate": used[0], "Region": used[1]} if used else {}
        roles.append(detail)
    attach["AdministratorAccess"] += 1  # the legacy-admins group
    boundaries = {r["boundary"]: 1 for r in ROLES.values() if r.get("boundary")}
    policies = []
    for name, (version, created, updated, document) in AWS_MANAGED.items():
        policies.append({"PolicyName": name, "PolicyId": stable_id("ANPA", name), "Arn": policy_arn(name), "Path": "/", "DefaultVersionId": version,
                         "AttachmentCount": attach.get(name, 0), "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
                         "CreateDate": iso(created), "UpdateDate": iso(updated),
                         "PolicyVersionList": [{"Document": document, "VersionId": version, "IsDefaultVersion": True, "CreateDate": iso(updated)}]})
    for name, versions in customer.items():
        policies.append({"PolicyName": name, "PolicyId": stable_id("ANPA", name), "Arn": policy_arn(name), "Path": "/", "DefaultVersionId": versions[-1][0],
                         "AttachmentCount": attach.get(name, 0), "PermissionsBoundaryUsageCount": boundaries.get(name, 0), "IsAttachable": True,
                         "CreateDate": iso(versions[0][1]), "UpdateDate": iso(versions[-1][1]),
                         "PolicyVersionList": [{"Document": d, "VersionId": v, "IsDefaultVersion": v == versions[-1][0], "CreateDate": iso(c)}
                                               for v, c, d in reversed(versions)]})
    user = PRINCIPALS["legacy"]["name"]
    return {
        "UserDetailList": [{"Path": "/", "UserName": user, "UserId": stable_id("AIDA", user), "Arn": f"{A}:user/{user}", "CreateDate": iso("2019-04-23T07:55:10"),
                            "UserPolicyList": [], "GroupList": ["legacy-admins"], "AttachedManagedPolicies": [],
                            "Tags": [{"Key": "owner", "Value": "team-data"}, {"Key": "purpose", "Value": "nightly export (pre-2020 pipeline)"}]}],
        "GroupDetailList": [{"Path": "/", "GroupName": "legacy-admins", "GroupId": stable_id("AGPA", "legacy-admins"), "Arn": f"{A}:group/legacy-admins",
                             "CreateDate": iso("2019-04-23T07:50:02"), "GroupPolicyList": [],
                             "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": policy_arn("AdministratorAccess")}]}],
        "RoleDetailList": roles,
        "Policies": policies,
    }


GLOBAL_SERVICES = ["iam:*", "organizations:*", "sts:*", "support:*", "cloudfront:*", "route53:*", "budgets:*", "ce:*", "health:*",
                   "account:*", "globalaccelerator:*", "waf:*", "trustedadvisor:*", "aws-portal:*", "s3:ListAllMyBuckets", "s3:GetAccountPublicAccessBlock"]
SCP = doc(
    {"Sid": "FullAWSAccess", "Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Sid": "DenyLeaveOrganization", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"},
    {"Sid": "ProtectCloudTrail", "Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
                                                             "cloudtrail:PutEventSelectors"], "Resource": "*"},
    {"Sid": "DenyOutsideApprovedRegions", "Effect": "Deny", "NotAction": GLOBAL_SERVICES, "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "us-west-2"]}}},
)


def write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=4, ensure_ascii=False) + "\n", encoding="utf-8")


def make_sample(out: Path) -> dict[str, int]:
    """Write the whole sample under `out`; returns records, files and bytes written."""
    rng = random.Random(SEED)
    records = generate(rng)
    trail = out / "AWSLogs" / ACCT / "CloudTrail"
    if trail.exists():  # files of an earlier run would otherwise linger under other names
        shutil.rmtree(trail)
    paths = write_logs(records, out, rng)
    write_json(out / "iam" / "authorization-details.json", build_authorization_details(records))
    write_json(out / "iam" / "scp.json", SCP)
    return {"records": len(records), "files": len(paths), "bytes": sum(p.stat().st_size for p in paths)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "sample_logs")
    args = parser.parse_args()
    stats = make_sample(args.out)
    print(f"{stats['records']} records in {stats['files']} files, {stats['bytes'] / 1e6:.2f} MB gzip, under {args.out}")


if __name__ == "__main__":
    main()
