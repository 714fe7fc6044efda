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

    Examples
    --------
    >>> import gradwatch as gw
    >>> result = gw.experiments.Result(numbers={"loss": 0.5})
    >>> result.numbers, result.figures
    ({'loss': 0.5}, {})
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
        plural = {int: "ints", float: "numbers", str: "strings", bool: "booleans"}
        return f"a list of {plural.get(item, _type_name(item))}"
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
        raise ValueError(
            f"{source}: missing setting {missing[0]!r} ({_type_name(schema[missing[0]])})"
        )
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

    Examples
    --------
    >>> from pathlib import Path
    >>> import gradwatch as gw
    >>> experiment = gw.experiments.Experiment(
    ...     name="demo", path=Path("demo.toml"), kind="demo", title="Demo",
    ...     description="A demonstration.", settings={"n": 3})
    >>> experiment["n"]
    3
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
        raise ValueError(
            f"{path}: unknown table {extra[0]!r}; expected [experiment] and [settings]"
        )
    header = data.get("experiment")
    if not isinstance(header, dict):
        raise ValueError(f"{path}: missing the [experiment] table with kind, title, description")
    header_schema = {"kind": str, "title": str, "description": str}
    header = check_settings(header, header_schema, f"{path} [experiment]")
    kind = header["kind"]
    if kind not in _KINDS:
        raise ValueError(
            f"{path}: unknown kind {kind!r}; expected one of: {', '.join(sorted(_KINDS))}"
        )
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


def run(
    experiment: Experiment | str | os.PathLike[str], progress: Progress | None = None
) -> Result:
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

    Examples
    --------
    >>> from pathlib import Path
    >>> import gradwatch as gw
    >>> @gw.experiments.register("doc_square", {"n": int})
    ... def square(settings, progress=None):
    ...     return gw.experiments.Result(numbers={"square": settings["n"] ** 2})
    >>> experiment = gw.experiments.Experiment(
    ...     name="demo", path=Path("demo.toml"), kind="doc_square", title="Demo",
    ...     description="Squares n.", settings={"n": 3})
    >>> gw.experiments.run(experiment).numbers
    {'square': 9}
    """
    if not isinstance(experiment, Experiment):
        experiment = load(experiment)
    return _KINDS[experiment.kind].runner(experiment.settings, progress=progress)


# ---------------------------------------------------------------------------------------------
# Experiment kinds. Each runner imports matplotlib (through gradwatch.plotting) inside itself, so
# that importing gradwatch needs NumPy alone. Add a kind as a block of its own below.
# ---------------------------------------------------------------------------------------------

# --- Pages: The mathematics of vanishing gradients (docs/vanishing_math.md), kind "linear_depth";
# The mathematics of exploding gradients (docs/exploding_math.md), kind "relu_scale". ---


def _first_below(ratios: Any, threshold: float) -> int:
    """First depth at which ``ratios`` is below ``threshold``, or -1 if it never is."""
    below = [d for d, r in enumerate(ratios) if r < threshold]
    return below[0] if below else -1


@register(
    "linear_depth",
    schema={
        "depth": int,
        "width": int,
        "scales": list[float],
        "seeds": list[int],
        "n_samples": int,
        "repeated_matrix": list[list[float]],
        "repeated_steps": int,
        "sigmoid_depth": int,
        "sigmoid_width": int,
        "sigmoid_scale": float,
        "sigmoid_seed": int,
        "threshold": float,
    },
)
def run_linear_depth(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Gradient norm against depth in linear networks, and the sigmoid bound (vanishing_math)."""
    import numpy as np

    from gradwatch import plotting, theory

    depth, width, seeds = settings["depth"], settings["width"], settings["seeds"]
    scales = settings["scales"]
    total = len(scales) + 1
    measured, predicted, factors = {}, {}, {}
    for i, s in enumerate(scales):
        label = f"s = {s:g}"
        measured[label] = theory.measured_gradient_norms(
            depth, width, s, "identity", seeds=seeds, n_samples=settings["n_samples"]
        )
        predicted[label] = theory.linear_gradient_norms(depth, s)
        factors[label] = theory.fit_per_layer_factor(measured[label])
        if progress is not None:
            progress("linear networks", i + 1, total)
    A = np.asarray(settings["repeated_matrix"], dtype=np.float64)
    powers = [
        float(np.linalg.norm(np.linalg.matrix_power(A, k), 2))
        for k in range(1, 1 + settings["repeated_steps"])
    ]
    net = theory.random_mlp(
        settings["sigmoid_width"],
        settings["sigmoid_depth"],
        "sigmoid",
        sigma_w=settings["sigmoid_scale"],
        seed=settings["sigmoid_seed"],
    )
    sigmoid = theory.depth_profile(net, settings["n_samples"], seed=settings["sigmoid_seed"])
    bound = theory.gradient_norm_bound([layer.W for layer in net.layers], max_slope=0.25)
    if progress is not None:
        progress("sigmoid network", total, total)
    threshold = settings["threshold"]
    linear_fig = plotting.norms_against_depth(
        measured, predicted, title=f"Linear networks, width {width}"
    )
    sigmoid_fig = plotting.norms_against_depth(
        {"sigmoid network": sigmoid},
        {"sigmoid network": bound},
        theory_label="upper bound",
        threshold=threshold,
        threshold_label=f"{threshold:g}",
        title=f"Sigmoid network, width {settings['sigmoid_width']}",
    )
    numbers = {
        "linear_measured": {k: v.tolist() for k, v in measured.items()},
        "linear_per_layer_factor": factors,
        "repeated_matrix_spectral_radius": float(max(abs(np.linalg.eigvals(A)))),
        "repeated_matrix_power_norms": powers,
        "sigmoid_measured": sigmoid.tolist(),
        "sigmoid_bound": bound.tolist(),
        "sigmoid_depth_below_threshold": _first_below(sigmoid, threshold),
        "sigmoid_bound_depth_below_threshold": _first_below(bound, threshold),
    }
    figures = {"linear_depth": linear_fig, "sigmoid_bound": sigmoid_fig}
    return Result(numbers=numbers, figures=figures)


@register(
    "relu_scale",
    schema={
        "depth": int,
        "width": int,
        "scales": list[float],
        "seeds": list[int],
        "n_samples": int,
        "clip_threshold": float,
        "orthogonal_gain": float,
        "learning_rate": float,
    },
)
def run_relu_scale(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Deep ReLU networks at several weight scales, and clipping by global norm (exploding_math)."""
    import numpy as np

    from gradwatch import clip, optim, plotting, theory

    depth, width, seeds = settings["depth"], settings["width"], settings["seeds"]
    scales = settings["scales"]
    gain = settings["orthogonal_gain"]
    orthogonal_net = theory.random_mlp(
        width, depth, "identity", sigma_w=gain, seed=seeds[0], weights="orthogonal"
    )
    growth = theory.depth_profile(orthogonal_net, settings["n_samples"], seed=seeds[0])
    linear_high = theory.measured_gradient_norms(
        depth, width, max(scales), "identity", seeds=seeds, n_samples=settings["n_samples"]
    )
    measured, predicted, factors = {}, {}, {}
    for i, s in enumerate(scales):
        label = f"s = {s:.3g}"
        measured[label] = theory.measured_gradient_norms(
            depth, width, s, "relu", seeds=seeds, n_samples=settings["n_samples"]
        )
        predicted[label] = theory.relu_gradient_norms(depth, s)
        factors[label] = theory.fit_per_layer_factor(measured[label]) ** 2
        if progress is not None:
            progress("ReLU networks", i + 1, len(scales) + 1)
    net = theory.random_mlp(width, depth, "relu", sigma_w=max(scales), seed=seeds[0])
    rng = np.random.default_rng(seeds[0])
    x = rng.standard_normal((settings["n_samples"], width))
    y = rng.standard_normal((settings["n_samples"], width))
    _, grads = net.loss_and_grads(x, y, loss="mse")
    clipped, G = clip.clip_by_global_norm(grads, settings["clip_threshold"])
    flat = np.concatenate([g.ravel() for g in grads])
    flat_clipped = np.concatenate([g.ravel() for g in clipped])
    cosine = float(flat @ flat_clipped / (np.linalg.norm(flat) * np.linalg.norm(flat_clipped)))
    params = net.params()
    before = [p.copy() for p in params]
    optim.SGD(lr=settings["learning_rate"]).step(params, clipped)
    step_length = clip.global_norm([p - b for p, b in zip(params, before, strict=True)])
    _, grads_next = net.loss_and_grads(x, y, loss="mse")
    G_next = clip.global_norm(grads_next)
    if progress is not None:
        progress("clipping", len(scales) + 1, len(scales) + 1)
    fig = plotting.norms_against_depth(measured, predicted, title=f"ReLU networks, width {width}")
    numbers = {
        "relu_measured": {k: v.tolist() for k, v in measured.items()},
        "relu_squared_factor_measured": factors,
        "relu_squared_factor_theory": {f"s = {s:.3g}": s * s / 2 for s in scales},
        "clip_norm_before": G,
        "clip_norm_after": clip.global_norm(clipped),
        "clip_cosine": cosine,
        "clip_step_length": step_length,
        "clip_norm_after_step": G_next,
        "orthogonal_growth": float(growth[-1]),
        "linear_same_weights_growth": float(linear_high[-1]),
    }
    return Result(numbers=numbers, figures={"relu_scale": fig})


# --- Page: Gradient clipping in practice (docs/clipping.md), kind "clipping". ---

if typing.TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from gradwatch.network import MLP
    from gradwatch.training import History

__all__ += [
    "clip_threshold_sweep",
    "clipping_problem",
    "clipping_run",
    "compare_clipping_methods",
    "update_angle",
]

#: The settings of the clipping page (``conf/clipping.toml``).
CLIPPING_SCHEMA: dict[str, Any] = {
    "sizes": list[int],
    "activation": str,
    "init_std": float,
    "n_samples": int,
    "lr": float,
    "steps": int,
    "seed": int,
    "max_norm": float,
    "thresholds": list[float],
    "clip_value": float,
    "adaptive_clipping": float,
    "geometry_gradient": list[float],
    "geometry_max_norm": float,
    "geometry_clip_value": float,
}

#: The clipping methods of :func:`clipping_run`, with the meaning of their ``threshold``.
CLIP_METHODS = {
    "none": "no clipping",
    "global_norm": "clip_by_global_norm, threshold = max_norm",
    "value": "clip_by_value, threshold = clip_value",
    "adaptive": "adaptive_clip, threshold = clipping (ratio to the weights' norm)",
}


def clipping_problem(settings: Mapping[str, Any]) -> tuple[MLP, np.ndarray, np.ndarray]:
    r"""Build the regression problem of the clipping page: a fresh network and its data.

    The inputs are standard normal, ``x`` of shape ``(n_samples, sizes[0])``, and the target is
    :math:`y = \sin x_1 + x_2 x_3 / 2` (so ``sizes[0]`` must be at least 3). The network is an
    :class:`~gradwatch.MLP` with widths ``sizes``, hidden activation ``activation`` and weights
    drawn from :math:`\mathcal N(0, \text{init\_std}^2)`: too large for its depth, so its first
    gradients are large. The same settings give the same network and data at every call.

    Parameters
    ----------
    settings : mapping
        At least ``sizes``, ``activation``, ``init_std``, ``n_samples`` and ``seed``.

    Returns
    -------
    net : MLP
    x : ndarray, shape (n_samples, sizes[0])
    y : ndarray, shape (n_samples, 1)

    Raises
    ------
    ValueError
        If ``sizes`` has fewer than 3 inputs or more than 1 output.

    Examples
    --------
    >>> import gradwatch as gw
    >>> settings = {"sizes": [4, 8, 1], "activation": "relu", "init_std": 0.5,
    ...             "n_samples": 16, "seed": 0}
    >>> net, x, y = gw.experiments.clipping_problem(settings)
    >>> net.sizes, x.shape, y.shape
    ([4, 8, 1], (16, 4), (16, 1))
    """
    import numpy as np

    from gradwatch import init
    from gradwatch.network import MLP

    sizes = list(settings["sizes"])
    if len(sizes) < 2 or sizes[0] < 3 or sizes[-1] != 1:
        raise ValueError(
            f"sizes must start with at least 3 inputs and end with 1 output, got {sizes}"
        )
    rng = np.random.default_rng(settings["seed"])
    x = rng.normal(size=(settings["n_samples"], sizes[0]))
    y = np.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]
    net = MLP(
        sizes,
        activation=settings["activation"],
        init=init.get("normal", std=settings["init_std"]),
        seed=settings["seed"],
    )
    return net, x, y


def clipping_run(
    settings: Mapping[str, Any], method: str = "none", threshold: float = float("inf")
) -> History:
    """Train the network of :func:`clipping_problem` with plain SGD and one clipping method.

    Parameters
    ----------
    settings : mapping
        The settings of :func:`clipping_problem`, plus ``lr`` and ``steps``.
    method : {"none", "global_norm", "value", "adaptive"}
        :func:`~gradwatch.clip.clip_by_global_norm`, :func:`~gradwatch.clip.clip_by_value` or
        :func:`~gradwatch.clip.adaptive_clip`, or none.
    threshold : float, default inf
        ``max_norm``, ``clip_value`` or ``clipping`` of that function (unused for "none").

    Returns
    -------
    History
        ``diverged`` is True if the loss overflowed; the run then stopped there.

    Raises
    ------
    ValueError
        For an unknown ``method``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> settings = {"sizes": [4, 8, 1], "activation": "relu", "init_std": 0.5,
    ...             "n_samples": 16, "seed": 0, "lr": 0.05, "steps": 20}
    >>> history = gw.experiments.clipping_run(settings, "global_norm", 1.0)
    >>> history.steps, bool(history.clipped[0]), bool(history.loss[-1] < history.loss[0])
    (20, True, True)
    """
    import functools

    from gradwatch import clip, optim
    from gradwatch.training import train

    if method not in CLIP_METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of: {', '.join(CLIP_METHODS)}")
    net, x, y = clipping_problem(settings)
    clip_function = {
        "none": None,
        "global_norm": functools.partial(clip.clip_by_global_norm, max_norm=threshold),
        "value": functools.partial(clip.clip_by_value, clip_value=threshold),
        "adaptive": functools.partial(clip.adaptive_clip, net.params(), clipping=threshold),
    }[method]
    return train(
        net,
        x,
        y,
        optimizer=optim.SGD(lr=settings["lr"]),
        steps=settings["steps"],
        clip=clip_function,
        seed=settings["seed"],
    )


def clip_threshold_sweep(
    settings: Mapping[str, Any], progress: Progress | None = None
) -> dict[float, History]:
    """Train once per threshold in ``settings["thresholds"]``, clipping by global norm.

    Parameters
    ----------
    settings : mapping
        The settings of :func:`clipping_run`, plus ``thresholds``.
    progress : callable, optional
        Called as ``progress("threshold sweep", done, total)`` after each run.

    Returns
    -------
    dict of float to History
        One run per threshold, in the order given.

    Examples
    --------
    >>> import gradwatch as gw
    >>> settings = {"sizes": [4, 8, 1], "activation": "relu", "init_std": 0.5,
    ...             "n_samples": 16, "seed": 0, "lr": 0.05, "steps": 20,
    ...             "thresholds": [0.01, 1.0]}
    >>> sweep = gw.experiments.clip_threshold_sweep(settings)
    >>> list(sweep), bool(sweep[0.01].loss[-1] > sweep[1.0].loss[-1])
    ([0.01, 1.0], True)
    """
    sweep = {}
    thresholds = settings["thresholds"]
    for i, theta in enumerate(thresholds):
        sweep[theta] = clipping_run(settings, "global_norm", theta)
        if progress is not None:
            progress("threshold sweep", i + 1, len(thresholds))
    return sweep


def compare_clipping_methods(settings: Mapping[str, Any]) -> dict[str, History]:
    """Train the same network, data and seed with each clipping method of the settings.

    Parameters
    ----------
    settings : mapping
        The settings of :func:`clipping_run`, plus ``max_norm``, ``clip_value`` and
        ``adaptive_clipping``.

    Returns
    -------
    dict of str to History
        Keys ``"global_norm"``, ``"value"`` and ``"adaptive"``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> settings = {"sizes": [4, 8, 1], "activation": "relu", "init_std": 0.5,
    ...             "n_samples": 16, "seed": 0, "lr": 0.05, "steps": 5,
    ...             "max_norm": 1.0, "clip_value": 0.1, "adaptive_clipping": 0.05}
    >>> runs = gw.experiments.compare_clipping_methods(settings)
    >>> {name: run.steps for name, run in runs.items()}
    {'global_norm': 5, 'value': 5, 'adaptive': 5}
    """
    thresholds = {
        "global_norm": settings["max_norm"],
        "value": settings["clip_value"],
        "adaptive": settings["adaptive_clipping"],
    }
    return {method: clipping_run(settings, method, t) for method, t in thresholds.items()}


def update_angle(before: Sequence[np.ndarray], after: Sequence[np.ndarray]) -> float:
    r"""Angle in degrees between two lists of arrays, each seen as one long vector.

    .. math::

        \angle(g, g') = \arccos \frac{\langle g, g' \rangle}{\lVert g \rVert\, \lVert g' \rVert},

    computed in the equivalent form :math:`2 \arctan(\lVert u - v \rVert / \lVert u + v \rVert)`
    of the unit vectors :math:`u = g/\lVert g \rVert`, :math:`v = g'/\lVert g' \rVert`, which
    keeps its accuracy for nearly parallel vectors.

    Parameters
    ----------
    before, after : sequence of ndarray
        The same number of arrays, of the same shapes (e.g. a gradient and its clipped version).

    Returns
    -------
    float
        In :math:`[0, 180]`; 0 when one is a positive multiple of the other.

    Raises
    ------
    ValueError
        If the shapes differ or either vector is zero.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> g = [np.array([3.0, 1.0])]
    >>> round(gw.experiments.update_angle(g, [0.5 * g[0]]), 6)
    0.0
    >>> round(gw.experiments.update_angle(g, [np.array([1.0, 1.0])]), 2)
    26.57
    """
    import math

    import numpy as np

    if len(before) != len(after) or any(
        np.shape(a) != np.shape(b) for a, b in zip(before, after, strict=False)
    ):
        raise ValueError("before and after must hold arrays of the same shapes")
    u = np.concatenate([np.ravel(a) for a in before])
    v = np.concatenate([np.ravel(b) for b in after])
    u_norm, v_norm = float(np.linalg.norm(u)), float(np.linalg.norm(v))
    if u_norm == 0.0 or v_norm == 0.0:
        raise ValueError("the angle of a zero vector is undefined: before or after is zero")
    # 2 atan2(|u' - v'|, |u' + v'|) for the unit vectors u', v': accurate near 0 and 180 degrees,
    # where arccos of the cosine loses half its digits.
    u_unit, v_unit = u / u_norm, v / v_norm
    half = math.atan2(
        float(np.linalg.norm(u_unit - v_unit)), float(np.linalg.norm(u_unit + v_unit))
    )
    return math.degrees(2.0 * half)


@register("clipping", schema=CLIPPING_SCHEMA)
def run_clipping(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Geometry, divergence with and without clipping, threshold sweep, methods (clipping)."""
    import numpy as np

    from gradwatch import clip, plotting

    g = [np.asarray(settings["geometry_gradient"], dtype=np.float64)]
    by_norm, _ = clip.clip_by_global_norm(g, settings["geometry_max_norm"])
    by_value = clip.clip_by_value(g, settings["geometry_clip_value"])
    geometry = plotting.clip_geometry(
        g[0], settings["geometry_max_norm"], settings["geometry_clip_value"]
    )
    unclipped = clipping_run(settings, "none")
    clipped = clipping_run(settings, "global_norm", settings["max_norm"])
    if progress is not None:
        progress("divergence", 1, 1)
    sweep = clip_threshold_sweep(settings, progress)
    methods = compare_clipping_methods(settings)
    if progress is not None:
        progress("methods", 1, 1)
    theta = settings["max_norm"]
    divergence = plotting.training_curves(
        {"no clipping": unclipped, f"global norm, θ = {theta:g}": clipped}
    )
    sweep_fig = plotting.clip_sweep(sweep, lr=settings["lr"])
    methods_fig = plotting.training_curves(methods)
    numbers = {
        "geometry_angle_global_norm": update_angle(g, by_norm),
        "geometry_angle_value": update_angle(g, by_value),
        "unclipped_diverged": unclipped.diverged,
        "unclipped_steps": unclipped.steps,
        "clipped_final_loss": float(clipped.loss[-1]),
        "clipped_fraction": float(np.mean(clipped.clipped)),
        "sweep": {
            f"{t:g}": {
                "diverged": h.diverged,
                "final_loss": float(h.loss[-1]),
                "median_grad_norm": float(np.median(h.grad_norm)),
            }
            for t, h in sweep.items()
        },
        "methods_final_loss": {m: float(h.loss[-1]) for m, h in methods.items()},
    }
    return Result(
        numbers=numbers,
        figures={
            "clipping_geometry": geometry,
            "clipping_divergence": divergence,
            "clipping_sweep": sweep_fig,
            "clipping_methods": methods_fig,
        },
    )


# --- Pages: Backpropagation (docs/backpropagation.md), kind "gradcheck_demo";
# Project: a two-layer network from scratch (docs/project_xor.md), kind "xor". ---

if typing.TYPE_CHECKING:
    from gradwatch._validation import Array
    from gradwatch.activations import Activation
    from gradwatch.gradcheck import GradCheckReport

__all__ += [
    "backprop_problem",
    "column_backprop",
    "gradcheck_by_activation",
    "train_xor",
    "xor_data",
    "xor_network",
]

#: The settings of the backpropagation page (``conf/backpropagation.toml``).
GRADCHECK_DEMO_SCHEMA: dict[str, Any] = {
    "sizes": list[int],
    "activation": str,
    "activations": list[str],
    "n_samples": int,
    "seed": int,
    "eps": float,
    "rtol": float,
}

#: The settings of the XOR project page (``conf/project_xor.toml``).
XOR_SCHEMA: dict[str, Any] = {
    "sizes": list[int],
    "activation": str,
    "loss": str,
    "lr": float,
    "steps": int,
    "seed": int,
    "eps": float,
    "rtol": float,
}


def backprop_problem(
    settings: Mapping[str, Any], activation: str | None = None
) -> tuple[MLP, Array, Array]:
    """Build the small regression problem of the backpropagation page: a network and its data.

    Inputs and targets are standard normal, drawn from ``numpy.random.default_rng(seed)``; the
    network is an :class:`~gradwatch.MLP` with widths ``sizes``, the hidden activation
    ``activation`` and a linear output, its weights drawn from the same ``seed``.

    Parameters
    ----------
    settings : mapping
        At least ``sizes``, ``activation``, ``n_samples`` and ``seed``.
    activation : str, optional
        Overrides ``settings["activation"]``.

    Returns
    -------
    net : MLP
    x : ndarray, shape (n_samples, sizes[0])
    y : ndarray, shape (n_samples, sizes[-1])

    Examples
    --------
    >>> import gradwatch as gw
    >>> settings = {"sizes": [2, 3, 1], "activation": "tanh", "n_samples": 2, "seed": 0}
    >>> net, x, y = gw.experiments.backprop_problem(settings)
    >>> net.sizes, x.shape, y.shape
    ([2, 3, 1], (2, 2), (2, 1))
    """
    import numpy as np

    from gradwatch.network import MLP

    sizes = list(settings["sizes"])
    rng = np.random.default_rng(settings["seed"])
    x = rng.normal(size=(settings["n_samples"], sizes[0]))
    y = rng.normal(size=(settings["n_samples"], sizes[-1]))
    name = settings["activation"] if activation is None else activation
    net = MLP(sizes, activation=name, seed=settings["seed"])
    return net, x, y


def column_backprop(net: MLP, x: Array, y: Array, loss: str = "mse") -> list[Array]:
    r"""Gradients of a network from the column-vector equations, one sample at a time.

    A reference implementation of backpropagation written as the textbooks write it. For each
    sample :math:`n` the input is a column :math:`a^{(0)} = x_n` of shape ``(n_in, 1)``, each
    layer's matrix is :math:`W^{(l)}` = ``layer.W.T`` of shape ``(n_out, n_in)``, and

    .. math::

        z^{(l)} = W^{(l)} a^{(l-1)} + b^{(l)}, \qquad a^{(l)} = g^{(l)}(z^{(l)}), \\
        \delta^{(l)} = \frac{\partial J}{\partial a^{(l)}} \odot g'^{(l)}(z^{(l)}), \quad
        \frac{\partial J}{\partial W^{(l)}} = \delta^{(l)} a^{(l-1)\top}, \quad
        \frac{\partial J}{\partial b^{(l)}} = \delta^{(l)}, \quad
        \frac{\partial J}{\partial a^{(l-1)}} = W^{(l)\top} \delta^{(l)} .

    The output gradient of sample :math:`n` is row :math:`n` of the gradient of the mean loss, so
    it carries the factor :math:`1/N`, and the batch gradient is the sum over the samples. The
    result should equal :meth:`MLP.loss_and_grads <gradwatch.MLP.loss_and_grads>` to rounding.

    Parameters
    ----------
    net : MLP
        Its parameters are read, not changed; its forward caches are overwritten.
    x : ndarray, shape (n_samples, n_in)
    y : ndarray
        Targets for the loss.
    loss : str, default "mse"

    Returns
    -------
    list of ndarray
        ``[dW1, db1, dW2, db2, ...]`` in the library's shapes, ``(n_in, n_out)`` and
        ``(n_out,)``, in the order of :meth:`MLP.params <gradwatch.MLP.params>`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 3, 1], activation="tanh", seed=0)
    >>> x, y = np.array([[0.5, -1.0], [2.0, 0.1]]), np.array([[1.0], [0.0]])
    >>> _, grads = net.loss_and_grads(x, y)
    >>> columns = gw.experiments.column_backprop(net, x, y)
    >>> all(np.allclose(g, c) for g, c in zip(grads, columns))
    True
    """
    import numpy as np

    from gradwatch import losses

    x_array = np.asarray(x, dtype=net.dtype)
    _, dy = losses.get(loss).value_and_grad(net.forward(x_array), y)  # (n_samples, n_out)
    grads = [np.zeros_like(p) for p in net.params()]
    for n in range(x_array.shape[0]):
        a = x_array[n].reshape(-1, 1)  # a^(0): (n_in, 1)
        inputs, pre_activations = [], []
        for layer in net.layers:
            W, b = layer.W.T, layer.b.reshape(-1, 1)  # (n_out, n_in), (n_out, 1)
            z = W @ a + b  # (n_out, 1)
            inputs.append(a)
            pre_activations.append(z)
            a = layer.activation(z)
        da = dy[n].reshape(-1, 1)  # dJ/da^(L) of this sample: (n_out, 1)
        for index in reversed(range(len(net.layers))):
            layer = net.layers[index]
            dz = da * layer.activation.derivative(pre_activations[index])  # (n_out, 1)
            dW = dz @ inputs[index].T  # (n_out, n_in)
            grads[2 * index] += dW.T  # stored as (n_in, n_out), like layer.W
            grads[2 * index + 1] += dz[:, 0]
            da = layer.W @ dz  # W^(l)T dz: (n_in, 1)
    return grads


def gradcheck_by_activation(
    settings: Mapping[str, Any], progress: Progress | None = None
) -> dict[str, GradCheckReport]:
    """Check backpropagation against finite differences for each activation of the settings.

    One network and data set per activation, from :func:`backprop_problem`, checked by
    :func:`gradwatch.gradcheck` with the mean squared error.

    Parameters
    ----------
    settings : mapping
        The settings of :func:`backprop_problem`, plus ``activations`` (a list of names),
        ``eps`` and ``rtol``.
    progress : callable, optional
        Called as ``progress("gradcheck", done, total)`` after each activation.

    Returns
    -------
    dict of str to GradCheckReport
        One report per activation, in the order of ``activations``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> settings = {"sizes": [2, 3, 1], "activation": "tanh", "activations": ["tanh", "relu"],
    ...             "n_samples": 2, "seed": 0, "eps": 1e-6, "rtol": 1e-6}
    >>> reports = gw.experiments.gradcheck_by_activation(settings)
    >>> {name: report.passed for name, report in reports.items()}
    {'tanh': True, 'relu': True}
    """
    from gradwatch.gradcheck import gradcheck

    names = list(settings["activations"])
    reports = {}
    for done, name in enumerate(names, start=1):
        net, x, y = backprop_problem(settings, activation=name)
        reports[name] = gradcheck(net, x, y, loss="mse", eps=settings["eps"], rtol=settings["rtol"])
        if progress is not None:
            progress("gradcheck", done, len(names))
    return reports


@register("gradcheck_demo", schema=GRADCHECK_DEMO_SCHEMA)
def run_gradcheck_demo(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Batch against per-sample gradients, and a gradient check per activation (backpropagation)."""
    import numpy as np

    from gradwatch import plotting

    net, x, y = backprop_problem(settings)
    _, grads = net.loss_and_grads(x, y, loss="mse")
    columns = column_backprop(net, x, y, loss="mse")
    difference = max(float(np.max(np.abs(g - c))) for g, c in zip(grads, columns, strict=True))
    reports = gradcheck_by_activation(settings, progress)
    numbers = {
        "batch_vs_columns_max_abs_diff": difference,
        "max_rel_error": {name: r.max_rel_error for name, r in reports.items()},
        "passed": {name: r.passed for name, r in reports.items()},
    }
    figure = plotting.gradcheck_scatter(reports[settings["activation"]])
    return Result(numbers=numbers, figures={"gradcheck_scatter": figure})


def xor_data() -> tuple[Array, Array]:
    """Return the four points of XOR: the target is 1 when exactly one input is 1.

    Returns
    -------
    x : ndarray, shape (4, 2)
        ``[[0, 0], [0, 1], [1, 0], [1, 1]]``, float64.
    y : ndarray, shape (4, 1)
        ``[[0], [1], [1], [0]]``, float64.

    Examples
    --------
    >>> import gradwatch as gw
    >>> x, y = gw.experiments.xor_data()
    >>> x.tolist(), y.ravel().tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0.0, 1.0, 1.0, 0.0])
    """
    import numpy as np

    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    return x, y


def xor_network(settings: Mapping[str, Any], activation: str | Activation | None = None) -> MLP:
    """Build the untrained network of the XOR project: one activation in every layer.

    Parameters
    ----------
    settings : mapping
        At least ``sizes``, ``activation`` and ``seed``.
    activation : str or Activation, optional
        Used in the hidden and the output layers instead of ``settings["activation"]``.

    Returns
    -------
    MLP

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.experiments.xor_network({"sizes": [2, 4, 1], "activation": "sigmoid", "seed": 0})
    MLP([2, 4, 1], activation=Sigmoid(), output_activation=Sigmoid(), dtype=float64)
    """
    from gradwatch.network import MLP

    act = settings["activation"] if activation is None else activation
    return MLP(settings["sizes"], activation=act, output_activation=act, seed=settings["seed"])


def train_xor(
    settings: Mapping[str, Any], activation: str | Activation | None = None
) -> tuple[MLP, History]:
    """Train the network of :func:`xor_network` on :func:`xor_data` with plain gradient descent.

    Every step uses the four points (full batch) and ``SGD(lr)``, for ``steps`` steps.

    Parameters
    ----------
    settings : mapping
        The settings of :func:`xor_network`, plus ``loss``, ``lr`` and ``steps``.
    activation : str or Activation, optional
        Passed to :func:`xor_network`.

    Returns
    -------
    net : MLP
        The trained network.
    history : History
        What :func:`gradwatch.train` recorded.

    Examples
    --------
    >>> import gradwatch as gw
    >>> settings = {"sizes": [2, 4, 1], "activation": "sigmoid", "seed": 0,
    ...             "loss": "mse", "lr": 1.0, "steps": 50}
    >>> net, history = gw.experiments.train_xor(settings)
    >>> history.steps, bool(history.loss[-1] < history.loss[0])
    (50, True)
    """
    from gradwatch import optim
    from gradwatch.training import train

    x, y = xor_data()
    net = xor_network(settings, activation)
    history = train(
        net,
        x,
        y,
        loss=settings["loss"],
        optimizer=optim.SGD(lr=settings["lr"]),
        steps=settings["steps"],
        seed=settings["seed"],
        progress=False,
    )
    return net, history


def _sigmoid_applied_twice() -> Activation:
    """Return the sigmoid with the bug of the XOR page: slope sigma'(a) instead of a(1 - a)."""
    from gradwatch.activations import Sigmoid

    class _SigmoidAppliedTwice(Sigmoid):
        """A deliberately wrong sigmoid: sigma' evaluated at the output a = sigma(z), not at z."""

        def derivative_from_output(self, a: Array) -> Array:
            return super().derivative(a)  # sigma(a)(1 - sigma(a)): the bug; correct is a(1 - a)

    return _SigmoidAppliedTwice()


@register("xor", schema=XOR_SCHEMA)
def run_xor(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """XOR with a correct and a wrong sigmoid derivative, and their gradient checks (XOR page)."""
    from gradwatch import plotting
    from gradwatch.clip import global_norm
    from gradwatch.gradcheck import gradcheck

    x, y = xor_data()
    buggy = _sigmoid_applied_twice()
    net, history = train_xor(settings)
    if progress is not None:
        progress("training", 1, 2)
    buggy_net, buggy_history = train_xor(settings, activation=buggy)
    if progress is not None:
        progress("training", 2, 2)
    tolerances = {"loss": settings["loss"], "eps": settings["eps"], "rtol": settings["rtol"]}
    checks = {
        label: gradcheck(xor_network(settings, act), x, y, **tolerances)
        for label, act in (("correct", None), ("buggy", buggy))
    }
    trained = gradcheck(buggy_net, x, y, **tolerances)  # where the buggy run ended
    numbers = {
        "final_loss": float(history.loss[-1]),
        "buggy_final_loss": float(buggy_history.loss[-1]),
        "predictions": [float(p) for p in net.forward(x).ravel()],
        "buggy_predictions": [float(p) for p in buggy_net.forward(x).ravel()],
        "gradcheck_max_rel_error": {k: r.max_rel_error for k, r in checks.items()},
        "gradcheck_passed": {k: r.passed for k, r in checks.items()},
        "buggy_worst_parameter": checks["buggy"].worst[0],
        "buggy_end_computed_grad_norm": global_norm(list(trained.analytic.values())),
        "buggy_end_true_grad_norm": global_norm(list(trained.numeric.values())),
    }
    figures = {
        "xor_loss_curves": plotting.loss_curve(
            {"correct sigmoid'": history, "sigmoid' applied twice": buggy_history}
        ),
        "xor_decision_boundary": plotting.decision_boundary(
            {"correct sigmoid'": net, "sigmoid' applied twice": buggy_net}, x, y
        ),
    }
    return Result(numbers=numbers, figures=figures)


# --- Pages: Background (docs/background.md), kind "gradient_descent";
# Vanishing and exploding gradients: the concepts (docs/concepts.md), kind "weight_scale_norms". ---


@register(
    "gradient_descent",
    schema={
        "curvatures": list[float],
        "angle": float,
        "start": list[float],
        "learning_rates": list[float],
        "steps": int,
        "tol": float,
    },
)
def run_gradient_descent(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Gradient descent over a quadratic bowl for several learning rates (background)."""
    from gradwatch import landscape, plotting

    bowl = landscape.quadratic(settings["curvatures"], angle=settings["angle"])
    runs = landscape.learning_rate_sweep(
        bowl,
        bowl.grad,
        settings["start"],
        settings["learning_rates"],
        steps=settings["steps"],
        tol=settings["tol"],
    )
    if progress is not None:
        progress("gradient descent", 1, 1)
    fig = plotting.descent_paths(
        bowl, {run.describe(): run.path for run in runs}, minimum=bowl.minimum
    )
    numbers = {
        "eigenvalues": bowl.eigenvalues.tolist(),
        "max_stable_lr": bowl.max_stable_lr,
        "runs": [
            {
                "lr": run.lr,
                "steps_to_tol": run.steps_to_tol,
                "final_loss": run.final_loss,
                "diverged": run.diverged,
            }
            for run in runs
        ],
    }
    return Result(numbers=numbers, figures={"descent_paths": fig})


@register(
    "weight_scale_norms",
    schema={
        "z_min": float,
        "z_max": float,
        "n_points": int,
        "depth": int,
        "width": int,
        "scales": list[float],
        "activation": str,
        "seeds": list[int],
        "n_samples": int,
    },
)
def run_weight_scale_norms(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Activations with their slopes, and gradient norms by layer for several weight scales."""
    import numpy as np

    from gradwatch import activations, plotting, theory

    z = np.linspace(settings["z_min"], settings["z_max"], settings["n_points"])
    sigmoid_slope_max = float(activations.get("sigmoid").derivative(z).max())
    grid = plotting.activation_grid(
        z_min=settings["z_min"], z_max=settings["z_max"], n_points=settings["n_points"]
    )
    scales = settings["scales"]
    profiles = {}
    for i, s in enumerate(scales):
        profiles[f"s = {s:g}"] = theory.measured_gradient_norms(
            settings["depth"],
            settings["width"],
            s,
            settings["activation"],
            seeds=settings["seeds"],
            n_samples=settings["n_samples"],
        )
        if progress is not None:
            progress("weight scales", i + 1, len(scales))
    norms = plotting.norms_against_depth(
        profiles, threshold=1.0, threshold_label="no change", title=f"{settings['activation']}"
    )
    numbers = {
        "sigmoid_slope_max": sigmoid_slope_max,
        "input_to_output_ratio": {label: float(p[-1]) for label, p in profiles.items()},
        "profiles": {label: p.tolist() for label, p in profiles.items()},
    }
    return Result(numbers=numbers, figures={"activations": grid, "weight_scale_norms": norms})


# --- signal_propagation ---


@register(
    "signal_propagation",
    schema={
        "activation": str,
        "map_sigma_w": list[float],
        "map_sigma_b": list[float],
        "map_points": int,
        "sigma_ws": list[float],
        "sigma_b": float,
        "width": int,
        "depth": int,
        "skip": int,
        "seeds": list[int],
        "n_samples": int,
        "tolerance": float,
        "spectrum_width": int,
        "spectrum_depth": int,
        "spectrum_sigma_b": float,
        "spectrum_seed": int,
    },
)
def run_signal_propagation(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Phase diagram of chi_1, theory against measurement, and Jacobian spectra."""
    import numpy as np

    from gradwatch import plotting, theory

    act = settings["activation"]
    w_low, w_high = settings["map_sigma_w"]
    b_low, b_high = settings["map_sigma_b"]
    ws = np.linspace(w_low, w_high, settings["map_points"])
    bs = np.linspace(b_low, b_high, settings["map_points"])
    chi = theory.chi_1_grid(act, ws, bs)
    if progress is not None:
        progress("signal propagation", 1, 3)
    table = theory.chi_1_comparison(
        act,
        settings["sigma_ws"],
        settings["sigma_b"],
        width=settings["width"],
        depth=settings["depth"],
        seeds=settings["seeds"],
        n_samples=settings["n_samples"],
        skip=settings["skip"],
    )
    if progress is not None:
        progress("signal propagation", 2, 3)
    sigma_w_star = theory.critical_sigma_w(act, settings["spectrum_sigma_b"])
    spectra = theory.jacobian_spectra(
        settings["spectrum_width"],
        settings["spectrum_depth"],
        act,
        sigma_w_star,
        settings["spectrum_sigma_b"],
        seed=settings["spectrum_seed"],
    )
    if progress is not None:
        progress("signal propagation", 3, 3)
    depth = settings["depth"]
    measured = {
        f"$\\sigma_w$ = {w:g}": p for w, p in zip(table["sigma_w"], table["profiles"], strict=True)
    }
    predicted = {
        f"$\\sigma_w$ = {w:g}": c ** np.arange(depth, -1, -1.0)
        for w, c in zip(table["sigma_w"], table["predicted"], strict=True)
    }
    numbers = {
        "sigma_w": table["sigma_w"].tolist(),
        "chi_1_predicted": table["predicted"].tolist(),
        "chi_1_measured": table["measured"].tolist(),
        "critical_sigma_w": sigma_w_star,
        "max_over_median": {k: float(v.max() / np.median(v)) for k, v in spectra.items()},
        "share_within_10x": {k: float(np.mean((v > 0.1) & (v < 10))) for k, v in spectra.items()},
    }
    figures = {
        "chi_1_map": plotting.chi_1_map(ws, bs, chi, title=act),
        "theory_vs_measurement": plotting.line_by_layer(
            measured, theory=predicted, ylabel="squared gradient norm / output's"
        ),
        "jacobian_spectra": plotting.spectrum_histograms(spectra),
    }
    return Result(numbers=numbers, figures=figures)


# --- diagnosing ---


@register(
    "diagnosing",
    schema={
        "activation": str,
        "n_in": int,
        "width": int,
        "depth": int,
        "bad_std": float,
        "n_samples": int,
        "lr": float,
        "momentum": float,
        "steps": int,
        "batch_size": int,
        "seed": int,
    },
)
def run_diagnosing(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Health report and training of a badly initialised network and of the same one fixed."""
    from gradwatch import diagnostics, init, plotting

    sizes = [settings["n_in"]] + [settings["width"]] * settings["depth"] + [1]
    inits = {
        f"N(0, {settings['bad_std']:g}²)": init.get("normal", std=settings["bad_std"]),
        "Xavier": "xavier_normal",
    }
    runs = diagnostics.compare_initialisations(
        sizes,
        settings["activation"],
        inits,
        n_samples=settings["n_samples"],
        lr=settings["lr"],
        momentum=settings["momentum"],
        steps=settings["steps"],
        batch_size=settings["batch_size"],
        seed=settings["seed"],
    )
    if progress is not None:
        progress("diagnosing", 1, 1)
    numbers = {
        label: {
            "verdict": run.report.verdict,
            "depth_ratio": run.report.depth_ratio,
            "layer_verdicts": list(run.report.layer_verdicts),
            "loss_first": float(run.history.loss[0]),
            "loss_last": float(run.history.loss[-1]),
            "update_ratio_first_layer": float(run.history.update_ratios[-1, 0]),
        }
        for label, run in runs.items()
    }
    return Result(numbers=numbers, figures={"diagnosis": plotting.diagnosis_grid(runs)})


# --- Pages: Initialisation (docs/initialisation.md), kind "initialisation";
# Exploding gradients in recurrent networks (docs/rnn.md), kind "rnn_gradients". ---


@register(
    "initialisation",
    schema={
        "activations": list[str],
        "naive_std": float,
        "width": int,
        "depth": int,
        "n_samples": int,
        "histogram_layers": list[int],
        "seed": int,
        "train_width": int,
        "train_samples": int,
        "lr": float,
        "momentum": float,
        "steps": int,
        "batch_size": int,
    },
)
def run_initialisation(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Per-layer statistics and training under a naive init, Xavier and He (initialisation)."""
    import numpy as np

    from gradwatch import diagnostics, plotting, theory

    inits = diagnostics.initialisations(settings["naive_std"])
    stats = diagnostics.init_statistics(
        settings["activations"],
        inits,
        width=settings["width"],
        depth=settings["depth"],
        n_samples=settings["n_samples"],
        seed=settings["seed"],
    )
    if progress is not None:
        progress("initialisation", 1, 2)
    runs = diagnostics.init_training(
        settings["activations"],
        inits,
        width=settings["train_width"],
        depth=settings["depth"],
        n_samples=settings["train_samples"],
        lr=settings["lr"],
        momentum=settings["momentum"],
        steps=settings["steps"],
        batch_size=settings["batch_size"],
        seed=settings["seed"],
    )
    if progress is not None:
        progress("initialisation", 2, 2)
    layers = settings["histogram_layers"]
    activation_values = {a: {k: s.activations for k, s in d.items()} for a, d in stats.items()}
    gradient_values = {a: {k: s.gradients for k, s in d.items()} for a, d in stats.items()}
    fig_var, axes = plotting.figure(1, 2, width=10.0, height=4.0)
    plotting.line_by_layer(
        {f"{a}, {k}": s.act_var for a, d in stats.items() for k, s in d.items()},
        ylabel="Var(activations)",
        ax=axes[0],
    )
    plotting.line_by_layer(
        {f"{a}, {k}": s.grad_var for a, d in stats.items() for k, s in d.items()},
        ylabel="Var(backpropagated gradient)",
        ax=axes[1],
    )
    numbers = {
        "act_ratio": {
            f"{a}, {k}": theory.fit_per_layer_factor(s.act_var / s.act_var[0])
            for a, d in stats.items()
            for k, s in d.items()
        },
        "grad_ratio": {
            f"{a}, {k}": theory.fit_per_layer_factor(s.grad_var[::-1] / s.grad_var[-1])
            for a, d in stats.items()
            for k, s in d.items()
        },
        "final_loss": {label: float(h.loss[-1]) for label, h in runs.items()},
        "mean_last_losses": {label: float(np.mean(h.loss[-20:])) for label, h in runs.items()},
    }
    figures = {
        "activation_histograms": plotting.histogram_grid(
            activation_values, layers, xlabel="activation $a$"
        ),
        "gradient_histograms": plotting.histogram_grid(
            gradient_values, layers, xlabel=r"$\partial L/\partial z$", symmetric=True
        ),
        "variances": fig_var,
        "training": plotting.training_curves(runs),
    }
    return Result(numbers=numbers, figures=figures)


@register(
    "rnn_gradients",
    schema={
        "radii": list[float],
        "time_hidden": int,
        "time_steps": int,
        "time_samples": int,
        "time_input_std": float,
        "time_seed": int,
        "cliff_h0": float,
        "cliff_target": float,
        "cliff_steps": int,
        "cliff_start": list[float],
        "cliff_lr": float,
        "cliff_descent_steps": int,
        "cliff_max_norm": float,
        "cliff_extent": list[float],
        "train_hidden": int,
        "train_steps_in_time": int,
        "train_samples": int,
        "train_radius": float,
        "train_lr": float,
        "train_steps": int,
        "train_batch_size": int,
        "train_max_norm": float,
        "train_seed": int,
    },
)
def run_rnn_gradients(settings: Mapping[str, Any], progress: Progress | None = None) -> Result:
    """Gradient against time, the cliff, and training with and without clipping (rnn)."""
    import functools

    import numpy as np

    from gradwatch import plotting, rnn, theory

    s = settings
    norms = rnn.gradient_norms_over_time(
        s["radii"],
        n_hidden=s["time_hidden"],
        n_steps=s["time_steps"],
        n_samples=s["time_samples"],
        input_std=s["time_input_std"],
        seed=s["time_seed"],
    )
    cliff = {"h0": s["cliff_h0"], "n_steps": s["cliff_steps"], "target": s["cliff_target"]}
    descent = {"lr": s["cliff_lr"], "steps": s["cliff_descent_steps"], **cliff}
    plain, plain_G = rnn.cliff_descent(s["cliff_start"], **descent)
    clipped, clipped_G = rnn.cliff_descent(
        s["cliff_start"], max_norm=s["cliff_max_norm"], **descent
    )
    if progress is not None:
        progress("rnn", 1, 2)
    runs = rnn.clipping_comparison(
        n_hidden=s["train_hidden"],
        n_steps=s["train_steps_in_time"],
        n_samples=s["train_samples"],
        spectral_radius=s["train_radius"],
        lr=s["train_lr"],
        steps=s["train_steps"],
        batch_size=s["train_batch_size"],
        max_norm=s["train_max_norm"],
        seed=s["train_seed"],
    )
    if progress is not None:
        progress("rnn", 2, 2)
    loss = functools.partial(
        rnn.one_unit_loss, h0=s["cliff_h0"], n_steps=s["cliff_steps"], target=s["cliff_target"]
    )
    n_steps = s["time_steps"]
    numbers = {
        "per_step_factor": {f"{r:g}": theory.fit_per_layer_factor(v) for r, v in norms.items()},
        "norm_after_all_steps": {f"{r:g}": float(v[-1]) for r, v in norms.items()},
        "cliff_max_G": float(np.max(plain_G)),
        "cliff_final_loss": {
            "no clipping": float(loss(plain[-1])),
            "clipped": float(loss(clipped[-1])),
        },
        "final_loss": {label: float(h.loss[-1]) for label, h in runs.items()},
        "clipped_steps": {label: int(h.clipped.sum()) for label, h in runs.items()},
    }
    figures = {
        "gradient_over_time": plotting.norms_against_depth(
            {f"r = {r:g}": v for r, v in norms.items()},
            {f"r = {r:g}": r ** np.arange(n_steps) for r in norms},
            xlabel="steps back in time k",
            ylabel="gradient norm at $h_{T-k}$ / at $h_T$",
            theory_label="$r^k$",
        ),
        "cliff": plotting.cliff_figure(
            loss,
            {"no clipping": plain, f"clipped at {s['cliff_max_norm']:g}": clipped},
            {"no clipping": plain_G, f"clipped at {s['cliff_max_norm']:g}": clipped_G},
            extent=s["cliff_extent"],
        ),
        "training": plotting.training_curves(runs),
    }
    return Result(numbers=numbers, figures=figures)
