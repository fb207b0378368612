"""`indexer search` query syntax (simple_query_string) and highlight fragments, on the real node."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from indexer.cli import app
from indexer.config import Settings
from indexer.document import Box, Document, HandwritingKind, Page, Placement, Span
from indexer.search import ensure_alias, index_documents, load_mapping
from indexer.search.query import HIGHLIGHT_POST, HIGHLIGHT_PRE, split_highlight

#: Filename -> (page content, handwritten annotation or None). Filenames share no word with the
#: contents, since `document.filename.text` is searched too.
PAGES = {
    "scan-1.pdf": (
        "Lease No. GS-09B-12345 between the parties. The annual rent shall be payable monthly. "
        "Renewal is governed by section 12 of this Lease",
        "extended to 2012",
    ),
    "scan-2.pdf": ("Amendment to the rental agreement. The rent shall be paid quarterly.", "approved Artz"),
    "scan-3.pdf": ("", None),
}


def _document(filename: str, content: str, annotation: str | None) -> Document:
    document = Document(
        id=hashlib.sha256(filename.encode()).hexdigest(),
        path=f"/inbox/{filename}",
        filename=filename,
        size_bytes=10,
        page_count=1,
    )
    spans = [
        Span(
            id="p1-h1",
            kind=HandwritingKind.SIGNATURE,
            box=Box(100, 900, 600, 1000),
            detection_score=0.9,
        )
    ]
    if annotation is not None:
        spans.insert(
            0,
            Span(
                id="p1-h0",
                kind=HandwritingKind.ANNOTATION,
                box=Box(300, 200, 600, 260),
                detection_score=0.9,
                text=annotation,
                confidence=0.8,
                engine="htr",
                placement=Placement.EXACT,
            ),
        )
    document.pages.append(Page(number=1, dpi=200, width=1700, height=2200, spans=spans, content=content))
    return document


@pytest.fixture
def indexed(es_client: Elasticsearch, settings_for: Settings) -> None:
    documents = [_document(name, content, note) for name, (content, note) in PAGES.items()]
    ensure_alias(es_client, settings_for.es.alias, load_mapping())
    index_documents(es_client, documents, settings_for.es)
    es_client.indices.refresh(index=settings_for.es.alias)


def _search(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> list[dict[str, object]]:
    monkeypatch.setenv("INDEXER_ES__ALIAS", settings.es.alias)
    result = CliRunner().invoke(app, ["search", "--json", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def _files(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> set[str]:
    return {str(hit["file"]) for hit in _search(settings, monkeypatch, *args)}


def _is_balanced(fragment: str) -> bool:
    """Every <em> is closed by a </em> before the next one opens, and nothing else closes."""
    tags = re.findall(r"</?em>", fragment)
    return tags == ["<em>", "</em>"] * (len(tags) // 2)


@pytest.mark.usefixtures("indexed")
@pytest.mark.parametrize("query", ["*", "", " * "])
def test_star_or_nothing_returns_every_page(
    settings_for: Settings, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    assert _files(settings_for, monkeypatch, query) == set(PAGES)


@pytest.mark.usefixtures("indexed")
def test_star_keeps_the_other_filters(settings_for: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """GIVEN every page has a signature and two have a handwritten annotation
    WHEN searching `*` for handwriting only, or for annotations
    THEN only the pages with handwriting (of that kind) come back."""
    assert _files(settings_for, monkeypatch, "*", "--kind", "signature") == set(PAGES)
    assert _files(settings_for, monkeypatch, "*", "--kind", "annotation") == {"scan-1.pdf", "scan-2.pdf"}


@pytest.mark.usefixtures("indexed")
def test_words_must_all_match_and_bar_means_or(
    settings_for: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _files(settings_for, monkeypatch, "rent shall") == {"scan-1.pdf", "scan-2.pdf"}
    assert _files(settings_for, monkeypatch, "payable quarterly") == set()
    assert _files(settings_for, monkeypatch, "payable | quarterly") == {"scan-1.pdf", "scan-2.pdf"}


@pytest.mark.usefixtures("indexed")
def test_quotes_match_a_phrase(settings_for: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _files(settings_for, monkeypatch, '"rent shall be paid"') == {"scan-2.pdf"}
    assert _files(settings_for, monkeypatch, '"rent paid"') == set()


@pytest.mark.usefixtures("indexed")
def test_minus_excludes_a_word(settings_for: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _files(settings_for, monkeypatch, "rent -quarterly") == {"scan-1.pdf"}
    # A query that starts with "-" follows "--", or it would be read as an option.
    assert _files(settings_for, monkeypatch, "--", "-rent") == {"scan-3.pdf"}


@pytest.mark.usefixtures("indexed")
def test_handwriting_only_uses_the_same_syntax(
    settings_for: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN "rent" is printed on both leases and handwritten on neither
    WHEN searching the handwriting alone
    THEN only the handwritten words count, with the same operators."""
    only = "--handwriting-only"
    assert _files(settings_for, monkeypatch, "rent", only) == set()
    assert _files(settings_for, monkeypatch, "extended | approved", only) == {"scan-1.pdf", "scan-2.pdf"}
    assert _files(settings_for, monkeypatch, "approved -artz", only) == set()
    assert _files(settings_for, monkeypatch, '"extended to"', only) == {"scan-1.pdf"}
    assert _files(settings_for, monkeypatch, "*", only) == set(PAGES)

    (hit,) = _search(settings_for, monkeypatch, "artz", only)
    assert hit["handwriting"][0]["text"] == "approved <em>Artz</em>"  # type: ignore[index]


@pytest.mark.usefixtures("indexed")
@pytest.mark.parametrize("query", ['"unclosed (rent |', "-", "|", "rent~~", "((", "content:rent"])
def test_malformed_queries_never_fail(
    settings_for: Settings, monkeypatch: pytest.MonkeyPatch, query: str
) -> None:
    _search(settings_for, monkeypatch, query)


@pytest.mark.usefixtures("indexed")
def test_json_fragments_are_balanced_at_both_ends_of_the_content(
    settings_for: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GIVEN a page whose content starts and ends with "Lease"
    WHEN searching "lease" with --json
    THEN the fragments that start or end with the match keep both of its tags."""
    (hit,) = _search(settings_for, monkeypatch, "lease")

    fragments: list[str] = hit["highlight"]["content"]  # type: ignore[index]
    assert all(_is_balanced(fragment) for fragment in fragments), fragments
    assert any(fragment.startswith("<em>Lease</em> No.") for fragment in fragments), fragments
    assert any(fragment.endswith("this <em>Lease</em>") for fragment in fragments), fragments


@pytest.mark.usefixtures("indexed")
def test_text_output_shows_fragments_without_tag_characters(
    settings_for: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INDEXER_ES__ALIAS", settings_for.es.alias)
    result = CliRunner().invoke(app, ["search", "lease"])

    assert result.exit_code == 0, result.output
    assert "1 page(s) match" in result.output
    assert "Lease No." in result.output
    assert not {HIGHLIGHT_PRE, HIGHLIGHT_POST, "\x02", "\x03"} & set(result.output)


@pytest.mark.parametrize(
    ("fragment", "parts"),
    [
        (f"{HIGHLIGHT_PRE}Lease{HIGHLIGHT_POST} No.", [("Lease", True), (" No.", False)]),
        (f"Lease{HIGHLIGHT_POST} No.", [("Lease", True), (" No.", False)]),
        (f"of this {HIGHLIGHT_PRE}Lease", [("of this ", False), ("Lease", True)]),
        (
            f"a{HIGHLIGHT_POST} b {HIGHLIGHT_PRE}c{HIGHLIGHT_POST} d{HIGHLIGHT_POST}",
            [
                ("a", True),
                (" b ", False),
                ("c", True),
                (" d", False),
            ],
        ),
        (f"{HIGHLIGHT_PRE}{HIGHLIGHT_PRE}a{HIGHLIGHT_POST}", [("a", True)]),
        ("plain", [("plain", False)]),
        ("", []),
    ],
)
def test_split_highlight_balances_whatever_tags_are_missing(
    fragment: str, parts: list[tuple[str, bool]]
) -> None:
    assert split_highlight(fragment) == parts
