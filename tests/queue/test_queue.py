"""The queue against a real redis-server, real `indexer worker` processes and the real node.

The pipeline runs without the models (mask, page OCR, merge, index), as in tests/watch/.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from indexer.cli import app
from indexer.config import Settings, load_settings
from indexer.errors import ConfigError
from indexer.hashing import FileIdentity
from indexer.queue import QueueDispatcher
from indexer.queue.tasks import deliveries_key, index_file
from indexer.watch.journal import FileState
from tests.factories import synthetic_pages, write_empty_file, write_scanned_pdf, write_truncated_pdf
from tests.watch.test_daemon import Daemon, _copy, _pages_of, second_node, wait_for

__all__ = ["second_node"]  # a node of its own that a test may stop (tests/watch/test_daemon.py)

_STARTED = re.compile(
    r"(?P<name>[\w.-]+\.pdf): started, delivery (?P<delivery>\d+) \(task (?P<task>[\w-]+), pid (?P<pid>\d+)"
)
_FINISHED = re.compile(r"(?P<name>[\w.-]+\.pdf): finished, (?P<kind>\w+) \(task (?P<task>[\w-]+)")


class Worker:
    """`indexer -v worker --concurrency 1` in a session of its own, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as stream:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "indexer.cli", "-v", "worker", "--concurrency", "1"],
                env=env,
                stdout=stream,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def started(self) -> list[tuple[str, int]]:
        """(file name, delivery number) of every task this worker started."""
        text = self.log.read_text(errors="replace")
        return [(match["name"], int(match["delivery"])) for match in _STARTED.finditer(text)]

    def pool_pid(self, name: str) -> int:
        """The pool process that started `name` last."""
        pids = [
            int(match["pid"]) for match in _STARTED.finditer(self.log.read_text()) if match["name"] == name
        ]
        return pids[-1]

    def finished(self) -> list[str]:
        return [match["name"] for match in _FINISHED.finditer(self.log.read_text(errors="replace"))]

    def holding(self) -> set[str]:
        """Files started and not finished: what the worker holds right now."""
        return {name for name, _ in self.started()} - set(self.finished())

    def kill_hard(self) -> None:
        """kill -9 the worker and its pool, as a machine that loses power would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def _queue_env(daemon: Daemon, redis_url: str) -> dict[str, str]:
    return {
        **daemon.env,
        "INDEXER_QUEUE__URL": redis_url,
        # A worker lost mid-file is noticed after the visibility timeout: short here (a page takes
        # a few seconds, more on a loaded machine), 16 minutes by default.
        "INDEXER_WATCH__FILE_TIMEOUT_S": "45",
        "INDEXER_QUEUE__VISIBILITY_TIMEOUT_S": "50",
    }


@pytest.fixture
def queued(
    tmp_path: Path, settings_for: Settings, es_client: Elasticsearch, redis_url: str
) -> Iterator[Daemon]:
    """A daemon in queue mode (not started) with its own inbox, state and alias."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    daemon = Daemon(inbox, tmp_path / "state", settings_for.es.alias, settings_for.es.effective_url)
    daemon.state_dir.mkdir()
    daemon.env = _queue_env(daemon, redis_url)
    yield daemon
    if daemon.is_alive:
        daemon.stop()


@pytest.fixture
def workers(queued: Daemon, tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.stop()


def _pdfs(folder: Path, count: int) -> list[Path]:
    folder.mkdir(exist_ok=True)
    return [
        write_scanned_pdf(folder / f"lease-{n}.pdf", synthetic_pages(1, seed=300 + n), seed=n)
        for n in range(count)
    ]


def test_daemon_enqueues_and_a_worker_indexes_and_bad_files_come_back_quarantined(
    queued: Daemon, workers: list[Worker], es_client: Elasticsearch, tmp_path: Path
) -> None:
    """GIVEN a daemon with INDEXER_QUEUE__URL and one `indexer worker`
    WHEN good, truncated and empty files are dropped
    THEN the worker indexes the good one, the others are quarantined with their reasons,
    and the daemon ran no pipeline process of its own."""
    good, other = _pdfs(tmp_path / "pdfs", 2)
    workers.append(Worker(queued.env, tmp_path / "worker.log"))
    queued.start()
    assert queued.process is not None
    _copy(good, queued.inbox / "good.pdf")
    write_truncated_pdf(queued.inbox / "corrupt.pdf", other)
    write_empty_file(queued.inbox / "empty.pdf")

    alias = queued.env["INDEXER_ES__ALIAS"]
    wait_for(lambda: _pages_of(es_client, alias) == {"good.pdf": 1}, what="the good file")
    wait_for(
        lambda: all(
            queued.states().get(name) is FileState.QUARANTINED for name in ("corrupt.pdf", "empty.pdf")
        ),
        what="the bad files to be quarantined",
    )

    assert "damaged" in (queued.inbox / ".quarantine" / "corrupt.pdf.reason.txt").read_text()
    assert "empty" in (queued.inbox / ".quarantine" / "empty.pdf.reason.txt").read_text()
    assert queued.states()["good.pdf"] is FileState.INDEXED
    assert ("good.pdf", 1) in workers[0].started()
    assert psutil.Process(queued.process.pid).children(recursive=True) == []
    assert "files go to the queue at redis://127.0.0.1" in queued.log.read_text()
    assert queued.stop() == 0
    leftovers = redis.Redis.from_url(queued.env["INDEXER_QUEUE__URL"])
    assert leftovers.keys("celery-task-meta-*") == leftovers.keys("indexer:deliveries:*") == []
    leftovers.close()


@pytest.mark.slow
def test_a_worker_killed_holding_a_file_loses_nothing_and_nothing_doubles(
    queued: Daemon, workers: list[Worker], es_client: Elasticsearch, tmp_path: Path
) -> None:
    """GIVEN one daemon and two workers WHEN 12 files are dropped and one worker is kill -9-ed
    while it holds a file THEN that file's task is delivered again, to the other worker, and
    every file ends up indexed exactly once (one page each) and journalled as indexed."""
    sources = _pdfs(tmp_path / "pdfs", 12)
    first = Worker(queued.env, tmp_path / "worker-1.log")
    second = Worker(queued.env, tmp_path / "worker-2.log")
    workers += [first, second]
    queued.start()
    for index, source in enumerate(sources):
        _copy(source, queued.inbox / f"batch-{index:02d}.pdf")

    wait_for(lambda: bool(first.holding() or second.holding()), what="a worker to take a file")
    victim, survivor = (first, second) if first.holding() else (second, first)
    victim.kill_hard()
    held = victim.holding()
    assert held, "the worker finished its file before the kill; nothing was held"

    alias = queued.env["INDEXER_ES__ALIAS"]
    expected = {f"batch-{index:02d}.pdf": 1 for index in range(12)}
    wait_for(lambda: _pages_of(es_client, alias) == expected, what="every file, once")
    wait_for(lambda: set(queued.states().values()) == {FileState.INDEXED}, what="the journal to settle")

    redelivered = {name for name, delivery in survivor.started() if delivery == 2}
    assert held <= redelivered, (held, survivor.started())
    assert survivor.process.poll() is None
    assert queued.stop() == 0


def test_a_pool_process_killed_mid_file_puts_its_task_back(
    queued: Daemon, workers: list[Worker], es_client: Elasticsearch, tmp_path: Path
) -> None:
    """GIVEN one worker WHEN the pool process running a file gets SIGKILL (a crash in Tesseract
    or TensorFlow) THEN the task is rejected back to the queue (`reject_on_worker_lost`), runs
    again in a new pool process, and the file is indexed once, not quarantined."""
    (source,) = _pdfs(tmp_path / "pdfs", 1)
    worker = Worker(queued.env, tmp_path / "worker.log")
    workers.append(worker)
    queued.start()
    _copy(source, queued.inbox / "crash.pdf")

    wait_for(lambda: bool(worker.holding()), what="the worker to take the file")
    os.kill(worker.pool_pid("crash.pdf"), signal.SIGKILL)

    alias = queued.env["INDEXER_ES__ALIAS"]
    wait_for(lambda: _pages_of(es_client, alias) == {"crash.pdf": 1}, what="the file, once")
    wait_for(lambda: queued.states().get("crash.pdf") is FileState.INDEXED, what="the journal")
    assert ("crash.pdf", 2) in worker.started()
    assert not (queued.inbox / ".quarantine").exists()
    assert queued.stop() == 0


def test_a_file_past_the_time_limit_is_stopped_and_quarantined(
    queued: Daemon, workers: list[Worker], tmp_path: Path
) -> None:
    """GIVEN INDEXER_WATCH__FILE_TIMEOUT_S=2 WHEN a worker runs a file that takes longer
    THEN Celery's hard time limit stops it and the daemon quarantines it with the limit as reason."""
    queued.env.update({"INDEXER_WATCH__FILE_TIMEOUT_S": "2", "INDEXER_QUEUE__VISIBILITY_TIMEOUT_S": "30"})
    long_file = write_scanned_pdf(tmp_path / "long.pdf", synthetic_pages(6, seed=500), seed=5)
    workers.append(Worker(queued.env, tmp_path / "worker.log"))
    queued.start()
    _copy(long_file, queued.inbox / "long.pdf")

    wait_for(lambda: queued.states().get("long.pdf") is FileState.QUARANTINED, what="the quarantine")

    reason = (queued.inbox / ".quarantine" / "long.pdf.reason.txt").read_text()
    assert "longer than 2 s" in reason
    assert "INDEXER_WATCH__FILE_TIMEOUT_S" in reason
    assert workers[0].process.poll() is None
    assert queued.stop() == 0


@pytest.mark.slow
def test_elasticsearch_down_during_a_batch_is_retried_not_quarantined(
    tmp_path: Path, second_node: Settings, redis_url: str
) -> None:
    """GIVEN a daemon and a worker indexing into a node WHEN the node stops while files arrive
    THEN the worker's outcomes are transient, the daemon retries with backoff, and every file is
    indexed once the node is back; nothing is quarantined."""
    from indexer.node import EmbeddedNode

    node = EmbeddedNode(second_node)
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    inbox.mkdir()
    state.mkdir()
    daemon = Daemon(inbox, state, "queue-down", second_node.es.effective_url)
    daemon.env = _queue_env(daemon, redis_url)
    worker = Worker(daemon.env, tmp_path / "worker.log")
    client = Elasticsearch(second_node.es.effective_url)
    sources = _pdfs(tmp_path / "pdfs", 3)
    daemon.start()
    try:
        _copy(sources[0], inbox / "before.pdf")
        wait_for(lambda: _pages_of(client, "queue-down") == {"before.pdf": 1}, what="the first file")

        node.stop()
        for index in (1, 2):
            _copy(sources[index], inbox / f"during-{index}.pdf")
        wait_for(lambda: FileState.FAILED in daemon.states().values(), what="a retry to be scheduled")
        node.ensure_running()

        expected = {"before.pdf": 1, "during-1.pdf": 1, "during-2.pdf": 1}
        wait_for(
            lambda: _pages_of(client, "queue-down") == expected, what="every file after the node returned"
        )
        assert FileState.QUARANTINED not in daemon.states().values()
        assert "unreachable" in daemon.log.read_text()
        assert daemon.stop() == 0
    finally:
        if daemon.is_alive:
            daemon.stop()
        worker.stop()
        client.close()


def test_a_file_that_keeps_losing_its_worker_is_given_up(redis_url: str, es_settings: Settings) -> None:
    """GIVEN a task already delivered max_attempts times (each worker died holding it)
    WHEN it is delivered once more THEN the outcome is an error naming the attempts, not a run."""
    settings = es_settings.model_copy(
        update={"queue": es_settings.queue.model_copy(update={"url": redis_url, "max_attempts": 2})}
    )
    client = redis.Redis.from_url(redis_url)
    client.set(deliveries_key("task-1"), 2)

    outcome = index_file(settings, "task-1", "/nowhere/lease.pdf", FileIdentity("0" * 64, 1, 1))

    assert outcome.kind == "error"
    assert "given up after 2 attempts" in outcome.message
    assert int(client.get(deliveries_key("task-1")) or 0) == 3
    client.close()


def test_visibility_timeout_must_exceed_the_file_timeout() -> None:
    with pytest.raises(ConfigError, match="VISIBILITY_TIMEOUT_S must exceed"):
        load_settings(overrides={"watch": {"file_timeout_s": 60}, "queue": {"visibility_timeout_s": 30}})
    assert load_settings(overrides={"watch": {"file_timeout_s": 60}}).visibility_timeout_s == 120


def test_an_unreachable_queue_is_a_config_error(es_settings: Settings) -> None:
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        settings = es_settings.model_copy(
            update={
                "queue": es_settings.queue.model_copy(update={"url": f"redis://:secret@127.0.0.1:{port}/0"})
            }
        )
        with pytest.raises(ConfigError, match="cannot reach the queue") as caught:
            QueueDispatcher(settings)
    assert "secret" not in caught.value.message
    assert "INDEXER_QUEUE__URL" in caught.value.message


def test_worker_without_a_queue_url_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INDEXER_QUEUE__URL", raising=False)
    result = CliRunner().invoke(app, ["worker"])
    assert result.exit_code != 0
    assert "INDEXER_QUEUE__URL" in result.output
