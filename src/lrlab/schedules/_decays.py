"""Monotone decay families: constant, inverse-time, step, multistep, exponential,
polynomial, linear and cosine.

Time ``t`` is in the caller's unit (optimizer steps or epochs); every length parameter
(``every``, ``total_steps``, ``milestones``) is in that same unit. Values are learning
rates (or dimensionless multipliers when the schedule is used as a factor).
"""

from __future__ import annotations

import math
from typing import Any

from lrlab.schedules import _validate as check
from lrlab.schedules._base import Schedule, family


@family
class Constant(Schedule, kind="constant"):
    r"""A constant learning rate.

    .. math:: \eta(t) = \text{value}

    Maps to: torch no scheduler (or ``ConstantLR(factor=1)``); Keras a float learning
    rate; optax ``constant_schedule(value)``.

    Args:
        value: The learning rate, ``>= 0``.

    Example:
        >>> Constant(value=0.1)(10)
        0.1
    """

    value: float

    def __post_init__(self) -> None:
        check.real(self, "value", at_least=0.0)

    def compute(self, t: Any, xp: Any) -> Any:
        return xp.full_like(t, self.value)


@family
class InverseTime(Schedule, kind="inverse_time"):
    r"""Time-based (inverse-time) decay, Keras' legacy ``SGD(decay=...)``.

    .. math:: \eta(t) = \frac{\eta_0}{1 + \text{decay\_rate}\cdot t}

    Keras 2 applied ``decay`` once per *iteration* (optimizer step), so ``t`` counts steps
    to reproduce it; the rule of thumb ``decay = lr / epochs`` gives the reference
    "standard" schedule.

    Maps to: Keras 2 ``SGD(lr=init_value, decay=decay_rate)``; Keras 3
    ``InverseTimeDecay(init_value, decay_steps=k, decay_rate=r)`` with
    ``decay_rate = r / k`` (``staircase=False``); torch ``LambdaLR(lambda t: 1 / (1 + d*t))``;
    optax has no direct equivalent.

    Args:
        init_value: Learning rate at ``t = 0``, ``> 0``.
        decay_rate: Decay per unit of ``t`` (1/steps), ``>= 0``.

    Example:
        >>> round(InverseTime(init_value=0.01, decay_rate=0.00025)(782), 5)
        0.00836
    """

    init_value: float
    decay_rate: float

    def __post_init__(self) -> None:
        check.real(self, "init_value", above=0.0)
        check.real(self, "decay_rate", at_least=0.0)

    def compute(self, t: Any, xp: Any) -> Any:
        return self.init_value / (1.0 + self.decay_rate * t)


@family
class Step(Schedule, kind="step"):
    r"""Step (drop-based) decay: multiply by ``factor`` every ``every`` steps.

    .. math:: \eta(t) = \eta_0 \cdot f^{\lfloor (t + \text{offset}) / \text{every} \rfloor}

    ``offset=0`` is torch ``StepLR(step_size=every, gamma=factor)``. ``offset=1`` is the
    reference drop schedule ``initAlpha * factor ** floor((1 + epoch) / dropEvery)``, which
    drops one epoch earlier.

    Maps to: torch ``StepLR``; Keras ``ExponentialDecay(staircase=True)`` (offset 0);
    optax ``exponential_decay(init_value, transition_steps=every, decay_rate=factor,
    staircase=True)`` (offset 0).

    Args:
        init_value: Learning rate before the first drop, ``> 0``.
        factor: Multiplier applied at each drop, ``> 0`` (``< 1`` decays).
        every: Steps between drops, an integer ``>= 1``.
        offset: Steps added to ``t`` before dividing, an integer ``>= 0``.

    Example:
        >>> Step(init_value=0.1, factor=0.5, every=10, offset=1)(9)
        0.05
    """

    init_value: float
    factor: float
    every: int
    offset: int = 0

    def __post_init__(self) -> None:
        check.real(self, "init_value", above=0.0)
        check.real(self, "factor", above=0.0)
        check.integer(self, "every")
        check.integer(self, "offset", at_least=0)

    def compute(self, t: Any, xp: Any) -> Any:
        return self.init_value * self.factor ** xp.floor((t + self.offset) / self.every)


@family
class MultiStep(Schedule, kind="multistep"):
    r"""Multiply by ``factor`` at each milestone.

    .. math:: \eta(t) = \eta_0 \cdot f^{\#\{m \in \text{milestones} : m \le t\}}

    At ``t == m`` the drop has already happened (torch's convention). Keras
    ``PiecewiseConstantDecay`` keeps the old value *at* a boundary ``b``, so its boundaries
    map to milestones ``b + 1`` on integer steps.

    Maps to: torch ``MultiStepLR(milestones, gamma=factor)``; Keras
    ``PiecewiseConstantDecay`` (geometric values); optax
    ``piecewise_constant_schedule(init_value, {m: factor, ...})``.

    Args:
        init_value: Learning rate before the first milestone, ``> 0``.
        milestones: Strictly increasing integer steps ``>= 1``.
        factor: Multiplier applied at each milestone, ``> 0``.

    Example:
        >>> MultiStep(init_value=1.0, milestones=(2, 4), factor=0.5)([0, 2, 4])
        array([1.  , 0.5 , 0.25])
    """

    init_value: float
    milestones: tuple[int, ...]
    factor: float

    def __post_init__(self) -> None:
        check.real(self, "init_value", above=0.0)
        check.increasing_integers(self, "milestones")
        check.real(self, "factor", above=0.0)

    def compute(self, t: Any, xp: Any) -> Any:
        passed = xp.full_like(t, 0.0)
        for milestone in self.milestones:
            passed = passed + xp.where(t >= milestone, 1.0, 0.0)
        return self.init_value * self.factor**passed


@family
class Exponential(Schedule, kind="exponential"):
    r"""Exponential decay (or growth, with ``factor > 1``).

    .. math:: \eta(t) = \eta_0 \cdot \text{factor}^{p},\quad
        p = t/\text{every}\ (\lfloor t/\text{every} \rfloor \text{ with staircase})

    Maps to: torch ``ExponentialLR(gamma=factor)`` (``every=1``); Keras
    ``ExponentialDecay(init_value, decay_steps=every, decay_rate=factor, staircase)``;
    optax ``exponential_decay(init_value, transition_steps=every, decay_rate=factor,
    staircase=staircase)``.

    Args:
        init_value: Learning rate at ``t = 0``, ``> 0``.
        factor: Multiplier per ``every`` steps, ``> 0``.
        every: Steps per application of ``factor``, an integer ``>= 1``.
        staircase: Apply the factor in whole steps of ``every``.

    Example:
        >>> Exponential(init_value=1.0, factor=0.5, every=2)(3)
        0.3535533905932738
    """

    init_value: float
    factor: float
    every: int = 1
    staircase: bool = False

    def __post_init__(self) -> None:
        check.real(self, "init_value", above=0.0)
        check.real(self, "factor", above=0.0)
        check.integer(self, "every")
        check.flag(self, "staircase")

    def compute(self, t: Any, xp: Any) -> Any:
        exponent = t / self.every
        if self.staircase:
            exponent = xp.floor(exponent)
        return self.init_value * self.factor**exponent


@family
class Polynomial(Schedule, kind="polynomial"):
    r"""Polynomial decay from ``init_value`` to ``end_value`` over ``total_steps``, then held.

    .. math:: \eta(t) = \eta_{end} + (\eta_0 - \eta_{end})
        \left(1 - \frac{\min(t, T)}{T}\right)^{\text{power}}

    ``power=1`` is linear decay; the reference ``PolynomialDecay(maxEpochs, initAlpha,
    power)`` is ``polynomial(init_value=initAlpha, total_steps=maxEpochs, power=power)``.

    Maps to: torch ``PolynomialLR(total_iters=T, power)`` (``end_value=0``); Keras
    ``PolynomialDecay(init_value, decay_steps=T, end_learning_rate=end_value, power,
    cycle=False)``; optax ``polynomial_schedule(init_value, end_value, power,
    transition_steps=T)``.

    Args:
        init_value: Learning rate at ``t = 0``, ``>= 0``.
        total_steps: Steps to reach ``end_value``, an integer ``>= 1``.
        power: Exponent of the decay, ``> 0``.
        end_value: Learning rate from ``t = total_steps`` on, ``>= 0``.

    Example:
        >>> Polynomial(init_value=0.1, total_steps=100, power=5)(50)
        0.003125
    """

    init_value: float
    total_steps: int
    power: float = 1.0
    end_value: float = 0.0

    def __post_init__(self) -> None:
        check.real(self, "init_value", at_least=0.0)
        check.integer(self, "total_steps")
        check.real(self, "power", above=0.0)
        check.real(self, "end_value", at_least=0.0)

    def compute(self, t: Any, xp: Any) -> Any:
        remaining = 1.0 - xp.minimum(t, self.total_steps) / self.total_steps
        return (self.init_value - self.end_value) * remaining**self.power + self.end_value


@family
class Linear(Schedule, kind="linear"):
    r"""Linear interpolation from ``init_value`` to ``end_value`` over ``total_steps``, then held.

    .. math:: \eta(t) = \eta_0 + (\eta_{end} - \eta_0)\frac{\min(t, T)}{T}

    It may rise as well as fall, so it also serves as an explicit linear warm-up.

    Maps to: torch ``LinearLR(start_factor=a, end_factor=b, total_iters=T)`` on base LR
    ``lr`` is ``linear(init_value=lr*a, end_value=lr*b, total_steps=T)``; Keras
    ``PolynomialDecay(power=1)``; optax ``linear_schedule(init_value, end_value,
    transition_steps=T)``.

    Args:
        init_value: Learning rate at ``t = 0``, ``>= 0``.
        end_value: Learning rate from ``t = total_steps`` on, ``>= 0``.
        total_steps: Steps of the ramp, an integer ``>= 1``.

    Example:
        >>> Linear(init_value=0.0, end_value=0.1, total_steps=10)(5)
        0.05
    """

    init_value: float
    end_value: float
    total_steps: int

    def __post_init__(self) -> None:
        check.real(self, "init_value", at_least=0.0)
        check.real(self, "end_value", at_least=0.0)
        check.integer(self, "total_steps")

    def compute(self, t: Any, xp: Any) -> Any:
        fraction = xp.minimum(t, self.total_steps) / self.total_steps
        return self.init_value + (self.end_value - self.init_value) * fraction


@family
class Cosine(Schedule, kind="cosine"):
    r"""Cosine annealing from ``init_value`` to ``end_value`` over ``total_steps``, then held.

    .. math:: \eta(t) = \eta_{end} + (\eta_0 - \eta_{end})
        \frac{1 + \cos(\pi \min(t, T) / T)}{2}

    Maps to: the closed form of torch ``CosineAnnealingLR(T_max=T, eta_min=end_value)``
    for ``t <= T`` (torch swings back up after ``T_max``; lrlab holds ``end_value``, as
    Keras and optax do); Keras ``CosineDecay(init_value, decay_steps=T,
    alpha=end_value/init_value)``; optax ``cosine_decay_schedule(init_value,
    decay_steps=T, alpha=end_value/init_value)``.

    Args:
        init_value: Learning rate at ``t = 0``, ``>= 0``.
        total_steps: Steps to reach ``end_value``, an integer ``>= 1``.
        end_value: Learning rate from ``t = total_steps`` on, ``>= 0``.

    Example:
        >>> Cosine(init_value=0.1, total_steps=100)(50)
        0.05
    """

    init_value: float
    total_steps: int
    end_value: float = 0.0

    def __post_init__(self) -> None:
        check.real(self, "init_value", at_least=0.0)
        check.integer(self, "total_steps")
        check.real(self, "end_value", at_least=0.0)

    def compute(self, t: Any, xp: Any) -> Any:
        fraction = xp.minimum(t, self.total_steps) / self.total_steps
        return (
            self.end_value
            + (self.init_value - self.end_value) * (1.0 + xp.cos(math.pi * fraction)) / 2.0
        )
