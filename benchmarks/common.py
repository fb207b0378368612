"""Shared helpers for the benchmark scripts: generated PDFs, page counts and peak memory of a
process tree."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Self

import numpy as np
import psutil
from elasticsearch import Elasticsearch

from indexer.training.data.synthetic import render_page
from tests.factories import DPI, write_image_pdf

_SAMPLE_S = 0.5


def make_pdf(path: Path, pages: int, *, seed: int, distinct_pages: int = 10) -> Path:
    """A scanned-looking PDF of `pages` pages (cycling through `distinct_pages` generated ones)."""
    from indexer.training.data.augment import scan_effects

    rng = np.random.default_rng(seed)
    images = [scan_effects(render_page(rng, dpi=DPI).image, rng) for _ in range(min(pages, distinct_pages))]
    return write_image_pdf(path, [images[index % len(images)] for index in range(pages)])


def variants(source: Path, folder: Path, prefix: str, count: int) -> list[Path]:
    """Distinct files (different bytes, so different documents) of one PDF, `prefix-NNNN.pdf`."""
    folder.mkdir(parents=True, exist_ok=True)
    data = source.read_bytes()
    made = []
    for index in range(count):
        path = folder / f"{prefix}-{index:04d}.pdf"
        path.write_bytes(data + f"\n% variant {prefix} {index}\n".encode())
        made.append(path)
    return made


def count_pages(client: Elasticsearch, alias: str, query: dict[str, Any] | None = None) -> int:
    """Pages under the alias (matching `query`); 0 before the alias exists."""
    if not client.indices.exists_alias(name=alias):
        return 0
    return int(client.count(index=alias, query=query or {"match_all": {}})["count"])


class MemorySampler:
    """Samples the summed RSS and PSS of some processes until stopped; subclasses choose which.

    RSS counts shared pages (TensorFlow's libraries) once per process; PSS splits them between
    the processes that share them, so its sum is what the processes really occupy.
    """

    def __init__(self) -> None:
        self.peak_bytes = 0
        self.peak_pss_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def processes(self) -> list[psutil.Process]:
        raise NotImplementedError

    def sample(self) -> tuple[int, int]:
        """The summed RSS and PSS of the measured processes now, in bytes."""
        rss = pss = 0
        for process in self.processes():
            try:
                memory = process.memory_full_info()
            except psutil.Error:
                continue
            rss += memory.rss
            pss += getattr(memory, "pss", memory.rss)
        return rss, pss

    def _run(self) -> None:
        while not self._stop.is_set():
            rss, pss = self.sample()
            self.peak_bytes = max(self.peak_bytes, rss)
            self.peak_pss_bytes = max(self.peak_pss_bytes, pss)
            time.sleep(_SAMPLE_S)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


class PeakMemory(MemorySampler):
    """Peak memory of a process and all its children."""

    def __init__(self, pid: int) -> None:
        super().__init__()
        self._root = psutil.Process(pid)

    def processes(self) -> list[psutil.Process]:
        try:
            return [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return []
