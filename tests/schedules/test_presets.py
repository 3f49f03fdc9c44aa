"""Presets reproduce the reference experiments' schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lrlab
from lrlab.schedules import Cosine, Cyclic, OneCycle

EPOCHS = 100
STEPS_PER_EPOCH = 391


def per_epoch_values(name: str, steps_per_epoch: int = 1, **overrides: float) -> np.ndarray:
    schedule = lrlab.preset(
        name, init_value=0.1, epochs=EPOCHS, steps_per_epoch=steps_per_epoch, **overrides
    )
    return schedule(np.arange(EPOCHS) * steps_per_epoch)


def test_every_reference_preset_is_registered() -> None:
    expected = {"none", "standard", "step", "linear", "poly", "cyclic", "one_cycle", "cosine"}
    assert set(lrlab.preset_names()) == expected


@pytest.mark.parametrize("steps_per_epoch", [1, STEPS_PER_EPOCH])
def test_reference_step_decay(steps_per_epoch: int) -> None:
    expected = [0.1 * 0.25 ** math.floor((1 + epoch) / 15) for epoch in range(EPOCHS)]
    np.testing.assert_allclose(per_epoch_values("step", steps_per_epoch), expected, rtol=1e-15)


@pytest.mark.parametrize(("name", "power"), [("linear", 1), ("poly", 5)])
def test_reference_polynomial_decays(name: str, power: int) -> None:
    expected = [0.1 * (1 - epoch / float(EPOCHS)) ** power for epoch in range(EPOCHS)]
    np.testing.assert_allclose(per_epoch_values(name, STEPS_PER_EPOCH), expected, rtol=1e-13)


def test_per_epoch_presets_hold_within_an_epoch() -> None:
    schedule = lrlab.preset("poly", init_value=0.1, epochs=EPOCHS, steps_per_epoch=STEPS_PER_EPOCH)
    epoch_7 = schedule(np.arange(7 * STEPS_PER_EPOCH, 8 * STEPS_PER_EPOCH))
    assert np.all(epoch_7 == epoch_7[0])


def test_standard_is_keras_decay_per_iteration() -> None:
    schedule = lrlab.preset("standard", init_value=0.01, epochs=40, steps_per_epoch=782)
    starts = schedule(np.array([0, 1, 2, 37, 38, 39]) * 782)
    np.testing.assert_array_equal(
        np.round(starts, 5), [0.01, 0.00836, 0.00719, 0.00121, 0.00119, 0.00116]
    )
    within_epoch = schedule(np.array([782, 783]))
    assert within_epoch[1] < within_epoch[0]


def test_none_is_constant() -> None:
    assert np.all(per_epoch_values("none") == 0.1)


def test_step_based_presets_scale_with_steps_per_epoch() -> None:
    one_cycle = lrlab.preset("one_cycle", init_value=0.1, epochs=10, steps_per_epoch=50)
    assert one_cycle == OneCycle(peak_value=0.1, total_steps=500)
    cosine = lrlab.preset("cosine", init_value=0.1, epochs=10, steps_per_epoch=50)
    assert cosine == Cosine(init_value=0.1, total_steps=500)
    cyclic = lrlab.preset("cyclic", init_value=0.02, epochs=10, steps_per_epoch=50)
    assert cyclic == Cyclic(base_value=0.0002, max_value=0.02, step_size_up=200)


def test_overrides_reach_the_schedule() -> None:
    schedule = lrlab.preset("step", init_value=0.01, epochs=40, factor=0.5, every=5)
    assert schedule(4) == 0.005


def test_bad_preset_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="unknown preset 'cosin'"):
        lrlab.preset("cosin", init_value=0.1, epochs=10)
    with pytest.raises(TypeError, match="unexpected override 'gamma'.*factor, every"):
        lrlab.preset("step", init_value=0.1, epochs=10, gamma=0.1)
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        lrlab.preset("none", init_value=0.1, epochs=0)
    with pytest.raises(ValueError, match="init_value must be > 0"):
        lrlab.preset("none", init_value=0.0, epochs=3)
    with pytest.raises(TypeError, match="init_value must be a real number"):
        lrlab.preset("none", init_value="0.1", epochs=3)  # type: ignore[arg-type]


def test_length_and_lr_must_be_named() -> None:
    with pytest.raises(TypeError):
        lrlab.preset("none", 0.1, 10)  # type: ignore[misc]
    with pytest.raises(TypeError):
        lrlab.preset("none")  # type: ignore[call-arg]
