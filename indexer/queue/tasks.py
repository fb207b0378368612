"""The worker side: one Celery task per file, running the daemon workers' per-file path.

Each pool process builds its own `Ingestor` (models load once per process) on its first task.
Deliveries of a task are counted in Redis, so a file that keeps killing its worker is given up
after `queue.max_attempts` and quarantined by the daemon with that reason.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_process_shutdown

from indexer.config import Settings
from indexer.errors import IndexerError
from indexer.hashing import FileIdentity
from indexer.queue.app import TASK_NAME, create_app
from indexer.watch.workers import Outcome, Task, process_file

__all__ = ["deliveries_key", "register_tasks", "run_worker"]

log = logging.getLogger(__name__)

#: Per pool process: the ingestor and the Redis client, built on first use after the fork.
_process_state: dict[str, Any] = {}


def deliveries_key(task_id: str) -> str:
    """The Redis counter of how many times a task was handed to a worker."""
    return f"indexer:deliveries:{task_id}"


def _redis(settings: Settings) -> redis.Redis:
    if "redis" not in _process_state:
        _process_state["redis"] = redis.Redis.from_url(str(settings.queue.url))
    client: redis.Redis = _process_state["redis"]
    return client


def _count_delivery(settings: Settings, task_id: str) -> int | None:
    """This delivery's number, or None when Redis cannot say (then the file is processed anyway)."""
    key = deliveries_key(task_id)
    try:
        with _redis(settings).pipeline() as pipe:
            pipe.incr(key)
            pipe.expire(key, int(settings.queue.result_expires_s))
            count, _ = pipe.execute()
    except redis.RedisError as exc:
        log.warning("cannot count the deliveries of task %s: %s", task_id, exc)
        return None
    return int(count)


def _ingestor(settings: Settings) -> Any:
    if "ingestor" not in _process_state:
        # Imported here: the worker's main process never loads the pipeline, only its forks do.
        from indexer.api import Ingestor

        stack = ExitStack()
        _process_state["ingestor"] = stack.enter_context(Ingestor(settings, connect_now=False))
        _process_state["stack"] = stack
    return _process_state["ingestor"]


def _close_ingestor(**_: Any) -> None:
    _process_state.pop("ingestor", None)
    stack = _process_state.pop("stack", None)
    if stack is not None:
        stack.close()


def index_file(settings: Settings, task_id: str, path: str, identity: FileIdentity) -> Outcome:
    """Process one file for the task `task_id`; the outcome is the task's result."""
    name = Path(path).name
    attempt = _count_delivery(settings, task_id)
    log.info("%s: started, delivery %s (task %s, pid %d)", name, attempt or "?", task_id, os.getpid())
    if attempt is not None and attempt > settings.queue.max_attempts:
        return Outcome(
            path,
            "error",
            f"given up after {settings.queue.max_attempts} attempts: each time, the worker "
            "processing it died or was lost (it may crash the pipeline)",
        )
    try:
        ingestor = _ingestor(settings)
    except IndexerError as exc:
        # This worker cannot run the pipeline; the file is not to blame, so it is retried.
        log.error("this worker cannot process files: %s", exc.message)
        return Outcome(path, "transient", f"a worker could not start its pipeline: {exc.message}")
    outcome = process_file(ingestor, Task(path, identity))
    log.info("%s: finished, %s (task %s)", name, outcome.kind, task_id)
    return outcome


def register_tasks(app: Celery, settings: Settings) -> None:
    """Add the per-file task to `app`, bound to these settings."""

    @app.task(name=TASK_NAME, bind=True)  # type: ignore[untyped-decorator]
    def _index_file(task: Any, path: str, sha256: str, size_bytes: int, mtime_ns: int) -> dict[str, Any]:
        identity = FileIdentity(sha256, size_bytes, mtime_ns)
        started_at = time.time()
        outcome = index_file(settings, str(task.request.id), path, identity)
        # Wall-clock times (epoch seconds) let `benchmarks.scale_out` measure the queue's overhead.
        return {**asdict(outcome), "started_at": started_at, "finished_at": time.time()}


def run_worker(settings: Settings, *, concurrency: int, verbosity: int = 0) -> None:
    """Run a Celery worker with `concurrency` pool processes until it is stopped (SIGTERM, Ctrl-C)."""
    app = create_app(settings)
    register_tasks(app, settings)
    worker_process_shutdown.connect(_close_ingestor, weak=False)
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--queues={settings.queue.name}",
            f"--hostname=indexer-{os.getpid()}@{socket.gethostname()}",
            f"--loglevel={'INFO' if verbosity >= 1 else 'WARNING'}",
            # No worker-to-worker chatter: every worker talks to Redis alone, which is what scales.
            "--without-gossip",
            "--without-mingle",
        ]
    )
