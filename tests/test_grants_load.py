"""Authorization-details files load into the grants tables: every shape of policy
document, users via groups, boundaries, SCP exports, agent detection, bad input
recorded without stopping the load, and the `iam load` / `iam show` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from grants_helpers import auth_details, catalog_template_path, fresh_db

from recommender.cli import main
from recommender.errors import ConfigError, PolicyParseError
from recommender.grants import load_authorization_details, show_principal
from recommender.grants.agents import AgentConfig, detect_agent, load_agent_config
from recommender.grants.normalize import normalize_document


@pytest.fixture(scope="session")
def catalog_template(tmp_path_factory):
    return catalog_template_path(tmp_path_factory)


FIX = Path(__file__).parent / "fixtures" / "grants"
ACCT_A = FIX / "111122223333_authorization-details.json"
ACCT_B = FIX / "444455556666_authorization-details_raw.json"
MALFORMED = FIX / "malformed_authorization-details.json"
SCPS = FIX / "scps_describe-policy.json"
SAMPLE = (
    Path(__file__).resolve().parent.parent / "sample_logs" / "iam" / "authorization-details.json"
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, catalog_template):
    path = tmp_path_factory.mktemp("load") / "load.duckdb"
    con = fresh_db(catalog_template, path)
    result = load_authorization_details(
        con, [ACCT_A, ACCT_B, MALFORMED], [SCPS], FIX / "agents.toml"
    )
    return con, result, path


def q(con, sql, params=None):
    return con.execute(sql, params or []).fetchall()


def test_normalize_accepts_every_document_shape():
    single = normalize_document(
        '{"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}'
    )
    assert [s.actions for s in single.statements] == [["s3:GetObject"]] and not single.errors
    encoded = normalize_document(
        "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Deny%22%2C%22NotAction%22%3A"
        "%22iam%3A*%22%2C%22NotResource%22%3A%5B%22a%22%2C%22b%22%5D%7D%5D%7D"
    )
    [s] = encoded.statements
    assert (s.effect, s.not_actions, s.not_resources) == ("Deny", ["iam:*"], ["a", "b"])
    with_principal = normalize_document(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {"Bool": {"x": "y"}},
                }
            ]
        }
    )
    assert with_principal.statements[0].conditions == {"Bool": {"x": "y"}}


@pytest.mark.parametrize(
    "document, message",
    [
        ("not json at all", "not JSON"),
        ('["a list"]', "not an object"),
        ({"Statement": [{"Action": "s3:*", "Resource": "*"}]}, "no Effect"),
        (
            {"Statement": [{"Effect": "Permit", "Action": "s3:*", "Resource": "*"}]},
            "Effect must be",
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "a:b", "NotAction": "c:d", "Resource": "*"}
                ]
            },
            "both Action and NotAction",
        ),
        ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, "no Action"),
        ({"Statement": [{"Effect": "Allow", "Action": "a:b"}]}, "no Resource"),
        ({"Statement": [{"Effect": "Allow", "Action": 7, "Resource": "*"}]}, "Action must be"),
        ({"Statment": []}, "unknown top-level key 'Statment'"),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "a:b", "Resource": "*", "Resources": "x"}
                ]
            },
            "unknown statement key",
        ),
    ],
)
def test_invalid_grammar_is_an_error_with_a_message(document, message):
    result = normalize_document(document)
    assert result.errors and message in result.errors[0].message
    assert not result.statements


def test_load_counts_principals_policies_and_accounts(loaded):
    con, result, _ = loaded
    assert result.accounts == ["111122223333", "444455556666"]
    assert q(con, "SELECT principal_type, count(*) FROM principals GROUP BY 1 ORDER BY 1") == [
        ("role", 4),
        ("user", 1),
    ]
    kinds = dict(q(con, "SELECT kind, count(*) FROM policies GROUP BY 1"))
    assert kinds["aws_managed"] == 2 and kinds["boundary"] == 1 and kinds["scp"] == 2
    assert (
        kinds["customer_managed"] == 2
    )  # the boundary's own policy also loads as customer managed


def test_managed_policy_uses_the_default_version_and_its_date(loaded):
    con, _, _ = loaded
    version, updated, doc = q(
        con,
        "SELECT version_id, updated, document FROM policies WHERE name = 'agent-bedrock-invoke'",
    )[0]
    assert version == "v2" and str(updated) == "2026-08-01 10:00:00"
    assert "bedrock:InvokeModel" in doc and "bedrock:*" not in doc


def test_url_encoded_documents_and_trust_policies_decode(loaded):
    con, _, _ = loaded
    trust, tags = q(con, "SELECT trust_policy, tags FROM principals WHERE name = 'etl-lambda'")[0]
    assert json.loads(trust)["Statement"][0]["Principal"]["Service"] == ["lambda.amazonaws.com"]
    assert json.loads(tags) == {"agent": "etl"}
    assert q(
        con,
        "SELECT actions FROM statements WHERE policy_key LIKE 'inline:%etl-lambda:etl' AND stmt_idx = 0",
    ) == [(["sqs:ReceiveMessage", "sqs:DeleteMessage"],)]


def test_users_get_their_groups_policies(loaded):
    con, _, _ = loaded
    vias = {
        r[0]
        for r in q(con, "SELECT via FROM principal_policies WHERE principal_arn LIKE '%user/alice'")
    }
    assert vias == {"inline", "group:developers", "scp"}
    assert (
        q(
            con,
            "SELECT count(*) FROM effective_grants WHERE principal_arn LIKE '%user/alice' "
            "AND action = 'ec2:DescribeInstances' AND status = 'allowed'",
        )[0][0]
        >= 1
    )


def test_boundary_and_last_used_are_recorded(loaded):
    con, _, _ = loaded
    boundary, last_used, region = q(
        con,
        "SELECT boundary_arn, last_used_at, last_used_region FROM principals "
        "WHERE name = 'bedrock-agent-support'",
    )[0]
    assert boundary.endswith(":policy/agent-boundary")
    assert str(last_used) == "2026-10-28 17:03:11" and region == "us-east-1"
    assert q(con, "SELECT via FROM principal_policies WHERE policy_key LIKE 'boundary:%'") == [
        ("boundary",)
    ]


def test_scps_apply_to_every_principal_and_block(loaded):
    con, _, _ = loaded
    assert (
        q(con, "SELECT count(DISTINCT principal_arn) FROM principal_policies WHERE via = 'scp'")[0][
            0
        ]
        == 5
    )
    [(status, reason)] = q(
        con,
        "SELECT status, reason FROM effective_grants WHERE principal_arn LIKE '%ops-admin' "
        "AND action = 'account:CloseAccount'",
    )
    assert status == "blocked" and "scp:p-denyregions" in reason
    # The region-condition Deny keeps grants, marked conditional.
    assert q(
        con,
        "SELECT conditional FROM effective_grants WHERE principal_arn LIKE '%ops-admin' "
        "AND action = 's3:GetObject'",
    ) == [(True,)]


def test_agents_from_trust_tags_and_names(loaded):
    con, _, _ = loaded
    rows = dict(q(con, "SELECT name, agent_reason FROM principals WHERE is_agent"))
    assert "bedrock.amazonaws.com" in rows["bedrock-agent-support"]
    assert "GitHub Actions" in rows["ci-deployer"]
    assert "tag agent=etl" in rows["etl-lambda"] and "lambda.amazonaws.com" in rows["etl-lambda"]
    assert "ops-*" in rows["ops-admin"]
    assert "alice" not in rows


def test_bad_input_is_recorded_and_the_rest_loads(loaded):
    con, result, _ = loaded
    errors = q(
        con,
        "SELECT file, principal, policy, stmt_idx, message FROM iam_load_errors ORDER BY message",
    )
    messages = [e[4] for e in errors]
    assert any("malformed JSON" in m for m in messages)
    assert any("no Effect" in m for m in messages) and any(
        "unknown top-level key" in m for m in messages
    )
    broken = [e for e in errors if e[2] and e[2].endswith(":broken")]
    assert {e[3] for e in broken} == {0, 1, 2} and all(
        e[1].endswith("role/ops-admin") for e in broken
    )
    # Statement 3 of the same policy still loads and grants.
    assert (
        q(
            con,
            "SELECT count(*) FROM grants WHERE principal_arn LIKE '%ops-admin' AND action = 'sns:ListTopics' "
            "AND policy_key LIKE '%:broken'",
        )[0][0]
        == 1
    )
    assert len(result.errors) == len(errors)


def test_unknown_actions_and_services_are_findings_not_errors(loaded):
    con, _, _ = loaded
    kinds = {(r[0], r[1]) for r in q(con, "SELECT kind, detail FROM iam_findings")}
    assert any(k == "unknown-action" and "s3:GetObjets" in d for k, d in kinds)
    assert any(k == "unknown-service" and "foo" in d for k, d in kinds)
    assert any(k == "resource-mismatch" and "s3:GetObject" in d for k, d in kinds)


def test_reload_replaces_an_account(tmp_path, catalog_template):
    con = fresh_db(catalog_template, tmp_path / "r.duckdb")
    data = auth_details(
        [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}], name="first"
    )
    f = tmp_path / "a.json"
    f.write_text(json.dumps(data))
    load_authorization_details(con, [f])
    data = auth_details(
        [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
        name="second",
        encode=True,
    )
    f.write_text(json.dumps(data))
    load_authorization_details(con, [f])
    assert q(con, "SELECT name FROM principals") == [("second",)]
    assert q(con, "SELECT DISTINCT action FROM grants") == [("sqs:SendMessage",)]
    assert q(con, "SELECT count(*) FROM policies")[0][0] == 1


def test_nothing_loadable_is_an_error(tmp_path, catalog_template):
    con = fresh_db(catalog_template, tmp_path / "e.duckdb")
    with pytest.raises(PolicyParseError, match="malformed JSON"):
        load_authorization_details(con, [MALFORMED])


def test_agent_config_is_validated_naming_file_and_key():
    with pytest.raises(ConfigError, match=r"agents_bad.toml.*agents\.name_pattern"):
        load_agent_config(FIX / "agents_bad.toml")
    assert load_agent_config(FIX / "agents.toml").tag_keys == ["agent"]
    assert detect_agent(
        "x",
        {},
        {"Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}}]},
        AgentConfig(),
    ) == (True, "trusted by states.amazonaws.com (Step Functions state machine)")
    assert detect_agent("x", {}, None, AgentConfig()) == (False, None)


def test_show_groups_by_service_and_access_level(loaded):
    con, _, _ = loaded
    shown = show_principal(con, "bedrock-agent-support")
    services = {s["service"]: s for s in shown["services"]}
    assert set(services) == {"bedrock", "dynamodb", "s3"}
    levels = {lv["access_level"]: lv for lv in services["s3"]["access_levels"]}
    [put] = [a for a in levels["Write"]["actions"] if a["action"] == "s3:PutObject"]
    assert (
        put["grants"][0]["policy_name"] == "support-agent"
        and put["grants"][0]["sid"] == "Attachments"
    )
    assert [b["action"] for b in shown["blocked"]] == ["s3:GetObject"]
    assert shown["summary"]["allowed_actions"] == 6


def test_cli_load_show_and_exit_codes(loaded, tmp_path, catalog_template):
    _, _, path = loaded
    runner = CliRunner()
    res = runner.invoke(main, ["iam", "show", "bedrock-agent-support", "--db", str(path)])
    assert res.exit_code == 0, res.output
    assert "s3:PutObject  arn:aws:s3:::support-attachments/*  <- support-agent#1" in res.output
    res = runner.invoke(
        main,
        [
            "iam",
            "show",
            "arn:aws:iam::444455556666:role/etl-lambda",
            "--db",
            str(path),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0 and json.loads(res.output)["principal"]["name"] == "etl-lambda"
    res = runner.invoke(main, ["iam", "show", "nobody", "--db", str(path)])
    assert res.exit_code == 1 and "no role or user named 'nobody'" in res.output
    db_file = tmp_path / "cli.duckdb"
    fresh_db(catalog_template, db_file).close()
    res = runner.invoke(
        main, ["iam", "load", str(ACCT_B), "--db", str(db_file), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["counts"]["roles"] == 1
    res = runner.invoke(main, ["iam", "load", str(ACCT_B), str(MALFORMED), "--db", str(db_file)])
    assert res.exit_code == 3 and "malformed JSON" in res.output
    res = runner.invoke(
        main,
        [
            "iam",
            "load",
            str(ACCT_B),
            "--agent-config",
            str(FIX / "agents_bad.toml"),
            "--db",
            str(db_file),
        ],
    )
    assert res.exit_code == 1 and "agents.name_pattern" in res.output


def test_sample_logs_authorization_details_load(tmp_path, catalog_template):
    if not SAMPLE.is_file():
        pytest.skip(f"{SAMPLE.relative_to(SAMPLE.parents[2])} not generated yet")
    con = fresh_db(catalog_template, tmp_path / "sample.duckdb")
    result = load_authorization_details(con, [SAMPLE])
    assert result.counts["roles"] > 0 and result.counts["allowed"] > 0
    assert not [e for e in result.errors if "malformed JSON" in e.message]
