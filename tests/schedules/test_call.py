"""Calling a schedule: scalar and array paths, overflow, windows of sequence pieces."""

from __future__ import annotations

import numpy as np
import pytest

import lrlab

GROWTH = "exponential(init_value=1e-07, factor=10.0)"


def test_scalar_returns_float_and_array_returns_float64_of_same_shape() -> None:
    schedule = lrlab.parse("cosine(init_value=0.1, total_steps=10)")
    assert type(schedule(3)) is float and type(schedule(np.int64(3))) is float
    grid = np.arange(12).reshape(3, 4)
    values = schedule(grid)
    assert values.dtype == np.float64 and values.shape == (3, 4)
    assert schedule(np.array([], dtype=np.int64)).shape == (0,)


def test_evaluation_does_not_mutate_the_input() -> None:
    times = np.arange(5, dtype=np.float64)
    lrlab.parse("step(init_value=1, factor=0.5, every=2)")(times)
    np.testing.assert_array_equal(times, np.arange(5))


@pytest.mark.parametrize("t", [1e6, np.array([0.0, 1e6])])
def test_overflow_raises_value_error_on_both_paths(t: object) -> None:
    with pytest.raises(ValueError, match="not finite at t=1000000.0"):
        lrlab.parse(GROWTH)(t)


def test_a_growth_piece_is_only_evaluated_inside_its_window() -> None:
    schedule = lrlab.parse(f"sequence({GROWTH}, constant(value=0.1), durations=[7])")
    values = schedule(np.array([0.0, 6.0, 7.0, 1e6]))
    np.testing.assert_allclose(values, [1e-7, 0.1, 0.1, 0.1], rtol=1e-12)
    assert schedule(1e6) == 0.1


@pytest.mark.parametrize("t", [-1, -0.5, float("nan"), float("inf"), np.array([1.0, -2.0])])
def test_bad_times_raise_value_error(t: object) -> None:
    with pytest.raises(ValueError, match="t must"):
        lrlab.parse("constant(value=1)")(t)


@pytest.mark.parametrize("t", ["3", None, True, np.array(["a"]), np.array([True])])
def test_non_numeric_times_raise_type_error(t: object) -> None:
    with pytest.raises(TypeError, match="t must be a real number"):
        lrlab.parse("constant(value=1)")(t)


def test_compositions_nest_at_most_max_nesting_levels() -> None:
    from lrlab.schedules._base import MAX_NESTING

    schedule = lrlab.parse("constant(value=1)")
    for _ in range(MAX_NESTING - 1):
        schedule = 0.5 * schedule
    assert schedule.nesting == MAX_NESTING
    assert lrlab.parse(repr(schedule)) == schedule
    with pytest.raises(ValueError, match=f"nest at most {MAX_NESTING} levels"):
        _ = 0.5 * schedule


def test_numpy_arrays_do_not_broadcast_over_schedules() -> None:
    with pytest.raises(TypeError, match="Schedule or a number"):
        _ = np.array([1.0, 2.0]) * lrlab.parse("constant(value=1)")
