"""Dense: forward and backward against hand-computed numbers, dtypes, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradwatch as gw


def relu_layer() -> gw.Dense:
    layer = gw.Dense(2, 1, activation="relu")
    layer.W[...] = [[2.0], [-1.0]]
    layer.b[...] = [0.5]
    return layer


def test_backward_by_hand_one_sample() -> None:
    layer = relu_layer()
    # z = 3*2 + 1*(-1) + 0.5 = 5.5 > 0, so a = z and g'(z) = 1.
    a = layer.forward(np.array([[3.0, 1.0]]))
    np.testing.assert_array_equal(a, [[5.5]])
    dx = layer.backward(np.array([[2.0]]))
    np.testing.assert_array_equal(layer.dW, [[6.0], [2.0]])  # x^T dz
    np.testing.assert_array_equal(layer.db, [2.0])
    np.testing.assert_array_equal(dx, [[4.0, -2.0]])  # dz W^T


def test_backward_by_hand_batch_with_a_dead_sample() -> None:
    layer = relu_layer()
    # Sample 2: z = 2 - 3 + 0.5 = -0.5, so relu blocks its gradient.
    a = layer.forward(np.array([[3.0, 1.0], [1.0, 3.0]]))
    np.testing.assert_array_equal(a, [[5.5], [0.0]])
    dx = layer.backward(np.array([[1.0], [1.0]]))
    np.testing.assert_array_equal(layer.dW, [[3.0], [1.0]])
    np.testing.assert_array_equal(layer.db, [1.0])
    np.testing.assert_array_equal(dx, [[2.0, -1.0], [0.0, 0.0]])


def test_backward_by_hand_tanh_two_outputs() -> None:
    layer = gw.Dense(2, 2, activation="tanh")
    layer.W[...] = [[0.5, -1.0], [0.25, 2.0]]
    layer.b[...] = [0.0, 0.1]
    x = np.array([[1.0, 2.0]])
    z = [1.0 * 0.5 + 2.0 * 0.25 + 0.0, 1.0 * -1.0 + 2.0 * 2.0 + 0.1]  # [1.0, 3.1]
    a = layer.forward(x)
    np.testing.assert_allclose(a, [[math.tanh(z[0]), math.tanh(z[1])]], rtol=1e-15)
    da = [1.0, -2.0]
    dz = [da[0] * (1 - math.tanh(z[0]) ** 2), da[1] * (1 - math.tanh(z[1]) ** 2)]
    dx = layer.backward(np.array([da]))
    np.testing.assert_allclose(
        layer.dW, [[1.0 * dz[0], 1.0 * dz[1]], [2.0 * dz[0], 2.0 * dz[1]]], rtol=1e-14
    )
    np.testing.assert_allclose(layer.db, dz, rtol=1e-14)
    np.testing.assert_allclose(
        dx, [[0.5 * dz[0] - 1.0 * dz[1], 0.25 * dz[0] + 2.0 * dz[1]]], rtol=1e-14
    )


def test_shapes_and_initialisation() -> None:
    layer = gw.Dense(5, 3, activation="sigmoid", init="orthogonal", bias_init="ones", rng=1)
    assert (layer.n_in, layer.n_out) == (5, 3)
    assert layer.W.shape == (5, 3)
    assert layer.b.shape == (3,)
    assert layer.dW.shape == (5, 3)
    assert layer.db.shape == (3,)
    np.testing.assert_allclose(layer.W.T @ layer.W, np.eye(3), atol=1e-12)
    np.testing.assert_array_equal(layer.b, np.ones(3))
    assert layer.activation == gw.activations.Sigmoid()
    assert repr(layer) == "Dense(n_in=5, n_out=3, activation=Sigmoid(), dtype=float64)"
    same = gw.Dense(5, 3, activation="sigmoid", init="orthogonal", bias_init="ones", rng=1)
    np.testing.assert_array_equal(same.W, layer.W)


def test_dw_and_db_are_updated_in_place() -> None:
    layer = gw.Dense(3, 2, rng=0)
    dW, db = layer.dW, layer.db
    layer.forward(np.ones((4, 3)))
    layer.backward(np.ones((4, 2)))
    assert layer.dW is dW
    assert layer.db is db
    assert np.any(dW != 0)


def test_backward_twice_uses_the_same_cache() -> None:
    layer = gw.Dense(3, 2, activation="silu", rng=0)
    layer.forward(np.random.default_rng(0).normal(size=(4, 3)))
    first = layer.backward(np.ones((4, 2)))
    dW = layer.dW.copy()
    second = layer.backward(np.ones((4, 2)))
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(layer.dW, dW)


@pytest.mark.parametrize("activation", gw.activations.names())
def test_float32_layer_stays_float32(activation: str) -> None:
    layer = gw.Dense(3, 2, activation=activation, rng=0, dtype=np.float32)
    assert layer.W.dtype == layer.b.dtype == np.float32
    a = layer.forward(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32))
    dx = layer.backward(np.ones((4, 2), dtype=np.float32))
    for array in (a, dx, layer.dW, layer.db):
        assert array.dtype == np.float32


def test_backward_before_forward() -> None:
    layer = gw.Dense(3, 2)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.ones((1, 2)))


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_in"):
        gw.Dense(0, 2)
    with pytest.raises(ValueError, match="n_out"):
        gw.Dense(2, 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dtype"):
        gw.Dense(2, 2, dtype=np.int32)
    with pytest.raises(ValueError, match="unknown activation"):
        gw.Dense(2, 2, activation="nope")
    with pytest.raises(ValueError, match="unknown initialiser"):
        gw.Dense(2, 2, init="nope")
    with pytest.raises(TypeError, match="rng"):
        gw.Dense(2, 2, rng="seed")  # type: ignore[arg-type]
    wrong_shape = lambda shape, rng=None, dtype=np.float64: np.zeros((1,), dtype=dtype)  # noqa: E731
    with pytest.raises(ValueError, match="returned shape"):
        gw.Dense(2, 2, init=wrong_shape)


@pytest.mark.parametrize("activation", ["identity", "tanh", "relu", "sigmoid"])
def test_backward_without_dx_sets_the_same_gradients(activation: str) -> None:
    rng = np.random.default_rng(3)
    x, da = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    layer = gw.Dense(3, 2, activation=activation, rng=0)
    layer.forward(x)
    dx = layer.backward(da)
    dW, db = layer.dW.copy(), layer.db.copy()
    layer.dW[...] = 0.0
    layer.db[...] = 0.0
    assert layer.backward(da, need_dx=False) is None
    np.testing.assert_array_equal(layer.dW, dW)
    np.testing.assert_array_equal(layer.db, db)
    np.testing.assert_array_equal(layer.backward(da, need_dx=True), dx)
