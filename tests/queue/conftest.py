"""A real `redis-server` on a free loopback port, per test (no fake broker, no eager tasks)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

_START_TIMEOUT_S = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """`redis://127.0.0.1:<port>/0` of a redis-server that lives for one test, without persistence."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is missing; `make install` installs it (scripts/install-system.sh)")
    port = _free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=(folder / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"redis-server did not start: {(folder / 'redis.log').read_text()}"
                ) from None
            time.sleep(0.1)
    client.close()
    yield url
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
