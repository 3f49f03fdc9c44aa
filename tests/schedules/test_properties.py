"""Hypothesis properties of every schedule kind.

For each registered kind: bounds and endpoints, monotonicity where the formula promises it,
continuity and exact hand-over at join boundaries, the vectorized result equal to a scalar
loop, and repr / dict / pickle / file round-trips. Expectations are derived from the formulas
in the docstrings (and DESIGN.md section 2), never copied from the implementation's output.

The strategies here (``schedules``, ``strategy_for`` ...) are also imported by
``test_fuzz.py``; they generate only valid schedules, composed up to three levels deep.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import operator
import pickle
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import assume, example, find, given, settings
from hypothesis import strategies as st

import lrlab
from lrlab.schedules import (
    Clip,
    Constant,
    Cosine,
    CosineRestarts,
    Cyclic,
    Exponential,
    InverseSqrt,
    InverseTime,
    Linear,
    MultiStep,
    OneCycle,
    PerEpoch,
    Polynomial,
    Product,
    Scale,
    Schedule,
    Sequence,
    Step,
    Warmup,
    WarmupStableDecay,
)

Floats = npt.NDArray[np.float64]
Strategy = st.SearchStrategy

T_MAX = 20_000.0
"""Latest time at which any property evaluates a schedule."""

GROWTH_BUDGET = 60.0
"""Largest natural log of the growth one multiplier reaches by ``T_MAX``: products of up to
eight growing leaves stay finite."""

TINY_TARGET = 1e-200
"""Smallest target an exponential warm-up is generated for (smaller ones may be rejected:
``start_factor * target`` must not underflow)."""

JUST_BEFORE = 1e-9
"""How far before a boundary "just before" is."""

# ---------------------------------------------------------------------------------------------
# Parameter strategies: realistic, valid ranges.
# ---------------------------------------------------------------------------------------------

lrs = st.one_of(st.floats(1e-6, 10.0), st.floats(-6.0, 1.0).map(lambda e: 10.0**e))
lrs_or_zero = st.one_of(st.just(0.0), lrs)
lengths = st.one_of(st.integers(1, 20), st.integers(1, 5000))
decay_factors = st.floats(0.01, 1.0)
fractions = st.one_of(st.just(0.0), st.just(1.0), st.floats(1e-4, 1.0))
"""Ratios such as ``end_value / peak_value``."""


def factors(applications: float) -> Strategy[float]:
    """Multipliers applied up to ``applications`` times: a decay, or a growth that stays finite."""
    cap = min(10.0, math.exp(GROWTH_BUDGET / max(applications, 1.0)))
    return st.one_of(decay_factors, st.floats(1.0, cap))


@st.composite
def constants(draw: st.DrawFn) -> Constant:
    """``constant`` with an LR or zero."""
    return Constant(value=draw(lrs_or_zero))


@st.composite
def inverse_times(draw: st.DrawFn) -> InverseTime:
    """``inverse_time`` with a decay rate in [0, 1] per step."""
    return InverseTime(init_value=draw(lrs), decay_rate=draw(st.floats(0.0, 1.0)))


@st.composite
def steps(draw: st.DrawFn) -> Step:
    """``step``; a growth factor only as large as stays finite up to ``T_MAX``."""
    every = draw(lengths)
    offset = draw(st.one_of(st.sampled_from([0, 1]), st.integers(0, every)))
    factor = draw(factors((T_MAX + offset) / every))
    return Step(init_value=draw(lrs), factor=factor, every=every, offset=offset)


@st.composite
def multisteps(draw: st.DrawFn) -> MultiStep:
    """``multistep`` with 1..6 sorted milestones."""
    milestones = draw(st.lists(st.integers(1, 5000), min_size=1, max_size=6, unique=True))
    return MultiStep(
        init_value=draw(lrs),
        milestones=tuple(sorted(milestones)),
        factor=draw(st.floats(0.01, 10.0)),
    )


@st.composite
def exponentials(draw: st.DrawFn) -> Exponential:
    """``exponential``, decaying or (boundedly) growing, with or without staircase."""
    every = draw(lengths)
    return Exponential(
        init_value=draw(lrs),
        factor=draw(factors(T_MAX / every)),
        every=every,
        staircase=draw(st.booleans()),
    )


@st.composite
def polynomials(draw: st.DrawFn) -> Polynomial:
    """``polynomial`` that may decay or rise."""
    return Polynomial(
        init_value=draw(lrs_or_zero),
        total_steps=draw(lengths),
        power=draw(st.floats(0.1, 10.0)),
        end_value=draw(lrs_or_zero),
    )


@st.composite
def linears(draw: st.DrawFn) -> Linear:
    """``linear`` that may decay or rise."""
    return Linear(
        init_value=draw(lrs_or_zero), end_value=draw(lrs_or_zero), total_steps=draw(lengths)
    )


@st.composite
def cosines(draw: st.DrawFn) -> Cosine:
    """``cosine`` that may decay or rise."""
    return Cosine(
        init_value=draw(lrs_or_zero), total_steps=draw(lengths), end_value=draw(lrs_or_zero)
    )


period_mults = st.one_of(st.sampled_from([1.0, 2.0, 3.0]), st.floats(1.0, 3.0))


@st.composite
def cosine_restarts(draw: st.DrawFn) -> CosineRestarts:
    """``cosine_restarts`` with integral or fractional period growth."""
    init = draw(lrs)
    return CosineRestarts(
        init_value=init,
        period=draw(lengths),
        period_mult=draw(period_mults),
        end_value=init * draw(fractions),
        peak_decay=draw(st.floats(0.01, 1.0)),
    )


@st.composite
def cyclics(draw: st.DrawFn) -> Cyclic:
    """``cyclic`` in all three modes; ``gamma`` only for ``exp_range``."""
    base = draw(lrs_or_zero)
    up = draw(lengths)
    down = draw(st.one_of(st.none(), lengths))
    mode = draw(st.sampled_from(["triangular", "triangular2", "exp_range"]))
    gamma = draw(factors(T_MAX)) if mode == "exp_range" else 1.0
    top = base + draw(lrs_or_zero)
    if gamma <= 1.0 and draw(st.booleans()):  # an inverted cycle, as for momentum
        base, top = top, base
    return Cyclic(
        base_value=base,
        max_value=top,
        step_size_up=up,
        step_size_down=down,
        mode=mode,
        gamma=gamma,
    )


@st.composite
def one_cycles(draw: st.DrawFn) -> OneCycle:
    """``one_cycle``, two- or three-phase, with every phase of positive width."""
    total = draw(st.one_of(st.integers(2, 20), st.integers(2, 5000)))
    three_phase = draw(st.booleans())
    upper = (total + 1) / (2 * total) if three_phase else 1.0
    pct = draw(
        st.one_of(
            st.sampled_from([0.25, 0.3]),
            st.floats(1.0 / total, upper, exclude_min=True, exclude_max=True),
        )
    )
    try:
        return OneCycle(
            peak_value=draw(lrs),
            total_steps=total,
            pct_start=pct,
            div_factor=draw(st.floats(1.0, 1e4)),
            final_div_factor=draw(st.floats(1.0, 1e5)),
            three_phase=three_phase,
            anneal=draw(st.sampled_from(["cos", "linear"])),
        )
    except ValueError:  # a phase of zero width (pct_start too small or too large)
        assume(False)
        raise


@st.composite
def inverse_sqrts(draw: st.DrawFn) -> InverseSqrt:
    """``inverse_sqrt`` with and without warm-up and timescale."""
    return InverseSqrt(
        init_value=draw(lrs),
        warmup_steps=draw(st.one_of(st.just(0), lengths)),
        timescale=draw(st.one_of(st.none(), lengths)),
    )


@st.composite
def wsds(draw: st.DrawFn) -> WarmupStableDecay:
    """``wsd`` with any split of warm-up, stable and decay steps."""
    peak = draw(lrs)
    total = draw(lengths)
    warmup = draw(st.integers(0, total))
    shapes = st.sampled_from(["linear", "cosine", "1-sqrt"])
    return WarmupStableDecay(
        peak_value=peak,
        total_steps=total,
        warmup_steps=warmup,
        decay_steps=draw(st.integers(0, total - warmup)),
        end_value=peak * draw(fractions),
        warmup_shape=draw(shapes),
        decay_shape=draw(shapes),
    )


LEAF_STRATEGIES: dict[str, Strategy[Schedule]] = {
    "constant": constants(),
    "inverse_time": inverse_times(),
    "step": steps(),
    "multistep": multisteps(),
    "exponential": exponentials(),
    "polynomial": polynomials(),
    "linear": linears(),
    "cosine": cosines(),
    "cosine_restarts": cosine_restarts(),
    "cyclic": cyclics(),
    "one_cycle": one_cycles(),
    "inverse_sqrt": inverse_sqrts(),
    "wsd": wsds(),
}

leaf_schedules: Strategy[Schedule] = st.one_of(*LEAF_STRATEGIES.values())


# ---------------------------------------------------------------------------------------------
# Composition strategies: each takes the strategy of the schedules it wraps.
# ---------------------------------------------------------------------------------------------


@st.composite
def warmups(draw: st.DrawFn, children: Strategy[Schedule]) -> Warmup:
    """``warmup`` in all three shapes around any child."""
    child = draw(children)
    shape = draw(st.sampled_from(["linear", "cosine", "exponential"]))
    if shape == "exponential" and not child(0) > TINY_TARGET:
        shape = "linear"  # an exponential ramp needs a positive, representable start
    low = 1e-4 if shape == "exponential" else 0.0
    return Warmup(
        schedule=child,
        warmup_steps=draw(lengths),
        shape=shape,
        start_factor=draw(st.one_of(st.just(low), st.floats(low, 1.0))),
    )


@st.composite
def sequences(draw: st.DrawFn, children: Strategy[Schedule]) -> Sequence:
    """A sequence of 2-3 pieces, via ``>>`` (either nesting) or explicit ``durations``."""
    pieces = draw(st.lists(children, min_size=2, max_size=3))
    natural = all(piece.duration is not None for piece in pieces[:-1])
    how = draw(st.sampled_from(["left", "right", "explicit"]))
    if natural and how == "left":
        return functools.reduce(operator.rshift, pieces)  # type: ignore[return-value]
    if natural and how == "right":
        return functools.reduce(lambda right, left: left >> right, reversed(pieces))  # type: ignore[return-value]
    durations = draw(st.lists(lengths, min_size=len(pieces) - 1, max_size=len(pieces) - 1))
    return Sequence(pieces=tuple(pieces), durations=tuple(durations))


@st.composite
def scales(draw: st.DrawFn, children: Strategy[Schedule]) -> Scale:
    """``factor * child`` (or ``child * factor``)."""
    child = draw(children)
    factor = draw(st.one_of(st.sampled_from([0.0, 0.5]), st.floats(1e-3, 4.0)))
    scaled = factor * child if draw(st.booleans()) else child * factor
    assert isinstance(scaled, Scale)
    return scaled


@st.composite
def products(draw: st.DrawFn, children: Strategy[Schedule]) -> Product:
    """``left * right``."""
    product = draw(children) * draw(children)
    assert isinstance(product, Product)
    return product


@st.composite
def clips(draw: st.DrawFn, children: Strategy[Schedule]) -> Clip:
    """``clip`` with a lower bound, an upper bound or both, inside the child's range."""
    child = draw(children)
    low, high = value_range(child, T_MAX)
    which = draw(st.sampled_from(["min", "max", "both"]))
    min_value = draw(st.floats(0.0, high)) if which != "max" else None
    floor = 0.0 if min_value is None else min_value
    max_value = draw(st.floats(max(floor, low), max(floor, high))) if which != "min" else None
    return Clip(schedule=child, min_value=min_value, max_value=max_value)


@st.composite
def per_epochs(draw: st.DrawFn, children: Strategy[Schedule]) -> PerEpoch:
    """``per_epoch`` with 1..100 steps per epoch."""
    return PerEpoch(schedule=draw(children), steps_per_epoch=draw(st.integers(1, 100)))


COMPOSITE_STRATEGIES: dict[str, Callable[[Strategy[Schedule]], Strategy[Schedule]]] = {
    "warmup": warmups,
    "sequence": sequences,
    "scale": scales,
    "product": products,
    "clip": clips,
    "per_epoch": per_epochs,
}


@functools.cache
def schedules(max_depth: int = 2) -> Strategy[Schedule]:
    """Any valid schedule, composed up to ``max_depth`` levels above the leaf families."""
    if max_depth <= 0:
        return leaf_schedules
    children = schedules(max_depth - 1)
    composites = st.one_of(*(make(children) for make in COMPOSITE_STRATEGIES.values()))
    return st.one_of(leaf_schedules, composites)


def strategy_for(kind: str) -> Strategy[Schedule]:
    """The strategy that generates schedules of ``kind``; fails the test if there is none."""
    if kind in LEAF_STRATEGIES:
        return LEAF_STRATEGIES[kind]
    if kind in COMPOSITE_STRATEGIES:
        return COMPOSITE_STRATEGIES[kind](schedules(1))
    pytest.fail(f"no Hypothesis strategy for schedule kind {kind!r}: add one to test_properties")


# ---------------------------------------------------------------------------------------------
# Structural helpers derived from the documented formulas.
# ---------------------------------------------------------------------------------------------


def one_cycle_phase_ends(s: OneCycle) -> list[float]:
    """Ends of the phases, as torch ``OneCycleLR`` defines them (see the docstring)."""
    rise_end = s.pct_start * s.total_steps - 1.0
    last = float(s.total_steps - 1)
    if s.three_phase:
        return [rise_end, 2.0 * s.pct_start * s.total_steps - 2.0, last]
    return [rise_end, last]


def restart_starts(s: CosineRestarts, until: float) -> list[float]:
    """Cycle start times ``S_i = sum_{j<i} period * mult**j`` up to ``until``, by accumulation."""
    starts = [0.0]
    length = float(s.period)
    while starts[-1] + length <= until and len(starts) < 10_000:
        starts.append(starts[-1] + length)
        length *= s.period_mult
    return starts


def _range_of(s: Schedule, horizon: float, clip: bool) -> tuple[float, float]:
    """The ``value_range`` of one schedule, by kind."""
    if isinstance(s, Constant):
        return s.value, s.value
    if isinstance(s, InverseTime):
        return s.init_value / (1.0 + s.decay_rate * horizon), s.init_value
    if isinstance(s, Step):
        first = s.offset // s.every
        last = int((horizon + s.offset) // s.every)
        ends = (s.init_value * s.factor**first, s.init_value * s.factor**last)
        return min(ends), max(ends)
    if isinstance(s, MultiStep):
        ends = (s.init_value, s.init_value * s.factor ** len(s.milestones))
        return min(ends), max(ends)
    if isinstance(s, Exponential):
        ends = (s.init_value, s.init_value * s.factor ** (horizon / s.every))
        return min(ends), max(ends)
    if isinstance(s, Polynomial | Linear | Cosine):
        return min(s.init_value, s.end_value), max(s.init_value, s.end_value)
    if isinstance(s, CosineRestarts):
        return s.end_value, s.init_value
    if isinstance(s, Cyclic):
        amplitude = s.max_value - s.base_value
        growth = max(1.0, s.gamma**horizon) if s.mode == "exp_range" else 1.0
        ends = (s.base_value, s.base_value + amplitude * growth)
        return min(ends), max(ends)
    if isinstance(s, OneCycle):
        initial = s.peak_value / s.div_factor
        levels = (initial, s.peak_value, initial / s.final_div_factor)
        return min(levels), max(levels)
    if isinstance(s, InverseSqrt):
        tau = s.effective_timescale
        tail = s.init_value / math.sqrt((max(horizon, s.warmup_steps) + tau - s.warmup_steps) / tau)
        return (0.0 if s.warmup_steps else tail), s.init_value
    if isinstance(s, WarmupStableDecay):
        return s.end_value, s.peak_value
    if isinstance(s, Warmup):
        low, high = value_range(s.schedule, horizon, clip)
        start = s.start_factor * s.schedule(0)
        return min(low, start), max(high, start)
    if isinstance(s, Sequence):
        ranges = [value_range(piece, horizon, clip) for piece in s.pieces]
        return min(r[0] for r in ranges), max(r[1] for r in ranges)
    if isinstance(s, Scale):
        low, high = value_range(s.schedule, horizon, clip)
        return s.factor * low, s.factor * high
    if isinstance(s, Product):
        (a, b), (c, d) = value_range(s.left, horizon, clip), value_range(s.right, horizon, clip)
        return a * c, b * d
    if isinstance(s, Clip):
        low, high = value_range(s.schedule, horizon, clip)
        if not clip:
            return low, high
        lower = -math.inf if s.min_value is None else s.min_value
        upper = math.inf if s.max_value is None else s.max_value
        return min(max(low, lower), upper), min(max(high, lower), upper)
    if isinstance(s, PerEpoch):
        return value_range(s.schedule, horizon / s.steps_per_epoch, clip)
    pytest.fail(f"no value range for schedule kind {s.kind!r}: add one to test_properties")


def value_range(s: Schedule, horizon: float, clip: bool = True) -> tuple[float, float]:
    """Bounds ``(low, high)`` of ``s(t)`` for ``0 <= t <= horizon``, from the formulas;
    ``clip=False`` ignores clips (the magnitude of the values computed inside)."""
    return _range_of(s, horizon, clip)


def key_times(s: Schedule) -> list[float]:
    """Times where ``s`` may change branch: phase, piece, cycle, epoch and milestone boundaries."""
    times: list[float] = [0.0]
    if s.duration is not None:
        times.append(float(s.duration))
    if isinstance(s, Sequence):
        for start, piece in zip(s.starts, s.pieces, strict=True):
            times += [start + inner for inner in key_times(piece)]
    elif isinstance(s, Warmup):
        times += [s.warmup_steps + inner for inner in key_times(s.schedule)]
    elif isinstance(s, PerEpoch):
        times += [s.steps_per_epoch * inner for inner in key_times(s.schedule)]
        times += [s.steps_per_epoch * float(epoch) for epoch in range(1, 4)]
    elif isinstance(s, Scale | Clip):
        times += key_times(s.schedule)
    elif isinstance(s, Product):
        times += key_times(s.left) + key_times(s.right)
    elif isinstance(s, OneCycle):
        times += one_cycle_phase_ends(s)
    elif isinstance(s, CosineRestarts):
        times += restart_starts(s, T_MAX)[:20]
    elif isinstance(s, Cyclic):
        up = s.step_size_up
        cycle = up + (up if s.step_size_down is None else s.step_size_down)
        times += [float(k * cycle + extra) for k in range(4) for extra in (0, up)]
    elif isinstance(s, MultiStep):
        times += [float(m) for m in s.milestones]
    elif isinstance(s, Step):
        times += [float(k * s.every - s.offset) for k in range(1, 4)]
    elif isinstance(s, Exponential | InverseSqrt | WarmupStableDecay):
        times += [float(getattr(s, name, 0)) for name in ("every", "warmup_steps")]
        if isinstance(s, WarmupStableDecay):
            times.append(float(s.warmup_steps + s.stable_steps))
    return times


def horizon_of(s: Schedule) -> float:
    """A time horizon that covers the schedule's length and some of what follows."""
    duration = s.duration
    return T_MAX if duration is None else min(T_MAX, 1.25 * duration + 10.0)


def probe_times(s: Schedule, horizon: float, extra: list[float]) -> Floats:
    """Sorted times in ``[0, horizon]``: a grid, every key time and its neighbours, ``extra``."""
    keys = np.unique(np.asarray(key_times(s), dtype=np.float64))
    keys = keys[(keys >= 0.0) & (keys <= horizon)]
    if keys.size > 200:
        keys = keys[np.linspace(0, keys.size - 1, 200).astype(int)]
    near = (keys[:, None] + np.array([-1.0, -0.5, -JUST_BEFORE, 0.0, 0.5, 1.0])).ravel()
    grid = np.concatenate(
        [
            np.arange(0.0, min(horizon, 128.0) + 1.0),
            np.linspace(0.0, horizon, 129),
            near,
            np.asarray(extra, dtype=np.float64),
        ]
    )
    return np.unique(grid[(grid >= 0.0) & (grid <= horizon)])


def dense_grid(end: float, points: int = 1001) -> Floats:
    """Every integer in ``[0, end]`` plus ``points`` evenly spaced times, sorted."""
    return np.unique(np.concatenate([np.arange(0.0, end + 1.0), np.linspace(0.0, end, points)]))


def assert_monotone(values: Floats, increasing: bool, what: str) -> None:
    """Assert ``values`` never move against the promised direction (beyond rounding noise)."""
    if values.size < 2:
        return
    steps_ = np.diff(values)
    slack = 1e-13 * float(np.max(np.abs(values)))
    bad = np.flatnonzero(steps_ < -slack if increasing else steps_ > slack)
    direction = "non-decreasing" if increasing else "non-increasing"
    assert bad.size == 0, (
        f"{what} should be {direction}; first violation at index {bad[0]}: "
        f"{values[bad[0]]!r} -> {values[bad[0] + 1]!r}"
    )


def assert_within(
    values: Floats, low: float, high: float, what: str, magnitude: float = 0.0
) -> None:
    """Assert ``low <= values <= high`` up to 1e-12 relative to the bounds (or ``magnitude``,
    the size of the intermediate values, which rounding scales with)."""
    slack = 1e-12 * max(abs(low), abs(high), magnitude)
    bad = np.flatnonzero((values < low - slack) | (values > high + slack))
    assert bad.size == 0, f"{what}: value {values[bad[0]]!r} outside [{low!r}, {high!r}]"


def close(got: float, expected: float, rel: float = 1e-14, scale: float = 0.0) -> bool:
    """``got`` equals ``expected`` up to ``rel`` relative to ``max(|expected|, scale)``."""
    return abs(got - expected) <= rel * max(abs(expected), scale)


# ---------------------------------------------------------------------------------------------
# Every registered kind is covered.
# ---------------------------------------------------------------------------------------------

KINDS = lrlab.registered_kinds()


def test_every_registered_kind_has_a_strategy() -> None:
    """A new family cannot be registered without a strategy (and so without properties)."""
    covered = set(LEAF_STRATEGIES) | set(COMPOSITE_STRATEGIES)
    assert set(KINDS) - covered == set(), "kinds without a Hypothesis strategy"
    assert covered - set(KINDS) == set(), "strategies for kinds that are not registered"


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_vectorized_equals_scalar_loop_and_stays_in_bounds(kind: str, data: st.DataObject) -> None:
    """``s(array)`` equals ``[s(t) for t]`` (rel. 1e-13), is finite, >= 0 and within the
    formula's bounds; shapes and return types follow the calling contract."""
    schedule = data.draw(strategy_for(kind), label="schedule")
    assert schedule.kind == kind
    horizon = horizon_of(schedule)
    extra = data.draw(st.lists(st.floats(0.0, horizon), max_size=8), label="extra times")
    times = probe_times(schedule, horizon, extra)

    vector = schedule(times)
    assert type(vector) is np.ndarray and vector.dtype == np.float64
    assert vector.shape == times.shape
    scalars = [schedule(float(t)) for t in times]
    assert all(type(value) is float for value in scalars)
    loop = np.array(scalars)
    assert np.all(np.isfinite(vector)), f"non-finite value at t={times[~np.isfinite(vector)][0]}"
    scale = float(np.max(np.abs(loop)))
    worst = np.abs(vector - loop)
    assert np.all(worst <= 1e-13 * scale), (
        f"vectorized != scalar at t={times[np.argmax(worst)]!r}: "
        f"{vector[np.argmax(worst)]!r} vs {loop[np.argmax(worst)]!r}"
    )

    integers = np.arange(int(min(horizon, 255.0)) + 1)
    on_integers = schedule(integers)
    by_int = np.array([schedule(int(t)) for t in integers])
    assert np.all(np.abs(on_integers - by_int) <= 1e-13 * float(np.max(np.abs(by_int))))
    assert type(schedule(np.int64(3))) is float and type(schedule(np.float32(2.5))) is float

    low, high = value_range(schedule, horizon)
    assert low >= 0.0
    assert_within(vector, low, high, repr(schedule), value_range(schedule, horizon, False)[1])

    even = times[: 2 * (times.size // 2)]
    matrix = schedule(even.reshape(2, -1))
    assert matrix.shape == (2, even.size // 2) and matrix.dtype == np.float64
    np.testing.assert_array_equal(matrix.ravel(), vector[: even.size])
    for empty in (np.array([]), np.zeros((0, 3)), []):
        result = schedule(empty)
        assert type(result) is np.ndarray and result.dtype == np.float64
        assert result.shape == np.shape(empty)
    as_list = schedule(list(times[:5]))
    np.testing.assert_array_equal(as_list, vector[:5])


def _same_values(a: Schedule, b: Schedule, times: Floats) -> None:
    """Assert ``a`` and ``b`` give identical values on both paths."""
    np.testing.assert_array_equal(a(times), b(times))
    assert [a(float(t)) for t in times[:16]] == [b(float(t)) for t in times[:16]]


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_repr_dict_and_pickle_round_trips(kind: str, data: st.DataObject) -> None:
    """``parse(repr(s)) == s``, JSON dict and pickle round-trips, all giving identical values."""
    schedule = data.draw(strategy_for(kind), label="schedule")
    times = probe_times(schedule, horizon_of(schedule), [])
    text = repr(schedule)

    parsed = lrlab.parse(text)
    assert parsed == schedule and hash(parsed) == hash(schedule)
    assert repr(parsed) == text
    _same_values(parsed, schedule, times)

    payload = json.dumps(schedule.to_dict())
    restored = lrlab.from_dict(json.loads(payload))
    assert restored == schedule
    assert json.dumps(restored.to_dict()) == payload
    assert type(schedule).from_dict(json.loads(payload)) == schedule
    _same_values(restored, schedule, times)

    unpickled = pickle.loads(pickle.dumps(schedule))
    assert unpickled == schedule and repr(unpickled) == text
    _same_values(unpickled, schedule, times)


@pytest.fixture(scope="module")
def file_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the serialize -> load -> serialize round-trips."""
    return tmp_path_factory.mktemp("round_trip")


@settings(max_examples=60, deadline=None)
@given(schedule=schedules(3))
def test_serialize_load_serialize_gives_identical_bytes(file_dir: Path, schedule: Schedule) -> None:
    """Writing a schedule to .json / .toml, loading it and writing it again is byte-identical."""
    as_dict = file_dir / "schedule.json"
    as_dict.write_text(json.dumps(schedule.to_dict(), indent=2), encoding="utf-8")
    as_spec = file_dir / "spec.json"
    as_spec.write_text(json.dumps({"spec": repr(schedule)}), encoding="utf-8")
    as_toml = file_dir / "schedule.toml"
    as_toml.write_text(f"spec = {json.dumps(repr(schedule))}\n", encoding="utf-8")
    for path, serialize in (
        (as_dict, lambda s: json.dumps(s.to_dict(), indent=2)),
        (as_spec, lambda s: json.dumps({"spec": repr(s)})),
        (as_toml, lambda s: f"spec = {json.dumps(repr(s))}\n"),
    ):
        loaded = lrlab.load(path)
        assert loaded == schedule
        assert serialize(loaded).encode() == path.read_bytes()
    assert lrlab.from_config({"schedule": repr(schedule)}) == schedule
    assert lrlab.from_config(schedule.to_dict()) == schedule


# ---------------------------------------------------------------------------------------------
# Leaf families: endpoints, formulas, bounds and monotonicity.
# ---------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(schedule=constants(), t=st.floats(0.0, T_MAX))
def test_constant_is_constant(schedule: Constant, t: float) -> None:
    """``constant(value)`` is ``value`` everywhere."""
    assert schedule(t) == schedule.value
    assert np.all(schedule(dense_grid(100.0)) == schedule.value)


@settings(max_examples=40, deadline=None)
@given(schedule=inverse_times())
def test_inverse_time_formula_and_decay(schedule: InverseTime) -> None:
    """``init / (1 + decay_rate * t)``: starts at ``init_value`` and never increases."""
    times = dense_grid(2000.0)
    values = schedule(times)
    assert schedule(0) == schedule.init_value
    expected = schedule.init_value / (1.0 + schedule.decay_rate * times)
    np.testing.assert_allclose(values, expected, rtol=1e-14, atol=0.0)
    assert_monotone(values, increasing=False, what=repr(schedule))
    assert np.all((values > 0.0) & (values <= schedule.init_value))


@settings(max_examples=40, deadline=None)
@given(schedule=steps())
def test_step_values_are_powers_of_the_factor(schedule: Step) -> None:
    """``init * factor**k`` with integer ``k = (t + offset) // every``; drops only there."""
    times = np.arange(0, int(min(T_MAX, 4 * schedule.every + 50)))
    k = (times + schedule.offset) // schedule.every
    expected = schedule.init_value * schedule.factor ** k.astype(np.float64)
    values = schedule(times)
    np.testing.assert_allclose(values, expected, rtol=1e-13, atol=0.0)
    changes = np.flatnonzero(np.diff(values) != 0.0) + 1
    assert np.all((times[changes] + schedule.offset) % schedule.every == 0)
    half = schedule(times + 0.5)
    np.testing.assert_array_equal(half, values)  # constant between integer drops
    assert_monotone(values, increasing=schedule.factor >= 1.0, what=repr(schedule))


@settings(max_examples=40, deadline=None)
@given(schedule=multisteps())
def test_multistep_drops_at_each_milestone(schedule: MultiStep) -> None:
    """``init * factor**k``, ``k`` = milestones ``<= t``: the drop has happened at ``t == m``."""
    times = dense_grid(schedule.milestones[-1] + 10.0, 2001)
    passed = np.array([bisect.bisect_right(schedule.milestones, t) for t in times])
    expected = schedule.init_value * schedule.factor ** passed.astype(np.float64)
    values = schedule(times)
    np.testing.assert_allclose(values, expected, rtol=1e-13, atol=0.0)
    for index, milestone in enumerate(schedule.milestones):
        at = schedule.init_value * schedule.factor ** (index + 1)
        before = schedule.init_value * schedule.factor**index
        assert close(schedule(milestone), at, 1e-13)
        assert close(schedule(milestone - JUST_BEFORE), before, 1e-13)
    assert_monotone(values, increasing=schedule.factor >= 1.0, what=repr(schedule))


@settings(max_examples=40, deadline=None)
@given(schedule=exponentials())
def test_exponential_formula_and_direction(schedule: Exponential) -> None:
    """``init * factor**(t / every)`` (floored with staircase); monotone in the factor's sense."""
    times = dense_grid(min(T_MAX, 5.0 * schedule.every + 20.0))
    exponent = times / schedule.every
    if schedule.staircase:
        exponent = np.floor(exponent)
    values = schedule(times)
    np.testing.assert_allclose(
        values, schedule.init_value * schedule.factor**exponent, rtol=1e-13, atol=0.0
    )
    assert schedule(0) == schedule.init_value
    assert_monotone(values, increasing=schedule.factor >= 1.0, what=repr(schedule))


def _check_decay_to_end(schedule: Polynomial | Linear | Cosine, midpoint: float) -> None:
    """Shared checks of the three ``init -> end over total_steps, then hold`` families."""
    total = schedule.total_steps
    init, end = schedule.init_value, schedule.end_value
    scale = max(init, end)
    assert close(schedule(0), init, scale=scale)
    assert close(schedule(total), end, scale=scale)
    after = schedule(np.array([total, total + 0.5, total + 1.0, 3.0 * total, T_MAX]))
    assert np.all(after == after[0]), "holds end_value after total_steps"
    assert close(schedule(total / 2), midpoint, 1e-12, scale=scale)
    values = schedule(dense_grid(total + 2.0))
    assert_within(values, min(init, end), max(init, end), repr(schedule))
    assert_monotone(values, increasing=end >= init, what=repr(schedule))


@settings(max_examples=40, deadline=None)
@given(schedule=polynomials())
def test_polynomial_endpoints_bounds_and_monotone(schedule: Polynomial) -> None:
    """``end + (init - end) * (1 - t/T)**power``: from init to end, monotone, then held."""
    init, end = schedule.init_value, schedule.end_value
    _check_decay_to_end(schedule, end + (init - end) * 0.5**schedule.power)


@settings(max_examples=40, deadline=None)
@given(schedule=linears())
def test_linear_endpoints_bounds_and_monotone(schedule: Linear) -> None:
    """Linear from init to end over ``total_steps``, then held."""
    assert schedule(0) == schedule.init_value
    _check_decay_to_end(schedule, (schedule.init_value + schedule.end_value) / 2.0)


@settings(max_examples=40, deadline=None)
@given(schedule=cosines())
def test_cosine_endpoints_bounds_and_monotone(schedule: Cosine) -> None:
    """Cosine from init to end over ``total_steps``; exactly ``end_value`` from T on."""
    _check_decay_to_end(schedule, (schedule.init_value + schedule.end_value) / 2.0)
    assert schedule(schedule.total_steps) == schedule.end_value
    assert schedule(T_MAX) == schedule.end_value


@settings(max_examples=40, deadline=None)
@given(schedule=cosine_restarts())
def test_cosine_restarts_cycles(schedule: CosineRestarts) -> None:
    """Each cycle starts at ``end + (init - end) * peak_decay**i`` and decays to ``end``."""
    init, end = schedule.init_value, schedule.end_value
    starts = restart_starts(schedule, min(T_MAX, 20.0 * schedule.period))
    exact = schedule.period_mult.is_integer()
    for index, start in enumerate(starts[:12]):
        peak = end + (init - end) * schedule.peak_decay**index
        if exact:  # integral cycle starts: the restart is exactly at S_i
            assert close(schedule(start), peak, 1e-13, scale=init)
        else:
            nudge = 1e-7 * (1.0 + start)
            assert close(schedule(start + nudge), peak, 1e-6, scale=init)
        if index:
            previous = starts[index - 1]
            inside = np.linspace(previous, start, 200, endpoint=False)
            if not exact:
                inside = inside[inside >= previous + 1e-7 * (1.0 + previous)]
            label = f"cycle {index - 1} of {schedule!r}"
            assert_monotone(schedule(inside), increasing=False, what=label)
            if exact:  # (relative nudge: an implementation may round t to a near start)
                before = schedule(start - JUST_BEFORE * (1.0 + start))
                assert close(before, end, 1e-9, scale=init), "a cycle ends at end_value"
    values = schedule(dense_grid(min(T_MAX, 20.0 * schedule.period)))
    assert_within(values, end, init, repr(schedule))


@settings(max_examples=40, deadline=None)
@given(schedule=cyclics())
@example(schedule=Cyclic(base_value=0.0, max_value=1.0, step_size_up=2768, step_size_down=1))
def test_cyclic_bounds_and_triangle(schedule: Cyclic) -> None:
    """Between ``base`` and ``max``; ``base`` at multiples of the cycle; the peak at
    ``kC + up`` scaled by the mode (1, 1/2**k or gamma**t); rising then falling inside each
    cycle (falling then rising when inverted, ``max < base``)."""
    up = schedule.step_size_up
    down = up if schedule.step_size_down is None else schedule.step_size_down
    cycle = up + down
    base, amplitude = schedule.base_value, schedule.max_value - schedule.base_value
    cycles = [k for k in range(6) if (k + 1) * cycle <= T_MAX]
    for k in cycles:
        start, top = float(k * cycle), float(k * cycle + up)
        assert schedule(start) == base
        gain = {"triangular": 1.0, "triangular2": 0.5**k}.get(schedule.mode, schedule.gamma**top)
        # torch's form 1 + t/C - floor(1 + t/C), divided by -down/C on the way down, loses
        # about (k + 1) * C / min(up, down) ulps; lrlab keeps that form to match torch.
        rounding = max(1e-12, 8 * np.finfo(float).eps * (k + 1) * cycle / min(up, down))
        top_scale = max(schedule.max_value, base)
        assert close(schedule(top), base + amplitude * gain, rounding, scale=top_scale)
        rise = schedule(np.linspace(start, top, 101))
        fall = schedule(np.linspace(top, start + cycle, 101))
        upward = amplitude >= 0.0
        if schedule.mode != "exp_range" or schedule.gamma <= 1.0:  # else gamma**t outpaces it
            assert_monotone(fall, increasing=not upward, what=f"fall of cycle {k} of {schedule!r}")
        if schedule.mode != "exp_range" or schedule.gamma >= 1.0:
            assert_monotone(rise, increasing=upward, what=f"rise of cycle {k} of {schedule!r}")
    horizon = min(T_MAX, 6.0 * cycle)
    values = schedule(dense_grid(horizon))
    grows = schedule.mode == "exp_range" and schedule.gamma > 1.0  # amplitude * gamma**t
    far = value_range(schedule, horizon) if grows else sorted((base, schedule.max_value))
    assert_within(values, far[0], far[1], repr(schedule))


@settings(max_examples=50, deadline=None)
@given(schedule=one_cycles())
def test_one_cycle_phases(schedule: OneCycle) -> None:
    """Starts at ``peak/div``, peaks at the end of the rise, ends at ``peak/div/final_div``
    from ``T - 1`` on; within ``[final, peak]``; rises, then never rises again."""
    initial = schedule.peak_value / schedule.div_factor
    final = initial / schedule.final_div_factor
    ends = one_cycle_phase_ends(schedule)
    rise_end, last = ends[0], ends[-1]
    peak = schedule.peak_value
    assert close(schedule(0), initial, scale=peak)
    assert close(schedule(rise_end), peak, 1e-13)
    if schedule.three_phase:
        assert close(schedule(ends[1]), initial, 1e-13, scale=peak)
    tail = schedule(np.array([last, last + 0.5, float(schedule.total_steps), T_MAX]))
    assert np.all(np.abs(tail - final) <= 1e-14 * peak), "holds the final value from T - 1"
    times = np.unique(np.concatenate([dense_grid(schedule.total_steps + 2.0), ends]))
    values = schedule(times)
    assert_within(values, final, peak, repr(schedule))
    assert_monotone(values[times <= rise_end], increasing=True, what=f"rise of {schedule!r}")
    assert_monotone(values[times >= rise_end], increasing=False, what=f"anneal of {schedule!r}")


@settings(max_examples=40, deadline=None)
@given(schedule=inverse_sqrts())
def test_inverse_sqrt_warmup_then_decay(schedule: InverseSqrt) -> None:
    """Linear warm-up from 0 to ``init_value`` at ``W``, then ``init / sqrt((t + tau - W)/tau)``."""
    init, warmup = schedule.init_value, schedule.warmup_steps
    tau = schedule.timescale or warmup or 10_000
    if warmup and schedule.timescale is None:
        assert schedule(warmup) == init
    assert schedule(0) == (0.0 if warmup else init)
    times = dense_grid(warmup + 3000.0)
    values = schedule(times)
    after = times >= warmup
    expected = init / np.sqrt((times[after] + tau - warmup) / tau)
    np.testing.assert_allclose(values[after], expected, rtol=1e-14, atol=0.0)
    np.testing.assert_allclose(values[~after], init * times[~after] / warmup, rtol=1e-14)
    assert_monotone(values[times <= warmup], increasing=True, what=f"warm-up of {schedule!r}")
    assert_monotone(values[after], increasing=False, what=f"decay of {schedule!r}")
    assert_within(values, 0.0, init, repr(schedule))


@settings(max_examples=50, deadline=None)
@given(schedule=wsds())
def test_wsd_phases(schedule: WarmupStableDecay) -> None:
    """Warm-up from ``end_value`` rises, the stable phase is exactly ``peak_value``, the decay
    falls, and from ``total_steps`` on the value is ``end_value``."""
    peak, end = schedule.peak_value, schedule.end_value
    warmup, total = schedule.warmup_steps, schedule.total_steps
    decay_start = total - schedule.decay_steps
    times = np.unique(np.concatenate([dense_grid(total + 3.0), [warmup, decay_start]]))
    values = schedule(times)
    stable = (times >= warmup) & (times < decay_start)
    assert np.all(values[stable] == peak)
    assert np.all(np.abs(schedule(np.array([total, total + 0.5, T_MAX])) - end) <= 1e-15 * peak)
    if warmup:
        assert close(schedule(0), end, scale=peak)
    if schedule.decay_steps:
        assert close(schedule(decay_start), peak, 1e-14)
    assert_within(values, end, peak, repr(schedule))
    rising = times <= warmup if warmup < total else times < warmup  # t >= T is already after
    assert_monotone(values[rising], increasing=True, what=f"warm-up of {schedule!r}")
    assert_monotone(values[times >= decay_start], increasing=False, what=f"decay of {schedule!r}")


# ---------------------------------------------------------------------------------------------
# Compositions: identities, continuity and exact hand-over at boundaries.
# ---------------------------------------------------------------------------------------------


def _ramp(shape: str, start: float, target: float, progress: Floats) -> Floats:
    """The documented warm-up ramp from ``start`` to ``target`` at ``progress`` in [0, 1]."""
    if shape == "linear":
        return start + (target - start) * progress
    if shape == "cosine":
        return start + (target - start) * (1.0 - np.cos(np.pi * progress)) / 2.0
    return start * (target / start) ** progress


@settings(max_examples=60, deadline=None)
@given(schedule=warmups(schedules(1)))
def test_warmup_ramp_continuity_and_hand_over(schedule: Warmup) -> None:
    """The ramp goes monotonically from ``start_factor * y`` to ``y = inner(0)``, is continuous
    at ``t = W`` and from ``W`` on the value is ``inner(t - W)`` exactly."""
    inner, steps_ = schedule.schedule, schedule.warmup_steps
    target = inner(0)
    start = schedule.start_factor * target
    scale = max(abs(target), abs(start))
    assert close(schedule(0), start, scale=scale)
    ramp_times = np.linspace(0.0, steps_, 257)[:-1]
    ramp = schedule(ramp_times)
    expected = _ramp(schedule.shape, start, target, ramp_times / steps_)
    np.testing.assert_allclose(ramp, expected, rtol=1e-12, atol=1e-15 * scale)
    with_end = np.append(ramp, schedule(steps_))
    assert_monotone(with_end, increasing=target >= start, what=f"ramp of {schedule!r}")
    assert_within(ramp, min(start, target), max(start, target), repr(schedule))
    assert schedule(steps_) == target
    before = schedule(steps_ - JUST_BEFORE)
    assert abs(before - target) <= 1e-6 * scale, f"jump at t=W: {before!r} -> {target!r}"
    after = probe_times(inner, min(horizon_of(inner), T_MAX - steps_), []) + steps_
    np.testing.assert_array_equal(schedule(after), inner(after - steps_))


@settings(max_examples=60, deadline=None)
@given(schedule=sequences(schedules(1)))
def test_sequence_hands_over_exactly_at_each_boundary(schedule: Sequence) -> None:
    """At ``starts[i]`` the value is ``pieces[i](0)``; just before it is
    ``pieces[i-1](durations[i-1] - 1e-9)``; in between each piece runs on local time."""
    starts, pieces = schedule.starts, schedule.pieces
    assert len(starts) == len(pieces) == len(schedule.durations or ()) + 1
    for index in range(1, len(pieces)):
        boundary = float(starts[index])
        assert schedule(boundary) == pieces[index](0.0)
        assert schedule(np.array([boundary]))[0] == pieces[index](np.array([0.0]))[0]
        previous, length = pieces[index - 1], schedule.durations[index - 1]  # type: ignore[index]
        just_before = boundary - JUST_BEFORE
        local = just_before - starts[index - 1]
        assert schedule(just_before) == previous(local)
        assert schedule(np.array([just_before]))[0] == previous(np.array([local]))[0]
        # ``local`` is ``durations[i-1] - 1e-9`` up to the rounding of ``starts[i] - 1e-9``:
        # the previous piece is still running, one nanostep before its own end.
        assert abs(local - (length - JUST_BEFORE)) <= 4.0 * math.ulp(boundary)
        if local == length - JUST_BEFORE:
            assert schedule(just_before) == previous(length - JUST_BEFORE)
    for start, end, piece in zip(starts, (*starts[1:], None), pieces, strict=True):
        stop = float(end) if end is not None else start + 100.0
        inside = np.linspace(float(start), stop, 50, endpoint=False)
        np.testing.assert_array_equal(schedule(inside), piece(inside - start))


finite_leaves = st.one_of(linears(), cosines(), polynomials(), one_cycles(), wsds())
finite_schedules = st.one_of(
    finite_leaves,
    *(COMPOSITE_STRATEGIES[kind](finite_leaves) for kind in ("warmup", "scale", "per_epoch")),
    *(COMPOSITE_STRATEGIES[kind](finite_leaves) for kind in ("sequence", "clip", "product")),
)
"""Schedules with a natural length (``duration`` is not ``None``)."""


@settings(max_examples=40, deadline=None)
@given(a=finite_schedules, b=finite_schedules, c=schedules(1))
def test_rshift_is_associative(a: Schedule, b: Schedule, c: Schedule) -> None:
    """``(a >> b) >> c`` and ``a >> (b >> c)`` are the same schedule, of summed duration."""
    left, right = (a >> b) >> c, a >> (b >> c)
    assert left == right and repr(left) == repr(right)
    expected = None if c.duration is None else a.duration + b.duration + c.duration
    assert left.duration == expected


@st.composite
def continuous_pairs(draw: st.DrawFn) -> tuple[Schedule, Schedule, float]:
    """``(a, b, scale)`` where ``a`` ends at exactly the value ``b`` starts at."""
    x, y, z = draw(lrs), draw(lrs), draw(lrs_or_zero)
    n, m = draw(lengths), draw(lengths)
    left = draw(
        st.sampled_from(
            [
                Linear(init_value=x, end_value=y, total_steps=n),
                Cosine(init_value=x, total_steps=n, end_value=y),
                Polynomial(init_value=x, total_steps=n, power=2.0, end_value=y),
                WarmupStableDecay(
                    peak_value=max(x, y),
                    total_steps=n,
                    warmup_steps=0,
                    decay_steps=n,
                    end_value=min(x, y),
                ),
            ]
        )
    )
    start = left(left.duration)
    right = draw(
        st.sampled_from(
            [
                Cosine(init_value=start, total_steps=m, end_value=z),
                Linear(init_value=start, end_value=z, total_steps=m),
                Constant(value=start),
                Polynomial(init_value=start, total_steps=m, power=0.5),
            ]
        )
    )
    return left, right, max(x, y, z)


@settings(max_examples=60, deadline=None)
@given(pair=continuous_pairs())
def test_rshift_of_a_continuous_pair_is_continuous(pair: tuple[Schedule, Schedule, float]) -> None:
    """``linear(x -> y, n) >> cosine(y, m)`` and friends have no jump at the hand-over."""
    left, right, scale = pair
    joined = left >> right
    boundary = float(left.duration)  # type: ignore[arg-type]
    before, at = joined(boundary - JUST_BEFORE), joined(boundary)
    assert at == right(0)
    assert abs(before - at) <= 1e-6 * scale, f"jump at t={boundary}: {before!r} -> {at!r}"


@settings(max_examples=40, deadline=None)
@given(schedule=scales(schedules(1)))
def test_scale_multiplies_by_the_factor(schedule: Scale) -> None:
    """``(f * s)(t) == f * s(t)``."""
    times = probe_times(schedule, horizon_of(schedule), [])
    np.testing.assert_array_equal(schedule(times), schedule.factor * schedule.schedule(times))


@settings(max_examples=40, deadline=None)
@given(schedule=products(schedules(1)))
def test_product_is_pointwise(schedule: Product) -> None:
    """``(a * b)(t) == a(t) * b(t)``."""
    times = probe_times(schedule, horizon_of(schedule), [])
    np.testing.assert_array_equal(schedule(times), schedule.left(times) * schedule.right(times))


@settings(max_examples=40, deadline=None)
@given(schedule=clips(schedules(1)))
def test_clip_clamps(schedule: Clip) -> None:
    """``clip(s)(t) == min(max(s(t), min_value), max_value)``, so it stays within the bounds."""
    times = probe_times(schedule, horizon_of(schedule), [])
    values, inner = schedule(times), schedule.schedule(times)
    lower = -np.inf if schedule.min_value is None else schedule.min_value
    upper = np.inf if schedule.max_value is None else schedule.max_value
    np.testing.assert_array_equal(values, np.minimum(np.maximum(inner, lower), upper))
    assert np.all((values >= lower) & (values <= upper))


@settings(max_examples=40, deadline=None)
@given(schedule=per_epochs(schedules(1)))
def test_per_epoch_is_constant_within_each_epoch(schedule: PerEpoch) -> None:
    """``per_epoch(s, S)(t) == s(floor(t / S))``: constant within an epoch."""
    epoch_length = schedule.steps_per_epoch
    epochs = np.arange(0.0, 40.0)
    values = schedule(epochs * epoch_length)
    np.testing.assert_array_equal(values, schedule.schedule(epochs))
    for offset in (0.5, epoch_length - 1.0, epoch_length - JUST_BEFORE):
        if 0.0 <= offset < epoch_length:
            np.testing.assert_array_equal(schedule(epochs * epoch_length + offset), values)


@settings(max_examples=25, deadline=None)
@given(schedule=schedules(3), t=st.floats(0.0, T_MAX))
def test_calling_never_mutates(schedule: Schedule, t: float) -> None:
    """Calling a schedule leaves it (and its input array) unchanged."""
    before = schedule.to_dict()
    times = np.array([t, 0.0, 1.0])
    copy = times.copy()
    first = schedule(times)
    np.testing.assert_array_equal(times, copy)
    np.testing.assert_array_equal(schedule(times), first)
    assert schedule.to_dict() == before


def _depth(schedule: Schedule) -> int:
    """Levels of the composition tree (1 for a leaf family)."""
    children = [
        item
        for value in vars(schedule).values()
        for item in (value if isinstance(value, tuple) else (value,))
        if isinstance(item, Schedule)
    ]
    return 1 + max((_depth(child) for child in children), default=0)


def test_strategy_generates_compositions_three_levels_deep() -> None:
    """The general strategy really nests compositions (a leaf under three compositions)."""
    deep = find(
        schedules(3), lambda s: _depth(s) >= 4, settings=settings(database=None, max_examples=5000)
    )
    assert _depth(deep) >= 4 and deep.kind in COMPOSITE_STRATEGIES


def test_scalar_path_survives_an_intermediate_overflow() -> None:
    """Both paths give the finite value: ``base_value`` once the triangular2 amplitude has
    vanished (2.0**cycle overflows after 1024 cycles), ``max_value`` for a clipped growth.
    Regression: the scalar path used to raise where the array path returned the value."""
    triangular2 = Cyclic(base_value=0.001, max_value=0.006, step_size_up=1, mode="triangular2")
    clipped = Clip(schedule=Exponential(init_value=1.0, factor=2.0), max_value=1.0)
    times = np.array([2047.0, 2048.0, 2049.0, 10_000.0])
    for schedule, value in ((triangular2, 0.001), (clipped, 1.0)):
        np.testing.assert_allclose(schedule(times), value, rtol=1e-12)
        assert [schedule(float(t)) for t in times] == pytest.approx([value] * 4, rel=1e-12)
