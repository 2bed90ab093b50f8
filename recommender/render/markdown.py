"""The Markdown summary: the report cut down to a ticket or pull-request comment.

Markdown goes where HTML is rendered too (GitHub, GitLab, Jira), so a session
name like ``[click](https://evil)`` or ``<img src=x>`` must stay text. The
summary is rendered by the report's one autoescaping environment (which takes
care of HTML) and every CloudTrail/IAM value passes through :func:`md_cell`,
which backslash-escapes what Markdown would otherwise interpret.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from recommender.render.context import ReportContext

# Characters Markdown (CommonMark + GitHub tables) gives meaning to. ``<``, ``>`` and
# ``&`` are left to the environment's HTML escaping: an entity renders as the character.
_MD_SPECIAL = frozenset("\\`*_{}[]()#+!|~")


def md_cell(value: Any) -> str:
    """A value as inert Markdown text for one table cell or line: one line, specials escaped."""
    text = "" if value is None else str(value)
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in " ".join(text.split()))


def render_markdown(ctx: ReportContext, env: Environment) -> str:
    """The summary text for ``ctx`` using the report environment ``env``."""
    return env.get_template("summary.md.j2").render(ctx=ctx)
