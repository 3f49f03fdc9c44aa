"""RunConfig: validation of every field, normalization, JSON round-trip and schedules."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from lrlab.lab.config import AUGMENTATIONS, DEFAULT_LR, RunConfig
from lrlab.schedules import parse

BASE: dict[str, Any] = {"dataset": "d", "model": "m"}
SPEC = "cosine(init_value=0.1, total_steps=500)"


def make(**changes: Any) -> RunConfig:
    return RunConfig(**{**BASE, **changes})


BAD = [
    ("dataset", "", TypeError),
    ("dataset", "   ", TypeError),
    ("dataset", 3, TypeError),
    ("dataset", None, TypeError),
    ("model", "", TypeError),
    ("model", 1.5, TypeError),
    ("schedule", "", TypeError),
    ("schedule", 7, TypeError),
    ("lr", 0.0, ValueError),
    ("lr", -0.1, ValueError),
    ("lr", math.inf, ValueError),
    ("lr", math.nan, ValueError),
    ("lr", "0.1", TypeError),
    ("lr", True, TypeError),
    ("epochs", 0, ValueError),
    ("epochs", -3, ValueError),
    ("epochs", 2.0, TypeError),
    ("epochs", "10", TypeError),
    ("epochs", True, TypeError),
    ("batch_size", 0, ValueError),
    ("batch_size", 1.5, TypeError),
    ("batch_size", None, TypeError),
    ("optimizer", "rmsprop", ValueError),
    ("optimizer", "SGD", ValueError),
    ("optimizer", None, ValueError),
    ("momentum", -0.1, ValueError),
    ("momentum", 1.0, ValueError),
    ("momentum", 1.5, ValueError),
    ("momentum", math.nan, ValueError),
    ("momentum", "0.9", TypeError),
    ("momentum", False, TypeError),
    ("nesterov", 1, TypeError),
    ("nesterov", "yes", TypeError),
    ("weight_decay", -1e-4, ValueError),
    ("weight_decay", math.inf, ValueError),
    ("weight_decay", "0", TypeError),
    ("unit", "batch", ValueError),
    ("unit", None, ValueError),
    ("augment", "flip", TypeError),
    ("augment", 3, TypeError),
    ("augment", ("flip", "rotate"), ValueError),
    ("augment", ["mixup"], ValueError),
    ("seed", -1, ValueError),
    ("seed", 0.5, TypeError),
    ("seed", None, TypeError),
    ("data_seed", -2, ValueError),
    ("data_seed", "0", TypeError),
    ("limit", 0, ValueError),
    ("limit", 10.0, TypeError),
    ("device", "tpu", ValueError),
    ("device", "CUDA", ValueError),
    ("threads", 0, ValueError),
    ("threads", 2.0, TypeError),
    ("compile", 1, TypeError),
    ("compile", "false", TypeError),
    ("model_options", [("stages", 2)], TypeError),
    ("model_options", None, TypeError),
]


@pytest.mark.parametrize(("field", "value", "error"), BAD, ids=[f"{f}={v!r}" for f, v, _ in BAD])
def test_a_bad_value_raises_naming_the_field_and_the_value(
    field: str, value: Any, error: type[Exception]
) -> None:
    with pytest.raises(error) as raised:
        make(**{field: value})
    message = str(raised.value)
    assert field in message
    shown = "rotate" if field == "augment" and value == ("flip", "rotate") else None
    shown = "mixup" if value == ["mixup"] else shown
    assert (shown or repr(value)) in message


def test_valid_values_are_kept_and_numbers_become_floats() -> None:
    config = make(
        schedule=" standard ",
        lr=1,
        epochs=3,
        batch_size=7,
        optimizer="adamw",
        momentum=0,
        weight_decay=0,
        unit="epoch",
        seed=5,
        data_seed=6,
        limit=100,
        device="cpu",
        threads=2,
        compile=True,
        model_options={"stages": 2},
    )
    assert config.schedule == "standard"
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert config.momentum == 0.0 and isinstance(config.momentum, float)
    assert config.weight_decay == 0.0 and isinstance(config.weight_decay, float)
    assert (config.epochs, config.batch_size, config.optimizer) == (3, 7, "adamw")
    assert (config.seed, config.data_seed, config.limit) == (5, 6, 100)
    assert (config.device, config.threads, config.compile) == ("cpu", 2, True)
    assert config.model_options == {"stages": 2}


def test_text_fields_are_stripped() -> None:
    config = RunConfig(dataset=" cifar10 ", model="\tresnet\n")
    assert (config.dataset, config.model) == ("cifar10", "resnet")


@pytest.mark.parametrize("schedule", [SPEC, "auto"])
def test_lr_with_spec_text_or_auto_raises(schedule: str) -> None:
    make(schedule=schedule)  # fine without lr
    with pytest.raises(ValueError, match="lr") as raised:
        make(schedule=schedule, lr=0.1)
    assert repr(schedule) in str(raised.value)


def test_lr_with_a_preset_is_accepted() -> None:
    assert make(schedule="step", lr=0.5).lr == 0.5


@pytest.mark.parametrize(
    "changes",
    [{"optimizer": "adam"}, {"optimizer": "adamw"}, {"optimizer": "sgd", "momentum": 0.0}],
)
def test_nesterov_needs_sgd_with_momentum(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="nesterov"):
        make(nesterov=True, **changes)


def test_nesterov_with_sgd_and_momentum_is_accepted() -> None:
    assert make(nesterov=True, optimizer="sgd", momentum=0.5).nesterov is True


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ((), ()),
        ([], ()),
        (["cutout", "flip"], ("flip", "cutout")),
        (("crop", "cutout", "flip"), AUGMENTATIONS),
        (["cutout", "cutout", "crop", "cutout"], ("crop", "cutout")),
        (["flip", "flip"], ("flip",)),
    ],
)
def test_augment_is_normalized_to_the_canonical_order_without_duplicates(
    given: Any, expected: tuple[str, ...]
) -> None:
    config = make(augment=given)
    assert config.augment == expected
    assert isinstance(config.augment, tuple)


def test_model_options_is_copied() -> None:
    options = {"filters": 8}
    config = make(model_options=options)
    options["filters"] = 99
    assert config.model_options == {"filters": 8}


FULL = {
    **BASE,
    "schedule": "one_cycle",
    "lr": 0.2,
    "epochs": 7,
    "batch_size": 64,
    "optimizer": "sgd",
    "momentum": 0.8,
    "nesterov": True,
    "weight_decay": 5e-4,
    "unit": "epoch",
    "augment": ["cutout", "flip"],
    "seed": 3,
    "data_seed": 4,
    "limit": 500,
    "device": "cpu",
    "threads": 2,
    "compile": True,
    "model_options": {"stages": 3, "filters": [8, 16]},
}


@pytest.mark.parametrize("config", [make(), RunConfig(**FULL), make(schedule=SPEC, unit="epoch")])
def test_to_dict_round_trips_through_json(config: RunConfig) -> None:
    record = config.to_dict()
    text = json.dumps(record)
    back = RunConfig.from_dict(json.loads(text))
    assert back == config
    assert back.to_dict() == record
    assert json.loads(text) == record


def test_to_dict_lists_every_field_with_augment_as_a_list() -> None:
    record = RunConfig(**FULL).to_dict()
    assert set(record) == set(FULL)
    assert record["augment"] == ["flip", "cutout"]
    assert record["model_options"] == {"stages": 3, "filters": [8, 16]}


def test_from_dict_rejects_an_unknown_key_naming_it() -> None:
    with pytest.raises(TypeError, match="'learning_rate'"):
        RunConfig.from_dict({**BASE, "learning_rate": 0.1})


def test_from_dict_rejects_a_non_mapping() -> None:
    with pytest.raises(TypeError, match="list"):
        RunConfig.from_dict([("dataset", "d")])  # type: ignore[arg-type]


def test_from_dict_validates_values() -> None:
    with pytest.raises(ValueError, match="epochs"):
        RunConfig.from_dict({**BASE, "epochs": 0})


def test_replace_validates_again() -> None:
    config = make()
    assert config.replace(epochs=4).epochs == 4
    with pytest.raises(ValueError, match="batch_size"):
        config.replace(batch_size=0)


def test_a_preset_uses_default_lr_when_none_is_given() -> None:
    config = RunConfig(dataset="d", model="m", schedule="standard", epochs=40)
    schedule = config.resolve_schedule(782)
    assert schedule(0.0) == pytest.approx(DEFAULT_LR, rel=1e-12)
    assert schedule(782.0) == pytest.approx(0.01 / (1 + 0.01 / 40 * 782), rel=1e-12)


def test_a_preset_uses_the_given_lr() -> None:
    config = RunConfig(dataset="d", model="m", schedule="standard", lr=0.1, epochs=40)
    schedule = config.resolve_schedule(782)
    assert schedule(0.0) == pytest.approx(0.1, rel=1e-12)
    assert schedule(782.0) == pytest.approx(0.1 / (1 + 0.1 / 40 * 782), rel=1e-12)


def test_a_preset_is_built_in_steps_from_steps_per_epoch() -> None:
    config = RunConfig(dataset="d", model="m", schedule="cosine", lr=0.1, epochs=40)
    short, long = config.resolve_schedule(100), config.resolve_schedule(782)
    assert short(2000.0) == pytest.approx(0.05, rel=1e-9)  # half of 40 * 100 steps
    assert long(15640.0) == pytest.approx(0.05, rel=1e-9)  # half of 40 * 782 steps
    assert long(2000.0) > 0.09


def test_spec_text_resolves_to_the_parsed_schedule() -> None:
    schedule = make(schedule=SPEC).resolve_schedule(10)
    reference = parse(SPEC)
    for t in (0.0, 100.0, 250.0, 499.0, 500.0):
        assert schedule(t) == pytest.approx(reference(t), rel=1e-12)
    assert schedule(0.0) == pytest.approx(0.1)
    assert schedule(250.0) == pytest.approx(0.05)


def test_auto_does_not_resolve() -> None:
    with pytest.raises(ValueError, match="auto"):
        make(schedule="auto").resolve_schedule(10)


def test_a_bad_spec_raises_when_resolved() -> None:
    with pytest.raises(ValueError):
        make(schedule="cosine(").resolve_schedule(10)


@pytest.mark.parametrize(
    ("schedule", "unit", "expected"),
    [
        ("standard", "step", "step"),
        ("standard", "epoch", "step"),
        ("none", "epoch", "step"),
        ("auto", "epoch", "step"),
        ("auto", "step", "step"),
        (SPEC, "step", "step"),
        (SPEC, "epoch", "epoch"),
    ],
)
def test_schedule_unit(schedule: str, unit: str, expected: str) -> None:
    config = make(schedule=schedule, unit=unit)
    assert config.schedule_unit == expected
    assert config.is_preset == (schedule in ("standard", "none"))
