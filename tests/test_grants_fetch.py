"""`iam fetch` end to end against a real moto server over HTTP: IAM authorization
details (roles, users, groups, managed policies, boundaries) and Organizations SCPs."""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner
from grants_helpers import catalog_template_path, fresh_db

from recommender.cli import main
from recommender.errors import AwsAccessError
from recommender.grants import fetch_from_aws, is_allowed


@pytest.fixture(scope="session")
def catalog_template(tmp_path_factory):
    return catalog_template_path(tmp_path_factory)


ACCOUNT = "123456789012"  # moto's default account


def _doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _build_iam():
    iam = boto3.client("iam")
    trust = _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    iam.create_role(
        RoleName="agent-worker",
        AssumeRolePolicyDocument=trust,
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    iam.put_role_policy(
        RoleName="agent-worker", PolicyName="work",
        PolicyDocument=_doc({"Effect": "Allow", "Action": ["s3:GetObject", "sqs:SendMessage"], "Resource": "*"}),
    )  # fmt: skip
    managed = iam.create_policy(
        PolicyName="ddb-read",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "dynamodb:Get*", "Resource": "*"}),
    )["Policy"]["Arn"]
    iam.create_policy_version(
        PolicyArn=managed, SetAsDefault=True,
        PolicyDocument=_doc({"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": "*"}),
    )  # fmt: skip
    iam.attach_role_policy(RoleName="agent-worker", PolicyArn=managed)
    boundary = iam.create_policy(
        PolicyName="worker-boundary",
        PolicyDocument=_doc({"Effect": "Allow", "Action": ["s3:*", "dynamodb:*"], "Resource": "*"}),
    )["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName="agent-worker", PermissionsBoundary=boundary)
    iam.create_group(GroupName="readers")
    iam.put_group_policy(
        GroupName="readers",
        PolicyName="list",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}),
    )
    iam.create_user(UserName="bob")
    iam.add_user_to_group(GroupName="readers", UserName="bob")


def test_fetch_loads_iam_and_scps(aws_env, tmp_path, catalog_template):
    _build_iam()
    org = boto3.client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    scp = org.create_policy(
        Name="deny-ddb-query", Description="", Type="SERVICE_CONTROL_POLICY",
        Content=_doc({"Effect": "Deny", "Action": "dynamodb:Query", "Resource": "*"}),
    )["Policy"]["PolicySummary"]["Id"]  # fmt: skip
    org.attach_policy(PolicyId=scp, TargetId=ACCOUNT)

    con = fresh_db(catalog_template, tmp_path / "fetch.duckdb")
    result = fetch_from_aws(con)
    assert result.accounts == [ACCOUNT] and not result.errors
    role = f"arn:aws:iam::{ACCOUNT}:role/agent-worker"
    assert con.execute("SELECT is_agent, agent_reason FROM principals WHERE principal_arn = ?", [role]).fetchone() == (
        True, "trusted by ecs-tasks.amazonaws.com (ECS task)")  # fmt: skip
    assert con.execute("SELECT version_id FROM policies WHERE name = 'ddb-read'").fetchone() == (
        "v2",
    )
    levels = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT scp_level FROM principal_policies WHERE via = 'scp'"
        ).fetchall()
    }
    assert levels == {ACCOUNT, root}
    assert is_allowed(con, role, "dynamodb:GetItem", "*")["allowed"]
    assert is_allowed(con, role, "dynamodb:Query", "*")["decision"] == "denied"  # the SCP
    assert is_allowed(con, role, "sqs:SendMessage", "*")["decision"] == "boundary_deny"
    assert not is_allowed(con, role, "dynamodb:Scan", "*")[
        "allowed"
    ]  # v1 of the managed policy is not used
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    assert con.execute(
        "SELECT via FROM principal_policies WHERE principal_arn = ? AND via LIKE 'group:%'", [bob]
    ).fetchall() == [("group:readers",)]
    assert is_allowed(con, bob, "s3:ListBucket", "arn:aws:s3:::b")["allowed"]


def test_fetch_without_organization_warns_and_skips_scps(aws_env, tmp_path, catalog_template):
    _build_iam()
    con = fresh_db(catalog_template, tmp_path / "noorg.duckdb")
    warnings: list[str] = []
    result = fetch_from_aws(con, warn=warnings.append)
    assert any("not in an AWS Organization" in w for w in warnings)
    assert result.counts["roles"] == 1
    assert (
        con.execute("SELECT count(*) FROM principal_policies WHERE via = 'scp'").fetchone()[0] == 0
    )


def test_fetch_cli_no_scp(aws_env, tmp_path, catalog_template):
    _build_iam()
    fresh_db(catalog_template, tmp_path / "c.duckdb").close()
    res = CliRunner().invoke(
        main, ["iam", "fetch", "--no-scp", "--db", str(tmp_path / "c.duckdb"), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["counts"]["users"] == 1


def test_fetch_without_credentials_names_the_permission(
    aws_env, monkeypatch, tmp_path, catalog_template
):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    con = fresh_db(catalog_template, tmp_path / "nocreds.duckdb")
    with pytest.raises(AwsAccessError, match="iam:GetAccountAuthorizationDetails"):
        fetch_from_aws(con)
