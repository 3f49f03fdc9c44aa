"""Small built-in tasks for ``lrlab find``: sklearn's bundled ``digits``, MLP or CNN.

These stand in for the lab's datasets and models: they need no download and train in
seconds on a CPU. Everything is seeded, so a task built twice is identical.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

DATASETS = ("digits",)
MODELS = ("mlp", "cnn")
OPTIMIZERS = ("sgd", "adam")


@dataclasses.dataclass
class Task:
    """What a range test needs: a model, its data and loss, and an optimizer."""

    model: Any
    train_loader: Iterable[Any]
    val_loader: Iterable[Any]
    loss_fn: Callable[[Any, Any], Any]
    optimizer: Any


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"find: {name} must be one of {choices}, got {value!r}")
    return value


def digits_arrays(seed: int) -> tuple[Any, Any, Any, Any]:
    """sklearn's 8x8 ``digits`` (1797 images, 10 classes), standardized, split 75/25.

    Returns:
        ``(x_train, y_train, x_test, y_test)`` as float32 / int64 numpy arrays; ``x`` has
        shape ``(n, 64)`` with pixel values scaled to [0, 1] then standardized with the
        training mean and deviation.

    Raises:
        ImportError: If scikit-learn is missing, naming the extra.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError("the digits task needs scikit-learn: pip install 'lrlab[lab]'") from error
    import numpy as np

    data = load_digits()
    images = (data.data / 16.0).astype(np.float32)
    labels = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    split = int(0.75 * len(labels))
    train, test = order[:split], order[split:]
    mean = images[train].mean(axis=0)
    std = images[train].std(axis=0) + 1e-6
    scaled = (images - mean) / std
    return scaled[train], labels[train], scaled[test], labels[test]


def build_model(name: str) -> Any:
    """``mlp``: 64 -> 64 ReLU -> 10; ``cnn``: two 3x3 conv + BatchNorm blocks on 8x8 images.

    Raises:
        ValueError: If ``name`` is unknown.
    """
    from torch import nn

    if _choice("model", name, MODELS) == "mlp":
        return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 4, 10),
    )


def build_task(
    dataset: str, model: str, *, optimizer: str = "sgd", batch_size: int = 64, seed: int = 0
) -> Task:
    """Build a seeded task; the optimizer's LR is a placeholder the range test overrides.

    Args:
        dataset: ``"digits"``.
        model: ``"mlp"`` or ``"cnn"``.
        optimizer: ``"sgd"`` (momentum 0.9) or ``"adam"``.
        batch_size: Training batch size.
        seed: Seeds the split, the weights and the batch order.

    Raises:
        ValueError: If a name is unknown.
    """
    import torch

    _choice("dataset", dataset, DATASETS)
    _choice("optimizer", optimizer, OPTIMIZERS)
    x_train, y_train, x_test, y_test = digits_arrays(seed)
    torch.manual_seed(seed)
    network = build_model(model)
    generator = torch.Generator().manual_seed(seed)
    train = torch.utils.data.TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train))
    test = torch.utils.data.TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test))
    train_loader = torch.utils.data.DataLoader(
        train, batch_size=batch_size, shuffle=True, generator=generator
    )
    val_loader = torch.utils.data.DataLoader(test, batch_size=512)
    if optimizer == "sgd":
        chosen = torch.optim.SGD(network.parameters(), lr=0.01, momentum=0.9)
    else:
        chosen = torch.optim.Adam(network.parameters(), lr=0.001)
    return Task(network, train_loader, val_loader, torch.nn.functional.cross_entropy, chosen)
