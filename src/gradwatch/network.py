r"""A multilayer perceptron: a list of :class:`~gradwatch.layers.Dense` layers.

Backpropagation runs the layers in reverse, each turning :math:`\partial L/\partial a^{(l)}`
into :math:`\partial L/\partial a^{(l-1)}`. Written out for a whole network, the gradient
reaching the input is the product of every layer's transposed weights and activation slopes,

.. math::

    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}
    \prod_{l=L}^{1} \operatorname{diag}\!\big(g'(z^{(l)})\big) W^{(l)\top},

and that product is where gradients vanish or explode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from gradwatch import activations, losses
from gradwatch._validation import Array, as_float_array, check_positive_int, make_rng
from gradwatch.layers import Dense

__all__ = ["MLP"]


def _check_sizes(sizes: object) -> list[int]:
    """Return the widths as ints: any sequence of integers or 1-D integer array, two or more."""
    if isinstance(sizes, np.ndarray):
        if sizes.ndim != 1 or sizes.dtype.kind not in "iu":
            raise TypeError(
                f"sizes must be a sequence of ints or a 1-D integer array, got an array of "
                f"dtype {sizes.dtype} and shape {sizes.shape}"
            )
        sizes = sizes.tolist()
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a sequence of ints, got {sizes!r}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output width, got {sizes!r}")
    return [check_positive_int(n, f"sizes[{i}]") for i, n in enumerate(sizes)]


def _check_activations(activation: object, widths: list[int]) -> list[str | activations.Activation]:
    """Return one activation (a name or an instance) per hidden layer."""
    n_hidden = len(widths) - 2
    expected = "a name such as 'tanh', an Activation, or a list of them (one per hidden layer)"
    if isinstance(activation, (str, activations.Activation)):
        return [activation] * n_hidden
    if isinstance(activation, (bytes, np.ndarray)) or not isinstance(activation, Sequence):
        raise TypeError(f"activation must be {expected}, got {activation!r}")
    hidden = list(activation)
    if len(hidden) != n_hidden:
        raise ValueError(
            f"activation lists {len(hidden)} activations but sizes {widths} has {n_hidden} "
            f"hidden layers"
        )
    for i, item in enumerate(hidden):
        if not isinstance(item, (str, activations.Activation)):
            raise TypeError(f"activation[{i}] must be a name or an Activation, got {item!r}")
    return hidden


class MLP:
    """Multilayer perceptron with a vectorised forward and backward pass.

    Parameters
    ----------
    sizes : sequence of int or 1-D integer ndarray
        Widths ``[n_in, hidden_1, ..., n_out]``; at least two entries.
    activation : str, Activation or sequence of them, default "tanh"
        Activation of the hidden layers: one for all, or one per hidden layer.
    output_activation : str or Activation, default "identity"
        Activation of the last layer.
    init : str or callable, default "xavier_uniform"
        Initialiser of every weight matrix (see :mod:`gradwatch.init`); options can be bound with
        :func:`gradwatch.init.get`, e.g. ``init=gw.init.get("normal", std=0.1)``.
    bias_init : str or callable, default "zeros"
        Initialiser of every bias.
    seed : int or numpy.random.Generator, default 0
        Source of the initial weights: the same seed gives the same network.
    dtype : numpy floating dtype, default float64
        Every parameter, gradient and intermediate array has this dtype; inputs are converted.

    Attributes
    ----------
    layers : list of Dense

    Raises
    ------
    TypeError
        If ``sizes`` is neither a sequence of ints nor a 1-D integer array, ``activation`` is
        neither a name, an Activation nor a list of them, or ``seed`` or ``dtype`` has the
        wrong type.
    ValueError
        If a width is not a positive integer, the activations do not match the hidden layers,
        or ``seed`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 4, 1], activation="sigmoid", seed=0)
    >>> x = np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> net.forward(x).shape
    (2, 1)
    >>> loss, grads = net.loss_and_grads(x, np.array([[1.0], [0.0]]), loss="mse")
    >>> [g.shape for g in grads]
    [(2, 4), (4,), (4, 1), (1,)]
    """

    def __init__(
        self,
        sizes: Sequence[int] | NDArray[np.integer[Any]],
        activation: str | activations.Activation | Sequence[str | activations.Activation] = "tanh",
        output_activation: str | activations.Activation = "identity",
        init: str | Any = "xavier_uniform",
        bias_init: str | Any = "zeros",
        seed: int | np.random.Generator = 0,
        dtype: DTypeLike = np.float64,
    ) -> None:
        widths = _check_sizes(sizes)
        hidden = _check_activations(activation, widths)
        rng = make_rng(seed, "seed")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"dtype must be a floating-point type, got {self.dtype}")
        self.layers: list[Dense] = [
            Dense(
                int(n_in),
                int(n_out),
                act,
                init=init,
                bias_init=bias_init,
                rng=rng,
                dtype=self.dtype,
            )
            for n_in, n_out, act in zip(
                widths[:-1], widths[1:], [*hidden, output_activation], strict=True
            )
        ]
        self._output_shape: tuple[int, ...] | None = None

    @property
    def sizes(self) -> list[int]:
        """Widths ``[n_in, hidden_1, ..., n_out]``."""
        return [self.layers[0].n_in, *(layer.n_out for layer in self.layers)]

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return sum(p.size for p in self.params())

    def params(self) -> list[Array]:
        """Return ``[W1, b1, W2, b2, ...]``: the arrays themselves, so updates change the net.

        Examples
        --------
        >>> import gradwatch as gw
        >>> [p.shape for p in gw.MLP([3, 2, 1]).params()]
        [(3, 2), (2,), (2, 1), (1,)]
        """
        return [p for layer in self.layers for p in (layer.W, layer.b)]

    def grads(self) -> list[Array]:
        """Return ``[dW1, db1, dW2, db2, ...]``, set by :meth:`backward` (the arrays themselves).

        Examples
        --------
        >>> import gradwatch as gw
        >>> [g.shape for g in gw.MLP([3, 2, 1]).grads()]
        [(3, 2), (2,), (2, 1), (1,)]
        """
        return [g for layer in self.layers for g in (layer.dW, layer.db)]

    def param_names(self) -> list[str]:
        """Return names matching :meth:`params`: ``layers[0].W``, ``layers[0].b``, ...

        Examples
        --------
        >>> import gradwatch as gw
        >>> gw.MLP([3, 2, 1]).param_names()
        ['layers[0].W', 'layers[0].b', 'layers[1].W', 'layers[1].b']
        """
        return [f"layers[{i}].{name}" for i in range(len(self.layers)) for name in ("W", "b")]

    def _check_input(self, x: object) -> Array:
        array = as_float_array(x, "x")
        n_in = self.layers[0].n_in
        if array.ndim != 2:
            hint = "; for one sample use x[None, :]" if array.ndim == 1 else ""
            raise ValueError(
                f"x must be 2-D with shape (n_samples, {n_in}), got shape {array.shape}{hint}"
            )
        if array.shape[1] != n_in:
            raise ValueError(f"x has {array.shape[1]} features but layer 0 expects n_in={n_in}")
        return np.asarray(array, dtype=self.dtype)

    def forward(self, x: Array) -> Array:
        """Run every layer on ``x`` and keep what :meth:`backward` needs.

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_in)
            Converted to the network's dtype if it has another.

        Returns
        -------
        ndarray, shape (n_samples, n_out)

        Raises
        ------
        ValueError
            If ``x`` is not 2-D or its width is not ``n_in``.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> gw.MLP([2, 3, 1]).forward(np.zeros((5, 3)))
        Traceback (most recent call last):
        ...
        ValueError: x has 3 features but layer 0 expects n_in=2
        """
        a = self._check_input(x)
        for layer in self.layers:
            a = layer.forward(a)
        self._output_shape = a.shape
        return a

    __call__ = forward

    def backward(self, dy: Array) -> Array:
        r"""Backpropagate :math:`\partial L/\partial y`; set every layer's ``dW`` and ``db``.

        Parameters
        ----------
        dy : ndarray, shape (n_samples, n_out)
            Gradient of the loss with respect to the output of the last :meth:`forward`.

        Returns
        -------
        ndarray, shape (n_samples, n_in)
            :math:`\partial L/\partial x`.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        ValueError
            If ``dy`` does not have the shape of the last output.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> net = gw.MLP([2, 3, 1], activation="identity", init="ones")
        >>> y = net.forward(np.array([[1.0, 2.0]]))
        >>> net.backward(np.ones_like(y))
        array([[3., 3.]])
        """
        return self.layers[0].backward(self._backward_to_first_layer(dy))

    def _backward_to_first_layer(self, dy: Array) -> Array:
        r"""Check ``dy`` and backpropagate it through every layer but the first.

        Returns :math:`\partial L/\partial a^{(1)}`, what the first layer's backward pass
        takes: :meth:`backward` then asks it for ``dx``, :meth:`loss_and_grads` does not.
        """
        if self._output_shape is None:
            raise RuntimeError("backward called before forward: run forward(x) first")
        grad = as_float_array(dy, "dy")
        if grad.shape != self._output_shape:
            raise ValueError(
                f"dy has shape {grad.shape} but the last forward output has shape "
                f"{self._output_shape}"
            )
        grad = np.asarray(grad, dtype=self.dtype)
        for layer in reversed(self.layers[1:]):
            grad = layer.backward(grad)
        return grad

    def loss_and_grads(
        self, x: Array, y: Array, loss: str | losses.Loss = "mse"
    ) -> tuple[float, list[Array]]:
        r"""Forward pass, loss and backward pass in one call.

        Unlike :meth:`backward`, this does not compute :math:`\partial L/\partial x`,
        which nobody reads here: the first layer's backward pass skips that product.

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_in)
        y : ndarray
            Targets in the form the loss expects (see :mod:`gradwatch.losses`).
        loss : str or Loss, default "mse"

        Returns
        -------
        loss : float
        grads : list of ndarray
            :meth:`grads`, in the order of :meth:`params`.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> net = gw.MLP([1, 1], activation="identity", init="ones")
        >>> loss, grads = net.loss_and_grads(np.array([[2.0]]), np.array([[0.0]]))
        >>> loss, [g.tolist() for g in grads]
        (4.0, [[[8.0]], [4.0]])
        """
        loss_fn = losses.get(loss)
        y_pred = self.forward(x)
        value, dy = loss_fn.value_and_grad(y_pred, y)
        grad = self._backward_to_first_layer(dy)
        first = self.layers[0]
        if type(first).backward is Dense.backward:
            first.backward(grad, need_dx=False)
        else:  # a subclass's own backward may not take need_dx: call it as before
            first.backward(grad)
        return value, self.grads()

    def __repr__(self) -> str:
        hidden = {repr(layer.activation) for layer in self.layers[:-1]}
        activation = hidden.pop() if len(hidden) == 1 else ("mixed" if hidden else "None")
        return (
            f"MLP({self.sizes}, activation={activation}, "
            f"output_activation={self.layers[-1].activation!r}, dtype={self.dtype.name})"
        )
