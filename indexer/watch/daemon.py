"""The watch-folder daemon: every complete file dropped in the folder is indexed exactly once per content.

Sources of work, so nothing is missed: watchdog events (or polling), a catch-up scan on start
(by content hash, never by timestamps), and a periodic full rescan. Work goes through the SQLite
journal, so a crash or `kill -9` loses nothing: restarting finishes what was unfinished.
Bad files go to `<folder>/.quarantine/` with a `.reason.txt`; transient failures (Elasticsearch
down, 429, a dying worker) stay queued and are retried with capped backoff. A file that looks
damaged while it was modified recently may still be being copied: it is retried, not quarantined.
With `INDEXER_QUEUE__URL` set, files go to Celery workers (`indexer.queue`) instead of the
daemon's own worker processes; their outcomes come back through the same handling.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from indexer.config import Settings
from indexer.errors import ConfigError, IndexerError
from indexer.hashing import FileIdentity
from indexer.processors.render import SUPPORTED_SUFFIXES
from indexer.watch.journal import FileState, Journal, JournalEntry
from indexer.watch.lock import FolderLock
from indexer.watch.tracker import StabilityTracker, is_ignored
from indexer.watch.workers import Dispatcher, Outcome, Task, WorkerPool

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch
    from watchdog.observers.api import BaseObserver

__all__ = ["WatchDaemon"]

log = logging.getLogger(__name__)

_TICK_S = 0.2
#: inotify reports reads too: reading a file (hashing, rendering) must not make it look new.
_READ_ONLY_EVENTS = frozenset({"opened", "closed_no_write"})
_WORKER_START_TIMEOUT_S = 600.0
_REASON_ADVICE = {
    "input": "Fix the file (see the reason above) and drop it into the folder again.",
    "incomplete": "The file stayed damaged and unchanged; re-scan or copy it again, then drop it again.",
    "link": "Drop the file itself into the folder, or set INDEXER_WATCH__SYMLINKS to follow such links.",
    "timeout": "The file may be pathological; raise INDEXER_WATCH__FILE_TIMEOUT_S or split it, "
    "then drop it again.",
    "error": "This looks like a bug or an engine failure; run `indexer -v ingest` on the file for details.",
}


def _backoff_s(attempts: int, first_s: float, cap_s: float) -> float:
    """The wait before the next try: `first_s`, doubling with each attempt, at most `cap_s`."""
    return min(first_s * 2.0 ** max(attempts - 1, 0), cap_s)


class WatchDaemon:
    """Watches one folder until `stop()` (or SIGTERM/SIGINT, which the CLI turns into `stop()`).

    A first `stop()` lets files in progress finish (up to `watch.shutdown_grace_s`); a second
    one stops at once, and what was in progress is queued again for the next start.
    """

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
        self._lock = FolderLock(settings.state_dir, self.folder)
        self.journal = Journal(settings.journal_path, folder=self.folder)
        self._clock = clock
        self._tracker = StabilityTracker(self.watch.settle_s, clock)
        self._events: set[Path] = set()
        self._events_lock = threading.Lock()
        # Plain flags, not `threading.Event`s: `stop()` runs in the CLI's signal handler, and an
        # Event's lock may be held by the very `Event.wait` the signal interrupted (a deadlock:
        # the daemon then never stops).
        self._stopping = False
        self._forced = False
        self._verbosity = verbosity
        self._client: Elasticsearch | None = None
        self._last_rescan = float("-inf")
        self._seen_stats: dict[Path, tuple[int, int]] = {}
        self._warned: set[Path] = set()

    # -- life cycle -------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the daemon to stop; a second call stops it at once. Safe in a signal handler: it
        only sets flags, which the loop checks every tick."""
        if self._stopping:
            self._forced = True
        self._stopping = True

    def _is_stopping(self) -> bool:
        return self._stopping

    def _is_forced(self) -> bool:
        return self._forced

    def run(self) -> None:
        """Watch until stopped; in-flight files finish (or are re-queued) before returning.

        Raises:
            ConfigError: another daemon, or leftovers of a killed one, hold the folder.
            WorkerStartError: a worker could not start (its reason is the message).
        """
        self._lock.acquire(leftovers_wait_s=self.watch.leftovers_wait_s)
        try:
            self._run()
        finally:
            self.journal.close()
            self._lock.release()

    def _run(self) -> None:
        interrupted = self.journal.requeue_interrupted()
        if interrupted:
            log.warning("re-queued %d file(s) left in progress by an earlier run", interrupted)
        pool = self._dispatcher()
        observer = self._start_observer()
        try:
            ready = pool.wait_ready(timeout_s=_WORKER_START_TIMEOUT_S, should_stop=self._is_stopping)
            if not ready and not self._stopping:
                log.warning("workers are slow to load their models; continuing")
            while not self._stopping:
                self._tick(pool)
                time.sleep(_TICK_S)
        finally:
            observer.stop()
            for outcome in pool.close(grace_s=self.watch.shutdown_grace_s, should_stop=self._is_forced):
                self._handle(outcome)
            requeued = self.journal.requeue_interrupted()
            if requeued:
                log.warning("re-queued %d unfinished file(s) for the next start", requeued)
            observer.join(timeout=5)
            log.info("stopped watching %s", self.folder)

    def _dispatcher(self) -> Dispatcher:
        if self.settings.queue.url:
            from indexer.queue import QueueDispatcher

            queue = QueueDispatcher(self.settings)
            log.info("watching %s; files go to the queue at %s", self.folder, queue.where)
            return queue
        log.info("watching %s with %d worker(s)", self.folder, self.watch.workers)
        return WorkerPool(
            self.settings,
            size=self.watch.workers,
            members_lock=self._lock.members_path,
            verbosity=self._verbosity,
        )

    def _start_observer(self) -> BaseObserver:
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        daemon = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in _READ_ONLY_EVENTS:
                    return
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

    def _tick(self, pool: Dispatcher) -> None:
        now = self._clock()
        if now - self._last_rescan >= self.watch.rescan_interval_s:
            self._rescan()
            self._last_rescan = now
        with self._events_lock:
            events, self._events = self._events, set()
        for path in events:
            if path.exists() or path.is_symlink():
                self._consider(path)
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
            pool.submit(Task(entry.path, entry.identity), now=now)
            busy = busy | {entry.path}

    def _consider(self, path: Path) -> None:
        """A path seen in the folder: refuse it, ignore it, or let the tracker watch it settle."""
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or is_ignored(path, self.folder):
            return
        try:
            self._sort(path)
        except Exception:  # the loop never dies on one file
            if path not in self._warned:
                self._warned.add(path)
                log.exception("cannot look at %s; it is left alone", path)

    def _sort(self, path: Path) -> None:
        refusal = self._link_refusal(path) if path.is_symlink() else None
        if refusal is not None:
            self._refuse(path, refusal)
        elif path.is_file():
            self._tracker.observe(path)
        elif path not in self._warned:
            self._warned.add(path)
            log.warning("%s is not a regular file (a folder named like a document?); it is left alone", path)

    def _link_refusal(self, path: Path) -> str | None:
        """Why a link in the folder is refused, or None when it is followed."""
        try:
            target = path.resolve(strict=True)
        except RuntimeError:  # Python 3.11 raises this for a loop, not an OSError
            return f"a link that loops ({os.readlink(path)})"
        except OSError as exc:
            return f"a link to {os.readlink(path)}, which cannot be reached ({exc.strerror or exc})"
        if not target.exists():
            return f"a link to {target}, which does not exist"
        if self.watch.symlinks == "refuse":
            return f"a link (to {target}); links are refused (INDEXER_WATCH__SYMLINKS=refuse)"
        if self.watch.symlinks == "inside" and not target.is_relative_to(self.folder):
            return (
                f"a link to {target}, outside the watched folder; links that leave it are refused "
                "(set INDEXER_WATCH__SYMLINKS=follow to follow them)"
            )
        return None

    def _rescan(self) -> None:
        """List the folder: new or changed files go to the tracker; vanished ones are removed."""
        pattern = "**/*" if self.watch.recursive else "*"
        present: set[str] = set()
        for path in self.folder.glob(pattern):
            try:
                stat = path.lstat()
            except OSError:
                continue
            present.add(str(path))
            signature = (stat.st_size, stat.st_mtime_ns)
            entry = self.journal.get(str(path))
            # Unknown paths and changed stats are hashed; the hash, not the time, decides.
            if entry is None or entry.state is FileState.REMOVED or self._seen_stats.get(path) != signature:
                self._consider(path)
            self._seen_stats[path] = signature
        for entry in self.journal.entries(state=FileState.INDEXED):
            if entry.path not in present and not Path(entry.path).exists():
                self._removed(Path(entry.path))

    def _enqueue(self, path: Path) -> None:
        try:
            identity = FileIdentity.of(path)
        except OSError as exc:
            log.warning("cannot read %s yet: %s", path, exc)
            self._tracker.observe(path)
            return
        if self.journal.enqueue(str(path), identity):
            log.info("queued %s", path.name)
            self._report_namesake(path)

    def _report_namesake(self, path: Path) -> None:
        """A file whose name is already in the quarantine: say so, with the earlier reason."""
        earlier = self.quarantine / path.name
        if earlier.exists():
            reason = earlier.with_name(f"{earlier.name}.reason.txt")
            why = reason.read_text().strip().replace("\n", "; ") if reason.is_file() else "no reason kept"
            log.warning("%s reappeared; an earlier file of that name is in %s (%s)", path.name, earlier, why)

    # -- outcomes ---------------------------------------------------------------------------

    def _handle(self, outcome: Outcome) -> None:
        try:
            self._settle_outcome(outcome)
        except Exception as exc:  # e.g. the quarantine cannot be written: try again later
            log.exception("cannot record the outcome for %s", outcome.path)
            self.journal.mark(
                outcome.path,
                FileState.FAILED,
                error=f"{outcome.message}; then {type(exc).__name__}: {exc}",
                retry_at=time.time() + self.watch.retry_max_s,
            )

    def _settle_outcome(self, outcome: Outcome) -> None:
        entry = self.journal.get(outcome.path)
        if entry is None:
            return
        if outcome.kind == "ok":
            self._indexed(entry.path, outcome.document_id or entry.sha256, entry.indexed_sha256)
        elif outcome.kind == "transient":
            delay = _backoff_s(entry.attempts, self.watch.retry_initial_s, self.watch.retry_max_s)
            self._retry(entry, outcome.message, delay)
        elif outcome.kind == "changed" or (
            outcome.kind == "incomplete" and not entry.identity.matches(Path(entry.path))
        ):
            # Hash it again once it settles; the retry time is only a safety net.
            self._tracker.observe(Path(entry.path))
            self._retry(entry, outcome.message, self.watch.settle_s + self.watch.retry_initial_s)
        elif outcome.kind == "incomplete" and self._is_recent(entry):
            delay = _backoff_s(entry.attempts, self.watch.incomplete_retry_s, self.watch.incomplete_grace_s)
            self._retry(
                entry, f"{outcome.message}; it was modified recently, so it may still be copying", delay
            )
        else:
            self._quarantine(Path(outcome.path), outcome)

    def _retry(self, entry: JournalEntry, message: str, delay_s: float) -> None:
        log.warning("%s: %s; retrying in %.0f s", Path(entry.path).name, message, delay_s)
        self.journal.mark(entry.path, FileState.FAILED, error=message, retry_at=time.time() + delay_s)

    def _is_recent(self, entry: JournalEntry) -> bool:
        return time.time() - entry.mtime_ns / 1e9 < self.watch.incomplete_grace_s

    def _indexed(self, path: str, document_id: str, previous_id: str | None) -> None:
        self.journal.mark(path, FileState.INDEXED, indexed_sha256=document_id)
        if (
            previous_id
            and previous_id != document_id
            and not self.journal.is_shared(previous_id, other_than=path)
        ):
            self._delete_pages(previous_id, reason=f"{Path(path).name} changed")
        log.info("indexed %s", Path(path).name)

    def _refuse(self, path: Path, reason: str) -> None:
        self.journal.record(str(path), FileIdentity("", 0, 0), FileState.QUARANTINED, error=reason)
        self._quarantine(path, Outcome(str(path), "link", reason))

    def _quarantine(self, path: Path, outcome: Outcome) -> None:
        if not path.exists() and not path.is_symlink():
            # Removed while it was being processed: nothing to keep aside.
            self.journal.mark(str(path), FileState.REMOVED, error=outcome.message)
            return
        self.quarantine.mkdir(exist_ok=True)
        target = self.quarantine / path.name
        earlier = ""
        if target.exists() or target.is_symlink():
            earlier = f"Earlier: a file of the same name was quarantined before; it is {target.name}\n"
            target = target.with_name(f"{path.stem}-{datetime.now(UTC):%Y%m%dT%H%M%S%f}{path.suffix}")
        reason = (
            f"File: {path.name}\nFailed: {datetime.now(UTC).isoformat(timespec='seconds')}\n"
            f"Reason: {outcome.message}\n{earlier}"
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
