"""Signals against real ``lrlab`` processes: Ctrl+C/SIGTERM then resume in a fresh process,
and ``kill -9`` in the middle of a checkpoint write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from lrlab.lab.checkpoint import load_checkpoint  # noqa: E402
from lrlab.lab.store import open_store  # noqa: E402

COMPARED = ("loss", "accuracy", "val_loss", "val_accuracy", "lr")
RUN = ["run", "--dataset", "digits", "--model", "mlp", "--schedule", "cosine", "--lr", "0.05",
       "--epochs", "6", "--batch-size", "8", "--progress", "lines"]  # fmt: skip


def lrlab(tmp_path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "lrlab", *args, "--store", str(tmp_path / "runs.db")]


def finish(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lrlab(tmp_path, *args), capture_output=True, text=True, timeout=300)


def metrics(tmp_path: Path, run_id: int) -> list[tuple[object, ...]]:
    with open_store(tmp_path / "runs.db") as store:
        return [tuple(epoch[k] for k in COMPARED) for epoch in store.epochs(run_id)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_checkpoints_and_resume_in_a_new_process_matches(
    tmp_path: Path, signum: int
) -> None:
    out = str(tmp_path / "runs")
    process = subprocess.Popen(
        lrlab(tmp_path, *RUN, "--out", out), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Epoch 1/6"):
            process.send_signal(signum)
            break
    rest, errors = process.communicate(timeout=120)
    assert process.returncode == 130, errors
    assert "run 1: interrupted" in rest and "lrlab resume 1" in rest
    with open_store(tmp_path / "runs.db") as store:
        assert store.run(1)["status"] == "interrupted"
        done = len(store.epochs(1))
    state = load_checkpoint(tmp_path / "runs" / "run-1" / "checkpoint.pt")
    assert 1 <= done < 6 and state["epoch"] == done
    resumed = finish(tmp_path, "resume", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "run 1: finished" in resumed.stdout
    whole = finish(tmp_path, *RUN, "--out", out)
    assert whole.returncode == 0, whole.stderr
    assert metrics(tmp_path, 1) == metrics(tmp_path, 2)
    first = load_checkpoint(tmp_path / "runs" / "run-1" / "checkpoint.pt")["model"]
    second = load_checkpoint(tmp_path / "runs" / "run-2" / "checkpoint.pt")["model"]
    assert all(torch.equal(first[name], second[name]) for name in second)


WORKER = textwrap.dedent(
    """
    import sys
    from lrlab.lab.config import RunConfig
    from lrlab.lab.interrupt import StopRequest
    from lrlab.lab.progress import LineProgress
    from lrlab.lab.run import start_run
    from lrlab.lab.store import open_store

    config = RunConfig(dataset="digits", model="mlp", schedule="none", lr=0.01, epochs=200,
                       batch_size=256, model_options={"hidden": 40000})
    with open_store(sys.argv[1]) as store:
        start_run(config, store=store, out_dir=sys.argv[2], progress=LineProgress(None),
                  stop=StopRequest())
    """
)


def kill_during_checkpoint_write(tmp_path: Path) -> bool:
    """Start a run whose checkpoints are large (about 21 MB), wait until a checkpoint exists
    and the next one is being written, and ``kill -9`` it then. True if that moment was hit."""
    run_dir = tmp_path / "runs" / "run-1"
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(tmp_path / "runs.db"), str(tmp_path / "runs")]
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if (run_dir / "checkpoint.pt").is_file() and any(
                name.startswith(".checkpoint.pt.") for name in os.listdir(run_dir)
            ):
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.0005)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return False


def test_kill_9_during_a_checkpoint_write_leaves_a_loadable_checkpoint(tmp_path: Path) -> None:
    assert kill_during_checkpoint_write(tmp_path), "never caught a checkpoint write"
    run_dir = tmp_path / "runs" / "run-1"
    assert [p for p in run_dir.iterdir() if p.name.startswith(".checkpoint.pt.")]
    state = load_checkpoint(run_dir / "checkpoint.pt")
    assert state["epoch"] >= 1 and state["batch"] == 0
    with open_store(tmp_path / "runs.db") as store:
        assert store.integrity_check() == "ok"
        record = store.run(1)
        assert record["status"] == "running"
        assert len(store.epochs(1)) >= state["epoch"]
    # The killed process is gone, so its run can be resumed; the first save clears the stray.
    resumed = finish(tmp_path, "resume", "1", "--epochs", str(state["epoch"] + 1))
    assert resumed.returncode == 0, resumed.stderr
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".checkpoint.pt.")]
    with open_store(tmp_path / "runs.db") as store:
        assert store.run(1)["status"] == "finished"
