"""Comparisons: parsing their settings, aggregating over seeds, and a stop mid-comparison."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lrlab.lab.compare import (
    aggregate,
    comparison_from,
    entry_from,
    format_table,
    read_comparison_file,
    seeds_from,
    split_schedules,
)


def row(label: str, accuracy: float | None, status: str = "finished") -> dict[str, Any]:
    return {"schedule": label, "val_accuracy": accuracy, "best_val_accuracy": accuracy,
            "val_loss": 0.5, "seconds": 2.0, "status": status}  # fmt: skip


def test_split_schedules_keeps_spec_text_whole() -> None:
    text = "none, step ,cyclic(base_value=0.001, max_value=0.1, step_size_up=10),sequence(" \
        "constant(value=0.1), constant(value=0.01), durations=[5, ])"  # fmt: skip
    assert split_schedules(text) == [
        "none",
        "step",
        "cyclic(base_value=0.001, max_value=0.1, step_size_up=10)",
        "sequence(constant(value=0.1), constant(value=0.01), durations=[5, ])",
    ]
    with pytest.raises(ValueError, match="empty entry"):
        split_schedules("none,,step")


def test_seeds_and_entries_are_checked() -> None:
    assert seeds_from(3) == (0, 1, 2) and seeds_from([7, 2]) == (7, 2)
    for bad in (0, -1, [1, -2], [True]):
        with pytest.raises(ValueError, match="seed"):
            seeds_from(bad)
    for bad in ("3", [], 1.5):
        with pytest.raises(TypeError, match="seeds must be a count or a list"):
            seeds_from(bad)
    assert entry_from({"label": "a", "schedule": "none", "lr": 0.2}).overrides == {
        "schedule": "none", "lr": 0.2,
    }  # fmt: skip
    with pytest.raises(TypeError, match="'schedule' string"):
        entry_from({"label": "a"})


def test_a_shared_lr_goes_to_presets_only_and_entries_override_fields() -> None:
    comparison = comparison_from(
        {
            "dataset": "digits",
            "model": "mlp",
            "lr": 0.2,
            "epochs": 3,
            "seeds": 2,
            "schedules": [
                "none",
                {
                    "label": "mine",
                    "schedule": "constant(value=0.05)",
                    "unit": "epoch",
                    "batch_size": 16,
                },
            ],
        }  # fmt: skip
    )
    preset_run = comparison.config(comparison.entries[0], 1)
    spec_run = comparison.config(comparison.entries[1], 0)
    assert (preset_run.lr, preset_run.seed, preset_run.epochs) == (0.2, 1, 3)
    assert (spec_run.lr, spec_run.unit, spec_run.batch_size) == (None, "epoch", 16)


@pytest.mark.parametrize(
    ("table", "error", "message"),
    [
        ({"dataset": "d", "model": "m"}, ValueError, "needs 'schedules'"),
        (
            {"dataset": "d", "model": "m", "schedules": "none", "seed": 1},
            ValueError,
            "'seed' is set per run",
        ),  # fmt: skip
        ({"dataset": "d", "model": "m", "schedules": "none,none"}, ValueError, "unique"),
        (
            {"dataset": "d", "model": "m", "schedules": ["none"], "colour": 1},
            TypeError,
            "unknown key 'colour'",
        ),  # fmt: skip
        (
            {"dataset": "d", "model": "m", "schedules": [{"schedule": "none", "epochs": 0}]},
            ValueError,
            "schedule 'none': run config: epochs must be >= 1",
        ),  # fmt: skip
        ({"dataset": "d", "model": "m", "schedules": 5}, TypeError, "schedules must be a list"),
    ],
)
def test_bad_comparisons_name_the_problem(
    table: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        comparison_from(table)


def test_config_files_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('dataset = "digits"\nmodel = "mlp"\nschedules = ["none"]\n')
    assert read_comparison_file(toml)["schedules"] == ["none"]
    as_json = tmp_path / "c.json"
    as_json.write_text(json.dumps({"dataset": "digits", "model": "mlp", "schedules": "none"}))
    assert comparison_from(read_comparison_file(as_json)).entries[0].label == "none"
    (tmp_path / "bad.toml").write_text("dataset = \n")
    with pytest.raises(ValueError, match="bad.toml"):
        read_comparison_file(tmp_path / "bad.toml")
    (tmp_path / "c.yaml").write_text("x: 1\n")
    with pytest.raises(ValueError, match=r"\.toml or \.json"):
        read_comparison_file(tmp_path / "c.yaml")


def test_aggregate_is_mean_and_std_over_finite_values_and_counts_statuses() -> None:
    rows = [row("a", 0.8), row("a", 0.9), row("b", 0.5), row("b", None, "diverged")]
    table = aggregate(rows)
    assert [entry["schedule"] for entry in table] == ["a", "b"]
    assert table[0]["val_accuracy"] == pytest.approx((0.85, 0.05))
    assert table[1]["val_accuracy"] == (0.5, 0.0)
    assert table[1]["runs"] == "1 finished, 1 diverged"
    text = format_table(table)
    lines = text.splitlines()
    assert lines[0].startswith("schedule  runs") and set(lines[1]) == {"-", " "}
    assert "0.8500 ± 0.0500" in lines[2] and "2.0 ± 0.0" in lines[2]
    diverged = aggregate([row("c", None, "diverged")])
    assert diverged[0]["val_accuracy"] is None
    assert format_table(diverged).splitlines()[2].split()[:5] == ["c", "1", "diverged", "-", "-"]


def test_a_stop_ends_the_comparison_after_the_current_run(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from lrlab.lab.compare import run_comparison
    from lrlab.lab.interrupt import StopRequest
    from lrlab.lab.progress import LineProgress
    from lrlab.lab.store import open_store

    class StopInSecondRun(LineProgress):
        def __init__(self, stop: StopRequest) -> None:
            super().__init__(None)
            self.stop, self.steps = stop, 0

        def advance(self) -> None:
            self.steps += 1
            if self.steps == 30:  # synthetic: 25 steps per epoch, 1 epoch per run
                self.stop.request(2)

    comparison = comparison_from({"dataset": "synthetic", "model": "mlp", "epochs": 1,
                                  "schedules": "none,cosine,step", "seeds": 1})  # fmt: skip
    stop = StopRequest()
    with open_store(tmp_path / "runs.db") as store:
        outcome = run_comparison(comparison, store=store, out_dir=tmp_path,
                                 progress=StopInSecondRun(stop), stop=stop)  # fmt: skip
        statuses = [run["status"] for run in store.runs()]
    assert outcome.interrupted and statuses == ["finished", "interrupted"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [r["status"] for r in summary] == ["finished", "interrupted"]
    assert (tmp_path / "report.html").is_file()


def test_flags_win_over_the_file_and_its_entries() -> None:
    table = {"dataset": "digits", "model": "mlp", "epochs": 50, "lr": 0.1,
             "schedules": [{"schedule": "none", "epochs": 30, "lr": 0.2},
                           {"schedule": "constant(value=0.3)", "batch_size": 8}]}  # fmt: skip
    comparison = comparison_from(table, {"epochs": 2, "lr": 0.05})
    first, second = (comparison.config(entry, 0) for entry in comparison.entries)
    assert (first.epochs, first.lr) == (2, 0.05)
    assert (second.epochs, second.lr, second.batch_size) == (2, None, 8)
