"""llmledger: the exact cost of every LLM call — parse the provider's usage, price it, store it, report it."""

from importlib.metadata import version as _version

from .errors import (
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
from .pricing import Cost, PriceBook, PriceOverride
from .providers import Parsed, parse_body, parse_document, parse_stream
from .usage import Usage

__version__ = _version("llmledger")

__all__ = [
    "ConfigError",
    "Cost",
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
    "parse_body",
    "parse_document",
    "parse_stream",
]
