from __future__ import annotations

import pytest
from typer.testing import CliRunner

from llmledger.cli import app


class Run:
    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0, env: dict[str, str] | None = None):
        result = self.runner.invoke(app, [str(a) for a in args], env=env)
        assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
        return result


@pytest.fixture
def run() -> Run:
    return Run()


@pytest.fixture
def receiver():
    from ..alerts.receiver import Receiver

    server = Receiver()
    yield server
    server.close()
