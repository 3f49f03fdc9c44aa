"""Image augmentations on a batch tensor, on whatever device the batch lives.

Random numbers come from a CPU ``torch.Generator`` (a few per image) and are moved to the
batch's device, so a run draws the same augmentations on the CPU and on CUDA, and a
checkpoint of that generator resumes them exactly.

- ``flip``: mirror left-right with probability 1/2.
- ``crop``: zero-pad by ``PAD = 4`` pixels on each side, then crop back to ``H x W`` at a
  random offset: a translation of up to 4 pixels each way.
- ``cutout``: zero a square of side ``H // 2`` (16 px on CIFAR-10, DeVries & Taylor 2017)
  centred on a random pixel, clipped at the border. Zero is the mean of normalized data.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from lrlab.lab.config import AUGMENTATIONS

PAD = 4
"""Pixels of zero padding for ``crop``: the largest translation, in pixels."""


def augment(images: torch.Tensor, names: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """Apply the named augmentations to a normalized ``(B, C, H, W)`` batch.

    Args:
        images: Float images, normalized (zero mean), any device or memory format.
        names: A subset of :data:`lrlab.lab.config.AUGMENTATIONS`, applied in that order.
        generator: A CPU generator; each augmentation draws ``B`` or ``2B`` numbers.

    Returns:
        A new batch of the same shape, dtype and device.

    Raises:
        ValueError: If ``images`` is not 4-D or a name is unknown.
    """
    if images.ndim != 4:
        raise ValueError(f"augment: images must be (B, C, H, W), got shape {tuple(images.shape)}")
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"augment: unknown augmentation {unknown[0]!r}; known: {AUGMENTATIONS}")
    batch = images
    for name in AUGMENTATIONS:
        if name in names:
            batch = _OPERATIONS[name](batch, generator)
    return batch


def _flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    mirror = torch.rand(images.shape[0], generator=generator) < 0.5
    mirror = mirror.to(images.device).view(-1, 1, 1, 1)
    return torch.where(mirror, images.flip(3), images)


def _crop(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    size, _, height, width = images.shape
    offsets = torch.randint(0, 2 * PAD + 1, (2, size), generator=generator).to(images.device)
    padded = torch.nn.functional.pad(images, (PAD, PAD, PAD, PAD))
    rows = (offsets[0].view(-1, 1) + torch.arange(height, device=images.device)).view(
        size, 1, height, 1
    )
    cols = (offsets[1].view(-1, 1) + torch.arange(width, device=images.device)).view(
        size, 1, 1, width
    )
    batch_index = torch.arange(size, device=images.device).view(size, 1, 1, 1)
    channel_index = torch.arange(images.shape[1], device=images.device).view(1, -1, 1, 1)
    return padded[batch_index, channel_index, rows, cols]


def _cutout(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    size, _, height, width = images.shape
    side = height // 2
    centres_y = torch.randint(0, height, (size,), generator=generator).to(images.device)
    centres_x = torch.randint(0, width, (size,), generator=generator).to(images.device)
    y = torch.arange(height, device=images.device).view(1, height, 1)
    x = torch.arange(width, device=images.device).view(1, 1, width)
    top = (centres_y - side // 2).view(-1, 1, 1)
    left = (centres_x - side // 2).view(-1, 1, 1)
    inside = (y >= top) & (y < top + side) & (x >= left) & (x < left + side)
    return images.masked_fill(inside.unsqueeze(1), 0.0)


_OPERATIONS = {"flip": _flip, "crop": _crop, "cutout": _cutout}
