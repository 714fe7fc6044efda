r"""Mixed precision: loss scaling and float32 master weights, as PyTorch's ``torch.amp``.

A float16 number has 5 exponent bits and 10 fraction bits. Its largest finite value is
:math:`(2 - 2^{-10})\, 2^{15} = 65504`, its smallest normal value :math:`2^{-14} \approx 6.1
\times 10^{-5}`, its smallest subnormal value :math:`2^{-24} \approx 6.0 \times 10^{-8}`, and
its resolution near 1 (machine epsilon) :math:`2^{-10} \approx 9.8 \times 10^{-4}`. Gradients
smaller than :math:`2^{-25}` round to zero; a weight update smaller than half a unit in the
last place of the weight is lost. Mixed-precision training (Micikevicius et al. 2018) keeps the
forward and backward passes in float16 and guards against both:

- **loss scaling**: the gradient of the loss is multiplied by a scale :math:`S` before the
  backward pass (``loss_and_grads(..., loss_scale=S)``), which shifts every gradient of the
  backward pass up by the same factor, out of the underflow range; the gradients are divided
  by :math:`S` again, in float32, before the update. :class:`GradScaler` chooses :math:`S`
  while training: it halves it after a step whose gradients overflowed (the step is skipped)
  and doubles it after ``growth_interval`` steps without overflow;
- **master weights**: the optimiser updates a float32 copy of the weights
  (:class:`MasterWeights`), which is rounded to float16 for the next forward pass, so that
  small updates accumulate instead of vanishing.

:func:`scaled_step` is one training step of that recipe.

Examples
--------
>>> import numpy as np
>>> import gradwatch as gw
>>> scaler = gw.amp.GradScaler(init_scale=1024.0)
>>> w, g = np.zeros(2, dtype=np.float32), np.array([2048.0, -1024.0], dtype=np.float32)
>>> scaler.step(gw.optim.SGD(lr=0.5), [w], [g])  # unscales g to [2, -1], then steps
True
>>> w.tolist(), scaler.get_scale()
([-1.0, 0.5], 1024.0)
>>> scaler.update()
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from numpy.typing import DTypeLike

from gradwatch import losses
from gradwatch._validation import (
    Array,
    check_array_list,
    check_positive,
    check_positive_int,
    check_real,
    check_same_structure,
    check_writeable,
)

__all__ = ["GradScaler", "MasterWeights", "scaled_step"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


class _Optimizer(Protocol):
    def step(self, params: Sequence[Array], grads: Sequence[Array], /) -> None: ...


class _Network(Protocol):
    def params(self) -> list[Array]: ...

    def loss_and_grads(
        self, x: Array, y: Array, loss: str | losses.Loss = ..., loss_scale: float = ...
    ) -> tuple[float, list[Array]]: ...


class GradScaler:
    r"""Dynamic loss scaling, with the semantics of ``torch.amp.GradScaler``.

    Each training step multiplies the loss's gradient by :meth:`get_scale` (pass it as
    ``loss_scale`` to ``loss_and_grads``), then calls :meth:`step` (which unscales the
    gradients, unless :meth:`unscale` already did in this step, and updates the weights only
    if every gradient is finite) and :meth:`update` (which adapts the scale):

    .. math::

        S \leftarrow \begin{cases}
        S \cdot \text{backoff\_factor} & \text{after a skipped step (a non-finite gradient),} \\
        S \cdot \text{growth\_factor} & \text{after growth\_interval consecutive finite steps,} \\
        S & \text{otherwise.}
        \end{cases}

    A skipped step resets the count of consecutive finite steps, as does a growth. The scale
    is kept in float32, as PyTorch keeps it; a growth that would overflow float32 is not
    applied. One scaler serves one optimiser.

    Parameters
    ----------
    init_scale : float, default 65536.0
        The first scale, :math:`2^{16}`.
    growth_factor : float, default 2.0
        Greater than 1.
    backoff_factor : float, default 0.5
        In :math:`(0, 1)`.
    growth_interval : int, default 2000
        Consecutive steps without overflow before the scale grows.

    Raises
    ------
    TypeError
        If a factor is not a real number, or ``growth_interval`` not an int.
    ValueError
        If ``init_scale`` is not positive and finite in float32, ``growth_factor`` not a
        finite number above 1, ``backoff_factor`` not in :math:`(0, 1)` or ``growth_interval``
        not positive.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> scaler = gw.amp.GradScaler(init_scale=8.0, growth_interval=2)
    >>> opt, w = gw.optim.SGD(lr=1.0), np.zeros(1)
    >>> scales = []
    >>> for g in [1.0, np.inf, 1.0, 1.0, 1.0]:
    ...     stepped = scaler.step(opt, [w], [np.array([g])])
    ...     scaler.update()
    ...     scales.append((stepped, scaler.get_scale()))
    >>> scales  # skipped: halve; two good steps in a row: double
    [(True, 8.0), (False, 4.0), (True, 4.0), (True, 8.0), (True, 8.0)]
    """

    def __init__(
        self,
        init_scale: float = 65536.0,
        growth_factor: float = 2.0,
        backoff_factor: float = 0.5,
        growth_interval: int = 2000,
    ) -> None:
        scale = check_positive(init_scale, "init_scale")
        if scale > _FLOAT32_MAX:
            raise ValueError(f"init_scale must be finite in float32, got {init_scale!r}")
        self.growth_factor = check_real(growth_factor, "growth_factor")
        if not (self.growth_factor > 1.0 and math.isfinite(self.growth_factor)):
            raise ValueError(f"growth_factor must be a finite number > 1, got {growth_factor!r}")
        self.backoff_factor = check_real(backoff_factor, "backoff_factor")
        if not 0.0 < self.backoff_factor < 1.0:
            raise ValueError(f"backoff_factor must be in (0, 1), got {backoff_factor!r}")
        if isinstance(growth_interval, (bool, np.bool_)) or not isinstance(
            growth_interval, (int, np.integer)
        ):
            raise TypeError(f"growth_interval must be an int, got {growth_interval!r}")
        self.growth_interval = check_positive_int(growth_interval, "growth_interval")
        self._scale = np.float32(scale)
        self._growth_tracker = 0
        self._stage = "ready"  # "ready", then "unscaled" and/or "stepped", until update()
        self._found_inf = False

    def get_scale(self) -> float:
        """Return the current scale as a Python float (the float32 value PyTorch keeps).

        Examples
        --------
        >>> import gradwatch as gw
        >>> gw.amp.GradScaler().get_scale()
        65536.0
        """
        return float(self._scale)

    @property
    def growth_tracker(self) -> int:
        """Consecutive steps without overflow since the last skip or growth.

        Examples
        --------
        >>> import gradwatch as gw
        >>> gw.amp.GradScaler().growth_tracker
        0
        """
        return self._growth_tracker

    def unscale(self, grads: Sequence[Array]) -> bool:
        r"""Divide the gradients in place by the scale; return whether any is non-finite.

        PyTorch's ``unscale_``: each gradient is multiplied by :math:`1/S` rounded to float32,
        and the non-finite check looks at the scaled values. Call it before clipping, so that
        the threshold applies to the true gradients; :meth:`step` then does not unscale again.

        Parameters
        ----------
        grads : sequence of ndarray
            float32 or float64 gradients, changed in place.

        Returns
        -------
        bool
            True if a gradient holds an inf or a nan (the step will be skipped).

        Raises
        ------
        TypeError
            If ``grads`` is not a list of floating arrays.
        ValueError
            If a gradient is float16 (as ``torch.amp.GradScaler``, which refuses to unscale
            FP16 gradients: divided in float16 they would underflow again; copy them to
            float32 with :meth:`MasterWeights.load_grads`) or read-only.
        RuntimeError
            If called twice, or after :meth:`step`, without :meth:`update` in between.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> scaler = gw.amp.GradScaler(init_scale=4.0)
        >>> g = np.array([8.0, 2.0], dtype=np.float32)
        >>> scaler.unscale([g]), g.tolist()
        (False, [2.0, 0.5])
        """
        if self._stage == "unscaled":
            raise RuntimeError("unscale() has already been called since the last update()")
        if self._stage == "stepped":
            raise RuntimeError("unscale() is being called after step(); call update() first")
        arrays = check_array_list(grads, "grads")
        for i, g in enumerate(arrays):
            if g.dtype == np.float16:
                raise ValueError(
                    f"grads[{i}] is float16: unscaling it in float16 would underflow again; "
                    f"copy the gradients to float32 first (MasterWeights.load_grads)"
                )
        check_writeable(arrays, "grads")
        inv_scale = float(np.float32(1.0 / float(self._scale)))
        found_inf = False
        for g in arrays:
            found_inf = found_inf or not bool(np.isfinite(g).all())
            np.multiply(g, inv_scale, out=g)
        self._found_inf = found_inf
        self._stage = "unscaled"
        return found_inf

    def step(self, optimizer: _Optimizer, params: Sequence[Array], grads: Sequence[Array]) -> bool:
        """Unscale the gradients (unless done in this step) and update, unless one is non-finite.

        Parameters
        ----------
        optimizer : Optimizer
            Called as ``optimizer.step(params, grads)`` when every gradient is finite.
        params, grads : sequence of ndarray
            float32 (or float64) parameters and gradients: the master weights of a float16
            network (:class:`MasterWeights`).

        Returns
        -------
        bool
            True if the optimiser stepped, False if the step was skipped.

        Raises
        ------
        RuntimeError
            If called twice without :meth:`update` in between.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> scaler, w = gw.amp.GradScaler(), np.ones(2)
        >>> scaler.step(gw.optim.SGD(lr=0.1), [w], [np.array([np.inf, 1.0])]), w.tolist()
        (False, [1.0, 1.0])
        """
        if self._stage == "stepped":
            raise RuntimeError("step() has already been called since the last update()")
        if self._stage == "ready":
            self.unscale(grads)
        self._stage = "stepped"
        if self._found_inf:
            return False
        optimizer.step(params, grads)
        return True

    def update(self) -> None:
        """Adapt the scale after a step: back off after an overflow, grow after a good run.

        Raises
        ------
        RuntimeError
            If neither :meth:`unscale` nor :meth:`step` ran since the last update: there is no
            overflow check to act on.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> scaler = gw.amp.GradScaler(init_scale=2.0**16)
        >>> scaler.unscale([np.array([np.nan])])
        True
        >>> scaler.update(); scaler.get_scale()
        32768.0
        """
        if self._stage == "ready":
            raise RuntimeError("update() found no overflow check: call step() (or unscale()) first")
        if self._found_inf:
            self._scale = np.float32(float(self._scale) * self.backoff_factor)
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self.growth_interval:
                grown = float(self._scale) * self.growth_factor
                if grown <= _FLOAT32_MAX:
                    self._scale = np.float32(grown)
                self._growth_tracker = 0
        self._stage = "ready"
        self._found_inf = False

    def __repr__(self) -> str:
        return (
            f"GradScaler(scale={self.get_scale():g}, growth_factor={self.growth_factor:g}, "
            f"backoff_factor={self.backoff_factor:g}, growth_interval={self.growth_interval})"
        )


class MasterWeights:
    """A float32 copy of a low-precision network's parameters, for the optimiser to update.

    Mixed-precision training runs the network in float16 but keeps the weights the optimiser
    updates in float32 (Micikevicius et al. 2018): an update smaller than half a float16 unit in
    the last place of a weight (:math:`2^{-11}` for a weight near 1) would be lost if added in
    float16, but accumulates in float32. After each update, :meth:`copy_to_model` rounds the
    master weights into the network's own arrays.

    Parameters
    ----------
    params : sequence of ndarray
        The network's parameters (``net.params()``), the arrays themselves.
    dtype : numpy floating dtype, default float32
        Dtype of the master copy.

    Attributes
    ----------
    params : list of ndarray
        The master weights, in the order of the network's parameters.
    grads : list of ndarray
        Their gradients, written by :meth:`load_grads`.

    Raises
    ------
    TypeError
        If ``params`` is not a list of floating arrays or ``dtype`` not a floating type.
    ValueError
        If a parameter is read-only (the copy back could not write it).

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> w16 = np.ones(1, dtype=np.float16)
    >>> master = gw.amp.MasterWeights([w16])
    >>> opt = gw.optim.SGD(lr=1e-4)
    >>> for _ in range(10):
    ...     opt.step(master.params, master.load_grads([np.ones(1, dtype=np.float16)]))
    ...     master.copy_to_model()
    >>> round(float(master.params[0][0]), 6), round(float(w16[0]), 4)  # alone, w16 stays 1.0
    (0.999, 0.999)
    """

    def __init__(self, params: Sequence[Array], dtype: DTypeLike = np.float32) -> None:
        self.model_params = check_array_list(params, "params")
        check_writeable(self.model_params, "params")
        wide = np.dtype(dtype)
        if wide.kind != "f":
            raise TypeError(f"dtype must be a floating-point type, got {wide}")
        self.params: list[Array] = [p.astype(wide) for p in self.model_params]
        self.grads: list[Array] = [np.zeros_like(p) for p in self.params]

    def load_grads(self, grads: Sequence[Array]) -> list[Array]:
        """Copy the network's gradients into ``grads`` (exactly: float16 fits in float32).

        Parameters
        ----------
        grads : sequence of ndarray
            ``net.grads()`` (or the list ``loss_and_grads`` returns).

        Returns
        -------
        list of ndarray
            ``grads``, the arrays themselves.

        Raises
        ------
        TypeError, ValueError
            If ``grads`` does not pair up with the parameters.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> master = gw.amp.MasterWeights([np.zeros(2, dtype=np.float16)])
        >>> master.load_grads([np.array([1e-7, 2.0], dtype=np.float16)])[0].dtype
        dtype('float32')
        """
        arrays = check_array_list(grads, "grads")
        check_same_structure(self.params, arrays, "params", "grads")
        for master_grad, g in zip(self.grads, arrays, strict=True):
            np.copyto(master_grad, g, casting="same_kind")
        return self.grads

    def copy_to_model(self) -> None:
        """Round the master weights into the network's parameters (in place).

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> w16 = np.zeros(1, dtype=np.float16)
        >>> master = gw.amp.MasterWeights([w16])
        >>> master.params[0][0] = 1.0 + 2.0**-12  # below float16's resolution at 1
        >>> master.copy_to_model(); float(w16[0])
        1.0
        """
        for model, master in zip(self.model_params, self.params, strict=True):
            np.copyto(model, master, casting="same_kind")


def scaled_step(
    net: _Network,
    x: Array,
    y: Array,
    optimizer: _Optimizer,
    scaler: GradScaler,
    master: MasterWeights,
    loss: str | losses.Loss = "mse",
) -> tuple[float, bool]:
    """One mixed-precision training step: PyTorch's recipe with :class:`GradScaler`.

    1. forward and backward pass in the network's dtype, the loss's gradient multiplied by
       ``scaler.get_scale()`` (the loss itself is computed in float32);
    2. the gradients copied to float32 (``master.load_grads``) and unscaled there;
    3. the optimiser's step on the float32 master weights, skipped if a gradient overflowed;
       then the master weights rounded into the network;
    4. ``scaler.update()``.

    Overflow is expected while the scale searches for its level, so NumPy's overflow and
    invalid-value warnings are silenced during the forward and backward pass (the scaler sees
    the resulting inf and nan).

    Parameters
    ----------
    net : MLP, Sequential, RNN, LSTM or GRU
        Usually of dtype float16.
    x, y : ndarray
        One batch.
    optimizer : Optimizer
        Built for ``master.params``.
    scaler : GradScaler
    master : MasterWeights
        Of ``net.params()``.
    loss : str or Loss, default "mse"

    Returns
    -------
    loss : float
        The unscaled loss of the batch.
    stepped : bool
        False if the step was skipped because a gradient overflowed.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> net = gw.MLP([2, 8, 1], dtype=np.float16, seed=0)
    >>> master = gw.amp.MasterWeights(net.params())
    >>> opt, scaler = gw.optim.SGD(lr=0.1), gw.amp.GradScaler(init_scale=2.0**18)
    >>> x = np.random.default_rng(0).normal(size=(16, 2)); y = x[:, :1]
    >>> [gw.amp.scaled_step(net, x, y, opt, scaler, master)[1] for _ in range(5)]
    [False, False, False, True, True]
    >>> scaler.get_scale()  # 2**18 halved three times
    32768.0
    """
    with np.errstate(over="ignore", invalid="ignore"):
        value, grads = net.loss_and_grads(x, y, loss=loss, loss_scale=scaler.get_scale())
    stepped = scaler.step(optimizer, master.params, master.load_grads(grads))
    if stepped:
        master.copy_to_model()
    scaler.update()
    return value, stepped
