"""The recommend section of ``recommender.toml``: exceptions, grace, thresholds.

An exception keeps a grant on purpose (a break-glass delete, a quarterly job that
the window misses) and names who owns that decision and until when; an expired
exception is flagged in the explanation and no longer honoured, so exceptions do
not silently outlive their reason. Grace keeps everything of a role younger than
``[grace] days`` and every permission of a policy changed within that many days:
a new permission that has not been used *yet* is not evidence it is unneeded.

Example::

    [grace]
    days = 14

    [generalize]
    min_siblings = 3     # >= 3 objects under one prefix -> prefix/*
    max_resources = 25   # more entries than this -> keep the original pattern

    [recommend]
    keep_unobservable = true
    allow_wildcards = false

    [[exceptions]]
    role = "agent-*"
    action = "s3:Delete*"
    reason = "cleanup job runs quarterly"
    owner = "data-platform@example.com"
    expires = 2026-12-31

Other top-level tables of the file belong to other commands and are ignored here;
inside the tables above every key is checked, and errors name the file and key.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from recommender.errors import ConfigError
from recommender.recommend.model import action_matches
from recommender.recommend.resources import GeneralizeConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class ExceptionRule:
    """One ``[[exceptions]]`` entry."""

    role: str
    action: str
    reason: str
    owner: str
    expires: date | None
    where: str  # "recommender.toml exceptions[2]", for messages and the explanation

    def applies_to(self, role_name: str, role_arn: str, action: str) -> bool:
        return (
            fnmatchcase(role_name, self.role) or fnmatchcase(role_arn, self.role)
        ) and action_matches(self.action, action)

    def expired(self, as_of: date) -> bool:
        return self.expires is not None and self.expires < as_of

    def label(self) -> str:
        until = f", expires {self.expires.isoformat()}" if self.expires else ""
        return f"exception ({self.where}): {self.reason} (owner {self.owner}{until})"


@dataclass(frozen=True)
class RecommendConfig:
    """Everything that tunes a recommendation; the defaults need no file."""

    exceptions: tuple[ExceptionRule, ...] = ()
    grace_days: int = 14
    generalize: GeneralizeConfig = field(default_factory=GeneralizeConfig)
    keep_unobservable: bool = True
    allow_wildcards: bool = False
    source: str | None = None

    def with_options(self, *, allow_wildcards: bool | None = None) -> RecommendConfig:
        if allow_wildcards is None:
            return self
        return replace(self, allow_wildcards=allow_wildcards or self.allow_wildcards)


_TABLES: dict[str, dict[str, type]] = {
    "grace": {"days": int},
    "generalize": {"min_siblings": int, "max_resources": int, "enabled": bool},
    "recommend": {"keep_unobservable": bool, "allow_wildcards": bool},
}
_EXCEPTION_KEYS = {"role": str, "action": str, "reason": str, "owner": str, "expires": date}
_REQUIRED = ("role", "action", "reason", "owner")


def _check_type(value: Any, kind: type, where: str) -> Any:
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    if kind is str and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{where} must be a non-empty string, got {value!r}")
    if kind is date:
        if isinstance(value, datetime):
            return value.date()
        if not isinstance(value, date):
            raise ConfigError(
                f"{where} must be a TOML date like 2026-12-31 (no quotes), got {value!r}"
            )
    return value


def parse_config(data: dict[str, Any], name: str) -> RecommendConfig:
    """A validated config from parsed TOML; ``name`` is used in error messages."""
    values: dict[str, dict[str, Any]] = {}
    for table, keys in _TABLES.items():
        section = data.get(table, {})
        if not isinstance(section, dict):
            raise ConfigError(f"{name}: [{table}] must be a table")
        for key, value in section.items():
            if key not in keys:
                raise ConfigError(
                    f"{name}: unknown key {table}.{key}; known keys: {', '.join(sorted(keys))}"
                )
            values.setdefault(table, {})[key] = _check_type(
                value, keys[key], f"{name}: {table}.{key}"
            )
    grace = values.get("grace", {}).get("days", 14)
    if grace < 0:
        raise ConfigError(f"{name}: grace.days must be 0 or more, got {grace}")
    gen = values.get("generalize", {})
    generalize = GeneralizeConfig(**gen)
    if generalize.max_resources < 1:
        raise ConfigError(f"{name}: generalize.max_resources must be at least 1")

    raw_exceptions = data.get("exceptions", [])
    if not isinstance(raw_exceptions, list):
        raise ConfigError(f"{name}: exceptions must be an array of tables ([[exceptions]])")
    rules = []
    for i, entry in enumerate(raw_exceptions):
        where = f"{name} exceptions[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table")
        for key in entry:
            if key not in _EXCEPTION_KEYS:
                raise ConfigError(
                    f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(_EXCEPTION_KEYS))}"
                )
        for key in _REQUIRED:
            if key not in entry:
                raise ConfigError(
                    f"{where}: missing key {key!r} (every exception needs {', '.join(_REQUIRED)})"
                )
        checked = {k: _check_type(v, _EXCEPTION_KEYS[k], f"{where}.{k}") for k, v in entry.items()}
        if ":" not in checked["action"] and checked["action"] != "*":
            raise ConfigError(
                f"{where}.action must look like service:Action (e.g. s3:Delete*), got {checked['action']!r}"
            )
        rules.append(
            ExceptionRule(
                role=checked["role"],
                action=checked["action"],
                reason=checked["reason"],
                owner=checked["owner"],
                expires=checked.get("expires"),
                where=f"{Path(name).name} exceptions[{i}]",
            )
        )
    rec = values.get("recommend", {})
    return RecommendConfig(
        exceptions=tuple(rules),
        grace_days=grace,
        generalize=generalize,
        keep_unobservable=rec.get("keep_unobservable", True),
        allow_wildcards=rec.get("allow_wildcards", False),
        source=Path(name).name,
    )


def load_config(path: str | Path | None) -> RecommendConfig:
    """The config from a TOML file; no path: the defaults."""
    if path is None:
        return RecommendConfig()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ConfigError(f"config file {path} does not exist") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    return parse_config(data, str(path))
