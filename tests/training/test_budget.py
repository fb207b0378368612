from __future__ import annotations

import logging
import math

import pytest

from indexer.training import budget as budget_module
from indexer.training.budget import StepBudget, spent_share


class _Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(budget_module.time, "monotonic", fake)
    return fake


def test_runs_every_step_within_the_budget_and_smooths_the_loss(clock: _Clock) -> None:
    run = StepBudget(steps=3, max_minutes=1.0, name="test")
    seen = []
    for index, elapsed_s in run:
        seen.append((index, elapsed_s))
        run.record([2.0, 1.0, 1.0][index])
        clock.now += 10.0
    assert seen == [(0, 0.0), (1, 10.0), (2, 20.0)]
    assert run.done == 3
    assert run.smoothed == pytest.approx(0.95 * (0.95 * 2.0 + 0.05) + 0.05)


def test_stops_once_the_minutes_are_spent(clock: _Clock, caplog: pytest.LogCaptureFixture) -> None:
    run = StepBudget(steps=100, max_minutes=0.5, name="refiner")
    with caplog.at_level(logging.WARNING):
        for _ in run:
            run.record(1.0)
            clock.now += 11.0  # steps start at 0, 11, 22 s; the fourth would start at 33 s > 30 s
    assert run.done == 3
    assert "refiner: stopping at step 3, the 0.5-minute budget is spent" in caplog.text


def test_no_step_leaves_the_loss_unknown(clock: _Clock) -> None:
    run = StepBudget(steps=0, max_minutes=1.0, name="test")
    assert list(run) == []
    assert run.done == 0
    assert math.isnan(run.smoothed)  # there is no loss to report


def test_the_spent_share_is_the_steps_or_the_time_whichever_is_further() -> None:
    assert spent_share(25, 30.0, steps=100, max_minutes=1.0) == pytest.approx(0.5)  # the time
    assert spent_share(75, 30.0, steps=100, max_minutes=1.0) == pytest.approx(0.75)  # the steps
    assert spent_share(10, 3600.0, steps=100, max_minutes=1.0) == 1.0  # past the budget: capped
