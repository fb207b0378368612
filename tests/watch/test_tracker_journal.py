"""The daemon's building blocks, with an injected clock: no sleeps."""

from __future__ import annotations

import os
import time
from pathlib import Path

from indexer.hashing import FileIdentity
from indexer.watch.journal import FileState, Journal, is_owner_alive
from indexer.watch.tracker import StabilityTracker, is_ignored


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_file_is_ready_only_after_it_stops_changing(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(settle_s=2.0, clock=clock)
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.7 part one")

    assert not tracker.observe(path)
    clock.now += 1.0
    with path.open("ab") as handle:
        handle.write(b" part two")
    os.utime(path, ns=(1, 2))  # a copy may keep old timestamps: size still changes
    assert not tracker.observe(path)
    clock.now += 1.5
    assert not tracker.observe(path)
    clock.now += 1.0
    assert tracker.observe(path)
    assert tracker.pending() == []


def test_partial_and_hidden_names_are_ignored(tmp_path: Path) -> None:
    for name in ("a.pdf.part", "b.crdownload", "~$c.pdf", ".d.pdf", ".quarantine/e.pdf"):
        assert is_ignored(tmp_path / name, tmp_path), name
    assert not is_ignored(tmp_path / "lease.pdf", tmp_path)


def test_journal_queues_each_content_once_and_survives_a_crash(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    assert journal.enqueue("/in/a.pdf", FileIdentity("h1", 10, 1))
    assert not journal.enqueue("/in/a.pdf", FileIdentity("h1", 10, 1))
    claimed = journal.claim_next()
    assert claimed is not None and claimed.state is FileState.PROCESSING
    journal.close()

    reopened = Journal(tmp_path / "journal.sqlite3")  # as after kill -9
    assert reopened.requeue_interrupted() == 1
    again = reopened.claim_next()
    assert again is not None and again.path == "/in/a.pdf" and again.attempts == 2
    reopened.mark("/in/a.pdf", FileState.INDEXED, indexed_sha256="h1")

    assert reopened.enqueue("/in/a.pdf", FileIdentity("h2", 12, 1))  # new content: indexed again
    entry = reopened.get("/in/a.pdf")
    assert entry is not None and entry.state is FileState.QUEUED and entry.indexed_sha256 == "h1"


def test_failed_work_waits_for_its_retry_time(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3")
    journal.enqueue("/in/a.pdf", FileIdentity("h1", 10, 1))
    journal.claim_next(now=100.0)
    journal.mark("/in/a.pdf", FileState.FAILED, error="Elasticsearch unreachable", retry_at=130.0)

    assert journal.claim_next(now=120.0) is None
    retried = journal.claim_next(now=131.0)
    assert retried is not None and retried.attempts == 2


def test_rows_belong_to_their_folder(tmp_path: Path) -> None:
    """GIVEN one journal shared by two watched folders, and a row left `processing` by a dead daemon
    WHEN the daemon of the other folder reads it
    THEN it neither takes nor sees that row, and the row's owner is known to be gone."""
    shared = tmp_path / "journal.sqlite3"
    old = Journal(shared, folder=Path("/gone"))
    old.enqueue("/gone/a.pdf", FileIdentity("h1", 10, 1))
    assert old.claim_next() is not None
    with old._transaction() as db:  # as if the daemon that took it had been killed long ago
        db.execute("UPDATE files SET owner = '999999999:1.000'")
    old.close()

    current = Journal(shared, folder=Path("/inbox"))
    current.enqueue("/inbox/b.pdf", FileIdentity("h2", 10, 1))

    assert current.requeue_interrupted() == 0
    assert [entry.path for entry in current.entries()] == ["/inbox/b.pdf"]
    claimed = current.claim_next()
    assert claimed is not None and claimed.path == "/inbox/b.pdf" and is_owner_alive(claimed.owner)
    assert current.claim_next() is None
    everything = Journal(shared)
    left = [entry for entry in everything.entries(state=FileState.PROCESSING) if entry.path == "/gone/a.pdf"]
    assert len(left) == 1 and not is_owner_alive(left[0].owner)
    assert everything.folders() == ["/gone", "/inbox"]


def test_touched_content_refreshes_its_identity_and_is_due_again(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "journal.sqlite3", folder=Path("/in"))
    journal.enqueue("/in/a.pdf", FileIdentity("h1", 10, 1))
    journal.claim_next(now=100.0)
    journal.mark("/in/a.pdf", FileState.FAILED, error="changed", retry_at=time.time() + 3600)

    assert not journal.enqueue("/in/a.pdf", FileIdentity("h1", 10, 2))

    entry = journal.get("/in/a.pdf")
    assert entry is not None and entry.mtime_ns == 2 and entry.next_attempt_at == 0
