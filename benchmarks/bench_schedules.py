"""Schedule evaluation speed: lrlab (vectorized and scalar) against torch's ``LRScheduler``.

For five schedules, each written once as an lrlab spec and once as its torch equivalent,
this script measures in one run:

1. **lrlab vectorized**: wall time of ``schedule(np.arange(N))`` (the time array is built
   beforehand and not timed), best of ``--repeats`` runs with :func:`time.perf_counter`;
   reported as the total and as ns per step (total / N).
2. **lrlab scalar**: mean cost of one ``schedule(t)`` call on a Python ``int`` ``t``.
   ``--scalar-calls`` random steps in ``[0, N)`` are drawn once; :mod:`timeit` times the
   loop ``for t in ts: schedule(t)`` (garbage collector off, as :mod:`timeit` does),
   ``--scalar-repeats`` times; the best loop time / number of calls is reported (many
   short loops, because a shared VM's jitter easily adds 50 % to any single loop). The
   per-call figure includes the ``for`` loop overhead (about 10 ns).
3. **torch stepped**: wall time of calling ``scheduler.step()`` M times (nothing else in
   the loop, garbage collector off) on a real
   ``torch.optim.SGD([Parameter(zeros(1))], lr=0.1, momentum=0.9)``, with
   ``optimizer.step()`` called once after the scheduler is built so torch's ordering
   warning does not apply (warnings are suppressed anyway). ``torch.set_num_threads(1)``.
   M is N unless ``--torch-steps`` caps it or a short probe run predicts that N steps
   would take longer than ``--torch-budget`` seconds; then M steps are measured and the
   per-step cost is extrapolated to N (marked in the table). The loop runs in chunks of
   50,000 steps (a clock read between chunks); the table gives the whole-run mean, which
   the ratios use, and in brackets the best chunk, comparable with the best-of-repeats
   lrlab figures.
4. **ratios**: torch ns/step divided by lrlab vectorized ns/step and by lrlab scalar
   ns/call.

Correctness is checked in the same run: a second, untimed torch run records
``optimizer.param_groups[0]["lr"]`` before each of its M ``step()`` calls (the LR the
optimizer would use at step t = 0..M-1) and compares it with the lrlab vectorized values
at the same steps. The table gives the largest relative difference
``|a - b| / max(|a|, |b|)`` (0 where both are 0) with the step where it occurs, and the
largest absolute difference.

Progress goes to stderr; stdout is Markdown (environment, table, notes).

Usage::

    .venv/bin/python benchmarks/bench_schedules.py [--steps N] [--repeats R]
        [--scalar-calls K] [--scalar-repeats R] [--torch-steps M] [--torch-budget SECONDS]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import gc
import os
import platform
import subprocess
import sys
import time
import timeit
import warnings
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import torch
from torch.optim import lr_scheduler

import lrlab

FloatArray = npt.NDArray[np.float64]
SchedulerFactory = Callable[[torch.optim.Optimizer], lr_scheduler.LRScheduler]

WARMUP_STEPS = 1000
LINEAR_START_FACTOR = 1e-8
TORCH_CHUNK = 50_000


@dataclasses.dataclass(frozen=True)
class Case:
    """One schedule: its lrlab spec and a factory for the equivalent torch scheduler."""

    name: str
    spec: str
    torch_text: str
    make_torch: SchedulerFactory
    note: str = ""
    alt_spec: str | None = None
    """Another lrlab spec whose difference to the torch curve is reported in the notes."""


@dataclasses.dataclass(frozen=True)
class Result:
    """Measurements of one :class:`Case`."""

    case: Case
    vec_total_s: float
    vec_ns: float
    scalar_ns: float
    torch_steps: int
    torch_ns: float
    torch_best_chunk_ns: float
    torch_extrapolated: bool
    max_rel: float
    max_rel_at: int
    max_abs: float
    alt_rel: float | None = None
    alt_rel_at: int | None = None
    alt_rel_from_1: float | None = None


def build_cases(n: int) -> list[Case]:
    """The five benchmarked schedules for a run of ``n`` steps."""
    decay = n - WARMUP_STEPS
    sched = lr_scheduler
    return [
        Case(
            name="step",
            spec="step(init_value=0.1, factor=0.5, every=30)",
            torch_text="StepLR(step_size=30, gamma=0.5)",
            make_torch=lambda opt: sched.StepLR(opt, step_size=30, gamma=0.5),
        ),
        Case(
            name="cosine",
            spec=f"cosine(init_value=0.1, total_steps={n})",
            torch_text=f"CosineAnnealingLR(T_max={n})",
            make_torch=lambda opt: sched.CosineAnnealingLR(opt, T_max=n),
        ),
        Case(
            name="one_cycle",
            spec=f"one_cycle(peak_value=0.1, total_steps={n})",
            torch_text=f"OneCycleLR(max_lr=0.1, total_steps={n}) (cycle_momentum=True)",
            make_torch=lambda opt: sched.OneCycleLR(opt, max_lr=0.1, total_steps=n),
        ),
        Case(
            name="cyclic",
            spec="cyclic(base_value=0.001, max_value=0.1, step_size_up=2000, mode='triangular2')",
            torch_text=(
                "CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=2000, mode='triangular2') "
                "(cycle_momentum=True)"
            ),
            make_torch=lambda opt: sched.CyclicLR(
                opt, base_lr=0.001, max_lr=0.1, step_size_up=2000, mode="triangular2"
            ),
        ),
        Case(
            name="warmup+cosine",
            spec=(
                f"warmup(cosine(init_value=0.1, total_steps={decay}), warmup_steps={WARMUP_STEPS}, "
                f"start_factor={LINEAR_START_FACTOR!r})"
            ),
            torch_text=(
                f"SequentialLR([LinearLR(start_factor={LINEAR_START_FACTOR!r}, end_factor=1.0, "
                f"total_iters={WARMUP_STEPS}), CosineAnnealingLR(T_max={decay})], "
                f"milestones=[{WARMUP_STEPS}])"
            ),
            make_torch=lambda opt: sched.SequentialLR(
                opt,
                [
                    sched.LinearLR(
                        opt,
                        start_factor=LINEAR_START_FACTOR,
                        end_factor=1.0,
                        total_iters=WARMUP_STEPS,
                    ),
                    sched.CosineAnnealingLR(opt, T_max=decay),
                ],
                milestones=[WARMUP_STEPS],
            ),
            note=(
                "Closest torch equivalent: `LinearLR` requires `0 < start_factor <= 1`, so it "
                f"cannot start at 0 as lrlab's default `start_factor=0` does; both sides use "
                f"`start_factor={LINEAR_START_FACTOR!r}` (same code path and cost in lrlab)."
            ),
            alt_spec=(
                f"warmup(cosine(init_value=0.1, total_steps={decay}), warmup_steps={WARMUP_STEPS})"
            ),
        ),
    ]


def make_optimizer() -> torch.optim.SGD:
    """A one-parameter SGD with momentum (so ``cycle_momentum`` has something to drive)."""
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)


def new_scheduler(case: Case) -> tuple[torch.optim.Optimizer, lr_scheduler.LRScheduler]:
    """A fresh optimizer and scheduler, with one ``optimizer.step()`` already taken."""
    optimizer = make_optimizer()
    scheduler = case.make_torch(optimizer)
    optimizer.step()
    return optimizer, scheduler


def time_torch_steps(case: Case, steps: int) -> tuple[float, float]:
    """Call ``scheduler.step()`` ``steps`` times on a fresh scheduler.

    Returns:
        Total seconds, and the best seconds per step over the full chunks of
        :data:`TORCH_CHUNK` steps (the whole-run mean if there is no full chunk).
    """
    _, scheduler = new_scheduler(case)
    chunk = min(TORCH_CHUNK, steps)
    best_per_step = float("inf")
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        done = 0
        while done < steps:
            count = min(chunk, steps - done)
            chunk_start = time.perf_counter()
            for _ in range(count):
                scheduler.step()
            if count == chunk:
                best_per_step = min(best_per_step, (time.perf_counter() - chunk_start) / count)
            done += count
        total = time.perf_counter() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return total, best_per_step


def record_torch_lrs(case: Case, steps: int) -> FloatArray:
    """The LR torch's optimizer holds at steps ``0 .. steps-1`` (read before each step)."""
    optimizer, scheduler = new_scheduler(case)
    group = optimizer.param_groups[0]
    values = np.empty(steps, dtype=np.float64)
    for index in range(steps):
        values[index] = float(group["lr"])
        scheduler.step()
    return values


def time_vectorized(schedule: lrlab.Schedule, n: int, repeats: int) -> tuple[float, FloatArray]:
    """Best wall time of ``schedule(np.arange(n))`` over ``repeats`` runs, and its values."""
    times = np.arange(n)
    best = float("inf")
    values: FloatArray = np.empty(0)
    for _ in range(repeats):
        start = time.perf_counter()
        values = schedule(times)
        best = min(best, time.perf_counter() - start)
    return best, values


def time_scalar(schedule: lrlab.Schedule, n: int, calls: int, repeats: int) -> float:
    """Best mean seconds per ``schedule(t)`` call on Python ints drawn from ``[0, n)``."""
    steps = np.random.default_rng(0).integers(0, n, size=calls).tolist()
    namespace = {"steps": steps, "schedule": schedule}
    timer = timeit.Timer("for t in steps: schedule(t)", globals=namespace)
    return min(timer.repeat(repeat=repeats, number=1)) / calls


def relative_difference(a: FloatArray, b: FloatArray) -> FloatArray:
    """``|a - b| / max(|a|, |b|)``, 0 where both are 0."""
    scale = np.maximum(np.abs(a), np.abs(b))
    diff = np.abs(a - b)
    return np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)


def choose_torch_steps(case: Case, n: int, cap: int | None, budget_s: float) -> int:
    """How many torch steps to time: ``n`` unless capped or predicted over ``budget_s``."""
    steps = n if cap is None else min(n, cap)
    probe = min(steps, 2000)
    per_step = time_torch_steps(case, probe)[0] / probe
    if per_step * steps > budget_s:
        steps = max(probe, int(budget_s / per_step))
    return steps


def run_case(case: Case, args: argparse.Namespace) -> Result:
    """Measure one case."""
    n = args.steps
    schedule = lrlab.parse(case.spec)
    log(f"[{case.name}] lrlab vectorized ...")
    vec_total, values = time_vectorized(schedule, n, args.repeats)
    log(f"[{case.name}] lrlab scalar ...")
    scalar_s = time_scalar(schedule, n, args.scalar_calls, args.scalar_repeats)
    torch_steps = choose_torch_steps(case, n, args.torch_steps, args.torch_budget)
    log(f"[{case.name}] torch: timing {torch_steps} steps ...")
    torch_s, torch_best = time_torch_steps(case, torch_steps)
    log(f"[{case.name}] torch: recording {torch_steps} LRs ...")
    torch_lrs = record_torch_lrs(case, torch_steps)

    rel = relative_difference(values[:torch_steps], torch_lrs)
    at = int(np.argmax(rel))
    result = Result(
        case=case,
        vec_total_s=vec_total,
        vec_ns=vec_total / n * 1e9,
        scalar_ns=scalar_s * 1e9,
        torch_steps=torch_steps,
        torch_ns=torch_s / torch_steps * 1e9,
        torch_best_chunk_ns=torch_best * 1e9,
        torch_extrapolated=torch_steps < n,
        max_rel=float(rel[at]),
        max_rel_at=at,
        max_abs=float(np.max(np.abs(values[:torch_steps] - torch_lrs))),
    )
    if case.alt_spec is not None:
        alt_values = lrlab.parse(case.alt_spec)(np.arange(torch_steps))
        alt_rel = relative_difference(alt_values, torch_lrs)
        alt_at = int(np.argmax(alt_rel))
        result = dataclasses.replace(
            result,
            alt_rel=float(alt_rel[alt_at]),
            alt_rel_at=alt_at,
            alt_rel_from_1=float(np.max(alt_rel[1:])) if torch_steps > 1 else 0.0,
        )
    return result


def log(message: str) -> None:
    """Progress message on stderr (stdout stays Markdown)."""
    print(message, file=sys.stderr, flush=True)


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (or :func:`platform.processor`)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def lrlab_revision() -> str:
    """Git commit of the lrlab checkout, ``+dirty`` if ``src/`` has uncommitted changes."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    return f"git {commit}{'+dirty' if dirty else ''}"


def machine_lines() -> list[str]:
    """Markdown bullets for the run's date, command, versions, platform, CPU and threads."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return [
        f"- date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- command: `{' '.join([os.path.relpath(sys.executable), *sys.argv])}`",
        f"- python {platform.python_version()} ({platform.python_implementation()}), "
        f"numpy {np.__version__}, torch {torch.__version__}, "
        f"lrlab {lrlab.__version__} ({lrlab_revision()})",
        f"- platform: {platform.platform()}",
        f"- CPU: {cpu_model()}; {os.cpu_count()} logical CPUs ({usable} usable)",
        f"- torch threads: {torch.get_num_threads()} (intra-op), "
        f"{torch.get_num_interop_threads()} (inter-op)",
    ]


def environment_lines(args: argparse.Namespace) -> list[str]:
    """Markdown bullet list describing the run."""
    return [
        *machine_lines(),
        f"- N = {args.steps:,} steps; vectorized best of {args.repeats}; scalar "
        f"{args.scalar_calls:,} calls, best of {args.scalar_repeats}; torch in chunks of "
        f"{TORCH_CHUNK:,} steps, budget "
        f"{args.torch_budget:g} s per schedule"
        + ("" if args.torch_steps is None else f", capped at {args.torch_steps:,} steps"),
    ]


def format_ns(value: float) -> str:
    """Nanoseconds with sensible precision."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def format_diff(value: float, at: int) -> str:
    """A relative difference and where it occurs; ``0 (identical)`` when there is none."""
    return "0 (identical)" if value == 0.0 else f"{value:.2e} (t={at:,})"


def table_lines(results: list[Result], n: int) -> list[str]:
    """The Markdown results table."""
    header = (
        "| schedule | lrlab vec total (ms) | lrlab vec ns/step | lrlab scalar ns/call "
        "| torch steps timed | torch ns/step (best chunk) | torch N-step total (s) "
        "| torch / lrlab vec | torch / lrlab scalar | max rel diff (at t) | max abs diff |"
    )
    lines = [header, "|" + "---|" * header.count(" | ") + "---|"]
    for r in results:
        mark = "*" if r.torch_extrapolated else ""
        lines.append(
            f"| {r.case.name} | {r.vec_total_s * 1e3:,.1f} | {format_ns(r.vec_ns)} "
            f"| {format_ns(r.scalar_ns)} | {r.torch_steps:,}{mark} | {format_ns(r.torch_ns)} "
            f"({format_ns(r.torch_best_chunk_ns)}) "
            f"| {r.torch_ns * n / 1e9:,.2f}{mark} | {r.torch_ns / r.vec_ns:,.0f}x "
            f"| {r.torch_ns / r.scalar_ns:,.2f}x | {format_diff(r.max_rel, r.max_rel_at)} "
            f"| {r.max_abs:.2e} |"
        )
    return lines


def notes_lines(results: list[Result], n: int) -> list[str]:
    """Legend of specs and torch equivalents, plus footnotes."""
    lines = ["Schedules (lrlab spec / torch scheduler on `SGD(lr=0.1, momentum=0.9)`):", ""]
    for r in results:
        lines.append(f"- **{r.case.name}**: `{r.case.spec}` / `{r.case.torch_text}`")
    lines.append("")
    for r in results:
        if r.case.note:
            lines.append(f"- {r.case.name}: {r.case.note}")
        if r.alt_rel is not None:
            lines.append(
                f"  With the default start_factor=0 (`{r.case.alt_spec}`) the max rel diff "
                f"against the same torch curve is {r.alt_rel:.2e} (at t={r.alt_rel_at:,}, "
                "where lrlab gives 0 and torch cannot) and "
                f"{r.alt_rel_from_1:.2e} over t >= 1."
            )
    if any(r.torch_extrapolated for r in results):
        lines.append(
            f"- `*`: torch was timed on fewer than N = {n:,} steps; ns/step is measured on "
            "those steps, the N-step total is extrapolated, and the diff columns cover only "
            "the measured steps."
        )
    lines.append(
        "- ratios are torch ns/step (whole-run mean) over lrlab ns/step (vectorized) and "
        "over lrlab ns/call (scalar); > 1 means lrlab is faster. lrlab figures are best of "
        "repeats; torch's best 50,000-step chunk is in brackets."
    )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000, help="N (default 1,000,000)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="repeats of the vectorized timing (default 5)"
    )
    parser.add_argument(
        "--scalar-calls",
        type=int,
        default=20_000,
        help="scalar calls per timed loop (default 20,000)",
    )
    parser.add_argument(
        "--scalar-repeats",
        type=int,
        default=25,
        help="timed loops of scalar calls, best taken (default 25)",
    )
    parser.add_argument(
        "--torch-steps", type=int, default=None, help="cap on the torch steps timed (default N)"
    )
    parser.add_argument(
        "--torch-budget",
        type=float,
        default=60.0,
        help="time torch on fewer steps if N would take longer than this (s, default 60)",
    )
    args = parser.parse_args(argv)
    if args.steps <= WARMUP_STEPS + 1:
        parser.error(f"--steps must be > {WARMUP_STEPS + 1} (the warm-up case needs it)")
    for name in ("repeats", "scalar_calls", "scalar_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.torch_steps is not None and args.torch_steps < 1:
        parser.error("--torch-steps must be >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run every case and print the Markdown report."""
    args = parse_args(argv)
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    started = time.perf_counter()
    results = [run_case(case, args) for case in build_cases(args.steps)]
    elapsed = time.perf_counter() - started
    out = [
        *environment_lines(args),
        "",
        *table_lines(results, args.steps),
        "",
        *notes_lines(results, args.steps),
        "",
        f"(benchmark wall time {elapsed:.0f} s)",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
