"""Does the range test pick a good LR? One-cycle at the suggestion vs a grid of peaks.

For each task, on CPU, with the same training budget and the same seeds:

1. run ``lrlab.find_lr`` with at most one epoch of samples (``num_steps * batch``);
2. train a fixed-budget ``one_cycle`` at the suggested peak, for two ways to read the
   test: ``bounds().peak_value`` (where the loss stops descending) and ``suggest()``
   (the ``combined`` suggestion);
3. train the same budget at each of a 7-point log grid of peaks, 1e-3 .. 1 (half decades);

and report the mean test accuracy over seeds, the grid's best, the ratio of the
suggestion's accuracy to the grid's best (target >= 0.98), and the finder's cost.

Tasks: the reference Ionosphere MLP (34-34-1, SGD momentum 0.8, 50 epochs of batch 28;
``ionosphere.csv`` from ``$LRLAB_DATA_DIR`` or ``../shared/data``) and a BatchNorm CNN on
sklearn's ``digits`` (SGD momentum 0.9, 10 epochs of batch 64).

Usage::

    .venv/bin/python benchmarks/bench_finder.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

import lrlab
import lrlab.torch

GRID = [10.0 ** (exponent / 2) for exponent in range(-6, 1)]  # 1e-3 .. 1, 7 points


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One task: data, a model factory, the loss, and the training budget."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    make_model: Callable[[], nn.Module]
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    predict: Callable[[torch.Tensor], torch.Tensor]
    momentum: float
    epochs: int
    batch_size: int
    finder_batch: int


def ionosphere_csv() -> Path:
    """``ionosphere.csv`` from ``$LRLAB_DATA_DIR``, else ``../shared/data``."""
    candidates = [Path(os.environ.get("LRLAB_DATA_DIR", "")) / "ionosphere.csv"]
    candidates.append(Path(__file__).resolve().parents[2] / "shared" / "data" / "ionosphere.csv")
    for path in candidates:
        if path.is_file():
            return path
    raise SystemExit("ionosphere.csv not found: set LRLAB_DATA_DIR to its directory")


def ionosphere(seed: int) -> Benchmark:
    """The reference Ionosphere MLP task, split 67/33 by ``seed``."""
    with ionosphere_csv().open() as handle:
        rows = [row for row in csv.reader(handle) if row]
    features = np.array([[float(v) for v in row[:34]] for row in rows], dtype=np.float32)
    labels = np.array([1.0 if row[34].strip() == "g" else 0.0 for row in rows], np.float32)
    order = np.random.default_rng(seed).permutation(len(labels))
    split = int(round(0.67 * len(labels)))
    train, test = order[:split], order[split:]
    return Benchmark(
        "ionosphere MLP",
        features[train], labels[train], features[test], labels[test],
        lambda: nn.Sequential(nn.Linear(34, 34), nn.ReLU(), nn.Linear(34, 1), nn.Flatten(0)),
        nn.functional.binary_cross_entropy_with_logits,
        lambda logits: (logits > 0).float(),
        momentum=0.8, epochs=50, batch_size=28, finder_batch=8,
    )  # fmt: skip


def digits_arrays(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sklearn's 8x8 ``digits``: pixels scaled to [0, 1], standardized with the training
    mean and deviation, a seeded 75/25 split; ``(x_train, y_train, x_test, y_test)``."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.data / 16.0).astype(np.float32)
    labels = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    train, test = order[: int(0.75 * len(labels))], order[int(0.75 * len(labels)) :]
    mean, std = images[train].mean(axis=0), images[train].std(axis=0) + 1e-6
    scaled = (images - mean) / std
    return scaled[train], labels[train], scaled[test], labels[test]


def digits_cnn() -> nn.Module:
    """Two 3x3 conv + BatchNorm blocks on the 8x8 images, then a linear head."""
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32 * 4, 10),
    )  # fmt: skip


def digits(seed: int) -> Benchmark:
    """A BatchNorm CNN on sklearn's digits."""
    x_train, y_train, x_test, y_test = digits_arrays(seed)
    return Benchmark(
        "digits CNN",
        x_train, y_train, x_test, y_test,
        digits_cnn,
        nn.functional.cross_entropy,
        lambda logits: logits.argmax(dim=1),
        momentum=0.9, epochs=10, batch_size=64, finder_batch=16,
    )  # fmt: skip


def loader(task: Benchmark, batch: int, seed: int) -> torch.utils.data.DataLoader:
    """Shuffled training batches, seeded."""
    data = torch.utils.data.TensorDataset(
        torch.from_numpy(task.x_train), torch.from_numpy(task.y_train)
    )
    generator = torch.Generator().manual_seed(seed)
    return torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, generator=generator)


def train_one_cycle(task: Benchmark, peak: float, seed: int) -> float:
    """Test accuracy after ``task.epochs`` epochs of one-cycle at ``peak``."""
    torch.manual_seed(seed)
    model = task.make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=peak, momentum=task.momentum)
    batches = loader(task, task.batch_size, seed)
    total = task.epochs * len(batches)
    scheduler = lrlab.torch.scheduler(
        optimizer, lrlab.schedules.OneCycle(peak_value=peak, total_steps=total)
    )
    for _ in range(task.epochs):
        model.train()
        for inputs, targets in batches:
            optimizer.zero_grad()
            loss = task.loss_fn(model(inputs), targets)
            if not torch.isfinite(loss):
                return 0.0  # diverged
            loss.backward()
            optimizer.step()
            scheduler.step()
    model.eval()
    with torch.no_grad():
        predicted = task.predict(model(torch.from_numpy(task.x_test)))
    return float((predicted == torch.from_numpy(task.y_test)).float().mean())


def run(task_factory: Callable[[int], Benchmark], seeds: int) -> list[str]:
    """Benchmark one task; return its markdown rows."""
    finder_peaks, combined, accuracy = [], [], {}
    cost_epochs = 0.0
    started = time.perf_counter()
    for seed in range(seeds):
        task = task_factory(seed)
        torch.manual_seed(seed)
        model = task.make_model()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=task.momentum)
        steps = len(task.y_train) // task.finder_batch  # one epoch of samples at most
        result = lrlab.find_lr(
            model, loader(task, task.finder_batch, seed), task.loss_fn, optimizer,
            start_value=1e-5, end_value=10.0, num_steps=steps,
        )  # fmt: skip
        cost_epochs = max(cost_epochs, result.steps * task.finder_batch / len(task.y_train))
        peak, suggestion = result.bounds().peak_value, result.suggest().lr
        finder_peaks.append(peak)
        combined.append(suggestion)
        for label, lr in [("bounds peak", peak), ("combined", suggestion)] + [
            (f"grid {value:.3g}", value) for value in GRID
        ]:
            accuracy.setdefault(label, []).append(
                train_one_cycle(task, lr, seed) if lr is not None else math.nan
            )
    means = {label: statistics.fmean(values) for label, values in accuracy.items()}
    grid_best_label = max((label for label in means if label.startswith("grid")), key=means.get)
    best = means[grid_best_label]
    name = task_factory(0).name
    rows = []
    for label, peaks in [("bounds peak", finder_peaks), ("combined", combined)]:
        shown = ", ".join(f"{value:.3g}" for value in peaks)
        rows.append(
            f"| {name} | {label} | {shown} | {means[label]:.4f} | "
            f"{grid_best_label.removeprefix('grid ')} | {best:.4f} | "
            f"{means[label] / best:.3f} | {cost_epochs:.2f} |"
        )
    grid = ", ".join(f"{label.removeprefix('grid ')}: {means[label]:.4f}" for label in means
                     if label.startswith("grid"))  # fmt: skip
    rows.append(f"|  | grid means | {grid} |  |  |  |  |  |")
    print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
    return rows


def main() -> None:
    """Run both tasks and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per configuration")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for factory in (ionosphere, digits):
        rows += run(factory, args.seeds)
    print(f"\n- command: `.venv/bin/python benchmarks/bench_finder.py --seeds {args.seeds}`")
    print(f"- python {platform.python_version()}, torch {torch.__version__}, lrlab "
          f"{lrlab.__version__}; CPU, 1 thread; {args.seeds} seeds")  # fmt: skip
    print()
    print("| task | peak from | finder peaks (per seed) | mean acc | grid best peak | "
          "grid best acc | ratio | finder cost (epochs) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
