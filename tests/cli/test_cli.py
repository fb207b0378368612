"""The command line as a user meets it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from indexer.cli import app

REQUIRED_COMMANDS = ("es", "ingest", "watch", "reindex", "search", "detect")


#: `indexer --help`'s panels in order, each with commands it must list (in this order).
HELP_PANELS = {
    "Daily use": ("watch", "ingest", "search", "reindex"),
    "Models": ("detect", "evaluate", "train-detector", "train-refiner", "calibrate-detector", "train-htr"),
    "Elasticsearch and Kibana": ("kibana-setup", "es"),
}


def test_help_lists_the_product_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])

    assert result.exit_code == 0
    for command in REQUIRED_COMMANDS:
        assert f" {command} " in result.output


def test_help_groups_commands_by_what_users_do_first() -> None:
    """GIVEN the app WHEN `indexer --help` is shown THEN daily use comes first, then models, then
    Elasticsearch, each panel holding its own commands."""
    output = CliRunner().invoke(app, ["--help"], terminal_width=120).output
    starts = [output.index(f"─ {title} ─") for title in HELP_PANELS]

    assert starts == sorted(starts)
    ends = [*starts[1:], len(output)]
    for (title, commands), start, end in zip(HELP_PANELS.items(), starts, ends, strict=True):
        panel = output[start:end]
        places = [panel.index(f"│ {command} ") for command in commands]
        assert places == sorted(places), title


def test_help_does_not_import_heavy_libraries() -> None:
    probe = (
        "import sys; from indexer.cli import app; "
        "print(','.join(m for m in ('tensorflow', 'torch', 'transformers', 'cv2') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == ""


def test_es_commands_refuse_an_external_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXER_ES_URL", "http://127.0.0.1:1")

    result = CliRunner().invoke(app, ["es", "status"])

    assert result.exit_code == 2
    assert "Unset it" in result.output
