"""File hashing, shared by document ids and download verification."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FileIdentity", "sha256_file"]

_CHUNK_BYTES = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_size, stat.st_mtime_ns


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """A file's content hash with the size and mtime it had when hashed.

    The watch daemon hashes each file once; whoever processes it later checks the size and
    mtime instead of hashing again, and a file that changed in between is hashed anew.
    """

    sha256: str
    size_bytes: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        """Hash `path`. Raises OSError when it cannot be read, or changes while it is read."""
        before = _stamp(path)
        sha256 = sha256_file(path)
        if _stamp(path) != before:
            raise OSError(f"{path} changed while it was being hashed")
        return cls(sha256, *before)

    def matches(self, path: Path) -> bool:
        """Whether the file still has the size and mtime it had when hashed."""
        try:
            return _stamp(path) == (self.size_bytes, self.mtime_ns)
        except OSError:
            return False
