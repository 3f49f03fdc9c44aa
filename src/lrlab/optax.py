"""Optax adapter: an lrlab schedule as a jax-traceable optax schedule.

>>> import jax, jax.numpy as jnp, optax, lrlab.optax
>>> learning_rate = lrlab.optax.schedule("cosine(init_value=0.1, total_steps=100)")
>>> optimizer = optax.sgd(learning_rate=learning_rate)
>>> jax.jit(learning_rate)(jnp.array([0, 50, 100]))  # JAX's default: 32-bit
Array([0.1 , 0.05, 0.  ], dtype=float32)

At every count the value is the float64 closed form of :mod:`lrlab.schedules`, computed
in float64 inside the compiled step and returned in JAX's default float type, so a
float32 run gets the float64 learning rate rounded once. No schedule math lives here.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
from typing import Any

try:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax  # noqa: F401  (the [jax] extra: an OptaxSchedule is an optax.Schedule)
    from jax import lax
    from jax.extend import core as jcore
except ImportError as error:  # pragma: no cover - exercised only without jax/optax
    raise ImportError("lrlab.optax needs JAX and optax: pip install 'lrlab[jax]'") from error

from lrlab.schedules import Schedule
from lrlab.schedules._validate import describe
from lrlab.schedules.spec import as_schedule

__all__ = ["OptaxSchedule", "schedule"]


@dataclasses.dataclass(frozen=True, repr=False)
class OptaxSchedule:
    """An optax schedule (``count -> learning rate``) backed by an lrlab :class:`Schedule`.

    Build it with :func:`schedule`. Unlike an optax closure it has a repr, compares equal,
    hashes (so it can be a static argument of ``jax.jit``) and pickles.

    Attributes:
        schedule: The lrlab schedule; ``lr(count)`` is ``schedule(count)``.
    """

    schedule: Schedule

    def __post_init__(self) -> None:
        if not isinstance(self.schedule, Schedule):
            raise TypeError(
                f"lrlab.optax: schedule must be a Schedule, got {describe(self.schedule)}"
            )

    def __repr__(self) -> str:
        return f"lrlab.optax.schedule({str(self.schedule)!r})"

    def __call__(self, count: Any) -> jax.Array:
        """The learning rate at step ``count`` (optax's update count, from 0).

        Args:
            count: Integer or real step(s) ``>= 0``: a jax array or tracer (as optax passes
                it), a numpy array, a list or a Python number. Any shape; the result has
                the same.

        Returns:
            A float64 array when ``jax_enable_x64`` is on, else float32 (the float64 value
            rounded once).

        Raises:
            TypeError: If ``count`` is not numeric.
            ValueError: If a concrete (not traced) ``count`` is negative, NaN or infinite.
                A traced count cannot be checked; optax's are never negative.
        """
        return _evaluate(self.schedule, _as_time(count))


def schedule(s: Schedule | str) -> OptaxSchedule:
    r"""An optax schedule with ``lr(count) = s(count)``, traceable under ``jax.jit``.

    Use it wherever optax takes a schedule: ``optax.sgd(learning_rate=schedule(s))``;
    ``optax.inject_hyperparams(optax.adam)(learning_rate=schedule(s))``, which also keeps
    the applied LR in the optimizer state; or ``lr(step)`` in any jitted code. The
    momentum that ``cyclic`` and ``one_cycle`` cycle works the same way:
    ``inject_hyperparams(optax.sgd)(learning_rate=schedule(s), momentum=schedule(s.momentum()))``.
    After the end of a finite schedule, the schedule's own continuation applies (most
    families hold their final value). Nothing raises under ``jit``.

    **Precision.** The formula runs in float64 and the result has JAX's default float
    type:

    - ``jax_enable_x64`` on: float64, within ``1e-12`` (relative) of ``s(count)``.
    - ``jax_enable_x64`` off (JAX's default): float32, equal to ``float32(s(count))``
      (float32's rounding, ``6e-8`` relative). Values below float32's normal range
      (``1.2e-38``) flush to 0.

    **How, and the trade-off.** Running the formulas in float32 is not accurate enough.
    Near the end of a cycle, ``1 + cos(pi u)`` cancels, so ``cosine``, ``cosine_restarts``
    and warm-up + cosine are off by up to 100 % there. A ``one_cycle`` of 10^5 steps is
    off by 3e-3. So the schedule is traced with x64 switched on for its own few ops only
    (``jax.enable_x64``), and it runs in float64 inside the compiled step. The count
    comes in as it is and only the result is rounded, so parameters, gradients and
    optimizer state keep their dtypes. In addition, XLA rewrites ``x / c`` as
    ``x * (1/c)``, which is not exact. That rewrite makes ``step(every=49)`` miss its
    drop at ``t = 49`` and sends a fractional-power ``polynomial`` to NaN at its end. To
    prevent it, every division gets a data-dependent divisor with the same value (see
    :func:`_on_device`).

    Cost, measured on a 2-core CPU VM under ``jit`` for a warm-up + cosine, against a
    constant float LR: +0.024 µs per step inside a ``lax.scan`` (optax's own float32
    ``warmup_cosine_decay_schedule``: +0.012 µs), and +4 µs per dispatch of a jitted
    step, the same as optax's own schedule (+5 µs). The schedule is part of the compiled
    computation, so it needs no host round trip or synchronization, and it works under
    ``vmap`` and ``lax.scan``. The alternative, evaluating on the host with
    ``jax.pure_callback``, cost about 300 µs per step there. It also breaks under the
    thread-local ``jax.enable_x64`` context, because XLA may run the callback on a worker
    thread. The one requirement is a backend with float64 arithmetic, which CPU and GPU
    have. XLA emulates float64 on TPU, and this path is untested there.

    Args:
        s: A :class:`~lrlab.Schedule` or a spec string (see :func:`lrlab.parse`) in optax
            steps: ``t`` is optax's update count, 0 for the first update.

    Returns:
        An :class:`OptaxSchedule`, a callable ``count -> jax.Array``.

    Raises:
        TypeError: If ``s`` is neither a schedule nor a string, or the spec has an
            argument of the wrong type.
        ValueError: If ``s`` is not a valid spec.

    Example:
        >>> import jax, jax.numpy as jnp, optax, lrlab, lrlab.optax
        >>> s = lrlab.parse("warmup(constant(value=0.1), warmup_steps=4)")
        >>> tx = optax.inject_hyperparams(optax.sgd)(learning_rate=lrlab.optax.schedule(s))
        >>> params = jnp.zeros(2)
        >>> state = tx.init(params)
        >>> update = jax.jit(tx.update)
        >>> for _ in range(3):
        ...     _, state = update(jnp.ones(2), state, params)
        >>> state.hyperparams["learning_rate"]  # the LR of the last update, t = 2
        Array(0.05, dtype=float32)
        >>> lrlab.optax.schedule("constant(value=0.1)")
        lrlab.optax.schedule('constant(value=0.1)')
    """
    return OptaxSchedule(as_schedule(s, "lrlab.optax", "schedule s"))


def _as_time(count: Any) -> Any:
    """``count`` as an array (or tracer) of a real dtype, checked when it is concrete."""
    if isinstance(count, bool | np.bool_) or not isinstance(
        count, jax.Array | np.ndarray | numbers.Real | list | tuple
    ):
        raise TypeError(
            f"lrlab.optax: count must be a real number or an array of them, got {describe(count)}"
        )
    array = count if isinstance(count, jax.Array) else np.asarray(count)
    if np.dtype(array.dtype).kind not in "iuf":
        raise TypeError(
            f"lrlab.optax: count must be a real number or an array of them, got {describe(count)}"
        )
    if not isinstance(array, jax.core.Tracer):
        values = np.asarray(array, dtype=np.float64)
        if values.size and not (np.all(np.isfinite(values)) and values.min() >= 0.0):
            bad = values[~(np.isfinite(values) & (values >= 0.0))].flat[0]
            raise ValueError(
                f"lrlab.optax: count must contain only finite numbers >= 0, found {float(bad)!r}"
            )
    return array


@functools.partial(jax.jit, static_argnums=0)
def _evaluate(s: Schedule, time: Any) -> jax.Array:
    """``s(time)`` in JAX's default float type (jitted, so eager calls reuse a compilation)."""
    float64 = bool(jax.config.jax_enable_x64)
    with jax.enable_x64(True):  # for the schedule's own ops only; see schedule()
        times = jnp.asarray(time).astype(jnp.float64)
        value = jnp.broadcast_to(_on_device(s, times), times.shape)
        return value if float64 else value.astype(jnp.float32)


def _on_device(s: Schedule, times: jax.Array) -> jax.Array:
    """``s.compute(times, jnp)``, with every division kept a correctly rounded division.

    XLA's algebraic simplifier rewrites ``x / c`` (``c`` a constant or a broadcast scalar)
    into ``x * (1/c)``, which is an ulp off for about a quarter of quotients. The formulas
    floor exact quotients and rely on ``1 - T/T == 0``. So the schedule is traced to a
    jaxpr and replayed with each divisor ``y`` replaced by ``y + times * 0``, which has the
    same value but depends on the data, so XLA keeps the division. Nothing else changes.
    """
    closed = jax.make_jaxpr(functools.partial(s.compute, xp=jnp))(times)
    (value,) = _replay(closed.jaxpr, closed.consts, [times], times * 0.0)
    return value


def _replay(jaxpr: jcore.Jaxpr, consts: Any, args: list[Any], zero: jax.Array) -> list[Any]:
    """Evaluate ``jaxpr`` as traced, except that divisions get the divisor ``y + zero``.

    Only a division whose result has the shape of the time array, or a shape it
    broadcasts to, can depend on the time. Any other division is between constants, and
    XLA folds those with exact division.
    """
    env: dict[Any, Any] = {}

    def read(var: Any) -> Any:
        return var.val if isinstance(var, jcore.Literal) else env[var]

    env.update(zip(jaxpr.constvars, consts, strict=True))
    env.update(zip(jaxpr.invars, args, strict=True))
    for eqn in jaxpr.eqns:
        inputs = [read(var) for var in eqn.invars]
        inner = eqn.params.get("jaxpr")
        out = eqn.outvars[0].aval if eqn.outvars else None
        if eqn.primitive is lax.div_p and jnp.broadcast_shapes(out.shape, zero.shape) == out.shape:
            dividend, divisor = inputs
            outputs = [jnp.divide(dividend, divisor + zero).astype(out.dtype)]
        elif isinstance(inner, jcore.ClosedJaxpr) and eqn.primitive.name in ("jit", "pjit"):
            outputs = _replay(inner.jaxpr, inner.consts, inputs, zero)  # jnp helpers
        else:
            result = eqn.primitive.bind(*inputs, **eqn.params)
            outputs = result if eqn.primitive.multiple_results else [result]
        env.update(zip(eqn.outvars, outputs, strict=True))
    return [read(var) for var in jaxpr.outvars]
