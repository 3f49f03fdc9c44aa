"""Tests for the training engine and run orchestration (real torch on the CPU, real SQLite)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from PIL import Image  # noqa: E402

from lrlab.lab.checkpoint import load_checkpoint  # noqa: E402
from lrlab.lab.config import RunConfig  # noqa: E402
from lrlab.lab.interrupt import StopRequest  # noqa: E402
from lrlab.lab.progress import LineProgress  # noqa: E402
from lrlab.lab.run import resume_run, start_run  # noqa: E402
from lrlab.lab.store import open_store  # noqa: E402

COMPARED = ("loss", "accuracy", "val_loss", "val_accuracy", "lr")


class StopAfter(LineProgress):
    """Silent progress that asks the run to stop after ``batches`` optimizer steps."""

    def __init__(self, stop: StopRequest, batches: int) -> None:
        super().__init__(None)
        self._stop, self._left = stop, batches

    def advance(self) -> None:
        self._left -= 1
        if self._left == 0:
            self._stop.request(2)


def quiet() -> LineProgress:
    return LineProgress(None)


def metrics(history: list[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(epoch[key] for key in COMPARED) for epoch in history]


def digits(**changes: Any) -> RunConfig:
    settings: dict[str, Any] = {
        "dataset": "digits",
        "model": "mlp",
        "schedule": "one_cycle",
        "lr": 0.2,
        "epochs": 4,
        "batch_size": 64,
    }
    settings.update(changes)
    return RunConfig(**settings)


def assert_png(path: Path) -> None:
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    assert image.width >= 400 and pixels.std() > 10.0


def test_a_run_learns_and_records_everything(tmp_path: Path) -> None:
    with open_store(tmp_path / "runs.db") as store:
        outcome = start_run(digits(), store=store, out_dir=tmp_path, progress=quiet(),
                            stop=StopRequest())  # fmt: skip
        record = store.run(outcome.run_id)
        history = store.epochs(outcome.run_id)
    assert outcome.status == record["status"] == "finished"
    assert len(history) == 4 and history == outcome.history
    # digits has 10 balanced classes: chance is 0.10.
    assert history[-1]["val_accuracy"] > 0.85
    assert record["schedule"] == repr(outcome.schedule)
    assert record["schedule"].startswith("one_cycle(peak_value=0.2, total_steps=88")
    assert record["config"]["schedule"] == "one_cycle" and record["versions"]["torch"]
    kinds = {artifact["kind"]: Path(artifact["path"]) for artifact in record["artifacts"]}
    assert set(kinds) == {"checkpoint", "lr_plot", "training_plot", "classification_report"}
    for kind in ("lr_plot", "training_plot"):
        assert_png(kinds[kind])
    report = kinds["classification_report"].read_text()
    assert report == outcome.classification_report
    assert "precision" in report and "macro avg" in report and "\n           9 " in report
    assert load_checkpoint(kinds["checkpoint"])["epoch"] == 4
    lrs = [epoch["lr"] for epoch in history]
    assert lrs == [outcome.schedule(22.0 * epoch) for epoch in range(4)]


def test_same_seed_same_metrics_other_seed_differs(tmp_path: Path) -> None:
    runs = []
    with open_store(tmp_path / "runs.db") as store:
        for seed in (3, 3, 4):
            config = digits(seed=seed, epochs=2, augment=())
            runs.append(
                start_run(
                    config, store=store, out_dir=tmp_path, progress=quiet(), stop=StopRequest()
                ).history  # fmt: skip
            )
    assert metrics(runs[0]) == metrics(runs[1])
    assert metrics(runs[0]) != metrics(runs[2])


@pytest.mark.parametrize("stop_after", [1, 30, 44, 45])
def test_stop_then_resume_equals_the_uninterrupted_run(tmp_path: Path, stop_after: int) -> None:
    """Stop after any step (mid-epoch, an epoch's last step, the first of the next)."""
    config = digits(model_options={"hidden": 48})
    with open_store(tmp_path / "runs.db") as store:
        whole = start_run(config, store=store, out_dir=tmp_path, progress=quiet(),
                          stop=StopRequest())  # fmt: skip
        stop = StopRequest()
        cut = start_run(config, store=store, out_dir=tmp_path,
                        progress=StopAfter(stop, stop_after), stop=stop)  # fmt: skip
        assert cut.status == "interrupted"
        assert store.run(cut.run_id)["status"] == "interrupted"
        state = load_checkpoint(cut.directory / "checkpoint.pt")
        steps = 22 * state["epoch"] + state["batch"]
        # A stop at an epoch's last step still evaluates that epoch, then stops.
        assert steps == stop_after
        resumed = resume_run(cut.run_id, store=store, progress=quiet(), stop=StopRequest())
        assert resumed.status == "finished"
        assert len(store.run(cut.run_id)["segments"]) == 1
        final_cut = load_checkpoint(cut.directory / "checkpoint.pt")["model"]
        final_whole = load_checkpoint(whole.directory / "checkpoint.pt")["model"]
    assert metrics(resumed.history) == metrics(whole.history)
    for name, tensor in final_whole.items():
        assert torch.equal(tensor, final_cut[name]), name


def test_resume_with_a_new_lr_applies_from_the_next_step_and_is_recorded(tmp_path: Path) -> None:
    config = digits(schedule="none", lr=0.1)
    with open_store(tmp_path / "runs.db") as store:
        stop = StopRequest()
        cut = start_run(config, store=store, out_dir=tmp_path, progress=StopAfter(stop, 30),
                        stop=stop)  # fmt: skip
        # pytest turns warnings into errors: the expected schedule change warns nothing.
        resumed = resume_run(cut.run_id, store=store, progress=quiet(), stop=StopRequest(),
                             lr=0.001)  # fmt: skip
        record = store.run(cut.run_id)
        segments_of_epochs = [epoch["segment"] for epoch in store.epochs(cut.run_id)]
    assert segments_of_epochs == [0, 1, 1, 1]
    assert [epoch["lr"] for epoch in resumed.history] == [0.1, 0.1, 0.001, 0.001]
    assert [segment["segment"] for segment in record["segments"]] == [0, 1]
    change = record["segments"][1]
    assert change["start_epoch"] == 1 and "--lr 0.001" in change["reason"]
    assert "resume at step 30" in change["reason"]
    spec = "sequence(constant(value=0.1), constant(value=0.001), durations=[30])"
    assert record["schedule"] == change["schedule"] == repr(resumed.schedule) == spec
    assert resumed.schedule(29.0) == 0.1 and resumed.schedule(30.0) == 0.001


def test_resume_with_a_preset_schedule_and_more_epochs(tmp_path: Path) -> None:
    with open_store(tmp_path / "runs.db") as store:
        first = start_run(digits(schedule="none", lr=0.05, epochs=2), store=store,
                          out_dir=tmp_path, progress=quiet(), stop=StopRequest())  # fmt: skip
        with pytest.raises(ValueError, match="has done all 2 epochs; give --epochs"):
            resume_run(first.run_id, store=store, progress=quiet(), stop=StopRequest())
        more = resume_run(first.run_id, store=store, progress=quiet(), stop=StopRequest(),
                          schedule="linear", lr=0.02, epochs=4)  # fmt: skip
        record = store.run(first.run_id)
    assert more.status == "finished" and len(more.history) == 4
    assert record["config"]["epochs"] == 4
    lrs = [epoch["lr"] for epoch in more.history]
    # linear over the 2 remaining epochs: 0.02, then 0.01.
    assert lrs[:2] == [0.05, 0.05] and lrs[2] == 0.02 and lrs[3] == pytest.approx(0.01)


def test_a_diverging_run_stops_cleanly_and_keeps_its_history(tmp_path: Path) -> None:
    config = digits(schedule="none", lr=1e30, epochs=5)
    with open_store(tmp_path / "runs.db") as store:
        outcome = start_run(config, store=store, out_dir=tmp_path, progress=quiet(),
                            stop=StopRequest())  # fmt: skip
        record = store.run(outcome.run_id)
        assert store.integrity_check() == "ok"
    assert outcome.status == record["status"] == "diverged"
    assert outcome.history and outcome.history[-1]["loss"] is None
    assert len(outcome.history) < 5
    assert outcome.classification_report is None
    kinds = {artifact["kind"] for artifact in record["artifacts"]}
    assert {"lr_plot", "training_plot"} <= kinds


def test_a_failing_run_is_marked_failed_with_its_error(tmp_path: Path) -> None:
    config = digits(model_options={"no_such_option": 1})
    with open_store(tmp_path / "runs.db") as store:
        with pytest.raises(TypeError, match="no_such_option"):
            start_run(config, store=store, out_dir=tmp_path, progress=quiet(),
                      stop=StopRequest())  # fmt: skip
        assert store.runs() == []  # the model is built before the run is recorded


def test_auto_schedule_runs_the_range_test_then_one_cycle(tmp_path: Path) -> None:
    with open_store(tmp_path / "runs.db") as store:
        outcome = start_run(digits(schedule="auto", lr=None, epochs=3), store=store,
                            out_dir=tmp_path, progress=quiet(), stop=StopRequest())  # fmt: skip
        record = store.run(outcome.run_id)
    assert record["schedule"].startswith("one_cycle(peak_value=")
    peak = outcome.schedule.peak_value
    assert 1e-4 < peak < 10.0 and math.isfinite(peak)
    assert outcome.history[-1]["val_accuracy"] > 0.8  # chance: 0.10
    kinds = {artifact["kind"]: artifact["path"] for artifact in record["artifacts"]}
    assert_png(Path(kinds["range_test_plot"]))


def test_resume_refuses_a_live_run_and_a_run_without_checkpoint(tmp_path: Path) -> None:
    with open_store(tmp_path / "runs.db") as store:
        run_id = store.create_run(dataset="digits", model="mlp", schedule="constant(value=0.1)",
                                  seed=0, config=digits().to_dict(), versions={})  # fmt: skip
        with pytest.raises(ValueError, match=f"run {run_id} is still running"):
            resume_run(run_id, store=store, progress=quiet(), stop=StopRequest())
        store.set_status(run_id, "interrupted")
        with pytest.raises(ValueError, match="has no checkpoint file"):
            resume_run(run_id, store=store, progress=quiet(), stop=StopRequest())


def test_an_epoch_unit_spec_changes_the_lr_at_epoch_boundaries(tmp_path: Path) -> None:
    config = digits(schedule="step(init_value=0.1, factor=0.5, every=2)", lr=None, unit="epoch")
    with open_store(tmp_path / "runs.db") as store:
        outcome = start_run(config, store=store, out_dir=tmp_path, progress=quiet(),
                            stop=StopRequest())  # fmt: skip
    assert [epoch["lr"] for epoch in outcome.history] == [0.1, 0.1, 0.05, 0.05]
    assert outcome.schedule(43.0) == 0.1 and outcome.schedule(44.0) == 0.05


def test_resume_with_spec_text_after_a_preset_run(tmp_path: Path) -> None:
    with open_store(tmp_path / "runs.db") as store:
        first = start_run(digits(schedule="none", lr=0.05, epochs=2), store=store,
                          out_dir=tmp_path, progress=quiet(), stop=StopRequest())  # fmt: skip
        spec = "cosine(init_value=0.02, total_steps=44)"
        with pytest.raises(ValueError, match="--lr applies to a preset --schedule"):
            resume_run(first.run_id, store=store, progress=quiet(), stop=StopRequest(),
                       schedule=spec, lr=0.1, epochs=4)  # fmt: skip
        more = resume_run(first.run_id, store=store, progress=quiet(), stop=StopRequest(),
                          schedule=spec, epochs=4)  # fmt: skip
    assert [epoch["lr"] for epoch in more.history][1:] == [0.05, 0.02, 0.01]


def test_a_single_leftover_example_joins_the_last_batch() -> None:
    """65 images in batches of 32: BatchNorm1d (minivggnet's head) cannot train on 1."""
    from lrlab.lab.data import Dataset
    from lrlab.lab.train import Trainer, batch_starts

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, size=(81, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(81, dtype=np.int64) % 2
    data = Dataset("noise", pixels[:65], labels[:65], pixels[65:], labels[65:], ("a", "b"), "-")
    trainer = Trainer(RunConfig(dataset="noise", model="minivggnet", epochs=1), data)
    schedule = trainer.config.resolve_schedule(2)
    trainer.attach_schedule(schedule)
    assert trainer.steps_per_epoch == 2 and batch_starts(65, 32) == [0, 32, 65]
    seen: list[dict[str, Any]] = []
    status = trainer.fit(progress=quiet(), stop=StopRequest(),
                         on_epoch_end=lambda epoch, metrics: seen.append(metrics))  # fmt: skip
    assert status == "finished" and schedule(0.0) == 0.01
    assert seen[0]["accuracy"] is not None and 0.0 <= seen[0]["accuracy"] <= 1.0


def test_resume_says_when_a_finite_schedule_has_ended(tmp_path: Path) -> None:
    import io

    with open_store(tmp_path / "runs.db") as store:
        first = start_run(digits(schedule="cosine", lr=0.1, epochs=2), store=store,
                          out_dir=tmp_path, progress=quiet(), stop=StopRequest())  # fmt: skip
        shown = io.StringIO()
        resume_run(first.run_id, store=store, progress=LineProgress(shown),
                   stop=StopRequest(), epochs=3)  # fmt: skip
        spec_run = start_run(digits(schedule="constant(value=0.1)", lr=None, epochs=1),
                             store=store, out_dir=tmp_path, progress=quiet(),
                             stop=StopRequest())  # fmt: skip
        with pytest.raises(ValueError, match="give --lr for the preset 'linear'"):
            resume_run(spec_run.run_id, store=store, progress=quiet(), stop=StopRequest(),
                       schedule="linear", epochs=2)  # fmt: skip
    assert "the schedule ends at step 44; the LR then stays at 0 until step 66" in shown.getvalue()


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_compile_trains_and_checkpoints_the_plain_module(tmp_path: Path) -> None:
    config = RunConfig(dataset="synthetic", model="mlp", schedule="one_cycle", lr=0.1,
                       epochs=2, compile=True)  # fmt: skip
    with open_store(tmp_path / "runs.db") as store:
        outcome = start_run(config, store=store, out_dir=tmp_path, progress=quiet(),
                            stop=StopRequest())  # fmt: skip
    assert outcome.status == "finished"
    assert outcome.history[-1]["val_accuracy"] > 0.9  # 3 separable blobs; chance is 1/3
    keys = list(load_checkpoint(outcome.directory / "checkpoint.pt")["model"])
    assert keys[0] == "0.weight" and not any(key.startswith("_orig_mod") for key in keys)


def test_a_loaded_dataset_must_be_the_configs(tmp_path: Path) -> None:
    from lrlab.lab.data import load_dataset

    with open_store(tmp_path / "runs.db") as store, pytest.raises(ValueError, match="'synthetic'"):
        start_run(digits(), store=store, out_dir=tmp_path, progress=quiet(), stop=StopRequest(),
                  dataset=load_dataset("synthetic"))  # fmt: skip
