"""Validation of every family: each bad parameter raises ValueError/TypeError naming the
argument and the value received, whether built directly, parsed or loaded from a dict."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import lrlab
from lrlab.schedules import (
    Clip,
    Constant,
    Cosine,
    Linear,
    PerEpoch,
    Product,
    Scale,
    Sequence,
    Warmup,
    schedule_class,
)

COSINE = {"kind": "cosine", "init_value": 0.1, "total_steps": 10}
CONSTANT = {"kind": "constant", "value": 0.1}

VALID: dict[str, dict[str, Any]] = {
    "constant": {"value": 0.1},
    "inverse_time": {"init_value": 0.01, "decay_rate": 0.001},
    "step": {"init_value": 0.1, "factor": 0.5, "every": 10, "offset": 0},
    "multistep": {"init_value": 0.1, "milestones": [5, 10], "factor": 0.1},
    "exponential": {"init_value": 0.1, "factor": 0.9, "every": 1, "staircase": False},
    "polynomial": {"init_value": 0.1, "total_steps": 100, "power": 2.0, "end_value": 0.0},
    "linear": {"init_value": 0.0, "end_value": 0.1, "total_steps": 10},
    "cosine": {"init_value": 0.1, "total_steps": 100, "end_value": 0.0},
    "cosine_restarts": {
        "init_value": 0.1, "period": 10, "period_mult": 2.0, "end_value": 0.0, "peak_decay": 1.0,
    },
    "cyclic": {
        "base_value": 0.001, "max_value": 0.006, "step_size_up": 20, "step_size_down": 30,
        "mode": "triangular", "gamma": 1.0,
    },
    "one_cycle": {
        "peak_value": 0.1, "total_steps": 100, "pct_start": 0.3, "div_factor": 25.0,
        "final_div_factor": 1e4, "three_phase": False, "anneal": "cos",
    },
    "inverse_sqrt": {"init_value": 0.1, "warmup_steps": 10, "timescale": None},
    "wsd": {
        "peak_value": 0.1, "total_steps": 100, "warmup_steps": 10, "decay_steps": 20,
        "end_value": 0.0, "warmup_shape": "linear", "decay_shape": "cosine",
    },
    "warmup": {"schedule": COSINE, "warmup_steps": 5, "shape": "linear", "start_factor": 0.0},
    "sequence": {"pieces": [CONSTANT, COSINE], "durations": [5]},
    "scale": {"schedule": COSINE, "factor": 0.5},
    "product": {"left": COSINE, "right": CONSTANT},
    "clip": {"schedule": COSINE, "min_value": 0.01, "max_value": None},
    "per_epoch": {"schedule": COSINE, "steps_per_epoch": 5},
}  # fmt: skip
"""A valid dict for every kind (each field given), the base that each case spoils."""

NAN, INF = math.nan, math.inf
LENGTH_BAD = [
    (0, ValueError), (-1, ValueError), (2.5, TypeError), (NAN, ValueError), (INF, ValueError),
    ("10", TypeError), (True, TypeError), (None, TypeError), (2**53 + 1, ValueError),
    (10**400, ValueError),
]  # fmt: skip
"""Bad values of a length (an integer in [1, 2**53])."""
POSITIVE_BAD = [
    (0.0, ValueError), (-0.1, ValueError), (NAN, ValueError), (INF, ValueError),
    (-INF, ValueError), ("0.1", TypeError), (True, TypeError), (None, TypeError),
    ([0.1], TypeError), (10**400, ValueError),
]  # fmt: skip
"""Bad values of a real that must be > 0."""
NON_NEGATIVE_BAD = [
    (-0.1, ValueError), (-1e-300, ValueError), (NAN, ValueError), (INF, ValueError),
    ("0", TypeError), (False, TypeError), (10**400, ValueError),
]  # fmt: skip
"""Bad values of a real that must be >= 0."""
OFFSET_BAD = [
    (-1, ValueError), (0.5, TypeError), (NAN, ValueError), ("1", TypeError),
    (2**53 + 1, ValueError),
]  # fmt: skip
"""Bad values of an integer in [0, 2**53]."""
FLAG_BAD = [(1, TypeError), (0, TypeError), ("true", TypeError), (None, TypeError)]

CASES: list[tuple[str, str, Any, type[Exception]]] = [
    *[("constant", "value", bad, error) for bad, error in NON_NEGATIVE_BAD],
    *[("inverse_time", "init_value", bad, error) for bad, error in POSITIVE_BAD],
    *[("inverse_time", "decay_rate", bad, error) for bad, error in NON_NEGATIVE_BAD],
    *[("step", "init_value", bad, error) for bad, error in POSITIVE_BAD],
    *[("step", "factor", bad, error) for bad, error in POSITIVE_BAD],
    *[("step", "every", bad, error) for bad, error in LENGTH_BAD],
    *[("step", "offset", bad, error) for bad, error in OFFSET_BAD],
    ("multistep", "milestones", [10, 5], ValueError),
    ("multistep", "milestones", [5, 5], ValueError),
    ("multistep", "milestones", [0, 5], ValueError),
    ("multistep", "milestones", [-3], ValueError),
    ("multistep", "milestones", [2.5], TypeError),
    ("multistep", "milestones", [NAN], ValueError),
    ("multistep", "milestones", "5", TypeError),
    ("multistep", "milestones", 5, TypeError),
    *[("multistep", "init_value", bad, error) for bad, error in POSITIVE_BAD],
    *[("multistep", "factor", bad, error) for bad, error in POSITIVE_BAD],
    *[("exponential", "init_value", bad, error) for bad, error in POSITIVE_BAD],
    *[("exponential", "factor", bad, error) for bad, error in POSITIVE_BAD],
    *[("exponential", "every", bad, error) for bad, error in LENGTH_BAD],
    *[("exponential", "staircase", bad, error) for bad, error in FLAG_BAD],
    *[("polynomial", "total_steps", bad, error) for bad, error in LENGTH_BAD],
    *[("polynomial", "power", bad, error) for bad, error in POSITIVE_BAD],
    *[("polynomial", "init_value", bad, error) for bad, error in NON_NEGATIVE_BAD],
    *[("polynomial", "end_value", bad, error) for bad, error in NON_NEGATIVE_BAD],
    *[("linear", "total_steps", bad, error) for bad, error in LENGTH_BAD],
    *[("linear", "init_value", bad, error) for bad, error in NON_NEGATIVE_BAD],
    *[("linear", "end_value", bad, error) for bad, error in NON_NEGATIVE_BAD],
    *[("cosine", "total_steps", bad, error) for bad, error in LENGTH_BAD],
    *[("cosine", "init_value", bad, error) for bad, error in NON_NEGATIVE_BAD],
    *[("cosine", "end_value", bad, error) for bad, error in NON_NEGATIVE_BAD],
    *[("cosine_restarts", "init_value", bad, error) for bad, error in NON_NEGATIVE_BAD],
    *[("cosine_restarts", "period", bad, error) for bad, error in LENGTH_BAD],
    ("cosine_restarts", "period_mult", 0.5, ValueError),
    ("cosine_restarts", "period_mult", NAN, ValueError),
    ("cosine_restarts", "end_value", 0.2, ValueError),  # above init_value
    ("cosine_restarts", "peak_decay", 0.0, ValueError),
    ("cosine_restarts", "peak_decay", 1.5, ValueError),
    ("cyclic", "base_value", -0.001, ValueError),
    ("cyclic", "max_value", -0.001, ValueError),
    *[("cyclic", "step_size_up", bad, error) for bad, error in LENGTH_BAD],
    ("cyclic", "step_size_down", 0, ValueError),
    ("cyclic", "step_size_down", 1.5, TypeError),
    ("cyclic", "mode", "triangle", ValueError),
    ("cyclic", "mode", "Triangular", ValueError),
    ("cyclic", "mode", 1, TypeError),
    ("cyclic", "gamma", 0.99, ValueError),  # gamma with mode='triangular'
    ("cyclic", "gamma", NAN, ValueError),
    *[("one_cycle", "peak_value", bad, error) for bad, error in POSITIVE_BAD],
    ("one_cycle", "total_steps", 1, ValueError),
    ("one_cycle", "total_steps", 2.5, TypeError),
    ("one_cycle", "pct_start", 0.0, ValueError),
    ("one_cycle", "pct_start", 1.0, ValueError),
    ("one_cycle", "pct_start", 1.5, ValueError),
    ("one_cycle", "pct_start", 0.005, ValueError),  # zero-width rise: 0.005 * 100 <= 1
    ("one_cycle", "pct_start", 0.01, ValueError),  # exactly one step: still zero width
    *[("one_cycle", "div_factor", bad, error) for bad, error in POSITIVE_BAD],
    *[("one_cycle", "final_div_factor", bad, error) for bad, error in POSITIVE_BAD],
    *[("one_cycle", "three_phase", bad, error) for bad, error in FLAG_BAD],
    ("one_cycle", "anneal", "cosine", ValueError),
    ("one_cycle", "anneal", None, TypeError),
    *[("inverse_sqrt", "init_value", bad, error) for bad, error in POSITIVE_BAD],
    *[("inverse_sqrt", "warmup_steps", bad, error) for bad, error in OFFSET_BAD],
    ("inverse_sqrt", "timescale", 0, ValueError),
    ("inverse_sqrt", "timescale", 2.5, TypeError),
    *[("wsd", "peak_value", bad, error) for bad, error in POSITIVE_BAD],
    *[("wsd", "total_steps", bad, error) for bad, error in LENGTH_BAD],
    *[("wsd", "warmup_steps", bad, error) for bad, error in OFFSET_BAD],
    *[("wsd", "decay_steps", bad, error) for bad, error in OFFSET_BAD],
    ("wsd", "end_value", 0.2, ValueError),  # above peak_value
    ("wsd", "end_value", -0.1, ValueError),
    ("wsd", "warmup_shape", "exponential", ValueError),
    ("wsd", "decay_shape", "cos", ValueError),
    ("wsd", "decay_shape", 0, TypeError),
    *[("warmup", "warmup_steps", bad, error) for bad, error in LENGTH_BAD],
    ("warmup", "shape", "quadratic", ValueError),
    *[("warmup", "start_factor", bad, error) for bad, error in NON_NEGATIVE_BAD],
    ("warmup", "schedule", "cosine(init_value=0.1, total_steps=10)", TypeError),
    ("warmup", "schedule", 0.1, TypeError),
    *[("scale", "factor", bad, error) for bad, error in NON_NEGATIVE_BAD],
    ("scale", "schedule", 2.0, TypeError),
    ("product", "left", 2.0, TypeError),
    ("product", "right", "constant", TypeError),
    ("clip", "min_value", -0.1, ValueError),
    ("clip", "min_value", NAN, ValueError),
    ("clip", "min_value", "0.1", TypeError),
    ("clip", "max_value", 0.001, ValueError),  # below min_value
    ("clip", "schedule", None, TypeError),
    *[("per_epoch", "steps_per_epoch", bad, error) for bad, error in LENGTH_BAD],
    ("per_epoch", "schedule", 0.1, TypeError),
    ("sequence", "durations", [0], ValueError),
    ("sequence", "durations", [2**53 + 1], ValueError),
    ("sequence", "durations", [-5], ValueError),
    ("sequence", "durations", [2.5], TypeError),
    ("sequence", "durations", [5, 5], ValueError),  # one too many
    ("sequence", "durations", [], ValueError),
    ("sequence", "durations", 5, TypeError),
    ("sequence", "pieces", [CONSTANT], ValueError),
    ("sequence", "pieces", CONSTANT, TypeError),
    ("sequence", "pieces", [CONSTANT, 0.5], TypeError),
]
"""``(kind, field, bad value, expected error)``: each spoils one field of ``VALID[kind]``."""


def shown(value: Any) -> list[str]:
    """The ways an error message may show ``value`` (as given, or converted to float); the
    test looks for them after ``got ``, ``field=`` or ``: ``."""
    forms = [repr(value), str(value)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            forms.append(repr(float(value)))
        except OverflowError:  # an int beyond float range reads as inf once converted
            forms.append("inf")
    if isinstance(value, list):
        forms.append(repr(tuple(value)))
        forms += [form for item in value for form in shown(item)]
    return forms


def build_kwargs(kind: str, field: str, bad: Any) -> dict[str, Any]:
    """Keyword arguments for the class of ``kind``, with ``field`` spoiled."""
    data = dict(VALID[kind], **{field: bad})
    return {name: _restore(value) for name, value in data.items()}


def _restore(value: Any) -> Any:
    """Turn nested dicts into schedules and lists into tuples, as ``from_dict`` does."""
    if isinstance(value, dict):
        return lrlab.from_dict(value)
    if isinstance(value, list):
        return tuple(_restore(item) for item in value)
    return value


def test_every_kind_has_a_valid_base_dict() -> None:
    """The table covers every registered kind, and each base dict is valid."""
    assert set(VALID) == set(lrlab.registered_kinds())
    for kind, data in VALID.items():
        assert lrlab.from_dict({"kind": kind, **data}).kind == kind


def test_every_kind_has_validation_cases() -> None:
    """Every field of every family has bad-value cases, and each case spoils a field of its
    base dict."""
    covered = {(kind, field) for kind, field, *_ in CASES}
    every_field = {(kind, field) for kind, data in VALID.items() for field in data}
    assert covered == every_field


@pytest.mark.parametrize(("kind", "field", "bad", "error"), CASES, ids=lambda v: repr(v)[:30])
def test_bad_parameter_is_named_with_its_value(
    kind: str, field: str, bad: Any, error: type[Exception]
) -> None:
    """Direct construction, ``from_dict`` and ``parse`` reject the value, naming field and value."""
    cls = schedule_class(kind)
    with pytest.raises(error) as info:
        cls(**build_kwargs(kind, field, bad))
    message = str(info.value)
    assert field in message, message
    if not isinstance(bad, dict) and not (isinstance(bad, list) and CONSTANT in bad):
        contexts = ("got {}", "{field}={}", ": {}")
        assert any(
            context.format(form, field=field) in message
            for form in shown(bad)
            for context in contexts
        ), f"value {bad!r} not shown in: {message}"

    with pytest.raises(error) as from_dict_info:
        lrlab.from_dict({"kind": kind, **VALID[kind], field: bad})
    assert field in str(from_dict_info.value)


def _has_nan(value: Any) -> bool:
    """Whether ``value`` is NaN or a list holding one."""
    if isinstance(value, list):
        return any(map(_has_nan, value))
    return isinstance(value, float) and math.isnan(value)


SPEC_CASES = [case for case in CASES if not _has_nan(case[2])]
"""The cases a spec can express (it has no NaN literal)."""


def spec_value(value: Any) -> str:
    """``value`` written in the spec language (infinities as the overflowing ``1e999``)."""
    if isinstance(value, dict):
        return repr(lrlab.from_dict(value))
    if isinstance(value, list):
        return "[" + ", ".join(spec_value(item) for item in value) + "]"
    if isinstance(value, float) and math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    return repr(value)


@pytest.mark.parametrize(("kind", "field", "bad", "error"), SPEC_CASES, ids=lambda v: repr(v)[:30])
def test_bad_parameter_in_a_spec(kind: str, field: str, bad: Any, error: type[Exception]) -> None:
    """The same bad value written in a spec: the error names the field and has a position."""
    arguments = [f"{name}={spec_value(value)}" for name, value in VALID[kind].items()]
    good = f"{kind}({', '.join(arguments)})"
    assert lrlab.parse(good).kind == kind
    spoiled = dict(VALID[kind], **{field: bad})
    text = f"{kind}({', '.join(f'{name}={spec_value(value)}' for name, value in spoiled.items())})"
    with pytest.raises(error) as info:
        lrlab.parse(text)
    assert field in str(info.value) and "position" in str(info.value), str(info.value)


# ---------------------------------------------------------------------------------------------
# Cross-field rules and composition errors.
# ---------------------------------------------------------------------------------------------


def test_wsd_phases_longer_than_total_name_all_three() -> None:
    """``warmup_steps + decay_steps > total_steps`` names the three fields and values."""
    with pytest.raises(ValueError) as info:
        lrlab.parse("wsd(peak_value=0.1, total_steps=100, warmup_steps=60, decay_steps=50)")
    message = str(info.value)
    for part in ("warmup_steps", "decay_steps", "total_steps", "60", "50", "100"):
        assert part in message


@pytest.mark.parametrize(
    ("total", "pct", "three_phase"),
    [(100, 0.01, False), (10, 0.1, False), (2, 0.5, False), (10, 0.6, True), (4, 0.7, True)],
)
def test_one_cycle_zero_width_phase(total: int, pct: float, three_phase: bool) -> None:
    """A phase of zero (or negative) width names pct_start, total_steps and their values."""
    with pytest.raises(ValueError) as info:
        lrlab.schedules.OneCycle(
            peak_value=0.1, total_steps=total, pct_start=pct, three_phase=three_phase
        )
    message = str(info.value)
    assert "pct_start" in message and repr(pct) in message
    assert "total_steps" in message and str(total) in message


def test_cyclic_gamma_without_exp_range_names_both() -> None:
    """``gamma`` is only for ``mode='exp_range'``; the error names gamma, its value and the mode."""
    with pytest.raises(ValueError) as info:
        lrlab.parse("cyclic(base_value=0, max_value=1, step_size_up=5, gamma=0.99)")
    message = str(info.value)
    assert "gamma" in message and "0.99" in message and "triangular" in message


def test_clip_needs_a_bound() -> None:
    """``clip`` without ``min_value`` and ``max_value`` is a ValueError naming both."""
    with pytest.raises(ValueError) as info:
        Clip(schedule=Constant(value=0.1))
    assert "min_value" in str(info.value) and "max_value" in str(info.value)


@pytest.mark.parametrize(
    "target", ["constant(value=0)", "linear(init_value=0, end_value=1, total_steps=5)"]
)
def test_exponential_warmup_needs_a_positive_target(target: str) -> None:
    """An exponential ramp from a zero target is rejected, naming the shape."""
    with pytest.raises(ValueError) as info:
        lrlab.parse(f"warmup({target}, warmup_steps=5, shape=exponential, start_factor=0.1)")
    assert "exponential" in str(info.value) and "0.0" in str(info.value)
    with pytest.raises(ValueError, match="start_factor"):
        lrlab.parse(
            "warmup(constant(value=1), warmup_steps=5, shape=exponential)"
        )  # start_factor=0


@pytest.mark.parametrize(
    "open_ended",
    [
        "constant(value=0.1)",
        "step(init_value=0.1, factor=0.5, every=5)",
        "cyclic(base_value=0, max_value=1, step_size_up=5)",
        "inverse_sqrt(init_value=0.1)",
        "0.5 * constant(value=1)",
        "linear(init_value=0, end_value=1, total_steps=5) >> constant(value=1)",
    ],
)
def test_rshift_after_an_open_ended_piece(open_ended: str) -> None:
    """``a >> b`` needs ``a.duration``: an open-ended left piece is a ValueError naming it."""
    left = lrlab.parse(open_ended)
    right = Cosine(init_value=0.1, total_steps=10)
    assert left.duration is None
    with pytest.raises(ValueError, match=r">>.*no natural length") as info:
        _ = left >> right
    assert left.kind in str(info.value)
    with pytest.raises(ValueError, match="position"):
        lrlab.parse(f"({open_ended}) >> {right!r}")
    with pytest.raises(ValueError, match=r"pieces\[0\]"):
        Sequence(pieces=(left, right))


@pytest.mark.parametrize("other", [1.0, "cosine", None, [Constant(value=1)]])
def test_rshift_with_a_non_schedule(other: Any) -> None:
    """``>>`` with a non-schedule operand is a TypeError."""
    with pytest.raises(TypeError, match="operand must be a Schedule"):
        _ = Linear(init_value=0.0, end_value=1.0, total_steps=5) >> other


@pytest.mark.parametrize("other", ["2", None, True, [1.0], np.array([1.0])])
def test_multiply_with_a_non_number(other: Any) -> None:
    """``*`` with anything but a schedule or a real number is a TypeError."""
    with pytest.raises(TypeError, match=r"\*"):
        _ = Constant(value=1.0) * other


@pytest.mark.parametrize("factor", [-1.0, math.nan, math.inf])
def test_scaling_by_a_bad_number(factor: float) -> None:
    """``factor * s`` validates the factor like ``scale(s, factor=...)``."""
    with pytest.raises(ValueError, match="factor"):
        _ = factor * Constant(value=1.0)


def test_spec_errors_for_arguments() -> None:
    """Unknown, duplicated, missing and surplus arguments are TypeErrors naming them."""
    cases = {
        "cosine(init_value=0.1, total_steps=10, power=2)": "power",
        "cosine(init_value=0.1)": "total_steps",
        "cosine(init_value=0.1, init_value=0.2, total_steps=10)": "init_value",
        "constant(0.1)": "keyword",
        "scale(constant(value=1), constant(value=2), factor=1)": "positional",
        "warmup(constant(value=1), schedule=constant(value=1), warmup_steps=2)": "schedule",
    }
    for text, name in cases.items():
        with pytest.raises((TypeError, ValueError)) as info:
            lrlab.parse(text)
        assert name in str(info.value), text
        assert "position" in str(info.value), text


def test_scale_and_product_compose_checks() -> None:
    """Composition classes reject non-schedules in every schedule slot."""
    cosine = Cosine(init_value=0.1, total_steps=10)
    for build in (
        lambda: Scale(schedule=0.1, factor=1.0),  # type: ignore[arg-type]
        lambda: Product(left=cosine, right=0.1),  # type: ignore[arg-type]
        lambda: PerEpoch(schedule="x", steps_per_epoch=2),  # type: ignore[arg-type]
        lambda: Warmup(schedule=None, warmup_steps=2),  # type: ignore[arg-type]
        lambda: Sequence(pieces=cosine),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match="must be a"):
            build()


# ---------------------------------------------------------------------------------------------
# Regressions: found by the fuzz tests, fixed in 3de1dc0.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start_factor", "target"), [(0.5, 5e-324), (1e-320, 10.0)])
def test_exponential_warmup_needs_a_representable_start(start_factor: float, target: float) -> None:
    """``start_factor * schedule(0)`` underflowing to 0 (or ``target / start`` overflowing)
    is rejected up front, naming start_factor (it used to divide by zero, or give inf)."""
    with pytest.raises(ValueError, match="start_factor"):
        Warmup(
            schedule=Constant(value=target),
            warmup_steps=2,
            shape="exponential",
            start_factor=start_factor,
        )


def test_a_huge_integer_for_a_real_field() -> None:
    """``constant(value=10**400)`` is a ValueError naming ``value``, however it is built
    (``float()`` used to raise OverflowError)."""
    huge = 10**400
    for build in (
        lambda: Constant(value=huge),
        lambda: lrlab.parse(f"constant(value={huge})"),
        lambda: lrlab.from_dict({"kind": "constant", "value": huge}),
    ):
        with pytest.raises(ValueError, match="value"):
            build()


@pytest.mark.parametrize("length", [2**53 + 1, 10**400])
def test_lengths_are_bounded(length: int) -> None:
    """Lengths beyond 2**53 are rejected (10**400 used to be accepted, then fail when called)."""
    with pytest.raises(ValueError, match="total_steps") as info:
        Cosine(init_value=0.1, total_steps=length)
    assert str(length) in str(info.value)
    assert Cosine(init_value=0.1, total_steps=2**53)(np.arange(3.0)) == pytest.approx([0.1] * 3)
