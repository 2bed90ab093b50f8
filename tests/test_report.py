"""The review report: its context on its own, then the HTML, JSON and Markdown made from it.

The database is filled per the table contracts from tests/fixtures/report/scenario.json
(an agent role with every status and attacker-shaped strings, a workload role, an idle
admin role with a long never-needed list, an IAM user with a long-lived key, and two
recorded analysis runs), so these tests do not depend on the upstream stages' code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from click.testing import CliRunner

from recommender import db
from recommender.cli import main
from recommender.render.context import ReportContext, anchor_for, build_context
from recommender.render.report import render_json, render_markdown, render_report

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "report"
AS_OF = date(2026, 10, 30)
GENERATED = datetime(2026, 10, 31, 6, 0, 0)
VERSIONS = {"recommender": "0.1.0-test", "duckdb": "test"}
AGENT = "arn:aws:iam::111122223333:role/service-role/bedrock-agent-support"


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows into ``table`` by column name, in one statement (JSON columns as text)."""
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?",
            [table],
        ).fetchall()
    )
    cols = sorted({c for row in rows for c in row})
    batch = pa.Table.from_pydict(
        {
            c: pa.array(
                [
                    json.dumps(r[c]) if types[c] == "JSON" and r.get(c) is not None else r.get(c)
                    for r in rows
                ],
                type=pa.list_(pa.string()) if types[c].endswith("[]") else None,
            )
            for c in cols
        }
    )
    con.register("scenario_batch", batch)
    select = ", ".join(f"CAST({c} AS {types[c]}) AS {c}" for c in cols)
    con.execute(f"INSERT INTO {table} BY NAME SELECT {select} FROM scenario_batch")
    con.unregister("scenario_batch")


def build_scenario_db(path: Path) -> None:
    """The scenario database at ``path`` (the stages' own schema, rows from the fixture)."""
    scenario = json.loads((FIXTURES / "scenario.json").read_text())
    con = db.connect(path)
    try:
        gen = scenario.pop("generated_never_needed")
        scenario.pop("_comment")
        # The idle admin role's long never-needed list (past the report's row limit).
        names = [f"ec2:FixtureAction{i:03d}" for i in range(gen["count"])]
        scenario["catalog_actions"] += [
            {
                "service": "ec2",
                "action_name": n.split(":")[1],
                "action": n,
                "action_lc": n.lower(),
                "access_level": gen["access_level"],
            }
            for n in names
        ]
        scenario["role_action_status"] += [
            {
                "principal_arn": gen["principal_arn"],
                "action": n,
                "status": "never_needed",
                "calls": 0,
                "resources": [],
                "why": "never called",
            }
            for n in names
        ]
        for table, rows in scenario.items():
            _insert(con, table, rows)
    finally:
        con.close()


@pytest.fixture(scope="module")
def scenario_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built once per module: every test only reads it.
    path = tmp_path_factory.mktemp("report") / "scenario.duckdb"
    build_scenario_db(path)
    return path


@pytest.fixture
def recommendation() -> dict[str, Any]:
    return json.loads((FIXTURES / "recommendation.json").read_text())


EXCEPTIONS = [
    {
        "role": "bedrock-agent-*",
        "action": "s3:DeleteObject",
        "reason": "cleanup <i>quarterly</i>",
        "owner": "data-platform@example.com",
        "expires": date(2026, 12, 31),
    },
    {
        "role": "bedrock-agent-*",
        "action": "iam:PassRole",
        "reason": "old migration",
        "owner": "ops@example.com",
        "expires": date(2026, 6, 30),
    },
]


@pytest.fixture
def ctx(scenario_db: Path, recommendation: dict[str, Any]) -> ReportContext:
    con = db.connect(scenario_db, read_only=True)
    try:
        return build_context(
            con,
            90,
            AS_OF,
            GENERATED,
            versions=VERSIONS,
            recommendation=recommendation,
            exceptions=EXCEPTIONS,
        )
    finally:
        con.close()


def _db_counts(path: Path) -> dict[str, dict[str, int]]:
    """Distinct actions per principal and status, straight from the database."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT principal_arn, status, count(DISTINCT lower(action)) FROM role_action_status "
            "GROUP BY ALL"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, int]] = {}
    for arn, status, n in rows:
        out.setdefault(arn, {})[status] = n
    return out


# ---- the context on its own ---------------------------------------------------


def test_context_counts_equal_the_database(ctx: ReportContext, scenario_db: Path) -> None:
    expected = _db_counts(scenario_db)
    assert {r.principal_arn for r in ctx.roles} == set(expected)
    for role in ctx.roles:
        for status, n in expected[role.principal_arn].items():
            assert getattr(role.counts, status) == n, (role.name, status)
        granted = sum(
            expected[role.principal_arn].get(s, 0)
            for s in ("used", "unused", "never_needed", "unobservable")
        )
        assert role.counts.granted == granted
    total = ctx.overview.counts
    assert total.granted == sum(r.counts.granted for r in ctx.roles)
    assert total.removable == total.unused + total.never_needed
    assert ctx.overview.share_removable == round(total.removable / total.granted, 4)
    assert ctx.overview.agent_roles == 2  # the Bedrock agent and the langchain user


def test_context_orders_roles_by_removable_privilege(ctx: ReportContext) -> None:
    removable = [r.counts.removable for r in ctx.roles]
    assert removable == sorted(removable, reverse=True)
    assert ctx.roles[0].name == "idle-admin"


def test_context_window_findings_and_provenance(ctx: ReportContext) -> None:
    assert (ctx.window_start, ctx.window_end) == (date(2026, 8, 2), AS_OF)
    assert ctx.catalog_version == "0.1.test"
    assert ctx.generated_at == GENERATED and ctx.versions == dict(sorted(VERSIONS.items()))
    sev = {s.severity: s.count for s in ctx.overview.findings_by_severity}
    assert sev == {"critical": 1, "high": 1, "medium": 1, "low": 1, "info": 1}
    assert [f.severity for f in ctx.findings][:2] == ["critical", "high"]
    account_wide = [f for f in ctx.findings if not f.principal_arn]
    assert account_wide and account_wide[0].role_anchor == ""
    p = ctx.provenance
    assert (p.events, p.files, p.rejected, p.ingest_runs) == (3, 2, 1, 1)
    assert p.first_event == datetime(2026, 5, 1)


def test_context_sessions_are_the_window_only(ctx: ReportContext) -> None:
    etl = next(r for r in ctx.roles if r.name == "etl-lambda")
    assert [s.session_names for s in etl.sessions] == [["etl-lambda"]]
    assert (etl.sessions_total, etl.workloads_total) == (1, 1)
    bot = next(r for r in ctx.roles if r.name == "legacy-bot")
    assert bot.sessions[0].long_lived_key == "AKIAEXAMPLEKEY000001"
    assert bot.principal_type == "user"
    agent = next(r for r in ctx.roles if r.principal_arn == AGENT)
    # Temporary keys differ per session and are not a workload: two rows by user agent.
    assert sorted(s.calls for s in agent.sessions) == [40, 390]
    assert all(s.long_lived_key is None for s in agent.sessions)


def test_context_long_lists_become_name_groups(ctx: ReportContext) -> None:
    admin = next(r for r in ctx.roles if r.name == "idle-admin")
    block = next(b for b in admin.blocks if b.status == "never_needed")
    assert block.count == 340 and block.rows == []
    assert sum(g.count for g in block.groups) == 340
    assert block.groups[0].service_total == 341  # the catalog's ec2 actions in the fixture


def test_context_recommendation_diff_exceptions_and_trend(ctx: ReportContext) -> None:
    agent = next(r for r in ctx.roles if r.principal_arn == AGENT)
    assert agent.recommendation is not None and agent.recommendation.verdict == "trim"
    (policy,) = agent.recommendation.policies
    removed = [d.text for d in policy.diff if d.kind == "del"]
    assert any("s3:PutObject" in t for t in removed) and any("iam:PassRole" in t for t in removed)
    assert policy.removed == len(removed) and policy.added >= 1
    assert [(e.action_pattern, e.expired) for e in agent.exceptions] == [
        ("iam:PassRole", True),
        ("s3:DeleteObject", False),
    ]
    assert agent.tags == [("owner", "<b>mallory</b>"), ("team", "support")]
    assert agent.trust_principals == ["Service: bedrock.amazonaws.com"]
    assert ctx.trend is not None and ctx.trend.runs == 2
    admin = next(r for r in ctx.roles if r.name == "idle-admin")
    assert admin.trend is not None and admin.trend.unused_before == 345
    assert admin.trend.unused_delta == 340 - 345
    bot = next(r for r in ctx.roles if r.name == "legacy-bot")
    assert bot.trend is not None and bot.trend.granted_before is None  # new since the last run


def test_context_shows_the_analysed_window_and_says_when_another_was_asked(
    scenario_db: Path,
) -> None:
    con = db.connect(scenario_db, read_only=True)
    try:
        ctx = build_context(con, 30, date(2026, 10, 15), GENERATED)
    finally:
        con.close()
    assert (ctx.window_days, ctx.window_end, ctx.analysis_run_id) == (90, AS_OF, 2)
    assert any(
        "covers 90 days ending 2026-10-30, not the 30 days ending 2026-10-15" in n
        for n in ctx.notes
    )


def test_context_role_pattern_narrows_everything(scenario_db: Path) -> None:
    con = db.connect(scenario_db, read_only=True)
    try:
        ctx = build_context(con, 90, AS_OF, GENERATED, "bedrock-*")
    finally:
        con.close()
    assert [r.name for r in ctx.roles] == ["bedrock-agent-support"]
    assert {f.principal_arn for f in ctx.findings} == {AGENT}
    assert any("No recommendation" in n for n in ctx.notes)


def test_context_to_dict_is_json(ctx: ReportContext) -> None:
    data = json.loads(render_json(ctx))
    assert data["schema"] == "recommender.report/1"
    assert data["overview"]["counts"]["granted"] == ctx.overview.counts.granted
    agent = next(r for r in data["roles"] if r["principal_arn"] == AGENT)
    assert agent["tags"]["owner"] == "<b>mallory</b>"  # JSON carries raw values
    assert agent["recommendation"]["policies"][0]["recommended"]["Version"] == "2012-10-17"
    assert render_json(ctx) == render_json(ctx)


# ---- the HTML -----------------------------------------------------------------


class _Page(HTMLParser):
    """What the tests need from the report: ids, scripts, the CSP, table cells, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.csp = ""
        self.text: list[str] = []
        self.tags: list[str] = []
        self.role_rows: list[list[str]] = []
        self._in: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._table_id: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy":
            self.csp = a.get("content") or ""
        if tag == "table":
            self._table_id.append(a.get("id"))
        if tag == "tr" and self._table_id and self._table_id[-1] == "role-table":
            self._row = []
        if tag == "td" and self._row is not None:
            self._cell = []
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._table_id:
            self._table_id.pop()
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        if tag == "tr" and self._row is not None:
            if self._row:
                self.role_rows.append(self._row)
            self._row = None
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        where = self._in[-1] if self._in else ""
        if where == "script":
            self.scripts.append(data)
        elif where == "style":
            self.styles.append(data)
        else:
            self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_html_has_a_section_per_role_and_counts_match_the_database(
    ctx: ReportContext, scenario_db: Path
) -> None:
    page = _parse(render_report(ctx))
    expected = _db_counts(scenario_db)
    for arn in expected:
        assert anchor_for(arn) in page.ids
    assert len(page.role_rows) == len(expected)
    by_name = {row[0].split()[0]: row for row in page.role_rows}
    for arn, statuses in expected.items():
        name = arn.rsplit("/", 1)[-1]
        row = by_name[name]
        granted = sum(
            statuses.get(s, 0) for s in ("used", "unused", "never_needed", "unobservable")
        )
        assert row[1] == f"{granted:,}"
        assert row[2] == f"{statuses.get('used', 0):,}"
        assert row[4] == f"{statuses.get('never_needed', 0):,}"
        assert row[7] == f"{statuses.get('denied', 0):,}"
    text = " ".join(page.text)
    assert f"{ctx.overview.counts.granted:,}" in text
    assert "2026-08-02 → 2026-10-30" in text and "0.1.test" in text
    assert "2026-10-31 06:00 UTC" in text


def test_html_escapes_cloudtrail_and_iam_values(ctx: ReportContext) -> None:
    html = render_report(ctx)
    page = _parse(html)
    # Exactly one script element: our own, allowed by its hash; nothing injected runs.
    assert page.tags.count("script") == 1
    assert "alert" not in "".join(page.scripts)
    assert "<img" not in html and "<b>mallory" not in html and "<i>quarterly" not in html
    assert "&lt;script&gt;alert(&#39;ua&#39;)&lt;/script&gt; Boto3/1.34.0" in html
    assert "&lt;script&gt;alert(&#39;sn&#39;)&lt;/script&gt;" in html
    text = " ".join(page.text)
    assert "<script>alert('ua')</script> Boto3/1.34.0" in text  # shown, as text
    assert "<script>alert('sn')</script>" in text
    assert "Docs</pre><script>alert('sid')</script>" in text  # a policy Sid in the diff


def test_html_content_security_policy_allows_only_our_inline_code(ctx: ReportContext) -> None:
    page = _parse(render_report(ctx))
    directives = dict(d.strip().split(" ", 1) for d in page.csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == _sha(page.scripts[0])
    assert directives["style-src"] == _sha(page.styles[0])
    assert "unsafe" not in page.csp
    assert not re.search(r"https?://", "".join(page.scripts) + "".join(page.styles))


def test_html_is_deterministic_and_self_contained(ctx: ReportContext) -> None:
    html = render_report(ctx)
    assert html == render_report(ctx)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html


def test_markdown_summary_is_short_and_inert(ctx: ReportContext) -> None:
    md = render_markdown(ctx)
    assert md.startswith("## IAM right-sizing review")
    assert len(md) < 4000
    assert "| idle\\-admin |" not in md and "| idle-admin |" in md
    assert f"**{ctx.overview.counts.granted:,} granted actions**" in md
    # A finding title carries a session name: no live HTML, no link, in a rendered comment.
    assert "<script" not in md
    assert "&lt;script&gt;alert\\(&#39;t&#39;\\)&lt;/script&gt;" in md
    assert "\\[x\\]\\(https://evil.example\\)" in md


# ---- the command line ---------------------------------------------------------


def test_cli_writes_html_markdown_and_json(scenario_db: Path, tmp_path: Path) -> None:
    out, md = tmp_path / "r" / "report.html", tmp_path / "summary.md"
    rec = FIXTURES / "recommendation.json"
    args = [
        "report",
        "--db",
        str(scenario_db),
        "--as-of",
        "2026-10-30",
        "--out",
        str(out),
        "--markdown-out",
        str(md),
        "--recommendation",
        str(rec),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert str(out) in result.stdout
    page = _parse(out.read_text())
    assert anchor_for(AGENT) in page.ids
    assert md.read_text().startswith("## IAM right-sizing review")

    result = CliRunner().invoke(
        main,
        [
            "report",
            "--db",
            str(scenario_db),
            "--as-of",
            "2026-10-30",
            "--format",
            "json",
            "--recommendation",
            str(rec),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["window_end"] == "2026-10-30" and len(data["roles"]) == 4


def test_cli_reports_a_bad_recommendation_file(scenario_db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "recommendation.json"
    bad.write_text('{"schema": "something-else"}')
    result = CliRunner().invoke(
        main,
        [
            "report",
            "--db",
            str(scenario_db),
            "--recommendation",
            str(bad),
            "--out",
            str(tmp_path / "x.html"),
        ],
    )
    assert result.exit_code == 1
    assert "is not a recommendation document" in result.stderr
