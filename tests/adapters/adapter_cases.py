"""Schedules every adapter is checked against: one per registered kind, plus compositions.

Lengths are a few tens of steps so that a short run crosses every phase boundary.
"""

from __future__ import annotations

import lrlab

STEPS = 60
"""Optimizer steps in each parity run."""

KIND_SPECS: dict[str, str] = {
    "constant": "constant(value=0.05)",
    "inverse_time": "inverse_time(init_value=0.1, decay_rate=0.05)",
    "step": "step(init_value=0.1, factor=0.5, every=7, offset=1)",
    "multistep": "multistep(init_value=0.1, milestones=[5, 20, 41], factor=0.3)",
    "exponential": "exponential(init_value=0.1, factor=0.9, every=3, staircase=True)",
    "polynomial": "polynomial(init_value=0.1, total_steps=50, power=2.0, end_value=0.001)",
    "linear": "linear(init_value=0.1, end_value=0.0, total_steps=40)",
    "cosine": "cosine(init_value=0.1, total_steps=45, end_value=0.001)",
    "cosine_restarts": "cosine_restarts(init_value=0.1, period=7, period_mult=1.5, peak_decay=0.8)",
    "cyclic": "cyclic(base_value=0.001, max_value=0.1, step_size_up=6, step_size_down=9, "
    "mode='triangular2')",
    "one_cycle": "one_cycle(peak_value=0.1, total_steps=55, pct_start=0.25, three_phase=True)",
    "inverse_sqrt": "inverse_sqrt(init_value=0.1, warmup_steps=8)",
    "wsd": "wsd(peak_value=0.1, total_steps=50, warmup_steps=5, decay_steps=15)",
    "warmup": "warmup(cosine(init_value=0.1, total_steps=40), warmup_steps=10)",
    "sequence": "linear(init_value=0.0, end_value=0.1, total_steps=10) >> "
    "cosine(init_value=0.1, total_steps=40)",
    "scale": "0.5 * exponential(init_value=0.2, factor=0.95)",
    "product": "cosine(init_value=1.0, total_steps=50) * "
    "step(init_value=0.1, factor=0.5, every=10)",
    "clip": "clip(inverse_time(init_value=0.1, decay_rate=0.5), min_value=0.02)",
    "per_epoch": "per_epoch(linear(init_value=0.1, end_value=0.01, total_steps=5), "
    "steps_per_epoch=11)",
}
"""A spec for each registered kind; the test below keeps it complete."""

COMPOSED_SPECS: list[str] = [
    "warmup(one_cycle(peak_value=0.1, total_steps=50, anneal='linear'), warmup_steps=5, "
    "shape='cosine', start_factor=0.1)",
    "clip(0.5 * cyclic(base_value=0.0, max_value=0.2, step_size_up=5, mode='exp_range', "
    "gamma=0.99), max_value=0.08)",
    "sequence(per_epoch(step(init_value=0.1, factor=0.5, every=2), steps_per_epoch=7), "
    "constant(value=0.01), durations=[35])",
]
"""A few deeper compositions."""


def all_specs() -> list[str]:
    """Every spec above: one per kind, then the compositions."""
    return [*KIND_SPECS.values(), *COMPOSED_SPECS]


def missing_kinds() -> set[str]:
    """Registered kinds with no spec here (must be empty)."""
    covered = {lrlab.parse(spec).kind for spec in KIND_SPECS.values()}
    return set(lrlab.registered_kinds()) - covered
