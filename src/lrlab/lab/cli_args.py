"""Argument types and shared options of the lab's commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from lrlab.lab.store import RunStore, open_store


def integer(low: int) -> Callable[[str], int]:
    """An argparse type: an integer ``>= low``."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    return convert


def real(text: str) -> float:
    """An argparse type: a number (range checks are the config's)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def names(text: str) -> list[str]:
    """An argparse type: a comma-separated list of names."""
    return [name.strip() for name in text.split(",") if name.strip()]


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--store FILE``."""
    parser.add_argument("--store", help="run store file (default $LRLAB_HOME/runs.db)")


def store_of(args: argparse.Namespace) -> RunStore:
    """The run store that ``--store`` names (else :func:`~lrlab.lab.store.default_store_path`)."""
    return open_store(args.store)
