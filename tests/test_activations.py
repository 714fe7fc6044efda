"""Activations: values, derivatives against finite differences, dtypes and numerics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradwatch as gw

NAMES = gw.activations.names()
# Piecewise activations: their derivative (or second derivative) jumps at z = 0.
KINKED = {"relu", "leaky_relu", "elu", "selu"}
# Every registered activation, plus non-default options where there are some.
VARIANTS = [(name, {}) for name in NAMES] + [
    ("leaky_relu", {"alpha": 0.2}),
    ("elu", {"alpha": 0.5}),
]
VARIANT_IDS = [f"{name}{options or ''}" for name, options in VARIANTS]
DTYPES = [np.float32, np.float64]


def make(name: str, options: dict[str, float]) -> gw.activations.Activation:
    return gw.activations.get(name, **options)


def test_names_cover_the_contract() -> None:
    required = {
        "identity",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "softplus",
        "silu",
        "gelu",
    }
    assert isinstance(NAMES, tuple)
    assert required <= set(NAMES)
    for name in NAMES:
        assert gw.activations.get(name).name == name


def test_get_returns_instance_unchanged_and_applies_options() -> None:
    act = gw.activations.Tanh()
    assert gw.activations.get(act) is act
    assert gw.activations.get("leaky_relu", alpha=0.2).alpha == 0.2
    assert gw.activations.get("leaky_relu").alpha == 0.01
    assert gw.activations.get("elu").alpha == 1.0
    assert gw.activations.get("LINEAR") == gw.activations.Identity()
    assert gw.activations.get("swish") == gw.activations.SiLU()


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown activation 'softmax'") as info:
        gw.activations.get("softmax")
    for name in NAMES:
        assert name in str(info.value)


def test_bad_options_and_types() -> None:
    with pytest.raises(ValueError, match="alpha"):
        gw.activations.get("tanh", alpha=0.1)
    with pytest.raises(ValueError, match="options"):
        gw.activations.get(gw.activations.Tanh(), alpha=0.1)
    with pytest.raises(TypeError, match="activation"):
        gw.activations.get(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha"):
        gw.activations.get("leaky_relu", alpha=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        gw.activations.get("elu", alpha=float("nan"))


@pytest.mark.parametrize(("name", "options"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 2)])
def test_shape_and_dtype_kept(
    name: str, options: dict[str, float], dtype: type, shape: tuple[int, ...]
) -> None:
    act = make(name, options)
    z = np.random.default_rng(0).normal(scale=3.0, size=shape).astype(dtype)
    z_before = z.copy()
    a, d = act(z), act.derivative(z)
    for out in (a, d):
        assert out.shape == z.shape
        assert out.dtype == dtype
    if act.uses_output:
        d_out = act.derivative_from_output(a)
        assert d_out.shape == z.shape
        assert d_out.dtype == dtype
    np.testing.assert_array_equal(z, z_before)  # inputs are never modified


def _away_from_kinks(z: np.ndarray, name: str) -> np.ndarray:
    return z[np.abs(z) > 1e-3] if name in KINKED else z


@pytest.mark.parametrize(("name", "options"), VARIANTS, ids=VARIANT_IDS)
def test_derivative_matches_finite_differences(name: str, options: dict[str, float]) -> None:
    act = make(name, options)
    rng = np.random.default_rng(1)
    z = np.concatenate([np.linspace(-8.0, 8.0, 801), rng.normal(scale=3.0, size=500)])
    z = _away_from_kinks(z, name)
    h = 1e-6
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("name", "options"), VARIANTS, ids=VARIANT_IDS)
@given(seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.1, 1.0, 5.0, 20.0]))
def test_derivative_matches_finite_differences_property(
    name: str, options: dict[str, float], seed: int, scale: float
) -> None:
    act = make(name, options)
    z = _away_from_kinks(np.random.default_rng(seed).normal(scale=scale, size=64), name)
    h = 1e-6
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    ("name", "options"),
    [(n, o) for n, o in VARIANTS if make(n, o).uses_output],
    ids=[i for (n, o), i in zip(VARIANTS, VARIANT_IDS, strict=True) if make(n, o).uses_output],
)
@pytest.mark.parametrize("dtype", DTYPES)
def test_derivative_from_output_agrees(name: str, options: dict[str, float], dtype: type) -> None:
    act = make(name, options)
    z = np.concatenate([np.linspace(-30.0, 30.0, 1201), [-1e4, -100.0, 100.0, 1e4]]).astype(dtype)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(
        act.derivative_from_output(act(z)), act.derivative(z), rtol=tol, atol=tol
    )


def test_uses_output_is_false_where_output_does_not_determine_slope() -> None:
    # SiLU and GELU are not monotonic: one output can come from two inputs with different slopes.
    assert not gw.activations.get("silu").uses_output
    assert not gw.activations.get("gelu").uses_output
    with pytest.raises(NotImplementedError):
        gw.activations.get("silu").derivative_from_output(np.zeros(2))


def test_known_values() -> None:
    z = np.array([-2.0, 0.0, 3.0])
    get = gw.activations.get
    np.testing.assert_allclose(get("identity")(z), z)
    np.testing.assert_allclose(get("sigmoid")(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    np.testing.assert_allclose(get("tanh")(z), np.tanh(z))
    np.testing.assert_array_equal(get("relu")(z), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(get("leaky_relu")(z), [-0.02, 0.0, 3.0])
    np.testing.assert_allclose(get("leaky_relu", alpha=0.2)(z), [-0.4, 0.0, 3.0])
    np.testing.assert_allclose(get("elu")(z), [math.expm1(-2.0), 0.0, 3.0])
    np.testing.assert_allclose(get("softplus")(z), np.log1p(np.exp(z)), rtol=1e-15)
    np.testing.assert_allclose(get("silu")(z), z / (1 + np.exp(-z)), rtol=1e-15)
    # Derivatives at the kink follow PyTorch: relu'(0) = 0.
    np.testing.assert_array_equal(get("relu").derivative(z), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(get("leaky_relu").derivative(z), [0.01, 0.01, 1.0])


def test_gelu_is_the_tanh_approximation() -> None:
    z = np.linspace(-6.0, 6.0, 241)
    c = math.sqrt(2.0 / math.pi)
    expected = 0.5 * z * (1.0 + np.tanh(c * (z + 0.044715 * z**3)))
    gelu = gw.activations.get("gelu")
    np.testing.assert_allclose(gelu(z), expected, rtol=1e-14, atol=1e-15)
    # torch.nn.functional.gelu(torch.tensor(1.0, dtype=torch.float64), approximate="tanh")
    assert float(gelu(np.array([1.0]))[0]) == pytest.approx(0.8411919906082768, rel=1e-14)
    # Analytic derivative of the formula, written out independently.
    t = np.tanh(c * (z + 0.044715 * z**3))
    slope = 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * c * (1 + 3 * 0.044715 * z**2)
    np.testing.assert_allclose(gelu.derivative(z), slope, rtol=1e-13, atol=1e-15)


def test_selu_constants() -> None:
    selu = gw.activations.get("selu")
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    assert math.isclose(gw.activations.SELU.ALPHA, alpha, rel_tol=1e-15)
    assert math.isclose(gw.activations.SELU.SCALE, scale, rel_tol=1e-15)
    z = np.array([-50.0, -1.0, 0.5, 2.0])
    expected = scale * np.where(z > 0, z, alpha * np.expm1(z))
    np.testing.assert_allclose(selu(z), expected, rtol=1e-15)
    assert float(selu(np.array([-1e4]))[0]) == pytest.approx(-alpha * scale, rel=1e-15)
    # The self-normalising fixed point: zero mean, unit variance under N(0, 1) inputs.
    x = np.linspace(-12.0, 12.0, 200_001)
    density = np.exp(-(x**2) / 2) / math.sqrt(2 * math.pi)
    dx = x[1] - x[0]
    a = selu(x)
    assert abs(np.sum(a * density) * dx) < 1e-6
    assert np.sum(a * a * density) * dx == pytest.approx(1.0, abs=1e-6)


@given(z=st.floats(-1e4, 1e4, allow_nan=False))
def test_sigmoid_slope_at_most_a_quarter(z: float) -> None:
    sigmoid = gw.activations.get("sigmoid")
    value = sigmoid.derivative(np.array([z]))[0]
    assert 0.0 <= value <= 0.25


def test_sigmoid_slope_peaks_at_zero() -> None:
    sigmoid = gw.activations.get("sigmoid")
    z = np.linspace(-1e4, 1e4, 200_001)
    slopes = sigmoid.derivative(z)
    assert slopes.max() == 0.25
    assert z[np.argmax(slopes)] == 0.0
    tanh = gw.activations.get("tanh")
    assert tanh.derivative(z).max() == 1.0


# ---------------------------------------------------------------------------------------------
# Numerics: no warnings anywhere in [-1e4, 1e4] (filterwarnings = error turns any RuntimeWarning
# into a failure; errstate(raise) catches those numpy would otherwise report silently).
# ---------------------------------------------------------------------------------------------

EXTREMES = np.concatenate(
    [np.linspace(-1e4, 1e4, 20_001), [-1e4, -745.2, -710.0, -88.8, 88.8, 710.0, 745.2, 1e4]]
)


@pytest.mark.parametrize(("name", "options"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_no_floating_point_errors_at_extremes(
    name: str, options: dict[str, float], dtype: type
) -> None:
    act = make(name, options)
    z = EXTREMES.astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = act(z)
        d = act.derivative(z)
        d_out = act.derivative_from_output(a) if act.uses_output else d
    for out in (a, d, d_out):
        assert np.all(np.isfinite(out))
        assert out.dtype == dtype


@pytest.mark.parametrize(("name", "options"), VARIANTS, ids=VARIANT_IDS)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_no_floating_point_errors_up_to_the_largest_value_of_the_dtype(
    name: str, options: dict[str, float], dtype: type
) -> None:
    # float16 included (mixed precision runs its forward pass in it): its largest value is
    # 65504, so a cube or an exp of a moderate input overflows. Every activation's value and
    # slope stay finite and warning-free, but SELU's value beyond the largest value over its
    # scale (the exact result is above the dtype's range: inf, as in PyTorch).
    act = make(name, options)
    largest = float(np.finfo(dtype).max)
    z = np.array([-largest, -largest / 2, -1e4, -50.0, 0.0, 50.0, 1e4, largest / 2, largest])
    z = np.clip(z, -largest, largest).astype(dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = act(z)
        d = act.derivative(z)
        d_out = act.derivative_from_output(a) if act.uses_output else d
    beyond = np.zeros(z.shape, bool)
    if name == "selu":
        beyond = z > largest / gw.activations.SELU.SCALE
    np.testing.assert_array_equal(a[beyond], np.inf)
    for out in (a[~beyond], d, d_out[~beyond]):
        assert np.all(np.isfinite(out)), (name, z, out)
    assert a.dtype == d.dtype == d_out.dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_clamp_changes_no_value(dtype: type) -> None:
    # The tanh inside GELU is +-1 to the last bit from |z| = 7.3 on, so clamping z at 20 before
    # the cube gives the values and slopes of the same formula clamped far out, at 1e4.
    gelu = gw.activations.GELU()
    z = np.concatenate([np.linspace(-60.0, 60.0, 12_001), [-1e4, -500.0, 500.0, 1e4]])
    z = z.astype(dtype)
    c, k = gelu._C, gelu._K
    zc = np.clip(z, -1e4, 1e4)
    t = np.tanh(c * (zc + k * zc * zc * zc))
    np.testing.assert_array_equal(gelu(z), (0.5 * z * (1.0 + t)).astype(dtype))
    slope = c * (1.0 + 3.0 * k * zc * zc)
    expected = (0.5 * (1.0 + t) + 0.5 * zc * (1.0 - t * t) * slope).astype(dtype)
    np.testing.assert_array_equal(gelu.derivative(z), expected)


@pytest.mark.parametrize("dtype", DTYPES)
def test_values_in_the_limits(dtype: type) -> None:
    z = np.array([-1e4, 1e4], dtype=dtype)
    get = gw.activations.get
    alpha, scale = gw.activations.SELU.ALPHA, gw.activations.SELU.SCALE
    expected = {
        "identity": ([-1e4, 1e4], [1.0, 1.0]),
        "sigmoid": ([0.0, 1.0], [0.0, 0.0]),
        "tanh": ([-1.0, 1.0], [0.0, 0.0]),
        "relu": ([0.0, 1e4], [0.0, 1.0]),
        "leaky_relu": ([-100.0, 1e4], [0.01, 1.0]),
        "elu": ([-1.0, 1e4], [0.0, 1.0]),
        "selu": ([-alpha * scale, scale * 1e4], [0.0, scale]),
        "softplus": ([0.0, 1e4], [0.0, 1.0]),
        "silu": ([0.0, 1e4], [0.0, 1.0]),
        "gelu": ([0.0, 1e4], [0.0, 1.0]),
    }
    assert set(expected) == set(NAMES)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    for name, (values, slopes) in expected.items():
        act = get(name)
        np.testing.assert_allclose(act(z), values, rtol=rtol, atol=0, err_msg=name)
        np.testing.assert_allclose(act.derivative(z), slopes, rtol=rtol, atol=0, err_msg=name)


def test_precision_of_small_values() -> None:
    # The stable forms keep relative precision where the naive ones would round to 0.
    z = np.array([-40.0, -700.0])
    np.testing.assert_allclose(gw.activations.get("sigmoid")(z), np.exp(z), rtol=1e-12)
    np.testing.assert_allclose(gw.activations.get("softplus")(z), np.exp(z), rtol=1e-12)
    np.testing.assert_allclose(gw.activations.get("sigmoid").derivative(z), np.exp(z), rtol=1e-12)
    softplus = gw.activations.get("softplus")
    np.testing.assert_allclose(softplus.derivative_from_output(softplus(z)), np.exp(z), rtol=1e-12)


def test_repr_and_equality() -> None:
    assert repr(gw.activations.get("leaky_relu", alpha=0.2)) == "LeakyReLU(alpha=0.2)"
    assert repr(gw.activations.get("tanh")) == "Tanh()"
    assert gw.activations.get("elu", alpha=0.5) == gw.activations.ELU(0.5)
    assert gw.activations.get("elu", alpha=0.5) != gw.activations.ELU(1.0)
    assert gw.activations.get("selu") != gw.activations.get("elu")
    assert len({gw.activations.get("tanh"), gw.activations.Tanh()}) == 1


def test_subclass_that_redefines_g_is_not_bypassed_by_an_inherited_inplace_shortcut():
    class ShiftedReLU(gw.activations.ReLU):
        def __call__(self, z):
            return np.maximum(z - 1.0, 0.0)

    layer = gw.Dense(2, 3, activation=ShiftedReLU(), init="ones", rng=0)
    a = layer.forward(np.ones((1, 2)))
    np.testing.assert_array_equal(a, [[1.0, 1.0, 1.0]])  # relu(2 - 1), not relu(2)
