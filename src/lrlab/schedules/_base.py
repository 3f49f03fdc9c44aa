"""The :class:`Schedule` base class and the registry of schedule kinds.

A schedule is a pure function of the time ``t >= 0`` (optimizer steps or epochs, as the
caller decides). Every family is a frozen dataclass that subclasses :class:`Schedule` with
a ``kind=`` class keyword; that keyword registers it, so the spec parser and
:func:`from_dict` find new families without any factory edit.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from typing import Any, ClassVar, TypeVar, dataclass_transform

import numpy as np
import numpy.typing as npt

from lrlab.schedules._ops import SCALAR
from lrlab.schedules._validate import describe

_REGISTRY: dict[str, type[Schedule]] = {}
MAX_NESTING = 32
"""Deepest composition allowed (a family alone has nesting 1; see ``Schedule.nesting``), so
every schedule prints as a spec that parses back and evaluates without deep recursion."""
_PLAIN_SCALARS = (int, float)
_BOOLS = (bool, np.bool_)

_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def family(cls: type[_T]) -> type[_T]:
    """Make a schedule class a frozen dataclass whose ``repr`` is its spec.

    Equivalent to ``@dataclasses.dataclass(frozen=True, repr=False)``.
    """
    return dataclasses.dataclass(frozen=True, repr=False)(cls)


def registered_kinds() -> tuple[str, ...]:
    """Return every registered schedule kind, sorted."""
    return tuple(sorted(_REGISTRY))


def schedule_class(kind: str) -> type[Schedule]:
    """Return the class registered under ``kind``.

    Raises:
        TypeError: If ``kind`` is not a string.
        ValueError: If no family is registered under ``kind``.
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be a string, got {describe(kind)}")
    try:
        return _REGISTRY[kind]
    except KeyError:
        known = ", ".join(registered_kinds())
        raise ValueError(f"unknown schedule kind {kind!r}; known kinds: {known}") from None


class Schedule:
    """Base class of every schedule: a pure, vectorized function of time.

    Subclasses are frozen dataclasses declared as ``class Name(Schedule, kind="name")``.
    They validate their fields in ``__post_init__`` and implement :meth:`compute`.

    Class attributes:
        kind: The registry key and the name used in specs and dicts.
        positional: Fields written positionally in a spec (the schedules a composition
            wraps), in order; every other field is written as ``name=value``.
        variadic: Whether the single positional field takes any number of schedules.
    """

    kind: ClassVar[str]
    positional: ClassVar[tuple[str, ...]] = ()
    variadic: ClassVar[bool] = False
    __array_ufunc__ = None  # numpy defers ``array * schedule`` to Schedule.__rmul__

    def __init_subclass__(cls, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is None:
            return
        existing = _REGISTRY.get(kind)
        if existing is not None and (existing.__module__, existing.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            raise ValueError(f"schedule kind {kind!r} is already registered by {existing}")
        cls.kind = kind
        _REGISTRY[kind] = cls

    def compute(self, t: Any, xp: Any) -> Any:
        """Evaluate the formula on already-validated time ``t`` with array namespace ``xp``.

        Formulas use only the functions listed in :mod:`lrlab.schedules._ops`, so any
        namespace providing them (``jax.numpy`` has them all) can evaluate a schedule.

        Args:
            t: Time as a float (``xp`` is the scalar namespace) or a float array of ``xp``.
            xp: ``numpy`` or the scalar namespace.

        Returns:
            The learning rate(s), same shape as ``t``.
        """
        raise NotImplementedError

    @functools.cached_property
    def nesting(self) -> int:
        """Depth of the composition tree: 1 for a family, 1 + the deepest part otherwise."""
        depth = 0
        for field in fields_of(self):
            value = getattr(self, field.name)
            parts = value if isinstance(value, tuple) else (value,)
            for part in parts:
                if isinstance(part, Schedule):
                    depth = max(depth, part.nesting)
        return depth + 1

    @property
    def duration(self) -> int | None:
        """Natural length in steps (then it holds or repeats); ``None`` if open-ended.

        A family with a ``total_steps`` field lasts ``total_steps``; compositions derive
        theirs. ``a >> b`` hands over from ``a`` to ``b`` after ``a.duration`` steps.
        """
        total = getattr(self, "total_steps", None)
        return total if isinstance(total, int) else None

    def momentum(
        self, base_momentum: float | None = None, max_momentum: float | None = None
    ) -> Schedule | None:
        """The momentum schedule that cycles against this LR, or ``None`` if it has none.

        Only the cyclical families (``cyclic``, ``one_cycle``) cycle momentum, as torch's
        ``CyclicLR`` and ``OneCycleLR`` do: momentum is low where the LR is high. Wrappers
        that keep the shape (``scale``, ``per_epoch``) pass it through.

        Args:
            base_momentum: Lowest momentum (or Adam ``beta1``), reached at the LR peak;
                ``None`` takes the family's torch default.
            max_momentum: Highest momentum, reached where the LR is lowest; ``None`` takes
                the family's torch default.
        """
        return None

    def __call__(self, t: Any) -> Any:
        """Learning rate at time ``t``.

        Args:
            t: A real scalar ``>= 0`` or an array-like of them (steps or epochs).

        Returns:
            A ``float`` for a scalar, a ``float64`` ``numpy.ndarray`` of the same shape for
            an array.

        Raises:
            TypeError: If ``t`` is not numeric.
            ValueError: If ``t`` is negative, NaN or infinite, or the learning rate
                overflows float64 there (e.g. a growth factor run for too long).
        """
        if t.__class__ in _PLAIN_SCALARS or (
            isinstance(t, numbers.Real) and not isinstance(t, _BOOLS)
        ):
            time = _finite_time(t)
            try:
                return _check_finite(self, float(self.compute(time, SCALAR)), time)
            except OverflowError:
                # Python floats raise where numpy overflows to inf (which a clip may still
                # bound); the array path gives the same answer as for an array input.
                return float(self._evaluate_array(time))
        return self._evaluate_array(t)

    def _evaluate_array(self, t: Any) -> npt.NDArray[np.float64]:
        times = np.asarray(t)
        if times.dtype.kind not in "iuf":
            raise TypeError(f"t must be a real number or an array of them, got {describe(t)}")
        with np.errstate(over="ignore"):
            times = times.astype(np.float64, copy=False)
        if times.size and not (np.all(np.isfinite(times)) and times.min() >= 0.0):
            bad = times[~(np.isfinite(times) & (times >= 0.0))].flat[0]
            raise ValueError(f"t must contain only finite numbers >= 0, found {float(bad)!r}")
        with np.errstate(all="ignore"):
            values = np.asarray(self.compute(times, np), dtype=np.float64)
        if not np.all(np.isfinite(values)):
            first = np.broadcast_to(times, values.shape)[~np.isfinite(values)].flat[0]
            _check_finite(self, math.inf, float(first))
        return np.broadcast_to(values, times.shape).copy()

    def __repr__(self) -> str:
        from lrlab.schedules.spec import format_spec

        return format_spec(self)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict ``{"kind": ..., field: value, ...}``, nested when composed."""
        from lrlab.schedules.serialize import to_dict

        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        """Build a schedule from :meth:`to_dict` output (the ``kind`` key selects the family)."""
        from lrlab.schedules.serialize import from_dict

        schedule = from_dict(data)
        if not isinstance(schedule, cls):
            raise TypeError(f"expected a {cls.__name__} dict, got kind {schedule.kind!r}")
        return schedule

    def __rshift__(self, other: Schedule) -> Schedule:
        """``a >> b``: run ``a`` for ``a.duration`` steps, then ``b`` on its own local time."""
        from lrlab.schedules._compose import chain

        return chain(self, other)

    def __mul__(self, other: Schedule | float) -> Schedule:
        """``a * b`` multiplies two schedules; ``a * 2.0`` scales by a constant."""
        from lrlab.schedules._compose import multiply

        return multiply(self, other)

    def __rmul__(self, other: float) -> Schedule:
        from lrlab.schedules._compose import multiply

        return multiply(other, self)


def _finite_time(t: Any) -> float:
    try:
        time = float(t)
    except OverflowError:
        time = math.inf
    if not (time >= 0.0 and math.isfinite(time)):
        raise ValueError(f"t must be a finite number >= 0, got {t!r}")
    return time


def _check_finite(schedule: Schedule, value: float, time: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{schedule!r} is not finite at t={time!r} (float64 overflow)")
    return value


def fields_of(schedule: Schedule) -> tuple[dataclasses.Field[Any], ...]:
    """The dataclass fields of ``schedule``, in declaration order."""
    return dataclasses.fields(schedule)  # type: ignore[arg-type]
