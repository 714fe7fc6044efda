r"""Activation functions, each with its derivative written beside it.

An activation :math:`g` is applied elementwise, :math:`a = g(z)`. Backpropagation needs
:math:`g'(z)`; several activations can also give it from the output :math:`a` alone
(:math:`\tanh' = 1 - a^2`, :math:`\sigma' = a(1 - a)`), which saves keeping :math:`z`
in memory. Those set ``uses_output = True`` and implement :meth:`Activation.derivative_from_output`.

Every function keeps the shape and floating dtype of its input and is numerically stable
for inputs in :math:`[-10^4, 10^4]`: no overflow, underflow or invalid-value warnings.

Examples
--------
>>> import numpy as np
>>> import gradwatch as gw
>>> act = gw.activations.get("sigmoid")
>>> act(np.array([0.0, 1000.0, -1000.0]))
array([0.5, 1. , 0. ])
>>> float(act.derivative(np.array([0.0]))[0])
0.25
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from gradwatch._validation import Array

__all__ = [
    "ELU",
    "GELU",
    "SELU",
    "Activation",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "get",
    "names",
]


def _sigmoid(z: Array) -> Array:
    """Logistic function split on the sign of ``z``, so ``exp`` never overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


class Activation:
    """Base class: an elementwise function :math:`g` and its derivative :math:`g'`.

    Subclasses set ``name`` and implement ``__call__`` and ``derivative``. Those whose derivative
    can be written in terms of the output also set ``uses_output = True`` and implement
    ``derivative_from_output``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> class Square(gw.activations.Activation):
    ...     name = "square"
    ...     def __call__(self, z):
    ...         return z * z
    ...     def derivative(self, z):
    ...         return 2.0 * z
    >>> Square().derivative(np.array([3.0]))
    array([6.])
    """

    name: ClassVar[str] = ""
    uses_output: ClassVar[bool] = False
    #: Whether a unit can be "dead": on the flat side of a kink for every input, so that its
    #: gradient is zero or nearly so (ReLU and its relatives).
    can_die: ClassVar[bool] = False
    #: Outputs outside this open interval count as saturated, where the slope is a few per cent
    #: of its maximum (tanh and the sigmoid); ``None`` for an activation that does not saturate.
    saturation_interval: ClassVar[tuple[float, float] | None] = None

    @property
    def homogeneous_moment(self) -> float | None:
        r""":math:`E[g(z)^2] / E[z^2]` if :math:`g` is positively homogeneous, else ``None``.

        Positively homogeneous means :math:`g(cz) = c\,g(z)` for :math:`c > 0`, and
        :math:`z` is symmetric about 0. For such a :math:`g` it is also :math:`E[g'(z)^2]`,
        whatever the scale of :math:`z`: 1 for the identity, 1/2 for ReLU,
        :math:`(1 + \alpha^2)/2` for leaky ReLU.
        """
        return None

    def saturated(self, a: Array) -> NDArray[np.bool_]:
        """Mask of the outputs ``a`` that lie in the saturated region.

        Raises
        ------
        ValueError
            For an activation without a saturated region (``saturation_interval`` is None).

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> gw.activations.Tanh().saturated(np.array([-0.99, 0.5, 0.98]))
        array([ True, False,  True])
        """
        if self.saturation_interval is None:
            raise ValueError(f"{self.name or type(self).__name__} does not saturate")
        low, high = self.saturation_interval
        return np.asarray((a <= low) | (a >= high))

    def variance_factors(self) -> tuple[float, float]:
        r"""Factors by which :math:`g` scales the forward and the backward variance.

        ``(forward, backward)`` with :math:`\text{forward} = E[g(z)^2]/\operatorname{Var}(z)`
        and :math:`\text{backward} = E[g'(z)^2]` for a zero-mean :math:`z`: exact for a
        positively homogeneous :math:`g` (both equal :attr:`homogeneous_moment`), and the
        small-signal value :math:`g'(0)^2` for a smooth :math:`g` with :math:`g(0) = 0` (the
        regime where the derivations of Glorot and He initialisation hold).

        Raises
        ------
        ValueError
            If neither applies (e.g. the sigmoid, whose output is not centred).

        Examples
        --------
        >>> import gradwatch as gw
        >>> gw.activations.ReLU().variance_factors(), gw.activations.Tanh().variance_factors()
        ((0.5, 0.5), (1.0, 1.0))
        """
        moment = self.homogeneous_moment
        if moment is not None:
            return moment, moment
        zero = np.zeros(1)
        if float(self(zero)[0]) != 0.0:
            raise ValueError(
                f"{self.name or type(self).__name__} has no closed-form variance factors: "
                f"g(0) = {float(self(zero)[0]):.4g} is not 0"
            )
        slope = float(self.derivative(zero)[0])
        return slope * slope, slope * slope

    def gain(self, param: float | None = None) -> float:  # noqa: ARG002  (leaky_relu's uses it)
        """Recommended scale of the weights that feed this activation, PyTorch's value.

        The factor :func:`gradwatch.init.calculate_gain` returns and the Xavier and He
        initialisers multiply their standard deviation by.

        Parameters
        ----------
        param : float, optional
            Negative slope of a leaky ReLU; ignored by the other activations.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            For an activation without a recommended gain (``torch.nn.init.calculate_gain`` has
            none for ELU, softplus, SiLU or GELU either): pass the weights' scale explicitly.

        Examples
        --------
        >>> import gradwatch as gw
        >>> round(gw.activations.Tanh().gain(), 4), round(gw.activations.ReLU().gain(), 4)
        (1.6667, 1.4142)
        >>> gw.activations.GELU().gain()
        Traceback (most recent call last):
        ...
        ValueError: no recommended gain for the nonlinearity 'gelu'; give the weights' scale ...
        """
        raise ValueError(
            f"no recommended gain for the nonlinearity {self.name or type(self).__name__!r}; "
            f"give the weights' scale explicitly"
        )

    def __call__(self, z: Array) -> Array:
        """Return :math:`g(z)`, same shape and dtype as ``z``."""
        raise NotImplementedError

    def derivative(self, z: Array) -> Array:
        """Return :math:`g'(z)`, same shape and dtype as ``z``."""
        raise NotImplementedError

    def derivative_from_output(self, a: Array) -> Array:
        """Return :math:`g'(z)` computed from :math:`a = g(z)` (only when ``uses_output``)."""
        raise NotImplementedError(f"{self.name} needs z for its derivative")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass that redefines g but not its in-place twin gets the safe default, so that a
        # shortcut inherited from its parent can never compute the parent's g instead of its own.
        if "__call__" in cls.__dict__ and "call_inplace" not in cls.__dict__:
            cls.call_inplace = Activation.call_inplace  # type: ignore[method-assign]

    def call_inplace(self, z: Array) -> Array:
        """Return :math:`g(z)`, overwriting ``z`` where the activation can.

        A layer that keeps ``a`` rather than ``z`` (``uses_output``) calls this on a ``z`` it
        owns, which saves an array and a pass over memory. The base class returns ``self(z)``,
        a new array, so subclasses need not implement it.

        Examples
        --------
        >>> import numpy as np
        >>> import gradwatch as gw
        >>> z = np.array([-1.0, 2.0])
        >>> a = gw.activations.ReLU().call_inplace(z)
        >>> a, a is z
        (array([0., 2.]), True)
        """
        return self(z)

    def _options(self) -> dict[str, float]:
        return {}

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self._options().items())
        return f"{type(self).__name__}({options})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Activation)
            and type(self) is type(other)
            and (self._options() == other._options())
        )

    def __hash__(self) -> int:
        return hash((type(self), tuple(self._options().items())))


class Identity(Activation):
    """The identity, :math:`g(z) = z`, used for linear networks and output layers.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gw.activations.Identity().derivative(np.array([-2.0, 5.0]))
    array([1., 1.])
    """

    name = "identity"

    @property
    def homogeneous_moment(self) -> float:
        """1: the identity keeps every variance."""
        return 1.0

    uses_output = True

    def gain(self, param: float | None = None) -> float:  # noqa: ARG002
        """1: a linear layer needs no correction."""
        return 1.0

    def __call__(self, z: Array) -> Array:
        """Apply the activation elementwise; same shape and dtype as ``z``."""
        return z

    def call_inplace(self, z: Array) -> Array:
        """Return ``z`` itself: nothing to compute."""
        return z

    def derivative(self, z: Array) -> Array:
        """:math:`g'(z) = 1`."""
        return np.ones_like(z)

    def derivative_from_output(self, a: Array) -> Array:
        """:math:`g' = 1`."""
        return np.ones_like(a)


class Sigmoid(Activation):
    r"""Logistic sigmoid, :math:`\sigma(z) = 1 / (1 + e^{-z})`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> sigmoid = gw.activations.Sigmoid()
    >>> sigmoid(np.array([-1e4, 0.0, 1e4]))
    array([0. , 0.5, 1. ])
    >>> float(sigmoid.derivative(np.array([0.0]))[0])
    0.25
    """

    name = "sigmoid"
    saturation_interval = (0.03, 0.97)
    uses_output = True

    def gain(self, param: float | None = None) -> float:  # noqa: ARG002
        """1, PyTorch's value."""
        return 1.0

    def __call__(self, z: Array) -> Array:
        """Apply the activation elementwise; same shape and dtype as ``z``."""
        return _sigmoid(z)

    def derivative(self, z: Array) -> Array:
        r""":math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`, at most :math:`1/4`, reached at 0."""
        s = _sigmoid(z)
        return s * (1.0 - s)

    def derivative_from_output(self, a: Array) -> Array:
        """:math:`a (1 - a)`."""
        slope = 1.0 - a
        slope *= a  # in place: one new array, not two
        return slope


class Tanh(Activation):
    r"""Hyperbolic tangent, :math:`\tanh(z)`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> tanh = gw.activations.Tanh()
    >>> tanh(np.array([0.0, 1.0])).round(4)
    array([0.    , 0.7616])
    >>> tanh.derivative(np.array([0.0, 1.0])).round(4)
    array([1.  , 0.42])
    """

    name = "tanh"
    saturation_interval = (-0.97, 0.97)
    uses_output = True

    def gain(self, param: float | None = None) -> float:  # noqa: ARG002
        """:math:`5/3`, PyTorch's value."""
        return 5.0 / 3.0

    def __call__(self, z: Array) -> Array:
        """Apply the activation elementwise; same shape and dtype as ``z``."""
        return np.tanh(z)

    def call_inplace(self, z: Array) -> Array:
        r""":math:`\tanh(z)` written over ``z``."""
        return np.tanh(z, out=z)

    def derivative(self, z: Array) -> Array:
        r""":math:`1 - \tanh^2(z)`, at most 1, reached at 0."""
        t = np.tanh(z)
        return 1.0 - t * t

    def derivative_from_output(self, a: Array) -> Array:
        """:math:`1 - a^2`."""
        slope = np.multiply(a, a, out=np.empty_like(a))  # an array even for a 0-d a
        return np.subtract(1.0, slope, out=slope)  # in place: one new array, not two


class ReLU(Activation):
    r"""Rectified linear unit, :math:`\max(z, 0)`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> relu = gw.activations.ReLU()
    >>> relu(np.array([-1.0, 2.0])), relu.derivative(np.array([-1.0, 2.0]))
    (array([0., 2.]), array([0., 1.]))
    """

    name = "relu"
    can_die = True

    @property
    def homogeneous_moment(self) -> float:
        """1/2: half of a symmetric input is cut to zero."""
        return 0.5

    uses_output = True

    def gain(self, param: float | None = None) -> float:  # noqa: ARG002
        r""":math:`\sqrt 2`: the ReLU halves the variance (He et al. 2015)."""
        return math.sqrt(2.0)

    def __call__(self, z: Array) -> Array:
        """Apply the activation elementwise; same shape and dtype as ``z``."""
        return np.maximum(z, 0.0).astype(z.dtype, copy=False)

    def call_inplace(self, z: Array) -> Array:
        r""":math:`\max(z, 0)` written over ``z``."""
        return np.maximum(z, 0.0, out=z)

    def derivative(self, z: Array) -> Array:
        """1 where :math:`z > 0`, else 0 (the value 0 is taken at the kink, as PyTorch does)."""
        return (z > 0).astype(z.dtype)

    def derivative_from_output(self, a: Array) -> Array:
        """1 where :math:`a > 0`, else 0."""
        return (a > 0).astype(a.dtype)


class LeakyReLU(Activation):
    r"""Leaky ReLU, :math:`z` for :math:`z > 0` and :math:`\alpha z` otherwise.

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for negative inputs; must be non-negative.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> leaky = gw.activations.LeakyReLU(alpha=0.1)
    >>> leaky(np.array([-1.0, 2.0])), leaky.derivative(np.array([-1.0, 2.0]))
    (array([-0.1,  2. ]), array([0.1, 1. ]))
    """

    name = "leaky_relu"
    can_die = True

    @property
    def homogeneous_moment(self) -> float:
        r""":math:`(1 + \alpha^2) / 2`."""
        return 0.5 * (1.0 + self.alpha * self.alpha)

    uses_output = True

    def __init__(self, alpha: float = 0.01) -> None:
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"alpha must be a non-negative finite number, got {alpha!r}")
        self.alpha = float(alpha)

    def _options(self) -> dict[str, float]:
        return {"alpha": self.alpha}

    def gain(self, param: float | None = None) -> float:
        r""":math:`\sqrt{2/(1 + a^2)}`, with the slope ``a = param``, by default ``alpha``.

        Raises
        ------
        ValueError
            If ``param`` is not a number.
        """
        slope = self.alpha if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"param must be a number (the negative slope), got {param!r}")
        return math.sqrt(2.0 / (1.0 + float(slope) ** 2))

    def __call__(self, z: Array) -> Array:
        """Apply the activation elementwise; same shape and dtype as ``z``."""
        return np.where(z > 0, z, z * self.alpha).astype(z.dtype, copy=False)

    def derivative(self, z: Array) -> Array:
        r"""1 where :math:`z > 0`, else :math:`\alpha`."""
        return np.where(z > 0, 1.0, self.alpha).astype(z.dtype)

    def derivative_from_output(self, a: Array) -> Array:
        r"""1 where :math:`a > 0`, else :math:`\alpha` (:math:`a` has the sign of :math:`z`)."""
        return np.where(a > 0, 1.0, self.alpha).astype(a.dtype)


class ELU(Activation):
    r"""Exponential linear unit, :math:`z` for :math:`z > 0`, :math:`\alpha (e^z - 1)` otherwise.

    Parameters
    ----------
    alpha : float, default 1.0
        Saturation value for large negative inputs is :math:`-\alpha`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> elu = gw.activations.ELU()
    >>> elu(np.array([-1e4, 2.0])), elu.derivative(np.array([-1e4, 2.0]))
    (array([-1.,  2.]), array([0., 1.]))
    """

    name = "elu"
    can_die = True
    uses_output = True

    def __init__(self, alpha: float = 1.0) -> None:
        if not np.isfinite(alpha) or alpha <= 0:
            raise ValueError(f"alpha must be a positive finite number, got {alpha!r}")
        self.alpha = float(alpha)

    def _options(self) -> dict[str, float]:
        return {"alpha": self.alpha}

    def __call__(self, z: Array) -> Array:
        """Apply the activation elementwise; same shape and dtype as ``z``."""
        negative = self.alpha * np.expm1(np.minimum(z, 0.0))
        return np.where(z > 0, z, negative).astype(z.dtype, copy=False)

    def derivative(self, z: Array) -> Array:
        r"""1 for :math:`z > 0`, :math:`\alpha e^z` otherwise."""
        return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0.0))).astype(z.dtype)

    def derivative_from_output(self, a: Array) -> Array:
        r"""1 for :math:`a > 0`, :math:`a + \alpha` otherwise."""
        return np.where(a > 0, 1.0, a + self.alpha).astype(a.dtype)


class SELU(ELU):
    r"""Scaled ELU (Klambauer et al. 2017): :math:`\lambda\,\mathrm{ELU}_\alpha(z)`.

    With :math:`\alpha \approx 1.6733` and :math:`\lambda \approx 1.0507`, the constants that make
    zero mean and unit variance a fixed point of a wide layer with :math:`1/n` weight variance.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gw.activations.SELU()(np.array([-1e4, 1.0])).round(4)
    array([-1.7581,  1.0507])
    """

    name = "selu"
    uses_output = True
    ALPHA: ClassVar[float] = 1.6732632423543772848170429916717
    SCALE: ClassVar[float] = 1.0507009873554804934193349852946

    def __init__(self) -> None:
        super().__init__(self.ALPHA)

    def _options(self) -> dict[str, float]:
        return {}

    def gain(self, param: float | None = None) -> float:  # noqa: ARG002
        """:math:`3/4`, PyTorch's value."""
        return 0.75

    def __call__(self, z: Array) -> Array:
        r"""Apply the activation elementwise; same shape and dtype as ``z``.

        :math:`\lambda z` exceeds the dtype's largest value when ``z`` is within 5% of it: the
        result is then ``inf``, as in PyTorch, without a warning.
        """
        with np.errstate(over="ignore"):
            return (super().__call__(z) * self.SCALE).astype(z.dtype, copy=False)

    def derivative(self, z: Array) -> Array:
        r""":math:`\lambda` for :math:`z > 0`, :math:`\lambda \alpha e^z` otherwise."""
        return (super().derivative(z) * self.SCALE).astype(z.dtype, copy=False)

    def derivative_from_output(self, a: Array) -> Array:
        r""":math:`\lambda` for :math:`a > 0`, :math:`a + \lambda\alpha` otherwise."""
        scale_alpha = self.SCALE * self.ALPHA
        return np.where(a > 0, self.SCALE, a + scale_alpha).astype(a.dtype)


class Softplus(Activation):
    r"""Softplus, :math:`\log(1 + e^z)`, a smooth ReLU; computed as ``logaddexp(0, z)``.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> [round(float(a), 4) for a in gw.activations.Softplus()(np.array([-1e4, 0.0, 1e4]))]
    [0.0, 0.6931, 10000.0]
    """

    name = "softplus"
    uses_output = True

    def __call__(self, z: Array) -> Array:
        """Apply the activation elementwise; same shape and dtype as ``z``."""
        return np.logaddexp(z.dtype.type(0), z)

    def derivative(self, z: Array) -> Array:
        r""":math:`\sigma(z)`."""
        return _sigmoid(z)

    def derivative_from_output(self, a: Array) -> Array:
        r""":math:`\sigma(z) = 1 - e^{-a}`, as ``-expm1(-a)`` to keep precision for small ``a``."""
        return -np.expm1(-a)


class SiLU(Activation):
    r"""Sigmoid-weighted linear unit (swish), :math:`z\,\sigma(z)`.

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gw.activations.SiLU()(np.array([0.0, 1.0])).round(4)
    array([0.    , 0.7311])
    """

    name = "silu"

    def __call__(self, z: Array) -> Array:
        """Apply the activation elementwise; same shape and dtype as ``z``."""
        return z * _sigmoid(z)

    def derivative(self, z: Array) -> Array:
        r""":math:`\sigma(z)\,(1 + z (1 - \sigma(z)))`."""
        s = _sigmoid(z)
        return s * (1.0 + z * (1.0 - s))


class GELU(Activation):
    r"""Gaussian error linear unit, tanh approximation (PyTorch's ``approximate="tanh"``).

    .. math:: g(z) = \tfrac12 z \left(1 + \tanh\left(\sqrt{2/\pi}\,(z + 0.044715 z^3)\right)\right)

    Examples
    --------
    >>> import numpy as np
    >>> import gradwatch as gw
    >>> gw.activations.GELU()(np.array([0.0, 1.0])).round(4)
    array([0.    , 0.8412])
    """

    name = "gelu"
    _C: ClassVar[float] = math.sqrt(2.0 / math.pi)
    _K: ClassVar[float] = 0.044715
    # The tanh below is +-1 to the last bit of float64 from |z| = 7.3 on; clamping z at 20 keeps
    # z**3 (8000 at most) finite in every dtype, float16 included, and changes no result.
    _CLAMP: ClassVar[float] = 20.0

    def _inner(self, z: Array) -> Array:
        zc = np.clip(z, -self._CLAMP, self._CLAMP)
        return np.tanh(self._C * (zc + self._K * zc * zc * zc))

    def __call__(self, z: Array) -> Array:
        """Apply the activation elementwise; same shape and dtype as ``z``."""
        return (0.5 * z * (1.0 + self._inner(z))).astype(z.dtype, copy=False)

    def derivative(self, z: Array) -> Array:
        r""":math:`\tfrac12(1 + t) + \tfrac12 z (1 - t^2)\sqrt{2/\pi}(1 + 3 \cdot 0.044715 z^2)`."""
        t = self._inner(z)
        zc = np.clip(z, -self._CLAMP, self._CLAMP)
        slope = self._C * (1.0 + 3.0 * self._K * zc * zc)
        return (0.5 * (1.0 + t) + 0.5 * zc * (1.0 - t * t) * slope).astype(z.dtype, copy=False)


_REGISTRY: dict[str, Callable[..., Activation]] = {
    cls.name: cls
    for cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, SELU, Softplus, SiLU, GELU)
}
_ALIASES = {"linear": "identity", "swish": "silu"}


def names() -> tuple[str, ...]:
    """Names of the registered activations.

    Returns
    -------
    tuple of str
        In registration order; each one is accepted by :func:`get`.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.activations.names()[:3]
    ('identity', 'sigmoid', 'tanh')
    """
    return tuple(_REGISTRY)


def get(activation: str | Activation, **options: Any) -> Activation:
    """Return an activation from its name, or the given :class:`Activation` unchanged.

    Parameters
    ----------
    activation : str or Activation
        A name from :func:`names` (``"linear"`` and ``"swish"`` are accepted as aliases), or an
        instance, returned as it is.
    **options
        Keyword arguments of the activation, e.g. ``alpha`` for ``leaky_relu`` and ``elu``.

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones) or an option the activation
        does not take.
    TypeError
        For anything that is neither a string nor an :class:`Activation`.

    Examples
    --------
    >>> import gradwatch as gw
    >>> gw.activations.get("leaky_relu", alpha=0.2)
    LeakyReLU(alpha=0.2)
    >>> gw.activations.get("softmax")
    Traceback (most recent call last):
    ...
    ValueError: unknown activation 'softmax'; expected one of: identity, sigmoid, tanh, relu, ...
    """
    if isinstance(activation, Activation):
        if options:
            raise ValueError(
                f"options {sorted(options)} can only be given with an activation name, "
                f"not with the instance {activation!r}"
            )
        return activation
    if not isinstance(activation, str):
        raise TypeError(
            f"activation must be a name (str) or an Activation, got {type(activation).__name__}"
        )
    key = _ALIASES.get(activation.lower(), activation.lower())
    if key not in _REGISTRY:
        raise ValueError(
            f"unknown activation {activation!r}; expected one of: {', '.join(_REGISTRY)}"
        )
    try:
        return _REGISTRY[key](**options)
    except TypeError:
        raise ValueError(
            f"activation {key!r} does not take the options {sorted(options)}"
        ) from None
