"""Milliseconds per handwriting crop in batches of 16, as the pipeline reads them: run by hand.

Usage: .venv/bin/python -m benchmarks.htr_speed [--engine htr] [--repeats 3]
Reads every legible labelled crop of ../shared/data/contracts-dev (lines cut first, as
`build_recognizer` does) after one warm-up batch, and prints each batch's figure per repeat.
The budget is 40 ms per crop (median) in batches of 16 on the 2-core development machine;
the figure depends on those cores being free, so the load average is printed with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from indexer.backends.select import build_recognizer
from indexer.config import load_settings
from indexer.training.htr.evaluate import load_split, run_recognizer

CONTRACTS_DEV = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "contracts-dev"
BATCH = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="htr")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=CONTRACTS_DEV)
    args = parser.parse_args()
    crops = [
        pixels
        for _, pixels in load_split(args.data / "transcriptions.json", args.data / "images", split="all")
    ]
    recognizer = build_recognizer(load_settings(overrides={"handwriting": {"engine": args.engine}}))
    load_before = _load()
    recognizer.recognize(crops[:BATCH])  # model loading and graph building are not reading time
    figures: list[float] = []
    for repeat in range(args.repeats):
        row = []
        for start in range(0, len(crops), BATCH):
            _, ms_per_crop = run_recognizer(recognizer, crops[start : start + BATCH], batch_size=BATCH)
            row.append(ms_per_crop)
        figures += row
        print(f"repeat {repeat + 1}: " + " ".join(f"{ms:.0f}" for ms in row) + " ms/crop per batch")
    print(
        f"{len(crops)} crops, batches of {BATCH}: median {statistics.median(figures):.1f} ms/crop, "
        f"worst batch {max(figures):.1f} ms/crop; load average {load_before} before, {_load()} after"
    )


def _load() -> str:
    """The 1-, 5- and 15-minute load averages: other work on the 2 cores slows every batch."""
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
