"""The page pipeline: an ordered list of small processors, like an Elasticsearch ingest pipeline.

A document's pages are rendered one at a time; each page goes through every processor in
order, then its artifacts are written and its images are dropped, so memory stays bounded by
one page whatever the page count.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack
from typing import Any, Protocol, runtime_checkable

from indexer.document import Document, Page
from indexer.errors import IndexerError, ProcessingError

__all__ = ["PageProcessor", "PageSink", "PageSource", "Pipeline"]

log = logging.getLogger(__name__)


@runtime_checkable
class PageProcessor(Protocol):
    """One step: fills the page fields it owns and returns the page."""

    name: str

    def __call__(self, page: Page) -> Page: ...

    def describe(self) -> str:
        """One line for `indexer pipeline`: the step and the engine behind it."""
        ...


class PageSink(Protocol):
    """Receives each finished page (e.g. writes its artifacts) before its images are dropped."""

    def __call__(self, document: Document, page: Page) -> None: ...


class PageSource(Protocol):
    """Renders a document's pages one at a time (the first step of every pipeline)."""

    name: str

    def pages(self, document: Document) -> Iterator[Page]: ...

    def describe(self) -> str: ...


class Pipeline:
    """Renders pages and runs page processors on each, in order; closes its engines at the end."""

    def __init__(
        self,
        source: PageSource,
        processors: Sequence[PageProcessor],
        *,
        sinks: Sequence[PageSink] = (),
        resources: Sequence[AbstractContextManager[Any]] = (),
    ) -> None:
        self.source = source
        self.processors = list(processors)
        self.sinks = list(sinks)
        self._resources = ExitStack()
        for resource in resources:
            self._resources.enter_context(resource)

    def describe(self) -> list[str]:
        return [self.source.describe(), *(processor.describe() for processor in self.processors)]

    def close(self) -> None:
        self._resources.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run_page(self, page: Page) -> Page:
        """Run every processor on one page, timing each and naming the step that failed.

        Raises:
            ProcessingError: a step failed; the message names the processor and the page.
        """
        for processor in self.processors:
            started = time.perf_counter()
            try:
                page = processor(page)
            except ProcessingError as exc:
                if exc.processor is not None:
                    raise
                raise exc.located(processor.name, page.number) from exc
            except IndexerError:
                raise
            except Exception as exc:
                raise ProcessingError(
                    f"{type(exc).__name__}: {exc}", processor=processor.name, page=page.number
                ) from exc
            elapsed = time.perf_counter() - started
            page.timings_s[processor.name] = page.timings_s.get(processor.name, 0.0) + elapsed
            log.debug("page %d: %s took %.3f s", page.number, processor.name, elapsed)
        return page

    def run(self, document: Document, *, on_page: Callable[[Page], None] | None = None) -> None:
        """Render and process every page of `document`; pages are appended without their images."""
        document.pages = []
        for page in self.source.pages(document):
            page = self.run_page(page)
            for sink in self.sinks:
                sink(document, page)
            page.image = None
            page.masked_image = None
            page.handwriting_map = None
            document.pages.append(page)
            if on_page is not None:
                on_page(page)
