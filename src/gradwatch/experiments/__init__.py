"""Experiments: one module per page, its settings in ``conf/<name>.toml``.

Each experiment lives in one module of this package, named like its settings file and its page:
``conf/clipping.toml``, :mod:`gradwatch.experiments.clipping` and ``docs/clipping.md``. The module
holds

- ``Settings``, a frozen dataclass: the typed settings with their defaults and range checks;
- the experiment's steps, as plain functions of the settings (the page calls them one by one);
- ``summarise(...)``, which turns the steps' results into the JSON-ready numbers;
- its figures (matplotlib is imported inside the figure functions);
- ``run(settings, progress=no_progress, *, figures=True)``, the same steps composed, which
  returns a :class:`Result` for ``python -m gradwatch run``.

This module finds and reads the settings files and checks them when they are *loaded*: an
unknown key, a value of the wrong type or out of range is a :class:`SettingError` naming the
file, the key, the value and what is allowed, before anything runs.

A settings file has two tables::

    [experiment]
    title = "Gradient clipping in practice"
    description = "..."

    [settings]          # the fields of the module's Settings
    steps = 120
    lr = 0.03

Examples
--------
>>> import gradwatch as gw
>>> "clipping" in gw.experiments.names()
True
>>> experiment = gw.experiments.load("clipping")
>>> experiment.name, type(experiment.settings).__name__
('clipping', 'Settings')
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import math
import os
import pkgutil
import tomllib
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from gradwatch import activations

__all__ = [
    "Experiment",
    "Progress",
    "Result",
    "SettingError",
    "activation",
    "at_least",
    "at_most",
    "between",
    "conf_dir",
    "conf_names",
    "distinct",
    "finite",
    "flatten",
    "glue",
    "increasing",
    "load",
    "make_settings",
    "module",
    "names",
    "no_progress",
    "non_empty",
    "non_negative",
    "positive",
    "require",
    "run",
]

#: ``progress(label, done, total)``, called as an experiment advances.
Progress = Callable[[str, int, int], None]

_PACKAGE = Path(__file__).resolve().parent
_SettingsT = TypeVar("_SettingsT")


def no_progress(label: str, done: int, total: int) -> None:
    """Report nothing: the default ``progress`` of every experiment.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.no_progress("steps", 1, 10) is None
    True
    """


@dataclass(frozen=True)
class Result:
    """What an experiment's ``run`` returns.

    Attributes
    ----------
    numbers : dict
        JSON-ready values (floats, ints, bools, strings, lists and dicts of them).
    figures : dict of str to matplotlib.figure.Figure
        Figures by file stem, written as PNG and SVG by the command line.

    Examples
    --------
    >>> import gradwatch as gw
    >>> result = gw.experiments.Result(numbers={"loss": 0.5})
    >>> result.numbers, result.figures
    ({'loss': 0.5}, {})
    """

    numbers: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


class _ExperimentModule(Protocol):
    Settings: type[Any]

    def run(self, settings: Any, progress: Progress = ..., *, figures: bool = ...) -> Result: ...


# ---------------------------------------------------------------------------------------------
# Settings: types when a file is loaded, ranges in each Settings.__post_init__.
# ---------------------------------------------------------------------------------------------


class SettingError(ValueError):
    """A setting with a value outside what its experiment allows.

    Parameters
    ----------
    key : str
        The setting's name (with an index for an item of a list: ``"sizes[2]"``).
    value : object
        The value found.
    expected : str
        What is allowed, in words.

    Examples
    --------
    >>> import gradwatch as gw
    >>> print(gw.experiments.SettingError("steps", -5, "a positive int"))
    setting 'steps' = -5: expected a positive int
    """

    def __init__(self, key: str, value: object, expected: str) -> None:
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(f"setting {key!r} = {value!r}: expected {expected}")

    def with_source(self, source: str) -> SettingError:
        """Return the same error with ``source`` (a file's path) in front of its message."""
        error = SettingError(self.key, self.value, self.expected)
        error.args = (f"{source}: {self.args[0]}",)
        return error


def require(condition: bool, key: str, value: object, expected: str) -> None:
    """Raise :class:`SettingError` unless ``condition`` holds.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.require(3 > 2, "width", 3, "more than 2")
    >>> gw.experiments.require(1 > 2, "width", 1, "more than 2")
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'width' = 1: expected more than 2
    """
    if not condition:
        raise SettingError(key, value, expected)


def _items(key: str, value: object) -> list[tuple[str, Any]]:
    """``[(key, value)]`` for a scalar; ``[(key[i], item), ...]`` for a non-empty list."""
    if isinstance(value, list):
        non_empty(key, value)
        return [(f"{key}[{i}]", item) for i, item in enumerate(value)]
    return [(key, value)]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def finite(key: str, value: object) -> None:
    """Check that a number, or every number of a non-empty list, is finite.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.finite("start", [1.0, float("nan")])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'start[1]' = nan: expected a finite number
    """
    for where, item in _items(key, value):
        require(_is_number(item) and math.isfinite(item), where, item, "a finite number")


def positive(key: str, value: object, *, finite: bool = True) -> None:
    """Check that a number, or every number of a non-empty list, is above zero.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.positive("thresholds", [0.1, 1.0])
    >>> gw.experiments.positive("sizes", [4, 0, 1])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'sizes[1]' = 0: expected a positive number
    """
    for where, item in _items(key, value):
        ok = _is_number(item) and item > 0 and (not finite or math.isfinite(item))
        require(ok, where, item, "a positive number")


def non_negative(key: str, value: object) -> None:
    """Check that a number, or every number of a non-empty list, is zero or more.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.non_negative("seed", -1)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'seed' = -1: expected a number >= 0
    """
    for where, item in _items(key, value):
        ok = _is_number(item) and math.isfinite(item) and item >= 0
        require(ok, where, item, "a number >= 0")


def at_least(key: str, value: object, minimum: float) -> None:
    """Check that a number, or every number of a non-empty list, is at least ``minimum``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.at_least("depth", 1, 2)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'depth' = 1: expected a number >= 2
    """
    for where, item in _items(key, value):
        ok = _is_number(item) and math.isfinite(item) and item >= minimum
        require(ok, where, item, f"a number >= {minimum:g}")


def at_most(key: str, value: object, maximum: float, *, limit: str | None = None) -> None:
    """Check that a number, or every number of a non-empty list, is at most ``maximum``.

    ``limit`` names the setting that ``maximum`` comes from, for the message (a mini-batch is at
    most the data set: ``at_most("batch_size", 64, 256, limit="n_samples")``).

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.at_most("batch_size", 512, 256, limit="n_samples")
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'batch_size' = 512: expected at most n_samples = 256
    """
    bound = f"{maximum:g}" if limit is None else f"{limit} = {maximum:g}"
    for where, item in _items(key, value):
        require(_is_number(item) and item <= maximum, where, item, f"at most {bound}")


def between(key: str, value: object, low: float, high: float) -> None:
    """Check that a number, or every number of a non-empty list, lies in ``[low, high]``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.between("momentum", 1.5, 0, 1)
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'momentum' = 1.5: expected a number in [0, 1]
    """
    for where, item in _items(key, value):
        ok = _is_number(item) and low <= item <= high
        require(ok, where, item, f"a number in [{low:g}, {high:g}]")


def non_empty(key: str, value: Iterable[Any]) -> None:
    """Check that a list has at least one item.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.non_empty("thresholds", [])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'thresholds' = []: expected a non-empty list
    """
    require(len(list(value)) > 0, key, value, "a non-empty list")


def distinct(key: str, value: list[Any]) -> None:
    """Check that a non-empty list holds no value twice (its items key the results).

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.distinct("scales", [0.5, 1.0, 0.5])
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'scales' = [0.5, 1.0, 0.5]: expected distinct values
    """
    non_empty(key, value)
    require(len(set(value)) == len(value), key, value, "distinct values")


def increasing(key: str, value: list[Any], count: int, expected: str) -> None:
    """Check that a list holds exactly ``count`` numbers in strictly increasing order.

    ``expected`` says what they are, for the message.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.increasing("scales", [0.5, 1.0, 2.0], 3, "three increasing scales")
    >>> gw.experiments.increasing("scales", [1.0, 0.5, 2.0], 3, "three increasing scales")
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'scales' = [1.0, 0.5, 2.0]: expected three \
increasing scales
    """
    in_order = all(a < b for a, b in itertools.pairwise(value))
    require(len(value) == count and in_order, key, value, expected)


def activation(key: str, value: object) -> None:
    """Check that a name, or every name of a non-empty list, is a known activation.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.activation("activation", "foo")
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: setting 'activation' = 'foo': expected one of: ...
    """
    known = activations.names()
    for where, item in _items(key, value):
        require(item in known, where, item, f"one of: {', '.join(known)}")


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
_PLURALS = {int: "integers", float: "numbers", str: "strings", bool: "true or false values"}


def _type_name(expected: Any) -> str:
    """Return what a setting of type ``expected`` must be, in words: "an integer", ...

    Examples
    --------
    >>> _type_name(int), _type_name(list[float]), _type_name(int | str)
    ('an integer', 'a list of numbers', 'an integer or a string')
    """
    if typing.get_origin(expected) is list:
        (item,) = typing.get_args(expected)
        return f"a list of {_PLURALS.get(item, str(item))}"
    if isinstance(expected, types.UnionType):
        return " or ".join(_type_name(option) for option in typing.get_args(expected))
    return _TYPE_NAMES.get(expected, str(expected))


def _convert(value: Any, expected: Any, where: str) -> Any:
    """``value`` as type ``expected`` (ints widen to floats), or a TypeError naming ``where``."""
    if typing.get_origin(expected) is list:
        (item,) = typing.get_args(expected)
        if not isinstance(value, list):
            raise TypeError(f"setting {where!r} = {value!r}: expected {_type_name(expected)}")
        return [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(expected, types.UnionType):
        for option in typing.get_args(expected):
            try:
                return _convert(value, option, where)
            except TypeError:
                continue
        raise TypeError(f"setting {where!r} = {value!r}: expected {_type_name(expected)}")
    if expected is float and _is_number(value):
        return float(value)
    if expected is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if expected in (str, bool) and isinstance(value, expected):
        return value
    if expected not in (int, float, str, bool):
        raise TypeError(f"unsupported type {expected!r} for setting {where!r}")
    raise TypeError(f"setting {where!r} = {value!r}: expected {_type_name(expected)}")


def make_settings(cls: type[_SettingsT], raw: Mapping[str, Any], source: str) -> _SettingsT:
    """Build a ``Settings`` dataclass from a table of a file, checking keys, types and ranges.

    Parameters
    ----------
    cls : type
        A dataclass whose fields are annotated ``int``, ``float``, ``str``, ``bool`` or
        ``list[...]`` of those; its ``__post_init__`` checks the ranges.
    raw : mapping
        The ``[settings]`` table.
    source : str
        Where the table comes from (a file's path), put in front of every error.

    Returns
    -------
    Settings
        An instance of ``cls``; a key missing from ``raw`` takes the field's default.

    Raises
    ------
    ValueError
        For an unknown key, a missing key without a default, or a value out of range
        (:class:`SettingError`).
    TypeError
        For a value of the wrong type.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> import gradwatch as gw
    >>> @dataclass(frozen=True)
    ... class Settings:
    ...     steps: int
    ...     lr: float = 0.1
    ...     def __post_init__(self):
    ...         gw.experiments.positive("steps", self.steps)
    >>> gw.experiments.make_settings(Settings, {"steps": 3, "lr": 1}, "demo.toml")
    Settings(steps=3, lr=1.0)
    >>> gw.experiments.make_settings(Settings, {"steps": 0}, "demo.toml")
    Traceback (most recent call last):
    ...
    gradwatch.experiments.SettingError: demo.toml: setting 'steps' = 0: expected a positive number
    >>> gw.experiments.make_settings(Settings, {"step": 3}, "demo.toml")
    Traceback (most recent call last):
    ...
    ValueError: demo.toml: unknown setting 'step'; expected one of: steps, lr
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    unknown = [key for key in raw if key not in fields]
    if unknown:
        raise ValueError(
            f"{source}: unknown setting {unknown[0]!r}; expected one of: {', '.join(fields)}"
        )
    checked: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in raw:
            no_default = spec.default is dataclasses.MISSING
            if no_default and spec.default_factory is dataclasses.MISSING:
                expected = _type_name(hints[name])
                raise ValueError(f"{source}: missing setting {name!r} (expected {expected})")
            continue
        try:
            checked[name] = _convert(raw[name], hints[name], name)
        except TypeError as error:
            raise TypeError(f"{source}: {error}") from None
    try:
        return cls(**checked)
    except SettingError as error:
        raise error.with_source(source) from None


# ---------------------------------------------------------------------------------------------
# Finding and loading the settings files.
# ---------------------------------------------------------------------------------------------


def names() -> list[str]:
    """Names of the experiments: the modules of this package, sorted.

    Examples
    --------
    >>> import gradwatch as gw
    >>> "rnn" in gw.experiments.names()
    True
    """
    return sorted(
        info.name for info in pkgutil.iter_modules([str(_PACKAGE)]) if not info.name.startswith("_")
    )


def module(name: str) -> _ExperimentModule:
    """Return the module of the experiment ``name``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.module("rnn").__name__
    'gradwatch.experiments.rnn'
    """
    if name not in names():
        raise ValueError(
            f"no experiment named {name!r}; a settings file is named after its experiment, "
            f"one of: {', '.join(names())}"
        )
    return typing.cast("_ExperimentModule", importlib.import_module(f"{__name__}.{name}"))


def _is_project_root(folder: Path) -> bool:
    """Tell whether ``folder`` holds this project's ``pyproject.toml`` and a ``conf/`` folder."""
    pyproject = folder / "pyproject.toml"
    if not (pyproject.is_file() and (folder / "conf").is_dir()):
        return False
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return bool(data.get("project", {}).get("name") == "gradwatch")


def conf_dir() -> Path:
    """Folder of the settings files that bare names are looked up in.

    In order: ``$GRADWATCH_CONF_DIR`` if set; the ``conf/`` of this project's checkout when the
    current directory is inside it (the checkout is recognised by its ``pyproject.toml``, so a
    ``conf/`` folder of some other project above the current directory is never taken); the copy
    installed with the package; the ``conf/`` of the checkout the package was installed from in
    editable mode.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.conf_dir().name
    'conf'
    """
    env = os.environ.get("GRADWATCH_CONF_DIR")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if _is_project_root(folder):
            return folder / "conf"
    installed = _PACKAGE.parent / "conf"
    if installed.is_dir():
        return installed
    checkout = _PACKAGE.parents[2]
    if _is_project_root(checkout):
        return checkout / "conf"
    return installed


def conf_names(folder: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the settings files in ``folder`` (default :func:`conf_dir`), sorted.

    Examples
    --------
    >>> import gradwatch as gw
    >>> "clipping" in gw.experiments.conf_names()
    True
    """
    path = conf_dir() if folder is None else Path(folder)
    return sorted(p.stem for p in path.glob("*.toml")) if path.is_dir() else []


@dataclass(frozen=True)
class Experiment:
    """One settings file, read and checked by :func:`load`.

    Attributes
    ----------
    name : str
        The experiment, e.g. ``"clipping"`` (the file's stem).
    path : pathlib.Path
    title, description : str
    settings : Settings
        An instance of the experiment module's ``Settings``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> experiment = gw.experiments.load("clipping")
    >>> experiment.module.__name__, experiment.settings_dict()["steps"] > 0
    ('gradwatch.experiments.clipping', True)
    """

    name: str
    path: Path
    title: str
    description: str
    settings: Any

    @property
    def module(self) -> _ExperimentModule:
        """The experiment's module, ``gradwatch.experiments.<name>``."""
        return module(self.name)

    def settings_dict(self) -> dict[str, Any]:
        """Return the settings as a plain dict, as ``numbers.json`` records them."""
        return dataclasses.asdict(self.settings)


def _resolve(target: str | os.PathLike[str], folder: str | os.PathLike[str] | None) -> Path:
    text = os.fspath(target)
    path = Path(text)
    if path.suffix == ".toml" or path.parent != Path():
        return path
    base = conf_dir() if folder is None else Path(folder)
    candidate = base / f"{text}.toml"
    if not candidate.exists():
        available = ", ".join(conf_names(base)) or "none"
        raise FileNotFoundError(f"no experiment named {text!r} in {base}; available: {available}")
    return candidate


def load(
    target: str | os.PathLike[str], *, conf_dir: str | os.PathLike[str] | None = None
) -> Experiment:
    """Read and check one settings file.

    Parameters
    ----------
    target : str or path
        A path to a ``.toml`` file, or a bare name looked up in ``conf_dir`` (``"rnn"`` for
        ``conf/rnn.toml``). A file's stem names its experiment module.
    conf_dir : str or path, optional
        Where bare names are looked up; default :func:`conf_dir`.

    Returns
    -------
    Experiment

    Raises
    ------
    FileNotFoundError
        If there is no such file (the message lists the available names).
    ValueError
        For a directory, a file that is not UTF-8 or not TOML, an unknown table, an unknown
        experiment, and an unknown, missing or out-of-range setting (naming file and key).
    TypeError
        For a setting of the wrong type.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.load("no_such_experiment")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no experiment named 'no_such_experiment' in ...
    """
    path = _resolve(target, conf_dir)
    if path.is_dir():
        raise ValueError(f"{path}: is a directory; expected a .toml settings file")
    if not path.is_file():
        raise FileNotFoundError(f"no experiment file {str(path)!r} (looked for {path.resolve()})")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None
    extra = sorted(set(data) - {"experiment", "settings"})
    if extra:
        raise ValueError(
            f"{path}: unknown table {extra[0]!r}; expected [experiment] and [settings]"
        )
    header = data.get("experiment", {})
    if not isinstance(header, dict):
        raise ValueError(f"{path}: [experiment] must be a table with title and description")
    unknown = sorted(set(header) - {"title", "description"})
    if unknown:
        raise ValueError(
            f"{path}: unknown key {unknown[0]!r} in [experiment]; expected title, description"
        )
    for key in ("title", "description"):
        if not isinstance(header.get(key, ""), str):
            raise TypeError(f"{path}: [experiment] {key} must be a string")
    raw = data.get("settings", {})
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: [settings] must be a table")
    try:
        experiment_module = module(path.stem)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    settings = make_settings(experiment_module.Settings, raw, str(path))
    return Experiment(
        name=path.stem,
        path=path,
        title=header.get("title", path.stem),
        description=header.get("description", ""),
        settings=settings,
    )


def run(
    experiment: Experiment | str | os.PathLike[str],
    progress: Progress = no_progress,
    *,
    figures: bool = True,
) -> Result:
    """Run an experiment and return its numbers and (unless ``figures=False``) its figures.

    Parameters
    ----------
    experiment : Experiment, str or path
        An :class:`Experiment` or what :func:`load` accepts.
    progress : callable, default :func:`no_progress`
        Called as ``progress(label, done, total)`` as the run advances.
    figures : bool, default True
        Draw the figures (needs matplotlib); ``False`` gives the numbers alone.

    Returns
    -------
    Result

    Examples
    --------
    >>> import gradwatch as gw
    >>> result = gw.experiments.run("background", figures=False)
    >>> result.figures, result.numbers["max_stable_lr"] > 0
    ({}, True)
    """
    if not isinstance(experiment, Experiment):
        experiment = load(experiment)
    return experiment.module.run(experiment.settings, progress, figures=figures)


# ---------------------------------------------------------------------------------------------
# The pages: glue the numbers an experiment's ``summarise`` returns.
# ---------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Turn a NumPy scalar or 0-d array into a Python number; leave anything else."""
    if getattr(value, "shape", None) == () and hasattr(value, "item"):
        return value.item()
    return value


def flatten(numbers: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """Nested dicts of numbers as one dict keyed ``prefix.key.subkey``.

    Numpy scalars become Python numbers; lists stay lists.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.flatten({"a": 1, "b": {"c": 2.5}}, "demo")
    {'demo.a': 1, 'demo.b.c': 2.5}
    """
    flat: dict[str, Any] = {}
    for key, value in numbers.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name))
        else:
            flat[name] = _plain(value)
    return flat


def glue(prefix: str, numbers: Mapping[str, Any]) -> dict[str, Any]:
    """Glue every number of ``numbers`` into the page (myst-nb), as ``prefix.key``.

    A page writes ``{glue:text}`clipping.sweep_best:g``` for ``numbers["sweep_best"]`` of the
    clipping experiment; strings are glued as Markdown for ``{glue:md}``. The command line
    writes the same numbers to ``numbers.json``, and a test checks the two agree.

    Parameters
    ----------
    prefix : str
        The experiment's name.
    numbers : mapping
        What the experiment's ``summarise`` returned.

    Returns
    -------
    dict
        The glued values by name (see :func:`flatten`).

    Examples
    --------
    In a page, a notebook that myst-nb executes (outside one, glue has nowhere to go):

    >>> gw.experiments.glue("clipping", numbers)  # doctest: +SKIP
    {'clipping.theta': 10.0, ...}
    """
    from IPython.display import Markdown
    from myst_nb import glue as myst_glue

    flat = flatten(numbers, prefix)
    for name, value in flat.items():
        myst_glue(name, Markdown(value) if isinstance(value, str) else value, display=False)
    return flat
