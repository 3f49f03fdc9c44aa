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
    assert "range test: digits / mlp / sgd, 60 of 60 steps" in out or (
        "range test: digits / mlp / sgd" in out and "(diverged)" in out
    )
    for method in ("combined", "steepest", "valley", "minimum_div_10"):
        assert method in out
    assert "cyclic: base_value=" in out and "one_cycle: peak_value=" in out
    assert plot.stat().st_size > 10_000


def test_find_json_is_the_result_dict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "find",
            "--dataset",
            "synthetic",
            "--optimizer",
            "adam",
            "--num-steps",
            "40",
            "--json",
            "-o",
            str(tmp_path / "f.png"),
        ]  # fmt: skip
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["dataset"] == "synthetic" and data["model"] == "mlp"
    assert len(data["lrs"]) == data["steps"] <= 40
    combined = data["suggestions"]["combined"]
    assert (combined["lr"] is None) != (combined["reason"] is None)
    assert data["lrs"][0] == pytest.approx(1e-7)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["find", "--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["find", "--model", "nope"], "unknown model name 'nope'"),
        (["find", "--optimizer", "lamb"], "invalid choice: 'lamb'"),
        (["find", "--num-steps", "1"], "expected an integer >= 2"),
        (["find", "--start-value", "1", "--end-value", "0.5"], "end_value must be > start_value"),
    ],
)
def test_find_bad_arguments_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main([*argv, "-o", str(tmp_path / "f.png")])
    except SystemExit as stop:  # argparse's own checks exit from the parser
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err
