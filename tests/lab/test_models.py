"""Tests for the model registry, lrlab.lab.models (real torch, CPU)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lrlab.lab.models import build_model, model_names, param_groups  # noqa: E402

# Small but valid shapes for each model; the full resnet is checked separately.
SMALL = {
    "mlp": {"input_shape": (34,)},
    "minivggnet": {"input_shape": (3, 16, 16)},
    "resnet": {"input_shape": (3, 16, 16), "stages": (1, 1, 1), "filters": (8, 8, 16, 16)},
    "cifar_cnn": {"input_shape": (3, 16, 16)},
    "resnet9": {"input_shape": (3, 16, 16)},
}
NUM_CLASSES = 5
BATCH = 4


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build_small(name: str) -> torch.nn.Module:
    options = dict(SMALL[name])
    return build_model(name, num_classes=NUM_CLASSES, **options)


def test_every_registered_model_is_covered() -> None:
    assert model_names() == sorted(SMALL)


@pytest.mark.parametrize(
    ("name", "channels_last"),
    [(name, False) for name in sorted(SMALL)]
    + [(name, True) for name in sorted(SMALL) if len(SMALL[name]["input_shape"]) == 3],
)
def test_forward_backward(name: str, channels_last: bool) -> None:
    torch.manual_seed(0)
    model = build_small(name)
    x = torch.randn(BATCH, *SMALL[name]["input_shape"])
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    logits = model(x)
    assert logits.shape == (BATCH, NUM_CLASSES)
    assert torch.isfinite(logits).all()
    loss = torch.nn.functional.cross_entropy(logits, torch.arange(BATCH) % NUM_CLASSES)
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_init_is_deterministic_under_manual_seed(name: str) -> None:
    torch.manual_seed(123)
    first = build_small(name).state_dict()
    torch.manual_seed(123)
    second = build_small(name).state_dict()
    torch.manual_seed(124)
    other = build_small(name).state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_weight_decay_attribute_is_twice_the_keras_l2(name: str) -> None:
    model = build_small(name)
    assert model.weight_decay >= 0.0
    assert model.weight_decay == pytest.approx(2.0 * model.l2_penalty)
    decayed, others = param_groups(model)
    assert decayed["weight_decay"] == model.weight_decay
    assert others["weight_decay"] == 0.0
    assert len(decayed["params"]) + len(others["params"]) == len(list(model.parameters()))


def test_weight_decay_values_from_the_references() -> None:
    def wd(name: str) -> float:
        return build_small(name).weight_decay

    assert wd("resnet") == pytest.approx(1e-3)  # Keras l2(5e-4)
    assert wd("cifar_cnn") == pytest.approx(2e-4)  # Keras l2(1e-4)
    assert wd("resnet9") == pytest.approx(5e-4)
    assert wd("mlp") == 0.0
    assert wd("minivggnet") == 0.0


def test_mlp_parameter_count() -> None:
    # 34 inputs -> 34 hidden: 34*34 weights + 34 biases; 34 -> 2 logits: 34*2 + 2.
    model = build_model("mlp", input_shape=(34,), num_classes=2)
    assert n_params(model) == (34 * 34 + 34) + (34 * 2 + 2) == 1260


def test_minivggnet_parameter_count() -> None:
    conv = lambda c_in, c_out: c_in * c_out * 9 + c_out  # noqa: E731
    bn = lambda c: 2 * c  # noqa: E731  (scale and shift; running stats are buffers)
    expected = (
        conv(3, 32) + bn(32) + conv(32, 32) + bn(32)
        + conv(32, 64) + bn(64) + conv(64, 64) + bn(64)
        + (64 * 8 * 8 * 512 + 512) + bn(512)
        + (512 * 10 + 10)
    )  # fmt: skip
    model = build_model("minivggnet", input_shape=(3, 32, 32), num_classes=10)
    assert expected == 2_169_770
    assert n_params(model) == expected


def test_full_resnet_builds_with_plausible_size() -> None:
    model = build_model("resnet", input_shape=(3, 32, 32), num_classes=10)
    count = n_params(model)
    blocks = [m for m in model.modules() if type(m).__name__ == "_Bottleneck"]
    assert len(blocks) == 27

    # Hand count per bottleneck (c_in -> K, m = K/4): BN 2*c_in, 1x1 c_in*m, BN 2m,
    # 3x3 9*m*m, BN 2m, 1x1 m*K, plus a c_in*K projection in the first block of a stage.
    def block(c_in: int, k: int, project: bool) -> int:
        m = k // 4
        return 2 * c_in + c_in * m + 2 * m + 9 * m * m + 2 * m + m * k + project * c_in * k

    expected = 2 * 3 + 3 * 64 * 9  # input BN, stem conv (no bias)
    for c_in, k in [(64, 64), (64, 128), (128, 256)]:
        expected += block(c_in, k, True) + 8 * block(k, k, False)
    expected += 2 * 256 + (256 * 10 + 10)  # final BN, dense
    assert expected == 873_872
    assert count == expected
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_tiny_resnet_takes_one_sgd_step() -> None:
    torch.manual_seed(0)
    model = build_model(
        "resnet",
        input_shape=(3, 32, 32),
        num_classes=10,
        stages=(1, 1, 1),
        filters=(16, 16, 32, 64),
    )
    optimizer = torch.optim.SGD(param_groups(model), lr=0.1, momentum=0.9)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8) % 10
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    after = list(model.parameters())
    assert all(torch.isfinite(p).all() for p in after)
    assert sum(not torch.equal(a, b) for a, b in zip(after, before, strict=True)) == len(before)
    assert torch.nn.functional.cross_entropy(model(x), y) < loss


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(ValueError, match="'nope'") as info:
        build_model("nope", input_shape=(3, 32, 32), num_classes=10)
    assert all(name in str(info.value) for name in model_names())


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("mlp", (3, 32, 32)),
        ("mlp", (0,)),
        ("minivggnet", (32, 32)),
        ("minivggnet", (3, 2, 32)),
        ("resnet9", (3, 32.0, 32)),
        ("cifar_cnn", (3, 4, 4)),
    ],
)
def test_bad_input_shape_raises(name: str, shape: tuple) -> None:
    with pytest.raises(ValueError, match="input_shape"):
        build_model(name, input_shape=shape, num_classes=10)


@pytest.mark.parametrize("num_classes", [1, 0, 2.0, True])
def test_bad_num_classes_raises(num_classes: object) -> None:
    with pytest.raises(ValueError, match="num_classes"):
        build_model("mlp", input_shape=(4,), num_classes=num_classes)


def test_bad_resnet_options_raise() -> None:
    with pytest.raises(ValueError, match="filters"):
        build_model("resnet", input_shape=(3, 8, 8), num_classes=2, filters=(8, 8, 16))
    with pytest.raises(ValueError, match="stages"):
        build_model("resnet", input_shape=(3, 8, 8), num_classes=2, stages=(1, 0, 1))
