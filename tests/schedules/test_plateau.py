"""``Plateau``: torch ``ReduceLROnPlateau``'s rule, as a multiplier over any schedule."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from lrlab import Plateau

CONFIGS = [
    dict(mode=mode, threshold_mode=threshold_mode, patience=patience, cooldown=cooldown)
    for mode, threshold_mode, patience, cooldown in itertools.product(
        ["min", "max"], ["rel", "abs"], [0, 2], [0, 3]
    )
]


def metric_sequences(seed: int) -> list[np.ndarray]:
    """Improving, then noisy flat, then improving again: plateaus of varying length."""
    rng = np.random.default_rng(seed)
    return [
        np.concatenate([np.linspace(2.0, 1.0, 8), 1.0 + rng.normal(0, 0.002, 20)]),
        np.concatenate([rng.uniform(0.5, 1.5, 15), np.linspace(0.5, -0.5, 10)]),
        np.round(rng.uniform(0, 1, 40), 1),
    ]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
def test_reductions_match_torch_reduce_lr_on_plateau(config: dict) -> None:
    torch = pytest.importorskip("torch")
    for seed, metrics in enumerate(metric_sequences(7)):
        threshold = 0.05 if config["threshold_mode"] == "abs" else 0.01
        ours = Plateau(factor=0.5, threshold=threshold, **config)
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(  # eps=0: no "too small" cutoff
            optimizer, factor=0.5, threshold=threshold, eps=0.0, **config
        )
        for index, value in enumerate(metrics):
            reduced = ours.update(float(value))
            before = optimizer.param_groups[0]["lr"]
            theirs.step(float(value))
            after = optimizer.param_groups[0]["lr"]
            assert reduced == (after < before), (seed, index)
            assert ours.multiplier == after, (seed, index)


def test_min_value_floors_reductions_but_never_lifts_the_schedule() -> None:
    plateau = Plateau(factor=0.1, patience=0, min_value=0.01)
    plateau.update(1.0)
    for _ in range(3):
        plateau.update(1.0)
    assert plateau.reductions == 3
    assert plateau.apply(0.5) == 0.01  # 0.5 * 1e-3 is below the floor
    assert plateau.apply(0.005) == 0.005  # a warm-up below the floor stays where it is
    assert plateau.apply(0.0) == 0.0
    assert Plateau().apply(0.3) == 0.3


def test_cooldown_ignores_bad_reports_after_a_reduction() -> None:
    plateau = Plateau(factor=0.5, patience=0, cooldown=2)
    flags = [plateau.update(1.0) for _ in range(7)]
    # first report sets best; the 2nd reduces; 2 cooldown reports; then reduces again.
    assert flags == [False, True, False, False, True, False, False]


def test_state_round_trips_through_json_and_continues() -> None:
    plateau = Plateau(mode="max", factor=0.5, patience=1, cooldown=1)
    accuracies = [0.5, 0.6, 0.6, 0.6, 0.6, 0.61, 0.6, 0.6, 0.6, 0.6]
    for value in accuracies[:5]:
        plateau.update(value)
    state = json.loads(json.dumps(plateau.state_dict()))
    restored = Plateau(**state["config"])
    restored.load_state_dict(state)
    assert [restored.update(v) for v in accuracies[5:]] == [
        plateau.update(v) for v in accuracies[5:]
    ]
    assert restored.multiplier == plateau.multiplier and plateau.reductions >= 2
    fresh = Plateau()
    fresh_state = json.loads(json.dumps(fresh.state_dict()))  # best = inf survives JSON
    fresh.load_state_dict(fresh_state)
    assert fresh.best == math.inf


def test_accepts_zero_dim_arrays_and_tensors() -> None:
    plateau = Plateau(patience=0)
    plateau.update(np.float32(1.0))
    plateau.update(np.array(2.0))
    torch = pytest.importorskip("torch")
    assert plateau.update(torch.tensor(3.0)) is True


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"mode": "minimum"}, ValueError, "mode must be one of"),
        ({"mode": 1}, TypeError, "mode must be one of"),
        ({"factor": 1.0}, ValueError, "factor must be < 1"),
        ({"factor": 0.0}, ValueError, "factor must be > 0"),
        ({"factor": "0.1"}, TypeError, "factor must be a real number"),
        ({"patience": -1}, ValueError, "patience must be an integer in"),
        ({"patience": 1.5}, TypeError, "patience must be an integer"),
        ({"threshold": -0.1}, ValueError, "threshold must be >= 0"),
        ({"threshold": math.nan}, ValueError, "threshold must be finite"),
        ({"threshold_mode": "relative"}, ValueError, "threshold_mode must be one of"),
        ({"cooldown": -2}, ValueError, "cooldown must be an integer in"),
        ({"min_value": -1e-3}, ValueError, "min_value must be >= 0"),
    ],
)
def test_bad_options_name_the_argument(options: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=f"plateau: {match}"):
        Plateau(**options)


@pytest.mark.parametrize(
    ("metric", "error"),
    [(math.nan, ValueError), (math.inf, ValueError), ("0.5", TypeError), (None, TypeError)],
)
def test_bad_metrics_are_rejected(metric: object, error: type) -> None:
    plateau = Plateau()
    with pytest.raises(error, match="plateau: metric"):
        plateau.update(metric)  # type: ignore[arg-type]
    assert plateau.bad_epochs == 0 and plateau.best == math.inf


@pytest.mark.parametrize(
    ("state", "error", "match"),
    [
        ([], TypeError, "state must be a dict"),
        ({"best": 1.0}, ValueError, "missing"),
        (
            {"best": math.nan, "bad_epochs": 0, "cooldown_left": 0, "reductions": 0},
            ValueError,
            "best must be a number",
        ),
        (
            {"best": 1.0, "bad_epochs": -1, "cooldown_left": 0, "reductions": 0},
            ValueError,
            "bad_epochs",
        ),
    ],
)
def test_bad_states_are_rejected(state: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Plateau().load_state_dict(state)  # type: ignore[arg-type]
