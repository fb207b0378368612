"""Run Maven to fetch an artifact from Maven Central."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from indexer.errors import DependencyError

__all__ = ["MAVEN_TIMEOUT_S", "copy_artifact"]

log = logging.getLogger(__name__)

MAVEN_TIMEOUT_S = 900.0


def copy_artifact(coordinates: str, output_dir: Path, *, timeout_s: float = MAVEN_TIMEOUT_S) -> None:
    """`mvn dependency:copy` one artifact (`group:artifact:version:type`) into `output_dir`.

    Raises:
        DependencyError: Maven is missing, times out, or cannot resolve the artifact.
    """
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DependencyError(
            "Maven (`mvn`) is needed once to download Elasticsearch; install it (apt-get install maven) "
            "or set INDEXER_ES_URL to use an existing cluster"
        )
    argv = [
        mvn,
        "--batch-mode",
        "--quiet",
        "dependency:copy",
        f"-Dartifact={coordinates}",
        f"-DoutputDirectory={output_dir}",
    ]
    log.info("downloading %s from Maven Central", coordinates)
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise DependencyError(f"mvn did not finish downloading {coordinates} in {timeout_s:.0f} s") from exc
    for line in completed.stdout.splitlines() + completed.stderr.splitlines():
        if line.strip():
            log.debug("mvn: %s", line)
    if completed.returncode != 0:
        errors = [line for line in completed.stdout.splitlines() if line.startswith("[ERROR]")]
        detail = errors[0] if errors else completed.stderr.strip()[-300:]
        raise DependencyError(f"mvn could not download {coordinates}: {detail}")
