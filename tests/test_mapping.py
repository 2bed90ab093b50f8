"""The event-to-action rules: data checks, the tricky mappings, observed_actions over a
real ingest of a small fixture, and the `recommender map` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from mapping_helpers import fresh_db

from recommender import db, mapping
from recommender.cli import main
from recommender.ingest import ingest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "mapping"
TRAIL = FIXTURES / "111122223333_CloudTrail_us-east-1_20260301T1000Z_mapping.json"
ROLE = "arn:aws:iam::111122223333:role/service-role/agent-role"


@pytest.fixture(scope="module")
def rules_db(tmp_path_factory: pytest.TempPathFactory):
    """A database with the catalog and the rules loaded but no calls."""
    con = db.connect(fresh_db(tmp_path_factory.mktemp("rules") / "rules.duckdb"))
    yield con
    con.close()


@pytest.fixture(scope="module")
def trail_db(tmp_path_factory: pytest.TempPathFactory):
    """The fixture trail ingested for real, rules refreshed."""
    path = fresh_db(tmp_path_factory.mktemp("trail") / "trail.duckdb")
    con = db.connect(path)
    ingest(con, [TRAIL])
    summary = mapping.refresh_rules(con)
    yield con, summary, path
    con.close()


def _actions(con, source: str, name: str) -> dict[str, dict]:
    return {
        (r["action"] or "-") + "|" + (r["resource_kind"] or ""): r
        for r in mapping.actions_for(con, source, name)["rules"]
    }


# ---- rules as data ------------------------------------------------------------------


def test_every_rule_action_exists_in_the_catalog(rules_db) -> None:
    missing = rules_db.execute(
        """SELECT DISTINCT b.action FROM mapping_builtin_rules b
           LEFT JOIN catalog_actions c ON c.action = b.action
           WHERE b.action IS NOT NULL AND c.action IS NULL"""
    ).fetchall()
    assert missing == []
    assert (
        rules_db.execute(
            "SELECT count(*) FROM mapping_builtin_rules WHERE origin = 'csv'"
        ).fetchone()[0]
        > 100
    )


def test_every_explicit_rule_cites_an_aws_page() -> None:
    for row in mapping.read_rules():
        assert re.match(r"^https://docs\.aws\.amazon\.com/\S+$", row["citation"]), row


def test_every_resource_kind_a_rule_names_is_documented() -> None:
    kinds = {k["kind"] for k in mapping.read_resource_kinds()}
    for row in mapping.read_rules():
        if row["resource_kind"]:
            assert row["resource_kind"] in kinds, row


def test_rule_rows_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = "event_source,event_name,action,resource_kind,when_param,rule,citation,note\ns3.amazonaws.com,X,s3:GetObject,,,invented,,\n"
    monkeypatch.setattr(mapping, "_data_file", lambda name: bad)
    with pytest.raises(mapping.RecommenderError, match="line 2: rule 'invented'"):
        mapping.read_rules()


# ---- event source -> prefix ---------------------------------------------------------


@pytest.mark.parametrize(
    "source,prefix",
    [
        ("monitoring.amazonaws.com", "cloudwatch"),
        ("email.amazonaws.com", "ses"),
        ("s3.amazonaws.com", "s3"),
        ("bedrock.amazonaws.com", "bedrock"),
        ("bedrock-runtime.amazonaws.com", "bedrock"),
        ("sagemaker.amazonaws.com", "sagemaker"),
        ("ecr.amazonaws.com", "ecr"),
        ("servicecatalog-appregistry.amazonaws.com", "servicecatalog"),
        ("pinpoint.amazonaws.com", "mobiletargeting"),
        ("signin.amazonaws.com", "signin"),
    ],
)
def test_event_source_prefix(rules_db, source: str, prefix: str) -> None:
    row = rules_db.execute(
        "SELECT prefix FROM event_source_prefixes WHERE event_source = ?", [source]
    ).fetchone()
    assert row == (prefix,)


def test_override_beats_botocore() -> None:
    rows = {
        r["event_source"]: r
        for r in mapping.derive_source_prefixes({"cloudwatch", "monitoring", "s3"})
    }
    assert rows["monitoring.amazonaws.com"]["prefix"] == "cloudwatch"
    assert rows["monitoring.amazonaws.com"]["origin"] == "override"


# ---- event name -> actions ----------------------------------------------------------


@pytest.mark.parametrize(
    "source,name,expected,rule",
    [
        ("s3.amazonaws.com", "ListObjects", {"s3:ListBucket"}, "renamed"),
        ("s3.amazonaws.com", "ListObjectsV2", {"s3:ListBucket"}, "renamed"),
        ("s3.amazonaws.com", "HeadBucket", {"s3:ListBucket"}, "renamed"),
        ("s3.amazonaws.com", "ListObjectVersions", {"s3:ListBucketVersions"}, "renamed"),
        ("s3.amazonaws.com", "ListBuckets", {"s3:ListAllMyBuckets"}, "renamed"),
        ("s3.amazonaws.com", "HeadObject", {"s3:GetObject", "s3:GetObjectVersion"}, "renamed"),
        ("s3.amazonaws.com", "GetBucketLifecycle", {"s3:GetLifecycleConfiguration"}, "renamed"),
        ("s3.amazonaws.com", "PutBucketLifecycle", {"s3:PutLifecycleConfiguration"}, "renamed"),
        ("s3.amazonaws.com", "GetBucketPolicyStatus", {"s3:GetBucketPolicyStatus"}, "same_name"),
        ("s3.amazonaws.com", "DeleteObjects", {"s3:DeleteObject"}, "renamed"),
        ("s3.amazonaws.com", "CreateMultipartUpload", {"s3:PutObject"}, "renamed"),
        ("s3.amazonaws.com", "UploadPart", {"s3:PutObject"}, "renamed"),
        ("s3.amazonaws.com", "CompleteMultipartUpload", {"s3:PutObject"}, "renamed"),
        (
            "s3.amazonaws.com",
            "GetObjectAttributes",
            {"s3:GetObject", "s3:GetObjectAttributes"},
            "multi_action",
        ),
        ("s3.amazonaws.com", "CopyObject", {"s3:GetObject", "s3:PutObject"}, "multi_action"),
        ("s3.amazonaws.com", "UploadPartCopy", {"s3:GetObject", "s3:PutObject"}, "multi_action"),
        (
            "kms.amazonaws.com",
            "ReEncrypt",
            {"kms:ReEncryptFrom", "kms:ReEncryptTo"},
            "multi_action",
        ),
        (
            "dynamodb.amazonaws.com",
            "TransactWriteItems",
            {
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:ConditionCheckItem",
            },
            "multi_action",
        ),
        ("dynamodb.amazonaws.com", "TransactGetItems", {"dynamodb:GetItem"}, "renamed"),
        ("dynamodb.amazonaws.com", "BatchWriteItem", {"dynamodb:BatchWriteItem"}, "same_name"),
        ("sqs.amazonaws.com", "SendMessageBatch", {"sqs:SendMessage"}, "renamed"),
        ("sqs.amazonaws.com", "DeleteMessageBatch", {"sqs:DeleteMessage"}, "renamed"),
        ("bedrock.amazonaws.com", "Converse", {"bedrock:InvokeModel"}, "renamed"),
        (
            "bedrock.amazonaws.com",
            "ConverseStream",
            {"bedrock:InvokeModelWithResponseStream"},
            "renamed",
        ),
        (
            "bedrock.amazonaws.com",
            "InvokeModelWithResponseStream",
            {"bedrock:InvokeModelWithResponseStream"},
            "same_name",
        ),
        (
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            {"lambda:UpdateFunctionConfiguration", "iam:PassRole"},
            "version_suffix",
        ),
        (
            "lambda.amazonaws.com",
            "ListFunctions20150331",
            {"lambda:ListFunctions"},
            "version_suffix",
        ),
        ("lambda.amazonaws.com", "Invoke", {"lambda:InvokeFunction"}, "renamed"),
        (
            "ec2.amazonaws.com",
            "RunInstances",
            {"ec2:RunInstances", "ec2:CreateTags", "iam:PassRole"},
            "same_name",
        ),
        (
            "cloudformation.amazonaws.com",
            "CreateStack",
            {"cloudformation:CreateStack", "iam:PassRole"},
            "same_name",
        ),
        ("monitoring.amazonaws.com", "GetMetricData", {"cloudwatch:GetMetricData"}, "same_name"),
        (
            "ec2-instance-connect.amazonaws.com",
            "SendSSHPublicKey ",
            {"ec2-instance-connect:SendSSHPublicKey"},
            "same_name",
        ),
        ("apigateway.amazonaws.com", "CreateStage", {"apigateway:POST"}, "http_verb"),
        ("apigateway.amazonaws.com", "GetResource", {"apigateway:GET"}, "http_verb"),
        (
            "secretsmanager.amazonaws.com",
            "BatchGetSecretValue",
            {
                "secretsmanager:BatchGetSecretValue",
                "secretsmanager:GetSecretValue",
                "secretsmanager:ListSecrets",
            },
            "multi_action",
        ),
    ],
)
def test_tricky_mappings(rules_db, source: str, name: str, expected: set[str], rule: str) -> None:
    result = mapping.actions_for(rules_db, source, name)
    assert set(result["actions"]) == expected
    assert result["rule"] == rule
    for r in result["rules"]:
        if r["rule"] != "same_name":
            assert r["citation"], r


@pytest.mark.parametrize(
    "source,name",
    [
        ("sts.amazonaws.com", "GetCallerIdentity"),
        ("sts.amazonaws.com", "AssumeRoleWithWebIdentity"),
        ("sts.amazonaws.com", "AssumeRoleWithSAML"),
        ("signin.amazonaws.com", "ConsoleLogin"),
        ("signin.amazonaws.com", "CheckMfa"),
        ("signin.amazonaws.com", "SwitchRole"),
        ("signin.amazonaws.com", "SomeFutureSigninEvent"),
        ("sso.amazonaws.com", "Federate"),
        ("sso.amazonaws.com", "https://portal.sso.us-east-1.amazonaws.com/instance/appinstances"),
        ("cognito-idp.amazonaws.com", "Login_GET"),
        ("ec2.amazonaws.com", "SharedSnapshotVolumeCreated"),
    ],
)
def test_calls_that_need_no_permission_map_to_nothing_explicitly(
    rules_db, source: str, name: str
) -> None:
    result = mapping.actions_for(rules_db, source, name)
    assert result["mapped"] and result["actions"] == []
    assert result["rule"] == "no_permission"
    assert all(r["citation"].startswith("https://docs.aws.amazon.com/") for r in result["rules"])


def test_copy_object_reads_the_source_and_writes_the_target(rules_db) -> None:
    rules = _actions(rules_db, "s3.amazonaws.com", "CopyObject")
    assert set(rules) == {"s3:GetObject|copy_source", "s3:PutObject|"}


def test_conditional_rules_name_their_parameter(rules_db) -> None:
    rules = _actions(rules_db, "lambda.amazonaws.com", "CreateFunction20150331")
    passrole = rules["iam:PassRole|passed_role"]
    assert passrole["when_param"] == "$.role" and passrole["rule"] == "when_param"
    run = _actions(rules_db, "ec2.amazonaws.com", "RunInstances")
    assert run["iam:PassRole|passed_role_profile"]["when_param"] == "$.iamInstanceProfile"
    assert run["ec2:CreateTags|tag_on_create"]["when_param"] == "$.tagSpecificationSet"


def test_unmapped_calls_say_why(rules_db) -> None:
    unknown_source = mapping.actions_for(rules_db, "nosuchservice.amazonaws.com", "DoThing")
    assert not unknown_source["mapped"] and "no IAM service prefix" in unknown_source["reason"]
    unknown_name = mapping.actions_for(rules_db, "s3.amazonaws.com", "NoSuchOperation")
    assert unknown_name["rule"] == "unmapped" and "s3:NoSuchOperation" in unknown_name["reason"]


def test_attacker_strings_are_bound_not_spliced(rules_db) -> None:
    nasty = "x'); DROP TABLE catalog_actions; --<script>alert(1)</script>"
    result = mapping.actions_for(rules_db, "s3.amazonaws.com", nasty)
    assert result["event_name"] == nasty and not result["mapped"]
    result = mapping.actions_for(rules_db, nasty, "GetObject")
    assert not result["mapped"]
    assert rules_db.execute("SELECT count(*) FROM catalog_actions").fetchone()[0] > 10000


def test_template_regex_tells_buckets_from_objects() -> None:
    bucket = re.compile(mapping.template_regex("arn:${Partition}:s3:::${BucketName}"))
    obj = re.compile(mapping.template_regex("arn:${Partition}:s3:::${BucketName}/${ObjectName}"))
    role = re.compile(
        mapping.template_regex("arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}")
    )
    assert bucket.match("arn:aws:s3:::b") and not bucket.match("arn:aws:s3:::b/k")
    assert obj.match("arn:aws:s3:::b/a/k.txt") and not obj.match("arn:aws:s3:::b")
    assert role.match("arn:aws:iam::111122223333:role/service-role/x")
    assert not role.match("arn:aws:iam::111122223333:user/x")


# ---- observed_actions over a real ingest ----------------------------------------------


def _observed(con, name: str) -> set[tuple]:
    return set(
        con.execute(
            "SELECT action, resource_arn, outcome FROM observed_actions WHERE principal_arn = ? AND event_name = ?",
            [ROLE, name],
        ).fetchall()
    )


def test_observed_copy_object_picks_each_actions_resource(trail_db) -> None:
    con, _, _ = trail_db
    assert _observed(con, "CopyObject") == {
        ("s3:GetObject", "arn:aws:s3:::raw-data/in put.csv", "ok"),
        ("s3:PutObject", "arn:aws:s3:::reports/2026/out.csv", "ok"),
    }


def test_observed_list_objects_is_on_the_bucket_and_counts_calls(trail_db) -> None:
    con, _, _ = trail_db
    rows = con.execute(
        "SELECT action, resource_arn, calls FROM observed_actions WHERE event_name = 'ListObjects'"
    ).fetchall()
    assert rows == [("s3:ListBucket", "arn:aws:s3:::reports", 2)]


def test_observed_passrole_only_when_a_role_was_passed(trail_db) -> None:
    con, _, _ = trail_db
    rows = con.execute(
        "SELECT day, action, resource_arn FROM observed_actions WHERE event_name = 'RunInstances' ORDER BY ALL"
    ).fetchall()
    day1 = {(a, r) for d, a, r in rows if str(d) == "2026-03-01"}
    day2 = {(a, r) for d, a, r in rows if str(d) == "2026-03-02"}
    assert day1 == {
        ("ec2:RunInstances", None),
        ("ec2:CreateTags", None),
        # The profile is not in any IAM load: its role is unknown, so no resource is
        # claimed (never the profile ARN, which PassRole is not checked against).
        ("iam:PassRole", None),
    }
    assert day2 == {("ec2:RunInstances", None)}
    con.execute(
        "INSERT INTO instance_profiles VALUES ('111122223333', "
        "'arn:aws:iam::111122223333:instance-profile/worker', 'worker', "
        "'arn:aws:iam::111122223333:role/worker-role')"
    )
    try:
        resolved = {r for d, a, r in con.execute(
            "SELECT day, action, resource_arn FROM observed_actions "
            "WHERE event_name = 'RunInstances' AND action = 'iam:PassRole'"
        ).fetchall()}
        assert resolved == {"arn:aws:iam::111122223333:role/worker-role"}
    finally:
        con.execute("DELETE FROM instance_profiles")
    assert _observed(con, "CreateFunction20150331") >= {
        ("iam:PassRole", "arn:aws:iam::111122223333:role/lambda-exec", "ok"),
        ("lambda:CreateFunction", "arn:aws:lambda:us-east-1:111122223333:function:summarize", "ok"),
    }
    assert not any(
        a == "iam:PassRole" for a, _, _ in _observed(con, "UpdateFunctionConfiguration20150331v2")
    )


def test_observed_transactions_and_reencrypt(trail_db) -> None:
    con, _, _ = trail_db
    assert _observed(con, "TransactWriteItems") == {
        ("dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:111122223333:table/orders", "ok"),
        (
            "dynamodb:ConditionCheckItem",
            "arn:aws:dynamodb:us-east-1:111122223333:table/stock",
            "ok",
        ),
    }
    assert _observed(con, "ReEncrypt") == {
        ("kms:ReEncryptFrom", "arn:aws:kms:us-east-1:111122223333:alias/old", "ok"),
        (
            "kms:ReEncryptTo",
            "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "ok",
        ),
    }
    assert _observed(con, "Converse") == {
        (
            "bedrock:InvokeModel",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "ok",
        )
    }


def test_denied_calls_keep_their_outcome_and_no_permission_calls_have_no_action(trail_db) -> None:
    con, _, _ = trail_db
    assert _observed(con, "GetSecretValue") == {
        (
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-*",
            "denied",
        )
    }
    assert _observed(con, "GetCallerIdentity") == set()
    rules = con.execute(
        "SELECT action, rule FROM event_action_rules WHERE event_name = 'GetCallerIdentity'"
    ).fetchall()
    assert rules == [(None, "no_permission")]


def test_unmapped_pairs_are_listed_and_counted(trail_db) -> None:
    con, summary, _ = trail_db
    unmapped = {
        (r[0], r[1]): (r[2], r[3]) for r in con.execute("SELECT * FROM unmapped_calls").fetchall()
    }
    assert set(unmapped) == {
        ("example.amazonaws.com", "FrobnicateWidget"),
        ("s3.amazonaws.com", "Evil'); DROP TABLE usage_daily; --"),
    }
    assert unmapped[("example.amazonaws.com", "FrobnicateWidget")][0] == 1
    cov = summary["coverage"]
    assert cov["calls_unmapped"] == 2 and cov["calls_no_permission"] == 1
    assert (
        cov["calls"] == cov["calls_to_actions"] + cov["calls_no_permission"] + cov["calls_unmapped"]
    )
    # the hostile key stayed data: the object ARN carries it verbatim, every table is intact
    arn = con.execute(
        "SELECT resource_arn FROM observed_actions WHERE event_name = 'GetObject'"
    ).fetchone()[0]
    assert arn == "arn:aws:s3:::reports/x'; DROP TABLE events; --<script>alert(1)</script>"
    assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 15


# ---- precedence with Service Authorization Reference facts ----------------------------


def test_precedence_explicit_over_sar_over_same_name(tmp_path: Path) -> None:
    con = db.connect(fresh_db(tmp_path / "p.duckdb"))
    con.execute(
        "INSERT INTO sar_operations VALUES ('s3', 'PutObject', 's3:PutObjectTagging'),"
        " ('s3', 'PutObject', 's3:PutObject'), ('s3', 'CopyObject', 's3:PutObjectTagging'),"
        " ('s3', 'PutObject', 's3:NoSuchAction')"
    )
    put = mapping.actions_for(con, "s3.amazonaws.com", "PutObject")
    assert set(put["actions"]) == {"s3:PutObject", "s3:PutObjectTagging"} and put["rule"] == "sar"
    copy = mapping.actions_for(con, "s3.amazonaws.com", "CopyObject")
    assert set(copy["actions"]) == {"s3:GetObject", "s3:PutObject"}  # explicit rule wins
    con.close()


# ---- CLI -----------------------------------------------------------------------------


def test_cli_map_one_call(tmp_path: Path) -> None:
    path = fresh_db(tmp_path / "m.duckdb")
    runner = CliRunner()
    res = runner.invoke(
        main, ["map", "s3.amazonaws.com", "CopyObject", "--db", str(path), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["actions"] == ["s3:GetObject", "s3:PutObject"] and doc["rule"] == "multi_action"
    assert {r["citation"] for r in doc["rules"]} == {
        "https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html"
    }
    text = runner.invoke(main, ["map", "sts.amazonaws.com", "GetCallerIdentity", "--db", str(path)])
    assert "(no IAM permission needed)" in text.output and "no_permission" in text.output


def test_cli_map_all_lists_pairs_and_unmapped(trail_db) -> None:
    _, _, path = trail_db
    res = CliRunner().invoke(main, ["map", "--db", str(path), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    by_pair = {(c["event_source"], c["event_name"]): c for c in doc["calls"]}
    lo = by_pair[("s3.amazonaws.com", "ListObjects")]
    assert lo["actions"] == ["s3:ListBucket"] and lo["rule"] == "renamed" and lo["calls"] == 2
    assert {u["event_name"] for u in doc["unmapped"]} == {
        "FrobnicateWidget",
        "Evil'); DROP TABLE usage_daily; --",
    }
    text = CliRunner().invoke(main, ["map", "--db", str(path)])
    assert "unmapped: example.amazonaws.com FrobnicateWidget (1 calls)" in text.output


def test_cli_map_needs_both_arguments() -> None:
    res = CliRunner().invoke(main, ["map", "s3.amazonaws.com"])
    assert res.exit_code == 2 and "both EVENT_SOURCE and EVENT_NAME" in res.output
