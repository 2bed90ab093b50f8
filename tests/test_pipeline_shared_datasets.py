"""The whole pipeline on the real CloudTrail records in ../shared/datasets.

The records come with no IAM, so this test writes an over-broad
`get-account-authorization-details` file per account for the roles that made the most
kinds of call there: `*`, a service list with a Deny, NotAction, and a customer managed
policy next to an inline one. Then iam load, analyze, recommend and report run through
the CLI, and what must hold on any input is checked with an evaluator written here, not
the tool's own:

* every call a role made with success in the window is still allowed by its
  recommended documents, on the resource it touched;
* no recommended document allows an action the role's current documents did not, and
  every Deny stays;
* the report renders, with a section for each role.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from recommender.cli import main
from recommender.db import connect
from recommender.ingest import ingest

ROLES = 12  # the roles with the most kinds of successful call; all 85 take minutes
WINDOW = "5000d"  # the records span 2014 to 2026


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


SERVICES = ["s3:*", "ec2:Describe*", "iam:*", "sts:*", "kms:*", "logs:*", "cloudtrail:*", "ssm:*"]
SHAPES: list[dict[str, Any]] = [
    {"inline": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})},
    {"inline": _doc({"Effect": "Allow", "Action": SERVICES, "Resource": "*"},
                    {"Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*"})},
    {"inline": _doc({"Effect": "Allow", "NotAction": ["organizations:*", "account:*"], "Resource": "*"})},
    {"inline": _doc({"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}),
     "managed": _doc({"Effect": "Allow", "Action": ["ec2:*", "iam:Get*", "iam:List*", "sts:*"], "Resource": "*"})},
]  # fmt: skip

ROLE_ARN = re.compile(r"^arn:aws:iam::(\d{12}):role(/(?:[^/]+/)*)([^/]+)$")


def _authorization_details(roles: list[str]) -> dict[str, dict[str, Any]]:
    """account -> authorization details with each role under one of SHAPES (by index)."""
    out: dict[str, dict[str, Any]] = {}
    for i, arn in enumerate(roles):
        account, path, name = ROLE_ARN.match(arn).groups()  # type: ignore[union-attr]
        shape = SHAPES[i % len(SHAPES)]
        details = out.setdefault(
            account,
            {"RoleDetailList": [], "UserDetailList": [], "GroupDetailList": [], "Policies": []},
        )
        attached = []
        if "managed" in shape:
            policy_arn = f"arn:aws:iam::{account}:policy/{name}-managed"
            attached.append({"PolicyName": f"{name}-managed", "PolicyArn": policy_arn})
            details["Policies"].append({
                "PolicyName": f"{name}-managed", "Arn": policy_arn, "Path": "/", "DefaultVersionId": "v2",
                "AttachmentCount": 1, "IsAttachable": True,
                "PolicyVersionList": [
                    {"VersionId": "v1", "IsDefaultVersion": False,
                     "Document": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})},
                    {"VersionId": "v2", "IsDefaultVersion": True, "Document": shape["managed"]},
                ],
            })  # fmt: skip
        details["RoleDetailList"].append({
            "RoleName": name, "Arn": arn, "Path": path, "RoleId": f"AROA{i:017d}",
            "CreateDate": "2014-01-01T00:00:00Z", "Tags": [], "InstanceProfileList": [],
            "AssumeRolePolicyDocument": _doc({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                               "Action": "sts:AssumeRole"}),
            "RolePolicyList": [{"PolicyName": "broad", "PolicyDocument": shape["inline"]}],
            "AttachedManagedPolicies": attached,
        })  # fmt: skip
    return out


# ---- an IAM evaluator of its own: Allow/Deny, Action/NotAction, Resource/NotResource ----


@lru_cache(maxsize=None)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def _list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _action_matches(statement: dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_glob(p, True).match(action) for p in _list(statement["NotAction"]))
    return any(_glob(p, True).match(action) for p in _list(statement.get("Action")))


def _resource_matches(statement: dict[str, Any], resource: str | None) -> bool:
    """resource None: a call whose resource is unknown, which only `*` surely covers."""
    if "NotResource" in statement:
        if resource is None:
            return False
        return not any(_glob(p, False).match(resource) for p in _list(statement["NotResource"]))
    patterns = _list(statement.get("Resource"))
    if resource is None:
        return "*" in patterns
    return any(_glob(p, False).match(resource) for p in patterns)


def _statements(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        s
        for d in docs
        for s in ([d["Statement"]] if isinstance(d["Statement"], dict) else d["Statement"])
    ]


def allows(docs: list[dict[str, Any]], action: str, resource: str | None) -> bool:
    statements = _statements(docs)
    for s in statements:
        if (
            s["Effect"] == "Deny"
            and _action_matches(s, action)
            and (resource is None or _resource_matches(s, resource))
        ):
            return False
    return any(
        s["Effect"] == "Allow"
        and "Condition" not in s
        and _action_matches(s, action)
        and _resource_matches(s, resource)
        for s in statements
    )


def allows_somewhere(docs: list[dict[str, Any]], action: str) -> bool:
    """Some Allow names the action on some resource, and no Deny on every resource blocks it."""
    statements = _statements(docs)
    if any(s["Effect"] == "Deny" and "Condition" not in s and _action_matches(s, action)
           and "*" in _list(s.get("Resource")) for s in statements):  # fmt: skip
        return False
    return any(s["Effect"] == "Allow" and _action_matches(s, action) for s in statements)


def test_the_evaluator_here() -> None:
    """The checks below are only as good as this evaluator (no datasets needed)."""
    docs = [_doc({"Effect": "Allow", "Action": ["s3:Get*", "iam:*"], "Resource": "arn:aws:s3:::b/*"},
                 {"Effect": "Allow", "Action": "ec2:describe*", "Resource": "*"},
                 {"Effect": "Allow", "NotAction": "sqs:*", "NotResource": "arn:aws:sns:*:*:secret"},
                 {"Effect": "Deny", "Action": "iam:Create*", "Resource": "*"})]  # fmt: skip
    assert allows(docs, "s3:GetObject", "arn:aws:s3:::b/k")
    assert allows(docs, "ec2:DescribeInstances", None)  # actions match case-insensitively
    assert not allows(docs, "iam:CreateRole", "arn:aws:s3:::b/k")  # Deny wins
    assert not allows(docs, "iam:CreateRole", None)
    assert allows(docs, "sns:Publish", "arn:aws:sns:us-east-1:1:topic")  # NotAction, NotResource
    assert not allows(docs, "sns:Publish", "arn:aws:sns:us-east-1:1:secret")
    assert not allows(docs, "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:q")
    assert not allows(docs, "s3:PutObject", None)  # an unknown resource needs `*`
    only_s3 = [_doc(docs[0]["Statement"][0])]
    assert not allows(only_s3, "s3:GetObject", "arn:aws:s3:::B/k")  # resources are case-sensitive
    assert allows_somewhere(docs, "s3:GetObject") and not allows_somewhere(docs, "iam:CreateUser")
    assert not allows_somewhere(docs, "sqs:SendMessage")
    conditional = [_doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                         "Condition": {"Bool": {"aws:SecureTransport": "true"}}})]  # fmt: skip
    assert not allows(conditional, "s3:GetObject", None)  # not surely allowed


# ---- the pipeline, once for the module ----


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def pipeline(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("shared-pipeline")
    db = tmp / "shared.duckdb"
    con = connect(db)
    ingest(con, [shared_datasets])
    roles = [
        r[0]
        for r in con.execute(
            "SELECT principal_arn FROM events WHERE regexp_matches(principal_arn, ?) AND error_code IS NULL "
            "GROUP BY principal_arn ORDER BY count(DISTINCT (event_source, event_name)) DESC, principal_arn "
            "LIMIT ?",
            [ROLE_ARN.pattern, ROLES],
        ).fetchall()
    ]
    con.close()
    details = _authorization_details(roles)
    files = []
    for account, doc in details.items():
        path = tmp / f"auth-{account}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        files.append(str(path))
    steps = {
        "iam": _cli("iam", "load", *files, "--db", str(db)),
        "analyze": _cli("analyze", "--db", str(db), "--window", WINDOW, "--format", "json"),
        "recommend": _cli("recommend", "--db", str(db), "--window", WINDOW, "--out", str(tmp / "recs"),
                          "--format", "json"),
        "report": _cli("report", "--db", str(db), "--window", WINDOW, "--out", str(tmp / "report.html"),
                       "--recommendation", str(tmp / "recs" / "recommendation.json")),
    }  # fmt: skip
    return {"db": db, "roles": roles, "details": details, "steps": steps, "tmp": tmp}


def _current_documents(details: dict[str, dict[str, Any]], arn: str) -> list[dict[str, Any]]:
    account = ROLE_ARN.match(arn).group(1)  # type: ignore[union-attr]
    doc = details[account]
    role = next(r for r in doc["RoleDetailList"] if r["Arn"] == arn)
    managed = {p["Arn"]: p for p in doc["Policies"]}
    docs = [p["PolicyDocument"] for p in role["RolePolicyList"]]
    for attached in role["AttachedManagedPolicies"]:
        policy = managed[attached["PolicyArn"]]
        docs += [v["Document"] for v in policy["PolicyVersionList"] if v["IsDefaultVersion"]]
    return docs


def _recommended(pipeline: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """role ARN -> the documents the role would have after the recommendation."""
    rec = json.loads((pipeline["tmp"] / "recs" / "recommendation.json").read_text(encoding="utf-8"))
    out: dict[str, list[dict[str, Any]]] = {}
    for role in rec["roles"]:
        docs = [
            p["recommended_document"] for p in role["policies"] if p.get("recommended_document")
        ]
        docs += [p["document"] for p in role.get("new_policies", [])]
        out[role["principal_arn"]] = docs
    return out


def test_every_stage_runs_on_the_real_records(pipeline: dict[str, Any]) -> None:
    steps = pipeline["steps"]
    for name, result in steps.items():
        assert result.exit_code == 0, f"{name}: exit {result.exit_code}\n{result.output}"
    assert len(pipeline["roles"]) == ROLES
    analysis = json.loads(steps["analyze"].stdout)
    analysed = {r["principal_arn"] for r in analysis["principals"]}
    assert set(pipeline["roles"]) <= analysed
    recommended = _recommended(pipeline)
    assert set(recommended) == set(pipeline["roles"])
    # Role names recur across the datasets' accounts (Admin, SampleRole): the summary
    # names each role by ARN and account too.
    summary = json.loads(steps["recommend"].stdout)["roles"]
    assert sorted(r["principal_arn"] for r in summary) == sorted(pipeline["roles"])
    assert all(r["principal_arn"].split(":")[4] == r["account_id"] for r in summary)


def test_no_successful_call_is_broken(pipeline: dict[str, Any]) -> None:
    con = duckdb.connect(str(pipeline["db"]), read_only=True)
    calls = con.execute(
        "SELECT DISTINCT principal_arn, action, resource_arn FROM observed_actions "
        "WHERE outcome = 'ok' AND list_contains(?, principal_arn) ORDER BY ALL",
        [pipeline["roles"]],
    ).fetchall()
    con.close()
    recommended = _recommended(pipeline)
    checked, broken = 0, []
    for arn, action, resource in calls:
        current = _current_documents(pipeline["details"], arn)
        if not allows(current, action, resource):
            continue  # not allowed today either (e.g. outside the service list)
        checked += 1
        if not allows(recommended[arn], action, resource):
            broken.append((arn, action, resource))
    assert checked > 50  # not vacuous: 69 calls on the datasets of November 2026
    assert not broken, broken[:20]


def test_nothing_is_added_and_every_deny_stays(pipeline: dict[str, Any]) -> None:
    con = duckdb.connect(str(pipeline["db"]), read_only=True)
    catalog = [r[0] for r in con.execute("SELECT action FROM catalog_actions").fetchall()]
    con.close()
    recommended = _recommended(pipeline)
    for arn in pipeline["roles"]:
        current = _current_documents(pipeline["details"], arn)
        after = recommended[arn]
        added = [
            a for a in catalog if allows_somewhere(after, a) and not allows_somewhere(current, a)
        ]
        assert not added, (arn, added[:10])
        denies = [s for s in _statements(current) if s["Effect"] == "Deny"]
        for deny in denies:
            for action in _list(deny["Action"]):
                assert not allows_somewhere(after, action), (arn, action)
        kept = [a for a in catalog if allows_somewhere(after, a)]
        assert len(kept) < len([a for a in catalog if allows_somewhere(current, a)]), arn


def test_the_report_has_a_section_per_role(pipeline: dict[str, Any]) -> None:
    html = (pipeline["tmp"] / "report.html").read_text(encoding="utf-8")
    for arn in pipeline["roles"]:
        assert arn in html, arn
    assert "<script>alert" not in html
