"""Predictions to hold measurements against: linear networks and mean-field signal propagation.

Only predictions live here: closed forms, the mean-field maps and the quadrature they need. The
measurements they are held against (random networks, measured gradient norms, the fits of
per-layer factors) are in :mod:`gradwatch.diagnostics`.

Examples
--------
>>> import gradwatch as gw
>>> gw.theory.__name__
'gradwatch.theory'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradwatch import activations
from gradwatch._validation import Array, check_positive, check_positive_int

__all__: list[str] = [
    "Correlation",
    "MeanField",
    "MeanFieldLayers",
    "bisect",
    "c_fixed_point",
    "c_map",
    "chi_1",
    "chi_1_grid",
    "chi_c",
    "correlation",
    "critical_sigma_w",
    "depth_scale",
    "gaussian_expectation",
    "gradient_norm_bound",
    "linear_gradient_norms",
    "mean_field",
    "mean_field_layers",
    "predicted_gradient_norms",
    "q_fixed_point",
    "q_map",
    "relu_gradient_norms",
    "saturated_fraction",
    "saturation_thresholds",
]

# ---------------------------------------------------------------------------------------------
# Linear networks and products of random matrices (the pages on vanishing and exploding maths).
# ---------------------------------------------------------------------------------------------


def predicted_gradient_norms(depth: int, factor: float) -> Array:
    r"""Predicted size of the backpropagated gradient after each number of layers.

    If every layer multiplies the expected squared norm of the gradient by the same ``factor``
    :math:`\chi`, then after :math:`d` layers

    .. math::

        \frac{\mathbb E \lVert g^{(L-d)} \rVert^2}{\lVert g^{(L)} \rVert^2} = \chi^{d},

    and the root-mean-square norm ratio is :math:`\chi^{d/2}`. The prediction is for the
    squared norm; the norm itself is its square root.

    Parameters
    ----------
    depth : int
        Number of layers :math:`L`, at least 1.
    factor : float
        Per-layer factor :math:`\chi > 0` of the expected squared norm.

    Returns
    -------
    ndarray, shape (depth + 1,)
        Entry ``d`` is :math:`\chi^{d/2}`, the predicted RMS ratio
        :math:`\lVert \partial J/\partial a^{(L-d)} \rVert / \lVert \partial J/\partial y \rVert`
        after crossing ``d`` layers from the output: entry 0 is 1, the last entry is the
        prediction for the input, :math:`\partial J/\partial x`.

    Raises
    ------
    TypeError
        If ``depth`` is not an int or ``factor`` not a number.
    ValueError
        If ``depth < 1`` or ``factor`` is not positive and finite.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.theory.predicted_gradient_norms(3, 0.25).tolist()
    [1.0, 0.5, 0.25, 0.125]
    """
    layers = check_positive_int(depth, "depth")
    chi = check_positive(factor, "factor")
    result: Array = np.sqrt(chi) ** np.arange(layers + 1, dtype=np.float64)
    return result


def linear_gradient_norms(depth: int, scale: float) -> Array:
    r"""Predicted gradient norms in a deep linear network with Gaussian weights.

    With square weight matrices of width :math:`n` and entries drawn from
    :math:`\mathcal N(0, s^2/n)`, every vector :math:`v` satisfies
    :math:`\mathbb E \lVert W^\top v \rVert^2 = s^2 \lVert v \rVert^2`, so the expected squared
    norm of the gradient is multiplied by exactly :math:`s^2` per layer, whatever the width
    (:func:`predicted_gradient_norms` with ``factor = scale**2``).

    Parameters
    ----------
    depth : int
        Number of layers, at least 1.
    scale : float
        Weight scale :math:`s > 0`: the weights' standard deviation is :math:`s/\sqrt n`.

    Returns
    -------
    ndarray, shape (depth + 1,)
        Entry ``d`` is :math:`s^{d}`, the RMS norm ratio after ``d`` layers.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.theory.linear_gradient_norms(4, 0.5).tolist()
    [1.0, 0.5, 0.25, 0.125, 0.0625]
    """
    s = check_positive(scale, "scale")
    return predicted_gradient_norms(depth, s * s)


def relu_gradient_norms(depth: int, scale: float) -> Array:
    r"""Predicted gradient norms in a deep ReLU network with Gaussian weights.

    A ReLU passes the gradient of a unit whose pre-activation is positive and blocks the rest.
    With zero biases and weights drawn from :math:`\mathcal N(0, s^2/n)`, half the units are
    active on average, so the expected squared norm is multiplied by :math:`s^2/2` per layer
    (He et al. 2015): :math:`s = \sqrt 2` keeps it, a larger scale makes it explode and a
    smaller one makes it vanish (:func:`predicted_gradient_norms` with
    ``factor = scale**2 / 2``).

    Parameters
    ----------
    depth : int
        Number of ReLU layers, at least 1.
    scale : float
        Weight scale :math:`s > 0`.

    Returns
    -------
    ndarray, shape (depth + 1,)
        Entry ``d`` is :math:`(s/\sqrt 2)^{d}`.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.theory.relu_gradient_norms(3, 2.0).round(6).tolist()
    [1.0, 1.414214, 2.0, 2.828427]
    """
    s = check_positive(scale, "scale")
    return predicted_gradient_norms(depth, s * s / 2.0)


def gradient_norm_bound(
    weights: Sequence[Array], max_slope: float | Sequence[float] = 1.0
) -> Array:
    r"""Upper bound on how much the layers can grow a gradient, from the output down.

    A layer turns :math:`g` into :math:`W^\top (g'(z) \odot g)` (column convention), so
    :math:`\lVert W^\top (g'(z) \odot g) \rVert \le \sigma_\max(W)\, \max|g'|\, \lVert g \rVert`;
    after :math:`d` layers the ratio to the output gradient is at most the product of those
    factors. For sigmoid layers :math:`\max|\sigma'| = 1/4`.

    Parameters
    ----------
    weights : sequence of ndarray, each of shape (n_in, n_out)
        The weight matrices from the input to the output (``[layer.W for layer in
        net.layers]``).
    max_slope : float or sequence of float, default 1.0
        A bound on :math:`|g'|` of every layer, or one per layer.

    Returns
    -------
    ndarray, shape (len(weights) + 1,)
        Entry ``d`` bounds :math:`\lVert \partial J/\partial a^{(L-d)} \rVert /
        \lVert \partial J/\partial y \rVert` for every sample: the product of
        :math:`\max|g'| \, \sigma_\max(W)` over the last ``d`` layers.

    Raises
    ------
    ValueError
        If ``weights`` is empty or not 2-D arrays, or ``max_slope`` has the wrong length or a
        negative entry.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> W = 2.0 * np.eye(3)
    >>> gw.theory.gradient_norm_bound([W, W], max_slope=0.25).tolist()
    [1.0, 0.5, 0.25]
    """
    given: object = weights  # checked at run time whatever the annotation says
    if isinstance(given, np.ndarray) or not isinstance(given, Sequence) or not given:
        raise ValueError("weights must be a non-empty list of 2-D arrays, input layer first")
    matrices = [np.asarray(W, dtype=np.float64) for W in weights]
    for i, W in enumerate(matrices):
        if W.ndim != 2:
            raise ValueError(f"weights[{i}] must be 2-D, got shape {W.shape}")
    slopes = np.asarray(max_slope, dtype=np.float64)
    if slopes.ndim == 0:
        slopes = np.full(len(matrices), float(slopes))
    elif slopes.shape != (len(matrices),):
        raise ValueError(
            f"max_slope has shape {slopes.shape} but there are {len(matrices)} weight matrices"
        )
    if np.any(~np.isfinite(slopes)) or np.any(slopes < 0):
        raise ValueError(f"max_slope must be non-negative and finite, got {max_slope!r}")
    factors = [
        slope * float(np.linalg.norm(W, 2)) for slope, W in zip(slopes, matrices, strict=True)
    ]
    result: Array = np.concatenate([[1.0], np.cumprod(factors[::-1])])
    return result


# ---------------------------------------------------------------------------------------------
# Mean-field signal propagation (Poole et al. 2016; Schoenholz et al. 2017).
# ---------------------------------------------------------------------------------------------
#
# A wide random network with weights W ~ N(0, sigma_w^2 / n_in) and biases b ~ N(0, sigma_b^2)
# has Gaussian pre-activations whose variance q follows the q-map layer after layer; chi_1 is the
# factor by which one layer multiplies the squared norm of a backpropagated gradient.

# A positively homogeneous activation (identity, ReLU, leaky ReLU) has closed forms: with
# m = act.homogeneous_moment, E[g(sqrt(q) z)^2] = m q and E[g'(sqrt(q) z)^2] = m for every q.


def _network(
    activation: str | activations.Activation, sigma_w: float, sigma_b: float
) -> tuple[activations.Activation, float, float]:
    """Check and return the activation and the two scales of a random network."""
    act = activations.get(activation)
    w = _check_sigma(sigma_w, "sigma_w", allow_zero=False)
    b = _check_sigma(sigma_b, "sigma_b", allow_zero=True)
    return act, w, b


def _check_sigma(value: object, name: str, *, allow_zero: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not np.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        expected = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {expected} finite number, got {value!r}")
    return number


def _check_variances(q: float | Array) -> Array:
    """Return ``q`` as a float64 array after checking it holds non-negative finite variances."""
    variance = np.asarray(q, dtype=np.float64)
    if np.any(~np.isfinite(variance)) or np.any(variance < 0):
        raise ValueError(f"q must hold non-negative finite variances, got {q!r}")
    return variance


def _check_correlations(c: float | Array) -> Array:
    """Return ``c`` as a float64 array after checking it holds correlations in [-1, 1]."""
    corr = np.asarray(c, dtype=np.float64)
    if np.any(~np.isfinite(corr)) or np.any(np.abs(corr) > 1.0):
        raise ValueError(f"c must hold correlations in [-1, 1], got {c!r}")
    return corr


_HALF_LINE = 12.0


@functools.lru_cache(maxsize=8)
def _gaussian_rule(n_points: int) -> tuple[Array, Array]:
    r"""Nodes and weights for :math:`E[f(z)]`, :math:`z \sim \mathcal N(0, 1)`, no node at 0.

    A Gauss-Legendre rule of ``n_points // 2`` nodes on :math:`[0, 12]` for each half-line,
    weighted by the normal density (beyond 12 it is below :math:`10^{-31}`). Every activation
    here is smooth on each side of 0, so a kink or a jump at 0 (ReLU, SELU's derivative) is
    integrated as accurately as a smooth function, where a Gauss-Hermite rule with a node at 0
    would take the kink's one-sided value for the whole neighbourhood.
    """
    half = max(n_points // 2, 1)
    t, w = np.polynomial.legendre.leggauss(half)
    z = _HALF_LINE * (t + 1.0) / 2.0
    density = np.exp(-0.5 * z * z) / np.sqrt(2.0 * np.pi)
    weights = w * (_HALF_LINE / 2.0) * density
    nodes = np.concatenate([-z[::-1], z])
    both = np.concatenate([weights[::-1], weights])
    return nodes, both / both.sum()


def gaussian_expectation(f: Any, q: float | Array, n_points: int = 101) -> Array:
    r"""Compute :math:`\mathbb E_{z \sim \mathcal N(0,1)}[f(\sqrt q\, z)]` by quadrature.

    A Gauss-Legendre rule on each half-line, weighted by the normal density, with no node at 0:
    functions that are smooth on each side of 0 converge fast, kinks and jumps at 0 included
    (ReLU, SELU's derivative). Positively homogeneous activations (identity, ReLU, leaky ReLU)
    use closed forms elsewhere in this block.

    Parameters
    ----------
    f : callable
        Vectorised function of an array.
    q : float or ndarray, shape (...)
        Variances, non-negative.
    n_points : int, default 101
        Number of quadrature nodes (rounded down to an even number, half on each side of 0).

    Returns
    -------
    ndarray, shape of ``q``
        :math:`\mathbb E[f(\sqrt q\, z)]` for each variance in ``q``.

    Raises
    ------
    TypeError
        If ``f`` is not callable.
    ValueError
        If ``q`` holds a negative or non-finite variance, or ``n_points`` is below 2.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> round(float(gw.theory.gaussian_expectation(np.square, 2.0)), 12)  # E[(sqrt 2 z)^2]
    2.0
    """
    if not callable(f):
        raise TypeError(f"f must be a function of an array, got {type(f).__name__}")
    points = check_positive_int(n_points, "n_points")
    if points < 2:
        raise ValueError(f"n_points must be at least 2, got {n_points!r}")
    variance = _check_variances(q)
    nodes, weights = _gaussian_rule(points)
    values = np.asarray(f(np.sqrt(variance)[..., None] * nodes), dtype=np.float64)
    result: Array = values @ weights
    return result


def q_map(
    q: float | Array,
    activation: str | activations.Activation,
    sigma_w: float,
    sigma_b: float = 0.0,
) -> Array:
    r"""Apply one layer of the variance map (the q-map).

    .. math:: q \mapsto \sigma_w^2\,\mathbb E[g(\sqrt q\,z)^2] + \sigma_b^2

    :math:`q^{(l)}` is the variance of one pre-activation :math:`z^{(l)}_i` of layer :math:`l`
    over random weights, biases (and units) in a wide network :cite:p:`poole2016`.

    Parameters
    ----------
    q : float or ndarray, shape (...)
        Pre-activation variance of the layer before.
    activation : str or Activation
    sigma_w : float
        Weight scale; weights are :math:`\mathcal N(0, \sigma_w^2/n_\text{in})`.
    sigma_b : float, default 0.0
        Bias standard deviation.

    Returns
    -------
    ndarray, shape of ``q``
        :math:`q^{(l+1)}`, the variance of the next layer's pre-activations, for each ``q``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> float(gw.theory.q_map(1.0, "relu", sigma_w=2 ** 0.5))   # He scaling keeps q
    1.0
    """
    act, w, b = _network(activation, sigma_w, sigma_b)
    variance = _check_variances(q)
    moment = act.homogeneous_moment
    if moment is not None:
        second_moment: Array = moment * variance
    else:
        second_moment = gaussian_expectation(lambda z: act(z) ** 2, variance)
    result: Array = w * w * second_moment + b * b
    return result


def _iterate_q(
    act: activations.Activation,
    *,
    sigma_w: Array,
    sigma_b: Array,
    q0: float,
    tol: float,
    max_iter: int,
) -> tuple[Array, np.ndarray[Any, np.dtype[np.bool_]]]:
    """Iterate the q-map elementwise over arrays of sigmas; return q and a converged mask."""
    q = np.full(np.broadcast(sigma_w, sigma_b).shape, float(q0))
    w2 = np.broadcast_to(sigma_w * sigma_w, q.shape)
    b2 = np.broadcast_to(sigma_b * sigma_b, q.shape)
    done = np.zeros(q.shape, dtype=bool)
    for _ in range(max_iter):
        active = ~done
        if not active.any():
            break
        new = w2[active] * gaussian_expectation(lambda z: act(z) ** 2, q[active]) + b2[active]
        if np.any(~np.isfinite(new)) or np.any(new > 1e12):
            raise ValueError(
                f"the q-map of {act.name} diverges (q > 1e12): with these sigma_w the variance "
                f"grows without bound and there is no finite fixed point"
            )
        done[active] = np.abs(new - q[active]) <= tol * (1.0 + new)
        q[active] = new
    return q, done


def q_fixed_point(
    activation: str | activations.Activation,
    sigma_w: float,
    sigma_b: float = 0.0,
    *,
    q0: float = 1.0,
    tol: float = 1e-12,
    max_iter: int = 100_000,
) -> float:
    r"""Find the fixed point :math:`q^*` of :func:`q_map` by iterating it from ``q0``.

    The iteration is what a deep network does layer after layer, so it finds the stable fixed
    point, the one a deep network's pre-activations settle at. Closed forms for a positively
    homogeneous activation (``identity``, ``relu``, ``leaky_relu``), whose map is linear,
    :math:`q \mapsto c\,\sigma_w^2 q + \sigma_b^2` with :math:`c` its
    :attr:`~gradwatch.activations.Activation.homogeneous_moment` (1 for the identity, 1/2 for
    ReLU): :math:`q^* = \sigma_b^2/(1 - c\sigma_w^2)` when
    :math:`c\sigma_w^2 < 1`; at :math:`c\sigma_w^2 = 1` with :math:`\sigma_b = 0` every
    :math:`q` is fixed and ``q0`` is returned.

    Parameters
    ----------
    activation : str or Activation
    sigma_w : float
        Positive weight scale.
    sigma_b : float, default 0.0
        Non-negative bias scale.
    q0 : float, default 1.0
        Starting variance (that of the first layer's pre-activations).
    tol : float, default 1e-12
        Stop when one step changes :math:`q` by at most ``tol * (1 + q)``.
    max_iter : int, default 100_000

    Returns
    -------
    float
        :math:`q^*`, the variance a deep network's pre-activations settle at.

    Raises
    ------
    ValueError
        If the map diverges (no finite fixed point: e.g. ReLU with :math:`\sigma_w^2 > 2`),
        or for bad arguments.
    RuntimeError
        If it has not converged after ``max_iter`` steps (this happens only next to the critical
        point :math:`\sigma_b = 0`, :math:`\sigma_w g'(0) = 1`, where :math:`q \to 0` like
        :math:`1/l`).

    Examples
    --------
    >>> import gradwatch as gw
    >>> round(gw.theory.q_fixed_point("tanh", sigma_w=1.5, sigma_b=0.3), 4)
    0.9608
    >>> gw.theory.q_fixed_point("relu", sigma_w=2.0, sigma_b=0.1)
    Traceback (most recent call last):
    ...
    ValueError: the q-map of relu diverges: 0.5 * sigma_w**2 = 2 >= 1, so q grows without bound
    """
    act, w, b = _network(activation, sigma_w, sigma_b)
    start = _check_sigma(q0, "q0", allow_zero=True)
    check_positive(tol, "tol")
    iterations = check_positive_int(max_iter, "max_iter")
    moment = act.homogeneous_moment
    if moment is not None:
        slope = moment * w * w
        if abs(slope - 1.0) <= 1e-12 and b == 0.0:  # every q is fixed (up to rounding)
            return start
        if slope < 1.0:
            return b * b / (1.0 - slope)
        shown = "sigma_w**2" if moment == 1.0 else f"{moment:.4g} * sigma_w**2"
        raise ValueError(
            f"the q-map of {act.name} diverges: {shown} = {slope:.4g} >= 1, "
            f"so q grows without bound"
        )
    q, done = _iterate_q(
        act, sigma_w=np.asarray(w), sigma_b=np.asarray(b), q0=start, tol=tol, max_iter=iterations
    )
    if not bool(done):
        raise RuntimeError(
            f"the q-map of {act.name} did not converge in max_iter={max_iter} steps "
            f"(sigma_w={w}, sigma_b={b}); near the critical point q approaches 0 only like 1/l"
        )
    return float(q)


def chi_1(
    activation: str | activations.Activation,
    sigma_w: float,
    sigma_b: float = 0.0,
    q: float | None = None,
) -> float:
    r"""Compute the per-layer factor of the squared gradient norm, :math:`\chi_1`.

    .. math:: \chi_1 = \sigma_w^2\,\mathbb E[g'(\sqrt{q^*} z)^2]

    In a wide random network at its fixed point, backpropagating through one layer multiplies
    :math:`\lVert \partial L/\partial a \rVert^2` by :math:`\chi_1` on average
    :cite:p:`schoenholz2017`: :math:`\chi_1 < 1` is the ordered phase (gradients vanish),
    :math:`\chi_1 > 1` the chaotic phase (they explode). Closed forms for a positively homogeneous
    activation, :math:`c\,\sigma_w^2` with :math:`c` its
    :attr:`~gradwatch.activations.Activation.homogeneous_moment` (:math:`\sigma_w^2` for
    ``identity``, :math:`\sigma_w^2/2` for ``relu``); Gauss-Hermite quadrature otherwise.

    Parameters
    ----------
    activation : str or Activation
    sigma_w : float
    sigma_b : float, default 0.0
    q : float, optional
        Pre-activation variance; by default :func:`q_fixed_point`.

    Returns
    -------
    float
        :math:`\chi_1`: below 1 gradients vanish with depth, above 1 they explode.

    Examples
    --------
    >>> import gradwatch as gw
    >>> round(gw.theory.chi_1("relu", sigma_w=2 ** 0.5), 12)
    1.0
    >>> round(gw.theory.chi_1("tanh", sigma_w=1.5, sigma_b=0.3), 3)
    1.061
    """
    act, w, b = _network(activation, sigma_w, sigma_b)
    moment = act.homogeneous_moment
    if moment is not None:
        return moment * w * w
    variance = q_fixed_point(act, w, b) if q is None else _check_sigma(q, "q", allow_zero=True)
    return w * w * float(gaussian_expectation(lambda z: act.derivative(z) ** 2, variance))


def depth_scale(chi: float) -> float:
    r"""Return the depth scale :math:`\xi = -1/\log\chi_1` of the gradient :cite:p:`schoenholz2017`.

    The squared gradient norm changes like :math:`\chi_1^{l} = e^{-l/\xi}` over :math:`l`
    layers: positive :math:`\xi` (ordered phase) is the number of layers over which it falls by
    a factor :math:`e`; negative :math:`\xi` (chaotic phase) means growth by :math:`e` every
    :math:`|\xi|` layers; at :math:`\chi_1 = 1` it is infinite.

    Parameters
    ----------
    chi : float
        :math:`\chi_1 > 0`.

    Returns
    -------
    float
        :math:`\xi` in layers: positive in the ordered phase, negative in the chaotic one.

    Examples
    --------
    >>> import gradwatch as gw
    >>> round(gw.theory.depth_scale(0.5), 4), gw.theory.depth_scale(1.0)
    (1.4427, inf)
    """
    value = check_positive(chi, "chi")
    if value == 1.0:
        return float("inf")
    return -1.0 / float(np.log(value))


@dataclass(frozen=True)
class MeanField:
    r"""Mean-field prediction for one (activation, :math:`\sigma_w`, :math:`\sigma_b`).

    Attributes
    ----------
    activation : str
    sigma_w, sigma_b : float
    q_star : float
        Fixed point of the variance map.
    chi_1 : float
        Per-layer factor of the squared gradient norm.
    depth_scale : float
        :math:`-1/\log\chi_1`.
    phase : str
        ``"ordered"`` (:math:`\chi_1 < 1`), ``"chaotic"`` (:math:`> 1`) or ``"critical"``
        (within ``1e-9`` of 1).
    """

    activation: str
    sigma_w: float
    sigma_b: float
    q_star: float
    chi_1: float
    depth_scale: float
    phase: str

    def gradient_profile(self, depth: int) -> Array:
        r"""Predicted :math:`\lVert\partial L/\partial a^{(l)}\rVert^2` relative to the output's.

        Parameters
        ----------
        depth : int
            Number of layers :math:`L`.

        Returns
        -------
        ndarray, shape (depth + 1,)
            Entry :math:`l` is :math:`\chi_1^{L-l}`: entry 0 at the input, the last (1) at the
            output.

        Examples
        --------
        >>> import gradwatch as gw
        >>> gw.theory.mean_field("relu", sigma_w=1.0).gradient_profile(2).tolist()
        [0.25, 0.5, 1.0]
        """
        layers = check_positive_int(depth, "depth")
        result: Array = self.chi_1 ** np.arange(layers, -1, -1, dtype=np.float64)
        return result


def mean_field(
    activation: str | activations.Activation, sigma_w: float, sigma_b: float = 0.0
) -> MeanField:
    r"""Compute the fixed point, :math:`\chi_1`, depth scale and phase of a wide random network.

    Parameters
    ----------
    activation : str or Activation
    sigma_w : float
    sigma_b : float, default 0.0

    Returns
    -------
    MeanField
        With :meth:`MeanField.gradient_profile`, the squared gradient norm at every layer.

    Examples
    --------
    >>> import gradwatch as gw
    >>> mf = gw.theory.mean_field("tanh", sigma_w=1.0, sigma_b=0.05)
    >>> mf.phase, round(mf.chi_1, 3)
    ('ordered', 0.934)
    """
    act = activations.get(activation)
    q_star = q_fixed_point(act, sigma_w, sigma_b)
    chi = chi_1(act, sigma_w, sigma_b, q=q_star)
    phase = "critical" if abs(chi - 1.0) <= 1e-9 else ("ordered" if chi < 1.0 else "chaotic")
    return MeanField(
        activation=act.name,
        sigma_w=float(sigma_w),
        sigma_b=float(sigma_b),
        q_star=q_star,
        chi_1=chi,
        depth_scale=depth_scale(chi),
        phase=phase,
    )


def chi_1_grid(
    activation: str | activations.Activation,
    sigma_w: Sequence[float] | Array,
    sigma_b: Sequence[float] | Array,
    max_iter: int = 2000,
) -> Array:
    r"""Compute :math:`\chi_1` over a grid of :math:`(\sigma_w, \sigma_b)`: the phase diagram.

    The fixed points of all grid points are found together (vectorised iteration). A point
    still moving after ``max_iter`` steps lies next to the critical point :math:`\sigma_b = 0`,
    :math:`\sigma_w g'(0) = 1`, where :math:`q^* \to 0` only like :math:`1/l`; its value is
    taken at the last iterate, where :math:`\chi_1` is already within about :math:`10^{-3}`.

    Parameters
    ----------
    activation : str or Activation
        A bounded activation such as ``tanh`` or ``sigmoid``; for an unbounded one every grid
        point must have a finite fixed point.
    sigma_w : sequence of float, shape (n_w,)
    sigma_b : sequence of float, shape (n_b,)
    max_iter : int, default 2000

    Returns
    -------
    ndarray, shape (n_b, n_w)
        ``chi[i, j]`` is :math:`\chi_1` at ``sigma_b[i]``, ``sigma_w[j]`` (rows for
        :math:`\sigma_b`, as an image with :math:`\sigma_w` on the horizontal axis).

    Examples
    --------
    >>> import gradwatch as gw
    >>> chi = gw.theory.chi_1_grid("tanh", [0.5, 1.0, 2.0], [0.1, 0.5])
    >>> chi.shape, bool(chi[0, 0] < 1 < chi[0, 2])
    ((2, 3), True)
    """
    act = activations.get(activation)
    ws = np.asarray(sigma_w, dtype=np.float64)
    bs = np.asarray(sigma_b, dtype=np.float64)
    for name, values in (("sigma_w", ws), ("sigma_b", bs)):
        if values.ndim != 1 or values.size == 0 or np.any(~np.isfinite(values)):
            raise ValueError(f"{name} must be a non-empty 1-D sequence of finite numbers")
    if np.any(ws <= 0) or np.any(bs < 0):
        raise ValueError("sigma_w must be positive and sigma_b non-negative")
    W, B = np.meshgrid(ws, bs)
    moment = act.homogeneous_moment
    if moment is not None:
        result: Array = moment * W * W
        return result
    q, _ = _iterate_q(act, sigma_w=W, sigma_b=B, q0=1.0, tol=1e-12, max_iter=int(max_iter))
    chi: Array = W * W * gaussian_expectation(lambda z: act.derivative(z) ** 2, q)
    return chi


def critical_sigma_w(
    activation: str, sigma_b: float = 0.0, bracket: tuple[float, float] = (0.1, 10.0)
) -> float:
    r"""Find the weight scale on the edge of chaos, :math:`\chi_1(\sigma_w, \sigma_b) = 1`.

    Found by bisection on :math:`\log\chi_1`, which grows with :math:`\sigma_w` for the
    activations of this library, to within :math:`10^{-7}`.

    Parameters
    ----------
    activation : str
    sigma_b : float, default 0.0
    bracket : (float, float), default (0.1, 10.0)
        Interval of :math:`\sigma_w` known to hold the root.

    Returns
    -------
    float
        :math:`\sigma_w` on the edge of chaos, where gradients neither vanish nor explode.

    Raises
    ------
    ValueError
        If :math:`\chi_1 - 1` does not change sign over ``bracket``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> round(gw.theory.critical_sigma_w("relu"), 6)
    1.414214
    >>> round(gw.theory.critical_sigma_w("tanh", sigma_b=0.05), 3)
    1.123
    """
    low, high = (float(v) for v in bracket)
    act = activations.get(activation)

    def excess(w: float) -> float:
        return float(np.log(chi_1(act, w, sigma_b)))

    if not (excess(low) < 0 < excess(high)):
        raise ValueError(
            f"chi_1 - 1 does not change sign over bracket={bracket!r} for {act.name} "
            f"with sigma_b={sigma_b!r}"
        )
    return bisect(excess, low, high, tol=1e-7, max_iter=60)


def bisect(
    f: Callable[[float], float], low: float, high: float, *, tol: float = 0.0, max_iter: int = 200
) -> float:
    r"""Find the root of an increasing function by bisection.

    Halves ``[low, high]`` ``max_iter`` times, keeping the half where ``f`` changes sign
    (``f(mid) < 0`` moves ``low`` up, anything else moves ``high`` down), and stops early once
    the interval is narrower than ``tol``. The defaults halve it 200 times: down to rounding.
    The caller makes sure that ``f(low) < 0 <= f(high)``; otherwise the halvings drift to
    whichever end of the bracket ``f`` points them to.

    Parameters
    ----------
    f : callable, float to float
        Increasing over ``[low, high]``.
    low, high : float
        The bracket, ``low < high``.
    tol : float, default 0.0
        Stop once ``high - low < tol``.
    max_iter : int, default 200
        Most halvings.

    Returns
    -------
    float
        The midpoint of the last interval.

    Examples
    --------
    >>> import gradwatch as gw
    >>> round(gw.theory.bisect(lambda x: x * x - 2.0, 0.0, 2.0), 12)
    1.414213562373
    """
    for _ in range(max_iter):
        mid = 0.5 * (low + high)
        if f(mid) < 0:
            low = mid
        else:
            high = mid
        if high - low < tol:
            break
    return 0.5 * (low + high)


# ---------------------------------------------------------------------------------------------
# Saturation: how many units of a layer sit where the activation is flat.


def saturation_thresholds(activation: str | activations.Activation) -> tuple[float, float]:
    r"""Pre-activations at which the activation's output leaves its unsaturated interval.

    The outputs :math:`a = g(z)` outside the activation's ``saturation_interval``
    :math:`(a_-, a_+)` count as saturated; for an increasing :math:`g` that is
    :math:`z \le g^{-1}(a_-)` or :math:`z \ge g^{-1}(a_+)`.

    Parameters
    ----------
    activation : str or Activation
        An activation with a ``saturation_interval``.

    Returns
    -------
    (float, float)
        :math:`(g^{-1}(a_-), g^{-1}(a_+))`, found by :func:`bisect`.

    Raises
    ------
    ValueError
        If the activation does not saturate.

    Examples
    --------
    >>> [round(t, 3) for t in saturation_thresholds("tanh")]   # atanh(0.97)
    [-2.092, 2.092]
    >>> [round(t, 3) for t in saturation_thresholds("sigmoid")]  # logit(0.97)
    [-3.476, 3.476]
    """
    act = activations.get(activation)
    if act.saturation_interval is None:
        raise ValueError(
            f"activation={act.name!r} does not saturate: it has no saturation_interval"
        )
    low, high = act.saturation_interval

    def inverse(a: float) -> float:
        return bisect(lambda z: float(act(np.array([z]))[0]) - a, -50.0, 50.0)

    return inverse(low), inverse(high)


def saturated_fraction(activation: str | activations.Activation, q: float) -> float:
    r"""Fraction of saturated units when the pre-activations are :math:`\mathcal N(0, q)`.

    .. math::

        P = \Phi\!\left(\frac{z_-}{\sqrt q}\right) + 1 - \Phi\!\left(\frac{z_+}{\sqrt q}\right)

    with the thresholds :math:`z_\pm` of :func:`saturation_thresholds`.

    Parameters
    ----------
    activation : str or Activation
        An activation with a ``saturation_interval``.
    q : float
        Variance of the pre-activations, positive.

    Returns
    -------
    float

    Examples
    --------
    >>> round(saturated_fraction("tanh", 1.0), 4)   # |z| > 2.09 for a standard normal z
    0.0365
    """
    q = check_positive(q, "q")
    z_low, z_high = saturation_thresholds(activation)
    s = math.sqrt(q)
    return _normal_cdf(z_low / s) + 1.0 - _normal_cdf(z_high / s)


def _normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


# ---------------------------------------------------------------------------------------------
# The correlation map: how two inputs' pre-activations become alike (or not) with depth
# (Poole et al. 2016; Schoenholz et al. 2017).
# ---------------------------------------------------------------------------------------------
#
# Two inputs whose pre-activations at layer l-1 have variance q* and correlation c give, at layer
# l, pre-activations u1 = sqrt(q*) z1 and u2 = sqrt(q*) (c z1 + sqrt(1 - c^2) z2), with z1, z2
# independent standard normals; the c-map averages over both. A positively homogeneous g is
# g(u) = g(1) relu(u) + g(-1) relu(-u), whose averages are the arc-cosine kernels of ReLU.


def _pair_expectation(f: Any, g: Any, q: float, c: float | Array, n_points: int = 101) -> Array:
    r"""Compute :math:`\mathbb E[f(u_1)\, g(u_2)]` by a 2-D Gauss-Hermite rule."""
    nodes, weights = _gaussian_rule(n_points)
    corr = np.asarray(c, dtype=np.float64)[..., None, None]
    root = np.sqrt(q)
    u1 = root * nodes[:, None]
    u2 = root * (corr * nodes[:, None] + np.sqrt(np.clip(1.0 - corr * corr, 0.0, None)) * nodes)
    values = np.asarray(f(u1), dtype=np.float64) * np.asarray(g(u2), dtype=np.float64)
    result: Array = np.einsum("...ij,i,j->...", values, weights, weights)
    return result


def _homogeneous_pair(act: activations.Activation, q: float, c: Array) -> tuple[Array, Array]:
    r"""Compute :math:`\mathbb E[g(u_1)g(u_2)]` and :math:`\mathbb E[g'(u_1)g'(u_2)]` exactly.

    For :math:`g(u) = a\,\mathrm{relu}(u) + b\,\mathrm{relu}(-u)` (every positively homogeneous
    activation, :math:`a = g(1)`, :math:`b = g(-1)`), with :math:`\theta = \arccos c`.
    """
    a = float(act(np.ones(1))[0])
    b = float(act(-np.ones(1))[0])
    theta = np.arccos(np.clip(c, -1.0, 1.0))
    sine = np.sqrt(np.clip(1.0 - c * c, 0.0, None))

    def kernel(cos: Array, angle: Array) -> Array:  # E[relu(u1) relu(u2)] at correlation cos
        value: Array = q / (2.0 * np.pi) * (sine + (np.pi - angle) * cos)
        return value

    values: Array = (a * a + b * b) * kernel(c, theta) + 2.0 * a * b * kernel(-c, np.pi - theta)
    slopes: Array = ((a * a + b * b) * (np.pi - theta) - 2.0 * a * b * theta) / (2.0 * np.pi)
    return values, slopes


def c_map(
    c: float | Array,
    activation: str | activations.Activation,
    sigma_w: float,
    sigma_b: float = 0.0,
    q: float | None = None,
) -> Array:
    r"""Apply one layer of the correlation map (the c-map).

    .. math::

        c \mapsto \frac{1}{q^*}\Big(\sigma_w^2\,\mathbb E\big[g(u_1)\,g(u_2)\big] + \sigma_b^2\Big),
        \quad u_1 = \sqrt{q^*} z_1,\ u_2 = \sqrt{q^*}\big(c z_1 + \sqrt{1 - c^2}\, z_2\big),

    with :math:`z_1, z_2` independent standard normals :cite:p:`poole2016`. :math:`c^{(l)}` is
    the correlation between the pre-activations of two inputs at layer :math:`l`, once their
    variances have settled at :math:`q^*`. :math:`c = 1` (the same input) is always a fixed
    point. Closed forms (arc-cosine kernels) for positively homogeneous activations, a 2-D
    Gauss-Hermite rule otherwise.

    Parameters
    ----------
    c : float or ndarray, shape (...)
        Correlations in :math:`[-1, 1]`.
    activation : str or Activation
    sigma_w : float
    sigma_b : float, default 0.0
    q : float, optional
        The pre-activations' variance; by default :func:`q_fixed_point`. It must be positive.

    Returns
    -------
    ndarray, shape of ``c``
        :math:`c^{(l+1)}`, the next layer's correlation, for each ``c``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> round(float(gw.theory.c_map(1.0, "tanh", sigma_w=1.5, sigma_b=0.3)), 9)
    1.0
    >>> round(float(gw.theory.c_map(0.0, "relu", sigma_w=2 ** 0.5, q=1.0)), 4)  # 1/pi
    0.3183
    """
    act, w, b = _network(activation, sigma_w, sigma_b)
    corr = _check_correlations(c)
    variance = q_fixed_point(act, w, b) if q is None else _check_sigma(q, "q", allow_zero=False)
    if variance == 0.0:
        raise ValueError(
            f"q* = 0 for {act.name} at sigma_w={w}, sigma_b={b}: every input maps to 0 and "
            f"the correlation is undefined; pass a positive q"
        )
    if act.homogeneous_moment is not None:
        products, _ = _homogeneous_pair(act, variance, corr)
    else:
        products = _pair_expectation(act, act, variance, corr)
    result: Array = (w * w * products + b * b) / variance
    return result


def chi_c(
    activation: str | activations.Activation,
    sigma_w: float,
    sigma_b: float = 0.0,
    c: float | None = None,
) -> float:
    r"""Slope of the c-map at a correlation, by default at its stable fixed point :math:`c^*`.

    .. math:: \chi_c = \sigma_w^2\, \mathbb E\big[g'(u_1)\, g'(u_2)\big]

    (:math:`u_1, u_2` as in :func:`c_map`, at :math:`q^*` and :math:`c^*`)
    :cite:p:`schoenholz2017`. Near :math:`c^*` a layer multiplies
    :math:`c^{(l)} - c^*` by :math:`\chi_c`. At :math:`c = 1` it equals :func:`chi_1`: in the
    ordered phase, where :math:`c^* = 1`, the forward correlations and the backward gradients
    share one depth scale.

    Parameters
    ----------
    activation : str or Activation
    sigma_w : float
    sigma_b : float, default 0.0
    c : float, optional
        Correlation in :math:`[-1, 1]`; by default :func:`c_fixed_point`.

    Returns
    -------
    float
        The c-map's slope at ``c``: near :math:`c^*` a layer multiplies :math:`c - c^*` by it.

    Examples
    --------
    >>> import gradwatch as gw
    >>> round(gw.theory.chi_c("tanh", 1.5, 0.3, c=1.0) - gw.theory.chi_1("tanh", 1.5, 0.3), 9)
    0.0
    >>> round(gw.theory.chi_c("relu", 2 ** 0.5, c=0.0), 4)  # half the units of each: 1/2
    0.5
    """
    act, w, b = _network(activation, sigma_w, sigma_b)
    corr = c_fixed_point(act, w, b) if c is None else float(_check_correlations(c))
    if act.homogeneous_moment is not None:
        _, slopes = _homogeneous_pair(act, 1.0, np.asarray(corr))
        return w * w * float(slopes)
    variance = q_fixed_point(act, w, b)
    return w * w * float(_pair_expectation(act.derivative, act.derivative, variance, corr))


def c_fixed_point(
    activation: str | activations.Activation,
    sigma_w: float,
    sigma_b: float = 0.0,
    *,
    c0: float = 0.0,
    tol: float = 1e-12,
    max_iter: int = 100_000,
) -> float:
    r"""Find the stable fixed point :math:`c^*` of :func:`c_map`.

    In the ordered phase (:math:`\chi_1 \le 1`), :math:`c = 1` is stable: every pair of inputs
    ends up with the same pre-activations, and ``1.0`` is returned. In the chaotic phase
    (:math:`\chi_1 > 1`) it is unstable, and the map is iterated from ``c0``, as a deep network
    iterates it, to the stable :math:`c^* < 1`: nearby inputs end up decorrelated
    :cite:p:`poole2016,schoenholz2017`.

    Parameters
    ----------
    activation : str or Activation
    sigma_w : float
    sigma_b : float, default 0.0
    c0 : float, default 0.0
        Starting correlation of the iteration, in :math:`[-1, 1)`.
    tol : float, default 1e-12
        Stop when one step changes :math:`c` by at most ``tol``.
    max_iter : int, default 100_000

    Returns
    -------
    float
        :math:`c^*`, in :math:`[-1, 1]`: 1 in the ordered phase, below 1 in the chaotic one.

    Raises
    ------
    RuntimeError
        If the iteration has not converged after ``max_iter`` steps (next to the edge of
        chaos, where :math:`\chi_c \to 1`).

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.theory.c_fixed_point("tanh", sigma_w=1.0, sigma_b=0.3)   # ordered
    1.0
    >>> round(gw.theory.c_fixed_point("tanh", sigma_w=2.5, sigma_b=0.3), 4)   # chaotic
    0.1221
    """
    act, w, b = _network(activation, sigma_w, sigma_b)
    start = float(_check_correlations(c0))
    check_positive(tol, "tol")
    iterations = check_positive_int(max_iter, "max_iter")
    if chi_1(act, w, b) <= 1.0 + 1e-12:  # ordered, or critical up to rounding (He: 2**0.5)
        return 1.0
    variance = q_fixed_point(act, w, b)
    c = start
    for _ in range(iterations):
        new = float(c_map(c, act, w, b, q=variance))
        if abs(new - c) <= tol:
            return new
        c = new
    raise RuntimeError(
        f"the c-map of {act.name} did not converge in max_iter={max_iter} steps "
        f"(sigma_w={w}, sigma_b={b}); next to the edge of chaos it converges ever more slowly"
    )


@dataclass(frozen=True)
class Correlation:
    r"""The forward correlation of a wide random network: :math:`c^*` and its depth scale.

    Attributes
    ----------
    activation, sigma_w, sigma_b, q_star
        As in :class:`MeanField`, but ``q_star`` is 1 for a positively homogeneous activation
        without bias (see :func:`correlation`).
    c_star : float
        Stable fixed point of the correlation map (1 in the ordered phase).
    chi_c : float
        Slope of the c-map at :math:`c^*`.
    depth_scale : float
        :math:`\xi_c = -1/\log\chi_c`: :math:`|c^{(l)} - c^*|` falls by a factor :math:`e`
        every :math:`\xi_c` layers, so after a few :math:`\xi_c` layers the output no longer
        tells inputs apart. Infinite on the edge of chaos.

    Examples
    --------
    >>> import gradwatch as gw
    >>> corr = gw.theory.correlation("tanh", sigma_w=1.0, sigma_b=0.3)
    >>> corr.c_star, round(corr.depth_scale, 2)
    (1.0, 2.81)
    """

    activation: str
    sigma_w: float
    sigma_b: float
    q_star: float
    c_star: float
    chi_c: float
    depth_scale: float

    def profile(self, depth: int, c0: float) -> Array:
        r"""Predicted correlation at every layer, from :math:`c^{(0)} = ` ``c0`` by the c-map.

        Parameters
        ----------
        depth : int
            Number of layers :math:`L`.
        c0 : float
            Correlation of the first layer's pre-activations.

        Returns
        -------
        ndarray, shape (depth + 1,)
            Entry :math:`l` is :math:`c^{(l)}`: entry 0 is ``c0``.

        Examples
        --------
        >>> import gradwatch as gw
        >>> corr = gw.theory.correlation("relu", sigma_w=2 ** 0.5)
        >>> corr.profile(2, 0.0).round(4).tolist()
        [0.0, 0.3183, 0.4937]
        """
        layers = check_positive_int(depth, "depth")
        values = [float(_check_correlations(c0))]
        for _ in range(layers):
            values.append(
                float(c_map(values[-1], self.activation, self.sigma_w, self.sigma_b, self.q_star))
            )
        return np.asarray(values)


def correlation(
    activation: str | activations.Activation, sigma_w: float, sigma_b: float = 0.0
) -> Correlation:
    r"""Compute :math:`c^*`, :math:`\chi_c` and the correlation depth scale :math:`\xi_c`.

    :math:`\xi_c = -1/\log\chi_c` sets how deep a random network can still tell its inputs
    apart; :cite:t:`schoenholz2017` found that networks train only when their depth is below
    about :math:`6\,\xi_c`. It diverges on the edge of chaos.

    Parameters
    ----------
    activation : str or Activation
    sigma_w : float
    sigma_b : float, default 0.0
        For a homogeneous activation without bias (:math:`q^* = 0` or any :math:`q`), the
        variance is taken as 1: the correlation map does not depend on it.

    Returns
    -------
    Correlation
        With :meth:`Correlation.profile`, the correlation at every layer.

    Examples
    --------
    >>> import gradwatch as gw
    >>> corr = gw.theory.correlation("tanh", sigma_w=2.5, sigma_b=0.3)
    >>> round(corr.c_star, 4), round(corr.chi_c, 4), round(corr.depth_scale, 2)
    (0.1221, 0.8223, 5.11)
    """
    act, w, b = _network(activation, sigma_w, sigma_b)
    homogeneous_without_bias = act.homogeneous_moment is not None and b == 0.0
    q_star = 1.0 if homogeneous_without_bias else q_fixed_point(act, w, b)
    c_star = c_fixed_point(act, w, b)
    chi = chi_c(act, w, b, c=c_star)
    if abs(chi - 1.0) <= 1e-12:  # on the edge of chaos up to rounding (He: 2**0.5 squared)
        chi = 1.0
    return Correlation(
        activation=act.name,
        sigma_w=w,
        sigma_b=b,
        q_star=q_star,
        c_star=c_star,
        chi_c=chi,
        depth_scale=depth_scale(chi),
    )


# ---------------------------------------------------------------------------------------------
# The variance map iterated layer by layer (for the initialisation and concepts pages).
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MeanFieldLayers:
    r"""Layer-by-layer variances that mean-field theory predicts for a wide random network.

    Attributes
    ----------
    q : ndarray, shape (depth,)
        Variance of one pre-activation :math:`z^{(l)}_i`, first layer first.
    act_var : ndarray, shape (depth,)
        :math:`\operatorname{Var}(a^{(l)}) = E[g(z)^2] - E[g(z)]^2` with :math:`z \sim
        \mathcal N(0, q^{(l)})`.
    chi : ndarray, shape (depth,)
        :math:`\chi^{(l)} = \sigma_w^2 E[g'(z)^2]`: the factor by which crossing layer
        :math:`l` backwards multiplies the squared gradient :math:`\lVert\partial L/\partial
        a\rVert^2`. Not constant unless :math:`q^{(l)}` is.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> layers = gw.theory.MeanFieldLayers(np.ones(2), np.ones(2), np.array([0.5, 0.5]))
    >>> layers.input_ratio().round(3).tolist()
    [1.0, 0.707, 0.5]
    """

    q: Array
    act_var: Array
    chi: Array

    def input_ratio(self) -> Array:
        r"""Predict the gradient's size after each number of layers crossed from the output.

        Entry ``d`` of the result, shape ``(depth + 1,)``, is :math:`\lVert\partial L/\partial
        a^{(L-d)}\rVert / \lVert\partial L/\partial a^{(L)}\rVert`: the square root of the
        product of the last ``d`` factors ``chi``.
        """
        products = np.concatenate([[1.0], np.cumprod(self.chi[::-1])])
        return np.asarray(np.sqrt(products))


def mean_field_layers(
    activation: str, sigma_w: float, depth: int, input_variance: float = 1.0
) -> MeanFieldLayers:
    r"""Iterate the variance map through ``depth`` layers of a wide random network.

    Weights :math:`\mathcal N(0, \sigma_w^2/n_\text{in})`, zero biases, inputs of variance
    ``input_variance``: :math:`q^{(1)} = \sigma_w^2\,\text{input\_variance}` and
    :math:`q^{(l+1)} = \sigma_w^2 E[g(z^{(l)})^2]` (:func:`gradwatch.theory.q_map`)
    :cite:p:`poole2016,schoenholz2017`. Unlike the linear-regime factors of the initialisation
    experiment's ``variance_gains``, this follows tanh into its tails; at :math:`\sigma_w = 1`
    the variance of a tanh network falls like :math:`1/l`, a power law, not by a constant
    factor.

    Parameters
    ----------
    activation : str
    sigma_w : float
        :math:`\sigma_w^2 = n_\text{in} \operatorname{Var}(W)`.
    depth : int
    input_variance : float, default 1.0

    Returns
    -------
    MeanFieldLayers
        With :meth:`MeanFieldLayers.input_ratio`, the predicted gradient ratios.

    Examples
    --------
    >>> import gradwatch as gw
    >>> relu = gw.theory.mean_field_layers("relu", 2**0.5, 3)
    >>> relu.q.round(6).tolist(), relu.chi.round(6).tolist()
    ([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    >>> tanh = gw.theory.mean_field_layers("tanh", 1.0, 100)
    >>> round(float(tanh.q[-1] * 2 * 100), 1)       # q falls like 1/(2l)
    1.0
    """
    act = activations.get(activation)
    q = [sigma_w * sigma_w * input_variance]
    for _ in range(depth - 1):
        q.append(float(q_map(q[-1], act, sigma_w)))
    variances = np.asarray(q)
    mean = gaussian_expectation(act, variances)
    square = gaussian_expectation(lambda z: act(z) ** 2, variances)
    slope = gaussian_expectation(lambda z: act.derivative(z) ** 2, variances)
    return MeanFieldLayers(
        q=variances,
        act_var=np.asarray(square - mean * mean),
        chi=np.asarray(sigma_w * sigma_w * slope),
    )
