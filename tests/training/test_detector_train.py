from __future__ import annotations

import numpy as np
import pytest

from indexer.training.detector_train import _Prefetcher


def test_prefetched_batches_come_in_the_order_they_were_drawn() -> None:
    """One thread draws every batch from one generator, so a seeded run sees the same batches
    as drawing them in the training loop would."""
    rng = np.random.default_rng(7)
    prefetcher = _Prefetcher(lambda: (rng.random(3), rng.random(1)))
    try:
        fetched = [prefetcher.next() for _ in range(5)]
    finally:
        prefetcher.close()
    expected_rng = np.random.default_rng(7)
    for images, labels in fetched:
        assert np.array_equal(images, expected_rng.random(3)) and np.array_equal(
            labels, expected_rng.random(1)
        )


def test_an_error_while_drawing_reaches_the_training_loop() -> None:
    calls = iter(range(3))

    def draw() -> tuple[np.ndarray, np.ndarray]:
        if next(calls) == 2:
            raise ValueError("page 3 is unreadable")
        return np.zeros(1), np.zeros(1)

    prefetcher = _Prefetcher(draw)
    try:
        prefetcher.next()
        prefetcher.next()
        with pytest.raises(ValueError, match="page 3"):
            prefetcher.next()
    finally:
        prefetcher.close()
