"""`indexer search` and `indexer reindex`."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from indexer.cli.common import DAILY_USE, handle_errors, settings
from indexer.logs import progress

__all__ = ["register"]

_MATCH_STYLE = "bold yellow"
_HANDWRITING_STYLE = "italic cyan underline"


@handle_errors
def search(
    query: Annotated[
        str,
        typer.Argument(
            help='Words, all required: "a phrase", -excluded, a | b for either, pre* for a prefix; '
            "* or nothing for every page."
        ),
    ] = "",
    handwriting_only: Annotated[
        bool, typer.Option("--handwriting-only", help="Match only the handwritten text.")
    ] = False,
    kind: Annotated[
        str | None, typer.Option(help="Only pages with handwriting of this kind: signature|annotation.")
    ] = None,
    entity: Annotated[
        list[str] | None,
        typer.Option(
            help="TYPE:VALUE, e.g. date:2011-01-01..2011-12-31, amount:1000.., zip:20852 (repeatable)."
        ),
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            help="A handwritten form field TYPE:VALUE, e.g. date:2011-01-01..2011-12-31, title:member, "
            "amount:1000.., signature:* (repeatable; each may be met by a different field)."
        ),
    ] = None,
    size: Annotated[int, typer.Option(help="Number of pages to show.")] = 10,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per hit, with highlights.")
    ] = False,
) -> None:
    """Search indexed pages; matches in bold, handwriting in italic cyan."""
    from indexer.errors import ConfigError
    from indexer.search import connect
    from indexer.search.client import translate_errors
    from indexer.search.query import PageQuery, parse_entity_filter, parse_field_filter

    if kind not in (None, "signature", "annotation"):
        raise ConfigError(f"--kind {kind!r}: use signature or annotation")
    page_query = PageQuery(
        text=query,
        handwriting_only=handwriting_only,
        kind=kind,
        entities=[parse_entity_filter(item) for item in entity or []],
        fields=[parse_field_filter(item) for item in field or []],
        size=size,
    )
    loaded = settings()
    client = connect(loaded)
    with translate_errors("searching"):
        response = client.search(index=loaded.es.alias, **page_query.body())
    hits = response["hits"]["hits"]
    if as_json:
        for hit in hits:
            typer.echo(json.dumps(_hit_json(hit), ensure_ascii=False))
        return
    total = response["hits"]["total"]["value"]
    typer.echo(f"{total} page(s) match; showing {len(hits)}")
    console = Console(highlight=False)
    for hit in hits:
        _print_hit(console, hit)


def _as_html(text: str) -> str:
    from indexer.search.query import split_highlight

    return "".join(f"<em>{part}</em>" if is_match else part for part, is_match in split_highlight(text))


def _as_text(text: str) -> Text:
    from indexer.search.query import split_highlight

    rendered = Text()
    for part, is_match in split_highlight(text):
        rendered.append(part, style=_MATCH_STYLE if is_match else "")
    return rendered


def _inner_spans(hit: dict[str, Any]) -> list[dict[str, Any]]:
    inner = hit.get("inner_hits", {}).get("handwriting", {}).get("hits", {}).get("hits", [])
    spans = []
    for item in inner:
        source = item.get("_source", {})
        text = item.get("highlight", {}).get("handwriting.text", [source.get("text", "")])[0]
        spans.append({**source, "text": text})
    return spans


def _matched_fields(hit: dict[str, Any]) -> list[dict[str, Any]]:
    """The form fields that met the `--field` filters (their inner hits)."""
    from indexer.search.query import FIELD_HITS_PREFIX

    matched = []
    for name, inner in sorted(hit.get("inner_hits", {}).items()):
        if name.startswith(FIELD_HITS_PREFIX):
            matched += [item.get("_source", {}) for item in inner.get("hits", {}).get("hits", [])]
    return matched


def _hit_json(hit: dict[str, Any]) -> dict[str, Any]:
    source = hit["_source"]
    return {
        "id": hit["_id"],
        "file": source["document"]["filename"],
        "path": source["document"]["path"],
        "page": source["page"],
        "score": hit["_score"],
        "highlight": {
            name: [_as_html(part) for part in parts] for name, parts in hit.get("highlight", {}).items()
        },
        "handwriting": [{**span, "text": _as_html(span["text"])} for span in _inner_spans(hit)],
        "fields": _matched_fields(hit),
    }


def _print_hit(console: Console, hit: dict[str, Any]) -> None:
    source = hit["_source"]
    console.print(
        Text.assemble(
            (source["document"]["filename"], "bold"),
            f"  page {source['page']}  score {hit['_score'] or 0:.2f}",
        )
    )
    handwritten = [span.get("text", "") for span in source.get("handwriting", []) if span.get("text")]
    for fragment in hit.get("highlight", {}).get("content", []):
        line = _as_text(fragment.replace("\n", " "))
        for text in handwritten:
            line.highlight_words([text], style=_HANDWRITING_STYLE)
        console.print(Text("  … ").append(line).append(" …"))
    for span in _inner_spans(hit):
        entities = {key: value for key, value in span.get("entities", {}).items() if value and key != "raw"}
        label = Text(f"  ✍ {span.get('kind', '')}: ", style=_HANDWRITING_STYLE)
        console.print(label.append(_as_text(span["text"])).append(f"  {entities}" if entities else ""))
    for item in _matched_fields(hit):
        named = f" ({item['label']})" if item.get("label") else ""
        console.print(
            Text(f"  ▸ {item.get('type')}{named}: ", style=_HANDWRITING_STYLE).append(
                f"{item.get('value')}  [read: {item.get('value_text', '')}]"
            )
        )


@handle_errors
def reindex(
    from_source: Annotated[
        bool, typer.Option("--from-source", help="Re-run the whole pipeline on the source files.")
    ] = False,
    from_artifacts: Annotated[
        bool, typer.Option("--from-artifacts", help="Rebuild from stored artifacts, no models (default).")
    ] = False,
    keep_old: Annotated[bool, typer.Option("--keep-old", help="Keep the old index after the swap.")] = False,
    drop_missing: Annotated[
        bool,
        typer.Option(
            "--drop-missing",
            help="Leave out documents whose artifacts or source are gone, instead of carrying their "
            "pages over from the old index. Deletes those pages from search.",
        ),
    ] = False,
) -> None:
    """Build a new index with the current mapping, swap the alias atomically, drop the old one.

    Pages that cannot be rebuilt (artifacts or source gone) are carried over from the old index.
    """
    from indexer.errors import ConfigError
    from indexer.search.reindex import Reindexer

    if from_source and from_artifacts:
        raise ConfigError("choose one of --from-source and --from-artifacts")
    loaded = settings()
    with progress() as bar:
        task = bar.add_task("reindexing documents", total=None)

        def on_document(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = Reindexer(loaded).run(
            from_source=from_source, keep_old=keep_old, drop_missing=drop_missing, on_document=on_document
        )
    typer.echo(
        f"alias {loaded.es.alias!r} now on {result.new_index}: {result.pages} pages from {result.documents} "
        f"documents in {result.seconds:.1f} s ({result.carried_pages} pages of "
        f"{len(result.carried_documents)} documents carried over from the old index); "
        f"old: {', '.join(result.old_indices) or 'none'}{' (kept)' if keep_old else ' (deleted)'}"
    )
    if result.carried_documents:
        typer.echo(
            "carried over (artifacts or source missing; re-ingest them to rebuild): "
            + ", ".join(doc_id[:12] for doc_id in result.carried_documents)
        )
    if result.dropped_documents:
        typer.echo(
            f"dropped on request (--drop-missing): {result.dropped_pages} pages of "
            f"{len(result.dropped_documents)} documents: "
            + ", ".join(doc_id[:12] for doc_id in result.dropped_documents)
        )


def register(app: typer.Typer) -> None:
    app.command("search", rich_help_panel=DAILY_USE)(search)
    app.command("reindex", rich_help_panel=DAILY_USE)(reindex)
