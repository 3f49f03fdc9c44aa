"""Named presets for the reference experiments.

Every preset takes the initial (or peak) learning rate and the training length as named
arguments and returns an ordinary :class:`Schedule` whose time unit is the optimizer step:
``t`` counts steps, and ``steps_per_epoch=1`` makes one step per epoch. Per-epoch
schedules (``step``, ``linear``, ``poly``) hold their value for the whole epoch, as Keras'
``LearningRateScheduler`` did in the reference scripts; Keras' ``standard`` decay is
applied per step, as Keras 2's ``decay=`` was.

Extra keyword arguments override a preset's reference defaults (listed per preset).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from lrlab.schedules._base import Schedule
from lrlab.schedules._compose import PerEpoch
from lrlab.schedules._cycles import Cyclic, OneCycle
from lrlab.schedules._decays import Constant, Cosine, InverseTime, Polynomial, Step
from lrlab.schedules._validate import as_int, as_real

PresetBuilder = Callable[..., Schedule]
_PRESETS: dict[str, PresetBuilder] = {}


def preset_names() -> tuple[str, ...]:
    """Names of the registered presets, sorted."""
    return tuple(sorted(_PRESETS))


def register_preset(name: str) -> Callable[[PresetBuilder], PresetBuilder]:
    """Register ``builder(init_value, epochs, steps_per_epoch, **overrides)`` as ``name``."""

    def decorate(builder: PresetBuilder) -> PresetBuilder:
        if name in _PRESETS:
            raise ValueError(f"preset {name!r} is already registered")
        _PRESETS[name] = builder
        return builder

    return decorate


def preset(
    name: str, *, init_value: float, epochs: int, steps_per_epoch: int = 1, **overrides: Any
) -> Schedule:
    """Build the named reference schedule.

    Args:
        name: One of :func:`preset_names`: ``none``, ``standard``, ``step``, ``linear``,
            ``poly``, ``cyclic``, ``one_cycle``, ``cosine``.
        init_value: Initial learning rate (the peak for ``one_cycle``, the maximum for
            ``cyclic``), ``> 0``.
        epochs: Training length in epochs, an integer ``>= 1``.
        steps_per_epoch: Optimizer steps per epoch, an integer ``>= 1``.
        **overrides: Preset-specific parameters (see each preset).

    Returns:
        A schedule in optimizer steps.

    Raises:
        ValueError: If ``name`` is unknown or a value is invalid.
        TypeError: If an override is not accepted by the preset.

    Example:
        >>> preset("step", init_value=0.01, epochs=40, factor=0.5, every=5)
        step(init_value=0.01, factor=0.5, every=5, offset=1)
    """
    if not isinstance(name, str) or name not in _PRESETS:
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(preset_names())}")
    init = as_real(f"preset {name}", "init_value", init_value)
    if not init > 0.0:
        raise ValueError(f"preset {name}: init_value must be > 0, got {init!r}")
    total_epochs = _positive_int(name, "epochs", epochs)
    per_epoch = _positive_int(name, "steps_per_epoch", steps_per_epoch)
    builder = _PRESETS[name]
    accepted = list(inspect.signature(builder).parameters)[3:]
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise TypeError(
            f"preset {name}: unexpected override {unknown[0]!r}; "
            f"accepted: {', '.join(accepted) or 'none'}"
        )
    return builder(init, total_epochs, per_epoch, **overrides)


def _positive_int(name: str, field: str, value: Any) -> int:
    number = as_int(f"preset {name}", field, value)
    if number < 1:
        raise ValueError(f"preset {name}: {field} must be >= 1, got {number}")
    return number


def _epoch_wise(schedule: Schedule, steps_per_epoch: int) -> Schedule:
    return schedule if steps_per_epoch == 1 else PerEpoch(schedule, steps_per_epoch)


@register_preset("none")
def _none(init_value: float, epochs: int, steps_per_epoch: int) -> Schedule:
    """Constant learning rate."""
    return Constant(value=init_value)


@register_preset("standard")
def _standard(
    init_value: float, epochs: int, steps_per_epoch: int, decay_rate: float | None = None
) -> Schedule:
    """Keras' standard time-based decay, per step; ``decay_rate`` defaults to lr/epochs."""
    rate = init_value / epochs if decay_rate is None else decay_rate
    return InverseTime(init_value=init_value, decay_rate=rate)


@register_preset("step")
def _step(
    init_value: float, epochs: int, steps_per_epoch: int, factor: float = 0.25, every: int = 15
) -> Schedule:
    """Reference step decay ``lr * factor**floor((1 + epoch)/every)``; defaults 0.25 / 15."""
    return _epoch_wise(
        Step(init_value=init_value, factor=factor, every=every, offset=1), steps_per_epoch
    )


@register_preset("linear")
def _linear(init_value: float, epochs: int, steps_per_epoch: int) -> Schedule:
    """Reference linear decay to 0 over ``epochs``, per epoch."""
    return _epoch_wise(Polynomial(init_value=init_value, total_steps=epochs), steps_per_epoch)


@register_preset("poly")
def _poly(init_value: float, epochs: int, steps_per_epoch: int, power: float = 5.0) -> Schedule:
    """Reference polynomial decay to 0 over ``epochs``, per epoch; ``power`` defaults to 5."""
    return _epoch_wise(
        Polynomial(init_value=init_value, total_steps=epochs, power=power), steps_per_epoch
    )


@register_preset("cyclic")
def _cyclic(
    init_value: float,
    epochs: int,
    steps_per_epoch: int,
    base_value: float | None = None,
    step_size_epochs: int = 4,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> Schedule:
    """CLR from ``init_value/100`` (``base_value``) to ``init_value``; half-cycle
    ``step_size_epochs`` epochs (Smith: 2-10 epochs of steps); ``mode``/``gamma`` as
    ``cyclic``."""
    base = init_value / 100.0 if base_value is None else base_value
    return Cyclic(
        base_value=base,
        max_value=init_value,
        step_size_up=step_size_epochs * steps_per_epoch,
        mode=mode,
        gamma=gamma,
    )


@register_preset("one_cycle")
def _one_cycle(
    init_value: float, epochs: int, steps_per_epoch: int, pct_start: float = 0.3
) -> Schedule:
    """One-cycle with peak ``init_value`` over all steps (torch ``OneCycleLR`` defaults)."""
    return OneCycle(
        peak_value=init_value, total_steps=epochs * steps_per_epoch, pct_start=pct_start
    )


@register_preset("cosine")
def _cosine(
    init_value: float, epochs: int, steps_per_epoch: int, end_value: float = 0.0
) -> Schedule:
    """Cosine annealing from ``init_value`` to ``end_value`` over all steps."""
    return Cosine(init_value=init_value, total_steps=epochs * steps_per_epoch, end_value=end_value)
