"""Overhead of the lab training engine (``lrlab.lab.train.Trainer``) over a bare PyTorch loop.

The engine does more per step than the few lines a hand-written loop needs: it keeps
running sums of the epoch's loss and accuracy on the device, checks the loss for NaN/inf
(every step on the CPU, every :data:`~lrlab.lab.train.CUDA_CHECK_EVERY` steps on CUDA),
polls a stop request, tells a progress object, and drives the LR through an lrlab
scheduler. This script measures what that costs, side by side in one run, on the same
model, data, batch order and LR schedule:

- **bare**: a hand-written loop. ``torch.manual_seed(seed)``, the same model
  (:func:`lrlab.lab.models.build_model`) and param groups
  (:func:`~lrlab.lab.models.param_groups`, the model's L2 on kernels), ``SGD(lr=0.05,
  momentum=0.9)`` with ``CosineAnnealingLR(T_max=total_steps)`` stepped per batch, each
  epoch's batches from ``torch.randperm`` on a generator seeded with ``seed`` (as the
  engine draws them), images scaled and normalized as the engine does, no augmentation,
  then each epoch a forward pass over the test split in eval mode (batches of
  :data:`~lrlab.lab.train.EVAL_BATCH_SIZE`) for the val accuracy. Nothing else per step:
  no metric sums, no loss check.
- **lrlab**: ``Trainer(RunConfig(...), dataset)`` with
  ``cosine(init_value=0.05, total_steps=N)`` attached, then
  ``trainer.fit(progress=LineProgress(None), stop=StopRequest(), ...)``.

On CUDA both run the forward passes under bf16 autocast and image batches (and the
model) in channels_last, as the engine does. Both set the same ``torch.set_num_threads``
(the engine's default is 1 thread for vector data, so ``RunConfig.threads`` is passed
explicitly). The weights start the same and the batches come in the same order, so the
val accuracies should agree (on the CPU they usually match exactly; the two cosine curves
differ only in the last bits).

**What is timed**: the training run only (all epochs, with each epoch's evaluation), on
objects built beforehand: model, optimizer, scheduler and the data already on the device
are not timed (for lrlab: the ``Trainer`` constructor and ``attach_schedule``). On CUDA the
clock stops after ``torch.cuda.synchronize()``. steps/s = optimizer steps of the run /
its seconds; the ratio lrlab / bare is of the run times (> 1: the engine is slower).

**Workloads** (``--workload``, default: all that can run here):

1. ``synthetic-mlp``: ``load_dataset("synthetic")`` (799 train / 201 test rows of 20
   features), ``mlp``, batch 32: tiny steps, so the per-step host overhead dominates.
2. ``digits-mlp``: ``load_dataset("digits")`` (needs scikit-learn; skipped without it).
3. ``images-resnet9``: random uint8 32x32x3 images whose mean colour depends on the class
   (10 classes, so there is something to learn), built in-process as a
   :class:`lrlab.lab.data.Dataset` (no dataset file), ``resnet9``. On CUDA 2048 train /
   512 test images, batch 256, 4 epochs (32 steps); on the CPU 128 / 32 images, batch 64,
   1 epoch (2 steps), so that the benchmark stays within a few minutes on two cores
   (``--image-train``, ``--image-test``, ``--image-batch``, ``--image-epochs``).

**Noise**: one untimed warm-up run of each side per workload, then ``--rounds`` rounds;
a round runs bare and lrlab on fresh objects, alternating which goes first, with the
garbage collector off during the timed run. Reported: best of the rounds and, in
brackets, the median; the ratio is best lrlab / best bare and (median over rounds of the
ratio within the round).

``--breakdown`` adds bare variants that put back the engine's per-step extras one at a
time, to show where a difference goes: ``+metrics`` (the engine's on-device running loss
and correct-count sums), ``+check`` (the NaN/inf check of the loss on the engine's
cadence, which waits for the device), ``+lrlab sched`` (lrlab's scheduler instead of
torch's ``CosineAnnealingLR``). What the last variant still lacks from the engine is its
Python structure (method calls, progress and stop polling).

Runs unchanged on a machine with only torch and numpy installed: ``src`` is put on
``sys.path``.

Usage::

    .venv/bin/python benchmarks/bench_lab.py [--workload NAME ...] [--rounds R]
        [--device auto|cpu|cuda] [--threads T] [--breakdown]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(_ROOT, "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from bench_schedules import machine_lines  # noqa: E402
from torch.nn import functional  # noqa: E402
from torch.optim import lr_scheduler  # noqa: E402

import lrlab.torch  # noqa: E402
from lrlab.lab.config import RunConfig  # noqa: E402
from lrlab.lab.data import Dataset, load_dataset  # noqa: E402
from lrlab.lab.interrupt import StopRequest  # noqa: E402
from lrlab.lab.models import build_model, param_groups  # noqa: E402
from lrlab.lab.progress import LineProgress  # noqa: E402
from lrlab.lab.train import CUDA_CHECK_EVERY, EVAL_BATCH_SIZE, Trainer  # noqa: E402
from lrlab.schedules import parse  # noqa: E402

LR = 0.05
SEED = 0


def log(text: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    print(text, file=sys.stderr, flush=True)


# --- workloads -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Workload:
    """One model on one dataset."""

    name: str
    model: str
    batch_size: int
    epochs: int
    make: Callable[[argparse.Namespace, torch.device], Dataset]

    def describe(self, dataset: Dataset) -> str:
        """A short description for the notes under the table."""
        return (
            f"**{self.name}**: `{self.model}`, {len(dataset.y_train)} train / "
            f"{len(dataset.y_test)} test rows of shape {dataset.input_shape}, batch "
            f"{self.batch_size}, {self.epochs} epochs"
        )


def random_images(args: argparse.Namespace, device: torch.device) -> Dataset:
    """Random uint8 32x32x3 images, 10 classes, with a class-dependent mean colour."""
    cuda = device.type == "cuda"
    n_train = args.image_train or (2048 if cuda else 128)
    n_test = args.image_test or (512 if cuda else 32)
    rng = np.random.default_rng(SEED)
    classes = 10
    colours = rng.integers(0, 96, size=(classes, 3))

    def split(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.arange(count, dtype=np.int64) % classes
        rng.shuffle(labels)
        noise = rng.integers(0, 160, size=(count, 32, 32, 3))
        return (noise + colours[labels][:, None, None, :]).astype(np.uint8), labels

    x_train, y_train = split(n_train)
    x_test, y_test = split(n_test)
    names = tuple(f"class{index}" for index in range(classes))
    return Dataset("images", x_train, y_train, x_test, y_test, names, "random (bench_lab)")


def has_sklearn() -> bool:
    """Whether scikit-learn imports (the ``digits`` dataset needs it)."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


WORKLOADS = {
    "synthetic-mlp": Workload(
        "synthetic-mlp", "mlp", 32, 20, lambda a, d: load_dataset("synthetic")
    ),
    "digits-mlp": Workload("digits-mlp", "mlp", 32, 10, lambda a, d: load_dataset("digits")),
    "images-resnet9": Workload("images-resnet9", "resnet9", 256, 4, random_images),
}


def available(name: str) -> bool:
    """Whether a workload can run here."""
    return name != "digits-mlp" or has_sklearn()


# --- the two sides -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Side:
    """One implementation: ``lrlab`` (the engine) or ``bare`` plus optional engine extras."""

    label: str
    engine: bool = False
    metrics: bool = False
    check: bool = False
    lrlab_sched: bool = False


BARE = Side("bare")
LRLAB = Side("lrlab", engine=True)
BREAKDOWN = [
    Side("bare +metrics", metrics=True),
    Side("bare +metrics +check", metrics=True, check=True),
    Side("bare +metrics +check +lrlab sched", metrics=True, check=True, lrlab_sched=True),
]


@dataclasses.dataclass(frozen=True)
class Setting:
    """What both sides share."""

    device: torch.device
    threads: int
    steps_per_epoch: int
    epochs: int

    @property
    def total_steps(self) -> int:
        """Optimizer steps of a run."""
        return self.steps_per_epoch * self.epochs


def build_engine(work: Workload, dataset: Dataset, setting: Setting) -> Callable[[], float]:
    """A ready :class:`Trainer`; the returned callable trains and gives the val accuracy."""
    config = RunConfig(
        dataset=dataset.name,
        model=work.model,
        epochs=work.epochs,
        batch_size=work.batch_size,
        device=setting.device.type,
        threads=setting.threads,
        seed=SEED,
    )
    trainer = Trainer(config, dataset)
    trainer.attach_schedule(parse(f"cosine(init_value={LR}, total_steps={setting.total_steps})"))

    def run() -> float:
        last: dict[str, Any] = {}
        trainer.fit(
            progress=LineProgress(None),
            stop=StopRequest(),
            on_epoch_end=lambda epoch, metrics: last.update(metrics),
        )
        return float(last["val_accuracy"])

    return run


def build_bare(
    work: Workload, dataset: Dataset, setting: Setting, side: Side
) -> Callable[[], float]:
    """The hand-written loop on fresh objects; the callable trains and gives val accuracy."""
    device, batch = setting.device, work.batch_size
    cuda = device.type == "cuda"
    torch.set_num_threads(setting.threads)
    torch.manual_seed(SEED)
    image = dataset.x_train.ndim == 4

    def tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = torch.from_numpy(np.ascontiguousarray(x))
        if image:
            inputs = inputs.permute(0, 3, 1, 2).contiguous()
        return inputs.to(device), torch.from_numpy(y).to(device)

    x_train, y_train = tensors(dataset.x_train, dataset.y_train)
    x_test, y_test = tensors(dataset.x_test, dataset.y_test)
    mean = std = torch.zeros(())
    if image:
        pixels = dataset.x_train.reshape(-1, dataset.input_shape[-1]).astype(np.float64)
        mean = torch.tensor(pixels.mean(0) / 255, dtype=torch.float32).view(1, -1, 1, 1)
        std = torch.tensor(pixels.std(0) / 255, dtype=torch.float32).view(1, -1, 1, 1)
        mean, std = mean.to(device), std.to(device)
    shape = dataset.input_shape
    model_shape = (shape[2], shape[0], shape[1]) if image else shape
    model = build_model(work.model, input_shape=model_shape, num_classes=dataset.num_classes)
    model = model.to(device)
    if image and cuda:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(param_groups(model), lr=LR, momentum=0.9)
    if side.lrlab_sched:
        spec = f"cosine(init_value={LR}, total_steps={setting.total_steps})"
        scheduler: Any = lrlab.torch.scheduler(optimizer, spec, unit="step", hold=True)
    else:
        scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=setting.total_steps)
    generator = torch.Generator().manual_seed(SEED)
    rows_total = len(y_train)
    check_every = CUDA_CHECK_EVERY if cuda else 1

    def prepare(inputs: torch.Tensor) -> torch.Tensor:
        if not image:
            return inputs
        images = (inputs.float() / 255.0 - mean) / std
        return images.contiguous(memory_format=torch.channels_last) if cuda else images

    def autocast() -> contextlib.AbstractContextManager[Any]:
        return torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()

    @torch.no_grad()
    def evaluate() -> float:
        model.eval()
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for begin in range(0, len(y_test), EVAL_BATCH_SIZE):
            with autocast():
                logits = model(prepare(x_test[begin : begin + EVAL_BATCH_SIZE]))
            correct += (logits.argmax(1) == y_test[begin : begin + EVAL_BATCH_SIZE]).sum()
        model.train()
        return int(correct) / len(y_test)

    def run() -> float:
        model.train()
        accuracy = math.nan
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        hits = torch.zeros((), dtype=torch.int64, device=device)
        for _epoch in range(setting.epochs):
            order = torch.randperm(rows_total, generator=generator)
            loss_sum.zero_()
            hits.zero_()
            for index in range(setting.steps_per_epoch):
                rows = order[index * batch : (index + 1) * batch].to(device)
                inputs, targets = prepare(x_train[rows]), y_train[rows]
                with autocast():
                    logits = model(inputs)
                    loss = functional.cross_entropy(logits, targets)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                if side.metrics:
                    with torch.no_grad():
                        loss_sum += loss.detach().double() * len(targets)
                        hits += (logits.argmax(1) == targets).sum()
                last = index + 1 == setting.steps_per_epoch
                if side.check and ((index + 1) % check_every == 0 or last):
                    if not bool(torch.isfinite(loss_sum)):
                        raise FloatingPointError("loss diverged")
            accuracy = evaluate()
        return accuracy

    return run


def timed(run: Callable[[], float], device: torch.device) -> tuple[float, float]:
    """Seconds of one run and its final val accuracy; the garbage collector is off."""
    gc.collect()
    gc.disable()
    try:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        accuracy = run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start, accuracy
    finally:
        gc.enable()


# --- measuring ---------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    """All rounds of one workload."""

    work: Workload
    dataset: Dataset
    setting: Setting
    seconds: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    accuracy: dict[str, float] = dataclasses.field(default_factory=dict)


def run_side(work: Workload, dataset: Dataset, setting: Setting, side: Side) -> tuple[float, float]:
    """Build one side on fresh objects, then time its run."""
    if side.engine:
        run = build_engine(work, dataset, setting)
    else:
        run = build_bare(work, dataset, setting, side)
    return timed(run, setting.device)


def measure(work: Workload, args: argparse.Namespace, device: torch.device) -> Result:
    """Warm-up, then ``args.rounds`` interleaved rounds of every side."""
    dataset = work.make(args, device)
    vector = len(dataset.input_shape) == 1
    threads = args.threads or (1 if vector else args.default_threads)
    batch, epochs = work.batch_size, args.epochs or work.epochs
    if not vector:
        cuda = device.type == "cuda"
        batch = args.image_batch or (work.batch_size if cuda else 64)
        epochs = args.epochs or args.image_epochs or (work.epochs if cuda else 1)
    steps_per_epoch = math.ceil(len(dataset.y_train) / batch)
    setting = Setting(device, threads, steps_per_epoch, epochs)
    result = Result(dataclasses.replace(work, batch_size=batch, epochs=epochs), dataset, setting)
    sides = [BARE, LRLAB, *(BREAKDOWN if args.breakdown else [])]
    for side in sides:
        result.seconds[side.label] = []
    for _ in range(args.warmup):
        for side in sides:
            run_side(result.work, dataset, setting, side)
    for round_index in range(args.rounds):
        log(f"{work.name}: round {round_index + 1}/{args.rounds}")
        order = sides if round_index % 2 == 0 else sides[::-1]
        for side in order:
            seconds, accuracy = run_side(result.work, dataset, setting, side)
            result.seconds[side.label].append(seconds)
            result.accuracy[side.label] = accuracy
    return result


# --- report ------------------------------------------------------------------------------


def rate(result: Result, label: str) -> str:
    """steps/s best (median)."""
    steps, times = result.setting.total_steps, result.seconds[label]
    return f"{number(steps / min(times))} ({number(steps / statistics.median(times))})"


def number(value: float) -> str:
    """A rate with three significant digits at least."""
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def ratio(result: Result, label: str) -> tuple[float, float]:
    """Time of ``label`` over bare: best / best and the median of within-round ratios."""
    bare, other = result.seconds[BARE.label], result.seconds[label]
    return min(other) / min(bare), statistics.median(
        o / b for o, b in zip(other, bare, strict=True)
    )


def table_lines(results: list[Result]) -> list[str]:
    """The main table, one row per workload."""
    lines = [
        "| workload | device | threads | steps per run | bare steps/s | lrlab steps/s "
        "| lrlab / bare time | bare val acc | lrlab val acc |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        best, median = ratio(result, LRLAB.label)
        setting = result.setting
        lines.append(
            f"| {result.work.name} | {setting.device.type} | {setting.threads} "
            f"| {setting.total_steps:,} | {rate(result, BARE.label)} "
            f"| {rate(result, LRLAB.label)} | {best:.2f} ({median:.2f}) "
            f"| {result.accuracy[BARE.label]:.4f} | {result.accuracy[LRLAB.label]:.4f} |"
        )
    return lines


def breakdown_lines(results: list[Result]) -> list[str]:
    """µs per step of every side, and its extra over bare."""
    lines = [
        "| workload | side | µs/step | extra over bare µs/step | time / bare | val acc |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        steps = result.setting.total_steps
        bare_best = min(result.seconds[BARE.label]) / steps * 1e6
        for side in [BARE, *BREAKDOWN, LRLAB]:
            times = result.seconds[side.label]
            best = min(times) / steps * 1e6
            median = statistics.median(times) / steps * 1e6
            extra = statistics.median(
                (o - b) / steps * 1e6
                for o, b in zip(times, result.seconds[BARE.label], strict=True)
            )
            share, share_median = ratio(result, side.label)
            lines.append(
                f"| {result.work.name} | {side.label} | {best:,.1f} ({median:,.1f}) "
                f"| {best - bare_best:+,.1f} ({extra:+,.1f}) | {share:.2f} ({share_median:.2f}) "
                f"| {result.accuracy[side.label]:.4f} |"
            )
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workload", action="append", choices=list(WORKLOADS), default=None)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per side first")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for both sides (default: 1 for vector data, torch's for images)",
    )
    parser.add_argument("--epochs", type=int, default=None, help="override every workload's")
    parser.add_argument("--image-train", type=int, default=None, help="2048 on CUDA, 128 on CPU")
    parser.add_argument("--image-test", type=int, default=None, help="512 on CUDA, 32 on CPU")
    parser.add_argument("--image-batch", type=int, default=None, help="256 on CUDA, 64 on CPU")
    parser.add_argument("--image-epochs", type=int, default=None, help="4 on CUDA, 1 on CPU")
    parser.add_argument("--breakdown", action="store_true", help="add bare + engine extras")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0:
        parser.error("--rounds must be >= 1 and --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the Markdown report."""
    args = parse_args(argv)
    args.default_threads = torch.get_num_threads()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch finds no CUDA device")
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    names = args.workload or [name for name in WORKLOADS if available(name)]
    skipped = [name for name in WORKLOADS if not available(name) and args.workload is None]
    started = time.perf_counter()
    header = machine_lines()
    if device.type == "cuda":
        header.append(f"- device: {torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})")
    else:
        header.append("- device: cpu")
    results = [measure(WORKLOADS[name], args, device) for name in names]
    elapsed = time.perf_counter() - started
    out = [
        *header,
        f"- {args.rounds} interleaved rounds after {args.warmup} warm-up run(s) per side; "
        f"SGD(momentum=0.9), cosine from {LR} to 0 over the run's steps, seed {SEED}",
        "",
        *table_lines(results),
        "",
        *[f"- {result.work.describe(result.dataset)}" for result in results],
    ]
    out += [f"- {name}: skipped (scikit-learn is not installed)" for name in skipped]
    out += [
        "- steps/s: best of the rounds (median); lrlab / bare time: best / best (median over "
        "rounds of the within-round ratio), > 1 means the engine is slower. Timed: the whole "
        "training run with each epoch's evaluation, objects built beforehand.",
    ]
    if args.breakdown:
        out += ["", "#### Breakdown (bare loop plus the engine's per-step extras)", ""]
        out += [*breakdown_lines(results), ""]
        out += [
            "- µs/step: run time / steps, best (median); extra: best - best bare (median "
            "over rounds of the within-round difference)."
        ]
    out += ["", f"(benchmark wall time {elapsed:.0f} s)"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
