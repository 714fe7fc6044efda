"""Experiments: settings read from ``conf/*.toml``, checked, and run.

Each file in ``conf/`` describes one experiment::

    [experiment]
    kind = "linear_depth"          # which runner, see kinds()
    title = "Gradient norm against depth in a linear network"
    description = "..."

    [settings]                     # checked against the kind's schema
    depths = [1, 2, 4, 8, 16, 32]
    width = 128
    seed = 0

The pages of the site and the command line (``python -m gradwatch run conf/NAME.toml``) read the
same files, so a reader can change a number, rebuild, and see what follows. :func:`load` gives
a clear error for a missing file, a missing or unknown key and a value of the wrong type.

A kind is registered with :func:`register`: a schema (key to type) and a runner that takes the
settings and returns a :class:`Result` of numbers (JSON-ready) and matplotlib figures.

Examples
--------
>>> import gradwatch as gw
>>> schema = {"depths": list[int], "scale": float, "seed": int}
>>> settings = gw.experiments.check_settings(
...     {"depths": [1, 2], "scale": 1, "seed": 0}, schema, source="example")
>>> settings
{'depths': [1, 2], 'scale': 1.0, 'seed': 0}
>>> gw.experiments.check_settings({"depth": [1]}, schema, source="example")
Traceback (most recent call last):
...
ValueError: example: unknown setting 'depth'; expected one of: depths, scale, seed
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Experiment",
    "Result",
    "check_settings",
    "conf_dir",
    "kinds",
    "list_experiments",
    "load",
    "register",
    "run",
]

Schema = Mapping[str, Any]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Result:
    """What a runner returns.

    Attributes
    ----------
    numbers : dict
        JSON-ready values (floats, ints, strings, lists and dicts of them).
    figures : dict of str to matplotlib.figure.Figure
        Figures by file stem, written as PNG and SVG by the command line.
    """

    numbers: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Kind:
    schema: Schema
    runner: Callable[..., Result]


_KINDS: dict[str, _Kind] = {}


def register(kind: str, schema: Schema) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Register a runner for experiments of ``kind`` with the settings ``schema``.

    Parameters
    ----------
    kind : str
        The value of ``experiment.kind`` in the TOML files.
    schema : mapping of str to type
        Each allowed setting and its type: ``int``, ``float``, ``str``, ``bool``, or
        ``list[...]`` of one of those. Every key is required.

    Returns
    -------
    callable
        A decorator for ``runner(settings, progress=None) -> Result``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> @gw.experiments.register("doc_example", {"n": int})
    ... def run_example(settings, progress=None):
    ...     return gw.experiments.Result(numbers={"square": settings["n"] ** 2})
    >>> "doc_example" in gw.experiments.kinds()
    True
    """

    def decorator(runner: Callable[..., Result]) -> Callable[..., Result]:
        _KINDS[kind] = _Kind(dict(schema), runner)
        return runner

    return decorator


def kinds() -> tuple[str, ...]:
    """Names of the registered experiment kinds.

    Examples
    --------
    >>> import gradwatch as gw
    >>> isinstance(gw.experiments.kinds(), tuple)
    True
    """
    return tuple(sorted(_KINDS))


def _type_name(expected: Any) -> str:
    if typing.get_origin(expected) is list:
        (item,) = typing.get_args(expected)
        return f"a list of {_type_name(item)}"
    return {int: "an int", float: "a number", str: "a string", bool: "true or false"}.get(
        expected, str(expected)
    )


def _convert(value: Any, expected: Any, where: str) -> Any:
    origin = typing.get_origin(expected)
    if origin is list:
        (item,) = typing.get_args(expected)
        if not isinstance(value, list):
            raise TypeError(f"{where} must be {_type_name(expected)}, got {value!r}")
        return [_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    ok: bool
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok:
            return float(value)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif expected in (str, bool):
        ok = isinstance(value, expected)
    elif isinstance(expected, types.UnionType):
        for option in typing.get_args(expected):
            try:
                return _convert(value, option, where)
            except TypeError:
                continue
        ok = False
    else:
        raise TypeError(f"unsupported type {expected!r} in the schema of {where}")
    if not ok:
        raise TypeError(f"{where} must be {_type_name(expected)}, got {value!r}")
    return value


def check_settings(settings: Mapping[str, Any], schema: Schema, source: str) -> dict[str, Any]:
    """Check ``settings`` against ``schema`` and return them with ints widened to floats.

    Parameters
    ----------
    settings : mapping
        The ``[settings]`` table of a file.
    schema : mapping of str to type
    source : str
        Where the settings come from, for the error messages.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        For a missing or an unknown key.
    TypeError
        For a value of the wrong type.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.check_settings({"width": "wide"}, {"width": int}, source="x.toml")
    Traceback (most recent call last):
    ...
    TypeError: x.toml: setting 'width' must be an int, got 'wide'
    """
    unknown = [key for key in settings if key not in schema]
    if unknown:
        raise ValueError(
            f"{source}: unknown setting {unknown[0]!r}; expected one of: {', '.join(schema)}"
        )
    missing = [key for key in schema if key not in settings]
    if missing:
        raise ValueError(f"{source}: missing setting {missing[0]!r} ({_type_name(schema[missing[0]])})")
    checked = {}
    for key, expected in schema.items():
        try:
            checked[key] = _convert(settings[key], expected, f"setting {key!r}")
        except TypeError as error:
            raise TypeError(f"{source}: {error}") from None
    return checked


@dataclass(frozen=True)
class Experiment:
    """One experiment, as read from its TOML file by :func:`load`.

    Attributes
    ----------
    name : str
        The file's stem, e.g. ``"linear_depth"``.
    path : pathlib.Path
    kind : str
    title, description : str
    settings : dict
        Checked against the kind's schema; also readable as ``experiment["key"]``.
    """

    name: str
    path: Path
    kind: str
    title: str
    description: str
    settings: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        try:
            return self.settings[key]
        except KeyError:
            raise KeyError(
                f"{self.name} has no setting {key!r}; it has: {', '.join(self.settings)}"
            ) from None


def conf_dir() -> Path:
    """Directory of the experiment files.

    ``$GRADWATCH_CONF_DIR`` if set; otherwise the nearest ``conf/`` holding TOML files in the
    current directory or one of its parents (so pages in ``docs/`` find the project's
    ``conf/``); otherwise the copy installed with the package.

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
        candidate = folder / "conf"
        if candidate.is_dir() and any(candidate.glob("*.toml")):
            return candidate
    return Path(__file__).parent / "conf"


def list_experiments() -> list[str]:
    """Names of the experiment files in :func:`conf_dir`, sorted.

    Examples
    --------
    >>> import gradwatch as gw
    >>> isinstance(gw.experiments.list_experiments(), list)
    True
    """
    folder = conf_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def _resolve(path_or_name: str | os.PathLike[str]) -> Path:
    text = os.fspath(path_or_name)
    path = Path(text)
    if path.suffix == ".toml" or path.parent != Path():
        if not path.is_file():
            raise FileNotFoundError(f"no experiment file {text!r} (looked for {path.resolve()})")
        return path
    candidate = conf_dir() / f"{text}.toml"
    if not candidate.is_file():
        available = ", ".join(list_experiments()) or "none"
        raise FileNotFoundError(
            f"no experiment named {text!r} in {conf_dir()}; available: {available}"
        )
    return candidate


def load(path_or_name: str | os.PathLike[str]) -> Experiment:
    """Read and check one experiment file.

    Parameters
    ----------
    path_or_name : str or path
        A path to a ``.toml`` file, or the name of a file in :func:`conf_dir` (``"rnn"`` for
        ``conf/rnn.toml``).

    Returns
    -------
    Experiment

    Raises
    ------
    FileNotFoundError
        If there is no such file (the message lists the available names).
    ValueError
        For invalid TOML, an unknown kind, or a missing or unknown key.
    TypeError
        For a value of the wrong type.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.load("no_such_experiment")
    Traceback (most recent call last):
    ...
    FileNotFoundError: no experiment named 'no_such_experiment' in ...
    """
    path = _resolve(path_or_name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None
    extra = sorted(set(data) - {"experiment", "settings"})
    if extra:
        raise ValueError(f"{path}: unknown table {extra[0]!r}; expected [experiment] and [settings]")
    header = data.get("experiment")
    if not isinstance(header, dict):
        raise ValueError(f"{path}: missing the [experiment] table with kind, title, description")
    header_schema = {"kind": str, "title": str, "description": str}
    header = check_settings(header, header_schema, f"{path} [experiment]")
    kind = header["kind"]
    if kind not in _KINDS:
        raise ValueError(f"{path}: unknown kind {kind!r}; expected one of: {', '.join(sorted(_KINDS))}")
    raw = data.get("settings", {})
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: [settings] must be a table")
    settings = check_settings(raw, _KINDS[kind].schema, f"{path} [settings]")
    return Experiment(
        name=path.stem,
        path=path,
        kind=kind,
        title=header["title"],
        description=header["description"],
        settings=settings,
    )


def run(experiment: Experiment | str | os.PathLike[str], progress: Progress | None = None) -> Result:
    """Run an experiment and return its numbers and figures.

    Parameters
    ----------
    experiment : Experiment, str or path
        An :class:`Experiment` or what :func:`load` accepts.
    progress : callable, optional
        Called as ``progress(label, done, total)`` as the run advances.

    Returns
    -------
    Result
    """
    if not isinstance(experiment, Experiment):
        experiment = load(experiment)
    return _KINDS[experiment.kind].runner(experiment.settings, progress=progress)



# ---------------------------------------------------------------------------------------------
# Experiment kinds. Each runner imports matplotlib (through gradwatch.plotting) inside itself, so
# that importing gradwatch needs NumPy alone. Add a kind as a block of its own below.
# ---------------------------------------------------------------------------------------------
