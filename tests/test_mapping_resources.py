"""The resources a call touched: the `event_touched_resources` macro run directly in
DuckDB on small request parameters, every derived ARN checked against the catalog's ARN
template for its resource type, and every conditional rule's condition checked against
what the macro emits."""

from __future__ import annotations

import json
import re

import pytest
from mapping_helpers import fresh_db

from recommender import db, mapping

ACCT = "111122223333"
RES_TYPE = "STRUCT(arn VARCHAR, type VARCHAR, account_id VARCHAR)[]"


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    c = db.connect(fresh_db(tmp_path_factory.mktemp("res") / "res.duckdb"))
    yield c
    c.close()


def touched_many(con, calls: list[tuple]) -> list[set[tuple]]:
    """The macro's result for many calls in one query (planning the macro costs most of a
    second; running it is cheap). Each call is (source, name, params, resources[, region]);
    values go in as bound parameters and are read as columns, the way ingest calls it."""
    rows = []
    for i, call in enumerate(calls):
        source, name, params, resources = call[:4]
        region = call[4] if len(call) > 4 else "us-east-1"
        rows.append(
            [
                i,
                source,
                name,
                resources or [],
                None if params is None else json.dumps(params),
                ACCT,
                region,
            ]
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE calls (i INTEGER, s VARCHAR, n VARCHAR, r {RES_TYPE}, p JSON, a VARCHAR, g VARCHAR)"
    )
    con.executemany("INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    out = con.execute(
        "SELECT i, event_touched_resources(s, n, r, p, a, g) FROM calls ORDER BY i"
    ).fetchall()
    return [{(item["arn"], item["kind"]) for item in items} for _, items in out]


def touched(
    con, source: str, name: str, params, resources=None, region: str = "us-east-1"
) -> set[tuple]:
    return touched_many(con, [(source, name, params, resources, region)])[0]


# (source, name, params, resources[], expected {(arn, kind)}, {arn: (service, resource type)})
CASES = [
    (
        "s3.amazonaws.com",
        "GetObject",
        {"bucketName": "b1", "key": "dir/k:1.txt"},
        [],
        {
            ("arn:aws:s3:::b1", "AWS::S3::Bucket"),
            ("arn:aws:s3:::b1/dir/k:1.txt", "AWS::S3::Object"),
        },
        {"arn:aws:s3:::b1": ("s3", "bucket"), "arn:aws:s3:::b1/dir/k:1.txt": ("s3", "object")},
    ),
    (
        "s3.amazonaws.com",
        "CopyObject",
        {"bucketName": "dst", "key": "out", "x-amz-copy-source": "/src/a%2Fb.txt?versionId=abc"},
        [{"arn": "arn:aws:s3:::src/a/b.txt", "type": "AWS::S3::Object", "account_id": None}],
        {
            ("arn:aws:s3:::dst", "AWS::S3::Bucket"),
            ("arn:aws:s3:::dst/out", "AWS::S3::Object"),
            ("arn:aws:s3:::src/a/b.txt", "copy_source"),
        },
        {"arn:aws:s3:::src/a/b.txt": ("s3", "object")},
    ),
    (
        "s3.amazonaws.com",
        "GetObject",
        {"bucketName": "b1", "key": "k", "versionId": "v2"},
        [],
        {
            ("arn:aws:s3:::b1", "AWS::S3::Bucket"),
            ("arn:aws:s3:::b1/k", "AWS::S3::Object"),
            ("arn:aws:s3:::b1/k", "object_version"),
        },
        {},
    ),
    (
        "lambda.amazonaws.com",
        "Invoke",
        {"functionName": "summarize"},
        [],
        {(f"arn:aws:lambda:us-east-1:{ACCT}:function:summarize", "AWS::Lambda::Function")},
        {f"arn:aws:lambda:us-east-1:{ACCT}:function:summarize": ("lambda", "function")},
    ),
    (
        "lambda.amazonaws.com",
        "GetFunction20150331v2",
        {"functionName": f"{ACCT}:function:f", "qualifier": "live"},
        [],
        {(f"arn:aws:lambda:us-east-1:{ACCT}:function:f:live", "AWS::Lambda::Function")},
        {f"arn:aws:lambda:us-east-1:{ACCT}:function:f:live": ("lambda", "function alias")},
    ),
    (
        "lambda.amazonaws.com",
        "Invoke",
        {"functionName": f"arn:aws:lambda:eu-west-1:{ACCT}:function:f:3"},
        [],
        {(f"arn:aws:lambda:eu-west-1:{ACCT}:function:f:3", "AWS::Lambda::Function")},
        {},
    ),
    (
        "dynamodb.amazonaws.com",
        "GetItem",
        {"tableName": "orders", "key": {"id": {"S": "1"}}},
        [],
        {(f"arn:aws:dynamodb:us-east-1:{ACCT}:table/orders", "AWS::DynamoDB::Table")},
        {f"arn:aws:dynamodb:us-east-1:{ACCT}:table/orders": ("dynamodb", "table")},
    ),
    (
        "dynamodb.amazonaws.com",
        "TransactWriteItems",
        {
            "requestItems": [
                {"operation": "Put", "tableName": "a"},
                {"operation": "Update", "TableName": "b"},
                {"operation": "Delete", "tableName": "c"},
                {"operation": "ConditionCheck", "tableName": "d"},
            ]
        },
        [],
        {
            (f"arn:aws:dynamodb:us-east-1:{ACCT}:table/a", "dynamodb_put"),
            (f"arn:aws:dynamodb:us-east-1:{ACCT}:table/b", "dynamodb_update"),
            (f"arn:aws:dynamodb:us-east-1:{ACCT}:table/c", "dynamodb_delete"),
            (f"arn:aws:dynamodb:us-east-1:{ACCT}:table/d", "dynamodb_condition_check"),
        },
        {},
    ),
    (
        "dynamodb.amazonaws.com",
        "BatchWriteItem",
        {"requestItems": {"t1": [{"putRequest": {}}], "t2": []}},
        [],
        {
            (f"arn:aws:dynamodb:us-east-1:{ACCT}:table/t1", "AWS::DynamoDB::Table"),
            (f"arn:aws:dynamodb:us-east-1:{ACCT}:table/t2", "AWS::DynamoDB::Table"),
        },
        {},
    ),
    (
        "dynamodb.amazonaws.com",
        "ExecuteStatement",
        {"statement": "  update Music SET x = 1"},
        [
            {
                "arn": f"arn:aws:dynamodb:us-east-1:{ACCT}:table/Music",
                "type": "AWS::DynamoDB::Table",
                "account_id": ACCT,
            }
        ],
        {
            (f"arn:aws:dynamodb:us-east-1:{ACCT}:table/Music", "AWS::DynamoDB::Table"),
            (f"arn:aws:dynamodb:us-east-1:{ACCT}:table/Music", "partiql_update"),
        },
        {},
    ),
    (
        "sqs.amazonaws.com",
        "SendMessage",
        {"queueUrl": f"https://sqs.eu-west-1.amazonaws.com/{ACCT}/jobs"},
        [],
        {(f"arn:aws:sqs:eu-west-1:{ACCT}:jobs", "AWS::SQS::Queue")},
        {f"arn:aws:sqs:eu-west-1:{ACCT}:jobs": ("sqs", "queue")},
    ),
    (
        "sqs.amazonaws.com",
        "ReceiveMessage",
        {"queueUrl": f"https://queue.amazonaws.com/{ACCT}/legacy"},
        [],
        {(f"arn:aws:sqs:us-east-1:{ACCT}:legacy", "AWS::SQS::Queue")},
        {},
    ),
    (
        "sns.amazonaws.com",
        "Publish",
        {"topicArn": f"arn:aws:sns:us-east-1:{ACCT}:alerts"},
        [],
        {(f"arn:aws:sns:us-east-1:{ACCT}:alerts", "AWS::SNS::Topic")},
        {f"arn:aws:sns:us-east-1:{ACCT}:alerts": ("sns", "topic")},
    ),
    (
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        {"secretId": "prod/db"},
        [],
        {(f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db-*", "secret_name")},
        {f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db-*": ("secretsmanager", "Secret")},
    ),
    (
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        {"secretId": f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:x-AbCdEf"},
        [],
        {
            (
                f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:x-AbCdEf",
                "AWS::SecretsManager::Secret",
            )
        },
        {},
    ),
    (
        "kms.amazonaws.com",
        "Decrypt",
        {"keyId": "alias/app"},
        [],
        {(f"arn:aws:kms:us-east-1:{ACCT}:alias/app", "AWS::KMS::Alias")},
        {f"arn:aws:kms:us-east-1:{ACCT}:alias/app": ("kms", "alias")},
    ),
    (
        "kms.amazonaws.com",
        "GenerateDataKey",
        {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"},
        [],
        {
            (
                f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "AWS::KMS::Key",
            )
        },
        {f"arn:aws:kms:us-east-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab": ("kms", "key")},
    ),
    (
        "bedrock.amazonaws.com",
        "InvokeModel",
        {"modelId": "anthropic.claude-3-sonnet-20240229-v1:0"},
        [],
        {
            (
                "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0",
                "AWS::Bedrock::FoundationModel",
            )
        },
        {
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-sonnet-20240229-v1:0": (
                "bedrock",
                "foundation-model",
            )
        },
    ),
    (
        "bedrock.amazonaws.com",
        "Converse",
        {"modelId": "us.anthropic.claude-3-haiku-20240307-v1:0"},
        [],
        {
            (
                f"arn:aws:bedrock:us-east-1:{ACCT}:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
                "AWS::Bedrock::InferenceProfile",
            ),
            # IAM also checks the model the profile routes to, in whichever region serves it
            (
                "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
                "AWS::Bedrock::FoundationModel",
            ),
        },
        {
            f"arn:aws:bedrock:us-east-1:{ACCT}:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0": (
                "bedrock",
                "inference-profile",
            ),
            "arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku-20240307-v1:0": (
                "bedrock",
                "foundation-model",
            ),
        },
    ),
    (
        "bedrock.amazonaws.com",
        "InvokeAgent",
        {"agentId": "AG1", "agentAliasId": "AL1"},
        [],
        {
            (f"arn:aws:bedrock:us-east-1:{ACCT}:agent/AG1", "AWS::Bedrock::Agent"),
            (f"arn:aws:bedrock:us-east-1:{ACCT}:agent-alias/AG1/AL1", "AWS::Bedrock::AgentAlias"),
        },
        {
            f"arn:aws:bedrock:us-east-1:{ACCT}:agent/AG1": ("bedrock", "agent"),
            f"arn:aws:bedrock:us-east-1:{ACCT}:agent-alias/AG1/AL1": ("bedrock", "agent-alias"),
        },
    ),
    (
        "bedrock.amazonaws.com",
        "Retrieve",
        {"knowledgeBaseId": "KB1"},
        [],
        {(f"arn:aws:bedrock:us-east-1:{ACCT}:knowledge-base/KB1", "AWS::Bedrock::KnowledgeBase")},
        {f"arn:aws:bedrock:us-east-1:{ACCT}:knowledge-base/KB1": ("bedrock", "knowledge-base")},
    ),
    (
        "iam.amazonaws.com",
        "GetRole",
        {"roleName": "agent"},
        [],
        {(f"arn:aws:iam::{ACCT}:role/agent", "role_name")},
        {f"arn:aws:iam::{ACCT}:role/agent": ("iam", "role")},
    ),
    (
        "iam.amazonaws.com",
        "CreateRole",
        {"roleName": "r", "path": "/service-role/"},
        [],
        {(f"arn:aws:iam::{ACCT}:role/service-role/r", "AWS::IAM::Role")},
        {f"arn:aws:iam::{ACCT}:role/service-role/r": ("iam", "role")},
    ),
    (
        "iam.amazonaws.com",
        "AttachRolePolicy",
        {"roleName": "r", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        [],
        {
            (f"arn:aws:iam::{ACCT}:role/r", "role_name"),
            ("arn:aws:iam::aws:policy/ReadOnlyAccess", "AWS::IAM::Policy"),
        },
        {"arn:aws:iam::aws:policy/ReadOnlyAccess": ("iam", "policy")},
    ),
    (
        "sts.amazonaws.com",
        "AssumeRole",
        {"roleArn": f"arn:aws:iam::{ACCT}:role/x", "roleSessionName": "s"},
        [],
        {(f"arn:aws:iam::{ACCT}:role/x", "AWS::IAM::Role")},
        {f"arn:aws:iam::{ACCT}:role/x": ("sts", "role")},
    ),
    (
        "ssm.amazonaws.com",
        "GetParameters",
        {"names": ["/app/a", "b"]},
        [],
        {
            (f"arn:aws:ssm:us-east-1:{ACCT}:parameter/app/a", "AWS::SSM::Parameter"),
            (f"arn:aws:ssm:us-east-1:{ACCT}:parameter/b", "AWS::SSM::Parameter"),
        },
        {f"arn:aws:ssm:us-east-1:{ACCT}:parameter/app/a": ("ssm", "parameter")},
    ),
    (
        "ec2.amazonaws.com",
        "RunInstances",
        {"iamInstanceProfile": {"name": "worker"}},
        [],
        {(f"arn:aws:iam::{ACCT}:instance-profile/worker", "passed_role_profile")},
        {f"arn:aws:iam::{ACCT}:instance-profile/worker": ("iam", "instance-profile")},
    ),
    (
        "cloudformation.amazonaws.com",
        "CreateStack",
        {"stackName": "s", "roleARN": f"arn:aws:iam::{ACCT}:role/cfn"},
        [],
        {(f"arn:aws:iam::{ACCT}:role/cfn", "passed_role")},
        {f"arn:aws:iam::{ACCT}:role/cfn": ("iam", "role")},
    ),
    (
        "glue.amazonaws.com",
        "CreateJob",
        {"name": "j", "role": "glue-role"},
        [],
        {(f"arn:aws:iam::{ACCT}:role/glue-role", "passed_role")},
        {},
    ),
    (
        "ec2.amazonaws.com",
        "CreateVolume",
        {"size": 8, "tagSpecificationSet": {"items": []}},
        [],
        {(None, "tag_on_create")},
        {},
    ),
    (
        "s3.amazonaws.com",
        "GetObject",
        {"bucketName": "b1", "key": "k"},
        [],
        set(),
        {},
    ),  # replaced below
]
CASES[-1] = ("s3.amazonaws.com", "GetObject", None, [], set(), {})  # no request parameters at all


@pytest.fixture(scope="module")
def case_results(con) -> list[set[tuple]]:
    return touched_many(con, [c[:4] for c in CASES])


@pytest.mark.parametrize(
    "index",
    range(len(CASES)),
    ids=[f"{c[0].split('.')[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)],
)
def test_derived_resources(case_results, index: int) -> None:
    assert case_results[index] == CASES[index][4]


def test_derived_arns_fit_their_catalog_templates(con) -> None:
    checked = 0
    for _source, _name, _params, _res, _expected, types in CASES:
        for arn, (service, rtype) in types.items():
            row = con.execute(
                "SELECT arn_template FROM catalog_resource_types WHERE service = ? AND resource_type = ?",
                [service, rtype],
            ).fetchone()
            assert row, (service, rtype)
            assert re.match(mapping.template_regex(row[0]), arn), (arn, row[0])
            checked += 1
    assert checked >= 20


def test_partition_dedupe_and_hostile_strings(con) -> None:
    listed = [
        {"arn": "arn:aws:s3:::b1", "type": "AWS::S3::Bucket", "account_id": ACCT},
        {"arn": "arn:aws:s3:::b1", "type": "AWS::S3::Bucket", "account_id": ACCT},
        {"arn": "", "type": "AWS::S3::Object", "account_id": None},
    ]
    key = 'x\'); DROP TABLE events; --<script>alert("1")</script>'
    got = touched_many(
        con,
        [
            ("s3.amazonaws.com", "GetObject", {"bucketName": "b"}, [], "cn-north-1"),
            ("sqs.amazonaws.com", "SendMessage", {"queueName": "q"}, [], "us-gov-west-1"),
            ("s3.amazonaws.com", "ListObjects", {"bucketName": "b1"}, listed),
            ("example.amazonaws.com", "Foo", {"bucketName": "b1"}, listed[:1]),
            ("s3.amazonaws.com", "GetObject", {"bucketName": "b", "key": key}, []),
            ("lambda.amazonaws.com", "Invoke", {"functionName": "a'b"}, []),
        ],
    )
    assert got[0] == {("arn:aws-cn:s3:::b", "AWS::S3::Bucket")}
    assert got[1] == {(f"arn:aws-us-gov:sqs:us-gov-west-1:{ACCT}:q", "AWS::SQS::Queue")}
    assert got[2] == {
        ("arn:aws:s3:::b1", "AWS::S3::Bucket")
    }  # listed twice, derived once: one entry
    assert got[3] == {
        ("arn:aws:s3:::b1", "AWS::S3::Bucket")
    }  # unknown service: CloudTrail's list only
    assert got[4] == {
        ("arn:aws:s3:::b", "AWS::S3::Bucket"),
        (f"arn:aws:s3:::b/{key}", "AWS::S3::Object"),
    }
    assert got[5] == {(f"arn:aws:lambda:us-east-1:{ACCT}:function:a'b", "AWS::Lambda::Function")}
    assert con.execute("SELECT count(*) FROM catalog_actions").fetchone()[0] > 10000


def _example_params(path: str, value: str) -> dict:
    """Request parameters in which a simple JSON path ($.a.b) is present."""
    keys = path.removeprefix("$.").split(".")
    doc: dict = {}
    node = doc
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return doc


# Conditions written as JSONPath filters cannot be built from the path: one example each.
FILTER_EXAMPLES = {
    ("dynamodb.amazonaws.com", "TransactWriteItems", "dynamodb_put"): {
        "requestItems": [{"operation": "Put", "tableName": "t"}]
    },
    ("dynamodb.amazonaws.com", "TransactWriteItems", "dynamodb_update"): {
        "requestItems": [{"operation": "Update", "tableName": "t"}]
    },
    ("dynamodb.amazonaws.com", "TransactWriteItems", "dynamodb_delete"): {
        "requestItems": [{"operation": "Delete", "tableName": "t"}]
    },
    ("dynamodb.amazonaws.com", "TransactWriteItems", "dynamodb_condition_check"): {
        "requestItems": [{"operation": "ConditionCheck", "tableName": "t"}]
    },
}


def test_every_conditional_rule_is_honoured_by_ingest(con) -> None:
    """For each rule with when_param, a request meeting the condition makes the macro emit
    the rule's resource_kind, and a request without it does not."""
    cases = []
    for rule in mapping.read_rules():
        if not rule["when_param"]:
            continue
        source, name, kind, path = (
            rule["event_source"],
            rule["event_name"],
            rule["resource_kind"],
            rule["when_param"],
        )
        name = "AnyCall" if name == "*" else name
        if (source, name, kind) in FILTER_EXAMPLES:
            params = FILTER_EXAMPLES[(source, name, kind)]
        elif kind.startswith("partiql_"):
            params = {"statement": f"{kind.split('_')[1].upper()} * FROM t"}
        elif re.fullmatch(r"\$(\.[A-Za-z0-9_-]+)+", path):
            value = f"arn:aws:iam::{ACCT}:role/passed" if "passed_role" in kind else "v"
            params = _example_params(path, value)
            if source == "s3.amazonaws.com":
                params.update({"bucketName": "b", "key": "k"})
        else:
            pytest.fail(f"no example for condition {path!r} of {source} {name}")
        cases.append((source, name, kind, path, params))
    with_condition = touched_many(con, [(s, n, p, []) for s, n, _, _, p in cases])
    without = touched_many(con, [(s, n, {"unrelated": 1}, []) for s, n, _, _, _ in cases])
    for (source, name, kind, path, _), met, unmet in zip(cases, with_condition, without):
        assert kind in {k for _, k in met}, (source, name, path, met)
        assert kind not in {k for _, k in unmet}, (source, name)
    assert len(cases) >= 50


def test_request_sources_cover_every_source_the_derivation_reads(con) -> None:
    """usage_daily_rows groups calls without their request unless er_reads_request says the
    derivation reads it: a service named anywhere in the derivation but missing from
    er_request_sources would silently lose its derived resources."""
    text = db.load_sql("schema/05_event_resources")
    body = text[: text.index("CREATE OR REPLACE MACRO er_request_sources")] + text[
        text.index("CREATE OR REPLACE MACRO er_reads_request") :
    ]
    named = set(re.findall(r"src = '([a-z0-9.-]+)'", body))
    named |= set(re.findall(r"'s': '([a-z0-9.-]+)'", body))
    assert {"s3.amazonaws.com", "lambda.amazonaws.com", "glue.amazonaws.com"} <= named
    listed = set(con.execute("SELECT er_request_sources()").fetchone()[0])
    assert named <= listed, sorted(named - listed)
    for source, _name, *_ in CASES:
        assert con.execute("SELECT er_reads_request(?)", [source]).fetchone()[0] == (source in listed)


def test_calls_of_other_services_derive_nothing_from_their_request(con) -> None:
    """For a service outside er_request_sources the derivation gives the same with and
    without the request, so dropping it from the group key changes no usage row."""
    listed = set(con.execute("SELECT er_request_sources()").fetchone()[0])
    params = {"bucketName": "b", "key": "k", "roleArn": f"arn:aws:iam::{ACCT}:role/r",
              "functionName": "f", "tableName": "t", "keyId": "k1", "name": "n",
              "tagSpecificationSet": {"items": []}, "role": f"arn:aws:iam::{ACCT}:role/r"}
    resources = [{"arn": "arn:aws:s3:::b", "type": "AWS::S3::Bucket", "account_id": ACCT}]
    calls = [(source, "CreateFunction", params, resources)
             for source in ("cloudwatch.amazonaws.com", "athena.amazonaws.com", "ecr.amazonaws.com",
                            "organizations.amazonaws.com", "signin.amazonaws.com")]
    assert not {c[0] for c in calls} & listed
    with_request = touched_many(con, calls)
    without = touched_many(con, [(s, n, None, r) for s, n, _p, r in calls])
    assert with_request == without == [{("arn:aws:s3:::b", "AWS::S3::Bucket")}] * len(calls)


S3_BUCKET = {"arn": "arn:aws:s3:::b1", "type": "AWS::S3::Bucket", "account_id": ACCT}
S3_OBJECT = {"arn": "arn:aws:s3:::b1/k", "type": "AWS::S3::Object", "account_id": None}
DDB_TABLE = {"arn": f"arn:aws:dynamodb:us-east-1:{ACCT}:table/t", "type": "AWS::DynamoDB::Table",
             "account_id": ACCT}
KMS_KEY = {"arn": f"arn:aws:kms:us-east-1:{ACCT}:key/k1", "type": "AWS::KMS::Key", "account_id": ACCT}

# Calls aimed at usage_from_calls' shortcuts (S3 without version or copy source, requests
# reduced to the fields read for DynamoDB and KMS, no request at all), next to the calls
# that must not take them.
SHORTCUT_CALLS = [
    ("s3.amazonaws.com", "GetObject", {"bucketName": "b1", "key": "k"}, [S3_OBJECT, S3_BUCKET]),
    ("s3.amazonaws.com", "GetObject", {"bucketName": "b1", "key": "k"}, [S3_OBJECT, S3_BUCKET, S3_OBJECT]),
    ("s3.amazonaws.com", "GetObject", {"bucketName": "b1", "key": "other"}, [S3_OBJECT, S3_BUCKET]),
    ("s3.amazonaws.com", "GetObject", {"bucketName": "b1", "key": "k", "Key": "K2"}, []),
    ("s3.amazonaws.com", "GetObject", {"bucketName": "b1", "key": {"not": "a string"}}, []),
    ("s3.amazonaws.com", "GetObject", {"bucketName": "", "key": "k"}, [S3_BUCKET]),
    ("s3.amazonaws.com", "GetObject", {"bucketName": "b1", "key": "k", "VersionId": "v1"}, [S3_OBJECT]),
    ("s3.amazonaws.com", "GetObject", {"bucketName": "b1", "key": "k", "versionId": ""}, [S3_OBJECT]),
    ("s3.amazonaws.com", "CopyObject", {"bucketName": "b1", "key": "k", "x-amz-copy-source": "b1/k"},
     [S3_OBJECT, S3_BUCKET]),
    ("s3.amazonaws.com", "ListBuckets", {"Host": "s3.amazonaws.com"}, []),
    ("s3.amazonaws.com", "GetObject", None, [S3_OBJECT, S3_OBJECT, S3_BUCKET]),
    ("dynamodb.amazonaws.com", "GetItem", {"tableName": "t", "key": {"pk": {"S": "1"}}}, [DDB_TABLE]),
    ("dynamodb.amazonaws.com", "GetItem", {"TableName": "t2", "key": {"pk": {"S": "2"}}}, []),
    ("dynamodb.amazonaws.com", "GetItem", {"tableName": "", "TableName": "t3"}, []),
    ("dynamodb.amazonaws.com", "Query", {"tableName": f"arn:aws:dynamodb:us-east-1:{ACCT}:table/t"}, []),
    ("dynamodb.amazonaws.com", "BatchGetItem", {"requestItems": {"t": {"keys": []}, "u": {}}}, []),
    ("dynamodb.amazonaws.com", "TransactWriteItems",
     {"requestItems": [{"operation": "Put", "tableName": "t"}, {"operation": "Delete", "TableName": "u"}]}, []),
    ("dynamodb.amazonaws.com", "ExecuteStatement", {"statement": "DELETE FROM t WHERE pk = 1"}, [DDB_TABLE]),
    ("dynamodb.amazonaws.com", "ExecuteTransaction",
     {"transactStatements": [{"statement": "UPDATE t SET a = 1"}]}, [DDB_TABLE]),
    ("dynamodb.amazonaws.com", "GetItem", {"requestItems": None, "key": {}}, [DDB_TABLE]),
    ("dynamodb.amazonaws.com", "DescribeLimits", {}, []),
    ("kms.amazonaws.com", "Decrypt", {"encryptionContext": {"a": "1"}}, [KMS_KEY]),
    ("kms.amazonaws.com", "Decrypt", {"keyId": "alias/app"}, [KMS_KEY]),
    ("kms.amazonaws.com", "Encrypt", {"keyId": f"arn:aws:kms:us-east-1:{ACCT}:key/k1"}, [KMS_KEY]),
    ("kms.amazonaws.com", "ReEncrypt", {"sourceKeyId": "k1", "destinationKeyId": "alias/b"}, [KMS_KEY]),
    ("kms.amazonaws.com", "CreateAlias", {"aliasName": "alias/x", "targetKeyId": "k9"}, []),
    ("athena.amazonaws.com", "StartQueryExecution", {"bucketName": "b1"}, [S3_BUCKET, S3_BUCKET]),
]


def test_usage_daily_rows_give_what_the_per_call_macro_gives(con) -> None:
    """usage_daily_rows (the set-wise path ingest uses, with its shortcuts and reduced
    request keys) must give each call exactly the resources the per-call macro gives.
    Every call gets a caller of its own; each is stored twice, so its calls count 2."""
    calls = [c[:4] for c in CASES] + SHORTCUT_CALLS
    expected = touched_many(con, calls)
    rows = []
    for i, (source, name, params, resources) in enumerate(calls):
        request = None if params is None else json.dumps(params)
        for copy in range(2):
            rows.append([f"caller-{i}", ACCT, source, name, resources or [], request,
                         f"2026-11-0{1 + copy} 10:00:00"])
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE some_events (principal_arn VARCHAR, recipient_account_id VARCHAR,
            event_source VARCHAR, event_name VARCHAR, resources {RES_TYPE}, request_parameters JSON,
            event_time TIMESTAMP, principal_account_id VARCHAR, error_code VARCHAR, aws_region VARCHAR)"""
    )
    con.executemany(
        "INSERT INTO some_events VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, 'us-east-1')", rows
    )
    got: dict[int, set[tuple]] = {i: set() for i in range(len(calls))}
    calls_seen: dict[int, int] = {i: 0 for i in range(len(calls))}
    for caller, arn, kind, n in con.execute(
        "SELECT principal_arn, resource_arn, resource_kind, sum(calls)::INTEGER"
        " FROM usage_daily_rows('some_events') GROUP BY ALL"
    ).fetchall():
        i = int(caller.split("-")[1])
        if arn is not None or kind is not None:
            got[i].add((arn, kind))
        calls_seen[i] += n
    for i, call in enumerate(calls):
        assert got[i] == expected[i], call
        # two calls per resource, or two with no resource
        assert calls_seen[i] == 2 * max(1, len(expected[i])), call
    assert len(calls) > 50


def test_dynamodb_and_kms_calls_group_by_the_fields_read(con) -> None:
    """Item keys and encryption contexts do not split a table's or a key's calls: the
    request key keeps only what the derivation reads."""
    key = con.execute(
        "SELECT er_request_key('dynamodb.amazonaws.com', ?::JSON), er_request_key('dynamodb.amazonaws.com', ?::JSON),"
        " er_request_key('kms.amazonaws.com', ?::JSON), er_request_key('kms.amazonaws.com', ?::JSON),"
        " er_request_key('athena.amazonaws.com', ?::JSON), er_request_key('lambda.amazonaws.com', ?::JSON)",
        [json.dumps({"tableName": "t", "key": {"pk": {"S": "1"}}}),
         json.dumps({"tableName": "t", "key": {"pk": {"S": "2"}}, "consistentRead": True}),
         json.dumps({"encryptionContext": {"a": "1"}}),
         json.dumps({"keyId": "alias/app", "encryptionContext": {"a": "2"}}),
         json.dumps({"queryString": "SELECT 1"}),
         json.dumps({"functionName": "f"})],
    ).fetchone()
    assert key[0] == key[1] and json.loads(key[0])["tableName"] == "t"
    assert key[2] is None  # nothing KMS derives from: CloudTrail's resources[] alone
    assert json.loads(key[3])["keyId"] == "alias/app"
    assert key[4] is None
    assert json.loads(key[5]) == {"functionName": "f"}
