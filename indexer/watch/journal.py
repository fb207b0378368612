"""The durable queue: one SQLite row per file in the watched folder, with its hash and state.

States: `queued` -> `processing` -> `indexed`; or `failed` (transient, retried after
`next_attempt_at`), `quarantined` (bad input, moved aside), `removed` (deleted from the folder).
After a crash, `processing` rows go back to `queued`, so nothing dropped is ever lost.
"""

from __future__ import annotations

import enum
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FileState", "Journal", "JournalEntry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    error TEXT,
    indexed_sha256 TEXT,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_state ON files (state, next_attempt_at);
"""


class FileState(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    INDEXED = "indexed"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    REMOVED = "removed"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    path: str
    sha256: str
    size_bytes: int
    state: FileState
    attempts: int
    next_attempt_at: float
    error: str | None
    #: The content last indexed for this path: its pages go when the content changes.
    indexed_sha256: str | None
    updated_at: float


class Journal:
    """A small thread-safe SQLite journal (WAL mode, one connection guarded by a lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get(self, path: str) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM files WHERE path = ?", (path,)).fetchone()
        return _entry(row) if row else None

    def enqueue(self, path: str, sha256: str, size_bytes: int) -> bool:
        """Queue a complete file unless this exact content is already indexed or queued.

        Returns:
            True when the file was (re)queued.
        """
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT sha256, state FROM files WHERE path = ?", (path,)).fetchone()
            if row and row[0] == sha256 and row[1] != FileState.REMOVED:
                return False
            db.execute(
                "INSERT INTO files (path, sha256, size_bytes, state, attempts, next_attempt_at, error,"
                " updated_at) VALUES (?, ?, ?, 'queued', 0, 0, NULL, ?)"
                " ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256,"
                " size_bytes = excluded.size_bytes, state = 'queued', attempts = 0, next_attempt_at = 0,"
                " error = NULL, updated_at = excluded.updated_at",
                (path, sha256, size_bytes, now),
            )
        return True

    def claim_next(
        self, *, now: float | None = None, exclude: frozenset[str] = frozenset()
    ) -> JournalEntry | None:
        """Take the oldest file due for work and mark it `processing`."""
        moment = time.time() if now is None else now
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM files WHERE state IN ('queued', 'failed') AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, updated_at",
                (moment,),
            ).fetchall()
            row = next((candidate for candidate in rows if candidate[0] not in exclude), None)
            if row is None:
                return None
            db.execute(
                "UPDATE files SET state = 'processing', attempts = attempts + 1, updated_at = ?"
                " WHERE path = ?",
                (moment, row[0]),
            )
        claimed = self.get(row[0])
        return claimed

    def mark(
        self,
        path: str,
        state: FileState,
        *,
        error: str | None = None,
        retry_at: float = 0.0,
        indexed_sha256: str | None = None,
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE files SET state = ?, error = ?, next_attempt_at = ?, updated_at = ?,"
                " indexed_sha256 = COALESCE(?, indexed_sha256) WHERE path = ?",
                (state.value, error, retry_at, time.time(), indexed_sha256, path),
            )

    def requeue_interrupted(self) -> int:
        """After a crash or a kill, work left `processing` goes back to the queue."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE files SET state = 'queued', next_attempt_at = 0 WHERE state = 'processing'"
            )
            return cursor.rowcount

    def entries(self, *, state: FileState | None = None) -> list[JournalEntry]:
        query, params = "SELECT * FROM files", []
        if state is not None:
            query, params = query + " WHERE state = ?", [state.value]
        with self._lock:
            rows = self._db.execute(query + " ORDER BY updated_at DESC", params).fetchall()
        return [_entry(row) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM files GROUP BY state").fetchall()
        return {state: count for state, count in rows}

    def is_shared(self, sha256: str, *, other_than: str) -> bool:
        """Whether another live path holds the same content (then its pages must stay)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM files WHERE indexed_sha256 = ? AND path != ? AND state NOT IN ('removed')",
                (sha256, other_than),
            ).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _entry(row: tuple[object, ...]) -> JournalEntry:
    path, sha256, size_bytes, state, attempts, next_attempt_at, error, indexed_sha256, updated_at = row
    return JournalEntry(
        path=str(path),
        sha256=str(sha256),
        size_bytes=int(size_bytes),  # type: ignore[call-overload]
        state=FileState(str(state)),
        attempts=int(attempts),  # type: ignore[call-overload]
        next_attempt_at=float(next_attempt_at),  # type: ignore[arg-type]
        error=str(error) if error is not None else None,
        indexed_sha256=str(indexed_sha256) if indexed_sha256 is not None else None,
        updated_at=float(updated_at),  # type: ignore[arg-type]
    )
