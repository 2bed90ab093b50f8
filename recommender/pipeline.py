"""The whole pipeline in one call: ingest -> IAM -> analyze -> recommend -> report.

``recommender demo`` runs it on the bundled ``sample_logs/`` and the monthly
``recommender run`` runs it from a config file; both are thin over
``run_pipeline``, so the stages are wired together in exactly one place.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import duckdb

from recommender import __version__, catalog
from recommender.db import utcnow
from recommender.errors import RecommenderError

ProgressFactory = Callable[[str], Callable[[int, int, str], None]]


def versions() -> dict[str, str]:
    """Versions a report records so a reader knows what produced it."""
    import jinja2

    return {
        "recommender": __version__,
        "duckdb": duckdb.__version__,
        "jinja2": jinja2.__version__,
        "python": platform.python_version(),
    }




@dataclass
class PipelineResult:
    """What each stage did, the files written, and how long each stage took."""

    out_dir: str
    ingest: dict[str, Any] = field(default_factory=dict)
    iam: dict[str, Any] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    recommendation: dict[str, Any] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    rejected: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": self.out_dir,
            "ingest": self.ingest,
            "iam": self.iam,
            "analysis": self.analysis,
            "recommendation": self.recommendation,
            "report": self.report,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }


def _as_dict(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if isinstance(obj, dict):
        return obj
    return {"result": str(obj)}


def run_pipeline(
    con: duckdb.DuckDBPyConnection,
    *,
    log_paths: Sequence[str | Path] = (),
    log_sources: Iterable[Any] = (),
    iam_files: Sequence[str | Path] = (),
    scp_files: Sequence[str | Path] = (),
    fetch_iam: bool = False,
    fetch_options: dict[str, Any] | None = None,
    out_dir: str | Path,
    window_days: int = 90,
    as_of: date | None = None,
    config_path: str | Path | None = None,
    agent_config: str | Path | None = None,
    ceiling: bool = True,
    generated_at: datetime | None = None,
    progress: ProgressFactory | None = None,
) -> PipelineResult:
    """Run every stage in order against ``con``, writing outputs under ``out_dir``.

    Each stage is incremental where its input is (ingest reads only new files);
    IAM is reloaded from the given source every time, since it is a snapshot.
    """
    from recommender import grants, ingest, mapping
    from recommender.analysis import analyze
    from recommender.recommend import store
    from recommender.recommend.build import recommend
    from recommender.recommend.exceptions import load_config
    from recommender.recommend.write import write_recommendation
    from recommender.render.report import make_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = PipelineResult(out_dir=str(out))
    bar = progress or (lambda label: None)  # type: ignore[return-value]

    def timed(stage: str) -> Callable[[], None]:
        start = time.perf_counter()
        return lambda: result.seconds.__setitem__(stage, time.perf_counter() - start)

    done = timed("ingest")
    sources = list(log_sources)
    if log_paths or sources:
        ing = ingest.ingest(con, log_paths, sources=sources, progress=bar("ingest"))
        result.ingest = {k: v for k, v in _as_dict(ing).items() if k != "file_results"}
        result.rejected = int(result.ingest.get("rejected", 0))
    done()

    done = timed("iam")
    catalog.ensure_catalog(con)
    if iam_files:
        loaded = grants.load_authorization_details(
            con, iam_files, scp_paths=scp_files or None, agent_config=agent_config,
            progress=bar("iam"),
        )
        result.iam = _as_dict(loaded)
    elif fetch_iam:
        result.iam = _as_dict(grants.fetch_from_aws(con, **(fetch_options or {})))
    elif not con.execute("SELECT count(*) FROM principals").fetchone()[0]:
        raise RecommenderError(
            "no IAM data: give an authorization-details file (iam_files) or fetch it live"
        )
    mapping.refresh_rules(con)
    done()

    done = timed("analyze")
    analysis = analyze(con, window_days, as_of, progress=bar("analyze"), actions=False)
    full = _as_dict(analysis)
    # The per-principal detail is in role_action_status and the report; keep the summary.
    result.analysis = {k: full[k] for k in ("schema", "run", "totals", "findings_by_severity") if k in full}
    done()

    done = timed("recommend")
    config = load_config(Path(config_path) if config_path else None)
    rec = recommend(con, window_days, as_of, None, config, ceiling=ceiling, progress=bar("recommend"))
    written = write_recommendation(rec, out / "recommendations")
    store.save(con, rec)
    result.recommendation = {**rec.summary(), "out": str(out / "recommendations"), "files": len(written)}
    done()

    done = timed("report")
    report = make_report(
        con,
        window_days=window_days,
        as_of=as_of,
        generated_at=generated_at or utcnow(),
        versions=versions(),
        out=out / "report.html",
        markdown_out=out / "summary.md",
        json_out=out / "findings.json",
        recommendation_path=out / "recommendations" / "recommendation.json",
        config_path=Path(config_path) if config_path else None,
    )
    result.report = {**_as_dict(report), "findings_json": str(out / "findings.json")}
    done()
    return result
