"""`indexer bench`: the real default pipeline and the `tesseract` program on the same pages."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from indexer import pipeline_timing as bench
from indexer.cli import app
from indexer.config import Settings
from indexer.errors import InputError
from tests.factories import synthetic_pages


@pytest.mark.slow
def test_bench_prints_each_step_plain_tesseract_their_ratio_and_placements(tmp_path: Path) -> None:
    """GIVEN two generated pages WHEN benchmarking THEN every processor has a median, plain
    Tesseract has one, the ratio is theirs, and every detected span's placement is counted."""
    pages = tmp_path / "pages"
    pages.mkdir()
    for index, page in enumerate(synthetic_pages(2, seed=5)):
        Image.fromarray(np.asarray(page.image)).save(pages / f"page-{index}.png", dpi=(200, 200))

    result = CliRunner().invoke(app, ["bench", str(pages), "--max-pages", "2"])

    assert result.exit_code == 0, result.output
    medians = dict(re.findall(r"^(\S[\w ]*?)\s+(\d+\.\d{3})$", result.output, re.MULTILINE))
    steps = ("render_pages", "detect_handwriting", "mask_with_anchors", "ocr_printed", "merge_text")
    pipeline, tesseract = float(medians["whole pipeline"]), float(medians["plain tesseract"])
    # Each step reports its own median, and no step can take longer than the whole pipeline.
    assert all(0 < float(medians[step]) <= pipeline for step in steps if step != "merge_text")
    assert 0 <= float(medians["merge_text"]) <= pipeline
    assert tesseract > 0
    ratio = re.search(r"pipeline / tesseract: (\d+\.\d+) over 2 pages", result.output)
    assert ratio is not None and float(ratio.group(1)) == pytest.approx(pipeline / tesseract, abs=0.01)
    placed = re.search(r"handwriting spans placed: (.*) of (\d+)", result.output)
    assert placed is not None
    counts = [int(count) for count in re.findall(r"(?:exact|fuzzy|geometry) (\d+)", placed.group(1))]
    assert counts and sum(counts) == int(placed.group(2))


def test_bench_of_a_folder_without_page_images_says_so(tmp_path: Path) -> None:
    """GIVEN a folder holding only a subfolder and a note WHEN benchmarking THEN the command fails
    with a message naming the folder and what it looks for, not a statistics error."""
    (tmp_path / "images").mkdir()
    (tmp_path / "README.md").write_text("pages are in images/\n", encoding="utf-8")

    result = CliRunner().invoke(app, ["bench", str(tmp_path)])

    assert result.exit_code != 0
    assert f"no page to time in {tmp_path}" in result.output
    assert "StatisticsError" not in result.output


def test_bench_of_a_folder_without_page_images_fails_before_loading_the_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN an empty folder WHEN benchmarking THEN it fails without building the pipeline."""

    def build_pipeline(settings: object) -> None:
        raise AssertionError("the pipeline was built for a folder with no page")

    monkeypatch.setattr(bench, "build_pipeline", build_pipeline)

    with pytest.raises(InputError, match="no page to time"):
        bench.run_bench(Settings(), tmp_path)
