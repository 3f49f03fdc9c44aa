"""Resume in a fresh interpreter at a random step continues bit-identically on CPU.

For every kind, a few compositions and two optimizers, a run is checkpointed at a random
step ``k`` (model, optimizer and scheduler state, through ``torch.save``). A new Python
process rebuilds everything from scratch, loads the checkpoint and trains to the end.
Its LR trace and final weights must equal the uninterrupted run's, bit for bit.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from adapter_cases import STEPS, all_specs  # noqa: E402
from torch_resume_worker import build, run_steps  # noqa: E402

import lrlab  # noqa: E402

WORKER = Path(__file__).with_name("torch_resume_worker.py")
PAIRS_PER_SPEC = 2


def test_resume_in_a_fresh_process_is_bit_identical(tmp_path: Path) -> None:
    rng = np.random.default_rng(20261130)
    plan, expected = [], []
    for spec in all_specs():
        for optimizer_name in ("sgd", "adam"):
            for k in rng.integers(1, STEPS, size=PAIRS_PER_SPEC):
                model, optimizer, scheduler = build(spec, optimizer_name)
                lrs = run_steps(model, optimizer, scheduler, 0, int(k))
                checkpoint = tmp_path / f"run{len(plan)}.pt"
                torch.save(
                    {
                        "model": model.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                    },
                    checkpoint,
                )
                lrs += run_steps(model, optimizer, scheduler, int(k), STEPS)
                np.testing.assert_array_equal(lrs, lrlab.parse(spec)(np.arange(STEPS)))
                expected.append({"lrs": lrs, "model": model.state_dict()})
                plan.append(
                    {
                        "spec": spec,
                        "optimizer": optimizer_name,
                        "k": int(k),
                        "steps": STEPS,
                        "checkpoint": str(checkpoint),
                    }
                )
    plan_path, result_path = tmp_path / "plan.pt", tmp_path / "results.pt"
    torch.save(plan, plan_path)
    subprocess.run(
        [sys.executable, "-W", "error", str(WORKER), str(plan_path), str(result_path)],
        check=True,
        cwd=WORKER.parent,
        timeout=300,
    )
    resumed = torch.load(result_path, weights_only=True)
    assert len(resumed) == len(plan) == len(all_specs()) * 2 * PAIRS_PER_SPEC
    for run, want, got in zip(plan, expected, resumed, strict=True):
        label = f"{run['spec']} / {run['optimizer']} / k={run['k']}"
        assert got["lrs"] == want["lrs"][run["k"] :], label
        for name, tensor in want["model"].items():
            assert torch.equal(got["model"][name], tensor), f"{label}: {name} differs"
