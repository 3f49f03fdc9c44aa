"""Array namespaces that schedule formulas are written against.

Every family computes its value with the functions of an array namespace ``xp``:
``numpy`` for arrays, :data:`SCALAR` below for plain Python floats, and (in the adapters)
``jax.numpy`` or ``keras.ops``. Writing each formula once against this small common
subset keeps the math in one place while a scalar call stays free of numpy overhead.

The subset is: ``floor``, ``cos``, ``sqrt``, ``log``, ``minimum``, ``maximum``,
``where``, ``full_like``, plus the arithmetic operators and ``**``.
"""

from __future__ import annotations

import math
from typing import Any


class ScalarNamespace:
    """The array-namespace subset implemented on Python floats with :mod:`math`."""

    __slots__ = ()

    @staticmethod
    def floor(x: float) -> float:
        """Largest integral value not above ``x``, as a float."""
        return float(math.floor(x))

    @staticmethod
    def cos(x: float) -> float:
        """Cosine of ``x`` (radians)."""
        return math.cos(x)

    @staticmethod
    def sqrt(x: float) -> float:
        """Non-negative square root of ``x``."""
        return math.sqrt(x)

    @staticmethod
    def log(x: float) -> float:
        """Natural logarithm of ``x``."""
        return math.log(x)

    @staticmethod
    def minimum(a: float, b: float) -> float:
        """The smaller of ``a`` and ``b``."""
        return a if a <= b else b

    @staticmethod
    def maximum(a: float, b: float) -> float:
        """The larger of ``a`` and ``b``."""
        return a if a >= b else b

    @staticmethod
    def where(condition: Any, if_true: Any, if_false: Any) -> Any:
        """``if_true`` when ``condition`` holds, else ``if_false``."""
        return if_true if condition else if_false

    @staticmethod
    def full_like(x: float, value: float) -> float:
        """``value`` as a float (the scalar analogue of ``numpy.full_like``)."""
        return float(value)


SCALAR = ScalarNamespace()
"""The namespace used when a schedule is called on a Python or numpy scalar."""
