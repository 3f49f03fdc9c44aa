"""The engine on CUDA (bf16 autocast, channels_last, on-device augmentation); these tests skip
without a GPU. Without one, asking for CUDA is a clear error."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrlab.lab.config import RunConfig  # noqa: E402
from lrlab.lab.data import Dataset  # noqa: E402
from lrlab.lab.interrupt import StopRequest  # noqa: E402
from lrlab.lab.progress import LineProgress  # noqa: E402
from lrlab.lab.train import Trainer  # noqa: E402
from lrlab.schedules import parse  # noqa: E402

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def images(count: int, seed: int) -> Dataset:
    """Two classes told apart by the mean brightness of the image's left half."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count, dtype=np.int64) % 2
    pixels = rng.integers(0, 128, size=(count, 32, 32, 3), dtype=np.uint8)
    pixels[labels == 1, :, :16] += 100
    split = count * 4 // 5
    return Dataset("bright-left", pixels[:split], labels[:split], pixels[split:], labels[split:],
                   ("dark", "bright"), "generated")  # fmt: skip


def test_asking_for_cuda_without_a_gpu_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    config = RunConfig(dataset="bright-left", model="resnet9", device="cuda")
    with pytest.raises(ValueError, match="device 'cuda' requested, but torch finds no CUDA"):
        Trainer(config, images(64, 0))


@needs_cuda
def test_training_on_cuda_learns_and_checkpoints(tmp_path: Path) -> None:
    config = RunConfig(dataset="bright-left", model="resnet9", epochs=3, batch_size=64,
                       augment=("flip", "crop", "cutout"), device="cuda")  # fmt: skip
    trainer = Trainer(config, images(640, 0))
    trainer.attach_schedule(parse("one_cycle(peak_value=0.05, total_steps=24)"))
    assert next(trainer.model.parameters()).is_cuda
    history: list[dict[str, float | None]] = []
    status = trainer.fit(progress=LineProgress(None), stop=StopRequest(),
                         on_epoch_end=lambda epoch, metrics: history.append(metrics))  # fmt: skip
    assert status == "finished" and len(history) == 3
    assert all(math.isfinite(epoch["loss"] or math.nan) for epoch in history)
    assert history[-1]["val_accuracy"] > 0.9  # chance is 0.5
    state = trainer.state_dict()
    assert state["losses"].device.type == "cpu" and "cuda_rng" in state
    again = Trainer(config, images(640, 0))
    again.attach_schedule(parse("one_cycle(peak_value=0.05, total_steps=24)"))
    again.load_state_dict(state)
    assert again.epoch == 3 and again.evaluate() == trainer.evaluate()
