"""Starting `indexer watch` as a real process, for the daemon tests and the chaos benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["start_watch"]


def start_watch(folder: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`indexer -v watch FOLDER` in a session of its own, its output appended to `log`."""
    with log.open("ab") as stream:
        return subprocess.Popen(
            [sys.executable, "-m", "indexer.cli", "-v", "watch", str(folder)],
            env=env,
            stdout=stream,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
