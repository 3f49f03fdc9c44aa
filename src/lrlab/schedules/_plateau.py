"""Reduce-on-plateau: the one stateful controller, driven by a metric.

A :class:`Plateau` does not replace a schedule; it yields a multiplier that starts at 1 and
drops by ``factor`` each time the metric stops improving. The adapters apply it on top of
any schedule (``warmup >> cosine``, then times the plateau multiplier), which neither
torch's ``ReduceLROnPlateau`` nor Keras' callback allows.
"""

from __future__ import annotations

import math
from typing import Any

from lrlab.schedules import _validate as check
from lrlab.schedules._ops import SCALAR

_MODES = ("min", "max")
_THRESHOLD_MODES = ("rel", "abs")
_STATE_KEYS = ("best", "bad_epochs", "cooldown_left", "reductions")


class Plateau:
    r"""Reduce the learning rate by ``factor`` when a metric stops improving.

    A metric value ``m`` improves on the best so far ``b`` when (for ``mode="min"``)

    .. math:: m < b\,(1 - \theta)\ \text{(rel)}\qquad m < b - \theta\ \text{(abs)}

    and mirrored for ``mode="max"`` (:math:`m > b(1 + \theta)`, :math:`m > b + \theta`).
    After more than ``patience`` reports in a row without improvement the multiplier is
    multiplied by ``factor``, then ``cooldown`` reports pass before bad ones count again.
    These are the rules of torch ``ReduceLROnPlateau``; Keras' ``patience=p`` (which
    reduces at the ``p``-th bad report) is ``patience=p - 1`` here, and its ``min_delta``
    is ``threshold`` with ``threshold_mode="abs"``.

    The learning rate at time ``t`` is

    .. math:: \eta(t) = \max\bigl(k\,s(t),\ \min(s(t), \eta_{min})\bigr)

    where ``s`` is the schedule, ``k = factor**reductions`` and :math:`\eta_{min}` is
    ``min_value``: reductions never push the LR below ``min_value``, and never lift a
    schedule that is already below it (a warm-up from 0 stays a warm-up).

    Args:
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        factor: Multiplier applied at each reduction, ``0 < factor < 1``.
        patience: Reports without improvement tolerated before a reduction, ``>= 0``.
        threshold: Smallest change that counts as an improvement, ``>= 0``.
        threshold_mode: ``"rel"`` (a fraction of the best value) or ``"abs"`` (metric units).
        cooldown: Reports after a reduction during which bad reports are not counted.
        min_value: Floor on the reduced learning rate, ``>= 0`` (torch's ``min_lr``).

    Example:
        >>> plateau = Plateau(factor=0.5, patience=1)
        >>> [plateau.update(loss) for loss in (1.0, 0.9, 0.95, 0.95)]
        [False, False, False, True]
        >>> plateau.apply(0.1)
        0.05
    """

    kind = "plateau"

    def __init__(
        self,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_value: float = 0.0,
    ) -> None:
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.min_value = min_value
        check.choice(self, "mode", _MODES)
        check.real(self, "factor", above=0.0, below=1.0)
        check.integer(self, "patience", at_least=0)
        check.real(self, "threshold", at_least=0.0)
        check.choice(self, "threshold_mode", _THRESHOLD_MODES)
        check.integer(self, "cooldown", at_least=0)
        check.real(self, "min_value", at_least=0.0)
        self.best = math.inf if mode == "min" else -math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0
        self.reductions = 0

    @property
    def multiplier(self) -> float:
        """``factor ** reductions``: what the schedule's LR is multiplied by (before the floor)."""
        return self.factor**self.reductions

    def _improves(self, metric: float) -> bool:
        best, threshold = self.best, self.threshold
        if self.mode == "min":
            bar = best * (1.0 - threshold) if self.threshold_mode == "rel" else best - threshold
            return metric < bar
        bar = best * (1.0 + threshold) if self.threshold_mode == "rel" else best + threshold
        return metric > bar

    def update(self, metric: float) -> bool:
        """Report one value of the monitored metric (once per epoch, usually).

        Args:
            metric: The metric, a finite real number.

        Returns:
            ``True`` if this report triggered a reduction.

        Raises:
            TypeError: If ``metric`` is not a real number.
            ValueError: If ``metric`` is NaN or infinite (a diverged run has no plateau).
        """
        value = check.as_real(self.kind, "metric", _as_python_number(metric))
        if self._improves(value):
            self.best = value
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience:
            self.reductions += 1
            self.cooldown_left = self.cooldown
            self.bad_epochs = 0
            return True
        return False

    def apply(self, value: float) -> float:
        """The learning rate after the plateau reductions, for a schedule value ``value``."""
        return apply_multiplier(value, self.multiplier, self.min_value, SCALAR)

    def config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-ready: ``Plateau(**p.config())`` is a fresh copy."""
        return {
            "mode": self.mode,
            "factor": self.factor,
            "patience": self.patience,
            "threshold": self.threshold,
            "threshold_mode": self.threshold_mode,
            "cooldown": self.cooldown,
            "min_value": self.min_value,
        }

    def state_dict(self) -> dict[str, Any]:
        """The configuration and the running state, JSON-ready (``best`` may be ``±inf``)."""
        return {"config": self.config(), **{key: getattr(self, key) for key in _STATE_KEYS}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the running state saved by :meth:`state_dict`.

        The configuration of this instance is kept: a plateau built with new options and
        loaded from an old checkpoint continues the old counters under the new options.

        Raises:
            TypeError: If ``state`` is not a dict.
            ValueError: If a key is missing or a value is out of range.
        """
        if not isinstance(state, dict):
            raise TypeError(f"plateau: state must be a dict, got {check.describe(state)}")
        missing = [key for key in _STATE_KEYS if key not in state]
        if missing:
            raise ValueError(f"plateau: state is missing {missing}")
        best = state["best"]
        if not isinstance(best, int | float) or math.isnan(best):
            raise ValueError(f"plateau: state best must be a number, got {best!r}")
        counts = {
            key: check.as_length(self.kind, key, state[key], at_least=0)
            for key in ("bad_epochs", "cooldown_left", "reductions")
        }
        self.best = float(best)
        self.bad_epochs = counts["bad_epochs"]
        self.cooldown_left = counts["cooldown_left"]
        self.reductions = counts["reductions"]

    def __repr__(self) -> str:
        options = ", ".join(f"{key}={value!r}" for key, value in self.config().items())
        return f"Plateau({options}; reductions={self.reductions}, best={self.best!r})"


def apply_multiplier(value: Any, multiplier: Any, min_value: Any, xp: Any) -> Any:
    r"""The plateau rule :math:`\max(k\,v,\ \min(v, \eta_{min}))` in array namespace ``xp``.

    :meth:`Plateau.apply` with the multiplier ``k`` and the floor :math:`\eta_{min}` given
    explicitly, so that an adapter can evaluate it on tensors (``k`` in a framework variable).

    Args:
        value: Schedule value(s) ``v``, a float or an array of ``xp``.
        multiplier: ``k``, e.g. :attr:`Plateau.multiplier`.
        min_value: :math:`\eta_{min}`, e.g. :attr:`Plateau.min_value`.
        xp: An array namespace of :mod:`lrlab.schedules._ops` (``SCALAR`` for floats).
    """
    return xp.maximum(value * multiplier, xp.minimum(value, min_value))


def _as_python_number(metric: Any) -> Any:
    """Unwrap a 0-dim array or tensor (``loss.item()``-like objects) to a Python number."""
    item = getattr(metric, "item", None)
    if callable(item) and getattr(metric, "ndim", None) == 0:
        return item()
    return metric
