"""The step loop the detector and refiner trainers share: a step count and a wall-clock budget."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator

log = logging.getLogger(__name__)

__all__ = ["StepBudget", "spent_share"]


class StepBudget:
    """At most `steps` training steps, stopping early once `max_minutes` are spent.

    Iterating yields `(index, elapsed_s)` before each step (index from 0, seconds since the loop
    began), for the learning-rate schedule; `record` takes the step's loss. Afterwards `done` is
    the number of steps taken and `smoothed` the loss's moving average, as the model card reports.
    """

    def __init__(self, steps: int, max_minutes: float, name: str) -> None:
        self.steps = steps
        self.max_minutes = max_minutes
        self.name = name
        self.done = 0
        self.smoothed = math.nan

    def __iter__(self) -> Iterator[tuple[int, float]]:
        started = time.monotonic()
        for index in range(self.steps):
            elapsed_s = time.monotonic() - started
            if elapsed_s > self.max_minutes * 60:
                log.warning(
                    "%s: stopping at step %d, the %.1f-minute budget is spent",
                    self.name,
                    index,
                    self.max_minutes,
                )
                return
            yield index, elapsed_s

    def record(self, loss: float) -> float:
        """Count a step with this loss; returns the smoothed loss."""
        self.done += 1
        self.smoothed = loss if math.isnan(self.smoothed) else 0.95 * self.smoothed + 0.05 * loss
        return self.smoothed


def spent_share(step: int, elapsed_s: float, steps: int, max_minutes: float) -> float:
    """How much of a budget of `steps` steps or `max_minutes` is spent at `step` after `elapsed_s`:
    the larger share, at most 1, so that a schedule decaying over it ends where the loop stops."""
    return min(max(step / steps, elapsed_s / (max_minutes * 60)), 1.0)
