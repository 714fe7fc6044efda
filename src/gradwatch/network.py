r"""Networks: :class:`Sequential` runs layers in order; :class:`MLP` is one of dense layers.

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
from typing import Any, Self

import numpy as np
from numpy.typing import DTypeLike, NDArray

from gradwatch import activations, losses
from gradwatch._validation import Array, as_float_array, check_positive_int, make_rng
from gradwatch.layers import ActivationLayer, Dense, Layer, Residual, check_dtype
from gradwatch.norm import BatchNorm, LayerNorm

__all__ = ["MLP", "Sequential"]

NORMS = {"layer": LayerNorm, "batch": BatchNorm}


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


def _chain_widths(layers: Sequence[Layer]) -> tuple[int | None, int | None, int | None]:
    """Check consecutive widths agree; return the input width, its layer's index, output width."""
    n_in: int | None = None
    first: int | None = None
    width: int | None = None  # features flowing between layers; None while unknown
    for i, layer in enumerate(layers):
        expects = layer.n_in
        if expects is not None:
            if width is not None and expects != width:
                raise ValueError(
                    f"layers[{i}] expects n_in={expects} features but layers[{i - 1}] gives {width}"
                )
            if n_in is None:
                n_in, first = expects, i
            width = expects
        if layer.n_out is not None:
            width = layer.n_out
    return n_in, first, width


def _common_dtype(layers: Sequence[Layer]) -> np.dtype[Any]:
    """Return the one dtype of the layers that have one (float64 if none has)."""
    dtypes = {layer.dtype for layer in layers if layer.dtype is not None}
    if len(dtypes) > 1:
        names = sorted(dtype.name for dtype in dtypes)
        raise ValueError(f"the layers must share one dtype, got {', '.join(names)}")
    return dtypes.pop() if dtypes else np.dtype(np.float64)


def _reuse_buffers(net: Sequential) -> list[Dense]:
    """Let the network's dense layers reuse their arrays of the last step (``Dense._kept``).

    For :meth:`Sequential.loss_and_grads` only, whose intermediate arrays never reach its
    caller; it switches reuse off again (:func:`_stop_reusing`) on the way out, even on an
    error, so that :meth:`Sequential.forward` and :meth:`Sequential.backward` called directly
    always return new arrays. Each dense layer keeps its own ``z`` (its output, which the next
    step replaces anyway). The gradients ``dx`` handed down the network share two stores,
    taken by the dense layers in turn, so that no layer writes its ``dx`` over the ``da`` it is
    reading, and the memory they hold is that of two such arrays.
    """
    dense = [layer for layer in net.layers if type(layer) is Dense]
    for i, layer in enumerate(dense):
        layer._z_buffers = layer._kept_z
        layer._dx_buffers = net._kept_dx[i % 2]
    return dense


def _stop_reusing(dense: list[Dense]) -> None:
    """Switch off what :func:`_reuse_buffers` switched on."""
    for layer in dense:
        layer._z_buffers = layer._dx_buffers = None


class Sequential(Layer):
    """A network of layers run in order, with the interface of :class:`MLP`.

    Forward runs ``layers[0]``, ``layers[1]``, ...; backward runs them in reverse, each turning
    the gradient at its output into the gradient at its input. A Sequential is itself a
    :class:`~gradwatch.layers.Layer`, so it can be a block inside a
    :class:`~gradwatch.Residual` or another Sequential. It works with :func:`gradwatch.train`,
    :func:`gradwatch.gradcheck`, :mod:`gradwatch.clip` and :mod:`gradwatch.optim`, which only
    read ``params()``, ``grads()``, ``param_names()`` and ``loss_and_grads``.

    Parameters
    ----------
    layers : sequence of Layer
        At least one: :class:`~gradwatch.Dense`, :class:`~gradwatch.ActivationLayer`,
        :class:`~gradwatch.LayerNorm`, :class:`~gradwatch.BatchNorm`,
        :class:`~gradwatch.Residual`, a Sequential, or a :class:`~gradwatch.layers.Layer`
        subclass of your own.

    Attributes
    ----------
    layers : list of Layer
    dtype : numpy.dtype
        The layers' common dtype (float64 if none has parameters); inputs are converted to it.

    Raises
    ------
    TypeError
        If ``layers`` is not a sequence of layers.
    ValueError
        If it is empty, two consecutive widths disagree, or the layers' dtypes differ.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.Sequential([
    ...     gw.Dense(3, 4, activation="identity", rng=0),
    ...     gw.BatchNorm(4),
    ...     gw.ActivationLayer("relu"),
    ...     gw.Residual(gw.Sequential([gw.LayerNorm(4), gw.Dense(4, 4, rng=1)])),
    ...     gw.Dense(4, 1, activation="identity", rng=2),
    ... ])
    >>> x = np.random.default_rng(0).normal(size=(8, 3))
    >>> loss, grads = net.loss_and_grads(x, np.ones((8, 1)))
    >>> net.param_names()[2:4], len(grads) == len(net.params())
    (['layers[1].gamma', 'layers[1].beta'], True)
    >>> net.eval().layers[1].training
    False
    >>> gw.Sequential([gw.Dense(3, 4), gw.Dense(5, 1)])
    Traceback (most recent call last):
    ...
    ValueError: layers[1] expects n_in=5 features but layers[0] gives 4
    """

    def __init__(self, layers: Sequence[Layer]) -> None:
        if isinstance(layers, (str, bytes, Layer)) or not isinstance(layers, Sequence):
            raise TypeError(f"layers must be a list of layers, got {layers!r}")
        if not layers:
            raise ValueError("layers is empty; a Sequential needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"layers[{i}] must be a gradwatch Layer (Dense, ActivationLayer, LayerNorm, "
                    f"BatchNorm, Residual, Sequential or a Layer subclass), got {layer!r}"
                )
        self.layers: list[Any] = list(layers)
        self._n_in, self._first_sized, self._n_out = _chain_widths(self.layers)
        self.dtype: np.dtype[Any] = _common_dtype(self.layers)
        self._output_shape: tuple[int, ...] | None = None
        # The two stores of dx arrays its dense layers take in turn in loss_and_grads.
        self._kept_dx: tuple[dict[tuple[int, ...], Array], dict[tuple[int, ...], Array]] = ({}, {})

    @property
    def n_in(self) -> int | None:
        """Input width: that of the first layer with a fixed one (None if no layer has one)."""
        return self._n_in

    @property
    def n_out(self) -> int | None:
        """Output width (None if no layer fixes it)."""
        return self._n_out

    @property
    def n_params(self) -> int:
        """Number of trainable scalars."""
        return sum(p.size for p in self.params())

    def params(self) -> list[Array]:
        """Return every layer's parameters, in order: the arrays themselves.

        They are not copies, so updating them changes the network. For a plain :class:`MLP`
        they are ``[W1, b1, W2, b2, ...]``.

        Examples
        --------
        >>> import gradwatch as gw
        >>> [p.shape for p in gw.Sequential([gw.Dense(3, 2), gw.LayerNorm(2)]).params()]
        [(3, 2), (2,), (2,), (2,)]
        """
        return [p for layer in self.layers for p in layer.params()]

    def grads(self) -> list[Array]:
        """Return every layer's gradients in the order of :meth:`params`, set by :meth:`backward`.

        They are the layers' own gradient arrays, not copies.

        Examples
        --------
        >>> import gradwatch as gw
        >>> net = gw.Sequential([gw.Dense(3, 2), gw.LayerNorm(2)])
        >>> net.grads()[2] is net.layers[1].dgamma
        True
        """
        return [g for layer in self.layers for g in layer.grads()]

    def param_names(self) -> list[str]:
        """Return names matching :meth:`params`: ``layers[0].W``, ``layers[1].gamma``, ...

        Examples
        --------
        >>> import gradwatch as gw
        >>> gw.Sequential([gw.Dense(3, 2), gw.Residual(gw.LayerNorm(2))]).param_names()
        ['layers[0].W', 'layers[0].b', 'layers[1].block.gamma', 'layers[1].block.beta']
        """
        return [
            f"layers[{i}].{name}"
            for i, layer in enumerate(self.layers)
            for name in layer.param_names()
        ]

    def train(self) -> Self:
        """Put every layer in training mode; return the network.

        Examples
        --------
        >>> import gradwatch as gw
        >>> net = gw.Sequential([gw.Dense(2, 2), gw.BatchNorm(2)]).eval()
        >>> net.train().layers[1].training
        True
        """
        for layer in self.layers:
            layer.train()
        return super().train()

    def eval(self) -> Self:
        """Put every layer in evaluation mode; return the network.

        Examples
        --------
        >>> import gradwatch as gw
        >>> gw.Sequential([gw.Dense(2, 2), gw.BatchNorm(2)]).eval().layers[1].training
        False
        """
        for layer in self.layers:
            layer.eval()
        return super().eval()

    def _check_input(self, x: object) -> Array:
        array = as_float_array(x, "x")
        n_in = self._n_in
        if array.ndim != 2:
            width = "n_in" if n_in is None else n_in
            hint = "; for one sample use x[None, :]" if array.ndim == 1 else ""
            raise ValueError(
                f"x must be 2-D with shape (n_samples, {width}), got shape {array.shape}{hint}"
            )
        if n_in is not None and array.shape[1] != n_in:
            raise ValueError(
                f"x has {array.shape[1]} features but layer {self._first_sized} expects n_in={n_in}"
            )
        return np.asarray(array, dtype=self.dtype)

    def forward(self, x: Array, /) -> Array:
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

    def backward(self, dy: Array, /) -> Array:
        r"""Backpropagate :math:`\partial L/\partial y`; set every layer's gradients.

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
        result: Array = self.layers[0].backward(self._backward_to_first_layer(dy))
        return result

    def backward_params(self, dy: Array, /) -> None:
        r"""Set every layer's gradients without computing :math:`\partial L/\partial x`.

        The backward pass of :meth:`loss_and_grads`: as :meth:`backward`, minus the first
        layer's product that only ``dx`` needs.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> net = gw.Sequential([gw.Dense(2, 1, activation="identity")])
        >>> _ = net.forward(np.array([[1.0, 2.0]]))
        >>> print(net.backward_params(np.array([[3.0]])))   # no dL/dx
        None
        >>> net.grads()[0].tolist()                         # dW = x.T dy
        [[3.0], [6.0]]
        """
        self.layers[0].backward_params(self._backward_to_first_layer(dy))

    def _backward_to_first_layer(self, dy: Array) -> Array:
        r"""Check ``dy`` and backpropagate it through every layer but the first.

        Returns the gradient at the first layer's output: :meth:`backward` then asks that
        layer for ``dx``, :meth:`loss_and_grads` does not.
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
        self, x: Array, y: Array, loss: str | losses.Loss = "mse", loss_scale: float = 1.0
    ) -> tuple[float, list[Array]]:
        r"""Forward pass, loss and backward pass in one call.

        Unlike :meth:`backward`, this does not compute :math:`\partial L/\partial x`,
        which nobody reads here: the first layer's backward pass skips that product.

        The loss is computed in float32 or wider whatever the network's dtype (a float16
        network's output is copied to float32 first, as ``torch.autocast`` runs the losses),
        and its gradient is multiplied by ``loss_scale`` there, before it is rounded to the
        network's dtype for the backward pass (:func:`gradwatch.losses.scaled_value_and_grad`).

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_in)
        y : ndarray
            Targets in the form the loss expects (see :mod:`gradwatch.losses`).
        loss : str or Loss, default "mse"
        loss_scale : float, default 1.0
            Multiplies :math:`\partial L/\partial y` before the backward pass, and so every
            gradient returned: loss scaling for float16 (see :mod:`gradwatch.amp`). The loss
            returned is not scaled.

        Returns
        -------
        loss : float
        grads : list of ndarray
            :meth:`grads`, in the order of :meth:`params`.

        Raises
        ------
        ValueError
            If ``x`` does not fit the network (see :meth:`forward`), ``y`` does not fit the
            loss, or ``loss_scale`` is not a positive finite number.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> net = gw.MLP([1, 1], activation="identity", init="ones")
        >>> loss, grads = net.loss_and_grads(np.array([[2.0]]), np.array([[0.0]]))
        >>> loss, [g.tolist() for g in grads]
        (4.0, [[[8.0]], [4.0]])
        >>> loss, grads = net.loss_and_grads(np.array([[2.0]]), np.array([[0.0]]), loss_scale=8)
        >>> loss, [g.tolist() for g in grads]
        (4.0, [[[64.0]], [32.0]])
        """
        reusing = _reuse_buffers(self)
        try:
            value, dy = losses.scaled_value_and_grad(loss, self.forward(x), y, loss_scale)
            self.layers[0].backward_params(self._backward_to_first_layer(dy))
        finally:
            _stop_reusing(reusing)
        return value, self.grads()

    def __repr__(self) -> str:
        inner = ",\n".join(repr(layer) for layer in self.layers).replace("\n", "\n    ")
        return f"Sequential([\n    {inner},\n])"


class MLP(Sequential):
    r"""Multilayer perceptron with a vectorised forward and backward pass.

    A plain MLP is a :class:`Sequential` of :class:`~gradwatch.Dense` layers, one per pair of
    consecutive ``sizes``. ``norm`` and ``residual`` build the same depth (the same dense
    layers, drawn from ``seed`` in the same order, so with the same weights) in other forms,
    one block per dense layer:

    - ``norm="layer"`` or ``"batch"``: every hidden layer becomes ``Sequential([Dense(...,
      activation="identity"), LayerNorm or BatchNorm, ActivationLayer(activation)])``, the
      normalisation between the linear map and its nonlinearity (Ioffe and Szegedy, 2015);
    - ``residual=True``: the first layer (input to width) and the last (width to output) stay
      plain ``Dense`` layers and each layer in between becomes a pre-activation residual block
      ``Residual(Sequential([norm, ActivationLayer(activation), Dense(width, width,
      activation="identity")]))``, :math:`x + W g(\mathrm{norm}(x)) + b` (He et al., 2016),
      without the norm when ``norm`` is None. The hidden widths must then be equal.

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
    norm : {None, "layer", "batch"}, default None
        Normalisation of the hidden layers (default ``eps`` and ``momentum``).
    residual : bool, default False
        Residual blocks between the first and the last layer.

    Attributes
    ----------
    layers : list of Layer
        One block per dense layer: the :class:`~gradwatch.Dense` layers themselves for a plain
        MLP; :class:`Sequential` blocks (``norm``) or :class:`~gradwatch.Residual` blocks
        (``residual``) otherwise.

    Raises
    ------
    TypeError
        If ``sizes`` is neither a sequence of ints nor a 1-D integer array, ``activation`` is
        neither a name, an Activation nor a list of them, ``residual`` is not a bool, or
        ``seed`` or ``dtype`` has the wrong type.
    ValueError
        If a width is not a positive integer, the activations do not match the hidden layers,
        ``seed`` is negative, ``norm`` is not one of the three choices, or ``residual`` is
        True with unequal hidden widths.

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
    >>> deep = gw.MLP([2, 8, 8, 8, 1], activation="relu", norm="layer", residual=True)
    >>> [type(block).__name__ for block in deep.layers]
    ['Dense', 'Residual', 'Residual', 'Dense']
    >>> for name in deep.param_names()[2:6]:
    ...     print(name)
    layers[1].block.layers[0].gamma
    layers[1].block.layers[0].beta
    layers[1].block.layers[2].W
    layers[1].block.layers[2].b
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
        *,
        norm: str | None = None,
        residual: bool = False,
    ) -> None:
        widths = _check_sizes(sizes)
        hidden = _check_activations(activation, widths)
        rng = make_rng(seed, "seed")
        dtype = check_dtype(dtype)
        if norm is not None and norm not in NORMS:
            raise ValueError(f"norm must be None, 'layer' or 'batch', got {norm!r}")
        if not isinstance(residual, (bool, np.bool_)):
            raise TypeError(f"residual must be True or False, got {residual!r}")
        if residual and len(set(widths[1:-1])) > 1:
            raise ValueError(
                f"residual=True needs equal hidden widths (each block adds its input to its "
                f"output), got sizes {widths}"
            )
        plain = norm is None and not residual
        last = len(widths) - 2
        acts = [*hidden, output_activation]
        blocks: list[Layer] = []
        for i, (n_in, n_out, act) in enumerate(zip(widths[:-1], widths[1:], acts, strict=True)):
            stays_plain = plain or i == last or (residual and i == 0)
            layer = Dense(
                n_in,
                n_out,
                act if stays_plain else "identity",
                init=init,
                bias_init=bias_init,
                rng=rng,
                dtype=dtype,
            )
            normalised = [] if norm is None else [NORMS[norm](n_out, dtype=dtype)]
            if stays_plain:
                blocks.append(layer)
            elif residual:
                branch = Sequential([*normalised, ActivationLayer(act), layer])
                blocks.append(Residual(branch))
            else:
                blocks.append(Sequential([layer, *normalised, ActivationLayer(act)]))
        super().__init__(blocks)
        self.norm = norm
        self.residual = bool(residual)
        self._sizes = widths
        self._hidden = [activations.get(act) for act in hidden]
        self._output_activation = activations.get(output_activation)

    @property
    def sizes(self) -> list[int]:
        """Widths ``[n_in, hidden_1, ..., n_out]``."""
        return list(self._sizes)

    def __repr__(self) -> str:
        hidden = {repr(act) for act in self._hidden}
        activation = hidden.pop() if len(hidden) == 1 else ("mixed" if hidden else "None")
        extra = f", norm={self.norm!r}" if self.norm is not None else ""
        extra += ", residual=True" if self.residual else ""
        return (
            f"MLP({self.sizes}, activation={activation}, "
            f"output_activation={self._output_activation!r}{extra}, dtype={self.dtype.name})"
        )
