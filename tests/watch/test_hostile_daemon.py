"""The watch daemon on the folder of broken and hostile inputs (tests/hostile.py): every good file
is indexed, every bad file ends in quarantine with a reason (links and other non-files may be
refused with a reason where they lie), and the daemon lives on.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from indexer.config import Settings
from tests.hostile import HostileCase, backdate, write_hostile_inputs
from tests.hostile.checks import daemon_problems, index_problems, indexed_pages, is_settled
from tests.watch.test_daemon import WAIT_S, Daemon, wait_for

#: The files were dropped long ago: a damaged file is then bad for good, not still being written.
_AGE_S = 3600.0
#: About twenty pages of page OCR on two workers, on a machine others share.
_SETTLE_TIMEOUT_S = 2 * WAIT_S
#: Wide enough that no log line wraps (the daemon logs through rich, which wraps at the width).
_LOG_COLUMNS = "1000"


@pytest.fixture
def hostile_daemon(tmp_path: Path, settings_for: Settings, es_client: Elasticsearch) -> Iterator[Daemon]:
    inbox, state_dir = tmp_path / "inbox", tmp_path / "state"
    state_dir.mkdir()
    running = Daemon(inbox, state_dir, settings_for.es.alias, settings_for.es.effective_url)
    running.env["COLUMNS"] = _LOG_COLUMNS
    yield running
    if running.is_alive:
        running.stop()


def _is_done(daemon: Daemon, cases: list[HostileCase], es_client: Elasticsearch) -> bool:
    if not daemon.is_alive:
        return True
    pages = indexed_pages(es_client, daemon.env["INDEXER_ES__ALIAS"])
    log_text = daemon.log.read_text(errors="replace")
    return all(is_settled(case, daemon.inbox / ".quarantine", log_text, pages) for case in cases)


def _problems(daemon: Daemon, cases: list[HostileCase], es_client: Elasticsearch) -> list[str]:
    pages = indexed_pages(es_client, daemon.env["INDEXER_ES__ALIAS"])
    log_text = daemon.log.read_text(errors="replace")
    quarantine = daemon.inbox / ".quarantine"
    problems = [
        problem
        for case in cases
        for problem in [*daemon_problems(case, quarantine, log_text), *index_problems(case, pages)]
    ]
    return problems if daemon.is_alive else [*problems, "the daemon died"]


@pytest.mark.slow
def test_daemon_indexes_the_good_and_quarantines_the_bad_with_reasons(
    hostile_daemon: Daemon, tmp_path: Path, es_client: Elasticsearch
) -> None:
    """GIVEN a watched folder of unusual good files and broken or hostile ones, dropped long ago
    WHEN the daemon starts and catches up
    THEN each good file is indexed, each bad one is quarantined with a reason (links, the FIFO
    and the folder named x.pdf may instead be refused with a reason), and the daemon lives on."""
    cases = write_hostile_inputs(hostile_daemon.inbox, tmp_path / "outside")
    backdate(cases, age_s=_AGE_S)

    hostile_daemon.start()

    # On a timeout the list below says which cases did not settle, and how.
    with contextlib.suppress(AssertionError):
        wait_for(
            lambda: _is_done(hostile_daemon, cases, es_client),
            timeout_s=_SETTLE_TIMEOUT_S,
            what="every hostile case to settle",
        )
    problems = _problems(hostile_daemon, cases, es_client)
    log_tail = "\n".join(hostile_daemon.log.read_text(errors="replace").splitlines()[-40:])
    assert not problems, "\n".join(problems) + f"\n\nend of the daemon's log:\n{log_tail}"
    assert hostile_daemon.stop() == 0
