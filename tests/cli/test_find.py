"""``lrlab find``: a range test on a built-in task, from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from lrlab.cli import main  # noqa: E402


def test_find_prints_suggestions_bounds_and_writes_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "find.png"
    code = main(["find", "--model", "mlp", "--num-steps", "60", "-o", str(plot)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "range test: digits / mlp / sgd" in out
    for method in ("combined", "steepest", "valley", "minimum_div_10"):
        assert method in out
    assert "cyclic: base_value=" in out and "one_cycle: peak_value=" in out
    assert plot.stat().st_size > 10_000


def test_find_json_is_the_result_dict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["find", "--model", "cnn", "--num-steps", "40", "--json", "-o", str(tmp_path / "f.png")]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["dataset"] == "digits" and data["model"] == "cnn"
    assert len(data["lrs"]) == data["steps"] <= 40
    combined = data["suggestions"]["combined"]
    assert (combined["lr"] is None) != (combined["reason"] is None)
    assert data["lrs"][0] == pytest.approx(1e-7)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["find", "--dataset", "mnist"], "dataset must be one of"),
        (["find", "--model", "resnet"], "model must be one of"),
        (["find", "--optimizer", "lamb"], "optimizer must be one of"),
        (["find", "--start-value", "1", "--end-value", "0.5"], "end_value must be > start_value"),
    ],
)
def test_find_bad_arguments_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "-o", str(tmp_path / "f.png")]) == 2
    assert message in capsys.readouterr().err
