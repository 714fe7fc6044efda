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
:mod:`gradwatch.gated`): the construction, the input checks, the linear read-out, the parameter
lists, the two ends of the backward pass and truncated backpropagation through time
(``bptt_steps``).
"""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

import numpy as np
from numpy.typing import DTypeLike

from gradwatch import losses
from gradwatch._validation import Array, as_float_array

# isort: split
from gradwatch._validation import check_positive, check_positive_int, make_rng, widened
from gradwatch.layers import check_dtype, init_weight

__all__ = ["RNN", "Recurrent"]


class RecurrentOptions(TypedDict, total=False):
    """The keyword arguments that :class:`RNN` and :class:`~gradwatch.LSTM` pass on.

    They are those of :class:`Recurrent`, which documents them.
    """

    return_sequences: bool
    init: str | Any
    recurrent_init: str | Any
    bptt_steps: int | None
    seed: int | np.random.Generator
    dtype: DTypeLike


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


def rms_norms(states: Array) -> Array:
    r"""Root-mean-square over samples of the rows' norms, one per step, in float32 or wider.

    Parameters
    ----------
    states : ndarray, shape (n_steps, n_samples, n_features)
        One gradient (or state) per step, a row per sample.

    Returns
    -------
    ndarray, shape (n_steps,)
        Entry ``t`` is :math:`\sqrt{\sum_n \lVert s_{t,n} \rVert^2 / N}`, ``N`` the number of
        samples.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.rnn import rms_norms
    >>> a = np.zeros((2, 4, 2), dtype=np.float16)
    >>> a[0, 0] = 300.0, 400.0                # the squares overflow float16, not float32
    >>> rms_norms(a).tolist()                 # sqrt((300^2 + 400^2) / 4), then nothing
    [250.0, 0.0]
    """
    wide = widened(states)  # float16 squares overflow
    return np.asarray(np.sqrt(np.einsum("tnh,tnh->t", wide, wide) / states.shape[1]))


class Recurrent:
    r"""What the recurrent networks share: construction, checks, read-out, parameters, truncation.

    Every recurrent network reads a batch of sequences ``x`` of shape
    ``(n_samples, n_steps, n_in)`` from a zero state and reads out
    :math:`y_t = h_t W_{hy} + b_y`. Its parameters are ``W_xh``, ``W_hh``, its biases,
    ``W_hy`` and ``b_y``, each with a gradient ``d<name>`` set by :meth:`backward`. A subclass
    sets ``_BLOCKS`` (the blocks of ``n_hidden`` columns in ``W_xh``, ``W_hh`` and each bias:
    one per gate) and, unless its one bias is ``b_h``, ``_BIASES`` (the names of its biases:
    the first is added to the input term :math:`x_t W_{xh}`, a second to the recurrent term
    :math:`h_{t-1} W_{hh}`), and implements :meth:`forward`, :meth:`backward` and
    :meth:`recurrent_jacobians`.

    Truncated backpropagation through time: with ``bptt_steps = k`` the backward pass treats
    the state :math:`k` steps before the end (and :math:`2k`, :math:`3k`, ... steps before it)
    as a constant, as PyTorch does for a state that is ``.detach()``-ed there. With one output
    at the end (``return_sequences=False``) the gradient then covers exactly the last
    :math:`k` steps; with an output at every step, each output's gradient reaches back to the
    start of its window of :math:`k` steps. ``None`` (the default) backpropagates through every
    step.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Widths of the input, the hidden state and the output.
    return_sequences : bool, default False
        Output every step, shape ``(n_samples, n_steps, n_out)``, or only the last one,
        ``(n_samples, n_out)``.
    init : str or callable, default "xavier_uniform"
        Initialiser of :math:`W_{hy}` and of each block of :math:`W_{xh}` (each drawn as an
        ``(n_in, n_hidden)`` matrix of its own, see ``init_blocks``).
    recurrent_init : str or callable, default "orthogonal"
        Initialiser of each ``(n_hidden, n_hidden)`` block of :math:`W_{hh}`.
    bptt_steps : int, optional
        Truncated backpropagation through time over this many steps (see above); default:
        through every step.
    seed : int or numpy.random.Generator, default 0
    dtype : numpy floating dtype, default float64

    Attributes
    ----------
    W_xh : ndarray, shape (n_in, _BLOCKS n_hidden)
    W_hh : ndarray, shape (n_hidden, _BLOCKS n_hidden)
    W_hy : ndarray, shape (n_hidden, n_out)
    b_y : ndarray, shape (n_out,)
        The other biases have shape ``(_BLOCKS n_hidden,)``; every bias starts at zero.
    dW_xh, dW_hh, dW_hy, db_y : ndarray
        Gradients of the loss, set by :meth:`backward` (as are those of the other biases).
    hidden_grad_norms : ndarray, shape (n_steps,)
        Set by :meth:`backward` (see there).

    Raises
    ------
    TypeError
        If ``seed``, ``dtype`` or ``return_sequences`` has the wrong type.
    ValueError
        If a width or ``bptt_steps`` is not positive, or ``seed`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> x, y = np.random.default_rng(0).normal(size=(4, 10, 2)), np.zeros((4, 1))
    >>> [gw.gradcheck(cls(2, 8, 1), x, y).passed for cls in (gw.RNN, gw.LSTM, gw.GRU)]
    [True, True, True]
    >>> gru = gw.GRU(2, 3, 1)                      # three gates: three blocks
    >>> gru.W_xh.shape, gru.param_names()
    ((2, 9), ['W_xh', 'W_hh', 'b_xh', 'b_hh', 'W_hy', 'b_y'])
    """

    _BLOCKS: int = 1
    _BIASES: tuple[str, ...] = ("b_h",)
    dtype: np.dtype[Any]
    return_sequences: bool
    W_xh: Array
    W_hh: Array
    W_hy: Array
    b_y: Array
    dW_xh: Array  # noqa: N815  (the maths' names)
    dW_hh: Array  # noqa: N815
    dW_hy: Array  # noqa: N815
    db_y: Array
    hidden_grad_norms: Array
    _bptt_steps: int | None = None

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out: int,
        *,
        return_sequences: bool = False,
        init: str | Any = "xavier_uniform",
        recurrent_init: str | Any = "orthogonal",
        bptt_steps: int | None = None,
        seed: int | np.random.Generator = 0,
        dtype: DTypeLike = np.float64,
    ) -> None:
        n_in = check_positive_int(n_in, "n_in")
        n_hidden = check_positive_int(n_hidden, "n_hidden")
        n_out = check_positive_int(n_out, "n_out")
        self.dtype = check_dtype(dtype)
        self.bptt_steps = bptt_steps
        rng = make_rng(seed, "seed")
        if not isinstance(return_sequences, (bool, np.bool_)):
            raise TypeError(f"return_sequences must be True or False, got {return_sequences!r}")
        self.return_sequences = bool(return_sequences)
        blocks = self._BLOCKS
        self.W_xh = init_blocks(init, n_in, n_hidden, blocks, rng, self.dtype)
        self.W_hh = init_blocks(recurrent_init, n_hidden, n_hidden, blocks, rng, self.dtype)
        for name in self._BIASES:
            setattr(self, name, np.zeros(blocks * n_hidden, dtype=self.dtype))
        self.W_hy = np.ascontiguousarray(init_weight(init, (n_hidden, n_out), rng, self.dtype))
        self.b_y = np.zeros(n_out, dtype=self.dtype)
        for name in self.param_names():
            setattr(self, "d" + name, np.zeros_like(getattr(self, name)))
        # What the last forward kept for backward: (x, h, ...), see _saved_by_forward.
        self._saved: tuple[Array, ...] | None = None
        #: Gradient size at each time step after :meth:`backward` (see there).
        self.hidden_grad_norms = np.zeros(0, dtype=self.dtype)

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
        return [getattr(self, name) for name in self.param_names()]

    def grads(self) -> list[Array]:
        """Return the gradients in the order of :meth:`params`, the arrays themselves.

        Examples
        --------
        >>> import gradwatch as gw
        >>> len(gw.RNN(2, 3, 1).grads())
        5
        """
        return [getattr(self, "d" + name) for name in self.param_names()]

    def param_names(self) -> list[str]:
        """Names matching :meth:`params`: the weights, the biases, then the read-out's.

        Examples
        --------
        >>> import gradwatch as gw
        >>> gw.RNN(2, 3, 1).param_names()
        ['W_xh', 'W_hh', 'b_h', 'W_hy', 'b_y']
        """
        return ["W_xh", "W_hh", *self._BIASES, "W_hy", "b_y"]

    def _start_forward(self, x: Array) -> tuple[Array, Array, Array]:
        r"""Check ``x``; return it, the states ``h`` to fill and every step's input term.

        ``x`` comes back as a 3-D array of ``self.dtype`` with ``n_in`` features and at least
        one step; ``h``, shape ``(n_steps + 1, n_samples, n_hidden)``, is zero (``h[0]`` is the
        start); the input term :math:`x_t W_{xh} + b` (``b`` the first of ``_BIASES``),
        computed for every step at once, has shape ``(n_steps, n_samples, _BLOCKS n_hidden)``.
        """
        array = as_float_array(x, "x")
        if array.ndim != 3 or array.shape[2] != self.n_in:
            raise ValueError(
                f"x must have shape (n_samples, n_steps, {self.n_in}), got {array.shape}"
            )
        if array.shape[1] == 0:
            raise ValueError("x must have at least one time step")
        array = np.asarray(array, dtype=self.dtype)
        n_samples, n_steps, _ = array.shape
        h = np.zeros((n_steps + 1, n_samples, self.n_hidden), dtype=self.dtype)
        bias = getattr(self, self._BIASES[0])
        return array, h, np.swapaxes(array @ self.W_xh + bias, 0, 1)

    def _read_out(self, h: Array) -> Array:
        """Read out the hidden states ``h``, shape ``(n_steps + 1, n_samples, n_hidden)``."""
        states = np.swapaxes(h[1:], 0, 1) if self.return_sequences else h[-1]
        return np.asarray(states @ self.W_hy + self.b_y)

    def _saved_by_forward(self) -> tuple[Array, ...]:
        """Return what the last :meth:`forward` kept: ``x``, the states ``h``, then the rest.

        A gated network keeps its gates third, then what else its backward pass needs.
        """
        if self._saved is None:
            raise RuntimeError("backward called before forward: run forward(x) first")
        return self._saved

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

    def _back_weights(self, d_input: Array, d_recurrent: Array) -> Array:
        r"""Set ``dW_xh``, ``dW_hh`` and the bias gradients; return :math:`\partial L/\partial x`.

        ``d_input`` and ``d_recurrent``, shape ``(n_steps, n_samples, _BLOCKS n_hidden)``, are
        the gradients at every step's input term :math:`x_t W_{xh} + b` and recurrent term
        :math:`h_{t-1} W_{hh} + b`: one array when the two are summed, as in the RNN and the
        LSTM (whose one bias ``b_h`` takes it), two for the GRU, whose reset gate multiplies
        a part of the recurrent term (its ``b_xh`` takes the first, ``b_hh`` the second).
        """
        x, h = self._saved_by_forward()[:2]
        self.dW_xh[...] = np.tensordot(x, d_input, axes=([1, 0], [0, 1]))
        self.dW_hh[...] = np.tensordot(h[:-1], d_recurrent, axes=([0, 1], [0, 1]))
        for name, grad in zip(self._BIASES, (d_input, d_recurrent), strict=False):
            getattr(self, "d" + name)[...] = grad.sum(axis=(0, 1))
        return np.asarray(np.swapaxes(d_input, 0, 1) @ self.W_xh.T)

    def forward(self, x: Array) -> Array:
        """Run the sequence through the network, keeping what :meth:`backward` needs.

        Each network implements it; this documents what they share.

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_steps, n_in)
            Converted to the network's dtype if it has another.

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
        >>> gw.LSTM(2, 3, 1, return_sequences=True).forward(np.zeros((5, 7, 2))).shape
        (5, 7, 1)
        >>> gw.GRU(2, 3, 1).forward(np.zeros((5, 7, 2))).shape
        (5, 1)
        """
        raise NotImplementedError

    def __call__(self, x: Array) -> Array:
        """Run :meth:`forward` on ``x``."""
        return self.forward(x)

    def backward(self, dy: Array) -> Array:
        r"""Backpropagate through time: set every gradient and return :math:`\partial L/\partial x`.

        Each network implements it; this documents what they share. Also records
        ``hidden_grad_norms``: the root-mean-square over samples of
        :math:`\lVert \partial L/\partial h_t \rVert` for each step ``t`` (entry 0 is the
        first step), the quantity that vanishes or explodes over time. With ``bptt_steps`` set,
        the gradient stops at the state ``bptt_steps`` steps before the end (see
        :class:`~gradwatch.rnn.Recurrent`). The errors are those of
        :meth:`gradwatch.Sequential.backward`.

        Parameters
        ----------
        dy : ndarray
            Gradient with respect to the output of the last :meth:`forward`.

        Returns
        -------
        ndarray, shape (n_samples, n_steps, n_in)

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> rnn = gw.RNN(1, 4, 1, seed=0)
        >>> y = rnn.forward(np.ones((2, 5, 1)))
        >>> rnn.backward(np.ones_like(y)).shape, rnn.hidden_grad_norms.shape
        ((2, 5, 1), (5,))
        """
        raise NotImplementedError

    def recurrent_jacobians(self, x: Array) -> Array:
        r"""Run ``x`` forward; return every step's Jacobian of the state.

        Each network implements it and gives its formula. Entry ``[n, t]`` is
        :math:`J_t = \partial s_t/\partial s_{t-1}` for sample ``n`` at step ``t`` (entry 0 is
        the first step), in the column-vector convention, where the state :math:`s_t` is
        :math:`h_t`, or :math:`(h_t, c_t)` for the LSTM. The gradient backpropagated through
        the step is :math:`\partial L/\partial s_{t-1} = \partial L/\partial s_t\, J_t` (a row
        vector times :math:`J_t`).

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_steps, n_in)

        Returns
        -------
        ndarray, shape (n_samples, n_steps, n_state, n_state)
            ``n_state`` is ``n_hidden``, or ``2 n_hidden`` for the LSTM.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> gw.GRU(1, 3, 1, seed=0).recurrent_jacobians(np.ones((2, 4, 1))).shape
        (2, 4, 3, 3)
        """
        raise NotImplementedError

    def loss_and_grads(
        self, x: Array, y: Array, loss: str | losses.Loss = "mse", loss_scale: float = 1.0
    ) -> tuple[float, list[Array]]:
        r"""Forward pass, loss and backpropagation through time in one call.

        Arguments, result and errors as for :meth:`gradwatch.Sequential.loss_and_grads`, with
        ``x`` of shape ``(n_samples, n_steps, n_in)``: the loss is computed in float32 or
        wider, and its gradient multiplied by ``loss_scale`` before it is rounded to the
        network's dtype for the backward pass; the loss returned is unscaled.

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

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_in={self.n_in}, n_hidden={self.n_hidden}, "
            f"n_out={self.n_out}, dtype={self.dtype.name})"
        )


def _spectral_radius(matrix: Array) -> float:
    """Return the largest absolute eigenvalue of a square matrix (computed in float32 or wider).

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.rnn import _spectral_radius
    >>> _spectral_radius(np.array([[0.0, 2.0], [-2.0, 0.0]]))   # eigenvalues 2i and -2i
    2.0
    """
    wide = widened(matrix)  # no float16 in linalg
    return float(np.max(np.abs(np.linalg.eigvals(wide))))


class RNN(Recurrent):
    """Vanilla tanh recurrent network with a linear read-out.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Widths of the input, the hidden state and the output.
    spectral_radius : float, optional
        If given, :math:`W_{hh}` is rescaled so that the largest absolute eigenvalue equals it.
    **options
        ``return_sequences``, ``init``, ``recurrent_init``, ``bptt_steps``, ``seed`` and
        ``dtype``, as for :class:`~gradwatch.rnn.Recurrent`.

    Attributes
    ----------
    W_xh : ndarray, shape (n_in, n_hidden)
    W_hh : ndarray, shape (n_hidden, n_hidden)
    b_h : ndarray, shape (n_hidden,)
    W_hy, b_y, hidden_grad_norms, dW_xh, dW_hh, db_h, dW_hy, db_y : ndarray
        As for :class:`~gradwatch.rnn.Recurrent`.

    Raises
    ------
    TypeError
        If ``spectral_radius`` is not a number; otherwise as for
        :class:`~gradwatch.rnn.Recurrent`.
    ValueError
        If ``spectral_radius`` is not positive, or :math:`W_{hh}` has spectral radius 0;
        otherwise as for :class:`~gradwatch.rnn.Recurrent`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> rnn = gw.RNN(2, 8, 1, spectral_radius=0.9, seed=0)
    >>> x = np.random.default_rng(0).normal(size=(4, 10, 2))   # 4 sequences of 10 steps
    >>> rnn.forward(x).shape
    (4, 1)
    >>> rnn
    RNN(n_in=2, n_hidden=8, n_out=1, spectral_radius=0.9, dtype=float64)
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out: int,
        *,
        spectral_radius: float | None = None,
        **options: Unpack[RecurrentOptions],
    ) -> None:
        wanted = (
            None if spectral_radius is None else check_positive(spectral_radius, "spectral_radius")
        )
        super().__init__(n_in, n_hidden, n_out, **options)
        if wanted is not None:
            radius = _spectral_radius(self.W_hh)
            if radius == 0:
                raise ValueError("recurrent_init gave W_hh with spectral radius 0; cannot rescale")
            self.W_hh *= wanted / radius

    def forward(self, x: Array) -> Array:
        r"""Run the sequence through :math:`h_t = \tanh(x_t W_{xh} + h_{t-1} W_{hh} + b_h)`.

        Keeps every hidden state for :meth:`backward`; shapes and errors as
        :meth:`Recurrent.forward <gradwatch.rnn.Recurrent.forward>`.
        """
        x, h, inputs = self._start_forward(x)  # every step's input term at once
        for t in range(len(inputs)):
            h[t + 1] = np.tanh(inputs[t] + h[t] @ self.W_hh)
        self._saved = (x, h)
        return self._read_out(h)

    def backward(self, dy: Array) -> Array:
        r"""Backpropagate through time, through :math:`h_t = \tanh(z_t)` at every step.

        Arguments, result, errors and ``hidden_grad_norms`` as
        :meth:`Recurrent.backward <gradwatch.rnn.Recurrent.backward>`.
        """
        h = self._saved_by_forward()[1]
        grad_y, dh = self._back_read_out(dy, h)
        n_steps = len(h) - 1
        slope = 1.0 - h[1:] * h[1:]  # tanh' at every step, from h_t = tanh(z_t)
        dhs = np.empty_like(slope)  # dL/dh_t at every step, for the norms
        dz = np.empty_like(slope)  # gradient at each step's z_t
        for t in reversed(range(n_steps)):
            dh = np.add(dh, self._dh_from_output(grad_y, t), out=dhs[t])
            np.multiply(dh, slope[t], out=dz[t])
            dh = np.zeros_like(dh) if self._detached(t, n_steps) else dz[t] @ self.W_hh.T
        self.hidden_grad_norms = rms_norms(dhs)
        return self._back_weights(dz, dz)

    def recurrent_jacobians(self, x: Array) -> Array:
        r"""Run ``x`` forward; return every step's Jacobian :math:`\partial h_t/\partial h_{t-1}`.

        :math:`J_t = \operatorname{diag}(1 - h_t^2)\, W_{hh}^\top`: entry ``[n, t, i, j]`` is
        :math:`\partial h_{t,i}/\partial h_{t-1,j}` for sample ``n`` at step ``t``. Shapes and
        conventions as :meth:`Recurrent.recurrent_jacobians
        <gradwatch.rnn.Recurrent.recurrent_jacobians>`.

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
        h = self._saved_by_forward()[1]
        slope = 1.0 - np.swapaxes(h[1:], 0, 1) ** 2
        return np.asarray(slope[..., :, None] * self.W_hh.T)

    def __repr__(self) -> str:
        return (
            f"RNN(n_in={self.n_in}, n_hidden={self.n_hidden}, n_out={self.n_out}, "
            f"spectral_radius={_spectral_radius(self.W_hh):.3g}, dtype={self.dtype.name})"
        )
