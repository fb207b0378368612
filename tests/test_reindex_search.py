"""`indexer reindex` and `indexer search` on the real node, from artifacts written by the tests."""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from indexer.artifacts import ArtifactWriter
from indexer.cli import app
from indexer.config import Settings
from indexer.document import Box, Document, HandwritingKind, Page, Placement, Span, Word
from indexer.search import alias_indices, ensure_alias, index_documents, load_mapping
from indexer.search.carry import reshape
from indexer.search.reindex import Reindexer

DOCUMENTS = 30


def _document(number: int) -> Document:
    digest = hashlib.sha256(f"lease {number}".encode()).hexdigest()
    document = Document(
        id=digest,
        path=f"/inbox/lease-{number}.pdf",
        filename=f"lease-{number}.pdf",
        size_bytes=10,
        page_count=2,
    )
    for page_number in (1, 2):
        date = f"20{10 + number % 5}-0{1 + page_number}-15"
        amount = 1000.0 * (number + 1)
        spans = [
            Span(
                id=f"p{page_number}-h0",
                kind=HandwritingKind.ANNOTATION,
                box=Box(300, 200, 600, 260),
                detection_score=0.9,
                anchor="83728",
                text=f"{date} ${amount:,.2f}",
                confidence=0.8,
                engine="htr",
                placement=Placement.EXACT,
                entities={"dates": [date], "amounts": [amount]},
            ),
            Span(
                id=f"p{page_number}-h1",
                kind=HandwritingKind.SIGNATURE,
                box=Box(100, 900, 600, 1000),
                detection_score=0.9,
                anchor="84448",
            ),
        ]
        # The page OCR as stored in the artifacts: `reindex` merges again from these words.
        words = [
            Word("premises", Box(100, 210, 200, 240), 0.95, block=1, line=1),
            Word("rent", Box(210, 210, 260, 240), 0.95, block=1, line=1),
            Word("83728", Box(400, 215, 490, 245), 0.95, block=1, line=1),
            Word("number", Box(620, 210, 700, 240), 0.95, block=1, line=1),
            Word(str(number), Box(710, 210, 740, 240), 0.95, block=1, line=1),
            Word("84448", Box(300, 950, 390, 980), 0.95, block=2, line=1),
        ]
        document.pages.append(
            Page(
                number=page_number,
                dpi=200,
                width=1700,
                height=2200,
                spans=spans,
                words=words,
                printed_text=f"premises rent number {number}",
                content=f"premises rent {date} ${amount:,.2f} number {number}\n\n[signature]",
            )
        )
    return document


@pytest.fixture
def indexed(es_client: Elasticsearch, settings_for: Settings) -> list[Document]:
    """DOCUMENTS two-page documents, in the index and in the artifacts folder."""
    documents = [_document(number) for number in range(DOCUMENTS)]
    writer = ArtifactWriter(settings_for.artifacts_dir, max_side_px=500)
    for document in documents:
        writer.start(document)
        for page in document.pages:
            writer(document, page)
    ensure_alias(es_client, settings_for.es.alias, load_mapping())
    index_documents(es_client, documents, settings_for.es)
    es_client.indices.refresh(index=settings_for.es.alias)
    return documents


def test_reindex_moves_every_page_and_searches_never_fail(
    es_client: Elasticsearch, settings_for: Settings, indexed: list[Document]
) -> None:
    alias = settings_for.es.alias
    (old_index,) = alias_indices(es_client, alias)
    failures: list[BaseException] = []
    searches = 0
    done = threading.Event()

    def search_loop() -> None:
        nonlocal searches
        while not done.is_set():
            try:
                count = es_client.count(index=alias, query={"match": {"content": "premises"}})["count"]
                if count != 2 * DOCUMENTS:
                    raise AssertionError(f"search saw {count} pages")
                searches += 1
            except BaseException as exc:
                failures.append(exc)

    thread = threading.Thread(target=search_loop)
    thread.start()
    try:
        result = Reindexer(settings_for).run()
    finally:
        done.set()
        thread.join()

    assert failures == []
    assert searches > 0
    assert alias_indices(es_client, alias) == [result.new_index]
    assert result.new_index != old_index and result.new_index.startswith(
        f"{alias}-v{load_mapping().version}-"
    )
    assert not es_client.indices.exists(index=old_index)
    assert es_client.count(index=alias)["count"] == 2 * DOCUMENTS
    assert result.documents == DOCUMENTS and result.pages == 2 * DOCUMENTS


def test_failure_half_way_leaves_the_alias_on_the_old_index(
    es_client: Elasticsearch,
    settings_for: Settings,
    indexed: list[Document],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alias = settings_for.es.alias
    before = alias_indices(es_client, alias)
    rebuild = Reindexer._from_artifacts

    def fail_half_way(self: Reindexer) -> Iterator[Document]:
        for number, document in enumerate(rebuild(self)):
            if number == DOCUMENTS // 2:
                raise RuntimeError("disk went away")
            yield document

    monkeypatch.setattr(Reindexer, "_from_artifacts", fail_half_way)

    with pytest.raises(RuntimeError, match="disk went away"):
        Reindexer(settings_for).run()

    assert alias_indices(es_client, alias) == before
    leftovers = [name for name in es_client.indices.get(index=f"{alias}-v*") if name not in before]
    assert leftovers == []
    assert es_client.count(index=alias)["count"] == 2 * DOCUMENTS


def _pages_per_document(es_client: Elasticsearch, alias: str) -> dict[str, int]:
    es_client.indices.refresh(index=alias)
    response = es_client.search(
        index=alias, size=0, aggs={"ids": {"terms": {"field": "document.id", "size": 1000}}}
    )
    return {bucket["key"]: bucket["doc_count"] for bucket in response["aggregations"]["ids"]["buckets"]}


def test_reindex_carries_over_pages_whose_artifacts_are_gone(
    es_client: Elasticsearch,
    settings_for: Settings,
    indexed: list[Document],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """GIVEN an index of 60 pages whose artifacts are gone for 16 documents and unreadable for one
    WHEN `indexer reindex` runs
    THEN every page is still searchable, with its text, and the summary counts the carried pages."""
    for document in indexed[:16]:
        shutil.rmtree(settings_for.artifacts_dir / document.id)
    (settings_for.artifacts_dir / indexed[20].id / "page-0002.json").write_text("{ not json")
    before = _pages_per_document(es_client, settings_for.es.alias)

    output = _run(settings_for, monkeypatch, "reindex")

    assert _pages_per_document(es_client, settings_for.es.alias) == before
    assert f"{2 * DOCUMENTS} pages from {DOCUMENTS} documents" in output
    assert "34 pages of 17 documents carried over from the old index" in output
    assert indexed[20].id[:12] in output
    found = es_client.count(index=settings_for.es.alias, query={"match": {"content": "premises"}})
    assert found["count"] == 2 * DOCUMENTS


def test_reindex_drops_unrebuildable_pages_only_when_asked(
    es_client: Elasticsearch,
    settings_for: Settings,
    indexed: list[Document],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for document in indexed[:3]:
        shutil.rmtree(settings_for.artifacts_dir / document.id)

    output = _run(settings_for, monkeypatch, "reindex", "--drop-missing")

    assert "dropped on request (--drop-missing): 6 pages of 3 documents" in output
    remaining = _pages_per_document(es_client, settings_for.es.alias)
    assert set(remaining) == {document.id for document in indexed[3:]}


def test_reshape_keeps_only_what_the_new_mapping_declares() -> None:
    properties = {
        "page": {"type": "integer"},
        "handwriting": {"type": "nested", "properties": {"text": {"type": "text"}}},
        "document": {"properties": {"id": {"type": "keyword"}}},
    }
    source = {
        "page": 3,
        "retired": "gone in v2",
        "handwriting": [{"text": "July 15, 2011", "old_score": 0.4}],
        "document": {"id": "abc", "legacy": 1},
    }

    assert reshape(source, properties) == {
        "page": 3,
        "handwriting": [{"text": "July 15, 2011"}],
        "document": {"id": "abc"},
    }


def _run(settings_for: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("INDEXER_ES__ALIAS", settings_for.es.alias)
    monkeypatch.setenv("INDEXER_ARTIFACTS__DIR", str(settings_for.artifacts_dir))
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_search_by_handwritten_date_range_and_amount(
    settings_for: Settings, indexed: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN leases whose handwritten dates fall in 2010..2014
    WHEN searching for handwritten dates in 2011 with an amount of at least 20,000
    THEN exactly the matching pages come back, as JSON with their handwriting."""
    output = _run(
        settings_for,
        monkeypatch,
        "search",
        "--entity",
        "date:2011-01-01..2011-12-31",
        "--entity",
        "amount:20000..",
        "--json",
        "--size",
        "100",
    )

    hits = [json.loads(line) for line in output.splitlines()]
    expected = {
        (f"lease-{number}.pdf", page)
        for number in range(DOCUMENTS)
        for page in (1, 2)
        if number % 5 == 1 and number >= 19
    }
    assert {(hit["file"], hit["page"]) for hit in hits} == expected
    assert all(hit["handwriting"][0]["entities"]["dates"][0].startswith("2011") for hit in hits)


def test_search_text_marks_matches_and_handwriting(
    settings_for: Settings, indexed: list[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    output = _run(settings_for, monkeypatch, "search", "number 7", "--json")

    first = json.loads(output.splitlines()[0])
    assert first["file"] == "lease-7.pdf"
    assert "<em>7</em>" in " ".join(first["highlight"]["content"])

    text_output = _run(settings_for, monkeypatch, "search", "number 7", "--kind", "signature")
    assert "lease-7.pdf" in text_output
    assert "page(s) match" in text_output


def test_cli_reindex_reports_the_swap(
    settings_for: Settings, indexed: list[Document], monkeypatch: pytest.MonkeyPatch, es_client: Elasticsearch
) -> None:
    output = _run(settings_for, monkeypatch, "reindex", "--keep-old")

    assert f"{2 * DOCUMENTS} pages from {DOCUMENTS} documents" in output
    assert "(kept)" in output
    assert es_client.count(index=settings_for.es.alias)["count"] == 2 * DOCUMENTS
