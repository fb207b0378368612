"""`indexer serve --watch` as a real process: upload over HTTP, the daemon indexes, search finds it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from indexer.config import Settings
from tests.factories import synthetic_pages, write_encrypted_pdf, write_scanned_pdf
from tests.server.conftest import free_port

log = logging.getLogger(__name__)

WAIT_S = 240.0
NO_MODEL_PIPELINE = '["mask_with_anchors", "ocr_printed", "merge_text"]'


def wait_for(condition: Callable[[], bool], *, what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


@pytest.fixture
def serving(tmp_path: Path, settings_for: Settings, es_client: Elasticsearch) -> Iterator[tuple[str, Path]]:
    """`indexer serve --watch` on a free port, its own state dir and alias, without the models."""
    inbox, state = tmp_path / "inbox", tmp_path / "state"
    port = free_port()
    env = {
        **os.environ,
        "INDEXER_ES_URL": settings_for.es.effective_url,
        "INDEXER_STATE_DIR": str(state),
        "INDEXER_ES__ALIAS": settings_for.es.alias,
        "INDEXER_PIPELINE__PROCESSORS": NO_MODEL_PIPELINE,
        "INDEXER_WATCH__WORKERS": "1",
        "INDEXER_WATCH__SETTLE_S": "0.5",
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("ab") as stream:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "indexer.cli",
                "-v",
                "serve",
                "--watch",
                "--inbox",
                str(inbox),
                "--port",
                str(port),
            ],
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        try:
            return httpx.get(f"{url}/api/documents", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(answers, what="the server to answer")
        yield url, log_path
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=120)
        assert process.returncode == 0, log_path.read_text()[-2000:]


@pytest.mark.slow
def test_an_upload_is_indexed_by_the_daemon_and_found(serving: tuple[str, Path], tmp_path: Path) -> None:
    """GIVEN `indexer serve --watch` WHEN a PDF is uploaded THEN its status goes to indexed, with its
    page count, the inbox listing shows it, and the search finds it; the time is logged."""
    url, log_path = serving
    data = write_scanned_pdf(tmp_path / "lease.pdf", synthetic_pages(1, seed=77), seed=78).read_bytes()
    with httpx.Client(base_url=url, timeout=60) as http:
        started = time.monotonic()
        answer = http.post("/api/documents", files={"file": ("zebra contract.pdf", data, "application/pdf")})
        assert answer.status_code == 202, answer.text
        document_id = answer.json()["id"]

        def indexed() -> bool:
            status = http.get(f"/api/documents/{document_id}").json()
            assert status["status"] not in ("failed", "quarantined"), status
            return bool(status["status"] == "indexed")

        wait_for(indexed, what="the upload to be indexed")
        hits: list[dict[str, object]] = []

        def found() -> bool:
            # Searchable once Elasticsearch refreshes (every second by default), not at once.
            hits[:] = http.get("/api/search", params={"q": "zebra"}).json()["hits"]
            return bool(hits)

        wait_for(found, what="the search to find it", timeout_s=30)
        seconds = time.monotonic() - started
        listing = http.get("/api/documents").json()["documents"]
        status = http.get(f"/api/documents/{document_id}").json()

    log.info("upload to searchable: %.1f s for one page (no models)", seconds)
    print(f"upload to searchable: {seconds:.1f} s for one page (no models)")
    assert [(hit["document_id"], hit["page"]) for hit in hits] == [(document_id, 1)]
    assert status == {**status, "filename": "zebra contract.pdf", "pages": 1, "reason": None}
    assert [item["id"] for item in listing] == [document_id]
    assert "review page: http://127.0.0.1:" in log_path.read_text()


@pytest.mark.slow
def test_a_bad_upload_is_quarantined_with_its_reason(serving: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = serving
    good = write_scanned_pdf(tmp_path / "good.pdf", synthetic_pages(1, seed=79), seed=79)
    locked = write_encrypted_pdf(tmp_path / "locked.pdf", good).read_bytes()
    with httpx.Client(base_url=url, timeout=60) as http:
        document_id = http.post("/api/documents", files={"file": ("locked.pdf", locked)}).json()["id"]
        wait_for(
            lambda: http.get(f"/api/documents/{document_id}").json()["status"] == "quarantined",
            what="the encrypted upload to be quarantined",
        )
        status = http.get(f"/api/documents/{document_id}").json()
        listing = http.get("/api/documents").json()["documents"]

    assert "encrypted" in status["reason"] and status["pages"] is None
    assert [(item["filename"], item["status"]) for item in listing] == [("locked.pdf", "quarantined")]
