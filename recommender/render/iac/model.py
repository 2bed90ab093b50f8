"""Result types of the IaC PR stage, shared by the locators and the git side."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from recommender.render.iac.nodes import Edit
from recommender.render.iac.policyedit import PolicySite


@dataclass
class Found:
    """One place a policy (or an attachment) is defined, or why it cannot be edited."""

    where: str
    site: PolicySite | None = None
    manual: str | None = None
    # Edits that are not a rewrite of a document: deleting a resource or an
    # attachment, adding a policy resource (path -> edits).
    edits: dict[str, list[Edit]] = field(default_factory=dict)


@dataclass
class ManualItem:
    role: str
    policy: str | None
    reason: str
    document: dict[str, Any] | None = None  # the recommended policy, attached for the human

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PolicyChange:
    role: str
    policy: str
    kind: str
    change: str
    where: str
    actions_before: int
    actions_after: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RoleChange:
    role: str
    principal_arn: str
    edits: dict[str, list[Edit]] = field(default_factory=dict)
    changes: list[PolicyChange] = field(default_factory=list)
    manual: list[ManualItem] = field(default_factory=list)

    def add_edits(self, edits: dict[str, list[Edit]]) -> None:
        for path, es in edits.items():
            self.edits.setdefault(path, []).extend(es)
