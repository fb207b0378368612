"""The JSON API over HTTP against a real uvicorn server, a real node and real artifacts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path

import httpx
import pypdfium2
import pytest
from PIL import Image
from pydantic import SecretStr
from typer.testing import CliRunner

from indexer.api import Ingestor, build_pipeline
from indexer.artifacts import ArtifactWriter, load_document
from indexer.cli import app
from indexer.config import Settings
from indexer.errors import ConfigError
from indexer.hashing import FileIdentity
from indexer.search.reindex import Reindexer
from indexer.server import check_bind, create_app
from indexer.server.pdf import SEARCHABLE_PDF_NAME, searchable_pdf
from indexer.training.htr.corrections import read_corrections
from indexer.watch.journal import Journal
from tests.factories import Oracle, OracleDetector, OracleRecognizer, synthetic_pages, write_scanned_pdf
from tests.server.conftest import INGEST_SEED, Served, ServerThread, ingest_settings, served_settings


def _pdf_text(data: bytes) -> list[str]:
    document = pypdfium2.PdfDocument(data)
    return [page.get_textpage().get_text_range() for page in document]


def test_search_answers_like_the_cli_with_highlights_and_spans(served: Served) -> None:
    span = served.annotation(page=2)
    with served.http() as http:
        response = http.get("/api/search", params={"q": span.text, "handwriting_only": "true"})
        filtered = http.get("/api/search", params={"q": "*", "kind": "signature", "size": 1, "from": 1})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= 1
    hit = next(hit for hit in body["hits"] if hit["page"] == 2)
    assert hit["document_id"] == served.document.id and hit["filename"] == "lease.pdf"
    matched = [item for item in hit["handwriting"] if item["matched"]]
    assert matched and "<em>" in matched[0]["text"]
    assert filtered.json()["from"] == 1 and len(filtered.json()["hits"]) <= 1


def test_page_json_and_image_show_the_spans_at_their_boxes(served: Served) -> None:
    page = served.document.pages[0]
    with served.http() as http:
        body = http.get(f"/api/documents/{served.document.id}/pages/1").json()
        image = http.get(body["image_url"])

    assert (body["width"], body["height"], body["dpi"]) == (page.width, page.height, page.dpi)
    assert [span["id"] for span in body["spans"]] == [span.id for span in page.spans]
    first = body["spans"][0]
    assert set(first["bbox"]) == {"x0", "y0", "x1", "y1"} and {
        "kind",
        "text",
        "confidence",
        "entities",
    } <= set(first)
    assert image.headers["content-type"] == "image/jpeg"
    picture = Image.open(io.BytesIO(image.content))
    assert abs(picture.width / picture.height - page.width / page.height) < 0.01


def test_errors_are_json_with_a_reason(served: Served) -> None:
    document = served.document.id
    with served.http() as http:
        answers = {
            "unknown id": http.get(f"/api/documents/{'0' * 64}"),
            "not an id": http.get("/api/documents/nope/pages/1"),
            "no page": http.get(f"/api/documents/{document}/pages/9"),
            "no span": http.patch(
                f"/api/documents/{document}/pages/1/handwriting/p1-h99", json={"text": "x"}
            ),
            "empty patch": http.patch(f"/api/documents/{document}/pages/1/handwriting/p1-h0", json={}),
            "bad entity": http.get("/api/search", params={"entity": "colour:red"}),
            "bad kind": http.get("/api/search", params={"kind": "doodle"}),
            "no route": http.get("/api/nothing-here"),
        }

    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "unknown id": 404,
        "not an id": 404,
        "no page": 404,
        "no span": 404,
        "empty patch": 400,
        "bad entity": 400,
        "bad kind": 422,
        "no route": 404,
    }
    for answer in answers.values():
        assert answer.headers["content-type"] == "application/json" and answer.json()["reason"]
    assert "no page 9" in answers["no page"].json()["reason"]
    assert "TYPE:VALUE" in answers["bad entity"].json()["reason"]


def test_a_correction_reaches_search_artifacts_and_the_store_and_survives_reindex(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an indexed page WHEN a span's reading is corrected through the API
    THEN search (API and `indexer search`) finds the new words in the page text and the span,
    the artifacts and the corrections store keep it, and `reindex` from artifacts keeps it."""
    span = served.annotation(page=1, index=1)
    path = f"/api/documents/{served.document.id}/pages/1/handwriting/{span.id}"
    with served.http() as http:
        corrected = http.patch(path, json={"text": "  Quintessa   Bellweather ", "who": "reviewer-7"})
        found = http.get("/api/search", params={"q": "Bellweather"}).json()

    assert corrected.status_code == 200, corrected.text
    page = corrected.json()
    after = next(item for item in page["spans"] if item["id"] == span.id)
    assert (after["text"], after["engine"], after["confidence"]) == (
        "Quintessa Bellweather",
        "correction",
        1.0,
    )
    assert "Quintessa Bellweather" in page["content"]
    assert [hit["page"] for hit in found["hits"]] == [1]
    assert "<em>Bellweather</em>" in " ".join(found["hits"][0]["highlight"]["content"])

    folder = served.settings.artifacts_dir / served.document.id
    stored = load_document(folder).pages[0]
    assert next(item for item in stored.spans if item.id == span.id).text == "Quintessa Bellweather"
    assert "Quintessa Bellweather" in json.loads((folder / "page-0001.json").read_text())["content"]
    record_path = served.settings.corrections_dir / served.document.id / f"p0001-{span.id}.json"
    record = json.loads(record_path.read_text())
    assert record["text"] == "Quintessa Bellweather" and record["previous"]["text"] == span.text
    assert record["who"] == "reviewer-7" and record["when"] and record["document_id"] == served.document.id
    crop = Image.open(record_path.with_name(record["image"]))
    assert crop.width >= span.box.width and crop.height >= span.box.height

    Reindexer(served.settings).run()
    monkeypatch.setenv("INDEXER_ES_URL", served.settings.es.effective_url)
    monkeypatch.setenv("INDEXER_ES__ALIAS", served.settings.es.alias)
    result = CliRunner().invoke(app, ["search", "Bellweather", "--json"])
    assert result.exit_code == 0, result.output
    hits = [json.loads(line) for line in result.output.splitlines()]
    assert [(hit["file"], hit["page"]) for hit in hits] == [("lease.pdf", 1)]
    assert (
        any("<em>Bellweather</em>" in item["text"] for item in hits[0]["handwriting"]) or hits[0]["highlight"]
    )


def test_searchable_pdf_holds_print_and_handwriting(served: Served) -> None:
    with served.http() as http:
        response = http.get(f"/api/documents/{served.document.id}/pdf")

    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    texts = _pdf_text(response.content)
    current = load_document(served.settings.artifacts_dir / served.document.id)
    assert len(texts) == 2
    for text, page in zip(texts, current.pages, strict=True):
        readings = [span.text for span in page.spans if span.text and not span.is_signature]
        assert readings and all(reading in text for reading in readings)
        # Print under a handwriting box is the anchor token painted there: the reading replaces it.
        printed = [
            word.text
            for word in page.words
            if word.text.isalpha() and not any(span.box.holds_centre_of(word.box) for span in page.spans)
        ]
        assert printed and all(word in text for word in printed[:20])


def test_searchable_pdf_without_the_source_uses_the_artifact_images(served: Served) -> None:
    folder = served.settings.artifacts_dir / served.document.id
    document = load_document(folder)
    document.path = str(folder / "gone.pdf")

    texts = _pdf_text(searchable_pdf(document, folder))

    assert len(texts) == 2 and served.annotation(page=2).text in texts[1]


def test_upload_queues_once_per_content_and_refuses_bad_files(served: Served) -> None:
    data = write_scanned_pdf(
        served.inbox.parent / "upload.pdf", synthetic_pages(1, seed=9), seed=9
    ).read_bytes()
    with served.http() as http:
        first = http.post("/api/documents", files={"file": ("../My Lease.pdf", data, "application/pdf")})
        second = http.post("/api/documents", files={"file": ("copy.pdf", data, "application/pdf")})
        status = http.get(f"/api/documents/{first.json()['id']}")
        text = http.post("/api/documents", files={"file": ("notes.txt", b"hello", "text/plain")})
        disguised = http.post(
            "/api/documents", files={"file": ("scan.pdf", b"\x89PNG\r\n\x1a\nxx", "image/png")}
        )

    assert first.status_code == 202, first.text
    assert first.json() == {"id": hashlib.sha256(data).hexdigest(), "status": "queued"}
    assert second.status_code == 202 and second.json()["id"] == first.json()["id"]
    assert [path.name for path in served.inbox.iterdir()] == ["My Lease.pdf"]
    assert (served.inbox / "My Lease.pdf").read_bytes() == data
    assert status.json()["status"] == "queued" and status.json()["filename"] == "My Lease.pdf"
    assert text.status_code == 415 and ".txt" in text.json()["reason"]
    assert disguised.status_code == 415 and "does not start like one" in disguised.json()["reason"]


def test_uploads_over_the_size_limit_are_refused(served: Served, tmp_path: Path) -> None:
    """Over the limit by a little: refused while it is streamed; by more than the multipart
    slack (1 MB): refused from its Content-Length before it is read. Nothing stays in the inbox."""
    settings = served_settings(served.settings, tmp_path, served.settings.es.alias)
    settings = settings.model_copy(update={"input": settings.input.model_copy(update={"max_file_mb": 0.001})})
    with (
        ServerThread(settings, tmp_path / "inbox", served.es) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        streamed = http.post("/api/documents", files={"file": ("big.pdf", b"%PDF-" + b"0" * 5000)})
        declared = http.post("/api/documents", files={"file": ("huge.pdf", b"%PDF-" + b"0" * 1_200_000)})

    for answer in (streamed, declared):
        assert answer.status_code == 413 and "INDEXER_INPUT__MAX_FILE_MB" in answer.json()["reason"]
    assert not any((tmp_path / "inbox").iterdir())


def test_an_api_key_guards_every_api_route(served: Served, tmp_path: Path) -> None:
    settings = served_settings(
        served.settings, tmp_path, served.settings.es.alias, key=SecretStr("s3cret-key")
    )
    settings = settings.model_copy(update={"artifacts": served.settings.artifacts})
    with (
        ServerThread(settings, tmp_path / "inbox", served.es) as server,
        httpx.Client(base_url=server.url) as http,
    ):
        page = f"/api/documents/{served.document.id}/pages/1"
        without = http.get(page)
        wrong = http.get(page, headers={"X-API-Key": "guess"})
        right = http.get(page, headers={"X-API-Key": "s3cret-key"})
        upload = http.post("/api/documents", files={"file": ("a.pdf", b"%PDF-1.4")})
        review_page = http.get("/")

    assert (without.status_code, wrong.status_code, right.status_code, upload.status_code) == (
        401,
        401,
        200,
        401,
    )
    assert "X-API-Key" in without.json()["reason"]
    # The page itself holds no data; it asks for the key when the API answers 401.
    assert review_page.status_code == 200


def test_serving_beyond_loopback_needs_a_key(es_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    check_bind("127.0.0.1", es_settings)
    check_bind("localhost", es_settings)
    check_bind("::1", es_settings)
    with pytest.raises(ConfigError, match="INDEXER_API__KEY"):
        check_bind("0.0.0.0", es_settings)
    keyed = es_settings.model_copy(update={"api": es_settings.api.model_copy(update={"key": SecretStr("k")})})
    check_bind("0.0.0.0", keyed)

    monkeypatch.delenv("INDEXER_API__KEY", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "1"])
    assert result.exit_code == ConfigError.exit_code
    assert "refusing to serve on 0.0.0.0" in result.output


def test_train_htr_reads_the_corrections_as_labelled_lines(served: Served, tmp_path: Path) -> None:
    """GIVEN corrections made through the API (an annotation and a signature)
    WHEN `indexer train-htr --corrections DIR --validate` reads the store
    THEN the annotation is a labelled line (training or validation, by its document) and the
    signature, which has no reading, is not."""
    annotation = served.annotation(page=2, index=0)
    signature = next(span for span in served.document.pages[1].spans if span.is_signature)
    base = f"/api/documents/{served.document.id}/pages/2/handwriting"
    with served.http() as http:
        assert http.patch(f"{base}/{annotation.id}", json={"text": "paid in full"}).status_code == 200
        assert http.patch(f"{base}/{signature.id}", json={"kind": "signature"}).status_code == 200

    lines = read_corrections(served.settings.corrections_dir)
    assert ("paid in full", served.document.id) in {(line.text, line.document_id) for line in lines}
    assert all(line.text for line in lines)
    result = CliRunner().invoke(
        app,
        [
            "train-htr",
            "--corrections",
            str(served.settings.corrections_dir),
            "--validate",
            "--output",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    counts = dict(line.split("\t") for line in result.output.splitlines() if "\t" in line)
    # Each training crop comes with its augmented copies (--real-copies, 40 by default).
    trained = int(counts["real_train_samples"]) // 41
    held_out = int(counts["real_validation_crops"]) + int(counts["real_crops_of_several_lines"])
    assert trained + held_out == len(lines) >= 1


def test_the_openapi_page_loads_nothing_from_a_cdn(served: Served) -> None:
    with served.http() as http:
        page = http.get("/docs")
        schema = http.get("/openapi.json").json()
        script = http.get("/static-offline-docs/swagger-ui-bundle.js")

    assert page.status_code == 200 and "/static-offline-docs/swagger-ui-bundle.js" in page.text
    assert "cdn" not in page.text.lower() and script.status_code == 200
    assert {
        "/api/documents",
        "/api/documents/{document_id}",
        "/api/documents/{document_id}/pages/{number}",
        "/api/documents/{document_id}/pages/{number}/image",
        "/api/documents/{document_id}/pages/{number}/handwriting/{span_id}",
        "/api/documents/{document_id}/pdf",
        "/api/search",
    } <= set(schema["paths"])


def test_an_upload_of_bytes_already_dropped_in_the_inbox_is_not_copied(
    served: Served, tmp_path: Path
) -> None:
    settings = served_settings(served.settings, tmp_path, served.settings.es.alias)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    dropped = write_scanned_pdf(inbox / "scanner-0001.pdf", synthetic_pages(1, seed=5), seed=5)
    journal = Journal(settings.journal_path, folder=inbox.resolve())
    journal.enqueue(str(dropped.resolve()), FileIdentity.of(dropped))
    journal.close()
    with ServerThread(settings, inbox, served.es) as server, httpx.Client(base_url=server.url) as http:
        answer = http.post("/api/documents", files={"file": ("lease.pdf", dropped.read_bytes())})

    assert answer.status_code == 202
    assert answer.json() == {"id": hashlib.sha256(dropped.read_bytes()).hexdigest(), "status": "queued"}
    assert [path.name for path in inbox.iterdir()] == ["scanner-0001.pdf"]


def test_the_artifact_writer_leaves_a_searchable_pdf_when_asked(served: Served, tmp_path: Path) -> None:
    """INDEXER_OUTPUT__SEARCHABLE_PDF: the writer makes the PDF once the last page is written."""
    document = load_document(served.settings.artifacts_dir / served.document.id)
    writer = ArtifactWriter(tmp_path, max_side_px=500, searchable_pdf=True)
    writer.start(document)
    for page in document.pages:
        writer(document, page)

    texts = _pdf_text((tmp_path / document.id / SEARCHABLE_PDF_NAME).read_bytes())
    assert len(texts) == 2 and served.annotation(page=2, index=1).text in texts[1]


@pytest.mark.slow
def test_a_correction_outlives_a_re_ingest_of_the_same_file(served: Served, tmp_path: Path) -> None:
    """GIVEN a corrected span WHEN the same file is ingested again (the pipeline reads it afresh)
    THEN the correction is put back before the pages are indexed and written, so search finds it
    at once, and `reindex` from the artifacts keeps it."""
    span = served.annotation(page=2, index=2)
    with served.http() as http:
        path = f"/api/documents/{served.document.id}/pages/2/handwriting/{span.id}"
        assert http.patch(path, json={"text": "Marigold Oyelaran"}).status_code == 200
    oracle = Oracle(synthetic_pages(2, seed=INGEST_SEED))
    pipeline = build_pipeline(
        ingest_settings(served.settings), detector=OracleDetector(oracle), recognizer=OracleRecognizer(oracle)
    )
    with Ingestor(served.settings, pipeline=pipeline, client=served.es) as ingestor:
        again = ingestor.ingest(Path(served.document.path))
    assert next(item for item in again.pages[1].spans if item.id == span.id).text == "Marigold Oyelaran"
    served.es.indices.refresh(index=served.settings.es.alias)
    with served.http() as http:
        hits = http.get("/api/search", params={"q": "Oyelaran"}).json()["hits"]
    assert [(hit["document_id"], hit["page"]) for hit in hits] == [(served.document.id, 2)]

    reloaded = load_document(served.settings.artifacts_dir / served.document.id)
    assert next(item for item in reloaded.pages[1].spans if item.id == span.id).text == "Marigold Oyelaran"
    Reindexer(served.settings).run()
    with served.http() as http:
        hits = http.get("/api/search", params={"q": "Oyelaran"}).json()["hits"]
    assert [(hit["document_id"], hit["page"]) for hit in hits] == [(served.document.id, 2)]


def test_a_kind_correction_turns_an_annotation_into_a_signature(served: Served) -> None:
    """GIVEN an annotation WHEN a person makes it a signature (kind only) THEN it is merged as the
    signature marker, found by kind, keeps the machine's reading (not a training label), and the
    label step run again by reindex does not overrule the person."""
    span = served.annotation(page=2, index=3)
    marker = served.settings.merge.signature_marker
    with served.http() as http:
        before = http.get(f"/api/documents/{served.document.id}/pages/2").json()["content"]
        answer = http.patch(
            f"/api/documents/{served.document.id}/pages/2/handwriting/{span.id}", json={"kind": "signature"}
        )
        Reindexer(served.settings).run()
        signatures = http.get(
            "/api/search", params={"q": span.text, "handwriting_only": "true", "kind": "signature"}
        )

    assert answer.status_code == 200, answer.text
    after = next(item for item in answer.json()["spans"] if item["id"] == span.id)
    assert (after["kind"], after["kind_source"], after["text"]) == ("signature", "person", span.text)
    # The merge writes a signature as its marker, not as words.
    assert answer.json()["content"].count(marker) == before.count(marker) + 1
    assert [hit["page"] for hit in signatures.json()["hits"]] == [2]
    record = json.loads(
        (served.settings.corrections_dir / served.document.id / f"p0002-{span.id}.json").read_text()
    )
    assert (record["is_kind_corrected"], record["is_text_corrected"]) == (True, False)
    assert span.text not in {line.text for line in read_corrections(served.settings.corrections_dir)}


def test_search_by_form_field_returns_the_matching_fields(served: Served) -> None:
    """The `--field` filter of `indexer search`, over pages whose labels and fields the model-free
    steps computed (reindex from artifacts)."""
    Reindexer(served.settings).run()
    with served.http() as http:
        body = http.get("/api/search", params={"field": "date:*"}).json()
        page = http.get(f"/api/documents/{served.document.id}/pages/1").json()
        bad = http.get("/api/search", params={"field": "colour:red"})

    assert body["total"] >= 1
    assert all(field["type"] == "date" for hit in body["hits"] for field in hit["fields"])
    assert any(hit["fields"] for hit in body["hits"])
    assert page["fields"] and {"type", "label", "value_text", "box"} <= set(page["fields"][0])
    assert bad.status_code == 400 and "TYPE:VALUE" in bad.json()["reason"]


def test_the_pdf_text_reads_in_page_order_with_the_handwriting_in_place(served: Served) -> None:
    """Copying from the PDF gives each handwritten reading after the printed word before it."""
    with served.http() as http:
        texts = _pdf_text(http.get(f"/api/documents/{served.document.id}/pdf").content)
        pages = [http.get(f"/api/documents/{served.document.id}/pages/{number}").json() for number in (1, 2)]

    placed, readings = 0, 0
    for page, text in zip(pages, texts, strict=True):
        flat = " ".join(text.split())
        for span in page["spans"]:
            if span["kind"] == "signature" or not span["text"] or span["text"] not in page["content"]:
                continue
            readings += 1
            before = page["content"][: page["content"].index(span["text"])].split()[-1:]
            placed += bool(before) and f"{before[0]} {span['text']}" in flat
    # Lines the OCR read out of order (two-column rows) may differ; most readings sit in place.
    assert readings > 10 and placed >= 0.8 * readings, (placed, readings)


def test_partial_uploads_of_an_interrupted_server_are_removed_at_start(
    served: Served, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    stale, fresh = inbox / ".upload-abc.part", inbox / ".upload-def.part"
    for partial in (stale, fresh):
        partial.write_bytes(b"%PDF-1.4 cut off")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))

    create_app(
        served_settings(served.settings, tmp_path, served.settings.es.alias), inbox=inbox, client=served.es
    )

    # The fresh one may be another server's upload in progress.
    assert sorted(path.name for path in inbox.iterdir()) == [fresh.name]
