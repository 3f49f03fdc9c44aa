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
import csv
import io
import json
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lrlab.lab.config import AUGMENTATIONS, DEVICES, OPTIMIZERS, UNITS, RunConfig
from lrlab.lab.interrupt import EXIT_INTERRUPTED, stop_on_signals
from lrlab.lab.progress import Progress, make_progress
from lrlab.lab.store import STATUSES, RunStore, open_store

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


def _integer(low: int) -> Callable[[str], int]:
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
        return value

    return convert


def _real(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="run store file (default $LRLAB_HOME/runs.db)")


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
    group.add_argument("--lr", type=_real, help="initial LR of preset schedules")
    group.add_argument("--epochs", type=_integer(1))
    group.add_argument("--batch-size", type=_integer(1))
    group.add_argument("--optimizer", choices=OPTIMIZERS)
    group.add_argument("--momentum", type=_real, help="SGD momentum (default 0.9)")
    group.add_argument("--nesterov", action=argparse.BooleanOptionalAction, help="SGD only")
    group.add_argument("--weight-decay", type=_real, help="default: the model's reference L2")
    group.add_argument("--unit", choices=UNITS, help="what spec text's t counts")
    group.add_argument("--augment", type=_names, help=f"comma list of {', '.join(AUGMENTATIONS)}")
    group.add_argument("--data-seed", type=_integer(0), help="seed of the train/test split")
    group.add_argument("--limit", type=_integer(1), help="train on this many rows")
    group.add_argument("--device", choices=DEVICES)
    group.add_argument("--threads", type=_integer(1), help="torch CPU threads")
    group.add_argument("--compile", action=argparse.BooleanOptionalAction, help="torch.compile")
    _add_data_dir(parser)
    _add_common(parser)
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
    run.add_argument("--seed", type=_integer(0))
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
    compare.add_argument("--seeds", type=_integer(1), help="seeds 0..N-1 (default 1)")
    _add_run_options(compare)
    compare.add_argument("--out", default="lrlab-compare", help="output directory")

    resume = commands.add_parser(
        "resume",
        help="continue a run from its checkpoint, optionally with a new LR or schedule",
        description="Continue a run. --lr X (constant) or --schedule SPEC applies from the "
        "next step and is recorded as a new segment; with neither the run continues exactly.",
    )
    resume.add_argument("run_id", type=_integer(1), metavar="ID")
    resume.add_argument("--lr", type=_real, help="new LR (or the LR of a preset --schedule)")
    resume.add_argument("--schedule", help="new schedule: preset name or spec text")
    resume.add_argument("--epochs", type=_integer(1), help="new total number of epochs")
    _add_data_dir(resume)
    _add_common(resume)
    _add_progress(resume)

    runs = commands.add_parser("runs", help="list, show, compare, export or remove runs")
    actions = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list runs (filters combine)")
    listing.add_argument("--status", choices=STATUSES)
    for name in ("dataset", "model", "schedule"):
        listing.add_argument(f"--{name}")
    listing.add_argument("--json", action="store_true", help="print a JSON list of objects")
    show = actions.add_parser("show", help="one run: settings, segments, epochs, files")
    show.add_argument("run_id", type=_integer(1), metavar="ID")
    show.add_argument("--json", action="store_true")
    side = actions.add_parser("compare", help="runs side by side")
    side.add_argument("run_ids", type=_integer(1), nargs="+", metavar="ID")
    side.add_argument("--json", action="store_true")
    export = actions.add_parser("export", help="every run and epoch, as CSV or JSON")
    formats = export.add_mutually_exclusive_group(required=True)
    formats.add_argument("--csv", action="store_true", help="one row per run and epoch")
    formats.add_argument("--json", action="store_true", help="one object per run")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    remove = actions.add_parser("rm", help="remove runs from the store")
    remove.add_argument("run_ids", type=_integer(1), nargs="+", metavar="ID")
    remove.add_argument("--files", action="store_true", help="also delete their recorded files")
    for action in (listing, show, side, export, remove):
        _add_common(action)

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
    find.add_argument("--momentum", type=_real, help="SGD momentum (default 0.9)")
    find.add_argument("--batch-size", type=_integer(1), default=64)
    find.add_argument("--augment", type=_names, help=f"comma list of {', '.join(AUGMENTATIONS)}")
    find.add_argument("--limit", type=_integer(1), help="use this many training rows")
    find.add_argument("--device", choices=DEVICES)
    find.add_argument("--num-steps", type=_integer(2), default=100, help="sweep length")
    find.add_argument("--start-value", type=_real, default=1e-7, help="first LR of the sweep")
    find.add_argument("--end-value", type=_real, default=10.0, help="last LR of the sweep")
    find.add_argument("--seed", type=_integer(0), default=0)
    find.add_argument("--json", action="store_true", help="print the whole result as JSON")
    find.add_argument("-o", "--output", default="lr_find.png", help="plot to write")
    _add_data_dir(find)

    inspect = commands.add_parser(
        "inspect",
        help="misclassified test images with Grad-CAM heatmaps, for an image run",
    )
    inspect.add_argument("run_id", type=_integer(1), metavar="ID")
    inspect.add_argument("-o", "--output", help="image to write (default: RUNDIR/gradcam.png)")
    inspect.add_argument("--count", type=_integer(1), default=16, help="images to show")
    _add_data_dir(inspect)
    _add_common(inspect)
    return {
        "run": _run,
        "compare": _compare,
        "resume": _resume,
        "runs": _runs,
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


def _store(args: argparse.Namespace) -> RunStore:
    return open_store(args.store)


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


def _given(args: argparse.Namespace, names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def _command_line() -> str:
    return shlex.join(["lrlab", *sys.argv[1:]])


# -- run, compare, resume -----------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    _require_lab()
    from lrlab.lab.run import start_run

    config = RunConfig.from_dict(_given(args, (*_RUN_OPTIONS, "schedule", "seed")))
    with _store(args) as store, stop_on_signals() as stop, _progress(args) as progress:
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

    with _store(args) as store, stop_on_signals() as stop, _progress(args) as progress:
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
    with _store(args) as store, stop_on_signals() as stop, _progress(args) as progress:
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


# -- runs -------------------------------------------------------------------------------------


_LIST_FIELDS = (
    "id",
    "status",
    "schedule",
    "dataset",
    "model",
    "seed",
    "val_accuracy",
    "best_val_accuracy",
    "seconds",
    "created_at",
    "spec",
)


def _summary(record: dict[str, Any]) -> dict[str, Any]:
    """A run as ``runs list`` shows it: ``schedule`` is what was asked (a preset name, spec
    text or ``auto``), ``spec`` the exact schedule it trained with."""
    shown = {key: record.get(key) for key in _LIST_FIELDS}
    shown["schedule"] = record["config"].get("schedule", record["schedule"])
    shown["spec"] = record["schedule"]
    return shown


def _runs(args: argparse.Namespace) -> int:
    with _store(args) as store:
        return _RUNS_ACTIONS[args.runs_command](args, store)


def _runs_list(args: argparse.Namespace, store: RunStore) -> int:
    records = store.runs(status=args.status, dataset=args.dataset, model=args.model)
    rows = [_summary(record) for record in records]
    if args.schedule is not None:
        rows = [row for row in rows if args.schedule in (row["schedule"], row["spec"])]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    _print_rows(rows, ("id", "status", "dataset", "model", "schedule", "seed", "val_accuracy"))
    return 0


def _print_rows(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}"
        return "-" if value is None else str(value)

    table = [list(keys), *[[cell(row.get(key)) for key in keys] for row in rows]]
    widths = [max(len(line[i]) for line in table) for i in range(len(keys))]
    for line in table:
        cells = (text.ljust(width) for text, width in zip(line, widths, strict=True))
        print("  ".join(cells).rstrip())


def _runs_show(args: argparse.Namespace, store: RunStore) -> int:
    record = store.run(args.run_id)
    record["epochs"] = store.epochs(args.run_id)
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    print(f"run {record['id']}: {record['status']}  ({record['created_at']})")
    print(f"  {record['model']} on {record['dataset']}, seed {record['seed']}")
    print(f"  schedule: {record['schedule']}")
    print(f"  config: {json.dumps(record['config'], sort_keys=True)}")
    print(f"  versions: {json.dumps(record['versions'], sort_keys=True)}")
    if record["error"]:
        print(f"  error: {record['error']}")
    for segment in record["segments"]:
        print(f"  segment {segment['segment']} from epoch {segment['start_epoch']}: "
              f"{segment['reason']}")  # fmt: skip
    _print_rows(
        record["epochs"],
        ("epoch", "segment", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"),
    )
    for artifact in record["artifacts"]:
        print(f"  {artifact['kind']}: {artifact['path']}")
    return 0


def _runs_compare(args: argparse.Namespace, store: RunStore) -> int:
    rows = []
    for run_id in args.run_ids:
        record = store.run(run_id)
        row = _summary(record)
        history = store.epochs(run_id)
        row["epochs"] = len(history)
        row["val_loss"] = history[-1]["val_loss"] if history else None
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    keys = ("id", "status", "schedule", "seed", "epochs", "val_accuracy", "best_val_accuracy",
            "val_loss", "seconds")  # fmt: skip
    _print_rows(rows, keys)
    return 0


def _runs_export(args: argparse.Namespace, store: RunStore) -> int:
    records = store.runs()
    if args.json:
        for record in records:
            extra = store.run(record["id"])
            record.update(segments=extra["segments"], artifacts=extra["artifacts"])
            record["epochs"] = store.epochs(record["id"])
        text = json.dumps(records, indent=2) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        run_keys = ("id", "status", "dataset", "model", "schedule", "seed")
        epoch_keys = ("epoch", "segment", "loss", "accuracy", "val_loss", "val_accuracy", "lr",
                      "seconds")  # fmt: skip
        writer.writerow(["run_id", *run_keys[1:], *epoch_keys])
        for record in records:
            for epoch in store.epochs(record["id"]):
                writer.writerow(
                    [record[key] for key in run_keys] + [epoch[key] for key in epoch_keys]
                )
        text = buffer.getvalue()
    if args.output:
        from lrlab._files import write_text_atomic

        print(f"wrote {write_text_atomic(args.output, text)}")
    else:
        sys.stdout.write(text)
    return 0


def _runs_rm(args: argparse.Namespace, store: RunStore) -> int:
    records = [store.run(run_id) for run_id in args.run_ids]  # all exist, or nothing goes
    for record in records:
        store.delete_run(record["id"])
        removed = 0
        if args.files:
            for artifact in record["artifacts"]:
                path = Path(artifact["path"])
                if path.is_file():
                    path.unlink()
                    removed += 1
                with contextlib.suppress(OSError):  # the run's folder, once it is empty
                    path.parent.rmdir()
        print(f"removed run {record['id']}" + (f" and {removed} files" if args.files else ""))
    return 0


_RUNS_ACTIONS: dict[str, Callable[[argparse.Namespace, RunStore], int]] = {
    "list": _runs_list,
    "show": _runs_show,
    "compare": _runs_compare,
    "export": _runs_export,
    "rm": _runs_rm,
}


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

    with _store(args) as store:
        path = inspect_run(
            store, args.run_id, output=args.output, count=args.count, data_dir=args.data_dir
        )
    print(f"wrote {path}")
    return 0
