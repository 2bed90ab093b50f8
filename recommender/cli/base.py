"""The click group, the options every command shares, and output helpers.

Only ``recommender.cli`` imports click. Each verb lives in its own module in this
package and calls one library function; this module turns ``RecommenderError``
into a message on stderr and a documented exit code.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import click

from recommender import __version__
from recommender.db import DEFAULT_DB
from recommender.errors import RecommenderError


@lru_cache(maxsize=None)
def command_modules() -> dict[str, str]:
    """Each verb and the module of this package that defines it, found by name: every
    module here but this one is named after its verb (``init_config``: ``init-config``).

    A verb's module (and the library it calls: duckdb, pyarrow, the analysis...) is
    imported only when that verb runs, or for --help: importing them all cost ~0.2 s on
    every command."""
    return {m.name.replace("_", "-"): m.name
            for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name != "base"}


class _Group(click.Group):
    """Loads each verb's module on first use (``command_modules``) and reports
    ``RecommenderError`` cleanly instead of with a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(command_modules()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = command_modules().get(cmd_name)
        if cmd_name not in self.commands and module is not None:
            importlib.import_module(f"recommender.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RecommenderError as e:
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="recommender")
def main() -> None:
    """Right-size the IAM roles of AI agents and workloads from what CloudTrail shows they did.

    \b
    Pipeline: ingest -> iam load/fetch -> analyze -> recommend -> report / pr.
    `recommender demo` runs it end to end on the bundled sample_logs/.
    """




# ---- options shared by several commands (defined once) ----------------------

db_option = click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_DB,
    show_default=True,
    envvar="RECOMMENDER_DB",
    help="DuckDB file that holds every stage's tables.",
)

format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json (one object on stdout) for automation.",
)


def _parse_window(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip().lower()
    if text.endswith("d"):
        text = text[:-1]
    if not text.isdigit() or int(text) <= 0:
        raise click.BadParameter(f"{value!r} is not a window like 90d")
    return int(text)


window_option = click.option(
    "--window",
    "window_days",
    default="90d",
    show_default=True,
    callback=_parse_window,
    help="Analysis window ending at --as-of (e.g. 30d, 90d).",
)


def parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-01") from e


as_of_option = click.option(
    "--as-of",
    "as_of",
    default=None,
    callback=parse_date,
    help="End of the window (YYYY-MM-DD); default: the newest ingested event.",
)

role_option = click.option(
    "--role",
    "role_pattern",
    default=None,
    help="Only roles whose name or ARN matches this glob (e.g. 'agent-*').",
)


# ---- output ------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def echo_json(obj: Any) -> None:
    """One JSON document on stdout, keys sorted, for automation."""
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=_json_default))


def emit(fmt: str, result: Any, human: Callable[[Any], None]) -> None:
    """Print ``result`` as JSON or through ``human`` (which writes text to stdout)."""
    if fmt == "json":
        echo_json(result.to_dict() if hasattr(result, "to_dict") else result)
    else:
        human(result)


def role_column(names: list[str], accounts: list[str | None]) -> tuple[str, list[str]]:
    """The header and cells of a table's first column: the role's name, led by its
    account when the rows span more than one (an organisation repeats names such as
    Admin in many accounts)."""
    name_w = max([len("ROLE"), *(len(n) for n in names)])
    if len(set(accounts)) <= 1:
        return f"{'ROLE':<{name_w}}", [f"{n:<{name_w}}" for n in names]
    cells = [a or "-" for a in accounts]
    acct_w = max([len("ACCOUNT"), *(len(a) for a in cells)])
    return (
        f"{'ACCOUNT':<{acct_w}}  {'ROLE':<{name_w}}",
        [f"{a:<{acct_w}}  {n:<{name_w}}" for a, n in zip(cells, names)],
    )


def note(message: str) -> None:
    """A diagnostic line on stderr (progress, warnings); results go to stdout."""
    click.echo(message, err=True)


class Progress:
    """Progress on stderr for long work: a bar on a terminal, periodic lines otherwise.

    Library functions take a ``progress(done, total, label)`` callback; this adapts
    click's progress bar to it without the library importing click.
    """

    def __init__(self, label: str, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled
        self._bar: Any = None
        self._shown = 0
        self._tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int, item: str = "") -> None:
        if not self.enabled or total <= 1:
            return
        if self._tty:
            if self._bar is None:
                self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
                self._bar.__enter__()
            self._bar.update(done - self._shown)
            self._shown = done
            if done >= total:
                self.close()
        else:
            step = max(1, total // 10)
            if done == total or done - self._shown >= step:
                self._shown = done
                note(f"{self.label}: {done}/{total} {item}".rstrip())

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
