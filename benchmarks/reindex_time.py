"""Time `indexer reindex` from artifacts for N pages (default 1,000): run by hand, prints figures.

Usage: .venv/bin/python -m benchmarks.reindex_time [--pages 1000]
Writes N one-page artifact documents shaped like real ones (about 300 OCR words, 4 handwriting
spans with tokens), indexes them, then rebuilds the index from the artifacts and swaps the alias.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
import time
from pathlib import Path

from indexer.artifacts import ArtifactWriter
from indexer.config import load_settings
from indexer.document import Box, Document, HandwritingKind, Page, Span, Word
from indexer.search import connect, ensure_alias, index_documents, load_mapping
from indexer.search.reindex import Reindexer

WORDS_PER_LINE = 12
LINES = 25
VOCABULARY = ("lease", "premises", "rent", "Government", "Lessor", "shall", "the", "of", "to", "parking")


def _page(number: int) -> Page:
    words = [
        Word(
            VOCABULARY[(line + column) % len(VOCABULARY)],
            Box(100 + 110 * column, 100 + 60 * line, 200 + 110 * column, 130 + 60 * line),
            0.95,
            block=1 + line // 5,
            line=line,
        )
        for line in range(LINES)
        for column in range(WORDS_PER_LINE)
    ]
    spans = []
    for index in range(4):
        line = 3 + 5 * index
        box = Box(1430, 95 + 60 * line, 1600, 135 + 60 * line)
        token = f"8{(number * 4 + index) % 1000:03d}8"
        words.append(
            Word(
                token, Box(1460, 100 + 60 * line, 1560, 130 + 60 * line), 0.95, block=1 + line // 5, line=line
            )
        )
        kind = HandwritingKind.SIGNATURE if index == 3 else HandwritingKind.ANNOTATION
        text = "" if index == 3 else f"{1 + index}/{1 + number % 28}/11"
        spans.append(
            Span(
                id=f"p1-h{index}",
                kind=kind,
                box=box,
                detection_score=0.9,
                anchor=token,
                text=text,
                confidence=0.7,
            )
        )
    return Page(number=1, dpi=200, width=1700, height=2200, spans=spans, words=words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=1000)
    arguments = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-reindex-"))
    settings = load_settings(
        overrides={"es": {"alias": f"bench-reindex-{int(time.time())}"}, "artifacts": {"dir": scratch}}
    )
    writer = ArtifactWriter(scratch, max_side_px=500)
    documents = []
    for number in range(arguments.pages):
        digest = hashlib.sha256(f"bench {number}".encode()).hexdigest()
        document = Document(
            id=digest, path=f"/bench/{number}.pdf", filename=f"{number}.pdf", size_bytes=1, page_count=1
        )
        writer.start(document)
        page = _page(number)
        writer(document, page)
        document.pages.append(page)
        documents.append(document)
    client = connect(settings)
    ensure_alias(client, settings.es.alias, load_mapping())
    index_documents(client, documents, settings.es)
    started = time.perf_counter()
    result = Reindexer(settings).run()
    seconds = time.perf_counter() - started
    count = client.count(index=settings.es.alias)["count"]
    print(
        f"reindexed {result.pages} pages ({result.documents} documents) from artifacts in {seconds:.1f} s "
        f"({1000 * seconds / result.pages:.1f} ms/page); alias on {result.new_index}; "
        f"{count} pages searchable"
    )
    client.indices.delete(index=f"{settings.es.alias}-*")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
