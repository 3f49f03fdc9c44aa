"""The torch LR range test runner: the sweep it runs, and the exact restore afterwards.

Restore is proved by hashing every tensor of the model's and the optimizer's state dicts,
the gradients and the RNG states before and after the finder, on every way a sweep can
end: completed, diverged, an exception from the loss or the loader, and Ctrl+C.
"""

from __future__ import annotations

import hashlib
import math
import random
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import lrlab.torch  # noqa: E402
from lrlab.finder import sweep_schedule  # noqa: E402
from lrlab.finder._torch import find_lr  # noqa: E402

nn = torch.nn
F = torch.nn.functional

DIVERGE = {"start_value": 1e-4, "end_value": 1e3, "num_steps": 40}
"""A sweep that ends ``"diverged"`` for every model and optimizer here."""
GENTLE = {"start_value": 1e-6, "end_value": 1e-4, "num_steps": 8}
"""A sweep that completes."""


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread, and do not stall on busy shared CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- models, data and losses -------------------------------------------------------------


class Counter(nn.Module):
    """Identity that counts training calls in a buffer it *replaces* (a new tensor each
    call) and keeps a non-persistent running mean updated in place."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))
        self.register_buffer("mean", torch.zeros(width), persistent=False)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls = self.calls + 1
            with torch.no_grad():
                self.mean.mul_(0.9).add_(0.1 * inputs.float().mean(0))
        return inputs


def make_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Linear(4, 16),
        nn.BatchNorm1d(16),
        nn.Tanh(),
        Counter(16),
        nn.Dropout(0.1),
        nn.Linear(16, 1),
    )


def make_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Dropout(0.1),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 3),
    )


def make_plain() -> nn.Module:
    """No BatchNorm, no dropout: its losses can be recomputed by hand."""
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))


def regression_batches(count: int = 4, size: int = 16, seed: int = 1) -> list[tuple[Any, Any]]:
    generator = torch.Generator().manual_seed(seed)
    weights = torch.randn(4, 1, generator=generator)
    batches = []
    for _ in range(count):
        inputs = torch.randn(size, 4, generator=generator)
        noise = 0.1 * torch.randn(size, 1, generator=generator)
        batches.append((inputs, inputs @ weights + noise))
    return batches


def image_batches(count: int = 4, size: int = 16, seed: int = 2) -> list[tuple[Any, Any]]:
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.randn(size, 1, 8, 8, generator=generator),
            torch.randint(0, 3, (size,), generator=generator),
        )
        for _ in range(count)
    ]


CASES: dict[str, tuple[Callable[[], nn.Module], Callable[[], list[Any]], Callable[..., Any]]] = {
    "mlp": (make_mlp, regression_batches, F.mse_loss),
    "cnn": (make_cnn, image_batches, F.cross_entropy),
}
OPTIMIZERS: dict[str, Callable[[Any], torch.optim.Optimizer]] = {
    "sgd": lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4),
    "adam": lambda params: torch.optim.Adam(params, lr=1e-3),
}


class Loss:
    """A loss function that draws from numpy's and Python's RNGs (so the finder must
    restore them), records the LR of each param group at every call, and can fail at
    call ``fail_at`` by raising ``error`` or returning ``error`` times the loss."""

    def __init__(
        self,
        base: Callable[..., Any],
        optimizer: torch.optim.Optimizer | None = None,
        *,
        fail_at: int | None = None,
        error: BaseException | float | None = None,
        offset: float = 0.0,
    ) -> None:
        self.base, self.optimizer = base, optimizer
        self.fail_at, self.error, self.offset = fail_at, error, offset
        self.calls = 0
        self.lrs: list[list[float]] = []
        self.output_dtypes: list[torch.dtype] = []

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        np.random.random()
        random.random()
        if self.optimizer is not None:
            self.lrs.append([float(group["lr"]) for group in self.optimizer.param_groups])
        self.output_dtypes.append(outputs.dtype)
        call, self.calls = self.calls, self.calls + 1
        loss = self.base(outputs.float(), targets) + self.offset
        if call == self.fail_at:
            if isinstance(self.error, BaseException):
                raise self.error
            return loss * self.error
        return loss


class Loader:
    """A re-iterable over ``batches`` that counts passes and batches, and can raise at
    batch ``fail_at``."""

    def __init__(self, batches: list[Any], fail_at: int | None = None) -> None:
        self.batches, self.fail_at = batches, fail_at
        self.passes = self.drawn = 0

    def __iter__(self) -> Iterator[Any]:
        self.passes += 1
        for batch in self.batches:
            if self.drawn == self.fail_at:
                raise OSError("disk gone")
            self.drawn += 1
            yield batch


def seed_everything(seed: int = 0) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def setup(case: str, optimizer_name: str, warm_up: int = 3) -> tuple[Any, Any, list[Any], Any]:
    """A model and optimizer with real optimizer state from ``warm_up`` training steps,
    the gradients of the last step left in place, and one BatchNorm frozen in eval mode."""
    make, data, loss = CASES[case]
    seed_everything()
    model = make()
    optimizer = OPTIMIZERS[optimizer_name](model.parameters())
    batches = data()
    model.train()
    for inputs, targets in batches[:warm_up]:
        optimizer.zero_grad()
        loss(model(inputs), targets).backward()
        optimizer.step()
    model[1].eval()
    return model, optimizer, batches, loss


# -- fingerprints ------------------------------------------------------------------------


def digest(tensor: torch.Tensor) -> tuple[str, tuple[int, ...], str, str]:
    data = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return (
        str(tensor.dtype),
        tuple(tensor.shape),
        str(tensor.device),
        hashlib.sha256(data).hexdigest(),
    )


def freeze(value: Any) -> Any:
    """A comparable, order-sensitive image of a nested structure; tensors as hashes."""
    if isinstance(value, torch.Tensor):
        return ("tensor", digest(value))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, hashlib.sha256(value.tobytes()).hexdigest())
    if isinstance(value, dict):
        return tuple((key, freeze(item)) for key, item in value.items())
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return repr(value)


def fingerprint(model: nn.Module, optimizer: torch.optim.Optimizer, *extra: nn.Module) -> Any:
    """Every value the finder must restore (not object identities: see :func:`identities`)."""
    modules = [model, *extra]
    return {
        "state_dicts": freeze([module.state_dict() for module in modules]),
        "buffers": freeze([dict(module.named_buffers()) for module in modules]),
        "optimizer": freeze(optimizer.state_dict()),
        "grads": freeze([param.grad for module in modules for param in module.parameters()]),
        "requires_grad": [
            param.requires_grad for module in modules for param in module.parameters()
        ],
        "training": [sub.training for module in modules for sub in module.modules()],
        "optimizer_flags": sorted(
            (key, repr(value))
            for key, value in vars(optimizer).items()
            if value is None or isinstance(value, bool | int | float | str)
        ),
        "torch_rng": digest(torch.get_rng_state()),
        "cuda_rng": freeze(torch.cuda.get_rng_state_all()) if torch.cuda.is_initialized() else None,
        "numpy_rng": freeze(np.random.get_state()),
        "python_rng": random.getstate(),
    }


def identities(model: nn.Module, optimizer: torch.optim.Optimizer) -> Any:
    """The tensor objects the model and the optimizer hold."""
    return (
        [id(tensor) for tensor in [*model.parameters(), *model.buffers()]],
        [id(param.grad) for param in model.parameters()],
        [id(param) for group in optimizer.param_groups for param in group["params"]],
        [id(group) for group in optimizer.param_groups],
        [id(value) for state in optimizer.state.values() for value in state.values()],
    )


# -- restore -----------------------------------------------------------------------------

PATHS = ["completed", "diverged", "loss_raises", "loader_raises", "interrupt"]


def run_path(path: str, model: Any, optimizer: Any, batches: list[Any], loss: Any) -> None:
    """Run the finder so that it ends the way ``path`` says, and check that it did."""
    if path == "completed":
        result = find_lr(model, batches, Loss(loss), optimizer, **GENTLE)
        assert result.stop_reason == "completed" and result.steps == GENTLE["num_steps"]
    elif path == "diverged":
        result = find_lr(model, batches, Loss(loss), optimizer, **DIVERGE)
        assert result.stop_reason == "diverged" and result.steps < DIVERGE["num_steps"]
    elif path == "loader_raises":
        with pytest.raises(OSError, match="disk gone"):
            find_lr(model, Loader(batches, fail_at=6), Loss(loss), optimizer, **DIVERGE)
    else:
        error = RuntimeError("boom") if path == "loss_raises" else KeyboardInterrupt()
        with pytest.raises(type(error)):
            find_lr(model, batches, Loss(loss, fail_at=5, error=error), optimizer, **DIVERGE)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_restores_model_optimizer_and_rng_exactly(
    case: str, optimizer_name: str, path: str
) -> None:
    model, optimizer, batches, loss = setup(case, optimizer_name)
    assert optimizer.state and all(param.grad is not None for param in model.parameters())
    before, objects = fingerprint(model, optimizer), identities(model, optimizer)
    run_path(path, model, optimizer, batches, loss)
    assert fingerprint(model, optimizer) == before
    assert identities(model, optimizer) == objects


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
def test_training_after_the_finder_matches_training_without_it(
    optimizer_name: str, path: str
) -> None:
    model, optimizer, batches, loss = setup("mlp", optimizer_name)
    twin, twin_optimizer, _, _ = setup("mlp", optimizer_name)
    run_path(path, model, optimizer, batches, loss)
    start = [param.detach().clone() for param in model.parameters()]
    for network, opt in ((model, optimizer), (twin, twin_optimizer)):
        seed_everything(1)  # the same dropout masks for both
        for inputs, targets in batches:
            opt.zero_grad()
            loss(network(inputs), targets).backward()
            opt.step()
    assert all(
        not torch.equal(old, new) for old, new in zip(start, model.parameters(), strict=True)
    )
    assert freeze(model.state_dict()) == freeze(twin.state_dict())
    assert freeze(optimizer.state_dict()) == freeze(twin_optimizer.state_dict())


class ShiftedLoss(nn.Module):
    """A loss module with a learnable parameter and a buffer of its own, that unfreezes
    ``thaw`` at its third call (gradual unfreezing)."""

    def __init__(self, thaw: nn.Parameter) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.tensor(0.5))
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))
        self.thaw = [thaw]  # in a list: not a parameter of the loss

    def forward(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == 3:
            self.thaw[0].requires_grad_(True)
        return F.mse_loss(outputs + self.shift, targets)


class CountingAdam(torch.optim.Adam):
    """An optimizer with a plain counter attribute of its own."""

    steps_taken = 0

    def step(self, closure: Any = None) -> Any:
        self.steps_taken += 1
        return super().step(closure)


def test_restores_frozen_parameters_missing_grads_a_loss_module_and_counters() -> None:
    seed_everything()
    model = make_mlp()
    model[0].weight.requires_grad_(False)
    model[3].eval()
    loss = ShiftedLoss(thaw=model[0].weight)
    optimizer = CountingAdam([*model.parameters(), loss.shift], lr=1e-3)
    optimizer.steps_taken = 2
    before = fingerprint(model, optimizer, loss)
    result = find_lr(model, regression_batches(), loss, optimizer, **DIVERGE)
    assert result.stop_reason == "diverged"
    assert model[0].weight.grad is None and loss.shift.grad is None
    assert fingerprint(model, optimizer, loss) == before
    assert optimizer.steps_taken == 2 and not model[0].weight.requires_grad


def test_keeps_every_param_group_setting_and_tensor_lr_objects() -> None:
    seed_everything()
    model = make_plain()
    lr_tensor = torch.tensor(0.05)
    optimizer = torch.optim.SGD(
        [
            {"params": model[0].parameters(), "lr": lr_tensor, "name": "body"},
            {"params": model[2].parameters(), "lr": 0.01, "momentum": 0.5},
        ],
        lr=0.1,
        momentum=0.9,
        foreach=False,
    )
    groups = [dict(group) for group in optimizer.param_groups]
    recorder = Loss(F.mse_loss, optimizer)
    same_tensor = []

    def loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        same_tensor.append(optimizer.param_groups[0]["lr"] is lr_tensor)
        return recorder(outputs, targets)

    before = fingerprint(model, optimizer)
    result = find_lr(model, regression_batches(), loss, optimizer, **DIVERGE)
    assert len(same_tensor) == result.steps and all(same_tensor)
    # during the sweep every group got the sweep LR; the tensor LR was filled in place
    swept = np.array(recorder.lrs)
    assert np.allclose(swept[:, 0], result.lrs, rtol=1e-6)
    assert np.array_equal(swept[:, 1], result.lrs)
    assert optimizer.param_groups[0]["lr"] is lr_tensor and lr_tensor.item() == pytest.approx(0.05)
    assert [dict(group) for group in optimizer.param_groups] == groups
    assert fingerprint(model, optimizer) == before


def test_torch_scheduler_flags_are_restored() -> None:
    """torch's schedulers read ``optimizer._opt_called``; the finder's steps must not set it,
    or torch would stop warning about a scheduler stepped before the optimizer."""
    seed_everything()
    model = make_plain()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5)
    find_lr(model, regression_batches(), F.mse_loss, optimizer, **GENTLE)
    with pytest.warns(UserWarning, match=r"before `optimizer.step\(\)`"):
        scheduler.step()


@pytest.mark.parametrize("tensor_lr", [False, True])
def test_an_lrlab_scheduler_keeps_driving_the_optimizer(tensor_lr: bool) -> None:
    spec = "cosine(init_value=0.05, total_steps=20)"
    traces = []
    for run_finder in (True, False):
        model, optimizer, batches, loss = setup("mlp", "sgd", warm_up=0)
        scheduler = lrlab.torch.scheduler(optimizer, spec, tensor_lr=tensor_lr)
        trace = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for step in range(8):
                if step == 3 and run_finder:
                    lr_object = optimizer.param_groups[0]["lr"]
                    result = find_lr(model, batches, loss, optimizer, **DIVERGE)
                    assert result.stop_reason == "diverged"
                    assert optimizer.param_groups[0]["lr"] is lr_object
                    assert scheduler.time == 3
                inputs, targets = batches[step % len(batches)]
                optimizer.zero_grad()
                loss(model(inputs), targets).backward()
                optimizer.step()
                scheduler.step()
                trace.append(float(optimizer.param_groups[0]["lr"]))
        traces.append((trace, freeze(model.state_dict())))
    assert traces[0] == traces[1]
    schedule = lrlab.parse(spec)
    assert np.allclose(traces[0][0], schedule(np.arange(1, 9)), rtol=1e-6)


# -- the sweep ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["exp", "linear"])
def test_records_the_sweep_lrs_and_applies_them(mode: str) -> None:
    model, optimizer, batches, loss = setup("mlp", "adam")
    recorder = Loss(loss, optimizer)
    result = find_lr(model, batches, recorder, optimizer, **DIVERGE, mode=mode, smoothing=0.5)
    expected = sweep_schedule(
        DIVERGE["start_value"], DIVERGE["end_value"], DIVERGE["num_steps"], mode
    )
    assert result.stop_reason == "diverged" and 2 < result.steps < DIVERGE["num_steps"]
    assert np.array_equal(result.lrs, expected(np.arange(result.steps)))
    assert [lrs[0] for lrs in recorder.lrs] == result.lrs.tolist()
    assert result.lrs.dtype == np.float64 and result.losses.dtype == np.float64
    assert result.num_steps_requested == DIVERGE["num_steps"] and result.smoothing == 0.5
    assert result.val_losses is None


def test_stops_on_divergence_of_the_smoothed_loss() -> None:
    model, optimizer, batches, loss = setup("mlp", "sgd")
    result = find_lr(model, batches, loss, optimizer, **DIVERGE, smoothing=0.9, diverge_factor=4.0)
    smoothed = result.smoothed_losses
    assert result.stop_reason == "diverged"
    assert smoothed[-1] - smoothed[:-1].min() > 3.0 * abs(smoothed[:-1].min())
    assert all(
        smoothed[i] - smoothed[:i].min() <= 3.0 * abs(smoothed[:i].min())
        for i in range(1, result.steps - 1)
    )


def test_the_loss_of_a_step_comes_before_its_update_and_matches_the_batch() -> None:
    seed_everything()
    model = make_plain()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = regression_batches()
    with torch.no_grad():
        first = F.mse_loss(model(batches[0][0]), batches[0][1]).item()
    result = find_lr(model, batches, F.mse_loss, optimizer, **GENTLE)
    assert result.losses[0] == pytest.approx(first, rel=1e-6)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_a_non_finite_loss_stops_the_sweep_and_is_recorded(bad: float) -> None:
    model, optimizer, batches, loss = setup("cnn", "sgd")
    before = fingerprint(model, optimizer)
    result = find_lr(model, batches, Loss(loss, fail_at=4, error=bad), optimizer, **DIVERGE)
    assert result.stop_reason == "non_finite"
    assert result.steps == 5 and np.all(np.isfinite(result.losses[:4]))
    assert not np.isfinite(result.losses[4]) and (np.isnan(bad) == np.isnan(result.losses[4]))
    assert fingerprint(model, optimizer) == before


def test_negative_losses_run_until_they_really_diverge() -> None:
    """A ratio test (``smoothed > 4 * best``) would stop at once on losses near -10."""
    seed_everything()
    model = make_plain()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    result = find_lr(
        model,
        regression_batches(),
        Loss(F.mse_loss, offset=-10.0),
        optimizer,
        **DIVERGE,
        smoothing=0.5,
    )
    assert result.stop_reason == "diverged"
    assert np.all(result.losses[:10] < 0) and result.steps > 10
    best = result.smoothed_losses[:-1].min()
    assert result.smoothed_losses[-1] - best > 3.0 * abs(best)


def test_short_loaders_are_iterated_again() -> None:
    model, optimizer, batches, loss = setup("mlp", "sgd")
    loader = Loader(batches[:3])
    result = find_lr(model, loader, loss, optimizer, start_value=1e-6, end_value=1e-5, num_steps=10)
    assert result.stop_reason == "completed" and result.steps == 10
    assert (loader.drawn, loader.passes) == (10, 4)


def test_a_one_shot_iterator_that_runs_out_is_an_error() -> None:
    model, optimizer, batches, loss = setup("mlp", "sgd")
    before = fingerprint(model, optimizer)
    with pytest.raises(ValueError, match="re-iterable"):
        find_lr(model, iter(batches), loss, optimizer, **GENTLE)
    assert fingerprint(model, optimizer) == before


def test_accumulation_draws_more_batches_for_the_same_lrs() -> None:
    runs = {}
    for steps in (1, 2):
        model, optimizer, batches, loss = setup("mlp", "sgd")
        loader = Loader(batches[:3])
        result = find_lr(model, loader, loss, optimizer, **GENTLE, accumulation_steps=steps)
        runs[steps] = result
        assert result.stop_reason == "completed"
        assert loader.drawn == GENTLE["num_steps"] * steps
    assert np.array_equal(runs[1].lrs, runs[2].lrs)


def test_accumulated_micro_batches_average_like_one_big_batch() -> None:
    """Two half batches per step give the losses of one full batch: the loss and the
    gradients are averaged over the micro-batches, not summed."""
    halves, whole = [], []
    for inputs, targets in regression_batches(count=2, size=32):
        halves += [(inputs[:16], targets[:16]), (inputs[16:], targets[16:])]
        whole.append((inputs, targets))
    losses = []
    for batches, steps in ((halves, 2), (whole, 1)):
        seed_everything()
        model = make_plain()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        sweep = {"start_value": 0.05, "end_value": 0.5, "num_steps": 6}
        result = find_lr(model, batches, F.mse_loss, optimizer, **sweep, accumulation_steps=steps)
        assert result.stop_reason == "completed"
        losses.append(result.losses)
    assert np.allclose(losses[0], losses[1], rtol=1e-5)
    assert not np.allclose(losses[0][0], losses[0][-1], rtol=1e-2)  # the LRs moved the model


class Recorder(nn.Module):
    """A linear model that records ``(training, grad enabled)`` at every forward."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, torch.is_grad_enabled()))
        return self.linear(inputs)


def test_validation_loss_after_each_update_over_the_whole_set() -> None:
    seed_everything()
    model = Recorder()
    model.eval()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    train = regression_batches(count=2)
    inputs, targets = regression_batches(count=1, size=8, seed=5)[0]
    val = [(inputs[:5], targets[:5]), (inputs[5:], targets[5:])]  # unequal batch sizes
    sweep = {"start_value": 0.1, "end_value": 1.0, "num_steps": 4}
    # by hand: one SGD step at LR 0.1 on the first batch, then the loss over all 8 samples
    expected_model = Recorder()
    expected_model.load_state_dict(model.state_dict())
    F.mse_loss(expected_model(train[0][0]), train[0][1]).backward()
    with torch.no_grad():
        for param in expected_model.parameters():
            param -= 0.1 * param.grad
        expected = F.mse_loss(expected_model(inputs), targets).item()
    with torch.no_grad():
        before_update = F.mse_loss(model(inputs), targets).item()
    model.calls.clear()
    result = find_lr(model, train, F.mse_loss, optimizer, **sweep, val_loader=val)
    assert result.stop_reason == "completed"
    assert result.losses[0] == pytest.approx(expected, rel=1e-6)
    assert result.losses[0] != pytest.approx(before_update, rel=1e-3)
    assert np.array_equal(result.val_losses, result.losses)
    assert model.calls == [(True, True), (False, False), (False, False)] * 4
    assert model.training is False


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast_on_cpu(dtype: torch.dtype) -> None:
    model, optimizer, batches, loss = setup("mlp", "adam")
    before = fingerprint(model, optimizer)
    recorder = Loss(loss)
    result = find_lr(model, batches, recorder, optimizer, **DIVERGE, amp_dtype=dtype)
    assert result.stop_reason in ("diverged", "non_finite") and result.steps > 5
    assert set(recorder.output_dtypes) == {dtype}
    assert np.all(np.isfinite(result.losses[:-1]))
    assert fingerprint(model, optimizer) == before


def test_two_runs_give_the_same_curve() -> None:
    """Dropout and a shuffling DataLoader draw from the torch RNG, which is restored."""
    model, optimizer, batches, loss = setup("cnn", "adam")
    dataset = torch.utils.data.TensorDataset(
        torch.cat([inputs for inputs, _ in batches]), torch.cat([targets for _, targets in batches])
    )
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True)
    first = find_lr(model, loader, loss, optimizer, **DIVERGE)
    second = find_lr(model, loader, loss, optimizer, **DIVERGE)
    assert first.stop_reason == second.stop_reason == "diverged"
    assert np.array_equal(first.losses, second.losses)
    torch.manual_seed(123)  # another RNG state gives another curve: the check can fail
    third = find_lr(model, loader, loss, optimizer, **DIVERGE)
    assert not np.array_equal(first.losses[: third.steps], third.losses[: first.steps])


# -- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "name"),
    [
        ({"start_value": 0.0}, ValueError, "start_value"),
        ({"start_value": "1e-7"}, TypeError, "start_value"),
        ({"end_value": 1e-8}, ValueError, "end_value"),
        ({"num_steps": 1}, ValueError, "num_steps"),
        ({"num_steps": 2.5}, TypeError, "num_steps"),
        ({"mode": "cosine"}, ValueError, "mode"),
        ({"smoothing": 1.0}, ValueError, "smoothing"),
        ({"smoothing": -0.1}, ValueError, "smoothing"),
        ({"diverge_factor": 1.0}, ValueError, "diverge_factor"),
        ({"accumulation_steps": 0}, ValueError, "accumulation_steps"),
        ({"accumulation_steps": 1.5}, TypeError, "accumulation_steps"),
        ({"accumulation_steps": True}, TypeError, "accumulation_steps"),
        ({"amp_dtype": torch.float32}, ValueError, "amp_dtype"),
        ({"val_loader": 3}, TypeError, "val_loader"),
    ],
)
def test_bad_options_name_the_argument(options: dict[str, Any], error: type, name: str) -> None:
    model, optimizer, batches, loss = setup("mlp", "sgd")
    with pytest.raises(error, match=name):
        find_lr(model, batches, loss, optimizer, **options)


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"model": "net"}, TypeError, "model must be"),
        ({"optimizer": "sgd"}, TypeError, "optimizer must be"),
        ({"loss_fn": 1.0}, TypeError, "loss_fn must be callable"),
        ({"train_loader": 3}, TypeError, "train_loader must be"),
        ({"model": nn.Sequential(nn.LazyLinear(1))}, ValueError, "lazy"),
    ],
)
def test_bad_objects_are_rejected(arguments: dict[str, Any], error: type, message: str) -> None:
    model, optimizer, batches, loss = setup("mlp", "sgd")
    call = {"model": model, "train_loader": batches, "loss_fn": loss, "optimizer": optimizer}
    call.update(arguments)
    with pytest.raises(error, match=message):
        find_lr(call["model"], call["train_loader"], call["loss_fn"], call["optimizer"])


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"train_loader": []}, ValueError, "train_loader is empty"),
        ({"val_loader": []}, ValueError, "val_loader is empty"),
        (
            {"train_loader": [torch.ones(2, 4)]},
            TypeError,
            r"\(inputs, targets\) pairs, got a Tensor",
        ),
        ({"val_loader": [(1, 2, 3)]}, TypeError, "val_loader must yield .* tuple of length 3"),
        ({"loss_fn": lambda out, y: F.mse_loss(out, y, reduction="none")}, ValueError, "scalar"),
    ],
)
def test_bad_data_raises_after_restoring(
    arguments: dict[str, Any], error: type, message: str
) -> None:
    model, optimizer, batches, loss = setup("mlp", "sgd")
    call = {"train_loader": batches, "loss_fn": loss, "val_loader": None}
    call.update(arguments)
    before = fingerprint(model, optimizer)
    with pytest.raises(error, match=message):
        find_lr(
            model, call["train_loader"], call["loss_fn"], optimizer, val_loader=call["val_loader"]
        )
    assert fingerprint(model, optimizer) == before


# -- CUDA --------------------------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [None, torch.float16, torch.bfloat16])
def test_cuda_restore_with_autocast(dtype: torch.dtype | None) -> None:
    seed_everything()
    model = make_cnn().cuda()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = image_batches()  # on the CPU: the finder moves them
    model.train()
    for inputs, targets in batches[:3]:
        optimizer.zero_grad()
        F.cross_entropy(model(inputs.cuda()), targets.cuda()).backward()
        optimizer.step()
    torch.cuda.manual_seed_all(7)
    before, objects = fingerprint(model, optimizer), identities(model, optimizer)
    assert before["cuda_rng"] is not None
    recorder = Loss(F.cross_entropy)
    result = find_lr(model, batches, recorder, optimizer, **DIVERGE, amp_dtype=dtype)
    assert result.stop_reason in ("diverged", "non_finite") and result.steps > 5
    assert set(recorder.output_dtypes) == {dtype or torch.float32}
    assert fingerprint(model, optimizer) == before
    assert identities(model, optimizer) == objects
