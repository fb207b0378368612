"""Page documents through the alias, on the real node."""

from __future__ import annotations

import pytest
from elasticsearch import Elasticsearch

from indexer.config import Settings
from indexer.document import Box, Document, HandwritingKind, Page, Placement, Span
from indexer.errors import IndexingError
from indexer.search import alias_indices, delete_document_pages, ensure_alias, index_documents, load_mapping

DOC_ID = "a" * 64


def _document(*, pages: int = 1, amount: str = "$40,900.00") -> Document:
    document = Document(
        id=DOC_ID, path="/inbox/lease.pdf", filename="lease.pdf", size_bytes=1234, page_count=pages
    )
    for number in range(1, pages + 1):
        spans = [
            Span(
                id=f"p{number}-h0",
                kind=HandwritingKind.ANNOTATION,
                box=Box(100, 200, 400, 260),
                detection_score=0.97,
                anchor="83728",
                text=amount,
                confidence=0.8,
                engine="htr",
                placement=Placement.EXACT,
            ),
            Span(
                id=f"p{number}-h1",
                kind=HandwritingKind.SIGNATURE,
                box=Box(100, 900, 600, 1000),
                detection_score=0.99,
                text="",
                engine="htr",
                placement=Placement.GEOMETRY,
            ),
        ]
        document.pages.append(
            Page(
                number=number,
                dpi=200,
                width=1700,
                height=2200,
                spans=spans,
                printed_text="The annual rent shall be payable monthly.",
                content=f"The annual rent shall be {amount} payable monthly. [signature]",
            )
        )
    return document


def _prepare(es_client: Elasticsearch, settings: Settings) -> None:
    ensure_alias(es_client, settings.es.alias, load_mapping())


def test_page_is_found_by_handwriting_word_with_highlight(
    es_client: Elasticsearch, settings_for: Settings
) -> None:
    alias = settings_for.es.alias
    _prepare(es_client, settings_for)

    index_documents(es_client, [_document(amount="forty thousand")], settings_for.es)
    es_client.indices.refresh(index=alias)

    response = es_client.search(
        index=alias,
        query={"match": {"handwriting_text": "thousand"}},
        highlight={"fields": {"handwriting_text": {}}},
    )
    hits = response["hits"]["hits"]
    assert [hit["_id"] for hit in hits] == [f"{DOC_ID}-p1"]
    assert hits[0]["highlight"]["handwriting_text"] == ["forty <em>thousand</em>"]


def test_nested_query_on_kind_matches_within_one_span(
    es_client: Elasticsearch, settings_for: Settings
) -> None:
    """GIVEN a page with an annotation reading 'forty' and a signature with no text
    WHEN we ask for a signature span whose text says 'forty'
    THEN nothing matches, because nested keeps each span's fields together."""
    alias = settings_for.es.alias
    _prepare(es_client, settings_for)
    index_documents(es_client, [_document(amount="forty")], settings_for.es)
    es_client.indices.refresh(index=alias)

    def nested(kind: str, text: str | None) -> int:
        must: list[dict[str, object]] = [{"term": {"handwriting.kind": kind}}]
        if text:
            must.append({"match": {"handwriting.text": text}})
        body = {"nested": {"path": "handwriting", "query": {"bool": {"must": must}}}}
        return int(es_client.count(index=alias, query=body)["count"])

    assert nested("signature", None) == 1
    assert nested("annotation", "forty") == 1
    assert nested("signature", "forty") == 0


def test_reingest_is_an_upsert_and_pages_are_removed(
    es_client: Elasticsearch, settings_for: Settings
) -> None:
    alias = settings_for.es.alias
    _prepare(es_client, settings_for)
    index_documents(es_client, [_document(pages=3)], settings_for.es)
    index_documents(es_client, [_document(pages=3)], settings_for.es)
    es_client.indices.refresh(index=alias)
    assert es_client.count(index=alias)["count"] == 3

    deleted = delete_document_pages(es_client, settings_for.es, DOC_ID, keep_pages=1)

    assert deleted == 2
    assert es_client.count(index=alias)["count"] == 1


def test_writes_go_through_alias_to_a_versioned_index(
    es_client: Elasticsearch, settings_for: Settings
) -> None:
    alias = settings_for.es.alias
    _prepare(es_client, settings_for)

    (index,) = alias_indices(es_client, alias)

    assert index == f"{alias}-v{load_mapping().version}-initial"
    assert ensure_alias(es_client, alias, load_mapping()) == index


def test_rejected_item_raises_with_each_reason(es_client: Elasticsearch, settings_for: Settings) -> None:
    """The mapping is strict: an unknown field is a per-item failure that must not be dropped."""
    alias = settings_for.es.alias
    _prepare(es_client, settings_for)
    actions = [{"_index": alias, "_id": "bad", "_source": {"page": 1, "surprise": "field"}}]

    from indexer.search import write_actions

    with pytest.raises(IndexingError) as caught:
        write_actions(es_client, actions, settings_for.es)

    assert "strict_dynamic_mapping_exception" in caught.value.message
    assert caught.value.errors[0]["_id"] == "bad"
