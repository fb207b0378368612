"""`indexer ingest` on a folder of broken and hostile inputs (tests/hostile.py): every good file
is indexed, every bad one fails with a reason, nothing is skipped in silence, the run ends.

The pipeline runs without the models (mask, page OCR, merge, index): the inputs are the subject.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from indexer.cli import app
from indexer.config import Settings
from indexer.errors import ExitCode
from tests.hostile import write_hostile_inputs
from tests.hostile.checks import index_problems, indexed_pages, ingest_problems

NO_MODEL_PIPELINE = '["mask_with_anchors", "ocr_printed", "merge_text"]'


@pytest.mark.slow
def test_ingest_indexes_the_good_and_fails_the_bad_with_reasons(
    settings_for: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, es_client: Elasticsearch
) -> None:
    """GIVEN a folder of unusual good files and broken or hostile ones
    WHEN `indexer ingest FOLDER` runs
    THEN each good file is searchable with its pages and text, each bad one has a FAILED line
    with a reason, none is neither, and the run ends with the input-error exit code."""
    cases = [case.for_ingest() for case in write_hostile_inputs(tmp_path / "inbox", tmp_path / "outside")]
    monkeypatch.setenv("INDEXER_ES__ALIAS", settings_for.es.alias)
    monkeypatch.setenv("INDEXER_ARTIFACTS__DIR", str(settings_for.artifacts_dir))
    monkeypatch.setenv("INDEXER_PIPELINE__PROCESSORS", NO_MODEL_PIPELINE)

    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "inbox")])

    assert "indexed " in result.output, f"the run did not finish:\n{result.output}\n{result.exception!r}"
    pages = indexed_pages(es_client, settings_for.es.alias)
    problems = [
        problem
        for case in cases
        for problem in [*ingest_problems(case, result.output), *index_problems(case, pages)]
    ]
    if f"following link {tmp_path / 'inbox' / 'outside-link.pdf'} -> " not in result.output:
        problems.append("ingest did not say which link it followed")
    if result.exit_code != ExitCode.INPUT:
        problems.append(f"exit code {result.exit_code}, expected {ExitCode.INPUT} (input error)")
    assert not problems, "\n".join(problems) + f"\n\noutput:\n{result.output}"
