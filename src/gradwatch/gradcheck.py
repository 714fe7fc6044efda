r"""Check backpropagation against central finite differences.

For every parameter entry :math:`w_j` the numerical derivative is

.. math:: \frac{L(w_j + \varepsilon) - L(w_j - \varepsilon)}{2\varepsilon},

whose truncation error is :math:`O(\varepsilon^2)`. Its rounding error is about
:math:`10^{-16} |L| / \varepsilon`, so entries much smaller than that cannot be checked in
relative terms; they are compared at the absolute scale ``atol`` instead:

.. math::

    e_j = \frac{|g_j - \hat g_j|}{\max(|g_j|, |\hat g_j|, \text{atol}/\text{rtol})},
    \qquad \text{passed} \iff \max_j e_j \le \text{rtol}.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradwatch import losses
from gradwatch._validation import Array, check_positive

__all__ = ["GradCheckReport", "gradcheck"]


@dataclass(frozen=True)
class GradCheckReport:
    """Result of :func:`gradcheck`.

    Attributes
    ----------
    max_rel_error : float
        Largest relative error over all parameter entries.
    passed : bool
        Whether ``max_rel_error <= rtol``.
    worst : tuple of (str, tuple of int)
        Name of the parameter (``"layers[0].W"``) and index of the worst entry.
    rel_errors : dict of str to float
        Largest relative error of each parameter.
    analytic, numeric : dict of str to ndarray
        Backpropagated and finite-difference gradients of each parameter.
    rtol, atol, eps : float
        The settings of the check.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> rng = np.random.default_rng(0)
    >>> net = gw.MLP([2, 3, 1], seed=0)
    >>> report = gw.gradcheck(net, rng.normal(size=(4, 2)), rng.normal(size=(4, 1)))
    >>> report.passed, sorted(report.rel_errors)
    (True, ['layers[0].W', 'layers[0].b', 'layers[1].W', 'layers[1].b'])
    """

    max_rel_error: float
    passed: bool
    worst: tuple[str, tuple[int, ...]]
    rel_errors: dict[str, float]
    analytic: dict[str, Array] = field(repr=False)
    numeric: dict[str, Array] = field(repr=False)
    rtol: float
    atol: float
    eps: float

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        name, index = self.worst
        return (
            f"GradCheckReport({verdict}: max_rel_error={self.max_rel_error:.2e} at "
            f"{name}{list(index)}, rtol={self.rtol:g})"
        )


def gradcheck(
    net: Any,
    x: Array,
    y: Array,
    loss: str | losses.Loss = "mse",
    eps: float = 1e-6,
    rtol: float = 1e-6,
    atol: float = 1e-9,
) -> GradCheckReport:
    """Compare a network's backpropagated gradients with central finite differences.

    Parameters
    ----------
    net : MLP or any model with ``params()``, ``param_names()`` and ``loss_and_grads``
        Must be float64; its parameters are restored exactly afterwards.
    x : ndarray, shape (n_samples, n_in), float64
    y : ndarray
        Targets for the loss.
    loss : str or Loss, default "mse"
    eps : float, default 1e-6
        Step of the finite differences.
    rtol : float, default 1e-6
        Largest relative error that passes.
    atol : float, default 1e-9
        Absolute scale below which errors are not relative (the rounding floor).

    Returns
    -------
    GradCheckReport

    Raises
    ------
    TypeError
        If the network or ``x`` is not float64: float32 cannot resolve a finite difference.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> rng = np.random.default_rng(0)
    >>> net = gw.MLP([3, 4, 2], activation="tanh", seed=0)
    >>> x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    >>> report = gw.gradcheck(net, x, y, loss="mse")
    >>> report.passed, report.max_rel_error < 1e-6
    (True, True)
    """
    step = check_positive(eps, "eps")
    relative = check_positive(rtol, "rtol")
    absolute = check_positive(atol, "atol")
    x_array = np.asarray(x)
    if getattr(net, "dtype", np.dtype(np.float64)) != np.float64:
        raise TypeError(f"gradcheck needs a float64 network, got dtype {net.dtype}")
    if x_array.dtype != np.float64:
        raise TypeError(f"gradcheck needs float64 x, got dtype {x_array.dtype}")
    loss_fn = losses.get(loss)

    _, grads = net.loss_and_grads(x_array, y, loss=loss_fn)
    analytic = {name: g.copy() for name, g in zip(net.param_names(), grads, strict=True)}
    numeric: dict[str, Array] = {}

    def loss_at() -> float:
        return loss_fn(net.forward(x_array), y)

    for name, p in zip(net.param_names(), net.params(), strict=True):
        estimate = np.empty_like(p)
        flat, out = p.reshape(-1), estimate.reshape(-1)
        if not np.shares_memory(flat, p):
            raise ValueError(f"parameter {name} is not contiguous, so it cannot be perturbed")
        for j in range(flat.size):
            original = flat[j]
            try:
                flat[j] = original + step
                upper = loss_at()
                flat[j] = original - step
                lower = loss_at()
            finally:  # restore the parameter even if the loss raises (or on Ctrl-C)
                flat[j] = original
            out[j] = (upper - lower) / (2.0 * step)
        numeric[name] = estimate
    net.loss_and_grads(x_array, y, loss=loss_fn)  # leave the caches and grads of the true params

    floor = absolute / relative
    rel_errors: dict[str, float] = {}
    worst: tuple[str, tuple[int, ...]] = ("", ())
    max_error = 0.0
    for name, g in analytic.items():
        if g.size == 0:
            rel_errors[name] = 0.0
            continue
        n = numeric[name]
        errors = np.abs(g - n) / np.maximum(np.maximum(np.abs(g), np.abs(n)), floor)
        errors[~np.isfinite(errors)] = np.inf  # a nan anywhere is a failure, never a pass
        index = np.unravel_index(int(np.argmax(errors)), errors.shape)
        rel_errors[name] = float(errors[index])
        if rel_errors[name] >= max_error:
            max_error = rel_errors[name]
            worst = (name, tuple(int(i) for i in index))
    return GradCheckReport(
        max_rel_error=max_error,
        passed=bool(max_error <= relative),
        worst=worst,
        rel_errors=rel_errors,
        analytic=analytic,
        numeric=numeric,
        rtol=relative,
        atol=absolute,
        eps=step,
    )
