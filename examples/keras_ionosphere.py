"""Time-based and drop-based learning-rate decay on the Ionosphere MLP, with lrlab.keras.

The reference experiment: UCI Ionosphere (351 radar returns, 34 numeric features, label
``g``/``b``), an MLP 34 -> 34 ReLU -> 1 sigmoid, SGD with learning rate 0.1 and momentum
0.8, 50 epochs of batches of 28, the last 33% of the rows held out for validation (Keras'
``validation_split``). Two runs, from the same initial weights:

- time-based: Keras 2's ``SGD(lr=0.1, decay=0.002)`` (``decay = 0.1 / 50``), which lowers the
  rate after every optimizer step to ``0.1 / (1 + 0.002 * t)``. Keras 3 ignores ``decay``;
  ``lrlab.keras.legacy_decay`` brings it back.
- drop-based: the reference ``0.1 * 0.5 ** floor((1 + epoch) / 10)`` set at each epoch begin,
  lrlab's ``step(..., offset=1)``. With Keras' 0-based epochs the first drop comes at epoch
  index 9, i.e. 9 epochs at 0.1 (``offset=0`` would give the "first 10 epochs" of the prose).

Run::

    KERAS_BACKEND=torch python examples/keras_ionosphere.py [--epochs 50] [--seed 7]

The data is read from ``--data-dir``, else ``$LRLAB_DATA_DIR``, else ``../shared/data`` next
to the repository, as ``ionosphere.csv``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrlab  # noqa: E402
import lrlab.keras  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[1]
FILE_NAME = "ionosphere.csv"
FEATURES = 34
LEARNING_RATE = 0.1
MOMENTUM = 0.8
BATCH_SIZE = 28  # samples
VALIDATION_SPLIT = 0.33  # fraction of the rows, taken from the end
DECAY = 0.002  # 1/optimizer steps: 0.1 / 50 epochs
DROP = lrlab.parse("step(init_value=0.1, factor=0.5, every=10, offset=1)")  # t in epochs


def find_data(data_dir: str | None = None) -> Path:
    """The path of ``ionosphere.csv``.

    Looks in ``data_dir`` if given; otherwise in ``$LRLAB_DATA_DIR`` (when set), then in
    ``../shared/data`` relative to the repository.

    Raises:
        FileNotFoundError: If no place looked in has the file; the message lists them.
    """
    if data_dir is not None:
        places = [Path(data_dir)]
    else:
        from_environment = os.environ.get("LRLAB_DATA_DIR")
        places = [Path(from_environment)] if from_environment else []
        places.append(REPOSITORY.parent / "shared" / "data")
    for place in places:
        if (place / FILE_NAME).is_file():
            return place / FILE_NAME
    raise FileNotFoundError(
        f"{FILE_NAME} not found in {', '.join(str(place) for place in places)}; pass "
        "--data-dir or set LRLAB_DATA_DIR (UCI Ionosphere: 34 numeric columns, then g or b)"
    )


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Features (float32, shape ``(n, 34)``) and labels (1.0 for ``g``, 0.0 for ``b``)."""
    rows = np.loadtxt(path, delimiter=",", dtype=str)
    if rows.ndim != 2 or rows.shape[1] != FEATURES + 1:
        raise ValueError(f"{path}: expected {FEATURES + 1} columns, got shape {rows.shape}")
    labels = rows[:, FEATURES]
    unknown = sorted(set(labels) - {"g", "b"})
    if unknown:
        raise ValueError(f"{path}: labels must be 'g' or 'b', found {unknown}")
    return rows[:, :FEATURES].astype(np.float32), (labels == "g").astype(np.float32)


def train(
    x: np.ndarray,
    y: np.ndarray,
    optimizer: keras.optimizers.Optimizer,
    callbacks: list[keras.callbacks.Callback],
    epochs: int,
    seed: int,
) -> tuple[float, float]:
    """Fit the MLP from seeded initial weights.

    Returns:
        The validation accuracy after the last epoch, and the learning rate at the end.
    """
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(FEATURES, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=optimizer, loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x,
        y,
        validation_split=VALIDATION_SPLIT,
        epochs=epochs,
        batch_size=BATCH_SIZE,
        callbacks=callbacks,
        verbose=0,
    )
    return float(history.history["val_accuracy"][-1]), float(optimizer.learning_rate)


def main(argv: Sequence[str] | None = None) -> int:
    """Train both runs and print their final validation accuracy.

    Returns:
        The exit status: 0, or 2 if the data is missing or malformed.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50, help="epochs per run (default 50)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the initial weights")
    parser.add_argument("--data-dir", help=f"folder holding {FILE_NAME}")
    args = parser.parse_args(argv)
    try:
        x, y = load(find_data(args.data_dir))
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    runs = {
        f"time-based, legacy_decay({LEARNING_RATE}, {DECAY})": (
            keras.optimizers.SGD(lrlab.keras.legacy_decay(LEARNING_RATE, DECAY), momentum=MOMENTUM),
            [],
        ),
        f"drop-based, {DROP!r} per epoch": (
            keras.optimizers.SGD(LEARNING_RATE, momentum=MOMENTUM),
            [lrlab.keras.callback(DROP, unit="epoch")],
        ),
    }
    for name, (optimizer, callbacks) in runs.items():
        accuracy, final_lr = train(x, y, optimizer, callbacks, args.epochs, args.seed)
        print(f"{name}: val_accuracy {accuracy:.4f} (final learning rate {final_lr:.6f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
