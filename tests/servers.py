"""Real servers for tests and benchmarks: a throwaway PostgreSQL cluster in a temporary directory."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def clear_of_minute_end(margin: float = 5.0) -> None:
    """Wait out the end of the current minute if it is near: per-minute limits restart there."""
    import time

    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found: apt-get install postgresql (see .ci/run)")
    return Path(candidates[-1])


@dataclass
class PostgresServer:
    root: Path
    port: int
    bin: Path
    as_user: list[str]

    @property
    def admin_url(self) -> str:
        return f"postgresql://llmledger@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://llmledger@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def halt(self, mode: str = "fast") -> None:
        """Stop the server but keep its data (an outage); `resume()` starts it again on the same port. (An
        ``immediate`` stop may lose the last commits: the test server runs with synchronous_commit=off.)"""
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", mode,
                        "stop"], capture_output=True)

    def resume(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-o", _options(
            self.port, self.root), "-l", str(self.root / "log"), "-w", "start"], check=True, capture_output=True)

    def stop(self) -> None:
        self.halt("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _options(port: int, root: Path) -> str:
    return (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off")


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start on a free loopback port; as root, the server runs as the `postgres` user."""
    bin_dir = _pg_bin()
    root = Path(tempfile.mkdtemp(prefix="llmledger-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    run(str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", "llmledger", "--auth=trust", "-E", "UTF8",
        "--no-sync")
    run(str(bin_dir / "pg_ctl"), "-D", str(root / "data"), "-o", _options(port, root), "-l", str(root / "log"), "-w",
        "start")
    return PostgresServer(root, port, bin_dir, as_user)


@dataclass
class RedisServer:
    process: subprocess.Popen  # type: ignore[type-arg]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def start_redis() -> RedisServer:
    """A redis-server on a free loopback port, nothing persisted."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found: apt-get install redis-server (see .ci/run)")
    port = free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            return RedisServer(process, port)
        except redis.ConnectionError:
            import time

            time.sleep(0.05)
    process.kill()
    raise RuntimeError("redis-server did not start")
