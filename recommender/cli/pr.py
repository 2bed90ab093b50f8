"""`recommender pr`: apply a recommendation to an IaC repository as a git branch."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from recommender.cli.base import (
    as_of_option,
    db_option,
    echo_json,
    format_option,
    main,
    note,
    role_option,
    window_option,
)
from recommender.errors import ConfigError, RecommenderError


def _load_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror}") from e
    except ValueError as e:
        raise ConfigError(f"{what} {path} is not valid JSON: {e}") from e


def _from_db(
    db: Path, window_days: int, as_of: date | None, role_pattern: str | None
) -> dict[str, Any]:
    try:
        from recommender.recommend import build_recommendation  # type: ignore[attr-defined]
    except ImportError as e:
        raise RecommenderError(
            "the recommend stage is not available in this installation; run "
            "`recommender recommend --out DIR` and pass --recommendation DIR/recommendation.json"
        ) from e
    from recommender.db import connect

    con = connect(db)
    try:
        return build_recommendation(con, window_days, as_of, role_pattern)
    finally:
        con.close()


@main.command("pr")
@click.option(
    "--repo",
    "repo",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Git checkout of the IaC repository (Terraform, CloudFormation, policy JSON).",
)
@click.option(
    "--recommendation",
    "recommendation",
    type=click.Path(dir_okay=False, path_type=Path),
    help="recommendation.json written by `recommender recommend --out DIR`; "
    "without it the recommendation is computed from --db.",
)
@db_option
@window_option
@as_of_option
@role_option
@click.option(
    "--branch", default=None, help="New branch name [default: recommender/least-privilege-<as-of>]."
)
@click.option(
    "--base", default="main", show_default=True, help="Branch or commit the PR starts from."
)
@click.option("--push", is_flag=True, help="Push the branch to the remote.")
@click.option("--remote", default="origin", show_default=True, help="Remote for --push / --open.")
@click.option(
    "--open", "open_pr", is_flag=True, help="Open the PR with the GitHub CLI `gh` (implies --push)."
)
@click.option("--dry-run", is_flag=True, help="Print the patch; change nothing.")
@click.option(
    "--one-commit", is_flag=True, help="One commit for all roles instead of one per role."
)
@click.option(
    "--description-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the PR description [default: .git/recommender/<branch>.md].",
)
@click.option(
    "--tf-state",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="`terraform show -json` output, to match roles whose names Terraform computes.",
)
@format_option
def pr_command(
    repo: Path,
    recommendation: Path | None,
    db: Path,
    window_days: int,
    as_of: date | None,
    role_pattern: str | None,
    branch: str | None,
    base: str,
    push: bool,
    remote: str,
    open_pr: bool,
    dry_run: bool,
    one_commit: bool,
    description_out: Path | None,
    tf_state: Path | None,
    fmt: str,
) -> None:
    """Rewrite the IAM policies in an IaC repository to the recommendation, on a new branch.

    Finds each role's policies in Terraform, CloudFormation or policy JSON files,
    edits only the policy text, and commits one commit per role on a new branch
    made in a separate worktree (your checkout is not touched). What cannot be
    edited safely is listed under "manual change needed" in the PR description.

    \b
    Example:
      recommender pr --repo ../infra --recommendation out/recommendation.json --dry-run
      recommender pr --repo ../infra --recommendation out/recommendation.json --push --open
    """
    from recommender.render.iac import create_pull_request

    if recommendation is not None:
        rec = _load_json(recommendation, "recommendation")
    else:
        rec = _from_db(db, window_days, as_of, role_pattern)
    state = _load_json(tf_state, "Terraform state") if tf_state else None
    result = create_pull_request(
        repo,
        rec,
        branch=branch,
        base=base,
        per_role_commits=not one_commit,
        push=push,
        remote=remote,
        open_pr=open_pr,
        dry_run=dry_run,
        role_pattern=role_pattern,
        tf_state=state,
        description_out=description_out,
    )
    for message in result.messages:
        note(message)
    if fmt == "json":
        echo_json(result.to_dict())
        return
    if dry_run:
        click.echo(result.patch, nl=False)
        note(
            f"dry run: {len(result.files)} file(s) would change, {len(result.manual)} manual change(s); nothing written"
        )
        return
    if result.commits:
        click.echo(
            f"branch {result.branch} (from {result.base}): {len(result.commits)} commit(s), {len(result.files)} file(s)"
        )
        for c in result.commits:
            click.echo(f"  {c.sha[:12]} {c.subject}")
    if result.manual:
        click.echo(f"manual change needed: {len(result.manual)}")
        for m in result.manual:
            click.echo(f"  {m.role}{' / ' + m.policy if m.policy else ''}: {m.reason}")
    if result.description_path:
        click.echo(f"PR description: {result.description_path}")
    if result.pushed:
        click.echo(f"pushed to {result.remote}")
    if result.pr_url:
        click.echo(f"pull request: {result.pr_url}")
