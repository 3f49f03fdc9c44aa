"""Run progress: the Keras-style epoch line, plain line output and the rich bar."""

from __future__ import annotations

import io
from typing import Any

import pytest

from lrlab.lab.progress import LineProgress, epoch_line, make_progress

METRICS: dict[str, Any] = {
    "seconds": 2.14,
    "loss": 0.41234,
    "accuracy": 0.85123,
    "val_loss": 0.399,
    "val_accuracy": 0.862,
    "lr": 0.01,
}
LINE = (
    "Epoch 3/40 - 2.1s - loss: 0.4123 - accuracy: 0.8512 - val_loss: 0.3990 - "
    "val_accuracy: 0.8620 - lr: 0.01"
)


class TTYStringIO(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_epoch_line_for_a_full_metrics_dict() -> None:
    assert epoch_line(2, 40, METRICS) == LINE


def test_epoch_line_shows_none_and_missing_as_nan() -> None:
    metrics = {**METRICS, "val_loss": None, "val_accuracy": None, "lr": None}
    assert epoch_line(0, 1, metrics) == (
        "Epoch 1/1 - 2.1s - loss: 0.4123 - accuracy: 0.8512 - val_loss: nan - "
        "val_accuracy: nan - lr: nan"
    )
    assert epoch_line(4, 5, {}) == (
        "Epoch 5/5 - nans - loss: nan - accuracy: nan - val_loss: nan - val_accuracy: nan - lr: nan"
    )


def test_epoch_line_formats_lr_with_four_significant_digits() -> None:
    assert epoch_line(0, 2, {**METRICS, "lr": 0.000123456}).endswith(" - lr: 0.0001235")
    assert epoch_line(0, 2, {**METRICS, "lr": 1.5e-7}).endswith(" - lr: 1.5e-07")


def test_line_progress_writes_one_line_per_epoch() -> None:
    stream = io.StringIO()
    progress = LineProgress(stream)
    for epoch in range(3):
        progress.start_epoch(epoch, 3, batches=4, done=0)
        for _ in range(4):
            progress.advance()
        assert stream.getvalue().count("\n") == epoch
        progress.end_epoch(epoch, 3, METRICS)
        assert stream.getvalue().count("\n") == epoch + 1
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines == [epoch_line(epoch, 3, METRICS) for epoch in range(3)]
    assert stream.getvalue().endswith("\n")


def test_line_progress_messages_are_lines() -> None:
    stream = io.StringIO()
    progress = LineProgress(stream)
    progress.message("checkpoint saved [bold]x[/bold]")
    assert stream.getvalue() == "checkpoint saved [bold]x[/bold]\n"


def test_line_progress_without_a_stream_is_silent() -> None:
    progress = LineProgress(None)
    progress.start_epoch(0, 1, 2, 0)
    progress.advance()
    progress.end_epoch(0, 1, METRICS)
    progress.message("hello")
    progress.close()  # nothing to write to, nothing raised


def test_make_progress_on_a_non_tty_gives_lines() -> None:
    stream = io.StringIO()
    progress = make_progress(stream)
    assert type(progress) is LineProgress
    progress.end_epoch(2, 40, METRICS)
    assert stream.getvalue() == LINE + "\n"


@pytest.mark.parametrize("stream", [io.StringIO(), TTYStringIO()])
def test_make_progress_without_a_bar_gives_lines(stream: io.StringIO) -> None:
    progress = make_progress(stream, bar=False)
    assert type(progress) is LineProgress
    progress.end_epoch(2, 40, METRICS)
    assert stream.getvalue() == LINE + "\n"


def test_make_progress_without_a_stream_is_silent_lines() -> None:
    progress = make_progress(None)
    assert type(progress) is LineProgress
    progress.end_epoch(0, 1, METRICS)


def test_make_progress_with_a_bar_writes_to_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    monkeypatch.setenv("COLUMNS", "60")  # narrower than an epoch line
    stream = io.StringIO()
    progress = make_progress(stream, bar=True)
    assert type(progress) is not LineProgress
    try:
        for epoch in range(2):
            progress.start_epoch(epoch, 2, batches=5, done=1 if epoch else 0)
            for _ in range(5 - (1 if epoch else 0)):
                progress.advance()
            progress.end_epoch(epoch, 2, METRICS)
        progress.message("saved [red]ckpt[/red]")
    finally:
        progress.close()
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    # Each epoch line stays on one line (not wrapped at the console width), and markup in
    # messages is shown as text.
    assert lines == [epoch_line(0, 2, METRICS), epoch_line(1, 2, METRICS), "saved [red]ckpt[/red]"]


def test_the_bar_is_stopped_by_close() -> None:
    pytest.importorskip("rich")
    stream = io.StringIO()
    progress = make_progress(stream, bar=True)
    progress.start_epoch(0, 1, batches=3, done=0)
    progress.advance()
    live = progress._bar.live  # type: ignore[attr-defined]
    assert live.is_started
    progress.close()
    assert not live.is_started
    assert stream.getvalue().strip() == ""  # the transient bar leaves nothing behind


def test_make_progress_on_a_tty_gives_the_bar() -> None:
    pytest.importorskip("rich")
    stream = TTYStringIO()
    progress = make_progress(stream)
    try:
        assert type(progress) is not LineProgress
        progress.start_epoch(0, 1, batches=2, done=0)
        progress.advance()
        progress.message("news")
    finally:
        progress.close()
    assert "news" in stream.getvalue()
