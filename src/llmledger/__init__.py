"""llmledger: the exact cost of every LLM call — capture it, price it, attribute it, store it, report it."""

from importlib.metadata import version as _version

from .attribution import session, tags
from .budgets import Budget
from .errors import (
    BudgetExceeded,
    ConfigError,
    ImportFailed,
    IncompleteStream,
    LedgerError,
    ParseError,
    StoreUnavailable,
    UnknownModel,
    UnknownProvider,
)
from .events import UsageEvent
from .ledger import Ledger, ReportQuery
from .outcomes import outcome
from .pricing import Cost, PriceBook, PriceOverride
from .providers import Parsed, parse_body, parse_document, parse_stream
from .sdk import configure, instrument
from .tokens import Estimate, estimate
from .usage import Usage

__version__ = _version("llmledger")

__all__ = [
    "Budget",
    "BudgetExceeded",
    "ConfigError",
    "Cost",
    "Estimate",
    "ImportFailed",
    "IncompleteStream",
    "Ledger",
    "LedgerError",
    "ParseError",
    "Parsed",
    "PriceBook",
    "PriceOverride",
    "ReportQuery",
    "StoreUnavailable",
    "UnknownModel",
    "UnknownProvider",
    "Usage",
    "UsageEvent",
    "__version__",
    "configure",
    "estimate",
    "instrument",
    "outcome",
    "parse_body",
    "parse_document",
    "parse_stream",
    "session",
    "tags",
]
