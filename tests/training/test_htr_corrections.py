"""`train-htr --corrections`: the review app's corrections store read as labelled lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from indexer.cli import app
from indexer.errors import InputError
from indexer.model_dirs.htr import CONFIG_FILE
from indexer.training.data.splits import is_validation_document
from indexer.training.htr.corrections import read_corrections, write_transcriptions
from indexer.training.htr.transcriptions import load_transcriptions

#: A document id on the training side of the split by document.
TRAIN_DOCUMENT = "a" * 64
_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _store(root: Path, records: list[dict[str, object]]) -> Path:
    """A corrections store as the app writes it: per document, a PNG crop and a JSON record per span."""
    font = ImageFont.truetype(_FONT, 28)
    for index, extra in enumerate(records):
        record: dict[str, object] = {
            "document_id": TRAIN_DOCUMENT,
            "page": 1,
            "span_id": f"p1-h{index}",
            "kind": "annotation",
            "is_text_corrected": True,
            "who": "reviewer",
            "when": "2026-01-01T00:00:00+00:00",
            "image": f"p0001-p1-h{index}.png",
            **extra,
        }
        folder = root / str(record["document_id"])
        folder.mkdir(parents=True, exist_ok=True)
        crop = Image.new("RGB", (300, 50), "white")
        ImageDraw.Draw(crop).text((8, 8), str(record["text"]), fill="black", font=font)
        crop.save(folder / str(record["image"]))
        (folder / f"p0001-p1-h{index}.json").write_text(json.dumps(record))
    return root


def test_only_annotations_whose_text_a_person_wrote_are_labels(tmp_path: Path) -> None:
    store = _store(
        tmp_path / "corrections",
        [
            {"text": "paid in full"},
            {"text": "", "kind": "signature"},
            {"text": "read by the machine", "is_text_corrected": False},
            {"text": "   Karen   Smith "},
        ],
    )

    lines = read_corrections(store)

    assert [line.text for line in lines] == ["paid in full", "Karen Smith"]
    assert {line.who for line in lines} == {"reviewer"}


def test_a_missing_crop_is_an_input_error_naming_the_record(tmp_path: Path) -> None:
    store = _store(tmp_path / "corrections", [{"text": "paid"}])
    next(store.glob("*/*.png")).unlink()

    with pytest.raises(InputError, match=r"p0001-p1-h0\.json.*crop"):
        read_corrections(store)


def test_corrections_join_given_transcriptions_in_one_labelled_set(tmp_path: Path) -> None:
    pages = tmp_path / "dev" / "images"
    pages.mkdir(parents=True)
    Image.new("RGB", (400, 300), "white").save(pages / "lease-1.jpg")
    given = tmp_path / "dev" / "transcriptions.json"
    given.write_text(
        json.dumps([{"image": "lease-1.jpg", "index": 0, "box": [10, 10, 200, 60], "text": "Date"}])
    )
    lines = read_corrections(_store(tmp_path / "corrections", [{"text": "paid in full"}]))

    written = write_transcriptions(lines, tmp_path / "out", transcriptions=given)

    crops = load_transcriptions(written)
    assert [(crop.image, crop.text) for crop in crops] == [
        ("lease-1.jpg", "Date"),
        (f"{TRAIN_DOCUMENT}-1.png", "paid in full"),
    ]
    # Named `<document>-<n>`: the split by document keeps a document's corrections together.
    assert crops[1].document == TRAIN_DOCUMENT and not crops[1].is_validation
    assert all((tmp_path / "out" / "images" / crop.image).is_file() for crop in crops)


@pytest.mark.slow
def test_train_htr_trains_on_the_corrections(tmp_path: Path) -> None:
    """A real (one-epoch) training run of `indexer train-htr --corrections DIR` (about 20 s)."""
    assert not is_validation_document(TRAIN_DOCUMENT)
    store = _store(
        tmp_path / "corrections", [{"text": text} for text in ("paid in full", "Karen Smith", "10-28-2009")]
    )

    result = CliRunner().invoke(
        app,
        [
            "train-htr",
            "--corrections",
            str(store),
            "--output",
            str(tmp_path / "model"),
            "--epochs",
            "1",
            "--real-copies",
            "2",
            "--batch-size",
            "4",
        ],
    )

    assert result.exit_code == 0, result.output
    # Each crop and its two augmented copies.
    assert "trained on 9 samples" in result.output
    assert (tmp_path / "model" / CONFIG_FILE).is_file()
