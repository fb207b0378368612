"""What the CLI calls: build the pipeline from settings, ingest files, index their pages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from elasticsearch import Elasticsearch

from indexer.artifacts import ArtifactWriter, apply_corrections, load_corrections, write_page
from indexer.backends.base import BoxDetector, HandwritingRecognizer, PrintedOcr
from indexer.config import DetectorSettings, Settings
from indexer.document import Document, Page
from indexer.errors import ConfigError, FileChangedError, IndexerError
from indexer.hashing import FileIdentity
from indexer.pipeline import PageProcessor, Pipeline
from indexer.processors.anchor import AnchorPainter, MaskWithAnchors
from indexer.processors.candidates import ConfirmCandidates
from indexer.processors.deskew import DeskewPages
from indexer.processors.detect import DetectHandwriting
from indexer.processors.entities import ExtractEntities
from indexer.processors.extend import ExtendBoxes
from indexer.processors.fields import ExtractFields, FindLabels
from indexer.processors.merge import MergeText
from indexer.processors.ocr_hand import OcrHandwriting
from indexer.processors.ocr_print import OcrPrinted
from indexer.processors.render import SUPPORTED_SUFFIXES, RenderPages, open_document
from indexer.processors.rules import FindRules
from indexer.processors.split import SplitBlocks
from indexer.processors.trim import TrimBoxes
from indexer.search import connect, ensure_configured_alias, index_documents
from indexer.search.client import translate_errors

__all__ = [
    "MODEL_FREE_PROCESSORS",
    "IngestOutcome",
    "Ingestor",
    "build_detector",
    "build_pipeline",
    "collect_inputs",
    "managed",
    "model_free_processors",
]

log = logging.getLogger(__name__)

EngineT = TypeVar("EngineT")

#: Steps that work from stored boxes, tokens, OCR words and texts: no model runs again (reindex
#: from artifacts, a correction, a correction kept across a re-ingest).
MODEL_FREE_PROCESSORS = ("find_labels", "merge_text", "extract_entities", "extract_fields")


def build_detector(config: DetectorSettings) -> BoxDetector:
    """The configured detector: our FCN, or a TensorFlow Object Detection API SavedModel.

    Raises:
        ConfigError: `tfod` is chosen without a SavedModel folder.
        DependencyError: the model files are missing.
    """
    if config.engine == "tfod":
        from indexer.backends.detector.tfod import TfodBoxDetector

        if config.tfod_saved_model is None:
            raise ConfigError("detector.engine is tfod but INDEXER_DETECTOR__TFOD_SAVED_MODEL is not set")
        return TfodBoxDetector(
            config.tfod_saved_model,
            class_ids=config.tfod_class_ids,
            score_threshold=config.tfod_score_threshold,
            threads=config.threads,
        )
    from indexer.backends.detector.predictor import TfBoxDetector

    return TfBoxDetector(
        config.model_dir,
        threads=config.threads,
        score_threshold=config.score_threshold,
        use_refiner=config.use_refiner,
    )


def managed(engine: EngineT) -> AbstractContextManager[EngineT]:
    """`with managed(engine) as engine:` closes engines that hold resources, and is a no-op for others."""
    if isinstance(engine, AbstractContextManager):
        return engine
    return nullcontext(engine)


def _default_detector(settings: Settings) -> BoxDetector:
    return build_detector(settings.detector)


def _default_recognizer(settings: Settings) -> HandwritingRecognizer:
    from indexer.backends.select import build_recognizer

    return build_recognizer(settings)  # type: ignore[no-any-return]


def _default_printed_ocr(settings: Settings) -> PrintedOcr:
    if settings.pipeline.printed_ocr == "azure":
        from indexer.backends.azure import AzureReadOcr

        return AzureReadOcr(settings.azure)  # type: ignore[attr-defined,no-any-return]
    from indexer.backends.tesseract import TesseractOcr

    return TesseractOcr(settings.tesseract)


def build_pipeline(
    settings: Settings,
    *,
    detector: BoxDetector | None = None,
    recognizer: HandwritingRecognizer | None = None,
    printed_ocr: PrintedOcr | None = None,
    artifacts: ArtifactWriter | None = None,
) -> Pipeline:
    """The one place that picks engines from the settings and orders the processors.

    Engines passed in are used as they are and stay the caller's to close (tests, benchmarks);
    the others are built from the settings, only for the processors configured, and closed with
    the pipeline.

    Raises:
        ConfigError: an unknown processor name in `pipeline.processors`.
        DependencyError: an engine's model, program or package is missing.
    """
    names = settings.pipeline.processors
    painter = AnchorPainter(settings.anchors)
    # The engines are built below, only for the steps that are configured.
    engines: dict[str, Any] = {}
    factories: dict[str, Callable[[], PageProcessor]] = {
        "deskew_pages": lambda: DeskewPages(settings.deskew),
        "detect_handwriting": lambda: DetectHandwriting(
            engines["detect_handwriting"],
            candidate_scale=settings.candidates.scale if "confirm_candidates" in names else None,
            relabel_iou=settings.candidates.relabel_iou,
        ),
        "split_blocks": lambda: SplitBlocks(engines["ocr_printed"]),
        "trim_boxes": lambda: TrimBoxes(engines["ocr_printed"]),
        "mask_with_anchors": lambda: MaskWithAnchors(painter),
        "ocr_printed": lambda: OcrPrinted(
            engines["ocr_printed"],
            painter,
            max_retries=settings.anchors.max_retries,
            reread_lost_rows=settings.anchors.reread_lost_rows,
        ),
        "ocr_handwriting": lambda: OcrHandwriting(
            engines["ocr_handwriting"],
            batch_size=settings.handwriting.batch_size,
            read_signatures=settings.handwriting.read_signatures,
            padding_px=settings.handwriting.crop_padding_px,
        ),
        "confirm_candidates": lambda: ConfirmCandidates(settings.candidates),
        "find_rules": FindRules,
        "extend_boxes": lambda: ExtendBoxes(settings.extend),
        "find_labels": FindLabels,
        "merge_text": lambda: MergeText(settings.merge),
        "extract_entities": lambda: ExtractEntities(settings.entities),
        "extract_fields": ExtractFields,
    }
    unknown = [name for name in names if name not in factories]
    if unknown:
        raise ConfigError(
            f"unknown processors {unknown} in INDEXER_PIPELINE__PROCESSORS; known: {list(factories)}"
        )
    owned: list[object] = []
    builders: dict[str, tuple[Any, Callable[[Settings], Any]]] = {
        "detect_handwriting": (detector, _default_detector),
        "ocr_printed": (printed_ocr, _default_printed_ocr),
        "ocr_handwriting": (recognizer, _default_recognizer),
    }
    for name, (given, build) in builders.items():
        if given is None and name in names:
            given = build(settings)
            owned.append(given)
        engines[name] = given
    return Pipeline(
        RenderPages(settings.render, settings.input),
        [factories[name]() for name in names],
        sinks=[artifacts] if artifacts is not None else [],
        resources=[item for item in owned if isinstance(item, AbstractContextManager)],
    )


def model_free_processors(settings: Settings) -> list[PageProcessor]:
    """The configured steps that need no model (`MODEL_FREE_PROCESSORS`), built as the pipeline
    builds them and in its order: what reindex from artifacts and a correction run on a page."""
    names = [name for name in settings.pipeline.processors if name in MODEL_FREE_PROCESSORS]
    model_free = settings.model_copy(
        update={"pipeline": settings.pipeline.model_copy(update={"processors": names})}
    )
    return build_pipeline(model_free).processors


def collect_inputs(paths: Iterable[Path]) -> list[Path]:
    """Files given, plus the supported names under folders given (recursively), in a stable order.

    Under a folder, every entry with a supported suffix is returned, even one that is not a
    readable file (a broken link, a folder named `x.pdf`): it then fails with a reason instead of
    being skipped in silence.

    Raises:
        ConfigError: a path does not exist.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                child
                for child in path.rglob("*")
                if child.suffix.lower() in SUPPORTED_SUFFIXES and not _is_under_hidden(child, path)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path} does not exist")
    return found


def _is_under_hidden(path: Path, root: Path) -> bool:
    """Hidden names and folders (`.quarantine/`, `.git/`) are not inputs."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


@dataclass(slots=True)
class IngestOutcome:
    """What happened to one input file."""

    path: Path
    document: Document | None = None
    error: IndexerError | None = None
    seconds: float = 0.0

    @property
    def is_indexed(self) -> bool:
        return self.error is None and self.document is not None


class Ingestor:
    """Runs files through one pipeline and indexes their pages through the alias."""

    def __init__(
        self,
        settings: Settings,
        *,
        pipeline: Pipeline | None = None,
        client: Elasticsearch | None = None,
        viz: bool = False,
        connect_now: bool = True,
        index_name: str | None = None,
    ) -> None:
        self.settings = settings
        self.artifacts = ArtifactWriter(
            settings.artifacts_dir,
            max_side_px=settings.artifacts.image_max_side_px,
            viz=viz,
            searchable_pdf=settings.output.searchable_pdf,
        )
        self.pipeline = pipeline or build_pipeline(settings, artifacts=self.artifacts)
        if self.artifacts not in self.pipeline.sinks:
            self.pipeline.sinks.append(self.artifacts)
        self._client = client
        self._alias_ready = False
        #: Where pages go: the alias, or a new index being filled by `reindex`.
        self._index_name = index_name
        if connect_now:
            self.client()

    def client(self) -> Elasticsearch:
        """The Elasticsearch client, connected (and the alias created) on first use.

        Raises:
            ClusterUnavailableError: the cluster cannot be reached (retry later).
        """
        if self._client is None:
            self._client = connect(self.settings)
        if not self._alias_ready:
            with translate_errors("creating the index"):
                ensure_configured_alias(self._client, self.settings.es)
            self._alias_ready = True
        return self._client

    def ingest(
        self,
        path: Path,
        *,
        identity: FileIdentity | None = None,
        on_page: Callable[[Page], None] | None = None,
    ) -> Document:
        """Run one file through the pipeline and index its pages.

        Args:
            identity: the file's hash as queued (watch daemon); the file is not hashed again,
                and nothing is indexed if it changed before or while it was processed.

        Raises:
            InputError: the file is bad (quarantine it).
            FileChangedError: the file no longer matches `identity`.
            ProcessingError, ClusterError, IndexingError: see the message.
        """
        started = time.perf_counter()
        document = open_document(path, self.settings.input, self.settings.render, identity=identity)
        self.artifacts.start(document)
        self.pipeline.run(document, on_page=on_page)
        self._keep_corrections(document)
        if identity is not None and not identity.matches(path):
            raise FileChangedError(f"{path.name} changed while it was processed; it will be hashed again")
        index_documents(self.client(), [document], self.settings.es, alias=self._index_name)
        spans = sum(len(page.spans) for page in document.pages)
        log.info(
            "indexed %s: %d pages, %d handwriting boxes, %.1f s, id %s",
            path.name,
            document.page_count,
            spans,
            time.perf_counter() - started,
            document.id[:12],
        )
        return document

    def _keep_corrections(self, document: Document) -> None:
        """Put back what people corrected on this content before (the review app's corrections,
        kept in its artifact folder), so a re-ingest never undoes a correction."""
        folder = self.artifacts.folder(document)
        changed = apply_corrections(document, load_corrections(folder))
        steps = [step for step in self.pipeline.processors if step.name in MODEL_FREE_PROCESSORS]
        for page in changed:
            for step in steps:
                step(page)
            write_page(folder, page)
        if changed:
            log.info("%s: kept the corrections of %d pages", document.filename, len(changed))

    def ingest_many(
        self,
        paths: Sequence[Path],
        *,
        on_document: Callable[[IngestOutcome], None] | None = None,
        on_page: Callable[[Page], None] | None = None,
    ) -> list[IngestOutcome]:
        """Ingest every file; one bad file never stops the rest."""
        outcomes: list[IngestOutcome] = []
        for path in paths:
            started = time.perf_counter()
            outcome = IngestOutcome(path=path)
            try:
                outcome.document = self.ingest(path, on_page=on_page)
            except IndexerError as exc:
                outcome.error = exc
                log.error("%s: %s", path, exc.message)
            except Exception as exc:  # one file's failure is that file's alone, whatever it is
                outcome.error = IndexerError(
                    f"unexpected {type(exc).__name__}: {exc} (run with -v for details)"
                )
                log.error("%s: %s", path, outcome.error.message, exc_info=log.isEnabledFor(logging.DEBUG))
            outcome.seconds = time.perf_counter() - started
            outcomes.append(outcome)
            if on_document is not None:
                on_document(outcome)
        return outcomes

    def close(self) -> None:
        self.pipeline.close()

    def __enter__(self) -> Ingestor:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()
