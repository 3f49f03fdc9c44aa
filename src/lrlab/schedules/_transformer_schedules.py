"""Families from transformer training: inverse square root and warmup-stable-decay.

Both follow HF transformers' definitions exactly, scaled by the peak learning rate.
Time ``t`` is in optimizer steps.
"""

from __future__ import annotations

import math
from typing import Any

from lrlab.schedules import _validate as check
from lrlab.schedules._base import Schedule, family

_DEFAULT_TIMESCALE = 10_000


@family
class InverseSqrt(Schedule, kind="inverse_sqrt"):
    r"""Linear warm-up from 0, then inverse-square-root decay (Vaswani et al. 2017).

    With ``W = warmup_steps`` and ``tau = timescale``,

    .. math:: \eta(t) = \begin{cases}
        \eta_0\, t / \max(1, W) & t < W \\
        \eta_0 / \sqrt{(t + \tau - W)/\tau} & t \ge W \end{cases}

    ``timescale=None`` means ``W``, or 10,000 when ``W = 0`` (HF's default), so with
    warm-up the decay starts at exactly ``init_value``.

    Maps to: HF transformers ``get_inverse_sqrt_schedule(optimizer, num_warmup_steps=W,
    timescale)`` on base LR ``init_value``; optax has no direct equivalent.

    Args:
        init_value: Learning rate at the end of warm-up, ``> 0``.
        warmup_steps: Steps of linear warm-up, an integer ``>= 0``.
        timescale: The ``tau`` above in steps, an integer ``>= 1``, or ``None`` for the
            default.

    Example:
        >>> InverseSqrt(init_value=1.0, warmup_steps=100)([50, 100, 400])
        array([0.5, 1. , 0.5])
    """

    init_value: float
    warmup_steps: int = 0
    timescale: int | None = None

    def __post_init__(self) -> None:
        check.real(self, "init_value", above=0.0)
        check.integer(self, "warmup_steps", at_least=0)
        check.optional_integer(self, "timescale")

    @property
    def effective_timescale(self) -> int:
        """The ``tau`` in use: ``timescale``, else ``warmup_steps``, else 10,000."""
        if self.timescale is not None:
            return self.timescale
        return self.warmup_steps or _DEFAULT_TIMESCALE

    def compute(self, t: Any, xp: Any) -> Any:
        timescale = float(self.effective_timescale)
        warmup = float(self.warmup_steps)
        shift = timescale - warmup
        ramp = t / max(1.0, warmup)
        decayed = 1.0 / xp.sqrt((xp.maximum(t, warmup) + shift) / timescale)
        return self.init_value * xp.where(t < warmup, ramp, decayed)


_SHAPES = ("linear", "cosine", "1-sqrt")


@family
class WarmupStableDecay(Schedule, kind="wsd"):
    r"""Warmup-stable-decay (Hu et al. 2024), as HF transformers ``get_wsd_schedule``.

    With ``W = warmup_steps``, ``D = decay_steps``, ``S = total_steps - W - D`` stable
    steps and ``r = end_value / peak_value``,

    .. math:: \eta(t) = \eta_{peak} \begin{cases}
        r + (1 - r)\, f(t/W) & t < W \\
        1 & W \le t < W + S \\
        r + (1 - r)\, g((t - W - S)/D) & W + S \le t < T \\
        r & t \ge T \end{cases}

    with warm-up shape ``f(p) = p`` (linear), ``(1 - cos(pi p))/2`` (cosine) or
    ``1 - sqrt(1 - p)`` (1-sqrt), and decay shape ``g(p) = 1 - p`` (linear),
    ``(1 + cos(pi p))/2`` (cosine) or ``1 - sqrt(p)`` (1-sqrt).

    Maps to: HF ``get_wsd_schedule(optimizer, num_warmup_steps=W, num_decay_steps=D,
    num_training_steps=T, warmup_type=warmup_shape, decay_type=decay_shape,
    min_lr_ratio=end_value/peak_value)`` on base LR ``peak_value`` (``num_cycles=0.5``).

    Args:
        peak_value: Learning rate of the stable phase, ``> 0``.
        total_steps: Steps of all three phases, an integer ``>= 1``.
        warmup_steps: Steps of warm-up, an integer ``>= 0``.
        decay_steps: Steps of the final decay, an integer ``>= 0``; ``W + D <= T``.
        end_value: Learning rate at the start of warm-up and after the decay,
            ``0 <= end_value <= peak_value``.
        warmup_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.
        decay_shape: ``"linear"``, ``"cosine"`` or ``"1-sqrt"``.

    Example:
        >>> WarmupStableDecay(peak_value=1.0, total_steps=100, warmup_steps=10,
        ...                   decay_steps=20, decay_shape="linear")([5, 50, 90, 100])
        array([0.5, 1. , 0.5, 0. ])
    """

    peak_value: float
    total_steps: int
    warmup_steps: int
    decay_steps: int
    end_value: float = 0.0
    warmup_shape: str = "linear"
    decay_shape: str = "cosine"

    def __post_init__(self) -> None:
        check.real(self, "peak_value", above=0.0)
        check.integer(self, "total_steps")
        check.integer(self, "warmup_steps", at_least=0)
        check.integer(self, "decay_steps", at_least=0)
        if self.warmup_steps + self.decay_steps > self.total_steps:
            raise ValueError(
                f"wsd: warmup_steps + decay_steps must be <= total_steps, got "
                f"{self.warmup_steps} + {self.decay_steps} > {self.total_steps}"
            )
        check.real(self, "end_value", at_least=0.0, at_most=self.peak_value)
        check.choice(self, "warmup_shape", _SHAPES)
        check.choice(self, "decay_shape", _SHAPES)

    @property
    def stable_steps(self) -> int:
        """Steps at ``peak_value``: ``total_steps - warmup_steps - decay_steps``."""
        return self.total_steps - self.warmup_steps - self.decay_steps

    def _warmup_shape(self, progress: Any, xp: Any) -> Any:
        if self.warmup_shape == "linear":
            return progress
        if self.warmup_shape == "cosine":
            return 0.5 * (1.0 - xp.cos(math.pi * progress))
        return 1.0 - xp.sqrt(1.0 - progress)

    def _decay_shape(self, progress: Any, xp: Any) -> Any:
        if self.decay_shape == "linear":
            return 1.0 - progress
        if self.decay_shape == "cosine":
            return 0.5 * (1.0 + xp.cos(math.pi * progress))
        return 1.0 - xp.sqrt(progress)

    def compute(self, t: Any, xp: Any) -> Any:
        ratio = self.end_value / self.peak_value
        warmup = float(self.warmup_steps)
        decay_start = float(self.warmup_steps + self.stable_steps)
        warmup_progress = xp.minimum(t, warmup) / max(1.0, warmup)
        decay_progress = xp.minimum(
            xp.maximum(t - decay_start, 0.0) / max(1.0, float(self.decay_steps)), 1.0
        )
        rising = self._warmup_shape(warmup_progress, xp) * (1.0 - ratio) + ratio
        falling = self._decay_shape(decay_progress, xp) * (1.0 - ratio) + ratio
        multiplier = xp.where(
            t < warmup,
            rising,
            xp.where(t < decay_start, 1.0, xp.where(t < self.total_steps, falling, ratio)),
        )
        return self.peak_value * multiplier
