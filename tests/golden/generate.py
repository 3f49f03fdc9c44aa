"""Generate golden learning-rate trajectories by stepping the real framework schedulers.

Run from the repository root with an environment that has torch, keras 3 and transformers::

    .venv/bin/python tests/golden/generate.py

This writes ``torch.json``, ``keras.json`` and ``transformers.json`` next to this script. Each
case records ``lrs[i]``, the learning rate used for update number ``i`` (step 0 is the first
update), together with ``spec``, the equivalent lrlab schedule in lrlab's spec language. The
golden test (``tests/schedules/test_golden.py``) reads only the JSON files, and the frameworks
are imported only when generating, so collecting this module (e.g. ``--doctest-modules``)
needs none of them.
"""

from __future__ import annotations

import itertools
import json
import os
import platform
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch.optim.lr_scheduler import LRScheduler

GOLDEN_DIR = Path(__file__).resolve().parent
GENERATOR = "tests/golden/generate.py"
DEFAULT_STEPS = 250
SGD_MOMENTUM = 0.9

SpecValue = bool | int | float | str | list[int] | list[float]


@dataclass(frozen=True)
class Equivalent:
    """The lrlab equivalent of one framework schedule.

    Attributes:
        spec: The lrlab spec string.
        steps: Number of steps to record.
        note: Why the recorded range is restricted, if it is.
    """

    spec: str
    steps: int = DEFAULT_STEPS
    note: str | None = None


@dataclass(frozen=True)
class Recorded:
    """One golden case: a framework schedule, its lrlab equivalent and its trajectory.

    Attributes:
        framework_name: Framework class or function name; case names are derived from it.
        source: The framework call that produced ``lrs``.
        equivalent: The lrlab equivalent.
        lrs: Learning rate used for update 0, 1, ...
    """

    framework_name: str
    source: str
    equivalent: Equivalent
    lrs: list[float]


def fmt(value: SpecValue) -> str:
    """Formats a Python value as a literal of lrlab's spec language.

    Args:
        value: A number, bool, string or list of numbers.

    Returns:
        Floats and ints as their ``repr``, strings single-quoted, lists in brackets.
    """
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(fmt(item) for item in value) + "]"
    return repr(value)


def call(name: str, *pieces: str, **kwargs: SpecValue) -> str:
    """Formats a spec-language call such as ``step(init_value=0.1, factor=0.5, every=3)``.

    Args:
        name: Schedule or combinator name.
        *pieces: Already formatted schedules passed positionally.
        **kwargs: Keyword arguments, formatted with :func:`fmt`.

    Returns:
        The call as spec text.
    """
    args = [*pieces, *(f"{key}={fmt(value)}" for key, value in kwargs.items())]
    return f"{name}({', '.join(args)})"


def with_warmup(schedule: str, warmup_steps: int) -> str:
    """Wraps ``schedule`` in lrlab's default linear warmup from 0, unless there is none.

    Args:
        schedule: Spec of the schedule that runs after the warmup.
        warmup_steps: Warmup length; 0 means no warmup.

    Returns:
        The (possibly wrapped) spec.
    """
    return schedule if warmup_steps == 0 else call("warmup", schedule, warmup_steps=warmup_steps)


def sgd_source(lr: float) -> str:
    """Describes the optimizer built by :func:`step_torch_scheduler`.

    Args:
        lr: Learning rate given to the optimizer.

    Returns:
        Python-like constructor text.
    """
    return f"torch.optim.SGD(lr={lr!r}, momentum={SGD_MOMENTUM!r})"


def call_source(prefix: str, kwargs: dict[str, Any]) -> str:
    """Formats the framework call that produced a case, for the ``source`` field.

    Args:
        prefix: Fully qualified callable name.
        kwargs: Keyword arguments it was called with (besides the optimizer).

    Returns:
        Python-like call text.
    """
    return f"{prefix}({', '.join(f'{key}={value!r}' for key, value in kwargs.items())})"


def step_torch_scheduler(
    factory: Callable[..., LRScheduler], base_lr: float, kwargs: dict[str, Any], steps: int
) -> list[float]:
    """Runs a real SGD training loop and records the learning rate before each update.

    Args:
        factory: ``factory(optimizer, **kwargs)`` builds the torch LR scheduler.
        base_lr: Learning rate given to the optimizer.
        kwargs: Scheduler keyword arguments.
        steps: Number of updates to record.

    Returns:
        ``lrs[i]`` = ``param_groups[0]["lr"]`` before the i-th ``optimizer.step()``.
    """
    import torch

    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=SGD_MOMENTUM)
    scheduler = factory(optimizer, **kwargs)
    inputs = torch.ones(4, 2)
    lrs = []
    for _ in range(steps):
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.zero_grad()
        model(inputs).mean().backward()
        optimizer.step()
        scheduler.step()
    return lrs


TORCH_SCHEDULERS: list[tuple[str, float, dict[str, Any]]] = [
    ("StepLR", 0.1, {"step_size": 3, "gamma": 0.5}),
    ("StepLR", 0.05, {"step_size": 30, "gamma": 0.1}),
    ("StepLR", 1.0, {"step_size": 7, "gamma": 0.9}),
    ("MultiStepLR", 0.1, {"milestones": [30, 80], "gamma": 0.1}),
    ("MultiStepLR", 0.2, {"milestones": [10, 20, 40, 100], "gamma": 0.5}),
    ("MultiStepLR", 0.01, {"milestones": [1, 150], "gamma": 0.3}),
    ("ExponentialLR", 0.1, {"gamma": 0.99}),
    ("ExponentialLR", 1.0, {"gamma": 0.9}),
    ("ExponentialLR", 0.05, {"gamma": 0.999}),
    ("PolynomialLR", 0.1, {"total_iters": 100, "power": 1.0}),
    ("PolynomialLR", 0.05, {"total_iters": 150, "power": 2.0}),
    ("PolynomialLR", 1.0, {"total_iters": 50, "power": 0.5}),
    ("LinearLR", 0.1, {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 20}),
    ("LinearLR", 0.05, {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 100}),
    ("LinearLR", 0.2, {"start_factor": 0.5, "end_factor": 0.0, "total_iters": 50}),
    ("CosineAnnealingLR", 0.1, {"T_max": 100, "eta_min": 0.0}),
    ("CosineAnnealingLR", 0.05, {"T_max": 50, "eta_min": 0.001}),
    ("CosineAnnealingLR", 1.0, {"T_max": 200, "eta_min": 1e-05}),
    ("CosineAnnealingWarmRestarts", 0.1, {"T_0": 10, "T_mult": 1, "eta_min": 0.0}),
    ("CosineAnnealingWarmRestarts", 0.1, {"T_0": 10, "T_mult": 2, "eta_min": 0.0}),
    ("CosineAnnealingWarmRestarts", 0.05, {"T_0": 15, "T_mult": 2, "eta_min": 0.0001}),
    ("CosineAnnealingWarmRestarts", 0.1, {"T_0": 20, "T_mult": 1, "eta_min": 0.001}),
    (
        "CyclicLR",
        0.1,
        {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 10, "mode": "triangular"},
    ),
    (
        "CyclicLR",
        0.1,
        {
            "base_lr": 0.001,
            "max_lr": 0.1,
            "step_size_up": 5,
            "step_size_down": 15,
            "mode": "triangular",
        },
    ),
    (
        "CyclicLR",
        0.1,
        {"base_lr": 0.01, "max_lr": 0.05, "step_size_up": 10, "mode": "triangular2"},
    ),
    (
        "CyclicLR",
        0.1,
        {
            "base_lr": 0.0001,
            "max_lr": 0.01,
            "step_size_up": 8,
            "step_size_down": 12,
            "mode": "triangular2",
        },
    ),
    (
        "CyclicLR",
        0.1,
        {
            "base_lr": 0.001,
            "max_lr": 0.01,
            "step_size_up": 10,
            "mode": "exp_range",
            "gamma": 0.99,
        },
    ),
    (
        "CyclicLR",
        0.1,
        {
            "base_lr": 0.002,
            "max_lr": 0.02,
            "step_size_up": 6,
            "step_size_down": 14,
            "mode": "exp_range",
            "gamma": 0.995,
        },
    ),
    (
        "OneCycleLR",
        0.1,
        {
            "max_lr": 0.1,
            "total_steps": 100,
            "pct_start": 0.3,
            "anneal_strategy": "cos",
            "div_factor": 25.0,
            "final_div_factor": 10000.0,
            "three_phase": False,
        },
    ),
    (
        "OneCycleLR",
        0.1,
        {
            "max_lr": 0.1,
            "total_steps": 200,
            "pct_start": 0.25,
            "anneal_strategy": "linear",
            "div_factor": 25.0,
            "final_div_factor": 10000.0,
            "three_phase": False,
        },
    ),
    (
        "OneCycleLR",
        0.1,
        {
            "max_lr": 0.05,
            "total_steps": 150,
            "pct_start": 0.3,
            "anneal_strategy": "cos",
            "div_factor": 25.0,
            "final_div_factor": 10000.0,
            "three_phase": True,
        },
    ),
    (
        "OneCycleLR",
        0.1,
        {
            "max_lr": 0.1,
            "total_steps": 120,
            "pct_start": 0.2,
            "anneal_strategy": "linear",
            "div_factor": 10.0,
            "final_div_factor": 100.0,
            "three_phase": True,
        },
    ),
    ("ConstantLR", 0.1, {"factor": 0.5, "total_iters": 4}),
    ("ConstantLR", 0.1, {"factor": 1.0 / 3, "total_iters": 5}),
    ("ConstantLR", 0.05, {"factor": 0.25, "total_iters": 10}),
]


def torch_equivalent(name: str, lr: float, kw: dict[str, Any]) -> Equivalent:
    """Maps a torch scheduler configuration to its lrlab spec.

    Args:
        name: Class name in ``torch.optim.lr_scheduler``.
        lr: Base learning rate of the optimizer.
        kw: Scheduler keyword arguments.

    Returns:
        The lrlab equivalent.
    """
    match name:
        case "StepLR":
            return Equivalent(
                call("step", init_value=lr, factor=kw["gamma"], every=kw["step_size"])
            )
        case "MultiStepLR":
            return Equivalent(
                call("multistep", init_value=lr, milestones=kw["milestones"], factor=kw["gamma"])
            )
        case "ExponentialLR":
            return Equivalent(call("exponential", init_value=lr, factor=kw["gamma"]))
        case "PolynomialLR":
            return Equivalent(
                call("polynomial", init_value=lr, total_steps=kw["total_iters"], power=kw["power"])
            )
        case "LinearLR":
            return Equivalent(
                call(
                    "linear",
                    init_value=lr * kw["start_factor"],
                    end_value=lr * kw["end_factor"],
                    total_steps=kw["total_iters"],
                )
            )
        case "CosineAnnealingLR":
            return Equivalent(
                call("cosine", init_value=lr, total_steps=kw["T_max"], end_value=kw["eta_min"]),
                steps=kw["T_max"] + 1,
                note="CosineAnnealingLR swings back up after T_max while lrlab's cosine holds "
                "end_value, so only steps 0..T_max are recorded.",
            )
        case "CosineAnnealingWarmRestarts":
            return Equivalent(
                call(
                    "cosine_restarts",
                    init_value=lr,
                    period=kw["T_0"],
                    period_mult=kw["T_mult"],
                    end_value=kw["eta_min"],
                )
            )
        case "CyclicLR":
            cyclic_kw: dict[str, SpecValue] = {
                "base_value": kw["base_lr"],
                "max_value": kw["max_lr"],
                "step_size_up": kw["step_size_up"],
            }
            if "step_size_down" in kw:
                cyclic_kw["step_size_down"] = kw["step_size_down"]
            cyclic_kw["mode"] = kw["mode"]
            if "gamma" in kw:
                cyclic_kw["gamma"] = kw["gamma"]
            return Equivalent(call("cyclic", **cyclic_kw))
        case "OneCycleLR":
            return Equivalent(
                call(
                    "one_cycle",
                    peak_value=kw["max_lr"],
                    total_steps=kw["total_steps"],
                    pct_start=kw["pct_start"],
                    div_factor=kw["div_factor"],
                    final_div_factor=kw["final_div_factor"],
                    three_phase=kw["three_phase"],
                    anneal=kw["anneal_strategy"],
                ),
                steps=kw["total_steps"],
                note="OneCycleLR is defined for total_steps updates (it extrapolates at step "
                "total_steps and raises after it), so only steps 0..total_steps-1 are recorded.",
            )
        case "ConstantLR":
            return Equivalent(
                call(
                    "sequence",
                    call("constant", value=lr * kw["factor"]),
                    call("constant", value=lr),
                    durations=[kw["total_iters"]],
                ),
                steps=kw["total_iters"] + 50,
            )
    raise ValueError(f"no lrlab equivalent for torch scheduler {name}")


def generate_torch(versions: dict[str, str]) -> Path:
    """Steps every configured torch scheduler and writes ``torch.json``.

    Args:
        versions: Versions common to all golden files.

    Returns:
        Path of the written file.
    """
    import torch

    cases = []
    for name, lr, kw in TORCH_SCHEDULERS:
        equivalent = torch_equivalent(name, lr, kw)
        factory = getattr(torch.optim.lr_scheduler, name)
        source = f"{call_source(f'torch.optim.lr_scheduler.{name}', kw)}; {sgd_source(lr)}"
        lrs = step_torch_scheduler(factory, lr, kw, equivalent.steps)
        cases.append(Recorded(name, source, equivalent, lrs))
    return write_golden("torch.json", versions, cases)


KERAS_SCHEDULES: list[tuple[str, dict[str, Any]]] = [
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 1.0, "decay_steps": 1, "decay_rate": 0.1}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.01, "decay_steps": 100, "decay_rate": 2.0}),
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9, "staircase": False},
    ),
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.1, "decay_steps": 25, "decay_rate": 0.5, "staircase": True},
    ),
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.01, "decay_steps": 1, "decay_rate": 0.99, "staircase": False},
    ),
    (
        "ExponentialDecay",
        {"initial_learning_rate": 0.05, "decay_steps": 7, "decay_rate": 0.8, "staircase": True},
    ),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 100}),
    (
        "PolynomialDecay",
        {
            "initial_learning_rate": 0.1,
            "decay_steps": 150,
            "end_learning_rate": 0.0,
            "power": 2.0,
        },
    ),
    (
        "PolynomialDecay",
        {
            "initial_learning_rate": 0.05,
            "decay_steps": 80,
            "end_learning_rate": 0.001,
            "power": 0.5,
        },
    ),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 100, "alpha": 0.0}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 150, "alpha": 0.1}),
    ("CosineDecay", {"initial_learning_rate": 0.05, "decay_steps": 200, "alpha": 0.01}),
    (
        "CosineDecay",
        {
            "initial_learning_rate": 0.0,
            "decay_steps": 100,
            "alpha": 0.0,
            "warmup_target": 0.1,
            "warmup_steps": 20,
        },
    ),
    (
        "CosineDecay",
        {
            "initial_learning_rate": 0.01,
            "decay_steps": 150,
            "alpha": 0.1,
            "warmup_target": 0.1,
            "warmup_steps": 30,
        },
    ),
    (
        "CosineDecayRestarts",
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 20,
            "t_mul": 1.0,
            "m_mul": 1.0,
            "alpha": 0.0,
        },
    ),
    (
        "CosineDecayRestarts",
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 10,
            "t_mul": 2.0,
            "m_mul": 1.0,
            "alpha": 0.0,
        },
    ),
    (
        "CosineDecayRestarts",
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 15,
            "t_mul": 2.0,
            "m_mul": 0.8,
            "alpha": 0.1,
        },
    ),
    (
        "CosineDecayRestarts",
        {
            "initial_learning_rate": 0.05,
            "first_decay_steps": 25,
            "t_mul": 1.0,
            "m_mul": 0.8,
            "alpha": 0.05,
        },
    ),
    (
        "CosineDecayRestarts",
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 43,
            "t_mul": 1.1,
            "m_mul": 0.9,
            "alpha": 0.0,
        },
    ),
    (
        "CosineDecayRestarts",
        {
            "initial_learning_rate": 0.1,
            "first_decay_steps": 5,
            "t_mul": 1.2,
            "m_mul": 1.0,
            "alpha": 0.0,
        },
    ),
    ("PiecewiseConstantDecay", {"boundaries": [10, 50], "values": [0.1, 0.01, 0.001]}),
    (
        "PiecewiseConstantDecay",
        {"boundaries": [0, 100, 200], "values": [1.0, 0.5, 0.25, 0.125]},
    ),
    ("PiecewiseConstantDecay", {"boundaries": [100], "values": [0.1, 0.05]}),
]


def keras_equivalent(name: str, cfg: dict[str, Any]) -> Equivalent:
    """Maps a Keras schedule configuration to its lrlab spec.

    Args:
        name: Class name in ``keras.optimizers.schedules``.
        cfg: The schedule's ``get_config()``, so Keras defaults are included.

    Returns:
        The lrlab equivalent.
    """
    match name:
        case "InverseTimeDecay":
            return Equivalent(
                call(
                    "inverse_time",
                    init_value=cfg["initial_learning_rate"],
                    decay_rate=cfg["decay_rate"] / cfg["decay_steps"],
                )
            )
        case "ExponentialDecay":
            return Equivalent(
                call(
                    "exponential",
                    init_value=cfg["initial_learning_rate"],
                    factor=cfg["decay_rate"],
                    every=cfg["decay_steps"],
                    staircase=cfg["staircase"],
                )
            )
        case "PolynomialDecay":
            return Equivalent(
                call(
                    "polynomial",
                    init_value=cfg["initial_learning_rate"],
                    total_steps=cfg["decay_steps"],
                    power=cfg["power"],
                    end_value=cfg["end_learning_rate"],
                )
            )
        case "CosineDecay":
            init, alpha = cfg["initial_learning_rate"], cfg["alpha"]
            peak = cfg["warmup_target"]
            if peak is None:
                return Equivalent(
                    call(
                        "cosine",
                        init_value=init,
                        total_steps=cfg["decay_steps"],
                        end_value=init * alpha,
                    )
                )
            decay = call(
                "cosine", init_value=peak, total_steps=cfg["decay_steps"], end_value=peak * alpha
            )
            return Equivalent(
                call("warmup", decay, warmup_steps=cfg["warmup_steps"], start_factor=init / peak)
            )
        case "CosineDecayRestarts":
            init = cfg["initial_learning_rate"]
            return Equivalent(
                call(
                    "cosine_restarts",
                    init_value=init,
                    period=cfg["first_decay_steps"],
                    period_mult=cfg["t_mul"],
                    end_value=init * cfg["alpha"],
                    peak_decay=cfg["m_mul"],
                )
            )
        case "PiecewiseConstantDecay":
            bounds = cfg["boundaries"]
            durations = [bounds[0] + 1] + [hi - lo for lo, hi in itertools.pairwise(bounds)]
            pieces = [call("constant", value=value) for value in cfg["values"]]
            return Equivalent(call("sequence", *pieces, durations=durations))
    raise ValueError(f"no lrlab equivalent for Keras schedule {name}")


def generate_keras(versions: dict[str, str]) -> Path:
    """Evaluates every configured Keras schedule in float64 and writes ``keras.json``.

    Args:
        versions: Versions common to all golden files.

    Returns:
        Path of the written file.
    """
    os.environ["KERAS_BACKEND"] = "torch"  # read by Keras 3 when it is first imported
    import keras

    keras.config.set_floatx("float64")
    cases = []
    for name, kw in KERAS_SCHEDULES:
        schedule = getattr(keras.optimizers.schedules, name)(**kw)
        equivalent = keras_equivalent(name, schedule.get_config())
        source = (
            f"{call_source(f'keras.optimizers.schedules.{name}', kw)}; "
            f"keras backend {keras.backend.backend()}, floatx {keras.config.floatx()}"
        )
        lrs = [float(schedule(step)) for step in range(equivalent.steps)]
        cases.append(Recorded(name, source, equivalent, lrs))
    return write_golden("keras.json", {**versions, "keras": keras.__version__}, cases)


HF_BASE_LR = 0.01

HF_SCHEDULES: list[tuple[str, dict[str, Any]]] = [
    ("get_constant_schedule_with_warmup", {"num_warmup_steps": 1}),
    ("get_constant_schedule_with_warmup", {"num_warmup_steps": 10}),
    ("get_constant_schedule_with_warmup", {"num_warmup_steps": 50}),
    ("get_linear_schedule_with_warmup", {"num_warmup_steps": 10, "num_training_steps": 100}),
    ("get_linear_schedule_with_warmup", {"num_warmup_steps": 0, "num_training_steps": 50}),
    ("get_linear_schedule_with_warmup", {"num_warmup_steps": 25, "num_training_steps": 200}),
    (
        "get_cosine_schedule_with_warmup",
        {"num_warmup_steps": 10, "num_training_steps": 100, "num_cycles": 0.5},
    ),
    (
        "get_cosine_schedule_with_warmup",
        {"num_warmup_steps": 0, "num_training_steps": 80, "num_cycles": 0.5},
    ),
    (
        "get_cosine_schedule_with_warmup",
        {"num_warmup_steps": 5, "num_training_steps": 150, "num_cycles": 0.5},
    ),
    (
        "get_polynomial_decay_schedule_with_warmup",
        {"num_warmup_steps": 10, "num_training_steps": 100, "lr_end": 1e-07, "power": 1.0},
    ),
    (
        "get_polynomial_decay_schedule_with_warmup",
        {"num_warmup_steps": 5, "num_training_steps": 80, "lr_end": 0.0001, "power": 2.0},
    ),
    (
        "get_polynomial_decay_schedule_with_warmup",
        {"num_warmup_steps": 0, "num_training_steps": 60, "lr_end": 0.0, "power": 0.5},
    ),
    ("get_inverse_sqrt_schedule", {"num_warmup_steps": 10}),
    ("get_inverse_sqrt_schedule", {"num_warmup_steps": 0}),
    ("get_inverse_sqrt_schedule", {"num_warmup_steps": 20, "timescale": 50}),
    ("get_inverse_sqrt_schedule", {"num_warmup_steps": 0, "timescale": 30}),
    (
        "get_wsd_schedule",
        {
            "num_warmup_steps": 10,
            "num_decay_steps": 20,
            "num_training_steps": 100,
            "warmup_type": "linear",
            "decay_type": "linear",
            "min_lr_ratio": 0.0,
        },
    ),
    (
        "get_wsd_schedule",
        {
            "num_warmup_steps": 10,
            "num_decay_steps": 30,
            "num_training_steps": 100,
            "warmup_type": "linear",
            "decay_type": "cosine",
            "min_lr_ratio": 0.1,
        },
    ),
    (
        "get_wsd_schedule",
        {
            "num_warmup_steps": 20,
            "num_decay_steps": 40,
            "num_training_steps": 150,
            "warmup_type": "cosine",
            "decay_type": "1-sqrt",
            "min_lr_ratio": 0.0,
        },
    ),
    (
        "get_wsd_schedule",
        {
            "num_warmup_steps": 15,
            "num_decay_steps": 25,
            "num_training_steps": 120,
            "warmup_type": "cosine",
            "decay_type": "linear",
            "min_lr_ratio": 0.1,
        },
    ),
    (
        "get_wsd_schedule",
        {
            "num_warmup_steps": 10,
            "num_decay_steps": 50,
            "num_training_steps": 100,
            "warmup_type": "1-sqrt",
            "decay_type": "cosine",
            "min_lr_ratio": 0.1,
        },
    ),
    (
        "get_wsd_schedule",
        {
            "num_warmup_steps": 8,
            "num_decay_steps": 32,
            "num_training_steps": 160,
            "warmup_type": "linear",
            "decay_type": "1-sqrt",
            "min_lr_ratio": 0.1,
        },
    ),
]


def hf_equivalent(name: str, lr: float, kw: dict[str, Any]) -> Equivalent:
    """Maps a transformers schedule configuration to its lrlab spec.

    Args:
        name: Function name in ``transformers``.
        lr: Base learning rate of the optimizer.
        kw: Keyword arguments (besides the optimizer).

    Returns:
        The lrlab equivalent.
    """
    warmup = kw["num_warmup_steps"]
    total = kw.get("num_training_steps", 0)
    match name:
        case "get_constant_schedule_with_warmup":
            return Equivalent(with_warmup(call("constant", value=lr), warmup), steps=warmup + 100)
        case "get_linear_schedule_with_warmup":
            decay = call("linear", init_value=lr, end_value=0.0, total_steps=total - warmup)
            return Equivalent(with_warmup(decay, warmup), steps=total + 50)
        case "get_cosine_schedule_with_warmup":
            decay = call("cosine", init_value=lr, total_steps=total - warmup)
            return Equivalent(
                with_warmup(decay, warmup),
                steps=total + 1,
                note="With num_cycles=0.5 the cosine swings back up after num_training_steps "
                "while lrlab's cosine holds end_value, so only steps 0..num_training_steps "
                "are recorded.",
            )
        case "get_polynomial_decay_schedule_with_warmup":
            decay = call(
                "polynomial",
                init_value=lr,
                total_steps=total - warmup,
                power=kw["power"],
                end_value=kw["lr_end"],
            )
            return Equivalent(with_warmup(decay, warmup), steps=total + 50)
        case "get_inverse_sqrt_schedule":
            sqrt_kw: dict[str, SpecValue] = {"init_value": lr, "warmup_steps": warmup}
            if "timescale" in kw:
                sqrt_kw["timescale"] = kw["timescale"]
            return Equivalent(call("inverse_sqrt", **sqrt_kw))
        case "get_wsd_schedule":
            return Equivalent(
                call(
                    "wsd",
                    peak_value=lr,
                    total_steps=total,
                    warmup_steps=warmup,
                    decay_steps=kw["num_decay_steps"],
                    end_value=lr * kw["min_lr_ratio"],
                    warmup_shape=kw["warmup_type"],
                    decay_shape=kw["decay_type"],
                ),
                steps=total + 30,
            )
    raise ValueError(f"no lrlab equivalent for transformers schedule {name}")


def generate_transformers(versions: dict[str, str]) -> Path:
    """Steps every configured transformers schedule and writes ``transformers.json``.

    Args:
        versions: Versions common to all golden files.

    Returns:
        Path of the written file.
    """
    import transformers

    cases = []
    for name, kw in HF_SCHEDULES:
        equivalent = hf_equivalent(name, HF_BASE_LR, kw)
        source = f"{call_source(f'transformers.{name}', kw)}; {sgd_source(HF_BASE_LR)}"
        lrs = step_torch_scheduler(getattr(transformers, name), HF_BASE_LR, kw, equivalent.steps)
        cases.append(Recorded(name, source, equivalent, lrs))
    versions = {**versions, "transformers": transformers.__version__}
    return write_golden("transformers.json", versions, cases)


def write_golden(filename: str, versions: dict[str, str], cases: list[Recorded]) -> Path:
    """Writes one golden file, naming cases ``<class>-a``, ``<class>-b``, ... per class.

    Args:
        filename: File name inside the golden directory.
        versions: Library versions that produced the trajectories.
        cases: The recorded cases, in order.

    Returns:
        Path of the written file.
    """
    seen: dict[str, int] = {}
    records = []
    for case in cases:
        index = seen.get(case.framework_name, 0)
        seen[case.framework_name] = index + 1
        record: dict[str, Any] = {
            "name": f"{case.framework_name}-{string.ascii_lowercase[index]}",
            "source": case.source,
            "spec": case.equivalent.spec,
            "steps": case.equivalent.steps,
            "lrs": case.lrs,
        }
        if case.equivalent.note is not None:
            record["note"] = case.equivalent.note
        records.append(record)
    path = GOLDEN_DIR / filename
    data = {"generator": GENERATOR, "versions": versions, "cases": records}
    with path.open("w") as handle:
        json.dump(data, handle, indent=1)
        handle.write("\n")
    return path


def main() -> None:
    """Generates all golden files."""
    import torch

    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }
    for path in (
        generate_torch(versions),
        generate_keras(versions),
        generate_transformers(versions),
    ):
        print(f"wrote {path.relative_to(GOLDEN_DIR.parents[1])} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
