"""Models for the lab, looked up by name.

:func:`build_model` builds a registered model; :func:`model_names` lists the names:

- ``mlp``: the Ionosphere net, ``d -> 34 ReLU -> num_classes``.
- ``minivggnet``: MiniVGGNet, two VGG blocks of 32 and 64 filters and a 512-unit head.
- ``resnet``: the pre-activation bottleneck ResNet for CIFAR, stages ``(9, 9, 9)`` and
  filters ``(64, 64, 128, 256)`` by default.
- ``cifar_cnn``: the CIFAR CNN with BatchNorm and L2 used with cyclic learning rates.
- ``resnet9``: a fast ResNet-9 (Myrtle / airbench style) for quick studies.

Conventions shared by every model:

- Inputs are float tensors: ``(batch, features)`` for ``mlp``, ``(batch, C, H, W)`` for the
  image models (either memory format; nothing calls ``.view`` on them).
- Outputs are always ``(batch, num_classes)`` unnormalized logits, for
  :func:`torch.nn.functional.cross_entropy`. A reference net with one sigmoid output for two
  classes is the same model family as two logits with a softmax: ``sigmoid(z)`` equals
  ``softmax([0, z])[1]``.
- Every built model has a ``weight_decay`` attribute (float, >= 0): the coefficient to
  pass to a PyTorch optimizer's ``weight_decay``, which adds ``weight_decay * w`` to the
  gradient of each weight ``w`` at every step. A Keras ``l2(lam)`` regularizer adds
  ``lam * sum(w**2)`` to the loss, whose gradient is ``2 * lam * w``, so
  ``weight_decay = 2 * lam``; the reference's ``lam`` is kept as ``model.l2_penalty``.
  Keras regularizes only conv and dense kernels: :func:`param_groups` splits parameters
  the same way.

Registering a model is a decorator, :func:`register`; there is no if/elif factory.

torch is imported when this module is imported; ``import lrlab.lab`` does not import it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

__all__ = ["ModelSpec", "build_model", "model_names", "param_groups", "register"]

Builder = Callable[..., nn.Module]


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A registered model.

    Attributes:
        name: The registry key.
        builder: Called as ``builder(input_shape=..., num_classes=..., **options)``.
        input_rank: Length of ``input_shape``: 1 for ``(features,)``, 3 for ``(C, H, W)``.
        min_side: Smallest allowed spatial side ``H`` and ``W``, in pixels (image models).
    """

    name: str
    builder: Builder
    input_rank: int
    min_side: int = 1


_REGISTRY: dict[str, ModelSpec] = {}


def register(name: str, *, input_rank: int, min_side: int = 1) -> Callable[[Builder], Builder]:
    """Register a model builder under ``name``.

    Args:
        name: The registry key; must be new.
        input_rank: 1 for vector inputs ``(features,)``, 3 for images ``(C, H, W)``.
        min_side: Smallest ``H`` and ``W`` the model accepts, in pixels.

    Returns:
        A decorator that registers the builder and returns it unchanged.
    """

    def decorate(builder: Builder) -> Builder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = ModelSpec(name, builder, input_rank, min_side)
        return builder

    return decorate


def model_names() -> list[str]:
    """Return the registered model names, sorted."""
    return sorted(_REGISTRY)


def build_model(
    name: str, *, input_shape: Sequence[int], num_classes: int, **options: Any
) -> nn.Module:
    """Build a registered model with fresh weights (seed with :func:`torch.manual_seed`).

    Args:
        name: A name from :func:`model_names`.
        input_shape: Shape of one example without the batch axis: ``(features,)`` for
            ``mlp``, ``(channels, height, width)`` for the image models.
        num_classes: Number of output logits, at least 2.
        **options: Model-specific keywords, e.g. ``stages`` and ``filters`` for ``resnet``.

    Returns:
        The model, in training mode, with a ``weight_decay`` attribute (see module docs).

    Raises:
        ValueError: For an unknown ``name``, a bad ``input_shape`` or a bad ``num_classes``.
    """
    spec = _REGISTRY.get(name)
    if spec is None:
        raise ValueError(f"unknown model name {name!r}; known names: {', '.join(model_names())}")
    shape = tuple(input_shape)
    if len(shape) != spec.input_rank or not all(
        isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape
    ):
        layout = "(features,)" if spec.input_rank == 1 else "(channels, height, width)"
        raise ValueError(
            f"input_shape for {name!r} must be {spec.input_rank} positive ints {layout}, "
            f"got {input_shape!r}"
        )
    if spec.input_rank == 3 and min(shape[1:]) < spec.min_side:
        raise ValueError(
            f"input_shape for {name!r} needs height and width >= {spec.min_side} pixels, "
            f"got {input_shape!r}"
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    return spec.builder(input_shape=shape, num_classes=num_classes, **options)


def param_groups(model: nn.Module) -> list[dict[str, Any]]:
    """Split parameters as Keras' kernel regularizers do, for a torch optimizer.

    Args:
        model: A model from :func:`build_model`.

    Returns:
        Two groups: conv and linear kernels with ``model.weight_decay``, and every other
        parameter (biases, BatchNorm scales and shifts) with ``weight_decay`` 0.
    """
    kernels = {id(m.weight) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)}
    decayed = [p for p in model.parameters() if id(p) in kernels]
    others = [p for p in model.parameters() if id(p) not in kernels]
    return [
        {"params": decayed, "weight_decay": float(getattr(model, "weight_decay", 0.0))},
        {"params": others, "weight_decay": 0.0},
    ]


def _set_l2(model: nn.Module, l2_penalty: float) -> nn.Module:
    """Record the reference's Keras L2 coefficient and its torch ``weight_decay``."""
    model.l2_penalty = l2_penalty
    model.weight_decay = 2.0 * l2_penalty
    return model


# --- mlp ------------------------------------------------------------------------------


@register("mlp", input_rank=1)
def _mlp(*, input_shape: tuple[int, ...], num_classes: int, hidden: int = 34) -> nn.Module:
    """Ionosphere net: ``Linear(d, 34) -> ReLU -> Linear(34, num_classes)``.

    The reference ends in one sigmoid unit; here two logits with softmax, the same family
    (one more output unit: 1260 parameters instead of 1225 for ``d = 34``). No L2.
    """
    model = nn.Sequential(
        nn.Linear(input_shape[0], hidden), nn.ReLU(), nn.Linear(hidden, num_classes)
    )
    return _set_l2(model, 0.0)


# --- minivggnet -----------------------------------------------------------------------

# Keras BatchNormalization defaults: eps 1e-3, moving-average momentum 0.99, which is
# torch momentum 1 - 0.99 (torch weights the new batch statistic, Keras the old average).
_KERAS_BN = {"eps": 1e-3, "momentum": 0.01}


def _conv_relu_bn(c_in: int, c_out: int) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, 3, padding=1),
        nn.ReLU(),
        nn.BatchNorm2d(c_out, **_KERAS_BN),
    ]


@register("minivggnet", input_rank=3, min_side=4)
def _minivggnet(*, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """MiniVGGNet: two blocks of (3x3 conv -> ReLU -> BN) x2 -> 2x2 max pool -> dropout 0.25,
    with 32 then 64 filters, then dense 512 -> ReLU -> BN -> dropout 0.5 -> dense.

    Activation comes before BatchNorm, as in the original Keras MiniVGGNet. Shapes for a
    ``(3, 32, 32)`` input: ``(32, 32, 32) -> (32, 16, 16) -> (64, 8, 8) -> 4096 -> 512 -> K``.
    No L2 (the reference uses time-based decay only).
    """
    channels, height, width = input_shape
    flat = 64 * (height // 4) * (width // 4)
    model = nn.Sequential(
        *_conv_relu_bn(channels, 32),
        *_conv_relu_bn(32, 32),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        *_conv_relu_bn(32, 64),
        *_conv_relu_bn(64, 64),
        nn.MaxPool2d(2),
        nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(flat, 512),
        nn.ReLU(),
        nn.BatchNorm1d(512, **_KERAS_BN),
        nn.Dropout(0.5),
        nn.Linear(512, num_classes),
    )
    return _set_l2(model, 0.0)


# --- resnet ---------------------------------------------------------------------------

# The reference ResNet's BatchNorm: eps 2e-5, Keras momentum 0.9 (torch 0.1).
_RESNET_BN = {"eps": 2e-5, "momentum": 0.1}


class _Bottleneck(nn.Module):
    """Pre-activation bottleneck: (BN -> ReLU -> conv) with 1x1 K/4, 3x3 K/4, 1x1 K.

    The 3x3 conv carries the stride. With ``project=True`` the shortcut is a strided 1x1
    conv of the first activation, as in the reference; otherwise the identity.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, project: bool) -> None:
        super().__init__()
        mid = c_out // 4
        self.bn1 = nn.BatchNorm2d(c_in, **_RESNET_BN)
        self.conv1 = nn.Conv2d(c_in, mid, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid, **_RESNET_BN)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(mid, **_RESNET_BN)
        self.conv3 = nn.Conv2d(mid, c_out, 1, bias=False)
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False) if project else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act1 = torch.relu(self.bn1(x))
        y = self.conv1(act1)
        y = self.conv2(torch.relu(self.bn2(y)))
        y = self.conv3(torch.relu(self.bn3(y)))
        return y + (x if self.shortcut is None else self.shortcut(act1))


@register("resnet", input_rank=3, min_side=4)
def _resnet(
    *,
    input_shape: tuple[int, ...],
    num_classes: int,
    stages: Sequence[int] = (9, 9, 9),
    filters: Sequence[int] = (64, 64, 128, 256),
    l2_penalty: float = 5e-4,
) -> nn.Module:
    """Pre-activation bottleneck ResNet for CIFAR.

    BN on the input -> 3x3 conv with ``filters[0]`` -> for stage ``i``: ``stages[i]``
    bottlenecks of ``filters[i + 1]`` outputs, the first projecting its shortcut with a 1x1
    conv and striding by 2 in stages after the first -> BN -> ReLU -> global average pool
    -> dense. A ``(3, 32, 32)`` input gives 32x32, 16x16 and 8x8 maps in the three stages.

    Args:
        input_shape: ``(channels, height, width)``.
        num_classes: Number of logits.
        stages: Bottleneck blocks per stage.
        filters: Stem width, then the output width of each stage (each divisible by 4).
        l2_penalty: Keras L2 coefficient; ``weight_decay`` is twice it (1e-3 by default).
    """
    stages, filters = tuple(stages), tuple(filters)
    if len(stages) < 1 or any(n < 1 for n in stages):
        raise ValueError(f"stages must be positive block counts, got {stages!r}")
    if len(filters) != len(stages) + 1 or any(f < 4 or f % 4 for f in filters[1:]):
        raise ValueError(
            f"filters must be {len(stages) + 1} widths (stem, then one per stage, each a "
            f"multiple of 4), got {filters!r}"
        )
    layers: list[nn.Module] = [
        nn.BatchNorm2d(input_shape[0], **_RESNET_BN),
        nn.Conv2d(input_shape[0], filters[0], 3, padding=1, bias=False),
    ]
    width = filters[0]
    for i, (blocks, out) in enumerate(zip(stages, filters[1:], strict=True)):
        layers.append(_Bottleneck(width, out, stride=1 if i == 0 else 2, project=True))
        layers += [_Bottleneck(out, out, stride=1, project=False) for _ in range(blocks - 1)]
        width = out
    layers += [
        nn.BatchNorm2d(width, **_RESNET_BN),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, num_classes),
    ]
    return _set_l2(nn.Sequential(*layers), l2_penalty)


# --- cifar_cnn ------------------------------------------------------------------------


def _conv_relu_bn_keras(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.BatchNorm2d(c_out, **_KERAS_BN)]


@register("cifar_cnn", input_rank=3, min_side=8)
def _cifar_cnn(*, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
    """The all-convolutional CIFAR CNN used with cyclic learning rates (L2 1e-4).

    Three blocks of (3x3 conv -> ReLU -> BN) x2 -> 2x2 max pool -> dropout, with widths
    (32, 64), (64, 128), (128, 256) and dropout 0.2, 0.3, 0.5; a linear 1x1 conv to 32
    channels before the second and third blocks; then a 1x1 conv to ``num_classes`` and a
    global average pool (the reference's 4x4 pool on a 4x4 map). ``weight_decay`` 2e-4.
    """
    model = nn.Sequential(
        *_conv_relu_bn_keras(input_shape[0], 32),
        *_conv_relu_bn_keras(32, 64),
        nn.MaxPool2d(2),
        nn.Dropout(0.2),
        nn.Conv2d(64, 32, 1),
        *_conv_relu_bn_keras(32, 64),
        *_conv_relu_bn_keras(64, 128),
        nn.MaxPool2d(2),
        nn.Dropout(0.3),
        nn.Conv2d(128, 32, 1),
        *_conv_relu_bn_keras(32, 128),
        *_conv_relu_bn_keras(128, 256),
        nn.MaxPool2d(2),
        nn.Dropout(0.5),
        nn.Conv2d(256, num_classes, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    return _set_l2(model, 1e-4)


# --- resnet9 --------------------------------------------------------------------------


def _conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


class _Residual(nn.Module):
    """``x + f(x)``."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _Scale(nn.Module):
    """Multiply by a constant (the logit scale)."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


@register("resnet9", input_rank=3, min_side=8)
def _resnet9(
    *, input_shape: tuple[int, ...], num_classes: int, logit_scale: float = 0.125
) -> nn.Module:
    """ResNet-9 (Myrtle / airbench style), about 6.6M parameters for 10 classes.

    prep: conv 64 -> layer1: conv 128, max pool 2, + residual(conv 128, conv 128) ->
    layer2: conv 256, max pool 2 -> layer3: conv 512, max pool 2, + residual(conv 512,
    conv 512) -> global max pool -> dense without bias -> times ``logit_scale``. Every
    conv is 3x3 -> BN -> ReLU. ``weight_decay`` 5e-4 (``l2_penalty`` 2.5e-4).
    """

    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [_conv_bn_relu(c_in, c_out), nn.MaxPool2d(2)]

    model = nn.Sequential(
        _conv_bn_relu(input_shape[0], 64),
        *block(64, 128),
        _Residual(nn.Sequential(_conv_bn_relu(128, 128), _conv_bn_relu(128, 128))),
        *block(128, 256),
        *block(256, 512),
        _Residual(nn.Sequential(_conv_bn_relu(512, 512), _conv_bn_relu(512, 512))),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(512, num_classes, bias=False),
        _Scale(logit_scale),
    )
    return _set_l2(model, 2.5e-4)
