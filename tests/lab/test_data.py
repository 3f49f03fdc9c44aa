"""Dataset loaders: the shared real files, small generated archives, and error paths."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest

from lrlab.lab import data as lab_data
from lrlab.lab.data import (
    IONOSPHERE_SHA256,
    Dataset,
    DatasetNotFoundError,
    dataset_names,
    load_dataset,
)

SHARED = Path(os.environ.get("LRLAB_DATA_DIR") or Path(__file__).parents[3] / "shared" / "data")
IONOSPHERE = SHARED / "ionosphere.csv"
CIFAR_TAR = SHARED / "cifar10-jpeg.tar.xz"
CIFAR_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
COLORS = {"cat": (200, 10, 10), "dog": (10, 200, 10), "emu": (10, 10, 200)}

needs_ionosphere = pytest.mark.skipif(not IONOSPHERE.is_file(), reason="no shared ionosphere")
needs_cifar = pytest.mark.skipif(not CIFAR_TAR.is_file(), reason="no shared CIFAR-10 tar")


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LRLAB_OFFLINE", "1")
    monkeypatch.setenv("LRLAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LRLAB_DATA_DIR", raising=False)


def png(color: tuple[int, int, int], size: int = 32, marker: int = 0) -> bytes:
    """A flat ``color`` image whose top-left pixel is ``(marker, marker, marker)``."""
    from PIL import Image

    image = Image.new("RGB", (size, size), color)
    image.putpixel((0, 0), (marker, marker, marker))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def image_tree(root: Path, per_class: dict[str, int] | None = None) -> Path:
    """``root/{train,test}/<class>/NNNN.png``, each image one flat color per class."""
    counts = per_class or {"train": 4, "test": 2}
    for split, count in counts.items():
        for label, color in COLORS.items():
            (root / split / label).mkdir(parents=True)
            for index in range(count):
                (root / split / label / f"{index:04d}.png").write_bytes(png(color, marker=index))
    return root


def tar_of(source: Path, target: Path, arcname: str) -> Path:
    mode = "w:gz" if target.name.endswith(".gz") else "w"
    with tarfile.open(target, mode) as archive:
        archive.add(source, arcname=arcname)
    return target


def add_bytes(archive: tarfile.TarFile, name: str, payload: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(payload)
    archive.addfile(info, io.BytesIO(payload))


def batch(labels: list[int]) -> bytes:
    """A CIFAR python batch whose image ``i`` has channels filled with ``(i, 100 + i, 200)``."""
    rows = [
        np.concatenate([np.full(1024, i), np.full(1024, 100 + i), np.full(1024, 200)])
        for i in range(len(labels))
    ]
    content = {b"data": np.asarray(rows, dtype=np.uint8), b"labels": labels}
    return pickle.dumps(content)


def python_tarball(path: Path) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        add_bytes(
            archive,
            "cifar-10-batches-py/batches.meta",
            pickle.dumps({b"label_names": [b"ant", b"bee", b"cow"]}),
        )
        add_bytes(archive, "cifar-10-batches-py/data_batch_2", batch([2, 2, 1, 1, 0, 0]))
        add_bytes(archive, "cifar-10-batches-py/data_batch_1", batch([0, 1, 2, 0, 1, 2]))
        add_bytes(archive, "cifar-10-batches-py/test_batch", batch([0, 1, 2]))
    return path


# --- registry and arguments -----------------------------------------------------------


def test_names_are_sorted_and_loadable() -> None:
    assert dataset_names() == ("breast_cancer", "cifar10", "digits", "ionosphere", "synthetic")


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*breast_cancer, cifar10"):
        load_dataset("mnist")


@pytest.mark.parametrize("bad", [{"limit": 0}, {"limit": 2.5}, {"limit": True}, {"seed": -1}])
def test_bad_limit_or_seed_is_a_value_error(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="limit|seed"):
        load_dataset("synthetic", **bad)  # type: ignore[arg-type]


def test_dataset_rejects_inconsistent_arrays() -> None:
    x = np.zeros((3, 2), np.float32)
    with pytest.raises(ValueError, match="outside"):
        Dataset("t", x, np.array([0, 1, 2]), x, np.array([0, 0, 0]), ("a", "b"), "here")
    with pytest.raises(ValueError, match="labels"):
        Dataset("t", x, np.array([0, 1]), x, np.array([0, 0, 0]), ("a", "b"), "here")


# --- ionosphere -----------------------------------------------------------------------


@needs_ionosphere
def test_shared_ionosphere_is_the_uci_file() -> None:
    payload = IONOSPHERE.read_bytes()
    assert hashlib.sha256(lab_data._normalized_text(payload)).hexdigest() == IONOSPHERE_SHA256


@needs_ionosphere
def test_ionosphere_shapes_split_and_balance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRLAB_DATA_DIR", str(SHARED))
    data = load_dataset("ionosphere")
    assert data.input_shape == (34,) and data.num_classes == 2
    assert data.class_names == ("b", "g")
    assert (len(data.x_train), len(data.x_test)) == (235, 116)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    labels = np.concatenate([data.y_train, data.y_test])
    assert np.bincount(labels).tolist() == [126, 225]
    assert abs(data.y_train.mean() - data.y_test.mean()) < 0.01  # stratified
    assert data.source == str(IONOSPHERE)


@needs_ionosphere
def test_ionosphere_seed_fixes_the_split() -> None:
    first, again, other = (load_dataset("ionosphere", data_dir=SHARED, seed=s) for s in (3, 3, 4))
    assert np.array_equal(first.x_train, again.x_train)
    assert np.array_equal(first.y_test, again.y_test)
    assert not np.array_equal(first.x_train, other.x_train)
    rows = {tuple(row) for row in np.concatenate([first.x_train, first.x_test])}
    assert rows == {tuple(row) for row in np.concatenate([other.x_train, other.x_test])}


@needs_ionosphere
def test_ionosphere_limit_is_balanced() -> None:
    data = load_dataset("ionosphere", data_dir=IONOSPHERE, limit=40)
    assert np.bincount(data.y_train).tolist() == [20, 20]
    assert np.bincount(data.y_test).tolist() == [4, 4]


def test_missing_ionosphere_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as caught:
        load_dataset("ionosphere", data_dir=tmp_path)
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError)
    for part in ("ionosphere.data", "--data-dir", "LRLAB_DATA_DIR", str(tmp_path), "LRLAB_OFFLINE"):
        assert part in message


@needs_ionosphere
def test_download_checks_the_checksum_and_writes_atomically(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    payloads = {"good": IONOSPHERE.read_bytes(), "bad": b"1,2,g\n"}
    served: list[str] = []

    def fake_urlopen(url: str, timeout: float) -> io.BytesIO:
        assert timeout <= 30
        served.append(url)
        return io.BytesIO(payloads[which])

    monkeypatch.setattr(lab_data.urllib.request, "urlopen", fake_urlopen)
    which = "bad"
    with pytest.raises(DatasetNotFoundError, match="SHA-256"):
        load_dataset("ionosphere", cache_dir=tmp_path, download=True)
    assert list(tmp_path.iterdir()) == []
    which = "good"
    data = load_dataset("ionosphere", cache_dir=tmp_path, download=True)
    assert served == [lab_data.IONOSPHERE_URL] * 2
    assert data.source == str(tmp_path / "ionosphere.data")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ionosphere.data"]
    load_dataset("ionosphere", cache_dir=tmp_path, download=True)  # reuses the download
    assert len(served) == 2


@pytest.mark.parametrize(
    ("line", "error"),
    [(",".join(["0.5"] * 33) + ",g", "expected 35 columns"), ("0.5," * 34 + "x", "label 'x'")],
)
def test_bad_ionosphere_file_names_the_file(tmp_path: Path, line: str, error: str) -> None:
    path = tmp_path / "ionosphere.data"
    path.write_text(("0.5," * 34 + "g\n") * 3 + line + "\n")
    with pytest.raises(ValueError, match=error) as caught:
        load_dataset("ionosphere", data_dir=tmp_path)
    assert f"{path}:4" in str(caught.value)


# --- scikit-learn and synthetic ---------------------------------------------------------


def test_digits() -> None:
    data = load_dataset("digits", seed=1)
    assert data.input_shape == (64,) and data.num_classes == 10
    assert (len(data.x_train), len(data.x_test)) == (1346, 451)
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert np.array_equal(data.x_test, load_dataset("digits", seed=1).x_test)
    assert not np.array_equal(data.x_test, load_dataset("digits", seed=2).x_test)


def test_breast_cancer_is_standardized_with_train_stats() -> None:
    data = load_dataset("breast_cancer")
    assert data.input_shape == (30,) and data.class_names == ("malignant", "benign")
    assert (len(data.x_train), len(data.x_test)) == (398, 171)
    assert np.allclose(data.x_train.mean(axis=0), 0, atol=1e-5)
    assert np.allclose(data.x_train.std(axis=0), 1, atol=1e-4)
    assert not np.allclose(data.x_test.mean(axis=0), 0, atol=1e-3)


def test_synthetic_is_seeded_and_learnable() -> None:
    data = load_dataset("synthetic", seed=5)
    assert data.x_train.shape == (799, 20) and data.x_test.shape == (201, 20)
    assert np.array_equal(data.x_train, load_dataset("synthetic", seed=5).x_train)
    assert not np.array_equal(data.x_train, load_dataset("synthetic", seed=6).x_train)
    centroids = np.stack([data.x_train[data.y_train == k].mean(axis=0) for k in range(3)])
    distances = ((data.x_test[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    assert (distances.argmin(axis=1) == data.y_test).mean() > 0.9


def test_heavy_modules_are_imported_lazily() -> None:
    code = (
        "import sys, lrlab.lab, lrlab.lab.data\n"
        "print(sorted(m for m in ('PIL', 'sklearn', 'torch') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_missing_sklearn_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from lrlab.lab.data import load_dataset\n"
        "try:\n    load_dataset('digits')\nexcept ImportError as error:\n    print(error)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'lrlab[lab]'" in result.stdout, result.stderr


# --- cifar10 from generated files ---------------------------------------------------------


@pytest.mark.parametrize("layout", ["dir", "tar.gz with top folder", "tar"])
def test_image_tree_in_every_layout(tmp_path: Path, layout: str) -> None:
    tree = image_tree(tmp_path / "cifar10")
    source = {
        "dir": tmp_path,
        "tar.gz with top folder": tar_of(tree, tmp_path / "cifar10.tar.gz", "cifar10"),
        "tar": tar_of(tree, tmp_path / "x.tar", "."),
    }[layout]
    data = load_dataset("cifar10", data_dir=source, cache_dir=tmp_path / "cache")
    assert data.class_names == ("cat", "dog", "emu")
    assert data.x_train.shape == (12, 32, 32, 3) and data.x_test.shape == (6, 32, 32, 3)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert np.bincount(data.y_train).tolist() == [4, 4, 4]
    for x, y in ((data.x_train, data.y_train), (data.x_test, data.y_test)):
        expected = np.asarray([COLORS[data.class_names[label]] for label in y], np.uint8)
        assert np.array_equal(x[:, 5, 7, :], expected)


def test_image_tree_limit_is_balanced_and_seeded(tmp_path: Path) -> None:
    tar = tar_of(image_tree(tmp_path / "t", {"train": 6, "test": 3}), tmp_path / "c.tar", "t")
    subsets = set()
    for seed in range(4):
        data = load_dataset(
            "cifar10", data_dir=tar, cache_dir=tmp_path / "cache", seed=seed, limit=4
        )
        assert np.bincount(data.y_train).tolist() == [2, 1, 1]
        assert np.bincount(data.y_test, minlength=3).tolist() == [1, 0, 0]
        again = load_dataset(
            "cifar10", data_dir=tar, cache_dir=tmp_path / "cache", seed=seed, limit=4
        )
        assert np.array_equal(again.x_train, data.x_train) and "cache" in again.source
        subsets.add(tuple(data.x_train[:, 0, 0, 0]))
    assert len(subsets) > 1  # the seed changes the subset
    assert len(list((tmp_path / "cache").glob("cifar10-*.npz"))) == 4


def test_python_batches(tmp_path: Path) -> None:
    source = python_tarball(tmp_path / "cifar-10-python.tar.gz")
    data = load_dataset("cifar10", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert data.class_names == ("ant", "bee", "cow")
    assert data.y_train.tolist() == [0, 1, 2, 0, 1, 2, 2, 2, 1, 1, 0, 0]
    assert data.y_test.tolist() == [0, 1, 2]
    assert data.x_train.shape == (12, 32, 32, 3)
    assert data.x_train[4, 31, 0].tolist() == [4, 104, 200]  # CHW rows became HWC
    assert str(source) in data.source
    small = load_dataset("cifar10", data_dir=tmp_path, cache_dir=tmp_path / "cache", limit=6)
    assert np.bincount(small.y_train).tolist() == [2, 2, 2]
    assert len(small.y_test) == 1


def test_truncated_archive_is_a_value_error_naming_it(tmp_path: Path) -> None:
    tar = tar_of(image_tree(tmp_path / "t"), tmp_path / "cifar10.tar.gz", "t")
    tar.write_bytes(tar.read_bytes()[: tar.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated") as caught:
        load_dataset("cifar10", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert str(tar) in str(caught.value)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_wrong_image_size_is_a_value_error_naming_it(tmp_path: Path) -> None:
    tree = image_tree(tmp_path / "cifar10")
    (tree / "test" / "dog" / "0001.png").write_bytes(png((1, 2, 3), size=16))
    with pytest.raises(ValueError, match=r"test/dog/0001.png: image is 16x16, expected 32x32"):
        load_dataset("cifar10", data_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_empty_class_dir_is_a_value_error(tmp_path: Path) -> None:
    tree = image_tree(tmp_path / "cifar10")
    (tree / "train" / "fox").mkdir()
    with pytest.raises(ValueError, match="train/fox is empty"):
        load_dataset("cifar10", data_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_undecodable_image_is_a_value_error(tmp_path: Path) -> None:
    tree = image_tree(tmp_path / "cifar10")
    (tree / "train" / "cat" / "0000.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="train/cat/0000.png: cannot decode"):
        load_dataset("cifar10", data_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_limit_larger_than_the_data_is_a_value_error(tmp_path: Path) -> None:
    image_tree(tmp_path / "cifar10")
    with pytest.raises(ValueError, match="limit 30 needs 10 train images of 'cat', found 4"):
        load_dataset("cifar10", data_dir=tmp_path, cache_dir=tmp_path / "cache", limit=30)


def test_missing_cifar_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="cifar-10-python.tar.gz.*--data-dir"):
        load_dataset("cifar10", data_dir=tmp_path)


def test_changed_source_rebuilds_the_cache(tmp_path: Path) -> None:
    tree = image_tree(tmp_path / "cifar10")
    first = load_dataset("cifar10", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    (tree / "train" / "cat" / "0009.png").write_bytes(png(COLORS["cat"]))
    second = load_dataset("cifar10", data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert (len(first.y_train), len(second.y_train)) == (12, 13)
    assert len(list((tmp_path / "cache").glob("cifar10-*.npz"))) == 2


# --- cifar10 from the shared tar --------------------------------------------------------


@pytest.fixture(scope="module")
def cifar_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cifar-cache")


@needs_cifar
def test_shared_cifar_subset(cifar_cache: Path) -> None:
    start = time.perf_counter()
    data = load_dataset("cifar10", data_dir=SHARED, cache_dir=cifar_cache, limit=512)
    cold = time.perf_counter() - start
    assert data.class_names == CIFAR_CLASSES == tuple(sorted(CIFAR_CLASSES))
    assert data.x_train.shape == (512, 32, 32, 3) and data.x_test.shape == (102, 32, 32, 3)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert np.bincount(data.y_train).tolist() == [52, 52] + [51] * 8
    assert np.bincount(data.y_test).tolist() == [11, 11] + [10] * 8
    assert 80 < data.x_train.mean() < 180 and data.x_train.std() > 30
    assert str(CIFAR_TAR.resolve()) == data.source
    caches = list(cifar_cache.iterdir())
    assert len(caches) == 1 and caches[0].suffix == ".npz"  # no temporaries left

    start = time.perf_counter()
    again = load_dataset("cifar10", data_dir=SHARED, cache_dir=cifar_cache, limit=512)
    warm = time.perf_counter() - start
    assert again.source.startswith(str(caches[0]))
    assert warm < cold / 5
    for field in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(data, field), getattr(again, field))


@needs_cifar
def test_shared_cifar_corrupt_cache_is_rebuilt(cifar_cache: Path) -> None:
    reference = load_dataset("cifar10", data_dir=SHARED, cache_dir=cifar_cache, limit=512)
    (cache,) = cifar_cache.iterdir()
    cache.write_bytes(cache.read_bytes()[:100_000])
    rebuilt = load_dataset("cifar10", data_dir=SHARED, cache_dir=cifar_cache, limit=512)
    assert rebuilt.source == str(CIFAR_TAR.resolve())
    assert np.array_equal(rebuilt.x_train, reference.x_train)
    assert lab_data._read_cache(cache, 512) is not None
    assert [p.name for p in cifar_cache.iterdir()] == [cache.name]


def test_channel_stats_match_numpy_and_need_images() -> None:
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, size=(2500, 8, 8, 3), dtype=np.uint8)
    labels = np.zeros(2500, dtype=np.int64)
    data = lab_data.Dataset("d", pixels, labels, pixels[:3], labels[:3], ("a",), "-")
    mean, std = data.channel_stats
    flat = pixels.reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(mean, flat.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, flat.std(axis=0), rtol=1e-9)
    assert data.channel_stats is data.channel_stats  # computed once
    with pytest.raises(ValueError, match="channel_stats needs images"):
        load_dataset("synthetic").channel_stats  # noqa: B018
