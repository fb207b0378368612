"""Real scanned lease pages from ../shared/data/contracts-dev through the default pipeline."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from elasticsearch import Elasticsearch
from PIL import Image
from typer.testing import CliRunner

from indexer.api import Ingestor
from indexer.backends.tesseract import parse_tsv, run_tesseract_program
from indexer.cli import app
from indexer.config import Settings
from indexer.document import Box, Document
from indexer.processors.anchor import TOKEN_PATTERN
from indexer.training.data.splits import document_of, split_by_document
from tests.conftest import CONTRACTS_DEV
from tests.factories import write_image_pdf

LONG_WORD = re.compile(r"^[A-Za-z]{8,}$")
WORDS_PER_PAGE = 5
IOU_SAME_BOX = 0.3


def _pages_of(document: str) -> list[Path]:
    images = sorted((CONTRACTS_DEV / "images").glob(f"{document}-*.jpg"))
    return sorted(images, key=lambda path: int(path.stem.rsplit("-", 1)[1]))


@pytest.mark.slow
def test_three_real_contracts_are_found_by_their_printed_words(
    es_client: Elasticsearch, settings_for: Settings, tmp_path: Path
) -> None:
    """GIVEN 3 PDFs made from validation documents' pages (held out from the recognizer; the
    shipped detector trained on every document) WHEN ingested with the shipped models
    THEN every page is indexed with its handwriting spans and no token, and is found by long
    words that plain Tesseract reads on the original image."""
    _, validation = split_by_document(path.name for path in (CONTRACTS_DEV / "images").glob("*.jpg"))
    documents = sorted({document_of(name) for name in validation})[:3]
    pdfs = []
    for document in documents:
        images = _pages_of(document)
        arrays = [np.asarray(Image.open(path).convert("RGB")) for path in images]
        pdfs.append((write_image_pdf(tmp_path / f"{document}.pdf", arrays), images))

    with Ingestor(settings_for) as ingestor:
        ingested = [(ingestor.ingest(pdf), images) for pdf, images in pdfs]
    es_client.indices.refresh(index=settings_for.es.alias)

    found, asked = 0, 0
    for document, images in ingested:
        assert document.page_count == len(images)
        for page, image in zip(document.pages, images, strict=True):
            source = es_client.get(index=settings_for.es.alias, id=document.page_id(page))["_source"]
            for span in source["handwriting"]:
                assert set(span["bbox"]) == {"x0", "y0", "x1", "y1"}
            tokens = {span["anchor"] for span in source["handwriting"]}
            outside = source["content"]
            for span in sorted(source["handwriting"], key=lambda span: span["start"], reverse=True):
                outside = outside[: span["start"]] + outside[span["end"] :]
            assert not tokens & set(TOKEN_PATTERN.findall(outside))
            tsv = run_tesseract_program(image, settings_for.tesseract, dpi=200)
            words = [w.text for w in parse_tsv(tsv) if LONG_WORD.match(w.text) and w.confidence > 0.9]
            for word in words[:WORDS_PER_PAGE]:
                asked += 1
                hits = es_client.search(
                    index=settings_for.es.alias, query={"match": {"content": word}}, size=50, _source=False
                )["hits"]["hits"]
                found += document.page_id(page) in {hit["_id"] for hit in hits}
    assert asked >= 10
    assert found / asked >= 0.9, f"{found} of {asked} words find their page"
    _check_handwritten_dates(es_client, settings_for, [document for document, _ in ingested])


def _cli_search(settings_for: Settings, entity: str) -> set[str]:
    env = {"INDEXER_ES__ALIAS": settings_for.es.alias}
    result = CliRunner().invoke(
        app, ["search", "--entity", entity, "--json", "--size", "50"], env={**os.environ, **env}
    )
    assert result.exit_code == 0, result.output
    return {json.loads(line)["id"] for line in result.output.splitlines() if line.startswith("{")}


MDY = re.compile(r"^\d{1,2}[/-]\d{1,2}[/-]\d{2,4}$")


def _check_handwritten_dates(
    es_client: Elasticsearch, settings_for: Settings, documents: list[Document]
) -> None:
    """Every handwritten m/d/y date the OCR read right is found by a date range query."""
    truth = json.loads((CONTRACTS_DEV / "transcriptions.json").read_text())
    read_right = 0
    for document in documents:
        stem = Path(document.filename).stem
        for page in document.pages:
            expected = [
                item
                for item in truth
                if item["image"] == f"{stem}-{page.number}.jpg" and MDY.match(item["text"])
            ]
            for item in expected:
                box = Box(*item["box"])
                spans = [span for span in page.spans if span.box.iou(box) > IOU_SAME_BOX]
                if not any(span.text.replace(" ", "") == item["text"] for span in spans):
                    continue
                read_right += 1
                (date,) = {value for span in spans for value in span.entities.get("dates", [])}
                query = {
                    "nested": {
                        "path": "handwriting",
                        "query": {"range": {"handwriting.entities.dates": {"gte": date, "lte": date}}},
                    }
                }
                hits = es_client.search(index=settings_for.es.alias, query=query, _source=False)["hits"][
                    "hits"
                ]
                assert document.page_id(page) in {hit["_id"] for hit in hits}, (item["text"], date)
                found = _cli_search(settings_for, f"date:{date}..{date}")
                assert document.page_id(page) in found, (item["text"], date)
    print(f"handwritten m/d/y dates read right and found by range: {read_right}")
