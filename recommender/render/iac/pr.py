"""Apply a recommendation to an IaC repository as a reviewable git branch.

The user's checkout is never touched: the branch is built in a separate
``git worktree`` (a temporary directory), one commit per role (or one in
total), and the worktree is removed afterwards; only the new branch remains.
``dry_run`` works on an exported copy of the base commit and leaves the
repository exactly as it was. The PR description (what changes, why, evidence,
risk, roll back, and every change left to a human) is written to a file, and
optionally the branch is pushed and a PR opened with the GitHub CLI.
"""

from __future__ import annotations

import difflib
import fnmatch
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.errors import ConfigError, RecommenderError
from recommender.render.iac.dialects import ordered_document
from recommender.render.iac.locate import plan_role, plan_shared
from recommender.render.iac.model import ManualItem, PolicyChange, RoleChange
from recommender.render.iac.nodes import apply_edits

SCHEMA_PREFIX = "recommender.recommendation/"
_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "recommender",
    "GIT_AUTHOR_EMAIL": "recommender@localhost",
    "GIT_COMMITTER_NAME": "recommender",
    "GIT_COMMITTER_EMAIL": "recommender@localhost",
}


class GitError(RecommenderError):
    """A git (or gh) command that failed; the message carries its output."""


@dataclass
class Commit:
    sha: str
    role: str
    subject: str

    def to_dict(self) -> dict[str, Any]:
        return {"sha": self.sha, "role": self.role, "subject": self.subject}


@dataclass
class PrResult:
    repo: str
    branch: str
    base: str
    dry_run: bool
    patch: str
    description: str
    description_path: str | None = None
    files: list[str] = field(default_factory=list)
    commits: list[Commit] = field(default_factory=list)
    changes: list[PolicyChange] = field(default_factory=list)
    manual: list[ManualItem] = field(default_factory=list)
    pushed: bool = False
    remote: str | None = None
    pr_url: str | None = None
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "branch": self.branch,
            "base": self.base,
            "dry_run": self.dry_run,
            "files": self.files,
            "commits": [c.to_dict() for c in self.commits],
            "changes": [c.to_dict() for c in self.changes],
            "manual": [m.to_dict() for m in self.manual],
            "description_path": self.description_path,
            "pushed": self.pushed,
            "remote": self.remote,
            "pr_url": self.pr_url,
            "messages": self.messages,
            "patch": self.patch,
        }


# ---- git ---------------------------------------------------------------------------


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    try:
        proc = subprocess.run(
            ["git", *args],
            check=False,
            cwd=cwd,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
        )
    except FileNotFoundError as e:
        raise GitError("git is not installed (needed to create the branch)") from e
    if check and proc.returncode != 0:
        raise GitError(
            f"git {' '.join(args)} failed in {cwd}: {proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc.stdout


def _identity(repo: Path) -> dict[str, str]:
    """Commit as the user when git knows who that is, else as "recommender"."""
    have_name = _git(repo, "config", "user.name", check=False).strip()
    have_mail = _git(repo, "config", "user.email", check=False).strip()
    if have_name and have_mail:
        return {}
    return {k: v for k, v in _FALLBACK_IDENTITY.items() if k not in os.environ}


def _toplevel(path: Path) -> Path:
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist; --repo must be a git checkout of the IaC repository"
        )
    out = _git(path, "rev-parse", "--show-toplevel", check=False).strip()
    if not out:
        raise ConfigError(
            f"{path} is not a git repository; --repo must be a git checkout of the IaC repository"
        )
    return Path(out)


def default_branch_name(recommendation: dict[str, Any]) -> str:
    as_of = (recommendation.get("generated_from") or {}).get("as_of") or "latest"
    return f"recommender/least-privilege-{as_of}"


# ---- the recommendation --------------------------------------------------------------


def validate_recommendation(rec: Any) -> None:
    if not isinstance(rec, dict) or not str(rec.get("schema", "")).startswith(SCHEMA_PREFIX):
        raise ConfigError(
            f'not a recommendation document (expected "schema": "{SCHEMA_PREFIX}1"); '
            "create one with `recommender recommend --out DIR`"
        )
    if not isinstance(rec.get("roles"), list):
        raise ConfigError('the recommendation document has no "roles" list')


def _selected(role: dict[str, Any], pattern: str | None) -> bool:
    if not pattern:
        return True
    return fnmatch.fnmatchcase(role.get("name", ""), pattern) or fnmatch.fnmatchcase(
        role.get("principal_arn", ""), pattern
    )


# ---- the pull request ------------------------------------------------------------------


def create_pull_request(
    repo_path: str | Path,
    recommendation: dict[str, Any],
    *,
    branch: str | None = None,
    base: str = "main",
    per_role_commits: bool = True,
    push: bool = False,
    remote: str = "origin",
    open_pr: bool = False,
    dry_run: bool = False,
    role_pattern: str | None = None,
    tf_state: dict[str, Any] | None = None,
    description_out: str | Path | None = None,
) -> PrResult:
    """Create a branch in ``repo_path`` that applies ``recommendation`` (see module docstring)."""
    validate_recommendation(recommendation)
    repo = _toplevel(Path(repo_path))
    branch = branch or default_branch_name(recommendation)
    if _git(repo, "check-ref-format", "--branch", branch, check=False).strip() == "":
        raise ConfigError(f"{branch!r} is not a valid branch name")
    base_sha = _git(
        repo, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", check=False
    ).strip()
    if not base_sha:
        raise ConfigError(
            f"base {base!r} does not exist in {repo}; pass --base with an existing branch"
        )
    if (
        not dry_run
        and _git(
            repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False
        ).strip()
    ):
        raise ConfigError(
            f"branch {branch!r} already exists in {repo}; pass another --branch or delete it"
        )
    if open_pr and not dry_run:
        push = True  # a PR needs the branch on the remote
    if push and not dry_run and not _git(repo, "remote", "get-url", remote, check=False).strip():
        raise ConfigError(
            f"remote {remote!r} is not configured in {repo}; add it or pass another remote"
        )

    roles = [r for r in recommendation["roles"] if _selected(r, role_pattern)]
    shared = [
        s
        for s in recommendation.get("shared_policies") or []
        if not role_pattern or any(fnmatch.fnmatchcase(n, role_pattern) for n in s.get("roles", []))
    ]
    shared_arns = {s.get("policy_arn") for s in shared if s.get("policy_arn")}

    tmp = Path(tempfile.mkdtemp(prefix="recommender-pr-"))
    work = tmp / "work"
    worktree = False
    result = PrResult(str(repo), branch, base, dry_run, patch="", description="")
    try:
        if dry_run:
            _export(repo, base_sha, work)
        else:
            _git(repo, "worktree", "add", "--quiet", "-b", branch, str(work), base_sha)
            worktree = True
        originals: dict[str, str] = {}
        env = _identity(repo)
        pending: list[RoleChange] = []
        for role in roles:
            rc = plan_role(work, role, tf_state=tf_state, skip_arns=shared_arns)
            _record(result, rc, work, originals)
            if rc.edits:
                pending.append(rc)
                if per_role_commits and not dry_run:
                    result.commits.append(_commit(work, rc, recommendation, env))
                    pending.clear()
        for s in shared:
            current = _current_document(recommendation, s.get("policy_arn"))
            rc = plan_shared(work, s, current, tf_state)
            _record(result, rc, work, originals)
            if rc.edits:
                pending.append(rc)
                if per_role_commits and not dry_run:
                    result.commits.append(_commit(work, rc, recommendation, env))
                    pending.clear()
        if pending and not dry_run:
            result.commits.append(_commit_all(work, pending, recommendation, env))
        result.files = sorted(originals)
        result.patch = _patch(originals, work)
        if not dry_run:
            _refuse_if_dirty(repo, result.files, branch)
    except BaseException:
        if worktree:
            _git(repo, "worktree", "remove", "--force", str(work), check=False)
            _git(repo, "branch", "-D", branch, check=False)
            worktree = False
        raise
    finally:
        if worktree:
            _git(repo, "worktree", "remove", "--force", str(work), check=False)
        shutil.rmtree(tmp, ignore_errors=True)

    if not dry_run and not result.commits:
        _git(repo, "branch", "-D", branch, check=False)
        result.messages.append(
            f"nothing in {repo} could be changed automatically; no branch was created"
        )
    result.description = render_description(recommendation, result)
    if description_out is not None or (not dry_run and (result.commits or result.manual)):
        path = Path(description_out) if description_out else _default_description_path(repo, branch)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(result.description, encoding="utf-8")
        result.description_path = str(path)
    if push and not dry_run and result.commits:
        _git(repo, "push", "--quiet", remote, f"refs/heads/{branch}:refs/heads/{branch}")
        result.pushed, result.remote = True, remote
    if open_pr and not dry_run and result.commits:
        result.pr_url = _open_pr(repo, result, recommendation)
    return result


def _export(repo: Path, sha: str, dest: Path) -> None:
    """The files of ``sha`` in ``dest``, without touching the repository."""
    try:
        data = subprocess.run(
            ["git", "archive", "--format=tar", sha], cwd=repo, capture_output=True, check=True
        ).stdout
    except subprocess.CalledProcessError as e:
        raise GitError(
            f"git archive {sha} failed: {e.stderr.decode(errors='replace').strip()}"
        ) from e
    dest.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - Python without extraction filters; git wrote this archive
            tar.extractall(dest)


def _record(result: PrResult, rc: RoleChange, work: Path, originals: dict[str, str]) -> None:
    """Apply a role's edits to the working copy, remembering each file's first version."""
    for path, edits in rc.edits.items():
        f = work / path
        text = f.read_text(encoding="utf-8")
        originals.setdefault(path, text)
        f.write_text(apply_edits(text, edits), encoding="utf-8")
    result.changes += rc.changes
    result.manual += rc.manual


def _current_document(rec: dict[str, Any], arn: str | None) -> dict[str, Any] | None:
    for role in rec.get("roles", []):
        for p in role.get("policies", []):
            if arn and p.get("arn") == arn and p.get("current_document"):
                return p["current_document"]
    return None


def _patch(originals: dict[str, str], work: Path) -> str:
    out: list[str] = []
    for path in sorted(originals):
        old = originals[path].splitlines(keepends=True)
        new = (work / path).read_text(encoding="utf-8").splitlines(keepends=True)
        out.extend(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out
    )


def _refuse_if_dirty(repo: Path, files: list[str], branch: str) -> None:
    """The user's uncommitted edits to the same files would be silently left out of the PR."""
    status = _git(repo, "status", "--porcelain", "--untracked-files=no")
    dirty = {line[3:].split(" -> ")[-1] for line in status.splitlines() if line.strip()}
    clash = sorted(set(files) & dirty)
    if clash:
        raise ConfigError(
            f"{repo} has uncommitted changes in {', '.join(clash)}, which this PR also edits; "
            "commit or stash them, then run again"
        )


def _default_description_path(repo: Path, branch: str) -> Path:
    # inside .git: discoverable, and it never makes the user's working tree dirty
    common = Path(_git(repo, "rev-parse", "--git-common-dir").strip())
    if not common.is_absolute():
        common = repo / common
    return common / "recommender" / (re.sub(r"[^\w.-]+", "_", branch) + ".md")


# ---- commits ------------------------------------------------------------------------------


def _window_text(rec: dict[str, Any]) -> str:
    g = rec.get("generated_from") or {}
    return f"the {g.get('window_days', '?')}-day window ending {g.get('as_of', '?')}"


def _commit_body(rc: RoleChange) -> list[str]:
    lines = []
    for c in rc.changes:
        if c.change == "added":
            lines.append(
                f"- {c.policy}: new inline policy, {c.actions_after} action(s) ({c.where})"
            )
        elif c.change in ("removed", "detach"):
            lines.append(f"- {c.policy} ({c.kind}): {c.change} ({c.where})")
        else:
            lines.append(
                f"- {c.policy} ({c.kind}): {c.actions_before} -> {c.actions_after} action(s) ({c.where})"
            )
    if rc.manual:
        lines.append(f"- {len(rc.manual)} change(s) left for a manual edit: see the PR description")
    return lines


def _commit(work: Path, rc: RoleChange, rec: dict[str, Any], env: dict[str, str]) -> Commit:
    # net: a detached managed policy's needed actions come back in the new policy
    fewer = sum(c.actions_before - c.actions_after for c in rc.changes)
    subject = f"iam({rc.role}): least privilege, {fewer} fewer action(s)"
    body = [
        f"Trims the IAM policies of {rc.principal_arn or rc.role} to what CloudTrail shows",
        f"it used in {_window_text(rec)}.",
        "",
        *_commit_body(rc),
        "",
        "Generated by `recommender pr` from recommendation.json.",
    ]
    return Commit(_do_commit(work, list(rc.edits), subject, body, env), rc.role, subject)


def _commit_all(
    work: Path, rcs: list[RoleChange], rec: dict[str, Any], env: dict[str, str]
) -> Commit:
    subject = f"iam: least privilege for {len(rcs)} role(s)"
    body = [f"Trims IAM policies to what CloudTrail shows was used in {_window_text(rec)}.", ""]
    for rc in rcs:
        body += [f"{rc.role}:", *_commit_body(rc), ""]
    body.append("Generated by `recommender pr` from recommendation.json.")
    files = sorted({p for rc in rcs for p in rc.edits})
    return Commit(
        _do_commit(work, files, subject, body, env), ", ".join(rc.role for rc in rcs), subject
    )


def _do_commit(
    work: Path, files: list[str], subject: str, body: list[str], env: dict[str, str]
) -> str:
    _git(work, "add", "--", *files)
    _git(
        work,
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        subject,
        "-m",
        "\n".join(body).strip(),
        env=env,
    )
    return _git(work, "rev-parse", "HEAD").strip()


# ---- description ---------------------------------------------------------------------------


def render_description(rec: dict[str, Any], result: PrResult) -> str:
    """The PR description: what, why, evidence, risk, roll back, manual follow-ups."""
    g = rec.get("generated_from") or {}
    roles = {r["name"]: r for r in rec.get("roles", [])}
    changed_roles = sorted({c.role for c in result.changes})
    out = [
        f"# Least-privilege IAM changes for {len(changed_roles)} role(s)",
        "",
        f"Generated by `recommender pr` from the recommendation for {_window_text(rec)}"
        + (f" (IAM catalog {g['catalog_version']})." if g.get("catalog_version") else "."),
        "Only policy text changes; everything else in the edited files is byte-identical.",
        "",
        "## What changes",
        "",
    ]
    if result.changes:
        out += ["| Role | Policy | Change | Actions | Where |", "|---|---|---|---|---|"]
        for c in result.changes:
            acts = (
                f"{c.actions_before} → {c.actions_after}"
                if c.change != "added"
                else f"+{c.actions_after}"
            )
            out.append(
                f"| {_md(c.role)} | {_md(c.policy)} | {c.change} | {acts} | `{_md(c.where)}` |"
            )
        notes = [
            n
            for c in result.changes
            for n in c.notes
            if not n.endswith(("deleted", "detached from the role (the policy itself is kept)"))
        ]
        if notes:
            out += ["", "Review notes:", ""] + [f"- {_md(n)}" for n in notes]
    else:
        out.append("Nothing could be changed automatically (see below).")
    out += ["", "## Why (evidence)", ""]
    for name in changed_roles:
        r = roles.get(name)
        if r is None:
            continue
        out += [
            f"### {name}",
            "",
            f"`{r.get('principal_arn', '')}`, verdict: {r.get('verdict', '?')}",
            "",
        ]
        expl = (r.get("explanation_md") or "").strip()
        out += [expl or "_no explanation in the recommendation_", ""]
    if result.manual:
        out += [
            "## Manual change needed",
            "",
            (
                "These could not be edited safely (role not in this repository, a definition built in a loop "
                "or module, or a repository that differs from what is deployed). The recommended policy is "
                "attached; apply it by hand."
            ),
            "",
        ]
        for m in result.manual:
            title = m.role + (f" / {m.policy}" if m.policy else "")
            out += [f"### {_md(title)}", "", f"Reason: {_md(m.reason)}", ""]
            if m.document:
                out += [
                    "<details><summary>Recommended policy</summary>",
                    "",
                    "```json",
                    json.dumps(ordered_document(m.document), indent=2),
                    "```",
                    "",
                    "</details>",
                    "",
                ]
    out += [
        "## Risk",
        "",
        (
            "- Permissions not used in the window are removed. A task that runs more rarely than the window "
            f"(window: {g.get('window_days', '?')} days), or a code path not exercised in it, would now be denied."
        ),
        "- Actions CloudTrail cannot observe were kept by the recommendation; denied calls were never granted.",
        (
            "- Apply to a staging account first if there is one, and watch CloudTrail for `AccessDenied` "
            "from these roles after the change."
        ),
        "",
        "## How to roll back",
        "",
    ]
    if result.commits:
        shas = " ".join(c.sha[:12] for c in reversed(result.commits))
        out.append(
            f"- Revert the commit(s) of this PR (`git revert {shas}`) and apply; the previous policies come back exactly."
        )
    else:
        out.append("- Revert this PR and apply; the previous policies come back exactly.")
    out.append("- Or re-attach / re-add the previous policy text shown in this PR's diff.")
    return "\n".join(out).rstrip() + "\n"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|")


def _open_pr(repo: Path, result: PrResult, rec: dict[str, Any]) -> str | None:
    gh = shutil.which("gh")
    if gh is None:
        result.messages.append(
            f"the GitHub CLI `gh` is not installed: open a pull request for {result.branch} into "
            f"{result.base} on the remote by hand (description in {result.description_path})"
        )
        return None
    title = f"Least-privilege IAM for {len({c.role for c in result.changes})} role(s) ({(rec.get('generated_from') or {}).get('as_of', '')})"
    proc = subprocess.run(
        [
            gh,
            "pr",
            "create",
            "--base",
            result.base,
            "--head",
            result.branch,
            "--title",
            title,
            "--body-file",
            str(result.description_path),
        ],
        check=False,
        cwd=repo,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise GitError(f"gh pr create failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else None
