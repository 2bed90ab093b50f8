"""The review report: one self-contained HTML file, plus findings.json and a Markdown summary.

A security lead opens the HTML file in a review meeting, often offline and from
an e-mail attachment, so it carries its own CSS, SVG charts and a few lines of
script, and loads nothing. Everything from CloudTrail and IAM is attacker
controlled, so there is exactly one jinja ``Environment``: autoescape on for
every template, ``StrictUndefined`` so a missing field fails loudly instead of
rendering blank, and a Content-Security-Policy that allows only our own inline
style and script (by hash). Templates get a :class:`ReportContext` and lay it out;
they compute nothing and never read the clock.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from recommender.errors import RecommenderError
from recommender.gcpause import no_cyclic_gc
from recommender.render import markdown
from recommender.render.context import (
    STATUS_LABELS,
    ReportContext,
    build_context,
)
from recommender.render.markdown import md_cell

FORMATS = ("html", "json", "md")


@dataclass(frozen=True)
class _Asset:
    """An inline asset (CSS or JS) and the CSP source that allows exactly it."""

    text: Markup
    csp: str


def _asset(name: str) -> _Asset:
    text = (resources.files("recommender.templates") / "assets" / name).read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    # Our own file, not data: marked safe so autoescape leaves it byte-identical to
    # what was hashed (the browser checks the hash against the element's text).
    return _Asset(Markup(text), f"'sha256-{digest}'")


def _fmt_dt(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime(fmt) + " UTC"
    return value.isoformat()


def _fmt_day(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


def _fmt_int(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _fmt_pct(value: float | None) -> str:
    if value is None:
        return "—"
    if 0 < value < 0.005:
        return "<1%"  # "0%" would read as none at all
    if 0.995 <= value < 1:
        return ">99%"
    return f"{value * 100:.0f}%"


def _fmt_delta(value: int | None) -> str:
    if value is None:
        return "new"
    return f"{value:+,}" if value else "±0"


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The one jinja environment every report format is rendered with."""
    env = Environment(
        loader=PackageLoader("recommender.templates", "."),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        dt=_fmt_dt,
        day=_fmt_day,
        num=_fmt_int,
        pct=_fmt_pct,
        delta=_fmt_delta,
        md=md_cell,
    )
    env.globals["status_labels"] = STATUS_LABELS
    return env


def render_report(ctx: ReportContext) -> str:
    """The HTML report for one context (deterministic for the same context)."""
    style, script = _asset("report.css"), _asset("report.js")
    csp = "; ".join(
        [
            "default-src 'none'",
            f"style-src {style.csp}",
            f"script-src {script.csp}",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    return (
        environment()
        .get_template("report.html.j2")
        .render(ctx=ctx, style=style.text, script=script.text, csp=csp)
    )


def render_markdown(ctx: ReportContext) -> str:
    """The Markdown summary (ticket / PR comment sized)."""
    return markdown.render_markdown(ctx, environment())


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def render_json(ctx: ReportContext) -> str:
    """findings.json: the report's content as one JSON document, keys sorted."""
    return json.dumps(ctx.to_dict(), indent=2, sort_keys=True, default=_json_default) + "\n"


RENDERERS = {"html": render_report, "json": render_json, "md": render_markdown}


def load_recommendation(path: Path) -> dict[str, Any]:
    """A recommendation.json written by ``recommender recommend --out``."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise RecommenderError(f"cannot read recommendation file {path}: {e}") from e
    except ValueError as e:
        raise RecommenderError(
            f"{path} is not valid JSON ({e}); rerun `recommender recommend --out DIR`"
        ) from e
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith(
        "recommender.recommendation/"
    ):
        raise RecommenderError(
            f"{path} is not a recommendation document (expected schema "
            "'recommender.recommendation/1'); pass the recommendation.json that "
            "`recommender recommend --out DIR` wrote"
        )
    return doc


def _load_config(config_path: Path | None) -> Any:
    """The recommend stage's config (exceptions, grace), or None without a file."""
    if config_path is None:
        return None
    from recommender.recommend.exceptions import load_config

    return load_config(config_path)


def _fresh_recommendation(
    con: duckdb.DuckDBPyConnection,
    window_days: int,
    as_of: date | None,
    role_pattern: str | None,
    config: Any,
    notes: list[str],
) -> dict[str, Any] | None:
    """The recommendation for the same window, from the recommend stage, when it can run."""
    try:
        from recommender.recommend.build import build_recommendation
    except ImportError:
        notes.append("The recommend stage is not installed; the report shows no policy diffs.")
        return None
    try:
        doc: dict[str, Any] = build_recommendation(con, window_days, as_of, role_pattern, config)
        return doc
    except RecommenderError as e:
        # The report is still worth having without diffs; say why they are missing.
        notes.append(f"No recommendation: {e}")
        return None


@dataclass
class ReportResult:
    """What ``make_report`` wrote, for the CLI to print."""

    outputs: dict[str, str]  # format -> path ("-" when returned as text)
    roles: int
    findings: int
    notes: list[str]
    text: str | None = None  # the rendered document when no path was given

    def to_dict(self) -> dict[str, Any]:
        return {
            "outputs": self.outputs,
            "roles": self.roles,
            "findings": self.findings,
            "notes": self.notes,
        }


@no_cyclic_gc()
def make_report(
    con: duckdb.DuckDBPyConnection,
    *,
    window_days: int,
    as_of: date | None,
    generated_at: datetime,
    versions: dict[str, str],
    role_pattern: str | None = None,
    fmt: str = "html",
    out: Path | None = None,
    markdown_out: Path | None = None,
    json_out: Path | None = None,
    recommendation_path: Path | None = None,
    config_path: Path | None = None,
) -> ReportResult:
    """Build the context once and write the requested format(s).

    The recommendation comes from ``recommendation_path`` when given, else from the
    recommend stage for the same window; without either the report still renders.
    """
    if fmt not in RENDERERS:
        raise RecommenderError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    notes: list[str] = []
    config = _load_config(config_path)
    if recommendation_path is not None:
        recommendation: dict[str, Any] | None = load_recommendation(recommendation_path)
    else:
        recommendation = _fresh_recommendation(con, window_days, as_of, role_pattern, config, notes)
    exceptions = list(config.exceptions) if config is not None else None
    ctx = build_context(
        con,
        window_days,
        as_of,
        generated_at,
        role_pattern,
        versions=versions,
        recommendation=recommendation,
        exceptions=exceptions,
        notes=notes,
    )
    outputs: dict[str, str] = {}
    text = RENDERERS[fmt](ctx)
    result_text: str | None = None
    if out is None:
        outputs[fmt] = "-"
        result_text = text
    else:
        _write(out, text)
        outputs[fmt] = str(out)
    if markdown_out is not None:
        _write(markdown_out, render_markdown(ctx))
        outputs["md" if fmt != "md" else "md_summary"] = str(markdown_out)
    if json_out is not None:
        _write(json_out, render_json(ctx))
        outputs["json" if fmt != "json" else "json_findings"] = str(json_out)
    return ReportResult(outputs, len(ctx.roles), len(ctx.findings), ctx.notes, result_text)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise RecommenderError(f"cannot write {path}: {e}; choose another --out") from e
