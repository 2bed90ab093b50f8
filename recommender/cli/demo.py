"""`recommender demo`: the whole pipeline on the bundled sample_logs/."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli.base import (
    Progress,
    db_option,
    emit,
    format_option,
    main,
    note,
    role_column,
    window_option,
)
from recommender.db import connect
from recommender.errors import RecommenderError
from recommender.pipeline import PipelineResult, run_pipeline


def _human(r: PipelineResult) -> None:
    ing, rec = r.ingest, r.recommendation
    if ing:
        click.echo(
            f"ingest     {ing.get('records', 0)} records = {ing.get('stored', 0)} stored + "
            f"{ing.get('duplicates', 0)} duplicates + {ing.get('rejected', 0)} rejected "
            f"({ing.get('files', 0)} files read, {ing.get('unchanged_files', 0)} unchanged)"
        )
    counts = r.iam.get("counts", {})
    if counts:
        click.echo(
            f"iam        {counts.get('roles', 0)} roles + {counts.get('users', 0)} users "
            f"({counts.get('agents', 0)} agents), {counts.get('policies', 0)} policies, "
            f"{counts.get('allowed', 0)} allowed grants, {counts.get('blocked', 0)} blocked by "
            f"Deny/boundary/SCP"
        )
    roles = rec.get("roles", [])
    t = r.analysis.get("totals", {})
    sev = r.analysis.get("findings_by_severity", {})
    click.echo(
        f"analyze    window {rec.get('window_days')} days up to {rec.get('as_of')}: "
        f"{t.get('granted', 0)} granted = {t.get('used', 0)} used + {t.get('unused', 0)} unused + "
        f"{t.get('never_needed', 0)} never needed + {t.get('unobservable', 0)} unobservable; "
        f"{t.get('denied', 0)} denied, {t.get('unexplained', 0)} unexplained"
    )
    if sev:
        click.echo("findings   " + ", ".join(f"{n} {s}" for s, n in sev.items() if n))
    head, labels = role_column([x["name"] for x in roles], [x.get("account_id") for x in roles])
    click.echo(f"recommend  {len(roles)} roles:")
    click.echo(f"  {head}  {'VERDICT':<16} {'ACTIONS BEFORE -> AFTER':>24}")
    for x, label in zip(roles, labels):
        counts = f"{x.get('actions_before')} -> {x.get('actions_after')}"
        click.echo(f"  {label}  {x['verdict']:<16} {counts:>24}")
    click.echo(f"Recommendations: {rec.get('out')}")
    click.echo(f"Findings JSON:   {r.report.get('findings_json')}")
    click.echo(f"Report:          {r.report.get('outputs', {}).get('html')}")


@main.command("demo")
@click.option(
    "--sample",
    "sample_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("sample_logs"),
    show_default=True,
    help="The bundled sample (CloudTrail under AWSLogs/, IAM under iam/).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("recommender-out"),
    show_default=True,
    help="Folder for the report, findings.json and recommendations.",
)
@db_option
@window_option
@format_option
def demo_command(sample_dir: Path, out_dir: Path, db: Path, window_days: int, fmt: str) -> None:
    """Run ingest, IAM load, analysis, recommendations and the report on sample_logs/.

    Re-running it reads no log file twice (ingest is incremental) and rewrites the
    outputs. The report is one self-contained HTML file.

    \b
    Example:
      recommender demo --out recommender-out/ && xdg-open recommender-out/report.html
    """
    logs = sample_dir / "AWSLogs"
    iam = sample_dir / "iam" / "authorization-details.json"
    scp = sample_dir / "iam" / "scp.json"
    if not logs.is_dir() or not iam.is_file():
        raise RecommenderError(
            f"{sample_dir} does not look like the bundled sample (needs AWSLogs/ and "
            "iam/authorization-details.json); run from the repository root or pass --sample"
        )
    con = connect(db)
    bars: list[Progress] = []

    def progress(label: str) -> Progress:
        bars.append(Progress(label, enabled=fmt != "json"))
        return bars[-1]

    try:
        result = run_pipeline(
            con,
            log_paths=[logs],
            iam_files=[iam],
            scp_files=[scp] if scp.is_file() else [],
            out_dir=out_dir,
            window_days=window_days,
            progress=progress,
        )
    finally:
        for bar in bars:
            bar.close()
        con.close()
    emit(fmt, result, _human)
    if fmt != "json":
        note(f"open {result.report.get('outputs', {}).get('html')} in a browser")
