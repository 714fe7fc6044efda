r"""Layers: :class:`Dense`, :class:`ActivationLayer`, :class:`Residual`, and their common base.

Rows are samples and columns are features: ``x`` is ``(n_samples, n_in)``, ``W`` is
``(n_in, n_out)`` and ``b`` is ``(n_out,)``. This is the transpose of the column-vector maths
:math:`z = W a + b` of most textbooks; the backward pass of a dense layer reads the same
either way:

.. math::

    \frac{\partial L}{\partial z} = \frac{\partial L}{\partial a} \odot g'(z), \qquad
    \frac{\partial L}{\partial W} = x^\top \frac{\partial L}{\partial z}, \qquad
    \frac{\partial L}{\partial b} = \sum_\text{rows} \frac{\partial L}{\partial z}, \qquad
    \frac{\partial L}{\partial x} = \frac{\partial L}{\partial z} W^\top .

Every layer has the same small interface, :class:`Layer`: ``forward(x)`` keeps what
``backward(dy)`` needs, ``backward`` sets the layer's gradients and returns ``dx``, and
``params()``, ``grads()``, ``param_names()`` list the trainable arrays in one order. A
:class:`gradwatch.Sequential` runs any of them in order; the normalisation layers are in
:mod:`gradwatch.norm`.
"""

from __future__ import annotations

from typing import Any, Literal, Self, overload

import numpy as np
from numpy.typing import DTypeLike

from gradwatch import activations, init
from gradwatch._validation import Array, check_positive_int, check_real, make_rng

__all__ = ["ActivationLayer", "Dense", "Layer", "Residual"]


class Layer:
    """Base of every layer: the interface a :class:`gradwatch.Sequential` runs.

    A subclass implements :meth:`forward` and :meth:`backward`; one with parameters also
    overrides :meth:`params`, :meth:`grads` and :meth:`param_names`. ``n_in`` and ``n_out``
    are the widths the layer takes and gives, or None: ``n_in`` None accepts any width and
    ``n_out`` None gives the width it was given (an elementwise layer).

    Attributes
    ----------
    training : bool
        True in training mode (the default), False after :meth:`eval`. Only layers whose
        forward pass differs between the two (:class:`gradwatch.BatchNorm`) read it.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> class Double(gw.Layer):
    ...     def forward(self, x):
    ...         return 2.0 * x
    ...     def backward(self, dy):
    ...         return 2.0 * dy
    >>> net = gw.Sequential([gw.Dense(2, 1, activation="identity", init="ones"), Double()])
    >>> net.forward(np.array([[1.0, 2.0]]))
    array([[6.]])
    """

    training: bool = True
    dtype: np.dtype[Any] | None = None

    @property
    def n_in(self) -> int | None:
        """Number of input features, or None if the layer takes any width."""
        return None

    @property
    def n_out(self) -> int | None:
        """Number of output features, or None if it equals the input's."""
        return None

    def forward(self, x: Array, /) -> Array:
        """Return the layer's output for ``x`` of shape ``(n_samples, n_in)``."""
        raise NotImplementedError

    def backward(self, dy: Array, /) -> Array:
        r"""Set the layer's gradients from :math:`\partial L/\partial y`; return ``dx``."""
        raise NotImplementedError

    def backward_params(self, dy: Array, /) -> None:
        """Set the layer's gradients only: the first layer of a network needs no ``dx``.

        The base class calls :meth:`backward` and drops ``dx``; :class:`Dense` skips that
        product.
        """
        self.backward(dy)

    def params(self) -> list[Array]:
        """Trainable arrays, themselves (not copies); none for the base class."""
        return []

    def grads(self) -> list[Array]:
        """Gradients of :meth:`params`, in the same order, set by :meth:`backward`."""
        return []

    def param_names(self) -> list[str]:
        """Names of :meth:`params`, in the same order."""
        return []

    def train(self) -> Self:
        """Switch to training mode and return the layer."""
        self.training = True
        return self

    def eval(self) -> Self:
        """Switch to evaluation mode and return the layer."""
        self.training = False
        return self


def check_dtype(dtype: DTypeLike) -> np.dtype[Any]:
    """Return ``dtype`` as a NumPy dtype after checking it is a floating-point type."""
    result = np.dtype(dtype)
    if result.kind != "f":
        raise TypeError(f"dtype must be a floating-point type, got {result}")
    return result


_FLOAT16 = np.dtype(np.float16)


def matmul(a: Array, b: Array, out: Array | None = None) -> Array:
    """Return ``a @ b`` (into ``out`` if given); float16 operands are multiplied in float32.

    A float16 product is accumulated in float32 and rounded to float16 once, as tensor cores
    and PyTorch do, and far faster than NumPy's float16 loop. Other dtypes: ``np.matmul``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.layers import matmul
    >>> a = np.full((1, 4096), 1.0, dtype=np.float16)
    >>> matmul(a, np.full((4096, 1), 0.5, dtype=np.float16))
    array([[2048.]], dtype=float16)
    """
    if a.dtype is not _FLOAT16 or b.dtype is not _FLOAT16:  # an identity test: no conversion
        result: Array = np.matmul(a, b, out=out)
        return result
    product = np.matmul(a.astype(np.float32), b.astype(np.float32))
    if out is None:
        rounded: Array = product.astype(np.float16)
        return rounded
    np.copyto(out, product, casting="same_kind")
    return out


def _not_run(layer: object) -> RuntimeError:
    return RuntimeError(
        f"backward called before forward: run forward(x) first ({type(layer).__name__})"
    )


class Dense(Layer):
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
        self.dtype: np.dtype[Any] = check_dtype(dtype)
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
        self._ones: Array | None = None  # (1, ..., 1) for db = ones @ dz, as long as the batch
        # Arrays kept from one step to the next while a network's loss_and_grads runs, which
        # hands none of them to its caller (see _kept); None otherwise.
        self._kept_z: dict[tuple[int, ...], Array] = {}
        self._z_buffers: dict[tuple[int, ...], Array] | None = None
        self._dx_buffers: dict[tuple[int, ...], Array] | None = None

    @property
    def n_in(self) -> int:
        """Number of input features."""
        return int(self.W.shape[0])

    @property
    def n_out(self) -> int:
        """Number of output features."""
        return int(self.W.shape[1])

    def params(self) -> list[Array]:
        """Return ``[W, b]``, the arrays themselves.

        Examples
        --------
        >>> import gradwatch as gw
        >>> layer = gw.Dense(3, 2)
        >>> [p.shape for p in layer.params()], layer.param_names()
        ([(3, 2), (2,)], ['W', 'b'])
        """
        return [self.W, self.b]

    def grads(self) -> list[Array]:
        """Return ``[dW, db]``, set by :meth:`backward` (the arrays themselves)."""
        return [self.dW, self.db]

    def param_names(self) -> list[str]:
        """Return ``["W", "b"]``."""
        return ["W", "b"]

    def forward(self, x: Array, /) -> Array:
        """Return :math:`a = g(x W + b)` and keep what :meth:`backward` needs.

        Parameters
        ----------
        x : ndarray, shape (n_samples, n_in)
            Input, already of the layer's dtype (the network checks and converts).

        Returns
        -------
        ndarray, shape (n_samples, n_out)
        """
        z = matmul(x, self.W, out=self._kept(self._z_buffers, (len(x), self.n_out)))
        z += self.b  # in place: no second (n_samples, n_out) array
        if self.activation.uses_output:  # g' will come from a, so z is not kept: overwrite it
            a = self._cached = self.activation.call_inplace(z)
        else:
            a = self.activation(z)
            self._cached = z
        self._x = x
        return a

    @overload
    def backward(self, da: Array, /, *, need_dx: Literal[True] = ...) -> Array: ...
    @overload
    def backward(self, da: Array, /, *, need_dx: Literal[False]) -> None: ...
    @overload
    def backward(self, da: Array, /, *, need_dx: bool) -> Array | None: ...

    def backward(self, da: Array, /, *, need_dx: bool = True) -> Array | None:
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
        matmul(self._x.T, dz, out=self.dW)
        # db = dz.sum(0), written as the product (1, ..., 1) @ dz, which BLAS does faster
        matmul(self._ones_for(dz), dz, out=self.db)
        if not need_dx:
            return None
        return matmul(dz, self.W.T, out=self._kept(self._dx_buffers, (len(dz), self.n_in)))

    def _kept(
        self, store: dict[tuple[int, ...], Array] | None, shape: tuple[int, int]
    ) -> Array | None:
        """Return the array of ``shape`` kept in ``store`` for reuse (made once), or None.

        The stores are set only while :meth:`Sequential.loss_and_grads` runs: its activations
        and gradients never reach its caller, so the next step may write over them. Arrays of a
        few hundred kilobytes otherwise come fresh from the operating system, which maps and
        zeroes their pages at every step. Outside it the stores are None, every call returns
        None and the products allocate new arrays: nothing a caller holds is overwritten.
        """
        if store is None:
            return None
        kept = store.get(shape)  # the stores of one network hold arrays of its one dtype
        if kept is None:
            kept = store[shape] = np.empty(shape, self.dtype)
        return kept

    def _ones_for(self, dz: Array) -> Array:
        """Return a vector of ones as long as ``dz`` and of its dtype, kept from call to call."""
        ones = self._ones
        if ones is None or ones.shape[0] != dz.shape[0] or ones.dtype != dz.dtype:
            ones = self._ones = np.ones(dz.shape[0], dz.dtype)
        return ones

    def backward_params(self, da: Array, /) -> None:
        """Set ``dW`` and ``db`` without computing ``dx``: ``backward(da, need_dx=False)``."""
        if type(self).backward is Dense.backward:
            self.backward(da, need_dx=False)
        else:  # a subclass's own backward may not take need_dx: call it as it is
            self.backward(da)

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


class ActivationLayer(Layer):
    r"""An activation as a layer of its own, :math:`a = g(z)`, without parameters.

    It lets a normalisation sit between a linear layer and its nonlinearity:
    ``Dense(n, m, activation="identity")``, then :class:`gradwatch.BatchNorm`, then
    ``ActivationLayer("relu")``. Backward: :math:`\partial L/\partial z = \partial L/\partial a
    \odot g'(z)`.

    Parameters
    ----------
    activation : str or Activation
        A name from :func:`gradwatch.activations.names` or an instance.

    Attributes
    ----------
    activation : Activation

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> layer = gw.ActivationLayer("relu")
    >>> layer.forward(np.array([[-1.0, 2.0]]))
    array([[0., 2.]])
    >>> layer.backward(np.array([[5.0, 5.0]]))
    array([[0., 5.]])
    >>> layer.params()
    []
    """

    def __init__(self, activation: str | activations.Activation) -> None:
        self.activation = activations.get(activation)
        self._cached: Array | None = None  # a when g' needs only a, else z

    def forward(self, z: Array, /) -> Array:
        """Return :math:`g(z)`, a new array (``z`` is never changed), any shape."""
        a = self.activation(z)
        self._cached = a if self.activation.uses_output else z
        return a

    def backward(self, da: Array, /) -> Array:
        r"""Return :math:`\partial L/\partial z = \partial L/\partial a \odot g'(z)`.

        Raises
        ------
        RuntimeError
            If :meth:`forward` has not been called.
        """
        if self._cached is None:
            raise _not_run(self)
        act = self.activation
        if act.uses_output:
            slope = act.derivative_from_output(self._cached)
        else:
            slope = act.derivative(self._cached)
        return np.multiply(da, slope, out=slope)  # the slope is a new array: reuse it

    def __repr__(self) -> str:
        return f"ActivationLayer({self.activation!r})"


class Residual(Layer):
    r"""A residual connection around a block: :math:`y = x + \alpha f(x)`.

    Backward, the identity path adds the incoming gradient unchanged:
    :math:`\partial L/\partial x = \partial L/\partial y + \alpha\, J_f^\top\,
    \partial L/\partial y`. A stack of these multiplies Jacobians of the form
    :math:`I + \alpha J_f` instead of :math:`J_f` alone (He et al., 2016).

    Parameters
    ----------
    block : Layer
        Any layer or :class:`gradwatch.Sequential` whose output has the shape of its input.
    scale : float, default 1.0
        The branch's weight :math:`\alpha`, a constant (not trained): e.g.
        :math:`1/\sqrt{\text{depth}}` keeps a deep stack's gradients bounded.

    Attributes
    ----------
    block : Layer
    scale : float

    Raises
    ------
    TypeError
        If ``block`` is not a :class:`Layer` or ``scale`` is not a real number.
    ValueError
        If the block's widths show that its output cannot have its input's shape, or
        ``scale`` is not finite. :meth:`forward` raises it too, naming both shapes, when the
        block's output turns out to have another shape.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> block = gw.Residual(gw.Dense(2, 2, activation="identity", init="ones"))
    >>> block.forward(np.array([[1.0, 2.0]]))
    array([[4., 5.]])
    >>> block.backward(np.array([[1.0, 0.0]]))  # dy + dy W^T
    array([[2., 1.]])
    >>> gw.Residual(gw.Dense(2, 3))
    Traceback (most recent call last):
    ...
    ValueError: Residual needs a block whose output has its input's shape, but the block maps ...
    """

    def __init__(self, block: Layer, *, scale: float = 1.0) -> None:
        if not isinstance(block, Layer):
            raise TypeError(f"block must be a gradwatch Layer, got {block!r}")
        alpha = check_real(scale, "scale")
        if not np.isfinite(alpha):
            raise ValueError(f"scale must be a finite number, got {scale!r}")
        n_in, n_out = block.n_in, block.n_out
        if n_in is not None and n_out is not None and n_in != n_out:
            raise ValueError(
                f"Residual needs a block whose output has its input's shape, but the block maps "
                f"(n_samples, {n_in}) to (n_samples, {n_out})"
            )
        self.block = block
        self.scale = alpha
        self.dtype = block.dtype

    @property
    def n_in(self) -> int | None:
        """The block's input width (None if it takes any)."""
        return self.block.n_in if self.block.n_in is not None else self.block.n_out

    @property
    def n_out(self) -> int | None:
        """Equal to :attr:`n_in`."""
        return self.n_in

    def forward(self, x: Array, /) -> Array:
        r"""Return :math:`x + \alpha f(x)`.

        Raises
        ------
        ValueError
            If the block's output does not have the shape of ``x``.
        """
        branch = self.block.forward(x)
        if branch.shape != x.shape:
            raise ValueError(
                f"Residual: x has shape {x.shape} but the block's output has shape "
                f"{branch.shape}; x + block(x) needs equal shapes"
            )
        if self.scale == 1.0:
            return x + branch
        return x + self.scale * branch

    def backward(self, dy: Array, /) -> Array:
        r"""Set the block's gradients; return :math:`\partial L/\partial y (I + \alpha J_f)`."""
        return dy + self.block.backward(self._branch_grad(dy))

    def backward_params(self, dy: Array, /) -> None:
        """Set the block's gradients without computing ``dx``."""
        self.block.backward_params(self._branch_grad(dy))

    def _branch_grad(self, dy: Array) -> Array:
        return dy if self.scale == 1.0 else self.scale * dy

    def params(self) -> list[Array]:
        """Return the block's parameters."""
        return self.block.params()

    def grads(self) -> list[Array]:
        """Return the block's gradients."""
        return self.block.grads()

    def param_names(self) -> list[str]:
        """Return the block's names, prefixed with ``block.``."""
        return [f"block.{name}" for name in self.block.param_names()]

    def train(self) -> Self:
        """Switch the block and the connection to training mode; return the connection."""
        self.block.train()
        return super().train()

    def eval(self) -> Self:
        """Switch the block and the connection to evaluation mode; return the connection."""
        self.block.eval()
        return super().eval()

    def __repr__(self) -> str:
        scale = "" if self.scale == 1.0 else f", scale={self.scale:g}"
        return f"Residual({self.block!r}{scale})"
