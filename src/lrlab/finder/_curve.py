"""The range test's sweep and loss-curve arithmetic, shared by every framework's runner."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrlab.schedules import Exponential, Linear, Schedule
from lrlab.schedules._validate import as_length, as_real, describe

_MODES = ("exp", "linear")
_OWNER = "find_lr"


def sweep_schedule(start_value: float, end_value: float, num_steps: int, mode: str) -> Schedule:
    r"""The LR of step ``i`` of a range test, ``i = 0 .. num_steps - 1``.

    .. math:: \text{exp: } \eta_i = \eta_0 \left(\frac{\eta_1}{\eta_0}\right)^{i/(n-1)}
        \qquad \text{linear: } \eta_i = \eta_0 + (\eta_1 - \eta_0)\,\frac{i}{n-1}

    with :math:`\eta_0` = ``start_value``, :math:`\eta_1` = ``end_value`` and ``n`` =
    ``num_steps``: the first step uses ``start_value`` and the last ``end_value``.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``start_value <= 0``, ``end_value <= start_value``,
            ``num_steps < 2`` or ``mode`` is not ``"exp"`` or ``"linear"``.

    Example:
        >>> sweep_schedule(1e-4, 1.0, 5, "exp")([0, 2, 4])
        array([1.e-04, 1.e-02, 1.e+00])
    """
    start = as_real(_OWNER, "start_value", start_value)
    end = as_real(_OWNER, "end_value", end_value)
    steps = as_length(_OWNER, "num_steps", num_steps, at_least=2)
    if start <= 0.0:
        raise ValueError(f"{_OWNER}: start_value must be > 0, got {start!r}")
    if end <= start:
        raise ValueError(f"{_OWNER}: end_value must be > start_value={start!r}, got {end!r}")
    if not isinstance(mode, str):
        raise TypeError(f"{_OWNER}: mode must be one of {_MODES}, got {describe(mode)}")
    if mode == "exp":
        return Exponential(init_value=start, factor=(end / start) ** (1.0 / (steps - 1)))
    if mode == "linear":
        return Linear(init_value=start, end_value=end, total_steps=steps - 1)
    raise ValueError(f"{_OWNER}: mode must be one of {_MODES}, got {mode!r}")


def check_smoothing(smoothing: Any) -> float:
    """Validate the EMA factor ``beta``: a real number in ``[0, 1)``."""
    beta = as_real(_OWNER, "smoothing", smoothing)
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"{_OWNER}: smoothing must be in [0, 1), got {beta!r}")
    return beta


def check_diverge_factor(diverge_factor: Any) -> float:
    """Validate the divergence factor: a real number ``> 1``."""
    factor = as_real(_OWNER, "diverge_factor", diverge_factor)
    if not factor > 1.0:
        raise ValueError(f"{_OWNER}: diverge_factor must be > 1, got {factor!r}")
    return factor


class Smoother:
    r"""Bias-corrected exponential moving average of the loss.

    .. math:: a_n = \beta a_{n-1} + (1 - \beta) \ell_n,\qquad
        \bar\ell_n = \frac{a_n}{1 - \beta^n},\qquad a_0 = 0

    so the first value is the first loss itself (``beta = 0`` means no smoothing).
    """

    def __init__(self, beta: float) -> None:
        self.beta = check_smoothing(beta)
        self._average = 0.0
        self._count = 0

    def update(self, loss: float) -> float:
        """Add one loss; return the smoothed loss so far."""
        self._count += 1
        self._average = self.beta * self._average + (1.0 - self.beta) * loss
        return self._average / (1.0 - self.beta**self._count)


def smooth(losses: Any, beta: float) -> np.ndarray:
    """:class:`Smoother` over a whole curve; a non-finite loss makes the rest non-finite."""
    smoother = Smoother(beta)
    return np.array([smoother.update(float(loss)) for loss in losses], dtype=np.float64)


def diverged(smoothed: float, best: float, factor: float) -> bool:
    r"""Whether the smoothed loss has left the best one by more than ``factor`` allows.

    .. math:: \bar\ell - \ell^* > (f - 1)\,\max(|\ell^*|, 10^{-12})

    For a positive best loss this is torch-lr-finder's ``smoothed > f * best``. Measured as
    a distance from the best rather than a ratio, it also works for losses that are
    negative or cross zero.
    """
    return smoothed - best > (factor - 1.0) * max(abs(best), 1e-12)
