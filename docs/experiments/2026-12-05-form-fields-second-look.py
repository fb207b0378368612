"""The second look at 1.3 as a second opinion and candidates between lines: the tenth session.

Experiment script (not part of the product), run from the repository root:

    .venv/bin/python docs/experiments/2026-12-05-form-fields-second-look.py store /tmp/second.pkl
    .venv/bin/python docs/experiments/2026-12-05-form-fields-second-look.py signatures /tmp/second.pkl
    .venv/bin/python docs/experiments/2026-12-05-form-fields-second-look.py rules /tmp/second.pkl

`store` runs every contracts-dev page through the pipeline up to `ocr_printed` with the detector
fold that held its document out (as the replay script does), keeping every box of the 1.3
reading (both kinds, overlapping found boxes or not) as `page.candidates` and the boxes found
beside each page, and pickles them (the relabelling is off there; `rules` replays it).
`signatures` lists each signature span's best IoU with a 1.3 annotation box, its score and the
kind of the person's box under it. `rules` replays the later steps under each candidate rule
(`share<=F`: at most F of the candidate's area under found boxes, 0 meaning no overlap at all;
`lines`: meeting found boxes only on other lines), with and without the relabelling of unsure
signatures, scored as `evaluate-fields` scores, and prints each fold's choice.
About 3 minutes, a second, and 30 seconds a rule on this machine.
"""

from __future__ import annotations

import copy
import importlib.util
import logging
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from indexer.api import build_detector, build_pipeline, managed
from indexer.backends.detector import predictor
from indexer.backends.tesseract import TesseractOcr
from indexer.config import load_settings
from indexer.document import Box, HandwritingKind
from indexer.processors import detect
from indexer.processors.detect import SAME_LINE_SHARE
from indexer.processors.fields.find import SURE_SIGNATURE_SCORE
from indexer.training.fields import evaluate

spec = importlib.util.spec_from_file_location("replay", "docs/experiments/2026-12-04-form-fields-replay.py")
assert spec is not None and spec.loader is not None
R = importlib.util.module_from_spec(spec)
spec.loader.exec_module(R)
logging.basicConfig(level=logging.WARNING)


def settings() -> Any:
    base = load_settings()
    return base.model_copy(
        update={"anchors": base.anchors.model_copy(update={"seed": evaluate._ANCHOR_SEED})}
    )


def store(out: Path) -> None:
    found: list[list[Box]] = []
    original = predictor.TfBoxDetector.detect_with_map

    def detect_with_map(self: Any, image: Any) -> Any:
        boxes, probability = original(self, image)
        found.append([detection.box for detection in boxes])
        return boxes, probability

    predictor.TfBoxDetector.detect_with_map = detect_with_map  # type: ignore[method-assign]
    detect._same_line = lambda box, other: False  # every annotation box of the 1.3 reading
    current = settings()
    current = current.model_copy(
        update={"candidates": current.candidates.model_copy(update={"relabel_iou": None})}
    )
    stored, _ = R.stored_pages(current, "ocr_printed")
    out.write_bytes(pickle.dumps((stored, found)))


def signatures(path: Path) -> None:
    stored, _ = pickle.loads(path.read_bytes())
    rows = []
    for _, truth, page in stored:
        for span in page.spans:
            if not span.is_signature:
                continue
            best = max((candidate.box.iou(span.box) for candidate in page.candidates), default=0.0)
            person = max(truth.boxes, key=lambda box: box.box.intersection(span.box), default=None)
            shared = person.box.intersection(span.box) if person is not None else 0
            kind = (
                person.kind.value if person and shared > 0.3 * min(person.box.area, span.box.area) else "none"
            )
            rows.append(
                (round(best, 2), round(span.detection_score, 2), kind, truth.stem, span.box.as_tuple())
            )
    for row in sorted(rows, reverse=True)[:12]:
        print(row)


def _same_line(box: Box, other: Box) -> bool:
    shared = min(box.y1, other.y1) - max(box.y0, other.y0)
    return box.intersection(other) > 0 and shared >= SAME_LINE_SHARE * min(box.height, other.height)


def _covered(box: Box, found: list[Box]) -> float:
    return min(1.0, sum(box.intersection(other) for other in found) / max(1, box.area))


Rule = Callable[[Box, list[Box]], bool]


def _at_most(share: float) -> Rule:
    return lambda box, found: _covered(box, found) <= share


RULES: dict[str, Rule] = {
    "share<=0": lambda box, found: not any(box.intersection(other) > 0 for other in found),
    **{f"share<={share}": _at_most(share) for share in (0.5, 0.6, 0.75)},
    "lines": lambda box, found: not any(_same_line(box, other) for other in found),
}


def rules(path: Path) -> None:
    stored, found = pickle.loads(path.read_bytes())
    fold = Path("models/detector/cv/fold-1")  # any fold: only the steps after the page OCR run
    with managed(build_detector(settings().detector.model_copy(update={"model_dir": fold}))) as det:
        pipeline = build_pipeline(settings(), detector=det).__enter__()
        names = [processor.name for processor in pipeline.processors]
        later = pipeline.processors[names.index("ocr_printed") + 1 :]
    ocr = TesseractOcr(settings().tesseract)
    for relabel in (False, True):
        results = {}
        for name, rule in RULES.items():
            pages = []
            for (fold, truth, page), boxes in zip(stored, found, strict=True):
                page = copy.deepcopy(page)
                larger = page.candidates
                page.candidates = [candidate for candidate in larger if rule(candidate.box, boxes)]
                if relabel:
                    for span in page.spans:
                        unsure = span.is_signature and span.detection_score < SURE_SIGNATURE_SCORE
                        if unsure and any(candidate.box.iou(span.box) >= 0.5 for candidate in larger):
                            span.kind = HandwritingKind.ANNOTATION
                pages.append((fold, truth, page))
            scores = R.replay(pages, later, ocr)
            results[name] = {fold: R.figures(scores[fold]) for fold in R.FOLDS}
            total = {
                key: sum(results[name][fold][key] for fold in R.FOLDS) for key in results[name]["fold-1"]
            }
            per_fold = [results[name][fold]["edit_errors"] for fold in R.FOLDS]
            print(f"relabel={relabel} {name}: {total} characters by fold {per_fold}", flush=True)
        print("folds choose, held out:", R.pick(results, "share<=0"))


if __name__ == "__main__":
    {"store": store, "signatures": signatures, "rules": rules}[sys.argv[1]](Path(sys.argv[2]))
