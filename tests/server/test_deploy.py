"""How the app is started: `make run` and the compose file (which cannot run here: no Docker)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_make_run_serves_the_review_page_with_the_daemon() -> None:
    makefile = (REPO / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:") : makefile.index("\nlint:")]

    assert "serve --watch --inbox $(INBOX)" in run


def test_compose_serves_on_all_addresses_only_with_a_key_and_publishes_on_loopback() -> None:
    service = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["indexer"]
    environment = dict(item.split("=", 1) for item in service["environment"])

    assert service["command"][2:4] == ["serve", "--watch"]
    assert service["command"][service["command"].index("--host") + 1] == "0.0.0.0"
    assert environment["INDEXER_API__KEY"] == "${INDEXER_API_KEY}"
    assert "INDEXER_API_KEY=" in (REPO / ".env.example").read_text()
    assert all(port.startswith("127.0.0.1:") for port in service["ports"])
