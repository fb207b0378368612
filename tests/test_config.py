"""Settings: one place, every source, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.config import load_settings
from indexer.errors import ConfigError


def test_short_es_names_and_nested_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXER_ES_URL", "https://search.example:9200")
    monkeypatch.setenv("INDEXER_ES_API_KEY", "c2VjcmV0")
    monkeypatch.setenv("INDEXER_ES__ALIAS", "leases")

    settings = load_settings()

    assert settings.es.url == "https://search.example:9200"
    assert not settings.es.is_embedded
    assert settings.es.alias == "leases"
    assert settings.es.api_key is not None
    assert "c2VjcmV0" not in repr(settings)


def test_embedded_node_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INDEXER_ES_URL", raising=False)

    settings = load_settings()

    assert settings.es.is_embedded
    assert settings.es.effective_url == "http://127.0.0.1:9200"


def test_toml_file_is_read_and_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "indexer.toml"
    config.write_text('[es]\nalias = "from-file"\nbulk_chunk_size = 17\n')
    monkeypatch.setenv("INDEXER_ES__ALIAS", "from-env")

    settings = load_settings(config)

    assert settings.es.bulk_chunk_size == 17
    assert settings.es.alias == "from-env"


def test_both_api_key_and_user_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXER_ES_URL", "https://search.example:9200")
    monkeypatch.setenv("INDEXER_ES_API_KEY", "key")
    monkeypatch.setenv("INDEXER_ES_USERNAME", "elastic")
    monkeypatch.setenv("INDEXER_ES_PASSWORD", "changeme")

    with pytest.raises(ConfigError, match="either INDEXER_ES_API_KEY"):
        load_settings()


def test_invalid_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDEXER_ES__NODE__PORT", "not-a-port")

    with pytest.raises(ConfigError, match=r"es\.node\.port"):
        load_settings()


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")
