"""Schedules whose learning rates come from a range test ("auto" presets)."""

from __future__ import annotations

from typing import Any

from lrlab.finder._result import RangeTestResult
from lrlab.schedules import Cyclic, OneCycle


def one_cycle_from(
    result: RangeTestResult, total_steps: int, *, method: str = "combined", **options: Any
) -> OneCycle:
    """A ``one_cycle`` whose peak is the range test's suggestion.

    ``peak_value = result.suggest(method).lr``; ``options`` are the other ``one_cycle``
    fields (``pct_start``, ``div_factor``, ...). The suggestion, not
    ``bounds().peak_value`` (where the loss stops descending), because it trains better:
    in ``benchmarks/bench_finder.py`` one-cycle at the ``combined`` suggestion reached
    100.3% (Ionosphere MLP) and 100.1% (digits CNN) of the best of a 7-point grid of
    peaks, against 94.4% and 99.6% at the bounds' peak.

    Raises:
        TypeError: If ``result`` is not a :class:`RangeTestResult`.
        ValueError: If there is no suggestion (the message carries its reason), the
            method is unknown, or an option is invalid.
    """
    if not isinstance(result, RangeTestResult):
        raise TypeError(
            f"one_cycle_from: result must be a RangeTestResult, got {type(result).__name__}"
        )
    suggestion = result.suggest(method)
    if suggestion.lr is None:
        raise ValueError(f"one_cycle_from: the range test suggests no LR: {suggestion.reason}")
    return OneCycle(peak_value=suggestion.lr, total_steps=total_steps, **options)


def cyclic_from(result: RangeTestResult, step_size_up: int, **options: Any) -> Cyclic:
    """A ``cyclic`` between where the range test's loss starts and stops descending.

    ``base_value, max_value = result.bounds()`` (Smith 2017, section 3.3); ``options``
    are the other ``cyclic`` fields (``step_size_down``, ``mode``, ``gamma``).

    Raises:
        TypeError: If ``result`` is not a :class:`RangeTestResult`.
        ValueError: If the test gives no bounds (the message carries its reason) or an
            option is invalid.
    """
    if not isinstance(result, RangeTestResult):
        raise TypeError(
            f"cyclic_from: result must be a RangeTestResult, got {type(result).__name__}"
        )
    found = result.bounds()
    if found.base_value is None or found.max_value is None:
        raise ValueError(f"cyclic_from: the range test gives no bounds: {found.reason}")
    base, top = found.base_value, found.max_value
    return Cyclic(base_value=base, max_value=top, step_size_up=step_size_up, **options)
