"""`recommender recommend`: the smallest policies that still allow what each role did."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli.base import (
    Progress,
    as_of_option,
    db_option,
    emit,
    format_option,
    main,
    note,
    role_column,
    role_option,
    window_option,
)
from recommender.db import connect
from recommender.recommend import store
from recommender.recommend.build import recommend as build
from recommender.recommend.exceptions import load_config
from recommender.recommend.write import write_recommendation


@main.command("recommend")
@db_option
@window_option
@as_of_option
@role_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="recommendations",
    show_default=True,
    help="Folder for <role>.json/.diff/.md and recommendation.json.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML file with [[exceptions]], [grace], [generalize], [recommend].",
)
@click.option(
    "--ceiling",
    is_flag=True,
    help="Also write agent-ceiling.json: a boundary/SCP for all agent roles.",
)
@click.option(
    "--allow-wildcards",
    is_flag=True,
    help="Shorten action lists with Verb* wildcards that expand to exactly the kept set today.",
)
@format_option
def recommend_command(
    db, window_days, as_of, role_pattern, out_dir, config_path, ceiling, allow_wildcards, fmt
):
    """Recommend minimized policies, with diffs and the reason for every line.

    Writes, per role, <role>.json (recommended documents), <role>.diff (current ->
    recommended, normalised so only meaning changes) and <role>.md (why each kept
    line stays and each removed action goes), plus recommendation.json. Nothing is
    written when a recommendation would break an observed call, broaden a grant,
    differ between two runs or exceed an IAM size quota (exit code 4).

    \b
    Example:
      recommender recommend --window 90d --role 'agent-*' --out recs/ --config recommender.toml
    """
    config = load_config(config_path).with_options(allow_wildcards=allow_wildcards or None)
    con = connect(db)
    progress = Progress("recommend", enabled=fmt != "json")
    rec = build(con, window_days, as_of, role_pattern, config, ceiling=ceiling, progress=progress)
    progress.close()
    written = write_recommendation(rec, out_dir)
    store.save(con, rec)
    for line in rec.document["notes"]:
        note(f"note: {line}")
    summary = rec.summary()
    summary["out"] = str(out_dir)
    summary["files"] = len(written)

    def human(s):
        click.echo(
            f"Recommendations for {len(s['roles'])} role(s), window {s['window_days']} days up to {s['as_of']}:"
        )
        head, labels = role_column(
            [r["name"] for r in s["roles"]], [r["account_id"] for r in s["roles"]]
        )
        click.echo(f"{head}  {'VERDICT':<16} {'ACTIONS':>16}  SCOPED")
        for r, label in zip(s["roles"], labels):
            counts = f"{r['actions_before']} -> {r['actions_after']}"
            click.echo(f"{label}  {r['verdict']:<16} {counts:>16}  {r['resources_scoped']}")
        click.echo(f"Wrote {s['files']} file(s) to {s['out']}")

    emit(fmt, summary, human)
