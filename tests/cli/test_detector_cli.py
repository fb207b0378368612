from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner, Result

from indexer.cli import app
from indexer.config import DetectorSettings
from indexer.errors import ExitCode
from indexer.model_dirs.split import stems_trained_on
from indexer.training.data.splits import document_of, is_validation_document
from indexer.training.data.synthetic import render_page
from indexer.training.detector.train import load_pages

runner = CliRunner()
#: The shipped detector's folder (the configuration's default).
SHIPPED = DetectorSettings().model_dir


def _page_file(
    folder: Path, name: str, seed: int
) -> tuple[Path, list[tuple[str, tuple[int, int, int, int]]]]:
    page = render_page(np.random.default_rng(seed), width_px=850, height_px=1100, dpi=100)
    path = folder / f"{name}.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(page.image, cv2.COLOR_RGB2BGR))
    return path, [(str(item.kind), item.box.as_tuple()) for item in page.handwriting]


def _voc(name: str, boxes: list[tuple[str, tuple[int, int, int, int]]]) -> str:
    objects = "".join(
        f"<object><name>{'others' if kind == 'annotation' else kind}</name><bndbox><xmin>{x0}</xmin>"
        f"<ymin>{y0}</ymin><xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
        for kind, (x0, y0, x1, y1) in boxes
    )
    size = "<size><width>850</width><height>1100</height></size>"
    return f"<annotation><filename>{name}</filename>{size}{objects}</annotation>"


def _documents(want_validation: bool, count: int) -> list[str]:
    names = (f"doc{index}" for index in range(1000))
    return [name for name in names if is_validation_document(name) == want_validation][:count]


@pytest.fixture
def tiny_labelled_set(tmp_path: Path) -> Path:
    """Two training documents and one validation document of synthetic pages, as VOC files."""
    folder = tmp_path / "data"
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    documents = _documents(False, 2) + _documents(True, 1)
    for seed, document in enumerate(documents):
        name = f"{document}-1"
        _, boxes = _page_file(folder / "images", name, seed)
        (folder / "annotations" / f"{name}.xml").write_text(_voc(name, boxes))
    return folder


def test_detect_json_prints_one_object_per_image(tmp_path: Path) -> None:
    first, _ = _page_file(tmp_path, "first", 1)
    second, _ = _page_file(tmp_path, "second", 2)
    result = runner.invoke(app, ["detect", str(first), str(second), "--json", "--viz", str(tmp_path / "viz")])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(first), str(second)]
    for record in records:
        assert (record["width"], record["height"]) == (850, 1100)
        for box in record["boxes"]:
            assert box["label"] in {"signature", "annotation"} and 0 <= box["score"] <= 1
            assert all(isinstance(box[k], int) for k in ("x0", "y0", "x1", "y1"))
            assert 0 <= box["x0"] < box["x1"] <= 850 and 0 <= box["y0"] < box["y1"] <= 1100
    assert (tmp_path / "viz" / "first.png").is_file()


def test_detect_table_and_missing_file_exit_code(tmp_path: Path) -> None:
    page, _ = _page_file(tmp_path, "page", 3)
    table = runner.invoke(app, ["detect", str(page)])
    assert table.exit_code == 0 and "label" in table.stdout and "850x1100" in table.stdout
    missing = runner.invoke(app, ["detect", str(tmp_path / "nope.jpg")])
    assert missing.exit_code == ExitCode.INPUT
    assert "nope.jpg" in missing.output


def test_missing_model_is_a_dependency_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page, _ = _page_file(tmp_path, "page", 4)
    monkeypatch.setenv("INDEXER_DETECTOR__MODEL_DIR", str(tmp_path / "no-model"))
    result = runner.invoke(app, ["detect", str(page)])
    assert result.exit_code == ExitCode.DEPENDENCY
    monkeypatch.delenv("INDEXER_DETECTOR__MODEL_DIR")
    named = runner.invoke(app, ["detect", str(page), "--model", str(tmp_path / "other")])
    assert named.exit_code == ExitCode.DEPENDENCY
    assert "other" in named.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("options", "design"),
    [
        (
            ["--stem", "full", "--no-box-head", "--short-side", "480", "--crop", "256"],
            ("full", False, 2, "bfloat16"),
        ),
        (
            [
                "--box-head",
                "--output-stride",
                "4",
                "--compute-dtype",
                "float32",
                "--ema-momentum",
                "0.9",
                "--box-loss",
                "iou",
            ],
            ("strided", True, 4, "float32"),
        ),
        ([], ("strided", True, 2, "bfloat16")),  # the shipped model's design
    ],
)
def test_train_then_evaluate_a_few_steps(
    tiny_labelled_set: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    design: tuple[str, bool, int, str],
) -> None:
    """GIVEN a tiny labelled set WHEN training 3 steps of each design THEN weights, config and
    card are written, and `evaluate` with that model prints the table and writes its report files."""
    out = tmp_path / "model"
    trained = runner.invoke(
        app,
        ["train-detector", "--data", str(tiny_labelled_set), "--out", str(out), "--steps", "3",
         "--batch-size", "2", "--synthetic-pages", "1", *options],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert {"detector.json", "detector.weights.h5", "MODEL_CARD.md"} <= {p.name for p in out.iterdir()}
    stem, box_head, stride, dtype = design
    saved = json.loads((out / "detector.json").read_text())
    assert (saved["stem"], saved["box_head"], saved["output_stride"]) == (stem, box_head, stride)
    assert saved["version"] == ("fcn-v2" if box_head else "fcn-v1")
    assert saved["merge_share"] == 0.5 and saved["class_overlap_share"] == 0.5
    assert saved["test_scales"] == [0.9, 1.0, 1.1]
    card = (out / "MODEL_CARD.md").read_text()
    head = "--box-head" if box_head else "--no-box-head"
    assert (
        "--steps 3 " in card
        and f"--stem {stem} {head} --output-stride {stride} --compute-dtype {dtype}" in card
    )
    assert ("kernel" in card) is box_head and f"{dtype} maths" in card
    assert "merge into their union" in card and "the higher-scoring one is kept" in card
    assert "read at scales 0.9, 1, 1.1" in card
    assert ("moving average (EMA, momentum 0.9)" in card) is ("--ema-momentum" in options)
    iou = "--box-loss" in options
    assert ("--box-loss iou" in card) is iou and ("-log IoU of each kernel pixel's box" in card) is iou
    assert ("L1 error of their logs" in card) is (box_head and not iou)
    short_side, crop = ("480", "256") if "--short-side" in options else ("576", "320")
    assert saved["short_side_px"] == int(short_side) and f"--short-side {short_side} --crop {crop}" in card
    assert f"short side is {short_side} px" in card and f"crops of {crop} px" in card
    # The shipped model's folder does not exist here: only --model can make evaluate work.
    monkeypatch.setenv("INDEXER_DETECTOR__MODEL_DIR", str(tmp_path / "no-model"))
    report_dir = tmp_path / "report"
    evaluated = runner.invoke(
        app, ["evaluate", "--data", str(tiny_labelled_set), "--out", str(report_dir), "--model", str(out)]
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "AP@0.5" in evaluated.stdout and "1 pages" in evaluated.stdout
    assert {"per_image.csv", "summary.json", "boxplot.png"} <= {p.name for p in report_dir.iterdir()}


@pytest.mark.slow
def test_training_several_member_nets_writes_a_model_that_averages_them(
    tiny_labelled_set: Path, tmp_path: Path
) -> None:
    """GIVEN --members 2 THEN two weight files with the config naming the second, a card that
    says how they were trained and repeats --members, and a model that loads and detects."""
    out = tmp_path / "model"
    _train(tiny_labelled_set, out, "--members", "2", "--seed", "5", "--max-minutes", "4")
    saved = json.loads((out / "detector.json").read_text())
    assert saved["weights"] == "detector.weights.h5"
    assert saved["member_weights"] == ["detector-2.weights.h5"]
    assert (out / "detector.weights.h5").is_file() and (out / "detector-2.weights.h5").is_file()
    card = (out / "MODEL_CARD.md").read_text()
    assert "--seed 5 " in card and "--members 2 " in card and "6 steps" in card
    assert "2 nets" in card and "seeds 5-6" in card and "2 minutes each" in card
    assert "`detector.weights.h5`, `detector-2.weights.h5`, `detector.json`" in card
    page, _ = _page_file(tmp_path, "page", 5)
    detected = runner.invoke(app, ["detect", str(page), "--json", "--model", str(out)])
    assert detected.exit_code == 0, detected.output
    assert json.loads(detected.stdout.splitlines()[0])["image"] == str(page)


def _train(data: Path, out: Path, *options: str) -> None:
    """Three training steps on `data` into `out`."""
    result = runner.invoke(
        app,
        ["train-detector", "--data", str(data), "--out", str(out), "--steps", "3", "--batch-size", "2",
         "--synthetic-pages", "1", *options],
    )  # fmt: skip
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_cross_validation_folds_pool_into_one_held_out_evaluation(
    tiny_labelled_set: Path, tmp_path: Path
) -> None:
    """GIVEN two fold models of a 3-document set WHEN evaluated with --split held-out THEN every
    page is scored once, by the fold that never trained on it; a model trained on everything is
    scored with a warning that the figures show fit."""
    folds = [tmp_path / "fold-1", tmp_path / "fold-2"]
    for index, out in enumerate(folds, start=1):
        _train(tiny_labelled_set, out, "--hold-out", f"{index}/2")
    splits = [json.loads((out / "split.json").read_text()) for out in folds]
    assert [record["hold_out"] for record in splits] == ["1/2", "2/2"]
    held_out = [set(record["held_out_documents"]) for record in splits]
    assert held_out[0] and held_out[1] and not held_out[0] & held_out[1]
    assert set(splits[0]["train_documents"]) == held_out[1]
    card = (folds[0] / "MODEL_CARD.md").read_text()
    assert "--hold-out 1/2" in card and "fold 1 of 2" in card

    pooled = runner.invoke(
        app,
        ["evaluate", "--data", str(tiny_labelled_set), "--split", "held-out", "--out", str(tmp_path / "cv"),
         "--model", str(folds[0]), "--model", str(folds[1])],
    )  # fmt: skip
    assert pooled.exit_code == 0, pooled.output
    assert "3 pages" in pooled.stdout
    scored = (tmp_path / "cv" / "per_image.csv").read_text()
    assert all(f"{document}-1," in scored for document in held_out[0] | held_out[1])

    every = tmp_path / "every"
    _train(tiny_labelled_set, every, "--hold-out", "none")
    assert json.loads((every / "split.json").read_text())["held_out_documents"] == []
    assert "(no held-out pages)" in (every / "MODEL_CARD.md").read_text()
    fit = runner.invoke(app, ["evaluate", "--data", str(tiny_labelled_set), "--model", str(every)])
    assert fit.exit_code == 0, fit.output  # and a warning, as every page below was trained on
    pages = load_pages([tiny_labelled_set])
    assert stems_trained_on(every, [page.stem for page in pages]) == [page.stem for page in pages]
    assert stems_trained_on(folds[0], [page.stem for page in pages]) == [
        p.stem for p in pages if document_of(p.stem) in held_out[1]
    ]
    nothing = runner.invoke(
        app, ["evaluate", "--data", str(tiny_labelled_set), "--split", "held-out", "--model", str(every)]
    )
    assert nothing.exit_code == ExitCode.INPUT and "no labelled pages to score" in nothing.output

    calibrate = ["calibrate-detector", "--data", str(tiny_labelled_set), "--model", str(folds[0]),
                 "--model", str(folds[1]), "--apply-to", str(every), "--prior", "2", "--test-scales", "1",
                 "--merge-share", "none"]  # fmt: skip
    for _ in range(2):  # a second run replaces what the first wrote
        calibrated = runner.invoke(app, calibrate)
        assert calibrated.exit_code == 0, calibrated.output
    assert "  fold-1: " in calibrated.stdout and "each fold at its own choice" in calibrated.stdout
    keys = ("annotation_prior", "test_scales", "class_overlap_share", "merge_share")
    tried = [(1.0, [1.0], None, None), (2.0, [1.0], 0.5, None)]  # the plain decoding and the grid's one
    for folder in [*folds, every]:
        record = json.loads((folder / "calibration.json").read_text())
        assert tuple(record[key] for key in keys) in tried
        assert [tuple(row[key] for key in keys) for row in record["scores"]] == tried
        config = json.loads((folder / "detector.json").read_text())
        assert all(config[key] == record[key] for key in keys) and "version" in config
        assert (folder / "MODEL_CARD.md").read_text().count("## Decoding settings") == 1
    # A malformed flag is an input error; a value detector.json's own rules refuse is a config error.
    for option, value, message, exit_code in [
        ("--test-scales", "0.9;1", "separated by commas", ExitCode.INPUT),
        ("--merge-share", "2", "(0, 1]", ExitCode.CONFIG),
    ]:
        refused = runner.invoke(app, [*calibrate[:5], "--model", str(folds[1]), option, value])
        assert refused.exit_code == exit_code and message in refused.output, refused.output
    assert json.loads((every / "calibration.json").read_text())["chosen_on"] == "every fold's held-out pages"
    alone = runner.invoke(
        app, ["calibrate-detector", "--data", str(tiny_labelled_set), "--model", str(folds[0])]
    )
    assert alone.exit_code == ExitCode.INPUT and "at least two fold models" in alone.output
    unfolded = runner.invoke(
        app,
        [
            "calibrate-detector",
            "--data",
            str(tiny_labelled_set),
            "--model",
            str(folds[0]),
            "--model",
            str(every),
        ],
    )
    assert unfolded.exit_code == ExitCode.INPUT and "held no documents out" in unfolded.output


def _train_refiner(data: Path, out: Path, *, steps: int) -> Result:
    """`steps` refiner training steps on 64 cuts for the detector in `out`; the finished run."""
    result = runner.invoke(
        app,
        ["train-refiner", "--model", str(out), "--data", str(data), "--steps", str(steps), "--samples", "64"],
    )
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.slow
def test_a_refiner_trains_on_the_detectors_training_pages_and_loads_with_it(
    tiny_labelled_set: Path, tmp_path: Path
) -> None:
    """GIVEN a detector trained with one document held out WHEN train-refiner runs THEN the
    refiner is written beside it and named in detector.json, detect and evaluate use it, and
    evaluate --no-refiner scores the detector alone."""
    out = tmp_path / "model"
    _train(tiny_labelled_set, out, "--hold-out", "1/3")
    refined = _train_refiner(tiny_labelled_set, out, steps=3)
    assert "3 steps" in refined.stdout and "of 2 pages" in refined.stdout  # the 2 training documents
    assert json.loads((out / "detector.json").read_text())["refiner"] == "refiner.json"
    assert {"refiner.json", "refiner.weights.h5", "held_out_refined"} <= {p.name for p in out.iterdir()}
    assert "without the refiner:" in refined.stdout and "with it:" in refined.stdout
    card = (out / "MODEL_CARD.md").read_text()
    assert "## Box refiner" in card and "--steps 3 " in card and "left and right edges" in card
    _train_refiner(tiny_labelled_set, out, steps=2)
    card = (out / "MODEL_CARD.md").read_text()
    assert card.count("## Box refiner") == 1 and "2 steps in" in card.split("## Box refiner")[1]
    page, _ = _page_file(tmp_path, "page", 5)
    detected = runner.invoke(app, ["detect", str(page), "--json", "--model", str(out)])
    assert detected.exit_code == 0, detected.output
    for flag in ("--refiner", "--no-refiner"):
        scored = runner.invoke(
            app,
            ["evaluate", "--data", str(tiny_labelled_set), "--split", "held-out", "--model", str(out), flag],
        )
        assert scored.exit_code == 0 and "1 pages" in scored.stdout, scored.output
    nowhere = runner.invoke(
        app, ["train-refiner", "--model", str(tmp_path), "--data", str(tiny_labelled_set)]
    )
    assert nowhere.exit_code == ExitCode.INPUT and "holds no detector" in nowhere.output


def test_evaluate_refuses_what_it_cannot_score(tiny_labelled_set: Path, tmp_path: Path) -> None:
    data = ["evaluate", "--data", str(tiny_labelled_set)]
    two = runner.invoke(app, [*data, "--model", str(tmp_path / "a"), "--model", str(tmp_path / "b")])
    assert two.exit_code == ExitCode.INPUT and "only with --split held-out" in two.output
    unknown = runner.invoke(app, [*data, "--split", "dev"])
    assert unknown.exit_code == ExitCode.INPUT and "held-out" in unknown.output
    # A model folder written before split.json existed: its held-out documents are unknown.
    older = tmp_path / "older"
    older.mkdir()
    for name in ("detector.json", "detector.weights.h5", "refiner.json", "refiner.weights.h5"):
        if (SHIPPED / name).is_file():
            shutil.copy(SHIPPED / name, older / name)
    unsplit = runner.invoke(app, [*data, "--split", "held-out", "--model", str(older)])
    assert unsplit.exit_code == ExitCode.INPUT and "no split.json" in unsplit.output


@pytest.mark.parametrize(
    ("options", "message", "exit_code"),
    [
        (["--compute-dtype", "float16"], "float32, bfloat16", ExitCode.INPUT),
        (["--output-stride", "4", "--no-box-head"], "needs --box-head", ExitCode.INPUT),
        # Refused by the model folder's own config (detector.json's rules): a configuration error.
        (["--output-stride", "3", "--box-head"], "2, 4", ExitCode.CONFIG),
        (["--ema-momentum", "1.5"], "between 0 and 1", ExitCode.INPUT),
        (["--hold-out", "4/3"], "the fold must lie in 1..K", ExitCode.INPUT),
    ],
)
def test_impossible_training_options_are_refused(
    tmp_path: Path, options: list[str], message: str, exit_code: int
) -> None:
    result = runner.invoke(
        app, ["train-detector", "--data", str(tmp_path), "--out", str(tmp_path / "m"), *options]
    )
    assert result.exit_code == exit_code
    assert message in result.output


def test_an_unknown_stem_is_a_config_error_that_names_the_choices(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["train-detector", "--data", str(tmp_path), "--out", str(tmp_path / "m"), "--stem", "wide"]
    )
    assert result.exit_code == ExitCode.CONFIG
    assert "full, strided" in result.output


def test_evaluate_box_scale_scores_every_box_resized(tiny_labelled_set: Path, tmp_path: Path) -> None:
    """GIVEN the shipped model on synthetic pages WHEN evaluated with --box-scale 0.5 THEN every
    predicted box covers about a quarter of its pixels at scale 1, and 0 is refused."""

    def predicted_px(*options: str) -> int:
        out = tmp_path / f"report{'-'.join(options)}"
        result = runner.invoke(app, ["evaluate", "--data", str(tiny_labelled_set), "--split", "all",
                                     "--out", str(out), *options])  # fmt: skip
        assert result.exit_code == 0, result.output
        rows = list(csv.DictReader((out / "per_image.csv").open()))
        return sum(int(row["predicted_px"]) for row in rows)

    plain, halved = predicted_px(), predicted_px("--box-scale", "0.5")
    assert plain > 0
    assert halved == pytest.approx(plain / 4, rel=0.1)
    refused = runner.invoke(app, ["evaluate", "--data", str(tiny_labelled_set), "--box-scale", "0"])
    assert refused.exit_code == 2 and "box-scale" in refused.output


@pytest.mark.slow
def test_the_detector_recipe_script_builds_every_shipped_folder(
    tiny_labelled_set: Path, tmp_path: Path
) -> None:
    """GIVEN a tiny labelled set WHEN scripts/train-detector-models.sh runs with a few steps THEN
    it leaves what models/detector holds: three folds and the model of every document, each with
    its refiner and prior, and the folds' pooled report."""
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[2]
    out = tmp_path / "detector"
    tiny = {"STEPS": "3", "REFINER_STEPS": "3", "REFINER_SAMPLES": "64", "SYNTHETIC_PAGES": "1"}
    env = {**os.environ, **tiny, "DATA": str(tiny_labelled_set), "OUT": str(out),
           "INDEXER": str(Path(sys.executable).with_name("indexer"))}  # fmt: skip
    run = subprocess.run(
        ["bash", str(repo / "scripts" / "train-detector-models.sh")],
        env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    for folder in [out, *(out / "cv" / f"fold-{index}" for index in (1, 2, 3))]:
        config = json.loads((folder / "detector.json").read_text())
        assert config["refiner"] == "refiner.json" and "annotation_prior" in config, folder
        assert (folder / "calibration.json").is_file() and (folder / "refiner.weights.h5").is_file()
    assert json.loads((out / "split.json").read_text())["hold_out"] == "none"
    assert json.loads((out / "cv" / "pooled" / "summary.json").read_text())["pages"] == 3
