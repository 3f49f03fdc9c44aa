"""Dataset loaders for the lab, looked up by name.

:func:`load_dataset` returns a :class:`Dataset` of numpy arrays; :func:`dataset_names`
lists the registered names:

- ``ionosphere``: the UCI Ionosphere file (351 rows, 34 float features, labels ``b``/``g``
  mapped to 0/1), split 67/33, stratified by class, shuffled by ``seed``. Features are
  left as in the file (already in [-1, 1]).
- ``cifar10``: 32x32 RGB images as uint8 NHWC, from the official ``cifar-10-python.tar.gz``
  (or its extracted ``cifar-10-batches-py/``) or from a tree ``{train,test}/<class>/*.jpg``
  (``.png`` too), as a directory or a ``.tar``/``.tar.gz``/``.tar.xz``, optionally under
  one top-level folder. Decoded once and cached as an uncompressed ``.npz``.
- ``digits``: scikit-learn's 8x8 digits as 64 float features in [0, 1], split 75/25.
- ``breast_cancer``: scikit-learn's 30 features, standardized with the train split's
  mean and standard deviation, split 70/30.
- ``synthetic``: three Gaussian blobs in 20 dimensions, 1000 rows, split 80/20; needs no
  file, and ``seed`` draws both the data and the split.

Where files come from, in order: the ``data_dir`` argument (the CLI's ``--data-dir``), the
``LRLAB_DATA_DIR`` environment variable, the cache directory, then (ionosphere only) a
download from the official URL, checked against a SHA-256 checksum. ``download=False`` or
``LRLAB_OFFLINE=1`` turns the download off. When nothing works, a
:class:`DatasetNotFoundError` (a ``FileNotFoundError``) says which file to put where.

The cache directory is the ``cache_dir`` argument, else ``$LRLAB_HOME/cache``, else
``~/.lrlab/cache``. Every file written there is written to a temporary file, synced and
renamed into place, so a crash never leaves a half-written file; a cache that fails to load
or has the wrong shapes is rebuilt.

``limit=N`` keeps a deterministic, class-balanced subset of ``N`` train rows and
``max(1, N // 5)`` test rows, chosen by ``seed``. For an image tree it decodes only the
chosen members, in one streaming pass over an archive. Train and test rows of ``cifar10``
come ordered by class, then by file name or batch position; shuffle them for training.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import heapq
import io
import json
import lzma
import os
import pickle
import re
import tarfile
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from lrlab._files import write_atomic

__all__ = [
    "IONOSPHERE_SHA256",
    "IONOSPHERE_URL",
    "Dataset",
    "DatasetNotFoundError",
    "dataset_names",
    "load_dataset",
]

IONOSPHERE_URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/ionosphere/ionosphere.data"
)
#: SHA-256 of the UCI file's text with CRLF turned into LF and exactly one final newline,
#: so that mirrors that only differ in line endings (such as ``ionosphere.csv``) match.
IONOSPHERE_SHA256 = "46d52186b84e20be52918adb93e8fb9926b34795ff7504c24350ae0616a04bbd"

_IONOSPHERE_FILES = ("ionosphere.data", "ionosphere.csv")
_IONOSPHERE_CLASSES = ("b", "g")
_CIFAR_FILES = (
    "cifar-10-python.tar.gz",
    "cifar-10-batches-py",
    "cifar10-jpeg.tar.xz",
    "cifar10.tar.xz",
    "cifar10.tar.gz",
    "cifar10.tar",
    "cifar10",
)
_IMAGE_SHAPE = (32, 32, 3)
_IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png"})
_SPLITS = ("train", "test")
_BATCH_NAME = re.compile(r"data_batch_(\d+)|test_batch|batches\.meta")
_CACHE_FORMAT = 1
_STATS_CHUNK = 1024  # images per chunk of Dataset.channel_stats (25 MB of int64)
_DOWNLOAD_TIMEOUT_S = 10.0
_EXTRA_HINT = "install it with: pip install 'lrlab[lab]'"


class DatasetNotFoundError(FileNotFoundError):
    """No source of a dataset worked; the message says which file to put where."""


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset split into train and test arrays.

    Attributes:
        name: The registry name, e.g. ``"cifar10"``.
        x_train: Train inputs: uint8 ``(n, 32, 32, 3)`` for images, float32 ``(n, d)``
            for tables.
        y_train: Train labels, int64 ``(n,)``, indices into ``class_names``.
        x_test: Test inputs, shaped like ``x_train`` after the first axis.
        y_test: Test labels, int64.
        class_names: The name of each label, by index.
        source: Where the data came from: a path, a cache path or a generator.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        """Check that the arrays fit together and the labels index ``class_names``.

        Raises:
            ValueError: If lengths, shapes, dtypes or label ranges disagree.
        """
        for split in _SPLITS:
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if y.dtype != np.int64 or y.ndim != 1:
                raise ValueError(f"{self.name}: y_{split} must be int64 (n,), got {y.dtype}")
            if len(x) != len(y):
                raise ValueError(f"{self.name}: {len(x)} x_{split} rows but {len(y)} labels")
            if len(y) and (y.min() < 0 or y.max() >= len(self.class_names)):
                raise ValueError(f"{self.name}: y_{split} outside 0..{len(self.class_names) - 1}")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise ValueError(
                f"{self.name}: train rows {self.x_train.shape[1:]} != test {self.x_test.shape[1:]}"
            )

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input, e.g. ``(32, 32, 3)`` or ``(34,)``."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        """The number of classes, ``len(class_names)``."""
        return len(self.class_names)

    @functools.cached_property
    def channel_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean and standard deviation of ``x_train`` images, in pixel units
        (0..255), float64; computed once, in chunks, so no float copy of the images is made.

        Raises:
            ValueError: If the inputs are not images ``(n, H, W, C)``.
        """
        if self.x_train.ndim != 4:
            raise ValueError(f"{self.name}: channel_stats needs images, got {self.x_train.shape}")
        channels = self.x_train.shape[-1]
        total = np.zeros(channels, dtype=np.int64)
        squares = np.zeros(channels, dtype=np.int64)
        for begin in range(0, len(self.x_train), _STATS_CHUNK):
            pixels = self.x_train[begin : begin + _STATS_CHUNK].reshape(-1, channels)
            wide = pixels.astype(np.int64)
            total += wide.sum(axis=0)
            squares += (wide * wide).sum(axis=0)
        count = max(self.x_train.size // channels, 1)
        mean = total / count
        return mean, np.sqrt(np.maximum(squares / count - mean * mean, 0.0))


@dataclasses.dataclass(frozen=True)
class _Request:
    """What a loader needs from :func:`load_dataset`, resolved from arguments and env."""

    search_dirs: tuple[Path, ...]
    cache_dir: Path
    seed: int
    limit: int | None
    download: bool


_Loader = Callable[[_Request], Dataset]
_LOADERS: dict[str, _Loader] = {}


def _register(name: str) -> Callable[[_Loader], _Loader]:
    def add(loader: _Loader) -> _Loader:
        _LOADERS[name] = loader
        return loader

    return add


def dataset_names() -> tuple[str, ...]:
    """The registered dataset names, sorted.

    Returns:
        The names :func:`load_dataset` accepts.

    >>> dataset_names()
    ('breast_cancer', 'cifar10', 'digits', 'ionosphere', 'synthetic')
    """
    return tuple(sorted(_LOADERS))


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    limit: int | None = None,
    download: bool | None = None,
) -> Dataset:
    """Load a dataset by name.

    Args:
        name: One of :func:`dataset_names`.
        data_dir: A directory holding the data file (or the file itself); searched before
            ``LRLAB_DATA_DIR``.
        cache_dir: Where decoded arrays and downloads go; defaults to
            ``$LRLAB_HOME/cache``, else ``~/.lrlab/cache``.
        seed: Chooses the train/test split and the ``limit`` subset.
        limit: Keep a class-balanced subset of this many train rows and
            ``max(1, limit // 5)`` test rows.
        download: Whether a missing file may be downloaded; defaults to true unless
            ``LRLAB_OFFLINE`` is ``1``, ``true`` or ``yes``.

    Returns:
        The dataset.

    Raises:
        ValueError: For an unknown name, a bad ``limit`` or ``seed``, or a corrupt file.
        DatasetNotFoundError: If no source of the data works.

    >>> data = load_dataset("synthetic", seed=1)
    >>> data.x_train.shape, data.x_test.shape, data.num_classes
    ((799, 20), (201, 20), 3)
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(dataset_names())}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int | np.integer) or limit < 1
    ):
        raise ValueError(f"limit must be a positive int or None, got {limit!r}")
    search = [Path(data_dir)] if data_dir is not None else []
    if os.environ.get("LRLAB_DATA_DIR"):
        search.append(Path(os.environ["LRLAB_DATA_DIR"]))
    if download is None:
        download = os.environ.get("LRLAB_OFFLINE", "").lower() not in ("1", "true", "yes")
    request = _Request(
        search_dirs=tuple(path.expanduser() for path in search),
        cache_dir=_cache_root(cache_dir),
        seed=int(seed),
        limit=None if limit is None else int(limit),
        download=download,
    )
    return _LOADERS[name](request)


def _cache_root(cache_dir: str | os.PathLike[str] | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    home = os.environ.get("LRLAB_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".lrlab") / "cache"


def _test_limit(limit: int) -> int:
    return max(1, limit // 5)


def _find(request: _Request, names: tuple[str, ...]) -> Path | None:
    """The first of ``names`` in the search dirs, or a search path that is itself a file."""
    for base in request.search_dirs:
        if base.is_file():
            return base
        for name in names:
            if (base / name).exists():
                return base / name
    return None


def _not_found(dataset: str, names: tuple[str, ...], request: _Request, why: str) -> str:
    looked = ", ".join(str(path) for path in request.search_dirs) or "no directory given"
    return (
        f"{dataset}: no data found. Put {' or '.join(repr(n) for n in names)} in a directory "
        f"and pass it as data_dir= (CLI: --data-dir DIR) or set LRLAB_DATA_DIR=DIR. "
        f"Looked in: {looked}. {why}"
    )


def _stratified_split(
    labels: np.ndarray, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices, ``test_fraction`` of each class in test, both shuffled."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(np.floor(test_fraction * len(members) + 0.5))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _quotas(count: int, num_classes: int) -> list[int]:
    """``count`` split over classes as evenly as possible, the first classes taking extras."""
    return [count // num_classes + (index < count % num_classes) for index in range(num_classes)]


def _balanced_indices(labels: np.ndarray, count: int, num_classes: int, seed: int) -> np.ndarray:
    """A seeded class-balanced subset of ``count`` indices, sorted."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label, quota in enumerate(_quotas(count, num_classes)):
        members = np.flatnonzero(labels == label)
        if len(members) < quota:
            raise ValueError(
                f"limit {count} needs {quota} rows of class {label}, have {len(members)}"
            )
        chosen.append(rng.choice(members, size=quota, replace=False))
    return np.sort(np.concatenate(chosen))


def _limited(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    if limit is None:
        return dataset
    train = _balanced_indices(dataset.y_train, limit, dataset.num_classes, seed)
    test = _balanced_indices(dataset.y_test, _test_limit(limit), dataset.num_classes, seed + 1)
    return dataclasses.replace(
        dataset,
        x_train=dataset.x_train[train],
        y_train=dataset.y_train[train],
        x_test=dataset.x_test[test],
        y_test=dataset.y_test[test],
    )


def _tabular(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    class_names: tuple[str, ...],
    source: str,
    test_fraction: float,
    request: _Request,
) -> Dataset:
    train, test = _stratified_split(y, test_fraction, request.seed)
    dataset = Dataset(
        name=name,
        x_train=np.ascontiguousarray(x[train], dtype=np.float32),
        y_train=y[train].astype(np.int64),
        x_test=np.ascontiguousarray(x[test], dtype=np.float32),
        y_test=y[test].astype(np.int64),
        class_names=class_names,
        source=source,
    )
    return _limited(dataset, request.limit, request.seed)


# --- ionosphere ----------------------------------------------------------------------


def _normalized_text(payload: bytes) -> bytes:
    return payload.replace(b"\r\n", b"\n").rstrip(b"\n") + b"\n"


def _parse_ionosphere(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels from the UCI file; ``ValueError`` naming the file and line."""
    rows, labels = [], []
    with open(path, encoding="ascii", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            fields = line.strip().split(",")
            if len(fields) != 35:
                raise ValueError(
                    f"{path}:{number}: expected 35 columns (34 features and a g/b label), "
                    f"got {len(fields)}"
                )
            if fields[-1] not in _IONOSPHERE_CLASSES:
                raise ValueError(f"{path}:{number}: unknown label {fields[-1]!r}, expected b or g")
            try:
                rows.append([float(field) for field in fields[:-1]])
            except ValueError as error:
                raise ValueError(f"{path}:{number}: {error}") from None
            labels.append(_IONOSPHERE_CLASSES.index(fields[-1]))
    if not rows:
        raise ValueError(f"{path}: no rows")
    return np.asarray(rows, dtype=np.float32), np.asarray(labels, dtype=np.int64)


def _download(url: str, destination: Path, sha256: str) -> str | None:
    """Fetch ``url`` into ``destination`` if its checksum matches; else the reason why not."""
    try:
        with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
            payload = response.read()
    except OSError as error:
        return f"Download from {url} failed: {error}."
    digest = hashlib.sha256(_normalized_text(payload)).hexdigest()
    if digest != sha256:
        return f"Download from {url} has SHA-256 {digest}, expected {sha256}; not saved."
    write_atomic(destination, lambda handle: handle.write(payload))
    return None


@_register("ionosphere")
def _ionosphere(request: _Request) -> Dataset:
    path = _find(request, _IONOSPHERE_FILES)
    downloaded = request.cache_dir / "ionosphere.data"
    if path is None and downloaded.is_file():
        path = downloaded
    if path is None:
        if not request.download:
            why = "Download is off (download=False or LRLAB_OFFLINE=1)."
        else:
            why = _download(IONOSPHERE_URL, downloaded, IONOSPHERE_SHA256) or ""
            path = None if why else downloaded
        if path is None:
            message = _not_found("ionosphere", _IONOSPHERE_FILES, request, why)
            raise DatasetNotFoundError(f"{message} Official file: {IONOSPHERE_URL}")
    x, y = _parse_ionosphere(path)
    return _tabular("ionosphere", x, y, _IONOSPHERE_CLASSES, str(path), 0.33, request)


# --- scikit-learn and synthetic ------------------------------------------------------


def _sklearn_datasets() -> Any:
    try:
        import sklearn.datasets
    except ImportError as error:
        raise ImportError(f"this dataset needs scikit-learn; {_EXTRA_HINT}") from error
    return sklearn.datasets


@_register("digits")
def _digits(request: _Request) -> Dataset:
    bunch = _sklearn_datasets().load_digits()
    x = np.asarray(bunch.data, dtype=np.float32) / 16.0
    names = tuple(str(name) for name in bunch.target_names)
    y = np.asarray(bunch.target, dtype=np.int64)
    return _tabular("digits", x, y, names, "sklearn.datasets.load_digits", 0.25, request)


@_register("breast_cancer")
def _breast_cancer(request: _Request) -> Dataset:
    bunch = _sklearn_datasets().load_breast_cancer()
    names = tuple(str(name) for name in bunch.target_names)
    y = np.asarray(bunch.target, dtype=np.int64)
    source = "sklearn.datasets.load_breast_cancer"
    raw = _tabular("breast_cancer", bunch.data, y, names, source, 0.30, request)
    mean = raw.x_train.mean(axis=0)
    std = raw.x_train.std(axis=0)
    std[std == 0] = 1.0
    return dataclasses.replace(
        raw, x_train=(raw.x_train - mean) / std, x_test=(raw.x_test - mean) / std
    )


@_register("synthetic")
def _synthetic(request: _Request) -> Dataset:
    rng = np.random.default_rng(request.seed)
    num_classes, rows, dims = 3, 1000, 20
    centers = rng.normal(scale=1.5, size=(num_classes, dims))
    y = np.arange(rows, dtype=np.int64) % num_classes
    x = centers[y] + rng.normal(size=(rows, dims))
    names = tuple(f"blob{index}" for index in range(num_classes))
    return _tabular("synthetic", x, y, names, f"synthetic(seed={request.seed})", 0.2, request)


# --- cifar10 ---------------------------------------------------------------------------


def _pil_image() -> Any:
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError(f"image datasets need Pillow; {_EXTRA_HINT}") from error
    return Image


def _decode(blob: bytes, where: str) -> np.ndarray:
    """One 32x32 RGB image as uint8 HWC; ``ValueError`` naming ``where`` otherwise."""
    image_module = _pil_image()
    try:
        with image_module.open(io.BytesIO(blob)) as image:
            if image.size != _IMAGE_SHAPE[1::-1]:
                width, height = image.size
                raise ValueError(f"{where}: image is {width}x{height}, expected 32x32")
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except OSError as error:
        raise ValueError(f"{where}: cannot decode image: {error}") from None


def _sort_key(seed: int, name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{name}".encode()).digest()[:8], "big")


class _TreeCollector:
    """Gathers image members of a ``{train,test}/<class>/<file>`` tree.

    Without a limit it keeps every member; with one it keeps, per split and class, the
    members with the smallest seeded hash of their name, reading the bytes of only those,
    so one streaming pass over an archive needs no listing first.
    """

    def __init__(self, where: str, limit: int | None, seed: int) -> None:
        self.where = where
        self.seed = seed
        self.caps = {"train": limit, "test": None if limit is None else _test_limit(limit)}
        self.limit = limit
        self.class_dirs: set[tuple[str, str]] = set()
        self.kept: dict[tuple[str, str], list[tuple[int, str, bytes]]] = {}

    def class_dir(self, split: str, label: str) -> None:
        self.class_dirs.add((split, label))

    def offer(self, split: str, label: str, name: str, read: Callable[[], bytes]) -> None:
        self.class_dir(split, label)
        heap = self.kept.setdefault((split, label), [])
        cap = self.caps[split]
        key = _sort_key(self.seed, name)
        if cap is None:
            heap.append((key, name, read()))
        elif len(heap) < cap:
            heapq.heappush(heap, (-key, name, read()))
        elif -heap[0][0] > key:
            heapq.heapreplace(heap, (-key, name, read()))

    def arrays(self) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
        classes = tuple(sorted({label for split, label in self.class_dirs if split == "train"}))
        if not classes:
            raise ValueError(f"{self.where}: no train/<class>/ images found")
        for split in _SPLITS:
            found = tuple(sorted({label for s, label in self.class_dirs if s == split}))
            if found != classes:
                raise ValueError(f"{self.where}: classes of {split} {found} != train {classes}")
            for label in classes:
                if not self.kept.get((split, label)):
                    raise ValueError(f"{self.where}: class directory {split}/{label} is empty")
        arrays: dict[str, np.ndarray] = {}
        for split in _SPLITS:
            chosen: list[tuple[int, str, bytes]] = []
            cap = self.caps[split]
            quotas = _quotas(cap, len(classes)) if cap is not None else [None] * len(classes)
            for index, (label, quota) in enumerate(zip(classes, quotas, strict=True)):
                members = sorted(self.kept[(split, label)], key=lambda item: abs(item[0]))
                if quota is not None and len(members) < quota:
                    raise ValueError(
                        f"{self.where}: limit {self.limit} needs {quota} {split} images of "
                        f"{label!r}, found {len(members)}"
                    )
                picked = sorted(members[:quota], key=lambda item: item[1])
                chosen += [(index, name, blob) for _, name, blob in picked]
            images = np.empty((len(chosen), *_IMAGE_SHAPE), dtype=np.uint8)
            for row, (_, name, blob) in enumerate(chosen):
                images[row] = _decode(blob, f"{self.where}: {name}")
            arrays[f"x_{split}"] = images
            arrays[f"y_{split}"] = np.asarray([index for index, _, _ in chosen], dtype=np.int64)
        return arrays, classes


def _tree_place(name: str) -> tuple[str, str, bool] | None:
    """``(split, class, is_image)`` for a path in an image tree, or None if outside it."""
    parts = [part for part in PurePosixPath(name).parts if part not in (".", "/")]
    if parts and parts[0] not in _SPLITS:
        parts = parts[1:]
    if len(parts) < 2 or parts[0] not in _SPLITS:
        return None
    if len(parts) == 2:
        return parts[0], parts[1], False
    is_image = len(parts) == 3 and PurePosixPath(parts[2]).suffix.lower() in _IMAGE_SUFFIXES
    return parts[0], parts[1], is_image


def _unpickle(blob: bytes, where: str) -> dict[bytes, Any]:
    try:
        content = pickle.loads(blob, encoding="bytes")  # noqa: S301 - the CIFAR format
    except Exception as error:  # any unpickling failure means a corrupt batch
        raise ValueError(f"{where}: not a CIFAR pickle: {error}") from None
    if not isinstance(content, dict):
        raise ValueError(f"{where}: not a CIFAR batch (a {type(content).__name__})")
    return content


def _batch_arrays(blob: bytes, where: str, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    batch = _unpickle(blob, where)
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except KeyError as error:
        raise ValueError(f"{where}: batch lacks {error}") from None
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise ValueError(f"{where}: data {data.shape} and {len(labels)} labels; want (n, 3072)")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{where}: labels outside 0..{num_classes - 1}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def _from_batches(
    batches: dict[str, bytes], where: str
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    """Arrays from the official pickled batches, keyed by their file names."""
    for required in ("batches.meta", "test_batch"):
        if required not in batches:
            raise ValueError(f"{where}: missing {required}")
    train_names = sorted(
        (name for name in batches if name.startswith("data_batch_")),
        key=lambda name: int(name.rsplit("_", 1)[1]),
    )
    if not train_names:
        raise ValueError(f"{where}: no data_batch_N files")
    meta = _unpickle(batches["batches.meta"], f"{where}: batches.meta")
    if b"label_names" not in meta:
        raise ValueError(f"{where}: batches.meta lacks label_names")
    classes = tuple(
        name.decode() if isinstance(name, bytes) else str(name) for name in meta[b"label_names"]
    )
    parts = [_batch_arrays(batches[n], f"{where}: {n}", len(classes)) for n in train_names]
    x_test, y_test = _batch_arrays(batches["test_batch"], f"{where}: test_batch", len(classes))
    arrays = {
        "x_train": np.concatenate([x for x, _ in parts]),
        "y_train": np.concatenate([y for _, y in parts]),
        "x_test": x_test,
        "y_test": y_test,
    }
    return arrays, classes


def _scan_tar(path: Path, limit: int | None, seed: int) -> tuple[Any, bool]:
    """One streaming pass: a :class:`_TreeCollector`, or batch bytes and ``True``."""
    collector = _TreeCollector(str(path), limit, seed)
    batches: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r|*") as archive:
            for member in archive:
                base = PurePosixPath(member.name).name
                if member.isfile() and _BATCH_NAME.fullmatch(base):
                    batches[base] = _read_member(archive, member)
                    continue
                place = _tree_place(member.name)
                if place is None:
                    continue
                split, label, is_image = place
                if member.isdir() and not is_image:
                    collector.class_dir(split, label)
                elif member.isfile() and is_image:
                    collector.offer(
                        split, label, member.name, lambda m=member: _read_member(archive, m)
                    )
    except (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile) as error:
        raise ValueError(f"{path}: corrupt or truncated archive: {error}") from None
    return (batches, True) if batches else (collector, False)


def _read_member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    handle = archive.extractfile(member)
    if handle is None:
        raise ValueError(f"{member.name}: not a regular file")
    return handle.read()


def _scan_dir(path: Path, limit: int | None, seed: int) -> tuple[Any, bool]:
    """Like :func:`_scan_tar` for an extracted directory."""
    batch_files = {p.name: p for p in path.iterdir() if _BATCH_NAME.fullmatch(p.name)}
    if batch_files:
        return {name: p.read_bytes() for name, p in batch_files.items()}, True
    root = path
    if not any((path / split).is_dir() for split in _SPLITS):
        subdirs = [p for p in path.iterdir() if p.is_dir()]
        if len(subdirs) == 1:
            root = subdirs[0]
    collector = _TreeCollector(str(path), limit, seed)
    for split in _SPLITS:
        if not (root / split).is_dir():
            continue
        for class_dir in sorted(p for p in (root / split).iterdir() if p.is_dir()):
            collector.class_dir(split, class_dir.name)
            for file in sorted(class_dir.iterdir()):
                if file.is_file() and file.suffix.lower() in _IMAGE_SUFFIXES:
                    name = file.relative_to(root).as_posix()
                    collector.offer(split, class_dir.name, name, file.read_bytes)
    return collector, False


def _source_stamp(path: Path) -> list[Any]:
    """What identifies a source's version: size and mtime of it or of every file under it."""
    if path.is_file():
        stat = path.stat()
        return [stat.st_size, stat.st_mtime_ns]
    stamp = []
    for directory, _, files in sorted(os.walk(path)):
        for file in sorted(files):
            stat = os.stat(os.path.join(directory, file))
            stamp.append([os.path.relpath(os.path.join(directory, file), path), stat.st_size])
            stamp[-1].append(stat.st_mtime_ns)
    return stamp


_CACHE_KEYS = ("x_train", "y_train", "x_test", "y_test", "class_names")


def _read_cache(
    path: Path, limit: int | None
) -> tuple[dict[str, np.ndarray], tuple[str, ...]] | None:
    """The cached arrays, or None when the cache is missing, unreadable or inconsistent."""
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in _CACHE_KEYS}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    classes = tuple(str(name) for name in arrays.pop("class_names"))
    expected = {"train": limit, "test": None if limit is None else _test_limit(limit)}
    for split in _SPLITS:
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.shape[1:] != _IMAGE_SHAPE or y.dtype != np.int64:
            return None
        if y.shape != (len(x),) or (expected[split] is not None and len(x) != expected[split]):
            return None
        if not len(y) or y.min() < 0 or y.max() >= len(classes):
            return None
    return arrays, classes


def _write_cache(path: Path, arrays: dict[str, np.ndarray], classes: tuple[str, ...]) -> None:
    write_atomic(path, lambda handle: np.savez(handle, class_names=np.asarray(classes), **arrays))


def _cifar_arrays(
    source: Path, limit: int | None, seed: int
) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    scanned, is_batches = (
        _scan_dir(source, limit, seed) if source.is_dir() else _scan_tar(source, limit, seed)
    )
    if not is_batches:
        return scanned.arrays()
    arrays, classes = _from_batches(scanned, str(source))
    if limit is None:
        return arrays, classes
    train = _balanced_indices(arrays["y_train"], limit, len(classes), seed)
    test = _balanced_indices(arrays["y_test"], _test_limit(limit), len(classes), seed + 1)
    return {
        "x_train": arrays["x_train"][train],
        "y_train": arrays["y_train"][train],
        "x_test": arrays["x_test"][test],
        "y_test": arrays["y_test"][test],
    }, classes


@_register("cifar10")
def _cifar10(request: _Request) -> Dataset:
    source = _find(request, _CIFAR_FILES)
    if source is None:
        for base in request.search_dirs:
            if all((base / split).is_dir() for split in _SPLITS):
                source = base
                break
    if source is None:
        why = (
            "Official archive: https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz "
            "(not downloaded automatically)."
        )
        raise DatasetNotFoundError(_not_found("cifar10", _CIFAR_FILES[:3], request, why))
    source = source.resolve()
    key = json.dumps(
        [_CACHE_FORMAT, str(source), _source_stamp(source), request.limit, request.seed]
        if request.limit is not None
        else [_CACHE_FORMAT, str(source), _source_stamp(source)]
    )
    cache = request.cache_dir / f"cifar10-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"
    cached = _read_cache(cache, request.limit)
    if cached is None:
        cached = _cifar_arrays(source, request.limit, request.seed)
        _write_cache(cache, *cached)
        origin = str(source)
    else:
        origin = f"{cache} (cache of {source})"
    arrays, classes = cached
    return Dataset(name="cifar10", class_names=classes, source=origin, **arrays)
