"""Suggestions from a range-test curve: pure functions of ``(lrs, smoothed_losses)``.

Every function returns a :class:`Suggestion`. When no answer is possible (too few finite
points, a curve that never falls) its ``lr`` is ``None`` and ``reason`` says why; it is
never NaN. The same input always gives the same output.

The curve is trimmed first, as fastai does: the first 10% of the points (where the
smoothing is still settling) and everything from the first non-finite loss on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

MIN_POINTS = 5
"""Fewest finite points (after trimming) a suggestion needs."""
FLAT_DROP = 0.01
"""A curve whose loss never falls by more than this fraction of its scale is flat."""
EDGE_FRACTION = 0.1
"""Where descent "starts" and "stops": this fraction of the total drop from either end."""


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """One suggested learning rate, or the reason there is none.

    Attributes:
        method: The method that made it.
        lr: The learning rate, or ``None``.
        index: The point of the curve it comes from (``None`` when there is no ``lr``, or
            when it is not one point: the geometric mean of two suggestions).
        reason: Why there is no suggestion (``None`` when there is one).
    """

    method: str
    lr: float | None
    index: int | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Bounds:
    """Learning-rate bounds for cyclical schedules, from where the loss descends.

    Attributes:
        base_value: LR where the loss starts descending (``cyclic`` base).
        max_value: LR where the loss stops descending (``cyclic`` max, ``one_cycle`` peak).
        reason: Why there are no bounds (``None`` when there are).
    """

    base_value: float | None
    max_value: float | None
    reason: str | None = None

    @property
    def peak_value(self) -> float | None:
        """The ``one_cycle`` peak: ``max_value``."""
        return self.max_value


@dataclasses.dataclass(frozen=True)
class _Window:
    """The usable part of a curve: indices ``[start, stop)`` into the original arrays."""

    start: int
    stop: int
    reason: str | None


def _window(lrs: np.ndarray, losses: np.ndarray) -> _Window:
    finite = np.isfinite(losses) & np.isfinite(lrs) & (lrs > 0)
    stop = int(np.argmin(finite)) if not finite.all() else len(losses)
    start = min(len(losses) // 10, max(stop - MIN_POINTS, 0))
    if stop - start < MIN_POINTS:
        return _Window(
            start,
            stop,
            f"only {max(stop - start, 0)} finite points before the loss stopped being "
            f"finite; need at least {MIN_POINTS} (use more num_steps or a lower start_value)",
        )
    part = losses[start:stop]
    scale = max(abs(float(part[0])), float(np.max(np.abs(part))) * 1e-3, 1e-12)
    if float(part[0]) - float(np.min(part)) <= FLAT_DROP * scale:
        return _Window(
            start,
            stop,
            f"the loss never fell by more than {FLAT_DROP:.0%} of its starting value "
            "(a flat curve): widen the LR range, or check that the model learns",
        )
    return _Window(start, stop, None)


def _arrays(lrs: object, losses: object) -> tuple[np.ndarray, np.ndarray]:
    lr_values = np.asarray(lrs, dtype=np.float64)
    loss_values = np.asarray(losses, dtype=np.float64)
    if lr_values.ndim != 1 or lr_values.shape != loss_values.shape:
        raise ValueError(
            "suggest: lrs and losses must be 1-D and of equal length, got shapes "
            f"{lr_values.shape} and {loss_values.shape}"
        )
    return lr_values, loss_values


def _none(method: str, reason: str) -> Suggestion:
    return Suggestion(method, None, None, reason)


def _at(method: str, lrs: np.ndarray, index: int, scale: float = 1.0) -> Suggestion:
    return Suggestion(method, float(lrs[index]) * scale, index)


def steepest(lrs: object, losses: object) -> Suggestion:
    r"""The LR where the loss falls fastest against :math:`\log_{10}` LR.

    .. math:: i^* = \arg\min_i \frac{d\bar\ell}{d \log_{10}\eta}\Big|_i

    (central differences, ``numpy.gradient``), over the trimmed curve.
    """
    lr_values, loss_values = _arrays(lrs, losses)
    window = _window(lr_values, loss_values)
    if window.reason:
        return _none("steepest", window.reason)
    part = slice(window.start, window.stop)
    slopes = np.gradient(loss_values[part], np.log10(lr_values[part]))
    return _at("steepest", lr_values, window.start + int(np.argmin(slopes)))


def valley(lrs: object, losses: object) -> Suggestion:
    """fastai's "valley": a point inside the longest descending stretch of the curve.

    The longest strictly decreasing subsequence of the trimmed losses ending at ``e`` has
    length ``n``; with ``s = e - n`` and ``w = (e - s) / 3``, the suggestion is the point
    ``s + floor(w) + floor(w / 2)``, halfway into the middle third of the valley.
    """
    lr_values, loss_values = _arrays(lrs, losses)
    window = _window(lr_values, loss_values)
    if window.reason:
        return _none("valley", window.reason)
    part = loss_values[window.start : window.stop]
    lengths = np.ones(len(part), dtype=np.int64)
    for index in range(1, len(part)):
        lower = part[:index] > part[index]
        if lower.any():
            lengths[index] = int(lengths[:index][lower].max()) + 1
    end = int(np.argmax(lengths))  # the first longest, as fastai's strict comparison
    begin = end - int(lengths[end])
    third = (end - begin) / 3
    index = max(begin + int(third) + int(third / 2), 0)
    return _at("valley", lr_values, window.start + index)


def minimum_div_10(lrs: object, losses: object) -> Suggestion:
    """One tenth of the LR at the lowest loss (the classic rule of thumb)."""
    lr_values, loss_values = _arrays(lrs, losses)
    window = _window(lr_values, loss_values)
    if window.reason:
        return _none("minimum_div_10", window.reason)
    index = window.start + int(np.argmin(loss_values[window.start : window.stop]))
    return _at("minimum_div_10", lr_values, index, 0.1)


def combined(lrs: object, losses: object) -> Suggestion:
    """The median, in log LR, of ``steepest``, ``valley`` and ``minimum_div_10``.

    With three estimates a single one thrown off by noise (a spike that fakes the
    steepest slope, a valley cut short) cannot move the median far.
    """
    parts = [method(lrs, losses) for method in (steepest, valley, minimum_div_10)]
    found = [part for part in parts if part.lr is not None]
    if not found:
        return _none("combined", str(parts[0].reason))
    ordered = sorted(found, key=lambda part: part.lr)  # type: ignore[arg-type, return-value]
    middle = ordered[len(ordered) // 2]
    if len(ordered) % 2 == 0:
        low, high = ordered[len(ordered) // 2 - 1].lr, middle.lr
        return Suggestion("combined", math.sqrt(low * high))  # type: ignore[operator]
    return Suggestion("combined", middle.lr, middle.index)


def bounds(lrs: object, losses: object) -> Bounds:
    """Where the loss starts and stops descending, for ``cyclic`` and ``one_cycle``.

    With ``D = l_0 - l_min`` the total drop of the trimmed smoothed curve, descent *starts*
    at the first point below ``l_0 - 0.1 D`` and *stops* at the first point below
    ``l_min + 0.1 D``: Smith's base and max LR for cyclical learning rates, and the peak
    of a one-cycle schedule.
    """
    lr_values, loss_values = _arrays(lrs, losses)
    window = _window(lr_values, loss_values)
    if window.reason:
        return Bounds(None, None, window.reason)
    part = loss_values[window.start : window.stop]
    drop = float(part[0] - np.min(part))
    start = int(np.argmax(part <= part[0] - EDGE_FRACTION * drop))
    stop = int(np.argmax(part <= np.min(part) + EDGE_FRACTION * drop))
    return Bounds(float(lr_values[window.start + start]), float(lr_values[window.start + stop]))


SUGGESTERS: dict[str, Callable[[object, object], Suggestion]] = {
    "steepest": steepest,
    "valley": valley,
    "minimum_div_10": minimum_div_10,
    "combined": combined,
}
"""The suggestion methods by name."""
