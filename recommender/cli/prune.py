"""`recommender prune`: retention for the events table; the aggregates stay."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from recommender.cli.base import as_of_option, db_option, emit, format_option, main
from recommender.db import connect
from recommender.runs import PruneResult, parse_days, prune


def _human(r: PruneResult) -> None:
    verb = "Would delete" if r.dry_run else "Deleted"
    click.echo(f"{verb} {r.events} event(s) older than {r.cutoff:%Y-%m-%d} and {r.rejects} reject(s); "
               f"kept {r.events_kept} event(s), {r.usage_daily_rows} usage_daily and "
               f"{r.sessions_daily_rows} sessions_daily rows")
    if not r.dry_run and r.db_bytes_before is not None and r.db_bytes_after is not None:
        click.echo(f"Database size: {r.db_bytes_before / 2**20:.1f} MiB -> {r.db_bytes_after / 2**20:.1f} MiB")


@main.command("prune")
@click.option("--keep", required=True, help="Keep events of the last N days (e.g. 400d).")
@click.option("--dry-run", is_flag=True, help="Only count what would be deleted.")
@as_of_option
@db_option
@format_option
def prune_command(keep: str, dry_run: bool, as_of: date | None, db: Path, fmt: str) -> None:
    """Delete events older than --keep; keep usage_daily/sessions_daily and the history.

    The cutoff counts back from --as-of (default: today, UTC). Files already read
    stay recorded in ingest_files, so pruned events are never ingested twice.

    \b
    Example:
      recommender prune --keep 400d --dry-run
    """
    try:
        days = parse_days(keep, "--keep")
    except Exception as e:
        raise click.BadParameter(str(e), param_hint="--keep") from e
    con = connect(db)
    try:
        result = prune(con, days, as_of=as_of, dry_run=dry_run)
    finally:
        con.close()
    emit(fmt, result, _human)
