"""``lrlab.torch.scheduler``: real optimizers stepped N times give ``schedule(arange(N))``.

Also: momentum cycling against torch's own schedulers, param groups, GradScaler skips,
the tensor LR under ``torch.compile``, plateau on top of a schedule, the horizon check,
in-process state round-trips and the guard against LRs written from outside.
"""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from adapter_cases import STEPS, all_specs, missing_kinds  # noqa: E402

import lrlab  # noqa: E402
import lrlab.torch  # noqa: E402

OPTIMIZERS = {
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
}


def make_model(seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 2)


def train(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: lrlab.torch.ScheduleLR,
    steps: int,
    *,
    seed: int = 1,
) -> tuple[list[list[float]], list[list[float]]]:
    """Run ``steps`` real SGD/Adam updates; return the LRs and momenta each step used."""
    generator = torch.Generator().manual_seed(seed)
    lrs, momenta = [], []
    for _ in range(steps):
        inputs = torch.randn(4, 3, generator=generator)
        loss = model(inputs).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        lrs.append([float(group["lr"]) for group in optimizer.param_groups])
        momenta.append([_momentum(group) for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return lrs, momenta


def _momentum(group: dict) -> float:
    return float(group["betas"][0] if "betas" in group else group.get("momentum", math.nan))


def test_every_kind_has_a_parity_case() -> None:
    assert missing_kinds() == set()


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("spec", all_specs())
def test_stepping_a_real_optimizer_gives_the_closed_form(spec: str, optimizer_name: str) -> None:
    schedule = lrlab.parse(spec)
    model = make_model()
    optimizer = OPTIMIZERS[optimizer_name](model.parameters(), 0.1)
    scheduler = lrlab.torch.scheduler(optimizer, schedule, hold=True)
    assert isinstance(scheduler, torch.optim.lr_scheduler.LRScheduler)
    lrs, _ = train(model, optimizer, scheduler, STEPS)
    expected = schedule(np.arange(STEPS))
    # Python floats in the param groups: equal to the last bit.
    np.testing.assert_array_equal(np.array(lrs)[:, 0], expected)
    assert scheduler.get_last_lr() == [schedule(STEPS)]
    assert scheduler.last_epoch == scheduler.time == STEPS


def test_epoch_unit_counts_scheduler_calls() -> None:
    schedule = lrlab.parse("step(init_value=0.1, factor=0.5, every=2)")
    optimizer = torch.optim.SGD(make_model().parameters(), lr=0.1)
    scheduler = lrlab.torch.scheduler(optimizer, schedule, unit="epoch")
    seen = []
    for _epoch in range(6):
        for _ in range(3):  # three optimizer steps per epoch, LR unchanged within it
            seen.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
        scheduler.step()
    np.testing.assert_array_equal(seen, np.repeat(schedule(np.arange(6)), 3))


def test_epoch_unit_with_steps_per_epoch_changes_at_epoch_boundaries() -> None:
    schedule = lrlab.parse("linear(init_value=0.1, end_value=0.0, total_steps=4)")
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = lrlab.torch.scheduler(optimizer, schedule, unit="epoch", steps_per_epoch=5)
    lrs, _ = train(model, optimizer, scheduler, 20)
    np.testing.assert_array_equal(np.array(lrs)[:, 0], np.repeat(schedule(np.arange(4)), 5))


# -- momentum -----------------------------------------------------------------------------


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
def test_one_cycle_cycles_momentum_like_torch(optimizer_name: str, three_phase: bool) -> None:
    total = 40
    ours_model, torch_model = make_model(), make_model()
    ours_opt = OPTIMIZERS[optimizer_name](ours_model.parameters(), 0.1)
    torch_opt = OPTIMIZERS[optimizer_name](torch_model.parameters(), 0.1)
    spec = f"one_cycle(peak_value=0.1, total_steps={total}, three_phase={three_phase})"
    ours = lrlab.torch.scheduler(ours_opt, spec)
    reference = torch.optim.lr_scheduler.OneCycleLR(
        torch_opt, max_lr=0.1, total_steps=total, three_phase=three_phase
    )
    ours_lrs, ours_momenta = train(ours_model, ours_opt, ours, total)
    torch_lrs, torch_momenta = train(torch_model, torch_opt, reference, total)
    np.testing.assert_array_equal(ours_lrs, torch_lrs)
    np.testing.assert_allclose(ours_momenta, torch_momenta, rtol=1e-15, atol=0)
    assert min(min(row) for row in ours_momenta) == pytest.approx(0.85)
    for a, b in zip(ours_model.parameters(), torch_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic_cycles_momentum_like_torch(mode: str) -> None:
    gamma = 0.97 if mode == "exp_range" else 1.0
    ours_model, torch_model = make_model(), make_model()
    ours_opt = torch.optim.SGD(ours_model.parameters(), lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD(torch_model.parameters(), lr=0.1, momentum=0.9)
    spec = (
        f"cyclic(base_value=0.01, max_value=0.1, step_size_up=4, step_size_down=6, "
        f"mode={mode!r}, gamma={gamma})"
    )
    ours = lrlab.torch.scheduler(ours_opt, spec, base_momentum=0.7, max_momentum=0.9)
    reference = torch.optim.lr_scheduler.CyclicLR(
        torch_opt, 0.01, 0.1, step_size_up=4, step_size_down=6, mode=mode, gamma=gamma,
        base_momentum=0.7, max_momentum=0.9,
    )  # fmt: skip
    ours_lrs, ours_momenta = train(ours_model, ours_opt, ours, 35)
    torch_lrs, torch_momenta = train(torch_model, torch_opt, reference, 35)
    np.testing.assert_allclose(ours_lrs, torch_lrs, rtol=1e-15, atol=0)
    np.testing.assert_allclose(ours_momenta, torch_momenta, rtol=1e-15, atol=0)
    for a, b in zip(ours_model.parameters(), torch_model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_momentum_is_left_alone_without_momentum_or_when_disabled() -> None:
    spec = "one_cycle(peak_value=0.1, total_steps=20)"
    plain = torch.optim.SGD(make_model().parameters(), lr=0.1)  # momentum=0: plain SGD
    lrlab.torch.scheduler(plain, spec)
    assert plain.param_groups[0]["momentum"] == 0
    adam = torch.optim.Adam(make_model().parameters(), lr=0.1, betas=(0.9, 0.99))
    lrlab.torch.scheduler(adam, spec, cycle_momentum=False)
    assert adam.param_groups[0]["betas"] == (0.9, 0.99)
    forced = torch.optim.SGD(make_model().parameters(), lr=0.1)
    lrlab.torch.scheduler(forced, spec, cycle_momentum=True)
    assert forced.param_groups[0]["momentum"] == pytest.approx(0.95)


def test_cycle_momentum_true_needs_a_cycle_and_momentum() -> None:
    optimizer = torch.optim.SGD(make_model().parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="does not cycle momentum"):
        lrlab.torch.scheduler(optimizer, "constant(value=0.1)", cycle_momentum=True)
    adagrad = torch.optim.Adagrad(make_model().parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no 'momentum' or 'betas'"):
        lrlab.torch.scheduler(
            adagrad, "one_cycle(peak_value=0.1, total_steps=9)", cycle_momentum=True
        )


# -- param groups -------------------------------------------------------------------------


def two_group_optimizer(head_lr: float | None = None) -> torch.optim.SGD:
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 1))
    head = {"params": model[1].parameters(), "name": "head"}
    if head_lr is not None:
        head["lr"] = head_lr
    return torch.optim.SGD(
        [{"params": model[0].parameters(), "name": "body"}, head], lr=0.1, momentum=0.9
    )


def step_optimizer(optimizer: torch.optim.Optimizer, scheduler, steps: int) -> list[list[float]]:
    seen = []
    for _ in range(steps):
        seen.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return seen


def test_one_schedule_is_scaled_by_each_groups_own_lr() -> None:
    schedule = lrlab.parse("cosine(init_value=0.1, total_steps=30)")
    optimizer = two_group_optimizer(head_lr=0.01)
    scheduler = lrlab.torch.scheduler(optimizer, schedule)
    seen = np.array(step_optimizer(optimizer, scheduler, 30))
    expected = schedule(np.arange(30))
    np.testing.assert_array_equal(seen[:, 0], expected)  # the default-lr group: exact
    np.testing.assert_allclose(seen[:, 1], 0.1 * expected, rtol=1e-15)


@pytest.mark.parametrize("by", ["list", "index", "name"])
def test_one_schedule_per_group(by: str) -> None:
    body = lrlab.parse("linear(init_value=0.1, end_value=0.0, total_steps=20)")
    head = lrlab.parse("constant(value=0.3)")
    schedules = {
        "list": [body, head],
        "index": {1: head, 0: body},
        "name": {"head": repr(head), "body": body},
    }[by]
    optimizer = two_group_optimizer()
    scheduler = lrlab.torch.scheduler(optimizer, schedules)
    seen = np.array(step_optimizer(optimizer, scheduler, 20))
    np.testing.assert_array_equal(seen[:, 0], body(np.arange(20)))
    np.testing.assert_array_equal(seen[:, 1], head(np.arange(20)))


@pytest.mark.parametrize(
    ("schedules", "error", "match"),
    [
        (["constant(value=0.1)"], ValueError, "1 schedules for 2 param groups"),
        ({0: "constant(value=0.1)"}, ValueError, r"no schedule for param group\(s\) \[1\]"),
        ({"tail": "constant(value=0.1)"}, ValueError, "'tail' is neither"),
        ({5: "constant(value=0.1)"}, ValueError, "5 is neither"),
        ({0: "constant(value=0.1)", "body": "constant(value=0.2)"}, ValueError, "two schedules"),
        ([0.1, 0.2], TypeError, r"schedule\[0\] must be a Schedule"),
        (0.1, TypeError, "schedule must be a Schedule"),
        ("cosine(init_value=0.1)", TypeError, "total_steps"),
    ],
)
def test_bad_group_schedules_are_named(schedules, error, match) -> None:
    with pytest.raises(error, match=match):
        lrlab.torch.scheduler(two_group_optimizer(), schedules)


# -- GradScaler ---------------------------------------------------------------------------


def test_a_step_skipped_by_grad_scaler_does_not_advance_time() -> None:
    schedule = lrlab.parse("linear(init_value=0.1, end_value=0.0, total_steps=10)")
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = lrlab.torch.scheduler(optimizer, schedule)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**4)
    used, skipped = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "lr_scheduler.step() before optimizer.step()"
        for index in range(8):
            optimizer.zero_grad()
            loss = model(torch.ones(2, 3)).sum()
            scaler.scale(loss).backward()
            if index in (0, 3, 4):  # an overflow: GradScaler skips optimizer.step()
                model.weight.grad[0, 0] = math.inf
            used.append(optimizer.param_groups[0]["lr"])
            before = model.weight.detach().clone()
            scaler.step(optimizer)
            skipped.append(torch.equal(before, model.weight.detach()))
            scaler.update()
            scheduler.step()
    assert skipped == [True, False, False, True, True, False, False, False]
    # Time advances only on the 5 real steps: t = 0 0 1 2 2 2 3 4.
    np.testing.assert_array_equal(used, schedule(np.array([0, 0, 1, 2, 2, 2, 3, 4])))
    assert scheduler.time == 5


# -- tensor LR under torch.compile --------------------------------------------------------


def compiled_frames(lr: float | torch.Tensor, tensor_lr: bool, steps: int) -> tuple[int, int]:
    """Frames dynamo compiled after the first Adam step, and after ``steps`` more."""
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = lrlab.torch.scheduler(
        optimizer, "cosine(init_value=0.1, total_steps=500)", tensor_lr=tensor_lr
    )
    counter = CompileCounter()

    @torch.compile(backend=counter)
    def optimizer_step() -> None:
        optimizer.step()

    inputs = torch.randn(4, 3)
    frames = []
    for index in range(steps + 1):
        optimizer.zero_grad()
        model(inputs).sum().backward()
        optimizer_step()
        scheduler.step()
        if index == 0:
            frames.append(counter.frame_count)
    frames.append(counter.frame_count)
    return frames[0], frames[1]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # raised inside torch's tracing
def test_tensor_lr_never_recompiles_a_compiled_optimizer_step() -> None:
    warm, after = compiled_frames(0.1, tensor_lr=True, steps=200)
    assert warm >= 1 and after == warm, f"{after - warm} recompiles over 200 steps"
    # The float LR recompiles at least once when the LR changes: the test can fail.
    warm_float, after_float = compiled_frames(0.1, tensor_lr=False, steps=5)
    assert after_float > warm_float


def test_tensor_lr_is_a_zero_dim_tensor_updated_in_place() -> None:
    schedule = lrlab.parse("cosine(init_value=0.1, total_steps=20)")
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = lrlab.torch.scheduler(optimizer, schedule, tensor_lr=True)
    lr = optimizer.param_groups[0]["lr"]
    assert isinstance(lr, torch.Tensor) and lr.dim() == 0 and lr.device == model.weight.device
    lrs, _ = train(model, optimizer, scheduler, 20)
    assert optimizer.param_groups[0]["lr"] is lr
    np.testing.assert_allclose(np.array(lrs)[:, 0], schedule(np.arange(20)), rtol=1e-6, atol=0)


# -- plateau ------------------------------------------------------------------------------


def test_plateau_multiplies_any_schedule() -> None:
    schedule = lrlab.parse("warmup(cosine(init_value=0.1, total_steps=60), warmup_steps=6)")
    optimizer = torch.optim.SGD(make_model().parameters(), lr=0.1)
    scheduler = lrlab.torch.plateau(optimizer, schedule, factor=0.5, patience=1)
    reference = lrlab.Plateau(factor=0.5, patience=1)
    losses = [1.0, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.6]
    for epoch, loss in enumerate(losses):
        for step in range(6):
            t = epoch * 6 + step
            expected = max(schedule(t) * reference.multiplier, min(schedule(t), 0.0))
            assert optimizer.param_groups[0]["lr"] == expected, (epoch, step)
            optimizer.step()
            scheduler.step()
        assert scheduler.report(loss) == reference.update(loss)
    assert scheduler.plateau.reductions == reference.reductions == 3


def test_plateau_without_a_schedule_is_reduce_lr_on_plateau() -> None:
    ours = torch.optim.SGD(make_model().parameters(), lr=0.1)
    theirs = torch.optim.SGD(make_model().parameters(), lr=0.1)
    options = {"factor": 0.3, "patience": 2, "threshold": 0.01, "cooldown": 1}
    scheduler = lrlab.torch.plateau(ours, **options, min_value=0.005, unit="epoch")
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **options, min_lr=0.005)
    rng = np.random.default_rng(3)
    losses = np.concatenate([np.linspace(1.0, 0.5, 5), 0.5 + rng.uniform(0, 0.01, 25)])
    for loss in losses:
        scheduler.report(float(loss))
        reference.step(float(loss))
        assert ours.param_groups[0]["lr"] == pytest.approx(theirs.param_groups[0]["lr"], 1e-12)
    assert ours.param_groups[0]["lr"] == pytest.approx(0.005)


def test_report_without_plateau_is_a_clear_error() -> None:
    optimizer = torch.optim.SGD(make_model().parameters(), lr=0.1)
    scheduler = lrlab.torch.scheduler(optimizer, "constant(value=0.1)")
    with pytest.raises(ValueError, match="no plateau controller"):
        scheduler.report(1.0)


# -- horizon ------------------------------------------------------------------------------


def test_stepping_past_the_end_raises_unless_hold() -> None:
    spec = "one_cycle(peak_value=0.1, total_steps=5)"
    optimizer = torch.optim.SGD(make_model().parameters(), lr=0.1)
    scheduler = lrlab.torch.scheduler(optimizer, spec)
    for _ in range(5):  # the last step() sets the LR for a step that never runs: allowed
        optimizer.step()
        scheduler.step()
    optimizer.step()
    with pytest.raises(ValueError, match="stepped past the end.*lasts 5 steps.*hold=True"):
        scheduler.step()
    assert scheduler.time == 5
    held = torch.optim.SGD(make_model().parameters(), lr=0.1)
    holding = lrlab.torch.scheduler(held, spec, hold=True)
    for _ in range(9):
        held.step()
        holding.step()
    assert held.param_groups[0]["lr"] == lrlab.parse(spec)(4)


# -- state --------------------------------------------------------------------------------


def test_state_dict_round_trip_continues_exactly() -> None:
    spec = "warmup(cosine(init_value=0.1, total_steps=50), warmup_steps=5)"
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = lrlab.torch.scheduler(optimizer, spec)
    train(model, optimizer, scheduler, 17)
    state = pickle.loads(pickle.dumps(scheduler.state_dict()))
    fresh_optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    fresh = lrlab.torch.scheduler(fresh_optimizer, spec)
    fresh_optimizer.load_state_dict(optimizer.state_dict())
    fresh.load_state_dict(state)
    assert fresh.time == 17 and fresh_optimizer.param_groups[0]["lr"] == lrlab.parse(spec)(17)


def test_new_schedule_on_resume_wins_with_a_warning() -> None:
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    old = lrlab.torch.scheduler(optimizer, "constant(value=0.1)")
    train(model, optimizer, old, 10)
    saved_optimizer, saved_scheduler = optimizer.state_dict(), old.state_dict()
    new_optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    new = lrlab.torch.scheduler(new_optimizer, "constant(value=0.02)")
    new_optimizer.load_state_dict(saved_optimizer)  # brings back lr=0.1
    with pytest.warns(UserWarning, match=r"constant\(value=0.1\) -> constant\(value=0.02\)"):
        new.load_state_dict(saved_scheduler)
    assert new_optimizer.param_groups[0]["lr"] == 0.02 and new.time == 10


def test_an_lr_written_from_outside_is_replaced_with_a_warning() -> None:
    schedule = lrlab.parse("linear(init_value=0.1, end_value=0.0, total_steps=20)")
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = lrlab.torch.scheduler(optimizer, schedule)
    train(model, optimizer, scheduler, 3)
    saved = optimizer.state_dict()  # holds the LR of step 3
    optimizer.param_groups[0]["lr"] = 0.5
    with pytest.warns(UserWarning, match=r"changed outside the scheduler \(to \{0: 0.5\}\)"):
        optimizer.step()
    assert optimizer.param_groups[0]["lr"] == schedule(3)
    scheduler.step()
    optimizer.load_state_dict(saved)  # an old LR loaded after the scheduler: also caught
    assert optimizer.param_groups[0]["lr"] == schedule(3)
    with pytest.warns(UserWarning, match="changed outside the scheduler"):
        optimizer.step()
    assert optimizer.param_groups[0]["lr"] == schedule(4)


def test_a_new_scheduler_takes_over_the_optimizer() -> None:
    model = make_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    first = lrlab.torch.scheduler(optimizer, "constant(value=0.1)")
    second = lrlab.torch.scheduler(optimizer, "constant(value=0.03)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the first one no longer guards this optimizer
        train(model, optimizer, second, 3)
    assert first.time == 0 and second.time == 3
    assert optimizer.param_groups[0]["lr"] == 0.03
    assert (
        len(optimizer._optimizer_step_pre_hooks),
        len(optimizer._optimizer_step_post_hooks),
    ) == (1, 0)


@pytest.mark.parametrize(
    ("state", "error", "match"),
    [
        ([], TypeError, "state_dict must be a dict"),
        ({"format": "x"}, ValueError, "not a lrlab.torch.ScheduleLR/1 state"),
        ({"format": "lrlab.torch.ScheduleLR/1"}, ValueError, r"missing \['unit'"),
    ],
)
def test_bad_states_are_rejected(state, error, match) -> None:
    optimizer = torch.optim.SGD(make_model().parameters(), lr=0.1)
    scheduler = lrlab.torch.scheduler(optimizer, "constant(value=0.1)")
    with pytest.raises(error, match=match):
        scheduler.load_state_dict(state)


def test_group_count_mismatch_on_load_is_rejected() -> None:
    optimizer = torch.optim.SGD(make_model().parameters(), lr=0.1)
    state = lrlab.torch.scheduler(optimizer, "constant(value=0.1)").state_dict()
    other = lrlab.torch.scheduler(two_group_optimizer(), "constant(value=0.1)")
    with pytest.raises(ValueError, match="1 param groups, this scheduler has 2"):
        other.load_state_dict(state)


# -- arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"unit": "batch"}, ValueError, "unit must be one of"),
        ({"steps_per_epoch": 5}, ValueError, "applies only to unit='epoch'"),
        ({"unit": "epoch", "steps_per_epoch": 0}, ValueError, "steps_per_epoch must be >= 1"),
        ({"unit": "epoch", "steps_per_epoch": 2.5}, TypeError, "steps_per_epoch must be an int"),
        ({"hold": 1}, TypeError, "hold must be True or False"),
        ({"tensor_lr": "yes"}, TypeError, "tensor_lr must be True or False"),
        ({"cycle_momentum": 1}, TypeError, "cycle_momentum must be True, False or None"),
        ({"base_momentum": 0.99}, ValueError, "base_momentum <= max_momentum"),
    ],
)
def test_bad_options_are_named(options, error, match) -> None:
    optimizer = torch.optim.SGD(make_model().parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(error, match=match):
        lrlab.torch.scheduler(optimizer, "one_cycle(peak_value=0.1, total_steps=9)", **options)


def test_optimizer_must_be_an_optimizer() -> None:
    with pytest.raises(TypeError, match="optimizer must be a torch Optimizer"):
        lrlab.torch.scheduler(object(), "constant(value=0.1)")
    with pytest.raises(TypeError, match="optimizer must be a torch Optimizer"):
        lrlab.torch.plateau([0.1])


def test_stepping_every_micro_batch_counts_only_optimizer_steps() -> None:
    schedule = lrlab.parse("linear(init_value=0.1, end_value=0.0, total_steps=10)")
    optimizer = torch.optim.SGD(make_model().parameters(), lr=0.1)
    scheduler = lrlab.torch.scheduler(optimizer, schedule)
    used = []
    for micro_batch in range(12):  # gradient accumulation over 3 micro-batches
        if (micro_batch + 1) % 3 == 0:
            used.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
        scheduler.step()
    assert scheduler.time == 4
    np.testing.assert_array_equal(used, schedule(np.arange(4)))


def test_groups_sharing_a_one_cycle_match_torch_in_every_group() -> None:
    ours_opt, torch_opt = two_group_optimizer(), two_group_optimizer()
    ours = lrlab.torch.scheduler(ours_opt, "one_cycle(peak_value=0.1, total_steps=30)")
    reference = torch.optim.lr_scheduler.OneCycleLR(torch_opt, max_lr=0.1, total_steps=30)
    for _ in range(30):
        for mine, theirs in zip(ours_opt.param_groups, torch_opt.param_groups, strict=True):
            assert mine["lr"] == theirs["lr"]
            assert mine["momentum"] == pytest.approx(theirs["momentum"], rel=1e-15)
        ours_opt.step()
        ours.step()
        torch_opt.step()
        reference.step()
