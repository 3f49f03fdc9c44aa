"""The self-contained HTML report: content, escaping, atomic writes, validation, real rendering."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
from PIL import Image

from lrlab._files import stray_temporaries
from lrlab.lab.report import write_html_report

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

COLUMNS = [("schedule", "Schedule <lr>"), ("val_accuracy", "Val. accuracy"), ("epochs", "Epochs")]
ROWS = [
    {"schedule": "cosine & <warmup>", "val_accuracy": 0.912345, "epochs": 50},
    {"schedule": 'step "fast"', "val_accuracy": None, "epochs": 20, "ignored": "x"},
]
REPORT = """              precision    recall  f1-score   support

           0       0.90      0.85      0.87        40
           1       0.88      0.92      0.90        50

    accuracy                           0.89        90
"""


@pytest.fixture(scope="module")
def red_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real matplotlib PNG: one thick pure-red line on white."""
    path = tmp_path_factory.mktemp("plots") / "lr.png"
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    x = np.linspace(0.0, 1.0, 50)
    ax.plot(x, 0.5 + 0.3 * np.cos(np.pi * x), color=(1.0, 0.0, 0.0), linewidth=10)
    fig.savefig(path)
    plt.close(fig)
    return path


def _write(path: Path, images: Mapping[str, Any], **overrides: Any) -> Path:
    kwargs: dict[str, Any] = {
        "title": "Compare <schedules> & co",
        "summary_rows": ROWS,
        "columns": COLUMNS,
        "images": images,
        "classification_reports": {"cosine & <warmup>": REPORT},
        "notes": ["lrlab compare --dataset ionosphere --epochs 50 <cmd>"],
    }
    kwargs.update(overrides)
    return write_html_report(path, **kwargs)


def test_the_report_is_self_contained_and_escaped(tmp_path: Path, red_png: Path) -> None:
    out = _write(tmp_path / "report.html", {"Learning rate <per epoch>": red_png})
    assert out == tmp_path / "report.html"
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    for forbidden in ("http://", "https://", 'src="file', "<script"):
        assert forbidden not in page
    encoded = base64.b64encode(red_png.read_bytes()).decode("ascii")
    assert f'src="data:image/png;base64,{encoded}"' in page
    assert "Compare &lt;schedules&gt; &amp; co" in page
    assert "Learning rate &lt;per epoch&gt;" in page
    assert "&lt;cmd&gt;" in page
    for header in ("Schedule &lt;lr&gt;", "Val. accuracy", "Epochs"):
        assert f"<th>{header}</th>" in page
    for cell in ("cosine &amp; &lt;warmup&gt;", "step &quot;fast&quot;", "0.9123", "50", "20", "—"):
        assert f">{cell}</td>" in page
    assert "ignored" not in page
    assert "<cosine" not in page and "<warmup>" not in page
    assert "<pre>" + REPORT.replace("<", "&lt;") + "</pre>" in page


def test_svg_and_jpeg_get_their_mime_types(tmp_path: Path) -> None:
    svg = tmp_path / "a.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>', encoding="utf-8")
    jpg = tmp_path / "b.JPEG"
    Image.new("RGB", (4, 4), (0, 0, 255)).save(jpg, format="JPEG")
    page = _write(tmp_path / "r.htm", {"svg": svg, "jpeg": str(jpg)}).read_text(encoding="utf-8")
    assert "data:image/svg+xml;base64," in page
    assert "data:image/jpeg;base64," in page
    assert "http://" not in page  # the SVG's namespace URL is inside the base64 payload


def test_writes_are_atomic_and_a_failure_keeps_the_previous_report(
    tmp_path: Path, red_png: Path
) -> None:
    target = tmp_path / "out" / "report.html"
    _write(target, {"plot": red_png})
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]
    before = target.read_bytes()
    missing = tmp_path / "nope.png"
    with pytest.raises(ValueError, match="nope.png"):
        _write(target, {"plot": red_png, "gone": missing}, title="Another title")
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]
    _write(target, {}, title="Rewritten")
    assert "Rewritten" in target.read_text(encoding="utf-8")
    assert not stray_temporaries(target)


@pytest.mark.parametrize(
    ("overrides", "error", "name"),
    [
        ({"title": ""}, ValueError, "title"),
        ({"title": 3}, TypeError, "title"),
        ({"columns": []}, ValueError, "columns"),
        ({"columns": [("a", "b", "c")]}, TypeError, "columns"),
        ({"summary_rows": "abc"}, TypeError, "summary_rows"),
        ({"summary_rows": [["a"]]}, TypeError, "summary_rows"),
        ({"notes": "one string"}, TypeError, "notes"),
        ({"images": ["a.png"]}, TypeError, "images"),
        ({"classification_reports": {"x": 1}}, TypeError, "classification_reports"),
    ],
)
def test_bad_arguments_are_rejected_by_name(
    tmp_path: Path, overrides: dict[str, Any], error: type[Exception], name: str
) -> None:
    with pytest.raises(error, match=name):
        _write(tmp_path / "report.html", {}, **overrides)
    assert list(tmp_path.iterdir()) == []


def test_bad_paths_and_image_types_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="path"):
        _write(tmp_path / "report.txt", {})
    gif = tmp_path / "plot.gif"
    gif.write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="plot.gif"):
        _write(tmp_path / "report.html", {"gif": gif})
    with pytest.raises(ValueError, match="missing.png"):
        _write(tmp_path / "report.html", {"png": tmp_path / "missing.png"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plot.gif"]


def test_the_report_renders_in_headless_chromium(
    tmp_path: Path, red_png: Path, screenshot: Callable[[Path], np.ndarray]
) -> None:
    pixels = screenshot(_write(tmp_path / "report.html", {"Learning rate": red_png}))
    assert pixels.std() > 10.0  # not a blank, single-colour page
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    red = (r > 200) & (g < 60) & (b < 60)
    assert red.sum() > 2000  # the embedded plot's thick red line is on screen
