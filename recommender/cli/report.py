"""`recommender report`: the review report (HTML), findings.json or a Markdown summary."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.pipeline import utcnow, versions
from recommender.cli.base import as_of_option, db_option, main, note, role_option, window_option


@main.command("report")
@db_option
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File to write (default: report.html for html; stdout for json and md).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "json", "md"]),
    default="html",
    show_default=True,
    help="html: the review report; json: findings.json content; md: the summary.",
)
@click.option(
    "--markdown-out",
    "markdown_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the Markdown summary (ticket / PR comment) here.",
)
@click.option(
    "--recommendation",
    "recommendation_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="A recommendation.json from `recommender recommend --out`; default: "
    "recommend for the same window now.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="recommender.toml whose [[exceptions]] the report shows.",
)
@window_option
@as_of_option
@role_option
def report_cmd(
    db: Path,
    out: Path | None,
    fmt: str,
    markdown_out: Path | None,
    recommendation_path: Path | None,
    config_path: Path | None,
    window_days: int,
    as_of: object,
    role_pattern: str | None,
) -> None:
    """Write the review report: one self-contained HTML file to present, role by role.

    \b
    Example:
      recommender report --out report.html --markdown-out summary.md
      recommender report --format json --out findings.json
    """
    from recommender.db import connect
    from recommender.errors import RecommenderError
    from recommender.render.report import make_report

    if out is None and fmt == "html":
        out = Path("report.html")
    # The clock is read here, once, and passed in: rendering never reads it.
    generated_at = utcnow()
    if not db.exists():
        raise RecommenderError(
            f"database {db} does not exist; run `recommender ingest` and `recommender analyze` first"
        )
    con = connect(db)
    try:
        result = make_report(
            con,
            window_days=window_days,
            as_of=as_of,  # type: ignore[arg-type]
            generated_at=generated_at,
            versions=versions(),
            role_pattern=role_pattern,
            fmt=fmt,
            out=out,
            markdown_out=markdown_out,
            recommendation_path=recommendation_path,
            config_path=config_path,
        )
    finally:
        con.close()
    for line in result.notes:
        note(f"note: {line}")
    if result.text is not None:
        click.echo(result.text, nl=False)
        return
    for kind, path in result.outputs.items():
        click.echo(f"{kind}: {path}")
    note(f"{result.roles} roles, {result.findings} findings")
