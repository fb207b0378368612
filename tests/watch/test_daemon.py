"""The watch daemon as a real process, on real files, against a real node. No fixed sleeps.

The pipeline runs without the models (mask, page OCR, merge, index) so the tests measure the
daemon's guarantees rather than model speed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from indexer.config import Settings
from indexer.watch.journal import FileState, Journal
from tests.factories import synthetic_pages, write_empty_file, write_scanned_pdf, write_truncated_pdf
from tests.watch.processes import start_watch

WAIT_S = 240.0
NO_MODEL_PIPELINE = '["mask_with_anchors", "ocr_printed", "merge_text"]'


def wait_for(condition: Callable[[], bool], *, timeout_s: float = WAIT_S, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


class Daemon:
    """`indexer watch` in a subprocess, with its own state dir and index alias."""

    def __init__(self, inbox: Path, state_dir: Path, alias: str, es_url: str) -> None:
        self.inbox = inbox
        self.state_dir = state_dir
        self.log = state_dir / "daemon.log"
        self.env = {
            **os.environ,
            "INDEXER_ES_URL": es_url,
            "INDEXER_STATE_DIR": str(state_dir),
            "INDEXER_ES__ALIAS": alias,
            "INDEXER_PIPELINE__PROCESSORS": NO_MODEL_PIPELINE,
            "INDEXER_WATCH__WORKERS": "2",
            "INDEXER_WATCH__SETTLE_S": "0.5",
            "INDEXER_WATCH__RETRY_INITIAL_S": "0.5",
            "INDEXER_WATCH__RETRY_MAX_S": "3",
            # Damaged files are quarantined once unchanged for this long (the slow-copy test sets more).
            "INDEXER_WATCH__INCOMPLETE_GRACE_S": "2",
            "INDEXER_WATCH__INCOMPLETE_RETRY_S": "0.5",
            "COLUMNS": "400",  # log lines unwrapped, so tests can look for phrases
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = start_watch(self.inbox, self.env, self.log)

    @property
    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill_hard(self) -> None:
        """kill -9 the daemon and its workers, as a power cut would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=120)
        return int(self.process.returncode)

    def states(self) -> dict[str, FileState]:
        journal_path = self.state_dir / "watch" / "journal.sqlite3"
        if not journal_path.exists():
            return {}
        journal = Journal(journal_path)
        try:
            return {Path(entry.path).name: entry.state for entry in journal.entries()}
        finally:
            journal.close()


@pytest.fixture
def daemon(tmp_path: Path, settings_for: Settings, es_client: Elasticsearch) -> Iterator[Daemon]:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    running = Daemon(inbox, tmp_path / "state", settings_for.es.alias, settings_for.es.effective_url)
    running.state_dir.mkdir()
    yield running
    if running.is_alive:
        running.stop()


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Five different one-page scanned PDFs, made once for the module."""
    folder = tmp_path_factory.mktemp("pdfs")
    return [
        write_scanned_pdf(folder / f"lease-{n}.pdf", synthetic_pages(1, seed=100 + n), seed=n)
        for n in range(5)
    ]


def _pages_of(es_client: Elasticsearch, alias: str) -> dict[str, int]:
    """Indexed page count per file name (each good one-page file must have exactly 1)."""
    if not es_client.indices.exists_alias(name=alias):
        return {}
    es_client.indices.refresh(index=alias)
    response = es_client.search(
        index=alias, size=0, aggs={"files": {"terms": {"field": "document.filename", "size": 100}}}
    )
    return {bucket["key"]: bucket["doc_count"] for bucket in response["aggregations"]["files"]["buckets"]}


def _copy(source: Path, target: Path) -> None:
    target.write_bytes(source.read_bytes())


def _drop_slowly(source: Path, target: Path, *, pieces: int = 4) -> None:
    """Write a file in pieces, like a scanner on a network share (under 1 s in all)."""
    data = source.read_bytes()
    step = len(data) // pieces + 1
    with target.open("wb") as handle:
        for start in range(0, len(data), step):
            handle.write(data[start : start + step])
            handle.flush()
            os.fsync(handle.fileno())
            time.sleep(0.2)  # the slow writer itself, not a wait for the daemon


def test_good_files_are_indexed_once_and_bad_ones_quarantined(
    daemon: Daemon, pdfs: list[Path], es_client: Elasticsearch, tmp_path: Path
) -> None:
    _copy(pdfs[0], daemon.inbox / "already-there.pdf")  # caught up on start
    daemon.start()
    _copy(pdfs[1], daemon.inbox / "good.pdf")
    write_truncated_pdf(daemon.inbox / "corrupt.pdf", pdfs[2])
    write_empty_file(daemon.inbox / "empty.pdf")
    _drop_slowly(pdfs[3], daemon.inbox / "slow.pdf")
    (daemon.inbox / "ignored.pdf.part").write_bytes(pdfs[4].read_bytes())
    expected = {"already-there.pdf": 1, "good.pdf": 1, "slow.pdf": 1}

    wait_for(lambda: _pages_of(es_client, daemon.env["INDEXER_ES__ALIAS"]) == expected, what="the good files")
    wait_for(
        lambda: all(
            daemon.states().get(name) is FileState.QUARANTINED for name in ("corrupt.pdf", "empty.pdf")
        ),
        what="the bad files to be quarantined",
    )

    quarantine = daemon.inbox / ".quarantine"
    assert "damaged" in (quarantine / "corrupt.pdf.reason.txt").read_text()
    assert "empty" in (quarantine / "empty.pdf.reason.txt").read_text()
    assert not (daemon.inbox / "corrupt.pdf").exists()
    assert "ignored.pdf.part" not in daemon.states()
    assert daemon.is_alive
    assert daemon.stop() == 0


def test_kill_9_mid_batch_then_restart_indexes_everything_exactly_once(
    daemon: Daemon, pdfs: list[Path], es_client: Elasticsearch
) -> None:
    alias = daemon.env["INDEXER_ES__ALIAS"]
    daemon.start()
    for index, pdf in enumerate(pdfs):
        _copy(pdf, daemon.inbox / f"batch-{index}.pdf")
    wait_for(lambda: FileState.PROCESSING in daemon.states().values(), what="work in progress")

    daemon.kill_hard()
    daemon.start()

    expected = {f"batch-{index}.pdf": 1 for index in range(len(pdfs))}
    wait_for(lambda: _pages_of(es_client, alias) == expected, what="every file after the restart")
    wait_for(lambda: set(daemon.states().values()) == {FileState.INDEXED}, what="the journal to settle")
    assert daemon.stop() == 0


def test_changed_and_removed_files_update_the_index(
    daemon: Daemon, pdfs: list[Path], es_client: Elasticsearch
) -> None:
    alias = daemon.env["INDEXER_ES__ALIAS"]
    daemon.start()
    _copy(pdfs[0], daemon.inbox / "keep.pdf")
    _copy(pdfs[1], daemon.inbox / "change.pdf")
    _copy(pdfs[2], daemon.inbox / "remove.pdf")
    wait_for(lambda: len(_pages_of(es_client, alias)) == 3, what="three files")

    def document_ids() -> set[str]:
        if not es_client.indices.exists_alias(name=alias):
            return set()
        es_client.indices.refresh(index=alias)
        hits = es_client.search(index=alias, size=10, query={"term": {"document.filename": "change.pdf"}})
        return {hit["_source"]["document"]["id"] for hit in hits["hits"]["hits"]}

    before = document_ids()
    _copy(pdfs[3], daemon.inbox / "change.pdf")
    (daemon.inbox / "remove.pdf").unlink()

    wait_for(
        lambda: document_ids() not in (before, set()) and len(document_ids()) == 1, what="the new content"
    )
    wait_for(lambda: _pages_of(es_client, alias) == {"keep.pdf": 1, "change.pdf": 1}, what="the removal")
    assert daemon.stop() == 0


@pytest.fixture
def second_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A node of its own that the test may stop and start (the shared one must stay up)."""
    import shutil
    import socket
    import tempfile

    from indexer.config import load_settings
    from indexer.node import EmbeddedNode

    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
    # The node's unprivileged account must be able to enter its state folder.
    state_dir = Path(tempfile.mkdtemp(prefix="indexer-es-down-"))
    state_dir.chmod(0o755)
    settings = load_settings(
        overrides={"state_dir": state_dir, "es": {"node": {"port": ports[0], "transport_port": ports[1]}}}
    )
    node = EmbeddedNode(settings)
    node.ensure_running()
    yield settings
    node.stop()
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.mark.slow
def test_node_down_during_a_batch_loses_nothing(
    tmp_path: Path, pdfs: list[Path], second_node: Settings
) -> None:
    """GIVEN the daemon indexing into a node WHEN the node stops mid-batch and comes back
    THEN every file ends up searchable exactly once, none is quarantined, the daemon lives."""
    from elasticsearch import Elasticsearch as Client

    from indexer.node import EmbeddedNode

    node = EmbeddedNode(second_node)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (tmp_path / "state").mkdir()
    daemon = Daemon(inbox, tmp_path / "state", "down-test", second_node.es.effective_url)
    client = Client(second_node.es.effective_url)
    daemon.start()
    try:
        _copy(pdfs[0], inbox / "before.pdf")
        wait_for(lambda: _pages_of(client, "down-test") == {"before.pdf": 1}, what="the first file")

        node.stop()
        for index in range(1, 4):
            _copy(pdfs[index], inbox / f"during-{index}.pdf")
        wait_for(lambda: FileState.FAILED in daemon.states().values(), what="a retry to be scheduled")
        assert daemon.is_alive
        node.ensure_running()

        expected = {"before.pdf": 1, "during-1.pdf": 1, "during-2.pdf": 1, "during-3.pdf": 1}
        wait_for(
            lambda: _pages_of(client, "down-test") == expected, what="every file after the node returned"
        )
        assert FileState.QUARANTINED not in daemon.states().values()
        assert not (inbox / ".quarantine").exists()
        assert daemon.stop() == 0
    finally:
        if daemon.is_alive:
            daemon.stop()
        client.close()
