"""One error type for everything the user can fix, with a few subclasses.

The CLI turns a ``RecommenderError`` into a message on stderr and the exit code
below; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

# Exit codes, documented in the README. Schedulers rely on them: keep them stable.
EXIT_OK = 0
EXIT_ERROR = 1  # the command could not do its job (bad config, unreadable input, AWS access)
EXIT_USAGE = 2  # click's own code for a wrong command line
EXIT_REJECTIONS = 3  # finished, but some input was rejected (details in the `rejects` table)
EXIT_INVARIANT = 4  # a recommendation would break an observed call or broaden a grant; nothing written


class RecommenderError(Exception):
    """An error the user can act on. The message says what and where."""

    exit_code = EXIT_ERROR


class LogFormatError(RecommenderError):
    """A CloudTrail input that cannot be read at all."""


class PolicyParseError(RecommenderError):
    """An IAM policy document or authorization-details file that is not valid."""


class ConfigError(RecommenderError):
    """A configuration file or option that is wrong."""


class AwsAccessError(RecommenderError):
    """An AWS call that failed for lack of access or connectivity."""


class SourceGone(AwsAccessError):
    """An object this run listed that was deleted or rewritten before it was read: ingest
    records that file as failed and goes on; the next run reads what is there then."""


class InvariantError(RecommenderError):
    """A recommendation that would violate one of its invariants."""

    exit_code = EXIT_INVARIANT
