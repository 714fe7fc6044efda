r"""Gated recurrent networks: the LSTM and the GRU, with PyTorch's equations and gate order.

Both read a batch of sequences ``x`` of shape ``(n_samples, n_steps, n_in)`` from a zero state
and read out :math:`y_t = h_t W_{hy} + b_y`, like :class:`gradwatch.RNN`; rows are samples, so
every weight is the transpose of PyTorch's.

The LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers, Schmidhuber & Cummins
2000) keeps a cell :math:`c_t` beside :math:`h_t`:

.. math::

    \begin{aligned}
    i_t &= \sigma(a_{i}), \quad f_t = \sigma(a_{f}), \quad g_t = \tanh(a_{g}), \quad
    o_t = \sigma(a_{o}), \qquad a = x_t W_{xh} + h_{t-1} W_{hh} + b_h, \\
    c_t &= f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t),
    \end{aligned}

so along the cell :math:`\partial c_t/\partial c_{t-1} = \operatorname{diag}(f_t)`: no weight
matrix and no squashing derivative, the "constant error carousel" when :math:`f_t = 1`.

The GRU (Cho et al. 2014), in PyTorch's form with the reset gate inside the product:

.. math::

    \begin{aligned}
    r_t &= \sigma(x_t W_{xr} + b_{xr} + h_{t-1} W_{hr} + b_{hr}), \quad
    z_t = \sigma(x_t W_{xz} + b_{xz} + h_{t-1} W_{hz} + b_{hz}), \\
    n_t &= \tanh\big(x_t W_{xn} + b_{xn} + r_t \odot (h_{t-1} W_{hn} + b_{hn})\big), \qquad
    h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1},
    \end{aligned}

whose Jacobian :math:`\partial h_t/\partial h_{t-1}` is :math:`\operatorname{diag}(z_t)` plus
terms through the gates: the update gate :math:`z_t` plays the forget gate's role.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from gradwatch._validation import Array, check_positive_int, check_real, make_rng
from gradwatch.layers import init_weight
from gradwatch.rnn import Recurrent, init_blocks

__all__ = ["GRU", "LSTM"]


def _sigmoid(z: Array) -> Array:
    r"""Return :math:`\sigma(z) = (1 + \tanh(z/2))/2`, which never overflows.

    Its derivative, :math:`\sigma (1 - \sigma)`, is written from the output where it is used.
    """
    return np.asarray(0.5 * np.tanh(0.5 * z) + 0.5)


def _check_widths(n_in: int, n_hidden: int, n_out: int) -> tuple[int, int, int]:
    return (
        check_positive_int(n_in, "n_in"),
        check_positive_int(n_hidden, "n_hidden"),
        check_positive_int(n_out, "n_out"),
    )


def _check_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    resolved = np.dtype(dtype)
    if resolved.kind != "f":
        raise TypeError(f"dtype must be a floating-point type, got {resolved}")
    return resolved


def _rms_norm(a: Array) -> float:
    """Root-mean-square over samples (rows) of the rows' norms, in float32 or wider."""
    wide = a.astype(np.promote_types(a.dtype, np.float32), copy=False)  # float16 overflows
    return float(np.linalg.norm(wide) / np.sqrt(a.shape[0]))


class LSTM(Recurrent):
    r"""Long short-term memory network with a linear read-out, in PyTorch's gate order.

    The columns of ``W_xh``, ``W_hh`` and ``b_h`` hold four blocks of ``n_hidden``, for the
    input gate :math:`i`, the forget gate :math:`f`, the cell candidate :math:`g` and the output
    gate :math:`o`: ``W_xh`` is ``torch.nn.LSTM``'s ``weight_ih_l0.T``, ``W_hh`` its
    ``weight_hh_l0.T`` and ``b_h`` its ``bias_ih_l0 + bias_hh_l0`` (the two biases only ever
    appear summed). :math:`h_0 = c_0 = 0`.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Widths of the input, the hidden state (and cell) and the output.
    return_sequences : bool, default False
        Output every step, ``(n_samples, n_steps, n_out)``, or only the last, ``(n_samples,
        n_out)``.
    forget_bias : float, default 1.0
        Added to the forget block of ``b_h`` at initialisation, so that :math:`f \approx
        \sigma(1) = 0.73` at the start (Gers et al. 2000; Jozefowicz, Zaremba & Sutskever
        2015); the other biases start at 0.
    init : str or callable, default "xavier_uniform"
        Initialiser of each gate's block of :math:`W_{xh}` (each drawn as an ``(n_in,
        n_hidden)`` matrix of its own) and of :math:`W_{hy}`.
    recurrent_init : str or callable, default "orthogonal"
        Initialiser of each gate's ``(n_hidden, n_hidden)`` block of :math:`W_{hh}`.
    bptt_steps : int, optional
        Truncated backpropagation through time (see :class:`gradwatch.rnn.Recurrent`).
    seed : int or numpy.random.Generator, default 0
    dtype : numpy floating dtype, default float64

    Attributes
    ----------
    W_xh : ndarray, shape (n_in, 4 n_hidden)
    W_hh : ndarray, shape (n_hidden, 4 n_hidden)
    b_h : ndarray, shape (4 n_hidden,)
    W_hy : ndarray, shape (n_hidden, n_out)
    b_y : ndarray, shape (n_out,)
    dW_xh, dW_hh, db_h, dW_hy, db_y : ndarray
        Gradients of the loss, set by :meth:`backward`.
    hidden_grad_norms, cell_grad_norms : ndarray, shape (n_steps,)
        Set by :meth:`backward` (see there).

    Raises
    ------
    TypeError
        If ``forget_bias`` is not a number, or ``seed`` or ``dtype`` has the wrong type.
    ValueError
        If a width or ``bptt_steps`` is not positive, or ``seed`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> lstm = gw.LSTM(2, 8, 1, seed=0)
    >>> [p.shape for p in lstm.params()]
    [(2, 32), (8, 32), (32,), (8, 1), (1,)]
    >>> lstm.b_h[8:16].tolist() == [1.0] * 8          # the forget block
    True
    >>> x = np.random.default_rng(0).normal(size=(4, 10, 2))
    >>> gw.gradcheck(lstm, x, np.zeros((4, 1))).passed
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
        forget_bias: float = 1.0,
        init: str | Any = "xavier_uniform",
        recurrent_init: str | Any = "orthogonal",
        bptt_steps: int | None = None,
        seed: int | np.random.Generator = 0,
        dtype: DTypeLike = np.float64,
    ) -> None:
        n_in, n_hidden, n_out = _check_widths(n_in, n_hidden, n_out)
        self.dtype = _check_dtype(dtype)
        bias = check_real(forget_bias, "forget_bias")
        self.bptt_steps = bptt_steps
        rng = make_rng(seed, "seed")
        self.return_sequences = bool(return_sequences)
        self.W_xh = init_blocks(init, n_in, n_hidden, 4, rng, self.dtype)
        self.W_hh = init_blocks(recurrent_init, n_hidden, n_hidden, 4, rng, self.dtype)
        self.b_h = np.zeros(4 * n_hidden, dtype=self.dtype)
        self.b_h[n_hidden : 2 * n_hidden] = bias
        self.W_hy = np.ascontiguousarray(init_weight(init, (n_hidden, n_out), rng, self.dtype))
        self.b_y = np.zeros(n_out, dtype=self.dtype)
        self.dW_xh: Array
        self.dW_hh: Array
        self.db_h: Array
        self._zero_grads()
        self._x: Array | None = None
        self._h: Array | None = None  # (n_steps + 1, n_samples, n_hidden), h[0] = 0
        self._c: Array | None = None  # the same for the cell
        self._act: Array | None = None  # (n_steps, n_samples, 4 n_hidden): i, f, g, o
        #: RMS over samples of the gradient's norm at each step's h (set by backward).
        self.hidden_grad_norms: Array = np.zeros(0, dtype=self.dtype)
        #: The same at each step's cell c.
        self.cell_grad_norms: Array = np.zeros(0, dtype=self.dtype)

    def forward(self, x: Array) -> Array:
        """Run the sequence through the network, keeping every state and gate.

        Shapes and errors as :meth:`gradwatch.RNN.forward`.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> gw.LSTM(2, 3, 1, return_sequences=True).forward(np.zeros((5, 7, 2))).shape
        (5, 7, 1)
        """
        array = self._check_x(x)
        n_samples, n_steps, _ = array.shape
        size = self.n_hidden
        h = np.zeros((n_steps + 1, n_samples, size), dtype=self.dtype)
        c = np.zeros_like(h)
        act = np.empty((n_steps, n_samples, 4 * size), dtype=self.dtype)
        inputs = np.swapaxes(array @ self.W_xh + self.b_h, 0, 1)  # (n_steps, n_samples, 4h)
        cell = slice(2 * size, 3 * size)
        for t in range(n_steps):
            a = inputs[t] + h[t] @ self.W_hh
            gates = act[t]
            gates[...] = _sigmoid(a)
            gates[:, cell] = np.tanh(a[:, cell])
            i, f, g, o = (gates[:, k * size : (k + 1) * size] for k in range(4))
            c[t + 1] = f * c[t] + i * g
            h[t + 1] = o * np.tanh(c[t + 1])
        self._x, self._h, self._c, self._act = array, h, c, act
        return self._read_out(h)

    __call__ = forward

    @property
    def gates(self) -> dict[str, Array]:
        """The gates of the last :meth:`forward`, each ``(n_samples, n_steps, n_hidden)``.

        Keys ``"input"``, ``"forget"``, ``"cell"`` (the candidate :math:`g`) and ``"output"``.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> lstm = gw.LSTM(1, 2, 1, forget_bias=0.0)
        >>> _ = lstm.forward(np.zeros((1, 3, 1)))
        >>> lstm.gates["forget"][0, 0].tolist()          # sigma(0) with zero input and state
        [0.5, 0.5]
        """
        if self._act is None:
            raise RuntimeError("gates are set by forward: run forward(x) first")
        size = self.n_hidden
        names = ("input", "forget", "cell", "output")
        return {
            name: np.swapaxes(self._act[:, :, k * size : (k + 1) * size], 0, 1)
            for k, name in enumerate(names)
        }

    def backward(self, dy: Array) -> Array:
        r"""Backpropagate through time: set every gradient and return :math:`\partial L/\partial x`.

        Records ``hidden_grad_norms`` and ``cell_grad_norms``: the root-mean-square over samples
        of :math:`\lVert \partial L/\partial h_t \rVert` and of
        :math:`\lVert \partial L/\partial c_t \rVert` (the whole derivative, through
        :math:`h_t` too) for each step ``t``, entry 0 being the first step.

        ``dy`` is the gradient with respect to the last output; the result has the shape of
        ``x``. Errors as :meth:`gradwatch.RNN.backward`.
        """
        if self._x is None or self._h is None or self._c is None or self._act is None:
            raise RuntimeError("backward called before forward: run forward(x) first")
        x, h, c, act = self._x, self._h, self._c, self._act
        n_steps, size = act.shape[0], self.n_hidden
        grad_y, dh = self._back_read_out(dy, h)
        dc = np.zeros_like(dh)
        da = np.empty_like(act)
        hidden_norms = np.empty(n_steps, dtype=np.promote_types(self.dtype, np.float32))
        cell_norms = np.empty(n_steps, dtype=np.promote_types(self.dtype, np.float32))
        for t in range(n_steps - 1, -1, -1):
            dh = dh + self._dh_from_output(grad_y, t)
            hidden_norms[t] = _rms_norm(dh)
            i, f, g, o = (act[t, :, k * size : (k + 1) * size] for k in range(4))
            tanh_c = np.tanh(c[t + 1])
            dc = dc + dh * o * (1.0 - tanh_c * tanh_c)  # h_t = o tanh(c_t)
            cell_norms[t] = _rms_norm(dc)
            step = da[t]
            step[:, :size] = dc * g * i * (1.0 - i)  # c_t = f c_{t-1} + i g
            step[:, size : 2 * size] = dc * c[t] * f * (1.0 - f)
            step[:, 2 * size : 3 * size] = dc * i * (1.0 - g * g)
            step[:, 3 * size :] = dh * tanh_c * o * (1.0 - o)
            if self._detached(t, n_steps):
                dh, dc = np.zeros_like(dh), np.zeros_like(dc)
            else:
                dh, dc = step @ self.W_hh.T, dc * f
        self.dW_hh[...] = np.tensordot(h[:-1], da, axes=([0, 1], [0, 1]))
        self.dW_xh[...] = np.tensordot(x, da, axes=([1, 0], [0, 1]))
        self.db_h[...] = da.sum(axis=(0, 1))
        self.hidden_grad_norms, self.cell_grad_norms = hidden_norms, cell_norms
        return np.asarray(np.swapaxes(da, 0, 1) @ self.W_xh.T)

    def recurrent_jacobians(self, x: Array) -> Array:
        r"""Run ``x`` forward; return every step's Jacobian of the state :math:`s_t = (h_t, c_t)`.

        Entry ``[n, t]`` is :math:`J_t = \partial s_t/\partial s_{t-1}` for sample ``n`` at step
        ``t`` (column-vector convention, :math:`h` first, then :math:`c`):

        .. math::

            J_t = \begin{pmatrix}
            \partial h_t/\partial h_{t-1} & \operatorname{diag}(o_t (1 - \tanh^2 c_t) f_t) \\
            \partial c_t/\partial h_{t-1} & \operatorname{diag}(f_t)
            \end{pmatrix},

        where :math:`\partial c_t/\partial h_{t-1} = \sum_{k \in \{i, f, g\}}
        \operatorname{diag}(\partial c_t/\partial a_k) W_{hk}^\top` and
        :math:`\partial h_t/\partial h_{t-1} = \operatorname{diag}(\tanh(c_t)\, o_t(1 - o_t))
        W_{ho}^\top + \operatorname{diag}(o_t (1 - \tanh^2 c_t))\, \partial c_t/\partial h_{t-1}`.
        The gradient backpropagated through the step is :math:`\partial L/\partial s_{t-1} =
        \partial L/\partial s_t\, J_t`.

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_steps, n_in)

        Returns
        -------
        ndarray, shape (n_samples, n_steps, 2 n_hidden, 2 n_hidden)

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> lstm = gw.LSTM(1, 3, 1, seed=0)
        >>> J = lstm.recurrent_jacobians(np.ones((2, 4, 1)))
        >>> f = lstm.gates["forget"]
        >>> J.shape, bool(np.array_equal(J[..., 3:, 3:], f[..., None] * np.eye(3)))
        ((2, 4, 6, 6), True)
        """
        self.forward(x)
        assert self._c is not None
        assert self._act is not None
        size = self.n_hidden
        act = np.swapaxes(self._act, 0, 1)
        i, f, g, o = (act[..., k * size : (k + 1) * size] for k in range(4))
        c_prev = np.swapaxes(self._c[:-1], 0, 1)
        tanh_c = np.tanh(np.swapaxes(self._c[1:], 0, 1))
        blocks = [self.W_hh[:, k * size : (k + 1) * size].T for k in range(4)]
        dc_dh = (
            (g * i * (1 - i))[..., None] * blocks[0]
            + (c_prev * f * (1 - f))[..., None] * blocks[1]
            + (i * (1 - g * g))[..., None] * blocks[2]
        )
        through_c = o * (1 - tanh_c * tanh_c)
        dh_dh = (tanh_c * o * (1 - o))[..., None] * blocks[3] + through_c[..., None] * dc_dh
        eye = np.eye(size, dtype=self.dtype)
        jacobian = np.empty((*act.shape[:2], 2 * size, 2 * size), dtype=self.dtype)
        jacobian[..., :size, :size] = dh_dh
        jacobian[..., :size, size:] = (through_c * f)[..., None] * eye
        jacobian[..., size:, :size] = dc_dh
        jacobian[..., size:, size:] = f[..., None] * eye
        return jacobian

    def __repr__(self) -> str:
        return (
            f"LSTM(n_in={self.n_in}, n_hidden={self.n_hidden}, n_out={self.n_out}, "
            f"dtype={self.dtype.name})"
        )


class GRU(Recurrent):
    r"""Gated recurrent unit network with a linear read-out, in PyTorch's form and gate order.

    The columns of ``W_xh``, ``W_hh``, ``b_xh`` and ``b_hh`` hold three blocks of
    ``n_hidden``, for the reset gate :math:`r`, the update gate :math:`z` and the new state
    :math:`n`, and map one to one onto ``torch.nn.GRU``'s ``weight_ih_l0.T``,
    ``weight_hh_l0.T``, ``bias_ih_l0`` and ``bias_hh_l0``. The two biases are separate
    because :math:`b_{hn}` sits inside the product with :math:`r_t`. :math:`h_0 = 0`.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Widths of the input, the hidden state and the output.
    return_sequences : bool, default False
        Output every step, ``(n_samples, n_steps, n_out)``, or only the last, ``(n_samples,
        n_out)``.
    init : str or callable, default "xavier_uniform"
        Initialiser of each gate's ``(n_in, n_hidden)`` block of :math:`W_{xh}` and of
        :math:`W_{hy}`.
    recurrent_init : str or callable, default "orthogonal"
        Initialiser of each gate's ``(n_hidden, n_hidden)`` block of :math:`W_{hh}`.
    bptt_steps : int, optional
        Truncated backpropagation through time (see :class:`gradwatch.rnn.Recurrent`).
    seed : int or numpy.random.Generator, default 0
    dtype : numpy floating dtype, default float64

    Attributes
    ----------
    W_xh : ndarray, shape (n_in, 3 n_hidden)
    W_hh : ndarray, shape (n_hidden, 3 n_hidden)
    b_xh, b_hh : ndarray, shape (3 n_hidden,)
        Zero at the start.
    W_hy : ndarray, shape (n_hidden, n_out)
    b_y : ndarray, shape (n_out,)
    dW_xh, dW_hh, db_xh, db_hh, dW_hy, db_y : ndarray
        Gradients of the loss, set by :meth:`backward`.
    hidden_grad_norms : ndarray, shape (n_steps,)
        Set by :meth:`backward` (see there).

    Raises
    ------
    TypeError
        If ``seed`` or ``dtype`` has the wrong type.
    ValueError
        If a width or ``bptt_steps`` is not positive, or ``seed`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gru = gw.GRU(2, 8, 1, seed=0)
    >>> gru.param_names()
    ['W_xh', 'W_hh', 'b_xh', 'b_hh', 'W_hy', 'b_y']
    >>> [p.shape for p in gru.params()]
    [(2, 24), (8, 24), (24,), (24,), (8, 1), (1,)]
    >>> x = np.random.default_rng(0).normal(size=(4, 10, 2))
    >>> gw.gradcheck(gru, x, np.zeros((4, 1))).passed
    True
    """

    _NAMES = ("W_xh", "W_hh", "b_xh", "b_hh", "W_hy", "b_y")

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
        n_in, n_hidden, n_out = _check_widths(n_in, n_hidden, n_out)
        self.dtype = _check_dtype(dtype)
        self.bptt_steps = bptt_steps
        rng = make_rng(seed, "seed")
        self.return_sequences = bool(return_sequences)
        self.W_xh = init_blocks(init, n_in, n_hidden, 3, rng, self.dtype)
        self.W_hh = init_blocks(recurrent_init, n_hidden, n_hidden, 3, rng, self.dtype)
        self.b_xh = np.zeros(3 * n_hidden, dtype=self.dtype)
        self.b_hh = np.zeros(3 * n_hidden, dtype=self.dtype)
        self.W_hy = np.ascontiguousarray(init_weight(init, (n_hidden, n_out), rng, self.dtype))
        self.b_y = np.zeros(n_out, dtype=self.dtype)
        self.dW_xh: Array
        self.dW_hh: Array
        self.db_xh: Array
        self.db_hh: Array
        self._zero_grads()
        self._x: Array | None = None
        self._h: Array | None = None  # (n_steps + 1, n_samples, n_hidden), h[0] = 0
        self._act: Array | None = None  # (n_steps, n_samples, 3 n_hidden): r, z, n
        self._hn: Array | None = None  # (n_steps, n_samples, n_hidden): h W_hn + b_hn
        #: RMS over samples of the gradient's norm at each step's h (set by backward).
        self.hidden_grad_norms: Array = np.zeros(0, dtype=self.dtype)

    def forward(self, x: Array) -> Array:
        """Run the sequence through the network, keeping every state and gate.

        Shapes and errors as :meth:`gradwatch.RNN.forward`.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> gw.GRU(2, 3, 1).forward(np.zeros((5, 7, 2))).shape
        (5, 1)
        """
        array = self._check_x(x)
        n_samples, n_steps, _ = array.shape
        size = self.n_hidden
        h = np.zeros((n_steps + 1, n_samples, size), dtype=self.dtype)
        act = np.empty((n_steps, n_samples, 3 * size), dtype=self.dtype)
        hn = np.empty((n_steps, n_samples, size), dtype=self.dtype)
        inputs = np.swapaxes(array @ self.W_xh + self.b_xh, 0, 1)  # (n_steps, n_samples, 3h)
        gate, new = slice(0, 2 * size), slice(2 * size, 3 * size)
        for t in range(n_steps):
            recurrent = h[t] @ self.W_hh + self.b_hh
            act[t, :, gate] = _sigmoid(inputs[t, :, gate] + recurrent[:, gate])
            r, z = act[t, :, :size], act[t, :, size : gate.stop]
            hn[t] = recurrent[:, new]
            n = act[t, :, new]
            n[...] = np.tanh(inputs[t, :, new] + r * hn[t])
            h[t + 1] = n + z * (h[t] - n)  # (1 - z) n + z h
        self._x, self._h, self._act, self._hn = array, h, act, hn
        return self._read_out(h)

    __call__ = forward

    @property
    def gates(self) -> dict[str, Array]:
        """The gates of the last :meth:`forward`, each ``(n_samples, n_steps, n_hidden)``.

        Keys ``"reset"``, ``"update"`` and ``"new"``.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> gru = gw.GRU(1, 2, 1)
        >>> _ = gru.forward(np.zeros((1, 3, 1)))
        >>> gru.gates["update"][0, 0].tolist()            # sigma(0): zero biases at the start
        [0.5, 0.5]
        """
        if self._act is None:
            raise RuntimeError("gates are set by forward: run forward(x) first")
        size = self.n_hidden
        return {
            name: np.swapaxes(self._act[:, :, k * size : (k + 1) * size], 0, 1)
            for k, name in enumerate(("reset", "update", "new"))
        }

    def backward(self, dy: Array) -> Array:
        r"""Backpropagate through time: set every gradient and return :math:`\partial L/\partial x`.

        Records ``hidden_grad_norms``: the root-mean-square over samples of
        :math:`\lVert \partial L/\partial h_t \rVert` for each step ``t``, entry 0 being the
        first step.

        ``dy`` is the gradient with respect to the last output; the result has the shape of
        ``x``. Errors as :meth:`gradwatch.RNN.backward`.
        """
        if self._x is None or self._h is None or self._act is None or self._hn is None:
            raise RuntimeError("backward called before forward: run forward(x) first")
        x, h, act, hn = self._x, self._h, self._act, self._hn
        n_steps, size = act.shape[0], self.n_hidden
        grad_y, dh = self._back_read_out(dy, h)
        d_input = np.empty_like(act)  # gradient at x W_xh + b_xh
        d_recurrent = np.empty_like(act)  # gradient at h W_hh + b_hh
        norms = np.empty(n_steps, dtype=np.promote_types(self.dtype, np.float32))
        for t in range(n_steps - 1, -1, -1):
            dh = dh + self._dh_from_output(grad_y, t)
            norms[t] = _rms_norm(dh)
            r, z, n = (act[t, :, k * size : (k + 1) * size] for k in range(3))
            d_new = dh * (1.0 - z) * (1.0 - n * n)  # h_t = (1 - z) n + z h_{t-1}
            d_input[t, :, :size] = d_new * hn[t] * r * (1.0 - r)  # n = tanh(. + r (h W_hn + b))
            d_input[t, :, size : 2 * size] = dh * (h[t] - n) * z * (1.0 - z)
            d_input[t, :, 2 * size :] = d_new
            d_recurrent[t, :, : 2 * size] = d_input[t, :, : 2 * size]
            d_recurrent[t, :, 2 * size :] = d_new * r
            if self._detached(t, n_steps):
                dh = np.zeros_like(dh)
            else:
                dh = dh * z + d_recurrent[t] @ self.W_hh.T
        self.dW_hh[...] = np.tensordot(h[:-1], d_recurrent, axes=([0, 1], [0, 1]))
        self.db_hh[...] = d_recurrent.sum(axis=(0, 1))
        self.dW_xh[...] = np.tensordot(x, d_input, axes=([1, 0], [0, 1]))
        self.db_xh[...] = d_input.sum(axis=(0, 1))
        self.hidden_grad_norms = norms
        return np.asarray(np.swapaxes(d_input, 0, 1) @ self.W_xh.T)

    def recurrent_jacobians(self, x: Array) -> Array:
        r"""Run ``x`` forward; return every step's Jacobian :math:`\partial h_t/\partial h_{t-1}`.

        In the column-vector convention, entry ``[n, t]`` is

        .. math::

            J_t = \operatorname{diag}(z_t)
            + \operatorname{diag}\big((h_{t-1} - n_t) z_t (1 - z_t)\big) W_{hz}^\top
            + \operatorname{diag}\big((1 - z_t)(1 - n_t^2)\big)
            \big(\operatorname{diag}(r_t) W_{hn}^\top
            + \operatorname{diag}(\hat n_t\, r_t (1 - r_t)) W_{hr}^\top\big),

        with :math:`\hat n_t = h_{t-1} W_{hn} + b_{hn}`: the copy :math:`\operatorname{diag}
        (z_t)` plus paths through the gates and the new state, each through a weight matrix.
        The gradient backpropagated through the step is :math:`\partial L/\partial h_{t-1} =
        \partial L/\partial h_t\, J_t`.

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
        >>> gru = gw.GRU(1, 3, 1, seed=0)
        >>> gru.recurrent_jacobians(np.ones((2, 4, 1))).shape
        (2, 4, 3, 3)
        """
        self.forward(x)
        assert self._h is not None
        assert self._act is not None
        assert self._hn is not None
        size = self.n_hidden
        act = np.swapaxes(self._act, 0, 1)
        r, z, n = (act[..., k * size : (k + 1) * size] for k in range(3))
        h_prev = np.swapaxes(self._h[:-1], 0, 1)
        hn = np.swapaxes(self._hn, 0, 1)
        W_hr, W_hz, W_hn = (self.W_hh[:, k * size : (k + 1) * size].T for k in range(3))
        through_n = (1 - z) * (1 - n * n)
        jacobian = (
            ((h_prev - n) * z * (1 - z))[..., None] * W_hz
            + (through_n * r)[..., None] * W_hn
            + (through_n * hn * r * (1 - r))[..., None] * W_hr
        )
        jacobian += z[..., None] * np.eye(size, dtype=self.dtype)
        return np.asarray(jacobian)

    def __repr__(self) -> str:
        return (
            f"GRU(n_in={self.n_in}, n_hidden={self.n_hidden}, n_out={self.n_out}, "
            f"dtype={self.dtype.name})"
        )
