"""The grants stage: what every principal is allowed to do, the way AWS decides it.

Sources (an authorization-details file, or boto3 with Organizations SCPs) become
principals, policies and normalised statements; SQL expands the statements
against the IAM catalog and evaluates Deny, permissions boundaries and SCPs into
``effective_grants``. Later stages read those tables and reuse the pattern
semantics (``iam_resource_match`` in SQL, ``resource_matches`` here).
"""

from __future__ import annotations

from recommender.grants.agents import AgentConfig, detect_agent, load_agent_config
from recommender.grants.evaluate import evaluate
from recommender.grants.fetch import fetch_from_aws
from recommender.grants.load import LoadResult, load_authorization_details
from recommender.grants.patterns import (
    action_matches,
    pattern_covers,
    patterns_overlap,
    resource_matches,
)
from recommender.grants.show import is_allowed, show_principal

__all__ = [
    "AgentConfig",
    "LoadResult",
    "action_matches",
    "detect_agent",
    "evaluate",
    "fetch_from_aws",
    "is_allowed",
    "load_agent_config",
    "load_authorization_details",
    "pattern_covers",
    "patterns_overlap",
    "resource_matches",
    "show_principal",
]
