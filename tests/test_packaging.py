"""A wheel carries what the code reads at run time, where `indexer.resources` looks for it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from indexer.resources import resource_dir

ROOT = Path(__file__).resolve().parents[1]
SHARE = "contract_indexer-0.1.0.data/data/share/contract-indexer"


@pytest.mark.slow
def test_the_wheel_holds_mappings_kibana_objects_models_and_package_data(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    for needed in (
        f"{SHARE}/mappings/contracts-v1.json",
        f"{SHARE}/kibana/saved_objects.ndjson",
        f"{SHARE}/models/detector/detector.json",
        f"{SHARE}/models/detector/detector.weights.h5",
        f"{SHARE}/models/htr/htr.weights.npz",
        "indexer/training/entity_cases.json",
    ):
        assert needed in names, needed


def test_a_checkout_reads_its_own_folders() -> None:
    assert resource_dir("mappings") == ROOT / "mappings"
    assert (resource_dir("models") / "detector" / "detector.json").is_file()
