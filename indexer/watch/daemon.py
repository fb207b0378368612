"""The watch-folder daemon: every complete file dropped in the folder is indexed exactly once per content.

Sources of work, so nothing is missed: watchdog events (or polling), a catch-up scan on start
(by content hash, never by timestamps), and a periodic full rescan. Work goes through the SQLite
journal, so a crash or `kill -9` loses nothing: restarting finishes what was unfinished.
Bad files go to `<folder>/.quarantine/` with a `.reason.txt`; transient failures (Elasticsearch
down, 429, a dying worker) stay queued and are retried with capped backoff.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.config import Settings
from indexer.errors import ConfigError, IndexerError
from indexer.hashing import sha256_file
from indexer.processors.render import SUPPORTED_SUFFIXES
from indexer.watch.journal import FileState, Journal
from indexer.watch.tracker import StabilityTracker, is_ignored
from indexer.watch.workers import Outcome, Task, WorkerPool

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch
    from watchdog.observers.api import BaseObserver

__all__ = ["WatchDaemon"]

log = logging.getLogger(__name__)

_TICK_S = 0.2
_WORKER_START_TIMEOUT_S = 600.0
_REASON_ADVICE = {
    "input": "Fix the file (see the reason above) and drop it into the folder again.",
    "timeout": "The file may be pathological; raise INDEXER_WATCH__FILE_TIMEOUT_S or split it, "
    "then drop it again.",
    "error": "This looks like a bug or an engine failure; run `indexer -v ingest` on the file for details.",
}


class WatchDaemon:
    """Watches one folder until `stop()` (or SIGTERM/SIGINT, which the CLI turns into `stop()`)."""

    def __init__(
        self,
        folder: Path,
        settings: Settings,
        *,
        verbosity: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not folder.is_dir():
            raise ConfigError(f"watch folder {folder} does not exist or is not a folder")
        self.folder = folder.resolve()
        self.settings = settings
        self.watch = settings.watch
        self.quarantine = self.folder / self.watch.quarantine_dir_name
        self.journal = Journal(settings.journal_path)
        self._clock = clock
        self._tracker = StabilityTracker(self.watch.settle_s, clock)
        self._events: set[Path] = set()
        self._events_lock = threading.Lock()
        self._stop = threading.Event()
        self._verbosity = verbosity
        self._client: Elasticsearch | None = None
        self._last_rescan = float("-inf")
        self._seen_stats: dict[Path, tuple[int, int]] = {}

    # -- life cycle -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Watch until stopped; in-flight files finish (or are re-queued) before returning."""
        interrupted = self.journal.requeue_interrupted()
        if interrupted:
            log.warning("re-queued %d file(s) left in progress by an earlier run", interrupted)
        pool = WorkerPool(self.settings, size=self.watch.workers, verbosity=self._verbosity)
        observer = self._start_observer()
        log.info("watching %s with %d worker(s)", self.folder, self.watch.workers)
        try:
            if not pool.wait_ready(timeout_s=_WORKER_START_TIMEOUT_S):
                log.warning("workers are slow to load their models; continuing")
            while not self._stop.is_set():
                self._tick(pool)
                self._stop.wait(_TICK_S)
        finally:
            observer.stop()
            for outcome in pool.close(grace_s=self.watch.shutdown_grace_s):
                self._handle(outcome)
            requeued = self.journal.requeue_interrupted()
            if requeued:
                log.warning("re-queued %d unfinished file(s) for the next start", requeued)
            observer.join(timeout=5)
            self.journal.close()
            log.info("stopped watching %s", self.folder)

    def _start_observer(self) -> BaseObserver:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        daemon = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                for raw in (event.src_path, getattr(event, "dest_path", "")):
                    if raw:
                        daemon._note(Path(str(raw)))

        observer = PollingObserver(timeout=self.watch.poll_interval_s) if self.watch.polling else Observer()
        observer.schedule(_Handler(), str(self.folder), recursive=self.watch.recursive)
        observer.start()
        return observer

    def _note(self, path: Path) -> None:
        with self._events_lock:
            self._events.add(path)

    # -- the loop ---------------------------------------------------------------------------

    def _tick(self, pool: WorkerPool) -> None:
        now = self._clock()
        if now - self._last_rescan >= self.watch.rescan_interval_s:
            self._rescan()
            self._last_rescan = now
        with self._events_lock:
            events, self._events = self._events, set()
        for path in events:
            if path.exists():
                if self._is_candidate(path):
                    self._tracker.observe(path)
            else:
                self._tracker.forget(path)
                self._removed(path)
        for path in self._tracker.pending():
            if self._tracker.observe(path):
                self._enqueue(path)
        for outcome in pool.poll(now=now, timeout_s=self.watch.file_timeout_s):
            self._handle(outcome)
        busy = frozenset(pool.in_flight)
        while pool.idle_count():
            entry = self.journal.claim_next(exclude=busy)
            if entry is None:
                break
            if not Path(entry.path).exists():
                self._removed(Path(entry.path))
                continue
            pool.submit(Task(entry.path, entry.sha256), now=now)
            busy = busy | {entry.path}

    def _is_candidate(self, path: Path) -> bool:
        return (
            path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES and not is_ignored(path, self.folder)
        )

    def _rescan(self) -> None:
        """List the folder: new or changed files go to the tracker; vanished ones are removed."""
        pattern = "**/*" if self.watch.recursive else "*"
        present: set[str] = set()
        for path in self.folder.glob(pattern):
            if not self._is_candidate(path):
                continue
            present.add(str(path))
            stat = path.stat()
            signature = (stat.st_size, stat.st_mtime_ns)
            entry = self.journal.get(str(path))
            # Unknown paths and changed stats are hashed; the hash, not the time, decides.
            if entry is None or entry.state is FileState.REMOVED or self._seen_stats.get(path) != signature:
                self._tracker.observe(path)
            self._seen_stats[path] = signature
        for entry in self.journal.entries(state=FileState.INDEXED):
            if entry.path not in present and not Path(entry.path).exists():
                self._removed(Path(entry.path))

    def _enqueue(self, path: Path) -> None:
        try:
            sha256 = sha256_file(path)
            size = path.stat().st_size
        except OSError as exc:
            log.warning("cannot read %s yet: %s", path, exc)
            return
        if self.journal.enqueue(str(path), sha256, size):
            log.info("queued %s", path.name)

    # -- outcomes ---------------------------------------------------------------------------

    def _handle(self, outcome: Outcome) -> None:
        entry = self.journal.get(outcome.path)
        if entry is None:
            return
        if outcome.kind == "ok":
            self._indexed(entry.path, entry.sha256, entry.indexed_sha256)
        elif outcome.kind == "transient":
            delay = min(self.watch.retry_initial_s * 2 ** max(entry.attempts - 1, 0), self.watch.retry_max_s)
            log.warning("%s: %s; retrying in %.0f s", Path(outcome.path).name, outcome.message, delay)
            self.journal.mark(
                outcome.path, FileState.FAILED, error=outcome.message, retry_at=time.time() + delay
            )
        else:
            self._quarantine(Path(outcome.path), outcome)

    def _indexed(self, path: str, sha256: str, previous_sha256: str | None) -> None:
        self.journal.mark(path, FileState.INDEXED, indexed_sha256=sha256)
        if (
            previous_sha256
            and previous_sha256 != sha256
            and not self.journal.is_shared(previous_sha256, other_than=path)
        ):
            self._delete_pages(str(previous_sha256), reason=f"{Path(path).name} changed")
        log.info("indexed %s", Path(path).name)

    def _quarantine(self, path: Path, outcome: Outcome) -> None:
        if not path.exists():
            # Removed while it was being processed: nothing to keep aside.
            self.journal.mark(str(path), FileState.REMOVED, error=outcome.message)
            return
        self.quarantine.mkdir(exist_ok=True)
        target = self.quarantine / path.name
        if target.exists():
            target = target.with_name(f"{path.stem}-{datetime.now(UTC):%Y%m%dT%H%M%S}{path.suffix}")
        reason = (
            f"File: {path.name}\nFailed: {datetime.now(UTC).isoformat(timespec='seconds')}\n"
            f"Reason: {outcome.message}\n"
            f"What to do: {_REASON_ADVICE.get(outcome.kind, _REASON_ADVICE['error'])}\n"
        )
        shutil.move(str(path), target)
        target.with_name(f"{target.name}.reason.txt").write_text(reason)
        self.journal.mark(str(path), FileState.QUARANTINED, error=outcome.message)
        log.error("quarantined %s: %s", path.name, outcome.message)

    def _removed(self, path: Path) -> None:
        entry = self.journal.get(str(path))
        if entry is None or entry.state in (FileState.REMOVED, FileState.QUARANTINED, FileState.PROCESSING):
            return
        document_id = entry.indexed_sha256
        must_delete = (
            self.watch.remove_deleted
            and document_id is not None
            and not self.journal.is_shared(document_id, other_than=entry.path)
        )
        if must_delete and not self._delete_pages(str(document_id), reason=f"{path.name} was removed"):
            return  # Elasticsearch is down: the next rescan tries again
        self.journal.mark(str(path), FileState.REMOVED)

    def _delete_pages(self, document_id: str, *, reason: str) -> bool:
        from indexer.search import connect, delete_document_pages

        try:
            if self._client is None:
                self._client = connect(self.settings)
            deleted = delete_document_pages(self._client, self.settings.es, document_id)
        except IndexerError as exc:
            log.warning("could not remove the pages of %s (%s): %s", document_id[:12], reason, exc.message)
            return False
        log.info("removed %d page(s) of %s: %s", deleted, document_id[:12], reason)
        return True
