"""`indexer reindex`: rebuild the index behind the alias without downtime.

A new `<alias>-v<N>-<stamp>` index is created from the current mapping and filled, from the
stored artifacts (default: only the processors that need no model run again) or from the source
files (the whole pipeline). Then one atomic alias update points reads and writes at it. Searches
keep hitting the old index until that moment; if anything fails before, the new index is
deleted and the alias never moves. Elasticsearch's server-side `_reindex` is not used (the
minimal distribution has none).

No page is lost: a document the old index holds but that cannot be rebuilt (its artifacts or its
source file are missing or unreadable) is carried over from the old index's stored pages, unless
the caller asks to drop such documents.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.api import Ingestor, model_free_processors
from indexer.artifacts import iter_artifact_documents, load_document
from indexer.config import Settings
from indexer.document import Document
from indexer.errors import ConfigError, IndexingError
from indexer.search import connect, create_index, index_documents, load_mapping, swap_alias, write_actions
from indexer.search.carry import carry_over_actions, indexed_page_counts
from indexer.search.client import translate_errors

__all__ = ["ReindexResult", "Reindexer"]

log = logging.getLogger(__name__)

_BATCH_DOCUMENTS = 20


@dataclass(slots=True)
class ReindexResult:
    new_index: str
    old_indices: list[str] = field(default_factory=list)
    documents: int = 0
    pages: int = 0
    #: Documents (and their pages) copied from the old index because they could not be rebuilt.
    carried_documents: list[str] = field(default_factory=list)
    carried_pages: int = 0
    #: Documents left out on purpose (`drop_missing`), with their pages.
    dropped_documents: list[str] = field(default_factory=list)
    dropped_pages: int = 0
    seconds: float = 0.0


class Reindexer:
    """Rebuilds the alias's index from artifacts or sources, then swaps the alias."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = connect(settings)

    def _from_artifacts(self) -> Iterator[Document]:
        processors = model_free_processors(self.settings)
        for folder in iter_artifact_documents(self.settings.artifacts_dir):
            try:
                document = load_document(folder)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning(
                    "artifacts in %s are unreadable (%s); its pages come from the old index", folder, exc
                )
                continue
            for index, page in enumerate(document.pages):
                for processor in processors:
                    page = processor(page)
                document.pages[index] = page
            yield document

    def _from_sources(self, index_name: str) -> Iterator[Document]:
        ingestor = Ingestor(self.settings, client=self.client, index_name=index_name)
        with ingestor:
            for folder in iter_artifact_documents(self.settings.artifacts_dir):
                try:
                    source = Path(load_document(folder).path)
                except (OSError, ValueError, KeyError, TypeError) as exc:
                    log.warning("artifacts in %s are unreadable (%s)", folder, exc)
                    continue
                if not source.is_file():
                    log.warning("source %s is gone; its pages come from the old index", source)
                    continue
                yield ingestor.ingest(source)

    def run(
        self,
        *,
        from_source: bool = False,
        keep_old: bool = False,
        drop_missing: bool = False,
        on_document: Callable[[int, int], None] | None = None,
    ) -> ReindexResult:
        """Fill a new index, then swap the alias; on failure the alias stays where it was.

        Args:
            from_source: run the whole pipeline on the source files instead of the artifacts.
            keep_old: keep the old index after the swap.
            drop_missing: leave out the documents that cannot be rebuilt instead of carrying
                their pages over from the old index.
            on_document: called with (documents done, documents in all).

        Raises:
            ConfigError: there is nothing to rebuild from (no artifacts and no indexed pages).
            IndexerError: a document failed; the new index was removed.
        """
        root = self.settings.artifacts_dir
        alias = self.settings.es.alias
        indexed = indexed_page_counts(self.client, alias)
        total = sum(1 for _ in iter_artifact_documents(root))
        if total == 0 and not indexed:
            raise ConfigError(f"no artifacts in {root} (INDEXER_ARTIFACTS__DIR): ingest documents first")
        started = time.perf_counter()
        mapping = load_mapping(replicas=self.settings.es.number_of_replicas)
        with translate_errors("creating the new index"):
            new_index = create_index(self.client, alias, mapping)
        result = ReindexResult(new_index=new_index)
        try:
            rebuilt = self._rebuild(
                new_index, from_source=from_source, total=total, result=result, on_document=on_document
            )
            missing = Counter({doc_id: pages for doc_id, pages in indexed.items() if doc_id not in rebuilt})
            if drop_missing:
                result.dropped_documents, result.dropped_pages = sorted(missing), missing.total()
            else:
                self._carry_over(missing, new_index, mapping.mappings["properties"], result)
            if on_document is not None:
                on_document(result.documents, total + len(missing))
            with translate_errors("swapping the alias"):
                self.client.indices.refresh(index=new_index)
                result.old_indices = swap_alias(self.client, alias, new_index, delete_old=not keep_old)
        except BaseException:
            # Whatever stopped us, the alias has not moved: drop the half-built index.
            self.client.options(ignore_status=404).indices.delete(index=new_index)
            raise
        result.seconds = time.perf_counter() - started
        log.info(
            "reindexed %d pages into %s in %.1f s (%d carried over, %d dropped)",
            result.pages,
            new_index,
            result.seconds,
            result.carried_pages,
            result.dropped_pages,
        )
        return result

    def _rebuild(
        self,
        new_index: str,
        *,
        from_source: bool,
        total: int,
        result: ReindexResult,
        on_document: Callable[[int, int], None] | None,
    ) -> set[str]:
        """Index every document that can be rebuilt; return their ids."""
        documents = self._from_sources(new_index) if from_source else self._from_artifacts()
        rebuilt: set[str] = set()
        batch: list[Document] = []
        for document in documents:
            rebuilt.add(document.id)
            result.documents += 1
            result.pages += len(document.pages)
            if not from_source:  # the Ingestor has indexed it already
                batch.append(document)
            if len(batch) >= _BATCH_DOCUMENTS:
                index_documents(self.client, batch, self.settings.es, alias=new_index)
                batch = []
            if on_document is not None:
                on_document(result.documents, total)
        if batch:
            index_documents(self.client, batch, self.settings.es, alias=new_index)
        return rebuilt

    def _carry_over(
        self, missing: Counter[str], new_index: str, properties: dict[str, object], result: ReindexResult
    ) -> None:
        if not missing:
            return
        log.warning(
            "%d page(s) of %d document(s) cannot be rebuilt (artifacts or source missing); "
            "carrying them over from the old index",
            missing.total(),
            len(missing),
        )
        actions = carry_over_actions(
            self.client, self.settings.es.alias, missing, target_index=new_index, properties=properties
        )
        try:
            copied = write_actions(self.client, actions, self.settings.es)
        except IndexingError as exc:
            raise IndexingError(
                f"{exc.message}; these pages could not be carried over from the old index, so the "
                "alias was left where it was. Re-ingest their documents, run `indexer reindex "
                "--from-source`, or leave them out on purpose with `--drop-missing`",
                errors=exc.errors,
            ) from exc
        result.carried_documents, result.carried_pages = sorted(missing), copied
        result.pages += copied
        result.documents += len(missing)
