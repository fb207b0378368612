"""Obtain, verify and cache Elastic's minimal `integ-test-zip` Elasticsearch distribution.

Elastic publishes it on Maven Central as
`org.elasticsearch.distribution.integ-test-zip:elasticsearch:<version>:zip`. The artifact comes
with no `.sha1`/`.asc` files there, so Maven cannot check it; we pin the SHA-256 of the versions
we tested and check the archive's layout for any other version.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from indexer.errors import DependencyError
from indexer.hashing import sha256_file
from indexer.node import maven

__all__ = ["KNOWN_SHA256", "MAVEN_COORDINATES", "ensure_distribution", "list_modules"]

log = logging.getLogger(__name__)

MAVEN_COORDINATES = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
#: SHA-256 of the zips we downloaded and ran; a mismatch means a damaged or substituted file.
KNOWN_SHA256 = {
    "9.5.3": "bec49f3b8d00e75c8d1cec85c35298635ec9fbd3ae80ef5aeb6bc05abdb3db2d",
}
_VERIFIED_MARKER = ".indexer-verified"


def list_modules(es_home: Path) -> list[str]:
    """The modules an unpacked distribution ships (the test zip has only a handful)."""
    return sorted(child.name for child in (es_home / "modules").iterdir() if child.is_dir())


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    # Two processes (a test run and `make run`) may fetch at once; one waits for the other.
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _verify_zip(zip_path: Path, version: str) -> None:
    expected = KNOWN_SHA256.get(version)
    if expected is not None:
        actual = sha256_file(zip_path)
        if actual != expected:
            raise DependencyError(
                f"{zip_path} has SHA-256 {actual}, expected {expected} for Elasticsearch {version}; "
                "delete it and run `indexer es start` again"
            )
    else:
        log.warning("no pinned SHA-256 for Elasticsearch %s; checking the archive's layout only", version)
    required = {
        f"elasticsearch-{version}/bin/elasticsearch",
        f"elasticsearch-{version}/lib/elasticsearch-{version}.jar",
    }
    try:
        with zipfile.ZipFile(zip_path) as archive:
            missing = required - set(archive.namelist())
            damaged = archive.testzip()
    except zipfile.BadZipFile as exc:
        raise DependencyError(f"{zip_path} is not a valid zip; delete it and try again") from exc
    if missing or damaged:
        raise DependencyError(
            f"{zip_path} is not an Elasticsearch {version} distribution "
            f"(missing {sorted(missing)}, damaged {damaged}); delete it and try again"
        )


def _unpack(zip_path: Path, destination: Path) -> None:
    """Unzip keeping the executable bits (zipfile drops them) and make everything world-readable.

    The node may run as an unprivileged user, so it must read (never write) the distribution.
    """
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=destination.parent))
    try:
        with zipfile.ZipFile(zip_path) as archive:
            for info in archive.infolist():
                target = Path(archive.extract(info, staging))
                unix_mode = info.external_attr >> 16
                if not info.is_dir():
                    executable = unix_mode & stat.S_IXUSR
                    target.chmod(0o755 if executable else 0o644)
        for directory, _, _ in os.walk(staging):
            Path(directory).chmod(0o755)
        unpacked = staging / destination.name
        (unpacked / _VERIFIED_MARKER).write_text(zip_path.name)
        unpacked.rename(destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_distribution(version: str, cache_dir: Path) -> Path:
    """Return the unpacked distribution's home, downloading and verifying it on first use.

    Raises:
        DependencyError: Maven is missing, the download fails, or the archive does not verify.
    """
    home = cache_dir / f"elasticsearch-{version}"
    if (home / _VERIFIED_MARKER).is_file():
        return home
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_dir.chmod(0o755)
    with _locked(cache_dir / ".lock"):
        if (home / _VERIFIED_MARKER).is_file():
            return home
        zip_path = cache_dir / f"elasticsearch-{version}.zip"
        if not zip_path.is_file():
            with tempfile.TemporaryDirectory(dir=cache_dir) as download_dir:
                maven.copy_artifact(MAVEN_COORDINATES.format(version=version), Path(download_dir))
                fetched = Path(download_dir) / zip_path.name
                if not fetched.is_file():
                    raise DependencyError(f"mvn reported success but wrote no {zip_path.name}")
                fetched.replace(zip_path)
        _verify_zip(zip_path, version)
        shutil.rmtree(home, ignore_errors=True)
        _unpack(zip_path, home)
        # The verified, unpacked tree is what we keep; Maven keeps its own copy of the zip.
        zip_path.unlink()
        log.info("Elasticsearch %s unpacked in %s", version, home)
    return home
