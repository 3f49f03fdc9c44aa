"""Tests for Grad-CAM and the misclassified-images grid, lrlab.lab.gradcam (real torch, CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

from torch import nn  # noqa: E402

from lrlab.lab.gradcam import (  # noqa: E402
    grad_cam,
    last_conv_layer,
    misclassified,
    plot_misclassified,
)
from lrlab.lab.models import build_model  # noqa: E402

SIDE = 16
PATCH = 4
# Class 0 is a red patch, class 1 a green one, anywhere in the image: a GAP net has to find
# the patch, so Grad-CAM for the right class must peak on it.
COLORS = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def noise(n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, 3, SIDE, SIDE, generator=generator) * 0.3


def paint(images: torch.Tensor, index: int, row: int, col: int, label: int) -> None:
    images[index, :, row : row + PATCH, col : col + PATCH] = COLORS[label][:, None, None]


def patch_data(n: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Images with one colored patch at a random place; labels and the patch corners."""
    images = noise(n, generator)
    labels = torch.randint(0, 2, (n,), generator=generator)
    rows = torch.randint(0, SIDE - PATCH + 1, (n,), generator=generator)
    cols = torch.randint(0, SIDE - PATCH + 1, (n,), generator=generator)
    for i in range(n):
        paint(images, i, int(rows[i]), int(cols[i]), int(labels[i]))
    return images, labels, rows, cols


def tiny_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(16, 2),
    )


@pytest.fixture(scope="module")
def trained() -> tuple[nn.Module, torch.Generator]:
    """The tiny CNN after 150 SGD steps on the patch data (under a second on a CPU)."""
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = tiny_cnn()
    images, labels, _, _ = patch_data(512, generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(150):
        batch = torch.randint(0, len(images), (32,), generator=generator)
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return model, generator


def peaks(maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column of each map's maximum."""
    flat = maps.flatten(1).argmax(dim=1)
    return flat // maps.shape[2], flat % maps.shape[2]


def near_patch(maps: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> float:
    """Fraction of maps whose maximum is on the patch or one pixel around it."""
    row, col = peaks(maps)
    hit = (row >= rows - 1) & (row <= rows + PATCH) & (col >= cols - 1) & (col <= cols + PATCH)
    return hit.float().mean().item()


def test_grad_cam_peaks_on_the_patch(trained: tuple[nn.Module, torch.Generator]) -> None:
    model, generator = trained
    images, labels, rows, cols = patch_data(128, generator)
    with torch.no_grad():
        accuracy = (model(images).argmax(dim=1) == labels).float().mean().item()
    assert accuracy >= 0.95
    maps = grad_cam(model, images, classes=labels)
    assert near_patch(maps, rows, cols) >= 0.9
    # A map that ignores the image would fail the same check (about 14% by chance).
    assert near_patch(torch.rand(maps.shape, generator=generator), rows, cols) < 0.5
    assert near_patch(maps.flip(1, 2), rows, cols) < 0.5


def test_grad_cam_follows_the_requested_class(
    trained: tuple[nn.Module, torch.Generator],
) -> None:
    """Red and green patches in opposite quadrants: each class's map peaks on its own."""
    model, generator = trained
    n = 64
    images = noise(n, generator)
    red_top_left = torch.arange(n) % 2 == 0
    for i in range(n):
        red, green = (1, 11) if red_top_left[i] else (11, 1)
        paint(images, i, red, red, 0)
        paint(images, i, green, green, 1)
    for label, top_left in ((0, red_top_left), (1, ~red_top_left)):
        row, col = peaks(grad_cam(model, images, classes=torch.full((n,), label)))
        in_top_left = (row < SIDE // 2) & (col < SIDE // 2)
        in_bottom_right = (row >= SIDE // 2) & (col >= SIDE // 2)
        right_quadrant = torch.where(top_left, in_top_left, in_bottom_right)
        assert right_quadrant.float().mean().item() >= 0.8


def test_grad_cam_maps_are_unit_scaled_float32_on_cpu(
    trained: tuple[nn.Module, torch.Generator],
) -> None:
    model, generator = trained
    images, _, _, _ = patch_data(8, generator)
    maps = grad_cam(model, images.double().float())
    assert maps.shape == (8, SIDE, SIDE)
    assert maps.dtype == torch.float32 and maps.device.type == "cpu"
    assert maps.min() >= 0.0
    assert torch.allclose(maps.flatten(1).amax(dim=1), torch.ones(8))
    with torch.no_grad():
        predicted = model(images).argmax(dim=1)
    assert torch.equal(maps, grad_cam(model, images, classes=predicted))


def test_an_all_zero_map_stays_zero() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(2, 2),
    )
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
    maps = grad_cam(model, torch.ones(3, 1, 8, 8))
    assert torch.equal(maps, torch.zeros(3, 8, 8))


def snapshot(model: nn.Module) -> dict[str, object]:
    return {
        "values": [p.detach().clone() for p in model.parameters()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "training": [m.training for m in model.modules()],
        "buffers": [b.clone() for b in model.buffers()],
    }


def assert_same(before: dict[str, object], after: dict[str, object]) -> None:
    for key in ("values", "buffers"):
        assert all(torch.equal(a, b) for a, b in zip(before[key], after[key], strict=True))
    for a, b in zip(before["grads"], after["grads"], strict=True):
        assert (a is None and b is None) or torch.equal(a, b)
    assert before["requires_grad"] == after["requires_grad"]
    assert before["training"] == after["training"]


def hook_count(model: nn.Module) -> int:
    return sum(
        len(m._forward_hooks)
        + len(m._forward_pre_hooks)
        + len(m._backward_hooks)
        + len(m._backward_pre_hooks)
        for m in model.modules()
    )


@pytest.mark.parametrize(
    ("classes", "error"),
    [
        (None, None),
        (torch.tensor([0, 1, 0]), "classes must be 4 integers"),  # checked before the hook
        (torch.tensor([0, 1, 5, 0]), r"classes must be in \[0, 2\)"),  # after the forward
    ],
    ids=["ok", "wrong-length", "out-of-range"],
)
def test_grad_cam_leaves_the_model_as_found(classes: torch.Tensor | None, error: str) -> None:
    torch.manual_seed(1)
    model = build_model("cifar_cnn", input_shape=(3, SIDE, SIDE), num_classes=2)
    model.train()
    model[3].eval()  # mixed flags must come back as they were, not as model.train()
    model[0].weight.requires_grad_(False)
    model[0].bias.requires_grad_(False)
    for parameter in list(model.parameters())[4:12]:
        parameter.grad = torch.randn_like(parameter)
    images = torch.randn(4, 3, SIDE, SIDE)
    before = snapshot(model)
    if error is None:
        with torch.no_grad():  # grad_cam turns gradients back on for itself
            maps = grad_cam(model, images, classes=classes)
        assert maps.shape == (4, SIDE, SIDE)
    else:
        with pytest.raises(ValueError, match=error):
            grad_cam(model, images, classes=classes)
    assert_same(before, snapshot(model))
    assert hook_count(model) == 0
    assert not images.requires_grad and images.grad is None


def test_grad_cam_removes_its_hook_from_a_chosen_layer() -> None:
    model = tiny_cnn()
    layer = model[0]
    grad_cam(model, torch.randn(2, 3, SIDE, SIDE), layer=layer)
    assert not layer._forward_hooks and not layer._backward_hooks
    assert hook_count(model) == 0


def test_grad_cam_survives_in_place_ops_after_the_layer() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )
    maps = grad_cam(model, torch.randn(2, 3, 8, 8))
    assert maps.shape == (2, 8, 8)


@pytest.mark.parametrize(
    "options",
    [
        {"name": "minivggnet"},
        {"name": "resnet", "stages": (1, 1, 1), "filters": (8, 8, 16, 16)},
        {"name": "resnet9"},
    ],
    ids=lambda options: options["name"],
)
def test_grad_cam_runs_on_registered_image_models(options: dict[str, object]) -> None:
    torch.manual_seed(0)
    model = build_model(input_shape=(3, SIDE, SIDE), num_classes=3, **options)
    maps = grad_cam(model, torch.randn(2, 3, SIDE, SIDE))
    assert maps.shape == (2, SIDE, SIDE)
    assert hook_count(model) == 0 and model.training


@pytest.mark.parametrize(
    ("images", "classes", "match"),
    [
        (torch.zeros(3, SIDE, SIDE), None, r"images must be a 4-D float tensor.*\(3, 16, 16\)"),
        (torch.zeros(2, 3, SIDE, SIDE, dtype=torch.uint8), None, "images.*torch.uint8"),
        (torch.zeros(2, 3, SIDE, SIDE), torch.tensor([0.0, 1.0]), "classes must be 2 integers"),
        (torch.zeros(2, 3, SIDE, SIDE), torch.tensor([[0, 1]]), "classes must be 2 integers"),
        (torch.zeros(2, 3, SIDE, SIDE), torch.tensor([True, False]), "classes must be 2 int"),
    ],
    ids=["3-D", "uint8", "float-classes", "2-D-classes", "bool-classes"],
)
def test_grad_cam_rejects_bad_inputs(
    images: torch.Tensor, classes: torch.Tensor | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        grad_cam(tiny_cnn(), images, classes=classes)


def test_grad_cam_rejects_a_layer_that_runs_twice() -> None:
    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.conv(self.conv(x)))

    model = Twice()
    with pytest.raises(ValueError, match="ran 2 times"):
        grad_cam(model, torch.randn(1, 2, 8, 8))
    assert hook_count(model) == 0


def test_last_conv_layer() -> None:
    model = build_model("cifar_cnn", input_shape=(3, SIDE, SIDE), num_classes=7)
    layer = last_conv_layer(model)
    assert isinstance(layer, nn.Conv2d) and layer.out_channels == 7
    assert layer is model[-3]
    resnet = build_model(
        "resnet", input_shape=(3, SIDE, SIDE), num_classes=2, stages=(2,), filters=(8, 16)
    )
    assert last_conv_layer(resnet) is resnet[3].conv3  # the second block has no shortcut conv
    with pytest.raises(ValueError, match="Sequential has no nn.Conv2d"):
        last_conv_layer(build_model("mlp", input_shape=(34,), num_classes=2))


class Lookup(nn.Module):
    """Predicts the class stored in each input's first value; counts its calls."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return nn.functional.one_hot(x[:, 0].long(), self.num_classes).float()


def test_misclassified_returns_the_first_wrong_indices() -> None:
    generator = torch.Generator().manual_seed(3)
    predicted = torch.randint(0, 4, (50,), generator=generator)
    labels = torch.randint(0, 4, (50,), generator=generator)
    wrong = torch.nonzero(predicted != labels).flatten()
    assert 10 < len(wrong) < 50
    model = Lookup(4)
    model.train()
    images = predicted[:, None].float()
    every = misclassified(model, images, labels, limit=50, batch_size=7)
    assert every.dtype == torch.int64 and torch.equal(every, wrong)
    assert model.training
    model.calls = 0
    first = misclassified(model, images, labels, limit=3, batch_size=7)
    assert torch.equal(first, wrong[:3])
    assert model.calls == int(wrong[2]) // 7 + 1  # stops once it has enough
    assert misclassified(model, images, predicted).shape == (0,)


def test_misclassified_with_a_trained_cnn(trained: tuple[nn.Module, torch.Generator]) -> None:
    model, generator = trained
    images, labels, _, _ = patch_data(40, generator)
    flipped = labels.clone()
    flipped[::4] = 1 - flipped[::4]
    with torch.no_grad():
        wrong = torch.nonzero(model(images).argmax(dim=1) != flipped).flatten()
    assert torch.equal(misclassified(model, images, flipped, limit=40), wrong)
    assert len(wrong) >= 8


@pytest.mark.parametrize(
    ("labels", "options", "match"),
    [
        (torch.zeros(4, dtype=torch.int64), {}, "labels must be 5 integers"),
        (torch.zeros(5), {}, "labels must be 5 integers"),
        (torch.zeros(5, dtype=torch.int64), {"limit": 0}, "limit must be a positive int"),
        (torch.zeros(5, dtype=torch.int64), {"batch_size": True}, "batch_size must be"),
    ],
)
def test_misclassified_rejects_bad_inputs(
    labels: torch.Tensor, options: dict[str, int], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        misclassified(Lookup(2), torch.zeros(5, 1), labels, **options)


def grid_inputs(n: int) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    heatmaps = rng.random((n, 32, 32))
    return images, heatmaps, [f"cat{i}" for i in range(n)], [f"dog $x${i}" for i in range(n)]


@pytest.mark.parametrize("n", [1, 6])
def test_plot_misclassified_writes_a_png(tmp_path: Path, n: int) -> None:
    out = plot_misclassified(*grid_inputs(n), tmp_path / "sub" / "grid.png", columns=4)
    assert out == tmp_path / "sub" / "grid.png"
    with Image.open(out) as image:
        assert image.format == "PNG"
        assert image.width >= 400
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    assert pixels.std() > 20.0
    assert sorted(p.name for p in out.parent.iterdir()) == ["grid.png"]


def test_plot_misclassified_rejects_bad_inputs(tmp_path: Path) -> None:
    images, heatmaps, true, predicted = grid_inputs(3)
    path = tmp_path / "grid.png"
    with pytest.raises(ValueError, match="no misclassified images"):
        plot_misclassified(images[:0], heatmaps[:0], [], [], path)
    with pytest.raises(ValueError, match="heatmaps must have shape"):
        plot_misclassified(images, heatmaps[:, :16], true, predicted, path)
    with pytest.raises(ValueError, match="need 3 true and predicted labels"):
        plot_misclassified(images, heatmaps, true[:2], predicted, path)
    with pytest.raises(ValueError, match="images must be uint8"):
        plot_misclassified(images.astype(np.float32), heatmaps, true, predicted, path)
    with pytest.raises(ValueError, match="columns must be a positive int"):
        plot_misclassified(images, heatmaps, true, predicted, path, columns=0)
    with pytest.raises(ValueError, match="image suffix"):
        plot_misclassified(images, heatmaps, true, predicted, tmp_path / "grid.txt")
    assert not list(tmp_path.iterdir())
