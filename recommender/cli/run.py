"""`recommender run`: the monthly job from one config file, with exit codes for schedulers."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli.base import Progress, emit, format_option, main, note
from recommender.runs import JobResult, load_run_config, run_job


def _human(r: JobResult) -> None:
    pipe = r.pipeline
    ing, ana, rec = pipe.get("ingest") or {}, pipe.get("analysis") or {}, pipe.get("recommendation") or {}
    click.echo(f"run {r.run_id}: {r.status} (exit {r.exit_code})")
    if r.athena:
        click.echo(f"  athena     {r.athena.get('usage_rows')} usage_daily rows, "
                   f"{r.athena.get('calls')} calls")
    if ing:
        click.echo(f"  ingest     {ing.get('files', 0)} new file(s), {ing.get('unchanged_files', 0)} "
                   f"unchanged; {ing.get('stored', 0)} events stored, {ing.get('rejected', 0)} rejected")
    totals = ana.get("totals") or {}
    if totals:
        click.echo(f"  analyze    as of {ana.get('as_of')}: {totals.get('principals')} principals, "
                   f"{totals.get('granted')} granted, {totals.get('used')} used, "
                   f"{totals.get('unused')} unused, {totals.get('never_needed')} never needed")
    roles = rec.get("roles") or []
    if roles:
        verdicts: dict[str, int] = {}
        for role in roles:
            verdicts[role["verdict"]] = verdicts.get(role["verdict"], 0) + 1
        click.echo("  recommend  " + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())))
    if r.pr:
        click.echo(f"  pr         {r.pr.get('skipped') or r.pr.get('pr_url') or r.pr.get('branch')}")
    if r.prune:
        click.echo(f"  prune      {r.prune.get('events')} events older than {r.prune.get('cutoff')} deleted")
    if r.error:
        click.echo(f"  error      {r.error}")
    click.echo(f"  output     {r.out_dir}")


@main.command("run")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("recommender.toml"), show_default=True,
              help="The job's TOML config (create one with `recommender init-config`).")
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              envvar="RECOMMENDER_DB", help="Override run.db of the config.")
@click.option("--check", is_flag=True, help="Only validate the config and exit.")
@format_option
def run_command(config_path: Path, db: Path | None, check: bool, fmt: str) -> None:
    """Run the monthly job: ingest new logs, refresh IAM, analyze, recommend, report.

    Outputs go to <run.out>/<YYYY-MM-DD>/ (report.html, findings.json, summary.md,
    recommendations/); with [pr] configured the IaC pull request is opened. Every run
    is recorded (see `recommender history`). Exit codes: 0 ok, 1 error, 3 finished
    with rejected input records, 4 a recommendation was refused by its invariants.

    \b
    Example:
      recommender run --config recommender.toml --format json
    """
    config = load_run_config(config_path)
    if check:
        emit(fmt, {"config": str(config.path), "valid": True, "inputs": config.inputs()},
             lambda c: click.echo(f"{c['config']}: valid"))
        return
    bars: list[Progress] = []

    def progress(label: str) -> Progress:
        bars.append(Progress(label, enabled=fmt != "json"))
        return bars[-1]

    try:
        result = run_job(config, db=db, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    emit(fmt, result, _human)
    if result.exit_code:
        note(f"run {result.run_id} finished with status {result.status}: exit code {result.exit_code}")
        raise SystemExit(result.exit_code)
