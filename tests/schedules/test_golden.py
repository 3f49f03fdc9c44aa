"""Golden tests: lrlab schedules reproduce trajectories recorded from torch, Keras and transformers.

The trajectories live in ``tests/golden/*.json`` and were produced by stepping the real framework
schedulers (see ``tests/golden/generate.py``). This module reads only the JSON files, so it
needs neither torch, Keras nor transformers.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lrlab

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
FRAMEWORKS = ("torch", "keras", "transformers")
RTOL = 1e-12
ZERO_ATOL_FACTOR = 1e-15
MIN_CASES_PER_SCHEDULE = 3


def load_golden(framework: str) -> dict[str, Any]:
    """Loads one golden file.

    Args:
        framework: File stem, e.g. ``"torch"``.

    Returns:
        The parsed JSON document.
    """
    with (GOLDEN_DIR / f"{framework}.json").open() as handle:
        return json.load(handle)


GOLDEN = {framework: load_golden(framework) for framework in FRAMEWORKS}
CASES = [case for framework in FRAMEWORKS for case in GOLDEN[framework]["cases"]]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_matches_framework(case: dict[str, Any]) -> None:
    """The lrlab spec reproduces the framework trajectory to a relative error of 1e-12."""
    expected = np.asarray(case["lrs"], dtype=np.float64)
    got = np.asarray(lrlab.parse(case["spec"])(np.arange(case["steps"])), dtype=np.float64)
    assert got.shape == expected.shape
    # Relative tolerance everywhere; exact zeros get an absolute floor instead.
    tolerance = np.where(
        expected == 0.0,
        ZERO_ATOL_FACTOR * np.abs(expected).max(),
        RTOL * np.abs(expected),
    )
    bad = np.flatnonzero(~(np.abs(got - expected) <= tolerance))
    if bad.size:
        first = int(bad[0])
        pytest.fail(
            f"{case['name']}: {case['spec']} differs from {case['source']} at {bad.size} "
            f"step(s); first at step {first}: expected {expected[first]!r}, got {got[first]!r}"
        )


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_golden_file_metadata(framework: str) -> None:
    """Each golden file records its versions and has enough cases per framework schedule."""
    golden = GOLDEN[framework]
    assert golden["generator"] == "tests/golden/generate.py"
    versions = golden["versions"]
    for package in ("python", "numpy", framework):
        assert isinstance(versions.get(package), str)
        assert versions[package]
    names = [case["name"] for case in golden["cases"]]
    assert len(names) == len(set(names))
    per_schedule = Counter(name.rsplit("-", 1)[0] for name in names)
    too_few = {name: n for name, n in per_schedule.items() if n < MIN_CASES_PER_SCHEDULE}
    assert not too_few
    for case in golden["cases"]:
        assert len(case["lrs"]) == case["steps"]
        assert all(np.isfinite(case["lrs"]))
