"""What became of each hostile case: in the index, in `indexer ingest`'s output, in a watched folder."""

from __future__ import annotations

import re
from pathlib import Path

from elasticsearch import Elasticsearch

from tests.hostile.case import HostileCase

__all__ = [
    "daemon_problems",
    "failure_reason",
    "index_problems",
    "indexed_pages",
    "ingest_problems",
    "is_settled",
    "logged_refusal",
    "quarantine_reason",
]

#: A generated lease page reads as 300 to 600 words; one whose text was lost, as a handful.
MIN_WORDS_ON_A_TEXT_PAGE = 100


def indexed_pages(es_client: Elasticsearch, alias: str) -> dict[str, list[str]]:
    """The `content` of each indexed page, per document file name."""
    if not es_client.indices.exists_alias(name=alias):
        return {}
    es_client.indices.refresh(index=alias)
    response = es_client.search(
        index=alias, size=1000, source_includes=["document.filename", "content"], query={"match_all": {}}
    )
    pages: dict[str, list[str]] = {}
    for hit in response["hits"]["hits"]:
        source = hit["_source"]
        pages.setdefault(source["document"]["filename"], []).append(source.get("content") or "")
    return pages


def index_problems(case: HostileCase, pages: dict[str, list[str]]) -> list[str]:
    """What is wrong with one case in the index (empty when it is as expected)."""
    found = pages.get(case.path.name, [])
    if case.expect != "indexed":
        return [f"{case.name}: expected no pages, found {len(found)}"] if found else []
    if len(found) != case.pages:
        return [f"{case.name}: expected {case.pages} page(s) in the index, found {len(found)}"]
    if case.has_text:
        words = min(len(content.split()) for content in found)
        if words < MIN_WORDS_ON_A_TEXT_PAGE:
            return [f"{case.name}: a page was indexed with {words} words: its text was lost"]
    return []


def failure_reason(output: str, path: Path) -> str | None:
    """The reason on `indexer ingest`'s `FAILED <path>: <reason>` line, or None without a line."""
    marker = f"FAILED {path}: "
    at = output.find(marker)
    if at < 0:
        return None
    return output[at + len(marker) :].split("\n", 1)[0].strip()


def ingest_problems(case: HostileCase, output: str) -> list[str]:
    """What is wrong with one case in the output of `indexer ingest` (its index is checked apart)."""
    reason = failure_reason(output, case.path)
    if case.expect == "failed" and not reason:
        said = "an empty reason" if reason == "" else "no FAILED line: skipped in silence"
        return [f"{case.name}: expected a failure with a reason, got {said}"]
    if case.expect != "failed" and reason is not None:
        return [f"{case.name}: expected {case.expect}, got FAILED: {reason}"]
    return []


def quarantine_reason(quarantine: Path, case: HostileCase) -> str | None:
    """The `Reason:` of the case's `.reason.txt` in the quarantine folder, or None without one."""
    reason_file = quarantine / f"{case.path.name}.reason.txt"
    if not reason_file.is_file():
        return None
    lines = [line for line in reason_file.read_text().splitlines() if line.startswith("Reason:")]
    return lines[0].removeprefix("Reason:").strip() if lines else ""


def logged_refusal(log_text: str, case: HostileCase) -> str | None:
    """A WARNING or ERROR line of a daemon's log that names the case's file, if any."""
    # The whole name, so `x.pdf` is not found inside `box.pdf`.
    name = re.compile(rf"(^|[\s/]){re.escape(case.path.name)}($|[\s:;,)])")
    for line in log_text.splitlines():
        if ("WARNING" in line or "ERROR" in line) and name.search(line):
            return line
    return None


def daemon_problems(case: HostileCase, quarantine: Path, log_text: str) -> list[str]:
    """What is wrong with one case in the watched folder (its index is checked apart).

    A bad file must be in quarantine with a reason; a link or another non-file may instead be
    refused where it lies, with a warning or error that names it. Good files stay out of quarantine.
    """
    reason = quarantine_reason(quarantine, case)
    if case.expect == "indexed":
        return [f"{case.name}: quarantined: {reason}"] if reason is not None else []
    if reason:
        return []
    if reason == "":
        return [f"{case.name}: quarantined with an empty reason"]
    if case.is_special and logged_refusal(log_text, case):
        return []
    return [f"{case.name}: neither quarantined with a reason nor refused"]


def is_settled(case: HostileCase, quarantine: Path, log_text: str, pages: dict[str, list[str]]) -> bool:
    """Whether a daemon is done with the case: indexed, quarantined or refused."""
    if case.expect == "indexed":
        return (
            len(pages.get(case.path.name, [])) >= case.pages
            or quarantine_reason(quarantine, case) is not None
        )
    return not daemon_problems(case, quarantine, log_text)
