r"""Gradient health, measured layer by layer.

Examples
--------
>>> import numpy as np
>>> import gradwatch as gw
>>> net = gw.MLP([16] * 6, activation="sigmoid", seed=0)
>>> norms = gw.diagnostics.backprop_norms(net, np.ones((4, 16)), seed=0)
>>> bool(norms[0] < norms[-1])    # sigmoid: the gradient shrinks on its way to the input
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradwatch._validation import Array, as_float_array, make_rng

__all__ = ["backprop_norms", "weight_grad_norms"]


def backprop_norms(
    net: Any, x: Array, dy: Array | None = None, seed: int | np.random.Generator = 0
) -> Array:
    r"""Size of the backpropagated gradient at every layer, from the input to the output.

    Runs ``net.forward(x)``, then the backward pass one layer at a time, and records the
    root-mean-square over samples of :math:`\lVert \partial L/\partial a^{(l)} \rVert`, where
    :math:`a^{(0)} = x` is the input and :math:`a^{(L)} = y` the output.

    Parameters
    ----------
    net : MLP
    x : ndarray, shape (n_samples, n_in)
    dy : ndarray, shape (n_samples, n_out), optional
        The gradient arriving at the output. By default a standard normal draw from ``seed``,
        which measures how the network itself scales gradients, whatever the loss.
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    ndarray, shape (n_layers + 1,)
        Entry ``l`` is the gradient size at :math:`a^{(l)}`: entry 0 at the input, the last at
        the output.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([3, 3, 3], activation="identity", init="orthogonal", seed=0)
    >>> norms = gw.diagnostics.backprop_norms(net, np.ones((2, 3)), seed=1)
    >>> bool(np.allclose(norms, norms[-1]))   # orthogonal weights keep the norm exactly
    True
    """
    y = net.forward(x)
    if dy is None:
        grad = make_rng(seed, "seed").standard_normal(y.shape).astype(y.dtype)
    else:
        grad = as_float_array(dy, "dy").astype(y.dtype, copy=True)
        if grad.shape != y.shape:
            raise ValueError(f"dy has shape {grad.shape} but the output has shape {y.shape}")
    n_samples = max(y.shape[0], 1)
    norms = [float(np.linalg.norm(grad)) / np.sqrt(n_samples)]
    for layer in reversed(net.layers):
        grad = layer.backward(grad)
        norms.append(float(np.linalg.norm(grad)) / np.sqrt(n_samples))
    return np.asarray(norms[::-1])


def weight_grad_norms(net: Any) -> Array:
    r"""Frobenius norm :math:`\lVert \partial L/\partial W^{(l)} \rVert` of each layer's weights.

    Read after a backward pass (``net.loss_and_grads`` or :func:`backprop_norms`).

    Returns
    -------
    ndarray, shape (n_layers,)

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 4, 1], seed=0)
    >>> _ = net.loss_and_grads(np.ones((3, 2)), np.zeros((3, 1)))
    >>> gw.diagnostics.weight_grad_norms(net).shape
    (2,)
    """
    return np.asarray([float(np.linalg.norm(layer.dW)) for layer in net.layers])
