"""`indexer ocr-handwriting`, `train-htr` and `evaluate-ocr` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from indexer.cli import app
from indexer.errors import ExitCode
from tests.backends.test_ctc import tiny_htr_model
from tests.training.test_htr_data import write_iam

runner = CliRunner()
#: A training and a validation document of contracts-dev's split.
_TRAIN_DOCUMENT = "07653e58-24d1-4b3f-9b4a-76057efe5c09"
_VALIDATION_DOCUMENT = "24c13d64-e808-451a-bedd-3a0a170ef002"


def _write_crop(path: Path, text: str) -> Path:
    crop = np.full((48, 200, 3), 250, np.uint8)
    cv2.putText(crop, text, (6, 34), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
    cv2.imwrite(str(path), crop)
    return path


def _env(model_dir: Path) -> dict[str, str]:
    return {"INDEXER_HANDWRITING__ENGINE": "htr", "INDEXER_HANDWRITING__HTR_MODEL_DIR": str(model_dir)}


def test_ocr_handwriting_prints_one_json_object_per_image(tmp_path: Path) -> None:
    model = tiny_htr_model(tmp_path / "model")
    images = [_write_crop(tmp_path / "a.png", "2/23/12"), _write_crop(tmp_path / "b.png", "MEMBER")]
    result = runner.invoke(app, ["ocr-handwriting", "--json", *map(str, images)], env=_env(model))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(p) for p in images]
    assert all(set(r) == {"image", "text", "confidence", "engine"} and r["engine"] == "htr" for r in records)


def test_ocr_handwriting_reports_an_unreadable_image(tmp_path: Path) -> None:
    model = tiny_htr_model(tmp_path / "model")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    result = runner.invoke(app, ["ocr-handwriting", str(bad)], env=_env(model))
    assert result.exit_code == ExitCode.INPUT
    assert "cannot read image" in result.output


def test_unknown_engine_is_a_config_error(tmp_path: Path) -> None:
    image = _write_crop(tmp_path / "a.png", "x")
    result = runner.invoke(app, ["ocr-handwriting", "--engine", "nope", str(image)])
    assert result.exit_code == ExitCode.CONFIG
    assert "unknown handwriting engine" in result.output


def test_train_htr_needs_a_data_source() -> None:
    result = runner.invoke(app, ["train-htr"])
    assert result.exit_code == ExitCode.CONFIG
    assert "--synthetic" in result.output


def test_train_htr_validate_counts_an_iam_folder(tmp_path: Path) -> None:
    iam = write_iam(tmp_path / "iam", [f"w{i}" for i in range(20)])
    result = runner.invoke(
        app, ["train-htr", "--iam", str(iam), "--validate", "--output", str(tmp_path / "m")]
    )
    assert result.exit_code == 0, result.output
    assert "iam\t20" in result.stdout


def test_evaluate_ocr_prints_each_engine_beside_tesseract(tmp_path: Path) -> None:
    model = tiny_htr_model(tmp_path / "model")
    page = np.full((300, 400, 3), 255, np.uint8)
    cv2.putText(page, "MEMBER", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2)
    cv2.imwrite(str(tmp_path / "doc-1.jpg"), page)
    entries = [
        {"image": "doc-1.jpg", "index": 0, "box": [15, 25, 200, 75], "text": "MEMBER", "legible": True}
    ]
    (tmp_path / "t.json").write_text(json.dumps(entries), encoding="utf-8")
    args = ["evaluate-ocr", "--transcriptions", str(tmp_path / "t.json"), "--images", str(tmp_path)]
    result = runner.invoke(app, [*args, "--engines", "htr", "--split", "all"], env=_env(model))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["engine", "crops", "CER", "word", "acc", "exact", "dates", "ms/crop"]
    assert [line.split()[0] for line in lines[1:]] == ["htr", "tesseract"]
    assert lines[2].split()[1] == "1"


def test_htr_lexicon_rebuilds_a_models_lexicon_from_training_words_only(tmp_path: Path) -> None:
    model = tiny_htr_model(tmp_path / "model")
    transcriptions = tmp_path / "transcriptions.json"
    # The split is by document (`indexer.training.data.splits`); only training words enter the lexicon.
    entries = [
        {"image": f"{document}-1.jpg", "index": 0, "box": [0, 0, 10, 10], "text": text, "legible": True}
        for document, text in ((_TRAIN_DOCUMENT, "Zorblatt Qwertine"), (_VALIDATION_DOCUMENT, "Plimsoll"))
    ]
    transcriptions.write_text(json.dumps(entries), encoding="utf-8")
    result = runner.invoke(
        app, ["htr-lexicon", "--model-dir", str(model), "--transcriptions", str(transcriptions)]
    )
    assert result.exit_code == 0, result.output
    from indexer.backends.htr.spelling import Lexicon

    lexicon = Lexicon.load(model / "lexicon.txt")
    assert {"zorblatt", "qwertine", "member", "honolulu"} <= set(lexicon.contract)
    assert "plimsoll" not in lexicon.contract
    assert len(lexicon.english) > 10_000 and lexicon.english["however"] > 5
