"""Composition: sequences, warm-up, scaling, products, clipping and per-epoch stepping.

Every composition is itself a registered, frozen :class:`Schedule`, so composed schedules
print as specs, compare equal, pickle and round-trip through dicts like any family.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import numbers
from collections.abc import Iterable
from typing import Any

from lrlab.schedules import _validate as check
from lrlab.schedules._base import MAX_NESTING, Schedule, family
from lrlab.schedules._ops import SCALAR
from lrlab.schedules._validate import describe

MAX_PIECES = 1024
"""Most pieces one sequence may hold."""


def _require_schedule(owner: Schedule, name: str, value: Any) -> Schedule:
    """Check that ``value`` is a schedule and that ``owner`` does not nest too deeply."""
    if not isinstance(value, Schedule):
        raise TypeError(f"{owner.kind}: {name} must be a Schedule, got {describe(value)}")
    if value.nesting + 1 > MAX_NESTING:
        raise ValueError(
            f"{owner.kind}: compositions nest at most {MAX_NESTING} levels deep, "
            f"got {value.nesting + 1}"
        )
    return value


@family
class Sequence(Schedule, kind="sequence"):
    r"""Run schedules one after another; each piece sees its own local time.

    Piece ``i`` covers ``[s_i, s_i + d_i)`` with ``s_0 = 0`` and ``s_{i+1} = s_i + d_i``:

    .. math:: \eta(t) = \text{pieces}_i(t - s_i)\quad \text{for } s_i \le t < s_{i+1}

    The last piece runs on forever. So at a boundary ``t = s_i`` the value is exactly
    ``pieces[i](0)``: no off-by-one, whatever the nesting.

    ``a >> b`` is ``sequence(a, b)`` with ``d_0 = a.duration``; durations may also be
    given explicitly (required for open-ended pieces such as ``constant``). A nested
    sequence that runs for its own natural length is flattened, so ``(a >> b) >> c`` and
    ``a >> (b >> c)`` are the same schedule.

    Maps to: torch ``SequentialLR(schedulers, milestones=cumsum(durations))`` without its
    boundary bugs; optax ``join_schedules(schedules, boundaries=cumsum(durations))``.

    Args:
        pieces: Two or more schedules.
        durations: Steps for every piece but the last (integers ``>= 1``); ``None`` takes
            each piece's ``duration``.

    Example:
        >>> from lrlab import parse
        >>> ramp = parse("linear(init_value=0, end_value=1, total_steps=4) >> constant(value=1)")
        >>> ramp([0, 2, 4, 9])
        array([0. , 0.5, 1. , 1. ])
    """

    pieces: tuple[Schedule, ...]
    durations: tuple[int, ...] | None = None
    positional = ("pieces",)
    variadic = True

    def __post_init__(self) -> None:
        pieces = self.pieces
        if isinstance(pieces, Schedule) or not isinstance(pieces, list | tuple):
            raise TypeError(f"sequence: pieces must be a list of schedules, got {describe(pieces)}")
        if len(pieces) < 2:
            raise ValueError(f"sequence: needs at least 2 pieces, got {len(pieces)}")
        for index, piece in enumerate(pieces):
            _require_schedule(self, f"pieces[{index}]", piece)
        durations = self._resolve_durations(tuple(pieces))
        flat_pieces, flat_durations = _flatten(tuple(pieces), durations)
        if len(flat_pieces) > MAX_PIECES:
            raise ValueError(f"sequence: at most {MAX_PIECES} pieces, got {len(flat_pieces)}")
        object.__setattr__(self, "pieces", flat_pieces)
        object.__setattr__(self, "durations", flat_durations)

    def _resolve_durations(self, pieces: tuple[Schedule, ...]) -> tuple[int, ...]:
        if self.durations is None:
            resolved = []
            for index, piece in enumerate(pieces[:-1]):
                if piece.duration is None:
                    raise ValueError(
                        f"sequence: pieces[{index}] ({piece.kind}) has no natural length; "
                        "give durations=[...] for every piece but the last"
                    )
                resolved.append(piece.duration)
            return tuple(resolved)
        if isinstance(self.durations, str | bytes) or not isinstance(self.durations, Iterable):
            raise TypeError(
                f"sequence: durations must be a list of integers, got {describe(self.durations)}"
            )
        raw = list(self.durations)
        if len(raw) != len(pieces) - 1:
            raise ValueError(
                f"sequence: durations needs one entry per piece but the last "
                f"({len(pieces) - 1}), got {len(raw)}: {list(raw)!r}"
            )
        return tuple(check.as_length("sequence", f"durations[{i}]", d) for i, d in enumerate(raw))

    @functools.cached_property
    def starts(self) -> tuple[int, ...]:
        """Step at which each piece starts: ``0, d_0, d_0 + d_1, ...``."""
        return (0, *itertools.accumulate(self.durations or ()))

    @property
    def duration(self) -> int | None:
        last = self.pieces[-1].duration
        return None if last is None else self.starts[-1] + last

    def is_natural(self) -> bool:
        """Whether every piece runs for its own ``duration`` (so it prints as ``a >> b``)."""
        given = self.durations or ()
        return all(
            piece.duration == steps for piece, steps in zip(self.pieces, given, strict=False)
        )

    def compute(self, t: Any, xp: Any) -> Any:
        starts = self.starts
        if xp is SCALAR:
            index = bisect.bisect_right(starts, t) - 1
            return self.pieces[index].compute(t - starts[index], xp)
        result = self.pieces[-1].compute(xp.maximum(t - starts[-1], 0.0), xp)
        for index in range(len(self.pieces) - 2, -1, -1):
            # Clamp to the piece's own window, so values outside it stay finite.
            window = float(starts[index + 1] - starts[index])
            local = xp.minimum(xp.maximum(t - starts[index], 0.0), window)
            value = self.pieces[index].compute(local, xp)
            result = xp.where(t < starts[index + 1], value, result)
        return result


def _flatten(
    pieces: tuple[Schedule, ...], durations: tuple[int, ...]
) -> tuple[tuple[Schedule, ...], tuple[int, ...]]:
    """Inline nested sequences that run for exactly their natural length."""
    flat_pieces: list[Schedule] = []
    flat_durations: list[int] = []
    for index, piece in enumerate(pieces):
        is_last = index == len(pieces) - 1
        given = None if is_last else durations[index]
        if isinstance(piece, Sequence) and (is_last or given == piece.duration):
            flat_pieces.extend(piece.pieces)
            flat_durations.extend(piece.durations or ())
            if not is_last:
                flat_durations.append(piece.pieces[-1].duration)  # type: ignore[arg-type]
            continue
        flat_pieces.append(piece)
        if given is not None:
            flat_durations.append(given)
    return tuple(flat_pieces), tuple(flat_durations)


def chain(first: Schedule, second: Schedule) -> Sequence:
    """``first >> second``: hand over after ``first.duration`` steps.

    Raises:
        TypeError: If either operand is not a schedule.
        ValueError: If ``first`` has no natural length.
    """
    for name, operand in (("left", first), ("right", second)):
        if not isinstance(operand, Schedule):
            raise TypeError(f">>: {name} operand must be a Schedule, got {describe(operand)}")
    if first.duration is None:
        raise ValueError(
            f">>: the left operand ({first.kind}) has no natural length; use "
            "sequence(a, b, durations=[n]) to say how long it runs"
        )
    return Sequence(pieces=(first, second), durations=(first.duration,))


_WARMUP_SHAPES = ("linear", "cosine", "exponential")


@family
class Warmup(Schedule, kind="warmup"):
    r"""Warm up over ``warmup_steps`` into any schedule, which then runs on its local time.

    With ``W = warmup_steps``, target ``y = schedule(0)``, start ``a = start_factor * y`` and
    ``p = t / W``:

    .. math:: \eta(t) = \begin{cases}
        a + (y - a)\,p & \text{linear} \\
        a + (y - a)(1 - \cos \pi p)/2 & \text{cosine} \\
        a\,(y/a)^{p} & \text{exponential} \end{cases} \quad (t < W),\qquad
        \eta(t) = \text{schedule}(t - W)\quad (t \ge W)

    The curve is continuous at ``t = W``. ``total_steps`` of the wrapped schedule counts
    only its own steps (after warm-up).

    Maps to: HF ``get_linear_schedule_with_warmup(W, T)`` is
    ``warmup(linear(init_value=lr, end_value=0.0, total_steps=T-W), warmup_steps=W)``; torch
    ``SequentialLR([LinearLR(start_factor, 1, W), ...], milestones=[W])``; Keras
    ``CosineDecay(warmup_target, warmup_steps)``; optax ``warmup_cosine_decay_schedule``.

    Args:
        schedule: The schedule to warm up into.
        warmup_steps: Warm-up length in steps, an integer ``>= 1``.
        shape: ``"linear"``, ``"cosine"`` or ``"exponential"``.
        start_factor: Start value as a fraction of the target, ``>= 0``;
            ``> 0`` for ``"exponential"``.

    Example:
        >>> from lrlab import parse
        >>> parse("warmup(constant(value=0.1), warmup_steps=4)")([0, 2, 4])
        array([0.  , 0.05, 0.1 ])
    """

    schedule: Schedule
    warmup_steps: int
    shape: str = "linear"
    start_factor: float = 0.0
    positional = ("schedule",)

    def __post_init__(self) -> None:
        _require_schedule(self, "schedule", self.schedule)
        check.integer(self, "warmup_steps")
        check.choice(self, "shape", _WARMUP_SHAPES)
        target = self._target
        if self.shape == "exponential":
            start = check.real(self, "start_factor", above=0.0) * target
            if not (start > 0.0 and math.isfinite(target / start)):
                raise ValueError(
                    "warmup: shape='exponential' needs start_factor * schedule(0) > 0 and a "
                    f"finite ratio to the target, got start_factor={self.start_factor!r}, "
                    f"schedule(0)={target!r}"
                )
        else:
            check.real(self, "start_factor", at_least=0.0)

    @property
    def duration(self) -> int | None:
        inner = self.schedule.duration
        return None if inner is None else self.warmup_steps + inner

    def _ramp(self, target: float, progress: Any, xp: Any) -> Any:
        start = self.start_factor * target
        if self.shape == "linear":
            return start + (target - start) * progress
        if self.shape == "cosine":
            return start + (target - start) * (1.0 - xp.cos(math.pi * progress)) / 2.0
        return start * (target / start) ** progress

    @functools.cached_property
    def _target(self) -> float:
        """``schedule(0)``, the value the ramp ends at (validated finite)."""
        return self.schedule(0.0)

    def compute(self, t: Any, xp: Any) -> Any:
        target = self._target
        if xp is SCALAR and t >= self.warmup_steps:
            return self.schedule.compute(t - self.warmup_steps, xp)
        progress = xp.minimum(t, float(self.warmup_steps)) / self.warmup_steps
        after = self.schedule.compute(xp.maximum(t - self.warmup_steps, 0.0), xp)
        return xp.where(t < self.warmup_steps, self._ramp(target, progress, xp), after)


@family
class Scale(Schedule, kind="scale"):
    r"""A schedule multiplied by a constant: ``factor * schedule``.

    .. math:: \eta(t) = \text{factor}\cdot \text{schedule}(t)

    Written ``0.5 * cosine(...)`` in a spec. Maps to: torch per-group base LRs; fastai's
    separation of shape and scale.

    Args:
        schedule: The schedule to scale.
        factor: Constant multiplier, ``>= 0``.

    Example:
        >>> from lrlab import parse
        >>> parse("0.5 * constant(value=0.2)")(7)
        0.1
    """

    schedule: Schedule
    factor: float
    positional = ("schedule",)

    def __post_init__(self) -> None:
        _require_schedule(self, "schedule", self.schedule)
        check.real(self, "factor", at_least=0.0)

    @property
    def duration(self) -> int | None:
        return self.schedule.duration

    def compute(self, t: Any, xp: Any) -> Any:
        return self.factor * self.schedule.compute(t, xp)

    def momentum(
        self, base_momentum: float | None = None, max_momentum: float | None = None
    ) -> Schedule | None:
        """The wrapped schedule's momentum: scaling the LR leaves its cycle unchanged."""
        return self.schedule.momentum(base_momentum, max_momentum)


@family
class Product(Schedule, kind="product"):
    r"""The pointwise product of two schedules: ``left * right``.

    .. math:: \eta(t) = \text{left}(t)\cdot\text{right}(t)

    Typical use: a shape in [0, 1] times an LR curve, e.g. ``cyclic(...) * exponential(...)``.
    Its duration is the longer of the operands' finite durations.

    Maps to: torch ``ChainedScheduler`` of multiplicative schedulers; optax has none.

    Args:
        left: First factor.
        right: Second factor.

    Example:
        >>> from lrlab import parse
        >>> parse("constant(value=0.5) * step(init_value=1, factor=0.5, every=2)")([0, 2])
        array([0.5 , 0.25])
    """

    left: Schedule
    right: Schedule
    positional = ("left", "right")

    def __post_init__(self) -> None:
        _require_schedule(self, "left", self.left)
        _require_schedule(self, "right", self.right)

    @property
    def duration(self) -> int | None:
        finite = [d for d in (self.left.duration, self.right.duration) if d is not None]
        return max(finite) if finite else None

    def compute(self, t: Any, xp: Any) -> Any:
        return self.left.compute(t, xp) * self.right.compute(t, xp)


def multiply(left: Schedule | float, right: Schedule | float) -> Schedule:
    """``left * right`` for schedules and real constants (at least one a schedule).

    Raises:
        TypeError: If an operand is neither a schedule nor a real number.
    """
    for name, operand in (("left", left), ("right", right)):
        if not isinstance(operand, Schedule | numbers.Real) or isinstance(operand, bool):
            raise TypeError(
                f"*: {name} operand must be a Schedule or a number, got {describe(operand)}"
            )
    if isinstance(left, Schedule) and isinstance(right, Schedule):
        return Product(left=left, right=right)
    if isinstance(left, Schedule):
        return Scale(schedule=left, factor=float(right))
    return Scale(schedule=right, factor=float(left))  # type: ignore[arg-type]


@family
class Clip(Schedule, kind="clip"):
    r"""Clip a schedule to ``[min_value, max_value]`` (either bound may be omitted).

    .. math:: \eta(t) = \min(\max(\text{schedule}(t), \text{min\_value}), \text{max\_value})

    Maps to: timm's ``lr_min``/``eta_min`` floors; optax has none.

    Args:
        schedule: The schedule to clip.
        min_value: Lower bound, ``>= 0``, or ``None``.
        max_value: Upper bound, ``>= min_value``, or ``None``. At least one bound is given.

    Example:
        >>> from lrlab import parse
        >>> parse("clip(exponential(init_value=1, factor=0.1), min_value=0.001)")([0, 2, 5])
        array([1.   , 0.01 , 0.001])
    """

    schedule: Schedule
    min_value: float | None = None
    max_value: float | None = None
    positional = ("schedule",)

    def __post_init__(self) -> None:
        _require_schedule(self, "schedule", self.schedule)
        if self.min_value is None and self.max_value is None:
            raise ValueError("clip: give min_value, max_value or both")
        if self.min_value is not None:
            check.real(self, "min_value", at_least=0.0)
        if self.max_value is not None:
            check.real(self, "max_value", at_least=self.min_value or 0.0)

    @property
    def duration(self) -> int | None:
        return self.schedule.duration

    def compute(self, t: Any, xp: Any) -> Any:
        value = self.schedule.compute(t, xp)
        if self.min_value is not None:
            value = xp.maximum(value, self.min_value)
        if self.max_value is not None:
            value = xp.minimum(value, self.max_value)
        return value


@family
class PerEpoch(Schedule, kind="per_epoch"):
    r"""Run a per-epoch schedule on a step clock: constant within each epoch.

    .. math:: \eta(t) = \text{schedule}(\lfloor t / \text{steps\_per\_epoch} \rfloor)

    This is what Keras' ``LearningRateScheduler`` and torch's epoch-wise ``scheduler.step()``
    do; use it to mix per-epoch shapes with per-step pieces (warm-up, cyclic).

    Args:
        schedule: A schedule whose time unit is epochs.
        steps_per_epoch: Optimizer steps per epoch, an integer ``>= 1``.

    Example:
        >>> from lrlab import parse
        >>> epochs = "linear(init_value=1, end_value=0, total_steps=4)"
        >>> parse(f"per_epoch({epochs}, steps_per_epoch=10)")([0, 9, 10, 25])
        array([1.  , 1.  , 0.75, 0.5 ])
    """

    schedule: Schedule
    steps_per_epoch: int
    positional = ("schedule",)

    def __post_init__(self) -> None:
        _require_schedule(self, "schedule", self.schedule)
        check.integer(self, "steps_per_epoch")

    @property
    def duration(self) -> int | None:
        inner = self.schedule.duration
        return None if inner is None else inner * self.steps_per_epoch

    def compute(self, t: Any, xp: Any) -> Any:
        return self.schedule.compute(xp.floor(t / self.steps_per_epoch), xp)

    def momentum(
        self, base_momentum: float | None = None, max_momentum: float | None = None
    ) -> Schedule | None:
        """The wrapped schedule's momentum, on the same epoch clock."""
        inner = self.schedule.momentum(base_momentum, max_momentum)
        return None if inner is None else PerEpoch(inner, self.steps_per_epoch)
