r"""A fully connected layer, :math:`a = g(x W + b)`, with its backward pass.

Rows are samples and columns are features: ``x`` is ``(n_samples, n_in)``, ``W`` is
``(n_in, n_out)`` and ``b`` is ``(n_out,)``. This is the transpose of the column-vector maths
:math:`z = W a + b` of most textbooks; the backward pass reads the same either way:

.. math::

    \frac{\partial L}{\partial z} = \frac{\partial L}{\partial a} \odot g'(z), \qquad
    \frac{\partial L}{\partial W} = x^\top \frac{\partial L}{\partial z}, \qquad
    \frac{\partial L}{\partial b} = \sum_\text{rows} \frac{\partial L}{\partial z}, \qquad
    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial z} W^\top .
"""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np
from numpy.typing import DTypeLike

from gradwatch import activations, init
from gradwatch._validation import Array, check_positive_int, make_rng

__all__ = ["Dense"]


class Dense:
    """Fully connected layer with an activation, keeping what its backward pass needs.

    Parameters
    ----------
    n_in, n_out : int
        Number of input and output features.
    activation : str or Activation, default "tanh"
        Applied elementwise to ``z = x @ W + b``.
    init : str or callable, default "xavier_uniform"
        Initialiser of ``W``, a name or a callable from :func:`gradwatch.init.get`.
    bias_init : str or callable, default "zeros"
        Initialiser of ``b`` (``zeros``, ``ones``, ``constant``, ``normal`` or ``uniform``).
    rng : numpy.random.Generator or int, default 0
        Source of the random draws.
    dtype : numpy floating dtype, default float64
        Dtype of the parameters, gradients and every array the layer computes.

    Attributes
    ----------
    W : ndarray, shape (n_in, n_out)
    b : ndarray, shape (n_out,)
    dW : ndarray, shape (n_in, n_out)
        Gradient of the loss with respect to ``W``, set by :meth:`backward`.
    db : ndarray, shape (n_out,)
        Gradient of the loss with respect to ``b``, set by :meth:`backward`.
    activation : Activation

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> layer = gw.Dense(3, 2, activation="relu", rng=0)
    >>> a = layer.forward(np.ones((4, 3)))
    >>> dx = layer.backward(np.ones_like(a))
    >>> a.shape, dx.shape, layer.dW.shape, layer.db.shape
    ((4, 2), (4, 3), (3, 2), (2,))
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        activation: str | activations.Activation = "tanh",
        *,
        init: str | Any = "xavier_uniform",
        bias_init: str | Any = "zeros",
        rng: np.random.Generator | int = 0,
        dtype: DTypeLike = np.float64,
    ) -> None:
        n_in = check_positive_int(n_in, "n_in")
        n_out = check_positive_int(n_out, "n_out")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"dtype must be a floating-point type, got {self.dtype}")
        generator = make_rng(rng)
        self.activation = activations.get(activation)
        self.W: Array = np.ascontiguousarray(
            init_weight(init, (int(n_in), int(n_out)), generator, self.dtype)
        )
        self.b: Array = init_weight(bias_init, (int(n_out),), generator, self.dtype)
        self.dW: Array = np.zeros_like(self.W)
        self.db: Array = np.zeros_like(self.b)
        self._x: Array | None = None
        self._cached: Array | None = None  # a = g(z) when the derivative needs only a, else z

    @property
    def n_in(self) -> int:
        """Number of input features."""
        return int(self.W.shape[0])

    @property
    def n_out(self) -> int:
        """Number of output features."""
        return int(self.W.shape[1])

    def forward(self, x: Array) -> Array:
        """Return :math:`a = g(x W + b)` and keep what :meth:`backward` needs.

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_in)
            Input, already of the layer's dtype (the network checks and converts).

        Returns
        -------
        ndarray, shape (n_samples, n_out)
        """
        z = x @ self.W
        z += self.b  # in place: no second (n_samples, n_out) array
        if self.activation.uses_output:  # g' will come from a, so z is not kept: overwrite it
            a = self._cached = self.activation.call_inplace(z)
        else:
            a = self.activation(z)
            self._cached = z
        self._x = x
        return a

    @overload
    def backward(self, da: Array, *, need_dx: Literal[True] = ...) -> Array: ...
    @overload
    def backward(self, da: Array, *, need_dx: Literal[False]) -> None: ...
    @overload
    def backward(self, da: Array, *, need_dx: bool) -> Array | None: ...

    def backward(self, da: Array, *, need_dx: bool = True) -> Array | None:
        r"""Backpropagate ``da`` = :math:`\partial L/\partial a`: set ``dW``, ``db``; return ``dx``.

        Parameters
        ----------
        da : ndarray, shape (n_samples, n_out)
            Of the layer's dtype (the network converts); it is read, never changed.
        need_dx : bool, default True
            Compute and return :math:`\partial L/\partial x = \partial L/\partial z\, W^\top`.
            A network's first layer has no one to pass it to: ``need_dx=False`` skips that
            product (one of the backward pass's two matrix products) and returns None.

        Returns
        -------
        ndarray, shape (n_samples, n_in), or None
            ``dx``; None when ``need_dx`` is False.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> layer = gw.Dense(2, 1, activation="identity", init="ones")
        >>> a = layer.forward(np.array([[1.0, 2.0]]))
        >>> layer.backward(np.ones_like(a))
        array([[1., 1.]])
        >>> layer.backward(np.ones_like(a), need_dx=False) is None, layer.dW.ravel().tolist()
        (True, [1.0, 2.0])
        """
        if self._x is None or self._cached is None:
            raise RuntimeError("backward called before forward: run forward(x) first")
        act = self.activation
        if type(act) is activations.Identity:  # g' = 1: nothing to multiply
            dz = da
        else:
            if act.uses_output:
                slope = act.derivative_from_output(self._cached)
            else:
                slope = act.derivative(self._cached)
            dz = np.multiply(da, slope, out=slope)  # the slope is a new array: reuse it for dz
        np.matmul(self._x.T, dz, out=self.dW)
        # db = dz.sum(0), written as the product (1, ..., 1) @ dz, which BLAS does faster
        np.matmul(np.ones(len(dz), dz.dtype), dz, out=self.db)
        if not need_dx:
            return None
        return dz @ self.W.T

    def __repr__(self) -> str:
        return (
            f"Dense(n_in={self.n_in}, n_out={self.n_out}, activation={self.activation!r}, "
            f"dtype={self.dtype.name})"
        )


def init_weight(
    initializer: str | Any, shape: tuple[int, ...], rng: np.random.Generator, dtype: np.dtype[Any]
) -> Array:
    """Draw one parameter array with an initialiser given by name or as a callable."""
    array = np.asarray(init.get(initializer)(shape, rng=rng, dtype=dtype))
    if array.shape != shape:
        raise ValueError(
            f"initialiser {initializer!r} returned shape {array.shape}, expected {shape}"
        )
    return array.astype(dtype, copy=False)
