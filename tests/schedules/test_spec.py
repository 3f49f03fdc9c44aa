"""Example-based tests of the spec language: parsing, precedence, formatting, errors."""

from __future__ import annotations

import numpy as np
import pytest

import lrlab
from lrlab.schedules import (
    Constant,
    Cosine,
    Linear,
    Product,
    Scale,
    Sequence,
    Step,
    Warmup,
)

RAMP = Linear(init_value=0.0, end_value=0.1, total_steps=5)
DECAY = Cosine(init_value=0.1, total_steps=20)
TAIL = Constant(value=0.001)


def test_keyword_call_builds_the_family() -> None:
    schedule = lrlab.parse("step(init_value=0.01, factor=0.25, every=5, offset=1)")
    assert schedule == Step(init_value=0.01, factor=0.25, every=5, offset=1)


def test_repr_is_the_spec_and_omits_defaults() -> None:
    assert repr(Step(init_value=0.1, factor=0.5, every=3)) == (
        "step(init_value=0.1, factor=0.5, every=3)"
    )


def test_bare_names_quoted_strings_and_literals() -> None:
    bare = lrlab.parse("cyclic(base_value=0.1, max_value=1, step_size_up=4, mode=triangular2)")
    quoted = lrlab.parse('cyclic(base_value=0.1, max_value=1, step_size_up=4, mode="triangular2")')
    assert bare == quoted
    assert bare.mode == "triangular2"
    staircase = lrlab.parse("exponential(init_value=1, factor=0.5, staircase=true)")
    assert staircase.staircase is True


def test_lists_become_tuples() -> None:
    schedule = lrlab.parse("multistep(init_value=1, milestones=[3, 7], factor=0.1)")
    assert schedule.milestones == (3, 7)


def test_shift_builds_a_sequence_with_natural_durations() -> None:
    schedule = lrlab.parse(f"{RAMP!r} >> {DECAY!r} >> {TAIL!r}")
    assert schedule == Sequence(pieces=(RAMP, DECAY, TAIL), durations=(5, 20))
    assert schedule == RAMP >> DECAY >> TAIL == RAMP >> (DECAY >> TAIL)
    assert repr(schedule) == f"{RAMP!r} >> {DECAY!r} >> {TAIL!r}"


def test_explicit_durations_print_in_call_form() -> None:
    schedule = Sequence(pieces=(TAIL, DECAY), durations=(7,))
    assert repr(schedule) == f"sequence({TAIL!r}, {DECAY!r}, durations=[7])"
    assert lrlab.parse(repr(schedule)) == schedule


def test_truncated_nested_sequence_is_kept_nested() -> None:
    inner = RAMP >> DECAY
    outer = Sequence(pieces=(inner, TAIL), durations=(10,))
    assert outer.pieces == (inner, TAIL)
    assert lrlab.parse(repr(outer)) == outer
    np.testing.assert_array_equal(outer(np.arange(10)), inner(np.arange(10)))
    assert outer(10) == TAIL(0)


def test_star_scales_by_numbers_and_multiplies_schedules() -> None:
    assert lrlab.parse(f"0.5 * {DECAY!r}") == Scale(schedule=DECAY, factor=0.5)
    assert lrlab.parse(f"{DECAY!r} * 2") == Scale(schedule=DECAY, factor=2.0)
    assert lrlab.parse(f"{DECAY!r} * {TAIL!r}") == Product(left=DECAY, right=TAIL)


def test_star_binds_tighter_than_shift() -> None:
    schedule = lrlab.parse(f"2 * {RAMP!r} >> {TAIL!r}")
    assert schedule == Sequence(pieces=(Scale(schedule=RAMP, factor=2.0), TAIL), durations=(5,))


@pytest.mark.parametrize(
    "schedule",
    [
        Scale(schedule=Scale(schedule=DECAY, factor=3.0), factor=2.0),
        Scale(schedule=Product(left=DECAY, right=TAIL), factor=2.0),
        Product(left=Scale(schedule=DECAY, factor=2.0), right=TAIL),
        Product(left=DECAY, right=Product(left=TAIL, right=DECAY)),
        Product(left=Product(left=DECAY, right=TAIL), right=DECAY),
        Scale(schedule=RAMP >> DECAY, factor=0.5),
        Warmup(schedule=DECAY >> TAIL, warmup_steps=3, shape="cosine"),
        Sequence(
            pieces=(Scale(schedule=RAMP, factor=2.0), Product(left=DECAY, right=TAIL)),
            durations=(5,),
        ),
    ],
    ids=repr,
)
def test_operator_precedence_round_trips(schedule: lrlab.Schedule) -> None:
    assert lrlab.parse(repr(schedule)) == schedule


def test_parentheses_group() -> None:
    schedule = lrlab.parse(f"({RAMP!r} >> {DECAY!r}) * 0.5")
    assert schedule == Scale(schedule=RAMP >> DECAY, factor=0.5)


def test_whitespace_and_trailing_commas_are_free() -> None:
    schedule = lrlab.parse(" step( init_value = 0.1 ,factor=0.5,\n every=3, ) ")
    assert schedule == Step(init_value=0.1, factor=0.5, every=3)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("step(init_value=0.01 factor=0.25, every=5)", 21),
        ("step(init_value=0.01, factor=0.25, every=5", 42),
        ("cosine(init_value=0.1, total_steps=10) >>", 41),
        ("constant(value=0.1) $", 20),
        ("constant(value='0.1)", 15),
        ("constant(value=0.1))", 19),
    ],
)
def test_syntax_errors_give_the_position(text: str, position: int) -> None:
    with pytest.raises(ValueError, match=rf"position {position}\b"):
        lrlab.parse(text)


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown schedule kind 'cosin'.*cosine"):
        lrlab.parse("cosin(init_value=0.1, total_steps=10)")


def test_unknown_argument_names_the_expected_ones() -> None:
    with pytest.raises(TypeError, match=r"unexpected argument 'gama'.*gamma"):
        lrlab.parse("cyclic(base_value=0.1, max_value=1, step_size_up=4, gama=0.9)")


def test_missing_and_repeated_arguments() -> None:
    with pytest.raises(TypeError, match="missing required argument 'every'"):
        lrlab.parse("step(init_value=0.1, factor=0.5)")
    with pytest.raises(ValueError, match="'factor' given twice"):
        lrlab.parse("step(init_value=0.1, factor=0.5, factor=0.2, every=3)")


def test_positional_arguments_only_for_compositions() -> None:
    with pytest.raises(TypeError, match="keyword arguments only"):
        lrlab.parse("constant(0.1)")


def test_validation_errors_carry_the_position() -> None:
    with pytest.raises(
        ValueError, match=r"every must be an integer in \[1, 2\*\*53\], got 0.*position 0"
    ):
        lrlab.parse("step(init_value=0.1, factor=0.5, every=0)")


def test_open_ended_left_operand_of_shift_is_rejected() -> None:
    with pytest.raises(ValueError, match="no natural length.*durations"):
        lrlab.parse("constant(value=0.1) >> constant(value=0.01)")


def test_a_spec_must_be_a_schedule() -> None:
    with pytest.raises(ValueError, match="must describe a schedule"):
        lrlab.parse("0.5")
    with pytest.raises(TypeError, match="spec must be a string"):
        lrlab.parse(0.5)  # type: ignore[arg-type]


def test_nesting_is_bounded_with_a_clear_error() -> None:
    with pytest.raises(ValueError, match="deeper than"):
        lrlab.parse("(" * 500 + "constant(value=1)" + ")" * 500)
