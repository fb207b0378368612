"""`indexer reindex`: rebuild the index behind the alias without downtime.

A new `<alias>-v<N>-<stamp>` index is created from the current mapping and filled, from the
stored artifacts (default: only the processors that need no model run again) or from the source
files (the whole pipeline). Then one atomic alias update points reads and writes at it. Searches
keep hitting the old index until that moment; if anything fails before, the new index is
deleted and the alias never moves. Elasticsearch's server-side `_reindex` is not used (the
minimal distribution has none).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from indexer.api import Ingestor, build_pipeline
from indexer.artifacts import iter_artifact_documents, load_document
from indexer.config import Settings
from indexer.document import Document
from indexer.errors import ConfigError
from indexer.pipeline import PageProcessor
from indexer.search import connect, create_index, index_documents, load_mapping, swap_alias
from indexer.search.client import translate_errors

__all__ = ["MODEL_FREE_PROCESSORS", "ReindexResult", "Reindexer"]

log = logging.getLogger(__name__)

#: Steps that work from stored boxes, tokens, OCR words and texts: no model runs again.
MODEL_FREE_PROCESSORS = ("merge_text", "extract_entities")
_BATCH_DOCUMENTS = 20


@dataclass(slots=True)
class ReindexResult:
    new_index: str
    old_indices: list[str] = field(default_factory=list)
    documents: int = 0
    pages: int = 0
    seconds: float = 0.0


class Reindexer:
    """Rebuilds the alias's index from artifacts or sources, then swaps the alias."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = connect(settings)

    def _model_free_processors(self) -> list[PageProcessor]:
        names = [name for name in self.settings.pipeline.processors if name in MODEL_FREE_PROCESSORS]
        model_free = self.settings.model_copy(
            update={"pipeline": self.settings.pipeline.model_copy(update={"processors": names})}
        )
        return build_pipeline(model_free).processors

    def _from_artifacts(self) -> Iterator[Document]:
        processors = self._model_free_processors()
        for folder in iter_artifact_documents(self.settings.artifacts_dir):
            document = load_document(folder)
            for index, page in enumerate(document.pages):
                for processor in processors:
                    page = processor(page)
                document.pages[index] = page
            yield document

    def _from_sources(self, index_name: str) -> Iterator[Document]:
        ingestor = Ingestor(self.settings, client=self.client, index_name=index_name)
        with ingestor:
            for folder in iter_artifact_documents(self.settings.artifacts_dir):
                source = Path(load_document(folder).path)
                if not source.is_file():
                    log.warning("source %s is gone; its pages are left out", source)
                    continue
                yield ingestor.ingest(source)

    def run(
        self,
        *,
        from_source: bool = False,
        keep_old: bool = False,
        on_document: Callable[[int, int], None] | None = None,
    ) -> ReindexResult:
        """Fill a new index, then swap the alias; on failure the alias stays where it was.

        Raises:
            ConfigError: there are no artifacts to rebuild from.
            IndexerError: a document failed; the new index was removed.
        """
        root = self.settings.artifacts_dir
        total = sum(1 for _ in iter_artifact_documents(root))
        if total == 0:
            raise ConfigError(f"no artifacts in {root} (INDEXER_ARTIFACTS__DIR): ingest documents first")
        started = time.perf_counter()
        alias, es = self.settings.es.alias, self.settings.es
        with translate_errors("creating the new index"):
            new_index = create_index(self.client, alias, load_mapping())
        result = ReindexResult(new_index=new_index)
        try:
            documents = self._from_sources(new_index) if from_source else self._from_artifacts()
            batch: list[Document] = []
            for document in documents:
                batch.append(document)
                result.documents += 1
                result.pages += len(document.pages)
                if len(batch) >= _BATCH_DOCUMENTS and not from_source:
                    index_documents(self.client, batch, es, alias=new_index)
                    batch = []
                if on_document is not None:
                    on_document(result.documents, total)
            if batch and not from_source:
                index_documents(self.client, batch, es, alias=new_index)
            with translate_errors("swapping the alias"):
                self.client.indices.refresh(index=new_index)
                result.old_indices = swap_alias(self.client, alias, new_index, delete_old=not keep_old)
        except BaseException:
            # Whatever stopped us, the alias has not moved: drop the half-built index.
            self.client.options(ignore_status=404).indices.delete(index=new_index)
            raise
        result.seconds = time.perf_counter() - started
        log.info("reindexed %d pages into %s in %.1f s", result.pages, new_index, result.seconds)
        return result
