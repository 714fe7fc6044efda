r"""Weight initialisers, with the scales of ``torch.nn.init``.

A weight matrix has shape ``(fan_in, fan_out)``: the layer computes ``z = x @ W + b``, so
``fan_in = shape[0]`` and ``fan_out = shape[1]`` (PyTorch stores the transpose, ``(out, in)``,
and reads its fans the other way round; the distributions are the same).

Every initialiser is called as ``init(shape, rng=rng, dtype=np.float64, **options)`` and returns
a new array in C order, whatever the shape. ``rng`` is a :class:`numpy.random.Generator` or an
integer seed; it is required by every random initialiser, so a draw can always be repeated.

- ``zeros``, ``ones``, ``constant``: every entry 0, 1 or ``value``;
- ``normal``: :math:`\mathcal N(\text{mean}, \text{std}^2)`; ``uniform``: :math:`U(a, b)`;
- ``xavier_uniform``: :math:`U(-l, l)` with :math:`l = g\sqrt{6/(n_\text{in}+n_\text{out})}`;
- ``xavier_normal``: :math:`\mathcal N(0, s^2)`, :math:`s = g\sqrt{2/(n_\text{in}+n_\text{out})}`;
- ``he_uniform``: :math:`U(-l, l)` with :math:`l = g\sqrt{3/n}`;
- ``he_normal``: :math:`\mathcal N(0, s^2)` with :math:`s = g/\sqrt{n}`;
- ``lecun_normal``: :math:`\mathcal N(0, s^2)` with :math:`s = 1/\sqrt{n_\text{in}}`;
- ``orthogonal``: orthonormal columns (or rows), times ``gain``.

Here :math:`g` is the gain (:func:`calculate_gain`) and :math:`n` is ``fan_in`` or ``fan_out``
by ``mode``.

Examples
--------
>>> import numpy as np
>>> import gradwatch as gw
>>> W = gw.init.get("he_normal")((512, 256), rng=np.random.default_rng(0))
>>> W.shape, round(float(W.std() * np.sqrt(512 / 2)), 1)
((512, 256), 1.0)
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from numpy.typing import DTypeLike

from gradwatch import activations
from gradwatch._validation import Array, make_rng

__all__ = [
    "calculate_gain",
    "constant",
    "get",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "names",
    "normal",
    "ones",
    "orthogonal",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Shape = tuple[int, ...]


# Layers without a nonlinearity, whose gain is 1 (the names torch.nn.init.calculate_gain takes).
_LINEAR_LAYERS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str | activations.Activation, param: float | None = None) -> float:
    r"""Recommended gain for a nonlinearity, with PyTorch's values.

    The gain of an activation is its :meth:`~gradwatch.activations.Activation.gain`; the names
    of linear layers that ``torch.nn.init.calculate_gain`` accepts (``linear``, ``conv1d``,
    ``conv2d``, ``conv3d`` and ``conv_transpose1d`` to ``3d``) give 1.

    ==================  ===========================================
    nonlinearity        gain
    ==================  ===========================================
    linear, conv1d,     1
    identity, sigmoid
    tanh                :math:`5/3`
    relu                :math:`\sqrt 2`
    leaky_relu          :math:`\sqrt{2/(1 + a^2)}`, ``a = param`` (default 0.01)
    selu                :math:`3/4`
    ==================  ===========================================

    Parameters
    ----------
    nonlinearity : str or Activation
        Name of the activation the weights feed (any name :func:`gradwatch.activations.get`
        accepts) or of a linear layer, or the activation itself.
    param : float, optional
        Negative slope of ``leaky_relu`` (by default that of the activation: 0.01 for the name);
        ignored by the others.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``nonlinearity`` is neither a string nor an :class:`~gradwatch.activations.Activation`.
    ValueError
        For an unknown nonlinearity, one without a recommended gain (such as ``gelu``), or a
        negative slope that is not a number.

    Examples
    --------
    >>> import gradwatch as gw
    >>> round(gw.init.calculate_gain("tanh"), 4), round(gw.init.calculate_gain("relu"), 4)
    (1.6667, 1.4142)
    >>> round(gw.init.calculate_gain("leaky_relu", 0.2), 4)
    1.3868
    >>> gw.init.calculate_gain("conv2d"), gw.init.calculate_gain(gw.activations.Identity())
    (1.0, 1.0)
    """
    if isinstance(nonlinearity, activations.Activation):
        return nonlinearity.gain(param)
    if not isinstance(nonlinearity, str):
        raise TypeError(
            f"nonlinearity must be a name (str) or an Activation, got {type(nonlinearity).__name__}"
        )
    if nonlinearity.lower() in _LINEAR_LAYERS:
        return 1.0
    try:
        activation = activations.get(nonlinearity)
    except ValueError:
        with_gain = [
            name
            for name in activations.names()
            if type(activations.get(name)).gain is not activations.Activation.gain
        ]
        raise ValueError(
            f"unknown nonlinearity {nonlinearity!r}; expected one of: "
            f"{', '.join([*_LINEAR_LAYERS, *with_gain])}"
        ) from None
    return activation.gain(param)


def _fans(shape: Shape) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(
            f"shape must have at least 2 dimensions (fan_in, fan_out) to compute fans, got {shape}"
        )
    receptive = math.prod(shape[2:])
    return shape[0] * receptive, shape[1] * receptive


def _check_shape(shape: object) -> Shape:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    if not isinstance(shape, (tuple, list)) or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape
    ):
        raise TypeError(f"shape must be a tuple of non-negative ints, got {shape!r}")
    if any(n < 0 for n in shape):
        raise ValueError(f"shape must be a tuple of non-negative ints, got {shape!r}")
    return tuple(int(n) for n in shape)


def _check_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    resolved = np.dtype(dtype)
    if resolved.kind != "f":
        raise TypeError(f"dtype must be a floating-point type, got {resolved}")
    return resolved


def _random(rng: np.random.Generator | int | None) -> np.random.Generator:
    if rng is None:
        raise TypeError("rng is required: pass a numpy.random.Generator or an int seed")
    return make_rng(rng)


def _fan(shape: Shape, mode: str) -> int:
    fan_in, fan_out = _fans(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


def _he_std(shape: Shape, a: float, mode: str, nonlinearity: str | activations.Activation) -> float:
    r"""Return the standard deviation :math:`g/\sqrt{n}` of both He initialisers (``kaiming_*_``).

    :math:`g` is the gain of ``nonlinearity`` (``a`` its negative slope) and :math:`n` the fan
    that ``mode`` picks; the uniform draw has half-width :math:`\sqrt 3` times this.
    """
    return calculate_gain(nonlinearity, a) / math.sqrt(_fan(shape, mode))


def _as_result(values: Array, dtype: np.dtype[Any]) -> Array:
    """Return what an initialiser returns: ``values`` in ``dtype``, in C order.

    C order is part of every initialiser's contract, whatever the shape: a transposed factor
    (the orthogonal matrix of a wide shape) would otherwise come back in Fortran order, and
    :func:`gradwatch.gradcheck` perturbs a parameter through a flat view of its memory, which
    such an array does not have.
    """
    return np.ascontiguousarray(values, dtype=dtype)


def _filled_with(value: float, name: str) -> Callable[..., Array]:
    """Return the initialiser ``name`` (``zeros``, ``ones``): :func:`constant` at ``value``."""

    def initialiser(
        shape: Shape,
        *,
        rng: np.random.Generator | int | None = None,  # noqa: ARG001  (one signature for all)
        dtype: DTypeLike = np.float64,
    ) -> Array:
        return constant(shape, value, dtype=dtype)

    initialiser.__name__ = initialiser.__qualname__ = name
    initialiser.__doc__ = f"""All {name}: :func:`constant` with ``value={value:g}``.

    ``rng`` is accepted and ignored.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.init.{name}((2,))
    array([{value:g}., {value:g}.])
    """
    return initialiser


def constant(
    shape: Shape,
    value: float = 0.0,
    *,
    rng: np.random.Generator | int | None = None,  # noqa: ARG001  (one signature for all)
    dtype: DTypeLike = np.float64,
) -> Array:
    """Every entry equal to ``value`` (``rng`` is accepted and ignored).

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.init.constant((2, 2), value=0.5)
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    return np.full(_check_shape(shape), value, dtype=_check_dtype(dtype))


zeros = _filled_with(0.0, "zeros")
ones = _filled_with(1.0, "ones")


def normal(
    shape: Shape,
    mean: float = 0.0,
    std: float = 1.0,
    *,
    rng: np.random.Generator | int | None = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    r"""Draws from :math:`\mathcal N(\text{mean}, \text{std}^2)`.

    Examples
    --------
    >>> import gradwatch as gw
    >>> W = gw.init.normal((1000, 100), std=0.1, rng=0)
    >>> round(float(W.std()), 2)
    0.1
    """
    if std < 0:
        raise ValueError(f"std must be non-negative, got {std!r}")
    resolved = _check_dtype(dtype)
    return _as_result(_random(rng).normal(mean, std, size=_check_shape(shape)), resolved)


def uniform(
    shape: Shape,
    a: float = 0.0,
    b: float = 1.0,
    *,
    rng: np.random.Generator | int | None = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    r"""Draws from :math:`U(a, b)` (PyTorch's ``uniform_`` defaults, ``a=0``, ``b=1``).

    Examples
    --------
    >>> import gradwatch as gw
    >>> W = gw.init.uniform((1000, 100), a=-1.0, b=1.0, rng=0)
    >>> bool(W.min() >= -1.0 and W.max() < 1.0)
    True
    """
    if not a <= b:
        raise ValueError(f"a must not exceed b, got a={a!r} and b={b!r}")
    resolved = _check_dtype(dtype)
    return _as_result(_random(rng).uniform(a, b, size=_check_shape(shape)), resolved)


def xavier_uniform(
    shape: Shape,
    gain: float = 1.0,
    *,
    rng: np.random.Generator | int | None = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    r"""Glorot & Bengio (2010): :math:`U(-l, l)`, :math:`l = g\sqrt{6/(n_\text{in}+n_\text{out})}`.

    The variance, :math:`2 g^2/(n_\text{in}+n_\text{out})`, is a compromise between keeping the
    forward signal (:math:`1/n_\text{in}`) and the backward gradient (:math:`1/n_\text{out}`).

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> W = gw.init.xavier_uniform((300, 100), rng=0)
    >>> bool(np.abs(W).max() <= np.sqrt(6 / (300 + 100)))  # within the limit l, for g = 1
    True
    """
    shape = _check_shape(shape)
    fan_in, fan_out = _fans(shape)
    limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, -limit, limit, rng=rng, dtype=dtype)


def xavier_normal(
    shape: Shape,
    gain: float = 1.0,
    *,
    rng: np.random.Generator | int | None = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    r"""Draw from Glorot & Bengio's (2010) normal, std :math:`g\sqrt{2/(n_\text{in}+n_\text{out})}`.

    Examples
    --------
    >>> import gradwatch as gw
    >>> W = gw.init.xavier_normal((300, 100), rng=0)
    >>> round(float(W.var() * (300 + 100) / 2), 1)
    1.0
    """
    shape = _check_shape(shape)
    fan_in, fan_out = _fans(shape)
    return normal(shape, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), rng=rng, dtype=dtype)


def he_uniform(
    shape: Shape,
    a: float = 0.0,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    nonlinearity: str | activations.Activation = "leaky_relu",
    *,
    rng: np.random.Generator | int | None = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    r"""He et al. (2015): :math:`U(-l, l)`, :math:`l = g\sqrt{3/n}` (variance :math:`g^2/n`).

    Parameters are those of ``torch.nn.init.kaiming_uniform_``: ``a`` is the negative slope of a
    leaky ReLU (``nonlinearity="leaky_relu"``, ``a=0`` is the plain ReLU, gain :math:`\sqrt 2`),
    ``mode`` picks :math:`n`: ``fan_in`` keeps the forward variance, ``fan_out`` the backward one.

    Examples
    --------
    >>> import gradwatch as gw
    >>> W = gw.init.he_uniform((500, 200), rng=0)
    >>> round(float(W.var() * 500 / 2), 1)
    1.0
    """
    shape = _check_shape(shape)
    limit = math.sqrt(3.0) * _he_std(shape, a, mode, nonlinearity)
    return uniform(shape, -limit, limit, rng=rng, dtype=dtype)


def he_normal(
    shape: Shape,
    a: float = 0.0,
    mode: Literal["fan_in", "fan_out"] = "fan_in",
    nonlinearity: str | activations.Activation = "leaky_relu",
    *,
    rng: np.random.Generator | int | None = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    r"""He et al. (2015): :math:`\mathcal N(0, s^2)`, :math:`s = g/\sqrt{n}` (``kaiming_normal_``).

    Examples
    --------
    >>> import gradwatch as gw
    >>> W = gw.init.he_normal((500, 200), mode="fan_out", nonlinearity="relu", rng=0)
    >>> round(float(W.var() * 200 / 2), 1)
    1.0
    """
    shape = _check_shape(shape)
    return normal(shape, 0.0, _he_std(shape, a, mode, nonlinearity), rng=rng, dtype=dtype)


def lecun_normal(
    shape: Shape,
    *,
    rng: np.random.Generator | int | None = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    r"""LeCun et al. (1998): :math:`\mathcal N(0, 1/n_\text{in})`, the scale SELU networks need.

    Examples
    --------
    >>> import gradwatch as gw
    >>> W = gw.init.lecun_normal((400, 100), rng=0)
    >>> round(float(W.var() * 400), 1)
    1.0
    """
    shape = _check_shape(shape)
    fan_in, _ = _fans(shape)
    return normal(shape, 0.0, 1.0 / math.sqrt(fan_in), rng=rng, dtype=dtype)


def orthogonal(
    shape: Shape,
    gain: float = 1.0,
    *,
    rng: np.random.Generator | int | None = None,
    dtype: DTypeLike = np.float64,
) -> Array:
    r"""Draw a (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014), as ``orthogonal_``.

    The QR factorisation of a Gaussian matrix, with the signs of :math:`R`'s diagonal moved into
    :math:`Q` so that :math:`Q` is uniformly distributed. For ``fan_in >= fan_out`` the columns
    are orthonormal, :math:`W^\top W = g^2 I`; otherwise the rows are, :math:`W W^\top = g^2 I`.
    Every singular value equals ``gain``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> W = gw.init.orthogonal((4, 3), rng=0)
    >>> bool(np.allclose(W.T @ W, np.eye(3)))
    True
    """
    shape = _check_shape(shape)
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions, got {shape}")
    rows = shape[0]
    cols = math.prod(shape[1:])
    generator = _random(rng)
    resolved = _check_dtype(dtype)
    if rows == 0 or cols == 0:
        return np.zeros(shape, dtype=resolved)
    flat = generator.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T  # orthonormal rows; a Fortran-ordered view until _as_result copies it
    return _as_result((gain * q).reshape(shape), resolved)


_REGISTRY: dict[str, Callable[..., Array]] = {
    "zeros": zeros,
    "ones": ones,
    "constant": constant,
    "normal": normal,
    "uniform": uniform,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
}
_ALIASES = {
    "glorot_uniform": "xavier_uniform",
    "glorot_normal": "xavier_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
}


def names() -> tuple[str, ...]:
    """Names of the registered initialisers.

    Examples
    --------
    >>> import gradwatch as gw
    >>> "orthogonal" in gw.init.names()
    True
    """
    return tuple(_REGISTRY)


def get(init: str | Callable[..., Array], **options: Any) -> Callable[..., Array]:
    """Return an initialiser from its name, with ``options`` bound as defaults.

    Parameters
    ----------
    init : str or callable
        A name from :func:`names` (``glorot_*`` and ``kaiming_*`` are aliases), or a callable
        ``init(shape, rng=..., dtype=...)``, returned as it is (with ``options`` bound).
    **options
        Options of the initialiser, e.g. ``std`` for ``normal``, ``gain`` for ``orthogonal``.

    Returns
    -------
    callable
        ``init(shape, rng=rng, dtype=np.float64, **more_options) -> ndarray``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or an unknown option.

    Examples
    --------
    >>> import gradwatch as gw
    >>> init = gw.init.get("normal", std=0.01)
    >>> init((3, 2), rng=0).shape
    (3, 2)
    >>> gw.init.get("glorot")
    Traceback (most recent call last):
    ...
    ValueError: unknown initialiser 'glorot'; expected one of: zeros, ones, constant, normal, ...
    """
    if callable(init):
        function = init
    elif isinstance(init, str):
        key = _ALIASES.get(init.lower(), init.lower())
        if key not in _REGISTRY:
            raise ValueError(
                f"unknown initialiser {init!r}; expected one of: {', '.join(_REGISTRY)}"
            )
        function = _REGISTRY[key]
    else:
        raise TypeError(f"init must be a name (str) or a callable, got {type(init).__name__}")
    if not options:
        return function
    if isinstance(init, str):
        accepted = inspect.signature(function).parameters
        unknown = sorted(set(options) - set(accepted) - {"rng", "dtype"})
        if unknown:
            valid = [p for p in accepted if p not in {"shape", "rng", "dtype"}]
            raise ValueError(
                f"initialiser {init!r} does not take {unknown}; its options are {valid}"
            )
    return functools.partial(function, **options)
