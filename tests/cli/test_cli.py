"""The command line as a user meets it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from indexer.cli import app
from indexer.cli.pending import PENDING_COMMANDS

REQUIRED_COMMANDS = ("es", "ingest", "watch", "reindex", "search", "detect")


def test_help_lists_the_product_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])

    assert result.exit_code == 0
    for command in REQUIRED_COMMANDS:
        assert f" {command} " in result.output


def test_help_does_not_import_heavy_libraries() -> None:
    probe = (
        "import sys; from indexer.cli import app; "
        "print(','.join(m for m in ('tensorflow', 'torch', 'transformers', 'cv2') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == ""


def test_a_command_not_built_yet_says_so_and_fails() -> None:
    from indexer.cli import detector, htr

    built = detector.BUILT | htr.BUILT
    pending = [name for name in PENDING_COMMANDS if name not in built]
    for name in pending:
        result = CliRunner().invoke(app, [name])
        assert result.exit_code != 0, name
        assert "not built yet" in result.output, name


def test_es_commands_refuse_an_external_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXER_ES_URL", "http://127.0.0.1:1")

    result = CliRunner().invoke(app, ["es", "status"])

    assert result.exit_code == 2
    assert "Unset it" in result.output
