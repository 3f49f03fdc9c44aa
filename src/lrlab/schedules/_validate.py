"""Validation helpers shared by every schedule family.

Each helper reads one field of a (frozen) schedule dataclass, checks it, stores the
normalized value back and raises ``TypeError`` (wrong type) or ``ValueError`` (right type,
bad value) with a message naming the kind, the field and the value received.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np


def describe(value: Any) -> str:
    """Render ``value`` and its type for an error message, e.g. ``'abc' (str)``."""
    return f"{value!r} ({type(value).__name__})"


def _owner_name(owner: Any) -> str:
    return getattr(owner, "kind", type(owner).__name__)


def _store(owner: Any, name: str, value: Any) -> None:
    object.__setattr__(owner, name, value)


def as_real(kind: str, name: str, value: Any) -> float:
    """Convert a real number to ``float``, rejecting bools, strings, NaN and infinities.

    Args:
        kind: Schedule kind, used in error messages.
        name: Field name, used in error messages.
        value: The value to check.

    Returns:
        The value as a finite ``float``.

    Raises:
        TypeError: If ``value`` is not a real number.
        ValueError: If ``value`` is NaN, infinite or beyond the float range.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{kind}: {name} must be a real number, got {describe(value)}")
    try:
        result = float(value)
    except OverflowError:
        result = math.inf
    if not math.isfinite(result):
        raise ValueError(f"{kind}: {name} must be finite, got {result!r}")
    return result


def as_int(kind: str, name: str, value: Any) -> int:
    """Convert an integer (or an integral float such as ``5.0``) to ``int``.

    Raises:
        TypeError: If ``value`` is not a number, is a bool, or is not integral.
        ValueError: If ``value`` is NaN or infinite.
    """
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{kind}: {name} must be an integer, got {describe(value)}")
    if isinstance(value, numbers.Integral):
        return int(value)
    number = as_real(kind, name, value)
    if not number.is_integer():
        raise TypeError(f"{kind}: {name} must be an integer, got {value!r}")
    return int(number)


def real(
    owner: Any,
    name: str,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
) -> float:
    """Validate a real-valued field in place and return it.

    Args:
        owner: The schedule instance whose field is checked.
        name: The field name.
        above: Exclusive lower bound, if any.
        at_least: Inclusive lower bound, if any.
        below: Exclusive upper bound, if any.
        at_most: Inclusive upper bound, if any.

    Returns:
        The validated value, stored back on ``owner`` as a ``float``.
    """
    kind = _owner_name(owner)
    value = as_real(kind, name, getattr(owner, name))
    _check_bounds(kind, name, value, above, at_least, below, at_most)
    _store(owner, name, value)
    return value


def _check_bounds(
    kind: str,
    name: str,
    value: float,
    above: float | None,
    at_least: float | None,
    below: float | None,
    at_most: float | None,
) -> None:
    if above is not None and not value > above:
        raise ValueError(f"{kind}: {name} must be > {above}, got {value!r}")
    if at_least is not None and not value >= at_least:
        raise ValueError(f"{kind}: {name} must be >= {at_least}, got {value!r}")
    if below is not None and not value < below:
        raise ValueError(f"{kind}: {name} must be < {below}, got {value!r}")
    if at_most is not None and not value <= at_most:
        raise ValueError(f"{kind}: {name} must be <= {at_most}, got {value!r}")


MAX_STEPS = 2**53
"""Largest length or offset accepted: every step count up to it is exact in float64."""


def integer(owner: Any, name: str, *, at_least: int = 1) -> int:
    """Validate an integer field (a length or an offset) in place and return it.

    Args:
        owner: The schedule instance whose field is checked.
        name: The field name.
        at_least: Inclusive lower bound; 1 for lengths, 0 for offsets. The upper bound
            is :data:`MAX_STEPS`.

    Returns:
        The validated value, stored back on ``owner`` as an ``int``.
    """
    value = as_length(_owner_name(owner), name, getattr(owner, name), at_least=at_least)
    _store(owner, name, value)
    return value


def as_length(kind: str, name: str, value: Any, *, at_least: int = 1) -> int:
    """Convert a step count to ``int`` and check it lies in ``[at_least, MAX_STEPS]``.

    Raises:
        TypeError: If ``value`` is not an integer (see :func:`as_int`).
        ValueError: If it is out of range.
    """
    number = as_int(kind, name, value)
    if not at_least <= number <= MAX_STEPS:
        raise ValueError(
            f"{kind}: {name} must be an integer in [{at_least}, 2**53], got {number!r}"
        )
    return number


def optional_integer(owner: Any, name: str, *, at_least: int = 1) -> int | None:
    """Like :func:`integer`, but ``None`` is accepted and kept."""
    if getattr(owner, name) is None:
        return None
    return integer(owner, name, at_least=at_least)


def flag(owner: Any, name: str) -> bool:
    """Validate a boolean field in place and return it (numbers are not accepted)."""
    value = getattr(owner, name)
    if not isinstance(value, bool | np.bool_):
        raise TypeError(
            f"{_owner_name(owner)}: {name} must be True or False, got {describe(value)}"
        )
    _store(owner, name, bool(value))
    return bool(value)


def choice(owner: Any, name: str, choices: Iterable[str]) -> str:
    """Validate a string field against a fixed set of choices and return it."""
    allowed = tuple(choices)
    value = getattr(owner, name)
    kind = _owner_name(owner)
    if not isinstance(value, str):
        raise TypeError(f"{kind}: {name} must be one of {allowed}, got {describe(value)}")
    if value not in allowed:
        raise ValueError(f"{kind}: {name} must be one of {allowed}, got {value!r}")
    return value


def increasing_integers(owner: Any, name: str) -> tuple[int, ...]:
    """Validate a non-empty, strictly increasing sequence of integers >= 1 in place."""
    kind = _owner_name(owner)
    raw = getattr(owner, name)
    if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        raise TypeError(f"{kind}: {name} must be a list of integers, got {describe(raw)}")
    values = tuple(as_int(kind, f"{name}[{index}]", item) for index, item in enumerate(raw))
    if not values:
        raise ValueError(f"{kind}: {name} must not be empty")
    if values[0] < 1 or values[-1] > MAX_STEPS:
        raise ValueError(f"{kind}: {name} must lie in [1, 2**53], got {list(values)}")
    for previous, current in zip(values, values[1:], strict=False):
        if current <= previous:
            raise ValueError(f"{kind}: {name} must be strictly increasing, got {list(values)}")
    _store(owner, name, values)
    return values
