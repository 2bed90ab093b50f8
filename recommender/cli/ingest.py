"""`recommender ingest`: CloudTrail files and folders into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recommender.cli.base import Progress, db_option, emit, format_option, main, note, parse_date
from recommender.db import connect
from recommender.errors import EXIT_ERROR, EXIT_REJECTIONS, RecommenderError
from recommender.ingest import IngestResult, ingest, rebuild_aggregates
from recommender.s3source import is_s3_url, s3_client, s3_sources
from recommender.sources import SourceFile, local_files


def database_table(database: str, table: str) -> str:
    return f"{database}.{table}"


def _human(result: IngestResult) -> None:
    click.echo(
        f"Read {result.files} file(s) ({result.unchanged_files} unchanged, not read again): "
        f"{result.records} records = {result.stored} stored + {result.duplicates} duplicates + "
        f"{result.rejected} rejected"
    )
    if result.failed_files:
        click.echo(f"Could not read {result.failed_files} file(s) or folder(s); the next run tries them again:")
        for f in result.file_results:
            if f.status == "failed":
                click.echo(f"  {f.uri}: {f.reason}")
    if result.skipped_files or result.skipped_records:
        click.echo(f"Skipped {result.skipped_files} file(s) and {result.skipped_records} record(s):")
        for f in result.file_results:
            if f.status == "skipped" or f.skipped_records:
                click.echo(f"  {f.uri}: {f.reason}")
    if result.rejected:
        click.echo(f"Rejected records are in the rejects table (run_id {result.run_id}):")
        for f in result.file_results:
            if f.rejected:
                click.echo(f"  {f.uri}: {f.rejected} rejected")


@main.command("ingest")
@click.argument("paths", nargs=-1, type=str)
@db_option
@click.option("--strict", is_flag=True,
              help="Fail (exit 1) on the first rejected record or unreadable file.")
@click.option("--rebuild-aggregates", "rebuild", is_flag=True,
              help="Recompute usage_daily and sessions_daily from stored events (no PATH needed).")
@click.option("--since", default=None, callback=parse_date,
              help="S3/Athena: first day (YYYY-MM-DD, UTC day folders) to read.")
@click.option("--until", default=None, callback=parse_date,
              help="S3/Athena: last day (inclusive) to read.")
@click.option("--account", "accounts", multiple=True,
              help="S3/Athena: only this account id (repeatable).")
@click.option("--region", "regions", multiple=True, help="S3/Athena: only this region (repeatable).")
@click.option("--profile", default=None, envvar="AWS_PROFILE",
              help="AWS profile for S3/Athena (default: the standard credential chain).")
@click.option("--engine", type=click.Choice(["local", "athena"]), default="local", show_default=True,
              help="local: read files/objects here; athena: aggregate the trail table in Athena.")
@click.option("--athena-database", default=None, help="Athena: database of the CloudTrail table.")
@click.option("--athena-table", default=None, help="Athena: the CloudTrail table (standard DDL).")
@click.option("--athena-output", default=None, help="Athena: s3:// location for query results.")
@click.option("--athena-workgroup", default=None, help="Athena: workgroup (default: primary).")
@format_option
def ingest_command(paths: tuple[str, ...], db: Path, strict: bool, rebuild: bool,
                   since: Any, until: Any, accounts: tuple[str, ...], regions: tuple[str, ...],
                   profile: str | None, engine: str, athena_database: str | None,
                   athena_table: str | None, athena_output: str | None,
                   athena_workgroup: str | None, fmt: str) -> None:
    """Read CloudTrail files, folders (recursively) or S3 prefixes into the database.

    Accepts S3 delivery files (.json/.json.gz, AWSLogs/... layout), JSON Lines,
    JSON arrays, EventBridge envelopes and `aws cloudtrail lookup-events` output.
    s3://bucket/prefix/ walks the CloudTrail key layout
    (AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/), pruned by
    --since/--until/--account/--region, and streams each object (standard AWS
    credentials; AWS_ENDPOINT_URL honoured); s3://bucket/key.json.gz reads one
    object. Files already read with the same size and mtime (S3: ETag) are not
    read again; records are deduplicated by eventID.
    --engine athena aggregates the trail's Athena table into usage_daily instead.
    Exit 0 when everything was stored or skipped with a reason, 3 when some
    records were rejected (see the rejects table), 1 on error or when a file or
    folder could not be read (the rest is read; the next run tries it again).

    \b
    From S3, and at organisation scale through Athena:
      recommender ingest s3://my-trail/AWSLogs/ --since 2026-10-01 --region us-east-1
      recommender ingest --engine athena --athena-database default \\
          --athena-table cloudtrail_logs --athena-output s3://athena-results/recommender/

    \b
    Example:
      recommender ingest sample_logs/ --db recommender.duckdb
    """
    if engine == "athena":
        from recommender.athena import athena_ingest

        if not (athena_database and athena_table and athena_output):
            raise RecommenderError("--engine athena needs --athena-database, --athena-table and "
                                   "--athena-output (an s3:// folder for query results)")
        con = connect(db)
        try:
            aresult = athena_ingest(con, database=athena_database, table=athena_table,
                                    output=athena_output, since=since, until=until,
                                    accounts=accounts, regions=regions,
                                    workgroup=athena_workgroup, profile=profile,
                                    progress=note if fmt != "json" else None)
        finally:
            con.close()
        emit(fmt, aresult, lambda r: click.echo(
            f"Athena: {r.usage_rows} usage_daily rows ({r.calls} calls) and {r.session_rows} "
            f"sessions_daily rows from {database_table(athena_database, athena_table)}"))
        return
    if rebuild and paths:
        raise click.UsageError("--rebuild-aggregates takes no PATH: ingest keeps the aggregates up "
                               "to date; run the rebuild on its own")
    if not rebuild and not paths:
        raise click.UsageError("give at least one file or folder to ingest "
                               "(e.g. `recommender ingest sample_logs/`)")
    # Listed before the database is opened: a wrong path creates no database file.
    sources: list[SourceFile] = list(local_files(Path(p) for p in paths if not is_s3_url(p)))
    remote = [p for p in paths if is_s3_url(p)]
    filters = bool(since or until or accounts or regions)
    if paths and not remote and filters:
        note("warning: --since/--until/--account/--region select S3 objects and Athena rows; "
             "local files are read whole")
    con = connect(db)
    try:
        if rebuild:
            counts = rebuild_aggregates(con)
            emit(fmt, counts, lambda c: click.echo(
                f"Rebuilt aggregates from {c['events']} events: {c['usage_daily_rows']} usage_daily "
                f"rows, {c['sessions_daily_rows']} sessions_daily rows"))
            return
        if remote:
            client = s3_client(profile)
            filtered = " that match --since/--until/--account/--region" if filters else ""
            for url in remote:
                found = list(s3_sources(url, since, until, accounts, regions, client=client))
                if not found:
                    note(f"warning: no CloudTrail objects under {url}{filtered}; check the prefix")
                sources.extend(found)
            if not sources:
                raise RecommenderError(f"no CloudTrail objects under {', '.join(remote)}{filtered}")
        bar = Progress("ingest", enabled=True)
        try:
            result = ingest(con, sources=sources, strict=strict, progress=bar)
        finally:
            bar.close()
    finally:
        con.close()
    emit(fmt, result, _human)
    if result.rejected:
        note(f"finished with {result.rejected} rejected record(s)"
             + ("" if result.failed_files else f"; exit code {EXIT_REJECTIONS}"))
    if result.failed_files:
        note(f"finished, but {result.failed_files} file(s) or folder(s) could not be read; exit code "
             f"{EXIT_ERROR}")
        raise SystemExit(EXIT_ERROR)
    if result.rejected:
        raise SystemExit(EXIT_REJECTIONS)
