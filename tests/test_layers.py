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


# ---------------------------------------------------------------------------------------------
# The Layer interface of Dense
# ---------------------------------------------------------------------------------------------


def test_dense_params_grads_and_names_are_its_arrays() -> None:
    layer = gw.Dense(3, 2, rng=0)
    assert layer.params()[0] is layer.W
    assert layer.params()[1] is layer.b
    assert layer.grads()[0] is layer.dW
    assert layer.grads()[1] is layer.db
    assert layer.param_names() == ["W", "b"]
    assert isinstance(layer, gw.Layer)
    assert layer.training
    assert layer.eval() is layer
    assert not layer.training


def test_dense_backward_params_sets_the_gradients_of_backward() -> None:
    rng = np.random.default_rng(5)
    x, da = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    layer = gw.Dense(3, 2, activation="tanh", rng=0)
    layer.forward(x)
    layer.backward(da)
    dW, db = layer.dW.copy(), layer.db.copy()
    layer.dW[...] = 0.0
    layer.db[...] = 0.0
    layer.backward_params(da)
    np.testing.assert_array_equal(layer.dW, dW)
    np.testing.assert_array_equal(layer.db, db)


# ---------------------------------------------------------------------------------------------
# ActivationLayer
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", gw.activations.names())
def test_activation_layer_is_a_dense_layer_without_weights(activation: str) -> None:
    rng = np.random.default_rng(1)
    z, da = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    layer = gw.ActivationLayer(activation)
    dense = gw.Dense(3, 3, activation=activation, init=lambda shape, rng, dtype: np.eye(3))
    kept = z.copy()
    np.testing.assert_allclose(layer.forward(z), dense.forward(z), rtol=1e-15)
    np.testing.assert_array_equal(z, kept)  # the input is never overwritten
    np.testing.assert_allclose(layer.backward(da), dense.backward(da), rtol=1e-15, atol=1e-300)
    np.testing.assert_array_equal(z, kept)


def test_activation_layer_by_hand() -> None:
    layer = gw.ActivationLayer("tanh")
    a = layer.forward(np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(a, [[0.0, math.tanh(1.0)]])
    dz = layer.backward(np.array([[2.0, 2.0]]))
    np.testing.assert_allclose(dz, [[2.0, 2.0 * (1 - math.tanh(1.0) ** 2)]], rtol=1e-15)
    assert layer.params() == layer.grads() == layer.param_names() == []
    assert (layer.n_in, layer.n_out) == (None, None)
    assert repr(layer) == "ActivationLayer(Tanh())"


def test_activation_layer_float32_and_errors() -> None:
    layer = gw.ActivationLayer("relu")
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.ones((1, 2)))
    a = layer.forward(np.ones((2, 2), dtype=np.float32))
    assert a.dtype == layer.backward(np.ones((2, 2), dtype=np.float32)).dtype == np.float32
    with pytest.raises(ValueError, match="unknown activation"):
        gw.ActivationLayer("nope")


# ---------------------------------------------------------------------------------------------
# Residual
# ---------------------------------------------------------------------------------------------


def test_residual_by_hand() -> None:
    block = gw.Dense(2, 2, activation="identity", init="ones")
    block.b[...] = [0.5, -0.5]
    residual = gw.Residual(block)
    y = residual.forward(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(y, [[1.0 + 3.5, 2.0 + 2.5]])
    dx = residual.backward(np.array([[1.0, 2.0]]))
    np.testing.assert_array_equal(dx, [[1.0 + 3.0, 2.0 + 3.0]])  # dy (I + W^T)
    np.testing.assert_array_equal(block.dW, [[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_array_equal(block.db, [1.0, 2.0])


@pytest.mark.parametrize("scale", [1.0, 0.25, 0.0])
def test_residual_jacobian_is_identity_plus_scaled_block(scale: float) -> None:
    rng = np.random.default_rng(2)
    block = gw.Dense(4, 4, activation="tanh", rng=3)
    residual = gw.Residual(block, scale=scale)
    x, dy = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    y = residual.forward(x)
    np.testing.assert_allclose(y, x + scale * np.tanh(x @ block.W + block.b), rtol=1e-15)
    dx = residual.backward(dy)
    slope = 1.0 - np.tanh(x @ block.W + block.b) ** 2
    np.testing.assert_allclose(dx, dy + scale * (dy * slope) @ block.W.T, rtol=1e-14)
    np.testing.assert_allclose(block.dW, x.T @ (scale * dy * slope), rtol=1e-14, atol=1e-300)
    dx_kept = dx.copy()
    residual.backward_params(dy)
    np.testing.assert_allclose(block.dW, x.T @ (scale * dy * slope), rtol=1e-14, atol=1e-300)
    np.testing.assert_array_equal(dx, dx_kept)


def test_residual_never_changes_its_arguments() -> None:
    residual = gw.Residual(gw.ActivationLayer("identity"))
    x, dy = np.ones((2, 3)), np.ones((2, 3))
    np.testing.assert_array_equal(residual.forward(x), 2.0)
    np.testing.assert_array_equal(residual.backward(dy), 2.0)
    np.testing.assert_array_equal(x, 1.0)
    np.testing.assert_array_equal(dy, 1.0)


def test_residual_params_names_and_modes() -> None:
    norm = gw.BatchNorm(3)
    residual = gw.Residual(gw.Sequential([norm, gw.Dense(3, 3)]), scale=0.5)
    assert residual.param_names() == [
        "block.layers[0].gamma",
        "block.layers[0].beta",
        "block.layers[1].W",
        "block.layers[1].b",
    ]
    assert residual.params()[0] is norm.gamma
    assert residual.grads()[1] is norm.dbeta
    assert residual.eval() is residual
    assert not norm.training
    assert residual.train() is residual
    assert norm.training
    assert (residual.n_in, residual.n_out) == (3, 3)
    assert repr(residual).endswith("scale=0.5)")


class Widen(gw.Layer):
    """A layer of any input width that doubles it: its widths are not known in advance."""

    def forward(self, x: np.ndarray, /) -> np.ndarray:
        return np.concatenate([x, x], axis=1)

    def backward(self, dy: np.ndarray, /) -> np.ndarray:
        half = dy.shape[1] // 2
        return dy[:, :half] + dy[:, half:]


def test_residual_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"maps \(n_samples, 2\) to \(n_samples, 3\)"):
        gw.Residual(gw.Dense(2, 3))
    residual = gw.Residual(Widen())  # widths unknown until it runs
    with pytest.raises(ValueError, match=r"x has shape \(4, 2\).*output has shape \(4, 4\)"):
        residual.forward(np.ones((4, 2)))


def test_residual_bad_arguments() -> None:
    with pytest.raises(TypeError, match="block must be a gradwatch Layer"):
        gw.Residual(lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="scale"):
        gw.Residual(gw.Dense(2, 2), scale="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scale must be a finite number"):
        gw.Residual(gw.Dense(2, 2), scale=math.inf)
