"""Training length in optimizer steps, from the quantities users actually know.

A schedule's ``total_steps`` counts optimizer steps. Getting that count wrong is how
``OneCycleLR`` ends in "Tried to step X times": the number of optimizer steps per epoch
depends on the dataset size, the batch size, gradient accumulation, the number of data
parallel workers and ``drop_last``. These functions do that arithmetic once, with each
convention written down.
"""

from __future__ import annotations

from lrlab.schedules._validate import as_int, describe


def _count(name: str, value: object, at_least: int) -> int:
    number = as_int("horizon", name, value)
    if number < at_least:
        raise ValueError(f"horizon: {name} must be an integer >= {at_least}, got {number!r}")
    return number


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"horizon: {name} must be True or False, got {describe(value)}")
    return value


def steps_per_epoch(
    dataset_size: int,
    batch_size: int,
    *,
    accumulation_steps: int = 1,
    world_size: int = 1,
    drop_last: bool = False,
    partial_accumulation: bool = True,
) -> int:
    r"""Optimizer steps in one epoch of data-parallel training with gradient accumulation.

    Each of the ``W = world_size`` workers sees :math:`n = \lceil N / W \rceil` samples
    (torch ``DistributedSampler``'s default pads the last round), split into
    :math:`b = \lfloor n / B \rfloor` batches with ``drop_last`` and
    :math:`\lceil n / B \rceil` without. With ``A = accumulation_steps`` micro-batches per
    optimizer step the epoch makes

    .. math:: \lceil b / A \rceil \text{ steps (partial\_accumulation)}, \qquad
        \lfloor b / A \rfloor \text{ steps otherwise.}

    ``partial_accumulation=True`` is the loop that also steps on a last, incomplete group
    (``if (i + 1) % A == 0 or i + 1 == len(loader)``); ``False`` is the loop that drops it.

    Args:
        dataset_size: Samples in the training set, ``N >= 1``.
        batch_size: Samples per batch on each worker, ``B >= 1``.
        accumulation_steps: Micro-batches per optimizer step, ``A >= 1``.
        world_size: Data-parallel workers (GPUs, processes), ``W >= 1``.
        drop_last: Whether the data loader drops the last incomplete batch.
        partial_accumulation: Whether a last group of fewer than ``A`` micro-batches
            still makes an optimizer step.

    Returns:
        Optimizer steps per epoch.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If an argument is out of range, or no optimizer step would be made.

    Example:
        >>> steps_per_epoch(50_000, 128)
        391
        >>> steps_per_epoch(50_000, 32, accumulation_steps=4, world_size=8, drop_last=True)
        49
    """
    samples = _count("dataset_size", dataset_size, 1)
    batch = _count("batch_size", batch_size, 1)
    accumulation = _count("accumulation_steps", accumulation_steps, 1)
    workers = _count("world_size", world_size, 1)
    per_worker = -(-samples // workers)
    batches = per_worker // batch if _flag("drop_last", drop_last) else -(-per_worker // batch)
    if _flag("partial_accumulation", partial_accumulation):
        steps = -(-batches // accumulation)
    else:
        steps = batches // accumulation
    if steps == 0:
        raise ValueError(
            f"horizon: no optimizer step per epoch with dataset_size={samples}, "
            f"batch_size={batch}, accumulation_steps={accumulation}, world_size={workers}, "
            f"drop_last={drop_last}, partial_accumulation={partial_accumulation}"
        )
    return steps


def total_steps(
    epochs: int,
    dataset_size: int,
    batch_size: int,
    *,
    accumulation_steps: int = 1,
    world_size: int = 1,
    drop_last: bool = False,
    partial_accumulation: bool = True,
) -> int:
    """Optimizer steps in ``epochs`` epochs: ``epochs * steps_per_epoch(...)``.

    This is the ``total_steps`` to give ``one_cycle``, ``cosine`` and the other finite
    schedules stepped once per optimizer step; see :func:`steps_per_epoch` for the
    arguments.

    Example:
        >>> total_steps(30, 50_000, 512, accumulation_steps=2)
        1470
    """
    count = _count("epochs", epochs, 1)
    return count * steps_per_epoch(
        dataset_size,
        batch_size,
        accumulation_steps=accumulation_steps,
        world_size=world_size,
        drop_last=drop_last,
        partial_accumulation=partial_accumulation,
    )
