"""Decide when a dropped file is complete: unchanged for a while, and openable.

Scanners and copies write files over seconds. A file is ready once its size and modification
time have stayed the same for `settle_s` and it can be opened for reading. Temporary and partial
names are ignored until the writer renames them.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IGNORED_PATTERNS", "StabilityTracker", "is_ignored"]

log = logging.getLogger(__name__)

#: Names that are never processed: partial downloads, Office lock files, hidden and temp files.
IGNORED_PATTERNS = ("*.part", "*.crdownload", "*.partial", "*.tmp", "*.download", "~$*", ".*")


def is_ignored(path: Path, root: Path) -> bool:
    """True for partial or temporary names, and for anything under a hidden folder (e.g. .quarantine)."""
    relative = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    return any(part.startswith(".") for part in relative.parts) or any(
        fnmatch.fnmatch(path.name, pattern) for pattern in IGNORED_PATTERNS
    )


@dataclass(slots=True)
class _Observation:
    size_bytes: int
    mtime_ns: int
    since: float


class StabilityTracker:
    """Remembers each candidate's size and mtime; the clock is injected so tests need no sleeps."""

    def __init__(self, settle_s: float, clock: Callable[[], float]) -> None:
        self._settle_s = settle_s
        self._clock = clock
        self._seen: dict[Path, _Observation] = {}

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)

    def pending(self) -> list[Path]:
        return list(self._seen)

    def observe(self, path: Path) -> bool:
        """Record the file's current state; True once it has been stable long enough and opens."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            self.forget(path)
            return False
        now = self._clock()
        previous = self._seen.get(path)
        if previous is None or (previous.size_bytes, previous.mtime_ns) != (stat.st_size, stat.st_mtime_ns):
            self._seen[path] = _Observation(stat.st_size, stat.st_mtime_ns, now)
            return False
        if now - previous.since < self._settle_s:
            return False
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            log.debug("%s is not readable yet: %s", path, exc)
            return False
        self.forget(path)
        return True
