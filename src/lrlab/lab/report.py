"""A self-contained HTML report for ``lrlab compare``: plots, summary table, classification reports.

The page needs nothing beside itself: images are embedded as base64 ``data:`` URIs, the CSS is
inline and there is no JavaScript, so ``report.html`` can be mailed, archived or opened offline.
Every piece of text is HTML-escaped, and the file is written atomically (a hidden temporary file
in the same directory, flushed, fsynced, then renamed over the target), so a failed or
interrupted call leaves any previous report untouched.
"""

from __future__ import annotations

import base64
import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from lrlab._files import write_text_atomic

MIME_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
"""The image suffixes the report can embed, and their MIME types."""

MISSING = "\N{EM DASH}"
"""How a ``None`` cell is shown."""

CSS = """
body {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  margin: 2rem auto;
  max-width: 1100px;
  padding: 0 1rem;
  color: #1f2328;
  background: #ffffff;
  line-height: 1.5;
}
h1 { font-size: 1.8rem; margin-bottom: 0.5rem; }
h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 1.05rem; }
p.note { margin: 0.2rem 0; color: #57606a; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.35rem 0.7rem; text-align: left; }
th { background: #eaeef2; }
tbody tr:nth-child(even) { background: #f6f8fa; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #d0d7de; }
figcaption { color: #57606a; font-size: 0.9rem; }
pre {
  background: #f6f8fa;
  border: 1px solid #d0d7de;
  padding: 0.8rem;
  overflow-x: auto;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: 0.85rem;
}
"""
"""The inline stylesheet: system fonts, bordered zebra tables, images that fit the page."""


def write_html_report(
    path: str | os.PathLike[str],
    *,
    title: str,
    summary_rows: Sequence[Mapping[str, object]],
    columns: Sequence[tuple[str, str]],
    images: Mapping[str, str | os.PathLike[str]],
    classification_reports: Mapping[str, str],
    notes: Sequence[str] = (),
) -> Path:
    """Write a self-contained HTML report and return its path.

    The whole page is built in memory first (so a missing image fails before anything is
    written), then written to a temporary file next to ``path``, flushed, fsynced and
    renamed over ``path`` with :func:`os.replace`.

    Args:
        path: Where to write the report; its suffix must be ``.html`` or ``.htm``. Missing
            parent directories are created.
        title: The page title and heading; a non-empty string.
        summary_rows: The summary table, one mapping per row.
        columns: ``(key, header)`` pairs choosing and ordering the cells taken from each row;
            at least one. Floats are shown with 4 significant digits, ``None`` (or a missing
            key) as an em dash, anything else with :func:`str`.
        images: Caption to image file (``.png``, ``.svg``, ``.jpg`` or ``.jpeg``), each
            embedded as a base64 ``data:`` URI.
        classification_reports: Label to plain-text report (e.g. scikit-learn's
            ``classification_report``), each shown in a ``<pre>`` block.
        notes: Paragraphs shown under the title, e.g. the command, dataset and epochs.

    Returns:
        The path of the written report.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If ``path`` has the wrong suffix, ``title`` or ``columns`` is empty, or
            an image has an unknown suffix or does not exist.
    """
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"path must end in .html or .htm, got {str(target)!r}")
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}")
    if not title.strip():
        raise ValueError("title must be a non-empty string")
    _check_columns(columns)
    _check_sequence("summary_rows", summary_rows)
    _check_sequence("notes", notes)
    if not isinstance(images, Mapping):
        raise TypeError(f"images must be a mapping, got {type(images).__name__}")
    if not isinstance(classification_reports, Mapping):
        raise TypeError(
            f"classification_reports must be a mapping, got {type(classification_reports).__name__}"
        )

    page = _render_page(
        title=title,
        notes=[_text("notes", note) for note in notes],
        table=_render_table(summary_rows, columns),
        figures=[_render_figure(caption, image) for caption, image in images.items()],
        reports=[
            _render_report(label, _text("classification_reports", report))
            for label, report in classification_reports.items()
        ],
    )
    return write_text_atomic(target, page)


def _check_columns(columns: Sequence[tuple[str, str]]) -> None:
    """Raise unless ``columns`` is a non-empty sequence of ``(key, header)`` string pairs."""
    _check_sequence("columns", columns)
    if not columns:
        raise ValueError("columns must name at least one (key, header) pair")
    for column in columns:
        if not (
            isinstance(column, tuple)
            and len(column) == 2
            and all(isinstance(part, str) for part in column)
        ):
            raise TypeError(f"columns must hold (key, header) pairs of str, got {column!r}")


def _check_sequence(name: str, value: object) -> None:
    """Raise :class:`TypeError` unless ``value`` is a sequence other than a string."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a sequence (not a string), got {type(value).__name__}")


def _text(name: str, value: object) -> str:
    """Return ``value`` if it is a string, else raise :class:`TypeError` naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must hold str values, got {type(value).__name__}")
    return value


def _format_cell(value: object) -> str:
    """Format one table cell: floats to 4 significant digits, ``None`` as an em dash.

    >>> _format_cell(0.123456), _format_cell(1234.5678), _format_cell(3), _format_cell(None)
    ('0.1235', '1235', '3', '—')
    """
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _render_table(rows: Sequence[Mapping[str, object]], columns: Sequence[tuple[str, str]]) -> str:
    """Render the summary table's HTML, escaping every header and cell."""
    head = "".join(f"<th>{html.escape(header)}</th>" for _, header in columns)
    body = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise TypeError(f"summary_rows must hold mappings, got {type(row).__name__}")
        cells = []
        for key, _ in columns:
            value = row.get(key)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            css = ' class="num"' if numeric else ""
            cells.append(f"<td{css}>{html.escape(_format_cell(value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n"
        "</table>"
    )


def _render_figure(caption: str, image: str | os.PathLike[str]) -> str:
    """Render one image as a ``<figure>`` with the file embedded as a base64 data URI."""
    caption = _text("images", caption)
    source = Path(image)
    mime = MIME_TYPES.get(source.suffix.lower())
    if mime is None:
        raise ValueError(
            f"images: unsupported image type {source.suffix!r} for {str(source)!r}; "
            f"expected one of {', '.join(MIME_TYPES)}"
        )
    if not source.is_file():
        raise ValueError(f"images: no such image file {str(source)!r}")
    data = base64.b64encode(source.read_bytes()).decode("ascii")
    label = html.escape(caption)
    return (
        f'<figure>\n<img src="data:{mime};base64,{data}" alt="{label}">\n'
        f"<figcaption>{label}</figcaption>\n</figure>"
    )


def _render_report(label: str, report: str) -> str:
    """Render one classification report as a heading and an escaped ``<pre>`` block."""
    label = _text("classification_reports", label)
    return f"<h3>{html.escape(label)}</h3>\n<pre>{html.escape(report)}</pre>"


def _render_page(
    *, title: str, notes: Sequence[str], table: str, figures: Sequence[str], reports: Sequence[str]
) -> str:
    """Assemble the full HTML document from its rendered parts."""
    heading = html.escape(title)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{heading}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{heading}</h1>",
        *(f'<p class="note">{html.escape(note)}</p>' for note in notes),
        "<h2>Summary</h2>",
        table,
    ]
    if figures:
        parts += ["<h2>Plots</h2>", *figures]
    if reports:
        parts += ["<h2>Classification reports</h2>", *reports]
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)
