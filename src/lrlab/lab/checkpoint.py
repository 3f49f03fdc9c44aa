"""Checkpoint files, written so that a crash at any moment leaves the previous one loadable.

:func:`save_checkpoint` writes through :func:`lrlab._files.write_atomic`: a synced
temporary file in the same directory, renamed over the target (atomic on POSIX), then the
directory synced. A process killed with ``kill -9`` mid-write leaves the previous
checkpoint in place and, at worst, a stray ``.NAME.*.tmp`` file, which the next save
removes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from lrlab._files import stray_temporaries, write_atomic

FORMAT = "lrlab.lab.checkpoint/1"
"""The ``format`` entry of every checkpoint this module writes."""


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically, first removing temporaries a killed save left.

    Args:
        path: The checkpoint file.
        state: Tensors, numbers, strings, lists and dicts (loadable with
            ``weights_only=True``); a ``format`` entry is added.

    Returns:
        The path written.

    Raises:
        TypeError: If ``state`` is not a dict.
        OSError: If the file cannot be written; the previous checkpoint is untouched.
    """
    if not isinstance(state, dict):
        raise TypeError(f"save_checkpoint: state must be a dict, got {type(state).__name__}")
    for stray in stray_temporaries(path):
        stray.unlink(missing_ok=True)
    return write_atomic(path, lambda handle: torch.save({**state, "format": FORMAT}, handle))


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors land on the CPU).

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a readable lrlab checkpoint.
    """
    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"no checkpoint at {str(source)!r}")
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a damaged file
        raise ValueError(f"checkpoint {str(source)!r} is unreadable: {error}") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{str(source)!r} is not an lrlab checkpoint ({FORMAT})")
    return state
