"""Sequential: compositions against finite differences and closed forms, the interface, errors."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import gradwatch as gw

ACTIVATIONS = ["tanh", "sigmoid", "gelu", "silu", "softplus", "identity"]  # smooth: no kinks


def build(parts: list[str], width: int, activation: str, rng: np.random.Generator) -> gw.Sequential:
    """A network from a recipe: ``dense``, ``act``, ``layer``, ``batch``, ``residual``."""
    bias = gw.init.get("normal", std=0.3)
    layers: list[gw.Layer] = [gw.Dense(3, width, activation=activation, bias_init=bias, rng=rng)]
    for part in parts:
        if part == "dense":
            layers.append(gw.Dense(width, width, "identity", bias_init=bias, rng=rng))
        elif part == "act":
            layers.append(gw.ActivationLayer(activation))
        elif part == "layer":
            norm = gw.LayerNorm(width)
            norm.gamma[...] = rng.normal(1.0, 0.3, size=width)
            norm.beta[...] = rng.normal(0.0, 0.3, size=width)
            layers.append(norm)
        elif part == "batch":
            norm = gw.BatchNorm(width, momentum=0.0)  # no drift between finite differences
            norm.gamma[...] = rng.normal(1.0, 0.3, size=width)
            layers.append(norm)
        else:
            branch = gw.Sequential(
                [
                    gw.LayerNorm(width),
                    gw.ActivationLayer(activation),
                    gw.Dense(width, width, rng=rng),
                ]
            )
            layers.append(gw.Residual(branch, scale=float(rng.uniform(0.1, 1.5))))
    layers.append(gw.Dense(width, 2, "identity", rng=rng))
    return gw.Sequential(layers)


def input_gradient(net: gw.Sequential, x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Central differences of ``sum(net(x) * weights)`` in ``x``."""
    h = 1e-5
    grad = np.empty_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += h
        down[index] -= h
        grad[index] = float(((net.forward(up) - net.forward(down)) * weights).sum()) / (2 * h)
    return grad


# ---------------------------------------------------------------------------------------------
# Any composition against finite differences
# ---------------------------------------------------------------------------------------------


@given(
    parts=st.lists(st.sampled_from(["dense", "act", "layer", "batch", "residual"]), max_size=5),
    width=st.integers(2, 4),
    activation=st.sampled_from(ACTIVATIONS),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_composition_matches_finite_differences(
    parts: list[str], width: int, activation: str, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    net = build(parts, width, activation, rng)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    report = gw.gradcheck(net, x, y, eps=1e-5)
    assert report.max_rel_error < 1e-6, (parts, report)
    weights = rng.normal(size=(5, 2))
    net.forward(x)
    dx = net.backward(weights)
    np.testing.assert_allclose(dx, input_gradient(net, x, weights), rtol=1e-6, atol=1e-8)


def test_eval_mode_matches_finite_differences(rng: np.random.Generator) -> None:
    net = build(["batch", "act", "residual", "batch"], 3, "tanh", rng)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    for layer in net.layers:
        if isinstance(layer, gw.BatchNorm):
            layer.running_mean[...] = rng.normal(size=3)
            layer.running_var[...] = rng.uniform(0.5, 2.0, size=3)
    assert gw.gradcheck(net.eval(), x[:1], y[:1], eps=1e-5).max_rel_error < 1e-6


# ---------------------------------------------------------------------------------------------
# Closed forms
# ---------------------------------------------------------------------------------------------


def test_linear_composition_closed_form(rng: np.random.Generator) -> None:
    """Identity activations: the network is x (W1 (I + s W2) W3) plus biases."""
    first = gw.Dense(3, 4, "identity", rng=1)
    inner = gw.Dense(4, 4, "identity", rng=2)
    last = gw.Dense(4, 2, "identity", rng=3)
    net = gw.Sequential([first, gw.Residual(inner, scale=0.5), last])
    x, dy = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    product = first.W @ (np.eye(4) + 0.5 * inner.W) @ last.W
    np.testing.assert_allclose(net.forward(x), x @ product, rtol=1e-13)
    np.testing.assert_allclose(net.backward(dy), dy @ product.T, rtol=1e-13)
    # dL/dW of the middle layer: (x W1)^T (0.5 dy W3^T)
    np.testing.assert_allclose(inner.dW, (x @ first.W).T @ (0.5 * dy @ last.W.T), rtol=1e-13)


def test_equals_the_layers_run_by_hand(rng: np.random.Generator) -> None:
    dense, norm, act = (
        gw.Dense(3, 4, "identity", rng=0),
        gw.LayerNorm(4),
        gw.ActivationLayer("relu"),
    )
    net = gw.Sequential([dense, norm, act])
    x, dy = rng.normal(size=(6, 3)), rng.normal(size=(6, 4))
    y = net.forward(x)
    dx = net.backward(dy)
    twin = [gw.Dense(3, 4, "identity", rng=0), gw.LayerNorm(4), gw.ActivationLayer("relu")]
    a = x
    for layer in twin:
        a = layer.forward(a)
    g = dy
    for layer in reversed(twin):
        g = layer.backward(g)
    np.testing.assert_array_equal(y, a)
    np.testing.assert_array_equal(dx, g)
    for p, q in zip(
        net.grads(), [twin[0].dW, twin[0].db, twin[1].dgamma, twin[1].dbeta], strict=True
    ):
        np.testing.assert_array_equal(p, q)


def test_loss_and_grads_equals_forward_loss_backward(rng: np.random.Generator) -> None:
    net = build(["batch", "act", "residual"], 4, "tanh", rng)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    loss, grads = net.loss_and_grads(x, y)
    copies = [g.copy() for g in grads]
    mse = gw.losses.get("mse")
    y_pred = net.forward(x)
    assert mse(y_pred, y) == loss
    net.backward(mse.grad(y_pred, y))
    for g, c in zip(net.grads(), copies, strict=True):
        np.testing.assert_array_equal(g, c)


# ---------------------------------------------------------------------------------------------
# The interface and the rest of the library
# ---------------------------------------------------------------------------------------------


def test_params_are_the_arrays_and_names_match(rng: np.random.Generator) -> None:
    norm = gw.BatchNorm(4)
    net = gw.Sequential([gw.Dense(3, 4, rng=0), norm, gw.Residual(gw.Dense(4, 4, rng=1))])
    assert net.param_names() == [
        "layers[0].W",
        "layers[0].b",
        "layers[1].gamma",
        "layers[1].beta",
        "layers[2].block.W",
        "layers[2].block.b",
    ]
    assert net.params()[2] is norm.gamma
    assert net.grads()[3] is norm.dbeta
    assert net.n_params == 3 * 4 + 4 + 4 + 4 + 16 + 4
    assert (net.n_in, net.n_out, net.dtype) == (3, 4, np.dtype(np.float64))
    before = net.forward(rng.normal(size=(2, 3)))
    norm.beta += 1.0
    x = rng.normal(size=(2, 3))
    assert not np.allclose(net.forward(x), before)


def test_train_and_eval_reach_every_layer() -> None:
    inner = gw.BatchNorm(2)
    outer = gw.BatchNorm(2)
    net = gw.Sequential([gw.Dense(2, 2), outer, gw.Residual(gw.Sequential([inner]))])
    assert net.eval() is net
    assert not net.training
    assert not inner.training
    assert not outer.training
    assert net.train() is net
    assert inner.training
    assert outer.training


def test_works_with_train_clip_and_optimisers(rng: np.random.Generator) -> None:
    x = rng.normal(size=(64, 3))
    y = x[:, :2] * x[:, 1:]
    net = build(["batch", "act", "residual", "dense"], 8, "tanh", rng)
    clip = functools.partial(gw.clip.clip_by_global_norm, max_norm=1.0)
    history = gw.train(
        net, x, y, optimizer=gw.optim.Adam(lr=0.01), steps=60, batch_size=16, clip=clip, seed=0
    )
    assert history.loss[-10:].mean() < 0.7 * history.loss[:5].mean()
    assert history.layer_grad_norms.shape == (60, 4)  # the four weight matrices
    assert not history.diverged


def test_eval_mode_gives_batch_independent_outputs(rng: np.random.Generator) -> None:
    net = gw.Sequential([gw.Dense(3, 4, rng=0), gw.BatchNorm(4), gw.Dense(4, 1, rng=1)])
    x = rng.normal(size=(8, 3))
    for _ in range(3):
        net.forward(x)  # move the running statistics
    net.eval()
    np.testing.assert_allclose(net.forward(x)[:1], net.forward(x[:1]), rtol=1e-14)
    net.train()
    assert not np.allclose(net.forward(x)[:2], net.forward(x[:2]))


def test_float32_stays_float32(rng: np.random.Generator) -> None:
    net = gw.Sequential(
        [
            gw.Dense(3, 4, "identity", dtype=np.float32),
            gw.BatchNorm(4, dtype=np.float32),
            gw.ActivationLayer("relu"),
            gw.Residual(
                gw.Sequential([gw.LayerNorm(4, dtype=np.float32), gw.Dense(4, 4, dtype=np.float32)])
            ),
            gw.Dense(4, 1, dtype=np.float32),
        ]
    )
    assert net.dtype == np.float32
    loss, grads = net.loss_and_grads(rng.normal(size=(5, 3)), rng.normal(size=(5, 1)))
    assert np.isfinite(loss)
    assert all(g.dtype == np.float32 for g in grads)
    assert net.backward(np.ones((5, 1))).dtype == np.float32


def test_a_network_without_parameters() -> None:
    net = gw.Sequential([gw.ActivationLayer("relu")])
    assert (net.n_in, net.n_out, net.dtype, net.params()) == (None, None, np.dtype("float64"), [])
    np.testing.assert_array_equal(net.forward([[-1.0, 2.0]]), [[0.0, 2.0]])


def test_repr_nests() -> None:
    text = repr(gw.Sequential([gw.Dense(2, 2), gw.Residual(gw.Sequential([gw.LayerNorm(2)]))]))
    assert text.splitlines()[0] == "Sequential(["
    assert "        LayerNorm(2, eps=1e-05, dtype=float64)," in text.splitlines()


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_bad_construction() -> None:
    with pytest.raises(ValueError, match="layers is empty"):
        gw.Sequential([])
    with pytest.raises(TypeError, match="layers must be a list of layers"):
        gw.Sequential(gw.Dense(2, 2))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"layers\[1\] must be a gradwatch Layer"):
        gw.Sequential([gw.Dense(2, 2), np.tanh])  # type: ignore[list-item]
    with pytest.raises(
        ValueError, match=r"layers\[1\] expects n_in=5 features but layers\[0\] gives 4"
    ):
        gw.Sequential([gw.Dense(3, 4), gw.Dense(5, 1)])
    with pytest.raises(ValueError, match=r"layers\[2\] expects n_in=3 .* layers\[1\] gives 4"):
        gw.Sequential([gw.Dense(3, 4), gw.ActivationLayer("relu"), gw.LayerNorm(3)])
    with pytest.raises(ValueError, match="one dtype, got float32, float64"):
        gw.Sequential([gw.Dense(3, 4), gw.LayerNorm(4, dtype=np.float32)])


def test_bad_input_and_dy(rng: np.random.Generator) -> None:
    net = gw.Sequential([gw.ActivationLayer("tanh"), gw.Dense(3, 2), gw.BatchNorm(2)])
    with pytest.raises(RuntimeError, match="backward called before forward"):
        net.backward(np.ones((4, 2)))
    with pytest.raises(ValueError, match="x has 2 features but layer 1 expects n_in=3"):
        net.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"x\[None, :\]"):
        net.forward(np.ones(3))
    with pytest.raises(ValueError, match="more than one sample"):
        net.forward(np.ones((1, 3)))
    net.forward(rng.normal(size=(4, 3)))
    with pytest.raises(ValueError, match=r"dy has shape \(4, 3\)"):
        net.backward(np.ones((4, 3)))
