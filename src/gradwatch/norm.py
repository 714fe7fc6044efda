r"""Normalisation layers: :class:`LayerNorm` and :class:`BatchNorm`, as PyTorch defines them.

Both standardise and then scale and shift, :math:`y = \gamma \odot \hat x + \beta` with
:math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \varepsilon}` and the biased variance
:math:`\sigma^2`; they differ in what the statistics average over. :class:`LayerNorm` averages
each sample's row over its ``n`` features; :class:`BatchNorm` averages each feature's column
over the batch (in training mode). Backward, with
:math:`\delta = \gamma \odot \partial L/\partial y` and means over the statistics' axis,

.. math::

    \frac{\partial L}{\partial x} = \frac{1}{\sqrt{\sigma^2 + \varepsilon}}
    \Big(\delta - \operatorname{mean}(\delta)
    - \hat x\, \operatorname{mean}(\delta \odot \hat x)\Big),

the gradient of standardising: the two subtracted terms are the paths through :math:`\mu` and
:math:`\sigma^2`. It is orthogonal to the constant vector and to :math:`\hat x`, so a
normalised layer's gradient never has a component that would only shift or rescale its input.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import DTypeLike

from gradwatch._validation import (
    Array,
    as_float_array,
    check_positive,
    check_positive_int,
    check_real,
    widened,
)
from gradwatch.layers import Layer, check_dtype

__all__ = ["BatchNorm", "LayerNorm"]


def standardise_backward(
    delta: Array, x_hat: Array, inv_std: Array, mean_delta: Array, mean_projection: Array
) -> Array:
    r"""Backpropagate through :math:`\hat x = (x - \mu)/\sigma`; ``delta`` is overwritten.

    .. math::

        \frac{\partial L}{\partial x} = \frac{1}{\sigma}\Big(\delta - \overline{\delta}
        - \hat x\, \overline{\delta \hat x}\Big),

    the bars being means over the axis that :math:`\mu` and :math:`\sigma` were taken over.
    The callers form the two means from sums they need anyway (see :class:`LayerNorm` and
    :class:`BatchNorm`), which saves two passes over the data.

    Parameters
    ----------
    delta : ndarray
        :math:`\delta = \partial L/\partial \hat x`; the result is written into it.
    x_hat : ndarray
        The standardised values of the forward pass.
    inv_std : ndarray
        :math:`1/\sqrt{\sigma^2 + \varepsilon}`, broadcastable against ``x_hat``.
    mean_delta, mean_projection : ndarray
        :math:`\overline{\delta}` and :math:`\overline{\delta \hat x}`, broadcastable
        against ``x_hat``.

    Returns
    -------
    ndarray
        :math:`\partial L/\partial x`: ``delta`` itself.

    Examples
    --------
    >>> import numpy as np
    >>> x_hat, delta = np.array([[-1.0, 1.0]]), np.array([[3.0, 3.0]])  # a shift
    >>> standardise_backward(delta, x_hat, np.ones((1, 1)), np.array([[3.0]]), np.zeros((1, 1)))
    array([[0., 0.]])
    """
    delta -= mean_delta
    delta -= x_hat * mean_projection
    delta *= inv_std
    return delta


def _mean(a: Array, axis: int) -> Array:
    """``a.mean(axis, keepdims=True)`` without its Python overhead (these arrays are small)."""
    total: Array = np.add.reduce(a, axis=axis, keepdims=True)
    total /= a.shape[axis]
    return total


def _moments(x: Array, axis: int) -> tuple[Array, Array, Array]:
    """Return the mean along ``axis``, ``x`` minus it, and the biased variance.

    The mean and the variance keep ``axis`` with length 1, so that they broadcast against ``x``.
    """
    mean = _mean(x, axis)
    centred = x - mean
    return mean, centred, _mean(centred * centred, axis)


class _AffineGrads(NamedTuple):
    """What the backward passes of both layers share, all in the computing dtype."""

    dy: Array  # dL/dy, checked
    x_hat: Array
    inv_std: Array
    delta: Array  # dy * gamma, dL/dx-hat: a new array, which the backward pass may overwrite
    dy_x_hat: Array  # dy * x_hat
    sum_dy: Array  # over the samples: dbeta before its rounding to the parameters' dtype
    sum_dy_x_hat: Array  # likewise, dgamma


class _AffineNormalisation(Layer):
    """Shared parts: the widths, the affine parameters and their gradients."""

    def __init__(self, n: int, eps: float, dtype: DTypeLike) -> None:
        self.n = check_positive_int(n, "n")
        self.eps = check_positive(eps, "eps")
        self.dtype: np.dtype[Any] = check_dtype(dtype)
        self.gamma: Array = np.ones(self.n, dtype=self.dtype)
        self.beta: Array = np.zeros(self.n, dtype=self.dtype)
        self.dgamma: Array = np.zeros_like(self.gamma)
        self.dbeta: Array = np.zeros_like(self.beta)
        self._x_hat: Array | None = None
        self._inv_std: Array | None = None
        self._out_dtype: np.dtype[Any] = self.dtype  # of the last forward's output, and of dx

    @property
    def n_in(self) -> int:
        """Number of features, ``n``."""
        return self.n

    @property
    def n_out(self) -> int:
        """Number of features, ``n``."""
        return self.n

    def params(self) -> list[Array]:
        """Return ``[gamma, beta]``, the arrays themselves."""
        return [self.gamma, self.beta]

    def grads(self) -> list[Array]:
        """Return ``[dgamma, dbeta]``, set by :meth:`backward`."""
        return [self.dgamma, self.dbeta]

    def param_names(self) -> list[str]:
        """Return ``["gamma", "beta"]``."""
        return ["gamma", "beta"]

    def _check(self, x: Array) -> None:
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ValueError(
                f"x must have shape (n_samples, {self.n}) for {type(self).__name__}(n={self.n}), "
                f"got shape {x.shape}"
            )

    def _standardise(self, centred: Array, variance: Array) -> Array:
        """Return the scaled and shifted standardised values; keep x-hat and the inverse std.

        ``centred`` and ``variance`` are in the computing dtype (float32 for float16, see
        ``widened``); the output is rounded to ``_out_dtype``, which :meth:`forward` sets.
        """
        self._inv_std = inv_std = 1.0 / np.sqrt(variance + self.eps)
        self._x_hat = x_hat = centred * inv_std
        y: Array = x_hat * self.gamma
        y += self.beta
        return y.astype(self._out_dtype, copy=False)

    def _start_forward(self, x: Array) -> Array:
        """Check ``x``, set the output's dtype (that of ``x`` with the parameters'), widen ``x``."""
        self._check(x)
        self._out_dtype = np.result_type(x, self.gamma)
        return widened(x)

    def _affine_backward(self, dy: Array) -> _AffineGrads:
        """Check ``dy``, set ``dgamma`` and ``dbeta``, and return what both layers' backward use.

        ``dy * gamma`` is the gradient at x-hat, a new array; ``dy * x_hat`` is summed over the
        samples into ``dgamma``, ``dy`` into ``dbeta``. The sums are also returned in the
        computing dtype (float32 for float16, see ``widened``), before ``dgamma`` and ``dbeta``
        round them to the parameters' dtype.
        """
        if self._x_hat is None or self._inv_std is None:
            raise RuntimeError(
                f"backward called before forward: run forward(x) first ({type(self).__name__})"
            )
        grad = as_float_array(dy, "dy")
        if grad.shape != self._x_hat.shape:
            raise ValueError(
                f"dy has shape {grad.shape} but the last forward output has shape "
                f"{self._x_hat.shape} ({type(self).__name__})"
            )
        grad = widened(grad)
        dy_x_hat = grad * self._x_hat
        sum_dy_x_hat = np.add.reduce(dy_x_hat, axis=0)
        sum_dy = np.add.reduce(grad, axis=0)
        self.dgamma[...] = sum_dy_x_hat
        self.dbeta[...] = sum_dy
        return _AffineGrads(
            dy=grad,
            x_hat=self._x_hat,
            inv_std=self._inv_std,
            delta=grad * self.gamma,
            dy_x_hat=dy_x_hat,
            sum_dy=sum_dy,
            sum_dy_x_hat=sum_dy_x_hat,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.n}, eps={self.eps:g}, dtype={self.dtype.name})"


class LayerNorm(_AffineNormalisation):
    r"""Layer normalisation (Ba et al., 2016): each sample standardised over its features.

    .. math::

        y = \gamma \odot \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}} + \beta, \qquad
        \mu = \frac1n \sum_j x_j, \quad \sigma^2 = \frac1n \sum_j (x_j - \mu)^2,

    per row, exactly ``torch.nn.LayerNorm(n, eps)``. It computes the same thing in training
    and evaluation mode and does not couple the samples of a batch.

    Parameters
    ----------
    n : int
        Number of features (the width of the rows).
    eps : float, default 1e-5
        Added to the variance; positive.
    dtype : numpy floating dtype, default float64
        Of the parameters and their gradients. A float16 layer computes in float32 and rounds
        its output, ``dx`` and the gradients to float16, as PyTorch does: a float16 variance
        overflows once the values are a few hundred apart.

    Attributes
    ----------
    gamma, beta : ndarray, shape (n,)
        Scale (ones) and shift (zeros).
    dgamma, dbeta : ndarray, shape (n,)
        Their gradients, set by :meth:`backward`.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer or ``eps`` is not a positive finite number.
    TypeError
        If ``dtype`` is not a floating-point type.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> norm = gw.LayerNorm(3)
    >>> norm.forward(np.array([[1.0, 2.0, 3.0], [10.0, 10.0, 40.0]])).round(4)
    array([[-1.2247,  0.    ,  1.2247],
           [-0.7071, -0.7071,  1.4142]])
    >>> dx = norm.backward(np.ones((2, 3)))  # shifting every output: no gradient reaches x
    >>> bool(np.abs(dx).max() < 1e-12)
    True
    >>> norm.dbeta, norm.param_names()
    (array([2., 2., 2.]), ['gamma', 'beta'])
    """

    def __init__(self, n: int, eps: float = 1e-5, *, dtype: DTypeLike = np.float64) -> None:
        super().__init__(n, eps, dtype)

    def forward(self, x: Array, /) -> Array:
        """Standardise each row of ``x``, shape ``(n_samples, n)``, then scale and shift.

        Raises
        ------
        ValueError
            If ``x`` does not have ``n`` columns.
        """
        _, centred, variance = _moments(self._start_forward(x), 1)
        return self._standardise(centred, variance)

    def backward(self, dy: Array, /) -> Array:
        r"""Set ``dgamma`` and ``dbeta``; return :math:`\partial L/\partial x`.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        """
        g = self._affine_backward(dy)
        # The means over the features of delta = dy gamma and of delta x_hat are products with
        # gamma (one matrix-vector product each), so neither is formed as an array.
        gamma = widened(self.gamma)
        mean_delta = (g.dy @ gamma)[:, None] / self.n
        mean_projection = (g.dy_x_hat @ gamma)[:, None] / self.n
        dx = standardise_backward(g.delta, g.x_hat, g.inv_std, mean_delta, mean_projection)
        return dx.astype(self._out_dtype, copy=False)


class BatchNorm(_AffineNormalisation):
    r"""Batch normalisation (Ioffe and Szegedy, 2015) of ``(n_samples, n)`` inputs.

    In training mode each feature is standardised with the batch's mean and biased variance,
    and the gradient flows through those statistics; the running statistics move towards the
    batch's,

    .. math::

        \hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu_B, \qquad
        \hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,\tfrac{B}{B-1}\,\sigma_B^2,

    with the unbiased variance of the batch of :math:`B` samples. In evaluation mode
    (``eval()``) the running statistics standardise and nothing is updated. All of this is
    ``torch.nn.BatchNorm1d(n, eps, momentum)``.

    Parameters
    ----------
    n, eps, dtype
        As for :class:`LayerNorm`.
    momentum : float, default 0.1
        Weight :math:`m` of the new batch in the running statistics, in [0, 1].

    Attributes
    ----------
    gamma, beta, dgamma, dbeta : ndarray, shape (n,)
        As for :class:`LayerNorm`.
    running_mean, running_var : ndarray, shape (n,)
        Buffers, not parameters: zeros and ones at first.
    training : bool
        True at first; ``train()`` and ``eval()`` set it.

    Raises
    ------
    ValueError
        If ``n`` is not a positive integer, ``eps`` is not a positive finite number or
        ``momentum`` is outside [0, 1].
    TypeError
        If ``dtype`` is not a floating-point type or ``momentum`` is not a number.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> norm = gw.BatchNorm(2, momentum=0.5)
    >>> x = np.array([[1.0, 0.0], [3.0, 4.0]])
    >>> norm.forward(x).round(4)
    array([[-1., -1.],
           [ 1.,  1.]])
    >>> norm.running_mean, norm.running_var   # halfway to the batch's mean and unbiased variance
    (array([1., 1.]), array([1.5, 4.5]))
    >>> norm.eval().forward(x).round(4)
    array([[ 0.    , -0.4714],
           [ 1.633 ,  1.4142]])
    """

    def __init__(
        self,
        n: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        *,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__(n, eps, dtype)
        weight = check_real(momentum, "momentum")
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.momentum = weight
        self.running_mean: Array = np.zeros(self.n, dtype=self.dtype)
        self.running_var: Array = np.ones(self.n, dtype=self.dtype)
        self._batch_statistics = True

    def forward(self, x: Array, /) -> Array:
        """Standardise each column of ``x``, shape ``(n_samples, n)``, then scale and shift.

        Raises
        ------
        ValueError
            If ``x`` does not have ``n`` columns, or has one row in training mode (a batch of
            one sample has no variance to standardise with).
        """
        x = self._start_forward(x)
        if self.training:
            n_samples = x.shape[0]
            if n_samples < 2:
                raise ValueError(
                    f"BatchNorm in training mode needs more than one sample per batch, got x "
                    f"of shape {x.shape}; call eval() to use the running statistics"
                )
            mean, centred, variance = _moments(x, 0)
            m = self.momentum
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean[0]
            self.running_var *= 1.0 - m
            self.running_var += (m * n_samples / (n_samples - 1)) * variance[0]
        else:
            centred = x - widened(self.running_mean)
            variance = widened(self.running_var)
        self._batch_statistics = self.training
        return self._standardise(centred, variance)

    def backward(self, dy: Array, /) -> Array:
        r"""Set ``dgamma`` and ``dbeta``; return :math:`\partial L/\partial x`.

        After a training-mode forward pass the gradient includes the paths through the batch
        statistics; after an evaluation-mode pass the statistics are constants and
        :math:`\partial L/\partial x = \gamma\, \partial L/\partial y / \sqrt{\hat\sigma^2 +
        \varepsilon}`.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        """
        g = self._affine_backward(dy)
        if not self._batch_statistics:
            g.delta[...] *= g.inv_std
            return g.delta.astype(self._out_dtype, copy=False)
        # The means over the samples of delta = dy gamma and of delta x_hat are gamma times the
        # sums just taken for dbeta and dgamma.
        n_samples = g.dy.shape[0]
        gamma = widened(self.gamma)
        mean_delta = gamma * g.sum_dy / n_samples
        mean_projection = gamma * g.sum_dy_x_hat / n_samples
        dx = standardise_backward(g.delta, g.x_hat, g.inv_std, mean_delta, mean_projection)
        return dx.astype(self._out_dtype, copy=False)

    def __repr__(self) -> str:
        return (
            f"BatchNorm({self.n}, eps={self.eps:g}, momentum={self.momentum:g}, "
            f"dtype={self.dtype.name})"
        )
