"""Section 1b of ``nox -s bench``: the new layers and networks, each against its own floor.

Issue 15, item 2: one training step (``loss_and_grads(x, y, "mse")``: forward, loss, backward,
no optimiser) of a LayerNorm MLP, a BatchNorm MLP, a residual MLP, an LSTM and a GRU, each
timed against a *floor*: the least work any implementation of that step must do, which is

1. the matrix products the library's step runs, exactly: the same shapes, the same operand
   layouts, in the same order, with ``np.matmul(..., out=...)`` into buffers allocated once;
2. plus one read and one write of every activation the step produces, and of the gradient of
   each: one ``np.copyto`` per activation into a buffer allocated once.

What counts as an activation is listed, network by network, in the docstrings of
:class:`MLPFloor` and :class:`RecurrentFloor`; the rule is the same everywhere:

- forward, every tensor of the network's equations that is not a raw matrix product: each
  layer's output (a dense layer's ``x W + b`` after its activation, a norm's output, an
  activation layer's output, a residual sum), and for the recurrent networks the input term,
  each step's pre-activations, gates and states, and the read-out;
- backward, the gradient at each of those, of the same shape: as many copies as forward.

A product writes its own output (``x W`` before the bias is added, ``dz W^T``, ``x^T dz``);
the copies stand for everything elementwise: biases, activations and their slopes,
normalisation statistics, sums, the loss. The floor is a lower bound on purpose, neither
generous nor harsh to the library:

- not counted: the bias gradients (``db``, which the dense layers compute as a product with a
  vector of ones and the recurrent ones as sums), what a nonlinear function (``tanh``, the
  sigmoid) costs beyond the copy that stands for it, reductions (norm statistics,
  ``hidden_grad_norms``), and the library's Python overhead;
- counted although the library may share one array for two of them: a gradient that equals
  another one (inside a residual block, the gradient at the branch's output is the gradient at
  the sum; a recurrent network's input term has the gradient of its pre-activations);
- products the library runs although nobody reads their result are in the floor too, since
  they are what the step runs (the recurrent networks' ``dL/dx`` and ``dL/dh_0``); the report
  of a run names them, as a change to the library, not to the floor.

:func:`step_products` records the products a real step runs, while it runs, and
:func:`bench_layers` refuses to time a floor whose products differ from them: if the library
changes its products, this module must change too. ``tests/test_benchmark_floors.py`` tests
all of it, without timing anything.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import suite  # benchmarks/ is on sys.path: run.py and the tests put it there

import gradwatch as gw

#: One matrix product as ``(stack, m, k, n)``: ``stack`` products of ``(m, k)`` by ``(k, n)``
#: (``np.matmul`` of a 3-D array by a matrix runs one per leading index).
Product = tuple[int, int, int, int]

DTYPES = suite.DTYPES
#: The issue's bound on every ratio with every core (``suite.TARGETS["layers"]``).
TARGET = 1.3


def product_shape(a_shape: Sequence[int], b_shape: Sequence[int]) -> Product:
    """``np.matmul(a, b)`` of an ``a`` with ``a_shape`` by a matrix with ``b_shape``.

    Examples
    --------
    >>> product_shape((64, 32, 16), (16, 40))   # one product per leading index
    (64, 32, 16, 40)
    >>> product_shape((5, 3), (3, 2))
    (1, 5, 3, 2)
    """
    if len(a_shape) < 2 or len(b_shape) != 2 or a_shape[-1] != b_shape[0]:
        raise ValueError(f"not a product of matrices: {tuple(a_shape)} @ {tuple(b_shape)}")
    *stack, m, k = a_shape
    return (math.prod(stack), m, k, b_shape[1])


def tensordot_shape(a_shape: Sequence[int], b_shape: Sequence[int], axes: Any) -> Product:
    """``np.tensordot(a, b, axes)`` as the one matrix product NumPy turns it into.

    Examples
    --------
    >>> tensordot_shape((64, 32, 16), (32, 64, 40), ([1, 0], [0, 1]))   # x^T d over (t, n)
    (1, 16, 2048, 40)
    """
    if isinstance(axes, int):
        axes_a, axes_b = list(range(len(a_shape) - axes, len(a_shape))), list(range(axes))
    else:
        axes_a, axes_b = ([a] if isinstance(a, int) else list(a) for a in axes)
    k = math.prod(a_shape[i] for i in axes_a)
    m = math.prod(n for i, n in enumerate(a_shape) if i not in axes_a)
    n = math.prod(s for i, s in enumerate(b_shape) if i not in axes_b)
    return (1, m, k, n)


def flops(products: Iterable[Product]) -> int:
    """Floating-point operations of the products, two per multiply-add."""
    return sum(2 * stack * m * k * n for stack, m, k, n in products)


# -- the floors ----------------------------------------------------------------------------------


class Floor:
    """A list of operations on buffers allocated once; calling the floor runs them in order.

    An operation is a product, ``np.matmul(a, b, out=out)``, or a copy, ``np.copyto(dst,
    src)``. Activations that a step keeps (forward) have buffers of their own; temporaries
    that a step can drop at once (products before their bias, the gradients of the backward
    pass) cycle through three buffers per shape, as a lean implementation would reuse memory.
    """

    _POOL: ClassVar[int] = 3

    def __init__(self, dtype: Any, seed: int = 2) -> None:
        self.dtype = np.dtype(dtype)
        self._rng = np.random.default_rng(seed)
        self._ops: list[tuple[np.ndarray | None, np.ndarray, np.ndarray]] = []
        self._pools: dict[tuple[int, ...], tuple[list[np.ndarray], list[int]]] = {}
        #: Shapes of the tanh and sigmoid evaluations of the step (see :meth:`evaluates_tanh`).
        self.tanh_shapes: list[tuple[int, ...]] = []

    def __call__(self) -> None:
        matmul, copyto = np.matmul, np.copyto  # looked up per call: the tests record them
        for a, b, out in self._ops:
            if a is None:
                copyto(out, b)
            else:
                matmul(a, b, out=out)

    # building
    def random(self, *shape: int) -> np.ndarray:
        """An array of values in (-1, 1) (no zeros, no subnormal numbers), like activations."""
        return np.tanh(self._rng.standard_normal(shape)).astype(self.dtype)

    def empty(self, *shape: int) -> np.ndarray:
        return np.empty(shape, dtype=self.dtype)

    def temporary(self, *shape: int) -> np.ndarray:
        """The next of the three buffers of this shape (never one of the last two handed out)."""
        buffers, turn = self._pools.setdefault(shape, ([], [0]))
        if len(buffers) < self._POOL:
            buffers.append(self.random(*shape))
        buffer = buffers[turn[0] % self._POOL]
        turn[0] += 1
        return buffer

    def product(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Add ``np.matmul(a, b, out=out)``; ``out`` defaults to a temporary."""
        if out is None:
            out = self.temporary(*a.shape[:-1], b.shape[-1])
        self._ops.append((a, b, out))
        return out

    def copy(self, src: np.ndarray, dst: np.ndarray | None = None) -> np.ndarray:
        """Add ``np.copyto(dst, src)``: one read and one write; ``dst`` defaults to a temporary."""
        if dst is None:
            dst = self.temporary(*src.shape)
        if np.shares_memory(src, dst):
            raise ValueError("a copy must read and write two different buffers")
        self._ops.append((None, src, dst))
        return dst

    def keep(self, src: np.ndarray) -> np.ndarray:
        """Add a copy of ``src`` into a buffer of its own: an activation the step keeps."""
        return self.copy(src, self.empty(*src.shape))

    def evaluates_tanh(self, *shape: int) -> None:
        r"""Note that the step evaluates tanh (or a sigmoid) over an array of ``shape``.

        The floor does not run it: :func:`bench_layers` times these evaluations beside the
        floor, as a contender of their own (``suite.TanhPasses``). The gated networks compute
        a sigmoid from one tanh, :math:`\sigma(z) = (1 + \tanh(z/2))/2`, so there one tanh
        per value stands for either.
        """
        self.tanh_shapes.append(shape)

    # what it runs
    @property
    def products(self) -> list[Product]:
        """The products a call runs, in order, as :func:`product_shape` describes them."""
        return [product_shape(a.shape, b.shape) for a, b, _ in self._ops if a is not None]

    @property
    def n_products(self) -> int:
        return len(self.products)

    @property
    def copies(self) -> list[tuple[int, ...]]:
        """The shapes of the copies a call runs, in order."""
        return [out.shape for a, _, out in self._ops if a is None]

    @property
    def copied_values(self) -> int:
        """Values read (and as many written) by the copies of one call."""
        return sum(math.prod(shape) for shape in self.copies)

    @property
    def flops(self) -> int:
        return flops(self.products)


class MLPFloor(Floor):
    """The floor of ``net.loss_and_grads(x, y, "mse")`` for a :class:`gradwatch.Sequential`.

    Built by walking the network's layers, so it follows any mix of
    :class:`~gradwatch.Dense`, :class:`~gradwatch.LayerNorm`, :class:`~gradwatch.BatchNorm`,
    :class:`~gradwatch.ActivationLayer`, :class:`~gradwatch.Residual` and nested
    :class:`~gradwatch.Sequential` (an ``MLP`` with ``norm=`` or ``residual=True``).

    Products (``B`` the batch), as :class:`gradwatch.Dense` runs them:

    - forward, per dense layer: ``x W``, ``(B, n_in) @ (n_in, n_out)``;
    - backward, per dense layer from the last: ``x^T dz``, ``(n_in, B) @ (B, n_out)``, then
      ``dz W^T``, ``(B, n_out) @ (n_out, n_in)``, except for the first dense layer of the
      network, whose ``dL/dx`` ``loss_and_grads`` skips.

    Not counted: ``db``, the product of a vector of ones by ``dz`` (a reduction).

    Copies, each ``(B, width)``:

    - forward, one per layer output: a dense layer's (``g(x W + b)``: the copy reads the
      product's output), a norm's, an activation layer's, a residual block's sum;
    - backward, one per layer output again, the gradient at it, from the last layer: the
      first is the loss's gradient (it reads the network's output).

    Noted, not run (:meth:`Floor.evaluates_tanh`): the tanh of every tanh layer, ``(B, width)``.

    For ``MLP([w] * (L + 1), norm=...)``: per hidden layer ``z``, norm, ``tanh`` (3 each way),
    and the output layer (1 each way): ``2 (3 (L - 1) + 1)`` copies. For
    ``residual=True``: the first layer's ``tanh(x W + b)``, per block the activation, the
    dense output and the sum (3), and the output layer: ``2 (3 (L - 2) + 2)`` copies.
    """

    def __init__(self, net: gw.Sequential, batch: int, seed: int = 2) -> None:
        super().__init__(net.dtype, seed)
        if net.n_in is None:
            raise ValueError("the network must fix its input width")
        self._inputs: dict[int, np.ndarray] = {}  # a dense layer's input, for x^T dz
        self._grads: list[np.ndarray] = []  # dW, one per dense layer
        x = self.random(batch, net.n_in)
        out = self._forward(net, x)
        self._backward(net, out, need_dx=False)

    def _forward(self, layer: Any, a: np.ndarray) -> np.ndarray:
        if isinstance(layer, gw.Sequential):
            for inner in layer.layers:
                a = self._forward(inner, a)
            return a
        if isinstance(layer, gw.Residual):
            return self.keep(self._forward(layer.block, a))  # x + f(x)
        if isinstance(layer, (gw.Dense, gw.ActivationLayer)) and isinstance(
            layer.activation, gw.activations.Tanh
        ):
            width = layer.n_out if isinstance(layer, gw.Dense) else a.shape[-1]
            self.evaluates_tanh(*a.shape[:-1], width)
        if isinstance(layer, gw.Dense):
            self._inputs[id(layer)] = a
            return self.keep(self.product(a, layer.W))  # g(x W + b)
        if isinstance(layer, (gw.LayerNorm, gw.BatchNorm, gw.ActivationLayer)):
            return self.keep(a)
        raise TypeError(f"MLPFloor does not know the layer {layer!r}")

    def _backward(self, layer: Any, d: np.ndarray, *, need_dx: bool) -> np.ndarray:
        """Add the backward pass of ``layer``; ``d`` is the gradient at its output."""
        if isinstance(layer, gw.Sequential):
            for i in reversed(range(len(layer.layers))):
                d = self._backward(layer.layers[i], d, need_dx=need_dx or i > 0)
            return d
        d = self.copy(d)  # the gradient at the layer's output
        if isinstance(layer, gw.Residual):
            return self._backward(layer.block, d, need_dx=need_dx)
        if isinstance(layer, gw.Dense):
            dW = self.empty(*layer.W.shape)
            self._grads.append(dW)
            self.product(self._inputs[id(layer)].T, d, dW)
            return self.product(d, layer.W.T) if need_dx else d
        return d


class RecurrentFloor(Floor):
    """The floor of ``net.loss_and_grads(x, y, "mse")`` for a :class:`gradwatch.LSTM` or GRU.

    ``N`` samples, ``T`` steps, ``I`` inputs, ``H`` hidden units, ``O`` outputs, ``G`` the
    gates' width (``4 H`` for the LSTM, ``3 H`` for the GRU). The network must read out its
    last state only and backpropagate through every step (the defaults).

    Products, as :class:`gradwatch.rnn.Recurrent` and :mod:`gradwatch.gated` run them
    (``2 T + 7`` in all):

    - forward: the input term of every step at once, ``x W_xh``, ``N`` products of
      ``(T, I) @ (I, G)`` (``x`` is ``(N, T, I)``); at each step ``h_{t-1} W_hh``,
      ``(N, H) @ (H, G)``; the read-out ``h_T W_hy``, ``(N, H) @ (H, O)``;
    - backward: ``dW_hy = h_T^T dy``, ``(H, N) @ (N, O)``; ``dy W_hy^T``, ``(N, O) @ (O, H)``;
      at each step from the last ``da_t W_hh^T``, ``(N, G) @ (G, H)`` (at the first step too,
      ``dL/dh_0``, which nobody reads); ``dW_xh``, ``(I, N T) @ (N T, G)`` and ``dW_hh``,
      ``(H, N T) @ (N T, G)`` (``np.tensordot``: the same one product each); and ``dL/dx``,
      ``N`` products of ``(T, G) @ (G, I)``, which ``loss_and_grads`` computes and drops.

    The operands have the layouts of the library's calls (``x`` as ``np.tensordot`` copies it,
    ``(I, N T)``; the strided ``swapaxes`` view of the gradient for ``dL/dx``).

    Copies (``4 T + 2`` each way):

    - forward: the input term ``x W_xh + b``, ``(N, T, G)``; at each step, for the LSTM the
      pre-activations ``a_t = x_t W_xh + h_{t-1} W_hh + b``, ``(N, G)``, the gates ``(i, f, g,
      o)``, ``(N, G)``, the cell ``c_t`` and the state ``h_t``, ``(N, H)`` each; for the GRU
      the recurrent term ``h_{t-1} W_hh + b_hh``, ``(N, G)`` (the reset gate multiplies a
      part of it), the pre-activations, ``(N, G)``, the gates ``(r, z, n)``, ``(N, G)``, and
      ``h_t``, ``(N, H)``; the read-out ``h_T W_hy + b_y``, ``(N, O)``;
    - backward: the gradient at each of these, of the same shape: the loss's gradient at the
      read-out, at each step's state, cell or recurrent term, gates and pre-activations, and at
      the input term.

    Noted, not run (:meth:`Floor.evaluates_tanh`): at each step the gates, ``(N, G)``, and for
    the LSTM ``tanh(c_t)``, ``(N, H)``.
    """

    def __init__(self, net: Any, batch: int, n_steps: int, seed: int = 2) -> None:
        super().__init__(net.dtype, seed)
        if isinstance(net, gw.LSTM):
            self.cell = "lstm"
        elif isinstance(net, gw.GRU):
            self.cell = "gru"
        else:
            raise TypeError(f"RecurrentFloor takes an LSTM or a GRU, got {net!r}")
        if net.return_sequences or net.bptt_steps is not None:
            raise ValueError("RecurrentFloor needs return_sequences=False and bptt_steps=None")
        N, T, H = batch, n_steps, net.n_hidden
        n_in, n_out = net.n_in, net.n_out
        G = net.W_hh.shape[1]
        lstm = self.cell == "lstm"

        # forward
        x = self.random(N, T, n_in)
        self.keep(self.product(x, net.W_xh, self.empty(N, T, G)))  # x W_xh + b
        h = self.random(T + 1, N, H)  # h[0] is the start; the floor overwrites the rest
        c = self.random(T + 1, N, H)
        act = self.empty(T, N, G)
        for t in range(T):
            p = self.product(h[t], net.W_hh)
            self.evaluates_tanh(N, G)  # sigmoids and tanh: LSTM i, f, o and g; GRU r, z, n
            if lstm:
                self.evaluates_tanh(N, H)  # tanh(c_t)
                a = self.copy(p)  # a_t = (x_t W_xh + b) + h_{t-1} W_hh
                self.copy(a, act[t])  # i, f, g, o
                self.copy(c[t], c[t + 1])  # c_t = f c_{t-1} + i g
                self.copy(c[t + 1], h[t + 1])  # h_t = o tanh(c_t)
            else:
                q = self.copy(p)  # h W_hh + b_hh
                s = self.copy(q)  # the pre-activations of r, z and n
                self.copy(s, act[t])  # r, z, n
                self.copy(h[t], h[t + 1])  # h_t = (1 - z) n + z h_{t-1}
        y = self.keep(self.product(h[T], net.W_hy))  # h_T W_hy + b_y

        # backward
        self.dW_hy = self.empty(H, n_out)
        self.dW_xh = self.empty(n_in, G)
        self.dW_hh = self.empty(H, G)
        dy = self.copy(y)  # the loss's gradient
        self.product(h[T].T, dy, self.dW_hy)
        dh_out = self.product(dy, net.W_hy.T, self.empty(N, H))
        d_pre = self.empty(T, N, G)  # gradient at the pre-activations (LSTM: a; GRU: s)
        d_rec = self.empty(T, N, G) if not lstm else d_pre  # GRU: at the recurrent term
        for t in reversed(range(T)):
            dh = self.copy(dh_out)  # at h_t
            if lstm:
                self.copy(dh)  # at c_t
            d_gates = self.copy(act[t])  # at the gates
            self.copy(d_gates, d_pre[t])
            if not lstm:
                self.copy(d_pre[t], d_rec[t])
            self.product(d_rec[t], net.W_hh.T, dh_out)
        du = self.keep(d_pre)  # at the input term
        xt = self.random(n_in, T * N)  # x as np.tensordot lays it out, (i, (t, n))
        self.product(xt, du.reshape(T * N, G), self.dW_xh)
        self.product(h[:-1].reshape(T * N, H).T, d_rec.reshape(T * N, G), self.dW_hh)
        self.dx = self.product(np.swapaxes(du, 0, 1), net.W_xh.T, self.empty(N, T, n_in))


# -- what the library's step runs ----------------------------------------------------------------


def step_products(net: Any, x: np.ndarray, y: np.ndarray) -> list[Product]:
    """The matrix products that ``net.loss_and_grads(x, y, "mse")`` runs, recorded as it runs.

    For a :class:`gradwatch.Sequential`, the dense layers call ``np.matmul`` by name: it is
    replaced for the duration of the step by a function that records its operands' shapes
    (products with a vector, ``db``, are left out: see the module's docstring). The recurrent
    networks multiply with ``@`` and :func:`numpy.tensordot`: their weights, and the input and
    states that their forward pass keeps, are swapped for views of an ``ndarray`` subclass
    that records every ``matmul``, ``dot`` and ``tensordot`` it takes part in (each of the
    step's products has one of them as an operand), then swapped back.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([3, 4, 2], dtype="float32")
    >>> step_products(net, np.ones((5, 3), "float32"), np.zeros((5, 2), "float32"))
    [(1, 5, 3, 4), (1, 5, 4, 2), (1, 4, 5, 2), (1, 5, 2, 4), (1, 3, 5, 4)]
    """
    if isinstance(net, gw.Sequential):
        return _record_named_matmul(lambda: net.loss_and_grads(x, y, "mse"))
    if isinstance(net, (gw.LSTM, gw.GRU, gw.RNN)):
        return _record_recurrent(net, x, y)
    raise TypeError(f"step_products does not know the network {net!r}")


def _record_named_matmul(run: Callable[[], object]) -> list[Product]:
    log: list[Product] = []
    real = np.matmul

    def recording(a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
        if np.ndim(a) >= 2 and np.ndim(b) >= 2:
            log.append(product_shape(np.shape(a), np.shape(b)))
        return real(a, b, *args, **kwargs)

    np.matmul = recording  # type: ignore[assignment]
    try:
        run()
    finally:
        np.matmul = real
    return log


#: Products that :func:`step_products` cannot describe as ``(stack, m, k, n)``: it fails on them.
_UNRECORDED = tuple(
    f for f in (getattr(np, n, None) for n in ("einsum", "inner", "vdot", "matvec", "vecmat")) if f
)


def _record_recurrent(net: Any, x: np.ndarray, y: np.ndarray) -> list[Product]:
    log: list[Product] = []

    def plain(value: Any) -> Any:
        if isinstance(value, Recorded):
            return value.view(np.ndarray)
        if isinstance(value, (tuple, list)):
            return type(value)(plain(v) for v in value)
        return value

    class Recorded(np.ndarray):
        def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
            inputs = plain(inputs)
            kwargs = {k: plain(v) for k, v in kwargs.items()}
            if ufunc is np.matmul and method == "__call__":
                log.append(product_shape(inputs[0].shape, inputs[1].shape))
            return getattr(ufunc, method)(*inputs, **kwargs)

        def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
            args, kwargs = plain(args), {k: plain(v) for k, v in kwargs.items()}
            if func is np.tensordot:
                axes = kwargs.get("axes", args[2] if len(args) > 2 else 2)
                log.append(tensordot_shape(args[0].shape, args[1].shape, axes))
            elif func is np.dot:
                log.append(product_shape(args[0].shape, args[1].shape))
            elif func in _UNRECORDED:
                raise NotImplementedError(f"step_products cannot record np.{func.__name__}")
            return func(*args, **kwargs)

    names = ("W_xh", "W_hh", "W_hy")
    weights = {name: getattr(net, name) for name in names}
    forward = net.forward

    def recording_forward(inputs: np.ndarray) -> np.ndarray:
        out = forward(inputs)
        kept = list(net._saved)  # (x, h, ...): see Recurrent._saved_by_forward
        kept[:2] = [kept[0].view(Recorded), kept[1].view(Recorded)]
        net._saved = tuple(kept)
        return out

    for name, W in weights.items():
        setattr(net, name, W.view(Recorded))
    net.forward = recording_forward
    try:
        net.loss_and_grads(x, y, "mse")
    finally:
        del net.forward
        for name, W in weights.items():
            setattr(net, name, W)
        if net._saved is not None:
            net._saved = tuple(plain(list(net._saved)))
    return log


# -- the networks --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MLPNet:
    """An ``MLP`` of ``n_layers`` dense layers of ``width`` by ``width``, tanh, batch ``batch``."""

    key: str
    name: str
    n_layers: int
    width: int
    batch: int
    norm: str | None = None
    residual: bool = False

    @property
    def label(self) -> str:
        return f"{self.name}, {self.n_layers} x {self.width}, batch {self.batch}"

    def problem(self, dtype: str, seed: int = 0) -> tuple[gw.MLP, np.ndarray, np.ndarray]:
        """The network, a batch of inputs and one of targets."""
        sizes = [self.width] * (self.n_layers + 1)
        net = gw.MLP(sizes, "tanh", dtype=dtype, seed=seed, norm=self.norm, residual=self.residual)
        rng = np.random.default_rng(seed + 1)
        x = rng.standard_normal((self.batch, self.width)).astype(dtype)
        y = rng.standard_normal((self.batch, self.width)).astype(dtype)
        return net, x, y

    def floor(self, net: gw.MLP) -> MLPFloor:
        return MLPFloor(net, self.batch)


@dataclass(frozen=True)
class RecurrentNet:
    """An LSTM or GRU (``cell``) reading ``n_steps`` steps of a batch of ``batch`` sequences."""

    key: str
    name: str
    cell: str
    n_in: int
    n_hidden: int
    n_out: int
    n_steps: int
    batch: int

    @property
    def label(self) -> str:
        return (
            f"{self.name}, {self.n_in} in, {self.n_hidden} hidden, {self.n_out} out, "
            f"{self.n_steps} steps, batch {self.batch}"
        )

    def problem(self, dtype: str, seed: int = 0) -> tuple[Any, np.ndarray, np.ndarray]:
        """The network, a batch of sequences and one of targets (the last step's output)."""
        cls = {"lstm": gw.LSTM, "gru": gw.GRU}[self.cell]
        net = cls(self.n_in, self.n_hidden, self.n_out, seed=seed, dtype=dtype)
        rng = np.random.default_rng(seed + 1)
        x = rng.standard_normal((self.batch, self.n_steps, self.n_in)).astype(dtype)
        y = rng.standard_normal((self.batch, self.n_out)).astype(dtype)
        return net, x, y

    def floor(self, net: Any) -> RecurrentFloor:
        return RecurrentFloor(net, self.batch, self.n_steps)


#: The MLPs have the size of section 1's net (b), so their ratios compare with its; the
#: recurrent networks are sized for a step of about 50 ms at one thread in float32, most of
#: it in products.
NETS: tuple[MLPNet | RecurrentNet, ...] = (
    MLPNet("layernorm", "LayerNorm MLP", 8, 512, 256, norm="layer"),
    MLPNet("batchnorm", "BatchNorm MLP", 8, 512, 256, norm="batch"),
    MLPNet("residual", "residual MLP", 8, 512, 256, residual=True),
    RecurrentNet("lstm", "LSTM", "lstm", 64, 256, 64, 32, 64),
    RecurrentNet("gru", "GRU", "gru", 64, 256, 64, 32, 64),
)
NETS_BY_KEY = {net.key: net for net in NETS}


def target(threads: int) -> float | None:
    """The target at ``threads`` BLAS threads (``suite.TARGETS["layers"]``; None: reported)."""
    targets = suite.TARGETS.get("layers", {"all": TARGET})
    return targets.get(suite.thread_setting(threads))


def bench_layers(
    dtypes: Iterable[str] = DTYPES,
    *,
    nets: Iterable[MLPNet | RecurrentNet] = NETS,
    threads: int = 1,
    budget_s: float = 6.0,
    clock: Callable[[], float] = time.process_time,
) -> list[dict[str, Any]]:
    """Each network's step against its floor, per dtype, interleaved (``suite.interleaved``).

    ``threads`` is the BLAS thread count the process runs with (set before NumPy loads); it
    picks the target and is written in every row. Raises RuntimeError if a floor's products
    are not those the library's step runs (:func:`step_products`).
    """
    rows = []
    goal = target(threads)
    for net in nets:
        for dtype in dtypes:
            model, x, y = net.problem(dtype)
            floor = net.floor(model)
            ran = step_products(model, x, y)
            if ran != floor.products:
                raise RuntimeError(
                    f"floors.py is out of date: the {net.key} floor runs {floor.products} but "
                    f"the library's step runs {ran}"
                )
            contenders = {
                "step": suite.step(model, x, y),
                "floor": floor,
                "tanh": suite.TanhPasses(floor.tanh_shapes, model.dtype),
            }
            samples = suite.interleaved(contenders, budget_s=budget_s, clock=clock)
            result = suite.compare(samples["step"], samples["floor"])
            rows.append(
                {
                    "net": net.key,
                    "label": net.label,
                    "dtype": dtype,
                    "threads": threads,
                    "products": floor.n_products,
                    "copies": len(floor.copies),
                    "step_ms": result["a_ms"],
                    "floor_ms": result["b_ms"],
                    "ratio": result["ratio"],
                    "ratio_q1": result["ratio_q1"],
                    "ratio_q3": result["ratio_q3"],
                    **suite.tanh_columns(result, samples["tanh"]),
                    "rounds": result["rounds"],
                    "target": goal,
                    "holds": suite.holds(result["ratio"], goal),
                }
            )
            suite.print_row("layers", rows[-1])
    return rows
