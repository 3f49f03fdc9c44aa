"""Atomic file writes: a synced temporary file in the same directory, renamed into place.

A crash, ``kill -9`` or full disk at any moment leaves either the previous file or the
new one, never a mix, and at worst a stray ``.NAME.*.tmp`` file beside it
(:func:`stray_temporaries` finds those).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def stray_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Temporary files that an interrupted :func:`write_atomic` of ``path`` left behind."""
    target = Path(path)
    return sorted(target.parent.glob(f".{target.name}.*.tmp"))


def write_atomic(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` through ``write(handle)`` into a synced temporary file renamed into place.

    The directory is synced after the rename, so the new name survives a power cut.

    Returns:
        The path written.

    Raises:
        OSError: If writing fails; ``path`` keeps its previous content.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~_umask())  # mkstemp made it 0600
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return target


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` with :func:`write_atomic`."""
    return write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))
