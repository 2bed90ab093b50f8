"""`recommender map`: which IAM actions a CloudTrail call needs, and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recommender import mapping
from recommender.cli.base import db_option, emit, format_option, main
from recommender.db import connect


def _one(result: dict[str, Any]) -> None:
    click.echo(
        f"{result['event_source']} {result['event_name']}  "
        f"(IAM prefix: {result['prefix'] or 'unknown'}; rule: {result['rule']})"
    )
    if not result["rules"]:
        click.echo(f"  unmapped: {result['reason']}")
        return
    for r in result["rules"]:
        what = r["action"] or "(no IAM permission needed)"
        extra = []
        if r["resource_kind"]:
            extra.append(f"on {r['resource_kind']}")
        if r["when_param"]:
            extra.append(f"when {r['when_param']}")
        click.echo(f"  {what:<45} {r['rule']:<14} {' '.join(extra)}".rstrip())
        if r["citation"]:
            click.echo(f"      {r['citation']}")


def _all(result: dict[str, Any]) -> None:
    for c in result["calls"]:
        actions = ", ".join(c["actions"]) or (
            "(none needed)" if c["rule"] == "no_permission" else "UNMAPPED"
        )
        click.echo(
            f"{c['calls']:>8}  {c['event_source']} {c['event_name']}: {actions}  [{c['rule']}]"
        )
    cov = result["coverage"]
    share = cov["share_mapped"]
    click.echo(
        f"\n{cov['pairs_mapped']}/{cov['pairs']} (event source, event name) pairs mapped; "
        f"{cov['calls_to_actions']} calls need actions, {cov['calls_no_permission']} need none, "
        f"{cov['calls_unmapped']} unmapped"
        + (f" ({share:.1%} of calls mapped)" if share is not None else "")
    )
    for u in result["unmapped"]:
        click.echo(
            f"  unmapped: {u['event_source']} {u['event_name']} ({u['events']} calls): {u['reason']}"
        )


@main.command("map")
@click.argument("event_source", required=False)
@click.argument("event_name", required=False)
@db_option
@format_option
def map_command(event_source: str | None, event_name: str | None, db: Path, fmt: str) -> None:
    """Show the IAM actions CloudTrail calls need, with the rule and its citation.

    With EVENT_SOURCE and EVENT_NAME: that one call (works without a database).
    Without: every (event source, event name) in the database, its actions and
    call counts, then the pairs no rule maps.

    \b
    Example:
      recommender map s3.amazonaws.com CopyObject
      recommender map --db recommender.duckdb --format json
    """
    if (event_source is None) != (event_name is None):
        raise click.UsageError("give both EVENT_SOURCE and EVENT_NAME, or neither")
    if event_source is not None and event_name is not None:
        # One call needs only the catalog and the rules: an in-memory database will do.
        con = connect(db) if db.exists() else connect(":memory:")
        try:
            emit(fmt, mapping.actions_for(con, event_source, event_name), _one)
        finally:
            con.close()
        return
    con = connect(db)
    try:
        emit(fmt, mapping.map_all(con), _all)
    finally:
        con.close()
