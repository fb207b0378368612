"""Peak memory and time of `indexer ingest` on one long scanned PDF (default: 300 pages).

Usage: .venv/bin/python -m benchmarks.ingest_memory [--pages 300] [--keep]
Prints pages, seconds, seconds per page and the peak RSS of the ingest process tree.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import PeakMemory, make_pdf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--alias", default="bench-memory")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        pdf = make_pdf(Path(scratch) / "long.pdf", arguments.pages, seed=7)
        env_prefix = {
            "INDEXER_ES__ALIAS": arguments.alias,
            "INDEXER_ARTIFACTS__DIR": str(Path(scratch) / "artifacts"),
        }
        command = [sys.executable, "-m", "indexer.cli", "ingest", str(pdf)]
        started = time.perf_counter()
        process = subprocess.Popen(command, env={**os.environ, **env_prefix})
        with PeakMemory(process.pid) as memory:
            code = process.wait()
        seconds = time.perf_counter() - started
    print(f"exit {code}; {arguments.pages} pages in {seconds:.0f} s ({seconds / arguments.pages:.2f} s/page)")
    print(
        f"peak memory of the ingest process tree: RSS {memory.peak_bytes / 2**20:.0f} MiB, "
        f"PSS {memory.peak_pss_bytes / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
