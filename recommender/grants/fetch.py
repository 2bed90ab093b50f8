"""``iam fetch``: the same inventory as ``iam load``, straight from AWS with boto3.

IAM: paginated ``GetAccountAuthorizationDetails`` with every filter (roles,
users, groups, customer and AWS managed policies). Organizations: the SCPs
attached to the account and to every OU above it up to the root, each target
being one level of SCP evaluation. Reading SCPs needs Organizations read access
from the management (or a delegated administrator) account; without it the
fetch continues without SCPs and says which permission was missing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from recommender.errors import AwsAccessError
from recommender.grants.agents import AgentConfig
from recommender.grants.authdetails import (
    Inventory,
    ScpDocument,
    apply_scps,
    parse_authorization_details,
)
from recommender.grants.load import LoadResult, _resolve_agent_config, load_inventory

_FILTERS = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}


def _session(profile: str | None, region: str | None) -> Any:
    import boto3
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    try:
        return boto3.Session(profile_name=profile, region_name=region or "us-east-1")
    except (ProfileNotFound, BotoCoreError) as e:
        raise AwsAccessError(f"cannot use AWS profile {profile!r}: {e}") from e


def fetch_authorization_details(session: Any) -> dict[str, Any]:
    """Every page of GetAccountAuthorizationDetails, merged into one document."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    merged: dict[str, list[Any]] = {
        "UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": [],
    }  # fmt: skip
    try:
        iam = session.client("iam")
        for page in iam.get_paginator("get_account_authorization_details").paginate(
            Filter=_FILTERS
        ):
            for key in merged:
                merged[key].extend(page.get(key) or [])
    except NoCredentialsError as e:
        raise AwsAccessError(
            "no AWS credentials found: configure a profile (--profile) or environment "
            "credentials with iam:GetAccountAuthorizationDetails"
        ) from e
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        raise AwsAccessError(
            f"IAM refused GetAccountAuthorizationDetails ({code}): the caller needs "
            "iam:GetAccountAuthorizationDetails (e.g. the SecurityAudit managed policy)"
        ) from e
    except BotoCoreError as e:
        raise AwsAccessError(f"cannot reach IAM: {e}") from e
    return merged


def fetch_scps(session: Any, account_id: str, warn: Callable[[str], None]) -> list[ScpDocument]:
    """SCPs applying to ``account_id``: its own, each parent OU's and the root's."""
    from botocore.exceptions import BotoCoreError, ClientError

    step = "organizations:DescribeOrganization"
    try:
        org = session.client("organizations")
        org.describe_organization()  # AWSOrganizationsNotInUseException when standalone
        step = "organizations:ListParents"
        targets = [account_id]
        child = account_id
        while True:
            parents = org.list_parents(ChildId=child)["Parents"]
            if not parents:
                break
            parent = parents[0]
            targets.append(parent["Id"])
            if parent["Type"] == "ROOT":
                break
            child = parent["Id"]
        out: list[ScpDocument] = []
        contents: dict[str, dict[str, Any]] = {}
        for target in targets:
            step = "organizations:ListPoliciesForTarget"
            pager = org.get_paginator("list_policies_for_target")
            for page in pager.paginate(TargetId=target, Filter="SERVICE_CONTROL_POLICY"):
                for summary in page.get("Policies", []):
                    pid = summary["Id"]
                    if pid not in contents:
                        step = "organizations:DescribePolicy"
                        contents[pid] = org.describe_policy(PolicyId=pid)["Policy"]
                    policy = contents[pid]
                    out.append(
                        ScpDocument(
                            key=f"scp:{pid}",
                            name=summary.get("Name") or pid,
                            arn=summary.get("Arn"),
                            document=policy.get("Content"),
                            level=target,
                            source_uri=f"aws://organizations/{pid}",
                        )
                    )
        return out
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code == "AWSOrganizationsNotInUseException":
            warn(f"account {account_id} is not in an AWS Organization: no SCPs apply")
        elif code == "AccountNotFoundException":
            warn(f"account {account_id} is not visible in the organization: no SCPs read")
        elif code in _DENIED or "AccessDenied" in code:
            warn(
                f"skipping SCPs: {step} was denied ({code}); SCPs can be read from the "
                "management account or a delegated administrator (or pass --no-scp)"
            )
        else:
            warn(f"skipping SCPs: {step} failed ({code}: {e})")
        return []
    except BotoCoreError as e:
        warn(f"skipping SCPs: cannot reach Organizations ({e})")
        return []


def fetch_from_aws(
    con: duckdb.DuckDBPyConnection,
    profile: str | None = None,
    region: str | None = None,
    scp: bool = True,
    agent_config: AgentConfig | str | Path | None = None,
    warn: Callable[[str], None] | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> LoadResult:
    """Fetch the caller's account IAM (and SCPs) with boto3 and load it like a file."""
    warnings: list[str] = []

    def _warn(message: str) -> None:
        warnings.append(message)
        if warn:
            warn(message)

    config = _resolve_agent_config(agent_config)
    session = _session(profile, region)
    data = fetch_authorization_details(session)
    inv = Inventory()
    account = None
    for p in data["RoleDetailList"] + data["UserDetailList"]:
        parts = str(p.get("Arn", "")).split(":")
        if len(parts) > 4 and parts[4]:
            account = parts[4]
            break
    source = f"aws://iam/{account or 'unknown'}"
    parse_authorization_details(data, source, inv, config)
    if scp and account:
        apply_scps(inv, fetch_scps(session, account, _warn), {account})
    inv.warnings[:0] = warnings
    return load_inventory(con, inv, [source], progress)
