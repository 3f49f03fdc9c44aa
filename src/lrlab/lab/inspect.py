"""``lrlab inspect``: where an image run's model looks when it is wrong.

Loads a run's latest checkpoint, finds the first misclassified test images and draws them
with their Grad-CAM heatmaps (:mod:`lrlab.lab.gradcam`) and true/predicted labels, as in
the reference CNN study.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from lrlab.lab.checkpoint import load_checkpoint
from lrlab.lab.config import RunConfig
from lrlab.lab.gradcam import grad_cam, misclassified, plot_misclassified
from lrlab.lab.run import checkpoint_of, load_run_data
from lrlab.lab.store import RunStore
from lrlab.lab.train import Trainer


def inspect_run(
    store: RunStore,
    run_id: int,
    *,
    output: str | os.PathLike[str] | None = None,
    count: int = 16,
    data_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the Grad-CAM grid of a run's misclassified test images.

    Args:
        store: The run store.
        run_id: An image run with a checkpoint.
        output: The image to write; default ``gradcam.png`` beside the checkpoint.
        count: How many misclassified images to show, at most.
        data_dir: Where the dataset's file is.

    Returns:
        The path written (also recorded as the run's ``gradcam`` artifact).

    Raises:
        ValueError: If the run is not on images, has no checkpoint, or its model makes no
            mistakes on the test split.
    """
    record = store.run(run_id)
    config = RunConfig.from_dict(record["config"]).replace(device="cpu", compile=False)
    checkpoint = checkpoint_of(record)
    dataset = load_run_data(config, data_dir)
    if len(dataset.input_shape) != 3:
        raise ValueError(
            f"inspect: run {run_id} trained on {config.dataset!r}, which is not an image dataset"
        )
    trainer = Trainer(config, dataset)
    trainer.model.load_state_dict(load_checkpoint(checkpoint)["model"])
    inputs = trainer.prepare(trainer.x_test, train=False, generator=trainer.generator)
    wrong = misclassified(trainer.model, inputs, trainer.y_test, limit=count)
    if len(wrong) == 0:
        raise ValueError(f"inspect: run {run_id} classifies every test image correctly")
    with torch.no_grad():
        predicted = trainer.model.eval()(inputs[wrong]).argmax(1)
    heatmaps = grad_cam(trainer.model, inputs[wrong], classes=predicted)
    names = dataset.class_names
    path = plot_misclassified(
        dataset.x_test[wrong.numpy()],
        heatmaps.numpy(),
        [names[int(label)] for label in dataset.y_test[wrong.numpy()]],
        [names[int(label)] for label in predicted],
        Path(output) if output is not None else checkpoint.parent / "gradcam.png",
    )
    store.add_artifact(run_id, "gradcam", path)
    return path
