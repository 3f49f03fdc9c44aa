"""On-device image augmentations: exact geometry, determinism and input checks (CPU torch)."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")

from lrlab.lab.augment import PAD, augment  # noqa: E402
from lrlab.lab.config import AUGMENTATIONS  # noqa: E402

BATCH, CHANNELS, SIZE = 24, 3, 8


def unique_images(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A batch whose every element is a distinct positive value (no zeros)."""
    count = BATCH * CHANNELS * SIZE * SIZE
    return (
        (torch.arange(count, dtype=torch.float64) + 1).to(dtype).view(BATCH, CHANNELS, SIZE, SIZE)
    )


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``out[y, x] = image[y + dy, x + dx]``, zero where that lies outside the image."""
    height, width = image.shape[-2:]
    out = torch.zeros_like(image)
    y0, y1 = max(0, -dy), min(height, height - dy)
    x0, x1 = max(0, -dx), min(width, width - dx)
    out[..., y0:y1, x0:x1] = image[..., y0 + dy : y1 + dy, x0 + dx : x1 + dx]
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize(
    "names", [(), ("flip",), ("crop",), ("cutout",), AUGMENTATIONS, ["cutout", "flip"]]
)
def test_shape_and_dtype_are_kept(dtype: torch.dtype, names: tuple[str, ...]) -> None:
    images = torch.randn(5, 2, 10, 12, generator=generator(1)).to(dtype)
    out = augment(images, names, generator(0))
    assert out.shape == images.shape
    assert out.dtype == dtype
    assert out.device == images.device


def test_the_input_is_not_modified() -> None:
    images = unique_images()
    copy = images.clone()
    augment(images, AUGMENTATIONS, generator(0))
    assert torch.equal(images, copy)


@pytest.mark.parametrize("names", [("flip",), ("crop",), ("cutout",), AUGMENTATIONS])
def test_a_seeded_generator_is_deterministic_and_seeds_differ(names: tuple[str, ...]) -> None:
    images = unique_images()
    first = augment(images, names, generator(7))
    again = augment(images, names, generator(7))
    other = augment(images, names, generator(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_the_generator_advances_between_calls() -> None:
    images = unique_images()
    rng = generator(3)
    first = augment(images, AUGMENTATIONS, rng)
    second = augment(images, AUGMENTATIONS, rng)
    assert not torch.equal(first, second)


def test_flip_gives_each_sample_or_its_mirror() -> None:
    images = unique_images()
    out = augment(images, ["flip"], generator(0))
    mirrored = 0
    for index in range(BATCH):
        same = torch.equal(out[index], images[index])
        mirror = torch.equal(out[index], images[index].flip(-1))
        assert same != mirror, f"sample {index} is neither the image nor its mirror"
        mirrored += mirror
    assert 0 < mirrored < BATCH  # p = 1/2 each; with this seed both outcomes occur


def test_crop_translates_each_sample_by_at_most_pad_pixels_with_zero_fill() -> None:
    assert PAD == 4
    images = unique_images()
    out = augment(images, ["crop"], generator(0))
    offsets = range(-PAD, PAD + 1)
    seen = set()
    for index in range(BATCH):
        matches = [
            (dy, dx)
            for dy, dx in itertools.product(offsets, offsets)
            if torch.equal(out[index], shifted(images[index], dy, dx))
        ]
        assert len(matches) == 1, f"sample {index} is no translation within {PAD} px"
        seen.add(matches[0])
    assert len(seen) > 1  # offsets vary between samples


def test_crop_reaches_the_largest_offsets() -> None:
    images = torch.ones(400, 1, SIZE, SIZE)
    out = augment(images, ["crop"], generator(0))
    zero_rows = (out[:, 0] == 0).all(dim=2).sum(dim=1)
    zero_cols = (out[:, 0] == 0).all(dim=1).sum(dim=1)
    assert int(zero_rows.max()) == PAD and int(zero_cols.max()) == PAD
    assert int(zero_rows.min()) == 0 and int(zero_cols.min()) == 0


def cutout_masks(height: int, width: int) -> list[torch.Tensor]:
    """Every mask cutout may draw: a square of side ``height // 2`` around any pixel."""
    side = height // 2
    masks = []
    for cy, cx in itertools.product(range(height), range(width)):
        mask = torch.zeros(height, width, dtype=torch.bool)
        top, left = cy - side // 2, cx - side // 2
        mask[max(top, 0) : max(top + side, 0), max(left, 0) : max(left + side, 0)] = True
        masks.append(mask)
    return masks


@pytest.mark.parametrize("size", [8, 9, 32])
def test_cutout_zeroes_one_clipped_square_of_half_the_side(size: int) -> None:
    count = BATCH * CHANNELS * size * size
    images = (torch.arange(count, dtype=torch.float32) + 1).view(BATCH, CHANNELS, size, size)
    out = augment(images, ["cutout"], generator(0))
    masks = cutout_masks(size, size)
    clipped = 0
    for index in range(BATCH):
        zero = out[index] == 0
        assert torch.equal(zero, zero[:1].expand_as(zero)), "channels share the square"
        mask = zero[0]
        assert any(torch.equal(mask, candidate) for candidate in masks), f"sample {index}"
        assert torch.equal(out[index][~zero], images[index][~zero])
        assert 0 < int(mask.sum()) <= (size // 2) ** 2
        clipped += int(mask.sum()) < (size // 2) ** 2
    assert clipped < BATCH


def test_cutout_squares_are_full_size_away_from_the_border() -> None:
    images = torch.ones(300, 1, SIZE, SIZE)
    out = augment(images, ["cutout"], generator(1))
    areas = (out[:, 0] == 0).sum(dim=(1, 2))
    assert int(areas.max()) == (SIZE // 2) ** 2
    assert int(areas.min()) < (SIZE // 2) ** 2  # some clipped at the border
    assert int(areas.min()) > 0


def test_all_three_compose_in_canonical_order() -> None:
    images = unique_images()
    together = augment(images, ["cutout", "crop", "flip"], generator(5))
    rng = generator(5)
    by_hand = augment(images, ["flip"], rng)
    by_hand = augment(by_hand, ["crop"], rng)
    by_hand = augment(by_hand, ["cutout"], rng)
    assert torch.equal(together, by_hand)


@pytest.mark.parametrize("shape", [(3, 8, 8), (8, 8), (1, 1, 3, 8, 8)])
def test_a_batch_that_is_not_4d_raises_naming_images(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="images") as raised:
        augment(torch.zeros(shape), ["flip"], generator(0))
    assert str(shape) in str(raised.value)


def test_an_unknown_name_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="'rotate'"):
        augment(unique_images(), ["flip", "rotate"], generator(0))


def test_channels_last_input_gets_identical_augmentations() -> None:
    images = torch.randn(6, 3, 12, 12, generator=generator(2))
    last = images.contiguous(memory_format=torch.channels_last)
    assert last.is_contiguous(memory_format=torch.channels_last)
    expected = augment(images, AUGMENTATIONS, generator(11))
    out = augment(last, AUGMENTATIONS, generator(11))
    assert out.shape == expected.shape and out.dtype == expected.dtype
    assert torch.equal(out, expected)
