"""A real `redis-server` on a free loopback port, per test (no fake broker, no eager tasks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.queue.redis_server import running_redis


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """`redis://127.0.0.1:<port>/0` of a redis-server that lives for one test."""
    with running_redis(tmp_path / "redis") as url:
        yield url
