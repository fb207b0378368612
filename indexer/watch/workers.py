"""Long-lived worker processes, each with its own pipeline (models load once per process).

Each worker takes one file at a time, so the supervisor knows what every worker is doing and
can kill one that runs past the per-file timeout without touching the others.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from indexer.config import Settings
from indexer.errors import IndexerError, InputError

__all__ = ["Outcome", "Task", "WorkerPool"]

log = logging.getLogger(__name__)

_CONTEXT = mp.get_context("spawn")  # no forked TensorFlow or tesserocr state


@dataclass(frozen=True, slots=True)
class Task:
    path: str
    sha256: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker reports for one file. `kind` is ok, input, transient or error."""

    path: str
    kind: str
    message: str = ""
    document_id: str | None = None
    pages: int = 0


def _classify(exc: IndexerError) -> str:
    if isinstance(exc, InputError):
        return "input"
    return "transient" if exc.is_transient else "error"


def _worker_main(settings: Settings, verbosity: int, tasks: Any, results: Any) -> None:
    from indexer.api import Ingestor
    from indexer.logs import configure_logging

    configure_logging(verbosity)
    with Ingestor(settings, connect_now=False) as ingestor:
        results.put(None)  # ready: the models are loaded
        while (task := tasks.get()) is not None:
            try:
                document = ingestor.ingest(Path(task.path))
            except IndexerError as exc:
                results.put(Outcome(task.path, _classify(exc), exc.message))
            except Exception as exc:  # one file never kills the worker
                log.exception("unexpected error on %s", task.path)
                results.put(Outcome(task.path, "error", f"unexpected {type(exc).__name__}: {exc}"))
            else:
                results.put(Outcome(task.path, "ok", document_id=document.id, pages=document.page_count))


@dataclass
class _Worker:
    process: BaseProcess
    tasks: Any
    results: Any
    is_ready: bool = False
    task: Task | None = None
    started_at: float = 0.0


class WorkerPool:
    """N worker processes; the supervisor hands out tasks and polls outcomes."""

    def __init__(self, settings: Settings, *, size: int, verbosity: int = 0) -> None:
        self._settings = settings
        self._verbosity = verbosity
        self._workers = [self._spawn() for _ in range(size)]

    def _spawn(self) -> _Worker:
        tasks, results = _CONTEXT.Queue(), _CONTEXT.Queue()
        process = _CONTEXT.Process(
            target=_worker_main, args=(self._settings, self._verbosity, tasks, results), daemon=True
        )
        process.start()
        return _Worker(process, tasks, results)

    @property
    def in_flight(self) -> dict[str, float]:
        """Path -> start time of every file being processed."""
        return {worker.task.path: worker.started_at for worker in self._workers if worker.task}

    def idle_count(self) -> int:
        return sum(1 for worker in self._workers if worker.is_ready and worker.task is None)

    def submit(self, task: Task, *, now: float) -> bool:
        for worker in self._workers:
            if worker.is_ready and worker.task is None:
                worker.task, worker.started_at = task, now
                worker.tasks.put(task)
                return True
        return False

    def poll(self, *, now: float, timeout_s: float) -> list[Outcome]:
        """Collect finished work; replace workers that died or ran past the timeout."""
        outcomes: list[Outcome] = []
        for index, worker in enumerate(self._workers):
            outcomes += self._drain(worker)
            task = worker.task
            if task is not None and now - worker.started_at > timeout_s:
                outcomes.append(
                    Outcome(task.path, "timeout", f"processing took longer than {timeout_s:.0f} s")
                )
                self._replace(index)
            elif not worker.process.is_alive():
                if task is not None:
                    outcomes.append(
                        Outcome(task.path, "transient", "the worker process died while processing it")
                    )
                log.warning("worker %d exited (code %s); starting a new one", index, worker.process.exitcode)
                self._replace(index)
        return outcomes

    def _drain(self, worker: _Worker) -> list[Outcome]:
        found: list[Outcome] = []
        while True:
            try:
                message = worker.results.get_nowait()
            except queue.Empty:
                return found
            if message is None:
                worker.is_ready = True
            else:
                worker.task = None
                found.append(message)

    def _replace(self, index: int) -> None:
        old = self._workers[index]
        if old.process.is_alive():
            old.process.kill()
        old.process.join(timeout=10)
        self._workers[index] = self._spawn()

    def wait_ready(self, *, timeout_s: float) -> bool:
        """Block until every worker has loaded its models (True) or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for worker in self._workers:
                self._drain(worker)
            if all(worker.is_ready for worker in self._workers):
                return True
            time.sleep(0.1)
        return False

    def close(self, *, grace_s: float) -> list[Outcome]:
        """Let in-flight files finish for up to `grace_s`, then stop every worker.

        Returns:
            The outcomes that arrived during the grace period.
        """
        deadline = time.monotonic() + grace_s
        outcomes: list[Outcome] = []
        while self.in_flight and time.monotonic() < deadline:
            for worker in self._workers:
                outcomes += self._drain(worker)
            time.sleep(0.1)
        for worker in self._workers:
            if worker.task is None and worker.process.is_alive():
                worker.tasks.put(None)
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
        return outcomes
