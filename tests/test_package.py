"""Package-level promises: public API, lazy heavy imports, documented families."""

from __future__ import annotations

import importlib
import importlib.resources
import re
import subprocess
import sys

import pytest

import lrlab
import lrlab.schedules


@pytest.mark.parametrize(
    "name",
    ["lrlab", "lrlab.schedules", "lrlab.finder", "lrlab.torch", "lrlab.keras", "lrlab.optax"],
)
def test_all_is_sorted_and_importable(name: str) -> None:
    extras = {"lrlab.torch": "torch", "lrlab.keras": "keras", "lrlab.optax": "optax"}
    if name in extras:
        pytest.importorskip(extras[name])
    module = importlib.import_module(name)
    names = module.__all__
    assert names == sorted(names)
    for attribute in names:
        assert hasattr(module, attribute), attribute


@pytest.mark.parametrize(
    ("module", "blocked", "extra"), [("lrlab.torch", "torch", "torch")]
)  # lrlab.keras and lrlab.optax: in their own test files
def test_an_adapter_without_its_framework_names_the_extra(
    module: str, blocked: str, extra: str
) -> None:
    code = (
        f"import sys; sys.modules[{blocked!r}] = None\n"
        f"try:\n    import {module}\nexcept ImportError as error:\n    print(error)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"pip install 'lrlab[{extra}]'" in result.stdout


@pytest.mark.parametrize("command", ["run --dataset digits --model mlp", "resume 1", "inspect 1"])
def test_lab_commands_without_torch_name_the_extra(command: str) -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        f"from lrlab.cli import main; sys.exit(main({command.split()!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert "the lab needs torch: pip install 'lrlab[lab]'" in result.stderr


def test_py_typed_marker_ships() -> None:
    assert importlib.resources.files("lrlab").joinpath("py.typed").is_file()


def test_core_imports_only_numpy() -> None:
    code = (
        "import sys, lrlab, lrlab.cli; lrlab.parse('constant(value=1)')(3); "
        "heavy = {'torch', 'keras', 'jax', 'matplotlib', 'tensorflow'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("kind", lrlab.registered_kinds())
def test_every_kind_documents_formula_and_arguments(kind: str) -> None:
    cls = lrlab.schedules.schedule_class(kind)
    doc = cls.__doc__ or ""
    assert ".. math::" in doc, f"{kind}: no formula"
    assert "Args:" in doc, f"{kind}: no arguments section"
    for field in cls.__dataclass_fields__:
        assert re.search(rf"^\s+{field}:", doc, re.M), f"{kind}: argument {field} undocumented"


FAMILIES = [
    "constant",
    "inverse_time",
    "step",
    "multistep",
    "exponential",
    "polynomial",
    "linear",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "one_cycle",
    "inverse_sqrt",
    "wsd",
]


@pytest.mark.parametrize("kind", FAMILIES)
def test_every_family_maps_to_framework_names_with_an_example(kind: str) -> None:
    doc = lrlab.schedules.schedule_class(kind).__doc__ or ""
    assert "Maps to:" in doc and "Example:" in doc
