"""The durable queue: one SQLite row per file in a watched folder, with its hash and state.

States: `queued` -> `processing` -> `indexed`; or `failed` (retried after `next_attempt_at`),
`quarantined` (bad input, moved aside), `removed` (deleted from the folder). After a crash,
`processing` rows go back to `queued`, so nothing dropped is ever lost.

One journal file may serve several watched folders (they share a state directory): every row
belongs to a folder, and a journal opened for a folder reads and takes only that folder's rows.
A `processing` row names the process that took it, so a row whose owner is gone is never shown
as in progress.
"""

from __future__ import annotations

import enum
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from indexer.hashing import FileIdentity

__all__ = ["FileState", "Journal", "JournalEntry", "current_owner", "is_owner_alive"]

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
#: Columns added after the first release; older journals gain them when opened.
_ADDED_COLUMNS = {"folder": "TEXT", "mtime_ns": "INTEGER NOT NULL DEFAULT 0", "owner": "TEXT"}


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
    mtime_ns: int
    state: FileState
    attempts: int
    next_attempt_at: float
    error: str | None
    #: The content last indexed for this path: its pages go when the content changes.
    indexed_sha256: str | None
    updated_at: float
    folder: str | None
    #: `pid:start time` of the process that took a `processing` row.
    owner: str | None

    @property
    def identity(self) -> FileIdentity:
        return FileIdentity(self.sha256, self.size_bytes, self.mtime_ns)


def current_owner() -> str:
    """This process as a row owner: its pid and start time, so a reused pid is not mistaken for it."""
    return f"{os.getpid()}:{psutil.Process().create_time():.3f}"


def is_owner_alive(owner: str | None) -> bool:
    if not owner:
        return False
    pid, _, started = owner.partition(":")
    try:
        return f"{psutil.Process(int(pid)).create_time():.3f}" == started
    except (psutil.Error, ValueError):
        return False


class Journal:
    """A small thread-safe SQLite journal (WAL mode, one connection guarded by a lock).

    Args:
        path: the SQLite file.
        folder: the watched folder whose rows this journal reads and takes; None reads all rows
            (`indexer status` without a folder).
    """

    def __init__(self, path: Path, *, folder: Path | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.folder = str(folder) if folder is not None else None
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        with self._transaction() as db:
            present = {row["name"] for row in db.execute("PRAGMA table_info(files)")}
            for name, declaration in _ADDED_COLUMNS.items():
                if name not in present:
                    db.execute(f"ALTER TABLE files ADD COLUMN {name} {declaration}")
            if self.folder is not None:
                # Rows written before rows had folders belong to the folder that holds them.
                db.execute(
                    "UPDATE files SET folder = ? WHERE folder IS NULL AND substr(path, 1, ?) = ?",
                    (self.folder, len(self.folder) + 1, self.folder + os.sep),
                )

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

    def _scope(self) -> tuple[str, list[Any]]:
        """The WHERE clause that keeps a folder's journal to its own rows."""
        return ("folder = ?", [self.folder]) if self.folder is not None else ("1 = 1", [])

    def get(self, path: str) -> JournalEntry | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM files WHERE path = ?", (path,)).fetchone()
        return _entry(row) if row else None

    def enqueue(self, path: str, identity: FileIdentity) -> bool:
        """Queue a complete file unless this exact content is already known for the path.

        Known content with a new mtime (the file was touched, not changed) gets its identity
        refreshed, and a failed row is made due now: the file has just been seen complete.

        Returns:
            True when the file was (re)queued as new content.
        """
        now = time.time()
        with self._transaction() as db:
            row = db.execute(
                "SELECT sha256, size_bytes, mtime_ns, state FROM files WHERE path = ?", (path,)
            ).fetchone()
            if row and row["sha256"] == identity.sha256 and row["state"] != FileState.REMOVED:
                if (row["size_bytes"], row["mtime_ns"]) != (identity.size_bytes, identity.mtime_ns):
                    db.execute(
                        "UPDATE files SET size_bytes = ?, mtime_ns = ?,"
                        " next_attempt_at = CASE WHEN state = 'failed' THEN 0 ELSE next_attempt_at END"
                        " WHERE path = ?",
                        (identity.size_bytes, identity.mtime_ns, path),
                    )
                return False
            db.execute(
                "INSERT INTO files (path, folder, sha256, size_bytes, mtime_ns, state, attempts,"
                " next_attempt_at, error, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', 0, 0, NULL, ?)"
                " ON CONFLICT(path) DO UPDATE SET folder = excluded.folder, sha256 = excluded.sha256,"
                " size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns, state = 'queued',"
                " attempts = 0, next_attempt_at = 0, error = NULL, owner = NULL,"
                " updated_at = excluded.updated_at",
                (path, self.folder, identity.sha256, identity.size_bytes, identity.mtime_ns, now),
            )
        return True

    def claim_next(
        self, *, now: float | None = None, exclude: frozenset[str] = frozenset()
    ) -> JournalEntry | None:
        """Take this folder's oldest file due for work and mark it `processing` by this process."""
        moment = time.time() if now is None else now
        scope, params = self._scope()
        with self._transaction() as db:
            rows = db.execute(
                f"SELECT path FROM files WHERE {scope} AND state IN ('queued', 'failed')"
                " AND next_attempt_at <= ? ORDER BY next_attempt_at, updated_at",
                [*params, moment],
            ).fetchall()
            path = next((row["path"] for row in rows if row["path"] not in exclude), None)
            if path is None:
                return None
            db.execute(
                "UPDATE files SET state = 'processing', attempts = attempts + 1, owner = ?, updated_at = ?"
                " WHERE path = ?",
                (current_owner(), moment, path),
            )
        return self.get(path)

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
                "UPDATE files SET state = ?, error = ?, next_attempt_at = ?, updated_at = ?, owner = NULL,"
                " indexed_sha256 = COALESCE(?, indexed_sha256) WHERE path = ?",
                (state.value, error, retry_at, time.time(), indexed_sha256, path),
            )

    def record(self, path: str, identity: FileIdentity, state: FileState, *, error: str) -> None:
        """Write a row straight into a final state (a file refused before it was queued)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO files (path, folder, sha256, size_bytes, mtime_ns, state, error, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256,"
                " size_bytes = excluded.size_bytes, mtime_ns = excluded.mtime_ns, state = excluded.state,"
                " error = excluded.error, owner = NULL, updated_at = excluded.updated_at",
                (
                    path,
                    self.folder,
                    identity.sha256,
                    identity.size_bytes,
                    identity.mtime_ns,
                    state.value,
                    error,
                    time.time(),
                ),
            )

    def requeue_interrupted(self) -> int:
        """After a crash or a kill, this folder's work left `processing` goes back to the queue."""
        scope, params = self._scope()
        with self._transaction() as db:
            cursor = db.execute(
                f"UPDATE files SET state = 'queued', next_attempt_at = 0, owner = NULL"
                f" WHERE {scope} AND state = 'processing'",
                params,
            )
            return cursor.rowcount

    def entries(self, *, state: FileState | None = None) -> list[JournalEntry]:
        scope, params = self._scope()
        query = f"SELECT * FROM files WHERE {scope}"
        if state is not None:
            query, params = query + " AND state = ?", [*params, state.value]
        with self._lock:
            rows = self._db.execute(query + " ORDER BY updated_at DESC", params).fetchall()
        return [_entry(row) for row in rows]

    def counts(self) -> dict[str, int]:
        scope, params = self._scope()
        with self._lock:
            rows = self._db.execute(
                f"SELECT state, COUNT(*) FROM files WHERE {scope} GROUP BY state", params
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    def folders(self) -> list[str]:
        """Every folder that has rows in this journal."""
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT folder FROM files WHERE folder IS NOT NULL").fetchall()
        return sorted(row[0] for row in rows)

    def is_shared(self, sha256: str, *, other_than: str) -> bool:
        """Whether another live path, in any folder, holds the same content (then its pages stay)."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM files WHERE indexed_sha256 = ? AND path != ? AND state NOT IN ('removed')",
                (sha256, other_than),
            ).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _entry(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(
        path=str(row["path"]),
        sha256=str(row["sha256"]),
        size_bytes=int(row["size_bytes"]),
        mtime_ns=int(row["mtime_ns"] or 0),
        state=FileState(str(row["state"])),
        attempts=int(row["attempts"]),
        next_attempt_at=float(row["next_attempt_at"]),
        error=row["error"],
        indexed_sha256=row["indexed_sha256"],
        updated_at=float(row["updated_at"]),
        folder=row["folder"],
        owner=row["owner"],
    )
