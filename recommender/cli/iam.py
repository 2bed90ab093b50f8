"""`recommender iam load|fetch|show`: what every role is granted, from a file or live AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recommender.cli.base import db_option, emit, format_option, main, note
from recommender.db import connect
from recommender.errors import EXIT_REJECTIONS, RecommenderError


@main.group()
def iam() -> None:
    """Load IAM (roles, users, groups, policies, boundaries, SCPs) and show effective access.

    \b
    Example:
      aws iam get-account-authorization-details > auth.json
      recommender iam load auth.json --scp scps.json
    """


def _print_load(result: Any) -> None:
    c = result.counts
    click.echo(
        f"loaded {len(result.accounts)} account(s) ({', '.join(result.accounts)}): "
        f"{c['roles']} roles ({c['agents']} agent/workload principals), {c['users']} users, "
        f"{c['policies']} policies, {c['statements']} statements"
    )
    click.echo(
        f"grants: {c['grants']} expanded, {c['allowed']} effectively allowed, "
        f"{c['blocked']} blocked; {c['findings']} findings"
    )


def _finish(ctx: click.Context, fmt: str, result: Any) -> None:
    for w in result.warnings:
        note(f"warning: {w}")
    for e in result.errors:
        note(f"error: {e}")
    emit(fmt, result, _print_load)
    if result.errors:
        note(
            f"{len(result.errors)} problem(s) recorded in the iam_load_errors table; the rest loaded"
        )
        ctx.exit(EXIT_REJECTIONS)


agent_config_option = click.option(
    "--agent-config",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="TOML file with [agents] tag_keys / name_patterns / service_principals.",
)


@iam.command("load")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--scp",
    "scp_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="SCP export applied to every principal of the loaded account(s): a policy document, "
    "a list of them, or `aws organizations describe-policy` output. Repeatable.",
)
@agent_config_option
@db_option
@format_option
@click.pass_context
def load_cmd(
    ctx: click.Context,
    files: tuple[Path, ...],
    scp_files: tuple[Path, ...],
    agent_config: Path | None,
    db: Path,
    fmt: str,
) -> None:
    """Load `aws iam get-account-authorization-details` output (one file per account).

    Expands every policy against the IAM catalog and evaluates effective access
    (Deny, permissions boundaries, SCPs). Exit code 3 when some policy or file was
    rejected (see the iam_load_errors table); the rest is loaded.

    \b
    Example:
      recommender iam load prod.json staging.json --scp scps.json --agent-config agents.toml
    """
    from recommender.grants import load_authorization_details

    con = connect(db)
    result = load_authorization_details(con, list(files), list(scp_files), agent_config)
    _finish(ctx, fmt, result)


@iam.command("fetch")
@click.option(
    "--profile", default=None, help="AWS profile to use (default: the usual credential chain)."
)
@click.option("--region", default=None, help="Region for the API endpoints (IAM is global).")
@click.option("--no-scp", "no_scp", is_flag=True, help="Do not read Organizations SCPs.")
@agent_config_option
@db_option
@format_option
@click.pass_context
def fetch_cmd(
    ctx: click.Context,
    profile: str | None,
    region: str | None,
    no_scp: bool,
    agent_config: Path | None,
    db: Path,
    fmt: str,
) -> None:
    """Fetch the account's IAM with boto3 (GetAccountAuthorizationDetails) and its SCPs.

    Needs iam:GetAccountAuthorizationDetails; SCPs need organizations:ListParents,
    ListPoliciesForTarget and DescribePolicy (skipped with a warning otherwise).

    \b
    Example:
      recommender iam fetch --profile audit
    """
    from recommender.grants import fetch_from_aws

    con = connect(db)
    result = fetch_from_aws(
        con, profile=profile, region=region, scp=not no_scp, agent_config=agent_config, warn=note
    )
    _finish(ctx, fmt, result)


def _print_show(r: dict[str, Any]) -> None:
    p = r["principal"]
    click.echo(f"{p['principal_type']} {p['name']}  {p['principal_arn']}")
    if p["is_agent"]:
        click.echo(f"  agent/workload: {p['agent_reason']}")
    if p["boundary_arn"]:
        click.echo(f"  permissions boundary: {p['boundary_arn']}")
    for pol in r["policies"]:
        level = f" at {pol['scp_level']}" if pol["scp_level"] else ""
        click.echo(f"  policy {pol['name']} ({pol['kind']}, via {pol['via']}{level})")
    s = r["summary"]
    click.echo(
        f"  {s['allowed_actions']} actions allowed in {s['services']} services "
        f"({s['conditional_only_actions']} only under conditions); {s['blocked_grants']} grants blocked"
    )
    for svc in r["services"]:
        click.echo(svc["service"])
        for level in svc["access_levels"]:
            click.echo(f"  {level['access_level']}")
            for a in level["actions"]:
                for g in a["grants"]:
                    res = g["resource_pattern"]
                    if g["except_resources"]:
                        res += f" except {' '.join(g['except_resources'])}"
                    cond = " [conditional]" if g["conditional"] else ""
                    note_ = f"  ({g['reason']})" if g["reason"] else ""
                    click.echo(
                        f"    {a['action']}  {res}  <- {g['policy_name']}#{g['stmt_idx']}{cond}{note_}"
                    )
    if r["findings"]:
        click.echo("findings")
        for f in r["findings"]:
            where = f" [{f['policy_key']}#{f['stmt_idx']}]" if f["policy_key"] else ""
            click.echo(f"  {f['severity']:<6} {f['kind']}: {f['detail']}{where}")


@iam.command("show")
@click.argument("role")
@db_option
@format_option
def show_cmd(role: str, db: Path, fmt: str) -> None:
    """What ROLE (a name or ARN) is effectively allowed to do, by service and access level.

    Each action lists the policy and statement it comes from; blocked grants and
    findings follow.

    \b
    Example:
      recommender iam show bedrock-agent-support --format json
    """
    from recommender.grants import show_principal

    if not db.exists():
        raise RecommenderError(
            f"database {db} does not exist; run `recommender iam load FILE` first"
        )
    # Not read_only: DuckDB refuses a read-only handle next to a read-write one in the
    # same process (tests, notebooks), and show writes nothing anyway.
    con = connect(db)
    emit(fmt, show_principal(con, role), _print_show)
