"""`evaluate-fields`: which detector reads which document, and one real run on the real node."""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from indexer.config import Settings
from indexer.model_dirs.split import write_split
from indexer.training.fields.evaluate import _assign, _warn_of_leftovers, default_folds, evaluate_fields
from tests.conftest import CONTRACTS_DEV

#: A contracts-dev page with a printed `Date:` and a handwritten date beside it.
DATED_PAGE = "07653e58-24d1-4b3f-9b4a-76057efe5c09-1"


def _model(folder: Path, train: list[str], held_out: list[str]) -> Path:
    folder.mkdir(parents=True)
    write_split(folder, "test", train_documents=train, held_out_documents=held_out)
    return folder


def test_documents_no_fold_held_out_go_to_the_configured_detector_unless_it_trained_on_them(
    tmp_path: Path,
) -> None:
    shipped = _model(tmp_path / "shipped", ["a", "b", "c"], [])
    fold_1 = _model(tmp_path / "fold-1", ["b", "c"], ["a"])
    fold_2 = _model(tmp_path / "fold-2", ["a", "c"], ["b"])

    assigned, skipped = _assign(["a", "b", "c", "new"], [fold_1, fold_2], shipped)

    assert assigned == {fold_1: ["a"], fold_2: ["b"], None: ["new"]}
    assert skipped == ["c"]  # the shipped model trained on it and no fold held it out


def test_without_folds_the_configured_detector_reads_everything(tmp_path: Path) -> None:
    shipped = _model(tmp_path / "shipped", ["a"], [])

    assert _assign(["a", "new"], [], shipped) == ({None: ["a", "new"]}, [])


def _labelled_copy(folder: Path, stem: str, new_stem: str) -> None:
    """One contracts-dev page, image, VOC and readings, under another document name."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "annotations").mkdir(exist_ok=True)
    shutil.copy(CONTRACTS_DEV / "images" / f"{stem}.jpg", folder / "images" / f"{new_stem}.jpg")
    xml = (CONTRACTS_DEV / "annotations" / f"{stem}.xml").read_text(encoding="utf-8")
    (folder / "annotations" / f"{new_stem}.xml").write_text(xml.replace(stem, new_stem), encoding="utf-8")
    readings_path = folder / "transcriptions.json"
    readings = json.loads(readings_path.read_text(encoding="utf-8")) if readings_path.is_file() else []
    every = json.loads((CONTRACTS_DEV / "transcriptions.json").read_text(encoding="utf-8"))
    readings += [{**item, "image": f"{new_stem}.jpg"} for item in every if item["image"] == f"{stem}.jpg"]
    readings_path.write_text(json.dumps(readings), encoding="utf-8")


@pytest.mark.slow
def test_a_page_no_model_saw_is_scored_with_the_shipped_detector(
    es_settings: Settings, es_client: Elasticsearch, tmp_path: Path
) -> None:
    """The held-out check runs evaluate-fields on pages outside contracts-dev: they must be read
    (by the shipped detector), not left out because no fold held them out."""
    data = tmp_path / "labelled"
    _labelled_copy(data, DATED_PAGE, DATED_PAGE)  # a fold held this document out
    _labelled_copy(data, DATED_PAGE, "unseen-lease-1")  # no model's split names this one
    # Another evaluation on the same node (a developer's own run) may hold scratch indices of its own.
    before = set(es_client.indices.get(index="evaluate-fields-*", allow_no_indices=True))
    run = evaluate_fields(es_settings, data, folds=default_folds(es_settings))

    assert run.skipped_documents == []
    assert run.configured_documents == ["unseen-lease"]
    assert run.report.pages == 2
    assert run.report.boxes == 2  # the page's one person-read box, twice
    assert run.report.dates == (2, 2)  # `2/23/12` beside `Date:` is 2012-02-23 in the index, both times
    assert set(es_client.indices.get(index="evaluate-fields-*", allow_no_indices=True)) - before == set()


def test_leftover_scratch_indices_are_named_not_deleted(
    es_client: Elasticsearch, caplog: pytest.LogCaptureFixture
) -> None:
    leftover = f"evaluate-fields-{uuid.uuid4().hex[:8]}-pages-v2"
    es_client.indices.create(index=leftover)
    try:
        with caplog.at_level(logging.WARNING):
            _warn_of_leftovers(es_client, "http://127.0.0.1:9200")
        assert (
            leftover in caplog.text
            and "curl -X DELETE 'http://127.0.0.1:9200/evaluate-fields-*'" in caplog.text
        )
        assert es_client.indices.exists(index=leftover)
    finally:
        es_client.indices.delete(index=leftover)


@pytest.mark.slow
def test_a_killed_evaluation_deletes_its_scratch_indices(es_client: Elasticsearch, tmp_path: Path) -> None:
    """SIGTERM mid-run unwinds like Ctrl-C: the scratch alias's indices are gone afterwards."""
    data = tmp_path / "labelled"
    for number in range(1, 4):
        _labelled_copy(data, DATED_PAGE, f"unseen-lease-{number}")
    before = set(es_client.indices.get(index="evaluate-fields-*", allow_no_indices=True))
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "indexer"), "evaluate-fields", "--data", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 300
        while not set(es_client.indices.get(index="evaluate-fields-*", allow_no_indices=True)) - before:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "no scratch index appeared in 300 s"
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=120)
        assert returncode == 128 + signal.SIGTERM, process.stderr.read() if process.stderr else ""
    finally:
        process.kill()
        process.wait()
    assert set(es_client.indices.get(index="evaluate-fields-*", allow_no_indices=True)) - before == set()


def test_a_kill_that_native_code_turns_into_its_own_error_still_exits_as_a_kill(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """GIVEN a SIGTERM whose SystemExit the code it lands in turns into another error (TensorFlow's
    inference raises `SystemError: bad argument to internal function`) WHEN evaluate-fields runs
    THEN it exits 143, not as a failed run."""
    from typer.testing import CliRunner

    from indexer.cli import app
    from indexer.training.fields import evaluate

    def killed_in_native_code(*args: object, **kwargs: object) -> None:
        try:
            signal.raise_signal(signal.SIGTERM)
        except SystemExit:
            raise SystemError("Objects/listobject.c:338: bad argument to internal function") from None

    monkeypatch.setattr(evaluate, "evaluate_fields", killed_in_native_code)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        result = CliRunner().invoke(app, ["evaluate-fields", "--data", str(tmp_path)])
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert result.exit_code == 128 + signal.SIGTERM, result.output


def test_the_report_says_which_detector_read_how_many_documents() -> None:
    from indexer.cli.fields import _detector_words

    assert _detector_words(0, 3) == "configured detector"
    assert _detector_words(29, 0) == "cross-validation folds"
    assert _detector_words(29, 2).startswith(
        "cross-validation folds for 29 documents; the configured detector for 2"
    )


def test_a_box_two_spans_cover_is_found_read_in_order_and_its_row_names_the_span_boxes() -> None:
    from indexer.document import Box, HandwritingKind
    from indexer.training.data.voc import LabelledPage
    from indexer.training.fields.score import IndexedSpan, score_page
    from indexer.training.fields.truth import TruthBox, TruthPage

    address = TruthBox(HandwritingKind.ANNOTATION, Box(100, 100, 700, 160), "841 Bishop St. Honolulu")
    signature = TruthBox(HandwritingKind.SIGNATURE, Box(100, 300, 500, 400))
    truth = TruthPage(LabelledPage(Path("lease-1.jpg"), 1700, 2200), [address, signature])
    spans = [
        IndexedSpan("annotation", Box(400, 102, 700, 158), "Honolulu", ()),
        IndexedSpan("annotation", Box(100, 100, 390, 160), "841 Bishop St.", ()),
        IndexedSpan("annotation", Box(120, 310, 480, 390), "Tw", (), detected_kind="annotation"),
    ]

    score = score_page(truth, spans)

    assert score.read == [(True, "841 Bishop St. Honolulu", "841 Bishop St. Honolulu", None)]
    assert score.kinds == [("annotation", "annotation"), ("signature", "annotation")]
    assert score.details[0]["span_boxes"] == [(100, 100, 390, 160), (400, 102, 700, 158)]
    assert score.details[1]["reading"] == "Tw"
