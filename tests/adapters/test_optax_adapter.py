"""The optax adapter: optax applies exactly ``schedule(arange(N))``, in float64 and float32.

Every kind (and a few compositions) drives a real ``optax.sgd`` inside one jitted
``lax.scan`` per configuration, on JAX's CPU backend. The LR applied at step ``t`` is read
twice: from ``inject_hyperparams`` state, and from the update of a parameter whose gradient
is 1 (``update = -lr`` exactly). Both must equal the float64 closed form to 1e-12 with
``jax_enable_x64`` on, and its float32 rounding to 1e-6 with x64 off (JAX's default).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")

import jax.numpy as jnp  # noqa: E402
from adapter_cases import STEPS, all_specs  # noqa: E402

import lrlab  # noqa: E402
import lrlab.optax  # noqa: E402

N = STEPS
"""Optimizer steps per run; every finite schedule below ends (or restarts) within them."""

OWN_CASES: dict[str, str] = {
    "constant": "constant(value=0.1)",
    "inverse_time": "inverse_time(init_value=0.01, decay_rate=0.3)",
    "step": "step(init_value=0.1, factor=0.5, every=7, offset=1)",
    "step_every_49": "step(init_value=0.1, factor=0.5, every=49)",
    "multistep": "multistep(init_value=0.1, milestones=[5, 17, 31], factor=0.3)",
    "exponential": "exponential(init_value=0.1, factor=0.9)",
    "exponential_staircase": "exponential(init_value=0.1, factor=0.7, every=4, staircase=True)",
    "polynomial": "polynomial(init_value=0.1, total_steps=40, power=2.5, end_value=0.001)",
    "linear": "linear(init_value=0.0, end_value=0.1, total_steps=30)",
    "cosine": "cosine(init_value=0.1, total_steps=49)",
    "cosine_restarts": (
        "cosine_restarts(init_value=0.1, period=3, period_mult=1.5, end_value=0.001, "
        "peak_decay=0.8)"
    ),
    "cosine_restarts_fixed_period": "cosine_restarts(init_value=0.1, period=7)",
    "cyclic": (
        "cyclic(base_value=0.001, max_value=0.006, step_size_up=7, step_size_down=11, "
        "mode='exp_range', gamma=0.97)"
    ),
    "cyclic_triangular2": (
        "cyclic(base_value=0.001, max_value=0.006, step_size_up=4, mode='triangular2')"
    ),
    "one_cycle": "one_cycle(peak_value=0.1, total_steps=50)",
    "one_cycle_three_phase_linear": (
        "one_cycle(peak_value=0.1, total_steps=45, pct_start=0.25, three_phase=True, "
        "anneal='linear')"
    ),
    "inverse_sqrt": "inverse_sqrt(init_value=0.1, warmup_steps=10)",
    "wsd": (
        "wsd(peak_value=0.1, total_steps=50, warmup_steps=10, decay_steps=20, "
        "end_value=0.001, warmup_shape='cosine', decay_shape='1-sqrt')"
    ),
    "warmup": (
        "warmup(cosine(init_value=0.1, total_steps=40), warmup_steps=10, shape='exponential', "
        "start_factor=0.01)"
    ),
    "sequence": (
        "linear(init_value=0.0, end_value=0.1, total_steps=10) >> "
        "cosine(init_value=0.1, total_steps=30) >> constant(value=0.002)"
    ),
    "sequence_durations": (
        "sequence(constant(value=0.05), step(init_value=0.1, factor=0.5, every=6), durations=[13])"
    ),
    "scale": "0.5 * cosine(init_value=0.1, total_steps=50)",
    "product": (
        "cyclic(base_value=0.5, max_value=1.0, step_size_up=5) * "
        "exponential(init_value=0.1, factor=0.95)"
    ),
    "clip": "clip(cosine(init_value=0.1, total_steps=50), min_value=0.01)",
    "per_epoch": "per_epoch(step(init_value=0.1, factor=0.5, every=2), steps_per_epoch=5)",
}
"""Every registered kind at least once, with lengths that put boundaries inside N steps,
and the quotients XLA gets wrong without the division guard (``every=49``, the end of a
fractional-power ``polynomial``)."""

CASES = {**OWN_CASES, **{f"shared{i}": spec for i, spec in enumerate(all_specs())}}
"""These, and the specs every adapter is checked against."""

MODES = {"x64": True, "x32": False}
RTOL = {"x64": 1e-12, "x32": 1e-6}


def reference(spec: str, mode: str, times: np.ndarray | None = None) -> np.ndarray:
    """The float64 closed form at ``times`` (default ``arange(N)``), rounded to float32 for
    the x32 mode."""
    values = lrlab.parse(spec)(np.arange(N) if times is None else times)
    return values if mode == "x64" else values.astype(np.float32)


def train(float64: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Run N sgd steps for every case in one jitted scan; the applied LRs per case.

    Returns:
        Per case: the LR in ``inject_hyperparams`` state after each update, and the LR
        recovered from each update of a parameter whose gradient is 1.
    """
    dtype = jnp.float64 if float64 else jnp.float32
    learning_rates = [lrlab.optax.schedule(spec) for spec in CASES.values()]
    injected = [optax.inject_hyperparams(optax.sgd)(learning_rate=lr) for lr in learning_rates]
    plain = [optax.sgd(learning_rate=lr) for lr in learning_rates]
    params = jnp.zeros((), dtype)
    gradient = jnp.ones((), dtype)

    def body(states: Any, _: Any) -> Any:
        injected_states, plain_states = states
        new_injected, new_plain, applied, stepped = [], [], [], []
        for tx, state in zip(injected, injected_states, strict=True):
            _, state = tx.update(gradient, state, params)
            new_injected.append(state)
            applied.append(state.hyperparams["learning_rate"])
        for tx, state in zip(plain, plain_states, strict=True):
            update, state = tx.update(gradient, state, params)
            new_plain.append(state)
            stepped.append(-update)
        return (new_injected, new_plain), (jnp.stack(applied), jnp.stack(stepped))

    initial = ([tx.init(params) for tx in injected], [tx.init(params) for tx in plain])
    run = jax.jit(lambda states: jax.lax.scan(body, states, None, length=N)[1])
    applied, stepped = (np.asarray(values) for values in run(initial))
    return {name: (applied[:, i], stepped[:, i]) for i, name in enumerate(CASES)}


@pytest.fixture(scope="module")
def trained() -> Any:
    """``trained(mode)``: the run of :func:`train` in ``mode``, computed once."""
    cache: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}

    def get(mode: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if mode not in cache:
            before = jax.config.jax_enable_x64
            with jax.enable_x64(MODES[mode]):
                cache[mode] = train(MODES[mode])
            assert jax.config.jax_enable_x64 == before  # the context restores the config
        return cache[mode]

    return get


def test_own_cases_cover_every_registered_kind() -> None:
    covered = {lrlab.parse(spec).kind for spec in OWN_CASES.values()}
    for spec in OWN_CASES.values():
        schedule = lrlab.parse(spec)
        for value in vars(schedule).values():
            parts = value if isinstance(value, tuple) else (value,)
            covered |= {part.kind for part in parts if isinstance(part, lrlab.Schedule)}
    assert covered == set(lrlab.registered_kinds())


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("mode", list(MODES))
def test_optax_sgd_applies_the_schedule(trained: Any, name: str, mode: str) -> None:
    applied, stepped = trained(mode)[name]
    expected = reference(CASES[name], mode)
    assert applied.dtype == stepped.dtype == expected.dtype
    assert np.all(np.isfinite(applied))
    # rtol with atol=0: a reference 0 (end of a cosine) must come out exactly 0.
    np.testing.assert_allclose(applied, expected, rtol=RTOL[mode], atol=0.0)
    np.testing.assert_allclose(stepped, expected, rtol=RTOL[mode], atol=0.0)


def test_float32_formulas_would_miss_the_float32_bound() -> None:
    """The x32 check is sensitive: evaluating the formulas in float32 fails it."""
    counts = np.arange(2000)
    for spec in (
        "cosine_restarts(init_value=0.1, period=10, period_mult=2.0)",
        "cosine(init_value=0.1, total_steps=1000000)",
    ):
        schedule = lrlab.parse(spec)
        times = counts if "restarts" in spec else 1000000 - 2000 + counts
        naive = jax.jit(lambda t, s=schedule: s.compute(t.astype(jnp.float32), jnp))(times)
        adapted = jax.jit(lrlab.optax.schedule(schedule))(times)
        expected = schedule(times)
        naive_error = np.max(np.abs(np.asarray(naive, np.float64) / expected - 1.0))
        assert naive_error > 1e-5, spec
        np.testing.assert_allclose(adapted, expected, rtol=1e-6, atol=0.0)


# Kinds that floor a quotient or need 1 - T/T == 0: XLA rewrites x / c into x * (1 / c),
# which is an ulp low for some exact quotients (at t = 49 with every=49, among others).
DIVISION_SPECS = [
    *(f"step(init_value=1.0, factor=0.5, every={every})" for every in range(1, 61)),
    *(
        f"per_epoch(step(init_value=1.0, factor=0.5, every=1), steps_per_epoch={every})"
        for every in (29, 49, 57)
    ),
    *(
        f"exponential(init_value=1.0, factor=0.5, every={every}, staircase=True)"
        for every in (49, 57)
    ),
    *(f"cosine_restarts(init_value=1.0, period={period})" for period in (49, 57)),
    *(
        f"cyclic(base_value=0.0, max_value=1.0, step_size_up={up}, mode='triangular2')"
        for up in (29, 49)
    ),
    *(f"polynomial(init_value=1.0, total_steps={total}, power=2.5)" for total in (40, 49)),
]


@pytest.mark.parametrize("mode", list(MODES))
def test_divisions_stay_exact_at_every_boundary(mode: str) -> None:
    counts = jnp.arange(125)
    with jax.enable_x64(MODES[mode]):
        schedules = [lrlab.optax.schedule(spec) for spec in DIVISION_SPECS]
        # lax.map keeps each count a scalar, as optax passes it (the case XLA rewrites).
        evaluate = jax.jit(lambda t: jnp.stack([jax.lax.map(lr, t) for lr in schedules]))
        values = np.asarray(evaluate(counts))
    for spec, actual in zip(DIVISION_SPECS, values, strict=True):
        expected = reference(spec, mode, np.arange(125))
        assert np.all(np.isfinite(actual)), spec
        np.testing.assert_allclose(actual, expected, rtol=RTOL[mode], atol=0.0, err_msg=spec)


def test_vmap_and_shapes() -> None:
    schedule = lrlab.parse(CASES["one_cycle"])
    lr = lrlab.optax.schedule(schedule)
    grid = np.arange(12).reshape(3, 4)
    batched = jax.jit(jax.vmap(lr))(grid)
    assert batched.shape == (3, 4) and batched.dtype == jnp.float32
    np.testing.assert_allclose(batched, schedule(grid).astype(np.float32), rtol=1e-6, atol=0)
    assert lr(7).shape == () and lr(np.array([], dtype=np.int32)).shape == (0,)


def test_a_jitted_training_step_traces_the_schedule_once() -> None:
    lr = lrlab.optax.schedule(CASES["warmup"])
    tx = optax.sgd(learning_rate=lr)
    params = jnp.zeros(3)
    traces = []

    @jax.jit
    def step(params: Any, state: Any) -> Any:
        traces.append(None)
        updates, state = tx.update(jnp.ones(3), state, params)
        return optax.apply_updates(params, updates), state

    state = tx.init(params)
    for _ in range(20):
        params, state = step(params, state)
    assert len(traces) == 1
    expected = -np.sum(lrlab.parse(CASES["warmup"])(np.arange(20)).astype(np.float32))
    np.testing.assert_allclose(params, np.full(3, expected), rtol=1e-6)


def test_cycled_momentum_through_inject_hyperparams() -> None:
    schedule = lrlab.parse(CASES["one_cycle"])
    tx = optax.inject_hyperparams(optax.sgd)(
        learning_rate=lrlab.optax.schedule(schedule),
        momentum=lrlab.optax.schedule(schedule.momentum()),
    )
    params = jnp.zeros(())
    update = jax.jit(tx.update)
    state = tx.init(params)
    momenta = []
    for _ in range(10):
        _, state = update(jnp.ones(()), state, params)
        momenta.append(float(state.hyperparams["momentum"]))
    expected = schedule.momentum()(np.arange(10)).astype(np.float32)
    np.testing.assert_allclose(momenta, expected, rtol=1e-6, atol=0)


def test_schedule_value_semantics() -> None:
    lr = lrlab.optax.schedule(CASES["sequence"])
    assert repr(lr) == f"lrlab.optax.schedule({str(lrlab.parse(CASES['sequence']))!r})"
    assert lr == lrlab.optax.schedule(lrlab.parse(CASES["sequence"]))
    assert lr != lrlab.optax.schedule(CASES["cosine"])
    assert hash(lr) == hash(lrlab.optax.schedule(CASES["sequence"]))
    restored = pickle.loads(pickle.dumps(lr))
    assert restored == lr
    assert float(restored(12)) == float(lr(12))


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (3, TypeError, r"schedule s must be a Schedule or a spec string, got 3 \(int\)"),
        (None, TypeError, r"got None \(NoneType\)"),
        (lrlab.Plateau(), TypeError, r"\(Plateau\)"),
        ("cosine(init_value=0.1)", TypeError, "total_steps"),
        ("nope(x=1)", ValueError, "nope"),
    ],
)
def test_bad_schedule_argument(value: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        lrlab.optax.schedule(value)


@pytest.mark.parametrize(
    ("count", "error", "match"),
    [
        ("5", TypeError, r"count must be a real number or an array of them, got '5' \(str\)"),
        (True, TypeError, r"got True \(bool\)"),
        (None, TypeError, r"got None \(NoneType\)"),
        (np.array(["a"]), TypeError, "count must be a real number"),
        (jnp.array([1 + 2j]), TypeError, "count must be a real number"),
        (-1, ValueError, r"count must contain only finite numbers >= 0, found -1.0"),
        (float("nan"), ValueError, "found nan"),
        (jnp.array([3, -2]), ValueError, "found -2.0"),
        ([1.0, float("inf")], ValueError, "found inf"),
    ],
)
def test_bad_count(count: Any, error: type[Exception], match: str) -> None:
    lr = lrlab.optax.schedule("constant(value=0.1)")
    with pytest.raises(error, match=match):
        lr(count)


@pytest.mark.parametrize("missing", ["jax", "optax"])
def test_import_without_the_extra_names_it(missing: str) -> None:
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "try:\n    import lrlab.optax\n"
        "except ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "pip install 'lrlab[jax]'" in result.stdout
