"""lrlab: learning-rate schedules that give the same curve in every framework.

The core (:mod:`lrlab.schedules`) needs only numpy::

    >>> import lrlab
    >>> schedule = lrlab.parse("warmup(cosine(init_value=0.1, total_steps=90), warmup_steps=10)")
    >>> schedule(10)
    0.1
"""

from lrlab.horizon import steps_per_epoch, total_steps
from lrlab.schedules import (
    Plateau,
    Schedule,
    format_spec,
    from_config,
    from_dict,
    load,
    parse,
    preset,
    preset_names,
    registered_kinds,
    to_dict,
)

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``lrlab.find_lr``: the PyTorch range test, imported (with torch) on first use."""
    if name == "find_lr":
        from lrlab.torch import find_lr

        return find_lr
    raise AttributeError(f"module 'lrlab' has no attribute {name!r}")


__all__ = [
    "Plateau",
    "Schedule",
    "__version__",
    "find_lr",
    "format_spec",
    "from_config",
    "from_dict",
    "load",
    "parse",
    "preset",
    "preset_names",
    "registered_kinds",
    "steps_per_epoch",
    "to_dict",
    "total_steps",
]
