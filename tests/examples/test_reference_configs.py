"""The reference experiments in ``examples/*.toml``: each builds a valid comparison, and the
Ionosphere one runs in full on the shared UCI file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrlab.lab.compare import comparison_from, read_comparison_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CONFIGS = sorted(EXAMPLES.glob("*.toml"))


def test_the_four_reference_experiments_are_there() -> None:
    assert [path.name for path in CONFIGS if path.parent == EXAMPLES] == [
        "cifar_cnn_clr.toml", "ionosphere.toml", "minivggnet_cifar10.toml", "resnet_cifar10.toml",
    ]  # fmt: skip


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_each_config_builds_a_valid_comparison(path: Path) -> None:
    comparison = comparison_from(read_comparison_file(path))
    for entry in comparison.entries:
        config = comparison.config(entry, comparison.seeds[0])
        if config.schedule != "auto":
            schedule = config.resolve_schedule(steps_per_epoch=100)
            assert schedule(0.0) > 0.0


def test_minivggnet_config_is_the_reference_protocol() -> None:
    comparison = comparison_from(read_comparison_file(EXAMPLES / "minivggnet_cifar10.toml"))
    base = comparison.base
    assert (base.model, base.epochs, base.batch_size, base.nesterov) == ("minivggnet", 40, 64, True)
    standard = comparison.config(comparison.entries[1], 0).resolve_schedule(782)
    assert standard(782.0 * 39) == pytest.approx(0.00115949, rel=1e-5)  # Table 16.1, epoch 39


def test_ionosphere_reference_comparison(
    tmp_path: Path, ionosphere_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's Ionosphere table: 3 schedules x 5 seeds x 50 epochs, on CPU."""
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    from lrlab.cli import main

    argv = ["compare", "--config", str(EXAMPLES / "ionosphere.toml"), "--data-dir",
            str(ionosphere_dir), "--out", str(tmp_path), "--store", str(tmp_path / "runs.db"),
            "--progress", "none"]  # fmt: skip
    assert main(argv) == 0
    rows = json.loads((tmp_path / "summary.json").read_text())
    assert len(rows) == 15 and {row["status"] for row in rows} == {"finished"}
    # 116 held-out rows, 64% of them class g: always answering g scores 0.64.
    for label in ("none", "time-based", "drop-based"):
        mean = sum(r["val_accuracy"] for r in rows if r["schedule"] == label) / 5
        assert mean > 0.85, (label, mean)
    table = capsys.readouterr().out
    assert "time-based  5 finished" in table and "drop-based  5 finished" in table
