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

from typing import Unpack

import numpy as np

from gradwatch._validation import Array, check_real
from gradwatch.rnn import Recurrent, RecurrentOptions, rms_norms

__all__ = ["GRU", "LSTM"]


def _sigmoid(z: Array) -> Array:
    r"""Return :math:`\sigma(z) = (1 + \tanh(z/2))/2`, which never overflows.

    Its derivative, :math:`\sigma (1 - \sigma)`, is written from the output where it is used.
    """
    return np.asarray(0.5 * np.tanh(0.5 * z) + 0.5)


def _blocks(a: Array, n: int) -> list[Array]:
    """Split the last axis of ``a`` into ``n`` equal blocks, as views.

    What ``np.split(a, n, axis=-1)`` returns, at a sixth of its cost: it runs at every time
    step, forward and backward, where the arrays are small and the call's overhead counts.
    """
    size = a.shape[-1] // n
    return [a[..., k * size : (k + 1) * size] for k in range(n)]


def _gate_slices(n_hidden: int) -> tuple[slice, slice, slice]:
    """Where an LSTM's gates lie on the last axis: ``(i, f)`` together, ``g``, ``o``.

    The blocks are PyTorch's, in its order; the sigmoid goes over the first and the last, the
    tanh over ``g``, each value through one function only.
    """
    return slice(0, 2 * n_hidden), slice(2 * n_hidden, 3 * n_hidden), slice(3 * n_hidden, None)


#: About how many values each array of backpropagation factors holds (see :func:`_spans`).
_SPAN_VALUES = 1 << 15


def _spans(n_steps: int, per_step: int) -> list[slice]:
    """Split the steps into runs of consecutive steps, the last run first, for the backward loop.

    The backward passes form the factors that multiply the gradient (which depend on the
    forward pass only) for a whole run of steps at once: one NumPy call per run instead of
    one per step, which counts for small networks, while the arrays stay small enough
    (about ``_SPAN_VALUES`` values) to be reused from the allocator and the cache for large
    ones. ``per_step`` is the number of values a step adds.

    Examples
    --------
    >>> from gradwatch.gated import _spans
    >>> _spans(10, 8192)
    [slice(6, 10, None), slice(2, 6, None), slice(0, 2, None)]
    """
    size = max(1, _SPAN_VALUES // per_step)
    return [slice(max(stop - size, 0), stop) for stop in range(n_steps, 0, -size)]


def _lstm_factors(
    i: Array, f: Array, g: Array, o: Array, c_prev: Array, c: Array
) -> tuple[Array, Array, Array]:
    r"""Return what multiplies the gradient in the LSTM's backward pass, for a run of steps.

    All arguments have shape ``(n_steps, n_samples, n_hidden)``: the gates and the cells
    before (:math:`c_{t-1}`) and after (:math:`c_t`) each step. From
    :math:`h_t = o \tanh c_t`, :math:`\partial L/\partial h_t` adds ``dh * dc_dh`` to
    :math:`\partial L/\partial c_t` and gives the output gate ``dh * do_dh``; from
    :math:`c_t = f c_{t-1} + i g`, :math:`\partial L/\partial c_t` gives the input, forget
    and cell blocks ``dc * by_dc`` (shape ``(n_steps, n_samples, 3, n_hidden)``). The sigmoid's
    slope is :math:`s(1 - s)`, the tanh's :math:`1 - \tanh^2`.
    """
    tanh_c = np.tanh(c)
    dc_dh = np.multiply(tanh_c, tanh_c)
    np.subtract(1.0, dc_dh, out=dc_dh)
    dc_dh *= o
    do_dh = np.subtract(1.0, o)
    do_dh *= o
    do_dh *= tanh_c
    by_dc = np.empty((*i.shape[:2], 3, i.shape[2]), dtype=i.dtype)
    di_dc, df_dc, dg_dc = by_dc[:, :, 0], by_dc[:, :, 1], by_dc[:, :, 2]
    np.subtract(1.0, i, out=di_dc)  # c_t = f c_{t-1} + i g
    di_dc *= i
    di_dc *= g
    np.subtract(1.0, f, out=df_dc)
    df_dc *= f
    df_dc *= c_prev
    np.multiply(g, g, out=dg_dc)
    np.subtract(1.0, dg_dc, out=dg_dc)
    dg_dc *= i
    return dc_dh, do_dh, by_dc


def _gru_factors(r: Array, z: Array, n: Array, hn: Array, h_prev: Array) -> Array:
    r"""Return what multiplies :math:`\partial L/\partial h_t` in the GRU's input-term gradient.

    All arguments have shape ``(n_steps, n_samples, n_hidden)``: the gates, the recurrent term
    :math:`h W_{hn} + b_{hn}` and the state before each step. From
    :math:`h_t = (1 - z) n + z h_{t-1}` and :math:`n = \tanh(\cdot + r (h W_{hn} + b_{hn}))`,
    the gradient at :math:`x W_{xh} + b_{xh}` is ``dh * by_dh`` for the blocks r, z, n (shape
    ``(n_steps, n_samples, 3, n_hidden)``); the sigmoid's slope is :math:`s(1 - s)`.
    """
    by_dh = np.empty((*r.shape[:2], 3, r.shape[2]), dtype=r.dtype)
    dr_dh, dz_dh, dn_dh = by_dh[:, :, 0], by_dh[:, :, 1], by_dh[:, :, 2]
    one_minus_z = np.subtract(1.0, z)
    np.multiply(n, n, out=dn_dh)
    np.subtract(1.0, dn_dh, out=dn_dh)
    dn_dh *= one_minus_z
    np.subtract(h_prev, n, out=dz_dh)
    dz_dh *= z
    dz_dh *= one_minus_z
    np.subtract(1.0, r, out=dr_dh)
    dr_dh *= r
    dr_dh *= hn
    dr_dh *= dn_dh
    return by_dh


class _Gated(Recurrent):
    """A recurrent network with gates: one block of ``n_hidden`` columns per gate, ``_GATES``.

    Its :meth:`forward` keeps ``(x, h, gates, ...)``: the gates' values at every step,
    shape ``(n_steps, n_samples, _BLOCKS n_hidden)``, come third.
    """

    _GATES: tuple[str, ...] = ()

    @property
    def gates(self) -> dict[str, Array]:
        """The gates of the last :meth:`forward`, each ``(n_samples, n_steps, n_hidden)``.

        The LSTM's are ``"input"``, ``"forget"``, ``"cell"`` (the candidate :math:`g`) and
        ``"output"``; the GRU's ``"reset"``, ``"update"`` and ``"new"`` (the state :math:`n`).

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> lstm = gw.LSTM(1, 2, 1, forget_bias=0.0)
        >>> _ = lstm.forward(np.zeros((1, 3, 1)))
        >>> lstm.gates["forget"][0, 0].tolist()          # sigma(0) with zero input and state
        [0.5, 0.5]
        >>> gru = gw.GRU(1, 2, 1)
        >>> _ = gru.forward(np.zeros((1, 3, 1)))
        >>> list(gru.gates), gru.gates["update"][0, 0].tolist()  # zero biases at the start
        (['reset', 'update', 'new'], [0.5, 0.5])
        """
        if self._saved is None:
            raise RuntimeError("gates are set by forward: run forward(x) first")
        act = np.swapaxes(self._saved[2], 0, 1)
        return dict(zip(self._GATES, _blocks(act, self._BLOCKS), strict=True))


class LSTM(_Gated):
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
    forget_bias : float, default 1.0
        Added to the forget block of ``b_h`` at initialisation, so that :math:`f \approx
        \sigma(1) = 0.73` at the start (Gers et al. 2000; Jozefowicz, Zaremba & Sutskever
        2015); the other biases start at 0.
    **options
        ``return_sequences``, ``init``, ``recurrent_init``, ``bptt_steps``, ``seed`` and
        ``dtype``, as for :class:`~gradwatch.rnn.Recurrent`: each gate's block of the weights
        is initialised as a matrix of its own.

    Attributes
    ----------
    W_xh : ndarray, shape (n_in, 4 n_hidden)
    W_hh : ndarray, shape (n_hidden, 4 n_hidden)
    b_h : ndarray, shape (4 n_hidden,)
    cell_grad_norms : ndarray, shape (n_steps,)
        Set by :meth:`backward` (see there).
    W_hy, b_y, hidden_grad_norms, dW_xh, dW_hh, db_h, dW_hy, db_y : ndarray
        As for :class:`~gradwatch.rnn.Recurrent`.

    Raises
    ------
    TypeError
        If ``forget_bias`` is not a number; otherwise as for :class:`~gradwatch.rnn.Recurrent`.
    ValueError
        As for :class:`~gradwatch.rnn.Recurrent`.

    Examples
    --------
    >>> import gradwatch as gw
    >>> lstm = gw.LSTM(2, 8, 1, seed=0)
    >>> [p.shape for p in lstm.params()]
    [(2, 32), (8, 32), (32,), (8, 1), (1,)]
    >>> lstm.b_h[8:16].tolist() == [1.0] * 8          # the forget block
    True
    """

    _GATES = ("input", "forget", "cell", "output")
    _BLOCKS = len(_GATES)
    b_h: Array

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out: int,
        *,
        forget_bias: float = 1.0,
        **options: Unpack[RecurrentOptions],
    ) -> None:
        bias = check_real(forget_bias, "forget_bias")
        super().__init__(n_in, n_hidden, n_out, **options)
        self.b_h[self.n_hidden : 2 * self.n_hidden] = bias
        #: RMS over samples of the gradient's norm at each step's cell c (set by backward).
        self.cell_grad_norms: Array = np.zeros(0, dtype=self.dtype)

    def forward(self, x: Array) -> Array:
        """Run the sequence through the network, keeping every state and gate.

        Shapes and errors as :meth:`Recurrent.forward <gradwatch.rnn.Recurrent.forward>`.
        """
        x, h, inputs = self._start_forward(x)
        c = np.zeros_like(h)
        act = np.empty(inputs.shape, dtype=self.dtype)  # i, f, g, o at every step
        if_, g_, o_ = _gate_slices(self.n_hidden)  # sigmoid for i and f, tanh for g, sigmoid for o
        for t in range(len(inputs)):
            a = inputs[t] + h[t] @ self.W_hh
            act[t, :, if_] = _sigmoid(a[:, if_])
            act[t, :, g_] = np.tanh(a[:, g_])
            act[t, :, o_] = _sigmoid(a[:, o_])
            i, f, g, o = _blocks(act[t], 4)
            c[t + 1] = f * c[t] + i * g
            h[t + 1] = o * np.tanh(c[t + 1])
        self._saved = (x, h, act, c)
        return self._read_out(h)

    def backward(self, dy: Array) -> Array:
        r"""Backpropagate through time, through the cell and the four gates.

        As :meth:`Recurrent.backward <gradwatch.rnn.Recurrent.backward>`; also records
        ``cell_grad_norms``, the same as ``hidden_grad_norms`` for
        :math:`\lVert \partial L/\partial c_t \rVert` (the whole derivative, through
        :math:`h_t` too).
        """
        _, h, act, c = self._saved_by_forward()
        grad_y, dh = self._back_read_out(dy, h)
        n_steps, n_samples = act.shape[:2]
        i, f, g, o = _blocks(act, 4)  # every step's gates, each (n_steps, n_samples, n_hidden)
        da = np.empty_like(act)  # gradient at each step's a = x W_xh + h W_hh + b_h
        da_blocks = da.reshape(n_steps, n_samples, 4, self.n_hidden)  # a view: i, f, g, o
        dhs, dcs = np.empty_like(h[1:]), np.empty_like(h[1:])  # for the norms
        dc = np.zeros_like(dh)
        for span in _spans(n_steps, n_samples * self.n_hidden):
            gates = i[span], f[span], g[span], o[span]
            dc_dh, do_dh, by_dc = _lstm_factors(*gates, c[:-1][span], c[1:][span])
            for k in reversed(range(span.stop - span.start)):
                t = span.start + k
                dh = np.add(dh, self._dh_from_output(grad_y, t), out=dhs[t])
                dc = dcs[t] = dc + dh * dc_dh[k]
                np.multiply(dc[:, None, :], by_dc[k], out=da_blocks[t, :, :3])
                np.multiply(dh, do_dh[k], out=da_blocks[t, :, 3])
                if self._detached(t, n_steps):
                    dh, dc = np.zeros_like(dh), np.zeros_like(dc)
                else:
                    dh, dc = da[t] @ self.W_hh.T, dc * f[t]
        self.hidden_grad_norms, self.cell_grad_norms = rms_norms(dhs), rms_norms(dcs)
        return self._back_weights(da, da)

    def recurrent_jacobians(self, x: Array) -> Array:
        r"""Run ``x`` forward; return every step's Jacobian of the state :math:`s_t = (h_t, c_t)`.

        As :meth:`Recurrent.recurrent_jacobians
        <gradwatch.rnn.Recurrent.recurrent_jacobians>`, with :math:`h` first, then :math:`c`:

        .. math::

            J_t = \begin{pmatrix}
            \partial h_t/\partial h_{t-1} & \operatorname{diag}(o_t (1 - \tanh^2 c_t) f_t) \\
            \partial c_t/\partial h_{t-1} & \operatorname{diag}(f_t)
            \end{pmatrix},

        where :math:`\partial c_t/\partial h_{t-1} = \sum_{k \in \{i, f, g\}}
        \operatorname{diag}(\partial c_t/\partial a_k) W_{hk}^\top` and
        :math:`\partial h_t/\partial h_{t-1} = \operatorname{diag}(\tanh(c_t)\, o_t(1 - o_t))
        W_{ho}^\top + \operatorname{diag}(o_t (1 - \tanh^2 c_t))\, \partial c_t/\partial h_{t-1}`.

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
        _, _, act, c = self._saved_by_forward()
        size = self.n_hidden
        i, f, g, o = _blocks(np.swapaxes(act, 0, 1), 4)
        c_prev = np.swapaxes(c[:-1], 0, 1)
        tanh_c = np.tanh(np.swapaxes(c[1:], 0, 1))
        W_hi, W_hf, W_hg, W_ho = np.split(self.W_hh.T, 4)  # each gate's block, transposed
        dc_dh = (
            (g * i * (1 - i))[..., None] * W_hi
            + (c_prev * f * (1 - f))[..., None] * W_hf
            + (i * (1 - g * g))[..., None] * W_hg
        )
        through_c = o * (1 - tanh_c * tanh_c)
        dh_dh = (tanh_c * o * (1 - o))[..., None] * W_ho + through_c[..., None] * dc_dh
        eye = np.eye(size, dtype=self.dtype)
        jacobian = np.empty((*f.shape[:2], 2 * size, 2 * size), dtype=self.dtype)
        jacobian[..., :size, :size] = dh_dh
        jacobian[..., :size, size:] = (through_c * f)[..., None] * eye
        jacobian[..., size:, :size] = dc_dh
        jacobian[..., size:, size:] = f[..., None] * eye
        return jacobian


class GRU(_Gated):
    r"""Gated recurrent unit network with a linear read-out, in PyTorch's form and gate order.

    The columns of ``W_xh``, ``W_hh``, ``b_xh`` and ``b_hh`` hold three blocks of
    ``n_hidden``, for the reset gate :math:`r`, the update gate :math:`z` and the new state
    :math:`n`, and map one to one onto ``torch.nn.GRU``'s ``weight_ih_l0.T``,
    ``weight_hh_l0.T``, ``bias_ih_l0`` and ``bias_hh_l0``. The two biases are separate
    because :math:`b_{hn}` sits inside the product with :math:`r_t`. :math:`h_0 = 0`.

    Parameters, errors and the attributes not listed here are those of
    :class:`~gradwatch.rnn.Recurrent` (each gate's block of the weights is initialised as a
    matrix of its own).

    Attributes
    ----------
    W_xh : ndarray, shape (n_in, 3 n_hidden)
    W_hh : ndarray, shape (n_hidden, 3 n_hidden)
    b_xh, b_hh : ndarray, shape (3 n_hidden,)
        Zero at the start; their gradients are ``db_xh`` and ``db_hh``.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gru = gw.GRU(2, 8, 1, seed=0)
    >>> [p.shape for p in gru.params()]
    [(2, 24), (8, 24), (24,), (24,), (8, 1), (1,)]
    """

    _GATES = ("reset", "update", "new")
    _BLOCKS = len(_GATES)
    _BIASES = ("b_xh", "b_hh")
    b_xh: Array
    b_hh: Array

    def forward(self, x: Array) -> Array:
        """Run the sequence through the network, keeping every state and gate.

        Shapes and errors as :meth:`Recurrent.forward <gradwatch.rnn.Recurrent.forward>`.
        """
        x, h, inputs = self._start_forward(x)
        act = np.empty(inputs.shape, dtype=self.dtype)  # r, z, n at every step
        hn = np.empty_like(h[1:])  # h W_hn + b_hn at every step
        size = self.n_hidden
        gate, new = slice(0, 2 * size), slice(2 * size, 3 * size)
        for t in range(len(inputs)):
            recurrent = h[t] @ self.W_hh + self.b_hh
            act[t, :, gate] = _sigmoid(inputs[t, :, gate] + recurrent[:, gate])
            r, z, n = _blocks(act[t], 3)
            hn[t] = recurrent[:, new]
            n[...] = np.tanh(inputs[t, :, new] + r * hn[t])
            h[t + 1] = n + z * (h[t] - n)  # (1 - z) n + z h
        self._saved = (x, h, act, hn)
        return self._read_out(h)

    def backward(self, dy: Array) -> Array:
        r"""Backpropagate through time, through the new state and the two gates.

        Arguments, result, errors and ``hidden_grad_norms`` as
        :meth:`Recurrent.backward <gradwatch.rnn.Recurrent.backward>`.
        """
        _, h, act, hn = self._saved_by_forward()
        grad_y, dh = self._back_read_out(dy, h)
        n_steps, n_samples = act.shape[:2]
        r, z, n = _blocks(act, 3)  # every step's gates, each (n_steps, n_samples, n_hidden)
        d_input = np.empty_like(act)  # gradient at each step's x W_xh + b_xh
        d_recurrent = np.empty_like(act)  # and at its h W_hh + b_hh
        input_blocks = d_input.reshape(n_steps, n_samples, 3, self.n_hidden)  # views: r, z, n
        recurrent_blocks = d_recurrent.reshape(input_blocks.shape)
        dhs = np.empty_like(h[1:])  # dL/dh_t at every step
        for span in _spans(n_steps, n_samples * self.n_hidden):
            by_dh = _gru_factors(r[span], z[span], n[span], hn[span], h[:-1][span])
            for k in reversed(range(span.stop - span.start)):
                t = span.start + k
                dh = np.add(dh, self._dh_from_output(grad_y, t), out=dhs[t])
                np.multiply(dh[:, None, :], by_dh[k], out=input_blocks[t])
                # At the recurrent term the same for r and z (the two terms are summed), and
                # r times it for n, since r multiplies h W_hn + b_hn.
                recurrent_blocks[t, :, :2] = input_blocks[t, :, :2]
                np.multiply(input_blocks[t, :, 2], r[t], out=recurrent_blocks[t, :, 2])
                if self._detached(t, n_steps):
                    dh = np.zeros_like(dh)
                else:
                    dh = dh * z[t] + d_recurrent[t] @ self.W_hh.T
        self.hidden_grad_norms = rms_norms(dhs)
        return self._back_weights(d_input, d_recurrent)

    def recurrent_jacobians(self, x: Array) -> Array:
        r"""Run ``x`` forward; return every step's Jacobian :math:`\partial h_t/\partial h_{t-1}`.

        As :meth:`Recurrent.recurrent_jacobians
        <gradwatch.rnn.Recurrent.recurrent_jacobians>`; entry ``[n, t]`` is

        .. math::

            J_t = \operatorname{diag}(z_t)
            + \operatorname{diag}\big((h_{t-1} - n_t) z_t (1 - z_t)\big) W_{hz}^\top
            + \operatorname{diag}\big((1 - z_t)(1 - n_t^2)\big)
            \big(\operatorname{diag}(r_t) W_{hn}^\top
            + \operatorname{diag}(\hat n_t\, r_t (1 - r_t)) W_{hr}^\top\big),

        with :math:`\hat n_t = h_{t-1} W_{hn} + b_{hn}`: the copy :math:`\operatorname{diag}
        (z_t)` plus paths through the gates and the new state, each through a weight matrix.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> gru = gw.GRU(1, 2, 1, seed=0)
        >>> gru.b_hh[2:4] = 50.0                 # update gate shut open: h_t = h_{t-1}
        >>> J = gru.recurrent_jacobians(np.ones((1, 3, 1)))
        >>> bool(np.allclose(J, np.eye(2)))
        True
        """
        self.forward(x)
        _, h, act, hn = self._saved_by_forward()
        r, z, n = _blocks(np.swapaxes(act, 0, 1), 3)
        h_prev = np.swapaxes(h[:-1], 0, 1)
        hn = np.swapaxes(hn, 0, 1)
        W_hr, W_hz, W_hn = np.split(self.W_hh.T, 3)  # each gate's block, transposed
        through_n = (1 - z) * (1 - n * n)
        jacobian = (
            ((h_prev - n) * z * (1 - z))[..., None] * W_hz
            + (through_n * r)[..., None] * W_hn
            + (through_n * hn * r * (1 - r))[..., None] * W_hr
        )
        jacobian += z[..., None] * np.eye(self.n_hidden, dtype=self.dtype)
        return np.asarray(jacobian)
