"""A folder of broken and hostile inputs, generated in code, with what a careful tool should do.

Each case says whether the file should be indexed (a valid scan, however unusual) or failed (the
file is bad, or is not a file, or must not be read: the tool says why and goes on).
Good files are made with the factories; damage is done to their bytes, and some PDFs and PNGs are
written by hand to get exactly the structure a case needs. `checks` says what became of each.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.factories import synthetic_pages
from tests.hostile.bad import BAD
from tests.hostile.case import Expectation, HostileCase, Material
from tests.hostile.good import GOOD

# What became of each case is checked by `tests.hostile.checks`.
__all__ = ["Expectation", "HostileCase", "backdate", "write_hostile_inputs"]

#: Distinct generated pages the good files are drawn from (each good file has its own bytes).
_SOURCE_PAGES = 4
_SOURCE_SEED = 4242


def write_hostile_inputs(folder: Path, outside: Path) -> list[HostileCase]:
    """Write every hostile case into `folder` (links may point into `outside`); return the cases.

    Args:
        folder: an empty folder: what `indexer ingest` or the daemon is pointed at.
        outside: another folder, for files that links leave `folder` to reach.
    """
    folder.mkdir(parents=True, exist_ok=True)
    outside.mkdir(parents=True, exist_ok=True)
    material = Material(folder, outside, synthetic_pages(_SOURCE_PAGES, seed=_SOURCE_SEED))
    return [make(material) for make in [*GOOD, *BAD]]


def backdate(cases: list[HostileCase], *, age_s: float) -> None:
    """Set every case's modification time `age_s` in the past (a link's own, never its target's).

    A daemon may give a damaged file that was just written time to be completed; files dropped
    long ago are bad for good.
    """
    then = time.time() - age_s
    for case in cases:
        os.utime(case.path, (then, then), follow_symlinks=False)
