from __future__ import annotations

from pathlib import Path

import pytest

from indexer.training.detector.card import put_card_section

CARD = "# Model\n\nHead.\n\n## Notes\n\nWritten by hand.\n"


def test_a_new_section_goes_at_the_end_and_a_rerun_replaces_it(tmp_path: Path) -> None:
    card = tmp_path / "MODEL_CARD.md"
    card.write_text(CARD)
    put_card_section(card, "## Refiner\n\nFirst run.\n")
    assert card.read_text() == CARD + "\n## Refiner\n\nFirst run.\n"
    put_card_section(card, "## Refiner\n\nSecond run.\n")
    assert card.read_text() == CARD + "\n## Refiner\n\nSecond run.\n"


def test_a_section_in_the_middle_is_replaced_in_place(tmp_path: Path) -> None:
    """GIVEN a generated section between hand-written ones THEN only it changes, its heading's
    look-alikes ('### Refiner', '## Refiner notes') are left alone, and the blank line before the
    next section stays."""
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# Model\n\n### Refiner\n\n## Refiner\n\nOld.\n\n## Refiner notes\n\nBy hand.\n")
    put_card_section(card, "## Refiner\n\nNew,\nlonger.\n")
    assert card.read_text() == (
        "# Model\n\n### Refiner\n\n## Refiner\n\nNew,\nlonger.\n\n## Refiner notes\n\nBy hand.\n"
    )


def test_a_missing_card_is_created_and_a_section_needs_a_heading(tmp_path: Path) -> None:
    card = tmp_path / "MODEL_CARD.md"
    put_card_section(card, "## Prior\n\n1.5\n")
    assert card.read_text() == "## Prior\n\n1.5\n"
    with pytest.raises(ValueError, match="heading"):
        put_card_section(card, "No heading.\n")
