"""The outcome of a range test: the curve, suggestions, bounds, a plot and a dict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from lrlab.finder._curve import check_smoothing, smooth
from lrlab.finder._suggest import SUGGESTERS, Bounds, Suggestion, bounds

STOP_REASONS = ("completed", "diverged", "non_finite")


class RangeTestResult:
    """The curve of one LR range test and what it suggests.

    Attributes:
        lrs: The LR of each recorded step (float64).
        losses: The loss at each step: the training loss, or the mean validation loss when
            the test ran with a validation set. The last one may be NaN or infinite.
        smoothed_losses: :func:`~lrlab.finder._curve.smooth` of ``losses``.
        smoothing: The EMA factor ``beta`` used.
        stop_reason: ``"completed"`` (all steps), ``"diverged"`` (the smoothed loss left
            the best by more than ``diverge_factor`` allows) or ``"non_finite"``.
        num_steps_requested: The sweep length asked for.
        val_losses: The validation losses, when a validation set was used.
    """

    def __init__(
        self,
        lrs: Any,
        losses: Any,
        smoothing: float,
        stop_reason: str,
        num_steps_requested: int,
        val_losses: Any = None,
    ) -> None:
        self.lrs = np.asarray(lrs, dtype=np.float64)
        self.losses = np.asarray(losses, dtype=np.float64)
        if self.lrs.ndim != 1 or self.lrs.shape != self.losses.shape:
            raise ValueError(
                "RangeTestResult: lrs and losses must be 1-D and of equal length, got "
                f"shapes {self.lrs.shape} and {self.losses.shape}"
            )
        if stop_reason not in STOP_REASONS:
            raise ValueError(
                f"RangeTestResult: stop_reason must be one of {STOP_REASONS}, got {stop_reason!r}"
            )
        self.smoothing = check_smoothing(smoothing)
        self.smoothed_losses = smooth(self.losses, self.smoothing)
        self.stop_reason = stop_reason
        self.num_steps_requested = int(num_steps_requested)
        self.val_losses = None if val_losses is None else np.asarray(val_losses, np.float64)

    @property
    def steps(self) -> int:
        """Optimizer steps the test took (its cost, in training steps)."""
        return len(self.lrs)

    def suggest(self, method: str = "combined") -> Suggestion:
        """A suggested LR by ``method``: ``steepest``, ``valley``, ``minimum_div_10`` or
        ``combined`` (see :mod:`lrlab.finder`).

        Raises:
            ValueError: If ``method`` is unknown.
        """
        try:
            suggester = SUGGESTERS[method]
        except (KeyError, TypeError):
            raise ValueError(
                f"suggest: method must be one of {tuple(SUGGESTERS)}, got {method!r}"
            ) from None
        return suggester(self.lrs, self.smoothed_losses)

    def suggestions(self) -> dict[str, Suggestion]:
        """Every method's suggestion, by method name."""
        return {name: self.suggest(name) for name in SUGGESTERS}

    def bounds(self) -> Bounds:
        """``(base, max)`` for ``cyclic`` and the ``one_cycle`` peak, from the curve."""
        return bounds(self.lrs, self.smoothed_losses)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: the curve (non-finite losses as ``None``), suggestions,
        bounds and how the test stopped."""
        found = self.bounds()
        return {
            "lrs": self.lrs.tolist(),
            "losses": _json_floats(self.losses),
            "smoothed_losses": _json_floats(self.smoothed_losses),
            "val_losses": None if self.val_losses is None else _json_floats(self.val_losses),
            "smoothing": self.smoothing,
            "stop_reason": self.stop_reason,
            "steps": self.steps,
            "num_steps_requested": self.num_steps_requested,
            "suggestions": {
                name: {"lr": item.lr, "index": item.index, "reason": item.reason}
                for name, item in self.suggestions().items()
            },
            "bounds": {
                "base_value": found.base_value,
                "max_value": found.max_value,
                "peak_value": found.peak_value,
                "reason": found.reason,
            },
        }

    def plot(self, path: str | os.PathLike[str], title: str | None = None) -> Path:
        """Draw loss against LR (log x-axis) with the suggestions marked; write ``path``.

        The raw losses are drawn faintly, the smoothed curve on top, each suggestion as a
        vertical line with its value, and the cyclic bounds as a shaded band. The file is
        written atomically.

        Returns:
            The path written.

        Raises:
            ImportError: If matplotlib is missing.
            ValueError: If ``path`` is not an image path.
        """
        from lrlab.plotting import image_path, require_matplotlib, save_figure

        output, image_format = image_path("RangeTestResult.plot", path)
        pyplot = require_matplotlib()
        figure, axes = pyplot.subplots(figsize=(8, 4.8), dpi=120, layout="constrained")
        try:
            finite = np.isfinite(self.losses)
            axes.plot(self.lrs[finite], self.losses[finite], color="0.7", label="loss")
            smooth_finite = np.isfinite(self.smoothed_losses)
            axes.plot(
                self.lrs[smooth_finite],
                self.smoothed_losses[smooth_finite],
                color="C0",
                linewidth=2.0,
                label=f"smoothed (beta={self.smoothing})",
            )
            found = self.bounds()
            if found.reason is None:
                band = f"cyclic bounds {found.base_value:.2g}-{found.max_value:.2g}"
                axes.axvspan(found.base_value, found.max_value, color="C2", alpha=0.12, label=band)
            suggestions = self.suggestions()
            for number, (name, item) in enumerate(suggestions.items(), start=1):
                if item.lr is not None:
                    axes.axvline(
                        item.lr, color=f"C{number}", linestyle="--", label=f"{name}: {item.lr:.3g}"
                    )
            _set_loss_limits(axes, self.losses[finite], self.smoothed_losses[smooth_finite])
            axes.set_xscale("log")
            axes.set_xlabel("learning rate (log scale)")
            axes.set_ylabel("loss")
            reason = suggestions["combined"].reason
            heading = title or f"LR range test: {self.steps} steps, {self.stop_reason}"
            axes.set_title(heading if reason is None else f"{heading}\n{reason}", fontsize=10)
            axes.grid(True, which="both", alpha=0.3)
            axes.legend(fontsize="small")
            save_figure(figure, output, image_format)
        finally:
            pyplot.close(figure)
        return output

    def __repr__(self) -> str:
        best = self.suggest()
        shown = f"{best.lr:.3g}" if best.lr is not None else f"none ({best.reason})"
        return f"RangeTestResult(steps={self.steps}, {self.stop_reason}, suggestion={shown})"


def _set_loss_limits(axes: Any, raw: np.ndarray, smoothed: np.ndarray) -> None:
    """Frame the descent: from below the lowest loss to a quarter above the starting smoothed
    loss, so the blow-up at the end of the sweep does not flatten the rest of the curve."""
    if smoothed.size == 0:
        return
    low = float(min(raw.min(initial=smoothed.min()), smoothed.min()))
    start = float(smoothed[0])
    high = max(start, float(smoothed.min())) + 0.25 * abs(start - low)
    margin = 0.05 * (high - low) or 0.05 * max(abs(low), 1e-12)
    axes.set_ylim(low - margin, high + margin)


def _json_floats(values: np.ndarray) -> list[float | None]:
    return [float(value) if np.isfinite(value) else None for value in values]
