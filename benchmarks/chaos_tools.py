"""The pieces of the chaos benchmark: this run's processes, the daemon as a subprocess, the
journal and the index as the benchmark reads them, and the burst files."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import img2pdf
import psutil
from elasticsearch import Elasticsearch
from elasticsearch import exceptions as es_errors

from benchmarks.common import MemorySampler
from tests.factories import DPI
from tests.watch.processes import start_watch

__all__ = ["Daemon", "RunMemory", "drop", "journal_rows", "make_pdfs", "pages_per_file", "wait_until"]

CONTRACTS_DEV_IMAGES = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "contracts-dev" / "images"
)
_POLL_S = 1.0


class RunMemory(MemorySampler):
    """Every process of this run, orphans included: those whose environment names its state dir."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__()
        self._marker = str(state_dir)
        self._known: dict[tuple[int, float], bool] = {}

    def processes(self) -> list[psutil.Process]:
        found = []
        for process in psutil.process_iter():
            try:
                key = (process.pid, process.create_time())
                if key not in self._known:
                    self._known[key] = process.environ().get("INDEXER_STATE_DIR") == self._marker
                if self._known[key] and process.status() != psutil.STATUS_ZOMBIE:
                    found.append(process)
            except psutil.Error:
                continue
        return found


class Daemon:
    """`indexer -v watch FOLDER` in its own session, logging to a file."""

    def __init__(self, folder: Path, env: dict[str, str], log: Path) -> None:
        self.folder, self.env, self.log = folder, env, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = start_watch(self.folder, self.env, self.log)

    @property
    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def workers(self) -> list[psutil.Process]:
        if not self.is_alive or self.process is None:
            return []
        try:
            return list(psutil.Process(self.process.pid).children(recursive=True))
        except psutil.Error:
            return []

    def kill_alone(self) -> None:
        """SIGKILL the daemon process only; its workers are left to fend for themselves."""
        if self.process is not None and self.is_alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is None or not self.is_alive:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.kill_alone()


def wait_until(condition: Callable[[], bool], *, timeout_s: float) -> bool:
    """Poll `condition` until it holds (True) or the time is up (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(_POLL_S)
    return False


def pages_per_file(client: Elasticsearch, alias: str) -> dict[str, int]:
    """Indexed pages per document file name; empty while the node is away."""
    try:
        if not client.indices.exists_alias(name=alias):
            return {}
        client.indices.refresh(index=alias)
        response = client.search(
            index=alias, size=0, aggs={"files": {"terms": {"field": "document.filename", "size": 10_000}}}
        )
    except (es_errors.ConnectionError, es_errors.ApiError):
        return {}
    return {bucket["key"]: bucket["doc_count"] for bucket in response["aggregations"]["files"]["buckets"]}


def journal_rows(state_dir: Path) -> list[tuple[str, str, float]]:
    """(path, state, updated_at) of every journal row; read with plain SQL, whatever the schema adds."""
    path = state_dir / "watch" / "journal.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as db:
        return list(db.execute("SELECT path, state, updated_at FROM files"))


def make_pdfs(folder: Path, count: int, *, prefix: str) -> list[Path]:
    """`count` distinct one-page PDFs of contracts-dev pages (JPEGs embedded as they are)."""
    images = sorted(CONTRACTS_DEV_IMAGES.glob("*.jpg"))
    if not images:
        raise SystemExit(f"no contracts-dev pages in {CONTRACTS_DEV_IMAGES}")
    layout = img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))
    made = []
    for index in range(count):
        image = images[index % len(images)]
        data = img2pdf.convert(str(image), layout_fun=layout)
        # Distinct bytes per file and per burst, so each is its own document.
        path = folder / f"{prefix}-{index:03d}-{image.stem[:8]}.pdf"
        path.write_bytes(data + f"\n% {prefix} {index}\n".encode())
        made.append(path)
    return made


def drop(paths: list[Path], inbox: Path) -> list[str]:
    for path in paths:
        path.rename(inbox / path.name)  # atomic, as a scanner's rename would be
    return [path.name for path in paths]
