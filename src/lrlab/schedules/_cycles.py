"""Periodic and cyclical families: cosine with warm restarts, cyclical LR and one-cycle.

Time ``t`` and every period are in the caller's unit, usually optimizer steps.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import math
from typing import Any

from lrlab.schedules import _validate as check
from lrlab.schedules._base import Schedule, family
from lrlab.schedules._ops import SCALAR


def _momentum_bounds(
    kind: str, base: float | None, high: float | None, defaults: tuple[float, float]
) -> tuple[float, float]:
    """Validate ``(base_momentum, max_momentum)``, filling ``None`` from ``defaults``."""
    low = defaults[0] if base is None else check.as_real(kind, "base_momentum", base)
    top = defaults[1] if high is None else check.as_real(kind, "max_momentum", high)
    if not 0.0 <= low <= top <= 1.0:
        raise ValueError(
            f"{kind}: momentum bounds need 0 <= base_momentum <= max_momentum <= 1, "
            f"got base_momentum={low!r}, max_momentum={top!r}"
        )
    return low, top


@family
class CosineRestarts(Schedule, kind="cosine_restarts"):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017).

    Cycle ``i`` (from 0) lasts :math:`P_i = P \cdot m^i` steps and starts at
    :math:`S_i = \sum_{j<i} P_j`; with :math:`u = (t - S_i)/P_i`,

    .. math:: \eta(t) = \eta_{end} + (\eta_0 - \eta_{end})\, d^{\,i}\,
        \frac{1 + \cos(\pi u)}{2}

    where ``m = period_mult`` and ``d = peak_decay``. A restart step gets the new cycle's
    peak even where the logarithm or the cycle start is rounded.

    Maps to: torch ``CosineAnnealingWarmRestarts(T_0=period, T_mult=period_mult,
    eta_min=end_value)`` (``peak_decay=1``); Keras ``CosineDecayRestarts(init_value,
    first_decay_steps=period, t_mul=period_mult, m_mul=peak_decay,
    alpha=end_value/init_value)``; optax ``sgdr_schedule`` without warm-up.

    Args:
        init_value: Peak learning rate of the first cycle, ``>= 0``.
        period: Length of the first cycle in steps, an integer ``>= 1``.
        period_mult: Growth factor of each cycle's length, ``>= 1``.
        end_value: Learning rate at the end of every cycle, ``0 <= end_value <= init_value``.
        peak_decay: Factor applied to the peak height at each restart, ``0 < d <= 1``.

    Example:
        >>> CosineRestarts(init_value=1.0, period=10, period_mult=2.0)([0, 10, 30])
        array([1., 1., 1.])
    """

    init_value: float
    period: int
    period_mult: float = 1.0
    end_value: float = 0.0
    peak_decay: float = 1.0

    def __post_init__(self) -> None:
        check.real(self, "init_value", at_least=0.0)
        check.integer(self, "period")
        check.real(self, "period_mult", at_least=1.0)
        check.real(self, "end_value", at_least=0.0, at_most=self.init_value)
        check.real(self, "peak_decay", above=0.0, at_most=1.0)

    def _cycle_start(self, index: Any) -> Any:
        mult = self.period_mult
        return self.period * (mult**index - 1.0) / (mult - 1.0)

    def compute(self, t: Any, xp: Any) -> Any:
        if self.period_mult == 1.0:
            index = xp.floor(t / self.period)
            start = index * self.period
            length = xp.full_like(t, float(self.period))
        else:
            mult = self.period_mult
            estimate = xp.floor(xp.log(t / self.period * (mult - 1.0) + 1.0) / math.log(mult))
            # The logarithm, and the cycle starts themselves when period_mult is not an
            # integer, are rounded by a few ulps: a t within a relative 1e-13 of a start
            # is at the start.
            slack = 1e-13 * (t + self.period)
            index = xp.where(
                self._cycle_start(estimate + 1.0) <= t + slack, estimate + 1.0, estimate
            )
            index = xp.where(self._cycle_start(index) > t + slack, index - 1.0, index)
            start = self._cycle_start(index)
            length = self.period * mult**index
        fraction = xp.maximum(t - start, 0.0) / length
        peak = (self.init_value - self.end_value) * self.peak_decay**index
        return self.end_value + peak * (1.0 + xp.cos(math.pi * fraction)) / 2.0


_CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@family
class Cyclic(Schedule, kind="cyclic"):
    r"""Cyclical learning rate (Smith 2017): triangular, triangular2 or exp_range.

    With ``C = step_size_up + step_size_down``, ``r = step_size_up / C``,
    ``c = floor(1 + t/C)`` and ``x = 1 + t/C - c``,

    .. math:: \eta(t) = \eta_{base} + (\eta_{max} - \eta_{base})\, s(x)\, g,\quad
        s(x) = \begin{cases} x/r & x \le r \\ (x-1)/(r-1) & x > r \end{cases}

    where ``g = 1`` (triangular), ``1/2**(c-1)`` (triangular2, amplitude halves every
    cycle) or ``gamma**t`` (exp_range). ``max_value`` below ``base_value`` gives the
    inverted cycle that torch uses for momentum (see :meth:`momentum`).

    Maps to: the closed form of torch ``CyclicLR(base_lr, max_lr, step_size_up,
    step_size_down, mode, gamma)``; Keras and optax have no equivalent.

    Args:
        base_value: Lower bound of the cycle, ``>= 0``.
        max_value: Value at the top of each ramp (after ``step_size_up`` steps), ``>= 0``;
            usually above ``base_value``, below it for an inverted cycle.
        step_size_up: Steps from base to max, an integer ``>= 1``.
        step_size_down: Steps from max back to base, an integer ``>= 1``;
            ``None`` means ``step_size_up``.
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: Per-step decay of the amplitude in ``exp_range`` mode, ``> 0``; other modes
            take no ``gamma`` (it must stay 1.0).

    Example:
        >>> Cyclic(base_value=0.001, max_value=0.006, step_size_up=2000)([0, 2000, 4000])
        array([0.001, 0.006, 0.001])
    """

    base_value: float
    max_value: float
    step_size_up: int
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0

    def __post_init__(self) -> None:
        check.real(self, "base_value", at_least=0.0)
        check.real(self, "max_value", at_least=0.0)
        up = check.integer(self, "step_size_up")
        down = check.optional_integer(self, "step_size_down")
        if down is not None and float(up) / (up + down) == 1.0:
            raise ValueError(
                f"cyclic: step_size_down={down} is too small next to step_size_up={up}: "
                "the falling phase vanishes in float64"
            )
        check.choice(self, "mode", _CYCLIC_MODES)
        gamma = check.real(self, "gamma", above=0.0)
        if self.mode != "exp_range" and gamma != 1.0:
            raise ValueError(
                f"cyclic: gamma is used only by mode='exp_range', got gamma={gamma!r} "
                f"with mode={self.mode!r}"
            )
        if self.max_value < self.base_value and gamma > 1.0:
            raise ValueError(
                f"cyclic: an inverted cycle (max_value={self.max_value!r} < "
                f"base_value={self.base_value!r}) needs gamma <= 1, got gamma={gamma!r}: "
                "its growing swing would go below zero"
            )

    def compute(self, t: Any, xp: Any) -> Any:
        up = float(self.step_size_up)
        down = float(self.step_size_down if self.step_size_down is not None else up)
        cycle_length = up + down
        up_ratio = up / cycle_length
        cycle = xp.floor(1.0 + t / cycle_length)
        position = 1.0 + t / cycle_length - cycle
        rising = position <= up_ratio
        # Both branches are finite for every position in [0, 1).
        scale = xp.where(rising, position / up_ratio, (position - 1.0) / (up_ratio - 1.0))
        height = (self.max_value - self.base_value) * scale
        if self.mode == "triangular2":
            height = height * 0.5 ** (cycle - 1.0)  # = torch's 1 / 2**(cycle-1), exactly
        elif self.mode == "exp_range":
            height = height * self.gamma**t
        return self.base_value + height

    def momentum(
        self, base_momentum: float | None = None, max_momentum: float | None = None
    ) -> Cyclic:
        r"""Momentum cycling against the LR, as torch ``CyclicLR(cycle_momentum=True)``.

        .. math:: m(t) = m_{max} - (m_{max} - m_{base})\, s(x)\, g

        That is this cycle inverted: ``cyclic(base_value=max_momentum,
        max_value=base_momentum)`` with the same steps, mode and gamma.

        Args:
            base_momentum: Momentum at the LR peak; default 0.8 (torch's).
            max_momentum: Momentum at the LR base; default 0.9 (torch's).

        Example:
            >>> Cyclic(base_value=0.001, max_value=0.006, step_size_up=4).momentum()([0, 4])
            array([0.9, 0.8])
        """
        low, high = _momentum_bounds(self.kind, base_momentum, max_momentum, (0.8, 0.9))
        return dataclasses.replace(self, base_value=high, max_value=low)


_ANNEALS = ("cos", "linear")


@family
class OneCycle(Schedule, kind="one_cycle"):
    r"""The one-cycle policy (Smith & Topin 2018), as torch ``OneCycleLR``.

    From ``initial = peak_value / div_factor`` the LR rises to ``peak_value`` until step
    ``pct_start*T - 1``, then anneals to ``initial / final_div_factor`` at step ``T - 1``.
    With ``three_phase`` it falls back to ``initial`` at step ``2*pct_start*T - 2`` before
    the final anneal. Each phase from step ``a`` to ``b`` with ``u = (t - a)/(b - a)`` is

    .. math:: \text{cos: } \eta = e + \frac{s - e}{2}(1 + \cos \pi u),\qquad
        \text{linear: } \eta = s + (e - s)\,u

    From step ``T - 1`` on the final value is held (torch raises past ``T``).

    Maps to: torch ``OneCycleLR(max_lr=peak_value, total_steps, pct_start,
    anneal_strategy=anneal, div_factor, final_div_factor, three_phase)``; optax
    ``cosine_onecycle_schedule`` / ``linear_onecycle_schedule`` (two-phase).

    Args:
        peak_value: Maximum learning rate, ``> 0``.
        total_steps: Steps in the cycle, an integer ``>= 2``.
        pct_start: Fraction of steps spent rising, ``0 < pct_start < 1``.
        div_factor: ``peak_value / initial`` learning rate, ``> 0``.
        final_div_factor: ``initial / final`` learning rate, ``> 0``.
        three_phase: Add the symmetric fall back to ``initial`` before the final anneal.
        anneal: ``"cos"`` or ``"linear"`` interpolation inside each phase.

    Example:
        >>> OneCycle(peak_value=0.1, total_steps=100, pct_start=0.25)(24)
        0.1
    """

    peak_value: float
    total_steps: int
    pct_start: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False
    anneal: str = "cos"

    def __post_init__(self) -> None:
        check.real(self, "peak_value", above=0.0)
        check.integer(self, "total_steps", at_least=2)
        check.real(self, "pct_start", above=0.0, below=1.0)
        check.real(self, "div_factor", above=0.0)
        check.real(self, "final_div_factor", above=0.0)
        check.flag(self, "three_phase")
        check.choice(self, "anneal", _ANNEALS)
        previous = 0.0
        for index, (end, _, _) in enumerate(self._phases):
            if not end > previous:
                raise ValueError(
                    f"one_cycle: phase {index} would have zero width (steps {previous!r} to "
                    f"{end!r}) with total_steps={self.total_steps}, "
                    f"pct_start={self.pct_start!r}, three_phase={self.three_phase}; "
                    "need pct_start*total_steps > 1"
                    + (
                        " and pct_start < (total_steps+1)/(2*total_steps)"
                        if self.three_phase
                        else ""
                    )
                )
            previous = end

    def momentum(
        self, base_momentum: float | None = None, max_momentum: float | None = None
    ) -> OneCycle:
        """Momentum cycling against the LR, as torch ``OneCycleLR(cycle_momentum=True)``.

        Over the same phases, momentum falls from ``max_momentum`` to ``base_momentum``
        while the LR rises, and climbs back to ``max_momentum`` while it anneals (the
        three-phase form holds ``max_momentum`` in the last phase). That is a one-cycle
        with ``peak_value=base_momentum``, ``div_factor=base_momentum/max_momentum`` and
        ``final_div_factor=1``.

        Args:
            base_momentum: Momentum at the LR peak, ``> 0``; default 0.85 (torch's).
            max_momentum: Momentum at the start and end; default 0.95 (torch's).

        Example:
            >>> OneCycle(peak_value=0.1, total_steps=10, pct_start=0.5).momentum()([0, 4, 9])
            array([0.95, 0.85, 0.95])
        """
        low, high = _momentum_bounds(self.kind, base_momentum, max_momentum, (0.85, 0.95))
        if low == 0.0:
            raise ValueError(f"one_cycle: base_momentum must be > 0, got {low!r}")
        return dataclasses.replace(
            self, peak_value=low, div_factor=low / high, final_div_factor=1.0
        )

    @functools.cached_property
    def _phases(self) -> list[tuple[float, float, float]]:
        """``(end_step, start_value, end_value)`` of each phase, as torch defines them."""
        initial = self.peak_value / self.div_factor
        final = initial / self.final_div_factor
        rise_end = float(self.pct_start * self.total_steps) - 1.0
        last = float(self.total_steps - 1)
        if self.three_phase:
            fall_end = float(2 * self.pct_start * self.total_steps) - 2.0
            return [
                (rise_end, initial, self.peak_value),
                (fall_end, self.peak_value, initial),
                (last, initial, final),
            ]
        return [(rise_end, initial, self.peak_value), (last, self.peak_value, final)]

    def _anneal(self, start: float, end: float, fraction: Any, xp: Any) -> Any:
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (xp.cos(math.pi * fraction) + 1.0)
        return (end - start) * fraction + start

    def compute(self, t: Any, xp: Any) -> Any:
        phases = self._phases
        if xp is SCALAR:  # one phase, not all of them: the per-step path of the adapters
            return self._compute_scalar(t)
        step = xp.minimum(t, phases[-1][0])
        result = None
        phase_start = 0.0
        for end, start_value, end_value in phases:
            local = xp.maximum(xp.minimum(step, end), phase_start)
            value = self._anneal(
                start_value, end_value, (local - phase_start) / (end - phase_start), xp
            )
            result = value if result is None else xp.where(step <= phase_start, result, value)
            phase_start = end
        return result

    def _compute_scalar(self, t: float) -> float:
        """:meth:`compute` for one float: the same operations, on the phase ``t`` is in."""
        phases = self._phases
        step = min(t, phases[-1][0])
        index = bisect.bisect_left(self._phase_ends, step)  # the first phase ending at/after
        end, start_value, end_value = phases[index]
        phase_start = phases[index - 1][0] if index else 0.0
        local = max(step, phase_start)
        return self._anneal(
            start_value, end_value, (local - phase_start) / (end - phase_start), SCALAR
        )

    @functools.cached_property
    def _phase_ends(self) -> list[float]:
        return [end for end, _, _ in self._phases]
