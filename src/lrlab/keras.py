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

from typing import Any

try:
    import keras
except ImportError as error:
    raise ImportError(
        "lrlab.keras needs Keras 3: pip install 'lrlab[keras]' "
        "(lrlab runs Keras on PyTorch: set KERAS_BACKEND=torch)"
    ) from error

from lrlab.schedules import InverseTime, Plateau, Schedule, from_dict, parse
from lrlab.schedules import _validate as check
from lrlab.schedules._plateau import apply_multiplier
from lrlab.schedules._validate import describe

__all__ = [
    "PlateauCallback",
    "ScheduleCallback",
    "ScheduleLR",
    "callback",
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


def _as_schedule(name: str, value: Any) -> Schedule:
    if isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        return parse(value)
    raise TypeError(f"{_NAME}: {name} must be a Schedule or a spec string, got {describe(value)}")


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
        self.schedule = _as_schedule("schedule", schedule)
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
        self.schedule = _as_schedule("schedule", schedule)
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
