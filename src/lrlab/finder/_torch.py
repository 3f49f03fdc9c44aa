"""PyTorch runner of the LR range test: sweep the LR, record the loss, then undo everything.

:func:`find_lr` trains the model for a few optimizer steps while the LR grows from
``start_value`` to ``end_value``, records the loss at each step and stops once the loss
diverges. Whatever happens (the sweep ends, diverges, raises, or is interrupted with
Ctrl+C), the model, the optimizer and the random number generators are then put back
exactly as they were, so the finder can run in the middle of a training script.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

try:
    import torch
    from torch.optim import Optimizer
except ImportError as error:  # pragma: no cover - exercised only without torch
    raise ImportError("the torch LR finder needs PyTorch: pip install 'lrlab[torch]'") from error

from lrlab.finder._curve import (
    Smoother,
    check_diverge_factor,
    check_smoothing,
    diverged,
    sweep_schedule,
)
from lrlab.finder._result import RangeTestResult
from lrlab.schedules._validate import as_length, describe

__all__ = ["find_lr"]

_AMP_DTYPES = (torch.bfloat16, torch.float16)


def find_lr(
    model: torch.nn.Module,
    train_loader: Iterable[Any],
    loss_fn: Callable[[Any, Any], torch.Tensor],
    optimizer: Optimizer,
    *,
    start_value: float = 1e-7,
    end_value: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    val_loader: Iterable[Any] | None = None,
    accumulation_steps: int = 1,
    amp_dtype: torch.dtype | None = None,
) -> RangeTestResult:
    r"""Run the LR range test on ``model`` and restore it, the optimizer and the RNGs after.

    Optimizer step :math:`i = 0, 1, \dots, N-1` (:math:`N` = ``num_steps``) runs with
    every param group's LR set to the sweep value

    .. math::

        \text{exp: } \eta_i = \eta_0 \, (\eta_1 / \eta_0)^{i/(N-1)}, \qquad
        \text{linear: } \eta_i = \eta_0 + (\eta_1 - \eta_0)\, \frac{i}{N-1},

    with :math:`\eta_0` = ``start_value`` and :math:`\eta_1` = ``end_value``. All groups get
    the same LR, whatever their own LRs are (a group whose parameters must stay fixed
    belongs out of the optimizer, or needs ``requires_grad=False``). A tensor LR is
    filled in place, so it stays the same tensor.

    Each step draws ``accumulation_steps`` batches ``(inputs, targets)`` from
    ``train_loader`` (iterating it again from the start whenever it runs out), moves them to
    the device of the model's parameters, and backpropagates
    ``loss_fn(model(inputs), targets) / accumulation_steps`` with the model in train mode.
    The loss recorded for step :math:`i` is

    * without ``val_loader``: the mean training loss :math:`L_i` of those batches, computed
      before the update made with :math:`\eta_i` (a non-finite or diverged loss stops the
      sweep before that update);
    * with ``val_loader``: after the update, the loss over the whole ``val_loader`` in eval
      mode without gradients, the mean of the batch losses weighted by batch size (the
      length of each ``targets``), which is the loss over the whole set for a mean-reduced
      ``loss_fn``.

    The sweep stops early at the first recorded loss that is not finite
    (``stop_reason="non_finite"``; that loss is recorded), or once the smoothed loss
    :math:`S_i` has diverged from the best smoothed loss so far (``"diverged"``; recorded
    too), where

    .. math::

        a_i = \beta a_{i-1} + (1 - \beta) L_i,\quad a_{-1} = 0,\qquad
        S_i = a_i / (1 - \beta^{i+1}),

        \text{diverged} \iff S_i - \min_{j<i} S_j > (f - 1)\,\max(|\min_{j<i} S_j|, 10^{-12})

    with :math:`\beta` = ``smoothing`` and :math:`f` = ``diverge_factor``: a distance
    relative to the best loss, so negative losses work too. Otherwise all ``num_steps``
    steps run (``"completed"``).

    Restore: before the sweep the finder snapshots, in memory on their own devices, every
    parameter and buffer of ``model`` (and of ``loss_fn`` if it is a module), every
    optimizer parameter, their gradients and ``requires_grad`` flags, each module's
    ``training`` flag, the optimizer's ``state`` and param-group hyperparameters (and its
    plain flags such as the ``_opt_called`` that torch's LR schedulers read), and the torch
    (CPU, and CUDA once initialized), numpy and Python ``random`` generator states. Memory
    cost: one extra copy of the weights, buffers, existing gradients and optimizer state.
    In a ``finally`` block the values are copied back *into the original tensor objects*
    and the original objects are put back wherever the sweep replaced them, so the
    optimizer keeps updating the model's own parameters and everything is bit-identical
    to before; an exception (including ``KeyboardInterrupt``) propagates after the restore.
    An lrlab scheduler driving ``optimizer`` is set aside during the sweep
    (:func:`lrlab.torch.suspended`) and keeps working afterwards. Other optimizer hooks
    run during the sweep as they would in training.

    Args:
        model: The model; its lazy modules must be initialized (run one forward first).
        train_loader: A re-iterable of ``(inputs, targets)`` batches, e.g. a
            ``DataLoader`` or a list. Tensors inside tuples, lists and dicts are moved to
            the model's device.
        loss_fn: ``loss_fn(model(inputs), targets)`` returns a scalar tensor.
        optimizer: A ``torch.optim.Optimizer`` over the model's parameters.
        start_value: First LR of the sweep, ``> 0``.
        end_value: Last LR of the sweep, ``> start_value``.
        num_steps: Number of optimizer steps (LR values), an integer ``>= 2``.
        mode: ``"exp"`` (geometric spacing, the usual choice) or ``"linear"``.
        smoothing: EMA factor :math:`\beta` in ``[0, 1)`` of the divergence test; 0 means
            no smoothing.
        diverge_factor: :math:`f > 1`; 4 stops once the smoothed loss is 4 times the best
            for positive losses.
        val_loader: Optional re-iterable of ``(inputs, targets)`` batches; when given, the
            recorded loss is the validation loss after each step.
        accumulation_steps: Batches (micro-batches) per optimizer step, an integer ``>= 1``.
        amp_dtype: ``None`` (no autocast), ``torch.bfloat16`` or ``torch.float16``: run the
            forward passes under ``torch.autocast`` on the model's device type with this
            dtype. With ``float16`` a ``torch.amp.GradScaler`` scales the loss (a step whose
            gradients overflow is skipped, as in training).

    Returns:
        The :class:`RangeTestResult`: the LRs and losses of the recorded steps (the LR
        used at step :math:`i` and the loss recorded for it), ``smoothing``, the stop
        reason, ``num_steps`` and, with ``val_loader``, the validation losses.

    Raises:
        TypeError: If an argument has the wrong type, or a loader yields something that is
            not an ``(inputs, targets)`` pair.
        ValueError: If an argument is out of range, a loader is empty or is a one-shot
            iterator that ran out, ``loss_fn`` returns a non-scalar, the model has
            uninitialized lazy parameters, or autocast does not support the device type.

    Example:
        >>> import torch
        >>> from lrlab.torch import find_lr
        >>> _ = torch.manual_seed(0)
        >>> model = torch.nn.Linear(4, 1)
        >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        >>> inputs = torch.randn(64, 4)
        >>> batches = [(inputs, inputs.sum(1, keepdim=True))]
        >>> before = model.weight.clone()
        >>> result = find_lr(model, batches, torch.nn.functional.mse_loss, optimizer)
        >>> result.stop_reason, len(result.lrs) < 100
        ('diverged', True)
        >>> torch.equal(model.weight, before), optimizer.param_groups[0]["lr"]
        (True, 0.01)
    """
    schedule = sweep_schedule(start_value, end_value, num_steps, mode)
    _check_objects(model, optimizer, train_loader, val_loader, loss_fn)
    device = _device_of(model)
    options = _check_options(smoothing, diverge_factor, accumulation_steps, amp_dtype, device)
    steps = as_length("find_lr", "num_steps", num_steps, at_least=2)
    lrs = np.asarray(schedule(np.arange(steps)), dtype=np.float64)
    from lrlab.torch import suspended  # here: lrlab.torch re-exports find_lr from this module

    with suspended(optimizer):
        snapshot = _Snapshot(model, optimizer, loss_fn)
        try:
            sweep = _Sweep(model, train_loader, loss_fn, optimizer, val_loader, device, options)
            losses, stop_reason = sweep.run(lrs)
        finally:
            snapshot.restore()
    recorded = len(losses)
    return RangeTestResult(
        lrs=lrs[:recorded].copy(),
        losses=np.asarray(losses, dtype=np.float64),
        smoothing=options.smoothing,
        stop_reason=stop_reason,
        num_steps_requested=steps,
        val_losses=None if val_loader is None else losses,
    )


@dataclasses.dataclass(frozen=True)
class _Options:
    """The validated options of a sweep."""

    smoothing: float
    diverge_factor: float
    accumulation_steps: int
    amp_dtype: torch.dtype | None


def _check_options(
    smoothing: Any,
    diverge_factor: Any,
    accumulation_steps: Any,
    amp_dtype: Any,
    device: torch.device,
) -> _Options:
    if amp_dtype is not None and amp_dtype not in _AMP_DTYPES:
        raise ValueError(
            "find_lr: amp_dtype must be None, torch.bfloat16 or torch.float16, got "
            f"{describe(amp_dtype)}"
        )
    if amp_dtype is not None and not torch.amp.is_autocast_available(device.type):
        raise ValueError(
            f"find_lr: amp_dtype={amp_dtype} but torch.autocast does not support the "
            f"model's device type {device.type!r}"
        )
    return _Options(
        check_smoothing(smoothing),
        check_diverge_factor(diverge_factor),
        as_length("find_lr", "accumulation_steps", accumulation_steps),
        amp_dtype,
    )


def _check_objects(
    model: Any, optimizer: Any, train_loader: Any, val_loader: Any, loss_fn: Any
) -> None:
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"find_lr: model must be a torch.nn.Module, got {describe(model)}")
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"find_lr: optimizer must be a torch.optim.Optimizer, got {describe(optimizer)}"
        )
    if not callable(loss_fn):
        raise TypeError(f"find_lr: loss_fn must be callable, got {describe(loss_fn)}")
    for name, loader in (("train_loader", train_loader), ("val_loader", val_loader)):
        if not (loader is None and name == "val_loader") and not isinstance(loader, Iterable):
            raise TypeError(
                f"find_lr: {name} must be an iterable of batches, got {type(loader).__name__}"
            )
    lazy = [name for name, param in model.named_parameters() if torch.nn.parameter.is_lazy(param)]
    if lazy:
        raise ValueError(
            f"find_lr: the model has uninitialized lazy parameters {lazy}; run one forward "
            "pass before the finder, so that it can restore them"
        )


def _device_of(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter (or buffer); CPU for a stateless model."""
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


class _Snapshot:
    """Everything the sweep may change, and :meth:`restore` to put it back exactly.

    Tensors are kept as ``(original, clone)`` pairs: restoring copies the clone into the
    original object and puts the original object back wherever it was replaced, so
    references held elsewhere (the optimizer holds the parameters, a scheduler its tensor
    LR) stay valid.
    """

    def __init__(self, model: torch.nn.Module, optimizer: Optimizer, loss_fn: Any) -> None:
        self._clones: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        modules = list(model.modules())
        if isinstance(loss_fn, torch.nn.Module):
            seen = set(map(id, modules))
            modules.extend(module for module in loss_fn.modules() if id(module) not in seen)
        self._training = [(module, module.training) for module in modules]
        self._slots = [
            (slots, list(slots.items()))
            for module in modules
            for slots in (module._parameters, module._buffers)
        ]
        params: dict[int, torch.Tensor] = {}
        for _, items in self._slots:
            for _, tensor in items:
                self._keep(tensor)
                if isinstance(tensor, torch.nn.Parameter):
                    params[id(tensor)] = tensor
        for group in optimizer.param_groups:
            for param in group["params"]:
                self._keep(param)
                params[id(param)] = param
        self._params = [
            (param, param.requires_grad, self._keep(param.grad)) for param in params.values()
        ]
        self._optimizer = optimizer
        self._state = [
            (param, values, [(key, self._keep_value(value)) for key, value in values.items()])
            for param, values in optimizer.state.items()
        ]
        self._groups = [
            (
                group,
                [
                    (key, value if key == "params" else self._keep_value(value))
                    for key, value in group.items()
                ],
            )
            for group in optimizer.param_groups
        ]
        self._flags = {key: value for key, value in vars(optimizer).items() if _is_plain(value)}
        self._torch_rng = torch.get_rng_state()
        self._cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
        self._numpy_rng = np.random.get_state()
        self._python_rng = random.getstate()

    def _keep(self, tensor: torch.Tensor | None) -> torch.Tensor | None:
        """Clone ``tensor`` once (by identity) for the restore; return it unchanged."""
        if tensor is not None and id(tensor) not in self._clones:
            self._clones[id(tensor)] = (tensor, tensor.detach().clone())
        return tensor

    def _keep_value(self, value: Any) -> Any:
        """A tensor is kept by identity (and cloned); anything else as a deep copy."""
        if isinstance(value, torch.Tensor):
            return self._keep(value)
        return copy.deepcopy(value)

    def restore(self) -> None:
        """Put every snapshotted object and value back."""
        with torch.no_grad():
            for original, clone in self._clones.values():
                original.copy_(clone)
        for slots, items in self._slots:
            slots.clear()
            slots.update(items)
        for param, requires_grad, grad in self._params:
            param.requires_grad_(requires_grad)
            param.grad = grad
        for module, training in self._training:
            module.training = training
        state = self._optimizer.state
        state.clear()
        for param, values, items in self._state:
            values.clear()
            values.update(items)
            state[param] = values
        for group, items in self._groups:
            group.clear()
            group.update(items)
        attributes = vars(self._optimizer)
        for key in [key for key, value in attributes.items() if _is_plain(value)]:
            if key not in self._flags:
                del attributes[key]
        attributes.update(self._flags)
        torch.set_rng_state(self._torch_rng)
        if self._cuda_rng is not None:
            torch.cuda.set_rng_state_all(self._cuda_rng)
        np.random.set_state(self._numpy_rng)
        random.setstate(self._python_rng)


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


class _Sweep:
    """One pass of the range test over precomputed LRs (no restore logic here)."""

    def __init__(
        self,
        model: torch.nn.Module,
        train_loader: Iterable[Any],
        loss_fn: Callable[[Any, Any], torch.Tensor],
        optimizer: Optimizer,
        val_loader: Iterable[Any] | None,
        device: torch.device,
        options: _Options,
    ) -> None:
        self.model = model
        self.batches = _cycle(train_loader, "train_loader")
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.val_loader = val_loader
        self.device = device
        self.options = options
        use_scaler = options.amp_dtype == torch.float16
        self.scaler = torch.amp.GradScaler(device.type) if use_scaler else None

    def run(self, lrs: np.ndarray) -> tuple[list[float], str]:
        """Train one step per LR; return the recorded losses and the stop reason."""
        losses: list[float] = []
        smoother = Smoother(self.options.smoothing)
        best = math.inf
        self.model.train()
        for lr in lrs.tolist():
            _set_lr(self.optimizer, lr)
            train_loss = self._forward_backward()
            if self.val_loader is None:
                loss = train_loss
            else:
                self._update()
                loss = self._validate(self.val_loader)
            losses.append(loss)
            if not math.isfinite(loss):
                return losses, "non_finite"
            smoothed = smoother.update(loss)
            if smoothed < best:
                best = smoothed
            elif diverged(smoothed, best, self.options.diverge_factor):
                return losses, "diverged"
            if self.val_loader is None:
                self._update()
        return losses, "completed"

    def _autocast(self) -> AbstractContextManager[Any]:
        dtype = self.options.amp_dtype
        return nullcontext() if dtype is None else torch.autocast(self.device.type, dtype)

    def _loss(self, batch: Any, loader: str) -> tuple[torch.Tensor, Any]:
        inputs, targets = _unpack(batch, loader)
        inputs, targets = _to_device(inputs, self.device), _to_device(targets, self.device)
        with self._autocast():
            loss = self.loss_fn(self.model(inputs), targets)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else describe(loss)
            raise ValueError(f"find_lr: loss_fn must return a scalar tensor, got {shape}")
        return loss, targets

    def _forward_backward(self) -> float:
        """Zero the gradients, then accumulate those of ``accumulation_steps`` batches."""
        self.optimizer.zero_grad(set_to_none=True)
        count = self.options.accumulation_steps
        total = 0.0
        with torch.enable_grad():
            for _ in range(count):
                loss, _ = self._loss(next(self.batches), "train_loader")
                scaled = loss / count
                (scaled if self.scaler is None else self.scaler.scale(scaled)).backward()
                total += float(loss.detach())
        return total / count

    def _update(self) -> None:
        if self.scaler is None:
            self.optimizer.step()
        else:
            self.scaler.step(self.optimizer)
            self.scaler.update()

    def _validate(self, loader: Iterable[Any]) -> float:
        """Batch-size-weighted mean loss over the whole ``loader``, in eval mode."""
        total, weight = 0.0, 0
        self.model.eval()
        with torch.no_grad():
            for batch in loader:
                loss, targets = self._loss(batch, "val_loader")
                size = len(targets) if isinstance(targets, torch.Tensor) and targets.ndim else 1
                total += float(loss) * size
                weight += size
        self.model.train()
        if weight == 0:
            raise ValueError("find_lr: val_loader is empty")
        return total / weight


def _set_lr(optimizer: Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def _cycle(loader: Iterable[Any], name: str) -> Iterator[Any]:
    """Yield the loader's batches, iterating it again from the start each time it ends."""
    for passes in itertools.count(1):
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            if passes == 1:
                raise ValueError(f"find_lr: {name} is empty")
            raise ValueError(
                f"find_lr: {name} yielded nothing on pass {passes}; pass a re-iterable "
                "(a DataLoader or a list), not a one-shot iterator"
            )


def _unpack(batch: Any, loader: str) -> tuple[Any, Any]:
    if not isinstance(batch, list | tuple) or len(batch) != 2:
        size = f" of length {len(batch)}" if isinstance(batch, list | tuple) else ""
        raise TypeError(
            f"find_lr: {loader} must yield (inputs, targets) pairs, got a "
            f"{type(batch).__name__}{size}"
        )
    return batch[0], batch[1]


def _to_device(value: Any, device: torch.device) -> Any:
    """``value`` with every tensor (inside tuples, lists and dicts too) on ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, Mapping):
        return {key: _to_device(item, device) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_to_device(item, device) for item in value)
    return value
