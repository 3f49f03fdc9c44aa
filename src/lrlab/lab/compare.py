"""``lrlab compare``: several schedules trained with the same budget, data and seeds.

A comparison is a base :class:`~lrlab.lab.config.RunConfig`, a list of
:class:`ScheduleEntry` and a list of seeds. Every (schedule, seed) pair is one run in the
store. The comparison writes into its directory:

- ``summary.json``: one object per run (:data:`SUMMARY_FIELDS`);
- ``lr.png``, ``val_accuracy.png``, ``val_loss.png``: overlays of the schedules (the
  metrics as mean and ±std band over seeds);
- ``report.html``: a self-contained page with the plots, the table and the
  classification reports;
- ``runs/run-<id>/``: each run's own files.

Comparison files (TOML or JSON) hold the base config's keys, ``seeds`` (a count, or a
list) and ``schedules``: each a preset name or spec text, or a table with ``label``,
``schedule`` and any run-config key that differs for that schedule (``lr``, ``unit``...).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lrlab.lab.config import RunConfig
from lrlab.lab.interrupt import StopRequest
from lrlab.lab.progress import Progress
from lrlab.lab.store import RunStore
from lrlab.schedules import preset_names

SUMMARY_FIELDS = (
    "schedule",
    "spec",
    "seed",
    "run_id",
    "val_accuracy",
    "best_val_accuracy",
    "val_loss",
    "seconds",
    "status",
)
"""The keys of each object in ``summary.json``."""

TABLE_COLUMNS = (
    ("schedule", "schedule"),
    ("runs", "runs"),
    ("val_accuracy", "final val_accuracy"),
    ("best_val_accuracy", "best val_accuracy"),
    ("val_loss", "final val_loss"),
    ("seconds", "seconds"),
)
"""The comparison table's columns: (key, header)."""


@dataclasses.dataclass(frozen=True)
class ScheduleEntry:
    """One schedule of a comparison.

    Attributes:
        label: Its name in tables and legends (unique within the comparison).
        overrides: Run-config fields for this schedule; ``schedule`` at least.
    """

    label: str
    overrides: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A base config, the schedules and the seeds to run each with."""

    base: RunConfig
    entries: tuple[ScheduleEntry, ...]
    seeds: tuple[int, ...]

    def __post_init__(self) -> None:
        """Check that labels are unique and every run config is valid.

        Raises:
            ValueError, TypeError: Naming the schedule entry and field at fault.
        """
        if not self.entries:
            raise ValueError("compare: give at least one schedule")
        if not self.seeds:
            raise ValueError("compare: give at least one seed")
        labels = [entry.label for entry in self.entries]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(f"compare: schedule labels must be unique; repeated: {repeated}")
        for entry in self.entries:
            self.config(entry, self.seeds[0])

    def config(self, entry: ScheduleEntry, seed: int) -> RunConfig:
        """The run config of one schedule and seed."""
        try:
            return self.base.replace(**entry.overrides, seed=seed)
        except (TypeError, ValueError) as error:
            raise type(error)(f"schedule {entry.label!r}: {error}") from None


def split_schedules(text: str) -> list[str]:
    """Split ``--schedules`` at commas outside parentheses.

    >>> split_schedules("none,step,cosine(init_value=0.1, total_steps=10)")
    ['none', 'step', 'cosine(init_value=0.1, total_steps=10)']
    """
    parts, depth, current = [], 0, []
    for char in text:
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    if not all(parts):
        raise ValueError(f"--schedules has an empty entry: {text!r}")
    return parts


def entry_from(item: Any) -> ScheduleEntry:
    """A :class:`ScheduleEntry` from a string (label = the string) or a table with
    ``schedule`` and optional ``label``.

    Raises:
        TypeError: If ``item`` is neither, or the table lacks ``schedule``.
    """
    if isinstance(item, str):
        return ScheduleEntry(label=item, overrides={"schedule": item})
    if isinstance(item, Mapping) and isinstance(item.get("schedule"), str):
        overrides = {key: value for key, value in item.items() if key != "label"}
        return ScheduleEntry(label=str(item.get("label", item["schedule"])), overrides=overrides)
    raise TypeError(
        f"compare: a schedule entry must be a string or a table with a 'schedule' string, "
        f"got {item!r}"
    )


def seeds_from(value: Any) -> tuple[int, ...]:
    """Seeds from a count ``n`` (seeds ``0..n-1``) or an explicit list.

    Raises:
        TypeError, ValueError: If ``value`` is not a positive count or a list of ints >= 0.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 1:
            raise ValueError(f"compare: seeds must be >= 1, got {value!r}")
        return tuple(range(value))
    if isinstance(value, list | tuple) and value:
        for seed in value:
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ValueError(f"compare: each seed must be an integer >= 0, got {seed!r}")
        return tuple(value)
    raise TypeError(f"compare: seeds must be a count or a list of integers, got {value!r}")


def read_comparison_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The raw table of a ``.toml`` or ``.json`` comparison file.

    Raises:
        ValueError: If the file is missing, unreadable or not a table.
    """
    source = Path(path)
    if not source.is_file():
        raise ValueError(f"compare: no such config file: {str(source)!r}")
    try:
        if source.suffix.lower() == ".toml":
            table = tomllib.loads(source.read_text(encoding="utf-8"))
        elif source.suffix.lower() == ".json":
            table = json.loads(source.read_text(encoding="utf-8"))
        else:
            raise ValueError("the file must end in .toml or .json")
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"compare: config file {str(source)!r}: {error}") from None
    if not isinstance(table, dict):
        raise ValueError(f"compare: config file {str(source)!r} must hold a table")
    return table


def comparison_from(
    table: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
) -> Comparison:
    """Build a :class:`Comparison` from a config table (see module docs).

    Args:
        table: The comparison's settings, as a config file holds them.
        overrides: Run-config fields that win over the table and over every schedule
            entry (command-line flags); an ``lr`` here replaces the LR of preset entries.

    Raises:
        TypeError, ValueError: For a missing or invalid key.
    """
    forced = dict(overrides or {})
    values = {**table, **forced}
    if "schedules" not in values:
        raise ValueError("compare: the config needs 'schedules'")
    items = values.pop("schedules")
    if isinstance(items, str):
        items = split_schedules(items)
    if not isinstance(items, list):
        raise TypeError(f"compare: schedules must be a list, got {items!r}")
    seeds = seeds_from(values.pop("seeds", 1))
    for entry_key in ("schedule", "seed"):
        if entry_key in values:
            raise ValueError(f"compare: {entry_key!r} is set per run; use 'schedules'/'seeds'")
    lr = values.pop("lr", None)
    base = RunConfig.from_dict(values)
    entries = []
    for item in items:
        entry = entry_from(item)
        kept = {key: value for key, value in entry.overrides.items() if key not in forced}
        entry = ScheduleEntry(entry.label, kept)
        entries.append(entry if lr is None else _lr_for_presets(entry, lr))
    return Comparison(base=base, entries=tuple(entries), seeds=seeds)


def _lr_for_presets(entry: ScheduleEntry, lr: float) -> ScheduleEntry:
    """A comparison-wide ``lr`` applies to the preset entries (spec text has its own)."""
    if entry.overrides["schedule"] not in preset_names() or "lr" in entry.overrides:
        return entry
    return ScheduleEntry(entry.label, {**entry.overrides, "lr": lr})


def _mean_std(values: Sequence[float | None]) -> tuple[float, float] | None:
    finite = [value for value in values if value is not None and math.isfinite(value)]
    if not finite:
        return None
    return float(np.mean(finite)), float(np.std(finite))


def aggregate(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per schedule (in first-seen order): the run count by status, and mean ± std over its
    runs of the final and best val accuracy, the final val loss and the seconds.

    Only finite values count: a run that diverged has no final metrics, so it adds its
    best val accuracy and its seconds only; an interrupted run adds its last epoch. The
    ``runs`` column shows how many runs of each status are behind the numbers.
    """
    labels = list(dict.fromkeys(row["schedule"] for row in rows))
    table = []
    for label in labels:
        mine = [row for row in rows if row["schedule"] == label]
        statuses = [row["status"] for row in mine]
        counts = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses))
        record: dict[str, Any] = {"schedule": label, "runs": counts}
        for key in ("val_accuracy", "best_val_accuracy", "val_loss", "seconds"):
            record[key] = _mean_std([row[key] for row in mine])
        table.append(record)
    return table


def format_cell(value: Any, key: str) -> str:
    """``0.9123 ± 0.0041`` for a (mean, std) pair, ``-`` for none, ``str`` otherwise."""
    if value is None:
        return "-"
    if isinstance(value, tuple):
        digits = 1 if key == "seconds" else 4
        return f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"
    return str(value)


def aligned_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], *, rule: bool = False
) -> str:
    """Plain-text columns, each as wide as its widest cell, two spaces apart; with ``rule``
    a line of dashes under the header.

    >>> print(aligned_table(["a", "bb"], [["xyz", "1"]], rule=True))
    a    bb
    ---  --
    xyz  1
    """
    lines = [list(header), *(list(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    if rule:
        lines.insert(1, ["-" * width for width in widths])
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def format_table(aggregated: Sequence[Mapping[str, Any]]) -> str:
    """The comparison table as aligned plain text, one schedule per line."""
    header = [title for _, title in TABLE_COLUMNS]
    lines = [[format_cell(row[key], key) for key, _ in TABLE_COLUMNS] for row in aggregated]
    return aligned_table(header, lines, rule=True)


@dataclasses.dataclass(frozen=True)
class ComparisonOutcome:
    """What a comparison produced.

    Attributes:
        rows: One summary object per run that ran (:data:`SUMMARY_FIELDS`).
        table: The aggregated rows, one per schedule.
        directory: Where ``summary.json``, the plots and ``report.html`` are.
        interrupted: Whether a stop signal cut a run short or skipped runs.
    """

    rows: list[dict[str, Any]]
    table: list[dict[str, Any]]
    directory: Path
    interrupted: bool


def run_comparison(
    comparison: Comparison,
    *,
    store: RunStore,
    out_dir: str | os.PathLike[str],
    progress: Progress,
    stop: StopRequest,
    data_dir: str | os.PathLike[str] | None = None,
    command: str | None = None,
) -> ComparisonOutcome:
    """Run every schedule with every seed, then write the summary, plots and report.

    A stop signal interrupts the current run (which keeps its checkpoint) and skips the
    rest; the files then cover the runs done so far.

    Args:
        comparison: What to run.
        store: Where the runs are recorded.
        out_dir: The comparison's directory.
        progress: Receives the runs' progress lines.
        stop: Polled after every optimizer step.
        data_dir: Where the dataset's file is.
        command: The command line, shown in the report.

    Returns:
        The outcome.
    """
    from lrlab.lab.run import load_run_data, start_run

    directory = Path(out_dir)
    rows: list[dict[str, Any]] = []
    outcomes: dict[str, list[Any]] = {}
    datasets: dict[tuple[Any, ...], Any] = {}  # each split is loaded once for all its runs
    for entry in comparison.entries:
        for seed in comparison.seeds:
            if stop.requested:
                break
            config = comparison.config(entry, seed)
            split = (config.dataset, config.data_seed, config.limit)
            if split not in datasets:
                datasets[split] = load_run_data(config, data_dir)
            outcome = start_run(
                config,
                store=store,
                out_dir=directory / "runs",
                progress=progress,
                stop=stop,
                dataset=datasets[split],
            )
            outcomes.setdefault(entry.label, []).append(outcome)
            rows.append(_summary_row(entry.label, seed, outcome))
    table = aggregate(rows)
    if rows:
        _write_outputs(comparison, directory, rows, table, outcomes, command)
    planned = len(comparison.entries) * len(comparison.seeds)
    cut = len(rows) < planned or any(row["status"] == "interrupted" for row in rows)
    return ComparisonOutcome(rows, table, directory, interrupted=cut)


def _summary_row(label: str, seed: int, outcome: Any) -> dict[str, Any]:
    history = outcome.history
    accuracies = [e["val_accuracy"] for e in history if e["val_accuracy"] is not None]
    last = history[-1] if history else {}
    return {
        "schedule": label,
        "spec": repr(outcome.schedule),
        "seed": seed,
        "run_id": outcome.run_id,
        "val_accuracy": last.get("val_accuracy"),
        "best_val_accuracy": max(accuracies) if accuracies else None,
        "val_loss": last.get("val_loss"),
        "seconds": outcome.seconds,
        "status": outcome.status,
    }


def _write_outputs(
    comparison: Comparison,
    directory: Path,
    rows: list[dict[str, Any]],
    table: list[dict[str, Any]],
    outcomes: Mapping[str, list[Any]],
    command: str | None,
) -> None:
    from lrlab._files import write_text_atomic
    from lrlab.lab.plots import plot_lr_overlay, plot_metric_overlay
    from lrlab.lab.report import write_html_report

    directory.mkdir(parents=True, exist_ok=True)
    write_text_atomic(directory / "summary.json", json.dumps(rows, indent=2) + "\n")
    images = {}
    curves = {}
    epochs = {entry.label: comparison.config(entry, 0).epochs for entry in comparison.entries}
    for label, runs in outcomes.items():
        first = runs[0]
        x = np.arange(first.steps_per_epoch * epochs[label], dtype=np.float64)
        curves[label] = (x / first.steps_per_epoch, first.schedule(x))
    images["Learning rate"] = plot_lr_overlay(curves, directory / "lr.png")
    for metric in ("val_accuracy", "val_loss"):
        series = {
            label: [[epoch[metric] for epoch in run.history] for run in runs if run.history]
            for label, runs in outcomes.items()
        }
        series = {label: seeds for label, seeds in series.items() if seeds}
        if series:
            images[metric] = plot_metric_overlay(series, metric, directory / f"{metric}.png")
    base = comparison.base
    notes = [
        f"{base.model} on {base.dataset}: {base.epochs} epochs, batch {base.batch_size}, "
        f"{base.optimizer}, seeds {list(comparison.seeds)}",
    ]
    if command:
        notes.append(f"Command: {command}")
    reports = {
        f"{label} (run {runs[0].run_id}, seed {comparison.seeds[0]})": runs[0].classification_report
        for label, runs in outcomes.items()
        if runs[0].classification_report is not None
    }
    display = [{key: format_cell(row[key], key) for key, _ in TABLE_COLUMNS} for row in table]
    write_html_report(
        directory / "report.html",
        title=f"Schedule comparison: {base.model} on {base.dataset}",
        summary_rows=display,
        columns=TABLE_COLUMNS,
        images=images,
        classification_reports=reports,
        notes=notes,
    )
