"""The run store: every lab run, its per-epoch metrics, segments and artifacts, in SQLite.

One file (``--store``, else ``$LRLAB_HOME/runs.db``, else ``~/.lrlab/runs.db``) in WAL mode,
so a reader never blocks the training process that writes, and a killed writer leaves the
database consistent. The schema is versioned with ``PRAGMA user_version`` and upgraded by
the ordered :data:`MIGRATIONS` when a store is opened.
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

STATUSES = ("running", "finished", "interrupted", "diverged", "failed")
"""Every status a run can have."""

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")
"""The per-epoch metrics a run records."""

MIGRATIONS: tuple[str, ...] = (
    # 1: runs, per-epoch metrics, artifacts.
    f"""
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
        dataset TEXT NOT NULL,
        model TEXT NOT NULL,
        schedule TEXT NOT NULL,
        seed INTEGER NOT NULL,
        config TEXT NOT NULL,
        versions TEXT NOT NULL,
        seconds REAL,
        error TEXT
    );
    CREATE INDEX runs_by_status ON runs (status);
    CREATE TABLE metrics (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL CHECK (epoch >= 0),
        {", ".join(f"{name} REAL" for name in METRICS)},
        PRIMARY KEY (run_id, epoch)
    );
    CREATE TABLE artifacts (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        path TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, kind, path)
    );
    """,
    # 2: segments. A resumed run with a new LR or schedule starts a new segment.
    """
    CREATE TABLE segments (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        segment INTEGER NOT NULL CHECK (segment >= 0),
        start_epoch INTEGER NOT NULL CHECK (start_epoch >= 0),
        schedule TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, segment)
    );
    ALTER TABLE metrics ADD COLUMN segment INTEGER NOT NULL DEFAULT 0;
    """,
    # 3: the process that runs a run, so a resume can tell a live run from a killed one.
    """
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    """,
)
"""The schema, one script per version; version ``i + 1`` is reached by script ``i``."""

SCHEMA_VERSION = len(MIGRATIONS)


def default_store_path() -> Path:
    """``$LRLAB_HOME/runs.db``, else ``~/.lrlab/runs.db``."""
    home = os.environ.get("LRLAB_HOME")
    return (Path(home) if home else Path.home() / ".lrlab") / "runs.db"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _check_status(status: str) -> str:
    if status not in STATUSES:
        raise ValueError(f"run store: status must be one of {STATUSES}, got {status!r}")
    return status


def _check_text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"run store: {name} must be a non-empty string, got {value!r}")
    return value


def _metric(name: str, value: Any) -> float | None:
    """A metric as a float. Infinities are kept; NaN is stored as NULL (SQLite has no
    NaN), so a diverged epoch reads back as ``None``: the run's status says why."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"run store: metric {name} must be a number, got {value!r}")
    return float(value)


def _json(name: str, value: Mapping[str, Any]) -> str:
    if not isinstance(value, Mapping):
        raise TypeError(f"run store: {name} must be a mapping, got {type(value).__name__}")
    try:
        return json.dumps(dict(value), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"run store: {name} is not JSON-serializable: {error}") from None


class RunStore:
    """A connection to one run store file; create it with :func:`open_store`.

    Every write is its own transaction, committed before the method returns, so a run
    killed at any point keeps everything logged up to its last completed call.
    """

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._connection = connection

    # -- runs ---------------------------------------------------------------------------

    def create_run(
        self,
        *,
        dataset: str,
        model: str,
        schedule: str,
        seed: int,
        config: Mapping[str, Any],
        versions: Mapping[str, str],
    ) -> int:
        """Record a new run in status ``running``; return its id.

        Args:
            dataset: Dataset name.
            model: Model name.
            schedule: The schedule's spec text (or preset name).
            seed: The run's seed.
            config: Every setting of the run, JSON-serializable.
            versions: Library versions (``{"lrlab": ..., "torch": ...}``).

        Raises:
            TypeError, ValueError: If an argument is of the wrong type or not serializable.
        """
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"run store: seed must be an integer, got {seed!r}")
        now = _now()
        values = (
            now,
            now,
            _check_text("dataset", dataset),
            _check_text("model", model),
            _check_text("schedule", schedule),
            seed,
            _json("config", config),
            _json("versions", versions),
        )
        with self._connection:
            cursor = self._connection.execute(
                "INSERT INTO runs (created_at, updated_at, status, dataset, model, schedule, "
                "seed, config, versions, pid) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                (*values, os.getpid()),
            )
            run_id = int(cursor.lastrowid or 0)
            self._connection.execute(
                "INSERT INTO segments VALUES (?, 0, 0, ?, 'start', ?)", (run_id, schedule, now)
            )
        return run_id

    def set_status(
        self, run_id: int, status: str, *, seconds: float | None = None, error: str | None = None
    ) -> None:
        """Set a run's status (and its total seconds, or the error of a failed run).

        Status ``running`` also records this process's id (``pid``), so that a resume can
        tell a live run from one whose process was killed.

        Raises:
            ValueError: If the status is unknown or the run does not exist.
        """
        pid = os.getpid() if status == "running" else None
        with self._connection:
            cursor = self._connection.execute(
                "UPDATE runs SET status = ?, updated_at = ?, seconds = COALESCE(?, seconds), "
                "error = ?, pid = COALESCE(?, pid) WHERE id = ?",
                (_check_status(status), _now(), _metric("seconds", seconds), error, pid, run_id),
            )
        self._require(cursor.rowcount, run_id)

    def set_config(self, run_id: int, config: Mapping[str, Any]) -> None:
        """Replace a run's recorded config (a resume that changes its length).

        Raises:
            TypeError, ValueError: If ``config`` is not a JSON-serializable mapping or the
                run does not exist.
        """
        with self._connection:
            cursor = self._connection.execute(
                "UPDATE runs SET config = ?, updated_at = ? WHERE id = ?",
                (_json("config", config), _now(), run_id),
            )
        self._require(cursor.rowcount, run_id)

    def log_epoch(self, run_id: int, epoch: int, metrics: Mapping[str, Any]) -> None:
        """Record (or replace) the metrics of one epoch, in the run's current segment.

        Args:
            run_id: The run.
            epoch: Epoch index from 0.
            metrics: Any of :data:`METRICS`; others are rejected.

        Raises:
            ValueError: If a metric name is unknown or the run does not exist.
        """
        unknown = sorted(set(metrics) - set(METRICS))
        if unknown:
            raise ValueError(f"run store: unknown metrics {unknown}; known: {METRICS}")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"run store: epoch must be an integer >= 0, got {epoch!r}")
        values = [_metric(name, metrics.get(name)) for name in METRICS]
        with self._connection:
            segment = self._current_segment(run_id)
            self._connection.execute(
                f"INSERT OR REPLACE INTO metrics (run_id, epoch, segment, {', '.join(METRICS)}) "
                f"VALUES (?, ?, ?, {', '.join('?' * len(METRICS))})",
                (run_id, epoch, segment, *values),
            )
            self._connection.execute(
                "UPDATE runs SET updated_at = ? WHERE id = ?", (_now(), run_id)
            )

    def start_segment(self, run_id: int, start_epoch: int, schedule: str, reason: str) -> int:
        """Begin a new segment (a resume with a new LR or schedule); return its number.

        Epochs from ``start_epoch`` on are recorded in it, and the run's schedule becomes
        ``schedule``.
        """
        with self._connection:
            segment = self._current_segment(run_id) + 1
            self._connection.execute(
                "INSERT INTO segments VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, segment, start_epoch, _check_text("schedule", schedule),
                 _check_text("reason", reason), _now()),
            )  # fmt: skip
            self._connection.execute(
                "UPDATE runs SET schedule = ?, updated_at = ? WHERE id = ?",
                (schedule, _now(), run_id),
            )
        return segment

    def add_artifact(self, run_id: int, kind: str, path: str | os.PathLike[str]) -> None:
        """Record a file the run wrote (a plot, a report, a checkpoint)."""
        self._require_run(run_id)
        with self._connection:
            self._connection.execute(
                "INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?, ?)",
                (run_id, _check_text("kind", kind), str(path), _now()),
            )

    def delete_run(self, run_id: int) -> None:
        """Remove a run and everything recorded for it.

        Raises:
            ValueError: If the run does not exist.
        """
        with self._connection:
            cursor = self._connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        self._require(cursor.rowcount, run_id)

    # -- reading --------------------------------------------------------------------------

    def run(self, run_id: int) -> dict[str, Any]:
        """One run as a dict: its columns, ``config`` and ``versions`` decoded, its
        ``segments``, ``artifacts`` and the final and best ``val_accuracy``.

        Raises:
            ValueError: If the run does not exist.
        """
        row = self._connection.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        self._require(0 if row is None else 1, run_id)
        record = self._decode(row)
        record["segments"] = [
            dict(segment)
            for segment in self._connection.execute(
                "SELECT segment, start_epoch, schedule, reason, created_at FROM segments "
                "WHERE run_id = ? ORDER BY segment",
                (run_id,),
            )
        ]
        record["artifacts"] = [
            dict(artifact)
            for artifact in self._connection.execute(
                "SELECT kind, path, created_at FROM artifacts WHERE run_id = ? ORDER BY kind, path",
                (run_id,),
            )
        ]
        return record

    def epochs(self, run_id: int) -> list[dict[str, Any]]:
        """The per-epoch metrics of a run, in epoch order."""
        self._require_run(run_id)
        rows = self._connection.execute(
            f"SELECT epoch, segment, {', '.join(METRICS)} FROM metrics WHERE run_id = ? "
            "ORDER BY epoch",
            (run_id,),
        )
        return [dict(row) for row in rows]

    def runs(
        self,
        *,
        status: str | None = None,
        dataset: str | None = None,
        model: str | None = None,
        schedule: str | None = None,
    ) -> list[dict[str, Any]]:
        """Runs matching every filter given, oldest first, as :meth:`run` summarizes them
        (without segments and artifacts)."""
        clauses, values = [], []
        for column, value in (
            ("status", None if status is None else _check_status(status)),
            ("dataset", dataset),
            ("model", model),
            ("schedule", schedule),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._connection.execute(f"SELECT * FROM runs {where} ORDER BY id", values)
        return [self._decode(row) for row in rows]

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"`` for a sound file."""
        return str(self._connection.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._connection.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- helpers --------------------------------------------------------------------------

    def _decode(self, row: sqlite3.Row) -> dict[str, Any]:
        record = dict(row)
        record["config"] = json.loads(record["config"])
        record["versions"] = json.loads(record["versions"])
        final, best = self._connection.execute(
            "SELECT (SELECT val_accuracy FROM metrics WHERE run_id = ? ORDER BY epoch DESC "
            "LIMIT 1), MAX(val_accuracy) FROM metrics WHERE run_id = ?",
            (record["id"], record["id"]),
        ).fetchone()
        record["val_accuracy"] = final
        record["best_val_accuracy"] = best
        return record

    def _current_segment(self, run_id: int) -> int:
        row = self._connection.execute(
            "SELECT MAX(segment) FROM segments WHERE run_id = ?", (run_id,)
        ).fetchone()
        self._require(0 if row[0] is None else 1, run_id)
        return int(row[0])

    def _require_run(self, run_id: int) -> None:
        row = self._connection.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
        self._require(0 if row is None else 1, run_id)

    @staticmethod
    def _require(found: int, run_id: int) -> None:
        if found == 0:
            raise ValueError(f"run store: no run with id {run_id!r}")


def open_store(path: str | os.PathLike[str] | None = None) -> RunStore:
    """Open (creating if needed) the run store at ``path``, upgrading its schema.

    Args:
        path: The SQLite file; ``None`` means :func:`default_store_path`.

    Raises:
        ValueError: If the file is not an lrlab run store, or was written by a newer lrlab
            (schema version above :data:`SCHEMA_VERSION`).
    """
    file = Path(path) if path is not None else default_store_path()
    file.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(file, timeout=30.0, isolation_level=None)
    connection.row_factory = sqlite3.Row
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA synchronous = NORMAL")
        _migrate(connection, file)
    except (sqlite3.DatabaseError, ValueError) as error:
        connection.close()
        if isinstance(error, ValueError):
            raise
        raise ValueError(f"run store: {str(file)!r} is not a usable SQLite file: {error}") from None
    connection.isolation_level = "DEFERRED"
    return RunStore(file, connection)


def _migrate(connection: sqlite3.Connection, file: Path) -> None:
    version = int(connection.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"run store: {str(file)!r} has schema version {version}, newer than this lrlab's "
            f"{SCHEMA_VERSION}; upgrade lrlab"
        )
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    if version == 0 and tables - {"sqlite_sequence"}:
        raise ValueError(f"run store: {str(file)!r} holds tables that are not an lrlab store")
    for number in range(version, SCHEMA_VERSION):
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while this one waited for the lock.
            if int(connection.execute("PRAGMA user_version").fetchone()[0]) > number:
                connection.execute("COMMIT")
                continue
            for statement in _statements(MIGRATIONS[number]):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number + 1}")
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise


def _statements(script: str) -> Iterator[str]:
    for statement in script.split(";"):
        if statement.strip():
            yield statement
