"""`indexer evaluate-fields`: the whole path from a scanned page to the index, scored per field.

Each labelled document's page images are wrapped into one PDF (the JPEG bytes as they are, at the
images' resolution), ingested by the product's pipeline into a scratch alias, and what the index
then holds is scored against what a person read (`score.py`). With detector folders that record
their split (`split.json`, as the shipped cross-validation folds under `models/detector/cv/`), each
document is read by the fold whose detector never trained on it; documents no fold held out are
left out, and said so.
"""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import img2pdf
from elasticsearch import Elasticsearch

from indexer.api import Ingestor, build_detector, build_pipeline, managed
from indexer.backends.base import BoxDetector, PrintedOcr
from indexer.backends.tesseract import TesseractOcr
from indexer.config import Settings
from indexer.document import Box, Document, Page, Word
from indexer.errors import InputError
from indexer.hashing import sha256_file
from indexer.images import read_rgb
from indexer.model_dirs.split import document_of, read_split
from indexer.processors.deskew import turned_box
from indexer.search import connect
from indexer.training.fields.score import (
    FieldsReport,
    IndexedSpan,
    PageScore,
    lost_printed_words,
    score_page,
    summarise,
)
from indexer.training.fields.truth import TruthBox, TruthPage, load_truth
from indexer.training.progress import ProgressCallback

__all__ = ["FieldsRun", "default_folds", "evaluate_fields", "spans_of_source"]

log = logging.getLogger(__name__)

#: Where the shipped detector's cross-validation folds live, under the detector's model folder.
CV_FOLDER = "cv"
_SCRATCH_PREFIX = "evaluate-fields"
_ANCHOR_SEED = 0


@dataclass(frozen=True, slots=True)
class FieldsRun:
    report: FieldsReport
    pages: list[PageScore]
    #: Documents left out: no fold held them out and the configured detector trained on them.
    skipped_documents: list[str]
    #: Documents the configured detector read (with folds: those no fold held out).
    configured_documents: list[str]


def default_folds(settings: Settings) -> list[Path]:
    """The shipped detector's cross-validation folds (`<model_dir>/cv/fold-*`), in order."""
    root = settings.detector.model_dir / CV_FOLDER
    return sorted(path for path in root.glob("fold-*") if (path / "split.json").is_file())


def _assign(
    documents: Sequence[str], folds: Sequence[Path], configured: Path
) -> tuple[dict[Path | None, list[str]], list[str]]:
    """Documents per detector folder (None: the configured detector), and the documents left out.

    A document a fold held out goes to that fold. One no fold held out goes to the configured
    detector (`configured`, its model folder) unless that detector's split.json says it trained
    on it: pages nobody trained on (a new labelled folder) are scored with the shipped model,
    pages it fitted are left out. A detector without split.json cannot say; it is used, with a
    warning. Without folds the configured detector reads every document (a fit, if it trained on
    them: `--no-folds` says so).
    """
    if not folds:
        return {None: list(documents)}, []
    held_out = {}
    for folder in folds:
        record = read_split(folder)
        if record is None:
            raise InputError(
                f"{folder} has no split.json, so its held-out documents are unknown", path=str(folder)
            )
        held_out[folder] = record.held_out_documents
    own = read_split(configured)
    trained_on = own.train_documents if own is not None else frozenset()
    assigned: dict[Path | None, list[str]] = defaultdict(list)
    skipped: list[str] = []
    for document in documents:
        chosen = next((folder for folder in folds if document in held_out[folder]), None)
        if chosen is not None:
            assigned[chosen].append(document)
        elif document in trained_on:
            skipped.append(document)
        else:
            assigned[None].append(document)
    if own is None and assigned.get(None):
        log.warning(
            "the detector in %s records no split.json: it may have trained on the %d documents it reads",
            configured,
            len(assigned[None]),
        )
    return dict(assigned), skipped


def _page_number(page: TruthPage) -> int:
    """`lease-3` -> 3: the page's place in its document (0 when its name has no number)."""
    tail = page.stem.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


def _write_pdf(pages: Sequence[TruthPage], path: Path) -> Path:
    """One PDF of the document's page images, embedded as they are (JPEG stays JPEG)."""
    dpi = 200
    layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
    path.write_bytes(img2pdf.convert([str(page.page.image_path) for page in pages], layout_fun=layout))
    return path


def _reference_words(page: TruthPage, ocr: PrintedOcr, cache_dir: Path, *, dpi: int) -> list[Word]:
    """The OCR of the unmasked page (for the printed words lost), cached by the image's bytes."""
    digest = sha256_file(page.page.image_path)[:24]
    # `-grey`: since the page OCR reads the grey page (`backends.tesseract`), earlier readings of
    # the colour page are not reused.
    cached = cache_dir / f"{digest}-{ocr.name}-{ocr.version}-grey.json"
    if cached.is_file():
        return [Word.from_dict(item) for item in json.loads(cached.read_text(encoding="utf-8"))]
    words = ocr.read_page(read_rgb(page.page.image_path), dpi=dpi).words
    cache_dir.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps([asdict(word) for word in words]), encoding="utf-8")
    return words


@contextmanager
def _scratch_settings(settings: Settings, keep_index: bool) -> Iterator[Settings]:
    """Settings that index into a scratch alias and write artifacts to a temporary folder.

    The anchor tokens are drawn from a fixed seed (unless one is configured): the page OCR reads
    the printed words around a token a little differently for each token, so two runs of the
    same code would otherwise differ by a box or two.
    """
    alias = f"{_SCRATCH_PREFIX}-{uuid.uuid4().hex[:8]}"
    seed = settings.anchors.seed if settings.anchors.seed is not None else _ANCHOR_SEED
    with tempfile.TemporaryDirectory(prefix="evaluate-fields-") as folder:
        scratch = settings.model_copy(
            update={
                "es": settings.es.model_copy(update={"alias": alias}),
                "artifacts": settings.artifacts.model_copy(update={"dir": Path(folder) / "artifacts"}),
                "anchors": settings.anchors.model_copy(update={"seed": seed}),
            }
        )
        client = connect(scratch)
        _warn_of_leftovers(client, scratch.es.hosts[0])
        try:
            yield scratch
        finally:
            if keep_index:
                log.warning("kept the scratch alias %s (--keep-index)", alias)
            else:
                log.info("deleting the scratch indices %s-* this evaluation made", alias)
                client.indices.delete(index=f"{alias}-*", ignore_unavailable=True, allow_no_indices=True)
                client.options(ignore_status=404).indices.delete_index_template(name=f"{alias}-pages")
            client.close()


def _warn_of_leftovers(client: Elasticsearch, url: str) -> None:
    """Say which scratch indices an earlier run left (killed before it could delete them).

    They are not deleted here: another evaluation may be running against the same node.
    """
    leftovers = sorted(
        client.indices.get(index=f"{_SCRATCH_PREFIX}-*", ignore_unavailable=True, allow_no_indices=True)
    )
    if leftovers:
        log.warning(
            "%d scratch indices of an earlier evaluate-fields are still on the node (%s); if no "
            "evaluation is running, delete them with: curl -X DELETE '%s/%s-*'",
            len(leftovers),
            ", ".join(leftovers),
            url.rstrip("/"),
            _SCRATCH_PREFIX,
        )


def _indexed_spans(client: Elasticsearch, alias: str, page_id: str) -> list[IndexedSpan]:
    return spans_of_source(client.get(index=alias, id=page_id)["_source"])


def spans_of_source(source: dict[str, Any]) -> list[IndexedSpan]:
    """The handwriting spans of a page's `_source` as scored, each with its date fields' values."""
    field_dates: dict[str, list[str]] = defaultdict(list)
    for item in source.get("fields", []):
        if item.get("type") == "date" and item.get("value_date"):
            field_dates[str(item.get("span_id"))].append(str(item["value_date"])[:10])
    return [
        IndexedSpan.from_source(span, field_dates.get(str(span.get("id")), []))
        for span in source.get("handwriting", [])
    ]


def evaluate_fields(
    settings: Settings,
    data_dir: Path,
    *,
    folds: Sequence[Path] = (),
    max_pages: int | None = None,
    keep_index: bool = False,
    on_progress: ProgressCallback | None = None,
) -> FieldsRun:
    """Ingest the labelled pages of `data_dir` with the product's pipeline and score the index.

    Args:
        folds: detector folders with `split.json`; each document is read by the one that held it
            out. Empty: the configured detector reads every document (a fit, if it trained on them).
        max_pages: score only the first pages (in name order), for a quick look.

    Raises:
        InputError: the folder has no labels or readings, or a fold has no split.json.
    """
    truth = load_truth(data_dir)[:max_pages]
    by_document: dict[str, list[TruthPage]] = defaultdict(list)
    for page in truth:
        by_document[document_of(page.stem)].append(page)
    for pages in by_document.values():
        pages.sort(key=_page_number)
    assigned, skipped = _assign(sorted(by_document), folds, settings.detector.model_dir)
    if skipped:
        log.warning(
            "%d documents left out: no fold held them out and the configured detector trained on them: %s",
            len(skipped),
            ", ".join(skipped),
        )
    total = sum(len(by_document[document]) for documents in assigned.values() for document in documents)
    scores: list[PageScore] = []
    with ExitStack() as stack:
        scratch = stack.enter_context(_scratch_settings(settings, keep_index))
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="evaluate-fields-pdf-")))
        ocr = stack.enter_context(TesseractOcr(settings.tesseract))
        cache_dir = settings.cache_dir / "evaluate-fields"
        for folder, documents in assigned.items():
            detector_settings = (
                settings.detector
                if folder is None
                else settings.detector.model_copy(update={"model_dir": folder})
            )
            with managed(build_detector(detector_settings)) as detector:
                scores += _run_documents(
                    scratch,
                    detector,
                    ocr,
                    [(d, by_document[d]) for d in documents],
                    workdir,
                    cache_dir,
                    done=len(scores),
                    total=total,
                    on_progress=on_progress,
                )
    return FieldsRun(summarise(scores), scores, skipped, sorted(assigned.get(None, [])))


_Boxed = TypeVar("_Boxed", TruthBox, Word)


def _straightened(items: list[_Boxed], page: Page) -> list[_Boxed]:
    """Boxes of the page as scanned (the person's, the reference OCR's words) in the pixels of the
    page as the pipeline straightened it, which the index's are in."""
    if page.skew_degrees == 0:
        return items
    return [
        replace(item, box=turned_box(item.box, page.skew_degrees, page.width, page.height)) for item in items
    ]


def _run_documents(
    settings: Settings,
    detector: BoxDetector,
    ocr: TesseractOcr,
    documents: Sequence[tuple[str, list[TruthPage]]],
    workdir: Path,
    cache_dir: Path,
    *,
    done: int,
    total: int,
    on_progress: ProgressCallback | None,
) -> list[PageScore]:
    scores = []
    ingestor = Ingestor(settings, pipeline=build_pipeline(settings, detector=detector, printed_ocr=ocr))
    with ingestor:
        for name, pages in documents:
            document: Document = ingestor.ingest(_write_pdf(pages, workdir / f"{name}.pdf"))
            ingestor.client().indices.refresh(index=settings.es.alias)
            for labelled, page in zip(pages, document.pages, strict=True):
                truth = replace(labelled, boxes=_straightened(labelled.boxes, page))
                score = score_page(
                    truth, _indexed_spans(ingestor.client(), settings.es.alias, document.page_id(page))
                )
                blanked: list[Box] = [span.anchor_box for span in page.spans if span.anchor_box is not None]
                reference = _straightened(_reference_words(labelled, ocr, cache_dir, dpi=page.dpi), page)
                score.printed_words, lost = lost_printed_words(reference, truth.boxes, blanked)
                score.printed_lost = len(lost)
                score.details += [
                    {"page": truth.stem, "lost_printed_word": word.text, "box": word.box.as_tuple()}
                    for word in lost
                ]
                scores.append(score)
                if on_progress is not None:
                    on_progress("evaluate-fields", done + len(scores), total, truth.stem)
    return scores
