"""The checks the watch daemon runs in its own process before any worker loads a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.config import Settings
from indexer.errors import DependencyError
from indexer.preflight import check_pipeline


def test_the_shipped_defaults_pass() -> None:
    check_pipeline(Settings())


@pytest.mark.parametrize(
    ("section", "update", "message"),
    [
        ("detector", {"model_dir": Path("/no/such/detector")}, "INDEXER_DETECTOR__MODEL_DIR"),
        ("handwriting", {"engine": "htr", "htr_model_dir": Path("/no/such/htr")}, "HTR_MODEL_DIR"),
        ("tesseract", {"lang": "xx-none"}, "tesseract-ocr-xx-none"),
    ],
)
def test_each_missing_part_is_named_with_what_to_do(
    section: str, update: dict[str, object], message: str
) -> None:
    defaults = Settings()
    settings = defaults.model_copy(update={section: getattr(defaults, section).model_copy(update=update)})

    with pytest.raises(DependencyError, match=message):
        check_pipeline(settings)
