"""Figures of lab runs: training curves, learning-rate curves and seed-averaged metrics.

Every figure uses matplotlib's ``ggplot`` style, is 8 x 5 inches at 100 dpi, and is written
atomically to an image file whose format follows the suffix (``.png``, ``.svg``, ``.pdf``).
matplotlib is an optional extra (``pip install 'lrlab[plot]'``), imported only when a plot
is drawn, so importing this module stays cheap.

A *history* is a list of per-epoch records, each a mapping with the keys ``epoch`` (an
``int`` from 0), ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr`` and
``seconds``; any value but ``epoch`` may be ``None`` (a diverged epoch, say), which is
drawn as a gap.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

from lrlab.plotting import (
    MAX_PLOT_STEPS,
    image_path,
    plain_text,
    require_matplotlib,
    save_figure,
)

FIGSIZE = (8.0, 5.0)
"""Figure size in inches (width, height)."""

DPI = 100
"""Figure resolution in dots per inch: an 8 x 5 inch figure is 800 x 500 pixels."""

TRAINING_CURVES = (
    ("loss", "train_loss"),
    ("val_loss", "val_loss"),
    ("accuracy", "train_acc"),
    ("val_accuracy", "val_acc"),
)
"""History keys drawn by :func:`plot_training`, with their legend labels."""


def _value(owner: str, name: str, value: object) -> float:
    """Return ``value`` as a float, ``None`` as NaN; reject anything that is not a number."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{owner}: {name} must be a real number or None, got {value!r}")
    return float(value)


def _count(owner: str, name: str, value: object, largest: int) -> int:
    """Check that ``value`` is an integer in ``[1, largest]`` and return it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{owner}: {name} must be an integer, got {value!r}")
    if not 1 <= value <= largest:
        raise ValueError(f"{owner}: {name} must be in [1, {largest:,}], got {value!r}")
    return int(value)


def _draw(
    owner: str,
    path: str | os.PathLike[str],
    draw: Callable[[Any], None],
    *,
    title: str,
    y_label: str,
    legend: bool,
) -> Path:
    """Make a ggplot-style figure, let ``draw(axes)`` fill it, label it, save it to ``path``.

    The x-axis is always labelled ``Epoch #``.
    """
    output, image_format = image_path(owner, path)
    pyplot = require_matplotlib()
    with pyplot.style.context("ggplot"):
        figure, axes = pyplot.subplots(figsize=FIGSIZE, dpi=DPI, layout="constrained")
        try:
            draw(axes)
            axes.set_title(title, parse_math=False)
            axes.set_xlabel("Epoch #")
            axes.set_ylabel(y_label, parse_math=False)
            if legend:
                axes.legend(loc="best", fontsize="small")
            save_figure(figure, output, image_format)
        finally:
            pyplot.close(figure)
    return output


def plot_training(
    history: Sequence[Mapping[str, Any]],
    path: str | os.PathLike[str],
    *,
    title: str = "Training loss and accuracy",
) -> Path:
    """Draw the train and validation loss and accuracy of a run against the epoch number.

    The reference figure: one axes with the curves ``train_loss``, ``val_loss``,
    ``train_acc`` and ``val_acc``. The x-axis is the epoch number counted from 1
    (``epoch + 1``, so the point sits at the end of its epoch, which matches the epoch
    axis of :func:`plot_lr`); the y-axis mixes loss (nats) and accuracy (fraction in
    [0, 1]). ``None`` values, and keys a record lacks, are drawn as gaps.

    Args:
        history: Per-epoch records, as described in the module docstring.
        path: Output image file; the format follows the suffix.
        title: Figure title.

    Returns:
        The path written.

    Raises:
        ImportError: If matplotlib is missing.
        TypeError: If ``history`` or a record is not the right type, an ``epoch`` is not an
            integer, or a curve value is neither a real number nor ``None``.
        ValueError: If ``history`` is empty, an ``epoch`` is missing or negative, or
            ``path`` is a directory or has no image suffix.
    """
    owner = "plot_training"
    if isinstance(history, str | bytes) or not isinstance(history, Sequence):
        raise TypeError(f"{owner}: history must be a sequence of mappings, got {history!r}")
    if not history:
        raise ValueError(f"{owner}: history must not be empty, got {history!r}")
    epochs = np.empty(len(history), dtype=np.float64)
    curves = {key: np.empty(len(history), dtype=np.float64) for key, _ in TRAINING_CURVES}
    for row, record in enumerate(history):
        if not isinstance(record, Mapping):
            raise TypeError(f"{owner}: history[{row}] must be a mapping, got {record!r}")
        if "epoch" not in record:
            raise ValueError(f"{owner}: history[{row}] has no 'epoch' key: {record!r}")
        epoch = record["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer):
            raise TypeError(f"{owner}: history[{row}]['epoch'] must be an integer, got {epoch!r}")
        if epoch < 0:
            raise ValueError(f"{owner}: history[{row}]['epoch'] must be >= 0, got {epoch!r}")
        epochs[row] = epoch + 1
        for key, values in curves.items():
            values[row] = _value(owner, f"history[{row}][{key!r}]", record.get(key))

    def draw(axes: Any) -> None:
        for key, label in TRAINING_CURVES:
            axes.plot(epochs, curves[key], label=label, marker="." if len(epochs) < 50 else None)

    return _draw(owner, path, draw, title=title, y_label="Loss/Accuracy", legend=True)


def plot_lr(
    schedule: Callable[[np.ndarray], np.ndarray],
    *,
    total_steps: int,
    steps_per_epoch: int,
    path: str | os.PathLike[str],
    title: str = "Learning rate schedule",
) -> Path:
    """Draw the learning rate of every optimizer step ``0 .. total_steps-1`` of ``schedule``.

    Step ``s`` is drawn at x = ``s / steps_per_epoch`` epochs, so epoch ``k`` (from 0)
    spans ``[k, k + 1)``.

    Args:
        schedule: An :class:`lrlab.Schedule` or any callable mapping a float64 array of step
            indices to the learning rates at those steps.
        total_steps: Number of optimizer steps, ``1 <= total_steps <= MAX_PLOT_STEPS``.
        steps_per_epoch: Optimizer steps per epoch, at least 1.
        path: Output image file; the format follows the suffix.
        title: Figure title.

    Returns:
        The path written.

    Raises:
        ImportError: If matplotlib is missing.
        TypeError: If ``schedule`` is not callable or a count is not an integer.
        ValueError: If a count is out of range, ``schedule`` does not return one value per
            step, or ``path`` is a directory or has no image suffix.
    """
    owner = "plot_lr"
    if not callable(schedule):
        raise TypeError(f"{owner}: schedule must be callable, got {schedule!r}")
    steps = _count(owner, "total_steps", total_steps, MAX_PLOT_STEPS)
    per_epoch = _count(owner, "steps_per_epoch", steps_per_epoch, 2**53)
    times = np.arange(steps, dtype=np.float64)
    rates = np.asarray(schedule(times), dtype=np.float64)
    if rates.shape != times.shape:
        raise ValueError(
            f"{owner}: schedule must return one learning rate per step, shape ({steps},), "
            f"got shape {rates.shape}"
        )

    def draw(axes: Any) -> None:
        axes.plot(times / per_epoch, rates, linewidth=1.6)

    return _draw(owner, path, draw, title=title, y_label="Learning rate", legend=False)


def plot_lr_overlay(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    path: str | os.PathLike[str],
    *,
    title: str = "Learning rate schedules",
) -> Path:
    """Overlay several learning-rate curves, each given as points, in one labelled figure.

    Args:
        curves: Legend label -> ``(x, lr)``: ``x`` in epochs and ``lr`` the learning rate
            there, two 1-D arrays of the same non-zero length.
        path: Output image file; the format follows the suffix.
        title: Figure title.

    Returns:
        The path written.

    Raises:
        ImportError: If matplotlib is missing.
        TypeError: If ``curves`` is not a mapping, a label is not a string, or a curve is not
            an ``(x, lr)`` pair.
        ValueError: If ``curves`` is empty, a curve's arrays are not 1-D, empty, or of
            different lengths, or ``path`` is a directory or has no image suffix.
    """
    owner = "plot_lr_overlay"
    if not isinstance(curves, Mapping):
        raise TypeError(f"{owner}: curves must be a mapping of label -> (x, lr), got {curves!r}")
    if not curves:
        raise ValueError(f"{owner}: curves must not be empty, got {curves!r}")
    points: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for label, pair in curves.items():
        if not isinstance(label, str):
            raise TypeError(f"{owner}: curves labels must be strings, got {label!r}")
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise TypeError(f"{owner}: curves[{label!r}] must be an (x, lr) pair, got {pair!r}")
        x_values, rates = (np.asarray(values, dtype=np.float64) for values in pair)
        if x_values.ndim != 1 or x_values.shape != rates.shape or not len(x_values):
            raise ValueError(
                f"{owner}: curves[{label!r}] must hold two 1-D arrays of the same non-zero "
                f"length, got shapes {x_values.shape} and {rates.shape}"
            )
        points[label] = (x_values, rates)

    def draw(axes: Any) -> None:
        for label, (x_values, rates) in points.items():
            axes.plot(x_values, rates, label=plain_text(label), linewidth=1.6)

    return _draw(owner, path, draw, title=title, y_label="Learning rate", legend=True)


def _seed_table(owner: str, label: str, seeds: object) -> np.ndarray:
    """Stack one label's per-seed metric histories into a (seeds, epochs) array, NaN-padded."""
    name = f"series[{label!r}]"
    if isinstance(seeds, str | bytes) or not isinstance(seeds, Sequence):
        raise TypeError(f"{owner}: {name} must be a sequence of per-seed lists, got {seeds!r}")
    if not seeds:
        raise ValueError(f"{owner}: {name} must hold at least one seed, got {seeds!r}")
    for number, values in enumerate(seeds):
        if isinstance(values, str | bytes) or not isinstance(values, Sequence):
            raise TypeError(f"{owner}: {name}[{number}] must be a sequence, got {values!r}")
    epochs = max(len(values) for values in seeds)
    if epochs == 0:
        raise ValueError(f"{owner}: {name} has no epochs in any seed, got {seeds!r}")
    table = np.full((len(seeds), epochs), np.nan)
    for number, values in enumerate(seeds):
        for epoch, value in enumerate(values):
            table[number, epoch] = _value(owner, f"{name}[{number}][{epoch}]", value)
    return table


def plot_metric_overlay(
    series: Mapping[str, Sequence[Sequence[float | None]]],
    metric: str,
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
) -> Path:
    """Overlay the seed-averaged history of one metric for several labelled runs.

    For each label the mean over seeds of each epoch is drawn as a line, and, where at
    least two seeds have a value at that epoch, a shaded band of mean +/- one (population)
    standard deviation. ``None`` and NaN values are ignored, so seeds may have different
    lengths (a run that diverged early). The x-axis is the epoch number counted from 1, as
    in :func:`plot_training`.

    Args:
        series: Legend label -> one list per seed of the metric's value at each epoch.
        metric: Name of the metric, used as the y-axis label (e.g. ``"val_accuracy"``).
        path: Output image file; the format follows the suffix.
        title: Figure title; ``None`` makes one from ``metric``.

    Returns:
        The path written.

    Raises:
        ImportError: If matplotlib is missing.
        TypeError: If ``series``, a label, a seed's history or a value has the wrong type,
            or ``metric`` is not a string.
        ValueError: If ``series`` is empty, a label has no seed or no epoch, ``metric`` is
            empty, or ``path`` is a directory or has no image suffix.
    """
    owner = "plot_metric_overlay"
    if not isinstance(metric, str):
        raise TypeError(f"{owner}: metric must be a string, got {metric!r}")
    if not metric:
        raise ValueError(f"{owner}: metric must not be empty, got {metric!r}")
    if not isinstance(series, Mapping):
        raise TypeError(f"{owner}: series must be a mapping of label -> seeds, got {series!r}")
    if not series:
        raise ValueError(f"{owner}: series must not be empty, got {series!r}")
    tables: dict[str, np.ndarray] = {}
    for label, seeds in series.items():
        if not isinstance(label, str):
            raise TypeError(f"{owner}: series labels must be strings, got {label!r}")
        tables[label] = _seed_table(owner, label, seeds)

    def draw(axes: Any) -> None:
        for label, table in tables.items():
            finite = np.isfinite(table)
            counts = finite.sum(axis=0)
            filled = np.where(finite, table, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(counts > 0, filled.sum(axis=0) / counts, np.nan)
                spread = np.where(finite, table - mean, 0.0)
                std = np.sqrt((spread**2).sum(axis=0) / counts)
            epochs = np.arange(1, table.shape[1] + 1, dtype=np.float64)
            (line,) = axes.plot(
                epochs, mean, label=plain_text(label), marker="." if len(epochs) < 50 else None
            )
            banded = counts >= 2
            if banded.any():
                axes.fill_between(
                    epochs,
                    np.where(banded, mean - std, 0.0),
                    np.where(banded, mean + std, 0.0),
                    where=banded,
                    color=line.get_color(),
                    alpha=0.2,
                    linewidth=0,
                )

    heading = f"{metric}: mean +/- std over seeds" if title is None else title
    return _draw(owner, path, draw, title=heading, y_label=metric, legend=True)
