"""PyTorch adapter: an ``LRScheduler`` that sets ``lr = schedule(t)`` in closed form.

>>> import torch, lrlab, lrlab.torch
>>> model = torch.nn.Linear(2, 1)
>>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> scheduler = lrlab.torch.scheduler(optimizer, "one_cycle(peak_value=0.1, total_steps=100)")
>>> for _ in range(3):
...     optimizer.step()
...     scheduler.step()
>>> scheduler.get_last_lr() == [lrlab.parse("one_cycle(peak_value=0.1, total_steps=100)")(3)]
True

The scheduler never chains from the current LR: at every step it evaluates the schedule at
the current time, so resuming, composing and changing param groups cannot drift. No
schedule math lives here; values come from :mod:`lrlab.schedules`.
"""

from __future__ import annotations

import contextlib
import math
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

try:
    import torch
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler
except ImportError as error:  # pragma: no cover - exercised only without torch
    raise ImportError("lrlab.torch needs PyTorch: pip install 'lrlab[torch]'") from error

from lrlab.schedules import Constant, PerEpoch, Plateau, Schedule, from_dict
from lrlab.schedules._ops import SCALAR
from lrlab.schedules._validate import describe
from lrlab.schedules.spec import as_schedule

__all__ = ["ScheduleLR", "find_lr", "plateau", "scheduler", "suspended"]

_OWNER = "lrlab.torch"
_UNITS = ("step", "epoch")
_STATE_FORMAT = "lrlab.torch.ScheduleLR/1"
_STATE_KEYS = ("unit", "steps_per_epoch", "hold", "time", "optimizer_stepped", "groups", "plateau")
_OWNERS: weakref.WeakKeyDictionary[Optimizer, weakref.ref[ScheduleLR]] = weakref.WeakKeyDictionary()
"""The scheduler that currently drives each optimizer; a new one detaches the old one."""

ScheduleLike = Schedule | str
Schedules = ScheduleLike | Sequence[ScheduleLike] | Mapping[int | str, ScheduleLike]


class _GroupPlan:
    """What one param group follows: an LR schedule and, optionally, a momentum schedule."""

    __slots__ = ("lr", "momentum", "momentum_key")

    def __init__(self, lr: Schedule, momentum: Schedule | None, momentum_key: str | None):
        self.lr = lr
        self.momentum = momentum
        self.momentum_key = momentum_key

    def to_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr.to_dict(),
            "momentum": None if self.momentum is None else self.momentum.to_dict(),
            "momentum_key": self.momentum_key,
        }


class ScheduleLR(LRScheduler):
    """A torch ``LRScheduler`` driven by lrlab schedules; build it with :func:`scheduler`.

    Time ``t`` starts at 0. With ``unit="step"`` (or an epoch schedule given
    ``steps_per_epoch``), :meth:`step` is called after every ``optimizer.step()`` and
    ``t`` counts the optimizer steps that really happened: a step that ``GradScaler``
    skipped (``optimizer.step()`` not run) does not advance ``t``. With ``unit="epoch"``
    and no ``steps_per_epoch``, :meth:`step` is called once per epoch and ``t`` counts
    epochs.

    Each optimizer step runs with ``lr = schedule(t)`` (times the plateau multiplier, if
    any). An LR written into the optimizer from outside, for example by
    ``optimizer.load_state_dict`` after the scheduler was restored, is detected before the
    next optimizer step, replaced by the schedule's value, and reported with a warning.

    Attributes:
        plans: Per param group, the LR schedule and the momentum schedule in use.
        plateau: The reduce-on-plateau controller, or ``None``.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        plans: Sequence[_GroupPlan],
        *,
        unit: str,
        steps_per_epoch: int | None,
        hold: bool,
        plateau: Plateau | None,
        tensor_lr: bool,
    ) -> None:
        self._ready = False
        self.plans = list(plans)
        self.plateau = plateau
        self._unit = unit
        self._steps_per_epoch = steps_per_epoch
        self._counts_optimizer_steps = unit == "step" or steps_per_epoch is not None
        self._hold = hold
        durations = [plan.lr.duration for plan in self.plans]
        finite = [end for end in durations if end is not None]
        self._end = math.inf if hold or not finite else min(finite)
        self._time = 0
        self._optimizer_stepped = False  # set by the optimizer hook, cleared by step()
        self._applied: list[Any] = [None] * len(self.plans)
        self._values: list[float | None] = [None] * len(self.plans)
        if tensor_lr:
            _tensorize_lrs(optimizer)
        super().__init__(optimizer)
        previous = _OWNERS.get(optimizer)
        if previous is not None and previous() is not None:
            previous()._detach()
        _OWNERS[optimizer] = weakref.ref(self)
        self._hook = _install_hook(optimizer, weakref.ref(self))
        self._ready = True
        self._apply()

    # -- time -------------------------------------------------------------------------

    @property
    def time(self) -> int:
        """The schedule time of the current LR: optimizer steps (or epochs) done."""
        return self._time

    def step(self) -> None:  # type: ignore[override]
        """Advance time by one and set the LR (and momentum) for the next optimizer step.

        Raises:
            ValueError: If this steps past the end of a finite schedule (its
                ``duration``) and the scheduler was built without ``hold=True``.
        """
        if not self._ready:  # the base class steps once while constructing
            return
        if self._counts_optimizer_steps:
            if not self._optimizer_stepped:
                return  # no optimizer step since the last call (e.g. GradScaler skipped it)
            self._optimizer_stepped = False
        time = self._time + 1
        if time > self._end:
            self._raise_past_end(time)
        self._time = time
        self._apply()

    def _raise_past_end(self, time: int) -> None:
        unit = self._time_unit()
        for index, plan in enumerate(self.plans):
            end = plan.lr.duration
            if end is not None and time > end:
                raise ValueError(
                    f"lrlab.torch: stepped past the end of the schedule of param group "
                    f"{index}: {plan.lr!r} lasts {end} {unit}s and step() would set the LR "
                    f"for {unit} {time}. The training length was probably counted wrong "
                    "(gradient accumulation, world size, drop_last: see lrlab.total_steps); "
                    "pass hold=True to keep the final LR."
                )

    def _time_unit(self) -> str:
        return "step" if self._counts_optimizer_steps else "epoch"

    # -- values -----------------------------------------------------------------------

    def get_lr(self) -> list[float]:
        """The LR of each param group at the current time (no side effects)."""
        time = float(self._time)
        plateau = self.plateau
        values = []
        shared, value = None, 0.0
        for plan in self.plans:
            if plan.lr is not shared:  # groups usually share one schedule object
                shared, value = plan.lr, _value_at(plan.lr, time)
            values.append(value if plateau is None else plateau.apply(value))
        return values

    def get_last_lr(self) -> list[float | torch.Tensor]:
        """The LR each param group got at the last :meth:`step` (tensors are copies)."""
        return [
            value.clone() if isinstance(value, torch.Tensor) else value for value in self._applied
        ]

    def _apply(self) -> None:
        time = float(self._time)
        groups = self.optimizer.param_groups
        applied, previous = self._applied, self._values
        values = self.get_lr()
        shared, momentum = None, 0.0
        for index, plan in enumerate(self.plans):
            group, value = groups[index], values[index]
            current = group["lr"]
            if isinstance(current, torch.Tensor):
                if value != previous[index] or current is not applied[index]:
                    current.fill_(value)
                applied[index] = current
            else:
                group["lr"] = applied[index] = value
            if plan.momentum is not None:
                if plan.momentum is not shared:
                    shared, momentum = plan.momentum, _value_at(plan.momentum, time)
                if plan.momentum_key == "betas":
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        self._values = values
        self.last_epoch = self._time

    def _before_optimizer_step(self) -> None:
        """Note that the optimizer steps, and restore any LR changed from outside.

        It only writes a constant flag (counting happens in :meth:`step`), so a
        ``torch.compile``d optimizer step that traces this hook never guards on it.
        """
        self._optimizer_stepped = True
        applied = self._applied
        for index, group in enumerate(self.optimizer.param_groups):
            if group["lr"] is not applied[index]:
                self._restore_outside_change()
                return

    def _restore_outside_change(self) -> None:
        changed = [
            index
            for index, group in enumerate(self.optimizer.param_groups)
            if group["lr"] is not self._applied[index]
        ]
        outside = {index: self.optimizer.param_groups[index]["lr"] for index in changed}
        self._apply()
        warnings.warn(
            f"lrlab.torch: the LR of param group(s) {changed} was changed outside the "
            f"scheduler (to {outside}); the schedule sets {self._values} at "
            f"{self._time_unit()} {self._time}. Change the schedule instead, or restore the "
            "scheduler with load_state_dict after optimizer.load_state_dict.",
            UserWarning,
            stacklevel=4,
        )

    def _detach(self) -> None:
        """Stop acting on the optimizer (a newer scheduler took it over)."""
        self._hook.remove()

    # -- plateau ----------------------------------------------------------------------

    def report(self, metric: float) -> bool:
        """Feed the monitored metric to the plateau controller (once per epoch).

        A reduction applies from the next optimizer step.

        Args:
            metric: The metric value (a float, or a 0-dim tensor).

        Returns:
            ``True`` if this report reduced the LR.

        Raises:
            ValueError: If the scheduler has no plateau, or the metric is not finite.
        """
        if self.plateau is None:
            raise ValueError(
                "lrlab.torch: this scheduler has no plateau controller; "
                "build it with lrlab.torch.plateau(...) to report metrics"
            )
        reduced = self.plateau.update(metric)
        if reduced:
            self._apply()
        return reduced

    # -- checkpoints ------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot: time, counters, schedules and plateau state."""
        return {
            "format": _STATE_FORMAT,
            "unit": self._unit,
            "steps_per_epoch": self._steps_per_epoch,
            "hold": self._hold,
            "time": self._time,
            "optimizer_stepped": self._optimizer_stepped,
            "groups": [plan.to_dict() for plan in self.plans],
            "plateau": None if self.plateau is None else self.plateau.state_dict(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Continue from a snapshot made by :meth:`state_dict`.

        Time and counters come from the snapshot; the schedules, unit and options of
        *this* scheduler are kept. Where the snapshot's schedules or options differ (a new
        LR or schedule on resume), this scheduler's win and a warning names both. The LRs
        are set again at once, so an LR loaded into the optimizer is overridden.

        Raises:
            TypeError: If ``state_dict`` is not a dict.
            ValueError: If it is not an lrlab scheduler state, or has a different number
                of param groups.
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"lrlab.torch: state_dict must be a dict, got {describe(state_dict)}")
        if state_dict.get("format") != _STATE_FORMAT:
            raise ValueError(
                f"lrlab.torch: state_dict is not a {_STATE_FORMAT} state "
                f"(format {state_dict.get('format')!r})"
            )
        missing = [key for key in _STATE_KEYS if key not in state_dict]
        if missing:
            raise ValueError(f"lrlab.torch: state_dict is missing {missing}")
        saved_groups = state_dict["groups"]
        if len(saved_groups) != len(self.plans):
            raise ValueError(
                f"lrlab.torch: the state has {len(saved_groups)} param groups, "
                f"this scheduler has {len(self.plans)}"
            )
        self._warn_on_changes(state_dict)
        self._time = _non_negative_int("time", state_dict["time"])
        stepped = state_dict["optimizer_stepped"]
        if not isinstance(stepped, bool):
            raise ValueError(
                f"lrlab.torch: state optimizer_stepped must be True or False, got {stepped!r}"
            )
        self._optimizer_stepped = stepped
        saved_plateau = state_dict["plateau"]
        if self.plateau is not None and saved_plateau is not None:
            self.plateau.load_state_dict(saved_plateau)
        self._apply()

    def _warn_on_changes(self, state: dict[str, Any]) -> None:
        differences = []
        for index, (plan, saved) in enumerate(zip(self.plans, state["groups"], strict=True)):
            old, new = from_dict(saved["lr"]), plan.lr
            if old != new:
                differences.append(f"param group {index}: schedule {old!r} -> {new!r}")
            if saved["momentum"] != (None if plan.momentum is None else plan.momentum.to_dict()):
                differences.append(f"param group {index}: momentum cycling changed")
        for key, value in (
            ("unit", self._unit),
            ("steps_per_epoch", self._steps_per_epoch),
            ("hold", self._hold),
        ):
            if state[key] != value:
                differences.append(f"{key} {state[key]!r} -> {value!r}")
        if (state["plateau"] is None) != (self.plateau is None) or (
            self.plateau is not None and state["plateau"]["config"] != self.plateau.config()
        ):
            differences.append("plateau options changed")
        if differences:
            warnings.warn(
                "lrlab.torch: resuming with settings that differ from the checkpoint; the new "
                "ones apply from the next step: " + "; ".join(differences),
                UserWarning,
                stacklevel=2,
            )


def _value_at(schedule: Schedule, time: float) -> float:
    """``schedule(time)`` for a time the scheduler counted itself (an integer >= 0).

    The formula runs directly on the scalar namespace, skipping the argument checks of
    :meth:`Schedule.__call__`; a non-finite result goes through ``__call__``, which raises
    the ``ValueError`` that names the schedule.
    """
    try:
        value = float(schedule.compute(time, SCALAR))
    except OverflowError:
        return schedule(time)
    if value - value != 0.0:  # inf or NaN
        return schedule(time)
    return value


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"lrlab.torch: state {name} must be an integer >= 0, got {value!r}")
    return value


@contextlib.contextmanager
def suspended(optimizer: Optimizer) -> Iterator[None]:
    """Detach the lrlab scheduler driving ``optimizer`` (if any) for the ``with`` block.

    Inside the block the scheduler neither counts optimizer steps nor restores LRs written
    from outside, so other code (the LR range test) may set the LR freely; on exit it is
    attached again, its time unchanged. The caller puts back the very ``group["lr"]``
    objects it replaced; any other LR is restored by the scheduler, with a warning, before
    the next optimizer step.

    Example:
        >>> import torch, lrlab.torch
        >>> optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> scheduler = lrlab.torch.scheduler(optimizer, "constant(value=0.1)")
        >>> saved = optimizer.param_groups[0]["lr"]
        >>> with lrlab.torch.suspended(optimizer):
        ...     optimizer.param_groups[0]["lr"] = 0.5
        ...     optimizer.step()
        ...     optimizer.param_groups[0]["lr"] = saved
        >>> optimizer.step()
        >>> scheduler.step()
        >>> scheduler.time
        1
    """
    owner = _OWNERS.get(optimizer)
    scheduler = None if owner is None else owner()
    if scheduler is None:
        yield
        return
    scheduler._detach()
    try:
        yield
    finally:
        if _OWNERS.get(optimizer) is owner:  # no newer scheduler took over meanwhile
            scheduler._hook = _install_hook(optimizer, owner)


def _install_hook(optimizer: Optimizer, owner: weakref.ref[ScheduleLR]) -> Any:
    """One optimizer pre-step hook, reaching the scheduler through a weak reference.

    It runs only when ``optimizer.step()`` really runs (``GradScaler`` skips the call on an
    overflow): it restores an LR changed from outside, then counts the step.
    """

    def before_step(_optimizer: Optimizer, _args: Any, _kwargs: Any) -> None:
        scheduler = owner()
        if scheduler is not None:
            scheduler._before_optimizer_step()

    return optimizer.register_step_pre_hook(before_step)


def _tensorize_lrs(optimizer: Optimizer) -> None:
    """Store each group's LR as a 0-dim float tensor on the device of its parameters."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            continue
        device = group["params"][0].device if group["params"] else torch.device("cpu")
        group["lr"] = torch.tensor(float(group["lr"]), dtype=torch.float32, device=device)


def _check_optimizer(optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"lrlab.torch: optimizer must be a torch Optimizer, got {describe(optimizer)}"
        )
    return optimizer


def _group_schedules(optimizer: Optimizer, schedule: Any) -> list[Schedule]:
    """One schedule per param group, scaled for groups with their own LR when shared."""
    groups = optimizer.param_groups
    if isinstance(schedule, Schedule | str):
        shared = as_schedule(schedule, _OWNER, "schedule")
        reference = _number(optimizer.defaults.get("lr", 0.0))
        result = []
        for index, group in enumerate(groups):
            base = _number(group.get("initial_lr", group["lr"]))
            if base == reference:
                result.append(shared)
            elif reference == 0.0:
                raise ValueError(
                    f"lrlab.torch: param group {index} has lr={base!r} but the optimizer's "
                    "default lr is 0, so the shared schedule cannot be scaled to it; pass "
                    "one schedule per group (a list or a dict)"
                )
            else:
                result.append((base / reference) * shared)
        return result
    if isinstance(schedule, Mapping):
        names = {group.get("name"): index for index, group in enumerate(groups) if "name" in group}
        by_index: dict[int, Schedule] = {}
        for key, value in schedule.items():
            if isinstance(key, str) and key in names:
                index = names[key]
            elif isinstance(key, int) and not isinstance(key, bool) and 0 <= key < len(groups):
                index = key
            else:
                raise ValueError(
                    f"lrlab.torch: schedule key {key!r} is neither a param group index in "
                    f"[0, {len(groups)}) nor a group 'name' ({sorted(map(str, names))})"
                )
            if index in by_index:
                raise ValueError(f"lrlab.torch: param group {index} has two schedules")
            by_index[index] = as_schedule(value, _OWNER, f"schedule[{key!r}]")
        missing = [index for index in range(len(groups)) if index not in by_index]
        if missing:
            raise ValueError(f"lrlab.torch: no schedule for param group(s) {missing}")
        return [by_index[index] for index in range(len(groups))]
    if isinstance(schedule, Sequence):
        if len(schedule) != len(groups):
            raise ValueError(
                f"lrlab.torch: got {len(schedule)} schedules for {len(groups)} param groups"
            )
        return [as_schedule(value, _OWNER, f"schedule[{i}]") for i, value in enumerate(schedule)]
    raise TypeError(
        "lrlab.torch: schedule must be a Schedule, a spec string, a list or a dict of them, "
        f"got {describe(schedule)}"
    )


def _number(value: Any) -> float:
    return float(value.item()) if isinstance(value, torch.Tensor) else float(value)


def _momentum_key(group: dict[str, Any]) -> str | None:
    if "betas" in group:
        return "betas"
    if "momentum" in group:
        return "momentum"
    return None


def _plans(
    optimizer: Optimizer,
    schedules: list[Schedule],
    cycle_momentum: bool | None,
    base_momentum: float | None,
    max_momentum: float | None,
) -> list[_GroupPlan]:
    plans: list[_GroupPlan] = []
    for index, (group, lr_schedule) in enumerate(
        zip(optimizer.param_groups, schedules, strict=True)
    ):
        if plans and plans[-1].lr is lr_schedule and plans[-1].momentum is not None:
            momentum = plans[-1].momentum  # one object, evaluated once per step
        else:
            momentum = lr_schedule.momentum(base_momentum, max_momentum)
        key = _momentum_key(group)
        if cycle_momentum is True and momentum is None:
            raise ValueError(
                f"lrlab.torch: cycle_momentum=True but {lr_schedule!r} (param group {index}) "
                "does not cycle momentum; only cyclic and one_cycle do"
            )
        if cycle_momentum is True and key is None:
            raise ValueError(
                f"lrlab.torch: cycle_momentum=True but {type(optimizer).__name__} has no "
                "'momentum' or 'betas' to cycle"
            )
        uses_momentum = key == "betas" or (key == "momentum" and _number(group["momentum"]) > 0)
        if cycle_momentum is False or (cycle_momentum is None and not uses_momentum):
            momentum = None
        plans.append(_GroupPlan(lr_schedule, momentum, key if momentum is not None else None))
    return plans


def _options(
    unit: str, steps_per_epoch: int | None, hold: bool, tensor_lr: bool
) -> tuple[str, int | None]:
    if unit not in _UNITS:
        raise ValueError(f"lrlab.torch: unit must be one of {_UNITS}, got {unit!r}")
    if steps_per_epoch is not None:
        if unit != "epoch":
            raise ValueError(
                f"lrlab.torch: steps_per_epoch={steps_per_epoch!r} applies only to "
                f"unit='epoch', got unit={unit!r}"
            )
        if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int):
            raise TypeError(
                f"lrlab.torch: steps_per_epoch must be an integer, got {describe(steps_per_epoch)}"
            )
        if steps_per_epoch < 1:
            raise ValueError(f"lrlab.torch: steps_per_epoch must be >= 1, got {steps_per_epoch!r}")
    for name, value in (("hold", hold), ("tensor_lr", tensor_lr)):
        if not isinstance(value, bool):
            raise TypeError(f"lrlab.torch: {name} must be True or False, got {describe(value)}")
    return unit, steps_per_epoch


def _build(
    optimizer: Optimizer,
    schedules: list[Schedule],
    *,
    unit: str,
    steps_per_epoch: int | None,
    hold: bool,
    cycle_momentum: bool | None,
    base_momentum: float | None,
    max_momentum: float | None,
    tensor_lr: bool,
    plateau_controller: Plateau | None,
) -> ScheduleLR:
    unit, steps_per_epoch = _options(unit, steps_per_epoch, hold, tensor_lr)
    if cycle_momentum is not None and not isinstance(cycle_momentum, bool):
        raise TypeError(
            "lrlab.torch: cycle_momentum must be True, False or None, got "
            f"{describe(cycle_momentum)}"
        )
    if steps_per_epoch is not None:
        schedules = [PerEpoch(schedule, steps_per_epoch) for schedule in schedules]
    plans = _plans(optimizer, schedules, cycle_momentum, base_momentum, max_momentum)
    return ScheduleLR(
        optimizer,
        plans,
        unit=unit,
        steps_per_epoch=steps_per_epoch,
        hold=hold,
        plateau=plateau_controller,
        tensor_lr=tensor_lr,
    )


def scheduler(
    optimizer: Optimizer,
    schedule: Schedules,
    *,
    unit: str = "step",
    steps_per_epoch: int | None = None,
    hold: bool = False,
    cycle_momentum: bool | None = None,
    base_momentum: float | None = None,
    max_momentum: float | None = None,
    tensor_lr: bool = False,
) -> ScheduleLR:
    """Drive ``optimizer`` with an lrlab schedule: ``lr = schedule(t)`` at every step.

    Args:
        optimizer: Any ``torch.optim.Optimizer``.
        schedule: A :class:`~lrlab.Schedule` or spec string for every param group, or a list
            (one per group, in order) or a dict keyed by group index or group ``"name"``.
            A single schedule gives the LR of groups that use the optimizer's default
            ``lr``; a group built with its own ``lr`` gets ``schedule(t) * lr / default``.
        unit: What the schedule's ``t`` counts: ``"step"`` (optimizer steps; call
            :meth:`ScheduleLR.step` after each ``optimizer.step()``) or ``"epoch"``.
        steps_per_epoch: With ``unit="epoch"``, step the scheduler after every optimizer
            step and change the LR at epoch boundaries (``t = floor(steps / S)``); without
            it, call :meth:`ScheduleLR.step` once per epoch.
        hold: Keep the final LR past the end of a finite schedule instead of raising.
        cycle_momentum: Cycle ``momentum`` (SGD, RMSprop) or ``betas[0]`` (Adam family)
            against the LR for ``cyclic`` and ``one_cycle``, as torch does. ``None`` cycles
            when the optimizer uses momentum (``momentum > 0`` or ``betas``); ``True``
            requires it; ``False`` never cycles.
        base_momentum: Momentum at the LR peak; ``None`` is torch's default for the kind
            (0.85 for ``one_cycle``, 0.8 for ``cyclic``).
        max_momentum: Momentum where the LR is lowest; ``None`` is torch's default (0.95,
            0.9).
        tensor_lr: Keep each group's LR in a 0-dim tensor on its parameters' device and
            update it in place, so a ``torch.compile``d optimizer step does not recompile
            when the LR changes. An LR that already is a tensor is always updated in place.

    Returns:
        The :class:`ScheduleLR`; the optimizer's LRs are already set for step 0.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range or does not fit the optimizer.
    """
    return _build(
        optimizer,
        _group_schedules(_check_optimizer(optimizer), schedule),
        unit=unit,
        steps_per_epoch=steps_per_epoch,
        hold=hold,
        cycle_momentum=cycle_momentum,
        base_momentum=base_momentum,
        max_momentum=max_momentum,
        tensor_lr=tensor_lr,
        plateau_controller=None,
    )


def plateau(
    optimizer: Optimizer,
    schedule: Schedules | None = None,
    *,
    mode: str = "min",
    factor: float = 0.1,
    patience: int = 10,
    threshold: float = 1e-4,
    threshold_mode: str = "rel",
    cooldown: int = 0,
    min_value: float = 0.0,
    unit: str = "step",
    steps_per_epoch: int | None = None,
    hold: bool = False,
    cycle_momentum: bool | None = None,
    base_momentum: float | None = None,
    max_momentum: float | None = None,
    tensor_lr: bool = False,
) -> ScheduleLR:
    """Reduce on plateau, on top of any schedule: ``lr = plateau.apply(schedule(t))``.

    Call :meth:`ScheduleLR.step` as for :func:`scheduler` and
    :meth:`ScheduleLR.report` with the monitored metric once per epoch. Without a
    schedule each group keeps its own LR until the plateau reduces it, like torch's
    ``ReduceLROnPlateau``.

    Args:
        optimizer: Any ``torch.optim.Optimizer``.
        schedule: As for :func:`scheduler`; ``None`` holds the optimizer's LRs constant.
        mode, factor, patience, threshold, threshold_mode, cooldown, min_value: The
            plateau rule; see :class:`lrlab.schedules.Plateau`.
        unit, steps_per_epoch, hold, cycle_momentum, base_momentum, max_momentum,
            tensor_lr: As for :func:`scheduler`.

    Returns:
        The :class:`ScheduleLR`, with its :attr:`~ScheduleLR.plateau` controller.

    Example:
        >>> import torch, lrlab.torch
        >>> optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
        >>> scheduler = lrlab.torch.plateau(optimizer, factor=0.5, patience=0)
        >>> scheduler.report(1.0), scheduler.report(1.0)
        (False, True)
        >>> optimizer.param_groups[0]["lr"]
        0.05
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
    _check_optimizer(optimizer)
    if schedule is None:
        schedules = [
            Constant(value=_number(group.get("initial_lr", group["lr"])))
            for group in optimizer.param_groups
        ]
    else:
        schedules = _group_schedules(optimizer, schedule)
    return _build(
        optimizer,
        schedules,
        unit=unit,
        steps_per_epoch=steps_per_epoch,
        hold=hold,
        cycle_momentum=cycle_momentum,
        base_momentum=base_momentum,
        max_momentum=max_momentum,
        tensor_lr=tensor_lr,
        plateau_controller=controller,
    )


from lrlab.finder._torch import find_lr  # noqa: E402  (last: the finder uses this module)
