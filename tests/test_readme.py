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
    assert main_job.startswith("python3 -m venv .venv && ") and "lrlab compare" in main_job
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


def test_main_job_compares_and_leaves_a_report(tmp_path: Path) -> None:
    """The lrlab part of the README's main job, as written (output and store in tmp)."""
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    import json
    import shlex

    from lrlab.cli import main

    argv = shlex.split(opening_commands()[0].split(".venv/bin/lrlab ", 1)[1])
    out = tmp_path / argv[argv.index("--out") + 1]
    argv[argv.index("--out") + 1] = str(out)
    assert main([*argv, "--store", str(tmp_path / "runs.db"), "--progress", "none"]) == 0
    rows = json.loads((out / "summary.json").read_text())
    assert len(rows) == 15 and {row["status"] for row in rows} == {"finished"}
    # digits has 10 balanced classes (chance 0.10).
    assert min(row["val_accuracy"] for row in rows) > 0.9
    assert (out / "report.html").stat().st_size > 50_000
