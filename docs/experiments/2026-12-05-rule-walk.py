"""The rule walk of `extend_boxes`: words written on the blank's printed rule join the box.

Experiment script (not part of the product), run from the repository root:

    .venv/bin/python docs/experiments/2026-12-05-rule-walk.py

Each contracts-dev page runs once through the pipeline up to `find_rules` with the
detector fold that held its document out (as the replay script does). Then, for every setting of
the grid (`rule_max_gap_heights`, `rule_min_height_share`, `rule_misread_confidence`; a gap of
None turns the rule walk off), `extend_boxes` with that setting and the later steps run on a
copy, scored as `evaluate-fields` scores. Each fold picks the setting with the fewest kind
errors, then edit errors, on the other two folds' documents (ties keep the shipped setting), and
the held-out totals are printed. About 2 minutes, then 16 seconds a setting on this machine.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
from typing import Any

from indexer.backends.tesseract import TesseractOcr
from indexer.config import load_settings
from indexer.processors.extend import ExtendBoxes
from indexer.training.fields import evaluate

spec = importlib.util.spec_from_file_location("replay", "docs/experiments/2026-12-04-form-fields-replay.py")
assert spec is not None and spec.loader is not None
R = importlib.util.module_from_spec(spec)
spec.loader.exec_module(R)

SHIPPED = (1.5, 0.45, 0.5)
GRID = [(None, 0.45, 0.5), *itertools.product((1.0, 1.5, 2.0), (0.3, 0.45, 0.6), (0.0, 0.5))]


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    base = load_settings()
    settings = base.model_copy(
        update={"anchors": base.anchors.model_copy(update={"seed": evaluate._ANCHOR_SEED})}
    )
    stored, later = R.stored_pages(settings, "find_rules")
    assert later[0].name == "extend_boxes"
    ocr = TesseractOcr(settings.tesseract)
    results: dict[Any, dict[str, dict[str, int]]] = {}
    for gap, share, confidence in GRID:
        extend = settings.extend.model_copy(
            update={
                "rule_max_gap_heights": gap,
                "rule_min_height_share": share,
                "rule_misread_confidence": confidence,
            }
        )
        scores = R.replay(stored, [ExtendBoxes(extend), *later[1:]], ocr)
        results[(gap, share, confidence)] = {fold: R.figures(scores[fold]) for fold in R.FOLDS}
        total = R.figures([score for fold in R.FOLDS for score in scores[fold]])
        print((gap, share, confidence), total, flush=True)
    choices, held = R.pick(results, SHIPPED)
    print("choices", choices)
    print("held out", held)


if __name__ == "__main__":
    main()
