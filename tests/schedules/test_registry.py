"""A new family needs no factory edit: subclassing registers it everywhere."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

import lrlab
from lrlab.cli import main
from lrlab.schedules import Schedule, _base, family
from lrlab.schedules import _validate as check


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register families without leaking them into other tests."""
    monkeypatch.setattr(_base, "_REGISTRY", dict(_base._REGISTRY))


def define_half_life() -> type[Schedule]:
    @family
    class HalfLife(Schedule, kind="half_life"):
        r"""Halve every ``half_life`` steps.

        .. math:: \eta(t) = \eta_0 2^{-t/h}

        Args:
            init_value: Initial LR.
            half_life: Steps per halving.
        """

        init_value: float
        half_life: float

        def __post_init__(self) -> None:
            check.real(self, "init_value", above=0.0)
            check.real(self, "half_life", above=0.0)

        def compute(self, t: Any, xp: Any) -> Any:
            return self.init_value * 2.0 ** (-t / self.half_life)

    return HalfLife


@pytest.mark.usefixtures("scratch_registry")
def test_a_subclass_is_parsed_serialized_and_listed(capsys: pytest.CaptureFixture[str]) -> None:
    half_life = define_half_life()
    assert "half_life" in lrlab.registered_kinds()
    single = half_life(init_value=0.1, half_life=10)
    joined = lrlab.parse(
        "sequence(half_life(init_value=0.1, half_life=10), constant(value=1), durations=[20])"
    )
    assert joined.pieces[0] == single and joined(19) == single(19) and joined(20) == 1.0
    assert lrlab.parse(repr(single)) == single
    assert lrlab.from_dict(json.loads(json.dumps(single.to_dict()))) == single
    np.testing.assert_allclose(single(np.array([0, 10, 20])), [0.1, 0.05, 0.025])
    assert math.isclose(lrlab.parse("2 * half_life(init_value=0.1, half_life=10)")(10), 0.1)
    assert main(["kinds"]) == 0
    assert "half_life(init_value, half_life)" in capsys.readouterr().out


@pytest.mark.usefixtures("scratch_registry")
def test_a_kind_cannot_be_taken_twice() -> None:
    with pytest.raises(ValueError, match="'cosine' is already registered"):

        class Impostor(Schedule, kind="cosine"):
            pass
