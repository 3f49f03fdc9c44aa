"""The settings of one lab run, validated, and how its schedule is resolved.

A :class:`RunConfig` is what ``lrlab run`` builds from its flags, what ``lrlab compare``
builds per schedule and seed, and what the run store keeps (``to_dict``), so that
``lrlab resume`` rebuilds the same run. Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from lrlab.schedules import Schedule, parse, preset, preset_names

OPTIMIZERS = ("sgd", "adam", "adamw")
"""Optimizers a run can use."""

AUGMENTATIONS = ("flip", "crop", "cutout")
"""On-device image augmentations, applied in this order (see :mod:`lrlab.lab.augment`)."""

UNITS = ("step", "epoch")
"""What a schedule's ``t`` counts: optimizer steps, or epochs."""

DEVICES = ("auto", "cpu", "cuda")
"""Where a run trains; ``auto`` is CUDA when available, else the CPU."""

AUTO = "auto"
"""The schedule name that runs the LR range test, then one-cycle at its suggestion."""

DEFAULT_LR = 0.01
"""The initial LR of a preset when a run gives none (Keras' SGD default)."""


def _integer(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"run config: {name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"run config: {name} must be >= {low}, got {value!r}")
    return value


def _number(name: str, value: Any, *, low: float, strict: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"run config: {name} must be a number, got {value!r}")
    number = float(value)
    below = number <= low if strict else number < low
    if not math.isfinite(number) or below:
        bound = f"> {low}" if strict else f">= {low}"
        raise ValueError(f"run config: {name} must be finite and {bound}, got {value!r}")
    return number


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"run config: {name} must be one of {choices}, got {value!r}")
    return value


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"run config: {name} must be a non-empty string, got {value!r}")
    return value.strip()


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Every setting of a lab run.

    Attributes:
        dataset: A name from :func:`lrlab.lab.data.dataset_names`.
        model: A name from :func:`lrlab.lab.models.model_names`.
        schedule: A preset name (``none``, ``standard``, ``step``, ...; see
            :func:`lrlab.preset_names`), spec text such as ``"cosine(init_value=0.1,
            total_steps=500)"``, or ``"auto"`` (range test, then one-cycle).
        lr: Initial LR of a preset, in LR units; ``None`` means :data:`DEFAULT_LR`. Spec
            text carries its own LRs, so giving ``lr`` with spec text is an error.
        epochs: Passes over the training set.
        batch_size: Examples per optimizer step; the last batch of an epoch may be smaller.
        optimizer: One of :data:`OPTIMIZERS`.
        momentum: SGD momentum (``sgd`` only), in ``[0, 1)``.
        nesterov: Nesterov momentum (``sgd`` only; needs ``momentum > 0``).
        weight_decay: Coefficient added as ``weight_decay * w`` to the gradient of each conv
            and dense kernel; ``None`` uses the model's reference L2 (``model.weight_decay``).
        unit: What the schedule's ``t`` counts for spec text: ``"step"`` (optimizer steps)
            or ``"epoch"`` (the LR changes at epoch boundaries). Presets are built in steps.
        augment: On-device image augmentations, a subset of :data:`AUGMENTATIONS`.
        seed: Seeds the weights, the batch order and the augmentations.
        data_seed: Seeds the train/test split and the ``limit`` subset.
        limit: Train on a class-balanced subset of this many rows (tests, quick studies).
        device: One of :data:`DEVICES`.
        threads: CPU threads for torch; ``None`` picks 1 for vector data (tiny matmuls run
            faster on one thread) and torch's default for images.
        compile: Run the model through ``torch.compile``.
        model_options: Extra keywords for the model builder (``stages``, ``filters``, ...).
    """

    dataset: str
    model: str
    schedule: str = "none"
    lr: float | None = None
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float | None = None
    unit: str = "step"
    augment: tuple[str, ...] = ()
    seed: int = 0
    data_seed: int = 0
    limit: int | None = None
    device: str = "auto"
    threads: int | None = None
    compile: bool = False
    model_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        """Validate every field.

        Raises:
            TypeError: If a field has the wrong type.
            ValueError: If a field is out of range, naming the field and the value.
        """
        set_field = object.__setattr__
        set_field(self, "dataset", _text("dataset", self.dataset))
        set_field(self, "model", _text("model", self.model))
        set_field(self, "schedule", _text("schedule", self.schedule))
        if self.lr is not None:
            set_field(self, "lr", _number("lr", self.lr, low=0.0, strict=True))
            if not self.is_preset:
                raise ValueError(
                    f"run config: lr applies to preset schedules only; {self.schedule!r} "
                    "sets its own LRs"
                )
        _integer("epochs", self.epochs, 1)
        _integer("batch_size", self.batch_size, 1)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        momentum = _number("momentum", self.momentum, low=0.0, strict=False)
        if momentum >= 1.0:
            raise ValueError(f"run config: momentum must be < 1, got {self.momentum!r}")
        set_field(self, "momentum", momentum)
        if not isinstance(self.nesterov, bool):
            raise TypeError(f"run config: nesterov must be True or False, got {self.nesterov!r}")
        if self.nesterov and (self.optimizer != "sgd" or momentum == 0.0):
            raise ValueError("run config: nesterov needs optimizer 'sgd' and momentum > 0")
        if self.weight_decay is not None:
            decay = _number("weight_decay", self.weight_decay, low=0.0, strict=False)
            set_field(self, "weight_decay", decay)
        _choice("unit", self.unit, UNITS)
        if isinstance(self.augment, str) or not isinstance(self.augment, tuple | list):
            raise TypeError(f"run config: augment must be a list of names, got {self.augment!r}")
        for name in self.augment:
            _choice("augment", name, AUGMENTATIONS)
        set_field(self, "augment", tuple(n for n in AUGMENTATIONS if n in self.augment))
        _integer("seed", self.seed, 0)
        _integer("data_seed", self.data_seed, 0)
        if self.limit is not None:
            _integer("limit", self.limit, 1)
        _choice("device", self.device, DEVICES)
        if self.threads is not None:
            _integer("threads", self.threads, 1)
        if not isinstance(self.compile, bool):
            raise TypeError(f"run config: compile must be True or False, got {self.compile!r}")
        if not isinstance(self.model_options, Mapping):
            raise TypeError(
                f"run config: model_options must be a mapping, got {self.model_options!r}"
            )
        set_field(self, "model_options", dict(self.model_options))

    @property
    def is_preset(self) -> bool:
        """Whether :attr:`schedule` names a preset."""
        return self.schedule in preset_names()

    def resolve_schedule(self, steps_per_epoch: int) -> Schedule:
        """The schedule this run trains with, in the time unit :attr:`unit`.

        Args:
            steps_per_epoch: Optimizer steps per epoch (presets are built in steps).

        Returns:
            The preset built with ``lr`` (or :data:`DEFAULT_LR`) and ``epochs``, or the
            parsed spec text.

        Raises:
            ValueError: For ``"auto"`` (resolved by the range test, not here) or a bad spec.
        """
        if self.schedule == AUTO:
            raise ValueError("run config: schedule 'auto' is resolved by the range test")
        if self.is_preset:
            init = DEFAULT_LR if self.lr is None else self.lr
            return preset(
                self.schedule, init_value=init, epochs=self.epochs, steps_per_epoch=steps_per_epoch
            )
        return parse(self.schedule)

    @property
    def schedule_unit(self) -> str:
        """The unit the resolved schedule counts: presets and ``auto`` count steps."""
        return "step" if self.is_preset or self.schedule == AUTO else self.unit

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict; :meth:`from_dict` reverses it."""
        record = dataclasses.asdict(self)
        record["augment"] = list(self.augment)
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> RunConfig:
        """Build a config from :meth:`to_dict` output or a config file's table.

        Raises:
            TypeError: If ``record`` is not a mapping, lacks ``dataset`` or ``model``, or
                has an unknown key.
            ValueError: If a value is invalid.
        """
        if not isinstance(record, Mapping):
            raise TypeError(f"run config must be a mapping, got {type(record).__name__}")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(record) - known)
        if unknown:
            raise TypeError(
                f"run config: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}"
            )
        missing = [name for name in ("dataset", "model") if name not in record]
        if missing:
            raise TypeError(f"run config: {missing[0]!r} is required")
        values = dict(record)
        if isinstance(values.get("augment"), list):
            values["augment"] = tuple(values["augment"])
        return cls(**values)

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)
