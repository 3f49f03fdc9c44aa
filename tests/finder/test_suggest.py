"""Range-test suggestions on synthetic curves with known answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lrlab.finder import (
    RangeTestResult,
    Smoother,
    bounds,
    combined,
    diverged,
    minimum_div_10,
    smooth,
    steepest,
    sweep_schedule,
    valley,
)

STEPS = 200
LRS = sweep_schedule(1e-6, 10.0, STEPS, "exp")(np.arange(STEPS))
LOG_LR = np.log10(LRS)
STEEPEST_AT = -3.0  # log10 LR where the clean curve falls fastest
MINIMUM_AT = -0.5  # log10 LR of its lowest point


def clean_curve(offset: float = 0.0) -> np.ndarray:
    """A sigmoid descent centred at 1e-3, then a quadratic blow-up past 10**-0.5."""
    descent = 2.0 - 1.5 / (1.0 + np.exp(-3.0 * (LOG_LR - STEEPEST_AT)))
    blow_up = np.where(LOG_LR > MINIMUM_AT, 8.0 * (LOG_LR - MINIMUM_AT) ** 2, 0.0)
    return descent + blow_up + offset


def noisy_curve(seed: int) -> np.ndarray:
    """The clean curve with Gaussian noise and a few large spikes."""
    rng = np.random.default_rng(seed)
    curve = clean_curve() + rng.normal(0.0, 0.03, STEPS)
    spikes = rng.choice(np.arange(20, 160), size=4, replace=False)
    curve[spikes] += rng.uniform(0.5, 1.5, size=4)
    return curve


def log_distance(a: float, b: float) -> float:
    return abs(math.log10(a) - math.log10(b))


def test_clean_curve_answers() -> None:
    losses = clean_curve()
    assert log_distance(steepest(LRS, losses).lr, 10**STEEPEST_AT) < 0.05
    lowest = LRS[np.argmin(losses)]
    assert minimum_div_10(LRS, losses).lr == pytest.approx(lowest / 10)
    assert log_distance(lowest, 10**MINIMUM_AT) < 0.05
    found = valley(LRS, losses)
    assert 10**STEEPEST_AT / 30 < found.lr < lowest  # inside the descent
    best = combined(LRS, losses)
    assert best.lr == sorted([steepest(LRS, losses).lr, found.lr, lowest / 10])[1]
    edges = bounds(LRS, losses)
    assert edges.base_value < steepest(LRS, losses).lr < edges.max_value <= lowest
    assert edges.peak_value == edges.max_value and edges.reason is None


@pytest.mark.parametrize("seed", range(10))
def test_noisy_curves_with_spikes_stay_inside_the_descent(seed: int) -> None:
    """Noise and spikes move the answer by less than a decade, and never out of the
    descending part of the curve (below the lowest loss, above where the fall starts)."""
    smoothed = smooth(noisy_curve(seed), 0.9)
    reference = combined(LRS, smooth(clean_curve(), 0.9)).lr
    got = combined(LRS, smoothed)
    assert got.lr is not None and log_distance(got.lr, reference) < 1.0, (got, reference)
    edges = bounds(LRS, smoothed)
    assert edges.base_value < got.lr < edges.max_value < 10**MINIMUM_AT


def test_nan_and_inf_cut_the_curve() -> None:
    losses = clean_curve()
    losses[150] = np.nan
    losses[151:] = np.inf
    for method in (steepest, valley, minimum_div_10, combined):
        found = method(LRS, losses)
        assert found.lr is not None and math.isfinite(found.lr)
        assert found.index is None or found.index < 150
    assert minimum_div_10(LRS, losses).lr == pytest.approx(LRS[np.argmin(losses[:150])] / 10)


def test_negative_losses_give_the_same_answers() -> None:
    for method in (steepest, valley, minimum_div_10, combined):
        assert method(LRS, clean_curve(-10.0)).lr == method(LRS, clean_curve()).lr
    assert bounds(LRS, clean_curve(-10.0)) == bounds(LRS, clean_curve())


@pytest.mark.parametrize(
    ("losses", "reason"),
    [
        (np.full(STEPS, 0.7), "flat curve"),
        (0.7 + np.random.default_rng(1).normal(0, 1e-4, STEPS), "flat curve"),
        (np.linspace(1.0, 3.0, STEPS), "flat curve"),  # only rises
        (np.concatenate([[1.0, 0.9, 0.8], np.full(STEPS - 3, np.nan)]), "only 3 finite points"),
        (np.full(STEPS, np.nan), "only 0 finite points"),
    ],
)
def test_no_suggestion_comes_with_a_reason_never_nan(losses: np.ndarray, reason: str) -> None:
    for method in (steepest, valley, minimum_div_10, combined):
        found = method(LRS, losses)
        assert found.lr is None and found.index is None and reason in found.reason
    edges = bounds(LRS, losses)
    assert edges.base_value is None and edges.max_value is None and reason in edges.reason


def test_suggestions_are_deterministic() -> None:
    losses = noisy_curve(3)
    first = [method(LRS, losses) for method in (steepest, valley, minimum_div_10, combined)]
    again = [method(LRS, losses.copy()) for method in (steepest, valley, minimum_div_10, combined)]
    assert first == again


def test_mismatched_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="equal length"):
        steepest(LRS, clean_curve()[:-1])


def test_smoother_is_bias_corrected_ema() -> None:
    smoother = Smoother(0.9)
    assert smoother.update(3.0) == pytest.approx(3.0)
    expected = (0.9 * 0.1 * 3.0 + 0.1 * 1.0) / (1 - 0.81)
    assert smoother.update(1.0) == pytest.approx(expected)
    np.testing.assert_array_equal(smooth([1.0, 5.0, 2.0], 0.0), [1.0, 5.0, 2.0])
    with pytest.raises(ValueError, match="smoothing must be in"):
        Smoother(1.0)


@pytest.mark.parametrize(
    ("smoothed", "best", "expected"),
    [(4.1, 1.0, True), (3.9, 1.0, False), (-6.0, -10.0, False), (21.0, -10.0, True),
     (0.5, 0.0, True), (-0.9, -1.0, False)],
)  # fmt: skip
def test_divergence_is_a_distance_from_the_best(smoothed: float, best: float, expected: bool):
    assert diverged(smoothed, best, 4.0) is expected


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((0.0, 1.0, 10, "exp"), ValueError, "start_value must be > 0"),
        ((1.0, 1.0, 10, "exp"), ValueError, "end_value must be > start_value"),
        ((1e-5, 1.0, 1, "exp"), ValueError, "num_steps must be an integer in"),
        ((1e-5, 1.0, 2.5, "exp"), TypeError, "num_steps must be an integer"),
        ((1e-5, 1.0, 10, "log"), ValueError, "mode must be one of"),
        ((1e-5, 1.0, 10, None), TypeError, "mode must be one of"),
        (("1e-5", 1.0, 10, "exp"), TypeError, "start_value must be a real number"),
    ],
)
def test_sweep_arguments_are_checked(args: tuple, error: type, match: str) -> None:
    with pytest.raises(error, match=f"find_lr: {match}"):
        sweep_schedule(*args)


def test_sweep_endpoints() -> None:
    exp = sweep_schedule(1e-7, 10.0, 100, "exp")(np.arange(100))
    assert exp[0] == pytest.approx(1e-7) and exp[-1] == pytest.approx(10.0, rel=1e-12)
    assert np.allclose(np.diff(np.log(exp)), np.log(1e8) / 99)
    linear = sweep_schedule(0.1, 1.0, 10, "linear")(np.arange(10))
    np.testing.assert_allclose(linear, np.linspace(0.1, 1.0, 10), rtol=1e-15)


def test_result_dict_plot_and_repr(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    losses = noisy_curve(0)
    losses[-5:] = [5.0, 9.0, 20.0, np.inf, np.nan]
    result = RangeTestResult(LRS, losses, 0.9, "non_finite", STEPS)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["losses"][-1] is None and data["steps"] == STEPS
    assert data["suggestions"]["combined"]["lr"] == result.suggest().lr
    assert data["bounds"]["peak_value"] == result.bounds().max_value
    path = result.plot(tmp_path / "plots" / "range.png")
    assert path.stat().st_size > 10_000 and list(tmp_path.rglob(".*partial")) == []
    from matplotlib.image import imread

    pixels = imread(path)
    assert pixels.shape[0] > 300 and pixels[..., :3].std() > 0.05  # not blank
    assert "suggestion=" in repr(result)
    with pytest.raises(ValueError, match="method must be one of"):
        result.suggest("fastest")
    with pytest.raises(ValueError, match="image suffix"):
        result.plot(tmp_path / "range.txt")


def test_result_validates_its_inputs() -> None:
    with pytest.raises(ValueError, match="equal length"):
        RangeTestResult([1e-3, 1e-2], [1.0], 0.9, "completed", 2)
    with pytest.raises(ValueError, match="stop_reason must be one of"):
        RangeTestResult([1e-3], [1.0], 0.9, "stopped", 2)


def test_auto_schedules_take_their_lrs_from_the_test() -> None:
    from lrlab.finder import cyclic_from, one_cycle_from

    result = RangeTestResult(LRS, clean_curve(), 0.0, "completed", STEPS)
    cycle = one_cycle_from(result, 1000, pct_start=0.25)
    assert cycle.peak_value == result.suggest().lr and cycle.total_steps == 1000
    assert one_cycle_from(result, 100, method="valley").peak_value == result.suggest("valley").lr
    triangle = cyclic_from(result, 2000, mode="triangular2")
    edges = result.bounds()
    assert (triangle.base_value, triangle.max_value) == (edges.base_value, edges.max_value)
    assert triangle.step_size_up == 2000 and triangle.mode == "triangular2"
    flat = RangeTestResult(LRS, np.full(STEPS, 0.7), 0.0, "completed", STEPS)
    with pytest.raises(ValueError, match="suggests no LR: the loss never fell"):
        one_cycle_from(flat, 100)
    with pytest.raises(ValueError, match="gives no bounds: the loss never fell"):
        cyclic_from(flat, 100)
    with pytest.raises(TypeError, match="result must be a RangeTestResult"):
        one_cycle_from({"lr": 0.1}, 100)  # type: ignore[arg-type]
