"""After training: score the new weights on the held-out documents and write `MODEL_CARD.md`."""

from __future__ import annotations

import logging
import shlex
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from indexer.backends.detector.predictor import TfBoxDetector
from indexer.document import HandwritingKind
from indexer.model_dirs.detector import CONFIG_FILE, DetectorConfig
from indexer.model_dirs.split import SPLIT_FILE
from indexer.training.data.splits import HoldOut
from indexer.training.detector.evaluate import (
    EvaluationReport,
    evaluate_assigned,
    format_report,
    write_report,
)
from indexer.training.detector.options import TrainOptions
from indexer.training.detector.train import CLASS_WEIGHTS, ProgressCallback, TrainResult, load_pages

__all__ = ["CARD_FILE", "finish_training", "model_card", "put_card_section", "timing_s"]

log = logging.getLogger(__name__)

CARD_FILE = "MODEL_CARD.md"
#: The held-out evaluation (CSV, JSON, box plot), in a folder beside the weights.
HELD_OUT_REPORT = "held_out"


def put_card_section(card: Path, section: str) -> None:
    """Put a `## ` section into a model card: it replaces the section with the same heading line
    (up to the next `## ` heading), so a command run again on one folder leaves one section; a
    new heading goes at the end. Sections written by hand stay as they are."""
    heading = section.split("\n", 1)[0]
    if not heading.startswith("## "):
        raise ValueError(f"a card section starts with a '## ' heading, not {heading!r}")
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    found = ("\n" + text).find("\n" + heading + "\n")  # a whole line, not "### ..." or "... notes"
    if found < 0:
        card.write_text(text.rstrip("\n") + "\n\n" + section if text else section, encoding="utf-8")
        return
    end = text.find("\n## ", found + len(heading))
    rest = text[end + 1 :] if end >= 0 else ""
    card.write_text(
        text[:found] + section.rstrip("\n") + "\n" + ("\n" + rest if rest else ""), encoding="utf-8"
    )


def timing_s(detector: TfBoxDetector, *, runs: int = 5) -> float:
    """Median seconds per 1700x2200 page after warm-up (a blank-ish synthetic page)."""
    page = np.full((2200, 1700, 3), 250, np.uint8)
    page[300:330, 200:1500] = 20
    detector.detect(page)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        detector.detect(page)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def _design(config: DetectorConfig) -> str:
    if not config.box_head:
        return "; connected regions become boxes in the original image's pixels."
    return (
        ", the *kernel* of each box (the box shrunk towards its centre) and, per pixel, the distances\n"
        "to its box's edges; each kernel region becomes one box in the original image's pixels."
    )


def _heads(config: DetectorConfig) -> str:
    if not config.box_head:
        return ""
    return (
        f", a kernel probability (boxes shrunk by {config.kernel_shrink:g} of their shorter side on each\n"
        f"  side) and log(edge distance / {config.box_scale_px:g}) to the left, top, right and bottom edges"
    )


def _decoding(config: DetectorConfig) -> str:
    # What happens besides reading one scale and decoding it: several scales, merging, dropping.
    further = ""
    if config.test_scales != (1.0,):
        scales = ", ".join(f"{scale:g}" for scale in config.test_scales)
        further = f"\n  The page is read at scales {scales}; the outputs are averaged on the grid of scale 1"
        further += " before\n  decoding (`indexer.backends.detector.decode.fuse_scales`)."
    if config.merge_share is not None:
        further += f"\n  Boxes of one class whose overlap covers >= {config.merge_share:g} of the smaller one"
        further += " merge into their union."
    if config.class_overlap_share is not None:
        further += f"\n  Of two boxes of different classes overlapping by >= {config.class_overlap_share:g}"
        further += " of the smaller one, the higher-scoring one is kept."
    if config.box_head:
        return (
            f"pixels with handwriting (signature + annotation) probability >= {config.score_threshold}\n"
            f"  and kernel probability >= {config.kernel_threshold} form kernel regions (>= "
            f"{config.min_kernel_area_px} input px);\n"
            "  a region's box is the median of the edges its pixels predict, its class the one with the\n"
            "  higher mean probability over it; score = mean handwriting probability in the region."
        ) + further
    threshold = (
        f"argmax class with probability >= {config.score_threshold} (annotations:\n"
        f"  {config.threshold_for(HandwritingKind.ANNOTATION)})"
    )
    return (
        f"{threshold}, closing {config.close_px} px, components >=\n"
        f"  {config.min_area_px} output px, boxes grown by {config.pad_px} output px; score = mean\n"
        "  probability in the region."
    ) + further


def _averaging(options: TrainOptions) -> str:
    if options.ema_momentum is None:
        return ""
    return f", saved weights = moving average (EMA, momentum {options.ema_momentum:g})"


def _scales(options: TrainOptions) -> str:
    low, high = options.scale_range
    return f"{low:g}-{high:g}"


def _pastes(options: TrainOptions) -> str:
    if not options.paste_share:
        return ""
    return (
        f"; copy-paste: {options.paste_share:g} of the real crops' pages get 1-4 labelled boxes cut "
        "from other training pages (`indexer.training.data.paste`)"
    )


def _members(options: TrainOptions) -> str:
    if options.members == 1:
        return ""
    last = options.seed + options.members - 1
    return (
        f"\n- Members: {options.members} nets trained one after another like this (seeds "
        f"{options.seed}-{last}, {options.max_minutes / options.members:g} minutes each at most); "
        "the model averages their outputs."
    )


def _files(config: DetectorConfig) -> str:
    return ", ".join(f"`{name}`" for name in (config.weights, *config.member_weights))


def _class_weights() -> str:
    return "/".join(f"{weight:g}" for weight in CLASS_WEIGHTS)


def _box_loss(options: TrainOptions) -> str:
    if not options.config.box_head:
        return ""
    if options.box_loss == "iou":
        return ", edge distances trained on -log IoU of each kernel pixel's box"
    return ", edge distances trained on the L1 error of their logs"


def _measured(report: EvaluationReport | None) -> str:
    if report is None:
        return ""
    return (
        f"Scored when training ended, on the held-out pages above (report files in `{HELD_OUT_REPORT}`;\n"
        "`indexer evaluate --split held-out --model DIR` prints the same table):\n\n"
    )


def _limits(result: TrainResult, data: str) -> str:
    if not result.held_out_pages:
        figures = (
            "- No held-out pages: these weights trained on every document, so they have no figures of\n"
            "  their own. Fold models of the same recipe (`--hold-out K/N`) measure it."
        )
    else:
        figures = (
            f"- The figures come from {len(result.held_out_pages)} held-out pages of {data}, the\n"
            "  collection it trained on; pages unlike them (other scanners, forms, languages) are\n"
            "  unmeasured."
        )
    return (
        f"{figures}\n"
        "- One class per box: legible cursive can be called a signature and the reverse; neat\n"
        "  handwriting in a handwriting font can be taken for print.\n"
        "- Training is not bitwise reproducible on a CPU (bfloat16, threads), and the time budget may\n"
        "  stop a slow machine before the step count: the command gives a new draw, not these weights."
    )


def _held_out(hold_out: HoldOut) -> str:
    if hold_out.is_none:
        return "every document trained on"
    if hold_out.folds:
        return f"fold {hold_out.fold} of {hold_out.folds} of a cross-validation over the documents"
    return "the fixed validation documents"


def model_card(
    options: TrainOptions, result: TrainResult, report: EvaluationReport | None, seconds: float
) -> str:
    """The card's Markdown: intended use, model, the command, data, inputs and outputs, metrics on
    the held-out pages, limits. `indexer train-refiner` and `indexer calibrate-detector` add their
    own sections after it (`put_card_section`)."""
    config = result.config
    metrics = format_report(report) if report is not None else "(no held-out pages)"
    data = ", ".join(str(d) for d in options.data_dirs)
    return f"""# Handwriting detector `{config.version}`

Finds signatures and handwritten annotations on a scanned page: one box per field, in the page's
pixels, with its class and a score.

## Intended use

The pipeline's `detect_handwriting` step on rendered contract pages: each box is masked with an
anchor token before the page OCR and read by the handwriting engine afterwards. Trained and
measured on scanned contracts; other documents are outside what its figures describe.

## Model

A small fully convolutional net (`indexer.backends.detector.net.build_model`) that marks signature
and annotation pixels{_design(config)}

- Decoding: {_decoding(config)}
- Files: {_files(config)}, `{CONFIG_FILE}` (read at load time).

## Reproduce

    {shlex.join(options.to_argv())}

- Trained: {datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}, {result.steps_done} steps in
  {result.seconds:.0f} s (including data loading and synthetic rendering) on a 2-core CPU;
  final smoothed loss {result.final_loss:.4f}.
- Options: batch {options.batch_size} crops of {options.crop_px} px, Adam with cosine decay from
  {options.learning_rate}, {options.compute_dtype} maths{_averaging(options)}, seed {options.seed},
  class weights background/signature/annotation {_class_weights()}{_box_loss(options)}.{_members(options)}
- Augmentation: scale {_scales(options)}, rotation up to 1.5 degrees, contrast/gamma, blur, noise,
  specks, JPEG{_pastes(options)}.

## Data

{data}; split by document with `indexer.training.data.splits`, hold-out `{options.hold_out}`
({_held_out(options.hold_out)}): {len(result.train_pages)} training pages,
{len(result.held_out_pages)} held-out pages never used in training (documents in `{SPLIT_FILE}`),
plus {options.synthetic_pages} synthetic pages (`indexer.training.data.synthetic`, share
{options.synthetic_share} of the batches).

## Inputs and outputs

- Input: grey page scaled so its short side is {config.short_side_px} px, padded to a multiple of
  {config.pad_multiple_px}, normalised as `{config.normalisation}`.
- Output: softmax over {list(config.class_names)} at 1/{config.output_stride} of the
  input{_heads(config)}.

## Held-out pages (the paper's pixel metric and AP@0.5)

{_measured(report)}```
{metrics}
```

- Inference: {seconds:.3f} s per 1700x2200 page after warm-up (median of 5, this machine).

## Limits

{_limits(result, data)}
"""


def finish_training(
    options: TrainOptions,
    result: TrainResult,
    *,
    on_progress: ProgressCallback | None = None,
) -> str:
    """Evaluate the written model on its held-out pages, write the card and the report files."""
    detector = TfBoxDetector(result.out_dir, threads=options.threads)
    held_out = set(result.held_out_pages)
    pages = [page for page in load_pages(options.data_dirs) if page.stem in held_out]
    report = None
    if pages:
        report = evaluate_assigned([(page, detector) for page in pages], on_progress=on_progress)
        write_report(report, result.out_dir / HELD_OUT_REPORT)
    seconds = timing_s(detector)
    card = model_card(options, result, report, seconds)
    (Path(result.out_dir) / CARD_FILE).write_text(card, encoding="utf-8")
    return format_report(report) if report is not None else "no held-out pages"
