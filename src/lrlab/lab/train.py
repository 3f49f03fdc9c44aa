"""The training engine: one model, its optimizer, an lrlab scheduler and the data, in a loop.

A :class:`Trainer` holds everything a run needs to continue: the weights, the optimizer
state, the scheduler's clock, the batch order of the current epoch, the RNG states and
the running sums of the epoch's metrics. :meth:`Trainer.state_dict` captures it after any
optimizer step, and a trainer built from the same config and loaded with it
(:meth:`Trainer.load_state_dict`) continues bit for bit on the CPU.

Per epoch the engine records ``loss`` and ``accuracy`` (the mean over the epoch's training
batches, as Keras reports them), ``val_loss`` and ``val_accuracy`` (on the test split,
after the epoch), ``lr`` (the LR of the epoch's first step, param group 0) and
``seconds`` (wall time of the epoch, evaluation included).

On CUDA the forward passes run under bf16 autocast, image batches use channels_last, and
the loss is checked for NaN/inf every :data:`CUDA_CHECK_EVERY` steps instead of every step
(each check waits for the GPU). On the CPU every step is checked.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch.nn import functional

from lrlab.lab.augment import augment
from lrlab.lab.config import RunConfig
from lrlab.lab.data import Dataset
from lrlab.lab.interrupt import StopRequest
from lrlab.lab.models import build_model, param_groups
from lrlab.lab.progress import Progress
from lrlab.schedules import Schedule
from lrlab.torch import ScheduleLR, find_lr, scheduler

CUDA_CHECK_EVERY = 32
"""On CUDA, steps between checks of the loss for NaN/inf."""

EVAL_BATCH_SIZE = 1024
"""Examples per forward pass when evaluating."""

FINISHED, INTERRUPTED, DIVERGED = "finished", "interrupted", "diverged"


def pick_device(requested: str) -> torch.device:
    """``cuda`` or ``cpu`` for a config's ``device`` (``auto`` prefers CUDA).

    Raises:
        ValueError: If CUDA is requested but not available.
    """
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested, but torch finds no CUDA device")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


_TORCH_THREADS = torch.get_num_threads()
"""torch's own CPU thread count, read before any run changes it."""


def default_threads(config: RunConfig, dataset: Dataset) -> int:
    """CPU threads for a run: ``config.threads``, else 1 for vector data, else torch's
    default (the count torch chose at start-up, not one an earlier run set)."""
    if config.threads is not None:
        return config.threads
    return 1 if len(dataset.input_shape) == 1 else _TORCH_THREADS


def batch_starts(count: int, batch_size: int) -> list[int]:
    """Where each batch of an epoch starts, plus ``count`` at the end.

    Batches hold ``batch_size`` examples; the last holds the rest, except that a single
    leftover example joins the batch before it (BatchNorm cannot train on a batch of one).

    >>> batch_starts(10, 4), batch_starts(9, 4), batch_starts(1, 4)
    ([0, 4, 8, 10], [0, 4, 9], [0, 1])
    """
    starts = list(range(0, count, batch_size))
    if len(starts) > 1 and count - starts[-1] == 1:
        starts.pop()
    return [*starts, count]


def build_optimizer(config: RunConfig, model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    """The config's optimizer over :func:`~lrlab.lab.models.param_groups` (L2 on kernels)."""
    groups = param_groups(model)
    if config.weight_decay is not None:
        groups[0]["weight_decay"] = config.weight_decay
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=config.momentum, nesterov=config.nesterov)
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=lr)
    return torch.optim.AdamW(groups, lr=lr)


class Trainer:
    """Model, optimizer, scheduler and data of one run, and the loop over them.

    Args:
        config: The run's settings.
        dataset: Its data, as :func:`lrlab.lab.data.load_dataset` returns it.

    Build it, call :meth:`attach_schedule` (after :meth:`range_test` for ``auto``), then
    :meth:`fit`. Building seeds torch with ``config.seed`` and sets torch's CPU threads.
    """

    def __init__(self, config: RunConfig, dataset: Dataset) -> None:
        self.config = config
        self.dataset = dataset
        self.device = pick_device(config.device)
        torch.set_num_threads(default_threads(config, dataset))
        torch.manual_seed(config.seed)
        self.is_image = len(dataset.input_shape) == 3
        self.x_train, self.y_train = self._tensors(dataset.x_train, dataset.y_train)
        self.x_test, self.y_test = self._tensors(dataset.x_test, dataset.y_test)
        if self.is_image:
            mean, std = dataset.channel_stats
            shape = (1, -1, 1, 1)
            self._mean = torch.tensor(mean / 255, dtype=torch.float32).view(shape)
            spread = np.maximum(std, 1.0)  # a constant channel must not divide by 0
            self._std = torch.tensor(spread / 255, dtype=torch.float32).view(shape)
            self._mean, self._std = self._mean.to(self.device), self._std.to(self.device)
        self.model = build_model(
            config.model,
            input_shape=self.model_input_shape,
            num_classes=dataset.num_classes,
            **config.model_options,
        ).to(self.device)
        if self.is_image and self.device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.forward = torch.compile(self.model) if config.compile else self.model
        self.optimizer = build_optimizer(config, self.model, lr=1.0)
        self._starts = batch_starts(len(self.y_train), config.batch_size)
        self.steps_per_epoch = len(self._starts) - 1
        self.scheduler: ScheduleLR | None = None
        self.schedule: Schedule | None = None
        self.generator = torch.Generator().manual_seed(config.seed)
        self.epoch = 0
        self.batch = 0
        self._order = torch.zeros(0, dtype=torch.int64)
        # Per-step mean loss and correct count of the current epoch, filled in place: one
        # small write per step, summed (in float64) at the epoch's end.
        self._losses = torch.zeros(self.steps_per_epoch, dtype=torch.float32, device=self.device)
        self._corrects = torch.zeros(self.steps_per_epoch, dtype=torch.int64, device=self.device)
        self._sizes = torch.tensor(np.diff(self._starts), dtype=torch.float64, device=self.device)
        self._epoch_seconds = 0.0
        self._epoch_lr = math.nan
        self.test_predictions: np.ndarray | None = None
        """The predicted test classes at the last :meth:`evaluate` (None before one)."""

    # -- set-up -------------------------------------------------------------------------

    @property
    def model_input_shape(self) -> tuple[int, ...]:
        """One input as the model sees it: ``(features,)`` or ``(C, H, W)``."""
        shape = self.dataset.input_shape
        return (shape[2], shape[0], shape[1]) if self.is_image else shape

    @property
    def total_steps(self) -> int:
        """Optimizer steps in ``config.epochs`` epochs."""
        return self.steps_per_epoch * self.config.epochs

    def _tensors(self, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = torch.from_numpy(np.ascontiguousarray(x))
        if inputs.ndim == 4:  # uint8 (n, H, W, C) -> (n, C, H, W), still uint8
            inputs = inputs.permute(0, 3, 1, 2).contiguous()
        return inputs.to(self.device), torch.from_numpy(y).to(self.device)

    def attach_schedule(self, schedule: Schedule) -> None:
        """Drive the optimizer with ``schedule``, whose ``t`` counts optimizer steps (see
        :func:`lrlab.lab.run.step_schedule`), holding its last value past a finite end (a
        run extended by ``resume --epochs``)."""
        self.schedule = schedule
        self.scheduler = scheduler(self.optimizer, schedule, unit="step", hold=True)

    def range_test(self, num_steps: int, **options: Any) -> Any:
        """Run :func:`lrlab.find_lr` over training batches; the model is left as it was.

        The batches come from their own generator (seed ``config.seed``), so the range
        test does not change the order or augmentations training sees.

        Args:
            num_steps: Sweep length, in optimizer steps.
            **options: Other :func:`lrlab.find_lr` keywords (``start_value``, ...).

        Returns:
            The :class:`~lrlab.finder.RangeTestResult`.
        """
        return find_lr(
            self.forward,
            _Batches(self, torch.Generator().manual_seed(self.config.seed)),
            functional.cross_entropy,
            self.optimizer,
            num_steps=num_steps,
            amp_dtype=torch.bfloat16 if self.device.type == "cuda" else None,
            **options,
        )

    # -- batches ----------------------------------------------------------------------

    def prepare(self, inputs: torch.Tensor, *, train: bool, generator: torch.Generator) -> Any:
        """Float model inputs from stored rows: images scaled, normalized and augmented."""
        if not self.is_image:
            return inputs
        images = (inputs.float() / 255.0 - self._mean) / self._std
        if train and self.config.augment:
            images = augment(images, self.config.augment, generator)
        if self.device.type == "cuda":
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # -- training ---------------------------------------------------------------------

    def fit(
        self,
        *,
        progress: Progress,
        stop: StopRequest,
        on_epoch_end: Callable[[int, dict[str, float | None]], None],
    ) -> str:
        """Train until ``config.epochs`` epochs are done, a stop is requested or the loss
        diverges.

        Args:
            progress: Receives batches and epoch summaries.
            stop: Polled after every optimizer step.
            on_epoch_end: Called with the epoch index and its metrics after each completed
                epoch, and for the epoch a divergence cut short (its ``loss`` is ``None``).

        Returns:
            ``"finished"``, ``"interrupted"`` (state ready for :meth:`state_dict`) or
            ``"diverged"``.
        """
        if self.scheduler is None:
            raise ValueError("Trainer.fit: attach a schedule first")
        self.model.train()
        check_every = 1 if self.device.type == "cpu" else CUDA_CHECK_EVERY
        while self.epoch < self.config.epochs:
            if self.batch == 0:
                self._start_epoch()
            progress.start_epoch(self.epoch, self.config.epochs, self.steps_per_epoch, self.batch)
            started = time.perf_counter()
            checked = self.batch
            while self.batch < self.steps_per_epoch:
                self._train_step()
                self.batch += 1
                progress.advance()
                last = self.batch == self.steps_per_epoch
                stopping = stop.requested and not last
                due = last or stopping or self.batch - checked >= check_every
                if due and not self._finite_from(0 if last else checked):
                    self._epoch_seconds += time.perf_counter() - started
                    on_epoch_end(self.epoch, self._train_metrics(diverged=True))
                    return DIVERGED
                if due:
                    checked = self.batch
                if stopping:
                    self._epoch_seconds += time.perf_counter() - started
                    return INTERRUPTED
            metrics = self._train_metrics(diverged=False)
            metrics.update(self.evaluate())
            self._epoch_seconds += time.perf_counter() - started
            metrics["seconds"] = self._epoch_seconds
            epoch = self.epoch
            self.epoch, self.batch = epoch + 1, 0
            on_epoch_end(epoch, metrics)
            progress.end_epoch(epoch, self.config.epochs, metrics)
            if stop.requested and self.epoch < self.config.epochs:
                return INTERRUPTED
        return FINISHED

    def _start_epoch(self) -> None:
        self._order = torch.randperm(len(self.y_train), generator=self.generator)
        self._losses.zero_()
        self._corrects.zero_()
        self._epoch_seconds = 0.0
        self._epoch_lr = float(self.optimizer.param_groups[0]["lr"])

    def training_batch(
        self, order: torch.Tensor, index: int, generator: torch.Generator
    ) -> tuple[Any, torch.Tensor]:
        """Batch ``index`` of an epoch whose example order is ``order``: model inputs
        (augmented with ``generator``) and targets, on the device."""
        rows = order[self._starts[index] : self._starts[index + 1]].to(self.device)
        return self.prepare(self.x_train[rows], train=True, generator=generator), self.y_train[rows]

    def _train_step(self) -> None:
        inputs, targets = self.training_batch(self._order, self.batch, self.generator)
        with self._autocast():
            logits = self.forward(inputs)
            loss = functional.cross_entropy(logits, targets)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()  # type: ignore[union-attr]
        with torch.no_grad():
            self._losses[self.batch] = loss.detach()
            self._corrects[self.batch] = (logits.argmax(1) == targets).sum()

    def _finite_from(self, first: int) -> bool:
        """Whether the losses of steps ``first .. batch-1`` of this epoch are all finite."""
        # The losses are >= 0, so their sum is finite exactly when each one is; one
        # reduction and one read are much cheaper than isfinite(...).all() on small slices.
        return math.isfinite(float(self._losses[first : self.batch].sum()))

    def _train_metrics(self, *, diverged: bool) -> dict[str, float | None]:
        done = slice(0, self.batch)
        seen = max(float(self._sizes[done].sum()), 1.0)
        loss_sum = (self._losses[done].double() * self._sizes[done]).sum()
        return {
            "loss": None if diverged else float(loss_sum) / seen,
            "accuracy": int(self._corrects[done].sum()) / seen,
            "val_loss": None,
            "val_accuracy": None,
            "lr": self._epoch_lr,
            "seconds": self._epoch_seconds,
        }

    # -- evaluation ---------------------------------------------------------------------

    def _test_batches(self) -> Iterator[tuple[Any, torch.Tensor]]:
        for begin in range(0, len(self.y_test), EVAL_BATCH_SIZE):
            rows = slice(begin, begin + EVAL_BATCH_SIZE)
            yield (
                self.prepare(self.x_test[rows], train=False, generator=self.generator),
                self.y_test[rows],
            )

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """``val_loss`` (mean cross-entropy, nats) and ``val_accuracy`` on the test split.

        The predicted class of every test example is kept in :attr:`test_predictions`.
        """
        was_training = self.model.training
        self.model.eval()
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        predictions = []
        try:
            for inputs, targets in self._test_batches():
                with self._autocast():
                    logits = self.forward(inputs)
                loss_sum += functional.cross_entropy(logits.float(), targets, reduction="sum")
                predictions.append(logits.argmax(1))
        finally:
            self.model.train(was_training)
        predicted = torch.cat(predictions) if predictions else self.y_test.new_zeros(0)
        self.test_predictions = predicted.cpu().numpy().astype(np.int64)
        count = max(len(self.y_test), 1)
        correct = int((predicted == self.y_test).sum())
        return {"val_loss": float(loss_sum) / count, "val_accuracy": correct / count}

    # -- checkpoints ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimizer, scheduler, RNGs, the
        epoch's batch order and position, and its running metric sums."""
        if self.scheduler is None:
            raise ValueError("Trainer.state_dict: attach a schedule first")
        state: dict[str, Any] = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "torch_rng": torch.get_rng_state(),
            "epoch": self.epoch,
            "batch": self.batch,
            "order": self._order.clone(),
            "losses": self._losses.cpu(),
            "corrects": self._corrects.cpu(),
            "epoch_seconds": self._epoch_seconds,
            "epoch_lr": self._epoch_lr,
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict`. The optimizer's LRs come from this trainer's
        schedule (at the loaded time), never from the loaded optimizer state.

        Raises:
            ValueError: If no schedule is attached or the state does not fit the model.
        """
        if self.scheduler is None:
            raise ValueError("Trainer.load_state_dict: attach a schedule first")
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
        except (KeyError, RuntimeError, ValueError) as error:
            raise ValueError(
                f"the checkpoint does not fit this run's model or optimizer: {error}"
            ) from None
        self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if "cuda_rng" in state and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])
        self._order = state["order"].clone()
        self._losses = state["losses"].to(self.device)
        self._corrects = state["corrects"].to(self.device)
        self._epoch_seconds = float(state["epoch_seconds"])
        self._epoch_lr = float(state["epoch_lr"])


class _Batches:
    """Re-iterable training batches in a fixed random order, for the range test."""

    def __init__(self, trainer: Trainer, generator: torch.Generator) -> None:
        self._trainer = trainer
        self._generator = generator
        self._order = torch.randperm(len(trainer.y_train), generator=generator)

    def __iter__(self) -> Iterator[tuple[Any, torch.Tensor]]:
        for index in range(self._trainer.steps_per_epoch):
            yield self._trainer.training_batch(self._order, index, self._generator)
