"""What a training run prints: a rich progress bar on a terminal, Keras-style lines elsewhere.

Every epoch ends with one line such as::

    Epoch 3/40 - 2.1s - loss: 0.4123 - accuracy: 0.8512 - val_loss: 0.3990 -
    val_accuracy: 0.8620 - lr: 0.01

(one line on screen).
On a TTY (and with ``rich`` installed) a bar also shows the batches of the current epoch.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any, Protocol, TextIO

_SHOWN = ("loss", "accuracy", "val_loss", "val_accuracy")


def epoch_line(epoch: int, epochs: int, metrics: Mapping[str, Any]) -> str:
    """The Keras-style summary of one epoch.

    Args:
        epoch: The epoch index from 0 (shown from 1).
        epochs: The run's total epochs.
        metrics: ``seconds``, ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` and
            ``lr``; a missing or ``None`` value shows as ``nan``.

    >>> print(epoch_line(2, 40, {"seconds": 2.14, "loss": 0.41234, "accuracy": 0.85, "lr": 0.1}))
    ... # doctest: +NORMALIZE_WHITESPACE
    Epoch 3/40 - 2.1s - loss: 0.4123 - accuracy: 0.8500 - val_loss: nan -
    val_accuracy: nan - lr: 0.1
    """
    parts = [f"Epoch {epoch + 1}/{epochs}", f"{_value(metrics.get('seconds')):.1f}s"]
    parts += [f"{name}: {_value(metrics.get(name)):.4f}" for name in _SHOWN]
    parts.append(f"lr: {_value(metrics.get('lr')):.4g}")
    return " - ".join(parts)


def _value(number: Any) -> float:
    return math.nan if number is None else float(number)


class Progress(Protocol):
    """Receives a run's progress; :func:`make_progress` picks one."""

    def start_epoch(self, epoch: int, epochs: int, batches: int, done: int) -> None:
        """An epoch begins (``done`` batches of it already ran before a resume)."""

    def advance(self) -> None:
        """One batch finished."""

    def end_epoch(self, epoch: int, epochs: int, metrics: Mapping[str, Any]) -> None:
        """An epoch finished with ``metrics``."""

    def message(self, text: str) -> None:
        """A line of news (a checkpoint, a stop)."""

    def close(self) -> None:
        """The run is over."""


class LineProgress:
    """One Keras-style line per epoch on ``stream``; silent when ``stream`` is None."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def start_epoch(self, epoch: int, epochs: int, batches: int, done: int) -> None:
        """Nothing to show until the epoch ends."""

    def advance(self) -> None:
        """Nothing to show per batch."""

    def end_epoch(self, epoch: int, epochs: int, metrics: Mapping[str, Any]) -> None:
        """Print the epoch's line."""
        self.message(epoch_line(epoch, epochs, metrics))

    def message(self, text: str) -> None:
        """Print ``text`` on its own line."""
        if self._stream is not None:
            print(text, file=self._stream, flush=True)

    def close(self) -> None:
        """Nothing to release."""


class BarProgress(LineProgress):
    """A ``rich`` bar over the batches of each epoch, above the epoch lines."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            "{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=True,
        )
        self._task: Any = None
        self._bar.start()

    def start_epoch(self, epoch: int, epochs: int, batches: int, done: int) -> None:
        """Start a bar for this epoch's batches."""
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(f"Epoch {epoch + 1}/{epochs}", total=batches)
        self._bar.update(self._task, completed=done)

    def advance(self) -> None:
        """Move the bar by one batch."""
        self._bar.advance(self._task)

    def message(self, text: str) -> None:
        """Print ``text`` above the bar, on one line (the terminal wraps it, not rich)."""
        self._bar.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        """Remove the bar."""
        self._bar.stop()


def make_progress(stream: TextIO | None = sys.stdout, *, bar: bool | None = None) -> Progress:
    """A bar on a terminal when ``rich`` is installed, plain lines otherwise.

    Args:
        stream: Where to write; ``None`` for silence.
        bar: Force (True) or refuse (False) the bar; ``None`` shows it when
            ``stream.isatty()`` and ``rich`` imports.

    Raises:
        ImportError: If ``bar=True`` and ``rich`` is not installed.
    """
    if stream is None or bar is False:
        return LineProgress(stream)
    if bar:
        return BarProgress(stream)
    if stream.isatty():
        try:
            return BarProgress(stream)
        except ImportError:
            return LineProgress(stream)
    return LineProgress(stream)
