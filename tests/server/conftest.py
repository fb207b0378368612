"""A real uvicorn server on a free loopback port, over a real node and real artifacts.

One two-page document is ingested per module with the oracle detector and recognizer (the
tests are about the app, not the models), then served; the tests talk HTTP to it.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from elasticsearch import Elasticsearch

from indexer.api import Ingestor, build_pipeline
from indexer.config import Settings
from indexer.document import Document, Span
from indexer.server import create_app
from tests.factories import Oracle, OracleDetector, OracleRecognizer, synthetic_pages, write_scanned_pdf

START_TIMEOUT_S = 30.0
#: The ingest's steps: the oracle reads the true texts of the detector's kinds, so the step that
#: changes kinds by the printed labels (find_labels) is left to the app, which runs it on correction.
INGEST_PROCESSORS = [
    "detect_handwriting",
    "mask_with_anchors",
    "ocr_printed",
    "ocr_handwriting",
    "merge_text",
    "extract_entities",
]
#: The seed of the served document's pages (a test ingests them again with the same oracle).
INGEST_SEED = 321


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerThread:
    """uvicorn serving an app in a thread of the test process, on 127.0.0.1."""

    def __init__(self, settings: Settings, inbox: Path, client: Elasticsearch) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, inbox=inbox, client=client),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@dataclass
class Served:
    url: str
    settings: Settings
    document: Document
    inbox: Path
    es: Elasticsearch

    def annotation(self, page: int = 1, index: int = 0) -> Span:
        spans = [span for span in self.document.pages[page - 1].spans if not span.is_signature and span.text]
        return spans[index]

    def http(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def served_settings(es_settings: Settings, root: Path, alias: str, **api: object) -> Settings:
    return es_settings.model_copy(
        update={
            "state_dir": root / "state",
            # The node by its URL: the embedded node's files live under the session's state dir.
            "es": es_settings.es.model_copy(update={"alias": alias, "url": es_settings.es.effective_url}),
            "artifacts": es_settings.artifacts.model_copy(update={"dir": root / "state" / "artifacts"}),
            "api": es_settings.api.model_copy(update=api),
        }
    )


def ingest_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"pipeline": settings.pipeline.model_copy(update={"processors": INGEST_PROCESSORS})}
    )


@pytest.fixture(scope="module")
def module_alias(es_client: Elasticsearch) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    es_client.indices.delete(index=f"{name}-*", ignore_unavailable=True, allow_no_indices=True)
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{name}-pages")


@pytest.fixture(scope="module")
def ingested(
    es_settings: Settings,
    es_client: Elasticsearch,
    module_alias: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Settings, Document, Path]:
    root = tmp_path_factory.mktemp("served")
    settings = served_settings(es_settings, root, module_alias)
    pages = synthetic_pages(2, seed=INGEST_SEED)
    inbox = root / "inbox"
    inbox.mkdir()
    pdf = write_scanned_pdf(root / "lease.pdf", pages, seed=322)
    oracle = Oracle(pages)
    pipeline = build_pipeline(
        ingest_settings(settings), detector=OracleDetector(oracle), recognizer=OracleRecognizer(oracle)
    )
    with Ingestor(settings, pipeline=pipeline, client=es_client) as ingestor:
        document = ingestor.ingest(pdf)
    es_client.indices.refresh(index=module_alias)
    return settings, document, inbox


@pytest.fixture(scope="module")
def served(ingested: tuple[Settings, Document, Path], es_client: Elasticsearch) -> Iterator[Served]:
    settings, document, inbox = ingested
    with ServerThread(settings, inbox, es_client) as server:
        yield Served(server.url, settings, document, inbox, es_client)
