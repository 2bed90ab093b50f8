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
