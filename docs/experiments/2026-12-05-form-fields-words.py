"""Page-OCR words as evidence of missed handwriting: the ninth session's word-level experiments.

Experiment script (not part of the product), run from the repository root:

    .venv/bin/python docs/experiments/2026-12-05-form-fields-words.py store /tmp/pages.pkl
    .venv/bin/python docs/experiments/2026-12-05-form-fields-words.py runs /tmp/pages.pkl
    .venv/bin/python docs/experiments/2026-12-05-form-fields-words.py crops /tmp/words.npz
    .venv/bin/python docs/experiments/2026-12-05-form-fields-words.py cnn /tmp/words.npz

`store` runs every contracts-dev page through the pipeline up to `extend_boxes` with the detector
fold that held its document out (as the replay script does) and pickles the pages. `runs` counts
runs of free page-OCR words on one line that the detector's map calls handwriting, by where they
fall (a person's annotation box, signature box, or outside). `crops` cuts every word of the
unmasked pages' OCR (the reading `evaluate-fields` caches) at 32 px high, labelled handwriting when
half of it lies in a person's box. `cnn` trains a small word classifier on two folds' documents
and scores the third, for each fold, and prints the out-of-fold precision at several thresholds.
About 2 minutes, a few seconds, 10 seconds and 18 minutes on this machine.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import pickle
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

from indexer.config import load_settings
from indexer.document import Box
from indexer.model_dirs.split import document_of
from indexer.processors.anchor import TOKEN_PATTERN
from indexer.processors.extend import MASKED_SHARE, _is_label
from indexer.training.fields import evaluate
from indexer.training.fields.truth import load_truth

DATA = Path("../shared/data/contracts-dev")
HEIGHT, WIDTH = 32, 160
NEAT_PAGE = "a3d4633b-ff0e-4461-8139-917a6c226ffa-1"


def store(out: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "replay", "docs/experiments/2026-12-04-form-fields-replay.py"
    )
    assert spec is not None and spec.loader is not None
    replay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replay)
    settings = load_settings()
    settings = settings.model_copy(
        update={"anchors": settings.anchors.model_copy(update={"seed": evaluate._ANCHOR_SEED})}
    )
    stored, _ = replay.stored_pages(settings, "extend_boxes")
    out.write_bytes(pickle.dumps(stored))


def _free_runs(page, threshold: float, gap_heights: float = 1.0) -> list[list]:
    masked = [span.anchor_box or span.box for span in page.spans]
    hot = sorted(
        (
            word
            for word in page.words
            if not TOKEN_PATTERN.search(word.text)
            and not any(word.box.intersection(area) > MASKED_SHARE * word.box.area for area in masked)
            and page.handwriting_map.mean(word.box) >= threshold
            and not _is_label(word.text)
        ),
        key=lambda word: word.box.x0,
    )
    runs: list[list] = []
    for word in hot:
        for run in runs:
            last = run[-1]
            height = max(last.box.height, word.box.height)
            middle = (word.box.y0 + word.box.y1) / 2
            gap = word.box.x0 - last.box.x1
            if (
                last.box.y0 - 0.3 * height <= middle <= last.box.y1 + 0.3 * height
                and -0.3 * height <= gap <= gap_heights * height
            ):
                run.append(word)
                break
        else:
            runs.append([word])
    return runs


def runs(path: Path) -> None:
    stored = pickle.loads(path.read_bytes())
    for threshold in (0.3, 0.5, 0.7, 0.85):
        for min_words in (1, 2, 3):
            where: Counter[str] = Counter()
            for _, truth, page in stored:
                for run in _free_runs(page, threshold):
                    if len(run) < min_words:
                        continue
                    box = Box.enclosing(word.box for word in run)
                    kind = next(
                        (t.kind.value for t in truth.boxes if box.intersection(t.box) >= 0.5 * box.area),
                        "outside",
                    )
                    where[kind] += 1
            print(threshold, min_words, dict(where))


def crops(out: Path) -> None:
    from indexer.backends.tesseract import TesseractOcr

    settings = load_settings()
    ocr = TesseractOcr(settings.tesseract)
    cache = settings.cache_dir / "evaluate-fields"
    folds = {}
    for fold in sorted(Path("models/detector/cv").glob("fold-*")):
        for document in json.loads((fold / "split.json").read_text())["held_out_documents"]:
            folds[document] = fold.name
    images, kinds, fold_names, names = [], [], [], []
    for truth in load_truth(DATA):
        grey = np.asarray(Image.open(truth.page.image_path).convert("L"))
        for word in evaluate._reference_words(truth, ocr, cache, dpi=200):
            box = word.box
            if box.width < 4 or box.height < 6:
                continue
            kind = next((t.kind.value for t in truth.boxes if box.intersection(t.box) >= 0.5 * box.area), "")
            cut = grey[max(box.y0 - 2, 0) : box.y1 + 2, max(box.x0 - 2, 0) : box.x1 + 2]
            width = max(1, min(WIDTH, round(cut.shape[1] * HEIGHT / cut.shape[0])))
            canvas = np.full((HEIGHT, WIDTH), 255, np.uint8)
            canvas[:, :width] = np.asarray(Image.fromarray(cut).resize((width, HEIGHT), Image.BILINEAR))
            images.append(canvas)
            kinds.append(kind)
            fold_names.append(folds[document_of(truth.stem)])
            names.append(f"{truth.stem} {word.text}")
    np.savez_compressed(
        out, X=np.stack(images), y=np.array(kinds), folds=np.array(fold_names), names=np.array(names)
    )
    print(len(images), Counter(kinds))


def cnn(path: Path) -> None:
    import tensorflow as tf

    data = np.load(path)
    images = data["X"].astype(np.float32)[..., None] / 255.0
    labels = (data["y"] != "").astype(np.float32)
    folds = data["folds"]

    def model() -> tf.keras.Model:
        inputs = tf.keras.Input((HEIGHT, WIDTH, 1))
        x = 1.0 - inputs
        for filters in (16, 32, 64):
            x = tf.keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = tf.keras.layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = tf.keras.layers.MaxPool2D()(x)
        x = tf.keras.layers.GlobalMaxPool2D()(x)
        x = tf.keras.layers.Dense(32, activation="relu")(x)
        net = tf.keras.Model(inputs, tf.keras.layers.Dense(1, activation="sigmoid")(x))
        net.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        return net

    tf.random.set_seed(0)
    rng = np.random.default_rng(0)
    scores = np.zeros(len(labels))
    for fold in sorted(set(folds)):
        train = np.where(folds != fold)[0]
        positives = train[labels[train] == 1]
        order = np.concatenate([train, np.repeat(positives, 7)])  # handwriting is 4% of the words
        rng.shuffle(order)
        net = model()
        net.fit(images[order], labels[order], epochs=6, batch_size=64, verbose=0)
        scores[folds == fold] = net.predict(images[folds == fold], verbose=0, batch_size=256)[:, 0]
    ranked = np.argsort(-scores)
    precision = np.cumsum(labels[ranked]) / np.arange(1, len(labels) + 1)
    print("average precision", round(float((precision * labels[ranked]).sum() / labels.sum()), 3))
    for threshold in (0.5, 0.8, 0.9, 0.95, 0.99):
        chosen = scores >= threshold
        print(
            threshold,
            "handwriting",
            int((chosen & (labels == 1)).sum()),
            "print",
            int((chosen & (labels == 0)).sum()),
        )
    # The neat hand that no fold detector boxes.
    for name, kind, score in zip(data["names"], data["y"], scores, strict=True):
        if name.startswith(NEAT_PAGE) and kind:
            print(f"  {name[len(NEAT_PAGE) + 1 :]} ({kind}) {score:.2f}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    {"store": store, "runs": runs, "crops": crops, "cnn": cnn}[sys.argv[1]](Path(sys.argv[2]))


if __name__ == "__main__":
    main()
