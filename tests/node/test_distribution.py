"""Verifying the downloaded distribution before it is ever run."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from indexer.config import Settings
from indexer.errors import DependencyError
from indexer.node.distribution import _verify_zip, ensure_distribution, list_modules


def test_pinned_version_with_wrong_checksum_is_rejected(tmp_path: Path) -> None:
    fake = tmp_path / "elasticsearch-9.5.3.zip"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("elasticsearch-9.5.3/bin/elasticsearch", "#!/bin/sh\n")

    with pytest.raises(DependencyError, match="SHA-256"):
        _verify_zip(fake, "9.5.3")


def test_unpinned_version_must_look_like_a_distribution(tmp_path: Path) -> None:
    fake = tmp_path / "elasticsearch-9.99.0.zip"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("something-else/README", "hello")

    with pytest.raises(DependencyError, match=r"not an Elasticsearch 9\.99\.0 distribution"):
        _verify_zip(fake, "9.99.0")


def test_not_a_zip_is_rejected(tmp_path: Path) -> None:
    fake = tmp_path / "elasticsearch-9.99.0.zip"
    fake.write_bytes(b"<html>proxy error</html>")

    with pytest.raises(DependencyError, match="not a valid zip"):
        _verify_zip(fake, "9.99.0")


def test_cached_distribution_is_the_minimal_one(es_settings: Settings) -> None:
    home = ensure_distribution(es_settings.es.node.version, es_settings.cache_dir)

    modules = list_modules(home)

    assert "transport-netty4" in modules
    assert "reindex" not in modules  # the README documents what the test zip lacks
