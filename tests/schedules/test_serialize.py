"""Dicts, JSON and TOML files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lrlab

SPEC = "warmup(cosine(init_value=0.1, total_steps=90), warmup_steps=10) >> constant(value=0.001)"


def test_to_dict_is_plain_json_with_every_field() -> None:
    data = lrlab.parse(SPEC).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["kind"] == "sequence" and data["durations"] == [100]
    assert data["pieces"][0]["schedule"] == {
        "kind": "cosine",
        "init_value": 0.1,
        "total_steps": 90,
        "end_value": 0.0,
    }


def test_dict_round_trip_through_json_text() -> None:
    schedule = lrlab.parse(SPEC)
    text = json.dumps(schedule.to_dict())
    again = lrlab.from_dict(json.loads(text))
    assert again == schedule and json.dumps(again.to_dict()) == text


def test_from_dict_on_a_subclass_checks_the_kind() -> None:
    from lrlab.schedules import Cosine, Step

    data = {"kind": "cosine", "init_value": 0.1, "total_steps": 9}
    assert Cosine.from_dict(data) == Cosine(init_value=0.1, total_steps=9)
    with pytest.raises(TypeError, match="expected a Step dict"):
        Step.from_dict(data)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("spec.json", json.dumps({"spec": SPEC})),
        ("dict.json", json.dumps(lrlab.parse(SPEC).to_dict())),
        ("nested.json", json.dumps({"schedule": {"spec": SPEC}})),
        ("spec.toml", f'spec = "{SPEC}"\n'),
        ("table.toml", f'[schedule]\nspec = "{SPEC}"\n'),
    ],
)
def test_load_json_and_toml(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert lrlab.load(path) == lrlab.parse(SPEC)


def test_load_toml_dict_form(tmp_path: Path) -> None:
    path = tmp_path / "step.toml"
    path.write_text('kind = "step"\ninit_value = 0.01\nfactor = 0.25\nevery = 5\noffset = 1\n')
    assert repr(lrlab.load(path)) == "step(init_value=0.01, factor=0.25, every=5, offset=1)"


def test_load_errors_name_the_problem(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        lrlab.load(bad_json)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("spec = ")
    with pytest.raises(ValueError, match="not valid TOML"):
        lrlab.load(bad_toml)
    with pytest.raises(ValueError, match=r"must end in \.json or \.toml"):
        lrlab.load(tmp_path / "schedule.yaml")
    wrong_shape = tmp_path / "list.json"
    wrong_shape.write_text("[1, 2]")
    with pytest.raises(TypeError, match="schedule config must be"):
        lrlab.load(wrong_shape)


def test_from_dict_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="needs a 'kind' key"):
        lrlab.from_dict({"init_value": 0.1})
    with pytest.raises(TypeError, match="factor must be a real number, got 'half'"):
        lrlab.from_dict({"kind": "step", "init_value": 0.1, "factor": "half", "every": 3})
    with pytest.raises(TypeError, match="unexpected argument 'evry'"):
        lrlab.from_dict({"kind": "step", "init_value": 0.1, "factor": 0.5, "evry": 3})
