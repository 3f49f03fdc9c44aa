"""Tests for lrlab._files: atomic writes on a real filesystem."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrlab._files import stray_temporaries, write_atomic, write_text_atomic


def test_failed_write_leaves_no_temporary_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    write_atomic(target, lambda handle: handle.write(b"old"))

    def broken(handle: object) -> None:
        handle.write(b"half")  # type: ignore[attr-defined]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomic(target, broken)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


def test_text_is_written_whole_and_strays_are_found(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "notes.txt"
    assert write_text_atomic(target, "ünïcode\n") == target
    assert target.read_text(encoding="utf-8") == "ünïcode\n"
    stray = target.with_name(".notes.txt.abc123.tmp")
    stray.write_bytes(b"partial")
    (tmp_path / "sub" / ".other.txt.x.tmp").write_bytes(b"not ours")
    assert stray_temporaries(target) == [stray]


def test_files_get_the_usual_mode_not_mkstemps_0600(tmp_path: Path) -> None:
    import os

    mask = os.umask(0o022)
    try:
        path = write_text_atomic(tmp_path / "report.txt", "x")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
