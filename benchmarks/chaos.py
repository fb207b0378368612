"""The watch daemon under chaos, against an Elasticsearch node of its own: run by hand, prints figures.

Usage: .venv/bin/python -m benchmarks.chaos [--files 64] [--kills 10] [--es-outage-s 60]
       [--skip-hostile] [--no-models] [--seed 7] [--json-out chaos.json]

The node listens on ports 9251/9351 with its state in a temporary folder, so the shared test
node is never disturbed. The bursts are one-page PDFs made from the contracts-dev pages.

(a) Kills: drop a burst, then `kill -9` the daemon process alone (not its process group:
    workers it leaves behind are what is measured) at random moments, restarting it each time.
    A few seconds after each kill, count this run's processes still alive, then kill them so
    the run can go on. The memory of all this run's processes (PSS) is sampled once the
    workers are ready after the first and after the last restart; its peak is kept throughout.
(b) Outage: a second burst; once part of it is indexed, the node is stopped for
    --es-outage-s seconds, then started again: files quarantined, time to drain afterwards.
(c) Hostile inputs (tests/hostile.py) through `indexer ingest` and through the daemon.

Done when: 0 lost, 0 duplicated, 0 orphans, memory after the last restart within 10% of the
memory after the first, nothing quarantined for the outage, every hostile case as expected.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil
from elasticsearch import Elasticsearch

from benchmarks.chaos_tools import (
    Daemon,
    RunMemory,
    drop,
    journal_rows,
    make_pdfs,
    pages_per_file,
    wait_until,
)
from indexer.errors import ExitCode
from tests.hostile import backdate, write_hostile_inputs
from tests.hostile.checks import daemon_problems, index_problems, indexed_pages, ingest_problems, is_settled

NO_MODEL_PIPELINE = '["mask_with_anchors", "ocr_printed", "merge_text"]'
HTTP_PORT, TRANSPORT_PORT = 9251, 9351
ALIAS = "chaos"
MAX_MEMORY_GROWTH = 0.10
_POLL_S = 1.0
_ORPHAN_GRACE_S = 5.0
_MEMORY_SAMPLES = 3
_HOSTILE_AGE_S = 3600.0
_MIB = 2**20


@dataclass
class ChaosFigures:
    """What one run measured; `verdicts` holds it against the issue's "done when"."""

    files: int = 0
    kills: int = 0
    kills_during_burst: int = 0
    orphans_per_kill: list[int] = field(default_factory=list)
    pss_after_first_restart_mib: float = 0.0
    pss_after_last_restart_mib: float = 0.0
    peak_pss_mib: float = 0.0
    peak_rss_mib: float = 0.0
    burst_s: float = 0.0
    outage_s: float = 0.0
    outage_quarantined: int = 0
    drain_after_outage_s: float | None = None
    #: The daemon exited on its own (not by our kill) during the bursts.
    daemon_died: bool = False
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    hostile_ingest_exit_code: int | None = None
    hostile_ingest_problems: list[str] = field(default_factory=list)
    hostile_daemon_problems: list[str] = field(default_factory=list)
    hostile_skipped: bool = False

    @property
    def memory_growth(self) -> float:
        first = self.pss_after_first_restart_mib
        return (self.pss_after_last_restart_mib - first) / first if first else 0.0

    def verdicts(self) -> dict[str, bool]:
        verdicts = {
            "0 lost": not self.lost,
            "0 duplicated": not self.duplicated,
            "0 orphans": sum(self.orphans_per_kill) == 0,
            f"memory growth <= {MAX_MEMORY_GROWTH:.0%}": self.pss_after_first_restart_mib > 0
            and self.memory_growth <= MAX_MEMORY_GROWTH,
            "0 quarantined for the outage": self.outage_quarantined == 0,
            "the daemon never died on its own": not self.daemon_died,
        }
        if not self.hostile_skipped:
            verdicts["hostile inputs as expected"] = not (
                self.hostile_ingest_problems or self.hostile_daemon_problems
            )
        return verdicts

    def table(self) -> str:
        drain = f"{self.drain_after_outage_s:.0f} s" if self.drain_after_outage_s is not None else "never"
        memory = (
            f"{self.pss_after_first_restart_mib:.0f} / {self.pss_after_last_restart_mib:.0f} MiB "
            f"({self.memory_growth:+.1%})"
        )
        rows = [
            ("files (two bursts + probes)", f"{self.files}"),
            ("kill -9 of the daemon", f"{self.kills} ({self.kills_during_burst} with work in flight)"),
            ("orphans after each kill", " ".join(map(str, self.orphans_per_kill)) or "-"),
            ("PSS after 1st / last restart", memory),
            ("peak PSS / RSS of the run", f"{self.peak_pss_mib:.0f} / {self.peak_rss_mib:.0f} MiB"),
            ("burst with kills, until drained", f"{self.burst_s:.0f} s"),
            (
                "node outage",
                f"{self.outage_s:.0f} s, {self.outage_quarantined} quarantined, drained {drain} after",
            ),
            ("lost / duplicated", f"{len(self.lost)} / {len(self.duplicated)}"),
        ]
        if not self.hostile_skipped:
            ingest = f"exit {self.hostile_ingest_exit_code}, {len(self.hostile_ingest_problems)} problem(s)"
            rows += [
                ("hostile via ingest", ingest),
                ("hostile via the daemon", f"{len(self.hostile_daemon_problems)} problem(s)"),
            ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        for problem in [*self.hostile_ingest_problems, *self.hostile_daemon_problems]:
            lines.append(f"  hostile: {problem}")
        for name in [*self.lost, *self.duplicated]:
            lines.append(f"  {'lost' if name in self.lost else 'duplicated'}: {name}")
        return "\n".join(lines)


class ChaosRun:
    """One run: the node, the daemon and the figures, with the three phases as methods."""

    def __init__(self, arguments: argparse.Namespace, scratch: Path) -> None:
        self.arguments = arguments
        self.scratch = scratch
        self.state_dir = scratch / "state"
        self.inbox = scratch / "inbox"
        self.staging = scratch / "staging"
        for folder in (self.state_dir, self.inbox, self.staging):
            folder.mkdir()
        # The node runs as an unprivileged account when we are root: it must enter these folders.
        for folder in (scratch, self.state_dir):
            folder.chmod(0o755)
        self.env = self._environment()
        self.client = Elasticsearch(f"http://127.0.0.1:{HTTP_PORT}", request_timeout=30)
        self.rng = random.Random(arguments.seed)
        self.memory = RunMemory(self.state_dir)
        self.daemon = Daemon(self.inbox, self.env, scratch / "daemon.log")
        self.expected: list[str] = []
        self.figures = ChaosFigures()

    def _environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key != "INDEXER_ES_URL"}
        env |= {
            "INDEXER_STATE_DIR": str(self.state_dir),
            "INDEXER_ES__NODE__PORT": str(HTTP_PORT),
            "INDEXER_ES__NODE__TRANSPORT_PORT": str(TRANSPORT_PORT),
            "INDEXER_ES__ALIAS": ALIAS,
            "INDEXER_WATCH__WORKERS": str(self.arguments.workers),
            "COLUMNS": "1000",  # log lines unwrapped, so a file's name stays on one line
        }
        if self.arguments.no_models:
            env["INDEXER_PIPELINE__PROCESSORS"] = NO_MODEL_PIPELINE
        return env

    def indexer(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run `indexer ARGV...`; one that runs past --drain-timeout-s reads as exit 124."""
        command = [sys.executable, "-m", "indexer.cli", *argv]
        try:
            return subprocess.run(
                command,
                env=env or self.env,
                capture_output=True,
                text=True,
                timeout=self.arguments.drain_timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            output = (
                exc.output.decode(errors="replace") if isinstance(exc.output, bytes) else exc.output or ""
            )
            return subprocess.CompletedProcess(command, 124, output, "timed out")

    def node(self, action: str) -> bool:
        completed = self.indexer("es", action)
        print(f"  indexer es {action}: {(completed.stdout + completed.stderr).strip()}", flush=True)
        return completed.returncode == 0

    def pending(self) -> int:
        return sum(
            1 for _, state, _ in journal_rows(self.state_dir) if state in ("queued", "processing", "failed")
        )

    def drained(self) -> bool:
        counts = pages_per_file(self.client, ALIAS)
        return all(counts.get(name, 0) >= 1 for name in self.expected) and self.pending() == 0

    def wait(self, condition: Callable[[], bool]) -> bool:
        """Wait for `condition` while the daemon lives; a daemon that exits is recorded."""
        wait_until(lambda: condition() or not self.daemon.is_alive, timeout_s=self.arguments.drain_timeout_s)
        self.figures.daemon_died |= not self.daemon.is_alive
        return condition()

    # -- (a) kills ---------------------------------------------------------------------------

    def pss_once_ready(self, since: float) -> float:
        """PSS of the run (MiB) once a daemon started at `since` claims work, which it does only
        when its workers are ready; a probe file gives it work when the burst is over."""

        def working() -> bool:
            rows = journal_rows(self.state_dir)
            return any(state in ("processing", "indexed") and at >= since for _, state, at in rows)

        if self.pending() == 0:
            self.expected += drop(make_pdfs(self.staging, 1, prefix=f"probe{len(self.expected)}"), self.inbox)
        self.wait(working)
        samples = []
        for _ in range(_MEMORY_SAMPLES):
            samples.append(self.memory.sample()[1] / _MIB)
            time.sleep(_POLL_S)
        return statistics.median(samples)

    def kill_and_count_orphans(self) -> None:
        workers = self.daemon.workers()
        in_flight = self.pending() > 0
        self.daemon.kill_alone()
        time.sleep(_ORPHAN_GRACE_S)  # the measurement window: survivors after a few seconds
        orphans = self.memory.processes()
        for process in orphans:
            process.kill()
        psutil.wait_procs(orphans, timeout=30)
        self.figures.kills += 1
        self.figures.kills_during_burst += in_flight
        self.figures.orphans_per_kill.append(len(orphans))
        print(f"  kill {self.figures.kills}: {len(workers)} workers, {len(orphans)} left alive", flush=True)

    def kills_phase(self) -> None:
        self.expected += drop(make_pdfs(self.staging, self.arguments.files, prefix="a"), self.inbox)
        started = time.monotonic()
        self.daemon.start()
        for kill in range(1, self.arguments.kills + 1):
            time.sleep(self.rng.uniform(1.0, self.arguments.kill_window_s))  # a random moment
            self.kill_and_count_orphans()
            restarted = time.time()
            self.daemon.start()
            if kill == 1:
                self.figures.pss_after_first_restart_mib = self.pss_once_ready(restarted)
            if kill == self.arguments.kills:
                self.figures.pss_after_last_restart_mib = self.pss_once_ready(restarted)
        self.wait(self.drained)
        self.figures.burst_s = time.monotonic() - started

    # -- (b) node outage ---------------------------------------------------------------------

    def outage_phase(self) -> None:
        names = drop(make_pdfs(self.staging, self.arguments.files, prefix="b"), self.inbox)
        self.expected += names
        part = max(1, len(names) // 3)

        def part_indexed() -> bool:
            counts = pages_per_file(self.client, ALIAS)
            return sum(1 for name in names if counts.get(name)) >= part

        self.wait(part_indexed)
        print(f"  stopping the node for {self.arguments.es_outage_s:.0f} s", flush=True)
        self.node("stop")
        time.sleep(self.arguments.es_outage_s)  # the outage itself
        if not self.node("start"):
            raise SystemExit("the benchmark's node did not come back")
        back = time.monotonic()
        if self.wait(self.drained):
            self.figures.drain_after_outage_s = time.monotonic() - back
        self.figures.outage_s = self.arguments.es_outage_s
        quarantine = self.inbox / ".quarantine"
        self.figures.outage_quarantined = sum((quarantine / name).exists() for name in names)

    def count_lost_and_duplicated(self) -> None:
        counts = pages_per_file(self.client, ALIAS)
        self.figures.files = len(self.expected)
        self.figures.lost = [name for name in self.expected if counts.get(name, 0) == 0]
        self.figures.duplicated = [name for name in self.expected if counts.get(name, 0) > 1]

    # -- (c) hostile inputs ------------------------------------------------------------------

    def hostile_through_ingest(self) -> None:
        folder = self.scratch / "hostile-ingest"
        # ingest follows links out of the folder it was given (and says so); the daemon refuses them.
        cases = [case.for_ingest() for case in write_hostile_inputs(folder, self.scratch / "outside-ingest")]
        alias = f"{ALIAS}-hostile-ingest"
        completed = self.indexer("ingest", str(folder), env={**self.env, "INDEXER_ES__ALIAS": alias})
        output = completed.stdout + completed.stderr
        (self.scratch / "hostile-ingest.log").write_text(output)
        self.figures.hostile_ingest_exit_code = completed.returncode
        problems = []
        if not re.search(r"^indexed \d+ of \d+ files", output, flags=re.MULTILINE):
            last = output.strip().splitlines()[-1:] or ["no output"]
            problems.append(f"stopped before the end: {last[0]}")  # each case's figures would only echo it
        else:
            pages = indexed_pages(self.client, alias)
            problems += [
                problem
                for case in cases
                for problem in [*ingest_problems(case, output), *index_problems(case, pages)]
            ]
        if completed.returncode != ExitCode.INPUT:
            problems.append(f"exit code {completed.returncode}, expected {ExitCode.INPUT} (input error)")
        self.figures.hostile_ingest_problems = [f"ingest: {problem}" for problem in problems]

    def hostile_through_daemon(self) -> None:
        folder = self.scratch / "hostile-watch"
        cases = write_hostile_inputs(folder, self.scratch / "outside-watch")
        backdate(cases, age_s=_HOSTILE_AGE_S)
        alias = f"{ALIAS}-hostile-watch"
        daemon = Daemon(folder, {**self.env, "INDEXER_ES__ALIAS": alias}, self.scratch / "hostile-daemon.log")
        quarantine = folder / ".quarantine"

        def settled() -> bool:
            pages, log_text = indexed_pages(self.client, alias), daemon.log.read_text(errors="replace")
            return not daemon.is_alive or all(is_settled(case, quarantine, log_text, pages) for case in cases)

        daemon.start()
        try:
            wait_until(settled, timeout_s=self.arguments.drain_timeout_s)
            pages, log_text = indexed_pages(self.client, alias), daemon.log.read_text(errors="replace")
            problems = [
                problem
                for case in cases
                for problem in [*daemon_problems(case, quarantine, log_text), *index_problems(case, pages)]
            ]
            if not daemon.is_alive:
                problems.append("the daemon died")
        finally:
            daemon.stop()
        self.figures.hostile_daemon_problems = [f"daemon: {problem}" for problem in problems]

    # -- the whole run -----------------------------------------------------------------------

    def run(self) -> ChaosFigures:
        print(f"node on port {HTTP_PORT}, state in {self.state_dir}", flush=True)
        if not self.node("start"):
            raise SystemExit("the benchmark's node did not start")
        with self.memory:
            try:
                print(f"(a) burst of {self.arguments.files} files, {self.arguments.kills} kills", flush=True)
                self.kills_phase()
                print("(b) burst with a node outage", flush=True)
                self.outage_phase()
                self.count_lost_and_duplicated()
                self.daemon.stop()
                if self.arguments.skip_hostile:
                    self.figures.hostile_skipped = True
                else:
                    print("(c) hostile inputs through ingest and the daemon", flush=True)
                    self.hostile_through_ingest()
                    self.hostile_through_daemon()
            finally:
                self.daemon.stop()
                for process in self.memory.processes():
                    process.kill()
                self.node("stop")
        self.figures.peak_pss_mib = self.memory.peak_pss_bytes / _MIB
        self.figures.peak_rss_mib = self.memory.peak_bytes / _MIB
        return self.figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=64, help="files per burst (two bursts)")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--es-outage-s", type=float, default=60.0)
    parser.add_argument(
        "--kill-window-s", type=float, default=30.0, help="kills come 1 s to this long after a start"
    )
    parser.add_argument("--drain-timeout-s", type=float, default=3600.0, help="the most any wait may take")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-hostile", action="store_true")
    parser.add_argument("--no-models", action="store_true", help="page OCR only, for a quick smoke run")
    parser.add_argument("--json-out", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, journal)")
    arguments = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    try:
        figures = ChaosRun(arguments, scratch).run()
    finally:
        if arguments.keep:
            print(f"scratch kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    verdicts = figures.verdicts()
    print(figures.table())
    for name, passed in verdicts.items():
        print(f"{'ok  ' if passed else 'FAIL'} {name}")
    print("PASS" if all(verdicts.values()) else "FAIL")
    if arguments.json_out:
        report = {**asdict(figures), "memory_growth": figures.memory_growth, "verdicts": verdicts}
        arguments.json_out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
