"""One lab run from start to end: data, trainer, store records, checkpoints, plots, report.

:func:`start_run` records a new run in the store and trains it; :func:`resume_run`
continues an interrupted (or diverged, failed, finished-but-extended) run from its
checkpoint, optionally with a new LR or schedule that applies from the next step and is
recorded as a new segment.

A run writes into its directory ``checkpoint.pt`` (after every epoch and on a stop),
``lr.png``, ``training.png`` and, once finished, ``classification_report.txt``; each is
recorded as an artifact in the store.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from lrlab import __version__
from lrlab._files import write_text_atomic
from lrlab.finder import one_cycle_from
from lrlab.lab.checkpoint import load_checkpoint, save_checkpoint
from lrlab.lab.config import AUTO, RunConfig
from lrlab.lab.data import Dataset, load_dataset
from lrlab.lab.interrupt import StopRequest
from lrlab.lab.plots import plot_lr, plot_training
from lrlab.lab.progress import Progress
from lrlab.lab.store import RunStore
from lrlab.lab.train import FINISHED, INTERRUPTED, Trainer
from lrlab.schedules import Constant, PerEpoch, Schedule, Sequence, parse, preset, preset_names

CHECKPOINT = "checkpoint.pt"
"""The checkpoint file's name inside a run directory."""

FINDER_STEPS = 100
"""Length of the range test of ``schedule="auto"``, in optimizer steps (``find_lr``'s
default). Shorter sweeps move the LR too fast for a BatchNorm CNN with momentum to follow:
on a 2000-image CIFAR-10 subset, 32 steps suggested 0.0008 and 100 steps 0.0066."""


@dataclasses.dataclass(frozen=True)
class RunOutcome:
    """What a run ended with.

    Attributes:
        run_id: The run's id in the store.
        status: ``finished``, ``interrupted`` or ``diverged``.
        directory: Where its files are.
        history: Its per-epoch metrics, as :meth:`RunStore.epochs` returns them.
        schedule: The schedule it trained with, on the step clock (all segments).
        steps_per_epoch: Optimizer steps per epoch.
        classification_report: sklearn's report on the test split, for finished runs.
        seconds: Total wall time over all its segments, in seconds.
    """

    run_id: int
    status: str
    directory: Path
    history: list[dict[str, Any]]
    schedule: Schedule
    steps_per_epoch: int
    classification_report: str | None
    seconds: float


def library_versions() -> dict[str, str]:
    """The versions a run records: lrlab, torch, numpy and Python."""
    import torch

    return {
        "lrlab": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def load_run_data(config: RunConfig, data_dir: str | os.PathLike[str] | None) -> Dataset:
    """The dataset of a run: its split by ``data_seed``, its ``limit`` subset."""
    return load_dataset(
        config.dataset, data_dir=data_dir, seed=config.data_seed, limit=config.limit
    )


def step_schedule(config: RunConfig, steps_per_epoch: int) -> Schedule:
    """The config's schedule on the optimizer-step clock (``unit="epoch"`` becomes
    ``per_epoch``)."""
    schedule = config.resolve_schedule(steps_per_epoch)
    if config.schedule_unit == "epoch":
        return PerEpoch(schedule=schedule, steps_per_epoch=steps_per_epoch)
    return schedule


def start_run(
    config: RunConfig,
    *,
    store: RunStore,
    out_dir: str | os.PathLike[str],
    progress: Progress,
    stop: StopRequest,
    data_dir: str | os.PathLike[str] | None = None,
    dataset: Dataset | None = None,
    lr_plot: str | os.PathLike[str] | None = None,
    train_plot: str | os.PathLike[str] | None = None,
) -> RunOutcome:
    """Train a new run and record it.

    Args:
        config: The run's settings.
        store: The run store it is recorded in.
        out_dir: The run's files go to ``out_dir/run-<id>``.
        progress: Receives the run's progress lines.
        stop: Polled after every step (see :func:`lrlab.lab.interrupt.stop_on_signals`).
        data_dir: Where the dataset's file is, before ``LRLAB_DATA_DIR``.
        dataset: The run's data, already loaded by :func:`load_run_data` (a comparison
            loads it once for all its runs); ``None`` loads it.
        lr_plot: Where to write the LR plot instead of ``run-<id>/lr.png``.
        train_plot: Where to write the training plot instead of ``run-<id>/training.png``.

    Returns:
        The outcome; ``interrupted`` runs have a checkpoint to resume from.

    Raises:
        ValueError, TypeError: For settings the data or model reject.
        DatasetNotFoundError: If the dataset is not available.
    """
    began = time.perf_counter()
    if dataset is not None and dataset.name != config.dataset:
        raise ValueError(
            f"start_run: dataset {dataset.name!r} is not the config's {config.dataset!r}"
        )
    trainer = Trainer(config, dataset if dataset is not None else load_run_data(config, data_dir))
    range_test = None
    if config.schedule == AUTO:
        progress.message(f"range test: {FINDER_STEPS} steps")
        range_test = trainer.range_test(FINDER_STEPS)
        schedule: Schedule = one_cycle_from(range_test, trainer.total_steps)
        progress.message(f"range test: one_cycle at peak {schedule.peak_value:.3g}")
    else:
        schedule = step_schedule(config, trainer.steps_per_epoch)
    trainer.attach_schedule(schedule)
    run_id = store.create_run(
        dataset=config.dataset,
        model=config.model,
        schedule=repr(schedule),
        seed=config.seed,
        config=config.to_dict(),
        versions=library_versions(),
    )
    directory = Path(out_dir) / f"run-{run_id}"
    directory.mkdir(parents=True, exist_ok=True)
    if range_test is not None:
        store.add_artifact(run_id, "range_test_plot", range_test.plot(directory / "range_test.png"))
    progress.message(
        f"run {run_id}: {config.model} on {config.dataset} ({len(trainer.y_train)} train, "
        f"{len(trainer.y_test)} test), {schedule!r}, {config.epochs} epochs of "
        f"{trainer.steps_per_epoch} steps, seed {config.seed}, {trainer.device.type}"
    )
    paths = {
        "lr_plot": Path(lr_plot) if lr_plot is not None else directory / "lr.png",
        "training_plot": Path(train_plot) if train_plot is not None else directory / "training.png",
    }
    return _train(trainer, run_id, store, directory, paths, progress, stop, began, 0.0)


def resume_run(
    run_id: int,
    *,
    store: RunStore,
    progress: Progress,
    stop: StopRequest,
    lr: float | None = None,
    schedule: str | None = None,
    epochs: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> RunOutcome:
    """Continue a run from its checkpoint.

    With ``lr`` or ``schedule`` the LR changes from the next optimizer step: the run's
    schedule becomes ``sequence(old, new, durations=[k])`` where ``k`` is the number of
    steps already taken, so ``new`` sees its own time from 0. ``lr`` alone means
    ``constant(lr)``. A preset ``schedule`` is built with ``lr`` (else the run's preset
    LR) over the remaining epochs, counted from the resume point; spec text (without
    ``lr``) counts in the run's unit. The change is checkpointed, then recorded as a new
    segment. The LR always comes from the schedule, never from the checkpoint's optimizer
    state. With neither, the run continues exactly (bit for bit on the CPU).

    Args:
        run_id: The run to continue.
        store: The run store.
        progress: Receives the run's progress lines.
        stop: Polled after every step.
        lr: A new LR from the next step (LR units).
        schedule: A new schedule from the next step (preset name or spec text).
        epochs: A new total number of epochs (default: the run's).
        data_dir: Where the dataset's file is.

    Raises:
        ValueError: If the run cannot be resumed (still running, no checkpoint, too few
            epochs) or an argument is invalid.
    """
    began = time.perf_counter()
    record = store.run(run_id)
    _check_resumable(record)
    config = RunConfig.from_dict(record["config"])
    checkpoint_path = checkpoint_of(record)
    state = load_checkpoint(checkpoint_path)
    done_epochs = int(state["epoch"])
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= done_epochs:
            raise ValueError(
                f"resume: epochs must be an integer > {done_epochs} (epochs already done), "
                f"got {epochs!r}"
            )
        config = config.replace(epochs=epochs)
    elif done_epochs >= config.epochs:
        raise ValueError(
            f"resume: run {run_id} has done all {config.epochs} epochs; give --epochs to "
            "train longer"
        )
    trainer = Trainer(config, load_run_data(config, data_dir))
    old = parse(state["schedule"])
    taken = done_epochs * trainer.steps_per_epoch + int(state["batch"])
    new = _new_piece(config, trainer.steps_per_epoch, done_epochs, lr=lr, schedule=schedule)
    current = old if new is None else _switch(old, new, taken)
    trainer.attach_schedule(current)
    with warnings.catch_warnings():
        # The changed schedule is the point of the resume; it is recorded as a segment.
        warnings.filterwarnings("ignore", "lrlab.torch: resuming with settings", UserWarning)
        trainer.load_state_dict(state)
    if new is not None:
        change = " ".join(
            f"--{name} {value}" for name, value in (("lr", lr), ("schedule", schedule)) if value
        )
        # Checkpoint first, so the file and the store agree on the schedule from here on.
        _save(trainer, store, run_id, checkpoint_path)
        store.start_segment(
            run_id,
            done_epochs,
            repr(current),
            f"resume at step {taken} (epoch {done_epochs}, batch {int(state['batch'])}): {change}",
        )
        progress.message(f"run {run_id}: from step {taken} the LR follows {new!r}")
    elif current.duration is not None and current.duration < trainer.total_steps:
        progress.message(
            f"run {run_id}: the schedule ends at step {current.duration}; the LR then stays at "
            f"{current(float(current.duration)):.3g} until step {trainer.total_steps} (give "
            "--lr or --schedule to change that)"
        )
    if epochs is not None:
        store.set_config(run_id, config.to_dict())
    store.set_status(run_id, "running")
    directory = checkpoint_path.parent
    artifacts = {item["kind"]: Path(item["path"]) for item in record["artifacts"]}
    paths = {
        kind: artifacts.get(kind, directory / default)
        for kind, default in (("lr_plot", "lr.png"), ("training_plot", "training.png"))
    }
    progress.message(
        f"run {run_id}: resuming at epoch {done_epochs + 1}/{config.epochs}, "
        f"batch {int(state['batch'])}/{trainer.steps_per_epoch}"
    )
    return _train(
        trainer, run_id, store, directory, paths, progress, stop, began, record["seconds"] or 0.0
    )


def _check_resumable(record: dict[str, Any]) -> None:
    status, pid = record["status"], record.get("pid")
    if status == "running" and pid is not None and _process_alive(int(pid)):
        raise ValueError(f"resume: run {record['id']} is still running (process {pid})")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def checkpoint_of(record: dict[str, Any]) -> Path:
    """The checkpoint file of a run record (from :meth:`RunStore.run`).

    Raises:
        ValueError: If the run has no checkpoint file on disk.
    """
    for artifact in record["artifacts"]:
        if artifact["kind"] == "checkpoint" and Path(artifact["path"]).is_file():
            return Path(artifact["path"])
    raise ValueError(f"resume: run {record['id']} has no checkpoint file (none was written)")


def _new_piece(
    config: RunConfig,
    steps_per_epoch: int,
    done_epochs: int,
    *,
    lr: float | None,
    schedule: str | None,
) -> Schedule | None:
    """The schedule from the resume point on, in its own time, or None to keep the old."""
    if schedule is None:
        return None if lr is None else Constant(value=lr)
    if schedule in preset_names():
        init = lr if lr is not None else config.lr
        if init is None:
            raise ValueError(f"resume: give --lr for the preset {schedule!r}")
        return preset(
            schedule,
            init_value=init,
            epochs=max(config.epochs - done_epochs, 1),
            steps_per_epoch=steps_per_epoch,
        )
    if schedule == AUTO:
        raise ValueError("resume: --schedule auto is not supported; give a preset or a spec")
    if lr is not None:
        raise ValueError(
            f"resume: --lr applies to a preset --schedule; {schedule!r} sets its own LRs"
        )
    return step_schedule(config.replace(schedule=schedule, lr=None), steps_per_epoch)


def _switch(old: Schedule, new: Schedule, taken: int) -> Schedule:
    return new if taken == 0 else Sequence(pieces=(old, new), durations=(taken,))


def _save(trainer: Trainer, store: RunStore, run_id: int, path: Path) -> None:
    """Checkpoint the trainer with its schedule's spec, and record the file."""
    save_checkpoint(path, {**trainer.state_dict(), "schedule": repr(trainer.schedule)})
    store.add_artifact(run_id, "checkpoint", path)


def _train(
    trainer: Trainer,
    run_id: int,
    store: RunStore,
    directory: Path,
    paths: dict[str, Path],
    progress: Progress,
    stop: StopRequest,
    began: float,
    earlier_seconds: float,
) -> RunOutcome:
    checkpoint = directory / CHECKPOINT

    def save() -> None:
        _save(trainer, store, run_id, checkpoint)

    def on_epoch_end(epoch: int, metrics: dict[str, float | None]) -> None:
        store.log_epoch(run_id, epoch, metrics)
        if metrics["loss"] is not None:
            save()

    try:
        status = trainer.fit(progress=progress, stop=stop, on_epoch_end=on_epoch_end)
        if status == INTERRUPTED:
            save()
            progress.message(f"run {run_id}: interrupted; checkpoint {checkpoint}")
        history = store.epochs(run_id)
        report = _classification_report(trainer) if status == FINISHED else None
        _write_artifacts(trainer, run_id, store, directory, paths, history, report)
    except BaseException as error:
        seconds = earlier_seconds + time.perf_counter() - began
        stopped = isinstance(error, KeyboardInterrupt)
        store.set_status(
            run_id,
            "interrupted" if stopped else "failed",
            seconds=seconds,
            error=None if stopped else f"{type(error).__name__}: {error}",
        )
        raise
    seconds = earlier_seconds + time.perf_counter() - began
    store.set_status(run_id, status, seconds=seconds)
    progress.message(f"run {run_id}: {status} in {seconds:.1f}s")
    return RunOutcome(
        run_id=run_id,
        status=status,
        directory=directory,
        history=history,
        schedule=trainer.schedule,  # type: ignore[arg-type]
        steps_per_epoch=trainer.steps_per_epoch,
        classification_report=report,
        seconds=seconds,
    )


def _classification_report(trainer: Trainer) -> str:
    from sklearn.metrics import classification_report

    names = trainer.dataset.class_names
    return str(
        classification_report(
            trainer.dataset.y_test,
            trainer.test_predictions,
            labels=list(range(len(names))),
            target_names=list(names),
            digits=4,
            zero_division=0,
        )
    )


def _write_artifacts(
    trainer: Trainer,
    run_id: int,
    store: RunStore,
    directory: Path,
    paths: dict[str, Path],
    history: list[dict[str, Any]],
    report: str | None,
) -> None:
    config = trainer.config
    title = f"{config.model} on {config.dataset}, seed {config.seed}"
    plot_lr(
        trainer.schedule,  # type: ignore[arg-type]
        total_steps=trainer.total_steps,
        steps_per_epoch=trainer.steps_per_epoch,
        path=paths["lr_plot"],
        title=f"Learning rate: {title}",
    )
    store.add_artifact(run_id, "lr_plot", paths["lr_plot"])
    if history:
        plot_training(history, paths["training_plot"], title=f"Training: {title}")
        store.add_artifact(run_id, "training_plot", paths["training_plot"])
    if report is not None:
        report_path = directory / "classification_report.txt"
        write_text_atomic(report_path, report)
        store.add_artifact(run_id, "classification_report", report_path)
