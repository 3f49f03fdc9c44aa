"""The ``lrlab`` command: ``table``, ``plot``, ``kinds`` and error handling."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lrlab.cli import main

TABLE_16_1 = {0: 0.01000, 1: 0.00836, 2: 0.00719, 37: 0.00121, 38: 0.00119, 39: 0.00116}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, float]]:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_table_reproduces_reference_table_16_1(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(
        capsys,
        "table",
        "inverse_time(init_value=0.01, decay_rate=0.00025)",
        "--epochs",
        "40",
        "--steps-per-epoch",
        "782",
    )
    assert [row["epoch"] for row in rows] == list(range(40))
    for epoch, expected in TABLE_16_1.items():
        assert round(rows[epoch]["lr"], 5) == expected


def test_table_text_output_shows_the_spec_and_rows(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "inverse_time(init_value=0.01, decay_rate=0.00025)"
    assert main(["table", spec, "--epochs", "3", "--steps-per-epoch", "782"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"# {spec}"
    assert lines[2].split() == ["0", "0", "0.01"]
    assert lines[3].split() == ["1", "782", f"{0.01 / (1 + 0.00025 * 782):.6g}"]


@pytest.mark.parametrize(("factor", "every"), [(0.25, 5), (0.5, 5), (0.5, 10)])
def test_table_reproduces_reference_step_decay(
    capsys: pytest.CaptureFixture[str], factor: float, every: int
) -> None:
    rows = run_json(
        capsys,
        "table",
        f"step(init_value=0.1, factor={factor}, every={every}, offset=1)",
        "--epochs",
        "40",
    )
    for row in rows:
        assert row["lr"] == pytest.approx(0.1 * factor ** math.floor((1 + row["epoch"]) / every))


@pytest.mark.parametrize("power", [1, 5])
def test_table_reproduces_reference_polynomial_decay(
    capsys: pytest.CaptureFixture[str], power: int
) -> None:
    rows = run_json(
        capsys,
        "table",
        f"polynomial(init_value=0.1, total_steps=100, power={power})",
        "--epochs",
        "100",
    )
    for row in rows:
        expected = 0.1 * (1 - row["epoch"] / 100.0) ** power
        assert row["lr"] == pytest.approx(expected, rel=1e-12, abs=1e-18)


def test_table_accepts_presets_with_lr_and_epochs(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "table", "step", "--lr", "0.1", "--epochs", "50")
    assert rows[8]["lr"] == 0.1 and rows[14]["lr"] == pytest.approx(0.025)


def test_table_reads_schedule_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "schedule.toml"
    path.write_text('spec = "cosine(init_value=0.1, total_steps=4)"\n')
    rows = run_json(capsys, "table", str(path), "--epochs", "5")
    assert [row["lr"] for row in rows][::2] == pytest.approx([0.1, 0.05, 0.0])


def image_is_a_real_plot(path: Path) -> None:
    """Assert ``path`` is a readable PNG with drawn content (not blank)."""
    from matplotlib import image

    assert path.stat().st_size > 10_000
    pixels = image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 500
    rgb = pixels[..., :3].reshape(-1, 3)
    not_white = np.any(rgb < 0.95, axis=1).mean()
    assert 0.01 < not_white < 0.9
    assert len(np.unique((rgb * 255).astype(np.uint8), axis=0)) > 20


def test_plot_overlays_presets_and_specs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "figs" / "lr.png"
    code = main(
        [
            "plot",
            "none",
            "standard",
            "step",
            "linear",
            "poly",
            "warmup(cosine(init_value=0.1, total_steps=90), warmup_steps=10)",
            "--lr",
            "0.1",
            "--epochs",
            "100",
            "-o",
            str(output),
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == f"wrote {output}"
    image_is_a_real_plot(output)


def test_plot_log_scale_with_steps(tmp_path: Path) -> None:
    output = tmp_path / "log.png"
    spec = "one_cycle(peak_value=0.1, total_steps=1000)"
    assert main(["plot", spec, "--steps", "1000", "--log-y", "-o", str(output)]) == 0
    image_is_a_real_plot(output)


def test_plot_log_scale_refuses_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "plot",
            "cosine(init_value=0.1, total_steps=10)",
            "--steps",
            "20",
            "--log-y",
            "-o",
            str(tmp_path / "x.png"),
        ]
    )
    assert code == 2
    assert "log_y needs positive values" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["table", "step(init_value=0.1, factor=0.5 every=3)", "--epochs", "3"], "position 32:"),
        (["table", "step", "--epochs", "3"], "preset 'step' needs --lr and --epochs"),
        (["table", "cosine(init_value=-1, total_steps=3)", "--epochs", "3"], "init_value"),
        (["table", "missing.toml", "--epochs", "3"], "no such schedule file: missing.toml"),
        (["plot", "constant(value=0.1)"], "give --steps N"),
        (
            ["table", "constant(value=0.1)", "--epochs", "3", "--lr", "0.5"],
            "--lr applies to preset",
        ),
        (["plot", "constant(value=0.1)", "--steps", "3", "--lr", "0.5"], "--lr applies to preset"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("lrlab: error: ") and message in error


@pytest.mark.parametrize(
    "argv",
    [
        ["table", "constant(value=1)", "--epochs", "0"],
        ["table", "constant(value=1)"],
        ["plot", "constant(value=1)", "--steps", "x"],
        ["frobnicate"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2


def test_kinds_lists_every_kind_and_preset(capsys: pytest.CaptureFixture[str]) -> None:
    import lrlab

    assert main(["kinds"]) == 0
    output = capsys.readouterr().out
    for kind in lrlab.registered_kinds():
        assert f"\n{kind}(" in f"\n{output}"
    assert all(name in output for name in lrlab.preset_names())


def test_python_dash_m_runs_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lrlab", "table", "constant(value=0.5)", "--epochs", "2", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{"epoch": 0, "lr": 0.5}, {"epoch": 1, "lr": 0.5}]


def test_bad_spec_from_a_subprocess_exits_2_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lrlab", "table", "nope(", "--epochs", "2"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "lrlab: error:" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["table", "constant(value=1)", "--epochs", "0"],
        ["table", "constant(value=1)"],
        ["plot", "constant(value=1)", "--steps", "x"],
        ["table", "constant(value=1)", "--epochs", "2", "--steps-per-epoch", "9" * 300],
    ],
)
def test_argument_errors_are_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(argv)
    error = capsys.readouterr().err
    assert error.startswith("lrlab: error: ") and error.count("\n") == 1


@pytest.mark.parametrize(
    ("output", "message"),
    [("plain", "must end in an image suffix"), (".", "is a directory")],
)
def test_plot_rejects_bad_outputs_before_drawing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str, message: str
) -> None:
    target = tmp_path / output
    assert main(["plot", "constant(value=1)", "--steps", "5", "-o", str(target)]) == 2
    assert message in capsys.readouterr().err
    assert sorted(tmp_path.iterdir()) == []


def test_plot_refuses_more_steps_than_it_can_draw(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", "constant(value=1)", "--steps", "100000000000"]) == 2
    assert "steps must be in [1, 10,000,000]" in capsys.readouterr().err


def test_plot_rejects_a_repeated_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", "constant(value=1)", "constant(value=1)", "--steps", "5"]) == 2
    assert "given more than once" in capsys.readouterr().err


def test_plot_keeps_dollar_signs_literal(tmp_path: Path) -> None:
    output = tmp_path / "title.png"
    code = main(
        [
            "plot",
            "constant(value=1)",
            "--steps",
            "5",
            "--title",
            "$\\frac{$ costs $5",
            "-o",
            str(output),
        ]
    )
    assert code == 0 and output.stat().st_size > 0


def test_an_existing_plot_survives_a_failed_rewrite(tmp_path: Path) -> None:
    output = tmp_path / "lr.png"
    assert main(["plot", "constant(value=1)", "--steps", "5", "-o", str(output)]) == 0
    before = output.read_bytes()
    spec = "cosine(init_value=1, total_steps=3)"
    assert main(["plot", spec, "--steps", "5", "--log-y", "-o", str(output)]) == 2
    assert output.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["lr.png"]


def test_a_closed_pipe_ends_quietly() -> None:
    command = f"{sys.executable} -m lrlab table 'constant(value=1)' --epochs 200000 | head -n 2"
    result = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)
    assert result.stdout.splitlines()[0] == "# constant(value=1.0)"
    assert result.stderr == ""


def test_table_preset_runs_on_the_step_clock(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(
        capsys, "table", "standard", "--lr", "0.01", "--epochs", "40", "--steps-per-epoch", "782"
    )
    for row in rows:
        assert row["lr"] == pytest.approx(0.01 / (1 + 0.01 / 40 * row["epoch"] * 782), rel=1e-13)


def test_table_precision_sets_significant_digits(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "inverse_time(init_value=0.01, decay_rate=0.00025)"
    assert (
        main(["table", spec, "--epochs", "2", "--steps-per-epoch", "782", "--precision", "3"]) == 0
    )
    assert capsys.readouterr().out.splitlines()[3].split()[-1] == "0.00836"


@pytest.fixture
def drawn_figures(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Figures that reach ``savefig``, captured on their way to disk (the file is still written)."""
    from matplotlib.figure import Figure

    captured: list[object] = []
    real_savefig = Figure.savefig

    def record(figure: Figure, *args: object, **kwargs: object) -> None:
        captured.append(figure)
        real_savefig(figure, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return captured


def test_plot_draws_each_schedule_over_epochs(tmp_path: Path, drawn_figures: list) -> None:
    import lrlab

    specs = ["poly", "one_cycle", "cosine(init_value=0.05, total_steps=30)"]
    argv = ["plot", *specs, "--lr", "0.1", "--epochs", "10", "--steps-per-epoch", "5"]
    assert main([*argv, "-o", str(tmp_path / "lr.png")]) == 0
    (figure,) = drawn_figures
    axes = figure.axes[0]
    assert axes.get_xlabel() == "epoch" and axes.get_ylabel() == "learning rate"
    lines = axes.get_lines()
    assert [line.get_label() for line in lines] == specs
    for spec, line in zip(specs, lines, strict=True):
        schedule = (
            lrlab.preset(spec, init_value=0.1, epochs=10, steps_per_epoch=5)
            if spec in lrlab.preset_names()
            else lrlab.parse(spec)
        )
        np.testing.assert_array_equal(line.get_xdata(), np.arange(50) / 5)
        np.testing.assert_array_equal(line.get_ydata(), schedule(np.arange(50)))


def test_plot_draws_steps_and_keeps_labels_literal(
    tmp_path: Path, drawn_figures: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("a$b.toml").write_text('spec = "constant(value=0.5)"\n')
    assert main(["plot", "a$b.toml", "--steps", "7", "-o", "x.png"]) == 0
    axes = drawn_figures[0].axes[0]
    assert axes.get_xlabel() == "step"
    (line,) = axes.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(7))
    np.testing.assert_array_equal(line.get_ydata(), np.full(7, 0.5))
    assert line.get_label() == r"a\$b.toml"
