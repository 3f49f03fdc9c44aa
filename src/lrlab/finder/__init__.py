"""The LR range test (Smith 2017): sweep the LR, record the loss, suggest an LR.

:func:`lrlab.torch.find_lr` and :func:`lrlab.keras.find_lr` run the sweep and return a
:class:`RangeTestResult`. Its suggestion methods are pure functions of the curve:

- ``steepest``: where the smoothed loss falls fastest against log LR;
- ``valley``: fastai's point inside the longest descending stretch;
- ``minimum_div_10``: one tenth of the LR at the lowest loss;
- ``combined``: the median of the three in log LR (the default).

``bounds()`` gives Smith's ``cyclic`` base and max, where the loss starts and stops
descending; the max is also the ``one_cycle`` peak. :func:`one_cycle_from` and
:func:`cyclic_from` build those schedules from a result.
"""

from lrlab.finder._auto import cyclic_from, one_cycle_from
from lrlab.finder._curve import Smoother, diverged, smooth, sweep_schedule
from lrlab.finder._result import STOP_REASONS, RangeTestResult
from lrlab.finder._suggest import (
    SUGGESTERS,
    Bounds,
    Suggestion,
    bounds,
    combined,
    minimum_div_10,
    steepest,
    valley,
)

__all__ = [
    "Bounds",
    "RangeTestResult",
    "STOP_REASONS",
    "SUGGESTERS",
    "Smoother",
    "Suggestion",
    "bounds",
    "combined",
    "cyclic_from",
    "diverged",
    "minimum_div_10",
    "one_cycle_from",
    "smooth",
    "steepest",
    "sweep_schedule",
    "valley",
]
