"""The Keras 3 adapter on the real torch backend: parity, saving, callbacks, plateau, decay.

Every "used" learning rate below is measured, not recomputed: a one-weight model (kernel 0,
no bias, input 1, mean absolute error against a far target, so the gradient is exactly 1)
has its kernel zeroed before each batch, so after plain SGD the kernel is ``-lr`` of that
very update, exactly in float32.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

keras = pytest.importorskip("keras")
pytest.importorskip("torch")

from adapter_cases import STEPS, all_specs, missing_kinds  # noqa: E402

import lrlab  # noqa: E402
import lrlab.keras  # noqa: E402
from lrlab.schedules import Constant, InverseTime  # noqa: E402

FLOAT32_RTOL = 1e-6
"""Bar for a learning rate that went through float32 (half an ulp is 6e-8)."""

FLOAT64_RTOL = 1e-12
"""Bar for the float64 value before the cast."""

NUMPY_COPY_WARNING = (
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
"""Keras converts torch tensors with ``np.array`` in ``model.save`` and in its own
``ReduceLROnPlateau``; numpy 2.4 warns there that torch 2.13's ``Tensor.__array__`` lacks
the ``copy`` keyword. Not lrlab's doing (lrlab.keras reads tensors with ``float()``)."""

SPEC_IDS = [f"{i}-{lrlab.parse(spec).kind}" for i, spec in enumerate(all_specs())]


class UsedLR(keras.callbacks.Callback):
    """Records the learning rate each optimizer update really applied, with its epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.used: list[float] = []
        self.epochs: list[int] = []
        self._epoch = -1

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.model.layers[0].kernel.assign(np.zeros((1, 1), "float32"))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        kernel = keras.ops.stop_gradient(self.model.layers[0].kernel)
        self.used.append(-float(kernel[0, 0]))
        self.epochs.append(self._epoch)


class Scripted(keras.callbacks.Callback):
    """Writes ``values[epoch]`` into ``logs[key]`` at each epoch end: a metric on cue."""

    def __init__(self, key: str, values: list[float]) -> None:
        super().__init__()
        self.key = key
        self.values = values

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        assert logs is not None
        logs[self.key] = self.values[epoch]


def probe_model(learning_rate: object, optimizer: object = None) -> keras.Model:
    """The one-weight model of the module docstring, compiled with SGD (no momentum)."""
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=optimizer or keras.optimizers.SGD(learning_rate), loss="mae")
    return model


def fit(
    model: keras.Model, steps_per_epoch: int, epochs: int, callbacks: list, initial_epoch: int = 0
) -> tuple[UsedLR, dict]:
    """Run ``fit`` with batch size 1 and return the used learning rates and the history."""
    probe = UsedLR()
    x = np.ones((steps_per_epoch, 1), "float32")
    history = model.fit(
        x,
        np.full_like(x, -1000.0),
        batch_size=1,
        epochs=epochs,
        initial_epoch=initial_epoch,
        shuffle=False,
        verbose=0,
        callbacks=[*callbacks, probe],
    )
    return probe, history.history


def relative_error(actual: object, expected: object) -> float:
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    assert actual.shape == expected.shape
    scale = np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(actual - expected) / scale))


# -- ScheduleLR: values ---------------------------------------------------------------------


def test_every_kind_is_covered() -> None:
    assert missing_kinds() == set()


@pytest.mark.parametrize("spec", all_specs(), ids=SPEC_IDS)
def test_fit_uses_the_schedule_at_every_optimizer_step(spec: str) -> None:
    schedule = lrlab.parse(spec)
    model = probe_model(lrlab.keras.schedule(schedule))
    probe, _ = fit(model, STEPS, 1, [])
    assert int(model.optimizer.iterations) == STEPS
    assert relative_error(probe.used, schedule(np.arange(STEPS))) <= FLOAT32_RTOL


@pytest.mark.parametrize("spec", all_specs(), ids=SPEC_IDS)
def test_float64_value_matches_numpy(spec: str) -> None:
    schedule = lrlab.parse(spec)
    times = np.concatenate([np.arange(STEPS), [1e3, 12_345, 1e6, 3e7]])
    value = lrlab.keras.ScheduleLR(schedule).evaluate(times)
    assert str(value.dtype) == "torch.float64"
    assert relative_error(value.cpu().numpy(), schedule(times)) <= FLOAT64_RTOL


@settings(max_examples=60, deadline=None)
@given(spec=st.sampled_from(all_specs()), step=st.integers(0, 2**40))
def test_float64_value_at_any_step(spec: str, step: int) -> None:
    schedule = lrlab.parse(spec)
    counter = keras.Variable(step, dtype="int64", trainable=False)
    value = lrlab.keras.ScheduleLR(schedule).evaluate(counter)
    assert relative_error(float(value), schedule(step)) <= FLOAT64_RTOL


@settings(max_examples=60, deadline=None)
@given(
    value=st.floats(0.0, 1.0),
    factor=st.floats(0.01, 0.99),
    reductions=st.integers(0, 6),
    min_value=st.one_of(st.just(0.0), st.floats(0.0, 1.0)),
)
def test_plateau_floor_is_the_cores_rule(
    value: float, factor: float, reductions: int, min_value: float
) -> None:
    controller = lrlab.Plateau(factor=factor, min_value=min_value)
    controller.reductions = reductions
    adapted = lrlab.keras.ScheduleLR(
        Constant(value=value), multiplier=controller.multiplier, min_value=min_value
    )
    assert float(adapted.evaluate(0)) == controller.apply(value)


def test_call_casts_to_floatx() -> None:
    adapted = lrlab.keras.schedule("inverse_time(init_value=0.1, decay_rate=0.3)")
    value = adapted(7)
    assert str(value.dtype) == "torch.float32"
    assert float(value) == float(np.float32(0.1 / (1.0 + 0.3 * 7)))


# -- ScheduleLR: config and saving ----------------------------------------------------------


def test_config_round_trips_through_json_and_keras_serialization() -> None:
    spec = "warmup(cosine(init_value=0.1, total_steps=40), warmup_steps=10) >> constant(value=0.01)"
    adapted = lrlab.keras.ScheduleLR(spec, multiplier=0.25, min_value=0.002)
    config = json.loads(json.dumps(adapted.get_config()))
    assert config == {
        "schedule": lrlab.parse(spec).to_dict(),
        "multiplier": 0.25,
        "min_value": 0.002,
    }
    for copy in (
        lrlab.keras.ScheduleLR.from_config(config),
        keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(adapted)),
    ):
        assert isinstance(copy, lrlab.keras.ScheduleLR)
        assert copy.schedule == lrlab.parse(spec)
        assert (float(copy.multiplier), float(copy.min_value)) == (0.25, 0.002)
        assert relative_error(copy.evaluate(np.arange(60)), adapted.evaluate(np.arange(60))) == 0


@pytest.mark.filterwarnings(NUMPY_COPY_WARNING)
def test_save_and_load_keep_schedule_reductions_and_time(tmp_path: Path) -> None:
    schedule = lrlab.parse("warmup(cosine(init_value=0.1, total_steps=30), warmup_steps=6)")
    adapted = lrlab.keras.schedule(schedule)
    model = probe_model(adapted)
    fit(model, 10, 1, [])
    adapted.multiplier.assign(0.5)  # as one plateau reduction with min_value=0.01 does
    adapted.min_value.assign(0.01)
    path = tmp_path / "model.keras"
    model.save(path)

    loaded = keras.models.load_model(path)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, lrlab.keras.ScheduleLR)
    assert restored.schedule == schedule
    assert int(loaded.optimizer.iterations) == 10
    resumed, _ = fit(loaded, 30, 1, [])
    original, _ = fit(model, 30, 1, [])
    reference = lrlab.Plateau(factor=0.5, min_value=0.01)
    reference.reductions = 1
    expected = [reference.apply(schedule(t)) for t in range(10, 40)]
    assert resumed.used == original.used
    assert relative_error(resumed.used, expected) <= FLOAT32_RTOL
    assert 0.01 in expected  # the floor is exercised


# -- ScheduleLR: bad input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        (
            {"schedule": 3},
            TypeError,
            r"schedule must be a Schedule or a spec string, got 3 \(int\)",
        ),
        ({"schedule": None}, TypeError, r"schedule must be .* got None \(NoneType\)"),
        ({"schedule": "cosine(init_value=0.1"}, ValueError, "cosine"),
        ({"schedule": "constant(value=1)", "multiplier": 0.0}, ValueError, "multiplier"),
        ({"schedule": "constant(value=1)", "multiplier": "1"}, TypeError, "multiplier"),
        ({"schedule": "constant(value=1)", "min_value": -0.1}, ValueError, "min_value"),
        ({"schedule": "constant(value=1)", "min_value": float("nan")}, ValueError, "min_value"),
    ],
)
def test_bad_schedule_arguments(arguments: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        lrlab.keras.ScheduleLR(**arguments)


def test_schedule_accepts_a_spec_or_a_schedule() -> None:
    spec = "step(init_value=0.1, factor=0.5, every=3)"
    assert lrlab.keras.schedule(spec).schedule == lrlab.keras.schedule(lrlab.parse(spec)).schedule
    assert repr(lrlab.keras.schedule(spec)) == f"ScheduleLR({spec})"
    with pytest.raises(TypeError, match=r"schedule must be .* got \[1\] \(list\)"):
        lrlab.keras.schedule([1])  # type: ignore[arg-type]


def test_other_backends_are_refused_clearly() -> None:
    code = (
        "import lrlab.keras\n"
        "try:\n"
        "    lrlab.keras.schedule('constant(value=0.1)')\n"
        "except RuntimeError as error:\n"
        "    print(error)\n"
    )
    environment = {**os.environ, "KERAS_BACKEND": "numpy"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment
    )
    assert result.returncode == 0, result.stderr
    assert "KERAS_BACKEND=torch" in result.stdout and "'numpy'" in result.stdout


def test_missing_keras_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)
    monkeypatch.delitem(sys.modules, "lrlab.keras")
    with pytest.raises(ImportError, match=r"pip install 'lrlab\[keras\]'.*KERAS_BACKEND=torch"):
        importlib.import_module("lrlab.keras")


# -- legacy_decay ---------------------------------------------------------------------------


def test_legacy_decay_is_keras2_per_iteration_decay() -> None:
    lr, decay = 0.1, 0.01
    adapted = lrlab.keras.legacy_decay(lr, decay)
    assert adapted.schedule == InverseTime(init_value=lr, decay_rate=decay)
    model = probe_model(adapted)
    probe, _ = fit(model, 7, 3, [])
    iterations = np.arange(21)
    assert relative_error(probe.used, lr / (1.0 + decay * iterations)) <= FLOAT32_RTOL


@pytest.mark.parametrize(("lr", "decay", "error"), [(0.0, 0.1, ValueError), (0.1, "x", TypeError)])
def test_legacy_decay_errors_name_keras_arguments(lr: object, decay: object, error: type) -> None:
    with pytest.raises(error) as raised:
        lrlab.keras.legacy_decay(lr, decay)  # type: ignore[arg-type]
    assert any("lr is init_value, decay is decay_rate" in note for note in raised.value.__notes__)


# -- callback -------------------------------------------------------------------------------


def test_epoch_callback_follows_keras_epoch_index() -> None:
    schedule = lrlab.parse("exponential(init_value=0.1, factor=0.5)")
    model = probe_model(1.0)
    callback = lrlab.keras.callback(schedule, unit="epoch")
    probe, history = fit(model, 3, 5, [callback], initial_epoch=2)
    assert probe.epochs == [2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert relative_error(probe.used, schedule(np.array(probe.epochs))) <= FLOAT32_RTOL
    assert relative_error(history["learning_rate"], schedule(np.arange(2, 5))) <= FLOAT32_RTOL


@pytest.mark.filterwarnings(NUMPY_COPY_WARNING)
def test_batch_callback_counts_optimizer_steps_across_resume(tmp_path: Path) -> None:
    schedule = lrlab.parse("cyclic(base_value=0.01, max_value=0.1, step_size_up=4)")
    model = probe_model(1.0)
    first, _ = fit(model, 5, 2, [lrlab.keras.callback(schedule, unit="batch")])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    second, _ = fit(loaded, 5, 4, [lrlab.keras.callback(schedule, unit="batch")], initial_epoch=2)
    assert relative_error(first.used + second.used, schedule(np.arange(20))) <= FLOAT32_RTOL


@pytest.mark.parametrize(
    "learning_rate",
    [
        lambda: lrlab.keras.schedule("constant(value=0.1)"),
        lambda: keras.optimizers.schedules.CosineDecay(0.1, 10),
    ],
    ids=["lrlab", "keras"],
)
def test_callback_refuses_an_optimizer_built_with_a_schedule(learning_rate: object) -> None:
    model = probe_model(learning_rate())  # type: ignore[operator]
    with pytest.raises(TypeError, match=r"learning_rate=lrlab\.keras\.schedule\(\.\.\.\)"):
        fit(model, 2, 1, [lrlab.keras.callback("constant(value=0.1)")])


def test_callback_bad_arguments() -> None:
    with pytest.raises(ValueError, match=r"unit must be one of \('epoch', 'batch'\), got 'step'"):
        lrlab.keras.callback("constant(value=0.1)", unit="step")
    with pytest.raises(TypeError, match=r"schedule must be .* got 0\.1 \(float\)"):
        lrlab.keras.callback(0.1)  # type: ignore[arg-type]


# -- plateau --------------------------------------------------------------------------------

SCORES = [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7]
"""A scripted metric: improvements, then plateaus long enough for patience 1."""


def expected_plateau(
    options: dict, scores: list[float], base: object, steps: int
) -> tuple[list[float], list[float]]:
    """Under ``lrlab.Plateau`` fed ``scores`` per epoch: the rate of each step, and the rate
    logged at each epoch end (the next step's, before that epoch's reduction)."""
    reference = lrlab.Plateau(**options)
    values: list[float] = []
    logged: list[float] = []
    for score in scores:
        for _ in range(steps):
            values.append(reference.apply(base(len(values))))  # type: ignore[operator]
        logged.append(reference.apply(base(len(values))))  # type: ignore[operator]
        reference.update(score)
    return values, logged


def test_plateau_reduces_a_schedule_exactly_when_the_core_says() -> None:
    options = {"factor": 0.5, "patience": 1, "min_value": 0.004}
    schedule = lrlab.parse("warmup(cosine(init_value=0.1, total_steps=40), warmup_steps=8)")
    adapted = lrlab.keras.schedule(schedule)
    model = probe_model(adapted)
    reduce = lrlab.keras.plateau(monitor="score", **options)
    probe, history = fit(model, 4, len(SCORES), [Scripted("score", SCORES), reduce])

    expected, logged = expected_plateau(options, SCORES, schedule, 4)
    assert relative_error(probe.used, expected) <= FLOAT32_RTOL
    assert relative_error(history["learning_rate"], logged) <= FLOAT32_RTOL
    assert reduce.plateau.reductions == 3
    assert float(adapted.multiplier) == 0.5**3
    floored = [v for t, v in enumerate(expected) if v == 0.004 and v != 0.125 * schedule(t)]
    assert floored  # the min_value floor is exercised, and warm-up from 0 is not lifted
    assert expected[0] == 0.0


def test_plateau_scales_a_float_rate_from_train_begin() -> None:
    options = {"factor": 0.5, "patience": 1}
    model = probe_model(0.08)
    reduce = lrlab.keras.plateau(monitor="score", **options)
    probe, history = fit(model, 2, len(SCORES), [Scripted("score", SCORES), reduce])
    base = float(np.float32(0.08))
    expected, logged = expected_plateau(options, SCORES, lambda t: base, 2)
    assert relative_error(probe.used, expected) <= FLOAT32_RTOL
    assert relative_error(history["learning_rate"], logged) <= FLOAT32_RTOL
    assert float(model.optimizer.learning_rate) == float(np.float32(base * 0.5**3))


@pytest.mark.filterwarnings(NUMPY_COPY_WARNING)
def test_keras_patience_p_is_lrlab_patience_p_minus_1() -> None:
    keras_model, lrlab_model = probe_model(0.1), probe_model(0.1)
    keras_reduce = keras.callbacks.ReduceLROnPlateau(
        monitor="score", mode="min", factor=0.5, patience=2
    )
    ours = lrlab.keras.plateau(
        monitor="score", factor=0.5, patience=1, threshold=1e-4, threshold_mode="abs"
    )
    _, keras_history = fit(keras_model, 1, len(SCORES), [Scripted("score", SCORES), keras_reduce])
    _, our_history = fit(lrlab_model, 1, len(SCORES), [Scripted("score", SCORES), ours])
    assert our_history["learning_rate"] == keras_history["learning_rate"]
    assert min(our_history["learning_rate"]) < 0.1


def test_plateau_continues_across_fits_and_inside_loss_scaling() -> None:
    schedule = lrlab.keras.schedule("constant(value=0.1)")
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(schedule))
    model = probe_model(None, optimizer)
    reduce = lrlab.keras.plateau(monitor="score", factor=0.5, patience=0)
    fit(model, 1, 3, [Scripted("score", [1.0, 1.0, 1.0]), reduce])
    assert float(schedule.multiplier) == 0.25
    fit(model, 1, 2, [Scripted("score", [1.0, 1.0]), reduce])  # a fresh controller each fit
    assert float(schedule.multiplier) == 0.125
    assert float(model.optimizer.learning_rate) == float(np.float32(0.1 * 0.125))


def test_plateau_missing_monitor_raises_with_the_available_keys() -> None:
    model = probe_model(0.1)
    with pytest.raises(ValueError, match=r"monitor 'val_loss' is not in the logs .*\['loss'\]"):
        fit(model, 2, 2, [lrlab.keras.plateau()])


def test_plateau_refuses_a_foreign_keras_schedule() -> None:
    model = probe_model(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9))
    with pytest.raises(TypeError, match=r"ExponentialDecay.*lrlab\.keras\.schedule\(\.\.\.\)"):
        fit(model, 2, 2, [lrlab.keras.plateau(monitor="loss")])


def test_plateau_detects_a_float_rate_changed_by_another_callback() -> None:
    model = probe_model(0.1)
    drop = lrlab.keras.callback("step(init_value=0.1, factor=0.5, every=1)")
    with pytest.raises(ValueError, match="changed outside this callback"):
        fit(model, 1, 3, [drop, lrlab.keras.plateau(monitor="loss")])


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"monitor": 3}, TypeError, r"monitor must be a string, got 3 \(int\)"),
        ({"monitor": ""}, ValueError, "monitor must name a metric"),
        ({"factor": 1.5}, ValueError, "factor"),
        ({"patience": -1}, ValueError, "patience"),
        ({"mode": "up"}, ValueError, "mode"),
    ],
)
def test_plateau_bad_arguments(arguments: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        lrlab.keras.plateau(**arguments)


def test_all_is_sorted_and_importable() -> None:
    assert lrlab.keras.__all__ == sorted(lrlab.keras.__all__)
    assert all(hasattr(lrlab.keras, name) for name in lrlab.keras.__all__)
