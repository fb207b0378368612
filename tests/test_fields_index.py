"""Form fields end to end on the real node: a printed `Date:` beside handwriting the detector calls a
signature becomes a date field with its ISO value; reindex recomputes fields without any model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from elasticsearch import Elasticsearch
from PIL import Image, ImageDraw, ImageFont

from indexer.api import Ingestor, build_pipeline
from indexer.backends.base import Detection
from indexer.backends.htr.grammar import FieldType as GrammarType
from indexer.config import Settings
from indexer.document import Box, HandwritingKind
from indexer.search import ensure_alias, load_mapping
from indexer.search.mappings import alias_indices, mapping_version_of
from indexer.search.query import PageQuery, parse_field_filter
from indexer.search.reindex import Reindexer
from indexer.training.data.synthetic import handwriting_fonts
from tests.factories import FixedDetector, HintRecordingRecognizer, MappedFixedDetector, write_image_pdf

PRINT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BODY = [
    "This Lease Agreement is made between the Landlord and the Tenant named below.",
    "The Tenant shall pay the rent on the first day of each month without demand.",
]
WRITTEN = "July 15, 2011"


def _form_page(label: str = "Date:", written: str = WRITTEN, *, at: int = 300) -> tuple[np.ndarray, Box]:
    """A page with body text, a printed label and handwriting right of it (`at` px from the left);
    the handwriting's box, with a margin."""
    image = Image.new("RGB", (1700, 2200), "white")
    draw = ImageDraw.Draw(image)
    printed = ImageFont.truetype(PRINT_FONT, 34)
    for row, line in enumerate(BODY):
        draw.text((150, 300 + 60 * row), line, font=printed, fill=(0, 0, 0))
    draw.text((150, 1000), label, font=printed, fill=(0, 0, 0), anchor="ls")
    hand = ImageFont.truetype(str(handwriting_fonts()[0]), 64)
    draw.text((at, 1000), written, font=hand, fill=(20, 30, 90), anchor="ls")
    x0, y0, x1, y1 = draw.textbbox((at, 1000), written, font=hand, anchor="ls")
    return np.asarray(image), Box(int(x0) - 8, int(y0) - 8, int(x1) + 8, int(y1) + 8)


def _ingest(settings: Settings, pdf: Path, box: Box, reader: HintRecordingRecognizer) -> str:
    # The reader is not under test here (it reads the written date); the path from label to index is.
    detector = FixedDetector([Detection(HandwritingKind.SIGNATURE, box, 0.9)])
    with Ingestor(
        settings, pipeline=build_pipeline(settings, detector=detector, recognizer=reader)
    ) as ingestor:
        document = ingestor.ingest(pdf)
    return document.page_id(document.pages[0])


@pytest.mark.slow
def test_a_dated_signature_box_is_indexed_as_a_date_field(
    es_client: Elasticsearch, settings_for: Settings, tmp_path: Path
) -> None:
    """GIVEN a printed `Date:` with handwriting beside it that the detector calls a signature
    WHEN the page is ingested (real Tesseract, real node)
    THEN the span is an annotation read as a date, and `fields` holds the date with its ISO value."""
    image, box = _form_page()
    pdf = write_image_pdf(tmp_path / "lease.pdf", [image])
    reader = HintRecordingRecognizer(WRITTEN)

    page_id = _ingest(settings_for, pdf, box, reader)
    es_client.indices.refresh(index=settings_for.es.alias)

    source = es_client.get(index=settings_for.es.alias, id=page_id)["_source"]
    span = source["handwriting"][0]
    assert (span["kind"], span["detected_kind"], span["kind_source"]) == ("annotation", "signature", "label")
    assert "Date" in span["label"]["text"] and span["field_type"] == "date"
    assert reader.hints == [GrammarType.DATE]
    dates = [item for item in source["fields"] if item["type"] == "date"]
    assert [item["value_date"] for item in dates] == ["2011-07-15"]
    assert source["field_values"]["date"] == ["2011-07-15"]

    def hits(field: str) -> list[str]:
        body = PageQuery(fields=[parse_field_filter(field)]).body()
        return [hit["_id"] for hit in es_client.search(index=settings_for.es.alias, **body)["hits"]["hits"]]

    assert hits("date:2011-01-01..2011-12-31") == [page_id]
    assert hits("date:2012-01-01..") == []
    assert hits("signature:*") == []


@pytest.mark.slow
def test_pages_indexed_before_fields_get_them_on_reindex_without_models(
    es_client: Elasticsearch, settings_for: Settings, tmp_path: Path
) -> None:
    """GIVEN an alias on mapping v1 and a page processed without the label and field steps
    WHEN the page is indexed (the index is upgraded in place) and then `reindex` runs from artifacts
    THEN the new index has the date field, recomputed from the stored words and boxes."""
    ensure_alias(es_client, settings_for.es.alias, load_mapping(1))
    old_steps = [
        name for name in settings_for.pipeline.processors if name not in {"find_labels", "extract_fields"}
    ]
    before = settings_for.model_copy(
        update={"pipeline": settings_for.pipeline.model_copy(update={"processors": old_steps})}
    )
    image, box = _form_page()
    page_id = _ingest(
        before, write_image_pdf(tmp_path / "lease.pdf", [image]), box, HintRecordingRecognizer(WRITTEN)
    )
    old_index = alias_indices(es_client, settings_for.es.alias)[0]
    assert mapping_version_of(es_client, old_index) == load_mapping().version
    es_client.indices.refresh(index=settings_for.es.alias)
    assert es_client.get(index=settings_for.es.alias, id=page_id)["_source"]["fields"] == []

    Reindexer(settings_for).run()

    source = es_client.get(index=settings_for.es.alias, id=page_id)["_source"]
    # The signature box was never read (no label step then), so its field has no value, but the
    # label now makes it an annotation typed as a date, from the stored words alone.
    assert source["handwriting"][0]["kind"] == "annotation"
    assert [item["type"] for item in source["fields"]] == ["date"]


@pytest.mark.slow
def test_a_box_over_a_printed_label_is_trimmed_and_the_label_stays_in_the_text(
    es_client: Elasticsearch, settings_for: Settings, tmp_path: Path
) -> None:
    """GIVEN a detector box that takes in the printed `Date:` beside the handwriting
    WHEN the page is ingested (real Tesseract reads the box's edges)
    THEN the box is cut back past the label, the label is in the page text, and it is still the
    field's label."""
    image, hand = _form_page()
    loose = Box(140, hand.y0, hand.x1, hand.y1)  # from left of `Date:` to the handwriting's end
    page_id = _ingest(
        settings_for,
        write_image_pdf(tmp_path / "lease.pdf", [image]),
        loose,
        HintRecordingRecognizer(WRITTEN),
    )
    es_client.indices.refresh(index=settings_for.es.alias)

    source = es_client.get(index=settings_for.es.alias, id=page_id)["_source"]
    span = source["handwriting"][0]
    assert span["bbox"]["x0"] > 200, "the box still covers the label"
    printed = source["content"][: span["start"]] + source["content"][span["end"] :]
    assert "Date:" in printed
    assert span["label"]["text"] == "Date:" and span["field_type"] == "date"


@pytest.mark.slow
def test_a_box_cut_short_takes_in_the_rest_of_its_handwritten_line(
    es_client: Elasticsearch, settings_for: Settings, tmp_path: Path
) -> None:
    """GIVEN an annotation box over the first part of a handwritten line only, and a detector map
    that calls the whole line handwriting
    WHEN the page is ingested (real Tesseract reads the rest of the line as words)
    THEN the indexed box reaches the line's end and those words are the span's, not print."""
    image, line = _form_page("Address:", "20101 Hamilton Avenue", at=360)
    first = Box(line.x0, line.y0, line.x0 + line.width // 3, line.y1)  # about `20101 Ha`
    detector = MappedFixedDetector([Detection(HandwritingKind.ANNOTATION, first, 0.9)], [line])
    reader = HintRecordingRecognizer("20101 Hamilton Avenue")
    with Ingestor(
        settings_for, pipeline=build_pipeline(settings_for, detector=detector, recognizer=reader)
    ) as ingestor:
        document = ingestor.ingest(write_image_pdf(tmp_path / "lease.pdf", [image]))
    es_client.indices.refresh(index=settings_for.es.alias)

    source = es_client.get(index=settings_for.es.alias, id=document.page_id(document.pages[0]))["_source"]
    span = source["handwriting"][0]
    assert span["bbox"]["x1"] >= line.x1 - 40, "the box still stops where the detector's did"
    assert span["bbox"]["x0"] > 300, "the box took in the printed label"
    printed_text = source["content"][: span["start"]] + source["content"][span["end"] :]
    assert "Address:" in printed_text
    assert "Avenue" not in printed_text and source["content"].count("Avenue") == 1
