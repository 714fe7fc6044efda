"""Initialisers: moments of large draws against their formulas, orthogonality, gains, errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import gradwatch as gw

FAN_IN, FAN_OUT = 600, 400
SHAPE = (FAN_IN, FAN_OUT)  # 240 000 draws: the sample std is within ~0.15% of the true one
SQRT3 = math.sqrt(3.0)

# (name, options, mean, std, uniform half-width or None)
CASES: list[tuple[str, dict[str, Any], float, float, float | None]] = [
    (
        "xavier_uniform",
        {},
        0.0,
        math.sqrt(2 / (FAN_IN + FAN_OUT)),
        math.sqrt(6 / (FAN_IN + FAN_OUT)),
    ),
    (
        "xavier_uniform",
        {"gain": 5 / 3},
        0.0,
        5 / 3 * math.sqrt(2 / (FAN_IN + FAN_OUT)),
        5 / 3 * math.sqrt(6 / (FAN_IN + FAN_OUT)),
    ),
    ("xavier_normal", {}, 0.0, math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    ("xavier_normal", {"gain": 2.0}, 0.0, 2 * math.sqrt(2 / (FAN_IN + FAN_OUT)), None),
    # he_*: torch's kaiming defaults, a=0 with leaky_relu, i.e. gain sqrt(2).
    ("he_uniform", {}, 0.0, math.sqrt(2 / FAN_IN), math.sqrt(6 / FAN_IN)),
    ("he_uniform", {"mode": "fan_out"}, 0.0, math.sqrt(2 / FAN_OUT), math.sqrt(6 / FAN_OUT)),
    (
        "he_uniform",
        {"nonlinearity": "leaky_relu", "a": 0.2},
        0.0,
        math.sqrt(2 / 1.04) / math.sqrt(FAN_IN),
        SQRT3 * math.sqrt(2 / 1.04) / math.sqrt(FAN_IN),
    ),
    (
        "he_uniform",
        {"mode": "fan_out", "nonlinearity": "tanh"},
        0.0,
        5 / 3 / math.sqrt(FAN_OUT),
        SQRT3 * 5 / 3 / math.sqrt(FAN_OUT),
    ),
    ("he_normal", {}, 0.0, math.sqrt(2 / FAN_IN), None),
    ("he_normal", {"mode": "fan_out", "nonlinearity": "relu"}, 0.0, math.sqrt(2 / FAN_OUT), None),
    (
        "he_normal",
        {"nonlinearity": "leaky_relu", "a": 0.2, "mode": "fan_in"},
        0.0,
        math.sqrt(2 / 1.04) / math.sqrt(FAN_IN),
        None,
    ),
    (
        "he_normal",
        {"mode": "fan_out", "nonlinearity": "selu"},
        0.0,
        0.75 / math.sqrt(FAN_OUT),
        None,
    ),
    ("lecun_normal", {}, 0.0, 1 / math.sqrt(FAN_IN), None),
    ("normal", {}, 0.0, 1.0, None),
    ("normal", {"mean": 0.5, "std": 0.2}, 0.5, 0.2, None),
    ("uniform", {}, 0.5, 1 / math.sqrt(12), None),
    ("uniform", {"a": -0.3, "b": 0.7}, 0.2, 1 / math.sqrt(12), None),
]


@pytest.mark.parametrize(
    ("name", "options", "mean", "std", "limit"),
    CASES,
    ids=[f"{c[0]}-{c[1]}" for c in CASES],
)
def test_moments_of_large_draws(
    name: str, options: dict[str, Any], mean: float, std: float, limit: float | None
) -> None:
    W = gw.init.get(name)(SHAPE, rng=np.random.default_rng(7), **options)
    n = W.size
    assert W.shape == SHAPE
    assert W.dtype == np.float64
    # Mean within 5 standard errors; std within 1% (its standard error is ~0.15%).
    assert abs(W.mean() - mean) < 5 * std / math.sqrt(n)
    assert W.std() == pytest.approx(std, rel=1e-2)
    if limit is not None:
        assert W.min() >= -limit
        assert W.max() <= limit
        # The draws reach close to the bound: it is the stated one, not a smaller one.
        assert W.max() > limit * 0.999
        assert W.min() < -limit * 0.999


def test_uniform_bounds() -> None:
    W = gw.init.uniform((300, 300), a=-0.3, b=0.7, rng=1)
    assert W.min() >= -0.3
    assert W.max() < 0.7
    assert W.min() < -0.299
    assert W.max() > 0.699


@pytest.mark.parametrize(
    ("name", "options", "value"),
    [
        ("zeros", {}, 0.0),
        ("ones", {}, 1.0),
        ("constant", {"value": 0.7}, 0.7),
        ("constant", {}, 0.0),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_deterministic_initialisers(
    name: str, options: dict[str, Any], value: float, dtype: type
) -> None:
    init = gw.init.get(name)
    W = init((3, 4), dtype=dtype, **options)
    assert W.dtype == dtype
    np.testing.assert_array_equal(W, np.full((3, 4), value, dtype=dtype))
    # rng is accepted and ignored
    np.testing.assert_array_equal(init((3, 4), rng=0, dtype=dtype, **options), W)


@pytest.mark.parametrize(
    ("shape", "gain"),
    [
        ((8, 3), 1.0),
        ((6, 6), 1.0),
        ((3, 9), 1.0),
        ((40, 10), 2.0),
        ((10, 10), 0.5),
        ((4, 12), 5 / 3),
    ],
)
def test_orthogonal(shape: tuple[int, int], gain: float) -> None:
    W = gw.init.orthogonal(shape, gain=gain, rng=np.random.default_rng(3))
    assert W.shape == shape
    rows, cols = shape
    if rows >= cols:
        np.testing.assert_allclose(W.T @ W, gain**2 * np.eye(cols), atol=1e-12)
    else:
        np.testing.assert_allclose(W @ W.T, gain**2 * np.eye(rows), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), gain, rtol=1e-12)
    via_get = gw.init.get("orthogonal", gain=gain)(shape, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(via_get, W)


def test_orthogonal_is_not_always_the_same_matrix() -> None:
    # With the sign correction, Q is Haar distributed: its entries average to 0.
    draws = np.stack([gw.init.orthogonal((4, 4), rng=seed) for seed in range(2000)])
    assert np.abs(draws.mean(axis=0)).max() < 0.1
    assert draws[:, 0, 0].std() == pytest.approx(0.5, rel=0.1)  # 1/sqrt(n) for n = 4


def test_orthogonal_float32() -> None:
    W = gw.init.orthogonal((5, 3), rng=0, dtype=np.float32)
    assert W.dtype == np.float32
    np.testing.assert_allclose(W.T @ W, np.eye(3), atol=1e-6)


def test_calculate_gain() -> None:
    gain = gw.init.calculate_gain
    assert gain("tanh") == pytest.approx(5 / 3)
    assert gain("relu") == pytest.approx(math.sqrt(2))
    assert gain("selu") == pytest.approx(3 / 4)
    assert gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert gain("leaky_relu", 0) == pytest.approx(math.sqrt(2))
    assert gain("sigmoid") == 1.0
    assert gain("linear") == 1.0
    assert gain("identity") == 1.0
    with pytest.raises(ValueError, match="nonlinearity") as info:
        gain("softmax")
    for name in ("tanh", "relu", "leaky_relu", "selu", "sigmoid", "linear"):
        assert name in str(info.value)
    with pytest.raises(ValueError, match="param"):
        gain("leaky_relu", "0.2")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name",
    [
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
    ],
)
def test_calculate_gain_of_linear_layers_is_one(name: str) -> None:
    assert gw.init.calculate_gain(name) == 1.0


@pytest.mark.parametrize("name", gw.activations.names())
def test_calculate_gain_is_the_activations_gain(name: str) -> None:
    """One source of truth: the activation class; activations without a gain fail loudly."""
    activation = gw.activations.get(name)
    if type(activation).gain is gw.activations.Activation.gain:  # the default: no gain
        with pytest.raises(ValueError, match=f"no recommended gain for the nonlinearity '{name}'"):
            gw.init.calculate_gain(name)
        with pytest.raises(ValueError, match="no recommended gain"):
            gw.init.get("he_normal", nonlinearity=name)((4, 3), rng=0)
    else:
        expected = activation.gain()
        assert gw.init.calculate_gain(name) == expected
        assert gw.init.calculate_gain(activation) == expected
        assert math.isfinite(expected)
        assert expected > 0


def test_gains_without_a_torch_value_raise() -> None:
    for name in ("elu", "softplus", "silu", "gelu"):
        with pytest.raises(ValueError, match="no recommended gain"):
            gw.init.calculate_gain(name)


def test_calculate_gain_takes_an_activation_and_a_new_one() -> None:
    leaky = gw.activations.LeakyReLU(alpha=0.2)
    assert gw.init.calculate_gain(leaky) == pytest.approx(math.sqrt(2 / 1.04))
    assert gw.init.calculate_gain(leaky, 0.0) == pytest.approx(math.sqrt(2))  # param wins

    class Doubled(gw.activations.Activation):
        name = "doubled"

        def __call__(self, z):
            return 2.0 * z

        def derivative(self, z):
            return np.full_like(z, 2.0)

        def gain(self, param=None):
            return 0.5

    assert gw.init.calculate_gain(Doubled()) == 0.5
    W = gw.init.he_normal((2000, 100), nonlinearity=Doubled(), rng=0)
    assert W.std() == pytest.approx(0.5 / math.sqrt(2000), rel=0.02)

    class Square(gw.activations.Activation):
        name = "square"

    with pytest.raises(ValueError, match="no recommended gain for the nonlinearity 'square'"):
        gw.init.calculate_gain(Square())
    with pytest.raises(TypeError, match="nonlinearity"):
        gw.init.calculate_gain(3)  # type: ignore[arg-type]


RANDOM = [
    "normal",
    "uniform",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "lecun_normal",
    "orthogonal",
]


@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_draw(name: str) -> None:
    init = gw.init.get(name)
    first = init((20, 10), rng=np.random.default_rng(5))
    again = init((20, 10), rng=np.random.default_rng(5))
    from_int = init((20, 10), rng=5)
    other = init((20, 10), rng=np.random.default_rng(6))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, from_int)
    assert not np.array_equal(first, other)
    generator = np.random.default_rng(5)
    assert not np.array_equal(init((20, 10), rng=generator), init((20, 10), rng=generator))


@pytest.mark.parametrize("name", RANDOM)
def test_rng_is_required(name: str) -> None:
    init = gw.init.get(name)
    with pytest.raises(TypeError, match="rng"):
        init((3, 2))
    with pytest.raises(TypeError, match="rng"):
        init((3, 2), rng=None)
    with pytest.raises(TypeError, match="rng"):
        init((3, 2), rng=1.5)


@pytest.mark.parametrize("name", gw.init.names())
def test_float32_draws(name: str) -> None:
    W = gw.init.get(name)((6, 4), rng=0, dtype=np.float32)
    assert W.dtype == np.float32
    assert W.shape == (6, 4)


def test_names_and_aliases() -> None:
    required = {
        "zeros",
        "constant",
        "normal",
        "uniform",
        "xavier_uniform",
        "xavier_normal",
        "he_uniform",
        "he_normal",
        "lecun_normal",
        "orthogonal",
    }
    assert required <= set(gw.init.names())
    assert gw.init.get("glorot_uniform") is gw.init.xavier_uniform
    assert gw.init.get("kaiming_normal") is gw.init.he_normal
    custom = lambda shape, rng=None, dtype=np.float64: np.full(shape, 2.0, dtype=dtype)  # noqa: E731
    assert gw.init.get(custom) is custom


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown initialiser 'glorot'") as info:
        gw.init.get("glorot")
    for name in gw.init.names():
        assert name in str(info.value)


def test_bad_options_and_arguments() -> None:
    with pytest.raises(ValueError, match="std"):
        gw.init.get("xavier_uniform", std=0.1)
    with pytest.raises(TypeError, match="init"):
        gw.init.get(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        gw.init.he_normal((3, 2), mode="fan_avg", rng=0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="std"):
        gw.init.normal((3, 2), std=-1.0, rng=0)
    with pytest.raises(ValueError, match="a must not exceed b"):
        gw.init.uniform((3, 2), a=1.0, b=0.0, rng=0)
    with pytest.raises(ValueError, match="shape"):
        gw.init.xavier_uniform((3,), rng=0)
    with pytest.raises(ValueError, match=r"non-negative ints, got \(3, -2\)"):
        gw.init.normal((3, -2), rng=0)
    with pytest.raises(TypeError, match=r"non-negative ints, got \(3, 2.0\)"):
        gw.init.normal((3, 2.0), rng=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dtype"):
        gw.init.zeros((3, 2), dtype=np.int64)


# Initialisers that need no fans, so they also make 1-D arrays (biases).
ANY_SHAPE = ["zeros", "ones", "constant", "normal", "uniform"]
MATRIX_SHAPES = [(12, 3), (5, 5), (3, 12), (4, 2, 3)]  # tall, square, wide (h, 4h), 3-D


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", MATRIX_SHAPES, ids=["tall", "square", "wide", "3d"])
@pytest.mark.parametrize("name", gw.init.names())
def test_every_initialiser_returns_c_contiguous_matrices(
    name: str, shape: tuple[int, ...], dtype: type
) -> None:
    W = gw.init.get(name)(shape, rng=0, dtype=dtype)
    assert W.shape == shape
    assert W.dtype == dtype
    assert W.flags.c_contiguous


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ANY_SHAPE)
def test_every_initialiser_of_a_vector_returns_a_c_contiguous_one(name: str, dtype: type) -> None:
    b = gw.init.get(name)((7,), rng=0, dtype=dtype)
    assert b.shape == (7,)
    assert b.dtype == dtype
    assert b.flags.c_contiguous


@pytest.mark.parametrize("name", sorted(set(gw.init.names()) - set(ANY_SHAPE)))
def test_initialisers_with_fans_refuse_a_vector(name: str) -> None:
    with pytest.raises(ValueError, match="shape must have at least 2 dimensions"):
        gw.init.get(name)((7,), rng=0)


class _Linear:
    """The smallest model gradcheck takes: ``y_pred = x @ W``, its one parameter ``W``."""

    dtype = np.dtype(np.float64)

    def __init__(self, W: np.ndarray) -> None:
        self.W = W

    def params(self) -> list[np.ndarray]:
        return [self.W]

    def param_names(self) -> list[str]:
        return ["W"]

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x @ self.W

    def loss_and_grads(
        self, x: np.ndarray, y: np.ndarray, loss: gw.losses.Loss
    ) -> tuple[float, list[np.ndarray]]:
        value, dz = loss.value_and_grad(self.forward(x), y)
        return value, [x.T @ dz]


def test_a_wide_orthogonal_matrix_passes_gradcheck() -> None:
    # The gated-RNN case: an (h, 4h) orthogonal block used to come back in Fortran order, and
    # gradcheck refused it ("not contiguous, so it cannot be perturbed").
    W = gw.init.orthogonal((3, 12), rng=1)
    np.testing.assert_allclose(W @ W.T, np.eye(3), atol=1e-12)
    assert np.shares_memory(W.reshape(-1), W)  # a flat view of its memory, not a copy
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 12))
    assert gw.gradcheck(_Linear(W), x, y).passed
