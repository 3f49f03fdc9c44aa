"""``lrlab.keras.find_lr`` on real Keras 3 (torch backend, CPU): the sweep, the stop
reasons, the suggestions, and the exact restore of model, optimizer and random state.

Restore is checked by fingerprints: a SHA-256 of every model, metric and optimizer
variable, the identity of the optimizer's variable list and learning-rate object,
``model.stop_training``, and the states of Python's ``random``, numpy's and torch's
global generators and Keras' global ``SeedGenerator``.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import random
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

import lrlab.keras  # noqa: E402
from lrlab.finder import sweep_schedule  # noqa: E402

FLOAT32_RTOL = 1e-6
"""Bar for a learning rate that went through float32 (half an ulp is 6e-8)."""

ROWS = 48
BATCH = 16


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Run torch on one thread: on small shared VMs OpenMP threads make these tiny
    matmuls many times slower (see tests/examples/test_keras_ionosphere.py)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- models and data ------------------------------------------------------------------------


class GlobalNoise(keras.layers.Layer):
    """Adds noise from an *unseeded* ``keras.random.normal`` while training, so the model
    draws from Keras' global ``SeedGenerator``."""

    def call(self, inputs: Any, training: bool = False) -> Any:
        if training:
            return inputs + keras.random.normal(keras.ops.shape(inputs), stddev=0.01)
        return inputs


def mlp() -> keras.Model:
    """Dense MLP with unseeded dropout (torch's global generator) and global-seed noise."""
    return keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(16, activation="relu"),
            GlobalNoise(),
            keras.layers.Dropout(0.25),
            keras.layers.Dense(1),
        ]
    )


def conv_bn() -> keras.Model:
    """Conv + BatchNormalization (moving statistics) + seeded dropout (a seed-generator
    state variable) on 8x8x1 images."""
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
            keras.layers.Dropout(0.25, seed=3),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(1),
        ]
    )


MODELS: dict[str, Callable[[], keras.Model]] = {"mlp": mlp, "conv_bn": conv_bn}

OPTIMIZERS: dict[str, Callable[[], Any]] = {
    "sgd_momentum": lambda: keras.optimizers.SGD(0.01, momentum=0.9),
    "adam": lambda: keras.optimizers.Adam(1e-3),
}


def data(kind: str, rows: int = ROWS, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A learnable regression problem for each model kind (float32)."""
    rng = np.random.default_rng(seed)
    if kind == "mlp":
        x = rng.normal(size=(rows, 4)).astype("float32")
        y = x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32")
    else:
        x = rng.normal(size=(rows, 8, 8, 1)).astype("float32")
        y = x[:, 2:6, 2:6, 0].mean(axis=(1, 2))[:, None].astype("float32")
    return x, y


def trained(kind: str, optimizer: Any, loss: Any = "mse", fit_steps: int = 3) -> keras.Model:
    """A compiled model of ``kind`` whose optimizer already took ``fit_steps`` real steps."""
    model = MODELS[kind]()
    model.compile(optimizer=optimizer, loss=loss)
    if fit_steps:
        x, y = data(kind, rows=BATCH * fit_steps, seed=1)
        model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    return model


def batches(kind: str, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
    x, y = data(kind, rows=BATCH * count, seed=2)
    return [(x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH)]


class Augmented:
    """A re-iterable dataset that augments with all three global generators (Python's
    ``random``, numpy's, torch's), as input pipelines do; batch ``at`` raises ``error``
    (a crash, or Ctrl+C) when given."""

    def __init__(
        self, items: list[Any], at: int | None = None, error: BaseException | None = None
    ) -> None:
        self.items, self.at, self.error, self.served = items, at, error, 0

    def __iter__(self) -> Iterator[Any]:
        for x, y in self.items:
            if self.served == self.at and self.error is not None:
                raise self.error
            self.served += 1
            noise = np.random.normal(0.0, 0.01, x.shape) + torch.randn(x.shape).numpy() * 0.01
            yield (x + noise * random.random()).astype("float32"), y


# -- fingerprints ---------------------------------------------------------------------------


def digest(value: Any) -> str:
    return hashlib.sha256(value).hexdigest()


def tensor_digest(variable: Any) -> str:
    tensor = keras.ops.convert_to_tensor(variable).detach().cpu()
    return digest(tensor.numpy().tobytes()) + str(tuple(tensor.shape)) + str(tensor.dtype)


def keras_global_seed() -> str | None:
    from keras.src.backend.common import global_state

    generator = global_state.get_global_attribute("global_seed_generator")
    return None if generator is None else tensor_digest(generator.state)


def fingerprint(model: keras.Model) -> dict[str, Any]:
    """Everything find_lr promises to leave as it found it."""
    optimizer = model.optimizer
    found: dict[str, Any] = {}
    for group, variables in (
        ("model", model.variables),
        ("metric", model.metrics_variables),
        ("optimizer", optimizer.variables),
    ):
        for index, variable in enumerate(variables):
            found[f"{group}[{index}] {variable.path}"] = tensor_digest(variable)
    found["optimizer variable ids"] = [id(variable) for variable in optimizer.variables]
    found["learning rate object"] = id(optimizer._learning_rate)
    found["stop_training"] = model.stop_training
    found["python random"] = digest(pickle.dumps(random.getstate()))
    found["numpy random"] = digest(pickle.dumps(np.random.get_state()))
    found["torch random"] = digest(torch.get_rng_state().numpy().tobytes())
    found["keras global seed"] = keras_global_seed()
    return found


def assert_same(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert before.keys() == after.keys()
    changed = [key for key in before if before[key] != after[key]]
    assert not changed, f"changed by find_lr: {changed}"


# -- restore --------------------------------------------------------------------------------

PATHS = {
    # path: (find_lr keyword arguments, expected stop reason or exception)
    "completed": ({"end_value": 1e-3, "num_steps": 12}, "completed"),
    "diverged": ({"end_value": 1e4, "num_steps": 30, "smoothing": 0.0}, "diverged"),
    "exception": ({"end_value": 1.0, "num_steps": 12}, RuntimeError("dataset broke")),
}


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
@pytest.mark.parametrize("kind", list(MODELS))
def test_everything_is_restored(kind: str, optimizer: str, path: str) -> None:
    model = trained(kind, OPTIMIZERS[optimizer]())
    assert int(model.optimizer.iterations) == 3
    keyword, outcome = PATHS[path]
    items = batches(kind, 3)
    before = fingerprint(model)
    if isinstance(outcome, BaseException):
        with pytest.raises(type(outcome), match=str(outcome)):
            lrlab.keras.find_lr(model, dataset=Augmented(items, 7, outcome), **keyword)
    else:
        result = lrlab.keras.find_lr(model, dataset=Augmented(items), **keyword)
        assert result.stop_reason == outcome
        assert result.steps == (keyword["num_steps"] if outcome == "completed" else result.steps)
        assert 2 <= result.steps <= keyword["num_steps"]
    assert_same(before, fingerprint(model))


def test_keyboard_interrupt_and_non_finite_loss_restore_too() -> None:
    model = trained("conv_bn", OPTIMIZERS["adam"]())
    before = fingerprint(model)
    items = batches("conv_bn", 3)
    with pytest.raises(KeyboardInterrupt):
        lrlab.keras.find_lr(model, dataset=Augmented(items, 4, KeyboardInterrupt()))
    assert_same(before, fingerprint(model))

    x, y = items[1]
    poisoned = [*items, (x, np.full_like(y, np.nan))]
    result = lrlab.keras.find_lr(model, dataset=poisoned, end_value=1e-2, num_steps=20)
    assert result.stop_reason == "non_finite"
    assert result.steps == 4
    assert np.isnan(result.losses[-1]) and np.isfinite(result.losses[:-1]).all()
    for suggestion in result.suggestions().values():  # no NaN: a value or a reason
        assert suggestion.lr is None or math.isfinite(suggestion.lr)
    assert_same(before, fingerprint(model))


class StopsItself(keras.Sequential):
    """A model whose own training step asks to stop, as early-stopping logic may."""

    def train_step(self, data: Any) -> Any:
        self.stop_training = True
        return super().train_step(data)


def test_stop_training_does_not_leak() -> None:
    model = StopsItself([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(momentum=0.5), loss="mse")
    model.optimizer.build(model.trainable_variables)
    before = fingerprint(model)
    assert before["stop_training"] is False
    x, y = data("mlp")
    result = lrlab.keras.find_lr(model, x, y, batch_size=BATCH, end_value=1e-2, num_steps=5)
    assert result.stop_reason == "completed"
    assert_same(before, fingerprint(model))


def test_a_shuffling_data_loader_leaves_torch_random_state_alone() -> None:
    model = trained("mlp", OPTIMIZERS["sgd_momentum"]())
    x, y = data("mlp")
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
        batch_size=BATCH,
        shuffle=True,  # iter(loader) draws a base seed from torch's generator
    )
    before = fingerprint(model)
    result = lrlab.keras.find_lr(model, dataset=loader, end_value=1e-2, num_steps=7)
    assert result.stop_reason == "completed"  # 7 batches from 3 per pass: cycled
    assert_same(before, fingerprint(model))


def test_an_unbuilt_optimizer_is_left_freshly_built() -> None:
    model = mlp()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
    assert not model.optimizer.built
    weights = [tensor_digest(w) for w in model.weights]
    x, y = data("mlp")
    result = lrlab.keras.find_lr(model, x, y, batch_size=BATCH, end_value=1.0, num_steps=10)
    assert result.steps >= 2
    optimizer = model.optimizer
    assert optimizer.built
    assert [tensor_digest(w) for w in model.weights] == weights
    assert int(optimizer.iterations) == 0
    assert float(optimizer.learning_rate) == np.float32(2e-3)
    slots = [v for v in optimizer.variables if v is not optimizer.iterations]
    slots = [v for v in slots if v is not optimizer._learning_rate]
    assert len(slots) == 2 * len(model.trainable_variables)  # Adam's moments
    for slot in slots:
        assert not keras.ops.convert_to_tensor(slot).any(), slot.path


@pytest.mark.parametrize("learning_rate", ["float", "schedule"])
def test_fit_after_the_finder_is_bit_identical_to_a_twin_that_never_ran_it(
    learning_rate: str,
) -> None:
    spec = "warmup(cosine(init_value=0.05, total_steps=40), warmup_steps=5)"

    def optimizer() -> Any:
        if learning_rate == "float":
            return keras.optimizers.SGD(0.02, momentum=0.9)
        return keras.optimizers.SGD(lrlab.keras.schedule(spec), momentum=0.9)

    def twin(kind: str) -> keras.Model:
        keras.utils.set_random_seed(11)
        return trained(kind, optimizer())

    for kind in MODELS:
        finder, never = twin(kind), twin(kind)
        assert [tensor_digest(w) for w in finder.variables] == [
            tensor_digest(w) for w in never.variables
        ]
        x, y = data(kind)
        rate = finder.optimizer._learning_rate
        keras.utils.set_random_seed(5)
        result = lrlab.keras.find_lr(finder, x, y, batch_size=BATCH, num_steps=15)
        assert result.steps >= 2
        assert finder.optimizer._learning_rate is rate
        if learning_rate == "schedule":  # the schedule goes on at iterations 3
            assert float(finder.optimizer.learning_rate) == float(rate(3))
        finder.fit(x[:BATCH], y[:BATCH], batch_size=BATCH, shuffle=False, verbose=0)
        keras.utils.set_random_seed(5)
        never.fit(x[:BATCH], y[:BATCH], batch_size=BATCH, shuffle=False, verbose=0)
        for left, right in zip(
            finder.variables + finder.optimizer.variables,
            never.variables + never.optimizer.variables,
            strict=True,
        ):
            assert tensor_digest(left) == tensor_digest(right), (kind, left.path)


# -- the sweep ------------------------------------------------------------------------------


def probe(learning_rate: Any) -> keras.Model:
    """One weight (kernel 0, no bias), input 1, mean absolute error against a far target:
    the gradient is exactly 1, so after plain SGD from a zero kernel, kernel == -lr."""
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss="mae")
    return model


class UsedRates:
    """An endless dataset that zeroes the probe's kernel before each batch and reads, at
    the next one, the learning rate the step really applied (``-kernel``)."""

    def __init__(self, model: keras.Model) -> None:
        self.kernel = model.layers[0].kernel
        self.used: list[float] = []

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        x, y = np.ones((1, 1), "float32"), np.full((1, 1), -1000.0, "float32")
        while True:
            value = keras.ops.convert_to_tensor(self.kernel).detach()
            if value.abs().item():
                self.used.append(-value.item())
            self.kernel.assign(np.zeros((1, 1), "float32"))
            yield x, y


@pytest.mark.parametrize(
    ("learning_rate", "mode"),
    [(0.5, "exp"), ("schedule", "exp"), (0.5, "linear")],
)
def test_recorded_rates_are_the_sweep_and_really_applied(learning_rate: Any, mode: str) -> None:
    if learning_rate == "schedule":
        learning_rate = lrlab.keras.schedule("cosine(init_value=0.3, total_steps=20)")
    model = probe(learning_rate)
    steps, start, end = 25, 1e-5, 3.0
    rates = UsedRates(model)
    result = lrlab.keras.find_lr(
        model, dataset=rates, start_value=start, end_value=end, num_steps=steps, mode=mode
    )
    assert result.stop_reason == "completed"
    expected = sweep_schedule(start, end, steps, mode)(np.arange(steps))
    np.testing.assert_allclose(result.lrs, expected, rtol=FLOAT32_RTOL, atol=0)
    assert result.lrs.tolist() == [float(np.float32(lr)) for lr in expected]
    assert rates.used == result.lrs[:-1].tolist()  # what SGD applied, step by step
    np.testing.assert_array_equal(result.losses, 1000.0)
    assert result.val_losses is None
    assert result.num_steps_requested == steps


def test_validation_loss_is_evaluated_after_each_step() -> None:
    model = probe(0.1)
    ones = np.ones((4, 1), "float32")
    result = lrlab.keras.find_lr(
        model,
        dataset=UsedRates(model),
        start_value=1e-3,
        end_value=5.0,
        num_steps=8,
        validation_data=(ones, np.full_like(ones, -1000.0)),
    )
    assert result.stop_reason == "completed"
    # After step i the kernel is -lr_i, so the validation MAE is 1000 - lr_i.
    expected = np.float32(1000.0) - result.lrs.astype("float32")
    np.testing.assert_allclose(result.val_losses, expected, rtol=FLOAT32_RTOL)
    np.testing.assert_array_equal(result.losses, result.val_losses)
    assert (result.losses < 1000.0).all()  # not the training loss, which stays 1000


def test_numpy_batches_are_shuffled_privately_and_cycled() -> None:
    model = trained("mlp", OPTIMIZERS["sgd_momentum"](), fit_steps=0)
    x, y = data("mlp", rows=20)
    first = lrlab.keras.find_lr(model, x, y, batch_size=8, end_value=1e-2, num_steps=9)
    before = fingerprint(model)  # after the first call: it built the optimizer
    second = lrlab.keras.find_lr(model, x, y, batch_size=8, end_value=1e-2, num_steps=9)
    assert first.stop_reason == "completed"  # 9 batches of 8 from 20 rows: 3.6 passes
    np.testing.assert_array_equal(first.losses, second.losses)  # same order every call
    assert_same(before, fingerprint(model))


def test_numpy_rows_come_in_private_permutations_one_pass_after_another() -> None:
    x = np.arange(20, dtype="float32")[:, None]
    state = pickle.dumps(np.random.get_state())
    stream = lrlab.keras._shuffled_batches(x, -x, 8)
    taken = [next(stream) for _ in range(5)]  # 40 rows: exactly two passes over 20
    assert all(len(bx) == len(by) == 8 for bx, by in taken)
    assert all(np.array_equal(by, -bx) for bx, by in taken)  # rows stay paired
    rows = np.concatenate([bx[:, 0] for bx, _ in taken])
    for one_pass in (rows[:20], rows[20:]):
        assert sorted(one_pass) == list(range(20))
        assert not np.array_equal(one_pass, np.arange(20))  # shuffled
    assert not np.array_equal(rows[:20], rows[20:])  # a new permutation per pass
    assert pickle.dumps(np.random.get_state()) == state


def test_negative_losses() -> None:
    def shifted_mse(y_true: Any, y_pred: Any) -> Any:
        return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1) - 10.0

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(), loss=shifted_mse)
    x, y = data("mlp", rows=256)
    result = lrlab.keras.find_lr(
        model, x, y, batch_size=32, start_value=1e-4, end_value=100.0, num_steps=60
    )
    assert result.stop_reason == "diverged"  # measured from a negative best loss
    assert (result.losses[:-2] < 0).all() and result.losses[-1] > 0
    assert result.losses.min() < -9.9  # it learned: mse near 0
    suggestion = result.suggest()
    assert suggestion.lr is not None and 1e-3 < suggestion.lr < 10.0


def test_suggestion_on_separable_logistic_regression() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, size=512)
    x = (rng.normal(size=(512, 2)) + np.where(labels[:, None] == 1, 2.0, -2.0)).astype("f4")
    y = labels[:, None].astype("float32")
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(), loss="binary_crossentropy")
    result = lrlab.keras.find_lr(model, x, y, batch_size=32, start_value=1e-5, num_steps=80)
    for name, suggestion in result.suggestions().items():
        assert suggestion.lr is not None, (name, suggestion.reason)
        assert 1e-4 < suggestion.lr < 10.0, (name, suggestion.lr)
    found = result.bounds()
    assert found.base_value is not None and found.base_value < found.max_value
    assert result.losses[-8:].mean() < 0.2 * result.losses[:8].mean()  # it learned


# -- validation -----------------------------------------------------------------------------

X, Y = data("mlp", rows=32)

BAD_CALLS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"start_value": 0.0}, ValueError, "start_value"),
    ({"start_value": "1e-3"}, TypeError, "start_value"),
    ({"end_value": 1e-8}, ValueError, "end_value"),
    ({"num_steps": 1}, ValueError, "num_steps"),
    ({"num_steps": 2.5}, TypeError, "num_steps"),
    ({"mode": "log"}, ValueError, "mode"),
    ({"smoothing": 1.0}, ValueError, "smoothing"),
    ({"diverge_factor": 1.0}, ValueError, "diverge_factor"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": "8"}, TypeError, "batch_size"),
    ({"batch_size": 33}, ValueError, "batch_size must be <= the 32 rows"),
    ({"y": None}, ValueError, "pass both x and y"),
    ({"y": Y[:-1]}, ValueError, "x has 32 rows but y has 31"),
    ({"dataset": [(X, Y)]}, ValueError, "either x and y or dataset"),
    ({"x": None, "y": None}, ValueError, "pass both x and y"),
    ({"x": None, "y": None, "dataset": 5}, TypeError, "dataset must be an iterable"),
    ({"x": None, "y": None, "dataset": []}, ValueError, "dataset yielded no batches"),
    ({"x": None, "y": None, "dataset": [X]}, TypeError, "each dataset batch must be"),
    (
        {"x": None, "y": None, "dataset": iter([(X, Y)] * 3)},
        ValueError,
        "dataset ran out after 3 batches",
    ),
    ({"validation_data": (X,)}, TypeError, "validation_data must be an"),
]


@pytest.mark.parametrize(
    ("keyword", "error", "match"), BAD_CALLS, ids=[call[2] for call in BAD_CALLS]
)
def test_bad_arguments_name_the_argument_and_change_nothing(
    keyword: dict[str, Any], error: type[Exception], match: str
) -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(momentum=0.5), loss="mse")
    model.optimizer.build(model.trainable_variables)
    before = fingerprint(model)
    arguments = {"x": X, "y": Y, "num_steps": 5, **keyword}
    with pytest.raises(error, match=match):
        lrlab.keras.find_lr(model, **arguments)
    assert_same(before, fingerprint(model))


def test_the_model_must_be_a_compiled_keras_model() -> None:
    with pytest.raises(TypeError, match="model must be a keras.Model, got str"):
        lrlab.keras.find_lr("model", X, Y)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)], name="raw")
    with pytest.raises(ValueError, match="model 'raw' is not compiled"):
        lrlab.keras.find_lr(model, X, Y)
