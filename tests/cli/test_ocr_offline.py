"""`indexer ocr-handwriting` reads with the default engine on a machine without network."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from indexer.cli import app

runner = CliRunner()


class NetworkBlockedError(RuntimeError):
    """Raised by the socket guard: something tried to reach the network."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection and name lookup fails, as on a machine with no network at all."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise NetworkBlockedError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_ocr_handwriting_uses_ppocr_by_default_with_the_network_blocked(
    tmp_path: Path, no_network: None
) -> None:
    """GIVEN no network and no engine setting
    WHEN `indexer ocr-handwriting` reads a date crop
    THEN the default engine is ppocr, from the installed wheel, and it reads the date."""
    crop = np.full((48, 200, 3), 250, np.uint8)
    cv2.putText(crop, "3/13/2012", (6, 34), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (20, 20, 20), 2)
    image = tmp_path / "date.png"
    cv2.imwrite(str(image), crop)
    env = {"INDEXER_HANDWRITING__ENGINE": "auto", "INDEXER_AZURE__ENDPOINT": "", "INDEXER_AZURE__KEY": ""}

    result = runner.invoke(app, ["ocr-handwriting", "--json", str(image)], env=env)

    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[-1])
    assert record["engine"] == "ppocr"
    assert record["text"] == "3/13/2012"
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("pypi.org", 443))
