"""Effective access follows AWS's evaluation for one account, rule by rule, and the SQL
pipeline agrees with a direct Python evaluation on random statements and requests."""

from __future__ import annotations

import pytest
from grants_helpers import ROLE_ARN, catalog_template_path, effective, fresh_db, load_role
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender import db
from recommender.catalog import ensure_catalog
from recommender.grants import is_allowed
from recommender.grants.authdetails import FULL_AWS_ACCESS
from recommender.grants.reference import decide


@pytest.fixture(scope="session")
def catalog_template(tmp_path_factory):
    return catalog_template_path(tmp_path_factory)


BUCKET_OBJ = "arn:aws:s3:::data/reports/q1.csv"


@pytest.fixture(scope="module")
def con(tmp_path_factory, catalog_template):
    return fresh_db(catalog_template, tmp_path_factory.mktemp("grants") / "eval.duckdb")


@pytest.fixture(scope="module")
def small_con(tmp_path_factory):
    """A database whose catalog holds only the services the property tests draw from,
    so each random example evaluates in milliseconds. The semantics are unchanged:
    NotAction still means every catalog action not matched."""
    c = db.connect(":memory:")  # many small transactions: keep them off the disk
    ensure_catalog(c)
    keep = "('s3', 'sqs', 'dynamodb')"
    c.execute(f"DELETE FROM catalog_actions WHERE service NOT IN {keep}")
    c.execute(
        f"DELETE FROM catalog_action_resources WHERE split_part(action, ':', 1) NOT IN {keep}"
    )
    return c


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


MFA = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}


def statuses(con, action):
    return [(r["status"], r["conditional"]) for r in effective(con, action)]


def test_wildcards_expand_case_insensitively_with_star_and_question_mark(con):
    load_role(con, [allow(["S3:getobject?ersion", "sqs:Send*", "DynamoDB:*Item"])])
    actions = {r[0] for r in con.execute("SELECT DISTINCT action FROM grants").fetchall()}
    assert "s3:GetObjectVersion" in actions and "s3:GetObject" not in actions
    sends = {
        r[0]
        for r in con.execute(
            "SELECT action FROM catalog_actions WHERE action_lc LIKE 'sqs:send%'"
        ).fetchall()
    }
    assert "sqs:SendMessage" in sends and sends <= actions
    assert {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"} <= actions
    assert not any(a.startswith("s3:") and a != "s3:GetObjectVersion" for a in actions)


def test_bracket_in_action_pattern_is_literal_not_a_glob_class(con):
    load_role(con, [allow("s3:[G]etObject")])
    assert con.execute("SELECT count(*) FROM grants").fetchone()[0] == 0
    kinds = {r[0] for r in con.execute("SELECT kind FROM iam_findings").fetchall()}
    assert "unknown-action" in kinds


def test_not_action_is_every_catalog_action_not_matched(con):
    load_role(con, [{"Effect": "Allow", "NotAction": ["iam:*", "s3:Get*"], "Resource": "*"}])
    total = con.execute("SELECT count(*) FROM catalog_actions").fetchone()[0]
    excluded = con.execute(
        "SELECT count(*) FROM catalog_actions WHERE service = 'iam' OR action_lc LIKE 's3:get%'"
    ).fetchone()[0]
    assert (
        con.execute("SELECT count(DISTINCT action) FROM grants").fetchone()[0] == total - excluded
    )
    assert statuses(con, "iam:PassRole") == []
    assert statuses(con, "s3:PutObject") == [("allowed", False)]
    assert statuses(con, "s3:GetObject") == []


def test_explicit_deny_wins_over_allow(con):
    load_role(con, [allow("s3:*"), deny("s3:DeleteObject")])
    assert statuses(con, "s3:DeleteObject") == [("blocked", False)]
    assert "denied by inline" in effective(con, "s3:DeleteObject")[0]["reason"]
    assert statuses(con, "s3:GetObject") == [("allowed", False)]


def test_conditional_deny_keeps_the_grant_with_a_note(con):
    load_role(con, [allow("iam:PassRole"), deny("iam:*", Condition=MFA)])
    [row] = effective(con, "iam:PassRole")
    assert row["status"] == "allowed" and row["conditional"] is True
    assert row["reason"].startswith("conditionally denied by")


def test_conditional_allow_is_marked(con):
    load_role(
        con,
        [
            allow(
                "s3:GetObject", BUCKET_OBJ, Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
            )
        ],
    )
    assert statuses(con, "s3:GetObject") == [("allowed", True)]


def test_deny_on_a_narrower_resource_is_a_carve_out(con):
    load_role(
        con,
        [
            allow("s3:GetObject", "arn:aws:s3:::data/*"),
            deny("s3:GetObject", "arn:aws:s3:::data/secret/*"),
        ],
    )
    [row] = effective(con, "s3:GetObject")
    assert row["status"] == "allowed"
    assert row["except_resources"] == ["arn:aws:s3:::data/secret/*"]
    assert "denied on arn:aws:s3:::data/secret/*" in row["reason"]


def test_deny_on_a_covering_resource_blocks(con):
    load_role(
        con,
        [
            allow("s3:GetObject", "arn:aws:s3:::data/reports/*"),
            deny("s3:GetObject", "arn:aws:s3:::data/*"),
        ],
    )
    assert statuses(con, "s3:GetObject") == [("blocked", False)]


def test_not_resource_allow_excludes_its_patterns(con):
    load_role(
        con, [{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]
    )
    [row] = effective(con, "s3:GetObject")
    assert row["resource_pattern"] == "*" and row["except_resources"] == ["arn:aws:s3:::secret/*"]
    assert (
        is_allowed(con, ROLE_ARN, "s3:GetObject", "arn:aws:s3:::secret/x")["decision"]
        == "implicit_deny"
    )
    assert is_allowed(con, ROLE_ARN, "s3:GetObject", "arn:aws:s3:::public/x")["allowed"]


def test_not_resource_deny_blocks_what_it_does_not_exclude(con):
    load_role(con, [
        allow("s3:GetObject", "arn:aws:s3:::other/*"),
        allow("s3:GetObject", "arn:aws:s3:::data/*"),
        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::data/*"},
    ])  # fmt: skip
    rows = {r["resource_pattern"]: r["status"] for r in effective(con, "s3:GetObject")}
    assert rows == {"arn:aws:s3:::other/*": "blocked", "arn:aws:s3:::data/*": "allowed"}


def test_boundary_must_also_allow(con):
    load_role(con, [allow(["s3:GetObject", "sqs:SendMessage"])], boundary=[allow("s3:*")])
    assert statuses(con, "s3:GetObject") == [("allowed", False)]
    [row] = effective(con, "sqs:SendMessage")
    assert row["status"] == "blocked" and "permissions boundary" in row["reason"]


def test_boundary_deny_and_conditional_boundary(con):
    load_role(
        con,
        [allow(["s3:GetObject", "s3:PutObject"])],
        boundary=[allow("s3:*", Condition=MFA), deny("s3:PutObject")],
    )
    assert statuses(con, "s3:GetObject") == [("allowed", True)]
    assert statuses(con, "s3:PutObject") == [("blocked", False)]


def test_every_scp_level_must_allow(con):
    root = [FULL_AWS_ACCESS]
    ou = [{"Version": "2012-10-17", "Statement": [allow(["s3:*", "sqs:*"])]}]
    load_role(
        con, [allow(["s3:GetObject", "sqs:SendMessage", "dynamodb:GetItem"])], scp_levels=[root, ou]
    )
    assert statuses(con, "s3:GetObject") == [("allowed", False)]
    [row] = effective(con, "dynamodb:GetItem")
    assert row["status"] == "blocked" and "SCPs at level1" in row["reason"]


def test_scp_deny_blocks_and_deny_only_export_assumes_full_access(con):
    deny_list = [{"Version": "2012-10-17", "Statement": [deny("sqs:*")]}]
    result = load_role(con, [allow(["s3:GetObject", "sqs:SendMessage"])], scp_levels=[deny_list])
    assert any("FullAWSAccess" in w for w in result.warnings)
    assert statuses(con, "s3:GetObject") == [("allowed", False)]
    assert statuses(con, "sqs:SendMessage") == [("blocked", False)]


def test_resource_pattern_that_matches_no_resource_type_is_never_exercisable(con):
    load_role(con, [allow(["s3:GetObject", "s3:ListBucket"], "arn:aws:s3:::data")])
    [get] = effective(con, "s3:GetObject")
    assert get["status"] == "blocked" and get["reason"].startswith("resource-mismatch")
    assert statuses(con, "s3:ListBucket") == [("allowed", False)]
    details = [
        r[0]
        for r in con.execute(
            "SELECT detail FROM iam_findings WHERE kind = 'resource-mismatch'"
        ).fetchall()
    ]
    assert len(details) == 1 and "s3:GetObject" in details[0] and "s3:ListBucket" not in details[0]


def test_policy_variables_are_wildcards_and_flagged(con):
    load_role(con, [allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*")])
    assert is_allowed(con, ROLE_ARN, "s3:GetObject", "arn:aws:s3:::home/alice/notes.txt")["allowed"]
    assert statuses(con, "s3:GetObject") == [("allowed", False)]
    kinds = {r[0] for r in con.execute("SELECT kind FROM iam_findings").fetchall()}
    assert "policy-variable" in kinds


def test_resource_match_is_case_sensitive(con):
    load_role(con, [allow("s3:GetObject", "arn:aws:s3:::Data/*")])
    assert not is_allowed(con, ROLE_ARN, "s3:GetObject", "arn:aws:s3:::data/x")["allowed"]
    assert is_allowed(con, ROLE_ARN, "s3:getobject", "arn:aws:s3:::Data/x")["allowed"]


def test_findings_for_wildcards_unknown_actions_and_resource_star(con):
    load_role(con, [
        allow("*"), allow("s3:*"), allow("s3:GetObjets"), allow("foo:Bar"),
        deny("ec2:TerminateInstancez"),
    ])  # fmt: skip
    rows = con.execute("SELECT kind, severity, detail FROM iam_findings").fetchall()
    kinds = {(k, s) for k, s, _ in rows}
    assert ("full-wildcard", "high") in kinds and ("service-wildcard", "medium") in kinds
    assert ("unknown-action", "medium") in kinds and ("unknown-service", "medium") in kinds
    assert ("unknown-action", "high") in kinds  # a Deny with a typo denies nothing
    assert ("resource-star-permissions", "high") in kinds and (
        "resource-star-write",
        "medium",
    ) in kinds
    assert any("s3:GetObjets" in d for _, _, d in rows)


def test_fully_denied_statement_is_a_finding(con):
    load_role(con, [allow("sqs:SendMessage"), deny("sqs:*")])
    kinds = [r[0] for r in con.execute("SELECT kind FROM iam_findings").fetchall()]
    assert "never-exercisable" in kinds


# ---- property tests: SQL evaluation == direct Python evaluation -----------------

ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "sqs:SendMessage", "sqs:ReceiveMessage",
           "dynamodb:GetItem", "dynamodb:Query"]  # fmt: skip
ARNS = {
    "s3:GetObject": [
        "arn:aws:s3:::data/a.txt",
        "arn:aws:s3:::data/secret/k",
        "arn:aws:s3:::logs/x",
    ],
    "s3:PutObject": ["arn:aws:s3:::data/a.txt"],
    "s3:ListBucket": ["arn:aws:s3:::data", "arn:aws:s3:::logs"],
    "sqs:SendMessage": ["arn:aws:sqs:eu-west-1:111122223333:jobs"],
    "sqs:ReceiveMessage": ["arn:aws:sqs:us-east-1:111122223333:jobs"],
    "dynamodb:GetItem": ["arn:aws:dynamodb:us-east-1:111122223333:table/users"],
    "dynamodb:Query": ["arn:aws:dynamodb:us-east-1:111122223333:table/users/index/by-email"],
}
ACTION_PATTERNS = ["*", "s3:*", "S3:Get*", "s3:?etObject", "s3:List*", "sqs:*Message", "sqs:send*",
                   "dynamodb:*", "dynamodb:Get?tem", "s3:PutObject", "*:Query"]  # fmt: skip
RESOURCE_PATTERNS = ["*", "arn:aws:s3:::data/*", "arn:aws:s3:::data", "arn:aws:s3:::data/secret/*",
                     "arn:aws:s3:::*", "arn:aws:s3:::log?/*", "arn:aws:sqs:*:111122223333:jobs",
                     "arn:aws:sqs:us-east-1:*", "arn:aws:dynamodb:*:*:table/users*",
                     "arn:aws:s3:::${aws:username}/*", "arn:aws:dynamodb:us-east-1:111122223333:table/users"]  # fmt: skip


@st.composite
def statements(draw, effects=("Allow", "Deny")):
    stmt = {"Effect": draw(st.sampled_from(effects))}
    acts = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=3, unique=True))
    stmt["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = acts
    res = draw(st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=2, unique=True))
    stmt["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = res
    if draw(st.integers(0, 4)) == 0:
        stmt["Condition"] = MFA
    return stmt


def _ref(stmt):
    return {
        "effect": stmt["Effect"],
        "actions": stmt.get("Action"),
        "not_actions": stmt.get("NotAction"),
        "resources": stmt.get("Resource"),
        "not_resources": stmt.get("NotResource"),
        "conditions": stmt.get("Condition"),
    }


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    identity=st.lists(statements(), min_size=1, max_size=4),
    boundary=st.none() | st.lists(statements(), min_size=1, max_size=2),
    scp=st.none() | st.lists(statements(), min_size=1, max_size=2),
)
def test_sql_evaluation_agrees_with_direct_python_evaluation(small_con, identity, boundary, scp):
    con = small_con
    levels = [[{"Version": "2012-10-17", "Statement": scp}]] if scp else None
    load_role(con, identity, boundary, levels)
    ref_levels = []
    if scp:
        level = [_ref(s) for s in scp]
        if not any(s["effect"] == "Allow" for s in level):
            level.append(_ref(FULL_AWS_ACCESS["Statement"][0]))
        ref_levels.append(level)
    pairs = [(action, arn) for action in ACTIONS for arn in ARNS[action]]
    # effective_grants must agree where it can be exact: an allowed request has an
    # allowed row covering it; a request no identity Allow reaches has none.
    covering = dict(
        ((a, r), n)
        for a, r, n in con.execute(
            "SELECT p.action, p.arn, count(e.action) FROM (SELECT unnest($actions) AS action, "
            "unnest($arns) AS arn) p LEFT JOIN effective_grants e ON e.action = p.action "
            "AND e.status = 'allowed' AND iam_resource_match(e.resource_pattern, p.arn) "
            "AND len(list_filter(e.except_resources, lambda x: iam_resource_match(x, p.arn))) = 0 "
            "GROUP BY ALL",
            {"actions": [a for a, _ in pairs], "arns": [r for _, r in pairs]},
        ).fetchall()
    )
    for action, arn in pairs:
        expected = decide(
            [_ref(s) for s in identity], action, arn,
            boundary=[_ref(s) for s in boundary] if boundary is not None else None,
            scp_levels=ref_levels,
        )  # fmt: skip
        assert is_allowed(con, ROLE_ARN, action, arn) == expected, (action, arn)
        if expected["allowed"]:
            assert covering[(action, arn)] > 0, (action, arn, "allowed but no effective row")
        if expected["decision"] == "implicit_deny":
            assert covering[(action, arn)] == 0, (
                action,
                arn,
                "effective row without an applicable Allow",
            )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.text(alphabet="abcdegilmnoprstuv:*?[]%_", min_size=1, max_size=14).map(
            lambda s: s if ":" in s else "s3:" + s
        ),
        min_size=1,
        max_size=6,
        unique=True,
    )
)
def test_sql_action_expansion_agrees_with_python_globbing(small_con, patterns):
    con = small_con
    from recommender.grants.patterns import action_matches

    load_role(
        con,
        [allow(patterns), {"Effect": "Allow", "NotAction": patterns, "Resource": "*"}],
        evaluate_all=False,
    )
    catalog = [r[0] for r in con.execute("SELECT action FROM catalog_actions").fetchall()]
    expected = {a for a in catalog if any(action_matches(p, a) for p in patterns)}
    got_allow = {
        r[0]
        for r in con.execute("SELECT action FROM statement_actions WHERE stmt_idx = 0").fetchall()
    }
    got_not = {
        r[0]
        for r in con.execute("SELECT action FROM statement_actions WHERE stmt_idx = 1").fetchall()
    }
    assert got_allow == expected
    assert got_not == set(catalog) - expected
