"""The experiments package: settings files found, checked when loaded, and run."""

from __future__ import annotations

import dataclasses
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import gradwatch as gw
from gradwatch import experiments

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SquareSettings:
    """Settings of a tiny experiment that squares ``n``."""

    n: int
    scale: float = 1.0
    sizes: list[int] = dataclasses.field(default_factory=lambda: [2, 3])
    activation: str = "tanh"

    def __post_init__(self) -> None:
        experiments.positive("n", self.n)
        experiments.positive("sizes", self.sizes)
        experiments.activation("activation", self.activation)


def _run(settings: SquareSettings, progress: Any = experiments.no_progress, *, figures=True):
    progress("squaring", 1, 1)
    return experiments.Result(numbers={"square": settings.n**2 * settings.scale})


@pytest.fixture
def square(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """A fake experiment module ``square``, known to the package for the test's duration."""
    module = types.ModuleType("gradwatch.experiments.square")
    module.Settings = SquareSettings  # type: ignore[attr-defined]
    module.run = _run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    real = experiments.names()
    monkeypatch.setattr(experiments, "names", lambda: sorted([*real, "square"]))
    return module


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_bytes(text.encode("utf-8"))
    return path


GOOD = '[experiment]\ntitle = "Square"\ndescription = "n squared."\n\n[settings]\nn = 3\n'


def test_every_conf_file_has_a_module_and_loads() -> None:
    conf = ROOT / "conf"
    assert sorted(p.stem for p in conf.glob("*.toml")) == experiments.names()
    for name in experiments.names():
        loaded = experiments.load(name, conf_dir=conf)
        assert loaded.name == name
        assert type(loaded.settings).__module__ == f"gradwatch.experiments.{name}"
        assert loaded.title
        assert loaded.description


def test_every_module_has_the_layout() -> None:
    for name in experiments.names():
        module = experiments.module(name)
        assert dataclasses.is_dataclass(module.Settings)
        assert callable(module.run)
        assert callable(getattr(module, "summarise", None)), name


def test_load_checks_types_and_fills_defaults(square: Any, tmp_path: Path) -> None:
    loaded = experiments.load(write(tmp_path, "square", GOOD))
    assert loaded.settings == SquareSettings(n=3)
    assert loaded.settings_dict() == {"n": 3, "scale": 1.0, "sizes": [2, 3], "activation": "tanh"}
    assert experiments.run(loaded).numbers == {"square": 9.0}


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ("n = -5", ValueError, "setting 'n' = -5: expected a positive number"),
        ('n = "3"', TypeError, "setting 'n' = '3': expected an integer"),
        ('n = 3\nsizes = [2, "3"]', TypeError, "setting 'sizes[1]' = '3': expected an integer"),
        ("n = 3\nsizes = 2", TypeError, "setting 'sizes' = 2: expected a list of integers"),
        ("n = 3\nsizes = [4, 0]", ValueError, "setting 'sizes[1]' = 0"),
        ("n = 3\nsizes = []", ValueError, "setting 'sizes' = []: expected a non-empty list"),
        ('n = 3\nactivation = "foo"', ValueError, "setting 'activation' = 'foo'"),
        ("n = 3\nm = 1", ValueError, "unknown setting 'm'; expected one of: n, scale"),
        ("scale = 2", ValueError, "missing setting 'n' (expected an integer)"),
        ("n = true", TypeError, "setting 'n' = True"),
    ],
)
def test_bad_settings_name_the_file_and_key(square, tmp_path, settings, error, message) -> None:
    path = write(tmp_path, "square", f"[settings]\n{settings}\n")
    with pytest.raises(error) as info:
        experiments.load(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_bad_files(square: Any, tmp_path: Path) -> None:
    folder = tmp_path / "square.toml"
    folder.mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        experiments.load(folder)
    folder.rmdir()
    path = tmp_path / "square.toml"
    path.write_bytes(b"[settings]\nn = 3 # caf\xe9\n")
    with pytest.raises(ValueError, match=r"square\.toml: not UTF-8"):
        experiments.load(path)
    path.write_text("[settings\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid TOML"):
        experiments.load(path)
    path.write_text(GOOD + "[other]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown table 'other'"):
        experiments.load(path)
    path.write_text('[experiment]\nkind = "square"\n[settings]\nn = 1\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown key 'kind' in"):
        experiments.load(path)
    with pytest.raises(ValueError, match="no experiment named 'nosuch'"):
        experiments.load(write(tmp_path, "nosuch", GOOD))
    with pytest.raises(FileNotFoundError, match="no experiment file"):
        experiments.load(tmp_path / "missing.toml")


def test_bare_names_come_from_the_project_not_a_stray_conf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GRADWATCH_CONF_DIR", raising=False)
    # A conf/ folder of some other project above the current directory is never taken.
    stray = tmp_path / "conf"
    stray.mkdir()
    write(stray, "clipping", "[settings]\nsteps = -1\n")
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    assert experiments.conf_dir() != stray
    assert experiments.load("clipping").settings.steps > 0
    # Inside the checkout, its own conf/ is found from the project root.
    monkeypatch.chdir(ROOT / "docs")
    assert experiments.conf_dir() == ROOT / "conf"
    # An explicit folder wins.
    assert experiments.load("clipping", conf_dir=ROOT / "conf").path.parent == ROOT / "conf"


def test_names_lists_modules_not_private_ones() -> None:
    names = experiments.names()
    assert "clipping" in names
    assert not any(name.startswith("_") for name in names)
    with pytest.raises(ValueError, match="no experiment named 'nope'"):
        experiments.module("nope")


def test_flatten_makes_python_scalars() -> None:
    np = pytest.importorskip("numpy")
    flat = experiments.flatten({"a": np.float64(0.5), "b": {"c": np.int64(2), "d": [1]}}, "x")
    assert flat == {"x.a": 0.5, "x.b.c": 2, "x.b.d": [1]}
    assert type(flat["x.a"]) is float
    assert type(flat["x.b.c"]) is int


def test_check_helpers_reject_what_they_should() -> None:
    experiments.between("m", 0.5, 0, 1)
    experiments.at_least("d", [2, 3], 2)
    experiments.non_negative("seed", 0)
    for call in (
        lambda: experiments.between("m", 2, 0, 1),
        lambda: experiments.at_least("d", [2, 1], 2),
        lambda: experiments.positive("lr", float("inf")),
        lambda: experiments.positive("lr", float("nan")),
        lambda: experiments.positive("flag", True),
        lambda: experiments.non_negative("seed", -1),
    ):
        with pytest.raises(experiments.SettingError):
            call()


def test_package_exposes_the_experiments() -> None:
    assert gw.experiments is experiments
