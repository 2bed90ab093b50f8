"""`recommender history`: the recorded `recommender run` jobs, newest first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recommender.cli.base import db_option, emit, format_option, main
from recommender.db import connect
from recommender.runs import history


def _human(rows: list[dict[str, Any]]) -> None:
    if not rows:
        click.echo("No runs recorded yet (`recommender run --config recommender.toml`).")
        return
    click.echo(f"{'RUN':>4}  {'STARTED':<19}  {'STATUS':<17} {'AS OF':<10} {'WINDOW':>6} "
               f"{'NEW EVENTS':>10} {'GRANTED':>7} {'USED':>5} {'UNUSED':>6} {'NEVER':>5}  OUTPUT")
    for r in rows:
        ing = (r.get("counts") or {}).get("ingest") or {}
        click.echo(
            f"{r['run_id']:>4}  {str(r['started_at']):<19}  {r['status']:<17} "
            f"{str(r['as_of'] or '-'):<10} {str(r['window_days']) + 'd':>6} "
            f"{ing.get('stored', '-')!s:>10} {r['granted'] if r['granted'] is not None else '-'!s:>7} "
            f"{r['used'] if r['used'] is not None else '-'!s:>5} "
            f"{r['unused'] if r['unused'] is not None else '-'!s:>6} "
            f"{r['never_needed'] if r['never_needed'] is not None else '-'!s:>5}  {r['out_dir']}")
        if r.get("error"):
            click.echo(f"      error: {r['error']}")
        for role in r.get("roles", []):
            click.echo(f"      {role['principal_arn']}: {role['granted']} granted, {role['used']} used, "
                       f"{role['unused']} unused, {role['never_needed']} never needed")


@main.command("history")
@db_option
@click.option("--limit", default=50, show_default=True, help="How many runs to list.")
@click.option("--roles", is_flag=True, help="Also list per-role counts of each run.")
@format_option
def history_command(db: Path, limit: int, roles: bool, fmt: str) -> None:
    """List the recorded monthly runs with their status, window and counts.

    \b
    Example:
      recommender history --roles --format json
    """
    con = connect(db, read_only=True)
    try:
        rows = history(con, limit=limit, roles=roles)
    finally:
        con.close()
    emit(fmt, {"runs": rows} if fmt == "json" else rows, _human)
