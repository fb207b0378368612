"""The daemon's crash and start-up paths, as a real process on real files against a real node.

Each test reproduces a way the daemon lost or leaked something: workers that outlived a
`kill -9`, a worker that could not start, Ctrl-C while workers load, links out of the folder, a
slow copy with a pause, and a journal shared between folders.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from indexer.cli import app
from indexer.errors import ConfigError, DependencyError
from indexer.hashing import FileIdentity
from indexer.watch.journal import FileState, Journal
from indexer.watch.lock import FolderLock
from tests.watch.test_daemon import Daemon, _copy, _pages_of, daemon, pdfs, wait_for

__all__ = ["daemon", "pdfs"]  # fixtures shared with test_daemon.py

MODELS = Path(__file__).resolve().parents[2] / "models"
FULL_PIPELINE = '["detect_handwriting", "mask_with_anchors", "ocr_printed", "ocr_handwriting", "merge_text"]'


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _alive(processes: list[psutil.Process]) -> list[int]:
    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
        except psutil.NoSuchProcess:
            continue
    return alive


def _wait_exit(daemon: Daemon, *, timeout_s: float) -> int:
    assert daemon.process is not None
    return int(daemon.process.wait(timeout=timeout_s))


def test_kill_9_of_the_daemon_leaves_no_worker_behind(
    daemon: Daemon, pdfs: list[Path], es_client: Elasticsearch
) -> None:
    """GIVEN a daemon with two workers WHEN only the daemon gets SIGKILL
    THEN its workers end too, and a restarted daemon indexes what was dropped."""
    daemon.start()
    assert daemon.process is not None
    wait_for(lambda: "worker(s)" in daemon.log.read_text(), what="the daemon to start its workers")
    wait_for(lambda: len(_descendants(daemon.process.pid)) >= 2, what="two workers")  # type: ignore[union-attr]
    family = _descendants(daemon.process.pid)

    daemon.process.kill()  # the daemon alone, not its process group
    daemon.process.wait(timeout=30)

    wait_for(lambda: _alive(family) == [], timeout_s=15, what=f"the workers {[p.pid for p in family]} to end")
    daemon.start()
    _copy(pdfs[0], daemon.inbox / "after-restart.pdf")
    wait_for(
        lambda: _pages_of(es_client, daemon.env["INDEXER_ES__ALIAS"]) == {"after-restart.pdf": 1},
        what="a file after the restart",
    )
    assert daemon.stop() == 0


def test_a_second_daemon_on_the_same_folder_is_refused(daemon: Daemon) -> None:
    daemon.start()
    wait_for(lambda: "worker(s)" in daemon.log.read_text(), what="the first daemon")
    second = Daemon(
        daemon.inbox, daemon.state_dir, daemon.env["INDEXER_ES__ALIAS"], daemon.env["INDEXER_ES_URL"]
    )
    second.log = daemon.state_dir / "second.log"

    second.start()

    assert _wait_exit(second, timeout_s=60) == ConfigError.exit_code
    assert f"another `indexer watch` (pid {daemon.process.pid})" in second.log.read_text()  # type: ignore[union-attr]
    assert daemon.is_alive
    assert daemon.stop() == 0


def test_leftover_processes_holding_the_folder_are_named(daemon: Daemon) -> None:
    """GIVEN a process that still holds the folder's members lock, as a leftover worker would
    WHEN the daemon starts THEN it refuses, naming that process, instead of adding workers."""
    lock = FolderLock(daemon.state_dir, daemon.inbox.resolve())
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time; f = open(sys.argv[1], 'a'); fcntl.flock(f, fcntl.LOCK_SH);"
            " print('held', flush=True); time.sleep(120)",
            str(lock.members_path),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        daemon.env["INDEXER_WATCH__LEFTOVERS_WAIT_S"] = "1"
        daemon.start()

        assert _wait_exit(daemon, timeout_s=60) == ConfigError.exit_code
        output = daemon.log.read_text()
        assert "left by an earlier `indexer watch`" in output and str(holder.pid) in output
    finally:
        holder.kill()
        holder.wait()


def test_a_missing_model_fails_before_any_worker_starts(daemon: Daemon) -> None:
    daemon.env["INDEXER_PIPELINE__PROCESSORS"] = FULL_PIPELINE
    daemon.env["INDEXER_DETECTOR__MODEL_DIR"] = str(daemon.state_dir / "no-such-model")

    daemon.start()

    assert _wait_exit(daemon, timeout_s=60) == DependencyError.exit_code
    output = daemon.log.read_text()
    assert "no-such-model/detector.json is missing; set INDEXER_DETECTOR__MODEL_DIR" in output
    assert "worker(s)" not in output


@pytest.mark.slow
def test_a_worker_that_cannot_start_stops_the_daemon_with_its_reason(daemon: Daemon) -> None:
    """GIVEN a model folder that passes the file checks but whose weights are garbage
    WHEN the daemon starts THEN it exits non-zero with the worker's reason, without respawning."""
    broken = daemon.state_dir / "broken-model"
    shutil.copytree(MODELS / "detector", broken, ignore=shutil.ignore_patterns("cv", "*.md"))
    (broken / "detector.weights.h5").write_bytes(b"not an HDF5 file")
    daemon.env["INDEXER_PIPELINE__PROCESSORS"] = FULL_PIPELINE
    daemon.env["INDEXER_DETECTOR__MODEL_DIR"] = str(broken)

    daemon.start()

    assert _wait_exit(daemon, timeout_s=180) != 0
    output = daemon.log.read_text()
    assert "detector.weights.h5" in output
    assert output.count("starting a new one") == 0


@pytest.mark.slow
def test_ctrl_c_while_workers_load_their_models_stops_the_daemon(daemon: Daemon) -> None:
    daemon.env["INDEXER_PIPELINE__PROCESSORS"] = FULL_PIPELINE
    daemon.start()
    assert daemon.process is not None
    wait_for(lambda: "worker(s)" in daemon.log.read_text(), what="the daemon to start its workers")
    family = _descendants(daemon.process.pid)

    daemon.process.send_signal(signal.SIGINT)

    assert _wait_exit(daemon, timeout_s=30) == 0
    wait_for(lambda: _alive(family) == [], timeout_s=15, what="the workers to end")


def test_links_that_leave_the_folder_are_refused(
    daemon: Daemon, pdfs: list[Path], es_client: Elasticsearch, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    _copy(pdfs[0], outside / "elsewhere.pdf")
    (daemon.inbox / "sub").mkdir()
    _copy(pdfs[1], daemon.inbox / "sub" / "inside.pdf")
    (daemon.inbox / "passwd.pdf").symlink_to("/etc/passwd")
    (daemon.inbox / "elsewhere.pdf").symlink_to(outside / "elsewhere.pdf")
    (daemon.inbox / "inside.pdf").symlink_to(daemon.inbox / "sub" / "inside.pdf")

    daemon.start()

    alias = daemon.env["INDEXER_ES__ALIAS"]
    wait_for(lambda: _pages_of(es_client, alias) == {"inside.pdf": 1}, what="the link inside the folder")
    quarantine = daemon.inbox / ".quarantine"
    wait_for(
        lambda: all((quarantine / f"{name}.reason.txt").exists() for name in ("passwd.pdf", "elsewhere.pdf")),
        what="the links out of the folder to be refused",
    )
    assert "outside the watched folder" in (quarantine / "passwd.pdf.reason.txt").read_text()
    assert "INDEXER_WATCH__SYMLINKS" in (quarantine / "elsewhere.pdf.reason.txt").read_text()
    assert (quarantine / "passwd.pdf").is_symlink() and Path("/etc/passwd").is_file()
    assert "/etc/passwd" not in "".join(
        line
        for line in daemon.log.read_text().splitlines()
        if "quarantined" not in line and "link" not in line
    )
    assert daemon.stop() == 0


def test_a_slow_copy_with_a_pause_is_indexed_not_quarantined(
    daemon: Daemon, pdfs: list[Path], es_client: Elasticsearch
) -> None:
    """GIVEN a PDF written in two parts with a pause longer than the settle time
    WHEN the daemon takes the first part and finds it damaged
    THEN it waits for the rest instead of quarantining it, and indexes the whole file."""
    daemon.env["INDEXER_WATCH__INCOMPLETE_GRACE_S"] = "60"
    daemon.start()
    data = pdfs[2].read_bytes()
    target = daemon.inbox / "network-copy.pdf"
    with target.open("wb") as handle:
        handle.write(data[:20_000])
        handle.flush()
        os.fsync(handle.fileno())
        wait_for(
            lambda: "may still be copying" in daemon.log.read_text(), what="the daemon to try the first part"
        )
        handle.write(data[20_000:])

    wait_for(
        lambda: _pages_of(es_client, daemon.env["INDEXER_ES__ALIAS"]) == {"network-copy.pdf": 1},
        what="the whole file",
    )
    assert not (daemon.inbox / ".quarantine").exists()
    assert target.read_bytes() == data
    assert daemon.stop() == 0


def test_a_quarantined_name_that_reappears_is_reported(
    daemon: Daemon, pdfs: list[Path], es_client: Elasticsearch
) -> None:
    bad = daemon.inbox / "lease.pdf"
    bad.write_bytes(pdfs[0].read_bytes()[:5000])
    os.utime(bad, (time.time() - 3600, time.time() - 3600))  # an old file: damaged for good
    daemon.start()
    wait_for(lambda: (daemon.inbox / ".quarantine" / "lease.pdf").exists(), what="the damaged file")

    _copy(pdfs[0], daemon.inbox / "lease.pdf")

    wait_for(
        lambda: _pages_of(es_client, daemon.env["INDEXER_ES__ALIAS"]) == {"lease.pdf": 1}, what="the copy"
    )
    assert "lease.pdf reappeared; an earlier file of that name is in" in daemon.log.read_text()
    assert daemon.stop() == 0


@pytest.fixture
def shared_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("INDEXER_STATE_DIR", str(tmp_path / "state"))
    yield tmp_path / "state" / "watch" / "journal.sqlite3"


def test_status_never_shows_an_orphaned_row_as_in_progress(shared_journal: Path, tmp_path: Path) -> None:
    """GIVEN a journal in which a stopped daemon of another folder left a row `processing`
    WHEN `indexer status` runs THEN that row reads as interrupted, under its own folder."""
    gone = Journal(shared_journal, folder=tmp_path / "gone")
    gone.enqueue(str(tmp_path / "gone" / "a.pdf"), FileIdentity("h1", 10, 1))
    gone.claim_next()
    with gone._transaction() as db:
        db.execute("UPDATE files SET owner = '999999999:1.000'")
    gone.close()
    live = Journal(shared_journal, folder=tmp_path / "inbox")
    live.enqueue(str(tmp_path / "inbox" / "b.pdf"), FileIdentity("h2", 10, 1))
    live.claim_next()

    result = CliRunner().invoke(app, ["status"])
    only_inbox = CliRunner().invoke(app, ["status", str(tmp_path / "inbox")])
    live.close()

    assert result.exit_code == 0, result.output
    assert f"interrupted: {tmp_path / 'gone' / 'a.pdf'}" in result.output
    assert f"in progress: {tmp_path / 'inbox' / 'b.pdf'}" in result.output
    assert "in progress: " + str(tmp_path / "gone") not in result.output
    assert str(tmp_path / "gone") not in only_inbox.output
    assert FileState.PROCESSING.value in result.output


def test_the_members_lock_is_shared_by_the_daemon_and_exclusive_to_it(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    first = FolderLock(tmp_path, folder)
    first.acquire(leftovers_wait_s=0)
    try:
        with pytest.raises(ConfigError, match="another `indexer watch`"):
            FolderLock(tmp_path, folder).acquire(leftovers_wait_s=0)
        with first.members_path.open("a") as worker:  # a worker shares it
            fcntl.flock(worker, fcntl.LOCK_SH | fcntl.LOCK_NB)
    finally:
        first.release()
    again = FolderLock(tmp_path, folder)
    again.acquire(leftovers_wait_s=0)
    again.release()
