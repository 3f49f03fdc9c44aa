"""Momentum schedules of the cyclical families: torch's ``cycle_momentum`` curves."""

from __future__ import annotations

import numpy as np
import pytest

import lrlab
from lrlab.schedules import Cyclic, OneCycle


def torch_momenta(scheduler_factory, steps: int) -> np.ndarray:
    torch = pytest.importorskip("torch")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    scheduler = scheduler_factory(torch, optimizer)
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        scheduler.step()
    return np.array(values)


@pytest.mark.parametrize("anneal", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_momentum_is_torchs(three_phase: bool, anneal: str) -> None:
    total = 57
    schedule = OneCycle(peak_value=0.3, total_steps=total, three_phase=three_phase, anneal=anneal)
    expected = torch_momenta(
        lambda torch, opt: torch.optim.lr_scheduler.OneCycleLR(
            opt, 0.3, total_steps=total, three_phase=three_phase, anneal_strategy=anneal,
            base_momentum=0.8, max_momentum=0.93,
        ),
        total,
    )  # fmt: skip
    got = schedule.momentum(0.8, 0.93)(np.arange(total))
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=0)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_momentum_is_torchs(mode: str) -> None:
    gamma = 0.98 if mode == "exp_range" else 1.0
    schedule = Cyclic(0.01, 0.1, step_size_up=5, step_size_down=3, mode=mode, gamma=gamma)
    expected = torch_momenta(
        lambda torch, opt: torch.optim.lr_scheduler.CyclicLR(
            opt, 0.01, 0.1, step_size_up=5, step_size_down=3, mode=mode, gamma=gamma
        ),
        40,
    )
    np.testing.assert_array_equal(schedule.momentum()(np.arange(40)), expected)


def test_defaults_and_pass_through() -> None:
    cycle = lrlab.parse("one_cycle(peak_value=0.1, total_steps=20)")
    assert cycle.momentum()(0) == pytest.approx(0.95)
    assert (0.5 * cycle).momentum() == cycle.momentum()
    epochs = lrlab.parse(
        "per_epoch(cyclic(base_value=0, max_value=1, step_size_up=2), steps_per_epoch=3)"
    )
    assert epochs.momentum()(np.arange(7)).tolist() == pytest.approx(
        [0.9, 0.9, 0.9, 0.85, 0.85, 0.85, 0.8]
    )
    for spec in ("cosine(init_value=0.1, total_steps=9)", "constant(value=1)"):
        assert lrlab.parse(spec).momentum() is None


@pytest.mark.parametrize(
    ("base", "high", "match"),
    [
        (0.95, 0.85, "base_momentum <= max_momentum"),
        (-0.1, 0.9, "0 <= base_momentum"),
        (0.9, 1.5, "max_momentum <= 1"),
    ],
)
def test_bad_momentum_bounds(base: float, high: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        lrlab.parse("cyclic(base_value=0, max_value=1, step_size_up=2)").momentum(base, high)
    with pytest.raises(TypeError, match="base_momentum must be a real number"):
        lrlab.parse("one_cycle(peak_value=0.1, total_steps=9)").momentum("0.8")
    with pytest.raises(ValueError, match="one_cycle: base_momentum must be > 0"):
        lrlab.parse("one_cycle(peak_value=0.1, total_steps=9)").momentum(0.0)


def test_inverted_cycle_cannot_grow_below_zero() -> None:
    with pytest.raises(ValueError, match="inverted cycle .* needs gamma <= 1"):
        Cyclic(0.9, 0.8, step_size_up=2, mode="exp_range", gamma=1.01)
    inverted = Cyclic(0.9, 0.8, step_size_up=2, mode="exp_range", gamma=0.99)
    assert inverted(np.arange(1000)).min() >= 0.8
