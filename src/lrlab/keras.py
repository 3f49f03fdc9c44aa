"""Keras 3 adapter: an lrlab schedule as a Keras ``LearningRateSchedule``, and callbacks.

>>> import keras, lrlab.keras
>>> lr = lrlab.keras.schedule("warmup(cosine(init_value=0.1, total_steps=90), warmup_steps=10)")
>>> optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
>>> round(float(lr(5)), 6), round(float(lr(55)), 6)
(0.05, 0.05)

Three ways to drive a Keras optimizer, by where the time ``t`` comes from:

- :func:`schedule`: a ``LearningRateSchedule`` that the optimizer evaluates at every update,
  with ``t = optimizer.iterations`` (optimizer steps). It saves with the model.
- :func:`callback`: sets a float learning rate to ``schedule(epoch)`` at each epoch begin,
  like Keras' ``LearningRateScheduler``, or to ``schedule(optimizer.iterations)`` at each
  batch begin.
- :func:`plateau`: reduce on plateau, also on top of a :func:`schedule` (Keras'
  ``ReduceLROnPlateau`` refuses an optimizer built with a schedule).

:func:`find_lr` runs the LR range test on a compiled model and leaves the model, its
optimizer and the random number generators exactly as it found them.

No schedule math lives here; values come from :mod:`lrlab.schedules`. Keras' own schedules
compute in float32, and ``keras.ops`` cannot do better: on every backend but TensorFlow,
Keras' type promotion turns float64 into float32
(``keras.src.backend.common.dtypes.BIT64_TO_BIT32_DTYPE``), so ``floor``, ``minimum``,
``maximum`` and ``where`` return float32 or round their constants to it. That puts lrlab
formulas off by up to 6e-3 relative (``warmup(one_cycle(...))``). :class:`ScheduleLR`
therefore evaluates the formula in float64 with torch itself, on the device of the step
counter, and casts only the result to ``keras.config.floatx()``; it needs the torch backend
(``KERAS_BACKEND=torch``). The callbacks set the learning rate from Python floats and run
on any backend.
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

try:
    import keras
except ImportError as error:
    raise ImportError(
        "lrlab.keras needs Keras 3: pip install 'lrlab[keras]' "
        "(lrlab runs Keras on PyTorch: set KERAS_BACKEND=torch)"
    ) from error

from lrlab.finder import RangeTestResult, Smoother, diverged, sweep_schedule
from lrlab.finder._curve import check_diverge_factor, check_smoothing
from lrlab.schedules import InverseTime, Plateau, Schedule, from_dict
from lrlab.schedules import _validate as check
from lrlab.schedules._plateau import apply_multiplier
from lrlab.schedules._validate import describe
from lrlab.schedules.spec import as_schedule

__all__ = [
    "PlateauCallback",
    "ScheduleCallback",
    "ScheduleLR",
    "callback",
    "find_lr",
    "legacy_decay",
    "plateau",
    "schedule",
]

_NAME = "lrlab.keras"
_UNITS = ("epoch", "batch")


class _TorchFloat64:
    """The array namespace of :mod:`lrlab.schedules._ops` on float64 torch tensors.

    Every argument, Python numbers included, becomes a float64 tensor on ``device``, so no
    operation rounds to float32 and constants never cross devices.
    """

    __slots__ = ("_device", "_torch")

    def __init__(self, torch: Any, device: Any) -> None:
        self._torch = torch
        self._device = device

    def tensor(self, x: Any) -> Any:
        """``x`` as a float64 tensor on this namespace's device."""
        return self._torch.as_tensor(x, dtype=self._torch.float64, device=self._device)

    def floor(self, x: Any) -> Any:
        """Elementwise floor."""
        return self._torch.floor(self.tensor(x))

    def cos(self, x: Any) -> Any:
        """Elementwise cosine (radians)."""
        return self._torch.cos(self.tensor(x))

    def sqrt(self, x: Any) -> Any:
        """Elementwise non-negative square root."""
        return self._torch.sqrt(self.tensor(x))

    def log(self, x: Any) -> Any:
        """Elementwise natural logarithm."""
        return self._torch.log(self.tensor(x))

    def minimum(self, a: Any, b: Any) -> Any:
        """Elementwise smaller of ``a`` and ``b``."""
        return self._torch.minimum(self.tensor(a), self.tensor(b))

    def maximum(self, a: Any, b: Any) -> Any:
        """Elementwise larger of ``a`` and ``b``."""
        return self._torch.maximum(self.tensor(a), self.tensor(b))

    def where(self, condition: Any, if_true: Any, if_false: Any) -> Any:
        """``if_true`` where ``condition`` holds, else ``if_false``."""
        mask = self._torch.as_tensor(condition, dtype=self._torch.bool, device=self._device)
        return self._torch.where(mask, self.tensor(if_true), self.tensor(if_false))

    def full_like(self, x: Any, value: float) -> Any:
        """A float64 tensor shaped like ``x``, filled with ``value``."""
        return self._torch.full_like(self.tensor(x), value)


def _torch_module() -> Any:
    backend = keras.backend.backend()
    if backend != "torch":
        raise RuntimeError(
            f"{_NAME}.schedule evaluates lrlab schedules in float64 with torch, so it needs "
            f"the torch backend (KERAS_BACKEND=torch); this Keras runs on {backend!r}. On "
            f"other backends use {_NAME}.callback(schedule, unit='batch'), which sets a "
            "float learning rate before every optimizer step."
        )
    import torch

    return torch


@keras.saving.register_keras_serializable(package="lrlab")
class ScheduleLR(keras.optimizers.schedules.LearningRateSchedule):
    r"""A Keras ``LearningRateSchedule`` whose values come from an lrlab schedule.

    The optimizer calls it with ``step = optimizer.iterations``, the number of optimizer
    updates done, so the update with index ``t`` (from 0) runs with

    .. math:: \eta(t) = \max\bigl(k\,s(t),\ \min(s(t), \eta_{min})\bigr)

    where ``s`` is the lrlab schedule (``t`` in optimizer steps), ``k`` is the plateau
    multiplier and :math:`\eta_{min}` the plateau floor, both set by :func:`plateau` (with
    the defaults ``k = 1``, :math:`\eta_{min} = 0` this is ``s(t)``). The value is computed in
    float64 and cast to ``keras.config.floatx()``. Past the end of a finite schedule it
    holds the schedule's final value, as Keras' own schedules do.

    ``get_config`` stores the schedule as :meth:`lrlab.Schedule.to_dict` plus the current
    ``k`` and :math:`\eta_{min}`, so ``model.save`` keeps plateau reductions; import
    :mod:`lrlab.keras` before ``keras.models.load_model``, which finds this class under the
    registered name ``"lrlab>ScheduleLR"``.

    Args:
        schedule: An lrlab :class:`~lrlab.Schedule` or a spec string.
        multiplier: Initial plateau multiplier ``k``, ``> 0``.
        min_value: Initial plateau floor :math:`\eta_{min}`, ``>= 0`` (learning-rate units).

    Attributes:
        schedule: The lrlab schedule.
        multiplier: Non-trainable float64 ``keras.Variable`` holding ``k``.
        min_value: Non-trainable float64 ``keras.Variable`` holding :math:`\eta_{min}`.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range, or the spec does not parse.
        RuntimeError: If Keras does not run on the torch backend.
    """

    def __init__(
        self, schedule: Schedule | str, *, multiplier: float = 1.0, min_value: float = 0.0
    ) -> None:
        super().__init__()
        self._torch = _torch_module()
        self.schedule = as_schedule(schedule, _NAME, "schedule")
        factor = check.as_real(_NAME, "multiplier", multiplier)
        if factor <= 0.0:
            raise ValueError(f"{_NAME}: multiplier must be > 0, got {multiplier!r}")
        floor = check.as_real(_NAME, "min_value", min_value)
        if floor < 0.0:
            raise ValueError(f"{_NAME}: min_value must be >= 0, got {min_value!r}")
        self.multiplier = self._variable(factor, "lrlab_plateau_multiplier")
        self.min_value = self._variable(floor, "lrlab_plateau_min_value")

    @staticmethod
    def _variable(value: float, name: str) -> keras.Variable:
        return keras.Variable(value, dtype="float64", trainable=False, autocast=False, name=name)

    def evaluate(self, step: Any) -> Any:
        """The learning rate at ``step`` in float64, before the cast to floatx.

        Args:
            step: Optimizer steps done, ``>= 0``: a number, an array of them, or a tensor or
                ``keras.Variable`` such as ``optimizer.iterations``. It is not validated
                (that would stall the device every step): a negative step gives a
                meaningless value.

        Returns:
            A float64 torch tensor shaped like ``step``, on its device.
        """
        time = keras.ops.cast(step, "float64")
        xp = _TorchFloat64(self._torch, time.device)
        value = self.schedule.compute(time, xp)
        multiplier = keras.ops.convert_to_tensor(self.multiplier)
        min_value = keras.ops.convert_to_tensor(self.min_value)
        return apply_multiplier(xp.tensor(value), multiplier, min_value, xp)

    def __call__(self, step: Any) -> Any:
        """The learning rate at ``step`` (see :meth:`evaluate`), as ``keras.config.floatx()``."""
        return keras.ops.cast(self.evaluate(step), keras.config.floatx())

    def get_config(self) -> dict[str, Any]:
        """``{"schedule": schedule.to_dict(), "multiplier": k, "min_value": floor}``."""
        return {
            "schedule": self.schedule.to_dict(),
            "multiplier": float(self.multiplier),
            "min_value": float(self.min_value),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ScheduleLR:
        """Rebuild a :class:`ScheduleLR` from :meth:`get_config` output."""
        return cls(
            from_dict(config["schedule"]),
            multiplier=config["multiplier"],
            min_value=config["min_value"],
        )

    def __repr__(self) -> str:
        return f"ScheduleLR({self.schedule!r})"


def schedule(schedule: Schedule | str) -> ScheduleLR:
    """An lrlab schedule as a Keras ``LearningRateSchedule``, evaluated per optimizer step.

    Pass it as ``learning_rate`` to any Keras optimizer: the update with index ``t`` (from
    0, ``t = optimizer.iterations``) runs with ``lr = schedule(t)``. Time counts optimizer
    steps; wrap a per-epoch schedule in ``per_epoch(..., steps_per_epoch=S)``.

    Args:
        schedule: An lrlab :class:`~lrlab.Schedule` or a spec string.

    Returns:
        A :class:`ScheduleLR` (which :func:`plateau` can also reduce).

    Raises:
        TypeError: If ``schedule`` is neither a schedule nor a string.
        ValueError: If the spec does not parse.
        RuntimeError: If Keras does not run on the torch backend.
    """
    return ScheduleLR(schedule)


def legacy_decay(lr: float, decay: float) -> ScheduleLR:
    r"""Keras 2's ``SGD(lr=lr, decay=decay)``, which Keras 3 ignores with only a warning.

    .. math:: \eta(t) = \frac{lr}{1 + decay\cdot t}

    with ``t = optimizer.iterations`` (optimizer steps, not epochs), exactly as Keras 2
    applied it. The reference rule of thumb is ``decay = lr / epochs``.

    Args:
        lr: Learning rate at step 0, ``> 0``.
        decay: Decay per optimizer step (1/steps), ``>= 0``.

    Returns:
        ``schedule(InverseTime(init_value=lr, decay_rate=decay))``.

    Raises:
        TypeError: If ``lr`` or ``decay`` is not a real number.
        ValueError: If ``lr <= 0`` or ``decay < 0`` (the message names ``init_value`` and
            ``decay_rate``; a note maps them back to ``lr`` and ``decay``).

    Example:
        >>> import keras, lrlab.keras
        >>> optimizer = keras.optimizers.SGD(lrlab.keras.legacy_decay(0.1, 0.002), momentum=0.8)
    """
    try:
        inverse_time = InverseTime(init_value=lr, decay_rate=decay)
    except (TypeError, ValueError) as error:
        error.add_note(
            f"in {_NAME}.legacy_decay(lr={lr!r}, decay={decay!r}): lr is init_value, "
            "decay is decay_rate"
        )
        raise
    return ScheduleLR(inverse_time)


def _optimizer(model: Any) -> Any:
    """The optimizer that owns the learning rate (the inner one of a LossScaleOptimizer)."""
    optimizer = model.optimizer
    return getattr(optimizer, "inner_optimizer", optimizer)


def _owner_of_lr(optimizer: Any) -> Any:
    # Keras keeps what was passed as ``learning_rate`` here; the public property evaluates it.
    return optimizer._learning_rate


class ScheduleCallback(keras.callbacks.Callback):
    """Sets a float learning rate from an lrlab schedule; build it with :func:`callback`.

    Attributes:
        schedule: The lrlab schedule.
        unit: ``"epoch"`` or ``"batch"``: what the schedule's ``t`` counts.
    """

    def __init__(self, schedule: Schedule | str, unit: str = "epoch") -> None:
        super().__init__()
        self.schedule = as_schedule(schedule, _NAME, "schedule")
        if unit not in _UNITS:
            raise ValueError(f"{_NAME}: unit must be one of {_UNITS}, got {unit!r}")
        self.unit = unit

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        owner = _owner_of_lr(_optimizer(self.model))
        if not isinstance(owner, keras.Variable):
            raise TypeError(
                f"{_NAME}.callback: the optimizer was built with learning_rate={owner!r}, a "
                "schedule, so a callback cannot set its learning rate. Pass "
                f"learning_rate={_NAME}.schedule(...) to evaluate an lrlab schedule at every "
                "optimizer step, or build the optimizer with a float learning rate to use "
                "this callback."
            )

    def _set(self, time: int) -> None:
        _optimizer(self.model).learning_rate = self.schedule(time)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.unit == "epoch":
            self._set(epoch)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.unit == "batch":
            self._set(int(_optimizer(self.model).iterations))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(_optimizer(self.model).learning_rate)


def callback(schedule: Schedule | str, unit: str = "epoch") -> ScheduleCallback:
    """A callback that sets the optimizer's float learning rate from an lrlab schedule.

    With ``unit="epoch"``, at the beginning of each epoch ``e`` (Keras' 0-based epoch index,
    so ``fit(initial_epoch=...)`` continues the schedule) it sets ``lr = schedule(e)``, like
    Keras' ``LearningRateScheduler``. With ``unit="batch"``, before every training batch it
    sets ``lr = schedule(optimizer.iterations)``: ``t`` counts optimizer updates (not batches
    under gradient accumulation), and since ``iterations`` is saved with the optimizer a
    resumed run continues where it stopped. At each epoch end it logs the current rate as
    ``logs["learning_rate"]``.

    Args:
        schedule: An lrlab :class:`~lrlab.Schedule` or a spec string; ``t`` in epochs or in
            optimizer steps, as ``unit`` says.
        unit: ``"epoch"`` or ``"batch"``.

    Returns:
        The :class:`ScheduleCallback`, for ``model.fit(callbacks=[...])``.

    Raises:
        TypeError: If ``schedule`` is neither a schedule nor a string; at train begin, if the
            optimizer was built with a learning-rate schedule (use :func:`schedule` then).
        ValueError: If ``unit`` is unknown or the spec does not parse.

    Example:
        >>> import lrlab.keras
        >>> drop = lrlab.keras.callback("step(init_value=0.1, factor=0.5, every=10, offset=1)")
        >>> drop.schedule(9)
        0.05
    """
    return ScheduleCallback(schedule, unit)


class PlateauCallback(keras.callbacks.Callback):
    """Reduces the learning rate on plateau with :class:`lrlab.Plateau`; see :func:`plateau`.

    Attributes:
        monitor: The ``logs`` key that is watched.
        plateau: The controller of the current ``fit`` (fresh at each train begin).
    """

    def __init__(self, monitor: str, plateau: Plateau) -> None:
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(f"{_NAME}: monitor must be a string, got {describe(monitor)}")
        if not monitor:
            raise ValueError(f"{_NAME}: monitor must name a metric, got ''")
        self.monitor = monitor
        self.plateau = plateau
        self._schedule: ScheduleLR | None = None
        self._base = 1.0
        self._applied = 0.0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.plateau = Plateau(**self.plateau.config())
        optimizer = _optimizer(self.model)
        owner = _owner_of_lr(optimizer)
        if isinstance(owner, ScheduleLR):
            self._schedule = owner
            self._base = float(owner.multiplier)
            owner.min_value.assign(self.plateau.min_value)
        elif isinstance(owner, keras.Variable):
            self._schedule = None
            self._base = float(owner)
            self._applied = float(optimizer.learning_rate)
        else:
            raise TypeError(
                f"{_NAME}.plateau: the optimizer was built with learning_rate={owner!r}, which "
                "lrlab cannot reduce. Build it with learning_rate="
                f"{_NAME}.schedule(...) (any lrlab schedule, reduced on top) or with a float."
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = {} if logs is None else logs
        if self.monitor not in logs:
            raise ValueError(
                f"{_NAME}.plateau: monitor {self.monitor!r} is not in the logs of epoch "
                f"{epoch} (available: {sorted(logs)}). Pass validation data to fit for a "
                "'val_' metric (validation_freq=1), or monitor one of the available keys."
            )
        optimizer = _optimizer(self.model)
        current = float(optimizer.learning_rate)
        if self._schedule is None and current != self._applied:
            raise ValueError(
                f"{_NAME}.plateau: the learning rate was changed outside this callback (to "
                f"{current!r}, expected {self._applied!r}), for example by a scheduler "
                "callback. To reduce a schedule on plateau, build the optimizer with "
                f"learning_rate={_NAME}.schedule(...) instead."
            )
        logs["learning_rate"] = current
        if self.plateau.update(logs[self.monitor]):
            if self._schedule is not None:
                self._schedule.multiplier.assign(self._base * self.plateau.multiplier)
            else:
                optimizer.learning_rate = self.plateau.apply(self._base)
                self._applied = float(optimizer.learning_rate)


def plateau(
    monitor: str = "val_loss",
    mode: str = "min",
    factor: float = 0.1,
    patience: int = 10,
    threshold: float = 1e-4,
    threshold_mode: str = "rel",
    cooldown: int = 0,
    min_value: float = 0.0,
) -> PlateauCallback:
    r"""A callback that reduces the learning rate on plateau, also under a schedule.

    At each epoch end it reports ``logs[monitor]`` to an :class:`lrlab.Plateau`; after a
    reduction the learning rate is, from the next optimizer step on,

    .. math:: \eta = \max\bigl(k\,b,\ \min(b, \eta_{min})\bigr),\qquad k = factor^{n}

    with ``n`` the reductions so far and ``b`` the base: for an optimizer built with
    ``learning_rate=lrlab.keras.schedule(s)``, ``b = s(t)`` at every step, so warm-up,
    cosine and the rest go on, scaled (``k`` goes into :attr:`ScheduleLR.multiplier`); for a
    float learning rate, ``b`` is the rate at train begin.

    The rules are torch's ``ReduceLROnPlateau`` (see :class:`lrlab.Plateau`): ``patience=p``
    reduces after ``p + 1`` epochs without improvement. Keras'
    ``ReduceLROnPlateau(patience=p, min_delta=d, min_lr=m)`` is ``plateau(patience=p - 1,
    threshold=d, threshold_mode="abs", min_value=m)``. As in Keras, the controller starts
    afresh at each ``fit``; reductions already made stay in the optimizer (and in the saved
    schedule) and the new ones multiply them.

    At each epoch end it logs ``optimizer.learning_rate`` as ``logs["learning_rate"]``
    before any reduction, as Keras' callback does (for a schedule, the rate of the next
    step). A missing ``monitor`` raises, where Keras only warns: a plateau callback that
    never sees its metric silently leaves the learning rate alone for the whole run. So
    ``val_`` metrics need validation at every epoch.

    Args:
        monitor: The ``logs`` key to watch, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        factor: Multiplier per reduction, ``0 < factor < 1``.
        patience: Epochs without improvement tolerated before a reduction, ``>= 0``.
        threshold: Smallest change that counts as an improvement, ``>= 0``.
        threshold_mode: ``"rel"`` (fraction of the best value) or ``"abs"`` (metric units).
        cooldown: Epochs after a reduction during which bad epochs are not counted.
        min_value: Floor on the reduced learning rate, ``>= 0`` (Keras' ``min_lr``).

    Returns:
        The :class:`PlateauCallback`, for ``model.fit(callbacks=[...])``.

    Raises:
        TypeError: If an argument has the wrong type; at train begin, if the optimizer's
            learning rate is a schedule other than :class:`ScheduleLR`.
        ValueError: If an argument is out of range; at an epoch end, if ``monitor`` is not
            in the logs or is not finite, or the float learning rate was changed by
            something else (such as :func:`callback`).

    Example:
        >>> import lrlab.keras
        >>> reduce = lrlab.keras.plateau(monitor="val_accuracy", mode="max", patience=4)
        >>> reduce.plateau.config()["patience"]
        4
    """
    controller = Plateau(
        mode=mode,
        factor=factor,
        patience=patience,
        threshold=threshold,
        threshold_mode=threshold_mode,
        cooldown=cooldown,
        min_value=min_value,
    )
    return PlateauCallback(monitor, controller)


# -- LR range test --------------------------------------------------------------------------

_FIND_LR = f"{_NAME}.find_lr"

_SHUFFLE_SEED = 0
"""Seed of the private generator that orders the rows of numpy ``x, y`` (the global RNGs
are never drawn from)."""

_GLOBAL_SEED_GENERATOR = "global_seed_generator"
"""Keras' key for the ``SeedGenerator`` behind unseeded ``keras.random`` calls."""


class _SweepRate:
    """The range test's learning rate, put in place of the optimizer's own for the sweep.

    Keras calls a callable learning rate with no argument at every update; this one returns
    a non-trainable ``floatx`` variable, just as a float ``learning_rate`` would be stored.
    Being neither a ``keras.Variable`` nor a container, it is not tracked by the optimizer,
    so ``optimizer.variables`` does not change.
    """

    __slots__ = ("variable",)

    def __init__(self, value: float) -> None:
        self.variable = keras.Variable(
            value, dtype=keras.config.floatx(), trainable=False, name="lrlab_find_lr"
        )

    def __call__(self) -> keras.Variable:
        return self.variable

    def set(self, value: float) -> float:
        """Set the rate; return it as the optimizer sees it (rounded to ``floatx``)."""
        self.variable.assign(value)
        return float(self.variable)


class _RandomState:
    """The global random number generators a training step can draw from, captured so that
    :meth:`restore` puts them back exactly: Python's ``random``, numpy's legacy global
    generator, torch's CPU generator and (once initialized) every CUDA generator, and Keras'
    global ``SeedGenerator`` (unseeded ``keras.random`` calls)."""

    def __init__(self) -> None:
        self.python = random.getstate()
        self.numpy = np.random.get_state()
        self.torch = sys.modules.get("torch")
        self.torch_cpu = None if self.torch is None else self.torch.get_rng_state()
        cuda = self.torch is not None and self.torch.cuda.is_initialized()
        self.torch_cuda = self.torch.cuda.get_rng_state_all() if cuda else None
        self.keras_state = _keras_global_state()
        self.keras_generator = None
        self.keras_seed = None
        if self.keras_state is not None:
            self.keras_generator = self.keras_state.get_global_attribute(_GLOBAL_SEED_GENERATOR)
            if self.keras_generator is not None:
                self.keras_seed = _copy(self.keras_generator.state)

    def restore(self) -> None:
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        if self.torch is not None:
            self.torch.set_rng_state(self.torch_cpu)
            if self.torch_cuda is not None:
                self.torch.cuda.set_rng_state_all(self.torch_cuda)
        if self.keras_state is not None:
            # None makes the next unseeded call create the generator afresh, from the
            # restored Python ``random``: as if the range test had never created one.
            self.keras_state.set_global_attribute(_GLOBAL_SEED_GENERATOR, self.keras_generator)
            if self.keras_generator is not None:
                self.keras_generator.state.assign(self.keras_seed)


def _keras_global_state() -> Any:
    try:
        from keras.src.backend.common import global_state
    except ImportError:  # pragma: no cover - a Keras that moved its global state
        return None
    return global_state


def _copy(variable: Any) -> Any:
    """A detached copy of a variable's value, in the backend's own tensor type."""
    return keras.ops.copy(keras.ops.stop_gradient(variable))


def _state_variables(model: keras.Model) -> list[Any]:
    """Each variable a training step can change, once: the model's (weights, BatchNorm
    statistics, seed generators), its metrics' and the optimizer's (the inner one's too)."""
    found: dict[int, Any] = {}
    for variable in [*model.variables, *model.metrics_variables, *model.optimizer.variables]:
        found.setdefault(id(variable), variable)
    return list(found.values())


def _compiled(model: Any) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise TypeError(f"{_FIND_LR}: model must be a keras.Model, got {type(model).__name__}")
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError(
            f"{_FIND_LR}: model {model.name!r} is not compiled; call "
            "model.compile(optimizer=..., loss=...) first"
        )
    return model


def _array_batches(x: Any, y: Any, batch_size: int) -> Iterator[tuple[Any, ...]]:
    """Endless ``(x, y)`` batches of ``batch_size`` rows for numpy arrays."""
    if x is None or y is None:
        raise ValueError(f"{_FIND_LR}: pass both x and y (numpy arrays), or dataset=")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(
            f"{_FIND_LR}: x and y must be arrays with one row per sample, got shapes "
            f"{x.shape} and {y.shape} (for an iterable of batches, use dataset=)"
        )
    if len(x) != len(y):
        raise ValueError(f"{_FIND_LR}: x has {len(x)} rows but y has {len(y)}")
    if batch_size > len(x):
        raise ValueError(
            f"{_FIND_LR}: batch_size must be <= the {len(x)} rows of x, got {batch_size}"
        )
    return _shuffled_batches(x, y, batch_size)


def _shuffled_batches(x: np.ndarray, y: np.ndarray, batch_size: int) -> Iterator[tuple[Any, ...]]:
    """Consecutive slices of an endless stream of row permutations, so that every batch is
    full and each pass uses every row once."""
    rows = len(x)
    generator = np.random.default_rng(_SHUFFLE_SEED)
    order, position = generator.permutation(rows), 0
    while True:
        parts = []
        needed = batch_size
        while needed:
            if position == rows:
                order, position = generator.permutation(rows), 0
            part = order[position : position + needed]
            position += len(part)
            needed -= len(part)
            parts.append(part)
        index = np.concatenate(parts)
        yield x[index], y[index]


def _dataset_batches(dataset: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    """The batches of ``dataset``, started over each time it runs out."""
    try:
        iterator = iter(dataset)
    except TypeError:
        raise TypeError(
            f"{_FIND_LR}: dataset must be an iterable of (x, y) batches, got "
            f"{type(dataset).__name__}"
        ) from None
    return _cycle(dataset, iterator)


def _cycle(dataset: Iterable[Any], iterator: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
    total = 0
    while True:
        count = 0
        for batch in iterator:
            count += 1
            yield _unpack("each dataset batch", batch)
        if count == 0:
            if total == 0:
                raise ValueError(f"{_FIND_LR}: dataset yielded no batches")
            raise ValueError(
                f"{_FIND_LR}: dataset ran out after {total} batches and yielded none when "
                "iterated again (a one-shot iterator or generator?); pass a re-iterable "
                f"such as a list or a DataLoader, or num_steps <= {total}"
            )
        total += count
        iterator = iter(dataset)


def _unpack(what: str, batch: Any) -> tuple[Any, ...]:
    if not isinstance(batch, tuple | list) or len(batch) not in (2, 3):
        size = f" of length {len(batch)}" if isinstance(batch, tuple | list) else ""
        raise TypeError(
            f"{_FIND_LR}: {what} must be an (x, y) or (x, y, sample_weight) tuple, got a "
            f"{type(batch).__name__}{size}"
        )
    return tuple(batch)


def _loss(logs: Any, source: str) -> float:
    if not isinstance(logs, dict) or "loss" not in logs:
        keys = sorted(logs) if isinstance(logs, dict) else type(logs).__name__
        raise ValueError(f"{_FIND_LR}: {source} returned no 'loss' (got {keys})")
    return float(logs["loss"])


def find_lr(
    model: keras.Model,
    x: Any = None,
    y: Any = None,
    *,
    dataset: Iterable[Any] | None = None,
    batch_size: int = 32,
    start_value: float = 1e-7,
    end_value: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    validation_data: tuple[Any, ...] | None = None,
) -> RangeTestResult:
    r"""The LR range test (Smith 2017) on a compiled Keras model, which it leaves unchanged.

    Step ``i = 0 .. num_steps - 1`` is one ``model.train_on_batch`` with the learning rate

    .. math:: \text{exp: } \eta_i = \eta_0 \left(\frac{\eta_1}{\eta_0}\right)^{i/(n-1)}
        \qquad \text{linear: } \eta_i = \eta_0 + (\eta_1 - \eta_0)\,\frac{i}{n-1}

    (:math:`\eta_0` = ``start_value``, :math:`\eta_1` = ``end_value``, ``n`` =
    ``num_steps``; :func:`lrlab.finder.sweep_schedule`), and records the rate as the
    optimizer applied it (rounded to ``keras.config.floatx()``) and the loss :math:`\ell_i`:
    the batch's training loss, or with ``validation_data`` the ``model.evaluate`` loss
    over it after the step. The test stops early when the loss is not finite
    (``"non_finite"``, that loss recorded) or when the smoothed loss
    :math:`\bar\ell_i` (bias-corrected EMA, :class:`lrlab.finder.Smoother`) leaves the
    best one so far by more than ``diverge_factor`` allows (``"diverged"``,
    :func:`lrlab.finder.diverged`)

    .. math:: \bar\ell_i - \min_{j \le i} \bar\ell_j > (f - 1)\,\max(|\min_{j \le i}
        \bar\ell_j|, 10^{-12})

    which works for negative losses too; otherwise it ends ``"completed"``.

    **Restore.** Whatever happens (normal end, divergence, an exception, ``Ctrl+C``),
    before it returns or raises the test puts back the value of every variable that
    training can change: all of ``model.variables`` (weights, BatchNormalization
    statistics, seed-generator states), ``model.metrics_variables`` and
    ``optimizer.variables`` (iterations, momentums, Adam moments, the float learning rate),
    and the very learning-rate object the optimizer was built with (a float's variable, a
    :func:`schedule`, any ``LearningRateSchedule``), so ``fit`` continues the schedule at
    the same ``iterations``; during the sweep it is replaced by a private callable that
    ``optimizer.variables`` does not list. It also restores Python's ``random``, numpy's
    global generator, torch's CPU (and initialized CUDA) generators, which drive unseeded
    dropout on the torch backend, Keras' global ``SeedGenerator`` and
    ``model.stop_training``. A model or optimizer that is not built yet is built first, as
    ``fit`` would build it (the optimizer with ``iterations = 0`` and zero slots), and left
    built in that fresh state. Not restored: Keras' cached ``train_function`` and
    ``test_function`` (pure caches), and whatever ``dataset`` itself keeps.

    Args:
        model: A compiled Keras 3 model; its loss is read from the ``"loss"`` entry of the
            logs of ``train_on_batch`` (and ``evaluate``).
        x: Inputs, a numpy array with one row per sample (with ``y``). Batches are slices
            of a shuffled stream: each pass over the rows is a new permutation from a
            private ``numpy.random.default_rng(0)``, so the global RNGs are not used, the
            order is the same in every call, and every batch has ``batch_size`` rows.
        y: Targets, a numpy array with as many rows as ``x``.
        dataset: Instead of ``x, y``: an iterable of ``(x, y)`` or
            ``(x, y, sample_weight)`` batches (a list, a ``torch.utils.data.DataLoader``,
            ...), taken in its own order and iterated again when it runs out before
            ``num_steps``. Several inputs go this way.
        batch_size: Rows per batch for ``x, y``, ``1 <= batch_size <= len(x)``; also the
            batch size of the validation ``evaluate``.
        start_value: LR of the first step, ``> 0``.
        end_value: LR of the last step, ``> start_value``.
        num_steps: Steps in the sweep, ``>= 2`` (one optimizer update each).
        mode: ``"exp"`` (geometric) or ``"linear"`` spacing.
        smoothing: EMA factor ``beta`` in ``[0, 1)`` for the smoothed loss (``0``: none).
        diverge_factor: ``f > 1`` in the divergence rule above.
        validation_data: ``(x, y)`` or ``(x, y, sample_weight)`` to evaluate after every
            step (costly: a full ``evaluate`` per step); its loss then is the curve.

    Returns:
        A :class:`lrlab.finder.RangeTestResult` (``suggest()``, ``bounds()``, ``plot()``,
        ``to_dict()``); with ``validation_data`` its ``losses`` and ``val_losses`` are the
        validation losses.

    Raises:
        TypeError: If ``model`` is not a ``keras.Model``, an argument has the wrong type,
            or a batch is not an ``(x, y[, sample_weight])`` tuple.
        ValueError: If the model is not compiled, an argument is out of range (the
            message names it), both or neither of ``x, y`` and ``dataset`` are given, the
            arrays disagree in length, ``dataset`` is empty or cannot be iterated again,
            or the logs hold no ``"loss"``.

    Note:
        With ``gradient_accumulation_steps=k`` in the optimizer, each step is still one
        batch, but the weights move only every ``k``-th step. On the torch backend no
        ``torch.Generator`` state other than the CPU and CUDA ones is restored.

    Example:
        >>> import keras, numpy as np, lrlab.keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="mse")
        >>> rows = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
        >>> result = lrlab.keras.find_lr(
        ...     model, rows, rows.sum(axis=1, keepdims=True), batch_size=8,
        ...     end_value=1e-2, num_steps=20)
        >>> result.stop_reason, result.steps, int(model.optimizer.iterations)
        ('completed', 20, 0)
    """
    schedule = sweep_schedule(start_value, end_value, num_steps, mode)
    steps = check.as_length(_FIND_LR, "num_steps", num_steps, at_least=2)
    beta = check_smoothing(smoothing)
    factor = check_diverge_factor(diverge_factor)
    size = check.as_length(_FIND_LR, "batch_size", batch_size)
    model = _compiled(model)
    if validation_data is not None:
        validation_data = _unpack("validation_data", validation_data)
    if dataset is not None and (x is not None or y is not None):
        raise ValueError(f"{_FIND_LR}: pass either x and y or dataset, not both")
    lrs = schedule(np.arange(steps))

    rng = _RandomState()  # before iter(dataset): a shuffling DataLoader draws a seed there
    try:
        batches = _array_batches(x, y, size) if dataset is None else _dataset_batches(dataset)
        first = next(batches)
        model._symbolic_build(data_batch=first)  # what fit does first: build what is not
        saved = [(variable, _copy(variable)) for variable in _state_variables(model)]
        optimizer = _optimizer(model)
        own_rate = _owner_of_lr(optimizer)
        stop_training = model.stop_training
        rate = _SweepRate(float(lrs[0]))
        # object.__setattr__: the optimizer's __setattr__ would track (or untrack) variables.
        object.__setattr__(optimizer, "_learning_rate", rate)
        try:
            return _sweep(model, rate, lrs, first, batches, validation_data, size, beta, factor)
        finally:
            object.__setattr__(optimizer, "_learning_rate", own_rate)
            for variable, value in saved:
                variable.assign(value)
            model.stop_training = stop_training
    finally:
        rng.restore()


def _sweep(
    model: keras.Model,
    rate: _SweepRate,
    lrs: np.ndarray,
    first: tuple[Any, ...],
    batches: Iterator[tuple[Any, ...]],
    validation_data: tuple[Any, ...] | None,
    batch_size: int,
    beta: float,
    factor: float,
) -> RangeTestResult:
    smoother = Smoother(beta)
    used: list[float] = []
    losses: list[float] = []
    best = math.inf
    stop_reason = "completed"
    for step, lr in enumerate(lrs):
        batch = first if step == 0 else next(batches)
        used.append(rate.set(float(lr)))
        loss = _loss(model.train_on_batch(*batch, return_dict=True), "train_on_batch")
        if validation_data is not None:
            x, y, *weights = validation_data
            logs = model.evaluate(
                x,
                y,
                sample_weight=weights[0] if weights else None,
                batch_size=batch_size,
                verbose=0,
                return_dict=True,
            )
            loss = _loss(logs, "evaluate")
        losses.append(loss)
        if not math.isfinite(loss):
            stop_reason = "non_finite"
            break
        smoothed = smoother.update(loss)
        best = min(best, smoothed)
        if diverged(smoothed, best, factor):
            stop_reason = "diverged"
            break
    return RangeTestResult(
        used,
        losses,
        beta,
        stop_reason,
        len(lrs),
        val_losses=None if validation_data is None else losses,
    )
