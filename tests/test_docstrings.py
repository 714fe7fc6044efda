"""Every public function and class documents itself with an ``Examples`` section.

The examples themselves run as doctests (``--doctest-modules`` in pyproject.toml); this test
makes sure none is missing.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

import gradwatch as gw
from gradwatch import layers, network, norm, training

# The package's name ``gradcheck`` is the function; the module is reached through sys.modules.
gradcheck_module = importlib.import_module("gradwatch.gradcheck")

MODULES: list[ModuleType] = [
    gw.activations,
    gw.init,
    gw.losses,
    gw.clip,
    gw.optim,
    gw.experiments,
    layers,
    network,
    gradcheck_module,
    training,
    norm,
]
# Classes whose public methods must each carry their own example.
METHODS_DOCUMENTED: list[type] = [gw.MLP, gw.Sequential]
EXAMPLES = re.compile(r"^\s*Examples\n\s*-{8,}\n(?:.*\n)*?\s*>>> ", re.MULTILINE)


def public_objects() -> Iterator[tuple[str, Any]]:
    for module in MODULES:
        assert hasattr(module, "__all__"), module.__name__
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj
    for cls in METHODS_DOCUMENTED:
        for name, member in vars(cls).items():
            if not name.startswith("_") and inspect.isfunction(member):
                yield f"{cls.__module__}.{cls.__qualname__}.{name}", member


OBJECTS = dict(public_objects())


def test_the_walk_finds_the_api() -> None:
    for name in (
        "gradwatch.activations.get",
        "gradwatch.init.orthogonal",
        "gradwatch.losses.get",
        "gradwatch.clip.clip_by_global_norm",
        "gradwatch.optim.Adam",
        "gradwatch.experiments.load",
        "gradwatch.network.MLP",
        "gradwatch.network.Sequential.backward",
        "gradwatch.layers.Dense",
        "gradwatch.gradcheck.gradcheck",
    ):
        assert name in OBJECTS


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_has_an_examples_section(name: str) -> None:
    doc = inspect.getdoc(OBJECTS[name]) or ""
    assert doc, f"{name} has no docstring"
    assert EXAMPLES.search(doc + "\n"), f"{name} has no 'Examples' section with a doctest"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_all_lists_only_what_exists(module: ModuleType) -> None:
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert hasattr(module, name), f"{module.__name__}.__all__ lists missing {name}"


def test_top_level_exports() -> None:
    for name in gw.__all__:
        assert hasattr(gw, name)
    assert isinstance(gw.__version__, str)
    assert gw.MLP is network.MLP
    assert gw.Dense is layers.Dense
    assert gw.gradcheck is gradcheck_module.gradcheck
