"""`recommender init-config`: write the commented example config of the monthly job."""

from __future__ import annotations

from pathlib import Path

import click

from recommender.cli.base import main, note
from recommender.runs import write_example_config


@main.command("init-config")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path),
                default=Path("recommender.toml"))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init_config_command(path: Path, force: bool) -> None:
    """Write a commented example recommender.toml for `recommender run`.

    \b
    Example:
      recommender init-config recommender.toml && recommender run --config recommender.toml --check
    """
    written = write_example_config(path, force=force)
    click.echo(str(written))
    note(f"edit {written}, then: recommender run --config {written}")
