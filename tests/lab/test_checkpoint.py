"""Checkpoint files: round-trip, damaged and foreign files, atomic replacement."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from lrlab.lab.checkpoint import FORMAT, load_checkpoint, save_checkpoint  # noqa: E402


def sample_state() -> dict:
    generator = torch.Generator().manual_seed(3)
    return {
        "model": {"weight": torch.randn(4, 3, generator=generator), "bias": torch.zeros(4)},
        "steps": torch.arange(5, dtype=torch.int64),
        "rng": generator.get_state(),
        "epoch": 7,
        "lr": 0.125,
        "name": "resnet",
        "history": [1.5, 2, "x", None, True],
        "nested": {"a": [1, {"b": 2.5}]},
    }


def assert_same(left: object, right: object) -> None:
    if isinstance(left, torch.Tensor):
        assert isinstance(right, torch.Tensor)
        assert left.dtype == right.dtype
        assert torch.equal(left, right)
    elif isinstance(left, dict):
        assert isinstance(right, dict) and set(left) == set(right)
        for key in left:
            assert_same(left[key], right[key])
    elif isinstance(left, list):
        assert isinstance(right, list) and len(left) == len(right)
        for a, b in zip(left, right, strict=True):
            assert_same(a, b)
    else:
        assert type(left) is type(right) and left == right


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    state = sample_state()
    target = tmp_path / "run" / "last.pt"
    assert save_checkpoint(target, state) == target
    loaded = load_checkpoint(target)
    assert loaded["format"] == FORMAT
    assert_same({**state, "format": FORMAT}, loaded)
    assert "format" not in state  # the caller's dict is not changed
    assert loaded["model"]["weight"].device.type == "cpu"


def test_save_accepts_a_str_path_and_overwrites(tmp_path: Path) -> None:
    target = str(tmp_path / "c.pt")
    save_checkpoint(target, {"epoch": 1})
    save_checkpoint(target, {"epoch": 2})
    assert load_checkpoint(target) == {"epoch": 2, "format": FORMAT}


def test_loading_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path)  # a directory is no checkpoint file


def test_a_truncated_file_raises_value_error_naming_the_path(tmp_path: Path) -> None:
    whole = tmp_path / "whole.pt"
    save_checkpoint(whole, sample_state())
    data = whole.read_bytes()
    broken = tmp_path / "broken.pt"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError) as raised:
        load_checkpoint(broken)
    assert str(broken) in str(raised.value)


def test_an_empty_or_garbage_file_raises_value_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty.pt"):
        load_checkpoint(empty)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all\n" * 10)
    with pytest.raises(ValueError, match="garbage.pt"):
        load_checkpoint(garbage)


@pytest.mark.parametrize(
    "content",
    [
        {"epoch": 1},
        {"epoch": 1, "format": "someone.else/1"},
        torch.zeros(3),
        [FORMAT],
    ],
    ids=["no-format", "other-format", "tensor", "list"],
)
def test_a_torch_file_that_is_not_an_lrlab_checkpoint_raises(
    tmp_path: Path, content: object
) -> None:
    target = tmp_path / "foreign.pt"
    torch.save(content, target)
    with pytest.raises(ValueError, match="not an lrlab checkpoint") as raised:
        load_checkpoint(target)
    assert str(target) in str(raised.value)


def test_a_file_needing_unsafe_unpickling_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "unsafe.pt"
    torch.save({"format": FORMAT, "obj": io.BytesIO(b"x")}, target)
    with pytest.raises(ValueError, match="unsafe.pt"):
        load_checkpoint(target)


def test_stray_temporaries_are_removed_by_the_next_save(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    save_checkpoint(target, {"epoch": 1})
    strays = [tmp_path / ".last.pt.abc123.tmp", tmp_path / ".last.pt.zz_9.tmp"]
    for stray in strays:
        stray.write_bytes(b"half written")
    unrelated = [tmp_path / ".other.pt.abc.tmp", tmp_path / "last.pt.tmp", tmp_path / "keep.txt"]
    for path in unrelated:
        path.write_bytes(b"keep")
    save_checkpoint(target, {"epoch": 2})
    assert not any(stray.exists() for stray in strays)
    assert all(path.read_bytes() == b"keep" for path in unrelated)
    assert load_checkpoint(target)["epoch"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["last.pt", *(p.name for p in unrelated)]
    )


def test_a_failed_save_leaves_the_previous_checkpoint_and_no_temporaries(
    tmp_path: Path,
) -> None:
    target = tmp_path / "last.pt"
    save_checkpoint(target, sample_state())
    before = target.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        save_checkpoint(target, {"epoch": 2, "hook": lambda x: x})
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    assert load_checkpoint(target)["epoch"] == 7


def test_a_failed_first_save_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "first.pt"
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        save_checkpoint(target, {"hook": lambda: None})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("state", [[("epoch", 1)], None, "state", torch.zeros(2)])
def test_a_non_dict_state_raises_type_error(tmp_path: Path, state: object) -> None:
    target = tmp_path / "c.pt"
    with pytest.raises(TypeError, match="dict"):
        save_checkpoint(target, state)  # type: ignore[arg-type]
    assert not target.exists()
