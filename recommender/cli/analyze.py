"""`recommender analyze`: classify every granted action and list the findings."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from recommender.analysis import SEVERITIES, AnalysisResult, analyze
from recommender.cli.base import (
    Progress,
    as_of_option,
    db_option,
    emit,
    format_option,
    main,
    role_column,
    role_option,
    window_option,
)
from recommender.db import connect

_COLUMNS = (
    ("granted", "GRANTED"),
    ("used", "USED"),
    ("unused", "UNUSED"),
    ("never_needed", "NEVER"),
    ("unobservable", "UNOBS"),
    ("denied", "DENIED"),
    ("unexplained", "UNEXPL"),
)


def _summary(result: AnalysisResult) -> None:
    """One line per principal, then the totals and the most severe findings."""
    click.echo(
        f"Analysis window: {result.window_start} .. {result.as_of} ({result.window_days} days); "
        f"history from {result.history_start or 'no events'}; run {result.run_id}"
    )
    if not result.principals:
        click.echo("No principal matches.")
        return
    head, labels = role_column(
        [p.name for p in result.principals], [p.account_id for p in result.principals]
    )
    header = f"{head}  " + "  ".join(f"{h:>7}" for _, h in _COLUMNS) + "  TOP FINDINGS"
    click.echo(header)
    several_accounts = len({p.account_id for p in result.principals}) > 1
    for p, label in zip(result.principals, labels):
        counts = "  ".join(f"{p.counts[k]:>7}" for k, _ in _COLUMNS)
        kinds: dict[tuple[str, str], int] = {}
        for f in p.findings:  # already most severe first
            kinds[(f.severity, f.kind)] = kinds.get((f.severity, f.kind), 0) + 1
        shown = list(kinds.items())[:2]
        top = ", ".join(f"{sev}: {kind}" + (f" x{n}" if n > 1 else "") for (sev, kind), n in shown)
        rest = sum(n for _, n in list(kinds.items())[2:])
        if rest:
            top += f" (+{rest})"
        click.echo(f"{label}  {counts}  {top or '-'}")
    totals = result.totals
    click.echo(f"{'TOTAL':<{len(head)}}  " + "  ".join(f"{totals[k]:>7}" for k, _ in _COLUMNS))
    by_sev = result.findings_by_severity
    click.echo(
        "Findings: " + ", ".join(f"{by_sev[s]} {s}" for s in SEVERITIES if by_sev.get(s))
        if any(by_sev.values())
        else "Findings: none"
    )
    worst = sorted(
        result.all_findings(),
        key=lambda f: (SEVERITIES.index(f.severity) if f.severity in SEVERITIES else 9, f.kind),
    )
    for f in worst[:10]:
        who = (f.principal_arn or "").rsplit("/", 1)[-1] or "-"
        if several_accounts and f.principal_arn and f.principal_arn.count(":") >= 5:
            who = f"{f.principal_arn.split(':')[4]}/{who}"
        click.echo(f"  [{f.severity}] {who}: {f.title}")
    if len(worst) > 10:
        click.echo(f"  ... {len(worst) - 10} more (--format json, or the findings table)")


@main.command("analyze")
@db_option
@window_option
@as_of_option
@role_option
@format_option
def analyze_command(
    db: Path, window_days: int, as_of: date | None, role_pattern: str | None, fmt: str
) -> None:
    """Classify each granted action as used / unused / never-needed / unobservable,
    report denied and unexplained calls, and list risk findings per role.

    The results replace the tables role_action_status and findings, and the run is
    appended to analysis_runs. The JSON schema (recommender.analysis/1) is documented
    in docs/analysis-schema.md.

    \b
    Example:
      recommender analyze --window 90d --role 'agent-*'
    """
    con = connect(db)
    try:
        result = analyze(
            con,
            window_days=window_days,
            as_of=as_of,
            role_pattern=role_pattern,
            # Only a terminal gets progress: in logs and pipes the steps are noise.
            progress=Progress("analyze", enabled=sys.stderr.isatty()),
            # The text summary shows counts; each action's verdict is read for JSON only.
            actions=fmt == "json",
        )
    finally:
        con.close()
    emit(fmt, result, _summary)
