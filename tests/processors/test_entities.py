"""Entity extraction: the table of handwritten strings, the processor, and the real index."""

from __future__ import annotations

import json
import re

import pytest
from elasticsearch import Elasticsearch

from indexer.config import EntitySettings, Settings
from indexer.document import Box, Document, HandwritingKind, Page, Placement, Span, Word
from indexer.processors.entities import ENTITY_KEYS, EntityExtractor, ExtractEntities
from indexer.search import ensure_alias, index_documents, load_mapping
from indexer.training.entities import DEFAULT_CASES, EntityCase, comparable, evaluate, load_cases, total
from tests.conftest import CONTRACTS_DEV

CASES = load_cases(DEFAULT_CASES)
_M_D_Y = re.compile(r"^\d{1,2}[/-]\d{1,2}[/-](\d{2}|\d{4})$")


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    return EntityExtractor(EntitySettings())


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{case.text[:30]}" for i, case in enumerate(CASES)])
def test_table_case(extractor: EntityExtractor, case: EntityCase) -> None:
    found = extractor.entities(case.text)

    for key in ENTITY_KEYS.values():
        got = sorted(comparable(key, value) for value in found[key])
        want = sorted(comparable(key, value) for value in case.expected.get(key, []))
        assert got == want, (key, case.note)


def test_table_precision_and_recall(extractor: EntityExtractor) -> None:
    scores = evaluate(CASES, extractor)
    overall = total(scores)

    assert overall.precision >= 0.95 and overall.recall >= 0.95
    assert scores["dates"].precision == 1.0, scores["dates"].misses


def test_output_has_the_mapping_keys_and_types(extractor: EntityExtractor) -> None:
    entities = extractor.entities("Diane Artz, President 2/23/12 $40,900.00 Honolulu, HI 96813")

    assert set(entities) == {*ENTITY_KEYS.values(), "raw"}
    assert entities["dates"] == ["2012-02-23"]
    assert entities["amounts"] == [40900.0] and isinstance(entities["amounts"][0], float)
    assert entities["zip_codes"] == ["96813"]
    assert {"type": "date", "text": "2/23/12", "value": "2012-02-23"} in entities["raw"]
    assert all(isinstance(entry["value"], str) for entry in entities["raw"])


def test_raw_keeps_the_text_as_written(extractor: EntityExtractor) -> None:
    entities = extractor.entities("8/27/O9")

    assert entities["dates"] == ["2009-08-27"]
    assert entities["raw"] == [{"type": "date", "text": "8/27/O9", "value": "2009-08-27"}]


@pytest.mark.parametrize(
    ("pivot", "text", "expected"),
    [(70, "12/13/10", "2010-12-13"), (70, "6/30/31", "2031-06-30"), (70, "1/2/85", "1985-01-02"),
     (20, "6/30/31", "1931-06-30")],
)  # fmt: skip
def test_two_digit_years_follow_the_pivot(pivot: int, text: str, expected: str) -> None:
    extractor = EntityExtractor(EntitySettings(two_digit_year_pivot=pivot))

    assert extractor.entities(text)["dates"] == [expected]


@pytest.mark.parametrize("text", ["6/30/55", "1/2/69", "12/13/10", "1/2/85"])
def test_the_reader_grammar_and_the_entity_finder_give_a_two_digit_year_one_century(text: str) -> None:
    """evaluate-fields scores the index's dates (entity finder) against the grammar's reading of
    the truth: both must put `6/30/55` in the same century."""
    from indexer.backends.htr.grammar import parse_date

    found = parse_date(text)
    assert found is not None
    assert EntityExtractor(EntitySettings()).entities(text)["dates"] == [found.isoformat()]


def test_day_month_order_is_a_setting() -> None:
    extractor = EntityExtractor(EntitySettings(date_order="DMY"))

    assert extractor.entities("2/3/2012")["dates"] == ["2012-03-02"]


def _page(spans: list[Span], words: list[Word] | None = None) -> Page:
    return Page(number=1, dpi=200, width=1700, height=2200, spans=spans, words=words or [])


def _span(span_id: str, text: str, *, kind: HandwritingKind = HandwritingKind.ANNOTATION) -> Span:
    return Span(
        id=span_id,
        kind=kind,
        box=Box(900, 1400, 1200, 1500),
        detection_score=0.9,
        text=text,
        confidence=0.8,
        placement=Placement.EXACT,
    )


def test_processor_fills_annotations_and_reads_the_signer_from_print() -> None:
    """GIVEN an annotation date and a signature with a printed name and title under it
    WHEN the processor runs
    THEN the date is on the annotation and the signer's name and title on the signature."""
    signature = _span("h1", "", kind=HandwritingKind.SIGNATURE)
    words = [
        Word("Diane", Box(920, 1510, 1000, 1540), 0.95, block=3, line=1),
        Word("Artz,", Box(1010, 1510, 1080, 1540), 0.95, block=3, line=1),
        Word("Lease", Box(920, 1550, 1000, 1580), 0.95, block=3, line=2),
        Word("Contracting", Box(1010, 1550, 1150, 1580), 0.95, block=3, line=2),
        Word("Officer", Box(1160, 1550, 1250, 1580), 0.95, block=3, line=2),
        Word("Elsewhere", Box(100, 100, 200, 130), 0.95, block=1, line=1),
    ]
    page = _page([_span("h0", "2/23/12"), signature], words)

    ExtractEntities(EntitySettings())(page)

    assert page.spans[0].entities["dates"] == ["2012-02-23"]
    assert page.spans[1].entities["names"] == ["Diane Artz"]
    assert page.spans[1].entities["titles"] == ["Lease Contracting Officer"]
    assert page.spans[1].entities["dates"] == []


def test_signer_lookup_can_be_turned_off() -> None:
    page = _page(
        [_span("h1", "", kind=HandwritingKind.SIGNATURE)],
        [Word("Diane Artz", Box(920, 1510, 1080, 1540), 0.95)],
    )

    ExtractEntities(EntitySettings(signer_names_from_print=False))(page)

    assert page.spans[0].entities["names"] == []


def _indexed(es_client: Elasticsearch, settings: Settings, texts: list[str]) -> str:
    """Index one page whose annotation spans hold `texts`, entities extracted; returns the alias."""
    alias = settings.es.alias
    ensure_alias(es_client, alias, load_mapping())
    page = ExtractEntities(settings.entities)(_page([_span(f"h{i}", text) for i, text in enumerate(texts)]))
    document = Document(
        id="e" * 64, path="/inbox/lease.pdf", filename="lease.pdf", size_bytes=1, page_count=1, pages=[page]
    )
    index_documents(es_client, [document], settings.es)
    es_client.indices.refresh(index=alias)
    return alias


def _hits(es_client: Elasticsearch, alias: str, query: dict[str, object]) -> int:
    return int(es_client.count(index=alias, query=query)["count"])


def test_entities_index_and_are_found_by_range_and_nested_queries(
    es_client: Elasticsearch, settings_for: Settings
) -> None:
    texts = ["12/13/10", "40,900 00", "Diane Artz, President", "841 Bishop St., #1700, Honolulu, HI 96813"]
    alias = _indexed(es_client, settings_for, texts)

    in_2010 = {"range": {"handwriting.entities.dates": {"gte": "2010-01-01", "lte": "2010-12-31"}}}
    in_2011 = {"range": {"handwriting.entities.dates": {"gte": "2011-01-01", "lte": "2011-12-31"}}}
    assert _hits(es_client, alias, {"nested": {"path": "handwriting", "query": in_2010}}) == 1
    assert _hits(es_client, alias, {"nested": {"path": "handwriting", "query": in_2011}}) == 0
    name_and_title = {"bool": {"filter": [
        {"term": {"handwriting.entities.names.keyword": "Diane Artz"}},
        {"term": {"handwriting.entities.titles": "President"}},
    ]}}  # fmt: skip
    assert _hits(es_client, alias, {"nested": {"path": "handwriting", "query": name_and_title}}) == 1
    assert _hits(es_client, alias, {"range": {"entities.amounts": {"gte": 40000, "lte": 41000}}}) == 1
    assert _hits(es_client, alias, {"term": {"entities.zip_codes": "96813"}}) == 1
    assert (
        _hits(es_client, alias, {"range": {"entities.dates": {"gte": "2010-12-13", "lte": "2010-12-13"}}})
        == 1
    )


@pytest.mark.slow
def test_every_handwritten_m_d_y_date_of_contracts_dev_is_found_by_range_query(
    es_client: Elasticsearch, settings_for: Settings
) -> None:
    """GIVEN every m/d/y date a person read in the contracts-dev handwriting (as if OCR read it right)
    WHEN the spans go through the processor and into the index
    THEN a range query on that day finds each one."""
    transcriptions = json.loads((CONTRACTS_DEV / "transcriptions.json").read_text())
    dates = sorted({row["text"] for row in transcriptions if _M_D_Y.match(row["text"])})
    assert len(dates) >= 15
    alias = _indexed(es_client, settings_for, dates)

    extractor = EntityExtractor(settings_for.entities)
    for text in dates:
        (day,) = extractor.entities(text)["dates"]
        query = {"range": {"handwriting.entities.dates": {"gte": day, "lte": day}}}
        found = es_client.search(
            index=alias,
            query={"nested": {"path": "handwriting", "query": query, "inner_hits": {"size": 50}}},
        )
        inner = found["hits"]["hits"][0]["inner_hits"]["handwriting"]["hits"]["hits"]
        assert text in [hit["_source"]["text"] for hit in inner], text
