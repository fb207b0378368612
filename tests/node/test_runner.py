"""The project's own node: start, status, stop, and the errors around them."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from indexer.cli import app
from indexer.config import Settings
from indexer.errors import ConfigError
from indexer.node import EmbeddedNode


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_status_of_the_running_node_reports_a_9x_version(es_settings: Settings, es_client: object) -> None:
    if not es_settings.es.is_embedded:
        pytest.fail("this test checks the embedded node; unset INDEXER_ES_URL")

    status = EmbeddedNode(es_settings).status()

    assert status.is_running
    assert status.version is not None and status.version.startswith("9.")
    assert status.health in ("yellow", "green")


def test_port_taken_by_another_cluster_is_a_config_error(
    es_settings: Settings, es_client: object, tmp_path: Path
) -> None:
    """GIVEN our node answers on its port WHEN a node with another state dir wants the same port
    THEN it refuses with a message naming the settings to change."""
    other = es_settings.model_copy(update={"state_dir": tmp_path})

    with pytest.raises(ConfigError, match="INDEXER_ES__NODE__PORT"):
        EmbeddedNode(other).ensure_running()


@pytest.mark.slow
def test_cli_starts_reports_and_stops_a_second_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """`indexer es start`, `status` and `stop`, end to end, on a node of its own."""
    port, transport_port = _free_port(), _free_port()
    # pytest's tmp_path is private to root; the node's unprivileged account must enter it.
    state_dir = Path(tempfile.mkdtemp(prefix="indexer-es-test-"))
    state_dir.chmod(0o755)
    monkeypatch.setenv("INDEXER_STATE_DIR", str(state_dir))
    monkeypatch.setenv("INDEXER_ES__NODE__PORT", str(port))
    monkeypatch.setenv("INDEXER_ES__NODE__TRANSPORT_PORT", str(transport_port))
    monkeypatch.delenv("INDEXER_ES_URL", raising=False)
    runner = CliRunner()

    started = runner.invoke(app, ["es", "start"])
    try:
        assert started.exit_code == 0, started.output
        health = httpx.get(f"http://127.0.0.1:{port}/_cluster/health", timeout=10).json()
        assert health["status"] in ("yellow", "green")
        status = runner.invoke(app, ["es", "status"])
        assert status.exit_code == 0
        assert "version: 9." in status.output
        assert "transport-netty4" in status.output
    finally:
        stopped = runner.invoke(app, ["es", "stop"])
    assert stopped.exit_code == 0
    assert "stopped" in stopped.output
    down = runner.invoke(app, ["es", "status"])
    assert down.exit_code == 1
    assert "not running" in down.output
    shutil.rmtree(state_dir, ignore_errors=True)
