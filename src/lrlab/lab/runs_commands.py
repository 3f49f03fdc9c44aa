"""``lrlab runs``: list, show, compare, export and remove the runs in the store."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from lrlab.lab.cli_args import add_store_option, integer, store_of
from lrlab.lab.compare import aligned_table
from lrlab.lab.store import STATUSES, RunStore


def add_runs_command(commands: Any) -> Callable[[argparse.Namespace], int]:
    """Add ``runs`` and its actions to ``commands`` (argparse subparsers); return its handler."""
    runs = commands.add_parser("runs", help="list, show, compare, export or remove runs")
    actions = runs.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="list runs (filters combine)")
    listing.add_argument("--status", choices=STATUSES)
    for name in ("dataset", "model", "schedule"):
        listing.add_argument(f"--{name}")
    listing.add_argument("--json", action="store_true", help="print a JSON list of objects")
    show = actions.add_parser("show", help="one run: settings, segments, epochs, files")
    show.add_argument("run_id", type=integer(1), metavar="ID")
    show.add_argument("--json", action="store_true")
    side = actions.add_parser("compare", help="runs side by side")
    side.add_argument("run_ids", type=integer(1), nargs="+", metavar="ID")
    side.add_argument("--json", action="store_true")
    export = actions.add_parser("export", help="every run and epoch, as CSV or JSON")
    formats = export.add_mutually_exclusive_group(required=True)
    formats.add_argument("--csv", action="store_true", help="one row per run and epoch")
    formats.add_argument("--json", action="store_true", help="one object per run")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    remove = actions.add_parser("rm", help="remove runs from the store")
    remove.add_argument("run_ids", type=integer(1), nargs="+", metavar="ID")
    remove.add_argument("--files", action="store_true", help="also delete their recorded files")
    for action in (listing, show, side, export, remove):
        add_store_option(action)

    return _runs


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
    with store_of(args) as store:
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

    print(aligned_table(keys, [[cell(row.get(key)) for key in keys] for row in rows]))


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
