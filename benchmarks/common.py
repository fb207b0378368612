"""Shared helpers for the benchmark scripts: generated PDFs and peak memory of a process tree."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import psutil

from indexer.training.synthetic import render_page
from tests.factories import DPI, write_image_pdf

_SAMPLE_S = 0.2


def make_pdf(path: Path, pages: int, *, seed: int, distinct_pages: int = 10) -> Path:
    """A scanned-looking PDF of `pages` pages (cycling through `distinct_pages` generated ones)."""
    from indexer.training.augment import scan_effects

    rng = np.random.default_rng(seed)
    images = [scan_effects(render_page(rng, dpi=DPI).image, rng) for _ in range(min(pages, distinct_pages))]
    return write_image_pdf(path, [images[index % len(images)] for index in range(pages)])


class PeakMemory:
    """Samples the summed RSS of a process and all its children until stopped."""

    def __init__(self, pid: int) -> None:
        self._root = psutil.Process(pid)
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _rss(self) -> int:
        total = 0
        try:
            for process in [self._root, *self._root.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
        except psutil.Error:
            return 0
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._rss())
            time.sleep(_SAMPLE_S)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
