"""Shared pytest configuration: the Hypothesis profile used on CI.

Set the ``CI`` environment variable to load the ``ci`` profile: no deadline, derandomized
(the same examples on every run, so CI is reproducible; local runs keep exploring new
ones), and every failure prints the blob that reproduces it with ``@reproduce_failure``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", print_blob=True, deadline=None, derandomize=True)

if os.environ.get("CI"):
    settings.load_profile("ci")


SHARED_DATA = Path(
    os.environ.get("LRLAB_DATA_DIR") or Path(__file__).parents[2] / "shared" / "data"
)
"""The real data files beside the repository (``../shared/data``) or in ``LRLAB_DATA_DIR``."""


@pytest.fixture(scope="session", autouse=True)
def lrlab_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep every test's default run store and dataset cache out of ``~/.lrlab``; the cache
    is shared by the session, so the CIFAR-10 subset is decoded once."""
    home = tmp_path_factory.mktemp("lrlab-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LRLAB_HOME", str(home))
        yield home


@pytest.fixture
def cifar_dir() -> Path:
    """The directory holding the shared ``cifar10-jpeg.tar.xz``; skips when it is absent."""
    if not (SHARED_DATA / "cifar10-jpeg.tar.xz").is_file():
        pytest.skip(f"no cifar10-jpeg.tar.xz in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def ionosphere_dir() -> Path:
    """The directory holding the shared ``ionosphere.csv``; skips when it is absent."""
    if not (SHARED_DATA / "ionosphere.csv").is_file():
        pytest.skip(f"no ionosphere.csv in {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def screenshot(tmp_path: Path) -> Callable[[Path], np.ndarray]:
    """Render an HTML file in headless Chromium (1200x1600) and return the screenshot's RGB
    pixels (int16); skips when Debian's ``chromium`` is not installed."""
    names = ("chromium", "chromium-browser", "google-chrome")
    browser = next(filter(None, map(shutil.which, names)), None)
    if browser is None:
        pytest.skip("chromium not installed")

    def render(page: Path) -> np.ndarray:
        shot = tmp_path / f"{page.stem}-screenshot.png"
        subprocess.run(
            [browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", f"--user-data-dir={tmp_path / 'chromium-profile'}",
             "--window-size=1200,1600", f"--screenshot={shot}", page.resolve().as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        from PIL import Image

        with Image.open(shot) as image:
            assert image.size == (1200, 1600)
            return np.asarray(image.convert("RGB"), dtype=np.int16)

    return render
