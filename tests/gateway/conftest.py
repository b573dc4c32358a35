"""A real `llmledger serve` process in front of the fake provider."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from ..fake_provider import FakeProvider
from ..servers import clear_of_minute_end, free_port

__all__ = ["GatewayProcess", "clear_of_minute_end", "provider_config", "start_gateway"]


@dataclass
class GatewayProcess:
    process: subprocess.Popen  # type: ignore[type-arg]
    port: int
    db: str
    config: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"{self.url}/anthropic"

    def cli(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "llmledger.cli", *args, "--db", self.db, "--config",
                                 str(self.config)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def key(self, *args: str) -> str:
        """A new virtual key's secret."""
        return str(json.loads(self.cli("keys", "create", "--format", "json", *args))["secret"])

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


def start_gateway(config_text: str, directory: Path, *, db: str | None = None) -> GatewayProcess:
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "llmledger.yaml"
    config.write_text(config_text)
    db = db or f"sqlite:///{directory / 'gateway.db'}"
    port = free_port()
    log = directory / "gateway.log"
    env = {**os.environ, "LLMLEDGER_SPOOL": str(directory / "spool")}
    with log.open("w") as out:  # the child keeps its own copy of the file descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "llmledger.cli", "serve", "--port", str(port), "--db", db, "--config",
             str(config), "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=directory,
        )
    gateway = GatewayProcess(process, port, db, config, log)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx2.get(f"{gateway.url}/healthz", timeout=1).status_code == 200:
                return gateway
        except httpx2.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            gateway.stop()
            raise RuntimeError(f"the gateway did not start:\n{log.read_text()}")
        time.sleep(0.05)


def provider_config(fake: FakeProvider, extra: str = "") -> str:
    return f"""
providers:
  openai: {{base_url: "{fake.openai_url}", api_key: sk-provider-secret}}
  anthropic: {{base_url: "{fake.anthropic_url}", api_key: sk-ant-provider-secret}}
admin_token: admin-token
{extra}
"""


@pytest.fixture(scope="module")
def gateway_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., GatewayProcess]]:
    started: list[GatewayProcess] = []

    def make(config_text: str, *, db: str | None = None) -> GatewayProcess:
        gateway = start_gateway(config_text, tmp_path_factory.mktemp("gateway"), db=db)
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        gateway.stop()
