"""Keep `__all__` honest: every public name is listed, and everything listed exists (as httpx's test does)."""

import llmledger


def test_all_lists_exactly_the_public_names():
    public = {
        name for name, value in vars(llmledger).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("llmledger")
        and not isinstance(value, type(llmledger))
    }
    assert public == set(llmledger.__all__) - {"__version__"}


def test_everything_in_all_exists():
    for name in llmledger.__all__:
        assert hasattr(llmledger, name), name


def test_errors_share_one_base():
    for name in ("ParseError", "IncompleteStream", "UnknownProvider", "UnknownModel", "ConfigError", "ImportFailed",
                 "StoreUnavailable"):
        assert issubclass(getattr(llmledger, name), llmledger.LedgerError)
