r"""Loss functions: the value, and its gradient with respect to the prediction.

Each loss ``L`` is called as ``L(y_pred, y) -> float`` and ``L.grad(y_pred, y) -> ndarray``
(same shape and dtype as ``y_pred``, computed in float32 or wider); ``L.value_and_grad``
gives both from one pass. All of them average, as PyTorch's default ``reduction="mean"`` does,
so the gradient carries the factor :math:`1/N`.

=========================  =================================  ====================================
name                       ``y_pred``                         ``y``
=========================  =================================  ====================================
``mse``                    any shape                          same shape
``bce``                    probabilities in :math:`[0, 1]`    targets in :math:`[0, 1]`, same shape
``bce_with_logits``        logits, any shape                  targets in :math:`[0, 1]`, same shape
``softmax_cross_entropy``  logits ``(n_samples, n_classes)``  integer labels ``(n_samples,)``
=========================  =================================  ====================================

For ``mse``, a target of shape ``(n,)`` is also accepted for a prediction of shape ``(n, 1)``.

Low precision: every loss computes in float32 or wider, whatever the prediction's dtype (as
``torch.autocast`` runs ``mse_loss``, ``binary_cross_entropy`` and ``cross_entropy`` in
float32). In float16 the sum of squares of ``mse`` overflows as soon as it passes 65504 (an
error of 32 on 64 samples), the floor :math:`10^{-12}` of ``bce``'s denominator is 0, and
:math:`\log` of a probability below :math:`2^{-24}` is :math:`-\infty`. A float16
prediction's gradient is rounded to float16 at the end; networks instead call the loss on a
float32 copy of their output and multiply the float32 gradient by ``loss_scale`` before
rounding it (see :mod:`gradwatch.amp`).

Examples
--------
>>> import numpy as np
>>> import gradwatch as gw
>>> mse = gw.losses.get("mse")
>>> mse(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))
2.5
>>> mse.grad(np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]]))
array([[1.],
       [2.]])
>>> y16 = np.full((64, 1), 300.0, dtype=np.float16)  # squares sum to 5.8e6 > 65504
>>> mse(y16, np.zeros((64, 1))), mse.grad(y16, np.zeros((64, 1))).dtype
(90000.0, dtype('float16'))
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from gradwatch._validation import Array, as_float_array, check_positive, widened

__all__ = [
    "BCE",
    "MSE",
    "BCEWithLogits",
    "Loss",
    "SoftmaxCrossEntropy",
    "compute_dtype",
    "get",
    "names",
    "scaled_value_and_grad",
]


def _check_prediction(y_pred: object) -> Array:
    array = as_float_array(y_pred, "y_pred")
    if array.size == 0:
        raise ValueError(f"y_pred must not be empty, got shape {array.shape}")
    return array


def compute_dtype(dtype: np.dtype[Any]) -> np.dtype[Any]:
    """Return the dtype a loss computes in: float32 for float16 (which overflows), else ``dtype``.

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.losses import compute_dtype
    >>> compute_dtype(np.dtype(np.float16)), compute_dtype(np.dtype(np.float64))
    (dtype('float32'), dtype('float64'))
    """
    return np.promote_types(dtype, np.float32)


def _match_target(y_pred: Array, y: object, loss: str) -> Array:
    """Return ``y`` with the shape and dtype of ``y_pred``, or raise a ValueError."""
    target = as_float_array(y, "y")
    if target.shape != y_pred.shape:
        if target.ndim == 1 and y_pred.shape == (target.shape[0], 1):
            target = target.reshape(-1, 1)
        else:
            raise ValueError(
                f"y has shape {target.shape} but {loss} needs the shape of y_pred, {y_pred.shape}"
            )
    return target.astype(y_pred.dtype, copy=False)


class Loss:
    """Base class: ``__call__`` gives the mean loss, ``grad`` its gradient w.r.t. ``y_pred``.

    A loss implements ``_compute(y_pred, y)``, which receives the checked prediction already
    in its compute dtype (:func:`compute_dtype`) and returns the loss and its gradient there;
    :meth:`value_and_grad` rounds the gradient to the prediction's own dtype.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> loss = gw.losses.get("mse")
    >>> isinstance(loss, gw.losses.Loss)
    True
    >>> loss.value_and_grad(np.array([[1.0]]), np.array([[0.0]]))
    (1.0, array([[2.]]))
    """

    name: ClassVar[str] = ""

    def value_and_grad(self, y_pred: Array, y: Array) -> tuple[float, Array]:
        r"""Return the loss and :math:`\partial L/\partial y_\text{pred}` from one pass.

        Both are computed in float32 or wider; the gradient has the dtype of ``y_pred``.
        """
        array = _check_prediction(y_pred)
        value, grad = self._compute(widened(array), y)
        return value, grad.astype(array.dtype, copy=False)

    def _compute(self, y_pred: Array, y: object) -> tuple[float, Array]:
        """Return the loss and its gradient, ``y_pred`` being in its compute dtype."""
        raise NotImplementedError

    def __call__(self, y_pred: Array, y: Array) -> float:
        """Return the mean loss as a Python float."""
        return self.value_and_grad(y_pred, y)[0]

    def grad(self, y_pred: Array, y: Array) -> Array:
        """Return the gradient of the mean loss with respect to ``y_pred``."""
        return self.value_and_grad(y_pred, y)[1]

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    r"""Mean squared error over all elements, :math:`\frac1N\sum (\hat y - y)^2`.

    The gradient is :math:`\frac2N(\hat y - y)`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gw.losses.MSE()(np.array([1.0, 3.0]), np.array([0.0, 1.0]))
    2.5
    """

    name = "mse"

    def _compute(self, y_pred: Array, y: object) -> tuple[float, Array]:
        diff = y_pred - _match_target(y_pred, y, self.name)
        value = float(np.vdot(diff, diff)) / diff.size
        diff *= 2.0 / diff.size
        return value, diff


def _probability_targets(y_pred: Array, y: object, loss: str) -> Array:
    """Return the targets of a binary cross-entropy: ``y`` matched to ``y_pred``, all in [0, 1]."""
    target = _match_target(y_pred, y, loss)
    if np.any((target < 0) | (target > 1)) or not np.all(np.isfinite(target)):
        raise ValueError("y must hold targets in [0, 1]")
    return target


class BCE(Loss):
    r"""Binary cross-entropy of probabilities, :math:`-\frac1N\sum y\log p + (1-y)\log(1-p)`.

    As in PyTorch, each log is clamped at :math:`-100`, so a probability of exactly 0 or 1 gives a
    large finite loss instead of infinity, and the gradient
    :math:`(p - y)/(p(1-p))/N` has its denominator floored at :math:`10^{-12}`.
    Prefer :class:`BCEWithLogits` on the logits: it is exact for every input.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> round(gw.losses.BCE()(np.array([0.5, 0.9]), np.array([1.0, 1.0])), 4)
    0.3993
    """

    name = "bce"

    def _compute(self, p: Array, y: object) -> tuple[float, Array]:
        if np.any((p < 0) | (p > 1)) or not np.all(np.isfinite(p)):
            raise ValueError(
                "y_pred must hold probabilities in [0, 1] for 'bce'; "
                "for logits use 'bce_with_logits'"
            )
        target = _probability_targets(p, y, self.name)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100.0)
            log_q = np.maximum(np.log1p(-p), -100.0)
        value = -float(np.mean(target * log_p + (1.0 - target) * log_q))
        return value, (p - target) / np.maximum(p * (1.0 - p), 1e-12) / p.size


class BCEWithLogits(Loss):
    r"""Binary cross-entropy on logits :math:`z`, with :math:`p = \sigma(z)` never formed.

    Written as :math:`\max(z, 0) - z y + \log(1 + e^{-|z|})`, which is exact for any :math:`z`;
    the gradient is :math:`(\sigma(z) - y)/N`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> round(gw.losses.BCEWithLogits()(np.array([0.0, 1e4]), np.array([1.0, 1.0])), 4)
    0.3466
    """

    name = "bce_with_logits"

    def _compute(self, z: Array, y: object) -> tuple[float, Array]:
        target = _probability_targets(z, y, self.name)
        e = np.exp(-np.abs(z))
        value = float(np.mean(np.maximum(z, 0.0) - z * target + np.log1p(e)))
        sigmoid = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return value, (sigmoid - target) / z.size


class SoftmaxCrossEntropy(Loss):
    r"""Softmax cross-entropy of logits ``(n_samples, n_classes)`` against integer labels.

    :math:`L = \frac1n \sum_i \left(\log\sum_k e^{z_{ik}} - z_{i y_i}\right)`, through
    log-sum-exp (the row maximum is subtracted first); the gradient is
    :math:`(\mathrm{softmax}(z) - \mathrm{onehot}(y))/n`. PyTorch's ``cross_entropy``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> ce = gw.losses.SoftmaxCrossEntropy()
    >>> z, labels = np.array([[2.0, 0.0, 0.0]]), np.array([0])
    >>> round(ce(z, labels), 4), ce.grad(z, labels).round(3)
    (0.2395, array([[-0.213,  0.107,  0.107]]))
    """

    name = "softmax_cross_entropy"

    def _compute(self, z: Array, y: object) -> tuple[float, Array]:
        if z.ndim != 2:
            raise ValueError(
                f"y_pred must be logits of shape (n_samples, n_classes), got shape {z.shape}"
            )
        n, k = z.shape
        labels = np.asarray(y)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"y must hold integer class labels, got dtype {labels.dtype}")
        if labels.shape != (n,):
            raise ValueError(f"y must have shape ({n},) to match y_pred, got {labels.shape}")
        if np.any((labels < 0) | (labels >= k)):
            bad = labels[(labels < 0) | (labels >= k)][0]
            raise ValueError(f"y holds the label {int(bad)}, outside the range [0, {k})")
        shifted = z - z.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        value = float(np.mean(np.log(total[:, 0]) - shifted[rows, labels]))
        grad = exp / total
        grad[rows, labels] -= 1.0
        grad /= n
        return value, grad


def scaled_value_and_grad(
    loss: str | Loss, y_pred: Array, y: Array, loss_scale: float = 1.0
) -> tuple[float, Array]:
    r"""Return the loss and ``loss_scale`` times its gradient, both computed in float32 or wider.

    What every network's ``loss_and_grads`` calls: the prediction is copied to its compute
    dtype (float32 for float16, see :func:`compute_dtype`), the loss and its gradient are
    computed there and the gradient is multiplied by ``loss_scale`` before the network rounds
    it to its own dtype for the backward pass, as ``torch.autocast`` and
    ``GradScaler.scale(loss).backward()`` do. The value returned is the unscaled loss.

    Parameters
    ----------
    loss : str or Loss
    y_pred : ndarray
        The network's output, any floating dtype.
    y : ndarray
        Targets in the form the loss expects.
    loss_scale : float, default 1.0
        Positive and finite.

    Returns
    -------
    value : float
    grad : ndarray
        :math:`S\, \partial L/\partial y_\text{pred}`, in the compute dtype.

    Raises
    ------
    ValueError
        If ``loss_scale`` is not a positive finite number, or ``y_pred`` and ``y`` are not
        what the loss expects (see the table above).

    Examples
    --------
    >>> import numpy as np
    >>> from gradwatch.losses import scaled_value_and_grad
    >>> y16 = np.array([[0.0]], dtype=np.float16)
    >>> value, grad = scaled_value_and_grad("mse", y16, np.array([[1e-8]]), loss_scale=1024.0)
    >>> grad.dtype, bool(grad[0, 0] != 0), bool(np.float16(grad[0, 0] / 1024) == 0)
    (dtype('float32'), True, True)
    """
    scale = check_positive(loss_scale, "loss_scale")
    function = get(loss)
    wide = widened(_check_prediction(y_pred))
    if type(function).value_and_grad is Loss.value_and_grad:
        value, grad = function._compute(wide, y)  # what value_and_grad does, less its checks
    else:  # a loss with a value_and_grad of its own
        value, grad = function.value_and_grad(wide, y)
    if scale != 1.0:
        grad = grad * np.asarray(scale, dtype=grad.dtype)
    return value, grad


_REGISTRY: dict[str, type[Loss]] = {
    cls.name: cls for cls in (MSE, BCE, BCEWithLogits, SoftmaxCrossEntropy)
}
_ALIASES = {"cross_entropy": "softmax_cross_entropy", "binary_cross_entropy": "bce"}


def names() -> tuple[str, ...]:
    """Names of the registered losses.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.losses.names()
    ('mse', 'bce', 'bce_with_logits', 'softmax_cross_entropy')
    """
    return tuple(_REGISTRY)


def get(loss: str | Loss) -> Loss:
    """Return a loss from its name, or the given :class:`Loss` unchanged.

    Parameters
    ----------
    loss : str or Loss
        A name from :func:`names` (``cross_entropy`` is an alias), or an instance.

    Returns
    -------
    Loss

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid ones.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.losses.get("mse")
    MSE()
    >>> gw.losses.get("hinge")
    Traceback (most recent call last):
    ...
    ValueError: unknown loss 'hinge'; expected one of: mse, bce, bce_with_logits, ...
    """
    if isinstance(loss, Loss):
        return loss
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a name (str) or a Loss, got {type(loss).__name__}")
    key = _ALIASES.get(loss.lower(), loss.lower())
    if key not in _REGISTRY:
        raise ValueError(f"unknown loss {loss!r}; expected one of: {', '.join(_REGISTRY)}")
    return _REGISTRY[key]()
