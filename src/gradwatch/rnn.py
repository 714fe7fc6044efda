r"""Recurrent networks trained with backpropagation through time, and the vanilla one.

At every time step :math:`t` the hidden state of the vanilla network :class:`RNN` is

.. math::

    h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b_h), \qquad y_t = h_t W_{hy} + b_y,

with :math:`h_0 = 0` and rows as samples. Backpropagation through time walks the steps in
reverse; the gradient reaching :math:`h_{t-k}` from :math:`h_t` is multiplied :math:`k` times
by :math:`\operatorname{diag}(1 - h^2) W_{hh}^\top`, the same product of factors as in a deep
network but with one shared matrix. When the spectral radius of :math:`W_{hh}` is below 1 the
gradient vanishes over time; above 1 it can explode (Bengio, Simard & Frasconi 1994; Pascanu,
Mikolov & Bengio 2013).

:class:`~gradwatch.rnn.Recurrent` holds what every recurrent network of the package shares
(the gated ones, :class:`gradwatch.LSTM` and :class:`gradwatch.GRU`, are in
:mod:`gradwatch.gated`): the input
checks, the linear read-out, the parameter lists, and truncated backpropagation through time
(``bptt_steps``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from gradwatch import losses
from gradwatch._validation import (
    Array,
    as_float_array,
    check_positive,
    check_positive_int,
    make_rng,
)
from gradwatch.layers import init_weight

__all__ = ["RNN", "Recurrent"]


class Recurrent:
    r"""What the recurrent networks share: checks, read-out, parameters and truncation.

    A subclass sets ``_NAMES`` (its parameters, each with a gradient ``d<name>``), the arrays
    ``W_xh``, ``W_hh``, ``W_hy`` and ``b_y``, and implements ``forward`` and ``backward``.

    Truncated backpropagation through time: with ``bptt_steps = k`` the backward pass treats
    the state :math:`k` steps before the end (and :math:`2k`, :math:`3k`, ... steps before it)
    as a constant, as PyTorch does for a state that is ``.detach()``-ed there. With one output
    at the end (``return_sequences=False``) the gradient then covers exactly the last
    :math:`k` steps; with an output at every step, each output's gradient reaches back to the
    start of its window of :math:`k` steps. ``None`` (the default) backpropagates through every
    step.
    """

    _NAMES: tuple[str, ...] = ()
    dtype: np.dtype[Any]
    return_sequences: bool
    W_xh: Array
    W_hh: Array
    W_hy: Array
    b_y: Array
    dW_hy: Array  # noqa: N815  (the maths' name)
    db_y: Array
    hidden_grad_norms: Array
    _bptt_steps: int | None = None

    @property
    def n_in(self) -> int:
        """Width of the input."""
        return int(self.W_xh.shape[0])

    @property
    def n_hidden(self) -> int:
        """Width of the hidden state."""
        return int(self.W_hh.shape[0])

    @property
    def n_out(self) -> int:
        """Width of the output."""
        return int(self.W_hy.shape[1])

    @property
    def bptt_steps(self) -> int | None:
        """Steps of truncated backpropagation through time, or ``None`` for all of them.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> rnn = gw.RNN(1, 4, 1, bptt_steps=3)
        >>> _ = rnn.loss_and_grads(np.ones((2, 5, 1)), np.zeros((2, 1)))
        >>> [bool(n > 0) for n in rnn.hidden_grad_norms]   # only the last 3 steps
        [False, False, True, True, True]
        >>> rnn.bptt_steps = None                          # back to full BPTT
        """
        return self._bptt_steps

    @bptt_steps.setter
    def bptt_steps(self, value: int | None) -> None:
        self._bptt_steps = None if value is None else check_positive_int(value, "bptt_steps")

    def _detached(self, t: int, n_steps: int) -> bool:
        """Whether truncation stops the gradient at the state before step ``t``."""
        k = self._bptt_steps
        return k is not None and (n_steps - t) % k == 0

    def params(self) -> list[Array]:
        """Return the parameters, the arrays themselves, in the order of :meth:`param_names`.

        Examples
        --------
        >>> import gradwatch as gw
        >>> [p.shape for p in gw.RNN(2, 3, 1).params()]
        [(2, 3), (3, 3), (3,), (3, 1), (1,)]
        """
        return [getattr(self, name) for name in self._NAMES]

    def grads(self) -> list[Array]:
        """Return the gradients in the order of :meth:`params`, the arrays themselves.

        Examples
        --------
        >>> import gradwatch as gw
        >>> len(gw.RNN(2, 3, 1).grads())
        5
        """
        return [getattr(self, "d" + name) for name in self._NAMES]

    def param_names(self) -> list[str]:
        """Names matching :meth:`params`.

        Examples
        --------
        >>> import gradwatch as gw
        >>> gw.RNN(2, 3, 1).param_names()
        ['W_xh', 'W_hh', 'b_h', 'W_hy', 'b_y']
        """
        return list(self._NAMES)

    def _zero_grads(self) -> None:
        for name in self._NAMES:
            setattr(self, "d" + name, np.zeros_like(getattr(self, name)))

    def _check_x(self, x: Array) -> Array:
        """``x`` as a 3-D array of ``self.dtype`` with ``n_in`` features and at least one step."""
        array = as_float_array(x, "x")
        if array.ndim != 3 or array.shape[2] != self.n_in:
            raise ValueError(
                f"x must have shape (n_samples, n_steps, {self.n_in}), got {array.shape}"
            )
        if array.shape[1] == 0:
            raise ValueError("x must have at least one time step")
        return np.asarray(array, dtype=self.dtype)

    def _read_out(self, h: Array) -> Array:
        """Read out the hidden states ``h``, shape ``(n_steps + 1, n_samples, n_hidden)``."""
        states = np.swapaxes(h[1:], 0, 1) if self.return_sequences else h[-1]
        return np.asarray(states @ self.W_hy + self.b_y)

    def _back_read_out(self, dy: Array, h: Array) -> tuple[Array, Array]:
        """Set ``dW_hy`` and ``db_y``; return ``dy`` checked and the output's gradient at h_T."""
        n_steps, n_samples = h.shape[0] - 1, h.shape[1]
        expected = (
            (n_samples, n_steps, self.n_out) if self.return_sequences else (n_samples, self.n_out)
        )
        grad_y = as_float_array(dy, "dy")
        if grad_y.shape != expected:
            raise ValueError(f"dy has shape {grad_y.shape} but the last output has {expected}")
        grad_y = np.asarray(grad_y, dtype=self.dtype)
        if self.return_sequences:
            self.dW_hy[...] = np.einsum("tnh,nto->ho", h[1:], grad_y)
            self.db_y[...] = grad_y.sum(axis=(0, 1))
            return grad_y, np.zeros((n_samples, self.n_hidden), dtype=self.dtype)
        self.dW_hy[...] = h[-1].T @ grad_y
        self.db_y[...] = grad_y.sum(axis=0)
        return grad_y, np.asarray(grad_y @ self.W_hy.T)

    def _dh_from_output(self, grad_y: Array, t: int) -> Array | float:
        """Return the gradient that the output of step ``t`` sends to its hidden state."""
        if self.return_sequences:
            return np.asarray(grad_y[:, t] @ self.W_hy.T)
        return 0.0

    def forward(self, x: Array) -> Array:
        """Run the sequence through the network (implemented by each network)."""
        raise NotImplementedError

    def backward(self, dy: Array) -> Array:
        """Backpropagate through time (implemented by each network)."""
        raise NotImplementedError

    def recurrent_jacobians(self, x: Array) -> Array:
        """Run ``x`` forward; return each step's state Jacobian (implemented by each network)."""
        raise NotImplementedError

    def loss_and_grads(
        self, x: Array, y: Array, loss: str | losses.Loss = "mse", loss_scale: float = 1.0
    ) -> tuple[float, list[Array]]:
        r"""Forward pass, loss and backpropagation through time in one call.

        As :meth:`gradwatch.Sequential.loss_and_grads`: the loss is computed in float32 or
        wider, and its gradient multiplied by ``loss_scale`` (positive, finite) before it is
        rounded to the network's dtype for the backward pass; the loss returned is unscaled.

        Raises
        ------
        ValueError
            If ``loss_scale`` is not a positive finite number.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> rnn = gw.RNN(1, 4, 1, seed=0)
        >>> loss, grads = rnn.loss_and_grads(np.ones((2, 5, 1)), np.zeros((2, 1)))
        >>> [g.shape for g in grads]
        [(1, 4), (4, 4), (4,), (4, 1), (1,)]
        >>> dW_hh = grads[1].copy()
        >>> _, scaled = rnn.loss_and_grads(np.ones((2, 5, 1)), np.zeros((2, 1)), loss_scale=4)
        >>> bool((scaled[1] == 4 * dW_hh).all())
        True
        """
        value, dy = losses.scaled_value_and_grad(loss, self.forward(x), y, loss_scale)
        self.backward(dy)
        return value, self.grads()


def init_blocks(
    initializer: str | Any,
    rows: int,
    width: int,
    n_blocks: int,
    rng: np.random.Generator,
    dtype: np.dtype[Any],
) -> Array:
    """Draw ``n_blocks`` matrices of shape ``(rows, width)`` side by side, each initialised alone.

    A gated network's weight holds one block per gate; each is initialised as the weight of a
    layer of its own, so a gate sees the same scale as the vanilla network's matrix.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.rnn import init_blocks
    >>> W = init_blocks("orthogonal", 3, 3, 4, np.random.default_rng(0), np.dtype(np.float64))
    >>> W.shape, W.flags.c_contiguous, bool(np.allclose(W[:, 3:6] @ W[:, 3:6].T, np.eye(3)))
    ((3, 12), True, True)
    """
    blocks = [init_weight(initializer, (rows, width), rng, dtype) for _ in range(n_blocks)]
    return np.ascontiguousarray(np.concatenate(blocks, axis=1))


class RNN(Recurrent):
    """Vanilla tanh recurrent network with a linear read-out.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Widths of the input, the hidden state and the output.
    return_sequences : bool, default False
        Output every step, shape ``(n_samples, n_steps, n_out)``, or only the last one,
        ``(n_samples, n_out)``.
    spectral_radius : float, optional
        If given, :math:`W_{hh}` is rescaled so that the largest absolute eigenvalue equals it.
    init : str or callable, default "xavier_uniform"
        Initialiser of :math:`W_{xh}` and :math:`W_{hy}`.
    recurrent_init : str or callable, default "orthogonal"
        Initialiser of :math:`W_{hh}`.
    bptt_steps : int, optional
        Truncated backpropagation through time over this many steps (see
        :class:`~gradwatch.rnn.Recurrent`); default: through every step.
    seed : int or numpy.random.Generator, default 0
    dtype : numpy floating dtype, default float64

    Attributes
    ----------
    W_xh : ndarray, shape (n_in, n_hidden)
    W_hh : ndarray, shape (n_hidden, n_hidden)
    b_h : ndarray, shape (n_hidden,)
    W_hy : ndarray, shape (n_hidden, n_out)
    b_y : ndarray, shape (n_out,)
    dW_xh, dW_hh, db_h, dW_hy, db_y : ndarray
        Gradients of the loss, set by :meth:`backward`.
    hidden_grad_norms : ndarray, shape (n_steps,)
        Set by :meth:`backward` (see there).

    Raises
    ------
    TypeError
        If ``spectral_radius`` is not a number, or ``seed`` or ``dtype`` has the wrong type.
    ValueError
        If a width, ``bptt_steps`` or ``spectral_radius`` is not positive, or ``seed`` is
        negative.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> rnn = gw.RNN(2, 8, 1, seed=0)
    >>> x = np.random.default_rng(0).normal(size=(4, 10, 2))   # 4 sequences of 10 steps
    >>> rnn.forward(x).shape
    (4, 1)
    >>> gw.gradcheck(rnn, x, np.zeros((4, 1))).passed
    True
    """

    _NAMES = ("W_xh", "W_hh", "b_h", "W_hy", "b_y")

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out: int,
        *,
        return_sequences: bool = False,
        spectral_radius: float | None = None,
        init: str | Any = "xavier_uniform",
        recurrent_init: str | Any = "orthogonal",
        bptt_steps: int | None = None,
        seed: int | np.random.Generator = 0,
        dtype: DTypeLike = np.float64,
    ) -> None:
        n_in = check_positive_int(n_in, "n_in")
        n_hidden = check_positive_int(n_hidden, "n_hidden")
        n_out = check_positive_int(n_out, "n_out")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"dtype must be a floating-point type, got {self.dtype}")
        radius_wanted = (
            None if spectral_radius is None else check_positive(spectral_radius, "spectral_radius")
        )
        self.bptt_steps = bptt_steps
        rng = make_rng(seed, "seed")
        self.return_sequences = bool(return_sequences)
        self.W_xh = init_weight(init, (n_in, n_hidden), rng, self.dtype)
        self.W_hh = np.ascontiguousarray(
            init_weight(recurrent_init, (n_hidden, n_hidden), rng, self.dtype)
        )
        if radius_wanted is not None:
            radius = float(np.max(np.abs(np.linalg.eigvals(self.W_hh))))
            if radius == 0:
                raise ValueError("recurrent_init gave W_hh with spectral radius 0; cannot rescale")
            self.W_hh *= radius_wanted / radius
        self.b_h = np.zeros(n_hidden, dtype=self.dtype)
        self.W_hy = init_weight(init, (n_hidden, n_out), rng, self.dtype)
        self.b_y = np.zeros(n_out, dtype=self.dtype)
        self.dW_xh: Array
        self.dW_hh: Array
        self.db_h: Array
        self._zero_grads()
        self._x: Array | None = None
        self._h: Array | None = None  # (n_steps + 1, n_samples, n_hidden), h[0] = 0
        #: Gradient size at each time step after :meth:`backward` (see there).
        self.hidden_grad_norms: Array = np.zeros(0, dtype=self.dtype)

    def forward(self, x: Array) -> Array:
        """Run the sequence through the network, keeping every hidden state.

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_steps, n_in)

        Returns
        -------
        ndarray
            ``(n_samples, n_steps, n_out)`` with ``return_sequences``, else ``(n_samples, n_out)``.

        Raises
        ------
        ValueError
            If ``x`` is not 3-D with ``n_in`` features, or has no time step.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> gw.RNN(2, 3, 1, return_sequences=True).forward(np.zeros((5, 7, 2))).shape
        (5, 7, 1)
        """
        array = self._check_x(x)
        n_samples, n_steps, _ = array.shape
        h = np.zeros((n_steps + 1, n_samples, self.n_hidden), dtype=self.dtype)
        inputs = array @ self.W_xh + self.b_h  # every step's input term at once
        for t in range(n_steps):
            h[t + 1] = np.tanh(inputs[:, t] + h[t] @ self.W_hh)
        self._x, self._h = array, h
        return self._read_out(h)

    __call__ = forward

    def backward(self, dy: Array) -> Array:
        r"""Backpropagate through time: set every gradient and return :math:`\partial L/\partial x`.

        Also records ``hidden_grad_norms``: the root-mean-square over samples of
        :math:`\lVert \partial L/\partial h_t \rVert` for each step ``t`` (entry 0 is the
        first step), the quantity that vanishes or explodes over time. With ``bptt_steps`` set,
        the gradient stops at the state ``bptt_steps`` steps before the end (see
        :class:`~gradwatch.rnn.Recurrent`).

        Parameters
        ----------
        dy : ndarray
            Gradient with respect to the output of the last :meth:`forward`.

        Returns
        -------
        ndarray, shape (n_samples, n_steps, n_in)

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        ValueError
            If ``dy`` does not have the shape of the last output.
        """
        if self._x is None or self._h is None:
            raise RuntimeError("backward called before forward: run forward(x) first")
        x, h = self._x, self._h
        n_steps, n_samples = h.shape[0] - 1, h.shape[1]
        grad_y, dh = self._back_read_out(dy, h)
        dz = np.empty((n_steps, n_samples, self.n_hidden), dtype=self.dtype)
        norms = np.empty(n_steps, dtype=np.promote_types(self.dtype, np.float32))
        for t in range(n_steps - 1, -1, -1):
            dh = dh + self._dh_from_output(grad_y, t)
            norms[t] = np.linalg.norm(dh.astype(norms.dtype, copy=False)) / np.sqrt(n_samples)
            dz[t] = dh * (1.0 - h[t + 1] * h[t + 1])
            dh = np.zeros_like(dh) if self._detached(t, n_steps) else dz[t] @ self.W_hh.T
        self.dW_hh[...] = np.tensordot(h[:-1], dz, axes=([0, 1], [0, 1]))
        self.dW_xh[...] = np.tensordot(x, dz, axes=([1, 0], [0, 1]))
        self.db_h[...] = dz.sum(axis=(0, 1))
        self.hidden_grad_norms = norms
        return np.asarray(np.swapaxes(dz, 0, 1) @ self.W_xh.T)

    def recurrent_jacobians(self, x: Array) -> Array:
        r"""Run ``x`` forward; return every step's Jacobian :math:`\partial h_t/\partial h_{t-1}`.

        In the column-vector convention,
        :math:`J_t = \operatorname{diag}(1 - h_t^2)\, W_{hh}^\top`: entry ``[n, t, i, j]`` is
        :math:`\partial h_{t,i}/\partial h_{t-1,j}` for sample ``n`` at step ``t`` (entry 0 is
        the first step). The gradient backpropagated through the step is
        :math:`\partial L/\partial h_{t-1} = \partial L/\partial h_t\, J_t` (a row vector times
        :math:`J_t`).

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_steps, n_in)

        Returns
        -------
        ndarray, shape (n_samples, n_steps, n_hidden, n_hidden)

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> rnn = gw.RNN(1, 3, 1, seed=0)
        >>> J = rnn.recurrent_jacobians(np.zeros((2, 4, 1)))   # zero input: h stays 0
        >>> J.shape, bool(np.allclose(J[0, 0], rnn.W_hh.T))
        ((2, 4, 3, 3), True)
        """
        self.forward(x)
        assert self._h is not None
        slope = 1.0 - np.swapaxes(self._h[1:], 0, 1) ** 2
        return np.asarray(slope[..., :, None] * self.W_hh.T)

    def __repr__(self) -> str:
        radius = float(np.max(np.abs(np.linalg.eigvals(self.W_hh))))
        return (
            f"RNN(n_in={self.n_in}, n_hidden={self.n_hidden}, n_out={self.n_out}, "
            f"spectral_radius={radius:.3g}, dtype={self.dtype.name})"
        )
