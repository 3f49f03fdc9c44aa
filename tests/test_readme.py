"""The README's promises: its two opening commands, its figures, its examples."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import lrlab

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def opening_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert block is not None, "README must open with a bash block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_main_job_then_tests() -> None:
    main_job, tests = opening_commands()
    assert main_job.startswith("python3 -m venv .venv && ") and "lrlab plot" in main_job
    assert tests.startswith("python3 -m venv .venv && ") and "pytest" in tests
    assert README.index("```bash") < README.index("## ")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = opening_commands()[1]
    assert test_command in ci.splitlines()


@pytest.mark.parametrize("figure", sorted(set(re.findall(r"\((docs/[\w.]+\.png)\)", README))))
def test_readme_figures_are_real_plots(figure: str) -> None:
    from matplotlib import image

    path = ROOT / figure
    assert path.stat().st_size > 20_000
    pixels = image.imread(path)[..., :3]
    assert pixels.shape[0] > 300 and pixels.shape[1] > 500
    assert 0.02 < (pixels < 0.95).any(axis=-1).mean() < 0.9


@pytest.mark.parametrize(
    "path", sorted((ROOT / "examples" / "schedules").glob("*.*")), ids=lambda p: p.name
)
def test_example_schedule_files_load(path: Path) -> None:
    schedule = lrlab.load(path)
    assert lrlab.parse(repr(schedule)) == schedule
    values = schedule(np.arange(20_000))
    assert np.all(np.isfinite(values)) and values.min() >= 0 and values.max() > 0
