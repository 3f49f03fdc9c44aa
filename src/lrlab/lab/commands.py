"""The lab's commands: ``lrlab run``, ``compare``, ``resume``, ``runs ...``, ``find`` and
``inspect``.

:func:`add_commands` adds them to the ``lrlab`` parser. Each handler returns the exit code:
0 done; 1 when ``lrlab run`` or ``lrlab resume`` ended in a diverged run (in ``compare`` a
diverged run is a result in its table, exit 0); 130 interrupted (Ctrl+C or SIGTERM; the
run keeps a checkpoint for ``lrlab resume``). Settings left out take :class:`RunConfig`'s
defaults, and in ``compare`` the config file's; flags given win over the file, including
its per-schedule entries (``--lr`` then sets the LR of the preset entries).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from lrlab.lab.cli_args import add_store_option, integer, names, real, store_of
from lrlab.lab.config import AUGMENTATIONS, DEVICES, OPTIMIZERS, UNITS, RunConfig
from lrlab.lab.interrupt import EXIT_INTERRUPTED, stop_on_signals
from lrlab.lab.progress import Progress, make_progress
from lrlab.lab.runs_commands import add_runs_command
from lrlab.lab.store import RunStore

EXIT_DIVERGED = 1
"""The exit code of ``lrlab run`` when its loss diverged."""

Handler = Callable[[argparse.Namespace], int]

_RUN_OPTIONS = (
    "dataset",
    "model",
    "lr",
    "epochs",
    "batch_size",
    "optimizer",
    "momentum",
    "nesterov",
    "weight_decay",
    "unit",
    "augment",
    "data_seed",
    "limit",
    "device",
    "threads",
    "compile",
)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="directory holding the dataset file")


def _add_progress(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "none"),
        default="auto",
        help="a bar on a terminal, Keras-style lines otherwise (auto), or silence",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("run settings (default: lrlab.lab.RunConfig's)")
    group.add_argument("--dataset", help="ionosphere, cifar10, digits, breast_cancer, synthetic")
    group.add_argument("--model", help="mlp, minivggnet, resnet, cifar_cnn, resnet9")
    group.add_argument("--lr", type=real, help="initial LR of preset schedules")
    group.add_argument("--epochs", type=integer(1))
    group.add_argument("--batch-size", type=integer(1))
    group.add_argument("--optimizer", choices=OPTIMIZERS)
    group.add_argument("--momentum", type=real, help="SGD momentum (default 0.9)")
    group.add_argument("--nesterov", action=argparse.BooleanOptionalAction, help="SGD only")
    group.add_argument("--weight-decay", type=real, help="default: the model's reference L2")
    group.add_argument("--unit", choices=UNITS, help="what spec text's t counts")
    group.add_argument("--augment", type=names, help=f"comma list of {', '.join(AUGMENTATIONS)}")
    group.add_argument("--data-seed", type=integer(0), help="seed of the train/test split")
    group.add_argument("--limit", type=integer(1), help="train on this many rows")
    group.add_argument("--device", choices=DEVICES)
    group.add_argument("--threads", type=integer(1), help="torch CPU threads")
    group.add_argument("--compile", action=argparse.BooleanOptionalAction, help="torch.compile")
    _add_data_dir(parser)
    add_store_option(parser)
    _add_progress(parser)


def add_commands(commands: Any) -> dict[str, Handler]:
    """Add the lab's subcommands to ``commands`` (an argparse subparsers object).

    Returns:
        The handler of each command name.
    """
    run = commands.add_parser(
        "run",
        help="train one run, record it, write its plots and classification report",
        description="Train one model with one schedule; print the run id and the "
        "classification report; write the LR and training plots; record it in the store. "
        "Ctrl+C checkpoints it (exit 130) for 'lrlab resume'.",
    )
    run.add_argument("--schedule", help="preset name, spec text or 'auto' (default none)")
    run.add_argument("--seed", type=integer(0))
    _add_run_options(run)
    run.add_argument("--out", default="lrlab-runs", help="runs go to OUT/run-<id>")
    run.add_argument("--lr-plot", help="LR plot path (default OUT/run-<id>/lr.png)")
    run.add_argument("--train-plot", help="training plot path (default .../training.png)")

    compare = commands.add_parser(
        "compare",
        help="train several schedules with the same budget and seeds, and compare them",
        description="Run every schedule with every seed; print the table (mean ± std over "
        "seeds); write OUT/summary.json, overlay plots and OUT/report.html.",
    )
    compare.add_argument("--config", help="a .toml/.json comparison file (see examples/)")
    compare.add_argument(
        "--schedules", help="comma-separated presets or spec text, e.g. none,standard,step"
    )
    compare.add_argument("--seeds", type=integer(1), help="seeds 0..N-1 (default 1)")
    _add_run_options(compare)
    compare.add_argument("--out", default="lrlab-compare", help="output directory")

    resume = commands.add_parser(
        "resume",
        help="continue a run from its checkpoint, optionally with a new LR or schedule",
        description="Continue a run. --lr X (constant) or --schedule SPEC applies from the "
        "next step and is recorded as a new segment; with neither the run continues exactly.",
    )
    resume.add_argument("run_id", type=integer(1), metavar="ID")
    resume.add_argument("--lr", type=real, help="new LR (or the LR of a preset --schedule)")
    resume.add_argument("--schedule", help="new schedule: preset name or spec text")
    resume.add_argument("--epochs", type=integer(1), help="new total number of epochs")
    _add_data_dir(resume)
    add_store_option(resume)
    _add_progress(resume)

    runs_handler = add_runs_command(commands)

    find = commands.add_parser(
        "find",
        help="run an LR range test and print the suggested LR and cyclic bounds",
        description="Sweep the LR over a short training run of a lab model on a lab dataset, "
        "then print the suggested LR of each method, the cyclic and one-cycle bounds, and why "
        "a suggestion is missing if one is. The model is left as it was.",
    )
    find.add_argument("--dataset", default="digits", help="a lab dataset (default digits)")
    find.add_argument("--model", default="mlp", help="a lab model (default mlp)")
    find.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd")
    find.add_argument("--momentum", type=real, help="SGD momentum (default 0.9)")
    find.add_argument("--batch-size", type=integer(1), default=64)
    find.add_argument("--augment", type=names, help=f"comma list of {', '.join(AUGMENTATIONS)}")
    find.add_argument("--limit", type=integer(1), help="use this many training rows")
    find.add_argument("--device", choices=DEVICES)
    find.add_argument("--num-steps", type=integer(2), default=100, help="sweep length")
    find.add_argument("--start-value", type=real, default=1e-7, help="first LR of the sweep")
    find.add_argument("--end-value", type=real, default=10.0, help="last LR of the sweep")
    find.add_argument("--seed", type=integer(0), default=0)
    find.add_argument("--json", action="store_true", help="print the whole result as JSON")
    find.add_argument("-o", "--output", default="lr_find.png", help="plot to write")
    _add_data_dir(find)

    inspect = commands.add_parser(
        "inspect",
        help="misclassified test images with Grad-CAM heatmaps, for an image run",
    )
    inspect.add_argument("run_id", type=integer(1), metavar="ID")
    inspect.add_argument("-o", "--output", help="image to write (default: RUNDIR/gradcam.png)")
    inspect.add_argument("--count", type=integer(1), default=16, help="images to show")
    _add_data_dir(inspect)
    add_store_option(inspect)
    return {
        "run": _run,
        "compare": _compare,
        "resume": _resume,
        "runs": runs_handler,
        "find": _find,
        "inspect": _inspect,
    }


# -- helpers ----------------------------------------------------------------------------

_LAB_MODULES = ("torch", "matplotlib", "sklearn", "PIL")


def _require_lab() -> None:
    """Raise an ImportError naming the extra when a module the lab needs is missing."""
    import importlib

    for name in _LAB_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing = name
            break
    else:
        return
    raise ImportError(f"the lab needs {missing}: pip install 'lrlab[lab]'")


@contextlib.contextmanager
def _progress(args: argparse.Namespace) -> Iterator[Progress]:
    """The ``--progress`` choice, closed (its bar removed) when the command ends."""
    if args.progress == "none":
        progress = make_progress(None)
    else:
        bar = {"auto": None, "bar": True, "lines": False}[args.progress]
        progress = make_progress(sys.stdout, bar=bar)
    try:
        yield progress
    finally:
        progress.close()


def _given(args: argparse.Namespace, keys: Sequence[str]) -> dict[str, Any]:
    """The flags among ``keys`` that were given on the command line."""
    return {key: getattr(args, key) for key in keys if getattr(args, key, None) is not None}


def _command_line() -> str:
    return shlex.join(["lrlab", *sys.argv[1:]])


# -- run, compare, resume -----------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    _require_lab()
    from lrlab.lab.run import start_run

    config = RunConfig.from_dict(_given(args, (*_RUN_OPTIONS, "schedule", "seed")))
    with store_of(args) as store, stop_on_signals() as stop, _progress(args) as progress:
        outcome = start_run(
            config,
            store=store,
            out_dir=args.out,
            progress=progress,
            stop=stop,
            data_dir=args.data_dir,
            lr_plot=args.lr_plot,
            train_plot=args.train_plot,
        )
        return _after_run(outcome, store)


def _after_run(outcome: Any, store: RunStore) -> int:
    if outcome.classification_report is not None:
        print(outcome.classification_report)
    for artifact in store.run(outcome.run_id)["artifacts"]:
        print(f"{artifact['kind']}: {artifact['path']}")
    print(f"run {outcome.run_id}: {outcome.status}")
    if outcome.status == "interrupted":
        print(f"continue with: lrlab resume {outcome.run_id}")
        return EXIT_INTERRUPTED
    return EXIT_DIVERGED if outcome.status == "diverged" else 0


def _resume(args: argparse.Namespace) -> int:
    _require_lab()
    from lrlab.lab.run import resume_run

    with store_of(args) as store, stop_on_signals() as stop, _progress(args) as progress:
        outcome = resume_run(
            args.run_id,
            store=store,
            progress=progress,
            stop=stop,
            lr=args.lr,
            schedule=args.schedule,
            epochs=args.epochs,
            data_dir=args.data_dir,
        )
        return _after_run(outcome, store)


def _compare(args: argparse.Namespace) -> int:
    _require_lab()
    from lrlab.lab.compare import (
        comparison_from,
        format_table,
        read_comparison_file,
        run_comparison,
    )

    table = read_comparison_file(args.config) if args.config else {}
    if args.schedules is not None:
        table["schedules"] = args.schedules
    if args.seeds is not None:
        table["seeds"] = args.seeds
    comparison = comparison_from(table, _given(args, _RUN_OPTIONS))
    with store_of(args) as store, stop_on_signals() as stop, _progress(args) as progress:
        outcome = run_comparison(
            comparison,
            store=store,
            out_dir=args.out,
            progress=progress,
            stop=stop,
            data_dir=args.data_dir,
            command=_command_line(),
        )
    print()
    print(format_table(outcome.table))
    if outcome.rows:
        for name in ("summary.json", "report.html"):
            print(f"wrote {outcome.directory / name}")
    if outcome.interrupted:
        print("comparison interrupted; the table covers the runs done so far")
        return EXIT_INTERRUPTED
    return 0


# -- find -------------------------------------------------------------------------------------


def _find(args: argparse.Namespace) -> int:
    _require_lab()
    from lrlab.lab.run import load_run_data
    from lrlab.lab.train import Trainer

    settings = _given(args, ("dataset", "model", "optimizer", "momentum", "batch_size",
                             "augment", "limit", "device", "seed"))  # fmt: skip
    config = RunConfig.from_dict(settings)
    trainer = Trainer(config, load_run_data(config, args.data_dir))
    result = trainer.range_test(
        args.num_steps, start_value=args.start_value, end_value=args.end_value
    )
    title = f"LR range test: {config.model} on {config.dataset}"
    path = result.plot(args.output, title=title)
    if args.json:
        print(json.dumps({"dataset": config.dataset, "model": config.model, **result.to_dict()}))
        return 0
    print(
        f"range test: {config.dataset} / {config.model} / {config.optimizer}, "
        f"{result.steps} of {result.num_steps_requested} steps ({result.stop_reason})"
    )
    for name, item in result.suggestions().items():
        shown = f"{item.lr:.3g}" if item.lr is not None else f"none: {item.reason}"
        print(f"  {name:<15} {shown}")
    edges = result.bounds()
    if edges.reason is None:
        print(
            f"cyclic: base_value={edges.base_value:.3g} max_value={edges.max_value:.3g}; "
            f"one_cycle: peak_value={edges.peak_value:.3g}"
        )
    else:
        print(f"bounds: none: {edges.reason}")
    print(f"wrote {path}")
    return 0


# -- inspect ----------------------------------------------------------------------------------


def _inspect(args: argparse.Namespace) -> int:
    _require_lab()
    from lrlab.lab.inspect import inspect_run

    with store_of(args) as store:
        path = inspect_run(
            store, args.run_id, output=args.output, count=args.count, data_dir=args.data_dir
        )
    print(f"wrote {path}")
    return 0
