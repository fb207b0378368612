"""The daemon's side of the queue: send one task per file, collect outcomes from the result backend.

It stands where the daemon's `WorkerPool` stands (`indexer.watch.workers.Dispatcher`), so files
go through the same journal, retries and quarantine. A file is in flight from the moment its
task is sent until its result arrives; at most `queue.max_in_flight` are. Time limits are the
workers' (`task_time_limit`); a worker that vanished is covered by Redis's visibility timeout.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from celery.exceptions import TimeLimitExceeded, WorkerLostError
from celery.states import READY_STATES
from kombu.exceptions import OperationalError

from indexer.config import Settings
from indexer.errors import ConfigError
from indexer.queue.app import TASK_NAME, create_app, describe_url
from indexer.queue.tasks import deliveries_key
from indexer.watch.workers import Outcome, Task

__all__ = ["QueueDispatcher"]

log = logging.getLogger(__name__)

_QUEUE_ERRORS = (OperationalError, redis.RedisError, OSError)
_CHECK_RETRIES = 2


@dataclass
class _Sent:
    path: str
    sent_at: float


class QueueDispatcher:
    """Sends files to `indexer worker`s through Redis and reads their outcomes back.

    Raises:
        ConfigError: the queue cannot be reached (checked when it is created).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._app = create_app(settings)
        self.where = f"{describe_url(str(settings.queue.url))} (queue {settings.queue.name})"
        self._sent: dict[str, _Sent] = {}
        #: Outcomes known at send time (the broker refused the task), handed out by the next poll.
        self._early: list[Outcome] = []
        self._was_unreachable = False
        self._check_broker()

    def _check_broker(self) -> None:
        try:
            with self._app.connection_for_write() as connection:
                connection.ensure_connection(max_retries=_CHECK_RETRIES)
        except _QUEUE_ERRORS as exc:
            raise ConfigError(
                f"cannot reach the queue at {self.where}: {exc}; start Redis or fix INDEXER_QUEUE__URL"
            ) from exc

    @property
    def in_flight(self) -> dict[str, float]:
        return {sent.path: sent.sent_at for sent in self._sent.values()}

    def idle_count(self) -> int:
        return max(0, self._settings.queue.max_in_flight - len(self._sent))

    def submit(self, task: Task, *, now: float) -> bool:
        identity = task.identity
        task_id = str(uuid.uuid4())
        try:
            self._app.send_task(
                TASK_NAME,
                args=[task.path, identity.sha256, identity.size_bytes, identity.mtime_ns],
                task_id=task_id,
            )
        except _QUEUE_ERRORS as exc:
            self._early.append(
                Outcome(task.path, "transient", f"the queue at {self.where} refused it: {exc}")
            )
            return True
        self._sent[task_id] = _Sent(task.path, now)
        log.debug("sent %s as task %s", task.path, task_id)
        return True

    def poll(self, *, now: float, timeout_s: float) -> list[Outcome]:
        """Outcomes of the tasks that finished; a queue that cannot be read is tried next time."""
        outcomes, self._early = self._early, []
        try:
            finished = self._finished()
        except _QUEUE_ERRORS as exc:
            if not self._was_unreachable:
                log.warning("cannot read results from the queue at %s: %s; trying again", self.where, exc)
            self._was_unreachable = True
            return outcomes
        if self._was_unreachable:
            log.warning("the queue at %s answers again", self.where)
            self._was_unreachable = False
        done: list[str] = []
        for task_id, meta in finished.items():
            outcome = self._outcome(self._sent[task_id].path, meta)
            if outcome is not None:
                outcomes.append(outcome)
                done.append(deliveries_key(task_id))
                del self._sent[task_id]
        if done:
            self._app.backend.client.delete(*done)
        return outcomes

    def _finished(self) -> dict[str, dict[str, Any]]:
        """The stored results of the tasks in flight that are done, read in one request, then deleted
        (a later delivery of a task put back writes its result again)."""
        if not self._sent:
            return {}
        backend = self._app.backend
        task_ids = list(self._sent)
        keys = [backend.get_key_for_task(task_id) for task_id in task_ids]
        finished: dict[str, tuple[str, dict[str, Any]]] = {}
        for task_id, key, value in zip(task_ids, keys, backend.mget(keys), strict=True):
            if value is not None:
                meta = backend.decode_result(value)
                if meta["status"] in READY_STATES:
                    finished[task_id] = (key, meta)
        if finished:
            backend.client.delete(*(key for key, _ in finished.values()))
        return {task_id: meta for task_id, (_, meta) in finished.items()}

    def _outcome(self, path: str, meta: dict[str, Any]) -> Outcome | None:
        if meta["status"] == "SUCCESS":
            return _from_result(path, meta["result"])
        error = meta["result"]
        if isinstance(error, WorkerLostError):
            return None  # rejected and put back in the queue: another delivery will answer
        if isinstance(error, TimeLimitExceeded):
            limit_s = self._settings.watch.file_timeout_s
            return Outcome(path, "timeout", f"processing took longer than {limit_s:.0f} s")
        return Outcome(path, "error", f"the worker's task failed: {type(error).__name__}: {error}")

    def wait_ready(self, *, timeout_s: float, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Workers come and go on their own machines; the broker was checked when this was created."""
        return True

    def close(self, *, grace_s: float, should_stop: Callable[[], bool] = lambda: False) -> list[Outcome]:
        """Collect what finishes within `grace_s`; the rest stays queued and is journalled as
        interrupted (the next start sends it again; pages are upserted, so nothing doubles)."""
        deadline = time.monotonic() + grace_s
        outcomes = self.poll(now=time.monotonic(), timeout_s=0)
        while self._sent and time.monotonic() < deadline and not should_stop():
            time.sleep(0.2)
            outcomes += self.poll(now=time.monotonic(), timeout_s=0)
        self._app.close()
        return outcomes


def _from_result(path: str, result: Any) -> Outcome:
    if not isinstance(result, dict) or "kind" not in result:
        return Outcome(path, "error", f"the worker sent an unreadable result: {result!r}")
    return Outcome(
        path,
        str(result["kind"]),
        str(result.get("message", "")),
        document_id=result.get("document_id"),
        pages=int(result.get("pages", 0)),
    )
