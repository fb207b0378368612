"""Where the files the code reads at run time live: mappings, Kibana objects, shipped models.

In a source checkout (and an editable install) they are the top-level folders of the repository;
a wheel installs them under `<prefix>/share/contract-indexer/` (pyproject.toml's data-files).
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["resource_dir"]

_SOURCE_ROOT = Path(__file__).resolve().parents[1]
_INSTALLED_ROOT = Path(sys.prefix) / "share" / "contract-indexer"


def resource_dir(name: str) -> Path:
    """The folder `name` (`mappings`, `kibana`, `models`): the checkout's, else the installed copy."""
    source = _SOURCE_ROOT / name
    if source.is_dir():
        return source
    return _INSTALLED_ROOT / name
