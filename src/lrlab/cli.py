"""The ``lrlab`` command line: a thin layer over the library.

``main(argv)`` returns the exit code: 0 on success, 2 on bad input, with a
``lrlab: error: ...`` line on stderr (a spec syntax error adds the spec and a caret under
the position), never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from lrlab.lab.interrupt import EXIT_INTERRUPTED
from lrlab.schedules import (
    Schedule,
    load,
    parse,
    preset,
    preset_names,
    registered_kinds,
    schedule_class,
)
from lrlab.schedules._validate import MAX_STEPS

_EXIT_USAGE = 2


class UsageError(ValueError):
    """A command-line argument that cannot be honoured."""


def resolve_schedule(
    text: str, *, lr: float | None, epochs: int | None, steps_per_epoch: int
) -> Schedule:
    """Turn a SPEC argument into a schedule.

    A SPEC is a path to a ``.json``/``.toml`` schedule file, a preset name (``step``,
    ``cosine``, ...; needs ``lr`` and ``epochs``) or spec text.

    Raises:
        UsageError: If a preset is named without ``lr`` and ``epochs``, or a schedule
            file does not exist.
        ValueError, TypeError: If the spec or file is invalid.
    """
    if text.lower().endswith((".json", ".toml")):
        if not Path(text).is_file():
            raise UsageError(f"no such schedule file: {text}")
        return load(text)
    if is_preset(text):
        if lr is None or epochs is None:
            raise UsageError(f"preset {text!r} needs --lr and --epochs")
        return preset(text, init_value=lr, epochs=epochs, steps_per_epoch=steps_per_epoch)
    return parse(text)


def is_preset(text: str) -> bool:
    """Whether a SPEC argument names a preset (rather than spec text or a file)."""
    return text in preset_names()


def _check_lr_is_used(args: argparse.Namespace, specs: list[str]) -> None:
    if args.lr is not None and not any(map(is_preset, specs)):
        raise UsageError("--lr applies to preset names only, and no SPEC is a preset")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if not 1 <= value <= MAX_STEPS:
        raise argparse.ArgumentTypeError(f"expected an integer in [1, 2**53], got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _add_schedule_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lr", type=_positive_float, help="initial learning rate for preset names")
    parser.add_argument(
        "--steps-per-epoch",
        type=_positive_int,
        metavar="S",
        help="optimizer steps per epoch (default 1: the schedule is per epoch)",
    )


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``lrlab: error: ...`` line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"lrlab: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(_EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lrlab`` command."""
    parser = _Parser(
        prog="lrlab",
        description="Learning-rate schedules: plot and tabulate them; train, compare and record "
        "runs that use them.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plot = commands.add_parser(
        "plot",
        help="overlay schedules in one figure",
        description="Overlay the curves of one or more schedules in one labelled figure. "
        "A SPEC is spec text, a .json/.toml file or a preset name.",
    )
    plot.add_argument("specs", nargs="+", metavar="SPEC")
    plot.add_argument("--steps", type=_positive_int, help="steps to draw (default: epochs * S)")
    plot.add_argument(
        "--epochs",
        type=_positive_int,
        help="training length for presets; with it the x-axis is in epochs",
    )
    _add_schedule_options(plot)
    plot.add_argument("-o", "--output", default="lr_schedules.png", help="image file to write")
    plot.add_argument("--log-y", action="store_true", help="logarithmic learning-rate axis")
    plot.add_argument("--title", default="Learning-rate schedules")

    table = commands.add_parser(
        "table",
        help="print the learning rate at the start of each epoch",
        description="For each epoch e in 0..E-1, print the learning rate at t = e*S.",
    )
    table.add_argument("spec", metavar="SPEC")
    table.add_argument("--epochs", type=_positive_int, required=True)
    _add_schedule_options(table)
    table.add_argument("--json", action="store_true", help='print [{"epoch": e, "lr": x}, ...]')
    table.add_argument(
        "--precision", type=_positive_int, default=6, help="significant digits (default 6)"
    )

    commands.add_parser("kinds", help="list schedule kinds and presets")

    parser.set_defaults(lab_commands=_lab_commands(commands))
    return parser


def _lab_commands(commands: Any) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add the lab's commands (they need torch only when run)."""
    from lrlab.lab.commands import add_commands

    return add_commands(commands)


def _plot(args: argparse.Namespace) -> None:
    from lrlab.plotting import plot_schedules

    _check_lr_is_used(args, args.specs)
    repeated = sorted({text for text in args.specs if args.specs.count(text) > 1})
    if repeated:
        raise UsageError(f"SPEC given more than once: {repeated[0]}")
    steps_per_epoch = args.steps_per_epoch or 1
    schedules = {
        text: resolve_schedule(
            text, lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch
        )
        for text in args.specs
    }
    steps = args.steps
    if steps is None:
        if args.epochs is None:
            raise UsageError("give --steps N, or --epochs E (with --steps-per-epoch S)")
        steps = args.epochs * steps_per_epoch
    in_epochs = args.epochs is not None or args.steps_per_epoch is not None
    path = plot_schedules(
        schedules,
        steps,
        args.output,
        steps_per_epoch=steps_per_epoch if in_epochs else None,
        log_y=args.log_y,
        title=args.title,
    )
    print(f"wrote {path}")


def _table(args: argparse.Namespace) -> None:
    _check_lr_is_used(args, [args.spec])
    steps_per_epoch = args.steps_per_epoch or 1
    schedule = resolve_schedule(
        args.spec, lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch
    )
    rows = _epoch_rows(schedule, args.epochs, steps_per_epoch)
    if args.json:
        # Streamed, so a long table never has to fit in memory at once.
        print("[", end="")
        for epoch, lr in rows:
            separator = ", " if epoch else ""
            print(f"{separator}{json.dumps({'epoch': epoch, 'lr': lr})}", end="")
        print("]")
        return
    print(f"# {schedule!r}")
    print(f"{'epoch':>5}  {'step':>9}  lr")
    for epoch, lr in rows:
        print(f"{epoch:>5}  {epoch * steps_per_epoch:>9}  {lr:.{args.precision}g}")


def _epoch_rows(
    schedule: Schedule, epochs: int, steps_per_epoch: int, chunk: int = 65_536
) -> Iterator[tuple[int, float]]:
    """Yield ``(e, schedule(e * steps_per_epoch))`` for ``e`` in ``0..epochs-1``, in chunks."""
    for first in range(0, epochs, chunk):
        epoch_numbers = np.arange(first, min(first + chunk, epochs), dtype=np.int64)
        values = schedule(epoch_numbers.astype(np.float64) * steps_per_epoch)
        yield from zip(epoch_numbers.tolist(), values.tolist(), strict=True)


def _kinds() -> None:
    for kind in registered_kinds():
        names = [field.name for field in dataclasses.fields(schedule_class(kind))]
        print(f"{kind}({', '.join(names)})")
    print(f"presets: {', '.join(preset_names())}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``lrlab`` command with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in args.lab_commands:
            return args.lab_commands[args.command](args)
        if args.command == "plot":
            _plot(args)
        elif args.command == "table":
            _table(args)
        else:
            _kinds()
    except BrokenPipeError:
        raise
    except KeyboardInterrupt:
        _report("interrupted")
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, OSError, ImportError) as error:
        _report(str(error))
        return _EXIT_USAGE
    except (ArithmeticError, RecursionError, MemoryError) as error:
        _report(f"{type(error).__name__}: {error}")
        return _EXIT_USAGE
    return 0


def _report(message: str) -> None:
    indented = message.replace("\n", "\n       ")
    print(f"lrlab: error: {indented}", file=sys.stderr)


def run() -> None:
    """Console-script entry point; a closed output pipe (``| head``) ends it quietly (1)."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away; point stdout at /dev/null so the final flush is silent.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 1
    sys.exit(code)
