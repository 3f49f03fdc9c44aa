"""Lab figures, lrlab.lab.plots: real image files, checked with PIL, and the error paths."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

import lrlab  # noqa: E402
from lrlab.lab.plots import (  # noqa: E402
    plot_lr,
    plot_lr_overlay,
    plot_metric_overlay,
    plot_training,
)


def make_history(epochs: int, *, scale: float = 1.0) -> list[dict[str, float | int | None]]:
    return [
        {
            "epoch": epoch,
            "loss": scale * 2.0 * math.exp(-epoch / 4),
            "accuracy": 1 - 0.9 * math.exp(-epoch / 3),
            "val_loss": scale * 2.2 * math.exp(-epoch / 5),
            "val_accuracy": 1 - 0.95 * math.exp(-epoch / 4),
            "lr": 0.1,
            "seconds": 1.5,
        }
        for epoch in range(epochs)
    ]


def check_image(path: Path) -> np.ndarray:
    """Open ``path``, check it is a non-blank 8 x 5 inch, 100 dpi image; return its pixels."""
    assert path.is_file()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (800, 500)
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 10
    packed = pixels.astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32)
    assert len(np.unique(packed)) > 10
    return pixels


def cosine() -> lrlab.Schedule:
    return lrlab.parse("cosine(init_value=0.1, total_steps=200)")


def test_plot_training_writes_a_png(tmp_path: Path) -> None:
    written = plot_training(make_history(12), tmp_path / "training.png")
    assert written == tmp_path / "training.png"
    check_image(written)


def test_plot_training_draws_none_values_as_gaps(tmp_path: Path) -> None:
    history = make_history(8)
    history[5]["loss"] = None
    history[5]["val_loss"] = float("nan")
    del history[6]["seconds"]
    check_image(plot_training(history, tmp_path / "gaps.png", title="price $5 and $6"))


def test_plot_training_images_differ_with_the_data(tmp_path: Path) -> None:
    first = check_image(plot_training(make_history(10), tmp_path / "a.png"))
    second = check_image(plot_training(make_history(10, scale=3.0), tmp_path / "b.png"))
    same = check_image(plot_training(make_history(10), tmp_path / "c.png"))
    assert not np.array_equal(first, second)
    assert np.array_equal(first, same)


def test_plot_lr_writes_a_png(tmp_path: Path) -> None:
    written = plot_lr(cosine(), total_steps=200, steps_per_epoch=20, path=tmp_path / "lr.png")
    check_image(written)


def test_plot_lr_overlay_writes_a_png(tmp_path: Path) -> None:
    steps = np.arange(200, dtype=np.float64)
    curves = {
        "cosine": (steps / 20, cosine()(steps)),
        "constant $0.05$": (steps / 20, np.full(200, 0.05)),
    }
    check_image(plot_lr_overlay(curves, tmp_path / "overlay.png"))


def test_plot_metric_overlay_three_labels_two_uneven_seeds(tmp_path: Path) -> None:
    series = {
        "cosine": [[0.5, 0.6, 0.7, 0.8, 0.85], [0.45, 0.62, 0.71, 0.79, 0.86]],
        "constant": [[0.4, 0.5, 0.55, 0.6, 0.62], [0.42, 0.48, None]],
        "diverged": [[0.3, None, float("nan")], [0.35, 0.2]],
    }
    written = plot_metric_overlay(series, "val_accuracy", tmp_path / "metric.png")
    one_seed = plot_metric_overlay(
        {label: seeds[:1] for label, seeds in series.items()},
        "val_accuracy",
        tmp_path / "one_seed.png",
        title="one seed each",
    )
    assert not np.array_equal(check_image(written), check_image(one_seed))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda path: plot_training([], path), ValueError, "history"),
        (lambda path: plot_training([{"epoch": 0, "loss": "x"}], path), TypeError, "loss"),
        (lambda path: plot_training([{"loss": 1.0}], path), ValueError, "epoch"),
        (
            lambda path: plot_lr(cosine(), total_steps=0, steps_per_epoch=1, path=path),
            ValueError,
            "total_steps",
        ),
        (
            lambda path: plot_lr(cosine(), total_steps=10, steps_per_epoch=1.5, path=path),
            TypeError,
            "steps_per_epoch",
        ),
        (lambda path: plot_lr_overlay({}, path), ValueError, "curves"),
        (
            lambda path: plot_lr_overlay({"a": (np.arange(3), np.arange(4))}, path),
            ValueError,
            "curves",
        ),
        (lambda path: plot_metric_overlay({}, "loss", path), ValueError, "series"),
        (lambda path: plot_metric_overlay({"a": [[]]}, "loss", path), ValueError, "series"),
        (lambda path: plot_metric_overlay({"a": [[1.0]]}, "", path), ValueError, "metric"),
    ],
)
def test_bad_arguments_are_named(call, error: type[Exception], match: str, tmp_path: Path) -> None:
    with pytest.raises(error, match=match):
        call(tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


@pytest.mark.parametrize(
    "call",
    [
        lambda path: plot_training(make_history(3), path),
        lambda path: plot_lr(cosine(), total_steps=10, steps_per_epoch=5, path=path),
        lambda path: plot_lr_overlay({"a": (np.arange(3.0), np.ones(3))}, path),
        lambda path: plot_metric_overlay({"a": [[1.0, 2.0]]}, "loss", path),
    ],
)
def test_bad_paths_are_rejected(call, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="path must end in an image suffix"):
        call(tmp_path / "figure.txt")
    with pytest.raises(ValueError, match="path is a directory"):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []
