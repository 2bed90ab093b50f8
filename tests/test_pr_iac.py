"""The IaC pull-request stage against real git repositories made from fixtures.

Each test copies a fixture repository (tests/fixtures/iac/<name>) into a
temporary directory, commits it on ``main`` and adds a bare repository as
``origin``; the PR is then made with the library or the CLI and checked against
the golden patches in tests/fixtures/iac/golden (update them deliberately with
RECOMMENDER_UPDATE_GOLDEN=1 and read the diff).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml
from click.testing import CliRunner

from recommender.cli import main
from recommender.errors import ConfigError
from recommender.render.iac import create_pull_request
from recommender.render.iac.policyjson import canonical_document
from recommender.render.iac.terraform import parse_tf

IAC = Path(__file__).resolve().parent / "fixtures" / "iac"
RECS = IAC / "recommendations"
GOLDEN = IAC / "golden"
BRANCH = "recommender/least-privilege-2026-10-30"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


@pytest.fixture(autouse=True)
def _git_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in GIT_ENV.items():
        monkeypatch.setenv(k, v)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def make_repo(tmp_path: Path, fixture: str) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(IAC / fixture, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "infrastructure")
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(repo, "remote", "add", "origin", str(tmp_path / "origin.git"))
    return repo


def load(name: str) -> dict:
    return json.loads((RECS / name).read_text())


def check_golden(name: str, patch: str) -> None:
    path = GOLDEN / name
    if os.environ.get("RECOMMENDER_UPDATE_GOLDEN"):
        path.write_text(patch)
    assert patch == path.read_text(), f"patch differs from {path}"


def snapshot(repo: Path) -> tuple[str, str, str, str]:
    """What the user sees: HEAD, the current branch, the status and worktree list."""
    return (
        git(repo, "rev-parse", "HEAD"),
        git(repo, "symbolic-ref", "HEAD"),
        git(repo, "status", "--porcelain", "--untracked-files=all"),
        git(repo, "worktree", "list", "--porcelain"),
    )


def at_branch(repo: Path, path: str, ref: str = BRANCH) -> str:
    return git(repo, "show", f"{ref}:{path}")


# ---- Terraform ----------------------------------------------------------------------------


def test_terraform_pull_request(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "terraform")
    before = snapshot(repo)
    state = json.loads((RECS / "terraform-state.json").read_text())
    result = create_pull_request(repo, load("terraform.json"), tf_state=state, push=True)

    check_golden("terraform.patch", result.patch)
    assert snapshot(repo) == before, "the user's checkout must not change"
    assert (
        git(tmp_path / "origin.git", "rev-parse", f"refs/heads/{BRANCH}").strip()
        == result.commits[-1].sha
    )
    # one commit per role that changed, in recommendation order
    assert [c.role for c in result.commits] == [
        "bedrock-agent-support",
        "rag-indexer-2026011510300000000000000a",
        "prod-reporter",
        "nightly-scheduler",
    ]
    log = git(repo, "log", "--format=%s", f"main..{BRANCH}").splitlines()
    assert log[-1] == "iam(bedrock-agent-support): least privilege, 4 fewer action(s)"
    body = git(repo, "log", "-1", "--format=%b", result.commits[0].sha)
    assert "90-day window ending 2026-10-30" in body and "support-s3 (inline): 5 -> 3" in body

    # every edited Terraform file still parses, and nothing but policy text changed
    for path in result.files:
        new = at_branch(repo, path)
        if path.endswith(".tf"):
            hcl2.loads(new)
            _non_policy_blocks_identical((repo / path).read_text(), new, path)
        else:
            json.loads(new)
    # references stay as written where the recommendation did not change them
    roles_tf = at_branch(repo, "roles.tf")
    assert '"arn:aws:s3:::${var.bucket}/*",' in roles_tf
    assert 'Resource = "arn:aws:s3:::${var.bucket}/exports/*"' in roles_tf
    assert "Resource = aws_sqs_queue.jobs.arn" in at_branch(repo, "indexer.tf")
    assert 'resources = ["${aws_s3_bucket.results.arn}/*"]' in at_branch(repo, "reporter.tf")
    # the file() policy now says exactly the recommended document
    rec = {p["name"]: p for r in load("terraform.json")["roles"] for p in r["policies"]}
    assert canonical_document(
        json.loads(at_branch(repo, "policies/indexer-read.json"))
    ) == canonical_document(rec["indexer-read"]["recommended_document"])
    # the heredoc is still JSON and holds the trimmed policy
    heredoc = roles_tf.split("policy = <<-EOF\n")[1].split("\n  EOF\n")[0]
    assert canonical_document(json.loads(heredoc)) == canonical_document(
        rec["support-logs"]["recommended_document"]
    )

    manual = {(m.role, m.policy): m for m in result.manual}
    assert set(manual) == {
        ("worker-ingest", "worker-queue"),
        ("batch-agent", "batch-s3"),
        ("ghost-agent", "ghost"),
    }
    assert "count/for_each" in manual["worker-ingest", "worker-queue"].reason
    assert "dynamic block" in manual["batch-agent", "batch-s3"].reason
    assert manual["ghost-agent", "ghost"].reason.startswith("role not found in the repository")
    desc = Path(result.description_path).read_text()
    assert result.description_path.startswith(str(repo / ".git"))
    manual_part = desc.split("## Manual change needed")[1]
    assert (
        "### worker-ingest / worker-queue" in manual_part
        and '"Action": "sqs:SendMessage"' in manual_part
    )
    for section in ("## What changes", "## Why (evidence)", "## Risk", "## How to roll back"):
        assert section in desc
    assert "`s3:GetObjectVersion`: never called in 90 days." in desc
    assert f"git revert {result.commits[-1].sha[:12]}" in desc


def _non_policy_blocks_identical(old: str, new: str, path: str) -> None:
    """Blocks that hold no policy text survive byte for byte; so do role attributes."""
    policy_types = {
        "aws_iam_role_policy",
        "aws_iam_policy",
        "aws_iam_policy_document",
        "aws_iam_role_policy_attachment",
        "aws_iam_role",
    }
    for b in parse_tf(old, path):
        block = old[b.start : b.end]
        if len(b.labels) >= 1 and b.labels[0] in policy_types:
            header = old[b.start : old.index("{", b.start)]
            if header not in new:
                continue  # deliberately deleted (a detached attachment); shown in the golden patch
            for name, attr in b.attrs.items():
                if name not in ("policy", "managed_policy_arns"):
                    assert old[attr.start : attr.end] in new, f"{b.where}: {name} changed"
            continue
        assert block in new, f"{b.where} changed although it holds no policy"


def test_terraform_role_only_found_through_state(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "terraform")
    rec = load("terraform.json")
    result = create_pull_request(repo, rec, dry_run=True, role_pattern="nightly-*")
    assert result.files == [] and result.commits == []
    [item] = result.manual
    assert item.role == "nightly-scheduler" and "var.scheduler_role_name" in item.reason
    state = json.loads((RECS / "terraform-state.json").read_text())
    result = create_pull_request(repo, rec, dry_run=True, role_pattern="nightly-*", tf_state=state)
    assert result.files == ["scheduler.tf"] and not result.manual
    assert (
        '-        Action   = ["events:PutEvents", "events:PutRule", "events:DeleteRule"]'
        in result.patch
    )


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform CLI not installed")
def test_terraform_output_is_fmt_clean(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "terraform")
    state = json.loads((RECS / "terraform-state.json").read_text())
    create_pull_request(repo, load("terraform.json"), tf_state=state)
    out = tmp_path / "out"
    git(repo, "worktree", "add", "-q", str(out), BRANCH)
    proc = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", "."],
        check=False,
        cwd=out,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout


def test_drift_is_manual_not_guessed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "terraform")
    rec = load("terraform.json")
    support = next(r for r in rec["roles"] if r["name"] == "bedrock-agent-support")
    # AWS has a statement the repository does not: the repository is not what is deployed
    support["policies"][0]["current_document"]["Statement"].append(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    )
    result = create_pull_request(repo, rec, dry_run=True, role_pattern="bedrock-*")
    [item] = [m for m in result.manual if m.policy == "support-s3"]
    assert (
        "drift" in item.reason and item.document == support["policies"][0]["recommended_document"]
    )
    assert "support-s3" not in {c.policy for c in result.changes}


# ---- CloudFormation -------------------------------------------------------------------------


def test_cloudformation_pull_request(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "cloudformation")
    before = snapshot(repo)
    result = create_pull_request(repo, load("cloudformation.json"), push=True)
    check_golden("cloudformation.patch", result.patch)
    assert snapshot(repo) == before
    assert len(result.commits) == 2 and not result.manual
    assert git(tmp_path / "origin.git", "branch", "--list", BRANCH).strip()

    from cfnlint.api import lint

    for path in ("templates/helpdesk.yaml", "templates/pipeline.json"):
        old, new = (repo / path).read_text(), at_branch(repo, path)
        assert [str(m) for m in lint(old)] == []
        assert [str(m) for m in lint(new)] == [], path
        if path.endswith(".yaml"):
            yaml.compose(new, Loader=yaml.SafeLoader)
        else:
            json.loads(new)
    helpdesk = at_branch(repo, "templates/helpdesk.yaml")
    # intrinsics the recommendation did not change are kept exactly
    for kept in (
        '- !Sub "arn:aws:s3:::${DataBucket}/*"',
        "Resource: !GetAtt TicketQueue.Arn",
        '- !Join ["", ["arn:aws:dynamodb:us-east-1:111122223333:table/", !Ref TicketTable]]',
        'RoleName: !Sub "${AWS::StackName}-helpdesk-agent"',
        "# documents the agent answers from",
    ):
        assert kept in helpdesk
    assert "AmazonSQSFullAccess" not in helpdesk and "PolicyName: helpdesk-sqs-send" in helpdesk
    pipeline = json.loads(at_branch(repo, "templates/pipeline.json"))
    assert "LegacyPolicy" not in pipeline["Resources"]
    st = pipeline["Resources"]["PipelinePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert st[1] == {
        "Effect": "Allow",
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": {"Fn::Sub": "arn:aws:s3:::${AWS::StackName}-artifacts/*"},
    }


# ---- plain policy JSON, through the CLI --------------------------------------------------------


def test_policy_json_dry_run_cli_changes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "policyjson")
    before = snapshot(repo)
    res = CliRunner().invoke(
        main,
        ["pr", "--repo", str(repo), "--recommendation", str(RECS / "policyjson.json"), "--dry-run"],
    )
    assert res.exit_code == 0, res.output
    check_golden("policyjson.patch", res.stdout)
    assert snapshot(repo) == before
    assert git(repo, "branch", "--list").split() == ["*", "main"]
    assert not (repo / ".git" / "recommender").exists()
    assert "dry run: 2 file(s) would change, 1 manual change(s)" in res.stderr


def test_policy_json_cli_one_commit_json_output(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "policyjson")
    desc = tmp_path / "pr.md"
    res = CliRunner().invoke(
        main,
        [
            "pr",
            "--repo",
            str(repo),
            "--recommendation",
            str(RECS / "policyjson.json"),
            "--one-commit",
            "--branch",
            "iam/trim",
            "--push",
            "--description-out",
            str(desc),
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["branch"] == "iam/trim" and out["pushed"] is True and len(out["commits"]) == 1
    assert out["files"] == ["iam/agent-tools.json", "iam/legacy/tools-v1.json"]
    assert [(m["role"], m["policy"]) for m in out["manual"]] == [("tools-agent", "tools-inline")]
    assert out["patch"] == (GOLDEN / "policyjson.patch").read_text()
    assert (
        git(tmp_path / "origin.git", "rev-parse", "refs/heads/iam/trim").strip()
        == out["commits"][0]["sha"]
    )
    assert "### tools-agent / tools-inline" in desc.read_text()
    edited = json.loads(at_branch(repo, "iam/legacy/tools-v1.json", "iam/trim"))
    assert edited["Statement"][0]["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"]


# ---- refusals -----------------------------------------------------------------------------------


def test_existing_branch_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "policyjson")
    git(repo, "branch", BRANCH)
    res = CliRunner().invoke(
        main, ["pr", "--repo", str(repo), "--recommendation", str(RECS / "policyjson.json")]
    )
    assert res.exit_code == 1
    assert f"branch '{BRANCH}' already exists" in res.stderr


def test_dirty_file_that_would_be_edited_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "policyjson")
    (repo / "iam" / "agent-tools.json").write_text(
        (repo / "iam" / "agent-tools.json").read_text() + "\n"
    )
    before = snapshot(repo)
    with pytest.raises(ConfigError, match="uncommitted changes in iam/agent-tools.json"):
        create_pull_request(repo, load("policyjson.json"))
    assert snapshot(repo) == before
    assert git(repo, "branch", "--list", BRANCH) == "", "a refused run leaves no branch behind"


def test_not_a_repository_and_not_a_recommendation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a git repository"):
        create_pull_request(tmp_path, load("policyjson.json"))
    repo = make_repo(tmp_path, "policyjson")
    with pytest.raises(ConfigError, match="not a recommendation document"):
        create_pull_request(repo, {"roles": []})
    with pytest.raises(ConfigError, match="base 'trunk' does not exist"):
        create_pull_request(repo, load("policyjson.json"), base="trunk")


def test_open_without_gh_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git_dir = str(Path(shutil.which("git") or "/usr/bin/git").parent)
    if shutil.which("gh", path=git_dir):
        pytest.skip("gh is installed next to git; cannot hide it")
    monkeypatch.setenv("PATH", git_dir)
    repo = make_repo(tmp_path, "policyjson")
    result = create_pull_request(repo, load("policyjson.json"), open_pr=True)
    assert result.pushed and result.pr_url is None
    assert any("`gh` is not installed" in m for m in result.messages)


def test_db_without_recommend_stage_is_a_clear_error(tmp_path: Path) -> None:
    try:
        from recommender.recommend import build_recommendation  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the recommend stage provides build_recommendation")
    repo = make_repo(tmp_path, "policyjson")
    res = CliRunner().invoke(main, ["pr", "--repo", str(repo), "--db", str(tmp_path / "x.duckdb")])
    assert res.exit_code == 1 and "recommend stage is not available" in res.stderr


def test_narrowed_resource_written_as_literal_is_flagged(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "terraform")
    rec = load("terraform.json")
    support = next(r for r in rec["roles"] if r["name"] == "bedrock-agent-support")
    s3 = support["policies"][0]
    # keep the bucket ARN (written with ${var.bucket}); narrow the objects to one prefix
    s3["recommended_document"]["Statement"][0]["Resource"] = [
        "arn:aws:s3:::kb-support-docs",
        "arn:aws:s3:::kb-support-docs/faq/*",
    ]
    result = create_pull_request(repo, rec, dry_run=True, role_pattern="bedrock-*")
    assert '-          "arn:aws:s3:::${var.bucket}/*",\n' in result.patch
    assert '"arn:aws:s3:::${var.bucket}",\n' not in result.patch.replace(
        ' "arn:aws:s3:::${var.bucket}",', ""
    )
    assert '+          "arn:aws:s3:::kb-support-docs/faq/*"' in result.patch
    [change] = [c for c in result.changes if c.policy == "support-s3"]
    assert any("written as a literal" in n and "${var.bucket}/*" in n for n in change.notes)
    assert "written as a literal" in result.description


def test_removed_inline_policy_deletes_its_resource(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "terraform")
    rec = load("terraform.json")
    support = next(r for r in rec["roles"] if r["name"] == "bedrock-agent-support")
    logs = support["policies"][1]
    logs["change"], logs["recommended_document"] = "removed", None
    support["policies"] = [logs]
    support["new_policies"] = []
    result = create_pull_request(repo, rec, dry_run=True, role_pattern="bedrock-*")
    assert [(c.policy, c.change) for c in result.changes] == [("support-logs", "removed")]
    assert '-resource "aws_iam_role_policy" "support_logs" {' in result.patch
    removed = "".join(
        line[1:] + "\n"
        for line in result.patch.splitlines()
        if line.startswith("-") and not line.startswith("---")
    )
    original = (IAC / "terraform" / "roles.tf").read_text()
    start = original.index('resource "aws_iam_role_policy" "support_logs"')
    assert (
        removed == original[start : original.index("}\n\n", start) + 3]
    )  # the block and one blank line


def test_shared_policy_is_edited_once_in_its_own_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, "policyjson")
    rec = load("policyjson.json")
    tools = rec["roles"][0]
    other = json.loads(json.dumps(tools))
    other["name"], other["principal_arn"] = "tools-agent-2", tools["principal_arn"] + "-2"
    other["policies"] = [p for p in other["policies"] if p["name"] == "agent-tools"]
    rec["roles"].append(other)
    shared_doc = tools["policies"][0]["current_document"]
    shared_doc = json.loads(json.dumps(shared_doc))
    shared_doc["Statement"][0]["Action"] = ["lambda:InvokeFunction", "lambda:GetFunction"]
    rec["shared_policies"] = [
        {
            "policy_arn": tools["policies"][0]["arn"],
            "name": "agent-tools",
            "roles": ["tools-agent", "tools-agent-2"],
            "recommended_document": shared_doc,
        }
    ]
    result = create_pull_request(repo, rec)
    assert [c.role for c in result.commits] == ["tools-agent", "shared policy agent-tools"]
    edited = json.loads(at_branch(repo, "iam/agent-tools.json"))
    assert canonical_document(edited) == canonical_document(shared_doc)
