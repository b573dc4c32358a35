"""The one error tree of llmledger.

    LedgerError                      base of everything raised on purpose
    ├── ParseError                   a provider body or stream could not be read (bad JSON, no usage, bad counts)
    │   └── IncompleteStream         a stream ended before the provider reported its usage
    ├── UnknownProvider              no parser is registered for the provider id
    ├── UnknownModel                 the price catalog and the local overrides do not know the model
    ├── ConfigError                  the config file or a command-line option is wrong
    ├── ImportFailed                 an import file has bad records (all of them are listed; nothing is written)
    ├── StoreUnavailable             the ledger database cannot be reached or used (retry later)
    ├── RejectedEvents               the ledger refuses these events (a value out of its range): never retried
    └── BudgetExceeded               a call's worst-case cost would cross a hard budget: refused before it is sent
        └── RateLimitExceeded        a call would pass a requests- or tokens-per-minute limit

Messages name the offending value and say what to do. They are turned into CLI messages (and later HTTP
responses) only at the edges.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = [
    "LedgerError",
    "ParseError",
    "IncompleteStream",
    "UnknownProvider",
    "UnknownModel",
    "ConfigError",
    "ImportFailed",
    "StoreUnavailable",
    "RejectedEvents",
    "BudgetExceeded",
    "RateLimitExceeded",
]


class LedgerError(Exception):
    """Base class of every error llmledger raises on purpose."""


class ParseError(LedgerError):
    """A provider response body or stream transcript could not be turned into usage."""


class IncompleteStream(ParseError):
    """A stream ended before the provider reported its final usage."""


class UnknownProvider(LedgerError):
    """No usage parser is registered under this provider id."""


class UnknownModel(LedgerError):
    """Neither the price catalog nor a local override has a price for this model."""


class ConfigError(LedgerError):
    """The configuration file or an option is invalid."""


class ImportFailed(LedgerError):
    """An import file holds invalid records; `problems` lists each one as (location, message)."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        shown = "\n".join(f"  {where}: {what}" for where, what in problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{source}: {len(problems)} invalid record(s); nothing was imported\n{shown}{more}")


class StoreUnavailable(LedgerError):
    """The ledger database cannot be reached, opened or written."""


class RejectedEvents(LedgerError):
    """The store refused the events themselves (not a connection problem): writing them again cannot succeed."""


class BudgetExceeded(LedgerError):
    """A call was refused before it was sent: its worst-case cost would cross a hard budget.

    `budget` is the budget's name, `limit`, `spent` and `reserved` its figures in its window, `requested` the
    refused call's worst case, and `retry_after` the seconds until the window ends.
    """

    code = "budget_exceeded"

    def __init__(
        self, message: str, *, budget: str, limit: Decimal, spent: Decimal, reserved: Decimal, requested: Decimal,
        retry_after: int,
    ) -> None:
        super().__init__(message)
        self.budget = budget
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.requested = requested
        self.retry_after = retry_after


class RateLimitExceeded(BudgetExceeded):
    """A call would pass a rate limit (requests or tokens per window); `spent` and `limit` count those."""

    code = "rate_limit_exceeded"
