"""One daemon per watched folder, and no leftovers of an earlier one.

Two lock files per folder under `<state dir>/watch-locks/`: the daemon holds `<key>.daemon.lock`
exclusively, and the daemon and each of its workers hold `<key>.members.lock` shared. A second
daemon on the same folder fails on the first; a daemon restarted after `kill -9` finds the second
free only once every worker of the killed one has ended.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from pathlib import Path
from typing import IO

import psutil

from indexer.errors import ConfigError

__all__ = ["FolderLock"]

log = logging.getLogger(__name__)

_RETRY_S = 0.2


class FolderLock:
    """The locks of one watched folder; `acquire()` before starting workers, `release()` at the end."""

    def __init__(self, state_dir: Path, folder: Path) -> None:
        key = hashlib.sha256(str(folder).encode()).hexdigest()[:16]
        directory = state_dir / "watch-locks"
        directory.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.daemon_path = directory / f"{key}.daemon.lock"
        self.members_path = directory / f"{key}.members.lock"
        self._daemon: IO[str] | None = None
        self._members: IO[str] | None = None

    def acquire(self, *, leftovers_wait_s: float) -> None:
        """Take the folder, waiting up to `leftovers_wait_s` for an earlier daemon's workers to end.

        Raises:
            ConfigError: another daemon watches the folder, or leftover processes hold it.
        """
        daemon = self.daemon_path.open("a+")
        try:
            fcntl.flock(daemon, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            daemon.seek(0)
            holder = daemon.read().strip() or "unknown"
            daemon.close()
            raise ConfigError(
                f"another `indexer watch` (pid {holder}) is watching {self.folder}; stop it first"
            ) from None
        daemon.seek(0)
        daemon.truncate()
        daemon.write(str(os.getpid()))
        daemon.flush()
        self._daemon = daemon
        try:
            self._members = self._take_members(leftovers_wait_s)
        except ConfigError:
            self.release()
            raise

    def _take_members(self, wait_s: float) -> IO[str]:
        members = self.members_path.open("a")
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(members, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    members.close()
                    holders = self.holders()
                    raise ConfigError(
                        f"processes {holders or '(unknown)'} left by an earlier `indexer watch` of "
                        f"{self.folder} are still running; end them (kill {' '.join(map(str, holders))}) "
                        "and start again"
                    ) from None
                time.sleep(_RETRY_S)
        # Nobody else holds it; from now on the daemon shares it with its own workers.
        fcntl.flock(members, fcntl.LOCK_SH)
        return members

    def holders(self) -> list[int]:
        """Pids of other processes that have the members lock file open."""
        target = str(self.members_path)
        found = []
        for process in psutil.process_iter(["pid"]):
            if process.pid == os.getpid():
                continue
            try:
                if any(item.path == target for item in process.open_files()):
                    found.append(process.pid)
            except psutil.Error:
                continue
        return found

    def release(self) -> None:
        for handle in (self._members, self._daemon):
            if handle is not None:
                handle.close()
        self._members = self._daemon = None
