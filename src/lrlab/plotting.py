"""Plots of schedules: several curves overlaid in one labelled figure.

matplotlib is an optional extra (``pip install 'lrlab[plot]'``) and is imported lazily.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lrlab._files import write_atomic
from lrlab.schedules import Schedule


def require_matplotlib() -> Any:
    """Import matplotlib with the non-interactive Agg backend and return ``pyplot``.

    Raises:
        ImportError: If matplotlib is missing, naming the extra to install.
    """
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError("plotting needs matplotlib: pip install 'lrlab[plot]'") from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


MAX_PLOT_STEPS = 10_000_000
"""Most steps :func:`plot_schedules` evaluates and draws."""


def _check_count(name: str, value: object, largest: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"plot_schedules: {name} must be an integer, got {value!r}")
    if not 1 <= value <= largest:
        raise ValueError(f"plot_schedules: {name} must be in [1, {largest:,}], got {value!r}")


def plain_text(text: str) -> str:
    """Escape ``$`` so matplotlib shows the text as typed, not as math."""
    return text.replace("$", r"\$")


def plot_schedules(
    schedules: Mapping[str, Schedule],
    steps: int,
    path: str | os.PathLike[str],
    *,
    steps_per_epoch: int | None = None,
    log_y: bool = False,
    title: str = "Learning-rate schedules",
) -> Path:
    """Overlay the curves of ``schedules`` over steps ``0 .. steps-1`` and save the figure.

    Args:
        schedules: Curves to draw, keyed by their legend label.
        steps: Number of steps to evaluate, ``1 <= steps <= MAX_PLOT_STEPS``.
        path: Output image file; the format follows the suffix (``.png``, ``.svg``, ``.pdf``).
            The file is written to a temporary name and renamed, so an existing file is
            never left half-written.
        steps_per_epoch: When given, the x-axis is in epochs (``step / steps_per_epoch``).
        log_y: Use a logarithmic learning-rate axis.
        title: Figure title.

    Returns:
        The path written.

    Raises:
        TypeError: If ``steps`` or ``steps_per_epoch`` is not an integer.
        ValueError: If ``schedules`` is empty, a count is out of range, ``path`` is a
            directory or has no image suffix matplotlib writes, or ``log_y`` is asked for
            a curve that reaches 0.
    """
    if not schedules:
        raise ValueError("plot_schedules: schedules must not be empty")
    _check_count("steps", steps, MAX_PLOT_STEPS)
    if steps_per_epoch is not None:
        _check_count("steps_per_epoch", steps_per_epoch, 2**53)
    output, image_format = image_path("plot_schedules", path)
    pyplot = require_matplotlib()
    times = np.arange(int(steps), dtype=np.float64)
    x_values = times if steps_per_epoch is None else times / steps_per_epoch
    labels = {label: plain_text("\n".join(textwrap.wrap(label, 90))) for label in schedules}
    columns = 1 if max(map(len, labels)) > 30 else min(len(labels), 5)
    legend_lines = -(-sum(text.count("\n") + 1 for text in labels.values()) // columns)
    figure, axes = pyplot.subplots(
        figsize=(9, 4.5 + 0.22 * legend_lines), dpi=120, layout="constrained"
    )
    try:
        for label, schedule in schedules.items():
            values = schedule(times)
            if log_y and not np.all(values > 0):
                raise ValueError(
                    f"plot_schedules: log_y needs positive values; {label!r} reaches 0"
                )
            axes.plot(x_values, values, label=labels[label], linewidth=1.6)
        axes.set_xlabel("step" if steps_per_epoch is None else "epoch")
        axes.set_ylabel("learning rate")
        if log_y:
            axes.set_yscale("log")
        axes.set_title(title, parse_math=False)
        axes.grid(True, alpha=0.3)
        figure.legend(loc="outside lower center", fontsize="small", ncols=columns)
        save_figure(figure, output, image_format)
    finally:
        pyplot.close(figure)
    return output


def image_path(owner: str, path: str | os.PathLike[str]) -> tuple[Path, str]:
    """Check that ``path`` names an image file matplotlib can write; return it and its format.

    Raises:
        ImportError: If matplotlib is missing.
        ValueError: If ``path`` is a directory or its suffix is not an image format.
    """
    output = Path(path)
    if output.is_dir():
        raise ValueError(f"{owner}: path is a directory: {str(output)!r}")
    require_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    image_format = output.suffix.lstrip(".").lower()
    supported = FigureCanvasBase.get_supported_filetypes()
    if image_format not in supported:
        raise ValueError(
            f"{owner}: path must end in an image suffix "
            f"({', '.join('.' + name for name in sorted(supported))}), got {str(output)!r}"
        )
    return output, image_format


def save_figure(figure: Any, output: Path, image_format: str) -> None:
    """Write ``figure`` to ``output`` atomically (:func:`lrlab._files.write_atomic`).

    A crash or a full disk leaves either the previous file or none, never half an image.
    """
    write_atomic(output, lambda handle: figure.savefig(handle, format=image_format))
