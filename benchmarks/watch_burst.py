"""The watch daemon under a burst, and its latency: run by hand, prints figures.

Usage: .venv/bin/python -m benchmarks.watch_burst [--files 200] [--latency-files 5]

1. Latency: with the daemon idle, drop one file at a time and time from the moment the file is
   complete (closed) to the moment a search finds it; subtract the pipeline's own seconds for
   that page (from its artifact) to get the daemon's overhead.
2. Burst: drop N distinct one-page PDFs at once; report the time until all are searchable,
   whether any was lost, and the peak RSS of the daemon and its workers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from elasticsearch import Elasticsearch

from benchmarks.common import PeakMemory, count_pages, make_pdf, variants
from indexer.config import load_settings
from indexer.search import connect

_POLL_S = 0.05


def _pipeline_seconds(artifacts: Path) -> dict[str, float]:
    seconds = {}
    for page in artifacts.glob("*/page-0001.json"):
        document = json.loads((page.parent / "document.json").read_text())
        seconds[document["filename"]] = sum(json.loads(page.read_text())["timings_s"].values())
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--latency-files", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    arguments = parser.parse_args()
    alias = f"bench-burst-{int(time.time())}"
    scratch = Path(tempfile.mkdtemp(prefix="bench-burst-"))
    inbox, staging, state = scratch / "inbox", scratch / "staging", scratch / "state"
    for folder in (inbox, staging, state):
        folder.mkdir()
    settings = load_settings()
    client = connect(settings)
    env = {
        **os.environ,
        "INDEXER_ES_URL": settings.es.effective_url,
        "INDEXER_STATE_DIR": str(state),
        "INDEXER_ES__ALIAS": alias,
        "INDEXER_WATCH__WORKERS": str(arguments.workers),
    }
    source = make_pdf(staging / "one.pdf", 1, seed=3)
    files = variants(source, staging, "burst", arguments.files + arguments.latency_files)
    daemon = subprocess.Popen([sys.executable, "-m", "indexer.cli", "watch", str(inbox)], env=env)
    try:
        with PeakMemory(daemon.pid) as memory:
            _wait_ready(client, alias, inbox, files[0])
            latencies = [_latency(client, alias, inbox, path) for path in files[1 : arguments.latency_files]]
            before = count_pages(client, alias)
            started = time.perf_counter()
            for path in files[arguments.latency_files :]:
                path.rename(inbox / path.name)  # an atomic drop, as a scanner's rename would be
            while count_pages(client, alias) < before + arguments.files and daemon.poll() is None:
                client.indices.refresh(index=alias)
                time.sleep(1)
            burst_s = time.perf_counter() - started
        pipeline = _pipeline_seconds(state / "artifacts")
    finally:
        daemon.terminate()
        daemon.wait(timeout=120)
    overheads = [total - pipeline.get(name, 0.0) for name, total in latencies]
    median_latency = statistics.median(seconds for _, seconds in latencies)
    print(
        f"latency: {len(latencies)} files, complete-to-searchable median {median_latency:.2f} s; "
        f"overhead beyond the pipeline: median {statistics.median(overheads):.2f} s, "
        f"max {max(overheads):.2f} s"
    )
    indexed = count_pages(client, alias) - before
    print(
        f"burst: {arguments.files} files, {indexed} indexed ({arguments.files - indexed} lost) in "
        f"{burst_s:.0f} s ({burst_s / arguments.files:.2f} s/file) with {arguments.workers} workers"
    )
    print(
        f"peak memory of the daemon and its workers: RSS {memory.peak_bytes / 2**20:.0f} MiB, "
        f"PSS {memory.peak_pss_bytes / 2**20:.0f} MiB"
    )


def _wait_ready(client: Elasticsearch, alias: str, inbox: Path, path: Path) -> None:
    """The first file warms the workers up (model loading is not latency)."""
    path.rename(inbox / path.name)
    while count_pages(client, alias) < 1:
        time.sleep(0.5)
        if client.indices.exists_alias(name=alias):
            client.indices.refresh(index=alias)


def _latency(client: Elasticsearch, alias: str, inbox: Path, path: Path) -> tuple[str, float]:
    target = inbox / path.name
    before = count_pages(client, alias)
    path.rename(target)
    complete = time.perf_counter()
    while count_pages(client, alias) <= before:
        time.sleep(_POLL_S)  # polling the index, not waiting for the daemon
    return target.name, time.perf_counter() - complete


if __name__ == "__main__":
    main()
