"""Training steps shared by the resume test and the fresh interpreter that resumes.

Run as a script, it loads the checkpoints listed in a file written by the test, continues
each run to the end in this new process, and saves the LR traces and the final weights.
"""

from __future__ import annotations

import sys

import torch

import lrlab.torch

INPUT_SHAPE = (4, 3)


def build(
    spec: str, optimizer_name: str
) -> tuple[torch.nn.Module, torch.optim.Optimizer, lrlab.torch.ScheduleLR]:
    """The model, optimizer and scheduler of one run, as a fresh process would build them."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    if optimizer_name == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1, weight_decay=1e-3)
    return model, optimizer, lrlab.torch.scheduler(optimizer, spec, hold=True)


def run_steps(model, optimizer, scheduler, start: int, stop: int) -> list[float]:
    """Steps ``start .. stop-1``, each on its own seeded batch; returns the LRs used."""
    lrs = []
    for index in range(start, stop):
        generator = torch.Generator().manual_seed(1000 + index)
        inputs = torch.randn(*INPUT_SHAPE, generator=generator)
        optimizer.zero_grad()
        model(inputs).pow(2).mean().backward()
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        scheduler.step()
    return lrs


def resume_all(plan_path: str, result_path: str) -> None:
    """Resume every checkpoint named in ``plan_path``; save traces and weights."""
    plan = torch.load(plan_path, weights_only=True)
    results = []
    for run in plan:
        model, optimizer, scheduler = build(run["spec"], run["optimizer"])
        checkpoint = torch.load(run["checkpoint"], weights_only=True)
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        lrs = run_steps(model, optimizer, scheduler, run["k"], run["steps"])
        results.append({"lrs": lrs, "model": model.state_dict()})
    torch.save(results, result_path)


if __name__ == "__main__":
    resume_all(sys.argv[1], sys.argv[2])
