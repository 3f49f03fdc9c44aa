"""Repository-wide pytest setup, shared by the doctests under ``src/`` and by ``tests/``.

Keras 3 runs on the torch backend here (TensorFlow is not installed), so the backend is
chosen before anything imports Keras. Modules of optional extras that are not installed
are left out of doctest collection; their tests skip with ``pytest.importorskip``.
"""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

_EXTRA_MODULES = {
    "src/lrlab/torch.py": ("torch",),
    "src/lrlab/keras.py": ("keras", "torch"),
    "src/lrlab/optax.py": ("jax", "optax"),
}

collect_ignore = [
    path
    for path, needs in _EXTRA_MODULES.items()
    if any(importlib.util.find_spec(name) is None for name in needs)
]
