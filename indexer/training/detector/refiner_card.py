"""After training a refiner: score the detector's held-out pages with and without it, and add a
section about it to the model folder's `MODEL_CARD.md`."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

from indexer.backends.detector.predictor import TfBoxDetector
from indexer.images import read_rgb
from indexer.model_dirs.split import read_split
from indexer.training.data.splits import document_of
from indexer.training.data.voc import LabelledPage
from indexer.training.detector.card import CARD_FILE, put_card_section, timing_s
from indexer.training.detector.evaluate import (
    EvaluationReport,
    PageDetections,
    format_report,
    score_detections,
    write_report,
)
from indexer.training.detector.options import RefinerOptions
from indexer.training.detector.refiner import RefinerResult
from indexer.training.detector.train import ProgressCallback, load_pages

__all__ = ["REFINED_REPORT", "finish_refiner"]

#: The held-out evaluation with the refiner, beside the detector's own `held_out` report.
REFINED_REPORT = "held_out_refined"


def finish_refiner(
    options: RefinerOptions,
    result: RefinerResult,
    *,
    on_progress: ProgressCallback | None = None,
) -> str:
    """Evaluate the held-out pages without and with the refiner, put its card section (replacing
    one an earlier run wrote), and return the two tables (or a line saying there are none)."""
    record = read_split(options.model_dir)
    held_out = record.held_out_documents if record else frozenset()
    pages = [page for page in load_pages(options.data_dirs) if document_of(page.stem) in held_out]
    refined = TfBoxDetector(options.model_dir, threads=options.threads)
    reports = _held_out_reports(refined, pages, on_progress) if pages else []
    seconds = timing_s(refined)
    if reports:
        write_report(reports[1], options.model_dir / REFINED_REPORT)
    put_card_section(options.model_dir / CARD_FILE, _section(options, result, reports, seconds))
    if not reports:
        return "no held-out pages"
    return "without the refiner:\n" + format_report(reports[0]) + "\n\nwith it:\n" + format_report(reports[1])


def _held_out_reports(
    detector: TfBoxDetector, pages: list[LabelledPage], on_progress: ProgressCallback | None
) -> list[EvaluationReport]:
    """The pages scored without the refiner, then with it; the net reads each page once."""
    plain, refined = [], []
    for index, page in enumerate(pages):
        reading = detector.read(read_rgb(page.image_path))
        size = (reading.grey.shape[0], reading.grey.shape[1])
        plain.append(PageDetections(page, detector.boxes(reading, refine=False), size))
        refined.append(PageDetections(page, detector.boxes(reading), size))
        if on_progress is not None:
            on_progress("evaluating", index + 1, len(pages), page.stem)
    return [score_detections(plain), score_detections(refined)]


def _section(
    options: RefinerOptions,
    result: RefinerResult,
    reports: list[EvaluationReport],
    seconds: float,
) -> str:
    config = options.config
    trained = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if reports:
        figures = (
            "Held-out pages without the refiner, then with it (its report files are in "
            f"`{REFINED_REPORT}`):\n\n```\n{format_report(reports[0])}\n```\n\n```\n{format_report(reports[1])}\n```\n"
        )
    else:
        figures = "No held-out pages: the detector trained on every document.\n"
    return f"""## Box refiner (`indexer.backends.detector.refiner`)

A second stage that moves the {" and ".join(config.moved_edges)} edges of each detected box.

- Trained: {trained}, {result.steps_done} steps in {result.seconds:.0f} s on a {options.threads}-core CPU;
  final smoothed loss {result.final_loss:.4f} (moving no edge would score {result.no_move_loss:.4f}).
- Command: `{shlex.join(options.to_argv())}`
- Data: {options.samples} cuts of the {result.boxes} labelled boxes on the detector's
  {result.train_pages} training pages with handwriting (its `split.json`): each of a box chosen at
  random, its edges moved at random (normal, standard deviation {options.jitter_x:g} of the width +
  {options.jitter_x_px:g} px left and right, {options.jitter_y:g} of the height + {options.jitter_y_px:g} px
  top and bottom), with scan noise.
- Input: the box plus {config.context_x:g} of its width and {config.context_y:g} of its height on
  each side and {config.context_px:g} px, grey, resized to {config.input_height_px}x{config.input_width_px},
  `1 - grey/255`. Output: the four edges' moves as shares of that cut (times {config.offset_scale:g}).
- Options: batch {options.batch_size}, Adam with {options.warmup_steps} warm-up steps and cosine decay
  from {options.learning_rate:g}, Huber loss, seed {options.seed}.
- Files: `{config.weights}`, `refiner.json` (named by `detector.json`).
- Inference with the refiner: {seconds:.3f} s per 1700x2200 page after warm-up (median of 5).

{figures}"""
