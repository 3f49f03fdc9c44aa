"""``lrlab.steps_per_epoch`` / ``lrlab.total_steps``: optimizer steps from real units."""

from __future__ import annotations

import itertools

import pytest

import lrlab


def simulated_steps(
    n: int, batch: int, accumulation: int, world: int, drop_last: bool, partial: bool
) -> int:
    """Count optimizer steps of rank 0 by running the loop the docstring describes."""
    per_rank = len(range(0, -(-n // world) * world, world))  # DistributedSampler pads
    batches = [min(batch, per_rank - start) for start in range(0, per_rank, batch)]
    if drop_last:
        batches = [size for size in batches if size == batch]
    steps = 0
    for index in range(len(batches)):
        last = index + 1 == len(batches)
        if (index + 1) % accumulation == 0 or (partial and last):
            steps += 1
    return steps  # fmt: skip


@pytest.mark.parametrize(
    ("n", "batch", "accumulation", "world", "drop_last", "partial"),
    list(itertools.product([1, 7, 100, 1001], [1, 8, 64], [1, 3], [1, 4], [False, True],
                           [True, False])),
)  # fmt: skip
def test_steps_per_epoch_matches_the_training_loop(
    n: int, batch: int, accumulation: int, world: int, drop_last: bool, partial: bool
) -> None:
    expected = simulated_steps(n, batch, accumulation, world, drop_last, partial)
    options = dict(accumulation_steps=accumulation, world_size=world, drop_last=drop_last,
                   partial_accumulation=partial)  # fmt: skip
    if expected == 0:
        with pytest.raises(ValueError, match="no optimizer step per epoch"):
            lrlab.steps_per_epoch(n, batch, **options)
        return
    assert lrlab.steps_per_epoch(n, batch, **options) == expected
    assert lrlab.total_steps(3, n, batch, **options) == 3 * expected


def test_reference_numbers() -> None:
    assert lrlab.steps_per_epoch(50_000, 64) == 782  # MiniVGGNet, Table 16.1
    assert lrlab.steps_per_epoch(50_000, 128) == 391
    assert lrlab.total_steps(40, 50_000, 64) == 31_280


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dataset_size": 0}, ValueError, "dataset_size must be an integer >= 1, got 0"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an integer"),
        ({"batch_size": True}, TypeError, "batch_size must be an integer"),
        ({"accumulation_steps": 0}, ValueError, "accumulation_steps must be an integer >= 1"),
        ({"world_size": "2"}, TypeError, "world_size must be"),
        ({"drop_last": 1}, TypeError, "drop_last must be True or False"),
        ({"partial_accumulation": None}, TypeError, "partial_accumulation must be True or"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, error: type, match: str) -> None:
    arguments = {"dataset_size": 100, "batch_size": 10, **kwargs}
    with pytest.raises(error, match=match):
        lrlab.steps_per_epoch(**arguments)


def test_epochs_must_be_positive() -> None:
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        lrlab.total_steps(0, 100, 10)
