"""Host cost per step of ``lrlab.torch.scheduler`` against torch's own ``LRScheduler``s.

Three schedules, each as an lrlab spec and as the torch scheduler it reproduces:

- ``step(init_value=0.1, factor=0.1, every=30)`` / ``StepLR(step_size=30, gamma=0.1)``
- ``cosine(init_value=0.1, total_steps=N)`` / ``CosineAnnealingLR(T_max=N)``
- ``one_cycle(peak_value=0.1, total_steps=N)`` / ``OneCycleLR(max_lr=0.1, total_steps=N)``
  (both cycle SGD's momentum, torch's default ``cycle_momentum=True``)

run on ``SGD(momentum=0.9)`` (with an empty update, see below) in four configurations:
1 or 4 param groups (one
one-element parameter per group), with float LRs, and with 0-dim tensor LRs (lrlab
``tensor_lr=True``; torch's optimizer built with ``lr=torch.tensor(0.1)``, which torch's
schedulers then update in place).

**What is timed, and why it is fair.** The lrlab scheduler does part of its work inside
``optimizer.step()``: optimizer step hooks count the real optimizer steps (so a step that
``GradScaler`` skipped does not advance time) and restore an LR changed from outside.
torch's schedulers also wrap ``optimizer.step``. So timing ``scheduler.step()`` alone would
leave out part of the cost, more of it for lrlab. Each measurement instead times
the loop ``optimizer.step(); scheduler.step()`` over N steps, on a fresh optimizer and
scheduler built outside the timed region. The baseline is the loop ``optimizer.step()``
on an identical optimizer with no scheduler attached. **Overhead** = loop time - baseline
time, per step. The optimizer is ``SGD(momentum=0.9)`` whose update does nothing
(:class:`EmptyUpdateSGD`): ``optimizer.step()`` still runs torch's whole wrapper (step
hooks, the profiler record, the schedulers' patch), and the param groups keep SGD's
``lr`` and ``momentum`` entries, but no parameter loop. An SGD update on parameters
without gradients costs about 10 µs more per step and varies by several µs between
loops on a shared 2-core VM, which buried the 3-10 µs being measured. The scheduler's
work does not depend on the update.

**Noise.** A round times, for each configuration, the baseline and then the six
schedulers, and alternates from round to round whether torch or lrlab goes first. Each
loop runs with the garbage collector off and ``torch.set_num_threads(1)``. A
configuration's overhead is reported two ways: best loop minus best baseline over
``--rounds`` rounds (the least disturbed runs), and the median over rounds of the loop
minus the baseline of the same round. The ratio is lrlab overhead / torch overhead;
<= 1.0 means lrlab costs no more than torch.

**Correctness**, in the same run and untimed: for the first ``min(N, 2000)`` steps, the
LR of every param group before each optimizer step, torch's against lrlab's, as the
largest relative difference.

``--breakdown`` also splits each scheduler's cost (1 group, float LR) into the part inside
``optimizer.step()`` and ``scheduler.step()`` itself (see :func:`breakdown_lines`);
``--profile`` runs ``cProfile`` on each lrlab loop and prints the functions with the most
internal time.

Usage::

    .venv/bin/python benchmarks/bench_torch_scheduler.py [--steps N] [--rounds R]
        [--breakdown] [--profile] [--profile-top K]
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import gc
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch
from bench_schedules import machine_lines
from torch.optim import lr_scheduler

import lrlab
import lrlab.torch

CHECK_STEPS = 2000


@dataclasses.dataclass(frozen=True)
class Pair:
    """One schedule: its lrlab spec and the equivalent torch scheduler."""

    name: str
    spec: str
    torch_text: str
    make_torch: Callable[[torch.optim.Optimizer], lr_scheduler.LRScheduler]


@dataclasses.dataclass(frozen=True)
class Config:
    """The optimizer a pair runs on."""

    groups: int
    tensor_lr: bool

    @property
    def label(self) -> str:
        """A short table label."""
        groups = f"{self.groups} group{'s' if self.groups > 1 else ''}"
        return f"{groups}, {'tensor_lr=True' if self.tensor_lr else 'float lr'}"


CONFIGS = [Config(1, False), Config(4, False), Config(1, True), Config(4, True)]


def build_pairs(n: int) -> list[Pair]:
    """The three schedules for a run of ``n`` steps."""
    sched = lr_scheduler
    return [
        Pair(
            "step",
            "step(init_value=0.1, factor=0.1, every=30)",
            "StepLR(step_size=30, gamma=0.1)",
            lambda opt: sched.StepLR(opt, step_size=30, gamma=0.1),
        ),
        Pair(
            "cosine",
            f"cosine(init_value=0.1, total_steps={n})",
            f"CosineAnnealingLR(T_max={n})",
            lambda opt: sched.CosineAnnealingLR(opt, T_max=n),
        ),
        Pair(
            "one_cycle",
            f"one_cycle(peak_value=0.1, total_steps={n})",
            f"OneCycleLR(max_lr=0.1, total_steps={n})",
            lambda opt: sched.OneCycleLR(opt, max_lr=0.1, total_steps=n),
        ),
    ]


class EmptyUpdateSGD(torch.optim.SGD):
    """``SGD`` whose ``step`` updates nothing; torch's step wrapper and hooks still run."""

    def step(self, closure: Callable[[], float] | None = None) -> None:  # type: ignore[override]
        """Do nothing (the timed cost is the wrapper's and the scheduler's)."""
        return None


def make_optimizer(config: Config) -> torch.optim.SGD:
    """SGD with momentum and an empty update, one one-element parameter per param group."""
    lr: float | torch.Tensor = torch.tensor(0.1) if config.tensor_lr else 0.1
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))]} for _ in range(config.groups)]
    return EmptyUpdateSGD(groups, lr=lr, momentum=0.9)


def make_scheduler(
    impl: str, pair: Pair, optimizer: torch.optim.Optimizer, config: Config
) -> lr_scheduler.LRScheduler:
    """The torch or lrlab scheduler of ``pair`` on ``optimizer``."""
    if impl == "torch":
        return pair.make_torch(optimizer)
    return lrlab.torch.scheduler(optimizer, pair.spec, tensor_lr=config.tensor_lr)


def time_loop(config: Config, steps: int, scheduled: tuple[str, Pair] | None) -> float:
    """Seconds per step of ``optimizer.step()`` (+ ``scheduler.step()``) on fresh objects."""
    optimizer = make_optimizer(config)
    gc.collect()
    gc.disable()
    try:
        if scheduled is None:
            optimizer_step = optimizer.step
            start = time.perf_counter()
            for _ in range(steps):
                optimizer_step()
            return (time.perf_counter() - start) / steps
        scheduler = make_scheduler(*scheduled, optimizer, config)
        # Bound after the scheduler exists: torch's schedulers replace optimizer.step.
        optimizer_step, scheduler_step = optimizer.step, scheduler.step
        start = time.perf_counter()
        for _ in range(steps):
            optimizer_step()
            scheduler_step()
        return (time.perf_counter() - start) / steps
    finally:
        gc.enable()


def group_lrs(impl: str, pair: Pair, config: Config, steps: int) -> np.ndarray:
    """The LR of every param group before each of ``steps`` optimizer steps."""
    optimizer = make_optimizer(config)
    scheduler = make_scheduler(impl, pair, optimizer, config)
    values = np.empty((steps, config.groups))
    for index in range(steps):
        values[index] = [float(group["lr"]) for group in optimizer.param_groups]
        optimizer.step()
        scheduler.step()
    return values


def max_relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max(|a|, |b|)``, counting 0 where both are 0."""
    scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.abs(a - b)
    return float(np.max(np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)))


@dataclasses.dataclass
class Row:
    """Measurements of one pair in one configuration."""

    config: Config
    pair: Pair
    baseline: list[float] = dataclasses.field(default_factory=list)
    total: dict[str, list[float]] = dataclasses.field(
        default_factory=lambda: {"torch": [], "lrlab": []}
    )
    overhead: dict[str, list[float]] = dataclasses.field(
        default_factory=lambda: {"torch": [], "lrlab": []}
    )
    max_rel: float = 0.0


def measure(args: argparse.Namespace) -> list[Row]:
    """All rounds, interleaved."""
    pairs = build_pairs(args.steps)
    rows = [Row(config, pair) for config in CONFIGS for pair in pairs]
    for round_index in range(args.rounds):
        log(f"round {round_index + 1}/{args.rounds}")
        order = ("torch", "lrlab") if round_index % 2 == 0 else ("lrlab", "torch")
        for config in CONFIGS:
            baseline = time_loop(config, args.steps, None)
            for row in rows:
                if row.config != config:
                    continue
                row.baseline.append(baseline)
                for impl in order:
                    seconds = time_loop(config, args.steps, (impl, row.pair))
                    row.total[impl].append(seconds)
                    row.overhead[impl].append(seconds - baseline)
    check = min(args.steps, CHECK_STEPS)
    for row in rows:
        row.max_rel = max_relative_difference(
            group_lrs("torch", row.pair, row.config, check),
            group_lrs("lrlab", row.pair, row.config, check),
        )
    return rows


def breakdown_lines(args: argparse.Namespace) -> list[str]:
    """Where each scheduler's cost goes (1 group, float LR), from public calls only.

    On one optimizer with the scheduler attached, interleaved, best of ``--rounds``:
    ``in optimizer.step`` is ``optimizer.step()`` there minus on a bare optimizer (torch's
    step wrapper; for lrlab also its step hooks); ``scheduler.step`` is the loop
    ``optimizer.step(); scheduler.step()`` minus the loop ``optimizer.step()``. For lrlab,
    ``schedule(t)`` is one call of the lrlab schedule(s) evaluated per step.
    """
    config = Config(1, False)
    steps = min(args.steps, 5000)
    lines = [
        "| scheduler | in optimizer.step µs | scheduler.step µs | total µs "
        "| lrlab schedule(t) calls per step × µs |",
        "|---|---|---|---|---|",
    ]
    bare = make_optimizer(config)
    for pair in build_pairs(10**9):
        attached = {}
        for impl in ("torch", "lrlab"):
            optimizer = make_optimizer(config)
            attached[impl] = (optimizer, make_scheduler(impl, pair, optimizer, config))
        best: dict[str, float] = {}

        def keep(key: str, seconds: float, best: dict[str, float] = best) -> None:
            best[key] = min(best.get(key, float("inf")), seconds / steps)

        for _ in range(args.rounds):
            keep("bare", _loop(bare.step, None, steps))
            for impl, (optimizer, scheduler) in attached.items():
                keep(f"{impl} opt", _loop(optimizer.step, None, steps))
                keep(f"{impl} both", _loop(optimizer.step, scheduler.step, steps))
        schedule = lrlab.parse(pair.spec)
        momentum = schedule.momentum()
        calls = 1 if momentum is None else 2
        call_s = min(
            _loop(lambda schedule=schedule: schedule(12345), None, steps) for _ in range(5)
        )
        for impl in ("torch", "lrlab"):
            inside = best[f"{impl} opt"] - best["bare"]
            own = best[f"{impl} both"] - best[f"{impl} opt"]
            evaluation = f"{calls} × {us(call_s / steps)}" if impl == "lrlab" else ""
            lines.append(
                f"| {impl} {pair.name} | {us(inside)} | {us(own)} | {us(inside + own)} "
                f"| {evaluation} |"
            )
    return lines


def _loop(first: Callable[[], object], second: Callable[[], object] | None, steps: int) -> float:
    """Seconds for ``steps`` calls of ``first()`` (then ``second()``), garbage collector off."""
    gc.disable()
    try:
        start = time.perf_counter()
        if second is None:
            for _ in range(steps):
                first()
        else:
            for _ in range(steps):
                first()
                second()
        return time.perf_counter() - start
    finally:
        gc.enable()


def profile_lines(args: argparse.Namespace, top: int) -> list[str]:
    """``cProfile`` of each lrlab loop (1 group, float LR): top functions by internal time."""
    lines = []
    config = Config(1, False)
    for pair in build_pairs(args.steps):
        optimizer = make_optimizer(config)
        scheduler = make_scheduler("lrlab", pair, optimizer, config)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.steps):
            optimizer.step()
            scheduler.step()
        profiler.disable()
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats("tottime").print_stats(top)
        lines += [f"#### cProfile: lrlab `{pair.spec}`, {args.steps:,} steps", "", "```"]
        lines += [line for line in buffer.getvalue().splitlines() if line.strip()][3:]
        lines += ["```", ""]
    return lines


def us(seconds: float) -> str:
    """Seconds as microseconds with 2 decimals."""
    return f"{seconds * 1e6:.2f}"


def table_lines(rows: list[Row]) -> list[str]:
    """The Markdown results table: best-of-rounds figures, and medians of the overheads."""
    header = (
        "| config | schedule | baseline µs/step | torch µs/step | lrlab µs/step "
        "| torch overhead µs (median) | lrlab overhead µs (median) "
        "| lrlab / torch (median) | max rel LR diff |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for row in rows:
        baseline = min(row.baseline)
        best = {impl: min(row.total[impl]) for impl in ("torch", "lrlab")}
        best_over = {impl: best[impl] - baseline for impl in best}
        median_over = {impl: statistics.median(row.overhead[impl]) for impl in best}
        lines.append(
            f"| {row.config.label} | {row.pair.name} | {us(baseline)} "
            f"| {us(best['torch'])} | {us(best['lrlab'])} "
            f"| {us(best_over['torch'])} ({us(median_over['torch'])}) "
            f"| {us(best_over['lrlab'])} ({us(median_over['lrlab'])}) "
            f"| {ratio(best_over)} ({ratio(median_over)}) | {row.max_rel:.1e} |"
        )
    return lines


def ratio(overheads: dict[str, float]) -> str:
    """lrlab overhead / torch overhead, or ``n/a`` if torch's is not positive."""
    if overheads["torch"] <= 0:
        return "n/a"
    return f"{overheads['lrlab'] / overheads['torch']:.2f}"


def environment_lines(args: argparse.Namespace) -> list[str]:
    """Markdown bullet list describing the run."""
    return [
        *machine_lines(),
        f"- N = {args.steps:,} steps per timed loop; {args.rounds} interleaved rounds; "
        "SGD(momentum=0.9) with an empty update (torch's step wrapper and hooks only)",
    ]


def log(message: str) -> None:
    """Progress message on stderr (stdout stays Markdown)."""
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=10_000, help="N, steps per timed loop (default 10,000)"
    )
    parser.add_argument(
        "--rounds", type=int, default=9, help="interleaved rounds, median taken (default 9)"
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also split each scheduler's cost (1 group, float LR) into its parts",
    )
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of each lrlab loop"
    )
    parser.add_argument(
        "--profile-top", type=int, default=25, help="functions listed per profile (default 25)"
    )
    args = parser.parse_args(argv)
    if args.steps < 31:
        parser.error("--steps must be >= 31 (one StepLR drop)")
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the Markdown report."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    started = time.perf_counter()
    rows = measure(args)
    elapsed = time.perf_counter() - started
    out = [*environment_lines(args), "", *table_lines(rows), ""]
    out += [f"- **{pair.name}**: `{pair.spec}` / `{pair.torch_text}`" for pair in rows_pairs(rows)]
    out += [
        "",
        "- baseline: `optimizer.step()` alone; torch/lrlab: `optimizer.step(); "
        "scheduler.step()`. µs/step columns: best of the rounds. Overhead: best loop - best "
        "baseline, and in brackets the median over rounds of (loop - baseline of the same "
        "round). lrlab / torch: ratio of the overheads (<= 1.0: lrlab costs no more than "
        "torch).",
        "",
        f"(benchmark wall time {elapsed:.0f} s)",
    ]
    if args.breakdown:
        out += ["", "#### Breakdown (1 group, float LR; best of rounds)", ""]
        out += [*breakdown_lines(args), ""]
    if args.profile:
        out += ["", *profile_lines(args, args.profile_top)]
    print("\n".join(out))


def rows_pairs(rows: list[Row]) -> list[Pair]:
    """Each pair once, in table order."""
    seen: dict[str, Pair] = {}
    for row in rows:
        seen.setdefault(row.pair.name, row.pair)
    return list(seen.values())


if __name__ == "__main__":
    main()
