"""Which principals belong to agents and automated workloads, and why.

The tool exists to right-size the roles of AI agents and workloads, so every
principal gets ``is_agent`` and a human-readable ``agent_reason``. The evidence,
strongest first: the role's trust policy (an AWS service or a CI identity
provider may assume it), then tags and name patterns from an optional TOML
file::

    [agents]
    tag_keys = ["agent", "workload"]        # a tag with one of these keys marks an agent
    name_patterns = ["agent-*", "*-bot"]     # case-insensitive globs on the role/user name
    service_principals = ["glue.amazonaws.com"]  # extra trusted services that mean "workload"
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recommender.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has no tomllib; tomli is the same parser
    import tomli as tomllib

# Services whose trust means "code runs under this role without a person in the loop".
AGENT_SERVICES: dict[str, str] = {
    "bedrock.amazonaws.com": "Bedrock agent",
    "bedrock-agentcore.amazonaws.com": "Bedrock AgentCore runtime",
    "lambda.amazonaws.com": "Lambda function",
    "ecs-tasks.amazonaws.com": "ECS task",
    "sagemaker.amazonaws.com": "SageMaker job/endpoint",
    "states.amazonaws.com": "Step Functions state machine",
    "ec2.amazonaws.com": "EC2 instance profile",
    "pods.eks.amazonaws.com": "EKS pod identity",
    "codebuild.amazonaws.com": "CodeBuild project",
    "glue.amazonaws.com": "Glue job",
    "batch.amazonaws.com": "Batch job",
    "scheduler.amazonaws.com": "EventBridge Scheduler",
    "events.amazonaws.com": "EventBridge rule",
    "apprunner.amazonaws.com": "App Runner service",
    "tasks.apprunner.amazonaws.com": "App Runner service",
}

# OIDC providers of CI systems: a web-identity trust on them means a CI workload.
CI_OIDC: dict[str, str] = {
    "token.actions.githubusercontent.com": "GitHub Actions (OIDC)",
    "gitlab.com": "GitLab CI (OIDC)",
    "app.terraform.io": "Terraform Cloud (OIDC)",
    "oidc.circleci.com": "CircleCI (OIDC)",
}


@dataclass
class AgentConfig:
    tag_keys: list[str] = field(default_factory=list)
    name_patterns: list[str] = field(default_factory=list)
    service_principals: list[str] = field(default_factory=list)


_KEYS = {"tag_keys", "name_patterns", "service_principals"}


def load_agent_config(path: str | Path | None) -> AgentConfig:
    """Read and validate the ``[agents]`` table of a TOML file (None: defaults)."""
    if path is None:
        return AgentConfig()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"agent config {path} does not exist") from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read agent config {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"agent config {path} is not valid TOML: {e}") from e
    table = data.get("agents")
    if table is None:
        raise ConfigError(f"agent config {path} has no [agents] table")
    if not isinstance(table, dict):
        raise ConfigError(f"agent config {path}: 'agents' must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"agent config {path}: unknown key agents.{unknown[0]} "
            f"(known: {', '.join(sorted(_KEYS))})"
        )
    values: dict[str, list[str]] = {}
    for key in _KEYS:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(
                f"agent config {path}: agents.{key} must be a list of non-empty strings"
            )
        values[key] = value
    return AgentConfig(**values)


def _principal_values(principal: Any, kind: str) -> list[str]:
    if not isinstance(principal, dict):
        return []
    value = principal.get(kind)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def detect_agent(
    name: str, tags: dict[str, str], trust_policy: dict[str, Any] | None, config: AgentConfig
) -> tuple[bool, str | None]:
    """(is_agent, reason) for one principal; reasons from all matching evidence, '; '-joined."""
    reasons: list[str] = []
    extra = {s.lower() for s in config.service_principals}
    statements = (trust_policy or {}).get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for stmt in statements if isinstance(statements, list) else []:
        if not isinstance(stmt, dict) or stmt.get("Effect") != "Allow":
            continue
        for service in _principal_values(stmt.get("Principal"), "Service"):
            s = service.lower()
            if s in AGENT_SERVICES:
                reasons.append(f"trusted by {service} ({AGENT_SERVICES[s]})")
            elif s in extra:
                reasons.append(f"trusted by {service} (configured service principal)")
        for federated in _principal_values(stmt.get("Principal"), "Federated"):
            for host, label in CI_OIDC.items():
                if federated.endswith(f"oidc-provider/{host}") or federated == host:
                    reasons.append(f"CI workload: {label}")
    lowered = {k.lower(): (k, v) for k, v in tags.items()}
    for key in config.tag_keys:
        if key.lower() in lowered:
            k, v = lowered[key.lower()]
            reasons.append(f"tag {k}={v}")
    for pattern in config.name_patterns:
        if fnmatch.fnmatchcase(name.lower(), pattern.lower()):
            reasons.append(f"name matches {pattern!r}")
    unique = list(dict.fromkeys(reasons))
    return (bool(unique), "; ".join(unique) if unique else None)
