"""Long-lived worker processes, each with its own pipeline (models load once per process).

Each worker takes one file at a time, so the supervisor knows what every worker is doing and
can kill one that runs past the per-file timeout without touching the others.

A worker never outlives the daemon: on Linux the kernel kills it when its parent dies
(`PR_SET_PDEATHSIG`), and a thread in the worker also exits when its parent pid changes. Each
worker holds a shared lock on the daemon's members lock file, so a restarted daemon can tell
that leftovers still hold its folder (`indexer.watch.lock`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import logging
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, Protocol

from indexer.config import Settings
from indexer.errors import FileChangedError, IndexerError, InputError
from indexer.hashing import FileIdentity

__all__ = ["Dispatcher", "Outcome", "Task", "WorkerPool", "WorkerStartError", "process_file"]

log = logging.getLogger(__name__)

_CONTEXT = mp.get_context("spawn")  # no forked TensorFlow or tesserocr state
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PARENT_CHECK_S = 1.0
_READY_POLL_S = 0.1


class WorkerStartError(IndexerError):
    """A worker could not build its pipeline; the message is the worker's own error."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def __reduce__(self) -> tuple[Any, ...]:
        return (_start_error, (self.message, self.exit_code))


def _start_error(message: str, exit_code: int) -> WorkerStartError:
    return WorkerStartError(message, exit_code=exit_code)


@dataclass(frozen=True, slots=True)
class Task:
    path: str
    identity: FileIdentity


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker reports for one file.

    `kind` is ok, input (bad file), incomplete (damage a copy in progress also shows), changed
    (hash it again), transient, timeout or error.
    """

    path: str
    kind: str
    message: str = ""
    document_id: str | None = None
    pages: int = 0


def _classify(exc: IndexerError) -> str:
    if isinstance(exc, FileChangedError):
        return "changed"
    if isinstance(exc, InputError):
        return "incomplete" if exc.may_be_incomplete else "input"
    return "transient" if exc.is_transient else "error"


def _die_with_parent(parent_pid: int) -> None:
    """End this process when the daemon ends, however it ends (kill -9 included)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above ran
        os._exit(1)

    def watch_parent() -> None:
        while os.getppid() == parent_pid:
            time.sleep(_PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()


def _worker_main(
    settings: Settings, verbosity: int, tasks: Any, results: Any, parent_pid: int, members_lock: Path
) -> None:
    _die_with_parent(parent_pid)
    # Held (not used) until the process ends: a restarted daemon sees leftovers by this lock.
    lock = members_lock.open("a")
    fcntl.flock(lock, fcntl.LOCK_SH)
    # SIGINT goes to the whole process group on Ctrl-C: the daemon decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from indexer.api import Ingestor
    from indexer.logs import configure_logging

    configure_logging(verbosity)
    try:
        ingestor = Ingestor(settings, connect_now=False)
    except IndexerError as exc:
        results.put(WorkerStartError(exc.message, exit_code=exc.exit_code))
        return
    except Exception as exc:
        results.put(WorkerStartError(f"a worker could not start: {type(exc).__name__}: {exc}"))
        return
    with ingestor:
        results.put(None)  # ready: the models are loaded
        while (task := tasks.get()) is not None:
            results.put(process_file(ingestor, task))


def process_file(ingestor: Any, task: Task) -> Outcome:
    """Run one queued file through `ingestor` and say how it went; never raises for the file's sake.

    The daemon's workers and the queue's Celery workers both process files through this.
    """
    try:
        document = ingestor.ingest(Path(task.path), identity=task.identity)
    except IndexerError as exc:
        return Outcome(task.path, _classify(exc), exc.message)
    except Exception as exc:  # one file never kills the worker
        log.exception("unexpected error on %s", task.path)
        return Outcome(task.path, "error", f"unexpected {type(exc).__name__}: {exc}")
    return Outcome(task.path, "ok", document_id=document.id, pages=document.page_count)


class Dispatcher(Protocol):
    """Where the daemon sends files: its own `WorkerPool`, or the Celery queue (`indexer.queue`)."""

    @property
    def in_flight(self) -> dict[str, float]: ...

    def idle_count(self) -> int: ...

    def submit(self, task: Task, *, now: float) -> bool: ...

    def poll(self, *, now: float, timeout_s: float) -> list[Outcome]: ...

    def wait_ready(self, *, timeout_s: float, should_stop: Callable[[], bool] = ...) -> bool: ...

    def close(self, *, grace_s: float, should_stop: Callable[[], bool] = ...) -> list[Outcome]: ...


@dataclass
class _Worker:
    process: BaseProcess
    tasks: Any
    results: Any
    is_ready: bool = False
    task: Task | None = None
    started_at: float = 0.0
    start_error: WorkerStartError | None = None


class WorkerPool:
    """N worker processes; the supervisor hands out tasks and polls outcomes.

    Args:
        members_lock: the lock file each worker holds shared for its whole life.
    """

    def __init__(self, settings: Settings, *, size: int, members_lock: Path, verbosity: int = 0) -> None:
        self._settings = settings
        self._verbosity = verbosity
        self._members_lock = members_lock
        self._workers = [self._spawn() for _ in range(size)]

    def _spawn(self) -> _Worker:
        tasks, results = _CONTEXT.Queue(), _CONTEXT.Queue()
        process = _CONTEXT.Process(
            target=_worker_main,
            args=(self._settings, self._verbosity, tasks, results, os.getpid(), self._members_lock),
            daemon=True,
        )
        process.start()
        return _Worker(process, tasks, results)

    @property
    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self._workers if worker.process.pid is not None]

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
        """Collect finished work; replace workers that died or ran past the timeout.

        Raises:
            WorkerStartError: a worker could not start; respawning it would fail the same way.
        """
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
                self._raise_if_never_started(worker)
                if task is not None:
                    outcomes.append(
                        Outcome(task.path, "transient", "the worker process died while processing it")
                    )
                log.warning("worker %d exited (code %s); starting a new one", index, worker.process.exitcode)
                self._replace(index)
        return outcomes

    def _raise_if_never_started(self, worker: _Worker) -> None:
        if worker.is_ready:
            return
        self._drain(worker)
        if worker.start_error is not None:
            raise worker.start_error
        raise WorkerStartError(
            f"a worker exited (code {worker.process.exitcode}) before it was ready; "
            "run `indexer -v ingest` on one file to see why"
        )

    def _drain(self, worker: _Worker) -> list[Outcome]:
        found: list[Outcome] = []
        while True:
            try:
                message = worker.results.get_nowait()
            except queue.Empty:
                return found
            except (EOFError, OSError):  # the worker died mid-message
                return found
            if message is None:
                worker.is_ready = True
            elif isinstance(message, WorkerStartError):
                worker.start_error = message
            else:
                worker.task = None
                found.append(message)

    def _replace(self, index: int) -> None:
        old = self._workers[index]
        if old.process.is_alive():
            old.process.kill()
        old.process.join(timeout=10)
        self._workers[index] = self._spawn()

    def wait_ready(self, *, timeout_s: float, should_stop: Callable[[], bool] = lambda: False) -> bool:
        """Wait until every worker has loaded its models (True), the timeout passes or `should_stop`.

        Raises:
            WorkerStartError: a worker failed to start; the message is its reason.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not should_stop():
            for worker in self._workers:
                self._drain(worker)
                if worker.start_error is not None or not worker.process.is_alive():
                    self._raise_if_never_started(worker)
            if all(worker.is_ready for worker in self._workers):
                return True
            time.sleep(_READY_POLL_S)
        return False

    def close(self, *, grace_s: float, should_stop: Callable[[], bool] = lambda: False) -> list[Outcome]:
        """Let in-flight files finish for up to `grace_s` (or until `should_stop`), then stop every worker.

        Returns:
            The outcomes that arrived during the grace period.
        """
        deadline = time.monotonic() + grace_s
        outcomes: list[Outcome] = []
        while self.in_flight and time.monotonic() < deadline and not should_stop():
            for worker in self._workers:
                outcomes += self._drain(worker)
            time.sleep(_READY_POLL_S)
        for worker in self._workers:
            if worker.task is None and worker.process.is_alive():
                worker.tasks.put(None)
        for worker in self._workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
        return outcomes
