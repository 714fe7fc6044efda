"""The trace, per-layer statistics, health verdicts and Jacobians."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import gradwatch as gw


class Clip(gw.activations.Activation):
    """A new activation with a saturated region: flat outside [-1, 1]."""

    name = "clip"
    saturation_interval = (-1.0, 1.0)

    def __call__(self, z):
        return np.clip(z, -1.0, 1.0)

    def derivative(self, z):
        return (np.abs(z) < 1.0).astype(z.dtype)


class Cube(gw.activations.Activation):
    """A new activation that neither saturates nor has dying units."""

    name = "cube"

    def __call__(self, z):
        return z * z * z

    def derivative(self, z):
        return 3.0 * z * z


def _two_layer_relu() -> gw.MLP:
    net = gw.MLP([2, 2, 1], activation="relu", init="ones", seed=0)
    net.layers[0].W[:, 1] = -1.0  # unit 2 is negative for every positive input: dead
    return net


def test_layer_stats_by_hand() -> None:
    net = _two_layer_relu()
    x = np.array([[1.0, 2.0], [3.0, 1.0]])
    y = np.zeros((2, 1))
    stats = gw.diagnostics.layer_stats(net, x, y)
    # Layer 1: z = [[3, -3], [4, -4]] -> a = [[3, 0], [4, 0]]; layer 2: y_hat = [3, 4].
    np.testing.assert_allclose(stats.act_mean, [7 / 4, 3.5])
    np.testing.assert_allclose(stats.act_std, [np.std([3, 0, 4, 0]), 0.5])
    assert stats.dead == (0.5, None)  # the identity output layer has no units that can die
    assert stats.saturation == (None, None)  # neither relu nor identity saturates
    assert stats.loss == pytest.approx((9 + 16) / 2)
    # MSE = mean((y_hat - y)^2): dL/dy_hat = 2 y_hat / 2 = y_hat; dW2 = a1^T dy.
    dW2 = np.array([[3.0 * 3 + 4 * 4], [0.0]])
    assert stats.grad_norm[1] == pytest.approx(np.linalg.norm(dW2))
    assert stats.grad_data[1] == np.inf  # W2 is all ones: std(W2) = 0
    # dL/dz1 = y_hat * W2^T * relu'(z1) = [[3, 0], [4, 0]]; dW1 = x^T dL/dz1.
    dW1 = x.T @ np.array([[3.0, 0.0], [4.0, 0.0]])
    assert stats.grad_data[0] == pytest.approx(np.std(dW1) / np.std([1, -1]))
    assert stats.grad_norm[0] == pytest.approx(np.linalg.norm(dW1))
    # a measurement: the network's own gradients are left as they were
    assert not np.any(net.layers[0].dW)
    np.testing.assert_allclose(stats.delta_norm[1], np.sqrt((9 + 16) / 2))
    assert stats.update_data is None
    assert stats.shape == ((2, 2), (2, 1))
    assert stats.activation == ("relu", "identity")


def test_saturation_thresholds() -> None:
    for name, big in (("tanh", 5.0), ("sigmoid", 5.0)):
        net = gw.MLP([1, 4, 1], activation=name, init="ones", seed=0)
        x = np.array([[big], [0.0]])
        stats = gw.diagnostics.layer_stats(net, x, np.zeros((2, 1)))
        assert stats.saturation[0] == 0.5  # the large input saturates, zero does not
        assert stats.saturation[1] is None  # the identity output does not saturate
        assert stats.dead == (None, None)


def test_a_new_activation_reports_what_it_declares() -> None:
    """Saturation comes from saturation_interval, dead units from can_die: no name lists."""
    net = gw.MLP([1, 4, 1], activation=Clip(), init="ones", seed=0)
    x = np.array([[3.0], [0.5], [-2.0], [0.0]])
    stats = gw.diagnostics.layer_stats(net, x, np.zeros((4, 1)))
    assert stats.saturation == (0.5, None)
    assert stats.dead == (None, None)
    report = gw.diagnostics.health(stats, max_saturation=0.4)
    assert any("saturated" in reason for reason in report.layer_reasons[0])

    cube = gw.MLP([2, 3, 1], activation=Cube(), seed=0)
    stats = gw.diagnostics.layer_stats(cube, np.ones((4, 2)), np.zeros((4, 1)))
    assert stats.saturation == (None, None)
    assert stats.dead == (None, None)
    assert "cube" in repr(stats)
    assert gw.diagnostics.health(stats).verdict in gw.diagnostics.VERDICTS


def test_update_ratio_leaves_net_and_optimizer_unchanged() -> None:
    net = gw.MLP([3, 5, 1], activation="tanh", seed=1)
    x = np.random.default_rng(0).normal(size=(8, 3))
    y = np.ones((8, 1))
    before = [p.copy() for p in net.params()]
    opt = gw.optim.Adam(lr=0.01)
    stats = gw.diagnostics.layer_stats(net, x, y, optimizer=opt)
    for p, p0 in zip(net.params(), before, strict=True):
        np.testing.assert_array_equal(p, p0)
    assert opt.steps == 0
    assert stats.update_data is not None
    # Adam's first step moves every weight by about lr: std(update) ~ lr * std(sign(g)).
    dW = gw.diagnostics.trace(net, x, y).dW[0]
    expected = np.std(0.01 * np.sign(dW)) / np.std(net.layers[0].W)
    assert stats.update_data[0] == pytest.approx(expected, rel=1e-3)
    sgd = gw.diagnostics.layer_stats(net, x, y, optimizer=gw.optim.SGD(lr=0.1))
    assert sgd.update_data is not None
    np.testing.assert_allclose(sgd.update_data, 0.1 * sgd.grad_data)


def test_table_outputs() -> None:
    stats = gw.diagnostics.layer_stats(
        _two_layer_relu(), np.ones((2, 2)), np.zeros((2, 1)), optimizer=gw.optim.SGD()
    )
    text = repr(stats)
    assert text.startswith("LayerStats(")
    assert "update:data" in text
    assert "50.0%" in text
    assert "nan" not in text
    # relu, then identity: no saturation in either layer, no dead units in the identity layer
    first, second = (line.split() for line in text.splitlines()[2:])
    assert first[5:7] == ["-", "50.0%"]
    assert second[5:7] == ["-", "-"]
    lines = stats.to_markdown().splitlines()
    assert len(lines) == 4
    assert lines[1].startswith("|---")
    assert all(line.count("|") == lines[0].count("|") for line in lines)


def _data(n_in: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, n_in)), rng.normal(size=(32, 1))


def test_health_vanishing_exploding_healthy() -> None:
    x, y = _data(16)
    vanishing = gw.MLP(
        [16] + [32] * 10 + [1], activation="sigmoid", init=gw.init.get("normal", std=0.05)
    )
    report = gw.diagnostics.health(gw.diagnostics.layer_stats(vanishing, x, y))
    assert report.verdict == "vanishing"
    assert report.layer_verdicts[0] == "vanishing"
    assert report.depth_ratio < 1e-2
    assert "first layer" in report.reasons[0]

    exploding = gw.MLP(
        [16] + [32] * 10 + [1], activation="identity", init=gw.init.get("normal", std=0.5)
    )
    report = gw.diagnostics.health(gw.diagnostics.layer_stats(exploding, x, y))
    assert report.verdict == "exploding"
    assert report.depth_ratio > 1e2

    relu = gw.MLP([16] + [32] * 10 + [1], activation="relu", init=gw.init.get("normal", std=0.6))
    assert gw.diagnostics.health(gw.diagnostics.layer_stats(relu, x, y)).verdict == "exploding"

    healthy = gw.MLP([16] + [32] * 6 + [1], activation="tanh", init="xavier_normal")
    report = gw.diagnostics.health(gw.diagnostics.layer_stats(healthy, x, y))
    assert report.verdict == "healthy"
    assert set(report.layer_verdicts) == {"healthy"}
    assert "net" in repr(report)
    assert report.to_markdown().count("\n") == 2 + 7


def test_health_thresholds_are_parameters() -> None:
    x, y = _data(16)
    net = gw.MLP([16] + [32] * 4 + [1], activation="tanh", init="xavier_normal")
    stats = gw.diagnostics.layer_stats(net, x, y)
    strict = gw.diagnostics.health(stats, grad_data_range=(1e3, 1e4))
    assert strict.verdict == "vanishing"
    assert "grad:data" in strict.layer_reasons[0][0]
    with pytest.raises(ValueError, match="vanish_ratio"):
        gw.diagnostics.health(stats, vanish_ratio=2.0)
    with pytest.raises(ValueError, match="grad_data_range"):
        gw.diagnostics.health(stats, grad_data_range=(1.0, 0.1))
    with pytest.raises(TypeError, match="LayerStats"):
        gw.diagnostics.health("stats")  # type: ignore[arg-type]


def test_dead_relu_units_are_flagged() -> None:
    net = gw.MLP([4, 8, 1], activation="relu", seed=0)
    net.layers[0].b[:] = -100.0
    x, y = np.random.default_rng(1).normal(size=(16, 4)), np.zeros((16, 1))
    stats = gw.diagnostics.layer_stats(net, x, y)
    assert stats.dead[0] == 1.0
    report = gw.diagnostics.health(stats)
    assert any("dead" in reason for reason in report.layer_reasons[0])


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "elu"])
def test_jacobians_match_finite_differences(activation: str) -> None:
    net = gw.MLP([4, 6, 5, 3], activation=activation, seed=2)
    x = np.random.default_rng(3).normal(size=4)
    jac = gw.diagnostics.jacobians(net, x)
    eps = 1e-6
    numeric = np.empty((3, 4))
    for j in range(4):
        step = np.zeros(4)
        step[j] = eps
        numeric[:, j] = (net.forward((x + step)[None]) - net.forward((x - step)[None]))[0] / (
            2 * eps
        )
    np.testing.assert_allclose(jac.product, numeric, atol=1e-7)
    assert [j.shape for j in jac.layers] == [(6, 4), (5, 6), (3, 5)]
    np.testing.assert_allclose(
        jac.product_singular_values, np.linalg.svd(numeric, compute_uv=False), atol=1e-6
    )
    assert all(
        np.all(np.diff(s) <= 0) and s.size == min(j.shape)
        for s, j in zip(jac.singular_values, jac.layers, strict=True)
    )
    # The first layer's Jacobian, by finite differences on one layer.
    first = gw.MLP([4, 6], output_activation=activation, seed=0)
    first.layers[0].W[...] = net.layers[0].W
    first.layers[0].b[...] = net.layers[0].b
    np.testing.assert_allclose(gw.diagnostics.jacobians(first, x[None]).product, jac.layers[0])


def test_jacobians_bad_input() -> None:
    net = gw.MLP([3, 2], seed=0)
    with pytest.raises(ValueError, match="one sample"):
        gw.diagnostics.jacobians(net, np.ones((2, 3)))
    with pytest.raises(ValueError, match="features"):
        gw.diagnostics.jacobians(net, np.ones(4))
    with pytest.raises(TypeError, match="x must hold real numbers"):
        gw.diagnostics.jacobians(net, np.array(["a", "b", "c"]))
    with pytest.raises(ValueError, match="features"):
        gw.diagnostics.layer_stats(net, np.ones((2, 4)), np.zeros((2, 2)))


# --- the trace: one forward and backward pass -------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "elu", "gelu", "identity"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trace_agrees_with_the_networks_own_backward(activation: str, dtype: type) -> None:
    net = gw.MLP([3, 5, 4, 2], activation=activation, seed=1, dtype=dtype)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    passed = gw.diagnostics.trace(net, x, y, loss="mse")
    before = [g.copy() for g in net.grads()]
    loss, grads = net.loss_and_grads(x, y, loss="mse")
    dx = net.backward(gw.losses.get("mse").value_and_grad(net.forward(x), y)[1])
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    assert passed.loss == pytest.approx(loss, rel=tol["rtol"])
    np.testing.assert_allclose(passed.a[-1], net.forward(x), **tol)
    for i in range(3):
        np.testing.assert_allclose(passed.dW[i], grads[2 * i], **tol)
        np.testing.assert_allclose(passed.db[i], grads[2 * i + 1], **tol)
        assert passed.dW[i].dtype == dtype
        assert passed.z[i].shape == passed.a[i].shape == passed.dz[i].shape
    np.testing.assert_allclose(passed.da[0], dx, **tol)
    assert len(passed.da) == 4
    assert passed.x.dtype == dtype
    # the trace itself changed no gradient of the network (they were all zero before)
    assert not any(np.any(g) for g in before)


def test_trace_by_hand() -> None:
    net = _two_layer_relu()
    x = np.array([[1.0, 2.0], [3.0, 1.0]])
    passed = gw.diagnostics.trace(net, x, dy=np.array([[1.0], [2.0]]))
    np.testing.assert_array_equal(passed.z[0], [[3.0, -3.0], [4.0, -4.0]])
    np.testing.assert_array_equal(passed.a[0], [[3.0, 0.0], [4.0, 0.0]])
    np.testing.assert_array_equal(passed.dz[1], [[1.0], [2.0]])
    np.testing.assert_array_equal(passed.da[1], [[1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(passed.dz[0], [[1.0, 0.0], [2.0, 0.0]])  # unit 2 is dead
    np.testing.assert_array_equal(passed.da[0], [[1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(passed.dW[1], [[3.0 + 8.0], [0.0]])
    np.testing.assert_array_equal(passed.db[0], [3.0, 0.0])
    assert passed.loss is None


def test_trace_output_gradient_and_errors() -> None:
    net = gw.MLP([3, 4, 2], seed=0)
    x = np.ones((5, 3))
    first = gw.diagnostics.trace(net, x, seed=3)
    again = gw.diagnostics.trace(net, x, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(first.da[-1], again.da[-1])
    np.testing.assert_array_equal(first.da[-1], np.random.default_rng(3).normal(size=(5, 2)))
    params = [p.copy() for p in net.params()]
    gw.diagnostics.trace(net, x, np.zeros((5, 2)))
    for p, p0 in zip(net.params(), params, strict=True):
        np.testing.assert_array_equal(p, p0)
    with pytest.raises(ValueError, match="not both"):
        gw.diagnostics.trace(net, x, np.zeros((5, 2)), dy=np.zeros((5, 2)))
    with pytest.raises(ValueError, match="dy has shape"):
        gw.diagnostics.trace(net, x, dy=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="features"):
        gw.diagnostics.trace(net, np.ones((5, 4)))
    with pytest.raises(TypeError, match="seed"):
        gw.diagnostics.trace(net, x, seed=1.5)  # type: ignore[arg-type]


def test_backprop_norms_read_the_trace_and_match_the_layers_backward() -> None:
    net = gw.MLP([4, 6, 6, 3], activation="tanh", seed=2)
    x = np.random.default_rng(0).normal(size=(7, 4))
    dy = np.random.default_rng(1).normal(size=(7, 3))
    norms = gw.diagnostics.backprop_norms(net, x, dy=dy)
    # the same sizes by the layers' own backward pass
    net.forward(x)
    grad, expected = dy, [np.linalg.norm(dy)]
    for layer in reversed(net.layers):
        grad = layer.backward(grad)
        expected.append(np.linalg.norm(grad))
    np.testing.assert_allclose(norms, np.asarray(expected[::-1]) / np.sqrt(7), rtol=1e-12)


def test_layer_values_are_the_traces_activations_and_deltas() -> None:
    net = gw.MLP([3, 4, 1], activation="sigmoid", seed=0)
    x, y = np.ones((2, 3)), np.zeros((2, 1))
    a, g = gw.diagnostics.layer_values(net, x, y)
    passed = gw.diagnostics.trace(net, x, y)
    for mine, theirs in zip([*a, *g], [*passed.a, *passed.dz], strict=True):
        np.testing.assert_array_equal(mine, theirs)


# --- networks of blocks: MLP(norm=..., residual=...) and Sequential ---------------------------


def _hand_built() -> gw.Sequential:
    return gw.Sequential(
        [
            gw.Dense(4, 6, activation="identity", rng=0),
            gw.BatchNorm(6),
            gw.ActivationLayer("tanh"),
            gw.Residual(gw.Sequential([gw.LayerNorm(6), gw.Dense(6, 6, activation="relu", rng=1)])),
            gw.Dense(6, 2, activation="identity", rng=2),
        ]
    )


BLOCK_NETWORKS = {
    "layer": lambda: gw.MLP([4, 6, 6, 6, 2], activation="tanh", norm="layer", seed=0),
    "batch": lambda: gw.MLP([4, 6, 6, 6, 2], activation="relu", norm="batch", seed=0),
    "residual": lambda: gw.MLP([4, 6, 6, 6, 2], activation="relu", residual=True, seed=0),
    "layer-residual": lambda: gw.MLP(
        [4, 6, 6, 6, 2], activation="tanh", norm="layer", residual=True, seed=0
    ),
    "sequential": _hand_built,
}


def _batch() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.normal(size=(8, 4)), rng.normal(size=(8, 2)), rng.normal(size=(8, 2))


def _by_hand(net: gw.Sequential, x: np.ndarray, dy: np.ndarray) -> tuple[list, list]:
    """Block by block, forward then backward: the gradient at each boundary, each block's grads."""
    a = x
    for block in net.layers:
        a = block.forward(a)
    grad, boundary = dy, [dy]
    for block in reversed(net.layers):
        grad = block.backward(grad)
        boundary.append(grad)
    return boundary[::-1], [[g.copy() for g in block.grads()] for block in net.layers]


@pytest.mark.parametrize("kind", BLOCK_NETWORKS)
def test_block_gradients_match_a_block_by_block_backward(kind: str) -> None:
    net = BLOCK_NETWORKS[kind]()
    x, _, dy = _batch()
    norms = gw.diagnostics.backprop_norms(net, x, dy=dy)
    passed = gw.diagnostics.block_trace(net, x, dy=dy)
    boundary, grads = _by_hand(net, x, dy)
    assert norms.shape == (len(net.layers) + 1,)
    expected = [np.linalg.norm(g) / np.sqrt(len(x)) for g in boundary]
    np.testing.assert_allclose(norms, expected, rtol=1e-12)
    for mine, theirs in zip(passed.grads, grads, strict=True):
        for g, g0 in zip(mine, theirs, strict=True):
            np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-15)
    # weight_grad_norms reads the network's own gradients, set here by the manual backward
    matrices = [
        np.sqrt(
            sum(np.sum(g * g) for p, g in zip(b.params(), b.grads(), strict=True) if p.ndim == 2)
        )
        for b in net.layers
    ]
    np.testing.assert_allclose(gw.diagnostics.weight_grad_norms(net), matrices, rtol=1e-12)
    profile = gw.diagnostics.depth_profile(net, n_samples=8, seed=0)
    assert profile.shape == (len(net.layers) + 1,)
    assert profile[0] == 1.0


@pytest.mark.parametrize("kind", BLOCK_NETWORKS)
def test_block_stats_have_one_row_per_block(kind: str) -> None:
    net = BLOCK_NETWORKS[kind]()
    x, y, _ = _batch()
    stats = gw.diagnostics.layer_stats(net, x, y, optimizer=gw.optim.SGD(lr=0.1))
    passed = gw.diagnostics.block_trace(net, x, y)
    n_blocks = len(net.layers)
    assert len(stats) == n_blocks
    assert stats.shape[0] == (4, 6)
    assert stats.shape[-1] == (6, 2)
    assert stats.activation[-1] == "identity"
    assert stats.loss == pytest.approx(net.loss_and_grads(x, y)[0])
    for i, block in enumerate(net.layers):
        weights = [p for p in block.params() if p.ndim == 2]
        dW = [g for p, g in zip(block.params(), passed.grads[i], strict=True) if p.ndim == 2]
        if weights:
            joined = np.concatenate([g.ravel() for g in dW])
            assert stats.grad_norm[i] == pytest.approx(np.linalg.norm(joined))
            w_std = np.std(np.concatenate([w.ravel() for w in weights]))
            assert stats.grad_data[i] == pytest.approx(np.std(joined) / w_std)
        else:  # a normalisation or an activation alone: no weight matrix
            assert stats.grad_norm[i] == 0.0
            assert np.isnan(stats.grad_data[i])
        assert stats.act_mean[i] == pytest.approx(np.mean(passed.a[i]))
        assert stats.delta_norm[i] == pytest.approx(np.linalg.norm(passed.dz[i]) / np.sqrt(8))
    assert stats.update_data is not None
    np.testing.assert_allclose(stats.update_data, 0.1 * stats.grad_data)  # SGD: lr x grad:data
    report = gw.diagnostics.health(stats)
    assert report.verdict in gw.diagnostics.VERDICTS
    assert len(report.layer_verdicts) == n_blocks
    assert repr(stats).count("\n") == n_blocks + 1
    a, g = gw.diagnostics.layer_values(net, x, y)
    assert len(a) == len(g) == n_blocks


def test_hand_built_sequential_columns() -> None:
    stats = gw.diagnostics.layer_stats(_hand_built(), *_batch()[:2])
    assert stats.activation == ("identity", "none", "tanh", "relu", "identity")
    assert stats.shape == ((4, 6), (6, 6), (6, 6), (6, 6), (6, 2))
    assert stats.saturation[1] is None  # the BatchNorm block has no activation
    assert stats.saturation[2] is not None  # tanh
    assert stats.dead[3] is not None  # relu inside the residual block


def _batch_norms(layer: gw.Layer) -> list[gw.BatchNorm]:
    if isinstance(layer, gw.Sequential):
        return [norm for inner in layer.layers for norm in _batch_norms(inner)]
    if isinstance(layer, gw.Residual):
        return _batch_norms(layer.block)
    return [layer] if isinstance(layer, gw.BatchNorm) else []


@pytest.mark.parametrize("kind", BLOCK_NETWORKS)
def test_a_block_diagnostic_leaves_the_network_as_it_was(kind: str) -> None:
    net = BLOCK_NETWORKS[kind]()
    x, y, dy = _batch()
    net.loss_and_grads(-x, y)  # some gradients of another batch, to keep
    grads = net.grads()
    kept = [g.copy() for g in grads]
    norms = _batch_norms(net)
    assert bool(norms) == (kind in {"batch", "sequential"})
    statistics = [(n.running_mean.copy(), n.running_var.copy()) for n in norms]
    params = [p.copy() for p in net.params()]
    gw.diagnostics.block_trace(net, x, dy=dy)
    gw.diagnostics.backprop_norms(net, x)
    gw.diagnostics.layer_stats(net, x, y, optimizer=gw.optim.Adam(lr=0.1))
    gw.diagnostics.layer_values(net, x, y)
    gw.diagnostics.depth_profile(net)
    gw.diagnostics.jacobians(net.eval(), x[0])
    net.train()
    for g, g_now, g0 in zip(grads, net.grads(), kept, strict=True):
        assert g is g_now  # the same arrays, written back in place
        np.testing.assert_array_equal(g, g0)
    for p, p0 in zip(net.params(), params, strict=True):
        np.testing.assert_array_equal(p, p0)
    for n, (mean, var) in zip(norms, statistics, strict=True):
        np.testing.assert_array_equal(n.running_mean, mean)
        np.testing.assert_array_equal(n.running_var, var)


def test_saturation_and_dead_units_are_read_inside_a_residual_block() -> None:
    branch = gw.Dense(4, 4, activation="identity", init="ones")
    branch.W[...] = 10.0
    net = gw.Sequential([gw.Residual(gw.Sequential([gw.ActivationLayer("tanh"), branch]))])
    x, y = np.full((3, 4), 0.1), np.zeros((3, 4))
    stats = gw.diagnostics.layer_stats(net, x, y)
    # tanh(0.1) is far from its tails; the sum 0.1 + 40 tanh(0.1) ~ 4.1 would look saturated
    assert stats.saturation == (0.0,)
    assert stats.act_mean[0] == pytest.approx(0.1 + 40 * np.tanh(0.1))
    assert gw.diagnostics.layer_stats(net, 5 * np.ones((3, 4)), y).saturation == (1.0,)

    relu = gw.Sequential([gw.Residual(gw.Sequential([gw.ActivationLayer("relu"), branch]))])
    stats = gw.diagnostics.layer_stats(relu, -np.ones((3, 4)), y)
    assert stats.dead == (1.0,)  # the relu's input is negative: every unit dead
    assert stats.act_mean[0] == -1.0  # the block passes its input through unchanged


def test_saturation_of_a_normalised_residual_mlp_matches_its_activation_layers() -> None:
    net = gw.MLP([4, 6, 6, 6, 2], activation="tanh", norm="layer", residual=True, seed=0)
    x, y, _ = _batch()
    stats = gw.diagnostics.layer_stats(net, 3 * x, y)
    h = net.layers[0].forward(3 * x)
    for i, block in enumerate(net.layers[1:-1], start=1):
        norm, act, _ = block.block.layers
        activated = act.forward(norm.forward(h))
        assert stats.saturation[i] == np.mean(np.abs(activated) >= 0.97)
        h = block.forward(h)
    assert any(s for s in stats.saturation[1:-1])  # the check compared something


def test_block_path_agrees_with_the_plain_path() -> None:
    """A Sequential whose blocks each wrap one Dense layer gives the plain MLP's numbers."""
    plain = gw.MLP([3, 5, 4, 2], activation="relu", seed=1)
    wrapped = gw.Sequential([gw.Sequential([layer]) for layer in plain.layers])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    mine = gw.diagnostics.layer_stats(wrapped, x, y, optimizer=gw.optim.Adam(lr=0.01))
    theirs = gw.diagnostics.layer_stats(plain, x, y, optimizer=gw.optim.Adam(lr=0.01))
    assert repr(mine) == repr(theirs)
    for key in ("act_mean", "act_std", "delta_norm", "grad_norm", "grad_data", "update_data"):
        np.testing.assert_allclose(getattr(mine, key), getattr(theirs, key), rtol=1e-12)
    assert (mine.saturation, mine.dead, mine.shape) == (
        theirs.saturation,
        theirs.dead,
        theirs.shape,
    )
    np.testing.assert_allclose(
        gw.diagnostics.jacobians(wrapped, x[0]).product,
        gw.diagnostics.jacobians(plain, x[0]).product,
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        gw.diagnostics.backprop_norms(wrapped, x), gw.diagnostics.backprop_norms(plain, x)
    )


def test_plain_mlp_numbers_are_unchanged() -> None:
    """Values of the per-layer path, recorded before networks of blocks were measured."""
    net = gw.MLP([3, 5, 4, 2], activation="tanh", seed=1)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    stats = gw.diagnostics.layer_stats(net, x, y, optimizer=gw.optim.SGD(lr=0.1, momentum=0.9))
    expected = {
        "act_mean": [-0.0150671719, 0.1321119428, -0.0141527451],
        "act_std": [0.5983721958, 0.4051712517, 0.4348869412],
        "delta_norm": [0.0869956924, 0.1589537672, 0.1731601838],
        "grad_norm": [0.2093804597, 0.5482587446, 0.4020832205],
        "grad_data": [0.102940655, 0.2710986007, 0.1896521803],
        "update_data": [0.0102940655, 0.0271098601, 0.018965218],
    }
    for key, values in expected.items():
        np.testing.assert_allclose(getattr(stats, key), values, atol=1e-9)
    assert stats.saturation == pytest.approx((1 / 30, 0.0, None))
    assert stats.loss == pytest.approx(0.5397200865346417, rel=1e-12)
    np.testing.assert_allclose(
        gw.diagnostics.backprop_norms(net, x, seed=0),
        [0.3496901187, 0.6777322168, 0.9634283308, 0.9963424606],
        atol=1e-9,
    )
    np.testing.assert_allclose(
        gw.diagnostics.depth_profile(net, 8, seed=0),
        [1.0, 0.9779603849, 0.6984012883, 0.3858686601],
        atol=1e-9,
    )
    np.testing.assert_allclose(
        gw.diagnostics.jacobians(net, x[0]).product,
        [[-0.600635091, 0.5117471417, -0.369801932], [0.6578644971, -0.298575347, 0.1789873283]],
        atol=1e-9,
    )


@pytest.mark.parametrize("kind", ["layer-residual", "batch", "sequential"])
def test_block_jacobians_match_finite_differences(kind: str) -> None:
    net = BLOCK_NETWORKS[kind]().eval()  # BatchNorm standardises one sample with running stats
    x = np.random.default_rng(3).normal(size=4)
    jac = gw.diagnostics.jacobians(net, x)
    steps = 1e-6 * np.eye(4)  # one sample per input direction: eval-mode layers act per sample
    numeric = (net.forward(x + steps) - net.forward(x - steps)).T / 2e-6
    np.testing.assert_allclose(jac.product, numeric, atol=1e-7)
    assert len(jac.layers) == len(net.layers)
    assert jac.layers[0].shape == (6, 4)


def test_block_jacobian_of_a_residual_block_is_identity_plus_branch() -> None:
    dense = gw.Dense(3, 3, rng=0)  # tanh
    net = gw.Sequential([gw.Residual(dense)])
    x = np.array([0.1, -0.2, 0.3])
    expected = np.eye(3) + (1 - np.tanh(x @ dense.W + dense.b) ** 2)[:, None] * dense.W.T
    np.testing.assert_allclose(gw.diagnostics.jacobians(net, x).layers[0], expected, rtol=1e-12)


def test_block_networks_errors() -> None:
    net = BLOCK_NETWORKS["batch"]()
    with pytest.raises(ValueError, match="more than one sample"):
        gw.diagnostics.jacobians(net, np.ones(4))  # training mode: batch statistics
    with pytest.raises(ValueError, match=r"MLP.layers holds a Sequential at layers\[0\]"):
        gw.diagnostics.trace(net, np.ones((2, 4)))
    with pytest.raises(ValueError, match="block_trace"):
        gw.diagnostics.trace(gw.Sequential([gw.Dense(2, 2), gw.LayerNorm(2)]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="features"):
        gw.diagnostics.layer_stats(net, np.ones((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="not both"):
        gw.diagnostics.block_trace(net, np.ones((2, 4)), np.zeros((2, 2)), dy=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="dy has shape"):
        gw.diagnostics.block_trace(net, np.ones((2, 4)), dy=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="takes any width"):
        gw.diagnostics.depth_profile(gw.Sequential([gw.ActivationLayer("tanh")]))


class Double(gw.Layer):
    """A layer of one's own, without parameters or activation."""

    def forward(self, x):
        return 2.0 * x

    def backward(self, dy):
        return 2.0 * dy


def test_a_custom_block_without_activation() -> None:
    net = gw.Sequential([gw.Dense(2, 3, rng=0), Double(), gw.Dense(3, 1, rng=1)])
    x, y = np.ones((4, 2)), np.zeros((4, 1))
    stats = gw.diagnostics.layer_stats(net, x, y)
    passed = gw.diagnostics.block_trace(net, x, y)
    assert stats.activation == ("tanh", "none", "tanh")
    assert stats.shape[1] == (3, 3)
    assert (stats.saturation[1], stats.dead[1]) == (None, None)
    # without an activation layer, the gradient is read at the block's output
    np.testing.assert_array_equal(passed.dz[1], passed.da[2])
    np.testing.assert_allclose(passed.da[1], 2 * passed.da[2])


def test_diagnose_reports_per_block() -> None:
    x, y = _batch()[:2]
    net = BLOCK_NETWORKS["layer-residual"]()
    result = gw.diagnostics.diagnose(net, x, y, gw.optim.SGD(lr=0.01), steps=2)
    assert len(result.stats) == len(result.report.layer_verdicts) == len(net.layers)
    assert len(result.activations) == len(net.layers)
    assert result.history.steps == 2


def test_float16_norms_and_spreads_are_taken_in_float32(rng: np.random.Generator) -> None:
    # Gradients of a few hundred to a few thousand: their float16 squares overflow (65504 is
    # float16's largest value), their norms do not. The diagnostics and train()'s records take
    # norms and standard deviations of float16 arrays in float32.
    x = (50.0 * rng.normal(size=(32, 8))).astype(np.float16)
    y = (500.0 * rng.normal(size=(32, 1))).astype(np.float16)
    net = gw.MLP([8, 16, 1], dtype=np.float16, seed=0)
    net.loss_and_grads(x, y)
    expected = [float(np.linalg.norm(layer.dW.astype(np.float64))) for layer in net.layers]
    assert min(expected) > 256  # every sum of squares is beyond float16's range
    np.testing.assert_allclose(gw.diagnostics.weight_grad_norms(net), expected, rtol=1e-6)
    stats = gw.diagnostics.layer_stats(net, x, y)
    np.testing.assert_allclose(stats.grad_norm, expected, rtol=1e-6)
    assert np.all(np.isfinite(stats.delta_norm))
    assert np.all(np.isfinite(stats.grad_data))
    assert np.all(stats.grad_data > 0)
    fresh = gw.MLP([8, 16, 1], dtype=np.float16, seed=0)
    history = gw.train(fresh, x, y, optimizer=gw.optim.SGD(lr=1e-9), steps=1)
    np.testing.assert_allclose(history.layer_grad_norms[0], expected, rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        gw.diagnostics.trace,
        gw.diagnostics.block_trace,
        gw.diagnostics.layer_stats,
        gw.diagnostics.layer_values,
        lambda net, x, y: gw.diagnostics.backprop_norms(net, x),
        lambda net, x, y: gw.diagnostics.weight_grad_norms(net),
        lambda net, x, y: gw.diagnostics.jacobians(net, x[0]),
    ],
    ids=["trace", "block_trace", "layer_stats", "layer_values", "backprop_norms", "weight", "jac"],
)
def test_a_recurrent_network_is_a_clear_type_error(call: Any) -> None:
    # These read a network of layers; an RNN has none and keeps its own per-step records.
    net, x, y = gw.RNN(2, 3, 1, seed=0), np.ones((2, 4, 2)), np.ones((2, 1))
    with pytest.raises(TypeError, match=r"net must be an MLP or a Sequential .* got RNN; .*"):
        call(net, x, y)
    with pytest.raises(TypeError, match=r"got str$"):
        call("net", x, y)
