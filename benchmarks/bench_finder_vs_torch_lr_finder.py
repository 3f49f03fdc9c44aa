"""``lrlab.find_lr`` side by side with ``torch-lr-finder`` on the same model and data.

For each seed, on the BatchNorm CNN on sklearn's ``digits`` (see ``bench_finder.py``), both
finders sweep 1e-5 .. 10 over 84 steps of batch 16 (one epoch of samples) with SGD momentum
0.9, starting from a model and optimizer that already took 5 real steps. Reported:

- the suggested LR (torch-lr-finder: its ``plot(suggest_lr=True)`` steepest gradient;
  lrlab: ``suggest()``, the combined suggestion), and the test accuracy of a 10-epoch
  one-cycle at that peak, mean over seeds;
- restore: whether the model (parameters and BatchNorm buffers), the optimizer state and
  LR, and the torch / numpy RNG states are bit-identical after the finder returns (for
  torch-lr-finder, after its documented ``reset()``), and after a loss that raises at
  step 40 (where a caller's ``reset()`` is never reached); and whether the optimizer
  still holds the model's own parameter tensors;
- the wall time of the sweep.

Usage::

    .venv/bin/pip install torch-lr-finder   # benchmark only, not a dependency
    .venv/bin/python benchmarks/bench_finder_vs_torch_lr_finder.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import statistics
import time
from typing import Any

import numpy as np
import torch
from bench_finder import digits, loader, train_one_cycle

import lrlab
import lrlab.torch

STEPS, BATCH = 84, 16


def fingerprint(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, str]:
    """Hashes of the model state, the optimizer state and LRs, and the RNG states."""

    def digest(*tensors: torch.Tensor) -> str:
        hasher = hashlib.sha256()
        for tensor in tensors:
            hasher.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return hasher.hexdigest()[:16]

    state = optimizer.state_dict()
    buffers = [value for value in state["state"].values() for value in value.values()]
    return {
        "model": digest(*model.state_dict().values()),
        "optimizer state": digest(*[torch.as_tensor(value) for value in buffers]),
        "optimizer lr": repr([group["lr"] for group in optimizer.param_groups]),
        "torch rng": digest(torch.get_rng_state()),
        "numpy rng": hashlib.sha256(repr(np.random.get_state()).encode()).hexdigest()[:16],
    }


def prepared(task: Any, seed: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """A model and optimizer after 5 real SGD steps (so there is state to restore)."""
    torch.manual_seed(seed)
    model = task.make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-5, momentum=0.9)
    for (inputs, targets), _ in zip(loader(task, BATCH, seed), range(5), strict=False):
        optimizer.zero_grad()
        task.loss_fn(model(inputs), targets).backward()
        optimizer.step()
    return model, optimizer


def run_lrlab(task: Any, seed: int) -> tuple[float | None, dict[str, str], bool, float]:
    model, optimizer = prepared(task, seed)
    before = fingerprint(model, optimizer)
    started = time.perf_counter()
    result = lrlab.find_lr(
        model, loader(task, BATCH, seed), task.loss_fn, optimizer,
        start_value=1e-5, end_value=10.0, num_steps=STEPS,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    same_params = all(
        a is b for a, b in zip(model.parameters(), optimizer.param_groups[0]["params"], strict=True)
    )
    return (
        result.suggest().lr,
        _changed(before, fingerprint(model, optimizer)),
        same_params,
        seconds,
    )


def run_torch_lr_finder(task: Any, seed: int) -> tuple[float | None, dict[str, str], bool, float]:
    from torch_lr_finder import LRFinder

    model, optimizer = prepared(task, seed)
    before = fingerprint(model, optimizer)
    started = time.perf_counter()
    finder = LRFinder(model, optimizer, task.loss_fn, device="cpu")
    with contextlib.redirect_stdout(io.StringIO()):
        finder.range_test(loader(task, BATCH, seed), start_lr=1e-5, end_lr=10.0, num_iter=STEPS)
        import matplotlib

        matplotlib.use("Agg")
        axes, suggestion = finder.plot(suggest_lr=True)
        import matplotlib.pyplot as pyplot

        pyplot.close(axes.figure)
    finder.reset()
    seconds = time.perf_counter() - started
    same_params = all(
        a is b for a, b in zip(model.parameters(), optimizer.param_groups[0]["params"], strict=True)
    )
    return suggestion, _changed(before, fingerprint(model, optimizer)), same_params, seconds


class FailingLoss:
    """The task's loss, raising ``RuntimeError`` at its ``fail_at``-th call (a crash mid-sweep)."""

    def __init__(self, loss_fn: Any, fail_at: int) -> None:
        self.loss_fn, self.fail_at, self.calls = loss_fn, fail_at, 0

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("simulated failure mid-sweep")
        return self.loss_fn(outputs, targets)


def after_a_crash(name: str, task: Any, seed: int) -> dict[str, str]:
    """What is left changed when the loss raises at step 40 (no reset() call is reached)."""
    model, optimizer = prepared(task, seed)
    before = fingerprint(model, optimizer)
    failing = FailingLoss(task.loss_fn, 40)
    with contextlib.suppress(RuntimeError), contextlib.redirect_stderr(io.StringIO()):
        if name == "lrlab":
            lrlab.find_lr(
                model, loader(task, BATCH, seed), failing, optimizer,
                start_value=1e-5, end_value=10.0, num_steps=STEPS,
            )  # fmt: skip
        else:
            from torch_lr_finder import LRFinder

            finder = LRFinder(model, optimizer, failing, device="cpu")
            finder.range_test(loader(task, BATCH, seed), start_lr=1e-5, end_lr=10.0, num_iter=STEPS)
    return _changed(before, fingerprint(model, optimizer))


def _changed(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    return {key: "same" if before[key] == after[key] else "CHANGED" for key in before}


def main() -> None:
    """Run both finders per seed and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for name, runner in (("lrlab", run_lrlab), ("torch-lr-finder", run_torch_lr_finder)):
        lrs, accuracies, times, restore, identities, crashed = [], [], [], {}, [], {}
        for seed in range(args.seeds):
            task = digits(seed)
            suggestion, changed, same_params, seconds = runner(task, seed)
            lrs.append(suggestion)
            accuracies.append(train_one_cycle(task, suggestion, seed) if suggestion else 0.0)
            times.append(seconds)
            identities.append(same_params)
            for key, verdict in changed.items():
                restore.setdefault(key, set()).add(verdict)
            for key, verdict in after_a_crash(name, task, seed).items():
                crashed.setdefault(key, set()).add(verdict)
        verdicts = "; ".join(f"{key}: {'/'.join(sorted(v))}" for key, v in restore.items())
        crash = "; ".join(f"{key}: {'/'.join(sorted(v))}" for key, v in crashed.items())
        rows.append(
            f"| {name} | {', '.join(f'{lr:.3g}' for lr in lrs)} | "
            f"{statistics.fmean(accuracies):.4f} | {verdicts} | {crash} | {all(identities)} | "
            f"{statistics.fmean(times):.2f} |"
        )
    print(f"\n- command: `.venv/bin/python benchmarks/bench_finder_vs_torch_lr_finder.py "
          f"--seeds {args.seeds}`; torch {torch.__version__}, CPU, 1 thread\n")  # fmt: skip
    print("| finder | suggested LR per seed | one-cycle acc (mean) | after the finder | "
          "after a crash at step 40 | optimizer holds model params | sweep s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
