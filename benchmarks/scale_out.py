"""Scale-out on the queue: pages per minute with 1 and 2 `indexer worker` processes, against plain
Tesseract on the same pages with as many processes, and the queue's own overhead per file.

Usage: .venv/bin/python -m benchmarks.scale_out [--files 12] [--workers 1,2] [--overhead-files 5]

Everything runs on this machine: a throwaway redis-server, the node (or INDEXER_ES_URL), one daemon
and N workers with `--concurrency 1` and one thread per engine, so each takes one core. The ratio
to Tesseract is what counts: on a shared 2-core machine the absolute figures move with the load,
which is printed before and after.

1. Overhead: with one idle worker, send tasks straight to the queue and time enqueue -> start (the
   worker's start time) and end -> searchable (polling a search for the document).
2. Throughput: drop all files into the daemon's inbox at once; time until all are searchable.
3. Baseline: `tesseract PAGE stdout` on the same page images, as many at once as there are workers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from benchmarks.common import count_pages, make_pdf, variants
from indexer.config import Settings, load_settings
from indexer.hashing import FileIdentity
from indexer.queue import TASK_NAME, create_app
from indexer.search import connect
from tests.queue.redis_server import running_redis
from tests.watch.processes import start_watch

_POLL_S = 0.02
_RESULT_TIMEOUT_S = 900.0
#: One core per process: the engines' own thread pools would otherwise share the two cores.
_ONE_CORE = {"OMP_THREAD_LIMIT": "1", "INDEXER_DETECTOR__THREADS": "1", "INDEXER_HANDWRITING__THREADS": "1"}


def _load() -> str:
    """The 1-, 5- and 15-minute load averages: other work on the cores slows every figure."""
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


class _Run:
    """One daemon-less setup: `workers` worker processes on their own queue, alias and state."""

    def __init__(
        self, settings: Settings, client: Elasticsearch, redis_url: str, scratch: Path, workers: int
    ):
        self.client = client
        self.workers = workers
        self.folder = scratch / f"run-{workers}"
        self.alias = f"bench-scale-{workers}-{int(time.time())}"
        self.env = {
            **os.environ,
            **_ONE_CORE,
            "INDEXER_ES_URL": settings.es.effective_url,
            "INDEXER_STATE_DIR": str(self.folder / "state"),
            "INDEXER_ES__ALIAS": self.alias,
            "INDEXER_QUEUE__URL": redis_url,
            "INDEXER_QUEUE__NAME": f"bench-{workers}",
            "COLUMNS": "400",
        }
        (self.folder / "state").mkdir(parents=True)
        self.inbox = self.folder / "inbox"
        self.inbox.mkdir()
        queue_settings = settings.queue.model_copy(update={"url": redis_url, "name": f"bench-{workers}"})
        self.app = create_app(settings.model_copy(update={"queue": queue_settings}))
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "indexer.cli", "-v", "worker", "--concurrency", "1"],
                env=self.env,
                stdout=(self.folder / f"worker-{index}.log").open("wb"),
                stderr=subprocess.STDOUT,
            )
            for index in range(workers)
        ]

    def _submit(self, path: Path) -> tuple[float, Any]:
        identity = FileIdentity.of(path)
        sent_at = time.time()
        result = self.app.send_task(
            TASK_NAME, args=[str(path), identity.sha256, identity.size_bytes, identity.mtime_ns]
        )
        return sent_at, result

    @staticmethod
    def _outcome(result: Any) -> dict[str, Any]:
        outcome: dict[str, Any] = result.get(timeout=_RESULT_TIMEOUT_S, interval=_POLL_S)
        if outcome["kind"] != "ok":
            raise RuntimeError(f"a file was not indexed: {outcome}")
        return outcome

    def warm_up(self, files: list[Path]) -> None:
        """One file per worker at once: each idle worker takes one and loads its models."""
        for _, result in [self._submit(path) for path in files]:
            self._outcome(result)

    def overhead(self, files: list[Path]) -> tuple[list[float], list[float]]:
        to_start, to_searchable = [], []
        for path in files:
            sent_at, result = self._submit(path)
            outcome = self._outcome(result)
            query = {"term": {"document.id": outcome["document_id"]}}
            while count_pages(self.client, self.alias, query) == 0:
                time.sleep(_POLL_S)
            to_start.append(outcome["started_at"] - sent_at)
            to_searchable.append(time.time() - outcome["finished_at"])
        return to_start, to_searchable

    def throughput(self, files: list[Path]) -> float:
        """Seconds from dropping every file into the daemon's inbox to all of them searchable."""
        daemon = start_watch(self.inbox, self.env, self.folder / "daemon.log")
        try:
            while "files go to the queue" not in (self.folder / "daemon.log").read_text():
                time.sleep(0.2)
            before = count_pages(self.client, self.alias)
            started = time.perf_counter()
            for path in files:
                path.rename(self.inbox / path.name)  # an atomic drop, as a scanner's rename would be
            while count_pages(self.client, self.alias) < before + len(files):
                if daemon.poll() is not None:
                    raise RuntimeError(f"the daemon stopped; see {self.folder / 'daemon.log'}")
                time.sleep(0.2)
            return time.perf_counter() - started
        finally:
            daemon.terminate()
            daemon.wait(timeout=120)

    def close(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=120)
        self.app.close()
        self.client.indices.delete(index=f"{self.alias}-*", ignore_unavailable=True, allow_no_indices=True)
        self.client.options(ignore_status=404).indices.delete_index_template(name=f"{self.alias}-pages")


def _tesseract_s(images: list[Path], processes: int) -> float:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def read(image: Path) -> None:
        subprocess.run(["tesseract", str(image), "stdout"], env=env, capture_output=True, check=True)

    started = time.perf_counter()
    with ThreadPoolExecutor(processes) as pool:
        list(pool.map(read, images))
    return time.perf_counter() - started


def _page_images(source: Path, folder: Path, count: int) -> list[Path]:
    """The page as the pipeline renders it (200 dpi), once per file."""
    folder.mkdir()
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-singlefile", str(source), str(folder / "page")], check=True
    )
    return [folder / "page.png"] * count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--workers", default="1,2", help="Worker process counts to measure, comma-separated.")
    parser.add_argument("--overhead-files", type=int, default=5)
    arguments = parser.parse_args()
    counts = [int(value) for value in arguments.workers.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    settings = load_settings()
    client = connect(settings)
    source = make_pdf(scratch / "one.pdf", 1, seed=3)
    images = _page_images(source, scratch / "images", arguments.files)
    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    figures: dict[int, float] = {}
    with running_redis(scratch / "redis") as redis_url:
        for workers in counts:
            run = _Run(settings, client, redis_url, scratch, workers)
            try:
                run.warm_up(variants(source, run.folder / "warm", "warm", workers))
                if workers == counts[0]:
                    to_start, to_searchable = run.overhead(
                        variants(source, run.folder / "overhead", "overhead", arguments.overhead_files)
                    )
                    print(
                        f"queue overhead per file ({workers} idle worker, {len(to_start)} files): "
                        f"enqueue->start median {statistics.median(to_start):.3f} s "
                        f"(max {max(to_start):.3f}), "
                        f"end->searchable median {statistics.median(to_searchable):.3f} s "
                        f"(max {max(to_searchable):.3f})"
                    )
                seconds = run.throughput(variants(source, run.folder / "drop", "drop", arguments.files))
            finally:
                run.close()
            figures[workers] = arguments.files / seconds * 60
            baseline_s = _tesseract_s(images, workers)
            baseline = arguments.files / baseline_s * 60
            print(
                f"{workers} worker process(es): {arguments.files} one-page files in {seconds:.1f} s = "
                f"{figures[workers]:.1f} pages/min through daemon + queue + full pipeline; plain tesseract, "
                f"{workers} process(es): {baseline:.1f} pages/min; ratio {figures[workers] / baseline:.2f} "
                f"(load now {_load()})"
            )
    if len(figures) > 1:
        low, high = min(figures), max(figures)
        print(f"scaling {low} -> {high} worker processes: x{figures[high] / figures[low]:.2f}")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
