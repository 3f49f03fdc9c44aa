"""Grad-CAM heatmaps and a grid of misclassified test images, for ``lrlab inspect``.

:func:`misclassified` finds the test examples a model gets wrong, :func:`grad_cam` computes
a class-activation heatmap per image (Selvaraju et al., 2017, "Grad-CAM: Visual
Explanations from Deep Networks via Gradient-based Localization"), and
:func:`plot_misclassified` draws the images with their heatmaps overlaid and their true and
predicted labels.

Every function leaves the model as it found it: training flags, parameter values, their
``.grad`` and ``requires_grad``, and its hooks. torch is imported when this module is
imported; matplotlib only when plotting.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from lrlab.plotting import image_path, require_matplotlib, save_figure

__all__ = ["grad_cam", "last_conv_layer", "misclassified", "plot_misclassified"]

HEATMAP_ALPHA = 0.45
"""Opacity of the jet-colored heatmap drawn over each image."""


def last_conv_layer(model: nn.Module) -> nn.Conv2d:
    """Return the last :class:`torch.nn.Conv2d` of ``model`` in ``model.modules()`` order.

    Args:
        model: Any module.

    Returns:
        The last 2-D convolution, the default Grad-CAM layer.

    Raises:
        ValueError: If ``model`` has no ``nn.Conv2d`` (e.g. the ``mlp``), naming its class.
    """
    convs = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no nn.Conv2d layer for Grad-CAM")
    return convs[-1]


def _is_integer(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` holds integers (not floats, complex numbers or booleans)."""
    return not (tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool)


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Put every submodule in eval mode, then restore each one's own ``training`` flag."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, training in flags:
            module.training = training


def grad_cam(
    model: nn.Module,
    images: torch.Tensor,
    *,
    classes: torch.Tensor | None = None,
    layer: nn.Module | None = None,
) -> torch.Tensor:
    """Grad-CAM heatmaps of ``images`` for ``classes``, each scaled to ``[0, 1]``.

    With ``A`` the output of ``layer`` for one image, ``K`` channels of ``h x w``, and
    ``y_c`` the logit of its class ``c``::

        alpha_k = (1 / (h * w)) * sum_ij d y_c / d A_k[i, j]
        cam     = ReLU(sum_k alpha_k * A_k)

    ``cam`` is upsampled bilinearly to the input's ``H x W`` and divided by its maximum (a
    map that is zero everywhere stays zero).

    The model runs in eval mode. The gradient is taken with :func:`torch.autograd.grad`
    with respect to the activation only, through a forward hook that is removed before
    returning, even on error; so training flags, parameters, their ``.grad`` and
    ``requires_grad`` are left as they were.

    Args:
        model: A classifier mapping ``(B, C, H, W)`` floats to ``(B, num_classes)`` logits.
        images: Float tensor ``(B, C, H, W)`` on the model's device.
        classes: One class index per image (``B`` integers); the predicted class (argmax of
            the logits) by default.
        layer: The module whose output is ``A``, run exactly once per forward pass and
            giving ``(B, K, h, w)``; :func:`last_conv_layer` of ``model`` by default.

    Returns:
        Float32 heatmaps ``(B, H, W)`` on the CPU, each in ``[0, 1]``.

    Raises:
        ValueError: If ``images`` is not a 4-D float tensor, ``classes`` is not ``B``
            integers in ``[0, num_classes)``, the model's output is not ``(B, num_classes)``
            logits, ``layer`` is not run once per forward pass or does not give a 4-D
            tensor, or (by default) the model has no ``nn.Conv2d``.
    """
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(
            f"grad_cam: images must be a 4-D float tensor (B, C, H, W), got shape "
            f"{tuple(images.shape)} and dtype {images.dtype}"
        )
    batch = images.shape[0]
    if classes is not None and (classes.shape != (batch,) or not _is_integer(classes)):
        raise ValueError(
            f"grad_cam: classes must be {batch} integers, one per image, got shape "
            f"{tuple(classes.shape)} and dtype {classes.dtype}"
        )
    target = last_conv_layer(model) if layer is None else layer
    activations: list[torch.Tensor] = []

    def capture(module: nn.Module, inputs: object, output: torch.Tensor) -> torch.Tensor:
        # A leaf that requires grad: the gradient stops here, so nothing reaches the
        # parameters. The clone keeps the leaf intact under in-place ops downstream.
        activation = output.detach().requires_grad_(True)
        activations.append(activation)
        return activation.clone()

    handle = target.register_forward_hook(capture)
    try:
        with _eval_mode(model), torch.enable_grad():
            logits = model(images)
            if len(activations) != 1:
                raise ValueError(
                    f"grad_cam: layer {type(target).__name__} ran {len(activations)} times "
                    "in the forward pass; it must run exactly once"
                )
            (activation,) = activations
            if logits.ndim != 2 or logits.shape[0] != batch:
                raise ValueError(
                    f"grad_cam: model output must be (B, num_classes) logits with B = {batch}, "
                    f"got shape {tuple(logits.shape)}"
                )
            if activation.ndim != 4 or activation.shape[0] != batch:
                raise ValueError(
                    f"grad_cam: layer {type(target).__name__} must give (B, K, h, w) with "
                    f"B = {batch}, got shape {tuple(activation.shape)}"
                )
            chosen = logits.argmax(dim=1) if classes is None else classes.to(logits.device)
            if batch and not 0 <= int(chosen.min()) <= int(chosen.max()) < logits.shape[1]:
                raise ValueError(
                    f"grad_cam: classes must be in [0, {logits.shape[1]}), got "
                    f"{int(chosen.min())} to {int(chosen.max())}"
                )
            score = logits.gather(1, chosen.long()[:, None]).sum()
            (gradient,) = torch.autograd.grad(score, activation)
    finally:
        handle.remove()
    with torch.no_grad():
        weights = gradient.mean(dim=(2, 3), keepdim=True)
        cam = torch.relu((weights * activation).sum(dim=1, keepdim=True))
        cam = functional.interpolate(
            cam, size=images.shape[2:], mode="bilinear", align_corners=False
        )[:, 0]
        peak = cam.amax(dim=(1, 2), keepdim=True)
        cam = cam / peak.clamp_min(torch.finfo(cam.dtype).tiny)
    return cam.to(device="cpu", dtype=torch.float32)


def misclassified(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    limit: int = 16,
    batch_size: int = 256,
) -> torch.Tensor:
    """Indices of the first ``limit`` examples whose predicted class is not their label.

    The model runs in eval mode under :func:`torch.no_grad`, batch by batch, stopping once
    ``limit`` mistakes are found; each submodule's training flag is restored afterwards.

    Args:
        model: A classifier returning ``(batch, num_classes)`` logits.
        images: Model inputs, one example per row of the first axis, on the model's device.
        labels: Integer labels, shape ``(len(images),)``.
        limit: Most indices to return, at least 1.
        batch_size: Examples per forward pass, at least 1.

    Returns:
        An int64 CPU tensor of increasing indices into ``images``, at most ``limit`` long.

    Raises:
        ValueError: If ``labels`` does not match ``images``, or ``limit`` or ``batch_size``
            is not a positive integer.
    """
    if images.ndim == 0:
        raise ValueError("misclassified: images must have a batch axis, got a 0-D tensor")
    if labels.shape != (images.shape[0],) or not _is_integer(labels):
        raise ValueError(
            f"misclassified: labels must be {images.shape[0]} integers, one per image, got "
            f"shape {tuple(labels.shape)} and dtype {labels.dtype}"
        )
    for name, value in (("limit", limit), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"misclassified: {name} must be a positive int, got {value!r}")
    found: list[torch.Tensor] = []
    count = 0
    with _eval_mode(model), torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            logits = model(images[start : start + batch_size])
            truth = labels[start : start + batch_size].to(logits.device)
            wrong = torch.nonzero(logits.argmax(dim=1) != truth).flatten().cpu() + start
            found.append(wrong[: limit - count])
            count += len(found[-1])
            if count == limit:
                break
    return torch.cat(found).to(torch.int64) if found else torch.zeros(0, dtype=torch.int64)


def plot_misclassified(
    images: np.ndarray,
    heatmaps: np.ndarray,
    true_labels: Sequence[str],
    predicted_labels: Sequence[str],
    path: str | os.PathLike[str],
    *,
    columns: int = 4,
    title: str = "Misclassified test images (Grad-CAM)",
) -> Path:
    """Draw a grid of images with their Grad-CAM heatmaps and labels, and save it.

    Each panel shows one image with its heatmap overlaid (jet colormap, opacity
    :data:`HEATMAP_ALPHA`, ``0`` blue to ``1`` red) under the title ``true: X / pred: Y``.

    Args:
        images: uint8 RGB images ``(n, H, W, 3)``.
        heatmaps: Heatmaps ``(n, H, W)`` in ``[0, 1]``, e.g. from :func:`grad_cam`.
        true_labels: The ``n`` true class names.
        predicted_labels: The ``n`` predicted class names.
        path: Output image file; the format follows the suffix (``.png``, ``.svg``, ...).
            Written to a temporary name and renamed, never left half-written.
        columns: Panels per row, at least 1.
        title: Figure title.

    Returns:
        The path written.

    Raises:
        ValueError: If there are no images ("no misclassified images"), shapes, dtypes or
            label counts disagree, ``columns`` is not a positive integer, or ``path`` is a
            directory or has no image suffix.
        ImportError: If matplotlib is missing.
    """
    images = np.asarray(images)
    heatmaps = np.asarray(heatmaps)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(
            f"plot_misclassified: images must be uint8 (n, H, W, 3), got shape "
            f"{images.shape} and dtype {images.dtype}"
        )
    count = images.shape[0]
    if count == 0:
        raise ValueError("plot_misclassified: no misclassified images to plot")
    if heatmaps.shape != images.shape[:3]:
        raise ValueError(
            f"plot_misclassified: heatmaps must have shape {images.shape[:3]}, got {heatmaps.shape}"
        )
    if len(true_labels) != count or len(predicted_labels) != count:
        raise ValueError(
            f"plot_misclassified: need {count} true and predicted labels, got "
            f"{len(true_labels)} and {len(predicted_labels)}"
        )
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"plot_misclassified: columns must be a positive int, got {columns!r}")
    output, image_format = image_path("plot_misclassified", path)
    pyplot = require_matplotlib()
    ncols = min(columns, count)
    nrows = math.ceil(count / ncols)
    figure, axes = pyplot.subplots(
        nrows,
        ncols,
        figsize=(max(2.6 * ncols, 4.0), 2.8 * nrows + 0.4),
        dpi=120,
        layout="constrained",
        squeeze=False,
    )
    try:
        for index, ax in enumerate(axes.flat):
            ax.set_axis_off()
            if index >= count:
                continue
            ax.imshow(images[index], interpolation="nearest")
            ax.imshow(
                heatmaps[index],
                cmap="jet",
                alpha=HEATMAP_ALPHA,
                vmin=0.0,
                vmax=1.0,
                interpolation="bilinear",
            )
            ax.set_title(
                f"true: {true_labels[index]} / pred: {predicted_labels[index]}",
                fontsize="small",
                parse_math=False,
            )
        figure.suptitle(title, parse_math=False)
        save_figure(figure, output, image_format)
    finally:
        pyplot.close(figure)
    return output
