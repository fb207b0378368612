"""Replay the steps after `extend_boxes` under other settings, scored as `evaluate-fields` scores.

Experiment script (not part of the product), run from the repository root:

    .venv/bin/python docs/experiments/2026-12-04-form-fields-replay.py labels /tmp/labels.json
    .venv/bin/python docs/experiments/2026-12-04-form-fields-replay.py reader /tmp/reader.json
    .venv/bin/python docs/experiments/2026-12-04-form-fields-replay.py padding /tmp/padding.json
    .venv/bin/python docs/experiments/2026-12-04-form-fields-replay.py split /tmp/split.json

Each contracts-dev page is wrapped in a PDF and rendered as `evaluate-fields` does, and run once
through the pipeline up to `extend_boxes` with the detector fold that held its document out. Then,
for every setting of the grid, `find_labels`, `ocr_handwriting`, `merge_text`, `extract_entities`
and `extract_fields` run again on a copy, and the spans are scored with `score_page` from the
sources the index would get (no node needed; with the shipped settings the figures equal
`evaluate-fields`' to the box). Settings are module constants and reader attributes patched in
place, which is why this is a script and not a command. Each fold then picks the setting with the
fewest kind errors, then edit errors, on the other two folds' documents (ties keep the shipped
value), and the held-out totals are printed. About 25 s a setting after a 2.5-minute first pass.
The `split` grid (`split_blocks` and `trim_boxes`) replays from just after `detect_handwriting`
instead, page OCR included: about 90 s a setting. Every grid also counts the printed words lost
(against the reference OCR that `evaluate-fields` caches).
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from indexer.api import build_detector, build_pipeline, managed
from indexer.backends.tesseract import TesseractOcr
from indexer.config import load_settings
from indexer.model_dirs.split import document_of
from indexer.processors import split, trim
from indexer.processors.fields import labels
from indexer.processors.render import RenderPages, open_document
from indexer.search.documents import _field_document, _span_document
from indexer.training.fields import evaluate
from indexer.training.fields.score import PageScore, lost_printed_words, score_page, summarise
from indexer.training.fields.truth import load_truth
from indexer.training.htr.metrics import edit_distance, normalise

DATA = Path("../shared/data/contracts-dev")
FOLDS = ("fold-1", "fold-2", "fold-3")
#: Where `evaluate-fields` caches Tesseract's reading of each unmasked page.
CACHE = load_settings().cache_dir / "evaluate-fields"
Undo = Callable[[], None]


def stored_pages(settings: Any, after: str) -> tuple[list[tuple[str, Any, Any]], list[Any]]:
    """(fold, truth, page after the step `after`) for every page, and the processors after it."""
    truths = {truth.stem: truth for truth in load_truth(DATA)}
    stored, later = [], []
    scratch = Path("/tmp/replay-pdfs")
    scratch.mkdir(exist_ok=True)
    for fold in sorted(Path("models/detector/cv").glob("fold-*")):
        held = set(json.loads((fold / "split.json").read_text())["held_out_documents"])
        with managed(build_detector(settings.detector.model_copy(update={"model_dir": fold}))) as detector:
            pipeline = build_pipeline(settings, detector=detector).__enter__()
            cut = [processor.name for processor in pipeline.processors].index(after) + 1
            later = pipeline.processors[cut:]
            for stem, truth in sorted(truths.items()):
                if document_of(stem) not in held:
                    continue
                pdf = evaluate._write_pdf([truth], scratch / f"{stem}.pdf")
                document = open_document(pdf, settings.input, settings.render)
                page = next(iter(RenderPages(settings.render, settings.input).pages(document)))
                for processor in pipeline.processors[:cut]:
                    page = processor(page)
                stored.append((fold.name, truth, page))
    return stored, later


def replay(
    stored: list[tuple[str, Any, Any]], later: list[Any], ocr: TesseractOcr
) -> dict[str, list[PageScore]]:
    scores: dict[str, list[PageScore]] = {}
    for fold, truth, page in stored:
        if fold not in scores:
            # evaluate-fields builds a pipeline per fold, so each fold's anchor tokens start from
            # the seed; replaying the anchor step without this draws other tokens each setting.
            for processor in later:
                if hasattr(processor, "painter"):
                    processor.painter._rng = np.random.default_rng(evaluate._ANCHOR_SEED)
        page = copy.deepcopy(page)
        for processor in later:
            page = processor(page)
        source = {
            "handwriting": [_span_document(span) for span in page.spans],
            "fields": [_field_document(item) for item in page.fields],
        }
        score = score_page(truth, evaluate.spans_of_source(source))
        reference = evaluate._reference_words(truth, ocr, CACHE, dpi=page.dpi)
        blanked = [span.anchor_box for span in page.spans if span.anchor_box is not None]
        score.printed_words, lost = lost_printed_words(reference, truth.boxes, blanked)
        score.printed_lost = len(lost)
        scores.setdefault(fold, []).append(score)
    return scores


def figures(scores: list[PageScore]) -> dict[str, int]:
    report = summarise(scores)
    kinds = report.kinds
    errors = sum(
        edit_distance(normalise(truth), normalise(reading)) for s in scores for _, reading, truth, _ in s.read
    )
    return {
        "kind_errors": kinds.get(("signature", "annotation"), 0) + kinds.get(("annotation", "signature"), 0),
        "edit_errors": errors,
        "found": report.found,
        "exact": report.exact,
        "dates": report.dates[0],
        "lost": sum(score.printed_lost for score in scores),
    }


def setter(obj: Any, name: str) -> Callable[[Any], Undo]:
    def apply(value: Any) -> Undo:
        old = getattr(obj, name)
        setattr(obj, name, value)
        return lambda: setattr(obj, name, old)

    return apply


def grids(later: list[Any]) -> dict[str, tuple[Callable[[Any], Undo], Any, list[Any]]]:
    """name -> (apply, shipped value, values)."""
    reader = next(processor for processor in later if processor.name == "ocr_handwriting")
    splitter = reader._recognizer.splitter

    def split_option(field: str) -> Callable[[Any], Undo]:
        def apply(value: Any) -> Undo:
            old = getattr(splitter.options, field)
            splitter.options = dataclasses.replace(splitter.options, **{field: value})
            return lambda: setattr(splitter, "options", dataclasses.replace(splitter.options, **{field: old}))

        return apply

    inner = reader._recognizer.inner
    return {
        "labels": {
            "left keyword words": (setter(labels, "_LEFT_KEYWORD_WORDS"), 3, [1, 2, 3, 4, 6]),
            "caption max words": (setter(labels, "_CAPTION_MAX_WORDS"), 8, [4, 6, 8, 10, 14]),
            "left reach heights": (setter(labels, "_LEFT_REACH_HEIGHTS"), 6.0, [3.0, 4.5, 6.0, 8.0, 10.0]),
            "left max words": (setter(labels, "_LEFT_MAX_WORDS"), 5, [3, 4, 5, 7, 9]),
            "below reach heights": (setter(labels, "_BELOW_REACH_HEIGHTS"), 1.2, [0.6, 0.9, 1.2, 1.5, 2.0]),
            "above reach heights": (setter(labels, "_ABOVE_REACH_HEIGHTS"), 1.0, [0.5, 0.75, 1.0, 1.5, 2.0]),
        },
        "padding": {
            "crop padding px": (setter(reader, "_padding_px"), 6, [0, 1, 2, 3, 4, 6]),
        },
        "split": {
            "split left reach inches": (setter(split, "LEFT_REACH_INCHES"), 1.5, [1.0, 1.5, 2.0]),
            "split inside share": (setter(split, "INSIDE_SHARE"), 0.25, [0.15, 0.25, 0.35]),
            "split min confidence": (setter(split, "MIN_CONFIDENCE"), 0.6, [0.5, 0.6, 0.7]),
            "split row heights": (setter(split, "ROW_HEIGHTS"), 0.6, [0.4, 0.6, 0.8]),
            "split max word height share": (setter(split, "MAX_WORD_HEIGHT_SHARE"), 0.5, [0.4, 0.5, 0.6]),
            "split top slack": (setter(split, "TOP_SLACK"), 0.2, [0.1, 0.2, 0.3]),
            "trim print confidence": (setter(trim, "PRINT_CONFIDENCE"), 0.9, [0.8, 0.9, 0.95]),
            "trim cut gap px": (setter(trim, "CUT_GAP_PX"), 10, [5, 10, 20]),
            "trim edge share": (setter(trim, "EDGE_SHARE"), 0.2, [0.1, 0.2, 0.3]),
            "trim min kept share": (setter(trim, "MIN_KEPT_SHARE"), 0.4, [0.3, 0.4, 0.5]),
        },
        "reader": {
            "typed margin": (setter(inner.typed, "margin"), 6.0, [3.0, 6.0, 9.0, 12.0]),
            "space boost": (setter(inner, "space_boost"), 1.5, [1.0, 1.5, 2.0]),
            "lexicon": (setter(inner, "_corrector"), "on", ["on", None]),
            "drop captions": (setter(inner, "drop_captions"), True, [True, False]),
            "fragment share": (split_option("fragment_share"), 0.35, [0.25, 0.35, 0.45]),
            "valley share": (split_option("valley_share"), 0.12, [0.09, 0.12, 0.16]),
            "min line share": (split_option("min_line_share"), 0.45, [0.3, 0.45, 0.6, 0.75]),
            "printed confidence": (split_option("printed_confidence"), 0.7, [0.6, 0.7, 0.8]),
            "line margin px": (split_option("margin_px"), 4, [2, 4, 6]),
        },
    }[sys.argv[1]]


def pick(results: dict[Any, dict[str, dict[str, int]]], shipped: Any) -> tuple[list[Any], dict[str, int]]:
    """Each fold's choice on the other folds' documents, and the held-out totals at those choices."""
    choices: list[Any] = []
    held: dict[str, int] = {}
    for fold in FOLDS:

        def cost(value: Any, fold: str = fold) -> tuple[int, int]:
            rows = [results[value][other] for other in FOLDS if other != fold]
            return sum(r["kind_errors"] for r in rows), sum(r["edit_errors"] for r in rows)

        best = min(map(cost, results))
        tied = [value for value in results if cost(value) == best]
        choice = shipped if shipped in tied else tied[0]
        choices.append(choice)
        for key, count in results[choice][fold].items():
            held[key] = held.get(key, 0) + count
    return choices, held


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    settings = load_settings()
    settings = settings.model_copy(
        update={"anchors": settings.anchors.model_copy(update={"seed": evaluate._ANCHOR_SEED})}
    )
    stored, later = stored_pages(settings, "detect_handwriting" if sys.argv[1] == "split" else "extend_boxes")
    report: dict[str, Any] = {}
    ocr = TesseractOcr(settings.tesseract)  # reads only pages evaluate-fields has not cached
    for name, (apply, shipped, values) in grids(later).items():
        results = {}
        for value in values:
            undo = (lambda: None) if value == "on" else apply(value)
            scores = replay(stored, later, ocr)
            undo()
            results[value] = {fold: figures(scores[fold]) for fold in FOLDS}
            print(name, value, results[value], flush=True)
        choices, held = pick(results, shipped)
        everywhere = {key: sum(results[shipped][fold][key] for fold in FOLDS) for key in held}
        print(f"{name}: folds choose {choices}; held out {held}; shipped everywhere {everywhere}", flush=True)
        rows = {str(value): row for value, row in results.items()}
        report[name] = {"results": rows, "choices": choices, "held_out": held}
    Path(sys.argv[2]).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
