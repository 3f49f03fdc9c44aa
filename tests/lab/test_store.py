"""The SQLite run store: schema migrations, WAL, runs, epochs, segments, artifacts."""

from __future__ import annotations

import math
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from lrlab.lab.store import MIGRATIONS, SCHEMA_VERSION, default_store_path, open_store

RUN = {
    "dataset": "ionosphere",
    "model": "mlp",
    "schedule": "inverse_time(init_value=0.1, decay_rate=0.002)",
    "seed": 0,
    "config": {"epochs": 50, "batch_size": 28, "optimizer": "sgd", "momentum": 0.8},
    "versions": {"lrlab": "0.1.0", "torch": "2.13.0"},
}


def test_a_new_store_is_a_wal_sqlite_file_at_the_latest_schema(tmp_path: Path) -> None:
    with open_store(tmp_path / "deep" / "runs.db") as store:
        assert store.integrity_check() == "ok"
    raw = sqlite3.connect(tmp_path / "deep" / "runs.db")
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(MIGRATIONS)
    tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "metrics", "artifacts", "segments"} <= tables


def test_run_life_cycle(tmp_path: Path) -> None:
    with open_store(tmp_path / "runs.db") as store:
        run_id = store.create_run(**RUN)
        for epoch in range(3):
            store.log_epoch(
                run_id, epoch,
                {"loss": 0.5 - 0.1 * epoch, "accuracy": 0.8, "val_loss": 0.6,
                 "val_accuracy": 0.85 + 0.05 * (epoch == 1), "lr": 0.1, "seconds": 0.2},
            )  # fmt: skip
        store.add_artifact(run_id, "lr_plot", tmp_path / "lr.png")
        store.set_status(run_id, "finished", seconds=1.25)
        record = store.run(run_id)
    assert record["status"] == "finished" and record["seconds"] == 1.25
    assert record["config"] == RUN["config"] and record["versions"] == RUN["versions"]
    assert record["val_accuracy"] == pytest.approx(0.85)
    assert record["best_val_accuracy"] == pytest.approx(0.9)
    assert record["segments"][0]["schedule"] == RUN["schedule"]
    assert record["artifacts"][0]["kind"] == "lr_plot"
    with open_store(tmp_path / "runs.db") as reopened:  # committed, durable
        epochs = reopened.epochs(run_id)
    assert [row["epoch"] for row in epochs] == [0, 1, 2]
    assert epochs[2]["loss"] == pytest.approx(0.3)


def test_diverged_run_keeps_its_history_and_nan(tmp_path: Path) -> None:
    with open_store(tmp_path / "runs.db") as store:
        run_id = store.create_run(**RUN)
        store.log_epoch(run_id, 0, {"loss": 0.7, "lr": 10.0})
        store.log_epoch(run_id, 1, {"loss": math.nan, "val_loss": math.inf, "lr": 10.0})
        store.set_status(run_id, "diverged")
        epochs = store.epochs(run_id)
        assert store.run(run_id)["status"] == "diverged"
    assert epochs[0]["loss"] == 0.7 and epochs[1]["lr"] == 10.0
    assert epochs[1]["loss"] is None and epochs[1]["val_loss"] == math.inf


def test_segments_record_a_resume_with_a_new_lr(tmp_path: Path) -> None:
    with open_store(tmp_path / "runs.db") as store:
        run_id = store.create_run(**RUN)
        store.log_epoch(run_id, 0, {"loss": 1.0})
        store.set_status(run_id, "interrupted")
        segment = store.start_segment(run_id, 1, "constant(value=0.01)", "resume --lr 0.01")
        store.log_epoch(run_id, 1, {"loss": 0.9})
        record, epochs = store.run(run_id), store.epochs(run_id)
    assert segment == 1 and record["schedule"] == "constant(value=0.01)"
    assert [s["reason"] for s in record["segments"]] == ["start", "resume --lr 0.01"]
    assert [row["segment"] for row in epochs] == [0, 1]


def test_filters_and_delete(tmp_path: Path) -> None:
    with open_store(tmp_path / "runs.db") as store:
        first = store.create_run(**RUN)
        second = store.create_run(**{**RUN, "model": "minivggnet", "dataset": "cifar10"})
        store.set_status(second, "failed", error="CUDA out of memory")
        assert [run["id"] for run in store.runs()] == [first, second]
        assert [run["id"] for run in store.runs(status="failed")] == [second]
        assert [run["id"] for run in store.runs(dataset="ionosphere", model="mlp")] == [first]
        store.log_epoch(second, 0, {"loss": 1.0})
        store.add_artifact(second, "report", "r.html")
        store.delete_run(second)
        assert [run["id"] for run in store.runs()] == [first]
        leftovers = store._connection.execute(
            "SELECT (SELECT COUNT(*) FROM metrics WHERE run_id = ?) + "
            "(SELECT COUNT(*) FROM artifacts WHERE run_id = ?)", (second, second)
        ).fetchone()[0]  # fmt: skip
        assert leftovers == 0
        with pytest.raises(ValueError, match="no run with id"):
            store.run(second)


def test_a_version_1_store_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.executescript(MIGRATIONS[0])
    raw.execute(
        "INSERT INTO runs (created_at, updated_at, status, dataset, model, schedule, seed, "
        "config, versions) VALUES ('t', 't', 'finished', 'digits', 'mlp', 'none', 1, '{}', '{}')"
    )
    raw.execute("INSERT INTO metrics (run_id, epoch, loss) VALUES (1, 0, 0.5)")
    raw.execute("PRAGMA user_version = 1")
    raw.commit()
    raw.close()
    with open_store(path) as store:
        assert store.epochs(1) == [
            {"epoch": 0, "segment": 0, "loss": 0.5, "accuracy": None, "val_loss": None,
             "val_accuracy": None, "lr": None, "seconds": None}
        ]  # fmt: skip
        assert store.integrity_check() == "ok"
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_foreign_or_newer_files_are_refused(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    sqlite3.connect(newer).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ValueError, match="newer than this lrlab"):
        open_store(newer)
    foreign = tmp_path / "foreign.db"
    connection = sqlite3.connect(foreign)
    connection.execute("CREATE TABLE songs (title TEXT)")
    connection.commit()
    with pytest.raises(ValueError, match="not an lrlab store"):
        open_store(foreign)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match="not a usable SQLite file"):
        open_store(garbage)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda s, r: s.set_status(r, "done"), ValueError, "status must be one of"),
        (lambda s, r: s.set_status(999, "finished"), ValueError, "no run with id 999"),
        (lambda s, r: s.log_epoch(r, 0, {"acc": 0.5}), ValueError, r"unknown metrics \['acc'\]"),
        (lambda s, r: s.log_epoch(r, -1, {}), ValueError, "epoch must be an integer >= 0"),
        (lambda s, r: s.log_epoch(r, 0, {"loss": "0.5"}), TypeError, "metric loss must be"),
        (lambda s, r: s.log_epoch(999, 0, {}), ValueError, "no run with id 999"),
        (lambda s, r: s.add_artifact(999, "plot", "p"), ValueError, "no run with id 999"),
        (lambda s, r: s.create_run(**{**RUN, "seed": "0"}), TypeError, "seed must be"),
        (lambda s, r: s.create_run(**{**RUN, "dataset": ""}), TypeError, "dataset must be"),
        (lambda s, r: s.create_run(**{**RUN, "config": {"x": math.nan}}), ValueError, "JSON"),
        (lambda s, r: s.delete_run(999), ValueError, "no run with id 999"),
    ],
)
def test_bad_input_is_named(tmp_path: Path, call, error: type, match: str) -> None:
    with open_store(tmp_path / "runs.db") as store:
        run_id = store.create_run(**RUN)
        with pytest.raises(error, match=match):
            call(store, run_id)
        assert store.integrity_check() == "ok"


def test_default_path_follows_lrlab_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LRLAB_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "runs.db"
    monkeypatch.delenv("LRLAB_HOME")
    assert default_store_path() == Path.home() / ".lrlab" / "runs.db"


def test_a_writer_killed_mid_stream_leaves_a_sound_store(tmp_path: Path) -> None:
    """A process logging epochs as fast as it can is killed with SIGKILL; everything it
    committed is there and the file passes ``PRAGMA integrity_check``."""
    path = tmp_path / "runs.db"
    code = (
        "import sys\nfrom lrlab.lab.store import open_store\n"
        f"store = open_store({str(path)!r})\n"
        "run = store.create_run(dataset='d', model='m', schedule='s', seed=0, config={}, "
        "versions={})\nprint(run, flush=True)\n"
        "for epoch in range(10**7):\n    store.log_epoch(run, epoch, {'loss': 1.0 / (epoch + 1)})\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    run_id = int(writer.stdout.readline())
    with open_store(path) as reader:
        while len(reader.epochs(run_id)) < 50:
            pass
    writer.kill()
    writer.wait(timeout=30)
    writer.stdout.close()
    with open_store(path) as store:
        assert store.integrity_check() == "ok"
        epochs = store.epochs(run_id)
    assert len(epochs) >= 50
    assert [row["epoch"] for row in epochs] == list(range(len(epochs)))
    assert epochs[-1]["loss"] == pytest.approx(1.0 / len(epochs))


def test_processes_opening_a_new_store_together_all_succeed(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "runs.db"
    code = f"from lrlab.lab.store import open_store; open_store({str(path)!r}).close()"
    processes = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
                 for _ in range(6)]  # fmt: skip
    errors = [process.communicate(timeout=60)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 6, errors
    with open_store(path) as store:
        assert store.integrity_check() == "ok"
