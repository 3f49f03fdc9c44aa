"""Fuzz tests: garbage specs, configs, files and times raise only ``ValueError``/``TypeError``.

Anything else (``RecursionError``, ``OverflowError``, ``KeyError``, ``AttributeError``,
``IndexError``, ``ZeroDivisionError`` ...) escaping from :func:`lrlab.parse`,
:func:`lrlab.from_dict`, :func:`lrlab.from_config`, :func:`lrlab.load` or a call is a bug.
The bugs these tests found are pinned by regression tests at the end of this module.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import schedules

import lrlab
from lrlab.schedules import Schedule, schedule_class

ALLOWED = (ValueError, TypeError)

KIND_NAMES = list(lrlab.registered_kinds())
FIELDS: dict[str, dict[str, dataclasses.Field[Any]]] = {
    kind: {field.name: field for field in dataclasses.fields(schedule_class(kind))}  # type: ignore[arg-type]
    for kind in KIND_NAMES
}
FIELD_NAMES = sorted({name for fields in FIELDS.values() for name in fields})

NUMBER_TOKENS = [
    "0", "1", "-1", "2", "2.5", "0.1", "1e-6", "5000", "-0.0", "+3", ".5", "1.", "007",
    "1e308", "1e999", "-1e999", "1e-999", "-5", "99999999999999999999", "1" + "0" * 300,
    "1" + "0" * 400, "9007199254740993", "1" * 5000,
]  # fmt: skip
"""Numbers in the spec syntax; ``nan``/``inf`` are bare names there (so strings)."""
WORD_TOKENS = [
    "nan", "inf", "-inf", "NaN", "Infinity", "True", "False", "None", "true", "false", "null",
    "linear", "cos", "cosine", "triangular2", "exp_range", "exponential", "x",
]  # fmt: skip
STRING_TOKENS = ["'abc'", '"linear"', "'cos'", "'triangular2'", "''", "'1-sqrt'", '"1e5"']
OPERATOR_TOKENS = ["(", ")", "[", "]", ",", "=", ">>", "*"]
JUNK_TOKENS = ["'open", '"', "{", "}", "<<", ">", "-", "+", ".", "#", "\\", "\n", "é", "\x00"]

spec_tokens = st.one_of(
    st.sampled_from(KIND_NAMES),
    st.sampled_from(FIELD_NAMES),
    st.sampled_from(NUMBER_TOKENS),
    st.sampled_from(WORD_TOKENS),
    st.sampled_from(STRING_TOKENS),
    st.sampled_from(OPERATOR_TOKENS),
    st.sampled_from(JUNK_TOKENS),
)


def _join(tokens: list[tuple[str, str]]) -> str:
    """Concatenate ``(token, separator)`` pairs."""
    return "".join(token + separator for token, separator in tokens)


token_soup = st.lists(st.tuples(spec_tokens, st.sampled_from(["", " ", ", "])), max_size=60).map(
    _join
)
"""Random sequences of tokens from the spec alphabet."""


def _call(kind: str, arguments: list[tuple[str | None, str]]) -> str:
    """Render ``kind(arg, name=value, ...)``."""
    rendered = [value if name is None else f"{name}={value}" for name, value in arguments]
    return f"{kind}({', '.join(rendered)})"


PLAUSIBLE_TOKENS = ["0", "1", "2", "5", "10", "100", "0.1", "0.5", "1e-3", "0.9", "True"]
"""Values that are valid for many fields, so that a call gets past its first argument."""


@st.composite
def _spec_call(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    """A call of a real kind, mostly with that kind's own field names."""
    kind = draw(st.sampled_from(KIND_NAMES))
    names = st.one_of(st.sampled_from(sorted(FIELDS[kind])), st.sampled_from(FIELD_NAMES))
    plausible = st.sampled_from(PLAUSIBLE_TOKENS)
    values = st.one_of(plausible, plausible, children)
    if draw(st.booleans()):  # every field of the kind, in order, so validation runs
        own = [(name, draw(values)) for name in FIELDS[kind]]
        return _call(kind, [*own, *draw(st.lists(st.tuples(names, values), max_size=1))])
    arguments = draw(st.lists(st.tuples(st.none() | names, values), max_size=6))
    return _call(kind, arguments)


def _extend_spec(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One grammar level above ``children``: call, list, operator or parentheses."""
    return st.one_of(
        _spec_call(children),
        st.lists(children, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.tuples(children, st.sampled_from([">>", "*"]), children).map(" ".join),
        children.map(lambda inner: f"({inner})"),
    )


structured_specs = _spec_call(
    st.recursive(
        st.sampled_from(NUMBER_TOKENS + WORD_TOKENS + STRING_TOKENS), _extend_spec, max_leaves=20
    )
)
"""Grammatical specs: calls of real kinds with real field names and random values."""


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """The spec of a valid schedule with a few tokens replaced, deleted or duplicated."""
    text = repr(draw(schedules(2)))
    tokens = re.findall(r"[A-Za-z_0-9.+-]+|'[^']*'|>>|\S", text)
    value_tokens = st.sampled_from(NUMBER_TOKENS + WORD_TOKENS + STRING_TOKENS)
    for _ in range(draw(st.integers(1, 3))):
        if not tokens:
            break
        values = [index + 1 for index, token in enumerate(tokens[:-1]) if token == "="]
        index = draw(st.integers(0, len(tokens) - 1))
        action = draw(st.sampled_from(["value", "value", "replace", "delete", "duplicate"]))
        if action == "value" and values:  # an argument's value: reaches the validation
            tokens[draw(st.sampled_from(values))] = draw(value_tokens)
        elif action == "replace":
            tokens[index] = draw(spec_tokens)
        elif action == "delete":
            del tokens[index]
        else:
            tokens.insert(index, tokens[index])
    return " ".join(tokens)


@st.composite
def deep_specs(draw: st.DrawFn) -> str:
    """Deeply nested brackets, calls, lists and ``*`` chains (beyond the depth limits)."""
    depth = draw(st.integers(1, 300))
    shape = draw(st.sampled_from(["paren", "list", "scale", "warmup", "product", "open"]))
    leaf = "constant(value=0.1)"
    if shape == "paren":
        return "(" * depth + leaf + ")" * depth
    if shape == "list":
        return "[" * depth + leaf + "]" * depth
    if shape == "scale":
        return "scale(" * depth + leaf + ", factor=1)" * depth
    if shape == "warmup":
        return "warmup(" * depth + leaf + ", warmup_steps=2)" * depth
    if shape == "product":
        return " * ".join([leaf] * depth * 4)
    return "(" * depth


def check_parse(text: str) -> Schedule | None:
    """Parse ``text``: a schedule that round-trips, or a ValueError/TypeError that says where
    (every error but "the whole spec is not a schedule" has a position)."""
    try:
        schedule = lrlab.parse(text)
    except ALLOWED as error:
        message = str(error)
        if not message.startswith("spec must describe a schedule"):
            assert "position" in message, f"error without a position: {message}"
        return None
    assert isinstance(schedule, Schedule)
    assert lrlab.parse(repr(schedule)) == schedule
    return schedule


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80))
def test_random_text_specs(text: str) -> None:
    """Random text is parsed or rejected with ValueError/TypeError."""
    check_parse(text)


@settings(max_examples=250, deadline=None)
@given(text=token_soup)
def test_token_soup_specs(text: str) -> None:
    """Token soup from the spec alphabet is parsed or rejected with ValueError/TypeError."""
    check_parse(text)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=structured_specs)
def test_structured_garbage_specs(text: str) -> None:
    """Grammatical specs with random kinds, fields and values reach the families' validation."""
    check_parse(text)


@settings(max_examples=150, deadline=None)
@given(text=mutated_specs())
def test_mutated_valid_specs(text: str) -> None:
    """Valid specs with tokens replaced, deleted or duplicated."""
    check_parse(text)


@settings(max_examples=60, deadline=None)
@given(text=deep_specs())
def test_deeply_nested_specs(text: str) -> None:
    """Deep nesting is rejected with a ValueError (never a RecursionError)."""
    check_parse(text)


@settings(max_examples=30, deadline=None)
@given(value=st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text())))
def test_parse_rejects_non_strings(value: object) -> None:
    """``parse`` of anything but a string is a TypeError."""
    with pytest.raises(TypeError, match="spec must be a string"):
        lrlab.parse(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Garbage dicts and configs.
# ---------------------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**400, -(10**400), 2**53 + 1]),
    st.floats(),  # NaN and infinities included
    st.text(max_size=12),
    st.sampled_from(KIND_NAMES + FIELD_NAMES + ["linear", "cos", "triangular2"]),
)


plausible_json = st.sampled_from(
    [0, 1, 2, 5, 10, 100, 0.1, 0.5, 1e-3, 0.9, True, None, "linear", "cos", "exp_range", [5, 9]]
)
"""Values that are valid for many fields, so that a dict gets past its first field."""


def _kind_dict(kind: str, children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Dicts of ``kind``: every field, or any subset, with plausible or garbage values."""
    values = st.one_of(plausible_json, plausible_json, children)
    every_field = {name: values for name in FIELDS[kind]}
    return st.one_of(
        st.fixed_dictionaries({"kind": st.just(kind), **every_field}),
        st.fixed_dictionaries({"kind": st.just(kind)}, optional=every_field),
    )


def _extend_json(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One JSON level above ``children``: lists, dicts and schedule-like dicts."""
    keys = st.one_of(st.sampled_from([*FIELD_NAMES, "kind", "spec", "schedule"]), st.text())
    kind_dicts = st.sampled_from(KIND_NAMES).flatmap(lambda kind: _kind_dict(kind, children))
    return st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=4),
        kind_dicts,
        kind_dicts,
        st.fixed_dictionaries({"kind": st.sampled_from(["nope", "", "Cosine"])}),
    )


json_values = st.recursive(json_scalars, _extend_json, max_leaves=20)
"""JSON-like garbage: scalars, lists and dicts, many with a real ``kind`` and field names."""


def check_config(build: Callable[[Any], Schedule], value: Any) -> None:
    """``build(value)`` returns a schedule or raises ValueError/TypeError."""
    try:
        schedule = build(value)
    except ALLOWED:
        return
    assert isinstance(schedule, Schedule)
    assert lrlab.from_dict(schedule.to_dict()) == schedule


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_garbage_dicts_and_configs(value: Any) -> None:
    """``from_dict`` and ``from_config`` raise only ValueError/TypeError on garbage."""
    check_config(lrlab.from_dict, value)
    check_config(lrlab.from_config, value)
    check_config(lrlab.from_config, {"schedule": value})


@settings(max_examples=40, deadline=None)
@given(data=st.dictionaries(st.text(max_size=8).filter(lambda key: key != "kind"), json_scalars))
def test_a_dict_without_kind_is_a_value_error(data: dict[str, Any]) -> None:
    """A dict without ``kind`` names the missing key."""
    with pytest.raises(ValueError, match="'kind'"):
        lrlab.from_dict(data)


@settings(max_examples=40, deadline=None)
@given(kind=st.text(max_size=12).filter(lambda kind: kind not in KIND_NAMES))
def test_an_unknown_kind_is_named(kind: str) -> None:
    """An unknown kind is a ValueError that names it and lists the known kinds."""
    with pytest.raises(ValueError, match="unknown schedule kind") as info:
        lrlab.from_dict({"kind": kind})
    assert repr(kind) in str(info.value) and "cosine" in str(info.value)


def field_slots(data: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Every ``(dict, field)`` of a nested schedule dict, ``kind`` keys excepted."""
    for name, value in data.items():
        if name == "kind":
            continue
        yield data, name
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                yield from field_slots(item)


UNIVERSALLY_BAD: list[Any] = [
    "abc", -1, -2.5, math.nan, math.inf, -math.inf, [], ["abc"], [-1], [[1]], 10**400, {},
]  # fmt: skip
"""Values no field accepts, whatever its type."""
A_SCHEDULE = {"kind": "constant", "value": 1.0}
"""Bad wherever a number, string or flag belongs."""


def bad_values(kind: str, name: str) -> list[Any]:
    """Values that are invalid for field ``name`` of ``kind``, from its type annotation."""
    field = FIELDS[kind][name]
    annotation = str(field.type)
    values = list(UNIVERSALLY_BAD)
    if "None" not in annotation:
        values.append(None)
    if annotation.startswith("int") or annotation.startswith("tuple[int"):
        values += [2.5, "3", True, 2**53 + 1]
    if annotation.startswith("float"):
        values += ["0.1", True, 1e999]
    if annotation == "bool":
        values += [1, 0, "true"]
    if annotation == "str":
        values += [1, "", field.default.upper() if isinstance(field.default, str) else "X"]
    if "Schedule" in annotation:
        values += [0.1, "constant(value=1)", True]
    if annotation != "Schedule":
        values.append(A_SCHEDULE)
    return values


@settings(max_examples=300, deadline=None)
@given(schedule=schedules(2), data=st.data())
def test_a_mutated_field_is_rejected_with_its_name(schedule: Schedule, data: st.DataObject) -> None:
    """A valid dict with one field set to a wrong type or bad value fails, naming the field."""
    original = schedule.to_dict()
    mutated = copy.deepcopy(original)
    parent, name = data.draw(st.sampled_from(list(field_slots(mutated))), label="field")
    bad = data.draw(st.sampled_from(bad_values(parent["kind"], name)), label="bad value")
    parent[name] = bad
    for build in (lrlab.from_dict, lrlab.from_config):
        with pytest.raises(ALLOWED) as info:
            build(mutated)
        assert name in str(info.value), f"{parent['kind']}.{name}={bad!r}: {info.value}"
    with pytest.raises(ALLOWED) as info:
        lrlab.from_dict(json.loads(json.dumps(mutated)))
    assert name in str(info.value)


# ---------------------------------------------------------------------------------------------
# Garbage files.
# ---------------------------------------------------------------------------------------------

toml_values = st.one_of(
    st.sampled_from(["1", "-1", "2.5", "nan", "inf", "-inf", "true", "1979-05-27", "0x10"]),
    st.sampled_from(["1e999", "[]", "[1, 2]", "{}", '{kind = "nope"}', '"abc"', "'cos'"]),
    token_soup.map(json.dumps),
    structured_specs.map(json.dumps),
)
toml_lines = st.one_of(
    st.tuples(
        st.sampled_from([*FIELD_NAMES, "kind", "spec", "schedule"]), st.just(" = "), toml_values
    ).map("".join),
    st.sampled_from(["[schedule]", "[spec]", "[[schedule]]", "kind = ", "= 1", "[", "x.y = 1"]),
    st.text(max_size=20),
)
toml_documents = st.lists(toml_lines, max_size=8).map("\n".join)


@pytest.fixture(scope="module")
def file_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for the garbage files."""
    return tmp_path_factory.mktemp("garbage")


def check_load(path: Path) -> None:
    """``load(path)`` returns a schedule or raises ValueError/TypeError."""
    try:
        schedule = lrlab.load(path)
    except ALLOWED:
        return
    assert isinstance(schedule, Schedule)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=st.one_of(
        st.binary(max_size=64),
        st.text(max_size=64).map(str.encode),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.integers(1, 5000).map(lambda depth: ("[" * depth + "]" * depth).encode()),
        st.builds(lambda spec: json.dumps({"spec": spec}).encode(), token_soup),
    )
)
def test_garbage_json_files(file_dir: Path, content: bytes) -> None:
    """Garbage ``.json`` files (bytes, text, JSON of garbage) load or fail cleanly."""
    path = file_dir / "garbage.json"
    path.write_bytes(content)
    check_load(path)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=st.one_of(toml_documents.map(str.encode), st.binary(max_size=64)))
def test_garbage_toml_files(file_dir: Path, content: bytes) -> None:
    """Garbage ``.toml`` files load or fail cleanly."""
    path = file_dir / "garbage.toml"
    path.write_bytes(content)
    check_load(path)


@pytest.mark.parametrize("name", ["schedule.txt", "schedule", "schedule.yaml", "schedule.JSON5"])
def test_load_rejects_other_suffixes(tmp_path: Path, name: str) -> None:
    """Only ``.json`` and ``.toml`` are read; the error names the file."""
    path = tmp_path / name
    path.write_text('{"kind": "constant", "value": 1}')
    with pytest.raises(ValueError, match=r"\.json or \.toml"):
        lrlab.load(path)


# ---------------------------------------------------------------------------------------------
# Calling a valid schedule with bad or extreme times.
# ---------------------------------------------------------------------------------------------

bad_times = st.one_of(
    st.floats(max_value=-5e-324),  # negative, -inf included
    st.integers(max_value=-1),
    st.sampled_from([math.nan, math.inf, np.float64("nan"), np.float32("inf"), np.int64(-3)]),
    st.text(max_size=5),
    st.none(),
    st.booleans(),
    st.sampled_from([np.bool_(True), np.array([True, False]), np.array(True)]),
    st.sampled_from([np.array([None], dtype=object), np.array([1.0, 2.0], dtype=object)]),
    st.sampled_from([complex(1, 0), np.array([1j]), Decimal("1.5"), b"1", {"t": 1}, object()]),
    st.sampled_from([np.array(["1"]), np.array([np.datetime64("2020-01-01")]), [1.0, "a"]]),
    st.sampled_from([[[1.0], [1.0, 2.0]], np.timedelta64(3, "s"), 10**400, -(10**400)]),
    st.lists(st.floats(allow_nan=True), min_size=1, max_size=5).filter(
        lambda items: not all(math.isfinite(x) and x >= 0 for x in items)
    ),
)


@settings(max_examples=200, deadline=None)
@given(schedule=schedules(2), t=bad_times)
def test_bad_times_raise_value_or_type_error(schedule: Schedule, t: Any) -> None:
    """Negative, NaN, infinite and non-numeric times raise only ValueError/TypeError."""
    with pytest.raises(ALLOWED):
        schedule(t)


def _outcome(call: Callable[[], float]) -> float | None:
    """The finite value ``call()`` returns, or ``None`` for the documented overflow error."""
    try:
        value = call()
    except ValueError as error:
        assert "overflow" in str(error), str(error)  # the float64 overflow ValueError
        return None
    assert math.isfinite(value) and value >= 0.0
    return value


@settings(max_examples=150, deadline=None)
@given(
    schedule=schedules(2),
    t=st.one_of(st.floats(0.0, 1e12), st.integers(0, 10**12), st.floats(0.0, 1e6)),
)
def test_scalar_and_array_agree_at_any_time(schedule: Schedule, t: float) -> None:
    """At any finite ``t >= 0`` both paths give the same finite value or both raise the
    overflow ValueError."""
    scalar = _outcome(lambda: schedule(t))
    vector = _outcome(lambda: float(schedule(np.array([t]))[0]))
    assert (scalar is None) == (vector is None), f"scalar {scalar!r} vs array {vector!r}"
    if scalar is not None and vector is not None:
        assert abs(scalar - vector) <= 1e-12 * max(abs(scalar), abs(vector))


# ---------------------------------------------------------------------------------------------
# Regressions for the bugs these tests found.
# ---------------------------------------------------------------------------------------------

PRODUCT_CHAIN = " * ".join(["constant(value=1)"] * 600)
"""599 ``*`` operators, far past the composition depth limit."""


def test_a_long_product_chain_is_rejected_at_the_depth_limit() -> None:
    """The chain is a ValueError with a position, raised once the products nest deeper than
    ``MAX_NESTING`` (it used to parse into a product that ``==``, ``repr`` and calls broke
    with RecursionError)."""
    from lrlab.schedules._base import MAX_NESTING

    with pytest.raises(ValueError, match=rf"nest at most {MAX_NESTING} levels.*position \d+"):
        lrlab.parse(PRODUCT_CHAIN)


def _nested_dict(depth: int) -> dict[str, Any]:
    """A valid schedule dict of ``depth`` nested scales."""
    data: dict[str, Any] = {"kind": "constant", "value": 0.1}
    for _ in range(depth):
        data = {"kind": "scale", "factor": 1.0, "schedule": data}
    return data


def _nested_config(depth: int) -> Any:
    """A spec wrapped in ``depth`` levels of ``{"spec": ...}``."""
    config: Any = "constant(value=0.1)"
    for _ in range(depth):
        config = {"spec": config}
    return config


@pytest.mark.parametrize("depth", [40, 400, 5000])
def test_deeply_nested_schedule_dicts_are_value_errors(depth: int) -> None:
    """Schedule dicts nested beyond the composition limit are a ValueError (it used to be a
    RecursionError from ~330 levels)."""
    with pytest.raises(ValueError, match="deep"):
        lrlab.from_dict(_nested_dict(depth))


def test_deeply_nested_configs_are_value_errors() -> None:
    """A config nested far beyond any real use is rejected with a ValueError (it used to be a
    RecursionError from ~980 levels)."""
    with pytest.raises(ValueError, match="deeper than"):
        lrlab.from_config(_nested_config(2000))


def test_deeply_nested_files_are_value_errors(tmp_path: Path) -> None:
    """A deeply nested .json or .toml file is a ValueError naming the file (the decoders'
    RecursionError used to escape)."""
    for name, text in (("deep.json", "[" * 5000 + "]" * 5000), ("deep.toml", "a = " + "[" * 5000)):
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(ValueError, match=name):
            lrlab.load(path)


def test_a_dict_in_a_number_field_names_the_field() -> None:
    """A dict where a number belongs is rejected naming the field (a dict without ``kind``),
    the unknown kind, or the nested schedule's missing field."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "init_value"),
        ({"value": 1}, "init_value"),
        ({"kind": "nope"}, "'nope'"),
        ({"kind": "constant"}, "'value'"),
    ]
    for bad, named in cases:
        with pytest.raises(ALLOWED) as info:
            lrlab.from_dict({"kind": "cosine", "init_value": bad, "total_steps": 10})
        assert named in str(info.value), str(info.value)


def test_a_dict_without_kind_in_a_list_field_names_the_field() -> None:
    """``pieces=[{}, ...]`` and ``milestones=[{}]`` name ``pieces`` / ``milestones``."""
    constant = {"kind": "constant", "value": 0.1}
    for data, field in (
        ({"kind": "sequence", "pieces": [{}, constant], "durations": [3]}, "pieces"),
        ({"kind": "multistep", "init_value": 1.0, "milestones": [{}], "factor": 0.5}, "milestones"),
    ):
        with pytest.raises(ALLOWED) as info:
            lrlab.from_dict(data)
        assert field in str(info.value), str(info.value)


@pytest.mark.parametrize("t", [10**400, -(10**400), [10**400]])
def test_a_huge_integer_time(t: Any) -> None:
    """An integer time beyond float range is a ValueError like ``inf`` (it used to be an
    OverflowError); a list of them is not numeric."""
    schedule = lrlab.parse("constant(value=0.1)")
    with pytest.raises(ValueError if isinstance(t, int) else TypeError, match="t must"):
        schedule(t)


def test_the_largest_uint64_time_is_accepted() -> None:
    """``np.uint64(2**64 - 1)`` is a finite time (it converts to float without overflow)."""
    assert lrlab.parse("constant(value=0.1)")(np.uint64(2**64 - 1)) == 0.1


def test_an_overlong_integer_literal_has_a_position() -> None:
    """The error for a 5000-digit number says where it is, like other syntax errors."""
    with pytest.raises(ValueError) as info:
        lrlab.parse("constant(value=" + "1" * 5000 + ")")
    assert "position 15" in str(info.value)


def test_overflow_times_zero_raises_value_error_without_warning() -> None:
    """The array path reports an overflow like the scalar path: a ValueError, no warning
    (``inf * 0`` used to emit a RuntimeWarning first)."""
    for spec in (
        "0.0 * exponential(init_value=1, factor=2.0)",
        "constant(value=0) * exponential(init_value=1, factor=2.0)",
        "cyclic(base_value=0, max_value=1, step_size_up=5, mode=exp_range, gamma=2.0)",
    ):
        schedule = lrlab.parse(spec)
        with pytest.raises(ValueError, match="overflow"):
            schedule(2000.0)
        with pytest.raises(ValueError, match="overflow"):
            schedule(np.array([2000.0]))
