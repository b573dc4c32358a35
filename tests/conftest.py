from __future__ import annotations

import gc
import itertools
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from llmledger.cli import app
from llmledger.ledger import Ledger
from llmledger.pricing import PriceBook

from .alerts.receiver import Receiver
from .fake_provider import FakeProvider
from .servers import PostgresServer, RedisServer, start_postgres, start_redis

# The recorded provider responses live in shared/fixtures, beside the checkout (as CI has it).
FIXTURES = Path(os.environ.get("LLMLEDGER_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"))

_db_names = itertools.count()


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own directory, with no config or database from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("LLMLEDGER_DB", "LLMLEDGER_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    assert FIXTURES.is_dir(), f"provider fixtures not found at {FIXTURES}"
    return FIXTURES


@pytest.fixture(scope="session")
def prices() -> PriceBook:
    return PriceBook()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty ledger database: an SQLite file, or a new database on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"test_{next(_db_names)}")


@pytest.fixture
def ledger(ledger_url: str, tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(ledger_url, spool_dir=tmp_path / "spool", flush_interval=0.02) as opened:
        yield opened


@pytest.fixture(autouse=True)
def _collect_dropped_clients(request: pytest.FixtureRequest) -> Iterator[None]:
    """SDK clients a test made and dropped unclosed are collected at its end, not at interpreter exit, where
    their sockets' ResourceWarning would be raised outside any test."""
    yield
    if "fake" in request.fixturenames:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect(1)


@pytest.fixture(autouse=True, scope="session")
def _collect_at_the_end() -> Iterator[None]:
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture(scope="session")
def fake() -> Iterator[FakeProvider]:
    """A fake LLM provider on loopback, answering with the recorded responses (see tests/fake_provider.py)."""
    server = FakeProvider().start()
    yield server
    server.stop()


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(url, spool_dir=tmp_path / "spool", flush_interval=0.02) as opened:
        yield opened


class Run:
    """Runs the CLI in-process; checks the exit code."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        result = self.runner.invoke(app, [str(a) for a in args], env=env)
        assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
        return result


@pytest.fixture
def run() -> Run:
    return Run()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A local HTTP receiver standing in for Slack and webhook endpoints."""
    server = Receiver()
    yield server
    server.close()
