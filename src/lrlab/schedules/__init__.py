"""Pure, closed-form, vectorized learning-rate schedules (numpy only).

Every family is a frozen dataclass registered by its ``kind``; see :func:`lrlab.parse`
for the spec language and :mod:`lrlab.schedules.presets` for the reference presets.
"""

from lrlab.schedules._base import Schedule, family, registered_kinds, schedule_class
from lrlab.schedules._compose import (
    Clip,
    PerEpoch,
    Product,
    Scale,
    Sequence,
    Warmup,
)
from lrlab.schedules._cycles import CosineRestarts, Cyclic, OneCycle
from lrlab.schedules._decays import (
    Constant,
    Cosine,
    Exponential,
    InverseTime,
    Linear,
    MultiStep,
    Polynomial,
    Step,
)
from lrlab.schedules._plateau import Plateau
from lrlab.schedules._transformer_schedules import InverseSqrt, WarmupStableDecay
from lrlab.schedules.presets import preset, preset_names, register_preset
from lrlab.schedules.serialize import from_config, from_dict, load, to_dict
from lrlab.schedules.spec import format_spec, parse

__all__ = [
    "Clip",
    "Constant",
    "Cosine",
    "CosineRestarts",
    "Cyclic",
    "Exponential",
    "InverseSqrt",
    "InverseTime",
    "Linear",
    "MultiStep",
    "OneCycle",
    "PerEpoch",
    "Plateau",
    "Polynomial",
    "Product",
    "Scale",
    "Schedule",
    "Sequence",
    "Step",
    "Warmup",
    "WarmupStableDecay",
    "family",
    "format_spec",
    "from_config",
    "from_dict",
    "load",
    "parse",
    "preset",
    "preset_names",
    "register_preset",
    "registered_kinds",
    "schedule_class",
    "to_dict",
]
