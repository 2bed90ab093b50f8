"""The tool's own least-privilege policy (docs/tool-policy.json) covers every AWS call the
package makes: the source is scanned (AST) for boto3 client method calls and paginators, each
is turned into its IAM action, and each action must be allowed by a statement of the policy."""

from __future__ import annotations

import ast
import json
import re
from fnmatch import fnmatchcase
from pathlib import Path

import botocore.session
from botocore import xform_name

from recommender.mapping import read_rules

PACKAGE = Path(__file__).resolve().parent.parent / "recommender"
POLICY = Path(__file__).resolve().parent.parent / "docs" / "tool-policy.json"
# IAM prefix of a botocore service name, where they differ.
IAM_PREFIX = {"s3": "s3", "iam": "iam", "organizations": "organizations", "athena": "athena"}
# Client methods that are not API operations.
NOT_API = {"get_paginator", "get_waiter", "can_paginate", "close", "generate_presigned_url"}


def _operations(service: str) -> dict[str, str]:
    """snake_case method name -> API operation name, from botocore's own service model."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def _services(tree: ast.AST) -> set[str]:
    """Services of the clients a module creates: any ``<x>.client("svc", ...)`` call."""
    out = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "client" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            out.add(node.args[0].value)
    return out


def aws_calls() -> dict[str, set[str]]:
    """API operations called anywhere in the package, per botocore service, with where."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        services = _services(tree)
        if not services:
            continue
        ops = {svc: _operations(svc) for svc in services}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            if name == "get_paginator" and node.args and isinstance(node.args[0], ast.Constant):
                name = node.args[0].value
            elif name in NOT_API:
                continue
            for svc, table in ops.items():
                if name in table:
                    found.setdefault(f"{svc}:{table[name]}", set()).add(
                        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def iam_action(call: str) -> str:
    """``s3:ListObjectsV2`` -> ``s3:ListBucket``: the mapping stage's renamed rules, else same name."""
    service, op = call.split(":")
    prefix = IAM_PREFIX.get(service, service)
    renamed = [r["action"] for r in read_rules()
               if r["event_source"] == f"{service}.amazonaws.com" and r["event_name"] == op
               and r["rule"] == "renamed" and not r.get("when_param")]
    return renamed[0] if renamed else f"{prefix}:{op}"


def _allowed() -> list[str]:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    actions: list[str] = []
    for st in policy["Statement"]:
        assert st["Effect"] == "Allow"
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        actions.extend(acts)
    return actions


def test_the_scan_finds_the_known_calls() -> None:
    calls = aws_calls()
    # A scan that finds nothing would pass vacuously: these are certainly made.
    assert {"s3:ListObjectsV2", "s3:GetObject", "iam:GetAccountAuthorizationDetails",
            "athena:StartQueryExecution", "athena:GetQueryResults"} <= set(calls)


def test_every_aws_call_is_covered_by_the_tool_policy() -> None:
    allowed = _allowed()
    missing = []
    for call, where in sorted(aws_calls().items()):
        action = iam_action(call)
        if not any(fnmatchcase(action.lower(), a.lower()) for a in allowed):
            missing.append(f"{action} (boto3 {call} at {', '.join(sorted(where))})")
    assert not missing, "docs/tool-policy.json does not allow: " + "; ".join(missing)


def test_the_tool_policy_is_read_only() -> None:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    for st in policy["Statement"]:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        for action in acts:
            assert "*" not in action, f"{st['Sid']}: wildcard action {action}"
            verb = action.split(":")[1]
            if re.match(r"(Put|Delete|Create|Update|Attach|Detach|Abort|Tag|Untag)", verb):
                # Athena writes query results; nothing else may write.
                assert st["Sid"] == "AthenaQueryResults", f"{st['Sid']}: write action {action}"
