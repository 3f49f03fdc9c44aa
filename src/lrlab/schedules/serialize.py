"""Dicts, JSON and TOML for schedules.

``to_dict`` gives ``{"kind": ..., field: value, ...}`` with nested dicts for the schedules
a composition wraps and lists for tuples, so ``json.dumps`` works directly and
``from_dict(json.loads(json.dumps(s.to_dict()))) == s``.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lrlab.schedules._base import MAX_NESTING, Schedule, fields_of, schedule_class
from lrlab.schedules._validate import describe


def to_dict(schedule: Schedule) -> dict[str, Any]:
    """Return ``schedule`` as a JSON-ready dict (every field, defaults included)."""
    data: dict[str, Any] = {"kind": schedule.kind}
    for field in fields_of(schedule):
        data[field.name] = _plain(getattr(schedule, field.name))
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, Schedule):
        return to_dict(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def from_dict(data: Mapping[str, Any]) -> Schedule:
    """Build a schedule from :func:`to_dict` output.

    Raises:
        TypeError: If ``data`` is not a mapping, or a field has the wrong type.
        ValueError: If ``kind`` is missing or unknown, a value is invalid, or the dict
            nests deeper than any schedule can.
    """
    return _from_dict(data, depth=1)


def _from_dict(data: Any, depth: int) -> Schedule:
    from lrlab.schedules.spec import build

    if not isinstance(data, Mapping):
        raise TypeError(f"schedule dict must be a mapping, got {describe(data)}")
    if depth > MAX_NESTING:
        raise ValueError(f"schedule dict nests deeper than {MAX_NESTING} levels")
    if "kind" not in data:
        raise ValueError(f"schedule dict needs a 'kind' key, got keys {sorted(map(str, data))}")
    cls = schedule_class(data["kind"])
    keywords = {
        str(name): _restore(value, depth, f"{cls.kind}: {name}")
        for name, value in data.items()
        if name != "kind"
    }
    return build(cls, [], keywords)


def _restore(value: Any, depth: int, where: str) -> Any:
    """Turn nested schedule dicts back into schedules and lists into tuples."""
    if isinstance(value, Mapping):
        if "kind" not in value:
            raise ValueError(f"{where} is a dict without a 'kind' key: {dict(value)!r}")
        return _from_dict(value, depth + 1)
    if isinstance(value, list | tuple):
        return tuple(_restore(item, depth, f"{where}[{index}]") for index, item in enumerate(value))
    return value


def from_config(config: Any) -> Schedule:
    """Build a schedule from a config value: a spec string, a schedule dict, or a mapping
    holding one of those under ``"spec"`` or ``"schedule"``.

    Raises:
        TypeError: If ``config`` has none of these shapes.
        ValueError: If the spec or dict inside is invalid.
    """
    from lrlab.schedules.spec import parse

    for _ in range(MAX_NESTING):
        if isinstance(config, str):
            return parse(config)
        if not isinstance(config, Mapping):
            break
        if "kind" in config:
            return from_dict(config)
        key = next((key for key in ("spec", "schedule") if key in config), None)
        if key is None:
            break
        config = config[key]
    else:
        raise ValueError(f"schedule config nests 'spec'/'schedule' deeper than {MAX_NESTING}")
    raise TypeError(
        "schedule config must be a spec string, a dict with 'kind', or a table with "
        f"'spec' or 'schedule', got {describe(config)}"
    )


def load(path: str | os.PathLike[str]) -> Schedule:
    """Load a schedule from a ``.json`` or ``.toml`` file (see :func:`from_config`).

    Example TOML::

        spec = "warmup(cosine(init_value=0.1, total_steps=900), warmup_steps=100)"

    or a dict form, e.g. ``kind = "step"`` with ``init_value``, ``factor``, ``every``.

    Raises:
        ValueError: If the suffix is not ``.json``/``.toml`` or the file does not parse.
        FileNotFoundError: If the file does not exist.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ValueError(f"schedule file must end in .json or .toml, got {str(file)!r}")
    text = file.read_text(encoding="utf-8")
    try:
        config = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, RecursionError) as error:
        raise ValueError(f"{file}: not valid {suffix[1:].upper()}: {error}") from None
    return from_config(config)
