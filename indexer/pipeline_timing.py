"""`indexer bench`: per-processor seconds per page against plain Tesseract on the same pages.

Both run in the same process, on the same rendered pages, one after the other, so machine noise
hits both alike. Plain Tesseract is the `tesseract` program with `OMP_THREAD_LIMIT=1` (its fastest
setting on two cores) reading the page from a lossless PNG.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from indexer.api import build_pipeline
from indexer.backends.tesseract import run_tesseract_program
from indexer.config import Settings
from indexer.document import Document, Page
from indexer.errors import InputError
from indexer.processors.render import IMAGE_SUFFIXES, RenderPages, open_document

__all__ = ["BenchReport", "run_bench"]

log = logging.getLogger(__name__)

TESSERACT_BASELINE = "plain tesseract"


@dataclass(slots=True)
class BenchReport:
    """Seconds per page for each step, and the same pages through plain Tesseract."""

    steps: dict[str, list[float]] = field(default_factory=dict)
    pipeline_s: list[float] = field(default_factory=list)
    tesseract_s: list[float] = field(default_factory=list)
    pages: int = 0
    #: How the handwriting spans were put back: exact, fuzzy or geometry (see `merge_text`).
    placements: Counter[str] = field(default_factory=Counter)

    @property
    def ratio(self) -> float:
        return statistics.median(self.pipeline_s) / statistics.median(self.tesseract_s)

    def table(self) -> str:
        rows = [f"{'step':<22} {'median s/page':>14}"]
        rows += [f"{name:<22} {statistics.median(times):>14.3f}" for name, times in self.steps.items()]
        rows.append(f"{'whole pipeline':<22} {statistics.median(self.pipeline_s):>14.3f}")
        rows.append(f"{TESSERACT_BASELINE:<22} {statistics.median(self.tesseract_s):>14.3f}")
        rows.append(f"pipeline / tesseract: {self.ratio:.2f} over {self.pages} pages")
        total = sum(self.placements.values())
        if total:
            shares = ", ".join(
                f"{name} {count} ({count / total:.0%})" for name, count in self.placements.most_common()
            )
            rows.append(f"handwriting spans placed: {shares} of {total}")
        return "\n".join(rows)


def _no_page(path: Path) -> InputError:
    return InputError(
        f"no page to time in {path}: give a PDF, a page image or a folder of page images "
        f"({', '.join(sorted(IMAGE_SUFFIXES))})"
    )


def _page_files(path: Path) -> list[Path]:
    """The files to time, found before the pipeline (and its models) is built."""
    if not path.is_dir():
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise _no_page(path)
    return files


def _pages(settings: Settings, files: list[Path], max_pages: int) -> Iterator[Page]:
    renderer = RenderPages(settings.render, settings.input)
    produced = 0
    for file in files:
        document: Document = open_document(file, settings.input, settings.render)
        for page in renderer.pages(document):
            yield page
            produced += 1
            if produced >= max_pages:
                return


def run_bench(
    settings: Settings, path: Path, *, max_pages: int = 10, on_page: Callable[[Page], None] | None = None
) -> BenchReport:
    """Time every processor and plain Tesseract on up to `max_pages` pages of `path`.

    Raises:
        InputError: `path` gave no page to time (a folder with no page images, say).
    """
    report = BenchReport()
    files = _page_files(path)
    with build_pipeline(settings) as pipeline, tempfile.TemporaryDirectory() as scratch:
        warm_up = True
        for page in _pages(settings, files, max_pages):
            if page.image is None:
                continue
            png = Path(scratch) / "page.png"
            Image.fromarray(page.image).save(png)
            if warm_up:
                # Models build their graphs on the first call: keep that out of the figures.
                pipeline.run_page(
                    Page(
                        number=page.number,
                        dpi=page.dpi,
                        width=page.width,
                        height=page.height,
                        image=page.image,
                    )
                )
                warm_up = False
            started = time.perf_counter()
            run_tesseract_program(png, settings.tesseract, dpi=page.dpi)
            report.tesseract_s.append(time.perf_counter() - started)
            page = pipeline.run_page(page)
            for name, seconds in page.timings_s.items():
                report.steps.setdefault(name, []).append(seconds)
            report.pipeline_s.append(sum(page.timings_s.values()))
            report.placements.update(span.placement.value for span in page.spans)
            report.pages += 1
            log.info(
                "bench page %d: pipeline %.2f s, tesseract %.2f s",
                report.pages,
                report.pipeline_s[-1],
                report.tesseract_s[-1],
            )
            if on_page is not None:
                on_page(page)
    if not report.pages:
        # A PDF can still render no page.
        raise _no_page(path)
    return report
